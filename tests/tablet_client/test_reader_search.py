"""Search in the reader: real PDFs, the real renderer's workers, real widgets."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from pytestqt.qtbot import QtBot

from room_client.confidential import seal
from tablet_client.document_controller import DocumentController
from tablet_client.i18n import set_language
from tablet_client.render import PageRenderer, fold
from tablet_client.search_controller import HeldDocument, SearchController
from tablet_client.views.document_view import DocumentView
from tests.tablet_client.conftest import A4

Run = Callable[[Coroutine[Any, Any, Any]], Any]

# page index -> where "budget" is written (points from the top left)
BUDGET_AT = {1: (72.0, 200.0), 3: (300.0, 650.0)}


def make_budget_pdf(path: Path, word_at: dict[int, tuple[float, float]]) -> Path:
    doc = pymupdf.open()
    for index in range(4):
        page = doc.new_page(width=A4[0], height=A4[1])
        page.insert_text((72, 100), f"Agenda item {index + 1}: the committee reports", fontsize=14)
        if index in word_at:
            page.insert_text(word_at[index], "The annual budget is adopted", fontsize=14)
    doc.save(path)
    doc.close()
    return path


def pymupdf_rects(path: Path, index: int, words: str) -> list[tuple[float, float, float, float]]:
    with pymupdf.open(path) as doc:
        return [tuple(r) for r in doc[index].search_for(words)]  # type: ignore[misc]


def flat(rects: list[tuple[float, float, float, float]]) -> list[float]:
    return [value for rect in rects for value in rect]


class SearchingReader:
    def __init__(self, qtbot: QtBot, renderer: PageRenderer, meeting: Any = None) -> None:
        self.view = DocumentView()
        qtbot.addWidget(self.view)
        self.view.resize(1280, 800)
        self.controller = DocumentController(self.view, renderer)
        self.search = SearchController(self.view, self.controller, renderer, meeting)
        self.shown: list[int] = []
        self.controller.page_shown.connect(self.shown.append)
        self.view.show()
        qtbot.waitExposed(self.view)

    def close(self) -> None:
        self.search.close()
        self.controller.close()


@pytest.fixture
def budget_pdf(tmp_path: Path) -> Path:
    return make_budget_pdf(tmp_path / "budget.pdf", BUDGET_AT)


@pytest.fixture
def reader(qtbot: QtBot, qt_renderer: PageRenderer) -> Iterator[SearchingReader]:
    reader = SearchingReader(qtbot, qt_renderer)
    yield reader
    reader.close()


def test_hits_listed_gone_to_and_highlighted_where_pymupdf_finds_them(
    reader: SearchingReader, budget_pdf: Path, run_async: Run, wait_until: Any
) -> None:
    async def body() -> None:
        await reader.controller.open(budget_pdf, "Budget")
        reader.view.open_search()
        panel = reader.view.search_panel
        assert panel.isVisible()
        assert panel.field.height() >= 48 and panel.go.height() >= 48
        panel.field.setText("BUDGET")  # any case
        panel.go.click()
        await reader.search.wait()
        hits = [hit for _title, hit in reader.search.rows]
        assert [hit.page_index for hit in hits if hit] == [1, 3]
        assert panel.status.text() == "Matches: 2."
        assert panel.hits.item(0).text() == "Page 2 — The annual budget is adopted"
        # the first hit is gone to, its box drawn where PyMuPDF says
        assert reader.controller.current_page == 1
        await wait_until(lambda: 1 in reader.shown, "page 2 shown")
        layer = reader.view.annotation_layer
        expected = pymupdf_rects(budget_pdf, 1, "budget")
        assert flat(layer.search_hits) == pytest.approx(flat(expected), abs=0.01)
        drawn = layer.search_hit_rects()[0]
        rect = reader.view.page_rect
        scale = rect.width() / A4[0]
        x0, y0, x1, y1 = expected[0]
        assert drawn.left() == pytest.approx(layer.to_layer(x0, y0).x(), abs=0.5)
        assert drawn.width() == pytest.approx((x1 - x0) * scale, abs=0.5)
        assert drawn.height() == pytest.approx((y1 - y0) * scale, abs=0.5)
        # zooming in: the box follows the page
        reader.controller.set_zoom(2.0)
        zoomed = layer.search_hit_rects()[0]
        assert zoomed.width() == pytest.approx(2 * drawn.width(), rel=0.02)
        # next hit: page 4, its own box; next again wraps round to page 2
        panel.next.click()
        assert reader.controller.current_page == 3
        await wait_until(lambda: 3 in reader.shown, "page 4 shown")
        assert flat(layer.search_hits) == pytest.approx(
            flat(pymupdf_rects(budget_pdf, 3, "budget")), abs=0.01
        )
        panel.previous.click()
        assert reader.controller.current_page == 1
        # tapping a listed hit
        panel.hits.itemClicked.emit(panel.hits.item(1))
        assert reader.controller.current_page == 3
        # a page without a hit shows no box
        reader.controller.go_to(0)
        await wait_until(lambda: 0 in reader.shown, "page 1 shown")
        assert layer.search_hits == []

    run_async(body())


def test_a_word_not_there_says_no_matches_and_bad_searches_are_refused(
    reader: SearchingReader, budget_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await reader.controller.open(budget_pdf, "Budget")
        panel = reader.view.search_panel
        reader.search.search("zebra")
        await reader.search.wait()
        assert reader.search.rows == []
        assert panel.status.text() == "No matches for “zebra”."
        assert reader.controller.current_page == 0
        reader.search.search("   ")
        assert panel.status.text() == "Type the words to find."
        reader.search.search("x" * 201)
        await reader.search.wait()
        assert panel.status.text().startswith("This search cannot be made: a search is at most")
        assert reader.search.rows == []
        set_language("vi")
        reader.search.search("zebra")
        await reader.search.wait()
        assert panel.status.text() == "Không tìm thấy “zebra”."
        assert panel.next.text() == "Kết quả sau"

    run_async(body())


async def test_the_worker_search_is_bounded_and_validates(budget_pdf: Path, long_pdf: Path) -> None:
    renderer = PageRenderer(workers=1)
    try:
        result = await renderer.search(budget_pdf, "budget")
        assert result.complete and result.pages_searched == 4
        first = await renderer.search(long_pdf, "Congress pack", max_hits=3)
        assert [hit.page_index for hit in first.hits] == [0, 1, 2]
        assert not first.complete
        # a time limit no search of 1,000 pages can meet: it stops, and says so
        bounded = await renderer.search(long_pdf, "Congress pack", time_limit_s=1e-6)
        assert not bounded.complete and bounded.pages_searched < bounded.page_count == 1000
        with pytest.raises(ValueError, match="type a word"):
            await renderer.search(budget_pdf, " \n ")
        with pytest.raises(ValueError, match="at most 200"):
            await renderer.search(budget_pdf, "a" * 201)
    finally:
        await renderer.close()


class Meeting:
    """The tablet's side of a meeting search: held documents, opened in the reader."""

    def __init__(self, documents: list[HeldDocument]) -> None:
        self.documents = documents
        self.reader: DocumentController | None = None
        self.opened: list[tuple[str, int]] = []

    def held_documents(self) -> list[HeldDocument]:
        return list(self.documents)

    async def open_document(self, sha: str, page: int = 0, *, show: bool = True) -> None:
        assert self.reader is not None
        doc = next(d for d in self.documents if d.sha256 == sha)
        self.opened.append((sha, page))
        await self.reader.open(doc.path, doc.title, page, key=doc.key)


def test_search_across_the_meetings_documents_groups_and_opens(
    qtbot: QtBot, qt_renderer: PageRenderer, tmp_path: Path, run_async: Run, wait_until: Any
) -> None:
    plain = make_budget_pdf(tmp_path / "a.pdf", BUDGET_AT)
    other = make_budget_pdf(tmp_path / "b.pdf", {2: (100.0, 400.0)})
    none = make_budget_pdf(tmp_path / "c.pdf", {})
    key = secrets.token_bytes(32)
    secret_plain = make_budget_pdf(tmp_path / "d.pdf", {0: (80.0, 300.0)})
    sealed = tmp_path / "d.pdf.sealed"
    sealed.write_bytes(seal(key, secret_plain.read_bytes()))
    secret_plain.unlink()
    meeting = Meeting(
        [
            HeldDocument("a" * 64, "Budget 2027", plain),
            HeldDocument("b" * 64, "Minutes", other),
            HeldDocument("c" * 64, "Seating", none),
            HeldDocument("d" * 64, "Audit (confidential)", sealed, key),
        ]
    )
    reader = SearchingReader(qtbot, qt_renderer, meeting)
    meeting.reader = reader.controller

    async def body() -> None:
        await reader.controller.open(plain, "Budget 2027")
        reader.view.open_search()
        panel = reader.view.search_panel
        assert panel.whole_meeting.isVisible()
        panel.whole_meeting.click()
        panel.field.setText("budget")
        panel.go.click()
        await reader.search.wait()
        rows = [(title, hit.page_index if hit else None) for title, hit in reader.search.rows]
        assert rows == [
            ("Budget 2027", None),
            ("Budget 2027", 1),
            ("Budget 2027", 3),
            ("Minutes", None),
            ("Minutes", 2),
            ("Audit (confidential)", None),
            ("Audit (confidential)", 0),
        ]
        assert panel.hits.item(0).text() == "Budget 2027"
        assert panel.status.text() == "Matches: 4."
        # nothing opened by the search itself
        assert meeting.opened == [] and reader.controller.current_page == 0
        # tapping a hit in another document opens it at the hit, its box drawn
        panel.hits.itemClicked.emit(panel.hits.item(4))
        await reader.search.wait()
        assert meeting.opened == [("b" * 64, 2)]
        assert reader.controller.path == other and reader.controller.current_page == 2
        await wait_until(lambda: reader.view.annotation_layer.search_hits != [], "hit drawn")
        assert flat(reader.view.annotation_layer.search_hits) == pytest.approx(
            flat(pymupdf_rects(other, 2, "budget")), abs=0.01
        )
        # the confidential one, through its key
        panel.hits.itemClicked.emit(panel.hits.item(6))
        await reader.search.wait()
        assert reader.controller.path == sealed and reader.view.confidential
        # a heading is not a hit
        panel.hits.itemClicked.emit(panel.hits.item(0))
        assert reader.controller.path == sealed

    try:
        run_async(body())
    finally:
        reader.close()


async def test_a_hit_wrapped_onto_the_next_line_is_one_hit(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    # "the budget of" ends the first line, "the committee" starts the second
    page.insert_textbox(
        pymupdf.Rect(72, 72, 250, 200), "Adopt the budget of the committee now.", fontsize=14
    )
    page.insert_text((72, 400), "the budget of the committee", fontsize=14)
    doc.save(path)
    doc.close()
    renderer = PageRenderer(workers=1)
    try:
        result = await renderer.search(path, "budget of the  committee")
    finally:
        await renderer.close()
    assert [len(hit.rects) for hit in result.hits] == [2, 1]
    assert flat(list(result.hits[0].rects)) == pytest.approx(
        flat(pymupdf_rects(path, 0, "budget of the committee")[:2]), abs=0.01
    )
    assert result.hits[1].snippet == "the budget of the committee"


# --- Vietnamese typed without diacritics --------------------------------------------------

VI_FONT = "notos"  # Noto Sans (pymupdf-fonts), as the room's minutes use: every diacritic
VI_PAGES = (
    ("Kế hoạch đầu tư công trung hạn 2026–2030", "Báo cáo tình hình kinh tế – xã hội"),
    ("Báo cáo của Ủy ban kinh tế", "Vốn ĐẦU TƯ PHÁT TRIỂN; kế hoạch năm 2027"),
    ("Đại biểu thảo luận ở tổ", "Không có nội dung liên quan"),
)


def make_vietnamese_pdf(path: Path) -> Path:
    doc = pymupdf.open()
    font = pymupdf.Font(VI_FONT)
    for lines in VI_PAGES:
        page = doc.new_page(width=A4[0], height=A4[1])
        page.insert_font(fontname="vi", fontbuffer=font.buffer)
        for row, line in enumerate(lines):
            page.insert_text((72, 120 + 40 * row), line, fontsize=14, fontname="vi")
    doc.save(path)
    doc.close()
    return path


def words_in(path: Path, index: int, rect: tuple[float, float, float, float]) -> str:
    """The words PyMuPDF reads inside ``rect`` of page ``index``."""
    with pymupdf.open(path) as doc:
        return " ".join(doc[index].get_textbox(pymupdf.Rect(rect)).split())


def test_fold_drops_case_and_diacritics_and_maps_the_stroked_d() -> None:
    assert fold("Kế hoạch ĐẦU TƯ") == "ke hoach dau tu"
    assert fold("Đại biểu Ủy ban") == "dai bieu uy ban"
    assert fold("ﬁnance") == "finance"  # a ligature, as some PDFs have it
    assert fold("budget") == "budget"


async def test_vietnamese_typed_without_diacritics_finds_the_words(tmp_path: Path) -> None:
    path = make_vietnamese_pdf(tmp_path / "ke-hoach.pdf")
    renderer = PageRenderer(workers=1)
    try:
        plan = await renderer.search(path, "ke hoach")
        invest = await renderer.search(path, "dau tu")
        mixed = await renderer.search(path, "KẾ HOACH")
        exact = await renderer.search(path, "Đầu tư")
        stroke = await renderer.search(path, "dai bieu")
        nothing = await renderer.search(path, "ke hoach dau tu phat")
    finally:
        await renderer.close()
    assert [hit.page_index for hit in plan.hits] == [0, 1]
    assert [hit.page_index for hit in mixed.hits] == [0, 1]
    assert [hit.page_index for hit in invest.hits] == [0, 1]
    assert [hit.page_index for hit in exact.hits] == [0, 1]
    assert [hit.page_index for hit in stroke.hits] == [2]
    assert not nothing.hits and nothing.complete
    # the boxes are on the words, as PyMuPDF finds them typed with their diacritics
    for result, words in ((plan, ("Kế hoạch", "kế hoạch")), (invest, ("đầu tư", "ĐẦU TƯ"))):
        for hit, written in zip(result.hits, words, strict=True):
            (box,) = hit.rects
            assert words_in(path, hit.page_index, box) == written
            assert flat([box]) == pytest.approx(
                flat(pymupdf_rects(path, hit.page_index, written)), abs=0.01
            )
    assert plan.hits[0].snippet == "Kế hoạch đầu tư công trung hạn 2026–2030"
    assert invest.hits[1].snippet == "Vốn ĐẦU TƯ PHÁT TRIỂN; kế hoạch năm 2027"
    assert words_in(path, 2, stroke.hits[0].rects[0]) == "Đại biểu"


def test_the_reader_finds_vietnamese_typed_without_diacritics(
    reader: SearchingReader, tmp_path: Path, run_async: Run, wait_until: Any
) -> None:
    path = make_vietnamese_pdf(tmp_path / "ke-hoach.pdf")

    async def body() -> None:
        await reader.controller.open(path, "Kế hoạch đầu tư")
        reader.view.open_search()
        panel = reader.view.search_panel
        panel.field.setText("dau tu")
        panel.go.click()
        await reader.search.wait()
        assert panel.status.text() == "Matches: 2."
        assert panel.hits.item(0).text() == "Page 1 — Kế hoạch đầu tư công trung hạn 2026–2030"
        assert panel.hits.item(1).text() == "Page 2 — Vốn ĐẦU TƯ PHÁT TRIỂN; kế hoạch năm 2027"
        await wait_until(lambda: 0 in reader.shown, "page 1 shown")
        layer = reader.view.annotation_layer
        assert flat(layer.search_hits) == pytest.approx(
            flat(pymupdf_rects(path, 0, "đầu tư")), abs=0.01
        )
        panel.next.click()
        await wait_until(lambda: 1 in reader.shown, "page 2 shown")
        assert flat(layer.search_hits) == pytest.approx(
            flat(pymupdf_rects(path, 1, "ĐẦU TƯ")), abs=0.01
        )

    run_async(body())
