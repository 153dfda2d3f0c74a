"""Test support: protocol-level tablets (the real RoomConnection) against a real server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from room_client.connection import Backoff, Phase, RoomConnection, RoomEndpoint
from room_client.enrollment import DeviceCredentials
from room_protocol.live import Ack, Request, SignIn
from room_protocol.messages import ErrorMessage, MeetingSnapshot, Message
from tests.rooms import RunningRoom, timeout

M = TypeVar("M", bound=Message)


class Tablet:
    """One seat tablet: every message it received, in order, and helpers to act."""

    def __init__(
        self,
        room: RunningRoom,
        client_id: str,
        seat_id: str | None = None,
        *,
        display: bool = False,
    ) -> None:
        self.received: list[Message] = []
        self.meetings: list[MeetingSnapshot | None] = []
        self.connection = RoomConnection(
            room.endpoint(),
            room.device(client_id, seat_id, display=display),
            on_meeting=self.meetings.append,
            on_message=self.received.append,
            backoff=Backoff(initial=0.05, maximum=0.3),
        )

    async def start(self) -> Tablet:
        self.connection.start()
        await until(lambda: self.connection.status.phase is Phase.CONNECTED and bool(self.meetings))
        return self

    async def stop(self) -> None:
        await self.connection.stop()

    @property
    def meeting(self) -> MeetingSnapshot:
        assert self.meetings and self.meetings[-1] is not None
        return self.meetings[-1]

    async def do(self, request: Request) -> Message:
        return await asyncio.wait_for(self.connection.request(request), timeout(10))

    async def ok(self, request: Request) -> None:
        reply = await self.do(request)
        assert isinstance(reply, Ack), reply

    async def refused(self, request: Request, code: str, text: str = "") -> ErrorMessage:
        reply = await self.do(request)
        assert isinstance(reply, ErrorMessage), reply
        assert reply.code == code, reply
        assert text in reply.message, reply
        return reply

    def op(self) -> str:
        return self.connection.new_op_id()

    async def sign_in(self, delegate_id: str, pin: str) -> None:
        await self.ok(SignIn(self.op(), delegate_id=delegate_id, pin=pin))
        await until(lambda: self.connection.signed_in is not None)

    def of_type(self, kind: type[M]) -> list[M]:
        return [m for m in self.received if isinstance(m, kind)]

    async def next_of(
        self, kind: type[M], after: int, where: Callable[[M], bool] = lambda m: True
    ) -> M:
        """The first ``kind`` message received after index ``after`` matching ``where``."""
        found: list[M] = []

        def seen() -> bool:
            found[:] = [m for m in self.received[after:] if isinstance(m, kind) and where(m)]
            return bool(found)

        await until(seen)
        return found[0]


async def until(condition: Callable[[], Any], seconds: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout(seconds)
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def connects(endpoint: RoomEndpoint, credentials: DeviceCredentials) -> bool:
    """An enrolled device joins the room over TLS and is sent the meeting (else times out)."""
    meetings: list[MeetingSnapshot | None] = []
    connection = RoomConnection(
        endpoint,
        credentials,
        on_meeting=meetings.append,
        on_message=lambda message: None,
        backoff=Backoff(initial=0.05, maximum=0.3),
    )
    connection.start()
    try:
        await until(lambda: connection.status.phase is Phase.CONNECTED and bool(meetings))
    finally:
        await connection.stop()
    return True
