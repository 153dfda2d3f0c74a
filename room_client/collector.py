"""Python's cyclic garbage collector, run on the event loop's thread only.

CPython runs a collection in whichever thread happens to allocate when a generation's
count passes its threshold: a zeroconf thread, an ``asyncio.to_thread`` worker, an
executor's manager thread. A cycle that holds a Qt object (a widget, a pixmap, a timer,
a controller whose lambdas reference its window) is then destroyed on that thread, and
Qt, which is not thread-safe, crashes at once or later in whatever the GUI thread was
doing (seen as segfaults in random tests). The tablet and the room display therefore
switch automatic collection off and collect here, with the same thresholds, from the
qasync loop — which runs on the GUI thread. Reference counting is unaffected: only
cyclic garbage waits, at most ``interval_s``.
"""

from __future__ import annotations

import asyncio
import gc
import logging

__all__ = ["LoopCollector"]

log = logging.getLogger(__name__)

INTERVAL_S = 0.5  # how long cyclic garbage may wait; a check costs ~1 µs


class LoopCollector:
    """Collects cyclic garbage on ``loop``'s thread every ``interval_s`` once a
    generation is due, as CPython would have done itself in some thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, interval_s: float = INTERVAL_S) -> None:
        if not interval_s > 0:
            raise ValueError(f"interval_s must be positive, not {interval_s}")
        self._loop = loop
        self._interval_s = interval_s
        self._timer: asyncio.TimerHandle | None = None
        self._was_enabled = False
        self.collections = 0  # how many collections ran here (for tests and logs)

    @property
    def running(self) -> bool:
        return self._timer is not None

    def start(self) -> None:
        """Take over from the automatic collector (call on the loop's thread)."""
        if self._timer is not None:
            return
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = self._loop.call_later(self._interval_s, self._check)

    def stop(self) -> None:
        """Collect what is left, here, and give automatic collection back as it was."""
        if self._timer is None:
            return
        self._timer.cancel()
        self._timer = None
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> int | None:
        """Collect the oldest generation whose count passed its threshold (None: none)."""
        counts = gc.get_count()
        thresholds = gc.get_threshold()
        due = [g for g in range(3) if thresholds[g] and counts[g] > thresholds[g]]
        if not due:
            return None
        generation = max(due)
        gc.collect(generation)
        self.collections += 1
        return generation

    def _check(self) -> None:
        try:
            self.collect_due()
        finally:
            if self._timer is not None:
                self._timer = self._loop.call_later(self._interval_s, self._check)
