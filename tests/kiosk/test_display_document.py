"""The room display shows the chair's page: a real room-server process over real TLS,
the chair and delegates as real protocol clients, the display's real widgets
(offscreen), its real document fetch and its PyMuPDF render worker.

Screenshots of the page, with presenter ink, in English and Vietnamese, and of the
confidential notice, are saved under /tmp/display-shots/.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from kiosk.display_controller import DisplayController, DisplaySettings
from kiosk.display_view import DisplayView
from kiosk.i18n import set_language
from kiosk.look import MUTED
from kiosk.presentation import Shown
from room_client.documents import DocumentCache
from room_protocol.annotations import (
    Annotation,
    AnnotationKind,
    SharedAnnotations,
    Visibility,
)
from room_protocol.live import (
    AllowConfidentialOnDisplay,
    GrantFloor,
    RequestFloor,
    SetCurrentItem,
    SetFollow,
)
from room_protocol.messages import DocumentInfo
from room_protocol.voting import ClosePoll, OpenPoll, PublishPoll
from tests.kiosk.conftest import Run, not_blank, until
from tests.kiosk.test_display import TABLETS, cleanly, signed_in
from tests.rooms import RunningRoom, running_room, write_package

SHOTS = Path("/tmp/display-shots")
RED = "#d62828"


@pytest.fixture
def room(tmp_path: Path) -> Iterator[RunningRoom]:
    """The voting package (so a vote can take the screen), its minutes confidential."""
    package = write_package(tmp_path / "pkg", voting=True, confidential=("minutes",))
    with running_room(tmp_path / "room", package=package, mdns=False) as running:
        yield running


def make_display(qtbot: QtBot, room: RunningRoom, cache: Path) -> DisplayController:
    view = DisplayView()
    qtbot.addWidget(view)
    view.resize(1920, 1080)
    view.show()
    qtbot.waitExposed(view)
    settings = DisplaySettings(
        credentials=room.device("display-doc", display=True),
        direct=room.endpoint(),
        retry_initial_s=0.1,
        retry_maximum_s=0.5,
        cache_dir=cache,
    )
    return DisplayController(view, settings)


async def save(view: DisplayView, name: str) -> QImage:
    await asyncio.sleep(0.05)  # let Qt lay out and paint
    pixmap = view.grab()
    SHOTS.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240  a local directory, once
    assert pixmap.save(str(SHOTS / f"{name}.png"))
    image = pixmap.toImage()
    not_blank(image, name)
    return image


def canvas_pixel(display: DisplayController, x: float, y: float) -> QColor:
    """The colour on screen at page point (x, y)."""
    canvas = display.view.presentation_page.canvas
    at = canvas.to_screen(x, y)
    return canvas.grab().toImage().pixelColor(round(at.x()), round(at.y()))


def close_to(colour: QColor, hex_colour: str, tolerance: int = 40) -> bool:
    want = QColor(hex_colour)
    return all(
        abs(a - b) <= tolerance
        for a, b in zip(
            (colour.red(), colour.green(), colour.blue()),
            (want.red(), want.green(), want.blue()),
            strict=True,
        )
    )


def showing(display: DisplayController, sha256: str, page: int) -> bool:
    key = display._page_key
    return (
        display.presented is Shown.PAGE
        and key is not None
        and key[:2] == (sha256, page)
        and display.view.presentation_page.showing_page
    )


def page_not_blank(image: QImage) -> None:
    """Paper with ink on it: mostly white, some dark text, the blue bar."""
    assert not image.isNull()
    samples = [
        image.pixelColor(x, y)
        for x in range(0, image.width(), 3)
        for y in range(0, image.height(), 3)
    ]
    white = sum(1 for c in samples if c.lightness() > 245)
    dark = sum(1 for c in samples if c.lightness() < 100)
    assert white > len(samples) * 0.8, "the page is not paper-white"
    assert dark > 50, f"only {dark} dark samples: no text drawn"


def held_files(cache: Path, sha256: str) -> list[Path]:
    return [p for p in cache.rglob("*") if p.is_file() and sha256 in p.name]


def presenter(
    annotation_id: str,
    sha256: str,
    page: int,
    kind: AnnotationKind,
    geometry: tuple[float, ...],
    *,
    colour: str = RED,
    width: float = 6.0,
    text: str = "",
    visibility: Visibility = Visibility.PRESENTER,
    deleted: bool = False,
) -> Annotation:
    """The chair's annotation as the room sends it in ``annotation.shared``."""
    return Annotation(
        annotation_id,
        "chair",
        sha256,
        page,
        kind=kind,
        geometry=geometry,
        colour=colour,
        width=width,
        text=text,
        visibility=visibility,
        deleted=deleted,
        author_name="Chair Person",
    )


def test_the_display_shows_the_chairs_page_with_presenter_ink(
    qtbot: QtBot, room: RunningRoom, tmp_path: Path, run_async: Run
) -> None:
    cache = tmp_path / "display-cache"
    display = make_display(qtbot, room, cache)
    view = display.view

    async def body() -> None:
        await display.start()
        await until(lambda: view.connection_state == "connected", "connected")
        chair = await signed_in(room, "chair")
        d1 = await signed_in(room, "d1")
        budget = next(d for d in chair.meeting.documents if d.title == "Budget 2027")
        await chair.ok(SetCurrentItem(chair.op(), "budget"))
        await d1.ok(RequestFloor(d1.op()))
        await chair.ok(GrantFloor(chair.op(), "d1"))
        await until(lambda: view.speaker_name.text() == "Nguyễn Văn An", "the speaker")
        assert view.pages.currentWidget() is view.meeting_page and not view.presenting

        # The chair shows page 1 of the budget: fetched, rendered, filling the screen.
        await chair.ok(SetFollow(chair.op(), budget.sha256, 0))
        await until(lambda: showing(display, budget.sha256, 0), "page 1 shown", 20)
        assert view.presenting
        canvas = view.presentation_page.canvas
        page_not_blank(canvas.image)
        box = canvas.size()
        assert canvas.image.height() == box.height() or canvas.image.width() == box.width()
        assert canvas.image.height() > 700, canvas.image.size()  # large, not a thumbnail
        assert view.presentation_page.item_line.text() == "2 · Budget"
        assert view.presentation_page.speaker_line.text().startswith("Speaking: Nguyễn Văn An · ")
        assert held_files(cache, budget.sha256), "the display fetched into its own cache"
        # write_pdf draws a blue bar 40 points wide per page number at y 140..180.
        assert close_to(canvas_pixel(display, 92, 160), "#3366cc", 60)
        assert close_to(canvas_pixel(display, 150, 160), "#ffffff", 10)

        # The chair turns the page.
        await chair.ok(SetFollow(chair.op(), budget.sha256, 2))
        await until(lambda: showing(display, budget.sha256, 2), "page 3 shown", 20)
        assert close_to(canvas_pixel(display, 150, 160), "#3366cc", 60)

        # Presenter ink arrives: a stroke, a highlight and a note are drawn on the page;
        # an annotation shared with everyone (not presenter ink) and ink on another page
        # are not.
        assert close_to(canvas_pixel(display, 300, 400), "#ffffff", 10)
        display.on_message(
            SharedAnnotations(
                (
                    presenter(
                        "ink-1",
                        budget.sha256,
                        2,
                        AnnotationKind.INK,
                        (100.0, 400.0, 300.0, 400.0, 500.0, 420.0),
                    ),
                    presenter(
                        "hl-1",
                        budget.sha256,
                        2,
                        AnnotationKind.HIGHLIGHT,
                        (72.0, 80.0, 400.0, 110.0),
                        colour="#f5c400",
                    ),
                    presenter(
                        "note-1",
                        budget.sha256,
                        2,
                        AnnotationKind.NOTE,
                        (450.0, 600.0),
                        colour="#1d4ed8",
                        text="See the annex",
                    ),
                    presenter(
                        "shared-1",
                        budget.sha256,
                        2,
                        AnnotationKind.INK,
                        (100.0, 500.0, 500.0, 500.0),
                        visibility=Visibility.EVERYONE,
                    ),
                    presenter(
                        "ink-other-page",
                        budget.sha256,
                        0,
                        AnnotationKind.INK,
                        (100.0, 550.0, 500.0, 550.0),
                    ),
                ),
                replace=True,
            )
        )
        await asyncio.sleep(0.05)
        assert close_to(canvas_pixel(display, 300, 400), RED)
        highlighted = canvas_pixel(display, 380, 100)  # white paper under translucent yellow
        assert highlighted.blue() < 200 and highlighted.red() > 200, highlighted.name()
        pinned = canvas.to_screen(450, 600)  # the marker stands on the point, to its right
        size = 34 * canvas.scale
        note = (
            canvas.grab()
            .toImage()
            .pixelColor(round(pinned.x() + size * 0.12), round(pinned.y() - size * 0.5))
        )
        assert close_to(note, "#1d4ed8"), note.name()
        assert close_to(canvas_pixel(display, 300, 500), "#ffffff", 10)  # not presenter ink
        assert close_to(canvas_pixel(display, 300, 550), "#ffffff", 10)  # another page's
        await save(view, "display-page-ink-en")
        set_language("vi")
        display.refresh()
        assert view.presentation_page.speaker_line.text().startswith(
            "Đang phát biểu: Nguyễn Văn An · "
        )
        await save(view, "display-page-ink-vi")
        set_language("en")
        display.refresh()

        # The chair deletes the stroke: gone from the wall.
        gone = presenter("ink-1", budget.sha256, 2, AnnotationKind.INK, (), deleted=True)
        display.on_message(SharedAnnotations((gone,)))
        await asyncio.sleep(0.05)
        assert close_to(canvas_pixel(display, 300, 400), "#ffffff", 10)
        assert len(display.ink) == 3  # the highlight, the note, the other page's ink

        # Follow off: the normal screen returns.
        await chair.ok(SetFollow(chair.op(), None, 0))
        await until(lambda: view.pages.currentWidget() is view.meeting_page, "the normal screen")
        assert display.presented is Shown.NOTHING and canvas.image.isNull()
        assert view.speaker_panel.isVisible()

        # A vote takes the screen from the page, and gives it back when it is over.
        await chair.ok(SetFollow(chair.op(), budget.sha256, 1))
        await until(lambda: showing(display, budget.sha256, 1), "page 2 shown", 20)
        await chair.ok(OpenPoll(chair.op(), "p-budget", override_quorum=True))
        await until(lambda: view.vote_panel.isVisible(), "the vote")
        assert view.pages.currentWidget() is view.meeting_page
        assert canvas.image.isNull()  # the page is not kept behind the vote
        await chair.ok(ClosePoll(chair.op(), "p-budget"))
        await chair.ok(PublishPoll(chair.op(), "p-budget"))
        await until(lambda: view.result_panel.isVisible(), "the result")
        assert not view.presenting
        # The chair moves on to the next item: the result gives way, the page returns.
        await chair.ok(SetCurrentItem(chair.op(), "budget-debate"))
        await until(lambda: showing(display, budget.sha256, 1), "page 2 again", 20)
        assert view.presentation_page.item_line.text() == "2.1 · Debate"
        await asyncio.gather(*(t.stop() for t in TABLETS))
        TABLETS.clear()

    run_async(cleanly(display, body()))


def test_a_confidential_document_is_never_fetched_nor_shown(
    qtbot: QtBot, room: RunningRoom, tmp_path: Path, run_async: Run
) -> None:
    cache = tmp_path / "display-cache"
    display = make_display(qtbot, room, cache)
    view = display.view

    async def body() -> None:
        await display.start()
        await until(lambda: view.connection_state == "connected", "connected")
        chair = await signed_in(room, "chair")
        minutes = next(d for d in chair.meeting.documents if d.confidential)
        await chair.ok(SetFollow(chair.op(), minutes.sha256, 1))
        await until(lambda: display.presented is Shown.CONFIDENTIAL, "the confidential notice")
        page = view.presentation_page
        assert view.presenting and not page.showing_page and page.canvas.image.isNull()
        assert page.item_line.text() == "No current item" and page.item_line.colour() == MUTED
        assert page.notice_title.text() == ("Confidential document — not shown on the room display")
        # The room withholds the page itself: the display is not even told which one.
        assert display.follow is not None and display.follow.withheld
        assert display.follow.sha256 is None
        assert page.notice_text.text() == "Members follow the chair on their own tablets."
        await save(view, "display-confidential-en")
        set_language("vi")
        display.refresh()
        assert page.notice_title.text() == "Tài liệu mật — không hiển thị trên màn hình phòng họp"
        await save(view, "display-confidential-vi")
        set_language("en")
        await asyncio.sleep(0.5)  # time for a fetch, were one started
        assert not display._fetching and not held_files(cache, minutes.sha256)

        # Presenter ink on the confidential page is not drawn either: there is no page.
        display.on_message(
            SharedAnnotations(
                (
                    presenter(
                        "ink-c",
                        minutes.sha256,
                        1,
                        AnnotationKind.INK,
                        (100.0, 400.0, 300.0, 400.0),
                    ),
                )
            )
        )
        assert display.presented is Shown.CONFIDENTIAL and page.canvas.marks == []

        # The chair allows it explicitly: the display shows the page, from a copy
        # watermarked for the room display and kept sealed (no PDF on its disk).
        await chair.ok(AllowConfidentialOnDisplay(chair.op(), True))
        await until(lambda: showing(display, minutes.sha256, 1), "the allowed page")
        [sealed] = held_files(cache, minutes.sha256)
        assert b"%PDF" not in sealed.read_bytes()
        # ... and takes it back: the notice again, and the sealed copy is gone.
        await chair.ok(AllowConfidentialOnDisplay(chair.op(), False))
        await until(lambda: display.presented is Shown.CONFIDENTIAL, "the notice again")
        assert not held_files(cache, minutes.sha256)
        await chair.stop()

    run_async(cleanly(display, body()))


def test_a_document_not_in_the_meeting_is_not_fetched(
    qtbot: QtBot, room: RunningRoom, tmp_path: Path, run_async: Run
) -> None:
    """follow.state naming a document the meeting does not list: a notice, no fetch
    (nothing says it is not confidential)."""
    cache = tmp_path / "display-cache"
    display = make_display(qtbot, room, cache)
    view = display.view

    async def body() -> None:
        await display.start()
        await until(lambda: display.meeting is not None and display.follow is not None, "state")
        unknown = DocumentInfo("ab" * 32, "Unknown", "x.pdf", 10, 1)
        follow = display.follow
        assert follow is not None
        display.on_message(replace(follow, seq=follow.seq + 1, sha256=unknown.sha256))
        assert display.presented is Shown.UNAVAILABLE
        assert view.presentation_page.notice_text.text() == (
            "The chair's document is not part of this meeting."
        )
        assert not display._fetching and not held_files(cache, unknown.sha256)

    run_async(cleanly(display, body()))


def test_a_damaged_cached_document_gets_a_clear_notice(
    qtbot: QtBot, room: RunningRoom, tmp_path: Path, run_async: Run
) -> None:
    """The display's cached copy is not a PDF any more (a damaged card): the page area
    says so, the display goes on, and the next document the chair shows is drawn."""
    cache = tmp_path / "display-cache"
    display = make_display(qtbot, room, cache)
    view = display.view

    async def body() -> None:
        await display.start()
        await until(lambda: view.connection_state == "connected", "connected")
        chair = await signed_in(room, "chair")
        budget = next(d for d in chair.meeting.documents if d.title == "Budget 2027")
        agenda = next(d for d in chair.meeting.documents if d.title == "Agenda")
        damaged = DocumentCache(cache).document_path(budget.sha256)
        damaged.parent.mkdir(parents=True, exist_ok=True)
        damaged.write_bytes(b"not a PDF any more")
        await chair.ok(SetFollow(chair.op(), budget.sha256, 0))
        await until(lambda: display.presented is Shown.UNAVAILABLE, "the notice", 20)
        page = view.presentation_page
        assert page.notice_title.text() == "This page cannot be shown here"
        assert page.notice_text.text().startswith("Budget 2027 · page 1 · ")
        assert "is not a readable PDF file" in page.notice_text.text()
        assert page.canvas.image.isNull()
        await chair.ok(SetFollow(chair.op(), agenda.sha256, 1))
        await until(lambda: showing(display, agenda.sha256, 1), "the agenda's page 2", 20)

    run_async(cleanly(display, body()))
