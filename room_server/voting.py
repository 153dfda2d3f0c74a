"""Attendance, proxies, quorum and polls in the live session; ballots with group commit.

Check-ins, proxies and poll transitions are ordinary live requests: the LiveSession
applies them in one transaction with their audit entry and their recorded answer.

Ballots take their own path (:class:`BallotWriter`): every ballot that arrives while the
previous batch is being written joins the next batch, and a batch is checked and written
in one transaction on a second SQLite connection in a worker thread, so 2,000 ballots
cost a handful of fsyncs and the event loop never waits for the disk. A ballot is
answered ``poll.recorded`` only after its batch is committed. All checks (poll open,
member present, proxy held, not yet voted, choices valid) run inside that transaction,
so a ballot and a poll closing are ordered by SQLite's write lock: a ballot committed
before the close counts, one after it is refused.

Secret polls keep who voted (``secret_voters``, ``ballot_ids``) apart from what was
voted (``secret_ballots``: no voter, no time, no ballot id, no rowid; ordered by a random
key). Their audit entries record that a member voted, never how.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from room_protocol.codec import encode, record_from_json, record_to_json
from room_protocol.errors import ErrorCode
from room_protocol.messages import ErrorMessage, Role
from room_protocol.voting import (
    AttendanceState,
    BallotRecorded,
    CastBallot,
    CheckIn,
    CheckMethod,
    ClosePoll,
    CreatePoll,
    NamedVote,
    OpenPoll,
    Outcome,
    Poll,
    PollKind,
    PollProgress,
    PollResult,
    PollSpec,
    PollsState,
    PollState,
    Presence,
    Proxy,
    PublishPoll,
    QuorumRule,
    Receipt,
    Receipts,
    Seating,
    SetProxy,
    normalised,
    spec_problems,
)
from room_server import audit
from room_server.store import Store, iso_time, utc_now
from room_server.tally import Ballot, CastingError, choice_problem, quorum, tally

if TYPE_CHECKING:
    from room_server.live import Client, Effect, LiveSession

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.25  # poll.progress at most this often
ATTENDANCE_INTERVAL_S = 0.25  # attendance.state at most this often
# Ballots per commit at most. The vote-burst bench sets HEMICYCLE_BALLOT_BATCH=1 for its
# one-commit-per-ballot baseline; nothing else should.
MAX_BATCH = int(os.environ.get("HEMICYCLE_BALLOT_BATCH", "5000"))
RECEIPT_CHARS = 12


class Refusal(Exception):
    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class AttendanceSettings:
    seating: Seating = Seating.ASSIGNED
    quorum: QuorumRule = QuorumRule.NONE
    quorum_count: int | None = None
    proxies_count: bool = True
    max_proxies: int = 1

    @classmethod
    def from_json(cls, text: str | None) -> AttendanceSettings:
        raw: dict[str, Any] = json.loads(text or "{}")
        return cls(
            seating=Seating(raw.get("seating", Seating.ASSIGNED.value)),
            quorum=QuorumRule(raw.get("quorum", QuorumRule.NONE.value)),
            quorum_count=raw.get("quorum_count"),
            proxies_count=bool(raw.get("proxies_count", True)),
            max_proxies=int(raw.get("max_proxies", 1)),
        )


class Voting:
    """The attendance and voting part of a :class:`LiveSession`."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session
        self.store: Store = session.store
        self.writer = BallotWriter(self)
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._progress_due: asyncio.TimerHandle | None = None
        self._progress_sent = 0.0
        self._last: dict[str, object] = {}  # what was last broadcast, by kind
        self._cache: dict[str, object] = {}  # states and frames until the next change
        self._attendance_due: asyncio.TimerHandle | None = None

    # --- reading ---------------------------------------------------------------------

    @property
    def meeting_id(self) -> str:
        return self.session.meeting_id

    def settings(self) -> AttendanceSettings:
        row = self.store.row(
            "SELECT attendance FROM meetings WHERE id = ?",
            self.meeting_id,
        )
        return AttendanceSettings.from_json(row["attendance"] if row else None)

    def _members(self) -> dict[str, dict[str, Any]]:
        return {
            r["id"]: r
            for r in self.store.rows(
                "SELECT id, name, role, seat_id, voting, weight FROM delegates "
                "WHERE meeting_id = ? ORDER BY position",
                self.meeting_id,
            )
        }

    def _presence(self) -> dict[str, dict[str, Any]]:
        return {
            r["delegate_id"]: r
            for r in self.store.rows(
                "SELECT * FROM presence WHERE meeting_id = ? ORDER BY since",
                self.meeting_id,
            )
        }

    def _proxies(self) -> dict[str, dict[str, Any]]:
        return {
            r["giver_id"]: r
            for r in self.store.rows(
                "SELECT * FROM proxies WHERE meeting_id = ? ORDER BY granted_at, giver_id",
                self.meeting_id,
            )
        }

    def represented(self) -> tuple[set[str], set[str]]:
        """(voting members present, absent voting members whose proxy holder is present)."""
        members = self._members()
        present = {m for m in self._presence() if members.get(m, {}).get("voting")}
        by_proxy = {
            giver
            for giver, p in self._proxies().items()
            if giver not in present and p["holder_id"] in present
        }
        return present, by_proxy

    def _eligible(self) -> int:
        """Voting members present, plus absent ones whose proxy holder is present."""
        row = self.store.conn.execute(
            "SELECT (SELECT count(*) FROM presence p JOIN delegates d "
            "  ON d.meeting_id = p.meeting_id AND d.id = p.delegate_id "
            "  WHERE p.meeting_id = :m AND d.voting) + "
            "(SELECT count(*) FROM proxies x JOIN presence h "
            "  ON h.meeting_id = x.meeting_id AND h.delegate_id = x.holder_id "
            "  WHERE x.meeting_id = :m AND x.giver_id NOT IN "
            "  (SELECT delegate_id FROM presence WHERE meeting_id = :m))",
            {"m": self.meeting_id},
        ).fetchone()
        return int(row[0])

    def attendance_state(self) -> AttendanceState | None:
        if self.session.snapshot is None:
            return None
        settings = self.settings()
        members = self._members()
        presence = self._presence()
        present, by_proxy = self.represented()
        voting_members = sum(1 for m in members.values() if m["voting"])
        counted = len(present) + (len(by_proxy) if settings.proxies_count else 0)
        q = quorum(
            settings.quorum, members=voting_members, counted=counted, fixed=settings.quorum_count
        )
        return AttendanceState(
            present=tuple(
                Presence(
                    r["delegate_id"],
                    CheckMethod(r["method"]),
                    r["since"],
                    r["seat_id"],
                    self._wrong_seat(settings, members.get(r["delegate_id"]), r["seat_id"]),
                )
                for r in presence.values()
            ),
            proxies=tuple(
                Proxy(p["giver_id"], p["holder_id"], p["source"]) for p in self._proxies().values()
            ),
            members=voting_members,
            present_members=len(present),
            represented=len(present) + len(by_proxy),
            required=q.required,
            quorum_met=q.met,
            rule=settings.quorum,
            seating=settings.seating,
            proxies_count=settings.proxies_count,
        )

    @staticmethod
    def _wrong_seat(
        settings: AttendanceSettings, member: dict[str, Any] | None, seat_id: str | None
    ) -> bool:
        return bool(
            settings.seating is Seating.ASSIGNED
            and member is not None
            and member["seat_id"]
            and seat_id
            and member["seat_id"] != seat_id
        )

    def wrong_seat_matters(self) -> bool:
        return self.settings().seating is Seating.ASSIGNED

    def _poll_rows(self) -> list[dict[str, Any]]:
        return self.store.rows(
            "SELECT * FROM polls WHERE meeting_id = ? ORDER BY position",
            self.meeting_id,
        )

    def _voted(self, poll_id: str, spec: PollSpec) -> int:
        sql = (
            "SELECT count(*) AS n FROM secret_voters WHERE meeting_id = ? AND poll_id = ?"
            if spec.secret
            else "SELECT count(*) AS n FROM named_votes WHERE meeting_id = ? AND poll_id = ?"
        )
        row = self.store.row(sql, self.meeting_id, poll_id)
        return int(row["n"]) if row else 0

    def polls_state(self, presiding: bool) -> PollsState:
        if self.session.snapshot is None:
            return PollsState(())
        polls: list[Poll] = []
        results: list[PollResult] = []
        for row in self._poll_rows():
            spec = record_from_json(PollSpec, row["spec"])
            state = PollState(row["state"])
            polls.append(
                Poll(
                    row["id"],
                    spec,
                    state,
                    self._voted(row["id"], spec),
                    row["opened_at"],
                    iso_time(row["closes_at_ts"]) if row["closes_at_ts"] else None,
                    row["closed_at"],
                    row["published_at"],
                    bool(row["quorum_override"]),
                )
            )
            visible = state is PollState.PUBLISHED or (presiding and state is PollState.CLOSED)
            if visible and row["result"]:
                results.append(record_from_json(PollResult, row["result"]))
        # How each member voted goes with the latest result only: every named list of a
        # 2,000-member body would outgrow one message after a few polls.
        latest = max(
            (r for r in results if r.named),
            key=lambda r: self._result_time(r.poll_id),
            default=None,
        )
        results = [r if r is latest else replace(r, named=()) for r in results]
        templates = tuple(
            r["id"]
            for r in self.store.rows(
                "SELECT id FROM poll_templates WHERE meeting_id = ? ORDER BY position",
                self.meeting_id,
            )
        )
        return PollsState(tuple(polls), tuple(results), templates)

    def _result_time(self, poll_id: str) -> str:
        row = self.store.row(
            "SELECT coalesce(published_at, closed_at, '') AS t FROM polls "
            "WHERE meeting_id = ? AND id = ?",
            self.meeting_id,
            poll_id,
        )
        return str(row["t"]) if row else ""

    def receipts(self, delegate_id: str) -> Receipts:
        rows = self.store.rows(
            "SELECT b.* FROM ballot_ids b WHERE b.meeting_id = ? AND (b.delegate_id = ? "
            "OR b.cast_by = ?) ORDER BY b.at",
            self.meeting_id,
            delegate_id,
            delegate_id,
        )
        return Receipts(
            tuple(
                Receipt(r["poll_id"], r["delegate_id"], r["ballot_id"], r["receipt"], r["at"])
                for r in rows
            )
        )

    # --- sending -----------------------------------------------------------------------
    #
    # What goes to 2,000 tablets is built once per change, not once per tablet and not
    # once per connection: the states are cached until the next change, attendance
    # changes that come in a wave (everyone signing in) go out together at most every
    # ATTENDANCE_INTERVAL_S, and a delegate gets only their part of the attendance list.

    def _attendance(self) -> AttendanceState | None:
        if "attendance" not in self._cache:
            self._cache["attendance"] = self.attendance_state()
        state = self._cache["attendance"]
        assert state is None or isinstance(state, AttendanceState)
        return state

    def _polls_frame(self, presiding: bool) -> str:
        key = "polls:presiding" if presiding else "polls:others"
        if key not in self._cache:
            self._cache[key] = encode(self.polls_state(presiding))
        frame = self._cache[key]
        assert isinstance(frame, str)
        return frame

    def _attendance_frame(self, client: Client, state: AttendanceState) -> str:
        """The chair and clerks see everyone; a delegate their own check-in and the
        proxies they hold or gave (and whether those givers are here); others, the counts."""
        if client.presiding:
            if "attendance:full" not in self._cache:
                self._cache["attendance:full"] = encode(state)
            return str(self._cache["attendance:full"])
        me = client.delegate_id
        if me is None:
            if "attendance:counts" not in self._cache:
                self._cache["attendance:counts"] = encode(replace(state, present=(), proxies=()))
            return str(self._cache["attendance:counts"])
        proxies = tuple(p for p in state.proxies if me in (p.holder_id, p.giver_id))
        mine = {me} | {p.giver_id for p in proxies}
        present = tuple(p for p in state.present if p.delegate_id in mine)
        return encode(replace(state, present=present, proxies=proxies))

    def _forget_attendance(self) -> None:
        for key in ("attendance", "attendance:full", "attendance:counts"):
            self._cache.pop(key, None)

    def welcome(self, client: Client) -> None:
        """A tablet connected (or a meeting was loaded): bring it up to date."""
        state = self._attendance()
        if state is None:
            return
        self.session.send([client], self._attendance_frame(client, state))
        self.session.send([client], self._polls_frame(client.presiding))

    def signed_in(self, client: Client) -> None:
        if client.delegate_id is not None and self.session.snapshot is not None:
            self.session.send([client], encode(self.receipts(client.delegate_id)))
            self.welcome(client)  # what this member may see differs from an observer's

    def publish_attendance(self, *, only_if_changed: bool = False) -> None:
        """Attendance changed: tell everyone, soon (changes in a wave go out together)."""
        self._forget_attendance()
        if only_if_changed:
            self._send_attendance(only_if_changed=True)
        elif self._attendance_due is None:
            loop = asyncio.get_running_loop()
            self._attendance_due = loop.call_later(ATTENDANCE_INTERVAL_S, self._send_attendance)

    def _send_attendance(self, *, only_if_changed: bool = False) -> None:
        if self._attendance_due is not None:
            self._attendance_due.cancel()
            self._attendance_due = None
        self._forget_attendance()
        state = self._attendance()
        if state is None:
            return
        if only_if_changed and self._last.get("attendance") == state:
            return
        self._last["attendance"] = state
        for client in list(self.session.clients):
            self.session.send([client], self._attendance_frame(client, state))
        if self.session.on_broadcast:
            self.session.on_broadcast("attendance.state", len(self.session.clients))

    def publish_polls(self, *, only_if_changed: bool = False) -> None:
        if self.session.snapshot is None:
            return
        before = (self._cache.pop("polls:presiding", None), self._cache.pop("polls:others", None))
        frames = self._polls_frame(True), self._polls_frame(False)
        if only_if_changed and before == frames:
            return
        presiding = [c for c in self.session.clients if c.presiding]
        others = [c for c in self.session.clients if not c.presiding]
        self.session.broadcast(presiding, frames[0], "poll.state")
        self.session.broadcast(others, frames[1], "poll.state")

    def publish_if_changed(self) -> None:
        self.publish_attendance(only_if_changed=True)
        self.publish_polls(only_if_changed=True)

    def progress_soon(self) -> None:
        """A poll.progress to the chair, clerks and the room display, throttled."""
        if self._progress_due is not None:
            return
        wait = max(0.0, self._progress_sent + PROGRESS_INTERVAL_S - time.monotonic())
        loop = asyncio.get_running_loop()
        self._progress_due = loop.call_later(wait, self._send_progress)

    def _send_progress(self) -> None:
        self._progress_due = None
        self._progress_sent = time.monotonic()
        if self.session.snapshot is None:
            return
        eligible = self._eligible()
        targets = [c for c in self.session.clients if c.presiding or c.role is Role.OBSERVER]
        for row in self._poll_rows():
            if row["state"] == PollState.OPEN.value:
                spec = record_from_json(PollSpec, row["spec"])
                frame = encode(PollProgress(row["id"], self._voted(row["id"], spec), eligible))
                self.session.broadcast(targets, frame, "poll.progress")

    # --- attendance ----------------------------------------------------------------------

    def _audit(self, kind: str, actor: str | None, data: dict[str, Any]) -> str:
        return audit.append(
            self.store.conn,
            at=utc_now(),
            meeting_id=self.meeting_id,
            kind=kind,
            actor=actor,
            data=data,
        )

    def check_in(
        self, delegate_id: str, method: CheckMethod, seat_id: str | None, by: str | None
    ) -> bool:
        """Inside a transaction: mark a member present. True if that changed anything."""
        current = self.store.row(
            "SELECT seat_id FROM presence WHERE meeting_id = ? AND delegate_id = ?",
            self.meeting_id,
            delegate_id,
        )
        now = utc_now()
        if current is not None:
            if current["seat_id"] == seat_id or seat_id is None:
                return False
            self.store.conn.execute(
                "UPDATE presence SET seat_id = ?, method = ? WHERE meeting_id = ? "
                "AND delegate_id = ?",
                (seat_id, method.value, self.meeting_id, delegate_id),
            )
            event = "moved"
        else:
            self.store.conn.execute(
                "INSERT INTO presence (meeting_id, delegate_id, seat_id, method, since) "
                "VALUES (?, ?, ?, ?, ?)",
                (self.meeting_id, delegate_id, seat_id, method.value, now),
            )
            event = "check_in"
        self._event(delegate_id, event, method, seat_id, by, now)
        return True

    def check_out(self, delegate_id: str, method: CheckMethod, by: str | None) -> bool:
        gone = self.store.conn.execute(
            "DELETE FROM presence WHERE meeting_id = ? AND delegate_id = ?",
            (self.meeting_id, delegate_id),
        ).rowcount
        if gone:
            self._event(delegate_id, "check_out", method, None, by, utc_now())
        return bool(gone)

    def _event(
        self,
        delegate_id: str,
        event: str,
        method: CheckMethod,
        seat_id: str | None,
        by: str | None,
        at: str,
    ) -> None:
        self.store.conn.execute(
            "INSERT INTO attendance_events (meeting_id, delegate_id, event, method, seat_id, "
            "at, by_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.meeting_id, delegate_id, event, method.value, seat_id, at, by),
        )
        self._audit(
            f"attendance.{event}",
            by or delegate_id,
            {"member": delegate_id, "method": method.value, "seat": seat_id},
        )

    def clerk_check_in(self, client: Client, request: CheckIn) -> list[Effect]:
        members = self._members()
        if request.delegate_id not in members:
            raise Refusal(ErrorCode.NOT_FOUND, f"{request.delegate_id!r} is not on the roster")
        name = members[request.delegate_id]["name"]
        present = request.delegate_id in self._presence()
        if request.present and present:
            raise Refusal(ErrorCode.BAD_STATE, f"{name} is already checked in")
        if request.present:
            member_seat = members[request.delegate_id]["seat_id"]
            by = client.delegate_id
            self.check_in(request.delegate_id, CheckMethod.CLERK, member_seat, by)
            return [self.publish_attendance]
        if not self.check_out(request.delegate_id, CheckMethod.CLERK, client.delegate_id):
            raise Refusal(ErrorCode.BAD_STATE, f"{name} is not checked in")

        def sign_out_there() -> None:
            for other in [c for c in self.session.clients if c.delegate_id == request.delegate_id]:
                self.session.become_observer(other, "the clerk checked you out")
            self.publish_attendance()

        self.store.conn.execute(
            "DELETE FROM sign_ins WHERE meeting_id = ? AND delegate_id = ?",
            (self.meeting_id, request.delegate_id),
        )
        return [sign_out_there]

    def set_proxy(self, client: Client, request: SetProxy) -> list[Effect]:
        members = self._members()
        giver = members.get(request.giver_id)
        if giver is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"{request.giver_id!r} is not on the roster")
        proxies = self._proxies()
        if request.holder_id is None:
            if request.giver_id not in proxies:
                raise Refusal(ErrorCode.BAD_STATE, f"nobody holds {giver['name']}'s proxy")
            self.store.conn.execute(
                "DELETE FROM proxies WHERE meeting_id = ? AND giver_id = ?",
                (self.meeting_id, request.giver_id),
            )
            self._audit("attendance.proxy_revoked", client.delegate_id, {"giver": request.giver_id})
            return [self.publish_attendance]
        holder = members.get(request.holder_id)
        if holder is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"{request.holder_id!r} is not on the roster")
        if not giver["voting"] or not holder["voting"]:
            raise Refusal(ErrorCode.BAD_FIELD, "proxies are given and held by voting members only")
        if request.giver_id == request.holder_id:
            raise Refusal(ErrorCode.BAD_FIELD, "a member cannot hold their own proxy")
        if request.holder_id in proxies:
            raise Refusal(
                ErrorCode.BAD_STATE,
                f"{holder['name']} has given their own proxy and cannot hold another's",
            )
        if any(p["holder_id"] == request.giver_id for p in proxies.values()):
            raise Refusal(
                ErrorCode.BAD_STATE,
                f"{giver['name']} holds someone's proxy; proxies cannot be passed on",
            )
        settings = self.settings()
        held = sum(
            1
            for g, p in proxies.items()
            if p["holder_id"] == request.holder_id and g != request.giver_id
        )
        if held >= settings.max_proxies:
            limit = settings.max_proxies
            raise Refusal(
                ErrorCode.BAD_STATE,
                f"{holder['name']} already holds {held} proxy(ies); the limit is {limit}",
            )
        self.store.conn.execute(
            "INSERT INTO proxies (meeting_id, giver_id, holder_id, source, granted_at) "
            "VALUES (?, ?, ?, 'clerk', ?) ON CONFLICT (meeting_id, giver_id) DO UPDATE SET "
            "holder_id = excluded.holder_id, source = 'clerk', granted_at = excluded.granted_at",
            (self.meeting_id, request.giver_id, request.holder_id, utc_now()),
        )
        self._audit(
            "attendance.proxy_granted",
            client.delegate_id,
            {"giver": request.giver_id, "holder": request.holder_id},
        )
        return [self.publish_attendance]

    # --- polls -----------------------------------------------------------------------------

    def _poll(self, poll_id: str) -> dict[str, Any]:
        row = self.store.row(
            "SELECT * FROM polls WHERE meeting_id = ? AND id = ?",
            self.meeting_id,
            poll_id,
        )
        if row is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"there is no poll {poll_id!r}")
        return row

    def create(self, client: Client, request: CreatePoll) -> list[Effect]:
        spec = request.spec
        if request.template_id is not None:
            template = self.store.row(
                "SELECT spec FROM poll_templates WHERE meeting_id = ? AND id = ?",
                self.meeting_id,
                request.template_id,
            )
            if template is None:
                raise Refusal(ErrorCode.NOT_FOUND, f"there is no template {request.template_id!r}")
            base = record_from_json(PollSpec, template["spec"])
            spec = replace(base, title=spec.title, options=spec.options, item_id=spec.item_id)
            if base.kind is PollKind.YES_NO:
                spec = replace(spec, options=())
        spec = normalised(spec)
        problems = spec_problems(spec)
        if problems:
            raise Refusal(ErrorCode.BAD_FIELD, "; ".join(problems))
        snapshot = self.session.snapshot
        if (
            spec.item_id is not None
            and snapshot is not None
            and snapshot.item(spec.item_id) is None
        ):
            raise Refusal(ErrorCode.NOT_FOUND, f"agenda item {spec.item_id!r} does not exist")
        exists = self.store.row(
            "SELECT 1 AS x FROM polls WHERE meeting_id = ? AND id = ?",
            self.meeting_id,
            request.poll_id,
        )
        if exists is not None:
            raise Refusal(ErrorCode.BAD_STATE, f"a poll {request.poll_id!r} exists already")
        self.store.conn.execute(
            "INSERT INTO polls (meeting_id, id, position, spec, state, created_by) VALUES "
            "(?, ?, (SELECT coalesce(max(position), -1) + 1 FROM polls WHERE meeting_id = ?), "
            "?, 'draft', ?)",
            (
                self.meeting_id,
                request.poll_id,
                self.meeting_id,
                record_to_json(spec),
                client.delegate_id,
            ),
        )
        self._audit(
            "poll.created",
            client.delegate_id,
            {"poll": request.poll_id, "spec": json.loads(record_to_json(spec))},
        )
        return [self.publish_polls]

    def open(self, client: Client, request: OpenPoll) -> list[Effect]:
        row = self._poll(request.poll_id)
        if row["state"] != PollState.DRAFT.value:
            raise Refusal(ErrorCode.BAD_STATE, f"the poll is {row['state']}, not a draft")
        already = [r["id"] for r in self._poll_rows() if r["state"] == PollState.OPEN.value]
        if already:
            raise Refusal(ErrorCode.BAD_STATE, f"poll {already[0]!r} is still open; close it first")
        state = self.attendance_state()
        assert state is not None
        if not state.quorum_met and not request.override_quorum:
            proxied = state.represented - state.present_members
            by_proxy = f", {proxied} by proxy" if proxied and state.proxies_count else ""
            raise Refusal(
                ErrorCode.NO_QUORUM,
                f"the quorum is not met ({state.present_members} present{by_proxy}, "
                f"{state.required} required); open with the chair's override to vote anyway",
            )
        now = self.session.clock()
        closes = now + request.close_after_seconds if request.close_after_seconds else None
        override = not state.quorum_met and request.override_quorum
        self.store.conn.execute(
            "UPDATE polls SET state = 'open', opened_at = ?, closes_at_ts = ?, "
            "quorum_override = ? WHERE meeting_id = ? AND id = ?",
            (iso_time(now), closes, int(override), self.meeting_id, request.poll_id),
        )
        self._audit(
            "poll.opened",
            client.delegate_id,
            {
                "poll": request.poll_id,
                "present": state.present_members,
                "represented": state.represented,
                "required": state.required,
                "quorum_met": state.quorum_met,
                "quorum_override": override,
                "closes_at": iso_time(closes) if closes else None,
            },
        )
        return [self.publish_polls, self.schedule_closing, self.progress_soon]

    def close(self, client: Client, request: ClosePoll) -> list[Effect]:
        row = self._poll(request.poll_id)
        if row["state"] != PollState.OPEN.value:
            raise Refusal(ErrorCode.BAD_STATE, f"the poll is {row['state']}, not open")
        if request.after_seconds:
            closes = self.session.clock() + request.after_seconds
            self.store.conn.execute(
                "UPDATE polls SET closes_at_ts = ? WHERE meeting_id = ? AND id = ?",
                (closes, self.meeting_id, request.poll_id),
            )
            self._audit(
                "poll.countdown",
                client.delegate_id,
                {"poll": request.poll_id, "closes_at": iso_time(closes)},
            )
            return [self.publish_polls, self.schedule_closing]
        self._close_now(request.poll_id, client.delegate_id)
        return [self.publish_polls, self._after_close]

    def _close_now(self, poll_id: str, actor: str | None) -> None:
        row = self._poll(poll_id)
        spec = record_from_json(PollSpec, row["spec"])
        present, members = self._bases(spec)
        self.store.conn.execute(
            "UPDATE polls SET state = 'closed', closed_at = ?, closes_at_ts = NULL, "
            "present = ?, members = ? WHERE meeting_id = ? AND id = ?",
            (utc_now(), present, members, self.meeting_id, poll_id),
        )
        result = self._count(poll_id, spec, present, members, ())
        self.store.conn.execute(
            "UPDATE polls SET result = ? WHERE meeting_id = ? AND id = ?",
            (record_to_json(result), self.meeting_id, poll_id),
        )
        self._audit("poll.closed", actor, {"poll": poll_id, **self._summary(result)})

    def _bases(self, spec: PollSpec) -> tuple[int, int]:
        """(present or represented, all members): weights or heads, as the poll counts."""
        members = {k: m for k, m in self._members().items() if m["voting"]}
        present, by_proxy = self.represented()

        def weight(ids: Iterable[str]) -> int:
            return sum(members[i]["weight"] if spec.weighted else 1 for i in ids if i in members)

        return weight(present | by_proxy), weight(members)

    def _count(
        self, poll_id: str, spec: PollSpec, present: int, members: int, casting: tuple[str, ...]
    ) -> PollResult:
        if spec.secret:
            rows = self.store.rows(
                "SELECT choices, weight FROM secret_ballots WHERE meeting_id = ? AND poll_id = ?",
                self.meeting_id,
                poll_id,
            )
            named: tuple[NamedVote, ...] = ()
        else:
            rows = self.store.rows(
                "SELECT delegate_id, choices, weight, cast_by FROM named_votes "
                "WHERE meeting_id = ? AND poll_id = ? ORDER BY delegate_id",
                self.meeting_id,
                poll_id,
            )
            named = tuple(
                NamedVote(
                    r["delegate_id"],
                    tuple(json.loads(r["choices"])),
                    r["weight"],
                    r["cast_by"] if r["cast_by"] != r["delegate_id"] else None,
                )
                for r in rows
            )
        ballots = [Ballot(tuple(json.loads(r["choices"])), r["weight"]) for r in rows]
        result = tally(poll_id, spec, ballots, present=present, members=members, casting=casting)
        return replace(result, named=named)

    @staticmethod
    def _summary(result: PollResult) -> dict[str, Any]:
        return {
            "outcome": result.outcome.value,
            "counts": {c.option_id: c.votes for c in result.counts},
            "ballots": result.ballots,
            "winners": list(result.winners),
            "decided_by": result.decided_by,
        }

    def publish(self, client: Client, request: PublishPoll) -> list[Effect]:
        row = self._poll(request.poll_id)
        if row["state"] != PollState.CLOSED.value:
            raise Refusal(ErrorCode.BAD_STATE, f"the poll is {row['state']}, not closed")
        spec = record_from_json(PollSpec, row["spec"])
        try:
            result = self._count(
                request.poll_id, spec, row["present"], row["members"], request.casting
            )
        except CastingError as exc:
            raise Refusal(ErrorCode.BAD_FIELD, str(exc)) from None
        if result.outcome is Outcome.TIE:
            tied = ", ".join(result.tied)
            raise Refusal(
                ErrorCode.BAD_STATE, f"the vote is tied ({tied}): give the chair's casting vote"
            )
        self.store.conn.execute(
            "UPDATE polls SET state = 'published', published_at = ?, result = ? "
            "WHERE meeting_id = ? AND id = ?",
            (utc_now(), record_to_json(result), self.meeting_id, request.poll_id),
        )
        self._audit(
            "poll.published",
            client.delegate_id,
            {"poll": request.poll_id, "casting": list(request.casting), **self._summary(result)},
        )
        return [self.publish_polls]

    # --- countdowns ----------------------------------------------------------------------

    def schedule_closing(self) -> None:
        """(Re)arm a timer for every open poll with a countdown; on start too."""
        if self.session.snapshot is None:
            return
        loop = asyncio.get_running_loop()
        for row in self._poll_rows():
            timer = self._timers.pop(row["id"], None)
            if timer is not None:
                timer.cancel()
            if row["state"] == PollState.OPEN.value and row["closes_at_ts"] is not None:
                wait = max(0.0, row["closes_at_ts"] - self.session.clock())
                self._timers[row["id"]] = loop.call_later(wait, self._countdown_over, row["id"])

    def _countdown_over(self, poll_id: str) -> None:
        self._timers.pop(poll_id, None)
        asyncio.get_running_loop().create_task(self._close_when_written(poll_id))

    async def _close_when_written(self, poll_id: str) -> None:
        # Ballots that arrived before the bell are written before it rings.
        await self.writer.drain()
        with self.store.transaction():
            row = self._poll(poll_id)
            if row["state"] != PollState.OPEN.value or row["closes_at_ts"] is None:
                return
            self._close_now(poll_id, None)
        log.info("poll %s closed at the end of its countdown", poll_id)
        self.publish_polls()
        self._after_close()

    def _after_close(self) -> None:
        """Fold the write-ahead log into the database and empty it: the WAL holds each
        commit's pages in order, which for a secret poll is more than the tables say."""
        try:
            self.store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError as exc:  # busy: the next checkpoint will do it
            log.info("checkpoint after closing a poll postponed: %s", exc)

    def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._progress_due is not None:
            self._progress_due.cancel()
        if self._attendance_due is not None:
            self._attendance_due.cancel()
        self.writer.close()


@dataclass
class _Pending:
    client: Client
    delegate_id: str | None  # who the sender is signed in as, when the ballot arrived
    request: CastBallot
    answer: str = ""
    recorded: bool = False


class BallotWriter:
    """Group commit: write every ballot waiting in one transaction, then answer them."""

    def __init__(self, voting: Voting) -> None:
        self.voting = voting
        self._queue: list[_Pending] = []
        self._task: asyncio.Task[None] | None = None
        self._store: Store | None = None
        self.batches: list[int] = []  # sizes of the batches written, for the bench

    def submit(self, client: Client, request: CastBallot) -> None:
        self._queue.append(_Pending(client, client.delegate_id, request))
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def drain(self) -> None:
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
            started = time.perf_counter()
            try:
                await asyncio.to_thread(self._write, batch)
                log.info(
                    "ballots: %d in one commit (%.1f ms)",
                    len(batch),
                    (time.perf_counter() - started) * 1000,
                )
            except Exception:
                log.exception("writing %d ballot(s) failed; they were not recorded", len(batch))
                for pending in batch:
                    pending.answer = encode(
                        ErrorMessage(
                            ErrorCode.INTERNAL.value,
                            "the ballot could not be saved; send it again",
                            pending.request.op_id,
                        )
                    )
            self.batches.append(len(batch))
            for pending in batch:
                self.voting.session.send([pending.client], pending.answer)
            if any(p.recorded for p in batch):
                self.voting.progress_soon()

    def _connection(self) -> Store:
        if self._store is None:
            self._store = Store(self.voting.store.path, self.voting.store.documents_dir)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # Runs in a worker thread on the writer's own connection; touches no session state.
    def _write(self, batch: list[_Pending]) -> None:
        store = self._connection()
        with store.transaction():
            context = _BatchContext(store, store.active_meeting_id())
            for pending in batch:
                try:
                    receipt = context.record(pending.delegate_id, pending.request)
                    pending.answer = encode(BallotRecorded(pending.request.op_id, receipt))
                    pending.recorded = True
                except Refusal as refusal:
                    pending.answer = encode(
                        ErrorMessage(refusal.code.value, refusal.message, pending.request.op_id)
                    )
            context.write()


class _BatchContext:
    """Checks and records the ballots of one batch inside its transaction.

    Nothing else writes while the transaction holds the lock, so what the checks need is
    read once per batch and kept up to date in memory; the rows are written together at
    the end (:meth:`write`), so a batch costs a few statements, not several per ballot.
    """

    def __init__(self, store: Store, meeting_id: str | None) -> None:
        self.store = store
        self.conn = conn = store.conn
        self.meeting_id = meeting_id
        self._polls: dict[str, tuple[dict[str, Any], PollSpec] | None] = {}
        self._members = {
            row[0]: {"name": row[1], "voting": row[2], "weight": row[3]}
            for row in conn.execute(
                "SELECT id, name, voting, weight FROM delegates WHERE meeting_id = ?",
                (meeting_id,),
            )
        }
        self._present = {
            row[0]
            for row in conn.execute(
                "SELECT delegate_id FROM presence WHERE meeting_id = ?", (meeting_id,)
            )
        }
        self._holders = dict(
            conn.execute(
                "SELECT giver_id, holder_id FROM proxies WHERE meeting_id = ?", (meeting_id,)
            ).fetchall()
        )
        self._ids: dict[str, dict[str, dict[str, Any]]] = {}  # poll -> ballot id -> row
        self._voted: dict[str, set[str]] = {}  # poll -> members whose vote is in
        self.chain = audit.Chain(conn)
        self._secret_voters: list[tuple[Any, ...]] = []
        self._secret_ballots: list[tuple[Any, ...]] = []
        self._named: list[tuple[Any, ...]] = []
        self._ballot_ids: list[tuple[Any, ...]] = []

    def _poll(self, poll_id: str) -> tuple[dict[str, Any], PollSpec] | None:
        if poll_id in self._polls:
            return self._polls[poll_id]
        row = self.store.row(
            "SELECT id, state, spec FROM polls WHERE meeting_id = ? AND id = ?",
            self.meeting_id,
            poll_id,
        )
        if row is None:
            self._polls[poll_id] = None
            return None
        spec = record_from_json(PollSpec, row["spec"])
        self._polls[poll_id] = (row, spec)
        self._ids[poll_id] = {
            r["ballot_id"]: r
            for r in self.store.rows(
                "SELECT ballot_id, delegate_id, cast_by, receipt, at FROM ballot_ids "
                "WHERE meeting_id = ? AND poll_id = ?",
                self.meeting_id,
                poll_id,
            )
        }
        voters_sql = (
            "SELECT delegate_id FROM secret_voters WHERE meeting_id = ? AND poll_id = ?"
            if spec.secret
            else "SELECT delegate_id FROM named_votes WHERE meeting_id = ? AND poll_id = ?"
        )
        self._voted[poll_id] = {
            r["delegate_id"] for r in self.store.rows(voters_sql, self.meeting_id, poll_id)
        }
        return self._polls[poll_id]

    def record(self, sender: str | None, request: CastBallot) -> Receipt:
        if self.meeting_id is None:
            raise Refusal(ErrorCode.BAD_STATE, "no meeting is loaded in this room")
        if sender is None:
            raise Refusal(ErrorCode.FORBIDDEN, "sign in before voting")
        found = self._poll(request.poll_id)
        if found is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"there is no poll {request.poll_id!r}")
        earlier = self._ids[request.poll_id].get(request.op_id)
        if earlier is not None:
            if earlier["delegate_id"] != request.delegate_id or earlier["cast_by"] != sender:
                raise Refusal(ErrorCode.BAD_FIELD, "this ballot id was used for another ballot")
            # The same ballot again (the answer was lost): the same receipt, counted once.
            return Receipt(
                request.poll_id,
                request.delegate_id,
                request.op_id,
                earlier["receipt"],
                earlier["at"],
            )
        row, spec = found
        if row["state"] != PollState.OPEN.value:
            raise Refusal(
                ErrorCode.POLL_CLOSED,
                "voting has not started yet"
                if row["state"] == PollState.DRAFT.value
                else "voting is closed; the ballot was not counted",
            )
        member = self._members.get(request.delegate_id)
        if member is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"{request.delegate_id!r} is not on the roster")
        if not member["voting"]:
            raise Refusal(ErrorCode.FORBIDDEN, f"{member['name']} is not a voting member")
        if sender not in self._present:
            raise Refusal(ErrorCode.NOT_PRESENT, "you are not checked in; ask the clerk")
        if request.delegate_id != sender:
            if self._holders.get(request.delegate_id) != sender:
                raise Refusal(ErrorCode.FORBIDDEN, f"you do not hold {member['name']}'s proxy")
            if request.delegate_id in self._present:
                raise Refusal(
                    ErrorCode.BAD_STATE,
                    f"{member['name']} is present and votes in person; the proxy is not used",
                )
        problem = choice_problem(spec, request.choices)
        if problem is not None:
            raise Refusal(ErrorCode.BAD_FIELD, problem)
        voted = self._voted[request.poll_id]
        again = request.delegate_id in voted
        if again and (spec.secret or not spec.allow_change):
            raise Refusal(ErrorCode.ALREADY_VOTED, "this member has already voted in this poll")
        at = utc_now()
        weight = member["weight"] if spec.weighted else 1
        key = (self.meeting_id, request.poll_id)
        if spec.secret:
            self._secret_voters.append((*key, request.delegate_id))
            choices = json.dumps(sorted(request.choices))
            self._secret_ballots.append((*key, os.urandom(16), choices, weight))
            digest = self.chain.add(
                at=at,
                meeting_id=self.meeting_id,
                kind="poll.ballot",
                actor=sender,
                data={"poll": request.poll_id, "member": request.delegate_id, "secret": True},
            )
        else:
            values = (json.dumps(list(request.choices)), weight, sender, request.op_id, at)
            if again:
                self._write_named()  # the first vote may still be waiting in this batch
                self.conn.execute(
                    "UPDATE named_votes SET choices = ?, weight = ?, cast_by = ?, "
                    "ballot_id = ?, at = ?, revision = revision + 1 WHERE meeting_id = ? "
                    "AND poll_id = ? AND delegate_id = ?",
                    (*values, *key, request.delegate_id),
                )
            else:
                self._named.append((*key, request.delegate_id, *values))
            digest = self.chain.add(
                at=at,
                meeting_id=self.meeting_id,
                kind="poll.ballot_changed" if again else "poll.ballot",
                actor=sender,
                data={
                    "poll": request.poll_id,
                    "member": request.delegate_id,
                    "choices": list(request.choices),
                    "weight": weight,
                    "ballot": request.op_id,
                },
            )
        voted.add(request.delegate_id)
        receipt = digest[:RECEIPT_CHARS]
        self._ballot_ids.append((*key, request.op_id, request.delegate_id, sender, receipt, at))
        self._ids[request.poll_id][request.op_id] = {
            "delegate_id": request.delegate_id,
            "cast_by": sender,
            "receipt": receipt,
            "at": at,
        }
        return Receipt(request.poll_id, request.delegate_id, request.op_id, receipt, at)

    def _write_named(self) -> None:
        self.conn.executemany(
            "INSERT INTO named_votes (meeting_id, poll_id, delegate_id, choices, weight, "
            "cast_by, ballot_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            self._named,
        )
        self._named.clear()

    def write(self) -> None:
        """Write everything the batch recorded (still inside its transaction)."""
        self.conn.executemany(
            "INSERT INTO secret_voters (meeting_id, poll_id, delegate_id) VALUES (?, ?, ?)",
            self._secret_voters,
        )
        self.conn.executemany(
            "INSERT INTO secret_ballots (meeting_id, poll_id, shuffle, choices, weight) "
            "VALUES (?, ?, ?, ?, ?)",
            self._secret_ballots,
        )
        self._write_named()
        self.conn.executemany(
            "INSERT INTO ballot_ids (meeting_id, poll_id, ballot_id, delegate_id, cast_by, "
            "receipt, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            self._ballot_ids,
        )
        self.chain.write()
