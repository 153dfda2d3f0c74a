"""Real touch for Qt tests: one touch device for the whole test process (Qt keeps every
device it is told of, so it is made once), the running qasync loop to send sequences
from, and a finger that taps a window where a widget is on screen.

Touch sequences process events themselves, so they are sent from a plain callback of
the running qasync loop (``in_loop``), never from inside a task. The offscreen platform's
screen is 800 x 600: Qt drops touch points beyond it, so a window touched here fits it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QPoint
from PySide6.QtGui import QPointingDevice
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget

Run = Callable[[Coroutine[Any, Any, Any]], Any]
OFFSCREEN_SCREEN = (800, 600)  # px: the offscreen platform's one screen


@functools.cache
def touch_device() -> QPointingDevice:
    return QTest.createTouchDevice()


def in_loop(run_async: Run, action: Callable[[], None]) -> None:
    """Run ``action`` (touch sequences, a command) as a callback of the running loop, as
    Qt's events are in the app: what they start (renders, prefetches) finds the loop."""

    async def body() -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def call() -> None:
            try:
                action()
            except BaseException as exc:  # the test's assertion, raised in the test
                done.set_exception(exc)
            else:
                done.set_result(None)

        loop.call_soon(call)
        await done

    run_async(body())


class Finger:
    """One finger on ``window``: it taps where a point of the screen is, on whatever is
    there at that moment (as a finger would), with press and release as two sequences."""

    def __init__(self, window: QWidget, run_async: Run) -> None:
        self.window = window
        self.run = run_async

    def tap_at(self, global_pos: QPoint) -> None:
        local = self.window.mapFromGlobal(global_pos)
        window, device = self.window, touch_device()
        assert window.rect().contains(local), (local, window.size())

        def tap() -> None:
            QTest.touchEvent(window, device, False).press(0, local, window).commit()
            QTest.touchEvent(window, device, False).release(0, local, window).commit()

        in_loop(self.run, tap)

    def tap(self, widget: QWidget) -> None:
        """A tap on the middle of ``widget``, which must be on screen and take taps."""
        assert widget.isVisible() and widget.isEnabled(), widget.objectName()
        self.tap_at(widget.mapToGlobal(widget.rect().center()))
