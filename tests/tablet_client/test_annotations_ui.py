"""Annotating in the reader: real widgets, a real PDF and PageRenderer, and a real
AnnotationBook in a SQLite file; gestures are Qt mouse and touch events on the layer."""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QScrollArea, QToolButton
from pytestqt.qtbot import QtBot

from room_client.annotations import AnnotationBook
from room_protocol.annotations import (
    COLOURS,
    HIGHLIGHT_COLOUR,
    MAX_NOTE_TEXT,
    Annotation,
    AnnotationKind,
    SharedAnnotations,
    Visibility,
)
from tablet_client.annotation_controller import AnnotationController
from tablet_client.document_controller import DocumentController
from tablet_client.i18n import set_language
from tablet_client.render import PageRenderer
from tablet_client.views.annotation_view import TOUCH_TARGET
from tablet_client.views.document_view import DocumentView
from tests.rooms import RunningRoom, running_room, timeout
from tests.tablet_client.conftest import A4, until
from tests.tablet_client.test_live_ui import click, make_tablet, sign_in_ui
from tests.tablet_client.touch import touch_device

SHOTS = Path("/tmp/annot-shots")
ME, OTHER = "m-an", "m-binh"
Run = Callable[[Coroutine[Any, Any, Any]], Any]


def sha_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def rotated_pdf(pdf_dir: Path) -> Path:
    """One A4 page turned a quarter (/Rotate 90), with a line of text."""
    path = pdf_dir / "rotated.pdf"
    doc = pymupdf.open()
    page = doc.new_page(width=A4[0], height=A4[1])
    page.insert_text((60, 100), "Rotated minutes of the assembly", fontsize=20)
    page.set_rotation(90)
    doc.save(path)
    doc.close()
    return path


class Annotating:
    """The reader with its annotation tools, a member signed in, and their book."""

    def __init__(self, qtbot: QtBot, renderer: PageRenderer, book: AnnotationBook) -> None:
        self.qtbot = qtbot
        self.view = DocumentView()
        qtbot.addWidget(self.view)
        self.view.resize(1280, 860)
        self.reader = DocumentController(self.view, renderer)
        self.author: str | None = ME
        self.book = book
        self.controller = AnnotationController(
            self.view,
            self.reader,
            renderer,
            book,
            lambda: self.author,
            titles=lambda sha: {self.sha: "Budget 2027"}.get(sha, "Other document"),
        )
        self.ready: list[int] = []
        self.controller.page_ready.connect(self.ready.append)
        self.layer = self.view.annotation_layer
        self.bar = self.view.annotation_bar
        self.sha = ""
        self.view.show()
        qtbot.waitExposed(self.view)

    async def open(self, path: Path, page: int = 0) -> None:
        self.sha = sha_of(path)
        self.ready.clear()
        self.controller.show_document(self.sha)
        await self.reader.open(path, "Budget 2027", page)
        await until(lambda: page in self.ready, "the page's annotations")

    async def go_to(self, page: int) -> None:
        self.ready.clear()
        self.reader.go_to(page)
        await until(lambda: page in self.ready, f"page {page + 1}")

    def at(self, x: float, y: float) -> QPoint:
        """The layer's pixel over page point (x, y)."""
        return self.layer.to_layer(x, y).toPoint()

    def drag(self, *points: tuple[float, float]) -> None:
        """A mouse (or stylus) drag through page points."""
        first, *rest = [self.at(x, y) for x, y in points]
        QTest.mousePress(
            self.layer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, first
        )
        for point in rest:
            QTest.mouseMove(self.layer, point)
        QTest.mouseRelease(
            self.layer,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            (rest or [first])[-1],
        )

    def tap(self, x: float, y: float) -> None:
        QTest.mouseClick(
            self.layer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, self.at(x, y)
        )

    def tool(self, name: str) -> None:
        self.bar.tools[name].click()
        assert self.controller.tool == name

    def mine(self) -> list[Annotation]:
        return self.book.annotations(ME, self.sha)


@pytest.fixture
def book(tmp_path: Path) -> Iterator[AnnotationBook]:
    book = AnnotationBook(tmp_path / "annotations.sqlite", "tablet-a")
    yield book
    book.close()


@pytest.fixture
def annotating(
    qtbot: QtBot, qt_renderer: PageRenderer, book: AnnotationBook
) -> Iterator[Annotating]:
    made = Annotating(qtbot, qt_renderer, book)
    yield made
    made.controller.close()
    made.reader.close()


def close_to(actual: tuple[float, ...], expected: tuple[float, ...], within: float) -> bool:
    return len(actual) == len(expected) and all(
        abs(a - e) <= within for a, e in zip(actual, expected, strict=True)
    )


def words_of(path: Path, page: int) -> list[tuple[float, float, float, float, str, int, int, int]]:
    with pymupdf.open(path) as doc:
        return [tuple(w) for w in doc[page].get_text("words")]  # type: ignore[misc]


def test_a_pen_stroke_is_one_ink_operation_in_page_points(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await annotating.open(colour_pdf)
        annotating.tool("pen")
        annotating.bar.swatches[COLOURS[1]].click()
        stroke = [(100.0, 600.0), (150.0, 620.0), (200.0, 610.0), (260.0, 650.0)]
        annotating.drag(*stroke)

        [op] = annotating.book.pending(ME)
        assert op.sha256 == annotating.sha and op.page == 0
        assert op.patch.kind == AnnotationKind.INK
        assert op.patch.colour == COLOURS[1]
        assert op.patch.visibility == Visibility.PRIVATE
        # A screen pixel is about 0.5 pt at this size: the stroke lands where it was drawn.
        pixel = annotating.layer.points_per_pixel()
        expected = tuple(v for point in stroke for v in point)
        assert close_to(op.patch.geometry or (), expected, pixel), op.patch.geometry
        [drawn] = annotating.mine()
        assert [i.key for i in annotating.layer.items] == [(ME, drawn.annotation_id)]
        # Drawn in its colour on the screen, right on the stroke.
        shot = annotating.layer.grab().toImage()
        middle = annotating.at(125, 610)
        ratio = shot.devicePixelRatio()
        colour = QColor(shot.pixel(round(middle.x() * ratio), round(middle.y() * ratio)))
        assert colour.blue() > 150 and colour.red() < 120, colour.name()

    run_async(body())


def test_one_finger_draws_and_two_fingers_never_do(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    run_async(annotating.open(colour_pdf))
    # Touch sequences process events themselves: sent from outside the qasync loop.
    annotating.tool("pen")
    device = touch_device()
    layer = annotating.layer
    # Touch goes to what is on screen: the top of the page (fit width scrolls the rest).
    a, b, c = annotating.at(100, 150), annotating.at(180, 170), annotating.at(260, 150)
    QTest.touchEvent(layer, device, False).press(0, a, layer).commit()
    QTest.touchEvent(layer, device, False).move(0, b, layer).commit()
    QTest.touchEvent(layer, device, False).move(0, c, layer).commit()
    QTest.touchEvent(layer, device, False).release(0, c, layer).commit()
    [stroke] = annotating.book.pending(ME)
    assert stroke.patch.kind == AnnotationKind.INK
    geometry = stroke.patch.geometry or ()
    assert math.dist(geometry[:2], (100, 150)) < 2 and math.dist(geometry[-2:], (260, 150)) < 2

    # A palm or a second finger: the stroke in progress is dropped, the page moves.
    QTest.touchEvent(layer, device, False).press(0, a, layer).commit()
    QTest.touchEvent(layer, device, False).move(0, b, layer).press(1, c, layer).commit()
    scroll = annotating.view.findChild(QScrollArea, "page_area")
    assert scroll is not None
    before = scroll.verticalScrollBar().value()
    up = QPoint(0, 120)
    QTest.touchEvent(layer, device, False).move(0, b - up, layer).move(1, c - up, layer).commit()
    assert scroll.verticalScrollBar().value() == before + 120  # the page follows the fingers
    end = QTest.touchEvent(layer, device, False)
    end.release(0, b - up, layer).release(1, c - up, layer).commit()
    assert len(annotating.book.pending(ME)) == 1
    assert len(annotating.layer.items) == 1


def test_highlight_by_selecting_text_snaps_to_its_lines(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await annotating.open(colour_pdf)
        annotating.tool("highlighter")
        assert annotating.controller.colour == HIGHLIGHT_COLOUR
        words = [w for w in words_of(colour_pdf, 0) if w[1] > 450]  # the motion text
        line0 = [w for w in words if (w[5], w[6]) == (words[0][5], words[0][6])]
        first, third = line0[0], line0[2]

        def centre(w: tuple[float, ...]) -> tuple[float, float]:
            return ((w[0] + w[2]) / 2, (w[1] + w[3]) / 2)

        # Within one line: from the middle of its first word to the middle of its third.
        annotating.drag(centre(first), (centre(first)[0] + 20, centre(first)[1]), centre(third))
        [op] = annotating.book.pending(ME)
        assert op.patch.kind == AnnotationKind.HIGHLIGHT
        assert op.patch.colour == HIGHLIGHT_COLOUR
        expected = (
            first[0],
            min(w[1] for w in line0[:3]),
            third[2],
            max(w[3] for w in line0[:3]),
        )
        assert close_to(op.patch.geometry or (), expected, 0.01), (op.patch.geometry, expected)

        # While the finger moves, the layer shows the lines it would cover.
        layer = annotating.layer
        QTest.mousePress(
            layer,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            annotating.at(*centre(first)),
        )
        QTest.mouseMove(layer, annotating.at(*centre(third)))
        assert close_to(layer.preview or (), expected, 0.01)
        QTest.mouseRelease(
            layer,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            annotating.at(*centre(third)),
        )
        assert layer.preview is None
        assert len(annotating.book.pending(ME)) == 2

        # Across two lines: one rectangle per line, the first to its end.
        next_line = [w for w in words if (w[5], w[6]) != (first[5], first[6])]
        second_line_word = next_line[1]
        annotating.drag(centre(line0[3]), centre(second_line_word))
        ops = annotating.book.pending(ME)
        assert len(ops) == 3
        geometry = ops[2].patch.geometry or ()
        assert len(geometry) == 8
        assert math.isclose(geometry[0], line0[3][0], abs_tol=0.01)
        assert math.isclose(geometry[2], line0[-1][2], abs_tol=0.01)
        assert math.isclose(geometry[6], second_line_word[2], abs_tol=0.01)

    run_async(body())


def test_highlight_by_dragging_where_there_is_no_text(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await annotating.open(colour_pdf)
        annotating.tool("highlighter")
        annotating.bar.swatches[COLOURS[2]].click()
        annotating.drag((320, 40), (400, 80), (480, 120))
        [op] = annotating.book.pending(ME)
        assert op.patch.kind == AnnotationKind.HIGHLIGHT and op.patch.colour == COLOURS[2]
        pixel = annotating.layer.points_per_pixel()
        assert close_to(op.patch.geometry or (), (320, 40, 480, 120), pixel)
        # A slip (a tap) with the highlighter makes nothing.
        annotating.tap(330, 50)
        assert len(annotating.book.pending(ME)) == 1

    run_async(body())


def test_a_note_is_written_edited_and_deleted(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await annotating.open(colour_pdf)
        editor = annotating.view.note_editor
        annotating.tool("note")
        annotating.tap(500, 450)
        assert editor.isVisible() and not editor.delete.isVisible()
        editor.text.setPlainText("Ask about the budget line 4")
        editor.save.click()
        assert not editor.isVisible()
        [note] = annotating.mine()
        assert note.kind == AnnotationKind.NOTE and note.text == "Ask about the budget line 4"
        pixel = annotating.layer.points_per_pixel()
        assert close_to(note.geometry, (500, 450), pixel)

        # Tapping it (in reading mode too) opens it to change it.
        annotating.tool("read")
        annotating.tap(*note.geometry)
        assert editor.isVisible() and editor.delete.isVisible()
        assert editor.text.toPlainText() == "Ask about the budget line 4"
        editor.text.setPlainText("Ask about budget lines 4 and 5")
        editor.save.click()
        [note] = annotating.mine()
        assert note.text == "Ask about budget lines 4 and 5"
        assert annotating.book.pending(ME)[-1].patch.text == note.text

        # Too long: said clearly, nothing changed.
        annotating.tap(*note.geometry)
        editor.text.setPlainText("x" * (MAX_NOTE_TEXT + 1))
        before = len(annotating.book.pending(ME))
        editor.save.click()
        assert editor.isVisible() and editor.error.isVisible()
        assert str(MAX_NOTE_TEXT) in editor.error.text()
        assert len(annotating.book.pending(ME)) == before

        editor.delete.click()
        assert annotating.mine() == [] and annotating.layer.items == []
        assert annotating.book.pending(ME)[-1].patch.deleted is True

        # An empty new note is no note.
        annotating.tool("note")
        annotating.tap(300, 300)
        editor.save.click()
        assert len(annotating.book.pending(ME)) == before + 1

    run_async(body())


def test_undo_and_redo(annotating: Annotating, colour_pdf: Path, run_async: Run) -> None:
    async def body() -> None:
        await annotating.open(colour_pdf)
        bar = annotating.bar
        assert not bar.undo.isEnabled() and not bar.redo.isEnabled()
        annotating.tool("pen")
        annotating.drag((100, 600), (200, 650))
        annotating.drag((100, 700), (200, 750))
        assert len(annotating.mine()) == 2 and bar.undo.isEnabled()
        bar.undo.click()
        assert len(annotating.mine()) == 1 and len(annotating.layer.items) == 1
        assert bar.redo.isEnabled()
        bar.undo.click()
        assert annotating.mine() == [] and not bar.undo.isEnabled()
        bar.redo.click()
        bar.redo.click()
        assert len(annotating.mine()) == 2 and not bar.redo.isEnabled()
        # Every step is an operation, none rewritten: the room replays them in order.
        assert [op.patch.deleted for op in annotating.book.pending(ME)] == [
            False,
            False,
            True,
            True,
            False,
            False,
        ]

    run_async(body())


def test_the_eraser_deletes_own_annotations_it_passes_over_and_nothing_else(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await annotating.open(colour_pdf)
        annotating.tool("pen")
        annotating.drag((100, 600), (300, 600))
        annotating.drag((100, 750), (300, 750))
        theirs = shared_from(OTHER, annotating.sha, geometry=(100, 680, 300, 680))
        annotating.book.from_room(SharedAnnotations((theirs,), replace=True))
        annotating.tool("eraser")
        annotating.tap(400, 400)  # nothing there
        assert len(annotating.mine()) == 2
        annotating.drag((200, 560), (200, 700))  # over the first stroke and theirs
        [kept] = annotating.mine()
        assert abs(kept.geometry[1] - 750) < 1
        assert annotating.book.pending(ME)[-1].patch.deleted is True
        assert [a.annotation_id for a in annotating.book.shared()] == [theirs.annotation_id]
        annotating.tap(300, 751)  # a tap on the end of the other
        assert annotating.mine() == []

    run_async(body())


def shared_from(
    author: str,
    sha: str,
    *,
    geometry: tuple[float, ...],
    kind: AnnotationKind = AnnotationKind.INK,
    text: str = "",
    name: str = "Trần Thị Bình",
    annotation_id: str = "tablet-b-1",
    visibility: Visibility = Visibility.EVERYONE,
) -> Annotation:
    return Annotation(
        annotation_id,
        author,
        sha,
        0,
        kind=kind,
        geometry=geometry,
        colour=COLOURS[5],
        width=3.0,
        text=text,
        visibility=visibility,
        author_name=name,
        stamp=1,
    )


def test_sharing_one_annotation_and_a_whole_page(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await annotating.open(colour_pdf)
        actions = annotating.bar.share_actions
        assert not annotating.bar.share.isEnabled()
        annotating.tool("pen")
        annotating.drag((100, 600), (200, 650))
        first = annotating.controller.selected
        annotating.drag((100, 700), (200, 750))
        assert annotating.bar.share.isEnabled()
        actions[("one", "everyone")].trigger()  # the one just drawn
        by_id = {a.annotation_id: a for a in annotating.mine()}
        assert first is not None and by_id[first[1]].visibility == Visibility.PRIVATE
        assert [a.visibility for a in by_id.values()].count(Visibility.EVERYONE) == 1
        assert annotating.book.pending(ME)[-1].patch.visibility == Visibility.EVERYONE

        # In reading mode a tap picks an annotation: the first one is shared next.
        annotating.tool("read")
        annotating.tap(150, 625)
        assert annotating.controller.selected == first
        actions[("one", "chair")].trigger()
        by_id = {a.annotation_id: a for a in annotating.mine()}
        assert by_id[first[1]].visibility == Visibility.CHAIR
        # And a colour recolours the picked one (with a tool, it is the tool's colour).
        annotating.bar.swatches[COLOURS[3]].click()
        assert {a.annotation_id: a.colour for a in annotating.mine()}[first[1]] == COLOURS[3]
        annotating.tap(400, 300)  # nothing there: nothing picked
        assert annotating.controller.selected is None
        assert not actions[("one", "everyone")].isEnabled()

        actions[("page", "chair")].trigger()
        assert {a.visibility for a in annotating.mine()} == {Visibility.CHAIR}
        actions[("page", "private")].trigger()
        assert {a.visibility for a in annotating.mine()} == {Visibility.PRIVATE}

    run_async(body())


def test_another_members_shared_annotation_shows_their_name_and_can_be_hidden(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await annotating.open(colour_pdf)
        theirs = shared_from(OTHER, annotating.sha, geometry=(100, 500, 300, 560))
        annotating.book.from_room(SharedAnnotations((theirs,), replace=True))
        await until(lambda: len(annotating.layer.items) == 1, "their stroke on the page")
        [item] = annotating.layer.items
        assert item.label == "Trần Thị Bình" and item.key == (OTHER, theirs.annotation_id)

        annotating.bar.list_button.click()
        panel = annotating.view.annotation_list
        assert panel.isVisible()
        [entry] = panel.shown
        assert entry.hideable and not entry.hidden
        assert "Trần Thị Bình" in panel.entries.item(0).text()
        # Their annotations cannot be erased or shared from here.
        annotating.controller.select(entry.key)
        assert not annotating.bar.share.isEnabled()
        panel.entries.itemClicked.emit(panel.entries.item(0))
        assert panel.hide_button.isEnabled() and panel.hide_button.text() == "Hide"
        panel.hide_button.click()
        assert annotating.book.is_hidden(OTHER, theirs.annotation_id)
        assert annotating.layer.items == []
        [entry] = panel.shown
        assert entry.hidden and "hidden" in panel.entries.item(0).text()
        panel.entries.itemClicked.emit(panel.entries.item(0))
        assert panel.hide_button.text() == "Show again"
        panel.hide_button.click()
        assert [i.key for i in annotating.layer.items] == [(OTHER, theirs.annotation_id)]

        # Their note opens read-only, with their name.
        note = shared_from(
            OTHER,
            annotating.sha,
            geometry=(450, 200),
            kind=AnnotationKind.NOTE,
            text="Figures differ from page 2",
            annotation_id="tablet-b-2",
        )
        annotating.book.from_room(SharedAnnotations((note,)))
        await until(lambda: len(annotating.layer.items) == 2, "their note")
        annotating.tap(450, 200)
        editor = annotating.view.note_editor
        assert editor.isVisible() and editor.text.isReadOnly()
        assert not editor.save.isVisible() and not editor.delete.isVisible()
        assert editor.heading.text() == "Note by Trần Thị Bình"
        editor.cancel.click()
        assert [a.text for a in annotating.book.shared()][1] == "Figures differ from page 2"

    run_async(body())


def test_the_chairs_presenter_ink_shows_live_with_their_name(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await annotating.open(colour_pdf)
        ink = shared_from(
            "m-chair",
            annotating.sha,
            geometry=(60, 200, 500, 220),
            name="Lê Văn Chủ",
            annotation_id="chair-tablet-1",
            visibility=Visibility.PRESENTER,
        )
        annotating.book.from_room(SharedAnnotations((ink,)))
        await until(lambda: len(annotating.layer.items) == 1, "the chair's ink")
        assert annotating.layer.items[0].label == "Lê Văn Chủ"
        # Taken away by the chair (deleted): gone from the page as it comes.
        annotating.book.from_room(SharedAnnotations((replace(ink, deleted=True),)))
        await until(lambda: annotating.layer.items == [], "the chair's ink gone")

    run_async(body())


def test_the_list_jumps_to_the_page_and_search_finds_notes(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await annotating.open(colour_pdf)
        book, sha = annotating.book, annotating.sha
        book.draw(
            ME,
            sha,
            2,
            AnnotationKind.NOTE,
            (300, 300),
            colour=HIGHLIGHT_COLOUR,
            text="Budget line 4 is too high",
        )
        book.draw(
            ME,
            sha,
            4,
            AnnotationKind.NOTE,
            (300, 300),
            colour=HIGHLIGHT_COLOUR,
            text="Ask the treasurer",
        )
        elsewhere = "ab" * 32
        book.draw(
            ME,
            elsewhere,
            7,
            AnnotationKind.NOTE,
            (80, 80),
            colour=HIGHLIGHT_COLOUR,
            text="Budget annex: compare",
        )
        requested: list[tuple[str, int]] = []
        annotating.controller.document_requested.connect(lambda s, p: requested.append((s, p)))
        annotating.bar.list_button.click()
        panel = annotating.view.annotation_list
        assert [e.page for e in panel.shown] == [2, 4]  # this document only
        assert panel.entries.item(0).text().startswith("Page 3 · Note")

        panel.entries.itemClicked.emit(panel.entries.item(0))
        await until(lambda: 2 in annotating.ready, "page 3")
        assert annotating.reader.current_page == 2
        assert [i.text for i in annotating.layer.items] == ["Budget line 4 is too high"]

        panel.search.setText("BUDGET")
        assert [e.text for e in panel.shown] == ["Budget line 4 is too high"]
        panel.whole_meeting.click()
        assert [e.text for e in panel.shown] == [
            "Budget line 4 is too high",
            "Budget annex: compare",
        ]
        assert panel.entries.item(1).text().startswith("Other document · Page 8")
        panel.entries.itemClicked.emit(panel.entries.item(1))
        assert requested == [(elsewhere, 7)]
        panel.search.setText("quorum")
        assert panel.shown == [] and panel.empty.isVisible()
        assert panel.empty.text() == "No note contains “quorum”"

    run_async(body())


def test_annotations_follow_the_page_s_rotation(
    annotating: Annotating, rotated_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await annotating.open(rotated_pdf)
        # Shown landscape: the page's top left corner is drawn at the top right.
        shown = annotating.view.displayed_pixmap_size
        assert shown.width() > shown.height()
        corner = annotating.layer.to_layer(0, 0)
        assert corner.x() > annotating.layer.width() / 2 and corner.y() < 20
        annotating.tool("note")
        QTest.mouseClick(
            annotating.layer,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
            annotating.layer.to_layer(0, 0).toPoint() + QPoint(-60, 40),
        )
        annotating.view.note_editor.text.setPlainText("Turned page")
        annotating.view.note_editor.save.click()
        [note] = annotating.mine()
        # Stored in the unrotated page's points: near its top left corner.
        x, y = note.geometry
        assert 0 < x < 50 and 0 < y < 80, note.geometry
        # A highlight over the rotated text snaps to its words (unrotated boxes).
        annotating.tool("highlighter")
        [first, *_rest, last] = words_of(rotated_pdf, 0)
        annotating.drag(
            ((first[0] + first[2]) / 2, (first[1] + first[3]) / 2),
            ((last[0] + last[2]) / 2, (last[1] + last[3]) / 2),
        )
        [highlight] = [a for a in annotating.mine() if a.kind == AnnotationKind.HIGHLIGHT]
        assert close_to(highlight.geometry, (first[0], first[1], last[2], last[3]), 0.01)

    run_async(body())


def test_without_a_member_signed_in_nothing_is_drawn(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await annotating.open(colour_pdf)
        annotating.tool("pen")
        annotating.author = None
        annotating.controller.refresh()
        assert not annotating.bar.tools["pen"].isEnabled()
        annotating.drag((100, 600), (200, 650))
        assert annotating.book.pending_count() == 0

    run_async(body())


def test_tool_buttons_are_finger_sized(annotating: Annotating) -> None:
    buttons = annotating.bar.findChildren(QToolButton)
    shown = [b for b in buttons if b.isVisible()]
    assert len(shown) >= 5 + len(COLOURS) + 4
    for button in shown:
        assert button.height() >= TOUCH_TARGET and button.width() >= TOUCH_TARGET, (
            button.objectName(),
            button.size(),
        )


def colours_in(image: QImage) -> int:
    return len(
        {image.pixel(x, y) for x in range(0, image.width(), 9) for y in range(0, image.height(), 9)}
    )


@pytest.mark.parametrize("language", ["en", "vi"])
def test_screenshot_of_an_annotated_page(
    annotating: Annotating, colour_pdf: Path, run_async: Run, language: str
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)

    async def body() -> None:
        set_language(language)
        await annotating.open(colour_pdf)
        sha = annotating.sha
        annotating.tool("pen")
        annotating.bar.swatches[COLOURS[1]].click()
        annotating.drag((70, 700), (150, 712), (250, 703), (330, 715), (420, 706))
        annotating.tool("highlighter")
        words = [w for w in words_of(colour_pdf, 0) if w[1] > 450]
        annotating.drag(
            ((words[0][0] + words[0][2]) / 2, (words[0][1] + words[0][3]) / 2),
            ((words[20][0] + words[20][2]) / 2, (words[20][1] + words[20][3]) / 2),
        )
        annotating.tool("note")
        annotating.tap(470, 440)
        text = "Hỏi về dòng ngân sách 4" if language == "vi" else "Ask about budget line 4"
        annotating.view.note_editor.text.setPlainText(text)
        annotating.view.note_editor.save.click()
        annotating.bar.share_actions[("one", "chair")].trigger()
        theirs = shared_from(OTHER, sha, geometry=(380, 600, 440, 640, 520, 610, 560, 700))
        annotating.book.from_room(SharedAnnotations((theirs,), replace=True))
        annotating.tool("pen")
        annotating.bar.list_button.click()
        await until(lambda: len(annotating.layer.items) == 4, "four annotations")
        annotating.ready.clear()
        annotating.reader.set_fit_mode("page")  # the whole page, with all it carries
        await until(lambda: 0 in annotating.ready, "the whole page")
        shot = annotating.view.grab()
        assert shot.save(str(SHOTS / f"annotated-page-{language}.png"))
        assert colours_in(shot.toImage()) > 20

        # And the note editor open over the page.
        annotating.tool("read")
        note = next(a for a in annotating.mine() if a.kind == AnnotationKind.NOTE)
        annotating.tap(*note.geometry)
        shot = annotating.view.grab()
        assert shot.save(str(SHOTS / f"note-editor-{language}.png"))
        assert annotating.view.note_editor.isVisible()
        pin = annotating.layer.mapTo(annotating.view, annotating.at(*note.geometry))
        assert not annotating.view.note_editor.geometry().contains(pin)  # the note stays seen

    run_async(body())


def test_highlight_geometry_reaches_the_wire_unchanged_after_a_restart(
    annotating: Annotating, colour_pdf: Path, run_async: Run, tmp_path: Path
) -> None:
    """The book is the source of truth: a second book on the same file (the tablet started
    again) shows the same annotations on the page."""

    async def body() -> None:
        await annotating.open(colour_pdf)
        annotating.tool("pen")
        annotating.drag((100, 600), (200, 650))
        again = AnnotationBook(tmp_path / "annotations.sqlite", "tablet-a")
        try:
            assert again.annotations(ME, annotating.sha) == annotating.mine()
            assert [op.op_id for op in again.pending(ME)] == [
                op.op_id for op in annotating.book.pending(ME)
            ]
        finally:
            again.close()

    run_async(body())


def test_points_are_mapped_back_exactly(
    annotating: Annotating, colour_pdf: Path, run_async: Run
) -> None:
    async def body() -> None:
        await annotating.open(colour_pdf)
        layer = annotating.layer
        for x, y in ((0, 0), (A4[0], A4[1]), (300.5, 421.25)):
            back = layer.to_page(QPointF(layer.to_layer(x, y)))
            assert math.isclose(back[0], x, abs_tol=1e-6) and math.isclose(back[1], y, abs_tol=1e-6)
        assert math.isclose(
            layer.to_layer(A4[0], 0).x() - layer.to_layer(0, 0).x(),
            annotating.view.displayed_pixmap_size.width(),
            abs_tol=1,
        )

    run_async(body())


# --- on a real tablet, signed in to a real room ----------------------------------------------


@pytest.fixture
def annotating_room(tmp_path: Path, package_dir: Path) -> Iterator[RunningRoom]:
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        yield room


def test_a_signed_in_member_annotates_on_the_tablet_and_the_chair_gets_presenter_ink(
    qtbot: QtBot,
    annotating_room: RunningRoom,
    tmp_path: Path,
    qasync_loop: Any,
    wait_until: Callable[..., Coroutine[Any, Any, float]],
) -> None:
    tablet = make_tablet(qtbot, annotating_room, tmp_path, "a2", "A2")
    window = tablet.window
    bar = window.document_view.annotation_bar

    async def body() -> None:
        await tablet.start()
        await wait_until(lambda: tablet.meeting is not None, "the meeting")
        assert tablet.annotation_ui is None and not bar.isVisible()  # nobody to annotate for
        await sign_in_ui(qtbot, tablet, "d1", wait_until)
        annotations = tablet.annotation_ui
        assert annotations is not None
        assert bar.presenter.isHidden()  # a delegate has no presenter ink
        assert tablet.meeting is not None
        sha = tablet.meeting.documents[0].sha256
        ready: list[int] = []
        annotations.page_ready.connect(ready.append)
        await tablet.open_document(sha)
        await wait_until(lambda: 0 in ready, "the page's annotations")
        assert bar.isVisible() and annotations.document == sha
        layer = window.document_view.annotation_layer
        click(qtbot, bar.tools["pen"])
        start, end = layer.to_layer(100, 100).toPoint(), layer.to_layer(200, 120).toPoint()
        QTest.mousePress(layer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
        QTest.mouseMove(layer, end)
        QTest.mouseRelease(layer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
        # Saved in the tablet's own file, as the member's, for this document and page, and
        # sent to the room (nothing left pending).
        [ink] = annotations.book.annotations("d1", sha)
        assert ink.page == 0 and ink.kind == AnnotationKind.INK
        assert annotations.book is tablet.annotations
        assert (tablet.settings.cache_dir / "annotations.sqlite3").is_file()
        await wait_until(lambda: not annotations.book.pending("d1"), "the room's answer")

        # Signed out: the next person cannot draw (and does not see d1's annotations).
        click(qtbot, window.identity_action)
        await wait_until(lambda: tablet.link.me is None, "signed out")
        assert not bar.tools["pen"].isEnabled()
        assert layer.items == []

        # The chair: presenter ink, seen by every screen.
        await sign_in_ui(qtbot, tablet, "chair", wait_until)
        assert not bar.presenter.isHidden()
        await tablet.open_document(sha)
        await wait_until(lambda: layer.ready, "the page again")
        click(qtbot, bar.tools["pen"])
        click(qtbot, bar.presenter)
        QTest.mousePress(layer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
        QTest.mouseMove(layer, end)
        QTest.mouseRelease(layer, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
        [ink] = annotations.book.annotations("chair", sha)
        assert ink.visibility == Visibility.PRESENTER
        assert len(annotations.book.annotations("d1", sha)) == 1  # untouched

    qasync_loop.run_until_complete(asyncio.wait_for(body(), timeout(40)))


def test_the_tools_speak_the_language_chosen_while_they_are_shown(annotating: Annotating) -> None:
    bar, panel = annotating.bar, annotating.view.annotation_list
    assert bar.tools["highlighter"].text() == "Highlighter"
    set_language("vi")
    assert [bar.tools[t].text() for t in ("read", "pen", "highlighter", "note", "eraser")] == [
        "Đọc",
        "Bút",
        "Tô sáng",
        "Ghi chú",
        "Tẩy",
    ]
    assert bar.share_actions[("page", "everyone")].text() == (
        "Chia sẻ mọi chú thích của tôi trên trang này với mọi người"
    )
    assert panel.search.placeholderText() == "Tìm trong ghi chú"
    assert annotating.view.note_editor.save.text() == "Lưu"
