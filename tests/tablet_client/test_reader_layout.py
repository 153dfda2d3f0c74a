"""The reader on a 10-inch tablet: go to a page, full-screen reading with the follow state
in a thin strip, and a readable default — real tablet windows, real PDFs, real renders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QScrollArea,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from room_client.connection import RoomConnection, RoomEndpoint
from room_protocol.live import FollowState, SignedIn, SignedOut
from room_protocol.messages import Role
from tablet_client.i18n import set_language
from tablet_client.render import PageRenderer
from tablet_client.tablet_controller import TabletController, TabletSettings
from tablet_client.views.main_window import MainWindow
from tests.rooms import enroll_device, timeout
from tests.tablet_client.conftest import A4, until
from tests.tablet_client.fed import FedTablet

Run = Callable[[Coroutine[Any, Any, Any]], Any]
SHA = "ab" * 32  # the document the chair shows (held here as the test's PDF)
BODY_PT = 11.0  # body text of the generated pack
SHOTS = Path("/tmp/shots-reader")


def make_pack(path: Path, pages: int = 8) -> Path:
    """An A4 pack: a heading and a page of 11 pt body text on every page."""
    doc = pymupdf.open()
    for index in range(pages):
        page = doc.new_page(width=A4[0], height=A4[1])
        page.insert_text((72, 90), f"Section {index + 1}: the committee's report", fontsize=18)
        page.insert_textbox(
            pymupdf.Rect(72, 120, A4[0] - 72, A4[1] - 72),
            "The assembly notes the report and the budget of the committee. " * 40,
            fontsize=BODY_PT,
        )
    doc.save(path)
    doc.close()
    return path


def body_text_height_pt(path: Path) -> float:
    """Height of a body line's words as PyMuPDF boxes them."""
    with pymupdf.open(path) as doc:
        words = doc[0].get_text("words")
    heights = sorted(w[3] - w[1] for w in words if w[5] > 0)  # blocks after the heading
    return float(heights[len(heights) // 2])


def child(window: QWidget, kind: type[Any], name: str) -> Any:
    found = window.findChild(kind, name)
    assert found is not None, name
    return found


async def open_reader(tablet: FedTablet, pdf: Path, size: tuple[int, int]) -> None:
    tablet.window.resize(*size)
    await tablet.tablet.reader.open(pdf, "Report of the finance committee")
    tablet.tablet.showing = SHA
    view = tablet.window.document_view
    tablet.window.show_screen(view)

    def drawn_for_the_window() -> bool:  # the resize debounce re-renders at the new size
        shown, rect = view.displayed_pixmap_size, view.page_rect
        return shown.isValid() and abs(shown.width() - rect.width()) <= 1 and rect.width() > 0

    await asyncio.sleep(0.1)  # the debounce starts after the window's resize events
    await until(drawn_for_the_window, "the page drawn at the window's size")


def shot(widget: QWidget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / f"{name}.png"))


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    return make_pack(tmp_path / "pack.pdf")


def test_tapping_the_page_number_goes_to_a_typed_page_and_refuses_bad_input(
    fed: Callable[..., FedTablet], pack: Path, qtbot: QtBot, run_async: Run
) -> None:
    tablet = fed()
    tablet.start()
    view = tablet.window.document_view
    reader = tablet.tablet.reader

    async def body() -> None:
        await open_reader(tablet, pack, (1280, 800))
        label = child(view, QLabel, "page_label")
        field = child(view, QLineEdit, "goto_field")
        go = child(view, QPushButton, "goto_go")
        assert not field.isVisible()
        qtbot.mouseClick(label, Qt.MouseButton.LeftButton)
        assert field.isVisible() and field.height() >= 48 and go.height() >= 48
        for typed in ("0", "9", "abc", "-2", "", "٣"):  # 8 pages; an Arabic-Indic digit too
            field.setText(typed)
            go.click()
            assert view.go_to_error == f"“{typed}” is not a page: type a number from 1 to 8."
            assert reader.current_page == 0 and field.isVisible()
        field.setText(" 6 ")
        qtbot.keyClick(field, Qt.Key.Key_Return)
        assert reader.current_page == 5 and not field.isVisible()
        assert child(view, QLabel, "page_label").text() == "Page 6 of 8"
        # Vietnamese, and cancel leaves the page as it was
        set_language("vi")
        qtbot.mouseClick(label, Qt.MouseButton.LeftButton)
        field.setText("x")
        go.click()
        assert view.go_to_error == "“x” không phải là số trang: hãy nhập một số từ 1 đến 8."
        child(view, QPushButton, "goto_cancel").click()
        assert not field.isVisible() and reader.current_page == 5

    run_async(body())


def test_full_screen_reading_keeps_the_follow_state_in_a_thin_strip(
    fed: Callable[..., FedTablet], pack: Path, qtbot: QtBot, run_async: Run, wait_until: Any
) -> None:
    tablet = fed()
    tablet.start()
    window = tablet.window
    view = window.document_view

    async def body() -> None:
        await open_reader(tablet, pack, (1280, 800))
        tablet.feed(FollowState(1, SHA, 3))  # the chair is on page 4 of this document
        await wait_until(lambda: tablet.tablet.reader.current_page == 3, "the chair's page")
        area_before = view.page_area.height()
        top_bar = child(window, QFrame, "top_bar")
        assert top_bar.isVisible()
        child(view, QToolButton, "full_screen").click()
        strip = child(view, QToolButton, "reading_strip")
        assert strip.isVisible() and strip.height() <= 24
        assert view.strip_text.startswith("Following the chair — page 4")
        for hidden in (top_bar, child(view, QFrame, "toolbar"), window.floor_bar):
            assert not hidden.isVisible()
        assert not child(view, QListWidget, "thumbnails").isVisible()
        await asyncio.sleep(0)
        assert view.page_area.height() >= area_before + 150
        assert view.page_area.height() >= 800 - 24 - 1
        shot(window, "full-screen-1280x800-en")
        # the chair turns the page: the strip follows; leaving says so
        tablet.feed(FollowState(2, SHA, 5))
        await wait_until(lambda: "page 6" in view.strip_text, "the strip's new page")
        view.next_requested.emit()  # the reader turns a page alone
        await wait_until(lambda: "Reading on your own" in view.strip_text, "reading alone")
        set_language("vi")
        assert view.strip_text.startswith("Đang tự đọc")
        shot(window, "full-screen-1280x800-vi")
        set_language("en")
        # one tap on the strip brings everything back
        qtbot.mouseClick(strip, Qt.MouseButton.LeftButton, pos=QPoint(10, 10))
        assert not strip.isVisible() and top_bar.isVisible() and window.floor_bar.isVisible()
        await asyncio.sleep(0)
        assert view.page_area.height() == area_before
        # Escape (a chair's laptop) leaves it too, and so does leaving the reader
        child(view, QToolButton, "full_screen").click()
        qtbot.keyClick(view, Qt.Key.Key_Escape)
        assert not view.full_screen and top_bar.isVisible()
        child(view, QToolButton, "full_screen").click()
        window.show_screen(window.agenda_view)
        assert top_bar.isVisible() and not view.full_screen

    run_async(body())


@pytest.mark.parametrize("size", [(1280, 800), (800, 1280)], ids=["landscape", "portrait"])
def test_a_readable_default_on_a_10_inch_tablet(
    fed: Callable[..., FedTablet], pack: Path, size: tuple[int, int], run_async: Run
) -> None:
    tablet = fed()
    tablet.start()
    window = tablet.window
    view = window.document_view

    async def body() -> None:
        await open_reader(tablet, pack, size)
        assert tablet.tablet.reader.fit_mode == "width"
        # body text big enough to read without zooming
        scale = view.page_rect.width() / A4[0]  # logical px per point
        assert body_text_height_pt(pack) * scale >= 9
        # a scroll bar a finger can drag
        bar = child(view, QScrollArea, "page_area").verticalScrollBar()
        await until(bar.isVisible, "the page's scroll bar (laid out after the page)")
        assert bar.width() >= 24
        # the bars leave the page most of the height
        height = window.centralWidget().height()
        bars = height - view.page_area.height()
        # (landscape: top bar 50, toolbar 52, follow strip 48, floor bar 59 = 26 %)
        limit = 0.27 if size[0] > size[1] else 0.25
        assert bars <= limit * height, f"bars take {bars} of {height} px"
        # the window is the screen's size (the toolbar does not widen it), every
        # control inside it and finger-sized, in English and in Vietnamese
        assert (window.width(), window.height()) == size
        for language in ("en", "vi"):
            set_language(language)
            await asyncio.sleep(0)
            for name in (
                "back",
                "previous",
                "next",
                "fit_width",
                "fit_page",
                "thumbnails",
                "search",
                "full_screen",
            ):
                button = child(view, QToolButton, name)
                assert button.height() >= 48 and button.width() >= 48, name
                right = button.mapTo(view, QPoint(button.width(), 0)).x()
                assert right <= view.width(), (language, name, right)
                assert button.width() >= button.sizeHint().width(), (language, name)
            label = child(view, QLabel, "page_label")
            assert label.width() >= label.sizeHint().width(), language  # not cut
        set_language("en")
        await asyncio.sleep(0.05)  # the texts' new layout
        orientation = "landscape" if size[0] > size[1] else "portrait"
        shot(window, f"reader-{size[0]}x{size[1]}-{orientation}-en")
        # the thumbnails are one tap away, and stay as the reader chose
        strip = child(view, QListWidget, "thumbnails")
        assert not strip.isVisible()
        child(view, QToolButton, "thumbnails").click()
        assert strip.isVisible()
        window.resize(size[0] + 1, size[1])
        await asyncio.sleep(0)
        assert strip.isVisible()

    run_async(body())


def test_the_next_reader_sees_nothing_of_the_last_ones_search(
    fed: Callable[..., FedTablet], pack: Path, run_async: Run, wait_until: Any
) -> None:
    tablet = fed()
    tablet.start()
    view = tablet.window.document_view
    search = tablet.tablet.search

    async def body() -> None:
        await open_reader(tablet, pack, (1280, 800))
        view.open_search()
        view.search_panel.field.setText("budget")
        view.search_panel.go.click()
        await search.wait()
        assert search.rows and view.search_panel.hits.count() > 0
        await wait_until(lambda: view.annotation_layer.search_hits != [], "hits drawn")
        # the same member again (a resumed sign-in) keeps the search
        tablet.feed(SignedIn("d1", "Nguyễn Văn An", Role.DELEGATE, "A2", "token"))
        assert search.rows
        tablet.feed(SignedOut("inactivity"))
        assert search.rows == [] and view.search_panel.hits.count() == 0
        assert view.search_panel.field.text() == ""
        assert view.annotation_layer.search_hits == []

    run_async(body())


def test_a_tablet_whose_window_is_gone_still_stops_cleanly(
    fed_room: Path, tmp_path: Path, qtbot: Any, run_async: Run
) -> None:
    """The window closed first (a kiosk session ending, a test's widgets closed): stopping
    the tablet touches no deleted widget and still stops its render workers."""
    window = MainWindow()  # not qtbot's: this test deletes it
    credentials = enroll_device(fed_room, "gone")
    tablet = TabletController(
        window,
        TabletSettings(credentials=credentials, cache_dir=tmp_path / "cache"),
        PageRenderer(cache_bytes=8 * 1024 * 1024),
    )
    tablet.renderer.start()
    tablet.connection = RoomConnection(
        RoomEndpoint("room.test", 1, "127.0.0.1", "Fed room"),
        credentials,
        on_meeting=tablet._on_meeting,
        on_status=tablet._on_status,
    )
    gone: list[bool] = []
    window.destroyed.connect(lambda: gone.append(True))
    window.deleteLater()
    qtbot.waitUntil(lambda: bool(gone), timeout=int(timeout(5) * 1000))
    run_async(tablet.stop())  # raised "Internal C++ object … already deleted" before
    assert tablet.renderer.worker_pids == ()
