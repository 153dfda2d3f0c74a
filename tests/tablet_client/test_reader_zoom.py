"""Zooming and moving the page by touch: real QTest touch sequences on a shown reader with a
real PDF and PageRenderer. Taps and swipes are timed with the view's clock, set here.

Touch sequences process events themselves, so they are sent from a plain callback of the
running qasync loop (``touching``), never from inside a task. Fingers stay within 800 x 600
of the screen: the offscreen platform's screen, beyond which Qt drops touch points.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QPointingDevice
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QScrollArea, QScrollBar
from pytestqt.qtbot import QtBot

from tablet_client.document_controller import MAX_PAGE_PIXELS
from tablet_client.render import PageRenderer
from tablet_client.views.document_view import MAX_ZOOM
from tests.tablet_client.conftest import A4, until
from tests.tablet_client.test_document_view import PAGE_COLOURS, Reader, assert_colour

Run = Callable[[Coroutine[Any, Any, Any]], Any]


class Fingers:
    """Touches on the reader's page area (its coordinates), and the clock its gestures read."""

    def __init__(self, reader: Reader, run_async: Run) -> None:
        self.area = reader.view.page_area
        self.run = run_async
        self.device: QPointingDevice = QTest.createTouchDevice()
        self.now = 100.0
        self.down: dict[int, QPoint] = {}
        reader.view.clock = lambda: self.now

    def _sequence(self) -> QTest.QTouchEventSequence:
        return QTest.touchEvent(self.area, self.device, False)

    def _send(self, moves: dict[int, QPoint]) -> None:
        sequence = self._sequence()
        for finger, at in moves.items():
            if finger in self.down:
                sequence.move(finger, at, self.area)
            else:
                sequence.press(finger, at, self.area)
        self.down.update(moves)
        touching(self.run, sequence.commit)

    def lift(self) -> None:
        sequence = self._sequence()
        for finger, at in self.down.items():
            sequence.release(finger, at, self.area)
        self.down.clear()
        touching(self.run, sequence.commit)

    def pinch(self, centre: QPoint, start: int, end: int, *, lift: bool = True) -> None:
        """Two fingers either side of ``centre``, ``start`` px apart, moving to ``end``."""

        def at(distance: float) -> dict[int, QPoint]:
            half = QPoint(round(distance / 2), 0)
            return {0: centre - half, 1: centre + half}

        self._send(at(start))
        for step in range(1, 5):
            self.now += 0.02
            self._send(at(start + (end - start) * step / 4))
        if lift:
            self.lift()

    def drag(self, *points: QPoint, seconds: float) -> None:
        """One finger through ``points`` in ``seconds``."""
        first, *rest = points
        self._send({0: first})
        for point in rest:
            self.now += seconds / len(rest)
            self._send({0: point})
        self.lift()

    def tap(self, at: QPoint) -> None:
        self._send({0: at})
        self.now += 0.04
        self.lift()
        self.now += 0.06


def touching(run_async: Run, action: Callable[[], None]) -> None:
    """Run ``action`` (touch sequences) as a callback of the running loop, as Qt's events
    are in the app: what they start (renders, prefetches) finds the loop running."""

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


@pytest.fixture
def reader(qtbot: QtBot, qt_renderer: PageRenderer) -> Iterator[Reader]:
    reader = Reader(qtbot, qt_renderer)
    yield reader
    reader.controller.close()


def fraction_at(reader: Reader, at: QPointF) -> tuple[float, float]:
    """Where on the page (0..1 across and down) the page area's point ``at`` shows."""
    rect = reader.view.page_rect
    return (at.x() - rect.x()) / rect.width(), (at.y() - rect.y()) / rect.height()


def bars(reader: Reader) -> tuple[QScrollBar, QScrollBar]:
    """The page area's horizontal and vertical scroll bars."""
    scroll = reader.view.findChild(QScrollArea, "page_area")
    assert scroll is not None
    return scroll.horizontalScrollBar(), scroll.verticalScrollBar()


def fit_px(reader: Reader) -> int:
    """Device px wide the page is at zoom 1 in fit width."""
    return math.floor(reader.view.page_area_size("width").width() * reader.view.devicePixelRatioF())


async def rendered_at(reader: Reader, width_px: int, shown_before: int) -> None:
    ratio = reader.view.devicePixelRatioF()
    await until(
        lambda: (
            len(reader.shown) > shown_before
            and abs(reader.view.displayed_pixmap_size.width() - width_px / ratio) < 1
        ),
        f"the page rendered {width_px} px wide",
    )


def test_pinch_zooms_about_the_fingers_and_re_renders_sharp_when_they_lift(
    reader: Reader, colour_pdf: Path, run_async: Run, qt_renderer: PageRenderer
) -> None:
    run_async(reader.controller.open(colour_pdf, "Colours"))
    fingers = Fingers(reader, run_async)
    centre = QPoint(500, 300)
    before = fraction_at(reader, QPointF(centre))
    page_width = reader.view.page_rect.width()
    shown = len(reader.shown)

    fingers.pinch(centre, 200, 400, lift=False)
    # Scaled at once, while the fingers are still down: no render yet.
    assert math.isclose(reader.view.zoom, 2.0)
    assert math.isclose(reader.view.page_rect.width(), page_width * 2, abs_tol=1)
    assert len(reader.shown) == shown
    after = fraction_at(reader, QPointF(centre))
    pixel = 1 / reader.view.page_rect.width()
    assert all(abs(a - b) < 2 * pixel for a, b in zip(after, before, strict=True)), (after, before)
    assert reader.controller.zoom == 1.0  # told when the fingers lift

    fingers.lift()
    assert math.isclose(reader.controller.zoom, 2.0)
    width_px = fit_px(reader) * 2
    run_async(rendered_at(reader, width_px, shown))
    assert qt_renderer.cached(colour_pdf, 0, width_px) is not None
    # Drawn 1:1 now, and still about the same point.
    assert reader.view.page_rect.width() == reader.view.displayed_pixmap_size.width()
    again = fraction_at(reader, QPointF(centre))
    assert all(abs(a - b) < 2 * pixel for a, b in zip(again, before, strict=True))
    assert_colour(reader.page_colour(), PAGE_COLOURS[0])


def test_pinch_limits_four_times_and_fit_page(
    reader: Reader, colour_pdf: Path, run_async: Run
) -> None:
    run_async(reader.controller.open(colour_pdf, "Colours"))
    fingers = Fingers(reader, run_async)
    fit_width = reader.view.page_rect.width()
    shown = len(reader.shown)

    fingers.pinch(QPoint(400, 300), 100, 700)  # seven times apart: stops at four
    assert reader.view.zoom == MAX_ZOOM == reader.controller.zoom
    assert math.isclose(reader.view.page_rect.width(), fit_width * MAX_ZOOM, abs_tol=1)
    # The render is capped in pixels; the rest is scaling.
    largest = math.floor(math.sqrt(MAX_PAGE_PIXELS * A4[0] / A4[1]))
    run_async(rendered_at(reader, min(fit_px(reader) * 4, largest), shown))
    assert math.isclose(reader.view.page_rect.width(), fit_width * MAX_ZOOM, abs_tol=1)

    # Pinched far in: no smaller than the whole page on screen.
    fingers.pinch(QPoint(400, 300), 700, 20)
    page_height = reader.view.page_area_size("page").height()
    assert reader.view.zoom < 1
    assert abs(reader.view.page_rect.height() - page_height) <= 2
    shown = len(reader.shown)
    run_async(until(lambda: len(reader.shown) > shown, "the whole page rendered"))
    assert abs(reader.view.displayed_pixmap_size.height() - page_height) <= 2

    # In fit page mode the fit size is already the least.
    reader.controller.set_fit_mode("page")
    fingers.pinch(QPoint(400, 300), 400, 100)
    assert reader.view.zoom == 1.0 == reader.controller.zoom


def test_zoom_rejects_nonsense_and_changes_nothing(
    reader: Reader, colour_pdf: Path, run_async: Run
) -> None:
    run_async(reader.controller.open(colour_pdf, "Colours"))
    reader.controller.set_zoom(2.0)
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="zoom must be a positive number"):
            reader.controller.set_zoom(bad)
    assert reader.controller.zoom == 2.0 == reader.view.zoom


def test_one_finger_pans_when_zoomed_and_a_swipe_does_not_turn_the_page(
    reader: Reader, colour_pdf: Path, run_async: Run
) -> None:
    run_async(reader.controller.open(colour_pdf, "Colours"))
    reader.controller.set_zoom(2.0)
    fingers = Fingers(reader, run_async)
    horizontal, vertical = bars(reader)
    horizontal.setValue(400)
    vertical.setValue(300)

    fingers.drag(QPoint(600, 400), QPoint(560, 370), QPoint(500, 320), seconds=0.5)
    assert (horizontal.value(), vertical.value()) == (500, 380)  # the page follows the finger

    # A quick sideways flick pans too: the page is wider than the screen.
    fingers.drag(QPoint(700, 300), QPoint(500, 300), QPoint(300, 300), seconds=0.1)
    assert horizontal.value() == 900
    assert reader.controller.current_page == 0
    assert reader.view.zoom == 2.0


def test_a_swipe_turns_the_page_at_fit_zoom_and_a_slow_drag_does_not(
    reader: Reader, colour_pdf: Path, run_async: Run
) -> None:
    run_async(reader.controller.open(colour_pdf, "Colours"))
    fingers = Fingers(reader, run_async)
    fingers.drag(QPoint(750, 300), QPoint(550, 310), QPoint(350, 320), seconds=0.15)
    assert reader.controller.current_page == 1
    run_async(until(lambda: reader.shown[-1] == 1, "page 2"))
    assert_colour(reader.page_colour(), PAGE_COLOURS[1])

    fingers.drag(QPoint(300, 300), QPoint(500, 300), QPoint(700, 300), seconds=0.15)
    assert reader.controller.current_page == 0

    # The same way, slowly: the finger reads along, the page stays.
    fingers.drag(QPoint(750, 300), QPoint(550, 300), QPoint(350, 300), seconds=2.0)
    assert reader.controller.current_page == 0

    # Downwards at fit width pans the page (it is taller than the screen).
    _, vertical = bars(reader)
    assert vertical.value() == 0
    fingers.drag(QPoint(600, 450), QPoint(600, 350), QPoint(600, 250), seconds=0.1)
    assert vertical.value() == 200
    assert reader.controller.current_page == 0


def test_double_tap_zooms_to_twice_at_the_point_and_back(
    reader: Reader, colour_pdf: Path, run_async: Run
) -> None:
    run_async(reader.controller.open(colour_pdf, "Colours"))
    fingers = Fingers(reader, run_async)
    at = QPoint(300, 400)
    before = fraction_at(reader, QPointF(at))
    shown = len(reader.shown)
    fingers.tap(at)
    assert reader.view.zoom == 1.0  # one tap does not zoom
    fingers.tap(at)
    assert reader.view.zoom == 2.0 == reader.controller.zoom
    pixel = 1 / reader.view.page_rect.width()
    after = fraction_at(reader, QPointF(at))
    assert all(abs(a - b) < 2 * pixel for a, b in zip(after, before, strict=True)), (after, before)
    run_async(rendered_at(reader, fit_px(reader) * 2, shown))

    fingers.now += 1  # not a triple tap
    fingers.tap(at)
    fingers.tap(at)
    assert reader.view.zoom == 1.0 == reader.controller.zoom
    shown = len(reader.shown)
    run_async(rendered_at(reader, fit_px(reader), shown - 1))


def test_fit_buttons_reset_the_zoom_and_turning_pages_keeps_it(
    reader: Reader, colour_pdf: Path, run_async: Run, qtbot: QtBot
) -> None:
    run_async(reader.controller.open(colour_pdf, "Colours"))
    reader.controller.set_zoom(2.5)
    shown = len(reader.shown)
    width_px = math.floor(fit_px(reader) * 2.5)
    run_async(rendered_at(reader, width_px, shown))
    horizontal, vertical = bars(reader)
    horizontal.setValue(300)
    vertical.setValue(500)

    # The next page comes at the same zoom, at its top, in the same column.
    reader.controller.next_page()
    run_async(until(lambda: reader.shown[-1] == 1, "page 2"))
    assert reader.controller.zoom == 2.5 == reader.view.zoom
    assert abs(reader.view.displayed_pixmap_size.width() - width_px) < 1
    assert vertical.value() == 0 and horizontal.value() == 300

    for button, mode in (("fit_page", "page"), ("fit_width", "width")):
        reader.controller.set_zoom(3.0)
        shown = len(reader.shown)
        qtbot.mouseClick(reader.button(button), Qt.MouseButton.LeftButton)
        assert reader.controller.zoom == 1.0 == reader.view.zoom  # at once, scaled
        assert reader.controller.fit_mode == mode
        run_async(until(lambda shown=shown: len(reader.shown) > shown, f"fit {mode}"))
        fit = reader.view.page_area_size(mode)
        size = reader.view.displayed_pixmap_size
        assert size.width() <= fit.width() and size.height() <= fit.height() + (
            10_000 if mode == "width" else 0
        )
        assert horizontal.value() == 0
