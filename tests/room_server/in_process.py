"""The live session in-process: real SQLite, the real writer and every meeting word, with
in-memory inboxes for tablets and a clock the test moves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from room_protocol.codec import decode
from room_protocol.live import Ack, SignIn
from room_protocol.messages import ErrorMessage, Message
from room_server.importer import import_package
from room_server.meeting.context import Client
from room_server.meeting.dispatch import LiveSession
from room_server.store import Store
from room_server.writer import Writer


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Room:
    """A session whose tablets are in-memory inboxes."""

    def __init__(self, store: Store, writer: Writer, clock: Clock) -> None:
        self.inbox: dict[str, list[Message]] = {}
        self.session = LiveSession(store, writer, self._send, clock)
        self.writer = writer

    def _send(self, clients: Iterable[Client], frame: str) -> None:
        message = decode(frame)
        for client in clients:
            self.inbox.setdefault(client.client_id, []).append(message)

    def connect(self, client_id: str) -> Client:
        client = Client(client_id)
        self.session.connected(client, None)
        return client

    async def request(self, client: Client, request: object) -> Message:
        """Send ``request`` and expect an ``ack``."""
        self.session.handle(client, request)  # type: ignore[arg-type]
        answer = await self.answer(client, request.op_id)  # type: ignore[attr-defined]
        assert isinstance(answer, Ack), answer
        return answer

    async def answer(self, client: Client, op_id: str) -> Message:
        """The answer ``client`` got for ``op_id``, once everything queued is committed."""
        await self.writer.drain()
        await asyncio.sleep(0)  # the answers' callbacks
        return next(
            m
            for m in reversed(self.inbox.get(client.client_id, []))
            if (getattr(m, "op_id", None) == op_id and not isinstance(m, ErrorMessage))
            or (isinstance(m, ErrorMessage) and m.ref == op_id)
        )

    def latest(self, client: Client, kind: type[Message]) -> Message:
        return next(m for m in reversed(self.inbox[client.client_id]) if isinstance(m, kind))


@contextlib.asynccontextmanager
async def open_room(tmp_path: Path, voting_package_dir: Path) -> AsyncIterator[tuple[Room, Clock]]:
    with Store(tmp_path / "room.sqlite3", tmp_path / "documents") as setup:
        import_package(setup, voting_package_dir)
    store = Store(tmp_path / "room.sqlite3", tmp_path / "documents")
    store.read_only()
    writer = Writer(Store(tmp_path / "room.sqlite3", tmp_path / "documents"))
    writer.start()
    clock = Clock()
    yield Room(store, writer, clock), clock
    await writer.stop()
    store.close()


@contextlib.asynccontextmanager
async def reopen_room(tmp_path: Path) -> AsyncIterator[tuple[Room, Clock]]:
    """The room of :func:`open_room` started again on the same state (a restart)."""
    store = Store(tmp_path / "room.sqlite3", tmp_path / "documents")
    store.read_only()
    writer = Writer(Store(tmp_path / "room.sqlite3", tmp_path / "documents"))
    writer.start()
    clock = Clock()
    yield Room(store, writer, clock), clock
    await writer.stop()
    store.close()


async def signed_in(room: Room, who: str, pin: str, seat: str | None = None) -> Client:
    client = room.connect(f"tab-{who}")
    client.seat_id = seat
    await room.request(client, SignIn(f"in-{who}", delegate_id=who, pin=pin))
    await asyncio.sleep(0)
    return client


async def until_true(check: object, seconds: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.01)
