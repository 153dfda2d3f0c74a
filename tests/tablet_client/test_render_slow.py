"""PageRenderer with a page that takes seconds to draw, real worker processes, and the
pixels of the no-copy path against PyMuPDF drawing in this process."""

from __future__ import annotations

import asyncio
import ctypes
import gc
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pymupdf
import pytest
import pytest_asyncio

from tablet_client.render import PageRenderer, RenderedPage, default_workers
from tests.rooms import timeout
from tests.tablet_client.conftest import until

pytestmark = pytest.mark.asyncio(loop_scope="module")

SLOW_WIDTH = 3000  # px: the plan takes several seconds at this width on any machine
NORMAL_PAGE_S = 2.0  # a bound for an ordinary page, generous for a busy machine


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def renderer(colour_pdf: Path) -> AsyncIterator[PageRenderer]:
    renderer = PageRenderer(cache_bytes=128 * 1024 * 1024, workers=2, time_limit_s=1.0)
    renderer.start()
    await renderer.open(colour_pdf)
    yield renderer
    await renderer.close()


@pytest.fixture(scope="module")
def turned_pdf(pdf_dir: Path) -> Path:
    """A rotated page with colour, text and a translucent shape."""
    path = pdf_dir / "turned.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.draw_rect(pymupdf.Rect(40, 40, 400, 300), color=(0, 0, 1), fill=(1, 0.8, 0), width=3)
    page.draw_circle((300, 500), 120, color=(0.2, 0.6, 0.2), fill=(0, 0.5, 1), fill_opacity=0.4)
    page.insert_text((60, 700), "Amendment 4, turned", fontsize=22)
    page.set_rotation(90)
    doc.save(path)
    doc.close()
    return path


def page_files() -> list[Path]:
    """Pages drawn for this process and not yet taken in (should be none at rest)."""
    return list(Path("/dev/shm").glob(f"hemicycle-page-{os.getpid()}-*"))


def as_rgb(page: RenderedPage) -> bytes:
    """The page's B, G, R, 0xFF pixels as PyMuPDF's RGB samples."""
    data = bytes(page.samples)
    rows = bytearray()
    for y in range(page.height):
        row = data[y * page.stride : y * page.stride + page.width * 4]
        rgb = bytearray(page.width * 3)
        rgb[0::3], rgb[1::3], rgb[2::3] = row[2::4], row[1::4], row[0::4]
        rows += rgb
    return bytes(rows)


def in_process(path: Path, index: int, width_px: int) -> pymupdf.Pixmap:
    with pymupdf.open(path) as doc:
        page = doc[index]
        scale = width_px / page.rect.width
        return page.get_pixmap(
            matrix=pymupdf.Matrix(scale, scale), colorspace=pymupdf.csRGB, alpha=False
        )


async def test_default_workers_follow_the_cpus_within_bounds() -> None:
    assert 2 <= default_workers() <= 4
    assert default_workers() == min(max(os.cpu_count() or 2, 2), 4)
    assert PageRenderer().workers == default_workers()
    with pytest.raises(ValueError, match="workers"):
        PageRenderer(workers=0)
    with pytest.raises(ValueError, match="time_limit_s"):
        PageRenderer(time_limit_s=0)


async def test_no_copy_pixels_are_pymupdfs(
    renderer: PageRenderer, colour_pdf: Path, turned_pdf: Path
) -> None:
    for path, index, width_px in ((colour_pdf, 2, 777), (turned_pdf, 0, 1001), (colour_pdf, 0, 64)):
        page = await renderer.render(path, index, width_px)
        expected = in_process(path, index, width_px)
        assert (page.width, page.height) == (expected.width, expected.height)
        assert page.stride == page.width * 4 and set(page.samples[3::4]) == {0xFF}
        assert as_rgb(page) == expected.samples, f"{path.name} page {index + 1} at {width_px}"


async def test_a_reused_buffer_is_cleared_where_its_last_page_drew(
    colour_pdf: Path, turned_pdf: Path, long_pdf: Path
) -> None:
    """A reused buffer is cleared only where its last page drew: every page drawn into
    one after pages of other content, sizes and widths (another row length) is exactly
    PyMuPDF's, with nothing of the page before left over."""
    before = set(page_files())
    renderer = PageRenderer(workers=1, cache_bytes=1)  # nothing cached: each page reuses
    try:
        for path in (colour_pdf, turned_pdf, long_pdf):
            await renderer.open(path)
        sequence = (
            (colour_pdf, 0, 400),  # a colour band over half the page
            (long_pdf, 3, 400),  # one line of text: the band must be gone
            (colour_pdf, 1, 400),
            (turned_pdf, 0, 400),  # landscape: fewer rows of the same length
            (colour_pdf, 2, 300),  # other rows: the band's bytes fall elsewhere
            (long_pdf, 5, 380),
            (colour_pdf, 4, 420),  # larger than the buffer: grown, the new bytes cleared
            (long_pdf, 7, 420),
        )
        for path, index, width_px in sequence:
            page = await renderer.render(path, index, width_px)
            expected = in_process(path, index, width_px)
            assert (page.width, page.height) == (expected.width, expected.height)
            assert set(page.samples[3::4]) == {0xFF}
            assert as_rgb(page) == expected.samples, f"{path.name} page {index + 1} at {width_px}"
            del page
            await asyncio.sleep(0)
            gc.collect()
        assert len(set(page_files()) - before) < len(sequence) / 2  # mostly drawn over
    finally:
        await renderer.close()


async def test_another_document_renders_while_a_slow_page_draws(
    renderer: PageRenderer, heavy_pdf: Path, colour_pdf: Path
) -> None:
    replaced = renderer.stats.workers_replaced
    slow = asyncio.ensure_future(renderer.render(heavy_pdf, 0, SLOW_WIDTH))
    await asyncio.sleep(0.2)  # the plan is being drawn
    started = time.perf_counter()
    layout = await renderer.open(colour_pdf)
    page = await renderer.render(colour_pdf, 4, 900)
    took = time.perf_counter() - started
    assert layout.page_count == 5 and page.width == 900
    assert not slow.done(), "the plan was drawn too fast to prove anything"
    assert took < timeout(NORMAL_PAGE_S)
    slow.cancel()  # the reader leaves the plan: drawing for long, so its worker goes
    await until(lambda: renderer.stats.workers_replaced == replaced + 1, "worker replaced", 5)
    assert renderer.cached(heavy_pdf, 0, SLOW_WIDTH) is None
    again = await renderer.render(colour_pdf, 3, 321)  # the replacement works
    assert again.width == 321


async def test_a_page_left_at_once_is_dropped_before_it_starts(
    renderer: PageRenderer, heavy_pdf: Path, colour_pdf: Path
) -> None:
    """Both workers busy: a request given up while queued never reaches a worker."""
    replaced = renderer.stats.workers_replaced
    slow = [
        asyncio.ensure_future(renderer.render(heavy_pdf, 0, width))
        for width in (SLOW_WIDTH, SLOW_WIDTH - 1)
    ]
    await asyncio.sleep(0.1)
    renders = renderer.stats.worker_renders
    queued = asyncio.ensure_future(renderer.render(colour_pdf, 1, 555))
    await asyncio.sleep(0.05)
    queued.cancel()
    for task in slow:
        task.cancel()
    await until(lambda: renderer.stats.workers_replaced == replaced + 2, "workers replaced", 5)
    await asyncio.sleep(0.1)
    assert renderer.stats.worker_renders == renders  # the queued page never started
    assert renderer.cached(colour_pdf, 1, 555) is None


async def test_a_slow_prefetch_is_stopped_at_the_time_limit(
    renderer: PageRenderer, heavy_pdf: Path, colour_pdf: Path
) -> None:
    replaced = renderer.stats.workers_replaced
    renderer.prefetch(heavy_pdf, 0, SLOW_WIDTH + 1)
    started = time.perf_counter()
    waited = await until(
        lambda: renderer.stats.workers_replaced == replaced + 1, "prefetch stopped", 8
    )
    assert waited >= 1.0 - 0.05  # not before the time limit (1 s here)
    assert time.perf_counter() - started < timeout(1.0 + 3)
    assert renderer.cached(heavy_pdf, 0, SLOW_WIDTH + 1) is None
    page = await renderer.render(colour_pdf, 2, 200)
    assert page.width == 200


async def test_a_slow_page_someone_waits_for_is_drawn(heavy_pdf: Path, colour_pdf: Path) -> None:
    """Past the time limit a page the reader still wants goes on to the end (the reader
    shows a placeholder meanwhile); a short one is never killed."""
    renderer = PageRenderer(workers=2, time_limit_s=0.2)
    try:
        page = await renderer.render(heavy_pdf, 0, 400)  # about a second or more
        assert page.width == 400 and len(set(page.samples[: page.stride * 200])) > 2
        assert renderer.stats.workers_replaced == 0
    finally:
        await renderer.close()


async def test_page_buffers_are_reused_once_let_go_and_removed_at_close(
    colour_pdf: Path, heavy_pdf: Path
) -> None:
    before = set(page_files())
    # Nothing cached (the pages are ours), and pages under 1 MB: no spare buffers made ahead.
    renderer = PageRenderer(workers=2, cache_bytes=1)
    try:
        await renderer.open(colour_pdf)
        page = await renderer.render(colour_pdf, 0, 400)
        assert len(set(page_files()) - before) == 1
        held = memoryview(page.samples)  # as a QImage on screen holds it
        at = page.stride * 20 + 80  # row 20, pixel 20: the colour band
        band = bytes(held[at : at + 3])
        assert band == bytes((30, 30, 200))  # page 1's band, B G R
        del page
        await asyncio.sleep(0)  # the loop's last references to the result go
        gc.collect()
        second = await renderer.render(colour_pdf, 1, 400)
        assert len(set(page_files()) - before) == 2  # the held one was not drawn over
        assert bytes(held[at : at + 3]) == band
        held.release()
        del second
        await asyncio.sleep(0)  # the loop's last references to the result go
        gc.collect()
        third = await renderer.render(colour_pdf, 2, 400)
        assert len(set(page_files()) - before) == 2  # one of the let-go ones, reused
        assert tuple(third.samples[third.stride * 20 + 80 : third.stride * 20 + 83]) == (
            pytest.approx((200, 60, 30), abs=3)  # page 3's band, B G R: freshly drawn
        )
        slow = asyncio.ensure_future(renderer.render(heavy_pdf, 0, SLOW_WIDTH))
        await asyncio.sleep(0.5)
        slow.cancel()  # killed: its buffer, perhaps half written, is removed, not reused
        await until(lambda: renderer.stats.workers_replaced == 1, "worker replaced", 5)
        await until(lambda: len(set(page_files()) - before) <= 2, "killed buffer removed", 5)
    finally:
        await renderer.close()
    del third
    await asyncio.sleep(0)
    gc.collect()
    assert set(page_files()) - before == set()  # every buffer gone with its last page


def mappings_of(path: Path) -> int:
    """How many mappings of ``path`` this process has (/proc/self/maps)."""
    return sum(1 for line in Path("/proc/self/maps").read_text().splitlines() if str(path) in line)


def address(page: RenderedPage) -> int:
    return ctypes.addressof(ctypes.c_ubyte.from_buffer(page.samples))


def buffer_of(page: RenderedPage) -> Path:
    """The page buffer ``page`` is mapped from (a spare buffer the renderer allocates
    meanwhile on a thread is another new file: the set of new files does not say)."""
    at = address(page)
    for line in Path("/proc/self/maps").read_text().splitlines():
        span, *_, name = line.split()
        start, end = (int(bound, 16) for bound in span.split("-"))
        if start <= at < end and "hemicycle-page-" in name:
            return Path(name)
    raise AssertionError(f"no page buffer is mapped at {at:#x}")


async def test_a_reused_buffer_stays_mapped_and_is_not_mapped_again(colour_pdf: Path) -> None:
    """The reader maps a page buffer once for its lifetime: a page drawn into a reused
    buffer is at the same address, with no second mapping of it."""
    renderer = PageRenderer(workers=1, cache_bytes=1)  # nothing cached: each page reuses
    try:
        await renderer.open(colour_pdf)
        page = await renderer.render(colour_pdf, 0, 400)
        buffer = buffer_of(page)
        first = address(page)
        assert mappings_of(buffer) == 1
        del page
        await asyncio.sleep(0)
        gc.collect()
        assert mappings_of(buffer) == 1  # let go, but still mapped: free for the next page
        for index in (1, 2, 1):
            page = await renderer.render(colour_pdf, index, 400)
            assert buffer_of(page) == buffer and address(page) == first
            assert mappings_of(buffer) == 1
            del page
            await asyncio.sleep(0)
            gc.collect()
    finally:
        await renderer.close()
    assert mappings_of(buffer) == 0 and not buffer.exists()  # unmapped with its last view


async def test_a_worker_lets_go_of_a_removed_buffer_at_once(colour_pdf: Path) -> None:
    """A worker keeps the buffers it drew into mapped for the next page; one the reader
    removes (here: larger than the free buffers it keeps) leaves the worker's memory
    then, not at its next page."""
    renderer = PageRenderer(workers=1, cache_bytes=1)
    try:
        await renderer.open(colour_pdf)
        page = await renderer.render(colour_pdf, 0, 5000)  # 141 MB: more than is kept
        buffer = buffer_of(page)
        [pid] = renderer.worker_pids

        def in_worker() -> bool:
            return str(buffer) in Path(f"/proc/{pid}/maps").read_text(encoding="ascii")

        assert in_worker()
        del page
        await asyncio.sleep(0)
        gc.collect()
        assert not buffer.exists()
        await until(lambda: not in_worker(), "the worker let go of the removed buffer", 5)
    finally:
        await renderer.close()


async def test_a_slice_of_a_page_keeps_its_buffer_from_reuse(colour_pdf: Path) -> None:
    """Any view made from a page's pixels (a slice, a QImage's) holds the buffer: it is
    not drawn over until the last one is gone."""
    before = set(page_files())
    renderer = PageRenderer(workers=1, cache_bytes=1)
    try:
        await renderer.open(colour_pdf)
        page = await renderer.render(colour_pdf, 0, 400)
        at = page.stride * 20 + 80  # row 20, pixel 20: the colour band
        band = page.samples[at : at + 3]  # a slice, not the page's own view
        assert bytes(band) == bytes((30, 30, 200))
        del page
        await asyncio.sleep(0)
        gc.collect()
        other = await renderer.render(colour_pdf, 2, 400)
        assert len(set(page_files()) - before) == 2  # a new buffer: the held one is in use
        assert bytes(band) == bytes((30, 30, 200))
        del band, other
    finally:
        await renderer.close()


async def test_pages_left_by_a_crashed_tablet_are_swept() -> None:
    gone = 2**22 + 17  # above Linux's default pid_max: no such process
    orphan = Path("/dev/shm") / f"hemicycle-page-{gone}-0123456789abcdef"
    orphan.write_bytes(b"\0" * 4096)
    mine = Path("/dev/shm") / f"hemicycle-page-{os.getpid()}-fedcba9876543210"
    mine.write_bytes(b"\0" * 4096)  # this process's own (a render on its way) stays
    renderer = PageRenderer(workers=2)
    try:
        renderer.start()
        assert not orphan.exists() and mine.exists()
    finally:
        mine.unlink()
        orphan.unlink(missing_ok=True)
        await renderer.close()


async def test_a_page_left_early_may_draw_until_abandon_after_s(heavy_pdf: Path) -> None:
    """Given up 0.1 s in: it may still finish (an ordinary page would), but a worker
    still drawing it 0.6 s after it started is replaced, long before the time limit."""
    renderer = PageRenderer(workers=2, time_limit_s=30, abandon_after_s=0.6)
    try:
        await renderer.open(heavy_pdf)
        slow = asyncio.ensure_future(renderer.render(heavy_pdf, 0, SLOW_WIDTH))
        await asyncio.sleep(0.1)
        slow.cancel()
        left = time.perf_counter()
        await until(lambda: renderer.stats.workers_replaced == 1, "worker replaced", 10)
        waited = time.perf_counter() - left
        assert 0.4 <= waited < timeout(0.5 + 3)
        assert renderer.cached(heavy_pdf, 0, SLOW_WIDTH) is None
    finally:
        await renderer.close()
