"""Searching the meeting's documents on a whole tablet against a real room-server
process: the documents the tablet holds, a confidential one only for its signed-in
reader and through their key, and nothing left on screen after the reader signs out."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.rooms import RunningRoom, running_room, write_package
from tests.tablet_client.test_confidential_tablet import Clock, make_tablet, sign_in

Run = Callable[[Coroutine[Any, Any, Any]], Any]
WaitUntil = Callable[..., Coroutine[Any, Any, float]]


@pytest.fixture
def room(tmp_path: Path) -> Iterator[RunningRoom]:
    package = write_package(tmp_path / "pkg", confidential=("minutes",))
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        yield room


def test_search_the_meeting_grouped_by_document_confidential_only_for_its_reader(
    qtbot: QtBot, room: RunningRoom, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    tablet = make_tablet(
        qtbot, room.device("tablet-a2", "A2"), tmp_path / "cache", room.endpoint(), Clock()
    )
    window = tablet.window
    view = window.document_view
    panel = view.search_panel

    def titles() -> list[str]:
        return [title for title, hit in tablet.search.rows if hit is None]

    async def body() -> None:
        await tablet.start()
        await wait_until(lambda: tablet.meeting is not None, "the meeting")
        await wait_until(lambda: not tablet.missing_documents(), "the public documents")
        assert tablet.meeting is not None
        minutes = next(d for d in tablet.meeting.documents if d.confidential)
        # Nobody signed in: the confidential minutes are not searched (nor held).
        tablet.search.search("page 2", "meeting")
        await tablet.search.wait()
        assert titles() == ["Agenda", "Budget 2027"]
        assert [hit.page_index for t, hit in tablet.search.rows if hit] == [1, 1]

        await sign_in(qtbot, tablet, wait_until)
        await wait_until(lambda: bool(tablet.cache.confidential.held()), "the sealed minutes")
        assert panel.field.text() == "" and tablet.search.rows == []  # a new reader
        view.open_search()
        qtbot.mouseClick(panel.whole_meeting, Qt.MouseButton.LeftButton)
        panel.field.setText("page 3")
        qtbot.mouseClick(panel.go, Qt.MouseButton.LeftButton)
        await tablet.search.wait()
        assert titles() == ["Budget 2027", minutes.title]
        rows = tablet.search.rows
        assert [(t, hit.page_index) for t, hit in rows if hit] == [
            ("Budget 2027", 2),
            (minutes.title, 2),
        ]
        # Tapping the minutes' hit opens the sealed copy at that page, marked confidential.
        row = next(i for i, (t, hit) in enumerate(rows) if hit and t == minutes.title)
        panel.hits.itemClicked.emit(panel.hits.item(row))
        await tablet.search.wait()
        await wait_until(lambda: tablet.showing == minutes.sha256, "the minutes open")
        assert tablet.reader.current_page == 2 and view.confidential
        await wait_until(lambda: view.annotation_layer.search_hits != [], "the hit marked")

        # Signing out: the words and the hits (lines of the minutes) leave the screen.
        qtbot.mouseClick(window.identity_action, Qt.MouseButton.LeftButton)
        await wait_until(lambda: tablet.link.me is None, "signed out")
        assert tablet.search.rows == [] and panel.hits.count() == 0
        assert panel.field.text() == "" and view.annotation_layer.search_hits == []
        assert [d.title for d in tablet.held_documents()] == ["Agenda", "Budget 2027"]

    run_async(body())
