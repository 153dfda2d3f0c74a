"""Polls: drafted, opened (with the quorum or the chair's override), counted down,
closed, counted and published. Ballots themselves are the ``ballots`` word's."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from typing import Any

from room_protocol.codec import encode, record_from_json, record_to_json
from room_protocol.errors import ErrorCode
from room_protocol.live import Request
from room_protocol.messages import Role
from room_protocol.voting import (
    ClosePoll,
    CreatePoll,
    OpenPoll,
    Outcome,
    Poll,
    PollKind,
    PollProgress,
    PollResult,
    PollsState,
    PollState,
    PublishPoll,
    normalised,
    spec_problems,
)
from room_server import audit
from room_server.meeting.context import Client, Context, Effects, Handler
from room_server.repo import agenda as agenda_repo
from room_server.repo import attendance as attendance_repo
from room_server.repo import ballots as ballots_repo
from room_server.repo import polls as repo
from room_server.rules import Refusal
from room_server.rules import polls as rules
from room_server.rules.attendance import represented
from room_server.store import iso_time, utc_now
from room_server.tally import CastingError, tally
from room_server.writer import Transaction

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.25  # poll.progress at most this often
NAMED_VOTES_SENT = 1_000  # named votes in one poll.state (~70 KB; the latest always goes)


class PollsWord:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._frames: dict[bool, str] = {}  # presiding -> poll.state frame, until a change
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._progress_due: asyncio.TimerHandle | None = None
        self._progress_sent = 0.0
        self.handlers: dict[type[Request], Handler] = {
            CreatePoll: self.create,
            OpenPoll: self.open,
            ClosePoll: self.close,
            PublishPoll: self.publish,
        }
        ctx.hooks.connected.append(self.welcome)
        ctx.hooks.signed_in.append(self.welcome)
        ctx.hooks.signed_out.append(self._signed_out)
        ctx.hooks.meeting_changed.append(self._meeting_changed)
        ctx.hooks.ballots_recorded.append(self.progress_soon)

    # --- what is sent --------------------------------------------------------------------

    def state(self, presiding: bool) -> PollsState:
        """Every poll; results once published (to the chair and clerks once closed)."""
        if self.ctx.snapshot is None:
            return PollsState(())
        meeting_id = self.ctx.snapshot.meeting_id
        store = self.ctx.store
        polls: list[Poll] = []
        results: list[tuple[str, PollResult]] = []  # (when, result)
        for row in repo.rows(store, meeting_id):
            spec = repo.spec(row)
            state = PollState(row["state"])
            polls.append(
                Poll(
                    row["id"],
                    spec,
                    state,
                    repo.voted(store, meeting_id, row["id"], spec.secret),
                    row["opened_at"],
                    iso_time(row["closes_at_ts"]) if row["closes_at_ts"] else None,
                    row["closed_at"],
                    row["published_at"],
                    bool(row["quorum_override"]),
                )
            )
            visible = state is PollState.PUBLISHED or (presiding and state is PollState.CLOSED)
            if visible and row["result"]:
                when = row["published_at"] or row["closed_at"] or ""
                results.append((when, record_from_json(PollResult, row["result"])))
        # How each member voted goes with the latest result, and with earlier ones newest
        # first while they fit NAMED_VOTES_SENT: every named list of a 2,000-member body
        # would outgrow one message after a few polls, a council's fit for the whole day.
        with_named: set[str] = set()
        sent = 0
        for _when, result in sorted(results, key=lambda r: r[0], reverse=True):
            if result.named and (not with_named or sent + len(result.named) <= NAMED_VOTES_SENT):
                with_named.add(result.poll_id)
                sent += len(result.named)
        shown = tuple(
            r if r.poll_id in with_named else replace(r, named=()) for _when, r in results
        )
        return PollsState(tuple(polls), shown, repo.template_ids(store, meeting_id))

    def _frame(self, presiding: bool) -> str:
        if presiding not in self._frames:
            self._frames[presiding] = encode(self.state(presiding))
        return self._frames[presiding]

    def welcome(self, client: Client) -> None:
        if self.ctx.snapshot is not None:
            self.ctx.send([client], self._frame(client.presiding))

    def _signed_out(self, client: Client, was_presiding: bool) -> None:
        if was_presiding and self.ctx.snapshot is not None:
            self.ctx.send([client], self._frame(False))

    def publish_polls(self, *, only_if_changed: bool = False) -> None:
        if self.ctx.snapshot is None:
            return
        before = dict(self._frames)
        self._frames.clear()
        frames = self._frame(True), self._frame(False)
        if only_if_changed and (before.get(True), before.get(False)) == frames:
            return
        presiding = [c for c in self.ctx.clients if c.presiding]
        others = [c for c in self.ctx.clients if not c.presiding]
        self.ctx.broadcast(presiding, frames[0], "poll.state")
        self.ctx.broadcast(others, frames[1], "poll.state")

    def _meeting_changed(self, switched: bool) -> None:
        # A re-import may have changed the quorum rule, proxies or draft polls.
        self.publish_polls(only_if_changed=True)
        self.schedule_closing()

    def progress_soon(self) -> None:
        """A poll.progress to the chair, clerks and the room display, throttled."""
        self._frames.clear()  # the counts of votes in changed
        if self._progress_due is not None:
            return
        wait = max(0.0, self._progress_sent + PROGRESS_INTERVAL_S - time.monotonic())
        self._progress_due = asyncio.get_running_loop().call_later(wait, self._send_progress)

    def _send_progress(self) -> None:
        self._progress_due = None
        self._progress_sent = time.monotonic()
        if self.ctx.snapshot is None:
            return
        meeting_id = self.ctx.snapshot.meeting_id
        eligible = attendance_repo.eligible(self.ctx.store, meeting_id)
        targets = [c for c in self.ctx.clients if c.presiding or c.role is Role.OBSERVER]
        for row in repo.rows(self.ctx.store, meeting_id):
            if row["state"] == PollState.OPEN.value:
                voted = repo.voted(self.ctx.store, meeting_id, row["id"], repo.spec(row).secret)
                frame = encode(PollProgress(row["id"], voted, eligible))
                self.ctx.broadcast(targets, frame, "poll.progress")

    # --- requests ----------------------------------------------------------------------

    def _poll(self, tx: Transaction, poll_id: str) -> dict[str, Any]:
        row = repo.row(tx.store, self.ctx.meeting_id, poll_id)
        if row is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"there is no poll {poll_id!r}")
        return row

    def _audit(self, tx: Transaction, kind: str, actor: str | None, data: dict[str, Any]) -> None:
        audit.append(
            tx.conn, at=utc_now(), meeting_id=self.ctx.meeting_id, kind=kind, actor=actor, data=data
        )

    def create(self, tx: Transaction, client: Client, request: CreatePoll) -> Effects:
        meeting = self.ctx.meeting()
        spec = request.spec
        if request.template_id is not None:
            base = repo.template(tx.store, meeting.meeting_id, request.template_id)
            if base is None:
                raise Refusal(ErrorCode.NOT_FOUND, f"there is no template {request.template_id!r}")
            spec = replace(base, title=spec.title, options=spec.options, item_id=spec.item_id)
            if base.kind is PollKind.YES_NO:
                spec = replace(spec, options=())
        spec = normalised(spec)
        problems = spec_problems(spec)
        if problems:
            raise Refusal(ErrorCode.BAD_FIELD, "; ".join(problems))
        if (
            spec.item_id is not None
            and agenda_repo.item(tx.store, meeting.meeting_id, spec.item_id) is None
        ):
            raise Refusal(ErrorCode.NOT_FOUND, f"agenda item {spec.item_id!r} does not exist")
        if repo.row(tx.store, meeting.meeting_id, request.poll_id) is not None:
            raise Refusal(ErrorCode.BAD_STATE, f"a poll {request.poll_id!r} exists already")
        repo.create(tx.store, meeting.meeting_id, request.poll_id, spec, client.delegate_id)
        self._audit(
            tx,
            "poll.created",
            client.delegate_id,
            {"poll": request.poll_id, "spec": json.loads(record_to_json(spec))},
        )
        return [self.publish_polls]

    def open(self, tx: Transaction, client: Client, request: OpenPoll) -> Effects:
        meeting_id = self.ctx.meeting_id
        row = self._poll(tx, request.poll_id)
        open_now = [r["id"] for r in repo.rows(tx.store, meeting_id) if r["state"] == "open"]
        attendance = attendance_repo.state(tx.store, meeting_id)
        override = rules.check_open(
            PollState(row["state"]), open_now, attendance, request.override_quorum
        )
        now = self.ctx.clock()
        closes = now + request.close_after_seconds if request.close_after_seconds else None
        repo.open_poll(tx.store, meeting_id, request.poll_id, now, closes, override)
        spec = repo.spec(row)
        if spec.secret:
            # One slot per ballot the poll can receive: every voting member may check in
            # (or give a proxy) while it is open, and a proxy's ballot is the giver's own.
            count = ballots_repo.voting_members(tx.store, meeting_id)
            size = ballots_repo.slot_size(spec)
            ballots_repo.create_slots(tx.store, meeting_id, request.poll_id, count, size)
        self._audit(
            tx,
            "poll.opened",
            client.delegate_id,
            {
                "poll": request.poll_id,
                "present": attendance.present_members,
                "represented": attendance.represented,
                "required": attendance.required,
                "quorum_met": attendance.quorum_met,
                "quorum_override": override,
                "closes_at": iso_time(closes) if closes else None,
            },
        )
        tx.sign_head(audit.head_reason("poll.opened", request.poll_id))
        return [self.publish_polls, self.schedule_closing, self.progress_soon]

    def close(self, tx: Transaction, client: Client, request: ClosePoll) -> Effects:
        row = self._poll(tx, request.poll_id)
        if row["state"] != PollState.OPEN.value:
            raise Refusal(ErrorCode.BAD_STATE, f"the poll is {row['state']}, not open")
        if request.after_seconds:
            closes = self.ctx.clock() + request.after_seconds
            repo.set_countdown(tx.store, self.ctx.meeting_id, request.poll_id, closes)
            self._audit(
                tx,
                "poll.countdown",
                client.delegate_id,
                {"poll": request.poll_id, "closes_at": iso_time(closes)},
            )
            return [self.publish_polls, self.schedule_closing]
        self._close_now(tx, row, client.delegate_id)
        return [self.publish_polls]

    def _close_now(self, tx: Transaction, row: dict[str, Any], actor: str | None) -> None:
        meeting_id = self.ctx.meeting_id
        spec = repo.spec(row)
        members = attendance_repo.members(tx.store, meeting_id)
        here, by_proxy = represented(
            members,
            attendance_repo.present_ids(tx.store, meeting_id),
            attendance_repo.holders(tx.store, meeting_id),
        )
        present, total = rules.bases(spec, members, here | by_proxy)
        result = self._count(tx, row["id"], present, total, ())
        repo.close(tx.store, meeting_id, row["id"], present, total, result)
        self._audit(tx, "poll.closed", actor, {"poll": row["id"], **_summary(result)})
        tx.sign_head(audit.head_reason("poll.closed", row["id"]))
        tx.checkpoint_after = True  # see Writer._commit: secret polls and the WAL

    def _count(
        self, tx: Transaction, poll_id: str, present: int, members: int, casting: tuple[str, ...]
    ) -> PollResult:
        row = self._poll(tx, poll_id)
        spec = repo.spec(row)
        ballots, named = repo.ballots(tx.store, self.ctx.meeting_id, poll_id, spec.secret)
        result = tally(poll_id, spec, ballots, present=present, members=members, casting=casting)
        return replace(result, named=named)

    def publish(self, tx: Transaction, client: Client, request: PublishPoll) -> Effects:
        row = self._poll(tx, request.poll_id)
        if row["state"] != PollState.CLOSED.value:
            raise Refusal(ErrorCode.BAD_STATE, f"the poll is {row['state']}, not closed")
        try:
            result = self._count(
                tx, request.poll_id, row["present"], row["members"], request.casting
            )
        except CastingError as exc:
            raise Refusal(ErrorCode.BAD_FIELD, str(exc)) from None
        if result.outcome is Outcome.TIE:
            tied = ", ".join(result.tied)
            raise Refusal(
                ErrorCode.BAD_STATE, f"the vote is tied ({tied}): give the chair's casting vote"
            )
        repo.publish(tx.store, self.ctx.meeting_id, request.poll_id, result)
        self._audit(
            tx,
            "poll.published",
            client.delegate_id,
            {"poll": request.poll_id, "casting": list(request.casting), **_summary(result)},
        )
        tx.sign_head(audit.head_reason("poll.published", request.poll_id))
        return [self.publish_polls]

    # --- countdowns ----------------------------------------------------------------------

    def schedule_closing(self) -> None:
        """(Re)arm a timer for every open poll with a countdown; on start too."""
        if self.ctx.snapshot is None:
            return
        loop = asyncio.get_running_loop()
        for row in repo.rows(self.ctx.store, self.ctx.snapshot.meeting_id):
            timer = self._timers.pop(row["id"], None)
            if timer is not None:
                timer.cancel()
            if row["state"] == PollState.OPEN.value and row["closes_at_ts"] is not None:
                wait = rules.countdown_wait(row["closes_at_ts"], self.ctx.clock())
                self._timers[row["id"]] = loop.call_later(wait, self.countdown_over, row["id"])

    def countdown_over(self, poll_id: str) -> None:
        """The bell: close the poll. Ballots that arrived before it are queued before it in
        the writer, so they are written first and count."""
        self._timers.pop(poll_id, None)

        def close(tx: Transaction) -> bool:
            row = repo.row(tx.store, self.ctx.meeting_id, poll_id)
            if row is None or row["state"] != PollState.OPEN.value or row["closes_at_ts"] is None:
                return False
            self._close_now(tx, row, None)
            return True

        def done(future: asyncio.Future[bool]) -> None:
            if future.cancelled() or future.exception() is not None:
                log.error("closing poll %s at the end of its countdown failed", poll_id)
                return
            if future.result():
                log.info("poll %s closed at the end of its countdown", poll_id)
                self.publish_polls()

        self.ctx.writer.submit(close).add_done_callback(done)

    def start(self) -> None:
        self.schedule_closing()

    def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        if self._progress_due is not None:
            self._progress_due.cancel()
            self._progress_due = None


def _summary(result: PollResult) -> dict[str, Any]:
    return {
        "outcome": result.outcome.value,
        "counts": {c.option_id: c.votes for c in result.counts},
        "ballots": result.ballots,
        "winners": list(result.winners),
        "decided_by": result.decided_by,
    }
