"""DocumentView + DocumentController with real PDFs, a real worker and real widgets."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QImage, QPixmap
from PySide6.QtWidgets import QLabel, QListWidget, QToolButton
from pytestqt.qtbot import QtBot

from tablet_client.document_controller import DocumentController
from tablet_client.i18n import set_language, tr
from tablet_client.render import PageRenderer
from tablet_client.views.document_view import THUMBNAIL_ICON, DocumentView, to_qimage
from tests.rooms import timeout
from tests.tablet_client.conftest import until

PAGE_COLOURS = (
    (200, 30, 30),
    (30, 150, 40),
    (30, 60, 200),
    (220, 160, 20),
    (140, 40, 160),
)  # same as conftest.PAGE_COLOURS: the colour band on top of each test page
SHOTS = Path("/tmp/hemicycle-shots")

Run = Callable[[Coroutine[Any, Any, Any]], Any]
WaitUntil = Callable[..., Coroutine[Any, Any, float]]


class Reader:
    """A shown DocumentView with its controller, and what it has put on screen."""

    def __init__(self, qtbot: QtBot, renderer: PageRenderer) -> None:
        self.view = DocumentView()
        qtbot.addWidget(self.view)
        self.view.resize(1280, 800)
        self.controller = DocumentController(self.view, renderer)
        self.shown: list[int] = []
        self.controller.page_shown.connect(self.shown.append)
        self.view.show()
        qtbot.waitExposed(self.view)
        self.view.setFocus()

    def button(self, name: str) -> QToolButton:
        button = self.view.findChild(QToolButton, name)
        assert button is not None, name
        return button

    def label(self, name: str) -> QLabel:
        label = self.view.findChild(QLabel, name)
        assert label is not None, name
        return label

    @property
    def thumbnails(self) -> QListWidget:
        strip = self.view.findChild(QListWidget, "thumbnails")
        assert strip is not None
        return strip

    def page_colour(self) -> tuple[int, int, int]:
        """Colour near the top of the page on screen (each test page has its own)."""
        pixmap = self.label("page_image").pixmap()
        image = pixmap.toImage()
        colour = QColor(image.pixel(image.width() // 2, image.height() // 8))
        return colour.red(), colour.green(), colour.blue()


@pytest.fixture
def reader(qtbot: QtBot, qt_renderer: PageRenderer) -> Iterator[Reader]:
    reader = Reader(qtbot, qt_renderer)
    yield reader
    reader.controller.close()


def assert_not_blank(image: QImage, minimum_colours: int = 20) -> None:
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
    }
    assert len(colours) >= minimum_colours, f"only {len(colours)} colours: blank screen?"


def assert_colour(actual: tuple[int, int, int], expected: tuple[int, int, int]) -> None:
    assert all(abs(a - e) <= 6 for a, e in zip(actual, expected, strict=True)), (actual, expected)


def save_shot(reader: Reader, *paths: Path) -> QImage:
    shot = reader.view.grab()
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        assert shot.save(str(path))
    image = shot.toImage()
    assert_not_blank(image)
    return image


def test_opens_on_first_page_with_thumbnails(
    reader: Reader, colour_pdf: Path, run_async: Run, wait_until: WaitUntil, tmp_path: Path
) -> None:
    async def body() -> None:
        await reader.controller.open(colour_pdf, "Motion 12 — budget 2026")
        assert reader.shown == [0]
        assert reader.controller.current_page == 0
        assert reader.controller.page_count == 5
        assert_colour(reader.page_colour(), PAGE_COLOURS[0])
        assert reader.label("page_label").text() == "Page 1 of 5"
        assert reader.label("title").text() == "Motion 12 — budget 2026"
        assert not reader.button("previous").isEnabled()

        def thumbnail_colour(index: int) -> tuple[int, int, int]:
            image = reader.thumbnails.item(index).icon().pixmap(THUMBNAIL_ICON).toImage()
            colour = QColor(image.pixel(image.width() // 2, image.height() // 8))
            return colour.red(), colour.green(), colour.blue()

        def all_thumbnails_drawn() -> bool:
            return all(
                max(abs(a - e) for a, e in zip(thumbnail_colour(i), PAGE_COLOURS[i], strict=True))
                < 12
                for i in range(5)
            )

        assert reader.thumbnails.count() == 5
        await wait_until(all_thumbnails_drawn, "all five thumbnails")
        await asyncio.sleep(0.05)  # let the strip repaint before the screenshot
        save_shot(reader, tmp_path / "fit_width.png", SHOTS / "document_view_fit_width.png")
        reader.controller.set_fit_mode("page")
        await wait_until(lambda: len(reader.shown) == 2, "page fitted")
        await asyncio.sleep(0.05)
        save_shot(reader, tmp_path / "document_view.png", SHOTS / "document_view.png")

    run_async(body())


def test_buttons_and_keys_turn_pages(
    reader: Reader, colour_pdf: Path, run_async: Run, wait_until: WaitUntil, qtbot: QtBot
) -> None:
    async def shows(index: int) -> None:
        await wait_until(
            lambda: reader.shown and reader.shown[-1] == index, f"page {index + 1} shown"
        )
        assert_colour(reader.page_colour(), PAGE_COLOURS[index])
        assert reader.label("page_label").text() == f"Page {index + 1} of 5"

    async def body() -> None:
        await reader.controller.open(colour_pdf, "Colours")
        qtbot.mouseClick(reader.button("next"), Qt.MouseButton.LeftButton)
        await shows(1)
        qtbot.mouseClick(reader.button("next"), Qt.MouseButton.LeftButton)
        await shows(2)
        qtbot.mouseClick(reader.button("previous"), Qt.MouseButton.LeftButton)
        await shows(1)
        qtbot.keyClick(reader.view, Qt.Key.Key_Right)
        await shows(2)
        qtbot.keyClick(reader.view, Qt.Key.Key_Space)
        await shows(3)
        qtbot.keyClick(reader.view, Qt.Key.Key_PageUp)
        await shows(2)
        qtbot.keyClick(reader.view, Qt.Key.Key_End)
        await shows(4)
        assert not reader.button("next").isEnabled()
        qtbot.keyClick(reader.view, Qt.Key.Key_PageDown)  # past the end: stays
        qtbot.keyClick(reader.view, Qt.Key.Key_Home)
        await shows(0)
        qtbot.keyClick(reader.view, Qt.Key.Key_Left)  # before the start: stays
        await asyncio.sleep(0.05)
        assert reader.controller.current_page == 0

    run_async(body())


def test_thumbnail_click_jumps_to_page(
    reader: Reader, colour_pdf: Path, run_async: Run, wait_until: WaitUntil, qtbot: QtBot
) -> None:
    async def body() -> None:
        await reader.controller.open(colour_pdf, "Colours")
        strip = reader.thumbnails
        rect = strip.visualItemRect(strip.item(3))
        qtbot.mouseClick(strip.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        await wait_until(lambda: reader.shown[-1] == 3, "page 4 from its thumbnail")
        assert_colour(reader.page_colour(), PAGE_COLOURS[3])

    run_async(body())


def test_fit_width_and_fit_page(
    reader: Reader, colour_pdf: Path, run_async: Run, wait_until: WaitUntil, qtbot: QtBot
) -> None:
    async def body() -> None:
        await reader.controller.open(colour_pdf, "Colours")
        width_mode = reader.view.displayed_pixmap_size
        area = reader.view.page_area_size("page")
        assert width_mode.width() == reader.view.page_area_size("width").width()
        assert width_mode.height() > area.height()  # an A4 page is taller than the screen

        shown_before = len(reader.shown)
        qtbot.mouseClick(reader.button("fit_page"), Qt.MouseButton.LeftButton)
        await wait_until(lambda: len(reader.shown) > shown_before, "re-render to fit page")
        assert reader.controller.fit_mode == "page"
        page_mode = reader.view.displayed_pixmap_size
        assert page_mode.height() <= area.height()
        assert page_mode.height() >= area.height() - 2
        assert page_mode.width() < width_mode.width()
        assert reader.button("fit_page").isChecked()
        assert not reader.button("fit_width").isChecked()

        shown_before = len(reader.shown)
        qtbot.mouseClick(reader.button("fit_width"), Qt.MouseButton.LeftButton)
        await wait_until(lambda: len(reader.shown) > shown_before, "back to fit width")
        assert reader.view.displayed_pixmap_size == width_mode

    run_async(body())


def test_resize_re_renders_after_debounce(
    reader: Reader, colour_pdf: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    async def body() -> None:
        await reader.controller.open(colour_pdf, "Colours")
        before = reader.view.displayed_pixmap_size
        reader.view.resize(900, 700)
        await wait_until(
            lambda: reader.view.displayed_pixmap_size.width() < before.width(), "resized page"
        )
        expected = reader.view.page_area_size("width").width()
        assert reader.view.displayed_pixmap_size.width() == expected
        assert reader.shown[-1] == 0

    run_async(body())


def test_newest_request_wins(
    reader: Reader, colour_pdf: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    async def body() -> None:
        await reader.controller.open(colour_pdf, "Colours")
        reader.controller.set_fit_mode("page")  # a new size: nothing is cached for it
        reader.controller.go_to(1)
        reader.controller.go_to(2)
        reader.controller.go_to(4)
        await wait_until(lambda: reader.shown[-1] == 4, "page 5")
        await asyncio.sleep(0.3)  # any superseded render would have landed by now
        assert reader.shown[-1] == 4
        assert 1 not in reader.shown[reader.shown.index(4) :]
        assert reader.controller.current_page == 4
        assert_colour(reader.page_colour(), PAGE_COLOURS[4])
        assert reader.label("page_label").text() == "Page 5 of 5"

    run_async(body())


def test_corrupt_pdf_shows_error(
    reader: Reader, corrupt_pdf: Path, run_async: Run, tmp_path: Path
) -> None:
    async def body() -> None:
        await reader.controller.open(corrupt_pdf, "Broken annex")
        error = reader.label("error")
        assert error.isVisible()
        assert error.text().startswith("This document cannot be shown: ")
        assert "corrupt.pdf is not a readable PDF file" in error.text()
        assert reader.controller.page_count == 0
        assert reader.shown == []
        reader.controller.next_page()  # nothing to turn: no crash
        save_shot(reader, tmp_path / "error.png", SHOTS / "document_view_error.png")

    run_async(body())


def test_encrypted_pdf_shows_error_and_retranslates(
    reader: Reader, encrypted_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await reader.controller.open(encrypted_pdf, "Confidential annex")
        assert "encrypted.pdf is password-protected" in reader.label("error").text()
        set_language("vi")
        assert reader.label("error").text().startswith("Không thể hiển thị tài liệu này: ")

    run_async(body())


def test_vietnamese_reader(
    reader: Reader, colour_pdf: Path, run_async: Run, wait_until: WaitUntil, tmp_path: Path
) -> None:
    async def body() -> None:
        set_language("vi")
        reader.controller.set_fit_mode("page")
        await reader.controller.open(colour_pdf, "Nghị quyết số 12 — ngân sách năm 2026")
        reader.controller.go_to(2)
        await wait_until(lambda: reader.shown[-1] == 2, "page 3")
        assert reader.label("page_label").text() == "Trang 3/5"
        assert reader.button("back").text() == tr("viewer.back_to_agenda")
        assert reader.button("fit_width").text() == "Vừa bề rộng"
        await wait_until(lambda: reader.thumbnails.count() == 5, "thumbnail strip")
        await asyncio.sleep(0.3)  # thumbnails drawn
        save_shot(reader, tmp_path / "document_view_vi.png", SHOTS / "document_view_vi.png")
        set_language("en")
        assert reader.label("page_label").text() == "Page 3 of 5"
        assert reader.button("next").text() == "Next page"

    run_async(body())


def test_long_document_timings_and_responsive_loop(
    reader: Reader, long_pdf: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    """Opens the 1,000-page pack at 1280x800 while a ticker measures loop stalls."""

    async def body() -> None:
        stalls: list[float] = []
        ticking = True

        async def ticker() -> None:
            last = time.perf_counter()
            while ticking:
                await asyncio.sleep(0.005)
                now = time.perf_counter()
                stalls.append(now - last)
                last = now

        tick = asyncio.ensure_future(ticker())
        start = time.perf_counter()
        await reader.controller.open(long_pdf, "Congress pack")
        first_page = time.perf_counter() - start
        assert reader.controller.page_count == 1000

        flips = []
        for index in range(1, 11):
            flip_start = time.perf_counter()
            reader.controller.go_to(index * 37)  # far apart: never prefetched
            await wait_until(lambda index=index: reader.shown[-1] == index * 37, "flip")
            flips.append(time.perf_counter() - flip_start)
        next_flips = []
        for _ in range(5):
            await asyncio.sleep(0.1)  # the reader looks at the page; prefetch runs
            flip_start = time.perf_counter()
            expected = reader.controller.current_page + 1
            reader.controller.next_page()
            await wait_until(lambda expected=expected: reader.shown[-1] == expected, "next")
            next_flips.append(time.perf_counter() - flip_start)
        ticking = False
        await tick
        size = reader.view.displayed_pixmap_size
        flips.sort()
        next_flips.sort()
        print(
            f"\n1,000-page PDF in the reader ({size.width()}x{size.height()} page): "
            f"first page visible {first_page * 1000:.0f} ms; "
            f"uncached jump median {flips[len(flips) // 2] * 1000:.0f} ms; "
            f"next page after prefetch median {next_flips[len(next_flips) // 2] * 1000:.1f} ms; "
            f"longest loop stall {max(stalls) * 1000:.0f} ms"
        )
        assert first_page < timeout(5)
        # design target is 0.1 s; generous for shared CI machines
        assert max(stalls) < timeout(0.5)

    run_async(body())


def test_page_area_size_is_sane(reader: Reader) -> None:
    area = reader.view.page_area_size("page")
    assert QSize(1000, 500).width() < area.width() < 1280
    assert 500 < area.height() < 800


def test_a_reader_whose_window_is_gone_ignores_a_language_switch(
    qtbot: QtBot, qt_renderer: PageRenderer
) -> None:
    """A window closed and deleted before its controller was stopped (a tablet shut down
    mid-start, a test that failed) leaves no listener that touches deleted widgets."""
    view = DocumentView()
    controller = DocumentController(view, qt_renderer)
    gone: list[bool] = []
    view.destroyed.connect(lambda: gone.append(True))
    view.deleteLater()
    qtbot.waitUntil(lambda: bool(gone), timeout=int(timeout(5) * 1000))
    set_language("vi")  # raised "Internal C++ object … already deleted" before
    set_language("en")
    controller.close()


def test_a_page_on_screen_keeps_its_buffer_from_reuse(
    qtbot: QtBot, run_async: Run, colour_pdf: Path
) -> None:
    """to_qimage wraps the renderer's page buffer without a copy: a pixmap made from it,
    alone (page and image let go), keeps the buffer from being drawn over; once the
    pixmap goes, the buffer is reused."""
    own = set(Path("/dev/shm").glob(f"hemicycle-page-{os.getpid()}-*"))

    def buffers() -> set[Path]:
        return set(Path("/dev/shm").glob(f"hemicycle-page-{os.getpid()}-*")) - own

    def band(pixmap: QPixmap) -> tuple[int, int, int]:
        colour = QColor(pixmap.toImage().pixel(20, 20))
        return colour.red(), colour.green(), colour.blue()

    async def body() -> None:
        renderer = PageRenderer(workers=1, cache_bytes=1)  # nothing cached: pages reuse
        try:
            await renderer.open(colour_pdf)
            page = await renderer.render(colour_pdf, 0, 400)
            image = to_qimage(page)
            pixmap = QPixmap.fromImage(image)  # as the reader shows a page
            del page, image
            await asyncio.sleep(0)
            gc.collect()
            assert_colour(band(pixmap), PAGE_COLOURS[0])
            [held] = buffers()
            other = await renderer.render(colour_pdf, 2, 400)
            assert len(buffers()) == 2  # drawn into a new buffer, not the one on screen
            assert_colour(band(pixmap), PAGE_COLOURS[0])  # still page 1's pixels
            del other, pixmap
            await asyncio.sleep(0)
            gc.collect()
            third = await renderer.render(colour_pdf, 3, 400)
            assert len(buffers()) == 2 and held in buffers()  # let go: free for reuse
            assert_colour(band(QPixmap.fromImage(to_qimage(third))), PAGE_COLOURS[3])
        finally:
            await renderer.close()

    run_async(body())
    gc.collect()
    assert buffers() == set()


def test_a_flip_prefetches_the_neighbours_only_after_its_frame(
    qtbot: QtBot, run_async: Run, colour_pdf: Path
) -> None:
    """Turning to a prefetched page shows it at once and hands nothing to a worker on the
    way (the neighbours' prefetch waits for the loop, after the paint Qt has posted);
    then the next page is prefetched."""

    async def body() -> None:
        renderer = PageRenderer(workers=2)
        reader = Reader(qtbot, renderer)
        try:
            await reader.controller.open(colour_pdf, "Colours")
            width = round(
                reader.view.displayed_pixmap_size.width() * reader.view.devicePixelRatioF()
            )
            await until(lambda: renderer.cached(colour_pdf, 1, width) is not None, "page 2")
            settled = -1
            while renderer.stats.worker_renders != settled:  # thumbnails drawn, all idle
                settled = renderer.stats.worker_renders
                await asyncio.sleep(0.5)
            reader.shown.clear()
            reader.controller.next_page()
            assert reader.shown == [1]  # shown from the cache, at once
            assert renderer.stats.worker_renders == settled  # nothing dispatched yet
            await until(lambda: renderer.cached(colour_pdf, 2, width) is not None, "page 3")
            assert renderer.stats.worker_renders > settled
        finally:
            reader.controller.close()
            await renderer.close()

    run_async(body())
