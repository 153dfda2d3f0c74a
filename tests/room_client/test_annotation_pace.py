"""When a tablet's gathered private annotation operations go to the room (the room's
``annotation.pace``): the moment drawn after a quiet spell holds for every later edit,
steady drawing keeps one batch a pace, and a room of 500 drawing tablets (the session
bench's annotations phase) stays inside the room's default budget. Clocks are plain
numbers; nothing waits for real time."""

from __future__ import annotations

import asyncio
import heapq
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from room_client.annotations import AnnotationBook, AnnotationSync, BatchPace
from room_protocol.annotations import (
    COLOURS,
    AnnotationBatch,
    AnnotationKind,
    AnnotationPace,
    AnnotationsKept,
    Visibility,
)
from room_protocol.live import Request, Role, SignedIn
from room_protocol.messages import Message
from room_server.limits import RequestBucket

DOC = "ab" * 32


def draws(*values: float) -> Callable[[], float]:
    """A ``random.random`` that gives these values in turn."""
    given = iter(values)
    return lambda: next(given)


def test_after_a_quiet_spell_the_drawn_moment_holds_for_later_edits() -> None:
    pace = BatchPace(draws(0.4, 0.9))
    assert pace.due(100.0, 15.0) == 106.0  # nothing sent yet: 0.4 of the pace from now
    assert pace.due(102.0, 15.0) == 106.0  # a second edit gathers until then
    assert pace.due(105.9, 15.0) == 106.0
    pace.sent(106.0)
    assert pace.due(107.0, 15.0) == 121.0  # drawing on: a pace after the last batch
    assert pace.due(110.0, 15.0) == 121.0
    pace.sent(121.0)
    assert pace.due(200.0, 15.0) == 213.5  # a quiet spell again: drawn again (0.9)
    assert pace.due(201.0, 15.0) == 213.5


def test_a_small_room_sends_at_once_and_a_forgotten_moment_is_drawn_again() -> None:
    pace = BatchPace(draws(0.0, 0.5, 0.25))
    assert pace.due(10.0, 0.0) == 10.0  # pace 0: at once
    pace.sent(10.0)
    assert pace.due(10.0, 0.0) == 10.0
    pace.sent(10.0)
    assert pace.due(20.0, 8.0) == 24.0  # the room grew: a quiet spell at the new pace
    pace.forget()  # its timer went off with nothing left to send
    assert pace.due(30.0, 8.0) == 32.0


def test_the_pace_holds_its_moment_whatever_the_room_says_meanwhile() -> None:
    """The moment drawn is kept when the room's pace changes: at most the old pace away,
    so a stroke reaches the room in bounded time."""
    pace = BatchPace(draws(1.0))
    assert pace.due(0.0, 30.0) == 30.0
    assert pace.due(1.0, 0.5) == 30.0
    pace.sent(30.0)
    assert pace.due(30.1, 0.5) == 30.5


class _Room:
    """The room's side of AnnotationSync's ``send``: every batch noted and kept."""

    def __init__(self) -> None:
        self.batches: list[AnnotationBatch] = []

    async def send(self, request: Request) -> Message:
        assert isinstance(request, AnnotationBatch)
        self.batches.append(request)
        return AnnotationsKept(request.op_id, ())


async def test_a_second_private_stroke_waits_for_the_moment_drawn_for_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two strokes 0.1 s apart after a quiet spell in a room that asks for 30 s: they go
    together at the moment drawn for the first (here half the pace), not with the second
    stroke (the bug that bunched a whole room's next batches a pace later)."""
    monkeypatch.setattr(random, "random", lambda: 0.5)
    book = AnnotationBook(tmp_path / "tablet.sqlite3", "tablet-1")
    room = _Room()
    sync = AnnotationSync(book, room.send)
    sync.receive(AnnotationPace(30.0))
    sync.receive(SignedIn("m1", "Member One", Role.DELEGATE))
    loop = asyncio.get_running_loop()
    try:
        drawn_at = loop.time()
        book.draw("m1", DOC, 0, AnnotationKind.INK, [1, 2, 3, 4], colour=COLOURS[0])
        book.draw("m1", DOC, 0, AnnotationKind.INK, [5, 6, 7, 8], colour=COLOURS[0])
        for _ in range(5):
            await asyncio.sleep(0)
        assert room.batches == []
        assert sync._timer is not None
        assert drawn_at + 15.0 <= sync._timer.when() < loop.time() + 15.0
        book.draw(
            "m1",
            DOC,
            0,
            AnnotationKind.INK,
            [9, 9],
            colour=COLOURS[0],
            visibility=Visibility.EVERYONE,
        )
        for _ in range(5):
            await asyncio.sleep(0)
        # A shared stroke goes at once, and takes the gathered private ones with it.
        assert [len(b.ops) for b in room.batches] == [3]
        assert book.pending("m1") == []
    finally:
        await sync.stop()
        book.close()


def _room_of_drawing_tablets(
    tablets: int, rate: float, seconds: float, pace: float, seed: int
) -> tuple[int, list[int], int]:
    """The session bench's annotations phase on a virtual clock: ``tablets`` each draw
    one private stroke every 1/``rate`` s from a random moment in the first period, for
    ``seconds``, and send as the reference tablet does (one batch on its way at a time,
    :class:`BatchPace`, a busy batch again after 1 s doubling, jittered); the room takes
    each batch's operations from its default budget (300 a second, burst 600) 10 ms after
    it leaves and answers 10 ms later. How many batches were answered busy, the
    operations the room was offered in each second, and the strokes drawn."""
    now = 0.0
    budget = RequestBucket(300.0, 600, clock=lambda: now)
    rng = random.Random(seed)
    events: list[tuple[float, int, Callable[[], None]]] = []
    order = 0

    def at(when: float, action: Callable[[], None]) -> None:
        nonlocal order
        order += 1
        heapq.heappush(events, (when, order, action))

    busy = drawn = 0
    offered = [0] * int(seconds + 3 * pace + 60)

    class Tablet:
        """AnnotationSync's _schedule, _timed, _deliver and _send_again_later."""

        def __init__(self) -> None:
            self.pending = 0
            self.sending = False
            self.backing_off = False
            self.timer: int | None = None  # the live timer's number
            self.timers = 0
            self.busy_in_a_row = 0
            self.pace = BatchPace(rng.random)

        def schedule(self, now_: bool = False) -> None:
            if self.sending or self.backing_off or not self.pending:
                return
            due = self.pace.due(now, pace)
            if now_ or now >= due:
                self.timer = None
                self.send()
            elif self.timer is None:
                self.set_timer(due)

        def set_timer(self, when: float) -> None:
            self.timers += 1
            live = self.timer = self.timers
            at(when, lambda: self.timed(live))

        def timed(self, live: int) -> None:
            if live == self.timer:
                self.timer = None
                self.backing_off = False
                self.pace.forget()
                self.schedule(now_=True)

        def send(self) -> None:
            count, self.pending = self.pending, 0
            self.sending = True
            self.pace.sent(now)
            at(now + 0.01, lambda: self.arrive(count))

        def arrive(self, count: int) -> None:
            offered[int(now)] += count
            kept = budget.take(count)
            at(now + 0.01, lambda: self.answer(count, kept))

        def answer(self, count: int, kept: bool) -> None:
            nonlocal busy
            self.sending = False
            if kept:
                self.busy_in_a_row = 0
                self.schedule()
                return
            busy += 1
            self.busy_in_a_row += 1
            self.pending += count
            self.backing_off = True
            self.set_timer(now + min(30.0, 2 ** (self.busy_in_a_row - 1)) * rng.uniform(0.5, 1.5))

        def draw(self, when: float) -> None:
            nonlocal drawn
            if when < seconds:
                drawn += 1
                self.pending += 1
                self.schedule()
                at(when + 1 / rate, lambda: self.draw(when + 1 / rate))

    for _ in range(tablets):
        tablet = Tablet()
        first = rng.random() / rate
        at(first, lambda tablet=tablet, first=first: tablet.draw(first))  # type: ignore[misc]
    while events:
        now, _, action = heapq.heappop(events)
        action()
    return busy, offered, drawn


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_room_of_500_drawing_tablets_stays_inside_the_default_budget(seed: int) -> None:
    """2,001 connections: the room asks for 15 s. 500 tablets drawing a stroke every 2 s
    offer 250 operations a second and the pace spreads them: no second is near the
    burst, nothing is answered busy, every stroke reaches the room within a pace."""
    busy, offered, drawn = _room_of_drawing_tablets(500, 0.5, 15.0, 15.0, seed)
    assert busy == 0
    assert sum(offered) == drawn >= 500 * 7  # each stroke offered once
    assert max(offered) < 400  # about what they draw (the rule before: 1,400-1,800 at 17 s)
    assert not any(offered[30:])  # the last stroke, before 15 s, went within a pace
