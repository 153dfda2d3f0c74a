"""Closing the meeting on the chair console, with the room played by the test
(tests.tablet_client.fed): the confirmation naming what is open, the forced close, the
record panel, and "the meeting is closed" on every tablet. Screenshots go to /tmp."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from room_protocol.errors import ErrorCode
from room_protocol.live import CloseBlocked, CloseMeeting
from room_protocol.messages import MeetingState
from room_protocol.records import RecordProgress, RecordState, RecordUpload, UploadState
from tablet_client.i18n import set_language
from tests.tablet_client.fed import MEETING, FedTablet, at

MakeFed = Callable[..., FedTablet]
Run = Callable[[Coroutine[Any, Any, Any]], Any]
SHOTS = Path("/tmp/hemicycle-shots")


def click(qtbot: QtBot, widget: QWidget) -> None:
    assert widget.isVisible() and widget.isEnabled(), widget.objectName()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


async def shot(widget: QWidget, name: str, tmp_path: Path) -> None:
    await asyncio.sleep(0.05)  # let Qt lay out after a new text or a language switch
    pixmap = widget.grab()
    for folder in (tmp_path, SHOTS):
        folder.mkdir(parents=True, exist_ok=True)
        assert pixmap.save(str(folder / f"{name}.png"))


def chair_console(tablet: FedTablet) -> Any:
    tablet.start("chair", present=("d1", "d2"))
    console = tablet.window.chair_console_view
    tablet.window.show_screen(console)
    return console


def test_the_dialog_names_what_is_open_and_close_anyway_forces(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    dialog = tablet.tablet.closing.dialog

    async def body() -> None:
        console = chair_console(tablet)
        closing = console.closing
        assert closing.close_meeting.text() == "Close meeting"
        await shot(closing, "close-button", tmp_path)
        click(qtbot, closing.close_meeting)
        assert dialog.isVisible() and not dialog.still_open.isVisible()
        assert "cannot be reopened" in dialog.question.text()
        assert not await tablet.sent(CloseMeeting)  # nothing is sent before the chair confirms
        click(qtbot, dialog.close_anyway)
        (first,) = await tablet.sent(CloseMeeting)
        assert not first.force
        tablet.feed(CloseBlocked(first.op_id, (), "Nguyễn Văn An", 2, 1))
        tablet.refuse(first, ErrorCode.STILL_OPEN.value, "still open")
        await asyncio.sleep(0)
        assert dialog.isVisible()
        assert dialog.still_open.text().splitlines() == [
            "•  Nguyễn Văn An has the floor",
            "•  2 members waiting to speak",
            "•  1 open service request",
        ]
        assert dialog.close_anyway.text() == "Close anyway"
        assert dialog.cancel.text() == "Cancel"
        await shot(dialog, "close-dialog", tmp_path)
        set_language("vi")
        assert dialog.close_anyway.text() == "Vẫn kết thúc"
        assert "Nguyễn Văn An đang phát biểu" in dialog.still_open.text()
        await shot(dialog, "close-dialog-vi", tmp_path)
        set_language("en")

        click(qtbot, dialog.close_anyway)
        forced = [r for r in await tablet.sent(CloseMeeting) if r.force]
        assert len(forced) == 1
        tablet.answer(forced[0])
        tablet.feed(MeetingState(replace(MEETING, revision=2, closed_at=at())))
        await asyncio.sleep(0)
        assert not dialog.isVisible()
        assert not closing.close_meeting.isVisible()
        assert closing.state.text().startswith("The meeting is closed")
        assert tablet.window.closed_strip.isVisible()

    run_async(body())


def test_an_open_poll_leaves_only_cancel(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    dialog = tablet.tablet.closing.dialog

    async def body() -> None:
        console = chair_console(tablet)
        click(qtbot, console.closing.close_meeting)
        click(qtbot, dialog.close_anyway)
        (request,) = await tablet.sent(CloseMeeting)
        tablet.feed(CloseBlocked(request.op_id, ("Adopt the budget 2027",)))
        tablet.refuse(request, ErrorCode.STILL_OPEN.value, "close the poll first")
        await asyncio.sleep(0)
        assert dialog.isVisible()
        assert dialog.question.text() == "A poll is open: close the poll first."
        assert dialog.still_open.text() == "•  Open poll: Adopt the budget 2027"
        assert not dialog.close_anyway.isVisible()
        await shot(dialog, "close-dialog-poll", tmp_path)
        click(qtbot, dialog.cancel)
        assert not dialog.isVisible()
        assert console.closing.close_meeting.isVisible()

    run_async(body())


def test_the_record_panel_shows_the_build(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()

    async def body() -> None:
        console = chair_console(tablet)
        closing = console.closing
        assert not closing.record_panel.isVisible()
        tablet.feed(MeetingState(replace(MEETING, revision=2, closed_at=at())))
        tablet.feed(
            RecordProgress(
                MEETING.meeting_id, RecordState.BUILDING, "contents", 3, 8, "2/3 minutes-vi.pdf"
            )
        )
        await asyncio.sleep(0)
        assert closing.record_panel.isVisible()
        assert (closing.record_progress.value(), closing.record_progress.maximum()) == (3, 8)
        assert closing.record_text.text() == "Building the record: contents — 2/3 minutes-vi.pdf"
        assert not closing.upload_state.isVisible()  # until the outbox reports
        await shot(console, "record-building", tmp_path)
        set_language("vi")
        assert closing.record_text.text().startswith("Đang lập biên bản")
        await shot(console, "record-building-vi", tmp_path)
        set_language("en")
        tablet.feed(RecordProgress(MEETING.meeting_id, RecordState.SEALED, "seal", 3, 3, ""))
        await asyncio.sleep(0)
        assert closing.record_progress.value() == closing.record_progress.maximum()
        assert closing.record_text.text() == "The record is complete and sealed."
        tablet.feed(
            RecordProgress(MEETING.meeting_id, RecordState.FAILED, "seal", 2, 3, "disk full")
        )
        await asyncio.sleep(0)
        assert "failed: disk full" in closing.record_text.text()
        await shot(console, "record-failed", tmp_path)

    run_async(body())


def test_a_delegate_sees_that_the_meeting_is_closed(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()

    async def body() -> None:
        tablet.start("d1")
        strip = tablet.window.closed_strip
        assert not strip.isVisible()
        tablet.feed(MeetingState(replace(MEETING, revision=2, closed_at=at())))
        await asyncio.sleep(0)
        assert strip.isVisible()
        assert strip.text.text().startswith("The meeting is closed (since ")
        tablet.feed(RecordProgress(MEETING.meeting_id, RecordState.SEALED, "seal", 1, 1, ""))
        await asyncio.sleep(0)
        assert not tablet.window.chair_console_view.closing.record_panel.isVisible()
        await shot(tablet.window, "delegate-closed", tmp_path)
        set_language("vi")
        assert strip.text.text().startswith("Phiên họp đã kết thúc")
        await shot(tablet.window, "delegate-closed-vi", tmp_path)
        set_language("en")

    run_async(body())


def test_the_record_panel_shows_the_upload(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    meeting_id = MEETING.meeting_id

    async def body() -> None:
        console = chair_console(tablet)
        closing = console.closing
        tablet.feed(MeetingState(replace(MEETING, revision=2, closed_at=at())))
        tablet.feed(RecordProgress(meeting_id, RecordState.SEALED, "seal", 4, 4, ""))
        tablet.feed(RecordUpload(meeting_id, UploadState.UPLOADING, 7, 19, 3 << 20, 12 << 20))
        await asyncio.sleep(0)
        assert closing.upload_state.isVisible()
        assert closing.upload_state.text() == "Uploading to the archive: 25 % (7 of 19 files)."
        await shot(console, "record-uploading", tmp_path)
        retry = RecordUpload(
            meeting_id, UploadState.RETRYING, 7, 19, 3 << 20, 12 << 20, 2, "HTTP 503", 130
        )
        tablet.feed(retry)
        await asyncio.sleep(0)
        assert closing.upload_state.text() == (
            "The archive did not take the record (HTTP 503). Trying again in 3 min; "
            "the room keeps its copy."
        )
        set_language("vi")
        assert closing.upload_state.text().startswith("Kho lưu trữ chưa nhận biên bản (HTTP 503)")
        await shot(console, "record-retrying-vi", tmp_path)
        set_language("en")
        tablet.feed(RecordUpload(meeting_id, UploadState.UPLOADED, 19, 19, 12 << 20, 12 << 20))
        await asyncio.sleep(0)
        assert closing.upload_state.text() == "The archive has confirmed the record."
        # Another meeting's upload is not this one's.
        tablet.feed(RecordUpload("other", UploadState.QUEUED, 0, 3, 0, 10))
        await asyncio.sleep(0)
        assert closing.upload_state.text() == "The archive has confirmed the record."
        await shot(console, "record-uploaded", tmp_path)

    run_async(body())
