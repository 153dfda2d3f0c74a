"""Sign-in: a member takes a tablet with a PIN, a badge, or both, and leaves it again.

Signing in checks the member in (attendance), replaces their sign-in on any other
tablet, and alerts the chair about a wrong seat. Wrong PINs and unknown badges are
counted in the database per member, per tablet and room-wide
(:mod:`room_server.rules.signin`): too many lock the member or the tablet for a while
and alert the chair and clerks; a restart forgets nothing. Resume tokens are kept only
as their sha256.
"""

from __future__ import annotations

import base64
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
from room_server.credentials import Credentials
from room_server.meeting.context import Client, Context, Effect, Effects, Handler
from room_server.repo import attendance as attendance_repo
from room_server.repo import closing as closing_repo
from room_server.repo import signin as repo
from room_server.rules import Refusal
from room_server.rules.attendance import Member, wrong_seat
from room_server.rules.signin import FailureLimits, after_failure, needs_badge_and_pin
from room_server.store import utc_now
from room_server.writer import Transaction

log = logging.getLogger(__name__)


class SignInWord:
    def __init__(
        self, ctx: Context, credentials: Credentials, limits: FailureLimits | None = None
    ) -> None:
        self.ctx = ctx
        self.credentials = credentials
        self.limits = limits or FailureLimits()
        self.handlers: dict[type[Request], Handler] = {
            SignIn: self.sign_in,
            SignOut: self.sign_out,
            Unlock: self.unlock,
        }
        ctx.hooks.meeting_changed.append(self._meeting_changed)
        ctx.hooks.meeting_closed.append(self._drop_cache_keys)

    # --- requests --------------------------------------------------------------------------

    def sign_in(self, tx: Transaction, client: Client, request: SignIn) -> Effects:
        meeting = self.ctx.meeting()
        self._refuse_if_locked(tx, client, None)
        settings = attendance_repo.settings(tx.store, meeting.meeting_id)
        if request.badge is not None:
            badge = self.credentials.badge_hash(meeting.meeting_id, request.badge)
            found = repo.member_by_badge(tx.store, meeting.meeting_id, badge)
            if found is None or request.delegate_id not in (None, found):
                raise self._failure(
                    tx,
                    client,
                    None,
                    ErrorCode.NOT_FOUND,
                    "this badge belongs to no one in this meeting",
                )
            delegate_id, method = found, CheckMethod.BADGE
            entry = meeting.member(delegate_id)
            assert entry is not None  # the badge matched a roster row
            self._refuse_if_locked(tx, client, delegate_id)
            if request.pin is not None:
                self._check_pin(tx, client, delegate_id, request.pin)
            elif needs_badge_and_pin(settings.badge_and_pin, entry.voting):
                raise Refusal(ErrorCode.PIN_REQUIRED, "type your PIN after your badge to sign in")
        elif request.delegate_id is not None and request.pin is not None:
            delegate_id, method = request.delegate_id, CheckMethod.PIN
            entry = meeting.member(delegate_id)
            if entry is not None and needs_badge_and_pin(settings.badge_and_pin, entry.voting):
                raise Refusal(
                    ErrorCode.BADGE_REQUIRED,
                    "members who vote sign in with their badge and then their PIN here",
                )
            self._check_pin(tx, client, delegate_id, request.pin)
        else:
            raise Refusal(ErrorCode.BAD_FIELD, "sign in with delegate_id and pin, or a badge")
        member = meeting.member(delegate_id)
        assert member is not None  # the PIN or badge matched a roster row
        self._succeeded(tx, client, delegate_id)
        token = secrets.token_urlsafe(24)
        repo.start(
            tx.store,
            meeting.meeting_id,
            delegate_id,
            client.seat_id,
            client.client_id,
            request.op_id,
            token,
        )
        effects: Effects = [lambda: self.become(client, delegate_id, token)]
        # A closed meeting's register is final: signing in to read checks nobody in.
        open_ = closing_repo.closed_at(tx.store, meeting.meeting_id) is None
        if open_ and attendance_repo.check_in(
            tx.store, meeting.meeting_id, delegate_id, method, client.seat_id, None
        ):
            effects.append(self.ctx.attendance_changed)
        if wrong_seat(settings, _member(member), client.seat_id):
            text = f"{member.name} signed in at seat {client.seat_id}, not at {member.seat_id}"
            alert = encode(Alert(AlertKind.WRONG_SEAT, text, utc_now(), client.seat_id))
            effects.append(lambda: self.ctx.broadcast(self.ctx.presiding(), alert, "alert"))
        return effects

    def sign_out(self, tx: Transaction, client: Client, request: SignOut) -> Effects:
        meeting_id, delegate_id = self.ctx.meeting_id, client.delegate_id
        effects: Effects = [lambda: self.ctx.become_observer(client, "signed out")]
        if delegate_id is None:
            return effects
        repo.end(tx.store, meeting_id, delegate_id)
        open_ = closing_repo.closed_at(tx.store, meeting_id) is None
        if open_ and attendance_repo.check_out(
            tx.store, meeting_id, delegate_id, CheckMethod.SIGN_OUT, None
        ):
            effects.append(self.ctx.attendance_changed)
        return effects

    def unlock(self, tx: Transaction, client: Client, request: Unlock) -> Effects:
        if client.delegate_id is None:
            raise Refusal(ErrorCode.BAD_STATE, "nobody is signed in on this tablet")
        self._check_pin(tx, client, client.delegate_id, request.pin)
        self._succeeded(tx, client, client.delegate_id)
        return []

    # --- PINs and failures -----------------------------------------------------------------

    def _check_pin(self, tx: Transaction, client: Client, delegate_id: str, pin: str) -> None:
        meeting_id = self.ctx.meeting_id
        self._refuse_if_locked(tx, client, delegate_id)
        row = repo.pin_hash(tx.store, meeting_id, delegate_id)
        if row is None:
            raise self._failure(
                tx,
                client,
                None,
                ErrorCode.NOT_FOUND,
                f"{delegate_id!r} is not on this meeting's roster",
            )
        if row["pin_hash"] is None:
            raise Refusal(ErrorCode.NO_PIN, "no PIN is set for you; ask the clerk")
        expected = self.credentials.pin_hash(meeting_id, delegate_id, pin)
        if not hmac.compare_digest(expected, row["pin_hash"]):
            raise self._failure(tx, client, delegate_id, ErrorCode.WRONG_PIN, "wrong PIN")

    def _refuse_if_locked(self, tx: Transaction, client: Client, delegate_id: str | None) -> None:
        now = self.ctx.clock()
        wait = repo.locked_until(tx.store, repo.DEVICE, "", client.client_id) - now
        if wait > 0:
            raise Refusal(
                ErrorCode.LOCKED,
                f"this tablet is locked for {wait:.0f} s after too many failed sign-ins; "
                "ask the clerk for help",
            )
        if delegate_id is None:
            return
        until = repo.locked_until(tx.store, repo.MEMBER, self.ctx.meeting_id, delegate_id)
        if until - now > 0:
            raise Refusal(
                ErrorCode.LOCKED,
                f"signing in as this member is locked for {until - now:.0f} s after too many "
                "wrong PINs; ask the clerk for help",
            )

    def _failure(
        self,
        tx: Transaction,
        client: Client,
        delegate_id: str | None,
        code: ErrorCode,
        message: str,
    ) -> Refusal:
        """The refusal of a wrong PIN or unknown badge; it counts the failure after the
        request's own writes are rolled back, and locks and alerts when that is one too
        many."""
        limits, meeting_id, now = self.limits, self.ctx.meeting_id, self.ctx.clock()
        earlier = repo.earlier_failures(
            tx.store, limits, now, meeting_id, delegate_id, client.client_id
        )
        verdict = after_failure(earlier, limits)
        if verdict.lock_device:
            code = ErrorCode.LOCKED
            message += (
                f"; this tablet is now locked for {limits.device_lockout_s:.0f} s; "
                "ask the clerk for help"
            )
        elif verdict.lock_member:
            code = ErrorCode.LOCKED
            message += (
                f"; signing in as this member is now locked for {limits.member_lockout_s:.0f} s; "
                "ask the clerk for help"
            )
        where = f"seat {client.seat_id}" if client.seat_id else "a tablet without a seat"
        device = f"tablet {client.client_id} ({where})"

        def keep() -> Effects:
            repo.add_failure(tx.store, limits, now, meeting_id, delegate_id, client.client_id)
            texts: list[tuple[AlertKind, str]] = []
            if verdict.lock_member and delegate_id is not None:
                repo.lock(
                    tx.store, repo.MEMBER, meeting_id, delegate_id, now + limits.member_lockout_s
                )
                repo.clear_member(tx.store, meeting_id, delegate_id)
                member = self.ctx.meeting().member(delegate_id)
                name = member.name if member else delegate_id
                texts.append(
                    (
                        AlertKind.SEAT_LOCKED,
                        f"signing in as {name} is locked for {limits.member_lockout_s:.0f} s "
                        f"after {limits.member_failures} wrong PINs; the last from {device}",
                    )
                )
            if verdict.lock_device:
                repo.lock(
                    tx.store, repo.DEVICE, "", client.client_id, now + limits.device_lockout_s
                )
                repo.clear_device(tx.store, client.client_id)
                texts.append(
                    (
                        AlertKind.SEAT_LOCKED,
                        f"{device} is locked for {limits.device_lockout_s:.0f} s after "
                        f"{limits.device_failures} failed sign-ins",
                    )
                )
            if verdict.sweep_alert:
                repo.sweep_alerted(tx.store, now)
                texts.append(
                    (
                        AlertKind.SIGN_IN_SWEEP,
                        f"{limits.room_failures} failed sign-ins in the room within "
                        f"{limits.room_window_s / 60:.0f} min: someone may be guessing PINs; "
                        f"the last from {device}",
                    )
                )
            return [self._alert(kind, text, client.seat_id) for kind, text in texts]

        return Refusal(code, message, keep=keep)

    def _succeeded(self, tx: Transaction, client: Client, delegate_id: str) -> None:
        """A right PIN (or badge): the member's own failures start again. The tablet's
        do not: they age out of their window, or a member could guess others' PINs
        between signing in as themself and never have their tablet locked."""
        repo.clear_member(tx.store, self.ctx.meeting_id, delegate_id)

    def _alert(self, kind: AlertKind, text: str, seat_id: str | None) -> Effect:
        log.warning(text)
        alert = encode(Alert(kind, text, utc_now(), seat_id))
        return lambda: self.ctx.broadcast(self.ctx.presiding(), alert, "alert")

    # --- the record of answered requests --------------------------------------------------

    def _meeting_changed(self, switched: bool) -> None:
        if not switched:
            return
        meeting_id = self.ctx.snapshot.meeting_id if self.ctx.snapshot else None
        self.ctx.writer.submit(lambda tx: repo.forget_answers_except(tx.store, meeting_id))

    def _drop_cache_keys(self, meeting_id: str) -> None:
        """A closed meeting's confidential documents are gone from the tablets: without
        the keys, a cache some tablet kept cannot be read any more."""
        self.ctx.writer.submit(lambda tx: repo.drop_cache_keys(tx.store, meeting_id))

    async def forget_meeting(self, meeting_id: str) -> int:
        """A closed meeting's answered requests are not answered again: drop their record."""
        return await self.ctx.writer.submit(lambda tx: repo.forget_answers(tx.store, meeting_id))

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
        key = self.ctx.store.cache_key(meeting.meeting_id, delegate_id)
        cache_key = base64.urlsafe_b64encode(key).rstrip(b"=").decode() if key else None
        self.ctx.send(
            [client],
            encode(
                SignedIn(
                    delegate_id,
                    member.name,
                    member.role,
                    client.seat_id,
                    token,
                    misplaced,
                    cache_key if meeting.closed_at is None else None,
                )
            ),
        )
        self.ctx.signed_in(client)

    def resume(self, client: Client, token: str) -> None:
        """A tablet came back with the token of its sign-in (given to this device only)."""
        if self.ctx.snapshot is None:
            return
        row = repo.by_token(self.ctx.store, self.ctx.snapshot.meeting_id, token, client.client_id)
        member = self.ctx.snapshot.member(row["delegate_id"]) if row else None
        if member is None:
            self.ctx.send([client], encode(SignedOut("your sign-in has ended; sign in again")))
            return
        self.become(client, member.delegate_id, token)

    def restore(self, tx: Transaction, client: Client, op_id: str) -> Effects:
        """In the writer's job: this tablet resent its own sign-in ``op_id`` that succeeded
        (the answer was lost with the connection). If that sign-in still holds, the tablet
        gets it back with a new resume token."""
        if client.delegate_id is not None or self.ctx.snapshot is None:
            return []
        token = secrets.token_urlsafe(24)
        delegate_id = repo.renew_token(
            tx.store, self.ctx.snapshot.meeting_id, client.client_id, op_id, token
        )
        if delegate_id is None or self.ctx.snapshot.member(delegate_id) is None:
            return []
        return [lambda: self.become(client, delegate_id, token)]


def _member(entry: RosterEntry) -> Member:
    return Member(entry.delegate_id, entry.name, entry.seat_id, entry.voting, entry.weight)
