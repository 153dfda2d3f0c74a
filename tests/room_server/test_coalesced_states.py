"""``floor.state`` goes to every tablet at most every ``FLOOR_INTERVAL_S``: a burst of
speaker requests is a few broadcasts, not one each (each costs the one event loop about
20 µs a tablet), the first change of a quiet spell goes out at once, the last is never
lost, and the chair and the requester hear every change at once. A broadcast goes out a
slice of tablets per event-loop turn (``Spread``), so a page change never waits for all
of it. ``attendance.state`` likewise, every ``ATTENDANCE_INTERVAL_S``.

The coalescer and the spread with the test's clock and timers; the floor and attendance
through a real room server process and real tablets over TLS.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from room_protocol.live import FloorState, RequestFloor, WithdrawFloor
from room_protocol.voting import AttendanceState, CheckIn
from room_server.meeting.attendance import ATTENDANCE_INTERVAL_S
from room_server.meeting.context import Client, Coalescer, Spread
from room_server.meeting.floor import FLOOR_INTERVAL_S
from tests.live_clients import Tablet, until
from tests.rooms import running_room, write_package

# --- the coalescer, with the test's clock ---------------------------------------------


@dataclass
class _Handle:
    cancelled: bool = False

    def cancel(self) -> None:
        self.cancelled = True


class Timers:
    """A clock and ``call_later`` that move only when the test says."""

    def __init__(self) -> None:
        self.now = 0.0
        self.waiting: list[tuple[float, Callable[[], None], _Handle]] = []

    def clock(self) -> float:
        return self.now

    def later(self, seconds: float, callback: Callable[[], None]) -> _Handle:
        handle = _Handle()
        self.waiting.append((self.now + seconds, callback, handle))
        return handle

    def advance(self, seconds: float) -> None:
        """Move the clock on, running each callback at its own time."""
        end = self.now + seconds
        while due := [w for w in self.waiting if w[0] <= end]:
            first = min(due, key=lambda w: w[0])
            self.waiting.remove(first)
            self.now = max(self.now, first[0])
            if not first[2].cancelled:
                first[1]()
        self.now = end


class State:
    """A state whose version goes up with each change; what was sent, when, and which."""

    def __init__(self, timers: Timers) -> None:
        self.version = 0
        self.sent: list[tuple[float, int]] = []
        self.timers = timers
        self.coalescer = Coalescer(self.send, 0.1, clock=timers.clock, later=timers.later)

    def send(self) -> None:
        self.sent.append((round(self.timers.now, 6), self.version))

    def change(self) -> bool:
        self.version += 1
        return self.coalescer.changed()


def test_the_first_change_goes_at_once_and_a_burst_as_one_latest_state() -> None:
    timers = Timers()
    state = State(timers)
    assert state.change()  # quiet until now: sent at once
    assert state.sent == [(0.0, 1)]
    timers.advance(0.02)
    assert not state.change()
    timers.advance(0.03)
    assert not state.change()
    assert not state.change()
    assert state.coalescer.pending
    assert state.sent == [(0.0, 1)]  # nothing more within the interval
    assert len(timers.waiting) == 1  # one send due, however many changes
    timers.advance(0.05)  # t = 0.1: the interval has passed since the first send
    assert state.sent == [(0.0, 1), (0.1, 4)]  # the latest version, once
    assert not state.coalescer.pending


def test_the_last_change_is_never_lost_and_a_quiet_spell_resets() -> None:
    timers = Timers()
    state = State(timers)
    for _ in range(25):  # a change every 10 ms for 250 ms
        state.change()
        timers.advance(0.01)
    timers.advance(1.0)
    versions = [v for _, v in state.sent]
    assert versions[-1] == 25  # the last change went out
    assert versions == sorted(versions)
    times = [t for t, _ in state.sent]
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(times))
    assert len(state.sent) <= 4  # 25 changes in 250 ms: at most one send per 100 ms
    before = len(state.sent)
    assert state.change()  # a second after the last send: at once again
    assert len(state.sent) == before + 1 and state.sent[-1][1] == 26


def test_now_sends_at_once_and_cancel_drops_what_was_due() -> None:
    timers = Timers()
    state = State(timers)
    state.change()
    timers.advance(0.01)
    state.change()
    state.version += 1
    state.coalescer.now()  # another meeting: must not wait
    assert state.sent == [(0.0, 1), (0.01, 3)]
    timers.advance(0.5)
    assert state.sent == [(0.0, 1), (0.01, 3)]  # the send that was due is not made twice
    timers.advance(0.01)
    assert state.change()  # quiet since: at once
    timers.advance(0.01)
    assert not state.change()
    state.coalescer.cancel()  # the room stops: version 5 is not sent
    timers.advance(1.0)
    assert [v for _, v in state.sent] == [1, 3, 4]


# --- the spread, with the test's loop turns -------------------------------------------------


class Turns:
    """``call_soon`` that runs only when the test turns the loop."""

    def __init__(self) -> None:
        self.waiting: list[tuple[Callable[[], None], _Handle]] = []

    def soon(self, callback: Callable[[], None]) -> _Handle:
        handle = _Handle()
        self.waiting.append((callback, handle))
        return handle

    def turn(self) -> None:
        """One loop turn: what was due before it, not what it schedules."""
        due, self.waiting = self.waiting, []
        for callback, handle in due:
            if not handle.cancelled:
                callback()

    def run(self) -> int:
        """Turn until nothing is due; how many turns that took."""
        turns = 0
        while self.waiting:
            self.turn()
            turns += 1
        return turns


class Room:
    """Connected clients, and every frame sent: (client id, frame), in order."""

    def __init__(self, tablets: int, slice_size: int) -> None:
        self.clients = {Client(f"t{i:03d}") for i in range(tablets)}
        self.by_id = {c.client_id: c for c in self.clients}
        self.sent: list[tuple[str, str]] = []
        self.turns = Turns()
        self.spread = Spread(self.send, self.clients, slice_size, soon=self.turns.soon)

    def send(self, clients: Iterable[Client], frame: str) -> None:
        self.sent.extend((c.client_id, frame) for c in clients)

    def got(self, frame: str) -> list[str]:
        return [cid for cid, f in self.sent if f == frame]


def test_a_spread_sends_a_slice_a_turn_and_other_frames_go_between() -> None:
    room = Room(300, 128)
    room.spread.send(room.clients, "floor-1")
    assert len(room.got("floor-1")) == 128  # the first slice at once
    assert room.spread.sending
    room.send([room.by_id["t000"]], "follow-1")  # a page change on the next turn
    room.turns.turn()
    assert len(room.got("floor-1")) == 256
    assert room.turns.run() == 1
    assert not room.spread.sending
    assert sorted(room.got("floor-1")) == sorted(room.by_id)  # each once
    follow = room.sent.index(("t000", "follow-1"))
    assert follow == 128  # after the first slice, ahead of the rest


def test_first_go_at_once_whatever_the_slice_and_only_once() -> None:
    room = Room(10, 2)
    first = [room.by_id["t007"], room.by_id["t003"], room.by_id["t005"], room.by_id["t007"]]
    room.spread.send(room.clients, "floor-1", first)
    assert room.got("floor-1") == ["t007", "t003", "t005"]  # more than a slice: all now
    room.turns.run()
    assert sorted(room.got("floor-1")) == sorted(room.by_id)
    outsider = Client("not-connected")
    room.spread.send(room.clients, "floor-2", [outsider])  # only among the recipients
    room.turns.run()
    assert "not-connected" not in room.got("floor-2")


def test_a_new_version_replaces_what_is_left_and_a_gone_tablet_is_skipped() -> None:
    room = Room(300, 100)
    room.spread.send(room.clients, "floor-1")
    early = set(room.got("floor-1"))
    gone = next(c for c in room.clients if c.client_id not in early)
    room.clients.discard(gone)
    room.spread.send(room.clients, "floor-2")
    assert len(room.turns.waiting) == 1  # one turn due, not one per version
    room.turns.run()
    assert len(room.got("floor-1")) == 100  # the rest of version 1 never went
    assert sorted(room.got("floor-2")) == sorted(c.client_id for c in room.clients)
    assert gone.client_id not in room.got("floor-2")
    room.spread.send(room.clients, "floor-3")
    room.spread.cancel()  # the room stops: the rest is not sent
    room.turns.run()
    assert len(room.got("floor-3")) == 100
    with pytest.raises(ValueError, match="a slice of 0 tablets"):
        Spread(room.send, room.clients, 0)


# --- the floor through a real room ---------------------------------------------------------

BURST = 30


def _queue(tablet: Tablet) -> list[str]:
    states = tablet.of_type(FloorState)
    return [e.delegate_id for e in states[-1].queue] if states else []


async def test_a_burst_of_speaker_requests_is_a_few_floor_states_and_every_tablet_ends_current(
    tmp_path: Path,
) -> None:
    package = write_package(tmp_path / "pkg", more_delegates=BURST)
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        chair = await Tablet(room, "tab-chair", "A1").start()
        await chair.sign_in("chair", "1111")
        watcher = await Tablet(room, "tab-watch", "A3").start()  # nobody signed in
        members = [await Tablet(room, f"tab-m{i:04d}", f"S{i:04d}").start() for i in range(BURST)]
        await asyncio.gather(*(m.sign_in(f"m{i:04d}", f"1{i:04d}") for i, m in enumerate(members)))
        first, rest = members[0], members[1:]

        # A lone request: its floor.state is sent at once, so on the requester's own
        # connection it comes before the answer to anything it asks next.
        await asyncio.sleep(2 * FLOOR_INTERVAL_S)  # a quiet spell
        await first.ok(RequestFloor(first.op()))
        await first.refused(RequestFloor(first.op()), "bad_state", "already in the speaker queue")
        assert _queue(first) == ["m0000"], "the lone request's state came after the next answer"
        await until(lambda: _queue(watcher) == ["m0000"])

        # The burst: 29 requests and a withdrawal, all at once.
        await asyncio.sleep(2 * FLOOR_INTERVAL_S)
        loop = asyncio.get_running_loop()
        seen_watcher, seen_chair = len(watcher.of_type(FloorState)), len(chair.of_type(FloorState))
        started = loop.time()
        await asyncio.gather(
            first.ok(WithdrawFloor(first.op())), *(m.ok(RequestFloor(m.op())) for m in rest)
        )
        answered = loop.time()
        expected = {f"m{i:04d}" for i in range(1, BURST)}
        await until(lambda: set(_queue(watcher)) == expected and len(_queue(watcher)) == BURST - 1)
        await asyncio.sleep(3 * FLOOR_INTERVAL_S)  # anything still due has gone out

        # Sends to everyone are at least an interval apart, the first at or after the
        # first change and the last within an interval of the last change.
        broadcasts = len(watcher.of_type(FloorState)) - seen_watcher
        assert broadcasts <= 2 + (answered - started) / FLOOR_INTERVAL_S, broadcasts
        assert broadcasts < BURST
        # The chair heard every change (each at once), the last broadcast too.
        assert len(chair.of_type(FloorState)) - seen_chair >= BURST
        # Every tablet ends with the same, latest floor.state.
        last = watcher.of_type(FloorState)[-1]
        for tablet in (chair, *members):
            mine = tablet.of_type(FloorState)[-1]
            assert (mine.seq, mine.queue) == (last.seq, last.queue)
        await asyncio.gather(*(t.stop() for t in (chair, watcher, *members)))


async def test_the_requester_hears_its_own_request_at_once_while_the_room_waits(
    tmp_path: Path,
) -> None:
    """Within the interval after a broadcast the room's floor.state waits, but the
    tablet that asked (and the chair) get theirs at once: before the answer to
    whatever they ask next."""
    package = write_package(tmp_path / "pkg", more_delegates=3)
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        chair = await Tablet(room, "tab-chair", "A1").start()
        await chair.sign_in("chair", "1111")
        watcher = await Tablet(room, "tab-watch", "A3").start()  # nobody signed in
        members = [await Tablet(room, f"tab-m{i:04d}", f"S{i:04d}").start() for i in range(3)]
        await asyncio.gather(*(m.sign_in(f"m{i:04d}", f"1{i:04d}") for i, m in enumerate(members)))
        first, second, third = members
        await asyncio.sleep(2 * FLOOR_INTERVAL_S)  # a quiet spell
        await first.ok(RequestFloor(first.op()))  # broadcast at once: the interval starts
        await second.ok(RequestFloor(second.op()))
        await second.refused(RequestFloor(second.op()), "bad_state", "already in the speaker queue")
        assert _queue(second) == ["m0000", "m0001"], "the requester's state waited for the room"
        assert _queue(chair) == ["m0000", "m0001"]
        await second.ok(WithdrawFloor(second.op()))
        await third.ok(RequestFloor(third.op()))
        await second.ok(RequestFloor(second.op()))  # after the withdrawal: at the end
        await second.refused(RequestFloor(second.op()), "bad_state", "already in the speaker queue")
        assert _queue(second) == ["m0000", "m0002", "m0001"]
        # The room hears it within an interval or so, the latest.
        await until(lambda: _queue(watcher) == ["m0000", "m0002", "m0001"])
        await until(lambda: _queue(third) == ["m0000", "m0002", "m0001"])
        await asyncio.gather(*(t.stop() for t in (chair, watcher, *members)))


async def test_a_lone_check_in_reaches_the_clerk(tmp_path: Path, voting_package_dir: Path) -> None:
    """attendance.state goes out at most every ``ATTENDANCE_INTERVAL_S``, after the change
    is committed: a lone check-in reaches the clerk, counted, within about that."""
    with running_room(tmp_path / "room", package=voting_package_dir, mdns=False) as room:
        clerk = await Tablet(room, "tab-clerk").start()
        await clerk.sign_in("clerk", "3333")
        await until(lambda: bool(clerk.of_type(AttendanceState)))
        await asyncio.sleep(2 * ATTENDANCE_INTERVAL_S)  # a quiet spell
        before = clerk.of_type(AttendanceState)[-1].present_members
        await clerk.ok(CheckIn(clerk.op(), "d4"))
        await until(lambda: clerk.of_type(AttendanceState)[-1].present_members == before + 1)
        await clerk.refused(CheckIn(clerk.op(), "d4"), "bad_state", "already checked in")
        await clerk.stop()
