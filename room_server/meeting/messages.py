"""Messages in the room: announcements to all, a message to one seat, locking every
screen, and service calls from delegates to the clerk (water, microphone, help)."""

from __future__ import annotations

import secrets
from datetime import datetime

from room_protocol.codec import encode
from room_protocol.errors import ErrorCode
from room_protocol.live import (
    STANDING_ANNOUNCEMENT_S,
    Announce,
    Announcement,
    LockScreens,
    MessageSeat,
    Request,
    RequestService,
    ResolveService,
    ScreensLocked,
    ServiceCall,
    ServiceCalls,
    ServiceKind,
)
from room_server.meeting.context import Client, Context, Effects, Handler
from room_server.repo import messages as repo
from room_server.rules import Refusal
from room_server.store import iso_time
from room_server.writer import Transaction

KEY_SCREENS_LOCKED = "screens_locked"


class MessagesWord:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.handlers: dict[type[Request], Handler] = {
            Announce: self.announce,
            MessageSeat: self.message_seat,
            LockScreens: self.lock_screens,
            RequestService: self.request_service,
            ResolveService: self.resolve_service,
        }
        ctx.hooks.connected.append(self._connected)
        ctx.hooks.signed_in.append(self._signed_in)
        # The latest announcement to everyone, by meeting id (read from the store once).
        self._latest: dict[str, Announcement | None] = {}

    def _connected(self, client: Client) -> None:
        # Always said, so a tablet that missed an unlock while offline unlocks now.
        locked = self.ctx.meta(KEY_SCREENS_LOCKED) == "1"
        self.ctx.send([client], encode(ScreensLocked(locked)))
        standing = self.standing()
        if standing is not None:
            self.ctx.send([client], encode(standing))

    def standing(self) -> Announcement | None:
        """The announcement still standing: the meeting's latest to everyone, made less
        than STANDING_ANNOUNCEMENT_S ago by the room's clock, while the meeting is open."""
        snapshot = self.ctx.snapshot
        if snapshot is None or snapshot.closed_at is not None:
            return None
        if snapshot.meeting_id not in self._latest:
            self._latest[snapshot.meeting_id] = repo.latest_announcement(
                self.ctx.store, snapshot.meeting_id
            )
        latest = self._latest[snapshot.meeting_id]
        if latest is None:
            return None
        age = self.ctx.clock() - datetime.fromisoformat(latest.at).timestamp()
        return latest if age <= STANDING_ANNOUNCEMENT_S else None

    def _signed_in(self, client: Client) -> None:
        if client.presiding:
            self.ctx.send([client], encode(self.service_calls()))

    @staticmethod
    def _sender(client: Client) -> str:
        return client.name or client.role.value

    def announce(self, tx: Transaction, client: Client, request: Announce) -> Effects:
        message = Announcement(
            "m-" + secrets.token_hex(6),
            request.text,
            self._sender(client),
            iso_time(self.ctx.clock()),
        )
        meeting_id = self.ctx.meeting_id
        repo.keep_message(tx.store, meeting_id, message)
        frame = encode(message)

        def deliver() -> None:
            self._latest[meeting_id] = message
            self.ctx.broadcast(self.ctx.clients, frame, "message")

        return [deliver]

    def _at_seat(self, seat_id: str) -> list[Client]:
        """Who reads a message to a seat: a member signed in on a tablet enrolled at it
        (the seat is the device's, from its certificate; nobody can claim one)."""
        return [c for c in self.ctx.clients if c.seat_id == seat_id and c.delegate_id]

    def message_seat(self, tx: Transaction, client: Client, request: MessageSeat) -> Effects:
        if not self._at_seat(request.seat_id):
            raise Refusal(ErrorCode.NOT_FOUND, f"nobody is signed in at seat {request.seat_id}")
        message = Announcement(
            "m-" + secrets.token_hex(6),
            request.text,
            self._sender(client),
            iso_time(self.ctx.clock()),
            request.seat_id,
        )
        repo.keep_message(tx.store, self.ctx.meeting_id, message)
        frame = encode(message)

        def deliver() -> None:
            self.ctx.broadcast(self._at_seat(request.seat_id), frame, "message")

        return [deliver]

    def lock_screens(self, tx: Transaction, client: Client, request: LockScreens) -> Effects:
        self.ctx.set_meta(tx, KEY_SCREENS_LOCKED, "1" if request.locked else "0")
        frame = encode(ScreensLocked(request.locked))
        return [lambda: self.ctx.broadcast(self.ctx.clients, frame, "screens.locked")]

    def service_calls(self) -> ServiceCalls:
        snapshot = self.ctx.snapshot
        if snapshot is None:
            return ServiceCalls(())
        names = {m.delegate_id: m.name for m in snapshot.roster}
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
                for r in repo.open_service_calls(self.ctx.store, snapshot.meeting_id)
            )
        )

    def _publish_service_calls(self) -> None:
        self.ctx.broadcast(self.ctx.presiding(), encode(self.service_calls()), "service.calls")

    def request_service(self, tx: Transaction, client: Client, request: RequestService) -> Effects:
        repo.add_service_call(
            tx.store,
            self.ctx.meeting_id,
            "s-" + secrets.token_hex(6),
            request.kind.value,
            request.text,
            client.delegate_id,
            client.seat_id,
        )
        return [self._publish_service_calls]

    def resolve_service(self, tx: Transaction, client: Client, request: ResolveService) -> Effects:
        if not repo.resolve_service_call(tx.store, self.ctx.meeting_id, request.request_id):
            raise Refusal(ErrorCode.NOT_FOUND, f"no open service request {request.request_id!r}")
        return [self._publish_service_calls]
