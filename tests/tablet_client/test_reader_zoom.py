"""Zooming and moving the page by touch: real QTest touch sequences on a shown reader with a
real PDF and PageRenderer. Taps and swipes are timed with the view's clock, set here.

Touch sequences process events themselves, so they are sent from a plain callback of the
running qasync loop (``in_loop``), never from inside a task; so are the reader's commands,
as the app's buttons would send them. Fingers stay within 800 x 600
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
from PySide6.QtGui import QColor, QKeySequence, QPointingDevice
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QScrollArea, QScrollBar
from pytestqt.qtbot import QtBot

from room_client.annotations import AnnotationBook
from room_protocol.annotations import COLOURS
from tablet_client.document_controller import MAX_PAGE_PIXELS
from tablet_client.i18n import set_language, tr
from tablet_client.render import PageRenderer
from tablet_client.views.document_view import COAST_S, MAX_ZOOM, ZOOM_KEY_STEP, DocumentView
from tests.tablet_client.conftest import A4, make_colour_pdf, until
from tests.tablet_client.test_annotations_ui import ME, Annotating, close_to, words_of
from tests.tablet_client.test_document_view import (
    PAGE_COLOURS,
    Reader,
    assert_colour,
    assert_not_blank,
)
from tests.tablet_client.touch import in_loop, touch_device

SHOTS = Path("/tmp/pinch-shots")
READ_VI = "Đọc"  # the reading tool, in Vietnamese

Run = Callable[[Coroutine[Any, Any, Any]], Any]


class Fingers:
    """Touches on the reader's page area (its coordinates), and the clock its gestures read."""

    def __init__(self, view: DocumentView, run_async: Run) -> None:
        self.area = view.page_area
        self.run = run_async
        self.device: QPointingDevice = touch_device()
        self.now = 100.0
        self.down: dict[int, QPoint] = {}
        view.clock = lambda: self.now

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
        in_loop(self.run, sequence.commit)

    def lift(self) -> None:
        sequence = self._sequence()
        for finger, at in self.down.items():
            sequence.release(finger, at, self.area)
        self.down.clear()
        in_loop(self.run, sequence.commit)

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


@pytest.fixture
def reader(qtbot: QtBot, qt_renderer: PageRenderer) -> Iterator[Reader]:
    reader = Reader(qtbot, qt_renderer)
    yield reader
    reader.controller.close()


def fraction_at(reader: Reader, at: QPointF) -> tuple[float, float]:
    """Where on the page (0..1 across and down) the page area's point ``at`` shows."""
    rect = reader.view.page_rect
    return (at.x() - rect.x()) / rect.width(), (at.y() - rect.y()) / rect.height()


def bars(view: DocumentView) -> tuple[QScrollBar, QScrollBar]:
    """The page area's horizontal and vertical scroll bars."""
    scroll = view.findChild(QScrollArea, "page_area")
    assert scroll is not None
    return scroll.horizontalScrollBar(), scroll.verticalScrollBar()


def fit_px(view: DocumentView) -> int:
    """Device px wide the page is at zoom 1 in fit width."""
    return math.floor(view.page_area_size("width").width() * view.devicePixelRatioF())


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
    fingers = Fingers(reader.view, run_async)
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
    width_px = fit_px(reader.view) * 2
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
    fingers = Fingers(reader.view, run_async)
    fit_width = reader.view.page_rect.width()
    shown = len(reader.shown)

    fingers.pinch(QPoint(400, 300), 100, 700)  # seven times apart: stops at four
    assert reader.view.zoom == MAX_ZOOM == reader.controller.zoom
    assert math.isclose(reader.view.page_rect.width(), fit_width * MAX_ZOOM, abs_tol=1)
    # The render is capped in pixels; the rest is scaling.
    largest = math.floor(math.sqrt(MAX_PAGE_PIXELS * A4[0] / A4[1]))
    run_async(rendered_at(reader, min(fit_px(reader.view) * 4, largest), shown))
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
    in_loop(run_async, lambda: reader.controller.set_fit_mode("page"))
    fingers.pinch(QPoint(400, 300), 400, 100)
    assert reader.view.zoom == 1.0 == reader.controller.zoom


def test_zoom_rejects_nonsense_and_changes_nothing(
    reader: Reader, colour_pdf: Path, run_async: Run
) -> None:
    run_async(reader.controller.open(colour_pdf, "Colours"))
    in_loop(run_async, lambda: reader.controller.set_zoom(2.0))
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="zoom must be a positive number"):
            reader.controller.set_zoom(bad)  # refused before it touches anything
    assert reader.controller.zoom == 2.0 == reader.view.zoom


def test_one_finger_pans_when_zoomed_and_a_swipe_does_not_turn_the_page(
    reader: Reader, colour_pdf: Path, run_async: Run
) -> None:
    run_async(reader.controller.open(colour_pdf, "Colours"))
    in_loop(run_async, lambda: reader.controller.set_zoom(2.0))
    fingers = Fingers(reader.view, run_async)
    horizontal, vertical = bars(reader.view)
    horizontal.setValue(400)
    vertical.setValue(300)

    fingers.drag(QPoint(600, 400), QPoint(560, 370), QPoint(500, 320), seconds=0.5)
    assert (horizontal.value(), vertical.value()) == (500, 380)  # the page follows the finger

    # A quick sideways flick pans too (the page is wider than the screen), and the page
    # coasts on: from the finger's 1,000 px/s to a stop, COAST_S / 2 * 1,000 px further.
    horizontal.setValue(200)
    fingers.drag(QPoint(600, 300), QPoint(500, 300), QPoint(400, 300), seconds=0.2)
    assert reader.controller.current_page == 0
    assert reader.view.zoom == 2.0
    run_async(until(lambda: not reader.view.coasting, "the page at rest"))
    assert horizontal.value() == 200 + 200 + round(1000 * COAST_S / 2)
    assert vertical.value() == 380
    assert reader.controller.current_page == 0

    # A finger on a coasting page holds it (wherever it had got to, from 500 towards 200).
    fingers.drag(QPoint(400, 300), QPoint(500, 300), QPoint(600, 300), seconds=0.2)
    fingers._send({0: QPoint(600, 300)})
    assert not reader.view.coasting
    held = horizontal.value()
    assert 200 <= held <= 500
    run_async(asyncio.sleep(COAST_S + 0.1))
    fingers.lift()
    assert horizontal.value() == held


def test_a_swipe_turns_the_page_at_fit_zoom_and_a_slow_drag_does_not(
    reader: Reader, colour_pdf: Path, run_async: Run
) -> None:
    run_async(reader.controller.open(colour_pdf, "Colours"))
    fingers = Fingers(reader.view, run_async)
    fingers.drag(QPoint(750, 300), QPoint(550, 310), QPoint(350, 320), seconds=0.15)
    assert reader.controller.current_page == 1
    run_async(until(lambda: reader.shown[-1] == 1, "page 2"))
    assert_colour(reader.page_colour(), PAGE_COLOURS[1])

    fingers.drag(QPoint(300, 300), QPoint(500, 300), QPoint(700, 300), seconds=0.15)
    assert reader.controller.current_page == 0

    # The same way, slowly: the finger reads along, the page stays.
    fingers.drag(QPoint(750, 300), QPoint(550, 300), QPoint(350, 300), seconds=2.0)
    assert reader.controller.current_page == 0

    # In fit page mode, a swipe beside the page (on the dark background) turns it too.
    in_loop(run_async, lambda: reader.controller.set_fit_mode("page"))
    run_async(until(lambda: reader.view.page_rect.height() < 700, "the whole page"))
    assert reader.view.page_rect.left() > 400
    fingers.drag(QPoint(390, 300), QPoint(200, 300), QPoint(20, 300), seconds=0.15)
    assert reader.controller.current_page == 1
    fingers.drag(QPoint(20, 300), QPoint(200, 300), QPoint(390, 300), seconds=0.15)
    assert reader.controller.current_page == 0
    in_loop(run_async, lambda: reader.controller.set_fit_mode("width"))
    run_async(until(lambda: reader.view.page_rect.height() > 700, "the page's width"))

    # Downwards at fit width pans the page (it is taller than the screen).
    _, vertical = bars(reader.view)
    assert vertical.value() == 0
    fingers.drag(QPoint(600, 450), QPoint(600, 350), QPoint(600, 250), seconds=1.0)
    assert vertical.value() == 200
    assert not reader.view.coasting  # too slow to coast on
    assert reader.controller.current_page == 0


def test_double_tap_zooms_to_twice_at_the_point_and_back(
    reader: Reader, colour_pdf: Path, run_async: Run
) -> None:
    run_async(reader.controller.open(colour_pdf, "Colours"))
    fingers = Fingers(reader.view, run_async)
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
    run_async(rendered_at(reader, fit_px(reader.view) * 2, shown))

    fingers.now += 1  # not a triple tap
    fingers.tap(at)
    fingers.tap(at)
    assert reader.view.zoom == 1.0 == reader.controller.zoom
    shown = len(reader.shown)
    run_async(rendered_at(reader, fit_px(reader.view), shown - 1))


def test_fit_buttons_reset_the_zoom_and_turning_pages_keeps_it(
    reader: Reader, colour_pdf: Path, run_async: Run, qtbot: QtBot, tmp_path: Path
) -> None:
    run_async(reader.controller.open(colour_pdf, "Colours"))
    in_loop(run_async, lambda: reader.controller.set_zoom(2.5))
    shown = len(reader.shown)
    width_px = math.floor(fit_px(reader.view) * 2.5)
    run_async(rendered_at(reader, width_px, shown))
    horizontal, vertical = bars(reader.view)
    horizontal.setValue(300)
    vertical.setValue(500)

    # The next page comes at the same zoom, at its top, in the same column.
    in_loop(run_async, lambda: reader.controller.next_page())
    run_async(until(lambda: reader.shown[-1] == 1, "page 2"))
    assert reader.controller.zoom == 2.5 == reader.view.zoom
    assert abs(reader.view.displayed_pixmap_size.width() - width_px) < 1
    assert vertical.value() == 0 and horizontal.value() == 300

    # Another document opens at the fit size; the same one again keeps the zoom.
    other = make_colour_pdf(tmp_path / "other.pdf")
    run_async(reader.controller.open(other, "Other"))
    assert reader.controller.zoom == 1.0 == reader.view.zoom
    in_loop(run_async, lambda: reader.controller.set_zoom(2.5))
    run_async(reader.controller.open(other, "Other", 1))
    assert reader.controller.zoom == 2.5 == reader.view.zoom

    for button, mode in (("fit_page", "page"), ("fit_width", "width")):
        in_loop(run_async, lambda: reader.controller.set_zoom(3.0))
        shown = len(reader.shown)
        in_loop(
            run_async,
            lambda button=button: qtbot.mouseClick(
                reader.button(button), Qt.MouseButton.LeftButton
            ),
        )
        assert reader.controller.zoom == 1.0 == reader.view.zoom  # at once, scaled
        assert reader.controller.fit_mode == mode
        run_async(until(lambda shown=shown: len(reader.shown) > shown, f"fit {mode}"))
        fit = reader.view.page_area_size(mode)
        size = reader.view.displayed_pixmap_size
        assert size.width() <= fit.width() and size.height() <= fit.height() + (
            10_000 if mode == "width" else 0
        )
        assert horizontal.value() == 0


# --- the annotations over the page follow the zoom ---------------------------------------


@pytest.fixture
def book(tmp_path: Path) -> Iterator[AnnotationBook]:
    book = AnnotationBook(tmp_path / "annotations.sqlite", "tablet-a")
    yield book
    book.close()


@pytest.fixture
def annotating(
    qtbot: QtBot, qt_renderer: PageRenderer, book: AnnotationBook
) -> Iterator[Annotating]:
    made = Annotating(qtbot, qt_renderer, book)
    made.view.resize(1280, 800)  # a 10" tablet in landscape
    yield made
    made.controller.close()
    made.reader.close()


def on_page_area(annotating: Annotating, x: float, y: float) -> QPointF:
    """Where page point (x, y) is drawn, in the page area's coordinates."""
    layer = annotating.layer
    return QPointF(layer.mapTo(annotating.view.page_area, layer.to_layer(x, y).toPoint()))


def test_marks_stay_on_their_text_at_every_zoom(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    run_async(annotating.open(colour_pdf))
    annotating.tool("pen")
    annotating.bar.swatches[COLOURS[1]].click()
    stroke = [(100.0, 150.0), (180.0, 170.0), (260.0, 150.0)]
    annotating.drag(*stroke)
    [at_fit] = annotating.mine()
    fit_pixel = annotating.layer.points_per_pixel()
    view = annotating.view
    corner, mark = view.page_rect.topLeft(), on_page_area(annotating, 180, 170)

    in_loop(run_async, lambda: annotating.reader.set_zoom(2.0))
    # At twice the size, at once (the page's pixels scaled), the mark is twice as far
    # from the page's corner, and drawn there in its colour.
    scaled = on_page_area(annotating, 180, 170) - view.page_rect.topLeft()
    assert abs(scaled.x() - 2 * (mark - corner).x()) <= 2
    assert abs(scaled.y() - 2 * (mark - corner).y()) <= 2
    assert math.isclose(annotating.layer.points_per_pixel(), fit_pixel / 2, rel_tol=0.01)
    shot = annotating.layer.grab().toImage()
    ratio = shot.devicePixelRatio()
    on_layer = annotating.at(180, 170)
    colour = QColor(shot.pixel(round(on_layer.x() * ratio), round(on_layer.y() * ratio)))
    assert colour.blue() > 150 and colour.red() < 120, colour.name()

    # The same stroke drawn at 2x is stored in the same page points as at 1x.
    annotating.drag(*stroke)
    at_twice = next(a for a in annotating.mine() if a.annotation_id != at_fit.annotation_id)
    assert close_to(at_twice.geometry, at_fit.geometry, fit_pixel), (
        at_twice.geometry,
        at_fit.geometry,
    )
    flat = tuple(v for point in stroke for v in point)
    assert close_to(at_twice.geometry, flat, fit_pixel / 2)


def test_a_second_finger_drops_the_stroke_and_pinches(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    run_async(annotating.open(colour_pdf))
    annotating.tool("pen")
    fingers = Fingers(annotating.view, run_async)
    fingers._send({0: QPoint(300, 200)})
    fingers._send({0: QPoint(340, 220)})
    fingers._send({0: QPoint(340, 220), 1: QPoint(500, 220)})  # a second finger: a pinch
    fingers._send({0: QPoint(260, 220), 1: QPoint(580, 220)})  # twice as far apart
    fingers.lift()
    assert annotating.book.pending(ME) == []  # the stroke so far was dropped
    assert math.isclose(annotating.view.zoom, 2.0)
    assert math.isclose(annotating.reader.zoom, 2.0)
    # One finger draws again, in page points at the new zoom.
    start, end = QPoint(300, 300), QPoint(400, 320)
    fingers._send({0: start})
    fingers._send({0: end})
    fingers.lift()
    [stroke] = annotating.book.pending(ME)
    geometry = stroke.patch.geometry or ()
    layer = annotating.layer
    expected = layer.to_page(QPointF(layer.mapFrom(annotating.view.page_area, start)))
    assert math.dist(geometry[:2], expected) < 1


def test_screenshots_zoomed_twice_in_english_and_vietnamese(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    run_async(annotating.open(colour_pdf))
    words = [w for w in words_of(colour_pdf, 0) if w[1] > 450]
    line = [w for w in words if (w[5], w[6]) == (words[0][5], words[0][6])]
    annotating.tool("highlighter")
    annotating.drag(
        ((line[0][0] + line[0][2]) / 2, (line[0][1] + line[0][3]) / 2),
        ((line[3][0] + line[3][2]) / 2, (line[3][1] + line[3][3]) / 2),
    )
    annotating.tool("pen")
    annotating.bar.swatches[COLOURS[0]].click()
    annotating.drag((70, 530), (160, 545), (250, 528), (330, 548))
    _, vertical = bars(annotating.view)
    vertical.setValue(round(annotating.layer.to_layer(0, 440).y()))
    fingers = Fingers(annotating.view, run_async)
    annotating.tool("read")
    at = on_page_area(annotating, 150, 505).toPoint()
    shown = len(annotating.ready)
    fingers.tap(at)
    fingers.tap(at)
    assert annotating.view.zoom == 2.0
    width = fit_px(annotating.view) * 2
    run_async(
        until(
            lambda: (
                len(annotating.ready) > shown
                and abs(annotating.view.displayed_pixmap_size.width() - width) < 1
            ),
            "the page rendered sharp at twice the size",
        )
    )
    run_async(asyncio.sleep(0.3))  # thumbnails drawn
    for language in ("en", "vi"):
        set_language(language)
        shot = annotating.view.grab()
        path = SHOTS / f"reader_zoom_2x_{language}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        assert shot.save(str(path))
        assert shot.width() == 1280 * shot.devicePixelRatio()
        assert_not_blank(shot.toImage())
        assert annotating.bar.tools["read"].text() == tr("annotate.read")
    assert annotating.bar.tools["read"].text() == READ_VI


def test_keys_and_a_mouse_double_click_zoom_too(
    reader: Reader, colour_pdf: Path, run_async: Run, qtbot: QtBot
) -> None:
    run_async(reader.controller.open(colour_pdf, "Colours"))
    view = reader.view

    def key(sequence: str) -> None:
        in_loop(run_async, lambda: QTest.keySequence(view, QKeySequence(sequence)))

    key("Ctrl++")
    assert math.isclose(reader.controller.zoom, ZOOM_KEY_STEP)
    assert math.isclose(view.zoom, ZOOM_KEY_STEP)
    key("Ctrl+-")
    key("Ctrl+-")  # below the fit width, down to the whole page
    assert math.isclose(view.zoom, 1 / ZOOM_KEY_STEP)
    in_loop(run_async, lambda: reader.controller.set_fit_mode("width"))

    layer = view.annotation_layer
    at = QPoint(300, 200)
    before = fraction_at(reader, QPointF(at))
    on_layer = layer.mapFrom(view.page_area, at)
    in_loop(
        run_async,
        lambda: QTest.mouseDClick(
            layer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, on_layer
        ),
    )
    assert view.zoom == 2.0 == reader.controller.zoom
    after = fraction_at(reader, QPointF(at))
    pixel = 1 / view.page_rect.width()
    assert all(abs(a - b) < 2 * pixel for a, b in zip(after, before, strict=True))
