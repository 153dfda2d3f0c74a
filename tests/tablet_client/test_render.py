"""PageRenderer against real PDFs and a real worker process."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pymupdf
import pytest
import pytest_asyncio

from tablet_client.render import PageRenderer, RenderError
from tests.rooms import timeout

# One worker spawn for the whole module: tests share the loop and the renderer.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def renderer(colour_pdf: Path) -> AsyncIterator[PageRenderer]:
    renderer = PageRenderer(cache_bytes=64 * 1024 * 1024)
    renderer.start()
    await renderer.open(colour_pdf)  # warm: the worker has imported PyMuPDF
    yield renderer
    await renderer.close()


@pytest.fixture(scope="module")
def mixed_pdf(pdf_dir: Path) -> Path:
    """Portrait A4, landscape A4, and a portrait page rotated by 90 degrees."""
    path = pdf_dir / "mixed.pdf"
    doc = pymupdf.open()
    doc.new_page(width=595, height=842).insert_text((72, 72), "portrait")
    doc.new_page(width=842, height=595).insert_text((72, 72), "landscape")
    rotated = doc.new_page(width=595, height=842)
    rotated.insert_text((72, 72), "rotated")
    rotated.set_rotation(90)
    doc.save(path)
    doc.close()
    return path


async def test_open_reports_page_count_and_sizes(renderer: PageRenderer, mixed_pdf: Path) -> None:
    layout = await renderer.open(mixed_pdf)
    assert layout.path == mixed_pdf
    assert layout.page_count == 3
    assert layout.page_sizes == ((595, 842), (842, 595), (842, 595))


async def test_open_long_document(renderer: PageRenderer, long_pdf: Path) -> None:
    start = time.perf_counter()
    layout = await renderer.open(long_pdf)
    opened = time.perf_counter() - start
    page = await renderer.render(long_pdf, 0, 1920)
    first_page = time.perf_counter() - start
    flip_start = time.perf_counter()
    await renderer.render(long_pdf, 1, 1920)
    flip = time.perf_counter() - flip_start
    print(
        f"\n1,000-page PDF, warm worker: open {opened * 1000:.1f} ms, "
        f"open + first page at 1920 px {first_page * 1000:.1f} ms, "
        f"uncached flip {flip * 1000:.1f} ms"
    )
    assert layout.page_count == 1000
    assert set(layout.page_sizes) == {(595, 842)}
    assert page.width == 1920
    assert first_page < timeout(5)  # generous: only catches a pathological regression


async def test_render_dimensions_and_content(renderer: PageRenderer, colour_pdf: Path) -> None:
    page = await renderer.render(colour_pdf, 2, 600)
    assert page.page_index == 2
    assert page.width == 600
    assert abs(page.height - round(600 * 842 / 595)) <= 1
    assert page.stride == page.width * 4  # Format_RGB32
    assert len(page.samples) == page.nbytes == page.stride * page.height
    assert len(set(page.samples[:])) > 10  # colour band, white text, black text, white paper
    top = page.samples[page.stride * 20 + 4 * 20 : page.stride * 20 + 4 * 21]
    assert tuple(top) == pytest.approx((200, 60, 30, 255), abs=3)  # page 3's band, B G R


async def test_cache_hit_returns_same_object_without_worker(
    renderer: PageRenderer, colour_pdf: Path
) -> None:
    first = await renderer.render(colour_pdf, 1, 321)
    before = renderer.stats
    second = await renderer.render(colour_pdf, 1, 321)
    assert second is first
    assert renderer.stats.worker_renders == before.worker_renders
    assert renderer.stats.cache_hits == before.cache_hits + 1


async def test_concurrent_identical_requests_share_one_render(
    renderer: PageRenderer, colour_pdf: Path
) -> None:
    before = renderer.stats.worker_renders
    pages = await asyncio.gather(*(renderer.render(colour_pdf, 4, 333) for _ in range(5)))
    assert all(page is pages[0] for page in pages)
    assert renderer.stats.worker_renders == before + 1


async def test_prefetch_fills_the_cache(renderer: PageRenderer, colour_pdf: Path) -> None:
    renderer.prefetch(colour_pdf, 3, 250)
    for _ in range(500):
        if renderer.cached(colour_pdf, 3, 250) is not None:
            break
        await asyncio.sleep(0.01)
    before = renderer.stats.worker_renders
    page = await renderer.render(colour_pdf, 3, 250)
    assert page.width == 250
    assert renderer.stats.worker_renders == before


async def test_cancelled_caller_does_not_break_the_shared_job(
    renderer: PageRenderer, colour_pdf: Path
) -> None:
    impatient = asyncio.ensure_future(renderer.render(colour_pdf, 0, 444))
    patient = asyncio.ensure_future(renderer.render(colour_pdf, 0, 444))
    await asyncio.sleep(0)
    impatient.cancel()
    page = await patient
    assert page.width == 444


async def test_corrupt_file_is_a_clear_error(
    renderer: PageRenderer, corrupt_pdf: Path, tmp_path: Path
) -> None:
    with pytest.raises(RenderError, match=r"corrupt\.pdf is not a readable PDF file"):
        await renderer.open(corrupt_pdf)
    with pytest.raises(RenderError, match="not a readable PDF file"):
        await renderer.render(corrupt_pdf, 0, 100)
    not_pdf = tmp_path / "minutes.pdf"
    not_pdf.write_bytes(b"PK\x03\x04 this is a zip, not a PDF")
    with pytest.raises(RenderError, match=r"minutes\.pdf is not a readable PDF file"):
        await renderer.open(not_pdf)


async def test_encrypted_pdf_is_a_clear_error(renderer: PageRenderer, encrypted_pdf: Path) -> None:
    with pytest.raises(RenderError, match=r"encrypted\.pdf is password-protected"):
        await renderer.open(encrypted_pdf)


async def test_missing_file_and_missing_page(
    renderer: PageRenderer, tmp_path: Path, colour_pdf: Path
) -> None:
    with pytest.raises(RenderError, match=r"absent\.pdf: file not found"):
        await renderer.open(tmp_path / "absent.pdf")
    with pytest.raises(RenderError, match="has no page 6 \\(it has 5\\)"):
        await renderer.render(colour_pdf, 5, 100)


async def test_renderer_keeps_working_after_errors(
    renderer: PageRenderer, corrupt_pdf: Path, colour_pdf: Path
) -> None:
    with pytest.raises(RenderError):
        await renderer.render(corrupt_pdf, 0, 120)
    page = await renderer.render(colour_pdf, 0, 120)
    assert page.width == 120


async def test_cache_is_bounded_by_bytes(colour_pdf: Path) -> None:
    page_bytes = 200 * 284 * 4  # 200 px wide A4 page, RGB32
    small = PageRenderer(cache_bytes=int(page_bytes * 2.5))
    small.start()
    try:
        for index in range(4):
            await small.render(colour_pdf, index, 200)
        assert small.stats.cached_pages == 2
        assert small.stats.cached_bytes <= page_bytes * 2.5
        assert small.cached(colour_pdf, 0, 200) is None  # least recently used went first
        assert small.cached(colour_pdf, 3, 200) is not None
    finally:
        await small.close()


async def test_rejects_silly_widths(renderer: PageRenderer, colour_pdf: Path) -> None:
    with pytest.raises(ValueError, match="width_px"):
        await renderer.render(colour_pdf, 0, 0)


async def test_page_text_gives_words_in_unrotated_points_and_the_rotation(
    renderer: PageRenderer, mixed_pdf: Path
) -> None:
    upright = await renderer.page_text(mixed_pdf, 0)
    assert upright.rotation == (1, 0, 0, 1, 0, 0) and upright.size == (595, 842)
    [word] = upright.words
    assert word.text == "portrait" and word.line == (0, 0)
    assert word.x0 == 72 and word.y0 < 72 < word.y1  # its baseline at y 72
    turned = await renderer.page_text(mixed_pdf, 2)
    assert turned.rotation == (0, 1, -1, 0, 842, 0) and turned.size == (842, 595)
    [word] = turned.words  # the same place on the unrotated page
    assert word.text == "rotated" and word.x0 == 72 and word.y0 < 72 < word.y1
    assert await renderer.page_text(mixed_pdf, 2) is turned  # kept for the page


async def test_page_text_of_a_missing_page_or_a_bad_file_is_a_render_error(
    renderer: PageRenderer, mixed_pdf: Path, corrupt_pdf: Path
) -> None:
    with pytest.raises(RenderError, match=r"mixed\.pdf has no page 4 \(it has 3\)"):
        await renderer.page_text(mixed_pdf, 3)
    with pytest.raises(RenderError, match=r"corrupt\.pdf is not a readable PDF file"):
        await renderer.page_text(corrupt_pdf, 0)


async def test_layout_sizes_are_page_rects_with_crop_boxes_and_turns(
    renderer: PageRenderer, pdf_dir: Path
) -> None:
    """The layout reads sizes from the page objects (not loading each page): the same
    as PyMuPDF's page.rect, crop box, /Rotate and all."""
    path = pdf_dir / "cropped-and-turned.pdf"
    doc = pymupdf.open()
    for index, (width, height) in enumerate(
        [(595, 842), (842, 595), (612, 792), (300.5, 400.25)] * 3
    ):
        page = doc.new_page(width=width, height=height)
        if index % 3 == 0:
            page.set_rotation((90, 180, 270)[index % 3 + index // 6])
        if index % 2 == 0:
            page.set_cropbox(pymupdf.Rect(10, 20, width - 30, height - 15))
    doc.save(path)
    doc.close()
    layout = await renderer.open(path)
    with pymupdf.open(path) as check:
        expected = tuple((page.rect.width, page.rect.height) for page in check)
    assert len(layout.page_sizes) == len(expected) == 12
    for got, want in zip(layout.page_sizes, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-3)
    assert expected[0] == (807, 555) and expected[2] == (572, 757)  # turned; cropped
