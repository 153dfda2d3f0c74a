"""Wires one open document to its DocumentView: which page, how large, what to render next.

The controller never touches PyMuPDF: pages come from a PageRenderer (a worker process)
awaited on the running qasync loop, so the GUI thread only converts finished pixels.
A newer page request always supersedes older ones: the page on screen is the last one
asked for, whatever order the renders finish in, and the renderer is told at once that
the older ones are not wanted (cancelling the awaiting task gives its job up).

A page that has not come after ``slow_page_s`` (a plan with many thousands of paths)
is shown as a placeholder saying it is still being drawn: its thumbnail if one is
cached, else a blank sheet, then a low-resolution render as soon as that is done (much
quicker for scans and most drawings), and the real page when it lands.

Zoom is a factor on the fit mode's width, from the fit-page size to MAX_ZOOM times the fit
mode's. It stays when the page turns (each page at the same factor of its own fit size)
and is reset by choosing a fit mode or opening another document. A zoom change scales the
pixels on screen at once and asks for a sharp render after the same debounce as a resize.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from PySide6.QtCore import QObject, QTimer, Signal

from tablet_client.i18n import follow_language, tr
from tablet_client.render import DocumentLayout, PageRenderer, RenderedPage, RenderError
from tablet_client.views.document_view import MAX_ZOOM, DocumentView, PageScale, to_qimage

__all__ = ["DocumentController", "FitMode"]

FitMode = Literal["width", "page"]
FIT_MODES: tuple[FitMode, ...] = ("width", "page")

THUMBNAIL_WIDTH = 100  # logical px; rendered at the device pixel ratio
THUMBNAILS_AROUND_CURRENT = 10  # pages either side rendered before the visible strip
RESIZE_DEBOUNCE_MS = 80  # also after a pinch: the sharp render waits for the fingers to settle
# Device px of one rendered page at most (48 MB of RGB; ~50-70 ms on the GUI thread to
# take in, under the 100 ms stall budget): a 4x A4 page on a 10" screen would be 36 Mpx,
# so beyond ~2.6x it is drawn scaled up from the largest render.
MAX_PAGE_PIXELS = 16_000_000
MAX_RENDER_WIDTH = 8192  # device px; the renderer's own limit
SLOW_PAGE_S = 1.5  # a page not drawn by then shows a placeholder (and a preview)
PREVIEW_DIVISOR = 6  # a preview is a sixth of the page's width: 1/36 of its pixels
MIN_PREVIEW_WIDTH = 64  # device px


class DocumentController(QObject):
    """State of the document being read, and the rendering it needs."""

    page_shown = Signal(int)  # zero-based index, emitted once that page's image is on screen
    page_changed = Signal(int)  # zero-based index, emitted as soon as a page is asked for

    def __init__(
        self,
        view: DocumentView,
        renderer: PageRenderer,
        parent: QObject | None = None,
        *,
        slow_page_s: float = SLOW_PAGE_S,
    ) -> None:
        super().__init__(parent)
        self._view = view
        self._renderer = renderer
        self._path: Path | None = None
        self._layout: DocumentLayout | None = None
        self._current = 0
        self._fit_mode: FitMode = "width"
        self._zoom = 1.0  # times the fit mode's size; clamped per page to its zoom range
        self._request = 0  # bumped by every page request; only the latest may reach the screen
        self._opening = 0  # bumped by every open(); a superseded open gives up
        self._on_screen: tuple[int, int] | None = None  # (page index, width px)
        self._error: str | None = None
        self._page_task: asyncio.Task[None] | None = None
        self._page_task_for: tuple[int, int] | None = None  # (page index, width px)
        self._thumbnail_task: asyncio.Task[None] | None = None
        self._preview_task: asyncio.Task[None] | None = None
        self._thumbnails_done: set[int] = set()
        self._drawing: int | None = None  # the page shown as "still drawing"
        self._prefetching: asyncio.Handle | None = None  # the neighbours, after the paint

        self._slow_timer = QTimer(self)
        self._slow_timer.setSingleShot(True)
        self._slow_timer.setInterval(round(slow_page_s * 1000))
        self._slow_timer.timeout.connect(self._page_is_slow)
        view.destroyed.connect(self._slow_timer.stop)

        self._resize_timer = QTimer(self)
        self._resize_timer.setSingleShot(True)
        self._resize_timer.setInterval(RESIZE_DEBOUNCE_MS)
        self._resize_timer.timeout.connect(self._rerender_if_resized)
        view.destroyed.connect(self._resize_timer.stop)  # the window may go first

        view.set_fit_mode(self._fit_mode)
        view.next_requested.connect(self.next_page)
        view.previous_requested.connect(self.previous_page)
        view.first_requested.connect(lambda: self.go_to(0))
        view.last_requested.connect(lambda: self.go_to(self.page_count - 1))
        view.page_requested.connect(self.go_to)
        view.fit_mode_changed.connect(self.set_fit_mode)
        view.zoom_changed.connect(self.set_zoom)
        view.viewport_resized.connect(self._resize_timer.start)
        view.thumbnails_scrolled.connect(self._fill_thumbnails_soon)
        self._unsubscribe_language = follow_language(view, lambda _code: self._retranslate())

    # public state

    @property
    def current_page(self) -> int:
        """Zero-based index of the page asked for last (shown, or about to be)."""
        return self._current

    @property
    def page_count(self) -> int:
        return self._layout.page_count if self._layout is not None else 0

    @property
    def fit_mode(self) -> FitMode:
        return self._fit_mode

    @property
    def zoom(self) -> float:
        """Times the fit mode's size, as asked for (each page clamps it to its range)."""
        return self._zoom

    @property
    def path(self) -> Path | None:
        return self._path

    # commands

    async def open(
        self, path: Path, title: str, page: int = 0, *, key: bytes | None = None
    ) -> None:
        """Open ``path`` at ``page`` (clamped); returns once it is shown or has failed.
        ``key``: a confidential document, sealed with it (marked so in the view).

        A document that cannot be shown puts the reason in the view; nothing is raised.
        """
        self._stop_tasks()
        self._opening += 1
        opening = self._opening
        if path != self._path:
            self._zoom = 1.0  # another document opens at the fit size
        self._path, self._layout, self._current = path, None, 0
        self._on_screen, self._error = None, None
        self._thumbnails_done.clear()
        self._view.set_title(title)
        self._view.set_confidential(key is not None)
        self._view.set_thumbnail_count(0)
        self._view.set_page_label(0, 0)
        try:
            layout = await self._renderer.open(path, key=key)
        except RenderError as exc:
            if opening == self._opening:
                self._show_error(str(exc))
            return
        if opening != self._opening:
            return
        self._layout = layout
        self._view.set_thumbnail_count(layout.page_count)
        self._select(min(max(page, 0), layout.page_count - 1))
        if self._page_task is not None:
            await asyncio.wait([self._page_task])

    def go_to(self, index: int) -> None:
        """Show page ``index`` (zero-based, clamped to the document)."""
        if self._layout is None:
            return
        self._select(min(max(index, 0), self._layout.page_count - 1))

    def next_page(self) -> None:
        self.go_to(self._current + 1)

    def previous_page(self) -> None:
        self.go_to(self._current - 1)

    def set_fit_mode(self, mode: str) -> None:
        """Fit the page's width or the whole page to the screen; resets the zoom."""
        if mode not in FIT_MODES:
            raise ValueError(f"fit mode must be one of {', '.join(FIT_MODES)}, not {mode!r}")
        self._fit_mode = mode
        self._zoom = 1.0
        self._view.set_fit_mode(mode)
        if self._layout is not None:
            if self._on_screen is not None:
                self._view.set_page_scale(self._page_scale(self._current), to_top=True)
            self._request_page()

    def set_zoom(self, zoom: float) -> None:
        """Zoom to ``zoom`` times the fit size (clamped to the page's range): the page on
        screen is scaled now and rendered sharp after the debounce."""
        if not math.isfinite(zoom) or zoom <= 0:
            raise ValueError(f"zoom must be a positive number, not {zoom!r}")
        if self._layout is not None:
            low, high = self._zoom_range(self._current)
            zoom = min(max(zoom, low), high)
        self._zoom = zoom
        if self._layout is not None and self._on_screen is not None:
            self._view.set_page_scale(self._page_scale(self._current))
        if self._layout is not None:
            self._resize_timer.start()

    def put_away(self, reason: str) -> None:
        """Take the document off the screen (a confidential one was wiped): its pages
        and key leave the renderer, and the view says why."""
        path = self._path
        self._stop_tasks()
        self._opening += 1
        self._path, self._layout, self._current = None, None, 0
        self._on_screen = None
        self._thumbnails_done.clear()
        if path is not None:
            self._renderer.forget(path)
        self._view.set_thumbnail_count(0)
        self._view.set_page_label(0, 0)
        self._view.set_confidential(False)
        self._view.clear_page()
        self._error = None
        self._view.show_error(reason)

    def close(self) -> None:
        """Stop rendering for this document and detach from language changes."""
        self._stop_tasks()
        self._resize_timer.stop()
        self._unsubscribe_language()

    # rendering

    def _select(self, index: int) -> None:
        assert self._layout is not None
        self._current = index
        self._view.set_page_label(index + 1, self._layout.page_count)
        self._view.set_current_thumbnail(index)
        self._request_page()
        self._fill_thumbnails_soon()
        self.page_changed.emit(index)

    def _request_page(self) -> None:
        """Ask for the current page at the current size; supersedes every earlier request."""
        assert self._path is not None
        index, width_px = self._current, self._target_width(self._current)
        if (
            self._page_task is not None
            and not self._page_task.done()
            and self._page_task_for == (index, width_px)
        ):
            return  # already on its way: asking again must not give the render up
        self._request += 1
        self._stop_page_task()
        cached = self._renderer.cached(self._path, index, width_px)
        if cached is not None:
            self._put_on_screen(cached, width_px)
            return
        self._page_task = asyncio.ensure_future(self._render_page(self._request, index, width_px))
        self._page_task_for = (index, width_px)
        if self._on_screen is None or self._on_screen[0] != index:
            self._slow_timer.start()  # (a sharper render of the page on screen needs none)

    def _stop_page_task(self) -> None:
        """Give up the page (and preview) being rendered: the renderer drops the job, or
        replaces its worker if it has drawn for long and nobody else wants it."""
        self._slow_timer.stop()
        for task in (self._page_task, self._preview_task):
            if task is not None:
                task.cancel()
        self._page_task = self._preview_task = None

    async def _render_page(self, request: int, index: int, width_px: int) -> None:
        assert self._path is not None
        try:
            page = await self._renderer.render(self._path, index, width_px)
        except RenderError as exc:
            if request == self._request:
                self._show_error(str(exc))
            return
        if request == self._request:
            self._put_on_screen(page, width_px)

    def _put_on_screen(self, page: RenderedPage, width_px: int) -> None:
        assert self._path is not None and self._layout is not None
        self._slow_timer.stop()
        if self._preview_task is not None:
            self._preview_task.cancel()
            self._preview_task = None
        self._error = None
        same_page = (
            self._on_screen is not None and self._on_screen[0] == page.page_index
        ) or self._drawing == page.page_index
        self._drawing = None
        self._view.show_page(
            to_qimage(page, self._view.devicePixelRatioF()),
            self._page_scale(page.page_index),
            keep_position=same_page,
        )
        self._on_screen = (page.page_index, width_px)
        if width_px != self._target_width(page.page_index):
            self._resize_timer.start()  # the zoom (or the screen) changed while it rendered
        self.page_shown.emit(page.page_index)
        # The neighbours once the page is painted (a zero timer, after the paint Qt has
        # posted): handing a job to a worker wakes the executor's threads (they take the
        # GIL) and a worker (it takes a CPU) just when the GUI thread has a frame to draw.
        if self._prefetching is not None:
            self._prefetching.cancel()
        # (on the loop the renderer's requests are made on: it need not be running now)
        self._prefetching = asyncio.get_event_loop().call_soon(self._prefetch_neighbours)

    def _prefetch_neighbours(self) -> None:
        self._prefetching = None
        if self._path is None or self._layout is None or self._on_screen is None:
            return
        index = self._on_screen[0]
        for neighbour in (index + 1, index - 1):
            if 0 <= neighbour < self._layout.page_count:
                self._renderer.prefetch(self._path, neighbour, self._target_width(neighbour))

    def _page_is_slow(self) -> None:
        """The page asked for has not come within the time limit: a placeholder (its
        thumbnail, if cached) now, and a low-resolution preview when that is drawn."""
        if self._path is None or self._layout is None:
            return
        if self._page_task is None or self._page_task.done():
            return  # it came, or failed (and says so), as the timer fired
        index = self._current
        thumbnail = self._renderer.cached(self._path, index, self._thumbnail_width())
        self._show_drawing(index, thumbnail)
        if thumbnail is None:
            width_px = max(MIN_PREVIEW_WIDTH, self._target_width(index) // PREVIEW_DIVISOR)
            self._preview_task = asyncio.ensure_future(
                self._render_preview(self._request, index, width_px)
            )

    async def _render_preview(self, request: int, index: int, width_px: int) -> None:
        assert self._path is not None
        try:
            preview = await self._renderer.render(self._path, index, width_px)
        except RenderError:
            return  # the page's own render reports it
        if request == self._request and self._drawing == index:
            self._show_drawing(index, preview)

    def _show_drawing(self, index: int, preview: RenderedPage | None) -> None:
        assert self._layout is not None
        self._view.show_placeholder(
            tr("viewer.still_drawing", page=index + 1),
            self._page_scale(index),
            self._layout.page_sizes[index],
            None if preview is None else to_qimage(preview, self._view.devicePixelRatioF()),
            keep_position=self._drawing == index,
        )
        self._drawing = index
        self._on_screen = None

    def _thumbnail_width(self) -> int:
        return max(1, round(THUMBNAIL_WIDTH * self._view.devicePixelRatioF()))

    def _fit_width_px(self, index: int, mode: FitMode | None = None) -> int:
        """Device pixels wide the page must be to fit the page area in the fit mode."""
        assert self._layout is not None
        mode = mode or self._fit_mode
        area = self._view.page_area_size(mode)
        width = float(area.width())
        if mode == "page":
            page_width, page_height = self._layout.page_sizes[index]
            width = min(width, area.height() * page_width / page_height)
        # Floor: MuPDF rounds the page's pixel box outward, so rounding up could overflow.
        return max(1, math.floor(width * self._view.devicePixelRatioF()))

    def _zoom_range(self, index: int) -> tuple[float, float]:
        """The page may shrink to fit the whole page, and grow to MAX_ZOOM times the fit."""
        fit_page = self._fit_width_px(index, "page")
        return min(1.0, fit_page / self._fit_width_px(index)), MAX_ZOOM

    def _page_scale(self, index: int) -> PageScale:
        low, high = self._zoom_range(index)
        fit = self._fit_width_px(index) / self._view.devicePixelRatioF()
        return PageScale(fit, min(max(self._zoom, low), high), low, high)

    def _target_width(self, index: int) -> int:
        """Device pixels wide to render the page: its fit width times the zoom, within
        the renderer's limits (beyond them it is shown scaled up)."""
        assert self._layout is not None
        scale = self._page_scale(index)
        width = math.floor(self._fit_width_px(index) * scale.zoom + 1e-6)
        page_width, page_height = self._layout.page_sizes[index]
        largest = math.floor(math.sqrt(MAX_PAGE_PIXELS * page_width / page_height))
        return max(1, min(width, largest, MAX_RENDER_WIDTH))

    def _rerender_if_resized(self) -> None:
        """Render the page on screen again at the size now wanted (after a resize or a
        zoom); a page still on its way checks its size when it lands."""
        if self._layout is None or self._on_screen is None:
            return
        index, width_px = self._on_screen
        if index == self._current and width_px != self._target_width(index):
            self._request_page()

    # thumbnails

    def _fill_thumbnails_soon(self) -> None:
        if self._layout is None:
            return
        if self._thumbnail_task is None or self._thumbnail_task.done():
            self._thumbnail_task = asyncio.ensure_future(self._fill_thumbnails())

    def _wanted_thumbnails(self) -> Iterator[int]:
        """Nearest pages to the current one first, then what the strip shows."""
        count = self.page_count
        yield self._current
        for distance in range(1, THUMBNAILS_AROUND_CURRENT + 1):
            for index in (self._current + distance, self._current - distance):
                if 0 <= index < count:
                    yield index
        yield from self._view.visible_thumbnails()

    async def _fill_thumbnails(self) -> None:
        # One at a time, so a page the reader asks for never queues behind a batch.
        width_px = self._thumbnail_width()
        while self._path is not None:
            path = self._path
            index = next(
                (i for i in self._wanted_thumbnails() if i not in self._thumbnails_done), None
            )
            if index is None:
                return
            try:
                page = await self._renderer.render(path, index, width_px, background=True)
            except RenderError:
                page = None  # the page view reports the error if the reader goes there
            if path != self._path:
                return
            self._thumbnails_done.add(index)
            if page is not None:
                # A copy: the strip keeps a thousand small images, not their mappings.
                image = to_qimage(page, self._view.devicePixelRatioF()).copy()
                self._view.set_thumbnail(index, image)
            await asyncio.sleep(0)  # cached thumbnails return at once: let the UI breathe

    # helpers

    def _stop_tasks(self) -> None:
        self._request += 1
        self._stop_page_task()
        if self._prefetching is not None:
            self._prefetching.cancel()
            self._prefetching = None
        if self._drawing is not None:
            self._view.set_drawing_note(None)
        self._drawing = None
        if self._thumbnail_task is not None:
            self._thumbnail_task.cancel()
        self._thumbnail_task = None

    def _show_error(self, reason: str) -> None:
        self._slow_timer.stop()
        self._drawing = None
        self._error = reason
        self._on_screen = None
        self._view.show_error(tr("viewer.cannot_show", reason=reason))

    def _retranslate(self) -> None:
        self._view.retranslate()
        if self._drawing is not None:
            self._view.set_drawing_note(tr("viewer.still_drawing", page=self._drawing + 1))
        if self._error is not None:
            self._view.show_error(tr("viewer.cannot_show", reason=self._error))
