"""The room display shows what the room did with a USB stick (``room.notice``, raised by
``room-server notice`` as the USB watcher does), where announcements go, in English and
Vietnamese; a newer announcement from the chair takes its place."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from kiosk.i18n import set_language
from room_protocol.live import Announce
from tests.kiosk.conftest import Run, shot, until
from tests.kiosk.test_display import cleanly, make_display, signed_in
from tests.rooms import running_room


def test_the_display_shows_the_rooms_notices(
    qtbot: QtBot, tmp_path: Path, package_dir: Path, run_async: Run
) -> None:
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        display = make_display(qtbot, room)
        view = display.view

        async def body() -> None:
            await display.start()
            await until(lambda: view.connection_state == "connected", "connected")
            assert not view.announcement.isVisible()
            rejected = room.cli(
                "notice", "stick_rejected", "--detail", "2 .zip files at the top: keep one"
            )
            assert rejected.returncode == 0, rejected.stderr
            await until(lambda: view.announcement.isVisible(), "the notice")
            assert (
                view.announcement_text.text() == "Stick rejected: 2 .zip files at the top: keep one"
            )
            assert view.announcement_heading.text() == "ROOM"
            assert view.announcement_meta.text().startswith("Room server · ")
            assert view.announcement_prominent
            imported = room.cli(
                "notice", "package_imported", "--title", "Council 12 Dec", "--count", "14"
            )
            assert imported.returncode == 0, imported.stderr
            await until(
                lambda: (
                    view.announcement_text.text()
                    == "Package 'Council 12 Dec' imported — 14 documents"
                ),
                "the newer notice",
            )
            await shot(view, "display-room-notice-en")
            set_language("vi")
            try:
                await until(
                    lambda: (
                        view.announcement_text.text()
                        == "Đã nhập gói 'Council 12 Dec' — 14 tài liệu"
                    ),
                    "the notice in Vietnamese",
                )
                assert view.announcement_heading.text() == "PHÒNG HỌP"
                await shot(view, "display-room-notice-vi")
            finally:
                set_language("en")
            chair = await signed_in(room, "chair")
            await chair.ok(Announce(chair.op(), "Lunch break until 13:30"))
            await until(
                lambda: view.announcement_text.text() == "Lunch break until 13:30",
                "the chair's announcement, newer",
            )
            assert view.announcement_heading.text() == "ANNOUNCEMENT"

        run_async(cleanly(display, body()))


def test_a_display_started_later_shows_the_standing_announcement(
    qtbot: QtBot, tmp_path: Path, package_dir: Path, run_async: Run
) -> None:
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        display = make_display(qtbot, room)
        view = display.view

        async def body() -> None:
            chair = await signed_in(room, "chair")
            await chair.ok(Announce(chair.op(), "Lunch break until 13:30"))
            await display.start()  # switched on after the announcement was made
            await until(lambda: view.connection_state == "connected", "connected")
            await until(lambda: view.announcement.isVisible(), "the standing announcement")
            assert view.announcement_text.text() == "Lunch break until 13:30"
            assert view.announcement_heading.text() == "ANNOUNCEMENT"
            assert view.announcement_meta.text().startswith("Chair Person · ")
            assert view.announcement_prominent  # made moments ago: still shown large
            await shot(view, "display-standing-announcement-en")
            set_language("vi")
            try:
                await until(lambda: view.announcement_heading.text() == "THÔNG BÁO", "vi")
                await shot(view, "display-standing-announcement-vi")
            finally:
                set_language("en")

        run_async(cleanly(display, body()))
