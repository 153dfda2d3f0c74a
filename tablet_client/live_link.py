"""The live session as the tablet's controllers see it: messages in as a Qt signal,
requests out with an answer, whoever is signed in, and the room's clock.

It outlives any one connection: the TabletController hands it each new RoomConnection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QObject, Signal

from room_client.connection import Phase, RoomConnection
from room_client.timers import ServerClock, parse_time, server_time_of
from room_protocol.live import Request, SignedIn
from room_protocol.messages import ErrorMessage, Message, Role, Welcome
from tablet_client.session import NOT_CONNECTED, capabilities

__all__ = ["LiveLink"]

Reply = Callable[[Message], None]


class LiveLink(QObject):
    received = Signal(object)  # every live message (room_protocol.live), in order
    identity_changed = Signal()  # signed in, signed out, or another role
    reconnected = Signal()  # welcomed by the room again; its current state follows
    disconnected = Signal()  # the connection dropped; unanswered requests wait in the outbox

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.connection: RoomConnection | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._identity: tuple[str, Role] | None = None
        self.clock = ServerClock()
        self._clock_welcome: Welcome | None = None  # the welcome the clock was set by

    # --- state --------------------------------------------------------------------------

    @property
    def me(self) -> SignedIn | None:
        return self.connection.signed_in if self.connection is not None else None

    @property
    def role(self) -> Role | None:
        me = self.me
        return me.role if me is not None else None

    @property
    def connected(self) -> bool:
        connection = self.connection
        return connection is not None and connection.status.phase is Phase.CONNECTED

    def may(self, request: type[Request]) -> bool:
        return request in capabilities(self.role)

    @property
    def presiding(self) -> bool:
        return self.role in (Role.CHAIR, Role.CLERK)

    def server_now(self) -> float | None:
        """The room's time now (epoch seconds), estimated from its welcome and tightened
        by every server timestamp since."""
        if not self._clock_set():
            return None
        now = self.clock.now(time.monotonic())
        return None if now is None else now.timestamp()

    def _clock_set(self) -> bool:
        """Set the clock by the connection's latest welcome; False before the first."""
        connection = self.connection
        welcome = connection.welcome if connection is not None else None
        if connection is None or welcome is None:
            return False
        if welcome is not self._clock_welcome:
            # welcomed_at is the loop's clock, which is time.monotonic() for asyncio and qasync
            self.clock.sync(parse_time(welcome.server_time), connection.welcomed_at)
            self._clock_welcome = welcome
        return True

    # --- wiring -----------------------------------------------------------------------

    def attach(self, connection: RoomConnection) -> None:
        """Listen to ``connection`` (a new one replaces the old)."""
        self.connection = connection
        connection.on_message = self._receive
        self._identity_maybe_changed()

    def _receive(self, message: Message) -> None:
        stamp = server_time_of(message)
        if stamp is not None and self._clock_set():
            self.clock.observe(stamp, time.monotonic())
        self.received.emit(message)
        self._identity_maybe_changed()

    def _identity_maybe_changed(self) -> None:
        me = self.me
        identity = (me.delegate_id, me.role) if me is not None else None
        if identity != self._identity:
            self._identity = identity
            self.identity_changed.emit()

    # --- requests ---------------------------------------------------------------------

    def new_op_id(self) -> str:
        assert self.connection is not None
        return self.connection.new_op_id()

    async def request(self, make: Callable[[str], Request]) -> Message:
        """Send ``make(op_id)``; the room's answer (Ack or ErrorMessage)."""
        connection = self.connection
        if connection is None:
            return ErrorMessage(NOT_CONNECTED, "not connected to a room")
        return await connection.request(make(connection.new_op_id()))

    def send(self, make: Callable[[str], Request], on_reply: Reply | None = None) -> None:
        """Send in the background; ``on_reply`` gets the answer."""

        async def run() -> None:
            reply = await self.request(make)
            if on_reply is not None:
                on_reply(reply)

        self.spawn(run())

    def submit(self, request: Request, on_reply: Reply | None = None) -> None:
        """Send a request whose op_id the caller chose (a ballot id); sending it again
        with the same id while it waits goes out again and gets the same answer."""

        async def run() -> None:
            connection = self.connection
            if connection is None:
                reply: Message = ErrorMessage(NOT_CONNECTED, "not connected to a room")
            else:
                reply = await connection.request(request)
            if on_reply is not None:
                on_reply(reply)

        self.spawn(run())

    def is_pending(self, op_id: str) -> bool:
        return self.connection is not None and self.connection.is_pending(op_id)

    def spawn(self, coroutine: Coroutine[Any, Any, object]) -> None:
        task: asyncio.Task[Any] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
