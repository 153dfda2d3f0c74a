"""Pairing: the chair console asks for a one-time code that enrolls a tablet or a room
display (:mod:`room_server.devices`), shown to the chair and, if asked, on the display."""

from __future__ import annotations

from room_protocol.codec import encode
from room_protocol.enrollment import CreatePairingCode, DeviceKindName, PairingCodeShown
from room_protocol.errors import ErrorCode
from room_protocol.live import Alert, AlertKind, Request
from room_server import devices
from room_server.devices import Authority, DeviceKind, EnrollmentError
from room_server.meeting.context import Client, Context, Effects, Handler
from room_server.rules import Refusal
from room_server.store import iso_time, utc_now
from room_server.writer import Transaction


class PairingWord:
    def __init__(self, ctx: Context, authority: Authority | None, room_id: str) -> None:
        self.ctx = ctx
        self.authority = authority
        self.room_id = room_id
        self.handlers: dict[type[Request], Handler] = {CreatePairingCode: self.create}

    def create(self, tx: Transaction, client: Client, request: CreatePairingCode) -> Effects:
        if self.authority is None:
            raise Refusal(ErrorCode.BAD_STATE, "this room server cannot enroll devices")
        try:
            code, expires = devices.create_pairing_code(
                tx.store,
                self.authority,
                kind=DeviceKind(request.kind.value),
                seat_id=request.seat_id,
                minutes=request.minutes,
                created_by=client.delegate_id or client.client_id,
                now_ts=self.ctx.clock(),
            )
        except EnrollmentError as refused:
            raise Refusal(ErrorCode.BAD_FIELD, str(refused)) from None
        shown = PairingCodeShown(
            str(code),
            code.link(self.authority.ca_sha256, self.room_id),
            iso_time(expires),
            DeviceKindName(request.kind.value),
            request.seat_id,
        )
        frame = encode(shown)

        def show() -> None:
            targets = [client]
            if request.on_display:
                targets += [c for c in self.ctx.clients if c.display]
            self.ctx.send(targets, frame)

        return [show]

    def enrolled(self, device_id: str, kind: str, seat_id: str | None) -> None:
        """A device enrolled with a code: the chair and clerks should know (a code seen on
        the room display could have enrolled a stranger's device)."""
        where = f" at seat {seat_id}" if seat_id else ""
        text = f"a new {kind} was enrolled{where}: {device_id}"
        alert = encode(Alert(AlertKind.DEVICE_ENROLLED, text, utc_now(), seat_id))
        self.ctx.broadcast(self.ctx.presiding(), alert, "alert")

    def voided(self) -> None:
        """Many wrong codes were tried: say so to the chair and clerks."""
        text = "many wrong pairing codes were tried: every open pairing code is now void"
        alert = encode(Alert(AlertKind.PAIRING_ABUSE, text, utc_now()))
        self.ctx.broadcast(self.ctx.presiding(), alert, "alert")
