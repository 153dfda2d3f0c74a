"""PDF page rendering for the tablet: the one module that uses PyMuPDF.

PyMuPDF holds the GIL while MuPDF works, so every call into it runs in a worker process
started with "spawn"; PyMuPDF is imported inside the workers, never in the caller, and
this module does not import Qt.

There are several workers (``default_workers()``: one per CPU, at least 2, at most 4),
each a single-process executor of its own, so one worker stuck in MuPDF on a slow page
(a plan with 100,000 paths) holds up nobody else, and can be killed and replaced alone.
Requests are dispatched by priority: a page someone is waiting for goes before
prefetches and thumbnails, a job is handed to a worker only when that worker is idle,
and background work never takes the last idle worker, so a new page never queues behind
a backlog. A render nobody waits for any more (the reader moved on) is dropped from the
queue; once started it may finish into the cache within ``abandon_after_s`` of its start,
and past that, or past ``time_limit_s`` with nobody ever waiting (a slow prefetch), its
worker is killed and replaced: MuPDF cannot be interrupted from outside, and the page
would hold a CPU.

A page's pixels are never copied: the worker draws straight into a page buffer, a file
on tmpfs (/dev/shm) named by the caller, in QImage's Format_RGB32 layout (B, G, R, 0xFF
on little-endian machines); the caller keeps each buffer mapped for the buffer's
lifetime, and a view of that mapping is the page's ``samples``, which a QImage wraps in
place (PySide keeps the view, and so the mapping, alive as long as Qt uses the pixels).
Buffers are reused once no page, view or image holds them any more (a new one costs
more to allocate than a page of text costs to draw), and a reused one is cleared only
where its last page drew (clearing a whole 20 MB buffer costs more than drawing text);
workers keep the buffers they draw into mapped too. Finished pages are kept
in an LRU bounded by bytes. Documents are content-addressed on the tablet, so a path's
bytes do not change while it is cached; ``open`` still drops cached pages of a path whose
file changed.

A confidential document is a sealed file opened with its key (``open(path, key=...)``):
the worker unseals it into memory and opens it from there, so its plain bytes never
touch a disk (its drawn pixels are in tmpfs page buffers of their own, mode 0600, which
are removed, never reused, once its pages are let go); ``forget`` drops its pages and
its key.
"""

from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import contextlib
import ctypes
import functools
import itertools
import math
import mmap
import os
import secrets
import signal
import tempfile
import time
import unicodedata
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from room_protocol.worker_pool import worker_pool

__all__ = [
    "DocumentLayout",
    "PageRenderer",
    "PageText",
    "RenderError",
    "RenderStats",
    "RenderedPage",
    "SearchHit",
    "SearchResult",
    "TextWord",
    "default_workers",
    "fold",
]

_T = TypeVar("_T")

_MAX_OPEN_DOCUMENTS = 4  # per worker; each open MuPDF document keeps its xref table in memory
_MAX_QUEUED_PREFETCHES = 4
_MAX_PAGE_TEXTS = 16  # pages whose words are kept for highlighting
_MAX_SEARCH_CHARS = 200  # a search is a few words, not a paragraph
_MAX_SEARCH_HITS = 500  # per document: more is no list a delegate reads
_SNIPPET_CHARS = 80  # of the hit's line, around the hit
_MAX_WIDTH_PX = 8192  # a 8192 px wide A4 page is already ~270 MB of RGB32
_MAX_PAGE_BYTES = 512 * 1024 * 1024  # a very tall page at a large width: refused, not drawn
_MAX_WORKERS = 4  # each worker holds PyMuPDF and its open documents (~40 MB)
_FREE_BUFFER_BYTES = 96 * 1024 * 1024  # page buffers kept for reuse (4 pages at 1920 px)
_FULL_PAGE_BYTES = 1024 * 1024  # a page this large is a page being read, not a thumbnail
_WORKER_DIED = "the page renderer stopped unexpectedly; try again"
_BYTES_PER_PIXEL = 4  # Format_RGB32
_SHM = Path("/dev/shm")  # noqa: S108 (files made O_EXCL, mode 0600, unpredictable names)
_POPULATE = getattr(mmap, "MAP_POPULATE", 0)  # fault the pages in with one call, not 5,000


@functools.cache
def _pixels_dir() -> Path:
    """Pages are drawn into files here (tmpfs: memory, not disk), unlinked once mapped."""
    return _SHM if _SHM.is_dir() else Path(tempfile.gettempdir())


def _sweep_orphaned_pages() -> None:
    """Remove pages drawn for a tablet process that has gone (it crashed while a worker
    was drawing): tmpfs is memory, and nothing else would ever free them."""
    for stale in _pixels_dir().glob("hemicycle-page-*-*"):
        pid = stale.name.split("-")[2]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            _unlink(str(stale))
        except PermissionError:
            pass  # another user's live process


def default_workers() -> int:
    """One worker per CPU, at least 2 (one slow page must not stall the reader), at most 4."""
    return min(max(os.cpu_count() or 2, 2), _MAX_WORKERS)


class RenderError(Exception):
    """A document or page cannot be shown; the message says why, in plain words."""


@dataclass(frozen=True, slots=True)
class DocumentLayout:
    path: Path
    page_count: int
    # (width, height) in points (1/72 in), with the page's rotation applied
    page_sizes: tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class RenderedPage:
    """A drawn page. ``samples`` is a view of the shared page buffer the worker drew into,
    in QImage.Format_RGB32 layout (4 bytes a pixel: B, G, R, 0xFF on little-endian
    machines); the buffer is neither unmapped nor drawn over while this view, or any view
    or QImage made from it, lives."""

    page_index: int
    width: int  # pixels
    height: int  # pixels
    stride: int  # bytes per row
    samples: memoryview

    @property
    def nbytes(self) -> int:
        return self.stride * self.height


@dataclass(frozen=True, slots=True)
class TextWord:
    """One word of a page's text, its box in unrotated page points (as annotations are)."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    line: tuple[int, int]  # (block, line) as MuPDF groups them


@dataclass(frozen=True, slots=True)
class PageText:
    """What annotating a page needs: its words, and how unrotated points map to the page
    as drawn (``rotation``: PyMuPDF's ``a, b, c, d, e, f``; ``size``: rotated points)."""

    page_index: int
    rotation: tuple[float, float, float, float, float, float]
    size: tuple[float, float]
    words: tuple[TextWord, ...]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One place the searched words are on a page: their boxes in unrotated page points
    (as TextWord's), the page's rotation and size as PageText has them, and the line
    around them (``snippet``)."""

    page_index: int
    rects: tuple[tuple[float, float, float, float], ...]
    snippet: str
    rotation: tuple[float, float, float, float, float, float]
    size: tuple[float, float]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The hits of one document, in page order. ``complete`` is False when the search
    stopped at its time limit or at the most hits kept (``pages_searched`` says how far)."""

    path: Path
    query: str
    hits: tuple[SearchHit, ...]
    pages_searched: int
    page_count: int
    complete: bool


@dataclass(frozen=True, slots=True)
class RenderStats:
    cache_hits: int
    worker_renders: int  # pages handed to the worker process
    cached_pages: int
    cached_bytes: int
    workers_replaced: int = 0  # killed drawing a page nobody wanted, or died


# --- worker process side -------------------------------------------------------------

# path -> (file identity, open pymupdf.Document); lives in the worker process only.
_open_documents: OrderedDict[str, tuple[tuple[int, int], Any]] = OrderedDict()


def _mupdf() -> Any:
    """PyMuPDF, imported on first use in the worker; its own annotations are incomplete."""
    import pymupdf

    return pymupdf


def _init_worker() -> None:
    """Import PyMuPDF once per worker so the first real request does not pay for it."""
    pymupdf = _mupdf()
    # MuPDF prints repair warnings to stderr; errors reach the caller as RenderError.
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)


def _ping() -> int:
    return os.getpid()


def _document(path: str, key: bytes | None = None) -> Any:
    pymupdf = _mupdf()
    name = Path(path).name
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        raise RenderError(f"{name}: file not found") from None
    except OSError as exc:
        raise RenderError(f"{name}: cannot be read ({exc.strerror})") from None
    identity = (stat.st_mtime_ns, stat.st_size)
    entry = _open_documents.get(path)
    if entry is not None:
        if entry[0] == identity:
            _open_documents.move_to_end(path)
            return entry[1]
        del _open_documents[path]
        entry[1].close()
    try:
        if key is not None:
            from room_client.confidential import SealedUnreadable, unseal_file

            try:
                doc = pymupdf.open(stream=unseal_file(key, Path(path)), filetype="pdf")
            except SealedUnreadable as exc:
                raise RenderError(f"{name} cannot be opened here ({exc})") from None
        else:
            doc = pymupdf.open(path, filetype="pdf")
    except RenderError:
        raise
    except Exception as exc:
        raise RenderError(f"{name} is not a readable PDF file ({exc})") from None
    if doc.needs_pass:
        doc.close()
        raise RenderError(f"{name} is password-protected")
    if doc.page_count == 0:
        doc.close()
        # MuPDF "repairs" garbage into an empty document rather than failing.
        raise RenderError(f"{name} is not a readable PDF file (no pages found)")
    _open_documents[path] = (identity, doc)
    while len(_open_documents) > _MAX_OPEN_DOCUMENTS:
        _, (_, oldest) = _open_documents.popitem(last=False)
        oldest.close()
    return doc


def _close(path: str) -> None:
    """Drop ``path``'s open document (an unsealed confidential one leaves memory)."""
    entry = _open_documents.pop(path, None)
    if entry is not None:
        entry[1].close()


def _layout(path: str, key: bytes | None = None) -> tuple[int, tuple[tuple[float, float], ...]]:
    doc = _document(path, key)
    try:
        sizes = _page_sizes(doc)
    except Exception:
        try:  # page.rect loads every page: ~40 µs a page, 40 ms for 1,000 pages
            sizes = tuple((page.rect.width, page.rect.height) for page in doc)
        except Exception as exc:
            raise RenderError(f"{Path(path).name}: page tree is damaged ({exc})") from None
    return doc.page_count, sizes


def _page_sizes(doc: Any) -> tuple[tuple[float, float], ...]:
    """Every page's size as ``page.rect`` gives it (crop box, /Rotate, /UserUnit applied)
    from the page objects, without loading the pages: half the time of ``page.rect``."""
    mupdf = _mupdf().mupdf
    pdf = mupdf.pdf_specifics(doc.this)
    sizes = []
    for index in range(doc.page_count):
        box, ctm = mupdf.FzRect(), mupdf.FzMatrix()
        mupdf.pdf_page_obj_transform(mupdf.pdf_lookup_page_obj(pdf, index), box, ctm)
        rect = mupdf.fz_transform_rect(box, ctm)
        sizes.append((round(rect.x1 - rect.x0, 3), round(rect.y1 - rect.y0, 3)))
    return tuple(sizes)


def _page_text(path: str, page_index: int, key: bytes | None = None) -> PageText:
    doc = _document(path, key)
    name = Path(path).name
    if not 0 <= page_index < doc.page_count:
        raise RenderError(f"{name} has no page {page_index + 1} (it has {doc.page_count})")
    try:
        page = doc.load_page(page_index)
        m = page.rotation_matrix
        words = tuple(
            TextWord(float(x0), float(y0), float(x1), float(y1), str(text), (int(b), int(ln)))
            for x0, y0, x1, y1, text, b, ln, _n in page.get_text("words", sort=False)
        )
        return PageText(
            page_index,
            (m.a, m.b, m.c, m.d, m.e, m.f),
            (page.rect.width, page.rect.height),
            words,
        )
    except Exception as exc:
        raise RenderError(f"page {page_index + 1} of {name} cannot be read ({exc})") from None


# Letters with a stroke have no decomposition: folded by hand (Vietnamese types "dau tu"
# for "đầu tư"). Folded lowercase: casefold comes first.
_STROKED = str.maketrans({"đ": "d"})


def fold(text: str) -> str:
    """``text`` as a search compares it: case, diacritics and compatibility forms (ligatures,
    full-width letters) folded away; "Kế hoạch đầu tư" -> "ke hoach dau tu"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_STROKED))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _snippet(line: str, query: str) -> str:
    """At most _SNIPPET_CHARS of ``line``, around the first place it has ``query``."""
    line = " ".join(line.split())
    if len(line) <= _SNIPPET_CHARS:
        return line
    at = max(fold(line).find(fold(query)), 0)  # about there: folding may change lengths
    start = max(0, min(at - (_SNIPPET_CHARS - len(query)) // 2, len(line) - _SNIPPET_CHARS))
    text = line[start : start + _SNIPPET_CHARS]
    return ("…" if start > 0 else "") + text + ("…" if start + _SNIPPET_CHARS < len(line) else "")


def _union(words: list[Any]) -> tuple[float, float, float, float]:
    return (
        min(w[0] for w in words),
        min(w[1] for w in words),
        max(w[2] for w in words),
        max(w[3] for w in words),
    )


def _search(
    path: str, query: str, time_limit_s: float, max_hits: int, key: bytes | None = None
) -> tuple[tuple[SearchHit, ...], int, int]:
    """Every hit of ``query`` page by page until ``time_limit_s`` or ``max_hits``: (hits,
    pages searched, page count). Case and diacritics do not matter (see ``fold``): the
    page's words, folded and joined by single spaces, are searched for the folded query,
    and a hit is marked on the whole words it falls in, one box per line it spans."""
    doc = _document(path, key)
    name = Path(path).name
    deadline = time.monotonic() + time_limit_s
    hits: list[SearchHit] = []
    wanted = " ".join(fold(query).split())
    searched = 0
    for index in range(doc.page_count):
        if time.monotonic() > deadline or len(hits) >= max_hits:
            break
        try:
            page = doc.load_page(index)
            m = page.rotation_matrix
            rotation = (m.a, m.b, m.c, m.d, m.e, m.f)
            size = (page.rect.width, page.rect.height)
            # unrotated points, in reading order: (x0, y0, x1, y1, word, block, line, n)
            words = page.get_textpage().extractWORDS()
            folded = [fold(w[4]) for w in words]
            starts = list(itertools.accumulate((len(f) + 1 for f in folded[:-1]), initial=0))
            text = " ".join(folded)
            at = text.find(wanted) if wanted else -1
            while at >= 0:
                end = at + len(wanted)
                touched = words[
                    bisect.bisect_right(starts, at) - 1 : bisect.bisect_right(starts, end - 1)
                ]
                lines: dict[tuple[int, int], list[Any]] = {}
                for word in touched:  # a hit wrapped onto the next line is one hit
                    lines.setdefault((word[5], word[6]), []).append(word)
                first = next(iter(lines))
                line = " ".join(w[4] for w in words if (w[5], w[6]) == first)
                boxes = tuple(_union(line_words) for line_words in lines.values())
                hits.append(SearchHit(index, boxes, _snippet(line, query), rotation, size))
                if len(hits) >= max_hits:
                    break
                at = text.find(wanted, end)
        except Exception as exc:
            raise RenderError(f"page {index + 1} of {name} cannot be read ({exc})") from None
        searched += 1
    return tuple(hits), searched, doc.page_count


# What a reused page buffer holds (see _whiten): (white, stride, x0, y0, x1, y1): its
# first ``white`` bytes are 0xFF but for the pixels x0..x1, y0..y1 (in rows of
# ``stride`` bytes) the last page drawn into it covered.
_Clean = tuple[int, int, int, int, int, int]
_DIRTY_MARGIN = 1  # px around the drawn content's box: antialiasing at its edges


def _render(
    path: str,
    page_index: int,
    width_px: int,
    out_path: str,
    key: bytes | None = None,
    clean: _Clean | None = None,
) -> tuple[int, int, int, _Clean]:
    """Draw a page ``width_px`` wide straight into the page buffer ``out_path`` (a file
    on tmpfs, made or grown as needed); returns (width, height, stride, what the buffer
    now holds). The pixels are those of ``Page.get_pixmap`` at the same scale, as
    Format_RGB32: MuPDF draws BGR with an opaque alpha byte. ``clean``: what the buffer
    held after its last page (None: not known), so that only what that page covered is
    cleared again, not the whole page (clearing 20 MB is most of a page of text's cost)."""
    pymupdf = _mupdf()
    mupdf = pymupdf.mupdf
    doc = _document(path, key)
    name = Path(path).name
    if not 0 <= page_index < doc.page_count:
        raise RenderError(f"{name} has no page {page_index + 1} (it has {doc.page_count})")
    try:
        page = doc.load_page(page_index)
        scale = width_px / page.rect.width
        ctm = mupdf.FzMatrix(scale, 0, 0, scale, 0, 0)
        # The pixel box Page.get_pixmap uses: the page's bounds, transformed, rounded out.
        box = mupdf.fz_round_rect(mupdf.fz_transform_rect(mupdf.fz_bound_page(page.this), ctm))
    except Exception as exc:
        raise RenderError(f"page {page_index + 1} of {name} cannot be drawn ({exc})") from None
    width, height = box.x1 - box.x0, box.y1 - box.y0
    stride = width * _BYTES_PER_PIXEL
    size = stride * height
    if width < 1 or height < 1 or size > _MAX_PAGE_BYTES:
        raise RenderError(f"page {page_index + 1} of {name} cannot be drawn at this size")
    pixels = _buffer(out_path, size)
    try:
        # The page's content read once; its box says what the next page must clear.
        content = mupdf.fz_new_display_list_from_page(page.this)
        covered = mupdf.FzRect(mupdf.FzRect.Fixed_EMPTY)
        bounds = mupdf.fz_new_bbox_device(covered)
        everywhere = mupdf.FzRect(mupdf.FzRect.Fixed_INFINITE)
        try:
            mupdf.fz_run_display_list(content, bounds, ctm, everywhere, mupdf.FzCookie())
        finally:
            mupdf.fz_close_device(bounds)
        target = mupdf.fz_new_pixmap_with_data(
            mupdf.fz_device_bgr(),
            width,
            height,
            mupdf.FzSeparations(),
            1,
            stride,
            mupdf.python_mutable_buffer_data(pixels),
        )
        _whiten(mupdf, target, width, height, stride, clean)  # white paper, opaque
        target.m_internal.x, target.m_internal.y = box.x0, box.y0
        device = mupdf.fz_new_draw_device(mupdf.FzMatrix(), target)
        try:
            mupdf.fz_run_display_list(content, device, ctm, everywhere, mupdf.FzCookie())
        finally:
            mupdf.fz_close_device(device)
        del device, target  # MuPDF lets go of the mapping before it may be closed
    except Exception as exc:
        raise RenderError(f"page {page_index + 1} of {name} cannot be drawn ({exc})") from None
    finally:
        if key is not None:  # a confidential page's buffer stays mapped here no longer
            _unmap(out_path)
    drawn = mupdf.fz_round_rect(covered)
    x0, y0 = max(drawn.x0 - box.x0 - _DIRTY_MARGIN, 0), max(drawn.y0 - box.y0 - _DIRTY_MARGIN, 0)
    x1 = min(drawn.x1 - box.x0 + _DIRTY_MARGIN, width)
    y1 = min(drawn.y1 - box.y0 + _DIRTY_MARGIN, height)
    if x1 <= x0 or y1 <= y0:
        x0 = y0 = x1 = y1 = 0  # a blank page: nothing to clear next time
    return width, height, stride, (size, stride, x0, y0, x1, y1)


def _whiten(
    mupdf: Any, target: Any, width: int, height: int, stride: int, clean: _Clean | None
) -> None:
    """Make ``target`` (a page buffer, at offset 0, 0) white: all of it if what it holds
    is not known, else only the pixels the last page covered and any bytes past what was
    white."""
    if clean is None:
        mupdf.fz_clear_pixmap_with_value(target, 0xFF)
        return
    white, old_stride, x0, y0, x1, y1 = clean

    def rows(first: int, last: int) -> None:  # whole rows first..last-1 of this page
        first, last = max(first, 0), min(last, height)
        if first < last:
            mupdf.fz_clear_pixmap_rect_with_value(
                target, 0xFF, mupdf.FzIrect(0, first, width, last)
            )

    rows(white // stride, height)  # past the bytes known to be white
    if x1 <= x0 or y1 <= y0:
        return
    if old_stride == stride:
        mupdf.fz_clear_pixmap_rect_with_value(
            target, 0xFF, mupdf.FzIrect(x0, y0, min(x1, width), min(y1, height))
        )
    else:  # laid out in other rows: every row of this page those bytes fall in
        first_byte = y0 * old_stride + x0 * _BYTES_PER_PIXEL
        last_byte = (y1 - 1) * old_stride + x1 * _BYTES_PER_PIXEL
        rows(first_byte // stride, -(-last_byte // stride))


def _unmap(out_path: str) -> None:
    entry = _mapped.pop(out_path, None)
    if entry is not None:
        entry[1].close()
        os.close(entry[0])


# out path -> (open fd, its mapping): a reused buffer is drawn into without mapping it
# again (mapping and unmapping 20 MB costs ~2 ms); lives in the worker process only.
_mapped: OrderedDict[str, tuple[int, mmap.mmap]] = OrderedDict()
# Every buffer a reader keeps in use (a 256 MB cache and 96 MB of free buffers, at 14 MB
# a 1920-px page): once its cache is full, each page reuses a buffer drawn ~20 pages
# before, which a shorter list would map again.
_MAX_MAPPED = 32


def _sweep_mapped() -> None:
    """Let go of the mappings of buffers the tablet has removed: their memory goes with
    the last mapping, and a worker may idle for long."""
    for stale, (fd, pixels) in list(_mapped.items()):
        if os.fstat(fd).st_nlink == 0:
            del _mapped[stale]
            pixels.close()
            os.close(fd)


def _buffer(out_path: str, size: int) -> mmap.mmap:
    """At least ``size`` bytes of the page buffer ``out_path``, mapped shared."""
    _sweep_mapped()
    entry = _mapped.pop(out_path, None)
    if entry is not None:
        if len(entry[1]) >= size:
            _mapped[out_path] = entry
            return entry[1]
        entry[1].close()
        os.close(entry[0])
    fd = os.open(out_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        size = max(size, os.fstat(fd).st_size)
        os.ftruncate(fd, size)
        pixels = mmap.mmap(fd, size, flags=mmap.MAP_SHARED | _POPULATE)
    except BaseException:
        os.close(fd)
        raise
    _mapped[out_path] = (fd, pixels)
    while len(_mapped) > _MAX_MAPPED:
        _, (old_fd, old) = _mapped.popitem(last=False)
        old.close()
        os.close(old_fd)
    return pixels


class _Buffers:
    """Page buffers on tmpfs, reused: a new 20 MB one costs ~20 ms of page allocation in
    the kernel (more than drawing a page of text), a reused one nothing. A buffer is in
    use while a mapping of it lives (the cache's page, a QImage on screen); when the last
    goes it is free again, and free ones beyond ``free_limit`` bytes are removed. While
    the cache fills (every page needs memory of its own), ``spares`` buffers of the usual
    page size are allocated ahead on a thread, off the GUI thread and the page's path."""

    def __init__(self, free_limit: int, spares: int) -> None:
        self._free: list[tuple[int, str]] = []  # (bytes, path)
        self._maps: dict[str, mmap.mmap] = {}  # path -> this process's mapping of it
        self._clean: dict[str, _Clean] = {}  # path -> what its last page left in it
        self.on_removed: Callable[[], None] | None = None  # a buffer was removed
        self._free_limit = free_limit
        self._spares = spares
        self._usual = 0  # bytes of the last full-size page drawn
        self._preparing = False
        self.closed = False

    def _new_name(self) -> str:
        return str(_pixels_dir() / f"hemicycle-page-{os.getpid()}-{secrets.token_hex(8)}")

    def refill(self) -> None:
        """Allocate one more spare buffer of the usual size if fewer are free."""
        usual = self._usual
        if self.closed or self._preparing or usual == 0:
            return
        if sum(1 for b in self._free if usual <= b[0] <= 2 * usual) >= self._spares:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a page let go outside the loop (at shutdown): no spare now
            return
        path = self._new_name()
        self._preparing = True
        allocating = loop.run_in_executor(None, _allocate, path, usual)
        allocating.add_done_callback(functools.partial(self._prepared, path, usual))

    def _prepared(self, path: str, size: int, allocating: asyncio.Future[None]) -> None:
        self._preparing = False
        if allocating.cancelled() or allocating.exception() is not None:
            _unlink(path)  # tmpfs full: pages are drawn into new buffers as before
            return
        self.give_back(path, size)
        self.refill()

    def take(self, size_hint: int) -> tuple[str, int]:
        """A free buffer (path, bytes) for a page of about ``size_hint`` bytes (0: not
        known), else a new name; the worker grows a buffer that is too small."""
        fitting = [b for b in self._free if size_hint <= b[0] <= 2 * max(size_hint, 1)]
        if fitting or (size_hint == 0 and self._free):
            chosen = min(fitting) if fitting else max(self._free)
            self._free.remove(chosen)
            return chosen[1], chosen[0]
        return self._new_name(), 0

    def give_back(self, path: str, size: int) -> None:
        if self.closed:
            self._remove(path)
            return
        self._free.append((size, path))
        while sum(b[0] for b in self._free) > self._free_limit:
            _, oldest = self._free.pop(0)
            self._remove(oldest)

    def discard(self, path: str) -> None:
        """A buffer a killed worker may still have been writing: never reused."""
        self._remove(path)

    def _remove(self, path: str) -> None:
        """Remove a buffer; its mapping here goes once no page view holds it."""
        _unlink(path)
        self._maps.pop(path, None)
        self._clean.pop(path, None)
        if self.on_removed is not None:
            self.on_removed()

    def clean(self, path: str) -> _Clean | None:
        """What the buffer holds after the last page drawn into it (None: not known)."""
        return self._clean.get(path)

    def drawn(self, path: str, clean: _Clean | None) -> None:
        """A page was drawn into the buffer, leaving ``clean`` (None: not known, as after
        a page whose drawing failed midway)."""
        if clean is None:
            self._clean.pop(path, None)
        else:
            self._clean[path] = clean

    def map(self, path: str, size: int, capacity: int, *, sealed: bool = False) -> memoryview:
        """The first ``size`` bytes of a drawn buffer (shared: no copy), as a view that
        keeps the buffer in use: it is given back when that view and every view made
        from it are gone (the cache's page, a QImage on screen), or removed if it holds a
        page of a confidential document (``sealed``: never drawn over by another).

        A buffer stays mapped here for its lifetime: mapping 20 MB anew and unmapping it
        costs ~3 ms a page (page tables filled and torn down), more than drawing a page of
        text. Nothing here unmaps a mapping explicitly; it goes with its last view."""
        whole = None if sealed else self._maps.get(path)
        if whole is None or len(whole) < size:
            fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
            try:
                length = size if sealed else max(size, os.fstat(fd).st_size)
                whole = mmap.mmap(fd, length, flags=mmap.MAP_SHARED | _POPULATE)
            finally:
                os.close(fd)
            if not sealed:
                self._maps[path] = whole  # a grown buffer's old mapping goes with its views
        # A ctypes array over the mapping exports the pixels itself, so every memoryview
        # made from the page's (a QImage's, a slice) holds it, and with it the mapping:
        # the buffer is free again only once the last of them is gone.
        owner = (ctypes.c_ubyte * size).from_buffer(whole)
        if sealed:
            weakref.finalize(owner, self._remove, path)
        else:
            weakref.finalize(owner, self.give_back, path, max(size, capacity))
        if size >= _FULL_PAGE_BYTES:
            self._usual = size
        self.refill()
        return memoryview(owner).cast("B")

    def close(self) -> None:
        """Remove the free buffers; those in use are removed as they are let go."""
        self.closed = True
        for _, path in self._free:
            self._remove(path)
        self._free.clear()
        self._maps.clear()


def _allocate(path: str, size: int) -> None:
    """Make a page buffer with its memory allocated (on a thread: the kernel zeroes it)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)


def _unlink(out_path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        Path(out_path).unlink()


# --- calling process side ------------------------------------------------------------

_PageKey = tuple[Path, int, int]  # (path, page index, width in pixels)


@dataclass(slots=True, eq=False)
class _Job:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    urgent: bool
    key: _PageKey | None = None  # a render: identical requests share the job
    out_path: str | None = None  # the buffer a render's worker draws the page into
    capacity: int = 0  # its bytes (0: a new one)
    started_at: float | None = None  # time.monotonic() when a worker took it
    waiters: int = 0
    lane: _Lane | None = None


@dataclass(slots=True, eq=False)
class _Lane:
    """One worker process (a single-process executor, so it can be killed alone)."""

    executor: concurrent.futures.ProcessPoolExecutor
    pid: int | None  # known from the start: a worker can be killed while still starting
    job: _Job | None = None
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=_MAX_OPEN_DOCUMENTS))
    watchdog: asyncio.TimerHandle | None = None


def _consume_result(future: concurrent.futures.Future[Any]) -> None:
    """A fire-and-forget worker job: its failure (a pool shut down) matters to nobody."""
    if not future.cancelled():
        future.exception()


def _consume_outcome(future: asyncio.Future[Any]) -> None:
    """Mark a result as retrieved so unawaited prefetch failures are not logged as leaks."""
    if not future.cancelled():
        future.exception()


def _start_lane() -> _Lane:
    executor = worker_pool(1, _init_worker)
    # Submitting anything makes the pool spawn its worker now rather than on first use.
    executor.submit(_ping).add_done_callback(_consume_result)
    # The executor's own table of its processes (no public accessor): the one just spawned.
    processes: dict[int, Any] = getattr(executor, "_processes", None) or {}
    return _Lane(executor, next(iter(processes), None))


class PageRenderer:
    """Opens PDFs and renders their pages in worker processes, with a byte-bounded cache.

    ``time_limit_s``: a render nobody ever waited for (a prefetch) may draw this long
    before its worker is replaced. ``abandon_after_s``: a render given up (the reader
    left the page) may draw this long in all; one that has drawn for less is probably
    nearly done and may finish into the cache until then, one that has drawn for longer
    has its worker replaced at once (killing costs a new worker's start, ~0.3 s of CPU,
    so an ordinary page is better left to finish).
    """

    def __init__(
        self,
        *,
        cache_bytes: int = 256 * 1024 * 1024,
        workers: int | None = None,
        time_limit_s: float = 1.5,
        abandon_after_s: float = 1.0,
    ) -> None:
        workers = default_workers() if workers is None else workers
        if not 1 <= workers <= 16:
            raise ValueError(f"workers must be within 1..16, not {workers}")
        if not (time_limit_s > 0 and abandon_after_s >= 0):
            raise ValueError("time_limit_s must be positive and abandon_after_s not negative")
        self._cache_limit = cache_bytes
        self._workers = workers
        self._time_limit_s = time_limit_s
        self._abandon_after_s = abandon_after_s
        self._lanes: list[_Lane] = []
        self._cache: OrderedDict[_PageKey, RenderedPage] = OrderedDict()
        self._cache_used = 0
        self._renders: dict[_PageKey, _Job] = {}
        self._urgent: deque[_Job] = deque()
        self._background: deque[_Job] = deque()
        self._file_identity: dict[Path, tuple[int, int]] = {}
        self._keys: dict[Path, bytes] = {}  # sealed documents' keys, in memory only
        self._cache_hits = 0
        self._worker_renders = 0
        self._workers_replaced = 0
        self._buffers = _Buffers(_FREE_BUFFER_BYTES, spares=workers)
        self._buffers.on_removed = self._sweep_soon
        self._sweeping = False
        self._page_sizes: dict[Path, tuple[tuple[float, float], ...]] = {}  # from open()
        self._texts: OrderedDict[tuple[Path, int], PageText] = OrderedDict()

    @property
    def workers(self) -> int:
        return self._workers

    @property
    def worker_pids(self) -> tuple[int, ...]:
        """The worker processes now running (for measuring their memory)."""
        return tuple(lane.pid for lane in self._lanes if lane.pid is not None)

    # life cycle

    def start(self) -> None:
        """Spawn the worker processes; they import PyMuPDF while the caller carries on."""
        if self._lanes:
            return
        _sweep_orphaned_pages()
        if self._buffers.closed:
            self._buffers = _Buffers(_FREE_BUFFER_BYTES, spares=self._workers)
            self._buffers.on_removed = self._sweep_soon
        self._lanes = [_start_lane() for _ in range(self._workers)]

    async def close(self) -> None:
        """Stop the workers (one busy drawing is killed); pending requests fail with
        CancelledError."""
        lanes, self._lanes = self._lanes, []
        self._buffers.close()
        for job in [*self._renders.values(), *self._urgent, *self._background]:
            job.future.cancel()
        self._renders.clear()
        self._urgent.clear()
        self._background.clear()
        self._cache.clear()
        self._cache_used = 0
        for lane in lanes:
            if lane.job is not None:
                self._kill(lane)
            elif lane.pid is not None:
                # An idle worker holds nothing (open documents are read-only): killed, it
                # need not finish starting (spawn and import, seconds on a busy tablet)
                # before it could read the executor's request to stop.
                with contextlib.suppress(ProcessLookupError):
                    os.kill(lane.pid, signal.SIGKILL)
        await asyncio.to_thread(_shut_down, lanes)

    # public requests

    async def open(self, path: Path, *, key: bytes | None = None) -> DocumentLayout:
        """Read the page count and page sizes; raise RenderError if the PDF cannot be shown.
        ``key``: ``path`` is a sealed confidential document; its pages need the key."""
        self._forget_if_changed(path)
        if key is not None:
            self._keys[path] = key
        page_count, sizes = await self._call(_layout, str(path), self._keys.get(path))
        self._page_sizes[path] = sizes
        return DocumentLayout(path=path, page_count=page_count, page_sizes=sizes)

    async def page_text(self, path: Path, page_index: int) -> PageText:
        """The words of one page and its rotation (for highlighting and annotation layout);
        kept for the last few pages asked for."""
        key = (path, page_index)
        text = self._texts.get(key)
        if text is None:
            text = await self._call(_page_text, str(path), page_index, self._keys.get(path))
            self._texts[key] = text
            while len(self._texts) > _MAX_PAGE_TEXTS:
                self._texts.popitem(last=False)
        self._texts.move_to_end(key)
        return text

    async def search(
        self,
        path: Path,
        query: str,
        *,
        key: bytes | None = None,
        time_limit_s: float = 5.0,
        max_hits: int = _MAX_SEARCH_HITS,
    ) -> SearchResult:
        """Find ``query`` (a few words, any case, with or without diacritics: see
        ``fold``) in ``path`` (``key``: a sealed confidential document, as for ``open``;
        else the key ``open`` was given). The worker stops after ``time_limit_s`` or
        ``max_hits``; the result says so. Raises ValueError for an empty or overlong
        query, RenderError if the document cannot be read."""
        words = " ".join(query.split())
        if not words:
            raise ValueError("type a word to search for")
        if len(words) > _MAX_SEARCH_CHARS:
            raise ValueError(f"a search is at most {_MAX_SEARCH_CHARS} characters")
        if not (time_limit_s > 0 and max_hits > 0):
            raise ValueError("time_limit_s and max_hits must be positive")
        if key is not None:
            self._keys[path] = key
        hits, searched, pages = await self._call(
            _search, str(path), words, time_limit_s, max_hits, self._keys.get(path)
        )
        complete = searched == pages and len(hits) < max_hits
        return SearchResult(path, words, hits, searched, pages, complete)

    def forget(self, path: Path) -> None:
        """Drop ``path``'s rendered pages and key, and the workers' open copy of it (a
        confidential document was wiped or its reader signed out)."""
        if self._keys.pop(path, None) is not None:
            for lane in self._lanes:  # each worker may hold it
                lane.executor.submit(_close, str(path)).add_done_callback(_consume_result)
        self._file_identity.pop(path, None)
        self._drop_cached(path)

    async def render(
        self, path: Path, page_index: int, width_px: int, *, background: bool = False
    ) -> RenderedPage:
        """Render one page scaled to ``width_px`` pixels wide, aspect ratio kept.

        ``background`` requests (thumbnails) yield to foreground ones. Identical
        concurrent requests share one job; cancelling a caller gives the job up when
        nobody else waits for it (see the class's time limits).
        """
        if not 1 <= width_px <= _MAX_WIDTH_PX:
            raise ValueError(f"width_px must be within 1..{_MAX_WIDTH_PX}, not {width_px}")
        cached = self.cached(path, page_index, width_px)
        if cached is not None:
            return cached
        key = (path, page_index, width_px)
        job = self._renders.get(key)
        if job is None:
            job = self._enqueue_render(key, urgent=not background)
        elif not background and not job.urgent and job.started_at is None:
            self._background.remove(job)
            self._urgent.append(job)
            job.urgent = True
        job.waiters += 1
        try:
            page: RenderedPage = await asyncio.shield(job.future)
            return page
        finally:
            job.waiters -= 1
            if job.waiters == 0 and not job.future.done():
                self._give_up(job)

    def prefetch(self, path: Path, page_index: int, width_px: int) -> None:
        """Render a page into the cache when a worker is idle; never blocks, may be dropped."""
        if not 1 <= width_px <= _MAX_WIDTH_PX:
            return
        key = (path, page_index, width_px)
        if key in self._cache or key in self._renders:
            return
        if len(self._background) >= _MAX_QUEUED_PREFETCHES:
            # Newer prefetches are closer to where the reader is: drop the oldest nobody awaits.
            for old in self._background:
                if old.waiters == 0:
                    self._give_up(old)
                    break
            else:
                return
        self._enqueue_render(key, urgent=False)

    def cached(self, path: Path, page_index: int, width_px: int) -> RenderedPage | None:
        """The cached page, if any, without touching the workers or waiting."""
        key = (path, page_index, width_px)
        page = self._cache.get(key)
        if page is not None:
            self._cache.move_to_end(key)
            self._cache_hits += 1
        return page

    @property
    def stats(self) -> RenderStats:
        return RenderStats(
            cache_hits=self._cache_hits,
            worker_renders=self._worker_renders,
            cached_pages=len(self._cache),
            cached_bytes=self._cache_used,
            workers_replaced=self._workers_replaced,
        )

    # internals

    async def _call(self, fn: Callable[..., _T], *args: object) -> _T:
        """Run ``fn`` in a worker as soon as one is idle, before any render."""
        future: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        job = _Job(fn, args, future, urgent=True)
        self._urgent.appendleft(job)
        self._dispatch()
        job.waiters += 1
        try:
            return await asyncio.shield(future)
        finally:
            job.waiters -= 1
            if not future.done() and job.started_at is None:
                self._urgent.remove(job)
                future.cancel()

    def _sweep_soon(self) -> None:
        """Page buffers were removed: have the workers let go of their mappings of them
        (a worker also does before each page), once the loop gets to it — this may run
        in a finalizer, in the middle of anything."""
        if self._sweeping or not self._lanes:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (shutting down): each worker sweeps before its next page
        self._sweeping = True
        loop.call_soon(self._sweep_workers)

    def _sweep_workers(self) -> None:
        self._sweeping = False
        for lane in self._lanes:
            with contextlib.suppress(RuntimeError):  # its executor shut down: it is gone
                lane.executor.submit(_sweep_mapped).add_done_callback(_consume_result)

    def _forget_if_changed(self, path: Path) -> None:
        try:
            stat = path.stat()
        except OSError:
            return  # the worker reports the error with the file's name
        identity = (stat.st_mtime_ns, stat.st_size)
        if self._file_identity.setdefault(path, identity) != identity:
            self._file_identity[path] = identity
            self._drop_cached(path)

    def _drop_cached(self, path: Path) -> None:
        for key in [key for key in self._cache if key[0] == path]:
            self._cache_used -= self._cache.pop(key).nbytes
        for text_key in [k for k in self._texts if k[0] == path]:
            del self._texts[text_key]

    def _enqueue_render(self, key: _PageKey, *, urgent: bool) -> _Job:
        future: asyncio.Future[RenderedPage] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_consume_outcome)
        path, page_index, width_px = key
        # The page buffer (out path) is chosen when a worker takes the job.
        args = (str(path), page_index, width_px, "", self._keys.get(path))
        job = _Job(_render, args, future, urgent, key=key)
        self._renders[key] = job
        (self._urgent if urgent else self._background).append(job)
        self._dispatch()
        return job

    def _give_up(self, job: _Job) -> None:
        """Nobody wants ``job`` any more: off the queue, or its worker replaced if it
        has been drawing for long (else it finishes into the cache)."""
        if job.started_at is None:
            if job.key is not None:
                self._renders.pop(job.key, None)
            (self._urgent if job.urgent else self._background).remove(job)
            job.future.cancel()
        elif job.lane is not None:
            drawn = time.monotonic() - job.started_at
            if drawn >= self._abandon_after_s:
                self._kill(job.lane)
            else:  # probably nearly done; if not by then, its worker goes
                lane = job.lane
                if lane.watchdog is not None:
                    lane.watchdog.cancel()
                lane.watchdog = job.future.get_loop().call_later(
                    self._abandon_after_s - drawn, self._overdue, lane, job
                )

    def _dispatch(self) -> None:
        if not self._lanes:
            self.start()
        while self._urgent or self._background:
            idle = [lane for lane in self._lanes if lane.job is None]
            if not idle:
                return
            if not self._urgent and len(idle) == 1 < len(self._lanes):
                return  # the last idle worker is kept for the page the reader asks for next
            job = self._urgent.popleft() if self._urgent else self._background.popleft()
            path = str(job.args[0]) if job.args else ""
            lane = next((lane for lane in idle if path in lane.recent), idle[0])
            if path:
                with contextlib.suppress(ValueError):
                    lane.recent.remove(path)
                lane.recent.append(path)
            lane.job, job.lane = job, lane
            job.started_at = time.monotonic()
            # The loop the request was made on: a worker's answer may come back through a
            # callback Qt runs while that loop is not running (it still owns the future).
            loop = job.future.get_loop()
            if job.key is not None:
                self._take_buffer(job)
                self._worker_renders += 1
                lane.watchdog = loop.call_later(self._time_limit_s, self._overdue, lane, job)
            handle = loop.run_in_executor(lane.executor, job.fn, *job.args)
            handle.add_done_callback(functools.partial(self._finished, lane, job))

    def _take_buffer(self, job: _Job) -> None:
        """Give a render the page buffer it draws into: a free one of about its size."""
        assert job.key is not None
        path, page_index, width_px = job.key
        sizes = self._page_sizes.get(path)
        hint = 0
        if sizes is not None and 0 <= page_index < len(sizes):
            width_pt, height_pt = sizes[page_index]
            # (a row short at most: the worker grows the buffer by what it lacks)
            hint = width_px * math.floor(width_px * height_pt / width_pt) * _BYTES_PER_PIXEL
        job.out_path, job.capacity = self._buffers.take(hint)
        path_, index, width, _, key = job.args
        job.args = (path_, index, width, job.out_path, key, self._buffers.clean(job.out_path))

    def _overdue(self, lane: _Lane, job: _Job) -> None:
        """A render has drawn for its limit: replace its worker if nobody waits."""
        lane.watchdog = None
        if lane.job is job and job.waiters == 0:
            self._kill(lane)

    def _kill(self, lane: _Lane) -> None:
        """Kill ``lane``'s worker (stuck drawing a page nobody wants) and start another in
        its place; the job it ran is cancelled."""
        job = lane.job
        if lane.watchdog is not None:
            lane.watchdog.cancel()
            lane.watchdog = None
        lane.job = None
        if lane.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(lane.pid, signal.SIGKILL)
        lane.executor.shutdown(wait=False, cancel_futures=True)
        if lane in self._lanes:
            self._lanes[self._lanes.index(lane)] = _start_lane()
            self._workers_replaced += 1
        if job is not None:
            self._forget_job_key(job)
            if job.out_path is not None:
                self._buffers.discard(job.out_path)  # the killed worker may have left it
            job.future.cancel()
        if self._lanes:
            self._dispatch()

    def _finished(self, lane: _Lane, job: _Job, handle: asyncio.Future[Any]) -> None:
        if not handle.cancelled():
            handle.exception()  # retrieved here, whoever still wants the outcome
        if lane.job is not job:
            # Killed or closed meanwhile: its buffer is not to be trusted, nor kept.
            if job.out_path is not None:
                self._buffers.discard(job.out_path)
            return
        lane.job = None
        if lane.watchdog is not None:
            lane.watchdog.cancel()
            lane.watchdog = None
        self._forget_job_key(job)
        if handle.cancelled():
            job.future.cancel()
            if job.out_path is not None:
                self._buffers.discard(job.out_path)
        elif (exc := handle.exception()) is not None:
            if job.out_path is not None:
                if isinstance(exc, BrokenProcessPool) or job.capacity == 0:
                    self._buffers.discard(job.out_path)
                else:  # a page that cannot be drawn (perhaps halfway)
                    self._buffers.drawn(job.out_path, None)
                    self._buffers.give_back(job.out_path, job.capacity)
            if isinstance(exc, BrokenProcessPool):
                self._replace_broken(lane)
                exc = RenderError(_WORKER_DIED)
            if not job.future.done():
                job.future.set_exception(exc)
        elif job.key is not None and job.out_path is not None:
            width, height, stride, clean = handle.result()
            self._buffers.drawn(job.out_path, clean)
            try:
                pixels = self._buffers.map(
                    job.out_path, stride * height, job.capacity, sealed=job.args[4] is not None
                )
            except (OSError, ValueError) as exc:  # tmpfs emptied under us, out of memory
                self._buffers.discard(job.out_path)
                if not job.future.done():
                    job.future.set_exception(RenderError(f"the page cannot be shown ({exc})"))
            else:
                page = RenderedPage(job.key[1], width, height, stride, pixels)
                self._store(job.key, page)
                if not job.future.done():
                    job.future.set_result(page)
        elif not job.future.done():
            job.future.set_result(handle.result())
        if self._lanes:
            self._dispatch()

    def _forget_job_key(self, job: _Job) -> None:
        if job.key is not None and self._renders.get(job.key) is job:
            del self._renders[job.key]

    def _replace_broken(self, lane: _Lane) -> None:
        """Start a fresh worker after one died (MuPDF crash, out of memory)."""
        lane.executor.shutdown(wait=False, cancel_futures=True)
        if lane in self._lanes:
            self._lanes[self._lanes.index(lane)] = _start_lane()
            self._workers_replaced += 1

    def _store(self, key: _PageKey, page: RenderedPage) -> None:
        size = page.nbytes
        if size > self._cache_limit:
            return
        self._cache[key] = page
        self._cache_used += size
        while self._cache_used > self._cache_limit:
            _, evicted = self._cache.popitem(last=False)
            self._cache_used -= evicted.nbytes


def _shut_down(lanes: list[_Lane]) -> None:
    for lane in lanes:
        lane.executor.shutdown(wait=True, cancel_futures=True)
