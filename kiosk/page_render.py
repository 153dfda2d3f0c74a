"""The room display's page rendering: the one kiosk module that uses PyMuPDF.

PyMuPDF holds the GIL while MuPDF draws, so it runs in one worker process started with
"spawn" (as on the tablet); the display's GUI process only receives plain bytes and
never imports PyMuPDF. A page is rendered to fit a box (the page area of the screen),
aspect ratio kept; one page at a time is plenty for a display that follows the chair.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from room_client.confidential import SealedUnreadable, unseal_file
from room_protocol.worker_pool import worker_pool

__all__ = ["PageRenderError", "RenderedPage", "Renderer"]

_MAX_SIDE_PX = 8192  # a larger box is a mistake, not a screen


class PageRenderError(Exception):
    """The page cannot be drawn; the message says why (for IT staff, in English)."""


@dataclass(frozen=True, slots=True)
class RenderedPage:
    width: int  # pixels
    height: int
    stride: int  # bytes per row
    samples: bytes  # RGB888
    page_width: float  # points, rotation applied
    page_height: float
    rotation: tuple[float, float, float, float, float, float]  # unrotated -> shown points


def _mupdf() -> Any:
    """PyMuPDF, imported in the worker only; its own annotations are incomplete."""
    import pymupdf

    return pymupdf


def _render(
    path: str, page_index: int, box_w: int, box_h: int, key: bytes | None = None
) -> RenderedPage:
    """In the worker: render ``page_index`` as large as fits ``box_w`` x ``box_h``.
    ``key``: ``path`` is a sealed confidential copy, opened here in memory only."""
    pymupdf = _mupdf()
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    name = Path(path).name
    try:
        if key is None:
            doc = pymupdf.open(path, filetype="pdf")
        else:
            doc = pymupdf.open(stream=unseal_file(key, Path(path)), filetype="pdf")
    except SealedUnreadable:
        raise PageRenderError(f"{name} cannot be unsealed with this display's key") from None
    except Exception as exc:
        raise PageRenderError(f"{name} is not a readable PDF file ({exc})") from None
    with doc:
        if doc.needs_pass:
            raise PageRenderError(f"{name} is password-protected")
        if not 0 <= page_index < doc.page_count:
            raise PageRenderError(f"{name} has no page {page_index + 1} ({doc.page_count})")
        try:
            page = doc.load_page(page_index)
            rect = page.rect
            scale = min(box_w / rect.width, box_h / rect.height)
            pixmap = page.get_pixmap(
                matrix=pymupdf.Matrix(scale, scale), colorspace=pymupdf.csRGB, alpha=False
            )
            m = page.rotation_matrix
        except Exception as exc:
            raise PageRenderError(f"page {page_index + 1} of {name} cannot be drawn") from exc
        return RenderedPage(
            pixmap.width,
            pixmap.height,
            pixmap.stride,
            bytes(pixmap.samples),
            rect.width,
            rect.height,
            (m.a, m.b, m.c, m.d, m.e, m.f),
        )


class Renderer:
    """Renders pages in a worker process, started on first use."""

    def __init__(self) -> None:
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    async def render(
        self, path: Path, page_index: int, box_w: int, box_h: int, key: bytes | None = None
    ) -> RenderedPage:
        if not (1 <= box_w <= _MAX_SIDE_PX and 1 <= box_h <= _MAX_SIDE_PX):
            raise PageRenderError(f"cannot render into a box of {box_w} x {box_h} pixels")
        if self._pool is None:
            self._pool = worker_pool(1)
        pool = self._pool
        try:
            page: Any = await asyncio.get_running_loop().run_in_executor(
                pool, _render, str(path), page_index, box_w, box_h, key
            )
        except BrokenProcessPool:
            if self._pool is pool:  # MuPDF crashed or ran out of memory: a fresh worker next
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            raise PageRenderError("the page renderer stopped unexpectedly") from None
        assert isinstance(page, RenderedPage)
        return page

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
