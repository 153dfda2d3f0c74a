"""The display's page renderer: real PDFs through the real PyMuPDF worker process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pymupdf
import pytest

from kiosk.page_render import PageRenderError, Renderer
from kiosk.presentation import marks_on_page
from room_protocol.annotations import Annotation, AnnotationKind, Visibility
from tests.rooms import timeout, write_pdf


def rotated_pdf(path: Path) -> Path:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((72, 100), "Turned", fontsize=24)
    page.set_rotation(90)
    doc.save(path)
    doc.close()
    return path


def test_pages_fit_the_box_and_bad_input_gets_a_clear_error(tmp_path: Path) -> None:
    pdf = write_pdf(tmp_path / "budget.pdf", 3, "Budget")
    turned = rotated_pdf(tmp_path / "turned.pdf")
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"this is not a PDF at all")

    async def body() -> None:
        renderer = Renderer()
        try:
            page = await renderer.render(pdf, 1, 1800, 800)
            assert page.height == 800 and page.width < 1800  # portrait: the height limits
            assert (page.page_width, page.page_height) == (595, 842)
            assert len(page.samples) == page.stride * page.height
            wide = await renderer.render(turned, 0, 1800, 800)
            assert (wide.page_width, wide.page_height) == (842, 595)
            assert wide.width > wide.height
            # the room's annotation points (unrotated page) land where the page shows them
            note = Annotation(
                "n",
                "chair",
                "ab" * 32,
                0,
                kind=AnnotationKind.NOTE,
                geometry=(10.0, 20.0),
                visibility=Visibility.PRESENTER,
            )
            assert marks_on_page([note], wide.rotation)[0].points == ((822.0, 10.0),)
            with pytest.raises(PageRenderError, match="has no page 4"):
                await renderer.render(pdf, 3, 800, 800)
            with pytest.raises(PageRenderError, match=r"junk\.pdf is not a readable PDF"):
                await renderer.render(junk, 0, 800, 800)
            with pytest.raises(PageRenderError, match="box of 0 x 800"):
                await renderer.render(pdf, 0, 0, 800)
            # still working after the errors
            assert (await renderer.render(pdf, 0, 400, 400)).height == 400
        finally:
            await renderer.close()

    asyncio.run(asyncio.wait_for(body(), timeout(60)))
