"""The live session in-process with a clock the test moves: a poll's countdown and a
speaker's time limit end when the clock says so, not when the machine gets round to it.

Real SQLite, the real writer and every meeting word; only time is the test's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from room_protocol.live import (
    FloorKind,
    FloorState,
    GrantFloor,
    RequestFloor,
    SetSpeakingLimit,
)
from room_protocol.voting import ClosePoll, OpenPoll, PollsState, PollState
from tests.room_server.in_process import Clock, Room, open_room, signed_in, until_true


@pytest.fixture
async def room(tmp_path: Path, voting_package_dir: Path) -> AsyncIterator[tuple[Room, Clock]]:
    async with open_room(tmp_path, voting_package_dir) as opened:
        yield opened


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
