"""The live session: every meeting word's handlers in one table, and the way a request
goes through it.

A request is checked against its sender's role (``room_protocol``'s ``ALLOWED``), applied
by its word as a job of the one writer together with the answer it gets (so a request
re-sent with the same ``op_id`` is answered from the record and changes nothing), and
answered only after the commit; then the word's effects (broadcasts) run. Ballots go
their own way through the ``ballots`` word's group commit.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from room_protocol import enrollment, voting
from room_protocol.annotations import ALLOWED as ANNOTATIONS_ALLOWED
from room_protocol.annotations import AnnotationBatch, AnnotationOp
from room_protocol.codec import encode, record_to_json
from room_protocol.errors import ErrorCode
from room_protocol.live import (
    ALLOWED,
    Ack,
    CloseMeeting,
    Following,
    Request,
    SetFollow,
    SignIn,
    SignOut,
    Unlock,
)
from room_protocol.messages import ErrorMessage, Role
from room_protocol.voting import CastBallot
from room_server import audit
from room_server.credentials import Credentials, load_or_create_secret
from room_server.devices import Authority
from room_server.meeting.agenda import AgendaWord
from room_server.meeting.annotations import AnnotationsWord
from room_server.meeting.attendance import AttendanceWord
from room_server.meeting.ballots import BallotsWord
from room_server.meeting.closing import ClosingWord
from room_server.meeting.context import (
    Answered,
    Client,
    Context,
    Effects,
    Handler,
    Send,
    not_saved,
)
from room_server.meeting.floor import FloorWord
from room_server.meeting.follow import FollowWord
from room_server.meeting.messages import MessagesWord
from room_server.meeting.pairing import PairingWord
from room_server.meeting.polls import PollsWord
from room_server.meeting.records import RecordsWord
from room_server.meeting.signed_heads import SignedHeadsWord
from room_server.meeting.signin import SignInWord
from room_server.record import record_steps
from room_server.record.outbox import Outbox
from room_server.repo import signin as signin_repo
from room_server.rules import Refusal
from room_server.rules.annotations import AnnotationLimits
from room_server.rules.signin import FailureLimits
from room_server.signing import SigningKey, ensure_signing_key
from room_server.store import Store, utc_now
from room_server.writer import Transaction, WriteFailed, Writer

log = logging.getLogger(__name__)

DEFAULT_SIGN_EVERY_S = 60.0  # the default of [audit] sign_every_seconds

RULES: dict[type[Request], frozenset[Role] | None] = {
    **ALLOWED,
    **voting.ALLOWED,
    **enrollment.ALLOWED,
    **ANNOTATIONS_ALLOWED,
}
# Requests after whose commit a tablet's identity changes (the effects set who is signed
# in where): the writer commits right after them, so later requests see the change.
CHANGES_IDENTITY: frozenset[type[Request]] = frozenset({SignIn, SignOut, voting.CheckIn})
# Requests whose own word writes what the audit log needs (or that change nothing a
# record keeps, or carry a PIN): the rest are logged as they came. Annotation operations
# are not copied into the audit chain: their log (``annotation_ops``) is its own
# append-only table, and the sealed record holds every member's annotations folded from it.
NOT_AUDITED_AS_SENT: frozenset[type[Request]] = frozenset(
    {SignIn, SignOut, Unlock, Following, CloseMeeting, *voting.ALLOWED, *ANNOTATIONS_ALLOWED}
)
# Requests a closed meeting still takes: who is on a tablet, what it shows, and the
# room's own business (enrolling devices). Every other request changes the meeting.
OPEN_WHEN_CLOSED: frozenset[type[Request]] = frozenset(
    {SignIn, SignOut, Unlock, Following, *enrollment.ALLOWED}
)


@dataclass(frozen=True, slots=True)
class _Outcome:
    answer: str
    effects: Effects


BUSY_ANNOTATIONS = "the room is busy: this mark stays on the tablet and is sent again"


# How the tablets' encoder starts an annotation operation or batch: enough to answer
# ``busy`` without decoding a frame of a thousand coordinates (another order is decoded
# as usual).
_ANNOTATION_STARTS = ('{"type":"annotation.op","op_id":"', '{"type":"annotation.batch","op_id":"')
_OP_ID_END = re.compile(r'[A-Za-z0-9][A-Za-z0-9._:-]{0,63}(?=")')


def busy_frame(op_id: str) -> str:
    """The answer to an annotation operation the room does not take now (over its
    budget): nothing of it is kept; the tablet keeps it pending and sends it again."""
    return encode(ErrorMessage(ErrorCode.BUSY.value, BUSY_ANNOTATIONS, op_id))


class LiveSession:
    """Connects, signs in, answers and broadcasts for every tablet of the room."""

    def __init__(
        self,
        store: Store,
        writer: Writer,
        send: Send,
        clock: Callable[[], float] = time.time,
        limits: FailureLimits | None = None,
        *,
        authority: Authority | None = None,
        room_id: str = "room",
        signing_key: SigningKey | None = None,
        sign_every_seconds: float = DEFAULT_SIGN_EVERY_S,
        outbox: Outbox | None = None,
        annotation_limits: AnnotationLimits | None = None,
    ) -> None:
        self.ctx = Context(store, writer, send, clock)
        self.ctx.refresh_meeting()
        credentials = Credentials(load_or_create_secret(store.secret_file))
        if signing_key is None:
            signing_key = ensure_signing_key(store.path.parent / "keys")
        # The order is the order in which a connecting tablet is brought up to date.
        self.signin = SignInWord(self.ctx, credentials, limits)
        self.agenda = AgendaWord(self.ctx)
        self.follow = FollowWord(self.ctx)
        self.floor = FloorWord(self.ctx)
        self.messages = MessagesWord(self.ctx)
        self.ballots = BallotsWord(self.ctx)
        self.attendance = AttendanceWord(self.ctx)
        self.polls = PollsWord(self.ctx)
        self.pairing = PairingWord(self.ctx, authority, room_id)
        self.closing = ClosingWord(self.ctx)
        self.annotations = AnnotationsWord(self.ctx, annotation_limits)
        self.records = RecordsWord(
            self.ctx, store.path.parent, record_steps(signing_key, room_id), outbox
        )
        self.heads = SignedHeadsWord(
            self.ctx, signing_key, room_id=room_id, sign_every_seconds=sign_every_seconds
        )
        self.handlers: dict[type[Request], Handler] = {}
        self._waiting: dict[Client, int] = {}  # requests of a tablet not yet answered
        self._waiting_plain: dict[Client, int] = {}  # of those, the ones not in the urgent lane
        for word in (
            self.signin,
            self.agenda,
            self.follow,
            self.floor,
            self.messages,
            self.attendance,
            self.polls,
            self.pairing,
            self.closing,
            self.annotations,
        ):
            for kind, handler in word.handlers.items():
                assert kind not in self.handlers, f"{kind.TYPE} has two handlers"
                self.handlers[kind] = handler
        handled = set(self.handlers) | {CastBallot}
        assert handled == set(RULES), "every request needs exactly one handler and one rule"

    @property
    def clients(self) -> set[Client]:
        return self.ctx.clients

    @property
    def snapshot(self) -> Any:
        return self.ctx.snapshot

    def publish_meeting(self) -> None:
        self.ctx.publish_meeting()

    # --- connections -------------------------------------------------------------------

    def connected(self, client: Client, resume_token: str | None) -> None:
        """A control connection said hello: bring it up to date."""
        self.ctx.clients.add(client)
        self.ctx.bring_up_to_date(client)
        if resume_token:
            self.signin.resume(client, resume_token)
        for listener in self.ctx.hooks.connected:
            listener(client)

    def disconnected(self, client: Client) -> None:
        self.ctx.clients.discard(client)
        for listener in self.ctx.hooks.disconnected:
            listener(client)

    def signed_in_on(self, device_id: str) -> Client | None:
        """The control connection of this device with a member signed in, if any."""
        return next(
            (c for c in self.ctx.clients if c.client_id == device_id and c.delegate_id),
            None,
        )

    def pairing_codes_voided(self) -> None:
        self.pairing.voided()

    def device_enrolled(self, device_id: str, kind: str, seat_id: str | None) -> None:
        self.pairing.enrolled(device_id, kind, seat_id)

    # --- requests ----------------------------------------------------------------------

    def shed(self, raw: str | bytes) -> str | None:
        """The op id of an annotation operation to answer ``busy`` before it is decoded,
        while the room's annotation budget is spent (None: decode and handle it)."""
        if self.annotations.budget.available() or not isinstance(raw, str):
            return None
        for start in _ANNOTATION_STARTS:
            if raw.startswith(start):
                found = _OP_ID_END.match(raw, len(start))
                return found.group(0) if found else None
        return None

    def handle(self, client: Client, request: Request) -> None:
        """Apply one request (or replay its recorded answer); answer after the commit."""
        # The type and the sender only: a request's fields may be a PIN, a badge or a ballot.
        log.debug("%s from %s", request.TYPE, client.client_id)
        if isinstance(request, CastBallot):
            self.ballots.cast(client, request, lambda: _check_role(client, request))
            return
        if isinstance(request, AnnotationOp | AnnotationBatch) and not self.annotations.take(
            request
        ):
            self.ctx.send([client], busy_frame(request.op_id))
            return
        waiting = self._waiting.get(client, 0)
        if client.delegate_id is None and not waiting and self._answered_unsigned(client, request):
            return
        self._waiting[client] = waiting + 1
        # No other change depends on the page shown; but it keeps its place behind the same
        # tablet's earlier requests (the chair's item change before its page). Only other
        # page changes may be ahead of it in the urgent lane, and they keep their order.
        urgent = isinstance(request, SetFollow) and not self._waiting_plain.get(client, 0)
        if not urgent:
            self._waiting_plain[client] = self._waiting_plain.get(client, 0) + 1
        future = self.ctx.writer.submit(
            lambda tx: self._apply(tx, client, request),
            barrier=type(request) in CHANGES_IDENTITY,
            urgent=urgent,
        )

        def answer(done: Any) -> None:
            left = self._waiting.pop(client, 1) - 1
            if left:
                self._waiting[client] = left
            if not urgent:
                plain = self._waiting_plain.pop(client, 1) - 1
                if plain:
                    self._waiting_plain[client] = plain
            try:
                outcome: _Outcome = done.result()
            except WriteFailed as failed:
                log.error("%s could not be saved: %s", request.TYPE, failed)
                self.ctx.send([client], encode(not_saved(failed, request.op_id)))
                return
            except Exception:
                log.exception("%s could not be saved", request.TYPE)
                self.ctx.send(
                    [client],
                    encode(
                        ErrorMessage(
                            ErrorCode.INTERNAL.value,
                            "the room could not save this; try again",
                            request.op_id,
                        )
                    ),
                )
                return
            self.ctx.send([client], outcome.answer)
            for effect in outcome.effects:
                effect()

        future.add_done_callback(answer)

    def _apply(self, tx: Transaction, client: Client, request: Request) -> _Outcome:
        """The job: runs in the writer's transaction, on the event loop."""
        recorded = signin_repo.recorded_answer(tx.store, client.client_id, request.op_id)
        if recorded is not None:
            return self._replay(tx, client, request, recorded)
        tx.conn.execute("SAVEPOINT request")
        ok = True
        try:
            _check_role(client, request)
            if type(request) not in OPEN_WHEN_CLOSED:
                self.closing.refuse_if_closed(tx, request)
            handled = self.handlers[type(request)](tx, client, request)
            if type(request) not in NOT_AUDITED_AS_SENT:
                self._audit_request(tx, client, request)
            if isinstance(handled, Answered):
                answer, effects = encode(handled.answer), handled.effects
            else:
                answer, effects = encode(Ack(request.op_id)), handled
        except Refusal as refusal:
            ok = False
            tx.conn.execute("ROLLBACK TO request")
            answer = encode(ErrorMessage(refusal.code.value, refusal.message, request.op_id))
            effects = refusal.effects
            if refusal.keep is not None:
                effects = [*effects, *refusal.keep()]
        tx.conn.execute("RELEASE request")
        # Kept: what a member signed in on this tablet asked (before the request), and a
        # sign-in that made one (after it: a lost answer is restored from the record).
        # Nobody is accountable for the rest, and keeping it, accepted or refused, would
        # let any enrolled device fill the disk; answered again, it changes nothing.
        signs_in = ok and isinstance(request, SignIn)
        if client.delegate_id is None and not signs_in:
            return _Outcome(answer, effects)
        signin_repo.record_answer(
            tx.store,
            client.client_id,
            request.op_id,
            answer,
            kind=request.TYPE,
            ok=ok,
            meeting_id=self.ctx.snapshot.meeting_id if self.ctx.snapshot else None,
        )
        return _Outcome(answer, effects)

    def _replay(
        self, tx: Transaction, client: Client, request: Request, recorded: signin_repo.Recorded
    ) -> _Outcome:
        """The tablet sent ``op_id`` again (its answer was lost): the same answer, applied
        nothing. A sign-in comes back only when it was this tablet's own successful one."""
        if recorded.kind != request.TYPE:
            message = (
                f"this tablet already used op_id {request.op_id!r} for another request "
                f"({recorded.kind or 'unknown'}); use a new op_id"
            )
            return _Outcome(
                encode(ErrorMessage(ErrorCode.OP_ID_REUSED.value, message, request.op_id)), []
            )
        effects: Effects = []
        if isinstance(request, SignIn) and recorded.ok:
            effects = self.signin.restore(tx, client, request.op_id)
        return _Outcome(recorded.response, effects)

    def _answered_unsigned(self, client: Client, request: Request) -> bool:
        """Answer at once and without a write a request of a tablet nobody is signed in on
        that its role forbids, or a sign-out (there is nobody to sign out); False if it
        may go on (with no earlier request of the tablet still queued, the role it has now
        is the one it will be applied with). A request answered before (signed in, then
        the answer lost) is answered from the record as ever."""
        signs_out = isinstance(request, SignOut)
        try:
            _check_role(client, request)
        except Refusal as refusal:
            answer = encode(ErrorMessage(refusal.code.value, refusal.message, request.op_id))
            signs_out = False
        else:
            if not signs_out:
                return False
            answer = encode(Ack(request.op_id))
        if signin_repo.recorded_answer(self.ctx.store, client.client_id, request.op_id):
            return False
        self.ctx.send([client], answer)
        if signs_out:
            self.ctx.become_observer(client, "signed out")  # as a sign-out is answered
        return True

    def _audit_request(self, tx: Transaction, client: Client, request: Request) -> None:
        data = json.loads(record_to_json(request))
        data.pop("op_id", None)
        audit.append(
            tx.conn,
            at=utc_now(),
            meeting_id=self.ctx.meeting_id,
            kind=request.TYPE,
            actor=client.delegate_id or f"tablet:{client.client_id}",
            data=data,
        )

    # --- life ------------------------------------------------------------------------------

    def start(self) -> None:
        """Pick up a speech or a poll countdown that was running when the server stopped."""
        self.floor.start()
        self.polls.start()
        self.heads.start()
        self.records.start()

    def stop(self) -> None:
        self.records.stop()
        self.heads.stop()
        self.floor.stop()
        self.polls.stop()
        self.attendance.stop()


def _check_role(client: Client, request: Request) -> None:
    if client.display:
        raise Refusal(ErrorCode.FORBIDDEN, "the room display only shows the meeting")
    allowed = RULES[type(request)]
    if allowed is not None and client.role not in allowed:
        who = (
            "a tablet nobody is signed in on"
            if client.delegate_id is None
            else f"the {client.role.value} role"
        )
        roles = " or ".join(sorted(r.value for r in allowed))
        raise Refusal(ErrorCode.FORBIDDEN, f"{request.TYPE} needs the {roles} role, not {who}")
