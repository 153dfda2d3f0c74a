"""Sign-in: a member takes a tablet with a PIN or a badge, and leaves it again.

Signing in checks the member in (attendance), replaces their sign-in on any other
tablet, and alerts the chair about a wrong seat. Wrong PINs and unknown badges are
counted per seat (:class:`~room_server.credentials.PinGuard`): too many lock the seat
for a while and alert the chair and clerks.
"""

from __future__ import annotations

import hmac
import logging
import secrets

from room_protocol.codec import encode
from room_protocol.errors import ErrorCode
from room_protocol.live import (
    Alert,
    AlertKind,
    Request,
    SignedIn,
    SignedOut,
    SignIn,
    SignOut,
    Unlock,
)
from room_protocol.messages import RosterEntry
from room_protocol.voting import CheckMethod
from room_server.credentials import Credentials, PinGuard
from room_server.meeting.context import Client, Context, Effects, Handler
from room_server.repo import attendance as attendance_repo
from room_server.repo import signin as repo
from room_server.rules import Refusal
from room_server.rules.attendance import Member, wrong_seat
from room_server.store import utc_now
from room_server.writer import Transaction

log = logging.getLogger(__name__)


class SignInWord:
    def __init__(self, ctx: Context, credentials: Credentials, guard: PinGuard) -> None:
        self.ctx = ctx
        self.credentials = credentials
        self.guard = guard
        self.handlers: dict[type[Request], Handler] = {
            SignIn: self.sign_in,
            SignOut: self.sign_out,
            Unlock: self.unlock,
        }

    # --- requests --------------------------------------------------------------------------

    def sign_in(self, tx: Transaction, client: Client, request: SignIn) -> Effects:
        meeting = self.ctx.meeting()
        wait = self.guard.locked_for(client.guard_key)
        if wait > 0:
            raise Refusal(
                ErrorCode.LOCKED,
                f"this seat is locked for {wait:.0f} s after too many wrong PINs; "
                "ask the clerk for help",
            )
        if request.badge is not None:
            badge = self.credentials.badge_hash(meeting.meeting_id, request.badge)
            found = repo.member_by_badge(tx.store, meeting.meeting_id, badge)
            if found is None:
                raise Refusal(
                    ErrorCode.NOT_FOUND,
                    "this badge belongs to no one in this meeting",
                    self._failed_attempt(client),
                )
            delegate_id, method = found, CheckMethod.BADGE
        elif request.delegate_id is not None and request.pin is not None:
            delegate_id, method = request.delegate_id, CheckMethod.PIN
            self._check_pin(tx, client, delegate_id, request.pin)
        else:
            raise Refusal(ErrorCode.BAD_FIELD, "sign in with delegate_id and pin, or a badge")
        member = meeting.member(delegate_id)
        assert member is not None  # the PIN or badge matched a roster row
        token = secrets.token_urlsafe(24)
        repo.start(
            tx.store, meeting.meeting_id, delegate_id, client.seat_id, client.client_id, token
        )
        effects: Effects = [lambda: self.become(client, delegate_id, token)]
        if attendance_repo.check_in(
            tx.store, meeting.meeting_id, delegate_id, method, client.seat_id, None
        ):
            effects.append(self.ctx.attendance_changed)
        settings = attendance_repo.settings(tx.store, meeting.meeting_id)
        if wrong_seat(settings, _member(member), client.seat_id):
            text = f"{member.name} signed in at seat {client.seat_id}, not at {member.seat_id}"
            alert = encode(Alert(AlertKind.WRONG_SEAT, text, utc_now(), client.seat_id))
            effects.append(lambda: self.ctx.broadcast(self.ctx.presiding(), alert, "alert"))
        return effects

    def sign_out(self, tx: Transaction, client: Client, request: SignOut) -> Effects:
        meeting_id = self.ctx.meeting_id
        repo.end(tx.store, meeting_id, client.delegate_id)
        effects: Effects = [lambda: self.ctx.become_observer(client, "signed out")]
        if client.delegate_id is not None and attendance_repo.check_out(
            tx.store, meeting_id, client.delegate_id, CheckMethod.SIGN_OUT, None
        ):
            effects.append(self.ctx.attendance_changed)
        return effects

    def unlock(self, tx: Transaction, client: Client, request: Unlock) -> Effects:
        if client.delegate_id is None:
            raise Refusal(ErrorCode.BAD_STATE, "nobody is signed in on this tablet")
        wait = self.guard.locked_for(client.guard_key)
        if wait > 0:
            raise Refusal(ErrorCode.LOCKED, f"this seat is locked for {wait:.0f} s")
        self._check_pin(tx, client, client.delegate_id, request.pin)
        return []

    def _check_pin(self, tx: Transaction, client: Client, delegate_id: str, pin: str) -> None:
        meeting_id = self.ctx.meeting_id
        row = repo.pin_hash(tx.store, meeting_id, delegate_id)
        if row is None:
            raise Refusal(
                ErrorCode.NOT_FOUND,
                f"{delegate_id!r} is not on this meeting's roster",
                self._failed_attempt(client),
            )
        if row["pin_hash"] is None:
            raise Refusal(ErrorCode.NO_PIN, "no PIN is set for you; ask the clerk")
        expected = self.credentials.pin_hash(meeting_id, delegate_id, pin)
        if hmac.compare_digest(expected, row["pin_hash"]):
            self.guard.succeeded(client.guard_key)
            return
        alert = self._failed_attempt(client)
        if alert:
            raise Refusal(ErrorCode.LOCKED, "wrong PIN; this seat is now locked for a while", alert)
        raise Refusal(ErrorCode.WRONG_PIN, "wrong PIN")

    def _failed_attempt(self, client: Client) -> Effects:
        """Count a wrong PIN or unknown badge; the alert to send if the seat is now locked."""
        if not self.guard.failed(client.guard_key):
            return []
        where = f"seat {client.seat_id}" if client.seat_id else f"tablet {client.client_id}"
        text = f"{where} is locked for {self.guard.lockout_s:.0f} s after repeated failed sign-ins"
        log.warning(text)
        alert = encode(Alert(AlertKind.SEAT_LOCKED, text, utc_now(), client.seat_id))
        return [lambda: self.ctx.broadcast(self.ctx.presiding(), alert, "alert")]

    # --- who is on which tablet --------------------------------------------------------------

    def become(self, client: Client, delegate_id: str, token: str) -> None:
        """``client`` is now ``delegate_id``'s tablet (and no other tablet is)."""
        meeting = self.ctx.meeting()
        member = meeting.member(delegate_id)
        assert member is not None
        for other in [
            c for c in self.ctx.clients if c.delegate_id == delegate_id and c is not client
        ]:
            self.ctx.become_observer(other, f"{member.name} signed in on another tablet")
        client.role, client.delegate_id, client.name = member.role, delegate_id, member.name
        settings = attendance_repo.settings(self.ctx.store, meeting.meeting_id)
        misplaced = wrong_seat(settings, _member(member), client.seat_id)
        self.ctx.send(
            [client],
            encode(
                SignedIn(delegate_id, member.name, member.role, client.seat_id, token, misplaced)
            ),
        )
        self.ctx.signed_in(client)

    def resume(self, client: Client, token: str) -> None:
        """A tablet came back with the token of its sign-in."""
        if self.ctx.snapshot is None:
            return
        row = repo.by_token(self.ctx.store, self.ctx.snapshot.meeting_id, token)
        member = self.ctx.snapshot.member(row["delegate_id"]) if row else None
        if member is None:
            self.ctx.send([client], encode(SignedOut("your sign-in has ended; sign in again")))
            return
        self.become(client, member.delegate_id, token)

    def restore(self, client: Client) -> None:
        """The answer to a sign-in was lost with the connection: the sign-in still holds."""
        if client.delegate_id is not None or self.ctx.snapshot is None:
            return
        token = repo.token_of_client(self.ctx.store, self.ctx.snapshot.meeting_id, client.client_id)
        if token is not None:
            self.resume(client, token)


def _member(entry: RosterEntry) -> Member:
    return Member(entry.delegate_id, entry.name, entry.seat_id, entry.voting, entry.weight)
