"""The live session in-process with a clock the test moves: a poll's countdown and a
speaker's time limit end when the clock says so, not when the machine gets round to it.

Real SQLite, the real writer and every meeting word; only time is the test's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from room_protocol.codec import decode
from room_protocol.live import (
    Ack,
    FloorKind,
    FloorState,
    GrantFloor,
    RequestFloor,
    SetSpeakingLimit,
    SignIn,
)
from room_protocol.messages import ErrorMessage, Message
from room_protocol.voting import ClosePoll, OpenPoll, PollsState, PollState
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
        self.session.handle(client, request)  # type: ignore[arg-type]
        await self.writer.drain()
        await asyncio.sleep(0)  # the answer's callback
        op_id = request.op_id  # type: ignore[attr-defined]
        answer = next(
            m
            for m in reversed(self.inbox[client.client_id])
            if (isinstance(m, Ack) and m.op_id == op_id)
            or (isinstance(m, ErrorMessage) and m.ref == op_id)
        )
        assert isinstance(answer, Ack), answer
        return answer

    def latest(self, client: Client, kind: type[Message]) -> Message:
        return next(m for m in reversed(self.inbox[client.client_id]) if isinstance(m, kind))


@pytest.fixture
async def room(tmp_path: Path, voting_package_dir: Path) -> AsyncIterator[tuple[Room, Clock]]:
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


async def test_a_poll_countdown_ends_when_the_clock_reaches_it(room: tuple[Room, Clock]) -> None:
    tablets, clock = room
    chair = await signed_in(tablets, "chair", "1111", "A1")
    await tablets.request(chair, OpenPoll("o1", "p-budget", override_quorum=True))
    await tablets.request(chair, ClosePoll("c1", "p-budget", after_seconds=3_600))

    def state() -> PollState:
        polls = tablets.latest(chair, PollsState)
        assert isinstance(polls, PollsState)
        return next(p.state for p in polls.polls if p.id == "p-budget")

    assert state() is PollState.OPEN
    clock.now += 3_599
    tablets.session.polls.schedule_closing()  # as on a restart: the timers re-armed
    await asyncio.sleep(0.05)
    assert state() is PollState.OPEN  # one second to go: still open
    clock.now += 1
    tablets.session.polls.schedule_closing()
    await until_true(lambda: state() is PollState.CLOSED)


async def test_speaking_time_runs_out_by_the_clock(room: tuple[Room, Clock]) -> None:
    tablets, clock = room
    chair = await signed_in(tablets, "chair", "1111", "A1")
    d1 = await signed_in(tablets, "d1", "2222", "A2")
    await tablets.request(chair, SetSpeakingLimit("l1", 600))
    await tablets.request(d1, RequestFloor("f1", FloorKind.SPEAK))
    await tablets.request(chair, GrantFloor("g1"))

    def speech() -> object:
        floor = tablets.latest(d1, FloorState)
        assert isinstance(floor, FloorState)
        return floor.speaking

    await until_true(lambda: speech() is not None)
    assert not speech().expired  # type: ignore[attr-defined]
    clock.now += 601
    tablets.session.floor.publish()  # re-arms the expiry timer from the clock
    await until_true(lambda: speech().expired)  # type: ignore[attr-defined]
