"""PDF page rendering for the tablet: the one module that uses PyMuPDF.

PyMuPDF holds the GIL while MuPDF works, so every call into it runs in a worker process
started with "spawn"; the GUI process only ever receives plain bytes. PyMuPDF is imported
inside the worker, never in the caller, and this module does not import Qt.

Render requests are dispatched by priority: a page someone is waiting for goes before
prefetches and thumbnails, and at most ``workers`` jobs are handed to the pool at a time
so a new page never queues behind a backlog. Finished pages are kept in an LRU bounded by
bytes. Documents are content-addressed on the tablet, so a path's bytes do not change
while it is cached; ``open`` still drops cached pages of a path whose file changed.

A confidential document is a sealed file opened with its key (``open(path, key=...)``):
the worker unseals it into memory and opens it from there, so its plain bytes never
touch a disk; ``forget`` drops its pages and its key.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import multiprocessing
import os
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "DocumentLayout",
    "PageRenderer",
    "PageText",
    "RenderError",
    "RenderStats",
    "RenderedPage",
    "TextWord",
]

_T = TypeVar("_T")

_MAX_OPEN_DOCUMENTS = 4  # per worker; each open MuPDF document keeps its xref table in memory
_MAX_QUEUED_PREFETCHES = 4
_MAX_PAGE_TEXTS = 16  # pages whose words are kept for highlighting
_MAX_WIDTH_PX = 8192  # a 8192 px wide A4 page is already ~200 MB of RGB
_WORKER_DIED = "the page renderer stopped unexpectedly; try again"


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
    page_index: int
    width: int  # pixels
    height: int  # pixels
    stride: int  # bytes per row
    samples: bytes  # RGB888, no alpha


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
class RenderStats:
    cache_hits: int
    worker_renders: int  # pages handed to the worker process
    cached_pages: int
    cached_bytes: int


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
        # page.rect applies /Rotate and the crop box: ~40 µs a page, 40 ms for 1,000 pages.
        sizes = tuple((page.rect.width, page.rect.height) for page in doc)
    except Exception as exc:
        raise RenderError(f"{Path(path).name}: page tree is damaged ({exc})") from None
    return doc.page_count, sizes


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


def _render(
    path: str, page_index: int, width_px: int, key: bytes | None = None
) -> tuple[int, int, int, str, int]:
    """Render into a new shared-memory block; returns (width, height, stride, block, size).

    A 1920 px page is ~15 MB: through the executor's pipe it costs ~30 ms more than the
    render itself, through shared memory a few ms. The caller unlinks the block.
    """
    pymupdf = _mupdf()
    doc = _document(path, key)
    name = Path(path).name
    if not 0 <= page_index < doc.page_count:
        raise RenderError(f"{name} has no page {page_index + 1} (it has {doc.page_count})")
    try:
        page = doc.load_page(page_index)
        scale = width_px / page.rect.width
        pixmap = page.get_pixmap(
            matrix=pymupdf.Matrix(scale, scale), colorspace=pymupdf.csRGB, alpha=False
        )
    except Exception as exc:
        raise RenderError(f"page {page_index + 1} of {name} cannot be drawn ({exc})") from None
    samples = pixmap.samples_mv
    size = len(samples)
    block = SharedMemory(create=True, size=max(size, 1))
    try:
        buffer = block.buf
        assert buffer is not None  # set on every open block
        buffer[:size] = samples
    finally:
        block.close()
    return pixmap.width, pixmap.height, pixmap.stride, block.name, size


def _take_samples(block_name: str, size: int) -> bytes:
    """Copy a rendered page out of its shared-memory block and free the block."""
    block = SharedMemory(name=block_name)
    try:
        buffer = block.buf
        assert buffer is not None  # set on every open block
        with buffer[:size] as view:
            return bytes(view)
    finally:
        block.close()
        block.unlink()


# --- calling process side ------------------------------------------------------------

_PageKey = tuple[Path, int, int]  # (path, page index, width in pixels)


@dataclass(slots=True, eq=False)
class _Job:
    future: asyncio.Future[RenderedPage]
    urgent: bool
    started: bool = False
    waiters: int = 0
    handle: asyncio.Future[tuple[int, int, int, str, int]] | None = field(default=None)
    pool: concurrent.futures.ProcessPoolExecutor | None = field(default=None)


def _consume_result(future: concurrent.futures.Future[Any]) -> None:
    """A fire-and-forget worker job: its failure (a pool shut down) matters to nobody."""
    if not future.cancelled():
        future.exception()


def _consume_outcome(future: asyncio.Future[Any]) -> None:
    """Mark a result as retrieved so unawaited prefetch failures are not logged as leaks."""
    if not future.cancelled():
        future.exception()


class PageRenderer:
    """Opens PDFs and renders their pages in a worker process, with a byte-bounded cache."""

    def __init__(self, *, cache_bytes: int = 256 * 1024 * 1024, workers: int = 1) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._cache_limit = cache_bytes
        self._workers = workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._cache: OrderedDict[_PageKey, RenderedPage] = OrderedDict()
        self._cache_used = 0
        self._jobs: dict[_PageKey, _Job] = {}
        self._urgent: deque[_PageKey] = deque()
        self._background: deque[_PageKey] = deque()
        self._running = 0
        self._file_identity: dict[Path, tuple[int, int]] = {}
        self._keys: dict[Path, bytes] = {}  # sealed documents' keys, in memory only
        self._cache_hits = 0
        self._worker_renders = 0
        self._texts: OrderedDict[tuple[Path, int], PageText] = OrderedDict()

    # life cycle

    def start(self) -> None:
        """Spawn the worker processes; they import PyMuPDF while the caller carries on."""
        if self._pool is not None:
            return
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self._workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
        )
        # Submitting anything makes the pool spawn its workers now rather than on first use.
        self._pool.submit(_ping)

    async def close(self) -> None:
        """Stop the workers; pending requests fail with CancelledError."""
        pool, self._pool = self._pool, None
        for job in self._jobs.values():
            job.future.cancel()  # a started render still finishes and frees its memory
        self._jobs.clear()
        self._urgent.clear()
        self._background.clear()
        self._running = 0
        self._cache.clear()
        self._cache_used = 0
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    # public requests

    async def open(self, path: Path, *, key: bytes | None = None) -> DocumentLayout:
        """Read the page count and page sizes; raise RenderError if the PDF cannot be shown.
        ``key``: ``path`` is a sealed confidential document; its pages need the key."""
        self._forget_if_changed(path)
        if key is not None:
            self._keys[path] = key
        page_count, sizes = await self._call(_layout, str(path), self._keys.get(path))
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

    def forget(self, path: Path) -> None:
        """Drop ``path``'s rendered pages and key, and the workers' open copy of it (a
        confidential document was wiped or its reader signed out)."""
        if self._keys.pop(path, None) is not None and self._pool is not None:
            for _ in range(self._workers):  # each worker may hold it; one job reaches one
                self._pool.submit(_close, str(path)).add_done_callback(_consume_result)
        self._file_identity.pop(path, None)
        for key in [key for key in self._cache if key[0] == path]:
            self._cache_used -= len(self._cache.pop(key).samples)
        for text_key in [k for k in self._texts if k[0] == path]:
            del self._texts[text_key]

    async def render(
        self, path: Path, page_index: int, width_px: int, *, background: bool = False
    ) -> RenderedPage:
        """Render one page scaled to ``width_px`` pixels wide, aspect ratio kept.

        ``background`` requests (thumbnails) yield to foreground ones. Identical
        concurrent requests share one job; cancelling a caller does not cancel the job
        unless nobody else waits for it and it has not started yet.
        """
        if not 1 <= width_px <= _MAX_WIDTH_PX:
            raise ValueError(f"width_px must be within 1..{_MAX_WIDTH_PX}, not {width_px}")
        cached = self.cached(path, page_index, width_px)
        if cached is not None:
            return cached
        key = (path, page_index, width_px)
        job = self._jobs.get(key)
        if job is None:
            job = self._enqueue(key, urgent=not background)
        elif not background and not job.urgent and not job.started:
            self._background.remove(key)
            self._urgent.append(key)
            job.urgent = True
        job.waiters += 1
        try:
            return await asyncio.shield(job.future)
        finally:
            job.waiters -= 1
            if job.waiters == 0 and not job.started and not job.future.done():
                self._drop(key, job)

    def prefetch(self, path: Path, page_index: int, width_px: int) -> None:
        """Render a page into the cache when the worker is idle; never blocks, may be dropped."""
        if not 1 <= width_px <= _MAX_WIDTH_PX:
            return
        key = (path, page_index, width_px)
        if key in self._cache or key in self._jobs:
            return
        if len(self._background) >= _MAX_QUEUED_PREFETCHES:
            # Newer prefetches are closer to where the reader is: drop the oldest nobody awaits.
            for old_key in self._background:
                old_job = self._jobs[old_key]
                if old_job.waiters == 0:
                    self._drop(old_key, old_job)
                    break
            else:
                return
        self._enqueue(key, urgent=False)

    def cached(self, path: Path, page_index: int, width_px: int) -> RenderedPage | None:
        """The cached page, if any, without touching the worker or waiting."""
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
        )

    # internals

    def _require_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self.start()
        assert self._pool is not None
        return self._pool

    async def _call(self, fn: Callable[..., _T], *args: object) -> _T:
        pool = self._require_pool()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        except BrokenProcessPool:
            self._replace_broken(pool)
            raise RenderError(_WORKER_DIED) from None

    def _replace_broken(self, pool: concurrent.futures.ProcessPoolExecutor) -> None:
        """Start a fresh pool after a worker died (MuPDF crash, out of memory), once."""
        if self._pool is not pool:
            return
        self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)
        self.start()

    def _forget_if_changed(self, path: Path) -> None:
        try:
            stat = path.stat()
        except OSError:
            return  # the worker reports the error with the file's name
        identity = (stat.st_mtime_ns, stat.st_size)
        if self._file_identity.setdefault(path, identity) != identity:
            self._file_identity[path] = identity
            for key in [key for key in self._cache if key[0] == path]:
                self._cache_used -= len(self._cache.pop(key).samples)
            for text_key in [k for k in self._texts if k[0] == path]:
                del self._texts[text_key]

    def _enqueue(self, key: _PageKey, *, urgent: bool) -> _Job:
        future: asyncio.Future[RenderedPage] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_consume_outcome)
        job = _Job(future=future, urgent=urgent)
        self._jobs[key] = job
        (self._urgent if urgent else self._background).append(key)
        self._dispatch()
        return job

    def _drop(self, key: _PageKey, job: _Job) -> None:
        del self._jobs[key]
        (self._urgent if job.urgent else self._background).remove(key)
        job.future.cancel()

    def _dispatch(self) -> None:
        loop = asyncio.get_running_loop()
        while self._running < self._workers and (self._urgent or self._background):
            key = self._urgent.popleft() if self._urgent else self._background.popleft()
            job = self._jobs[key]
            job.started = True
            self._running += 1
            self._worker_renders += 1
            path, page_index, width_px = key
            job.pool = self._require_pool()
            job.handle = loop.run_in_executor(
                job.pool, _render, str(path), page_index, width_px, self._keys.get(path)
            )
            job.handle.add_done_callback(functools.partial(self._finished, key))

    def _finished(
        self, key: _PageKey, handle: asyncio.Future[tuple[int, int, int, str, int]]
    ) -> None:
        job = self._jobs.get(key)
        if job is None or job.handle is not handle:
            # Closed meanwhile: still free the shared memory the worker filled.
            if not handle.cancelled() and handle.exception() is None:
                _take_samples(*handle.result()[3:])
            return
        del self._jobs[key]
        self._running -= 1
        if handle.cancelled():
            job.future.cancel()
        elif (exc := handle.exception()) is not None:
            if isinstance(exc, BrokenProcessPool):
                assert job.pool is not None
                self._replace_broken(job.pool)
                exc = RenderError(_WORKER_DIED)
            job.future.set_exception(exc)
        else:
            width, height, stride, block_name, size = handle.result()
            samples = _take_samples(block_name, size)
            page = RenderedPage(key[1], width, height, stride, samples)
            self._store(key, page)
            job.future.set_result(page)
        if self._pool is not None:
            self._dispatch()

    def _store(self, key: _PageKey, page: RenderedPage) -> None:
        size = len(page.samples)
        if size > self._cache_limit:
            return
        self._cache[key] = page
        self._cache_used += size
        while self._cache_used > self._cache_limit:
            _, evicted = self._cache.popitem(last=False)
            self._cache_used -= len(evicted.samples)
