"""The room display when the chair closes the meeting: "Meeting closed", from the room."""

from __future__ import annotations

from pytestqt.qtbot import QtBot

from kiosk.i18n import set_language
from room_protocol.live import CloseMeeting
from tests.kiosk.conftest import Run, shot, until
from tests.kiosk.test_display import cleanly, make_display, signed_in
from tests.rooms import RunningRoom


def test_display_shows_that_the_meeting_is_closed(
    qtbot: QtBot, room: RunningRoom, run_async: Run
) -> None:
    display = make_display(qtbot, room)
    view = display.view

    async def body() -> None:
        await display.start()
        await until(lambda: view.pages.currentWidget() is view.meeting_page, "the meeting")
        chair = await signed_in(room, "chair")
        await chair.ok(CloseMeeting(chair.op()))
        await until(lambda: view.pages.currentWidget() is view.idle_page, "the closed meeting")
        assert view.title.text() == "Test council"
        assert view.idle_text.text().startswith("Meeting closed at ")
        await shot(view, "display-closed-en")
        set_language("vi")
        assert view.idle_text.text().startswith("Phiên họp đã kết thúc lúc ")
        await shot(view, "display-closed-vi")
        set_language("en")

    run_async(cleanly(display, body()))
