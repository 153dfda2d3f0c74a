"""Attendance: check-in at the seat or by the clerk, proxies, and the quorum.

What goes to 2,000 tablets is built once per change, not once per tablet: the state is
cached until the next change, changes that come in a wave (everyone signing in) go out
together at most every ``ATTENDANCE_INTERVAL_S``, and a delegate gets only their part of
the list (the chair and clerks see everyone; everyone else sees the counts).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from room_protocol.codec import encode
from room_protocol.errors import ErrorCode
from room_protocol.live import Request
from room_protocol.voting import AttendanceState, CheckIn, CheckMethod, SetProxy
from room_server.meeting.context import Client, Context, Effects, Handler
from room_server.repo import attendance as repo
from room_server.repo import signin as signin_repo
from room_server.rules import Refusal
from room_server.rules.attendance import check_proxy
from room_server.writer import Transaction

ATTENDANCE_INTERVAL_S = 0.25  # attendance.state at most this often


class AttendanceWord:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._state: AttendanceState | None = None  # cached until the next change
        self._frames: dict[str, str] = {}
        self._last_sent: AttendanceState | None = None
        self._due: asyncio.TimerHandle | None = None
        self.handlers: dict[type[Request], Handler] = {
            CheckIn: self.clerk_check_in,
            SetProxy: self.set_proxy,
        }
        ctx.hooks.connected.append(self.welcome)
        ctx.hooks.signed_in.append(self.welcome)  # a member may see more than an observer
        ctx.hooks.attendance_changed.append(self.publish)
        ctx.hooks.meeting_changed.append(lambda switched: self.publish(only_if_changed=True))

    # --- what is sent --------------------------------------------------------------------

    def state(self) -> AttendanceState | None:
        if self.ctx.snapshot is None:
            return None
        if self._state is None:
            self._state = repo.state(self.ctx.store, self.ctx.snapshot.meeting_id)
        return self._state

    def _frame(self, client: Client, state: AttendanceState) -> str:
        """The chair and clerks see everyone; a delegate their own check-in and the
        proxies they hold or gave (and whether those givers are here); others, the counts."""
        if client.presiding:
            if "full" not in self._frames:
                self._frames["full"] = encode(state)
            return self._frames["full"]
        me = client.delegate_id
        if me is None:
            if "counts" not in self._frames:
                self._frames["counts"] = encode(replace(state, present=(), proxies=()))
            return self._frames["counts"]
        proxies = tuple(p for p in state.proxies if me in (p.holder_id, p.giver_id))
        mine = {me} | {p.giver_id for p in proxies}
        present = tuple(p for p in state.present if p.delegate_id in mine)
        return encode(replace(state, present=present, proxies=proxies))

    def _forget(self) -> None:
        self._state = None
        self._frames.clear()

    def welcome(self, client: Client) -> None:
        state = self.state()
        if state is not None:
            self.ctx.send([client], self._frame(client, state))

    def publish(self, *, only_if_changed: bool = False) -> None:
        """Attendance changed: tell everyone, soon (changes in a wave go out together)."""
        self._forget()
        if only_if_changed:
            self._send(only_if_changed=True)
        elif self._due is None:
            loop = asyncio.get_running_loop()
            self._due = loop.call_later(ATTENDANCE_INTERVAL_S, self._send)

    def _send(self, *, only_if_changed: bool = False) -> None:
        if self._due is not None:
            self._due.cancel()
            self._due = None
        self._forget()
        state = self.state()
        if state is None:
            return
        if only_if_changed and self._last_sent == state:
            return
        self._last_sent = state
        for client in list(self.ctx.clients):
            self.ctx.send([client], self._frame(client, state))
        if self.ctx.on_broadcast:
            self.ctx.on_broadcast("attendance.state", len(self.ctx.clients))

    def stop(self) -> None:
        if self._due is not None:
            self._due.cancel()
            self._due = None

    # --- requests ----------------------------------------------------------------------

    def clerk_check_in(self, tx: Transaction, client: Client, request: CheckIn) -> Effects:
        meeting_id = self.ctx.meeting_id
        members = repo.members(tx.store, meeting_id)
        member = members.get(request.delegate_id)
        if member is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"{request.delegate_id!r} is not on the roster")
        present = request.delegate_id in repo.present_ids(tx.store, meeting_id)
        if request.present:
            if present:
                raise Refusal(ErrorCode.BAD_STATE, f"{member.name} is already checked in")
            repo.check_in(
                tx.store,
                meeting_id,
                request.delegate_id,
                CheckMethod.CLERK,
                member.seat_id,
                client.delegate_id,
            )
            return [self.publish]
        if not repo.check_out(
            tx.store, meeting_id, request.delegate_id, CheckMethod.CLERK, client.delegate_id
        ):
            raise Refusal(ErrorCode.BAD_STATE, f"{member.name} is not checked in")
        signin_repo.end(tx.store, meeting_id, request.delegate_id)

        def sign_out_there() -> None:
            for other in [c for c in self.ctx.clients if c.delegate_id == request.delegate_id]:
                self.ctx.become_observer(other, "the clerk checked you out")
            self.publish()

        return [sign_out_there]

    def set_proxy(self, tx: Transaction, client: Client, request: SetProxy) -> Effects:
        meeting_id = self.ctx.meeting_id
        members = repo.members(tx.store, meeting_id)
        holders = repo.holders(tx.store, meeting_id)
        if request.holder_id is None:
            giver = members.get(request.giver_id)
            if giver is None:
                raise Refusal(ErrorCode.NOT_FOUND, f"{request.giver_id!r} is not on the roster")
            if request.giver_id not in holders:
                raise Refusal(ErrorCode.BAD_STATE, f"nobody holds {giver.name}'s proxy")
            repo.take_proxy(tx.store, meeting_id, request.giver_id, client.delegate_id)
            return [self.publish]
        limit = repo.settings(tx.store, meeting_id).max_proxies
        check_proxy(members, holders, request.giver_id, request.holder_id, limit)
        repo.give_proxy(
            tx.store, meeting_id, request.giver_id, request.holder_id, client.delegate_id
        )
        return [self.publish]
