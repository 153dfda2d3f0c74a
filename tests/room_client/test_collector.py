"""Cyclic garbage is collected on the event loop's thread, never on another thread that
happens to allocate (room_client/collector.py: Qt objects must die on the GUI thread)."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Iterator

import pytest

from room_client.collector import LoopCollector


class Cycle:
    """A reference cycle that records the thread it is finalized on."""

    def __init__(self, seen: list[str]) -> None:
        self.seen = seen
        self.me = self

    def __del__(self) -> None:
        self.seen.append(threading.current_thread().name)


def allocate_in_a_thread(containers: int) -> list[list[object]]:
    """What a zeroconf or executor thread does: allocate containers (kept, as a growing
    cache would), past gen 0's threshold."""
    kept: list[list[object]] = []

    def work() -> None:
        kept.extend([] for _ in range(containers))

    thread = threading.Thread(target=work, name="busy-thread")
    thread.start()
    thread.join()
    return kept


@pytest.fixture
def automatic_gc() -> Iterator[None]:
    """The interpreter's default (the test session itself collects on the main thread)."""
    was = gc.isenabled()
    gc.collect()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_without_it_a_busy_thread_collects_the_cycle(automatic_gc: None) -> None:
    """The hazard the collector exists for: CPython collects in whichever thread allocates."""
    seen: list[str] = []
    Cycle(seen)
    allocate_in_a_thread(gc.get_threshold()[0] * 3)
    assert seen == ["busy-thread"]


def test_the_cycle_dies_on_the_loops_thread(automatic_gc: None) -> None:
    seen: list[str] = []
    loop = asyncio.new_event_loop()
    collector = LoopCollector(loop, interval_s=0.01)
    try:
        collector.start()
        assert not gc.isenabled() and collector.running
        Cycle(seen)
        kept = allocate_in_a_thread(gc.get_threshold()[0] * 3)
        assert seen == []  # the busy thread did not collect it

        async def until_collected() -> None:
            for _ in range(500):  # 5 s at most
                if seen:
                    return
                await asyncio.sleep(0.01)

        loop.run_until_complete(until_collected())
        assert seen == [threading.current_thread().name]
        assert collector.collections >= 1
        del kept
    finally:
        collector.stop()
        loop.close()
    assert gc.isenabled()  # given back as it was
    assert not collector.running


def test_nothing_due_collects_nothing() -> None:
    collector = LoopCollector(asyncio.new_event_loop())
    gc.collect()
    assert collector.collect_due() is None and collector.collections == 0


def test_stop_collects_what_is_left_and_keeps_automatic_collection_off_if_it_was() -> None:
    gc.disable()  # as the test session has it
    seen: list[str] = []
    loop = asyncio.new_event_loop()
    collector = LoopCollector(loop)
    collector.start()
    Cycle(seen)
    collector.stop()
    loop.close()
    assert seen == [threading.current_thread().name]
    assert not gc.isenabled()


@pytest.mark.parametrize("interval", [0.0, -1.0, float("nan")])
def test_a_nonsense_interval_is_refused(interval: float) -> None:
    with pytest.raises(ValueError, match="interval_s must be positive"):
        LoopCollector(asyncio.new_event_loop(), interval_s=interval)
