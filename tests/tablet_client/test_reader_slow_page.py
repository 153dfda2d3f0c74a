"""The reader with a page that takes seconds to draw: a placeholder (and a preview) past
the time limit, then the real page; leaving the page gives its render up. Real widgets
offscreen, a real renderer with two worker processes, real PDFs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from tablet_client.document_controller import PREVIEW_DIVISOR, THUMBNAIL_WIDTH, DocumentController
from tablet_client.i18n import set_language
from tablet_client.render import PageRenderer
from tablet_client.views.document_view import DocumentView
from tests.rooms import timeout

Run = Callable[[Coroutine[Any, Any, Any]], Any]
WaitUntil = Callable[..., Coroutine[Any, Any, float]]
SLOW_PAGE_S = 0.25
SHOTS = Path("/tmp/hemicycle-shots")


@pytest.fixture(scope="module")
def renderer(qasync_loop: qasync.QEventLoop) -> Iterator[PageRenderer]:
    renderer = PageRenderer(cache_bytes=128 * 1024 * 1024, workers=2)
    renderer.start()
    yield renderer
    qasync_loop.run_until_complete(renderer.close())


class Reader:
    def __init__(self, qtbot: QtBot, renderer: PageRenderer) -> None:
        self.view = DocumentView()
        qtbot.addWidget(self.view)
        self.view.resize(800, 600)  # small: the plan takes a second or two, not five
        self.controller = DocumentController(self.view, renderer, slow_page_s=SLOW_PAGE_S)
        self.shown: list[int] = []
        self.controller.page_shown.connect(self.shown.append)
        self.view.show()
        qtbot.waitExposed(self.view)

    @property
    def note(self) -> str | None:
        return self.view.drawing_note

    def note_label(self) -> QLabel:
        label = self.view.findChild(QLabel, "still_drawing")
        assert label is not None
        return label

    def shown_width(self) -> float:
        return float(self.view.displayed_pixmap_size.width())


@pytest.fixture
def reader(qtbot: QtBot, renderer: PageRenderer, heavy_pdf: Path) -> Iterator[Reader]:
    renderer.forget(heavy_pdf)  # every test draws the plan afresh
    reader = Reader(qtbot, renderer)
    yield reader
    reader.controller.close()


def test_a_slow_page_shows_a_placeholder_then_the_real_page(
    reader: Reader, heavy_pdf: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)

    async def body() -> None:
        opening = asyncio.ensure_future(reader.controller.open(heavy_pdf, "Site plan"))
        await wait_until(lambda: reader.note is not None, "the still-drawing note")
        assert reader.note == "Still drawing page 1…"
        assert reader.shown == [] and not opening.done()
        assert reader.note_label().isVisible()
        placeholder_width = reader.shown_width()  # a blank sheet or a preview, scaled
        assert 0 < placeholder_width < reader.view.page_area_size("width").width() / 2
        assert reader.view.grab().save(str(SHOTS / "reader-still-drawing-en.png"))
        set_language("vi")
        assert reader.note == "Đang vẽ trang 1…"
        assert reader.view.grab().save(str(SHOTS / "reader-still-drawing-vi.png"))
        set_language("en")
        await asyncio.wait_for(opening, timeout(30))
        assert reader.shown == [0] and reader.note is None
        assert not reader.note_label().isVisible()
        assert abs(reader.shown_width() - reader.view.page_area_size("width").width()) <= 1

    run_async(body())


def test_a_cached_thumbnail_is_the_preview_at_once(
    reader: Reader,
    renderer: PageRenderer,
    heavy_pdf: Path,
    run_async: Run,
    wait_until: WaitUntil,
) -> None:
    async def body() -> None:
        ratio = reader.view.devicePixelRatioF()
        thumbnail = await renderer.render(heavy_pdf, 0, round(THUMBNAIL_WIDTH * ratio))
        opening = asyncio.ensure_future(reader.controller.open(heavy_pdf, "Site plan"))
        await wait_until(lambda: reader.note is not None, "the still-drawing note")
        # The thumbnail's pixels, scaled up to the page's size on screen.
        assert reader.view.displayed_pixmap_size.width() == round(thumbnail.width / ratio)
        image = reader.view.findChild(QLabel, "page_image").pixmap().toImage()  # type: ignore[union-attr]
        colours = {QColor(image.pixel(x, y)).name() for x in range(0, 100, 5) for y in range(140)}
        assert len(colours) > 2  # lines on paper, not a blank sheet
        opening.cancel()
        reader.controller.close()

    run_async(body())


def test_leaving_a_slow_page_gives_its_render_up(
    qtbot: QtBot,
    qasync_loop: qasync.QEventLoop,
    heavy_pdf: Path,
    run_async: Run,
    wait_until: WaitUntil,
) -> None:
    # A render given up after 0.1 s of drawing has its worker replaced. The plan is left
    # once the reader says it is still drawing (past SLOW_PAGE_S), so it has drawn longer
    # than that however fast this machine draws it (with the default second, a fast
    # machine finished the plan into the cache first and no worker was replaced).
    renderer = PageRenderer(cache_bytes=128 * 1024 * 1024, workers=2, abandon_after_s=0.1)
    renderer.start()
    reader = Reader(qtbot, renderer)

    async def body() -> None:
        opening = asyncio.ensure_future(reader.controller.open(heavy_pdf, "Site plan", page=0))
        await wait_until(lambda: reader.note is not None, "the still-drawing note")
        assert reader.controller.page_count == 2
        reader.controller.next_page()
        await wait_until(lambda: renderer.stats.workers_replaced == 1, "the plan's worker replaced")
        await wait_until(lambda: reader.shown == [1], "page 2")
        await opening
        assert reader.note is None
        await asyncio.sleep(0.3)
        assert reader.shown == [1]  # the plan never comes back over page 2

    try:
        run_async(body())
    finally:
        reader.controller.close()
        qasync_loop.run_until_complete(renderer.close())


def test_a_low_resolution_preview_comes_before_the_page(
    reader: Reader,
    heavy_pdf: Path,
    qasync_loop: qasync.QEventLoop,
    wait_until: WaitUntil,
) -> None:
    """Zoomed to 4x, the plan is drawn ~3,000 px wide (many seconds); a preview — its
    thumbnail if the strip has drawn it by then, else a render a sixth as wide — comes
    long before and is shown under the note."""

    async def body() -> None:
        await reader.controller.open(heavy_pdf, "Site plan", page=1)  # the light page
        reader.controller.set_zoom(4.0)
        wide = reader.view.page_area_size("width").width() * 4
        await wait_until(lambda: reader.shown_width() >= wide - 2, "the sharp 4x page")
        reader.controller.go_to(0)
        await wait_until(lambda: reader.note is not None, "the still-drawing note")
        previews = (THUMBNAIL_WIDTH, wide // PREVIEW_DIVISOR)  # device pixel ratio 1

        def preview_shown() -> bool:
            return any(abs(reader.shown_width() - width) <= 2 for width in previews)

        await wait_until(preview_shown, "a preview", 20)
        assert reader.note == "Still drawing page 1…" and reader.shown == [1, 1]
        reader.controller.go_to(1)  # leave before the plan comes: it is given up
        await wait_until(lambda: reader.note is None and reader.shown[-1] == 1, "page 2")

    qasync_loop.run_until_complete(asyncio.wait_for(body(), timeout(40)))
