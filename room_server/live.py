"""The live session: who is signed in where, the agenda in progress, the chair's view,
the speaker queue, messages and service calls.

Transport-agnostic: the server hands over decoded requests with the :class:`Client` they
came from and gives a ``send(clients, frame)`` function for the way back. Each request
is checked against its sender's role, applied in one SQLite transaction together with
the answer it gets (so a retried ``op_id`` gets the same answer and changes nothing),
and only then acknowledged and broadcast.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from room_protocol import voting
from room_protocol.codec import encode, record_to_json
from room_protocol.errors import ErrorCode
from room_protocol.live import (
    ALLOWED,
    Ack,
    AddItem,
    Alert,
    AlertKind,
    Announce,
    Announcement,
    AttachDocument,
    EndSpeech,
    FloorKind,
    FloorState,
    Following,
    FollowState,
    GrantFloor,
    LockScreens,
    MessageSeat,
    MoveItem,
    QueueEntry,
    ReorderQueue,
    Request,
    RequestFloor,
    RequestService,
    ResolveService,
    ScreensLocked,
    ServiceCall,
    ServiceCalls,
    ServiceKind,
    SetCurrentItem,
    SetFollow,
    SetItemDone,
    SetSpeakingLimit,
    SignedIn,
    SignedOut,
    SignIn,
    SignOut,
    Speech,
    Step,
    StepItem,
    Unlock,
    WithdrawFloor,
)
from room_protocol.messages import (
    MAX_AGENDA_DEPTH,
    ErrorMessage,
    MeetingSnapshot,
    MeetingState,
    Role,
)
from room_protocol.voting import CastBallot, CheckMethod
from room_server import audit
from room_server.credentials import Credentials, PinGuard, load_or_create_secret
from room_server.store import Store, iso_time, utc_now
from room_server.voting import Refusal, Voting

log = logging.getLogger(__name__)

PRESIDING = frozenset({Role.CHAIR, Role.CLERK})
KEY_FOLLOW = "follow"
KEY_FLOOR_LIMIT = "floor_limit_seconds"
KEY_SCREENS_LOCKED = "screens_locked"
DEFAULT_SPEAKING_LIMIT_S = 180


Refused = Refusal  # a request that is not applied; the tablet gets ``error`` with the reason

RULES: dict[type[Request], frozenset[Role] | None] = {**ALLOWED, **voting.ALLOWED}
# Requests whose own handler writes what the audit log needs (or that change nothing a
# record keeps, or carry a PIN): the rest are logged as they came.
NOT_AUDITED_AS_SENT: frozenset[type[Request]] = frozenset(
    {SignIn, SignOut, Unlock, Following, *voting.ALLOWED}
)


@dataclass(eq=False)
class Client:
    """One control connection and who is using it."""

    client_id: str
    seat_id: str | None = None
    role: Role = Role.OBSERVER
    delegate_id: str | None = None
    name: str = ""
    link: Any = None  # the transport's connection object; opaque here

    @property
    def presiding(self) -> bool:
        return self.role in PRESIDING

    @property
    def guard_key(self) -> str:
        return f"seat:{self.seat_id}" if self.seat_id else f"tablet:{self.client_id}"


Send = Callable[[Iterable[Client], str], None]
Effect = Callable[[], None]


@dataclass
class LiveSession:
    store: Store
    send: Send
    guard: PinGuard = field(default_factory=PinGuard)
    clock: Callable[[], float] = time.time
    clients: set[Client] = field(default_factory=set)
    snapshot: MeetingSnapshot | None = None
    state_frame: str = ""
    on_broadcast: Callable[[str, int], None] | None = None  # (message type, recipients)
    _follow_choice: dict[str, bool] = field(default_factory=dict)  # client_id -> following
    _seq: int = field(default_factory=lambda: int(time.time() * 1000))
    _expiry: asyncio.TimerHandle | None = None

    def __post_init__(self) -> None:
        self.credentials = Credentials(load_or_create_secret(self.store.secret_file))
        self.refresh_meeting()
        self.voting = Voting(self)
        self._handlers: dict[type[Request], Callable[[Client, Any], list[Effect]]] = {
            SignIn: self._sign_in,
            SignOut: self._sign_out,
            Unlock: self._unlock,
            SetCurrentItem: self._set_current,
            StepItem: self._step,
            SetItemDone: self._set_done,
            AddItem: self._add_item,
            MoveItem: self._move_item,
            AttachDocument: self._attach_document,
            SetFollow: self._set_follow,
            Following: self._following,
            Announce: self._announce,
            MessageSeat: self._message_seat,
            LockScreens: self._lock_screens,
            RequestService: self._request_service,
            ResolveService: self._resolve_service,
            RequestFloor: self._request_floor,
            WithdrawFloor: self._withdraw_floor,
            GrantFloor: self._grant_floor,
            EndSpeech: self._end_speech,
            ReorderQueue: self._reorder_queue,
            SetSpeakingLimit: self._set_limit,
            voting.CheckIn: self.voting.clerk_check_in,
            voting.SetProxy: self.voting.set_proxy,
            voting.CreatePoll: self.voting.create,
            voting.OpenPoll: self.voting.open,
            voting.ClosePoll: self.voting.close,
            voting.PublishPoll: self.voting.publish,
        }
        handled = set(self._handlers) | {CastBallot}
        assert handled == set(RULES), "every request needs a handler and a rule"

    # --- meeting state ---------------------------------------------------------------

    def refresh_meeting(self) -> bool:
        """Reload the meeting from the store; True if it changed."""
        snapshot = self.store.snapshot()
        if snapshot == self.snapshot and self.state_frame:
            return False
        self.snapshot = snapshot
        self.state_frame = encode(MeetingState(snapshot))
        return True

    def publish_meeting(self) -> None:
        before = self.snapshot.meeting_id if self.snapshot else None
        if not self.refresh_meeting():
            return
        self.broadcast(self.clients, self.state_frame, "meeting.state")
        after = self.snapshot.meeting_id if self.snapshot else None
        if after != before:
            # Roles come from the meeting's roster; the chair's page and the queue too.
            for client in [c for c in self.clients if c.delegate_id is not None]:
                self.become_observer(client, "a different meeting was loaded; sign in again")
            for client in self.clients:
                self.send([client], encode(self._follow_message(client)))
            self._publish_floor()
        # A re-import may have changed the quorum rule, proxies or draft polls.
        self.voting.publish_if_changed()
        self.voting.schedule_closing()

    def _meta(self, key: str) -> str | None:
        """Live settings belong to the meeting: a new meeting starts from the defaults."""
        if self.snapshot is None:
            return None
        return self.store.meta(f"{self.snapshot.meeting_id}:{key}")

    def _set_meta(self, key: str, value: str) -> None:
        self.store.set_meta(f"{self.meeting_id}:{key}", value)

    def _meeting(self) -> MeetingSnapshot:
        if self.snapshot is None:
            raise Refused(ErrorCode.BAD_STATE, "no meeting is loaded in this room")
        return self.snapshot

    @property
    def meeting_id(self) -> str:
        return self._meeting().meeting_id

    # --- connections -------------------------------------------------------------------

    def connected(self, client: Client, resume_token: str | None) -> None:
        """A control connection said hello: bring it up to date."""
        self.clients.add(client)
        self.send([client], self.state_frame)
        if resume_token:
            self._resume(client, resume_token)
        self.send([client], encode(self._follow_message(client)))
        self.send([client], encode(self._floor_state()))
        # Always said, so a tablet that missed an unlock while offline unlocks now.
        self.send([client], encode(ScreensLocked(self._meta(KEY_SCREENS_LOCKED) == "1")))
        self.voting.welcome(client)

    def disconnected(self, client: Client) -> None:
        self.clients.discard(client)

    def _resume(self, client: Client, token: str) -> None:
        if self.snapshot is None:
            return
        row = self.store.row(
            "SELECT delegate_id, seat_id FROM sign_ins WHERE token = ? AND meeting_id = ?",
            token,
            self.snapshot.meeting_id,
        )
        member = self.snapshot.member(row["delegate_id"]) if row else None
        if member is None:
            self.send([client], encode(SignedOut("your sign-in has ended; sign in again")))
            return
        self._become(client, member.delegate_id, token)

    def _restore_sign_in(self, client: Client) -> None:
        """The answer to a sign-in was lost with the connection: the sign-in still holds."""
        row = self.store.row(
            "SELECT token FROM sign_ins WHERE client_id = ? AND meeting_id = ?",
            client.client_id,
            self.meeting_id,
        )
        if row is not None:
            self._resume(client, row["token"])

    def _become(self, client: Client, delegate_id: str, token: str) -> None:
        assert self.snapshot is not None
        member = self.snapshot.member(delegate_id)
        assert member is not None
        for other in [c for c in self.clients if c.delegate_id == delegate_id and c is not client]:
            self.become_observer(other, f"{member.name} signed in on another tablet")
        client.role, client.delegate_id, client.name = member.role, delegate_id, member.name
        wrong_seat = bool(member.seat_id and client.seat_id and member.seat_id != client.seat_id)
        wrong_seat = wrong_seat and self.voting.wrong_seat_matters()
        self.send(
            [client],
            encode(
                SignedIn(delegate_id, member.name, member.role, client.seat_id, token, wrong_seat)
            ),
        )
        if client.presiding:
            self.send([client], encode(self._service_calls()))
        self.voting.signed_in(client)

    def become_observer(self, client: Client, reason: str) -> None:
        was_presiding = client.presiding
        client.role, client.delegate_id, client.name = Role.OBSERVER, None, ""
        self.send([client], encode(SignedOut(reason)))
        if was_presiding and self.snapshot is not None:
            self.send([client], encode(self.voting.polls_state(False)))

    # --- requests ----------------------------------------------------------------------

    def handle(self, client: Client, request: Request) -> None:
        """Apply one request (or replay its recorded answer) and answer the sender."""
        if isinstance(request, CastBallot):
            try:
                self._check_role(client, request)
            except Refused as refusal:
                self.send(
                    [client],
                    encode(ErrorMessage(refusal.code.value, refusal.message, request.op_id)),
                )
                return
            self.voting.writer.submit(client, request)
            return
        recorded = self.store.row(
            "SELECT response FROM operations WHERE client_id = ? AND op_id = ?",
            client.client_id,
            request.op_id,
        )
        if recorded is not None:
            self.send([client], recorded["response"])
            if isinstance(request, SignIn) and client.delegate_id is None:
                self._restore_sign_in(client)
            return
        effects: list[Effect] = []
        try:
            self._check_role(client, request)
            with self.store.transaction():
                effects = self._handlers[type(request)](client, request)
                if type(request) not in NOT_AUDITED_AS_SENT:
                    self._audit_request(client, request)
                response = encode(Ack(request.op_id))
                self._record(client, request, response)
        except Refused as refusal:
            response = encode(ErrorMessage(refusal.code.value, refusal.message, request.op_id))
            with self.store.transaction():
                self._record(client, request, response)
        self.send([client], response)
        for effect in effects:
            effect()

    def _audit_request(self, client: Client, request: Request) -> None:
        data = json.loads(record_to_json(request))
        data.pop("op_id", None)
        audit.append(
            self.store.conn,
            at=utc_now(),
            meeting_id=self.meeting_id,
            kind=request.TYPE,
            actor=client.delegate_id or f"tablet:{client.client_id}",
            data=data,
        )

    def _check_role(self, client: Client, request: Request) -> None:
        allowed = RULES[type(request)]
        if allowed is not None and client.role not in allowed:
            if client.delegate_id is None:
                who = "a tablet nobody is signed in on"
            else:
                who = f"the {client.role.value} role"
            roles = " or ".join(sorted(r.value for r in allowed))
            raise Refused(ErrorCode.FORBIDDEN, f"{request.TYPE} needs the {roles} role, not {who}")

    def _record(self, client: Client, request: Request, response: str) -> None:
        self.store.conn.execute(
            "INSERT INTO operations (client_id, op_id, response, at) VALUES (?, ?, ?, ?)",
            (client.client_id, request.op_id, response, utc_now()),
        )

    def broadcast(self, clients: Iterable[Client], frame: str, kind: str) -> None:
        targets = list(clients)
        self.send(targets, frame)
        if self.on_broadcast:
            self.on_broadcast(kind, len(targets))

    def _presiding(self) -> list[Client]:
        return [c for c in self.clients if c.presiding]

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --- identity ------------------------------------------------------------------------

    def _sign_in(self, client: Client, request: SignIn) -> list[Effect]:
        meeting_id = self.meeting_id
        key = client.guard_key
        wait = self.guard.locked_for(key)
        if wait > 0:
            raise Refused(
                ErrorCode.LOCKED,
                f"this seat is locked for {wait:.0f} s after too many wrong PINs; "
                "ask the clerk for help",
            )
        if request.badge is not None:
            row = self.store.row(
                "SELECT id FROM delegates WHERE meeting_id = ? AND badge_hash = ?",
                meeting_id,
                self.credentials.badge_hash(meeting_id, request.badge),
            )
            if row is None:
                self._failed_attempt(client)
                raise Refused(ErrorCode.NOT_FOUND, "this badge belongs to no one in this meeting")
            delegate_id = str(row["id"])
            method = CheckMethod.BADGE
        elif request.delegate_id is not None and request.pin is not None:
            delegate_id = request.delegate_id
            self._check_pin(client, delegate_id, request.pin)
            method = CheckMethod.PIN
        else:
            raise Refused(ErrorCode.BAD_FIELD, "sign in with delegate_id and pin, or a badge")
        token = secrets.token_urlsafe(24)
        self.store.conn.execute(
            "DELETE FROM sign_ins WHERE meeting_id = ? AND (delegate_id = ? OR client_id = ?)",
            (meeting_id, delegate_id, client.client_id),
        )
        self.store.conn.execute(
            "INSERT INTO sign_ins (token, meeting_id, delegate_id, seat_id, client_id, "
            "signed_in_at) VALUES (?, ?, ?, ?, ?, ?)",
            (token, meeting_id, delegate_id, client.seat_id, client.client_id, utc_now()),
        )
        assert self.snapshot is not None
        member = self.snapshot.member(delegate_id)
        assert member is not None
        effects: list[Effect] = [lambda: self._become(client, delegate_id, token)]
        if self.voting.check_in(delegate_id, method, client.seat_id, None):
            effects.append(self.voting.publish_attendance)
        wrong_seat = bool(member.seat_id and client.seat_id and member.seat_id != client.seat_id)
        if wrong_seat and self.voting.wrong_seat_matters():
            text = f"{member.name} signed in at seat {client.seat_id}, not at {member.seat_id}"
            alert = encode(Alert(AlertKind.WRONG_SEAT, text, utc_now(), client.seat_id))
            effects.append(lambda: self.broadcast(self._presiding(), alert, "alert"))
        return effects

    def _check_pin(self, client: Client, delegate_id: str, pin: str) -> None:
        row = self.store.row(
            "SELECT pin_hash FROM delegates WHERE meeting_id = ? AND id = ?",
            self.meeting_id,
            delegate_id,
        )
        if row is None:
            self._failed_attempt(client)
            raise Refused(ErrorCode.NOT_FOUND, f"{delegate_id!r} is not on this meeting's roster")
        if row["pin_hash"] is None:
            raise Refused(ErrorCode.NO_PIN, "no PIN is set for you; ask the clerk")
        expected = self.credentials.pin_hash(self.meeting_id, delegate_id, pin)
        if hmac.compare_digest(expected, row["pin_hash"]):
            self.guard.succeeded(client.guard_key)
            return
        if self._failed_attempt(client):
            raise Refused(ErrorCode.LOCKED, "wrong PIN; this seat is now locked for a while")
        raise Refused(ErrorCode.WRONG_PIN, "wrong PIN")

    def _failed_attempt(self, client: Client) -> bool:
        """Count a wrong PIN or unknown badge; True if the seat is now locked."""
        if not self.guard.failed(client.guard_key):
            return False
        where = f"seat {client.seat_id}" if client.seat_id else f"tablet {client.client_id}"
        text = f"{where} is locked for {self.guard.lockout_s:.0f} s after repeated failed sign-ins"
        log.warning(text)
        alert = encode(Alert(AlertKind.SEAT_LOCKED, text, utc_now(), client.seat_id))
        self.broadcast(self._presiding(), alert, "alert")
        return True

    def _sign_out(self, client: Client, request: SignOut) -> list[Effect]:
        self.store.conn.execute(
            "DELETE FROM sign_ins WHERE meeting_id = ? AND delegate_id = ?",
            (self.meeting_id, client.delegate_id),
        )
        effects: list[Effect] = [lambda: self.become_observer(client, "signed out")]
        if client.delegate_id is not None and self.voting.check_out(
            client.delegate_id, CheckMethod.SIGN_OUT, None
        ):
            effects.append(self.voting.publish_attendance)
        return effects

    def _unlock(self, client: Client, request: Unlock) -> list[Effect]:
        if client.delegate_id is None:
            raise Refused(ErrorCode.BAD_STATE, "nobody is signed in on this tablet")
        wait = self.guard.locked_for(client.guard_key)
        if wait > 0:
            raise Refused(ErrorCode.LOCKED, f"this seat is locked for {wait:.0f} s")
        self._check_pin(client, client.delegate_id, request.pin)
        return []

    # --- agenda --------------------------------------------------------------------------

    def _agenda_rows(self) -> list[dict[str, Any]]:
        return self.store.rows(
            "SELECT id, parent_id, position, number, title, done, actual_seconds "
            "FROM agenda_items WHERE meeting_id = ? ORDER BY position",
            self.meeting_id,
        )

    def _walk_ids(self) -> list[str]:
        return [item.id for _depth, item in self._meeting().walk()]

    def _item_row(self, item_id: str) -> dict[str, Any]:
        row = self.store.row(
            "SELECT * FROM agenda_items WHERE meeting_id = ? AND id = ?", self.meeting_id, item_id
        )
        if row is None:
            raise Refused(ErrorCode.NOT_FOUND, f"agenda item {item_id!r} does not exist")
        return row

    def _make_current(self, item_id: str | None) -> list[Effect]:
        meeting = self.store.row("SELECT * FROM meetings WHERE id = ?", self.meeting_id)
        assert meeting is not None
        now = self.clock()
        previous, started = meeting["current_item_id"], meeting["current_started_ts"]
        if previous == item_id:
            return []
        if previous is not None and started is not None:
            self.store.conn.execute(
                "UPDATE agenda_items SET actual_seconds = actual_seconds + ? "
                "WHERE meeting_id = ? AND id = ?",
                (max(0.0, now - started), self.meeting_id, previous),
            )
        self.store.conn.execute(
            "UPDATE meetings SET current_item_id = ?, current_started_ts = ? WHERE id = ?",
            (item_id, now if item_id else None, self.meeting_id),
        )
        return self._agenda_changed()

    def _agenda_changed(self) -> list[Effect]:
        self.store.bump_revision()
        return [self.publish_meeting]

    def _set_current(self, client: Client, request: SetCurrentItem) -> list[Effect]:
        self._item_row(request.item_id)
        return self._make_current(request.item_id)

    def _step(self, client: Client, request: StepItem) -> list[Effect]:
        order = self._walk_ids()
        if not order:
            raise Refused(ErrorCode.BAD_STATE, "the agenda is empty")
        current = self._meeting().current_item_id
        if current is None:
            target = order[0] if request.direction is Step.NEXT else order[-1]
        else:
            index = order.index(current) + (1 if request.direction is Step.NEXT else -1)
            if not 0 <= index < len(order):
                edge = "last" if request.direction is Step.NEXT else "first"
                raise Refused(ErrorCode.BAD_STATE, f"the current item is already the {edge}")
            target = order[index]
        return self._make_current(target)

    def _set_done(self, client: Client, request: SetItemDone) -> list[Effect]:
        self._item_row(request.item_id)
        self.store.conn.execute(
            "UPDATE agenda_items SET done = ? WHERE meeting_id = ? AND id = ?",
            (int(request.done), self.meeting_id, request.item_id),
        )
        return self._agenda_changed()

    def _siblings(self, parent_id: str | None) -> list[str]:
        return [r["id"] for r in self._agenda_rows() if r["parent_id"] == parent_id]

    def _depth(self, item_id: str | None) -> int:
        depth = 0
        parents = {r["id"]: r["parent_id"] for r in self._agenda_rows()}
        while item_id is not None:
            depth += 1
            item_id = parents.get(item_id)
        return depth

    def _place(self, parent_id: str | None, order: list[str]) -> None:
        self.store.conn.executemany(
            "UPDATE agenda_items SET parent_id = ?, position = ? WHERE meeting_id = ? AND id = ?",
            [(parent_id, i, self.meeting_id, item_id) for i, item_id in enumerate(order)],
        )

    def _renumber(self) -> None:
        rows = self._agenda_rows()
        children: dict[str | None, list[str]] = {}
        for row in rows:
            children.setdefault(row["parent_id"], []).append(row["id"])
        numbers: list[tuple[str, str, str]] = []

        def visit(parent: str | None, prefix: str) -> None:
            for i, item_id in enumerate(children.get(parent, []), start=1):
                number = f"{prefix}{i}"
                numbers.append((number, self.meeting_id, item_id))
                visit(item_id, number + ".")

        visit(None, "")
        self.store.conn.executemany(
            "UPDATE agenda_items SET number = ? WHERE meeting_id = ? AND id = ?", numbers
        )

    def _add_item(self, client: Client, request: AddItem) -> list[Effect]:
        if not request.title.strip():
            raise Refused(ErrorCode.BAD_FIELD, "an agenda item needs a title")
        if request.parent_id is not None:
            self._item_row(request.parent_id)
            if self._depth(request.parent_id) >= MAX_AGENDA_DEPTH:
                raise Refused(
                    ErrorCode.BAD_FIELD, f"agenda items nest at most {MAX_AGENDA_DEPTH} deep"
                )
        order = self._siblings(request.parent_id)
        if len(order) >= (2_000 if request.parent_id is None else 500):
            raise Refused(ErrorCode.BAD_STATE, "that part of the agenda is full")
        if request.after_id is not None and request.after_id not in order:
            raise Refused(ErrorCode.NOT_FOUND, f"{request.after_id!r} is not among those items")
        item_id = "live-" + secrets.token_hex(4)
        self.store.conn.execute(
            "INSERT INTO agenda_items (meeting_id, id, parent_id, position, number, title, "
            "planned_minutes) VALUES (?, ?, ?, 0, '', ?, ?)",
            (
                self.meeting_id,
                item_id,
                request.parent_id,
                request.title.strip(),
                request.planned_minutes,
            ),
        )
        at = order.index(request.after_id) + 1 if request.after_id is not None else 0
        order.insert(at, item_id)
        self._place(request.parent_id, order)
        self._renumber()
        return self._agenda_changed()

    def _move_item(self, client: Client, request: MoveItem) -> list[Effect]:
        row = self._item_row(request.item_id)
        parent = request.parent_id
        if parent is not None:
            self._item_row(parent)
            ancestor: str | None = parent
            parents = {r["id"]: r["parent_id"] for r in self._agenda_rows()}
            while ancestor is not None:
                if ancestor == request.item_id:
                    raise Refused(ErrorCode.BAD_FIELD, "an item cannot move under itself")
                ancestor = parents.get(ancestor)
        if self._depth(parent) + self._subtree_height(request.item_id) > MAX_AGENDA_DEPTH:
            raise Refused(ErrorCode.BAD_FIELD, f"agenda items nest at most {MAX_AGENDA_DEPTH} deep")
        old = self._siblings(row["parent_id"])
        old.remove(request.item_id)
        self._place(row["parent_id"], old)
        new = self._siblings(parent) if parent != row["parent_id"] else old
        new.insert(min(request.index, len(new)), request.item_id)
        self._place(parent, new)
        self._renumber()
        return self._agenda_changed()

    def _subtree_height(self, item_id: str) -> int:
        rows = self._agenda_rows()
        kids = [r["id"] for r in rows if r["parent_id"] == item_id]
        return 1 + max((self._subtree_height(k) for k in kids), default=0)

    def _attach_document(self, client: Client, request: AttachDocument) -> list[Effect]:
        item = self._item_row(request.item_id)
        doc = self.store.row(
            "SELECT id, title FROM documents WHERE meeting_id = ? AND sha256 = ?",
            self.meeting_id,
            request.sha256,
        )
        if doc is None:
            raise Refused(
                ErrorCode.NOT_FOUND,
                "that document is not in this meeting; add it with room-server add-document",
            )
        already = self.store.row(
            "SELECT 1 FROM agenda_documents WHERE meeting_id = ? AND item_id = ? "
            "AND document_id = ?",
            self.meeting_id,
            request.item_id,
            doc["id"],
        )
        if already is not None:
            raise Refused(ErrorCode.BAD_STATE, "that document is already on that item")
        self.store.conn.execute(
            "INSERT OR IGNORE INTO agenda_documents (meeting_id, item_id, document_id, position) "
            "VALUES (?, ?, ?, (SELECT coalesce(max(position), -1) + 1 FROM agenda_documents "
            "WHERE meeting_id = ? AND item_id = ?))",
            (self.meeting_id, request.item_id, doc["id"], self.meeting_id, request.item_id),
        )
        self.store.conn.execute(
            "INSERT INTO notices (meeting_id, id, text, at, sha256, item_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                self.meeting_id,
                "n-" + secrets.token_hex(4),
                f"{doc['title']} added to item {item['number']} {item['title']}",
                utc_now(),
                request.sha256,
                request.item_id,
            ),
        )
        return self._agenda_changed()

    # --- follow the chair --------------------------------------------------------------

    def _follow_position(self) -> dict[str, Any]:
        raw = self._meta(KEY_FOLLOW)
        return json.loads(raw) if raw else {"seq": 0, "sha256": None, "page": 0, "fit": "width"}

    def _follow_message(
        self, client: Client, position: dict[str, Any] | None = None
    ) -> FollowState:
        position = position or self._follow_position()
        return FollowState(
            seq=position["seq"],
            sha256=position["sha256"],
            page=position["page"],
            fit=position["fit"],
            following=self._follow_choice.get(client.client_id, True),
        )

    def _set_follow(self, client: Client, request: SetFollow) -> list[Effect]:
        if request.sha256 is not None:
            doc = self._meeting().document(request.sha256)
            if doc is None:
                raise Refused(ErrorCode.NOT_FOUND, "that document is not in this meeting")
            if request.page >= doc.pages:
                raise Refused(
                    ErrorCode.BAD_FIELD, f"page {request.page} is past the last ({doc.pages - 1})"
                )
        position = {
            "seq": self._follow_position()["seq"] + 1,
            "sha256": request.sha256,
            "page": request.page,
            "fit": request.fit.value,
        }
        self._set_meta(KEY_FOLLOW, json.dumps(position))
        frame = encode(
            FollowState(position["seq"], request.sha256, request.page, request.fit, following=True)
        )
        return [
            lambda: self.broadcast(
                [c for c in self.clients if self._follow_choice.get(c.client_id, True)],
                frame,
                "follow.state",
            )
        ]

    def _following(self, client: Client, request: Following) -> list[Effect]:
        def apply() -> None:
            self._follow_choice[client.client_id] = request.follow
            self.send([client], encode(self._follow_message(client)))

        return [apply]

    # --- messages, screens, service ------------------------------------------------------

    def _sender(self, client: Client) -> str:
        return client.name or client.role.value

    def _announce(self, client: Client, request: Announce) -> list[Effect]:
        message = Announcement(
            "m-" + secrets.token_hex(6), request.text, self._sender(client), utc_now()
        )
        self._store_message(message)
        frame = encode(message)
        return [lambda: self.broadcast(self.clients, frame, "message")]

    def _message_seat(self, client: Client, request: MessageSeat) -> list[Effect]:
        targets = [c for c in self.clients if c.seat_id == request.seat_id]
        if not targets:
            raise Refused(ErrorCode.NOT_FOUND, f"no tablet is connected at seat {request.seat_id}")
        message = Announcement(
            "m-" + secrets.token_hex(6),
            request.text,
            self._sender(client),
            utc_now(),
            request.seat_id,
        )
        self._store_message(message)
        frame = encode(message)
        return [lambda: self.broadcast(targets, frame, "message")]

    def _store_message(self, message: Announcement) -> None:
        self.store.conn.execute(
            "INSERT INTO messages (id, meeting_id, text, sender, to_seat, at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                message.id,
                self.meeting_id,
                message.text,
                message.sender,
                message.to_seat,
                message.at,
            ),
        )

    def _lock_screens(self, client: Client, request: LockScreens) -> list[Effect]:
        self._set_meta(KEY_SCREENS_LOCKED, "1" if request.locked else "0")
        frame = encode(ScreensLocked(request.locked))
        return [lambda: self.broadcast(self.clients, frame, "screens.locked")]

    def _service_calls(self) -> ServiceCalls:
        if self.snapshot is None:
            return ServiceCalls(())
        rows = self.store.rows(
            "SELECT * FROM service_calls WHERE meeting_id = ? AND resolved_at IS NULL ORDER BY at",
            self.snapshot.meeting_id,
        )
        names = {m.delegate_id: m.name for m in self.snapshot.roster}
        return ServiceCalls(
            tuple(
                ServiceCall(
                    r["id"],
                    ServiceKind(r["kind"]),
                    r["text"],
                    r["delegate_id"],
                    names.get(r["delegate_id"] or "", ""),
                    r["seat_id"],
                    r["at"],
                )
                for r in rows
            )
        )

    def _publish_service_calls(self) -> None:
        self.broadcast(self._presiding(), encode(self._service_calls()), "service.calls")

    def _request_service(self, client: Client, request: RequestService) -> list[Effect]:
        self.store.conn.execute(
            "INSERT INTO service_calls (id, meeting_id, kind, text, delegate_id, seat_id, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                "s-" + secrets.token_hex(6),
                self.meeting_id,
                request.kind.value,
                request.text,
                client.delegate_id,
                client.seat_id,
                utc_now(),
            ),
        )
        return [self._publish_service_calls]

    def _resolve_service(self, client: Client, request: ResolveService) -> list[Effect]:
        changed = self.store.conn.execute(
            "UPDATE service_calls SET resolved_at = ? WHERE id = ? AND meeting_id = ? "
            "AND resolved_at IS NULL",
            (utc_now(), request.request_id, self.meeting_id),
        ).rowcount
        if not changed:
            raise Refused(ErrorCode.NOT_FOUND, f"no open service request {request.request_id!r}")
        return [self._publish_service_calls]

    # --- speaker queue -------------------------------------------------------------------

    def _queue_rows(self) -> list[dict[str, Any]]:
        if self.snapshot is None:
            return []
        return self.store.rows(
            "SELECT * FROM floor_queue WHERE meeting_id = ? ORDER BY position",
            self.snapshot.meeting_id,
        )

    def _open_speech(self) -> dict[str, Any] | None:
        if self.snapshot is None:
            return None
        return self.store.row(
            "SELECT * FROM speeches WHERE meeting_id = ? AND ended_at IS NULL "
            "ORDER BY id DESC LIMIT 1",
            self.snapshot.meeting_id,
        )

    def _limit(self) -> int:
        return int(self._meta(KEY_FLOOR_LIMIT) or DEFAULT_SPEAKING_LIMIT_S)

    def _floor_state(self) -> FloorState:
        names = {m.delegate_id: m for m in self.snapshot.roster} if self.snapshot else {}
        speaking = None
        speech = self._open_speech()
        if speech is not None:
            member = names.get(speech["delegate_id"])
            speaking = Speech(
                delegate_id=speech["delegate_id"],
                name=member.name if member else speech["delegate_id"],
                kind=FloorKind(speech["kind"]),
                started_at=speech["started_at"],
                limit_seconds=speech["limit_seconds"],
                elapsed_seconds=round(max(0.0, self.clock() - speech["started_ts"]), 3),
                expired=bool(speech["expired"]),
            )
        queue = tuple(
            QueueEntry(
                r["delegate_id"],
                names[r["delegate_id"]].name if r["delegate_id"] in names else r["delegate_id"],
                FloorKind(r["kind"]),
                r["requested_at"],
                names[r["delegate_id"]].seat_id if r["delegate_id"] in names else None,
            )
            for r in self._queue_rows()
        )
        return FloorState(self._next_seq(), speaking, queue, self._limit())

    def _publish_floor(self) -> None:
        self.broadcast(self.clients, encode(self._floor_state()), "floor.state")
        self._schedule_expiry()

    def _write_queue(self, order: list[dict[str, Any]]) -> None:
        self.store.conn.execute("DELETE FROM floor_queue WHERE meeting_id = ?", (self.meeting_id,))
        self.store.conn.executemany(
            "INSERT INTO floor_queue (meeting_id, delegate_id, kind, requested_at, position) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (self.meeting_id, r["delegate_id"], r["kind"], r["requested_at"], i)
                for i, r in enumerate(order)
            ],
        )

    def _request_floor(self, client: Client, request: RequestFloor) -> list[Effect]:
        queue = self._queue_rows()
        if any(r["delegate_id"] == client.delegate_id for r in queue):
            raise Refused(ErrorCode.BAD_STATE, "you are already in the speaker queue")
        speech = self._open_speech()
        if speech is not None and speech["delegate_id"] == client.delegate_id:
            raise Refused(ErrorCode.BAD_STATE, "you have the floor already")
        entry = {
            "delegate_id": client.delegate_id,
            "kind": request.kind.value,
            "requested_at": utc_now(),
        }
        if request.kind is FloorKind.POINT_OF_ORDER:
            # Points of order go ahead of speakers, after earlier points of order.
            points = [i for i, r in enumerate(queue) if r["kind"] == FloorKind.POINT_OF_ORDER.value]
            queue.insert(points[-1] + 1 if points else 0, entry)
        else:
            queue.append(entry)
        self._write_queue(queue)
        return [self._publish_floor]

    def _withdraw_floor(self, client: Client, request: WithdrawFloor) -> list[Effect]:
        queue = self._queue_rows()
        remaining = [r for r in queue if r["delegate_id"] != client.delegate_id]
        if len(remaining) == len(queue):
            raise Refused(ErrorCode.BAD_STATE, "you are not in the speaker queue")
        self._write_queue(remaining)
        return [self._publish_floor]

    def _close_speech(self, speech: dict[str, Any]) -> None:
        duration = max(0.0, self.clock() - speech["started_ts"])
        limit = speech["limit_seconds"]
        self.store.conn.execute(
            "UPDATE speeches SET ended_at = ?, duration_seconds = ?, "
            "expired = (expired OR ?) WHERE id = ?",
            (utc_now(), duration, int(bool(limit) and duration > limit), speech["id"]),
        )

    def _grant_floor(self, client: Client, request: GrantFloor) -> list[Effect]:
        meeting = self._meeting()
        queue = self._queue_rows()
        if request.delegate_id is None:
            if not queue:
                raise Refused(ErrorCode.BAD_STATE, "the speaker queue is empty")
            chosen = queue[0]
        else:
            found = [r for r in queue if r["delegate_id"] == request.delegate_id]
            if meeting.member(request.delegate_id) is None:
                raise Refused(ErrorCode.NOT_FOUND, f"{request.delegate_id!r} is not on the roster")
            chosen = (
                found[0]
                if found
                else {
                    "delegate_id": request.delegate_id,
                    "kind": FloorKind.SPEAK.value,
                }
            )
        current = self._open_speech()
        if current is not None:
            self._close_speech(current)
        self._write_queue([r for r in queue if r["delegate_id"] != chosen["delegate_id"]])
        now = self.clock()
        self.store.conn.execute(
            "INSERT INTO speeches (meeting_id, item_id, delegate_id, kind, started_at, "
            "started_ts, limit_seconds) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                self.meeting_id,
                meeting.current_item_id,
                chosen["delegate_id"],
                chosen["kind"],
                iso_time(now),
                now,
                self._limit(),
            ),
        )
        return [self._publish_floor]

    def _end_speech(self, client: Client, request: EndSpeech) -> list[Effect]:
        current = self._open_speech()
        if current is None:
            raise Refused(ErrorCode.BAD_STATE, "nobody has the floor")
        self._close_speech(current)
        return [self._publish_floor]

    def _reorder_queue(self, client: Client, request: ReorderQueue) -> list[Effect]:
        queue = {r["delegate_id"]: r for r in self._queue_rows()}
        if sorted(request.delegate_ids) != sorted(queue):
            raise Refused(
                ErrorCode.BAD_FIELD, "the new order must list exactly the delegates in the queue"
            )
        self._write_queue([queue[d] for d in request.delegate_ids])
        return [self._publish_floor]

    def _set_limit(self, client: Client, request: SetSpeakingLimit) -> list[Effect]:
        self._set_meta(KEY_FLOOR_LIMIT, str(request.seconds))
        current = self._open_speech()
        if current is not None:
            elapsed = self.clock() - current["started_ts"]
            expired = bool(request.seconds) and elapsed > request.seconds
            self.store.conn.execute(
                "UPDATE speeches SET limit_seconds = ?, expired = ? WHERE id = ?",
                (request.seconds, int(expired), current["id"]),
            )
        return [self._publish_floor]

    def _schedule_expiry(self) -> None:
        """Mark the current speech expired when its time is up, and tell everyone."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        speech = self._open_speech()
        if speech is None or not speech["limit_seconds"] or speech["expired"]:
            return
        remaining = speech["started_ts"] + speech["limit_seconds"] - self.clock()
        loop = asyncio.get_running_loop()
        self._expiry = loop.call_later(max(0.0, remaining), self._expire, speech["id"])

    def _expire(self, speech_id: int) -> None:
        self._expiry = None
        with self.store.transaction():
            changed = self.store.conn.execute(
                "UPDATE speeches SET expired = 1 WHERE id = ? AND ended_at IS NULL AND expired = 0",
                (speech_id,),
            ).rowcount
        if changed:
            log.info("speaking time is up (speech %d)", speech_id)
            self.broadcast(self.clients, encode(self._floor_state()), "floor.state")

    def start(self) -> None:
        """Pick up a speech or a poll countdown that was running when the server stopped."""
        self._schedule_expiry()
        self.voting.schedule_closing()

    def stop(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
        self.voting.stop()
