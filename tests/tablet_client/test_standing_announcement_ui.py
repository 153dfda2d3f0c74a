"""The room's standing announcement on the tablet: readable on the chair's lock screen,
shown to a tablet that joins after it was made, and not shown again once put away when
the room repeats it after a reconnect. Real room-server process, real widgets."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pytestqt.qtbot import QtBot

from room_protocol.live import Announce, LockScreens
from tablet_client.i18n import set_language
from tablet_client.views.main_window import MainWindow
from tests.rooms import RunningRoom
from tests.tablet_client.test_live_ui import (
    Run,
    WaitUntil,
    click,
    live_room,
    make_tablet,
    protocol_tablet,
    run_long,
    sign_in_ui,
)

__all__ = ["live_room", "run_long"]  # fixtures used here

SHOTS = Path("/tmp/shots-connection")
SIZES = ((1280, 800), (1920, 1200))


async def shots(window: MainWindow, name: str) -> None:
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    for language in ("en", "vi"):
        set_language(language)
        for width, height in SIZES:
            window.resize(width, height)
            await asyncio.sleep(0.05)
            assert window.grab().save(str(SHOTS / f"{name}-{language}-{width}x{height}.png"))
    set_language("en")
    window.resize(*SIZES[0])


def test_standing_announcement_on_the_lock_screen_and_for_a_late_tablet(
    qtbot: QtBot, live_room: RunningRoom, tmp_path: Path, run_long: Run, wait_until: WaitUntil
) -> None:
    d1 = make_tablet(qtbot, live_room, tmp_path, "d1", "A2")
    window = d1.window
    lock = window.lock_view

    async def body() -> None:
        chair = await protocol_tablet(live_room, "chair", "A1")
        await d1.start()
        await sign_in_ui(qtbot, d1, "d1", wait_until)
        await chair.ok(Announce(chair.op(), "Lunch break until 13:30 — the hall is locked"))
        await wait_until(lambda: window.announcement_strip.isVisible(), "the announcement")

        # The chair locks every screen for the break: the announcement stays readable.
        await chair.ok(LockScreens(chair.op(), True))
        await wait_until(lambda: lock.mode() == "chair", "locked by the chair")
        assert lock.announcement.isVisible()
        assert lock.announcement.text().startswith("Announcement from Chair Person at ")
        assert lock.announcement.text().endswith(": Lunch break until 13:30 — the hall is locked")
        await shots(window, "5-chair-lock-announcement")
        set_language("vi")
        assert lock.announcement.text().startswith("Thông báo từ Chair Person lúc ")
        set_language("en")

        # A tablet that joins during the break shows it too (the room repeats it on hello).
        late = make_tablet(qtbot, live_room, tmp_path, "d2", "A3")
        await late.start()
        await wait_until(lambda: late.window.announcement_strip.isVisible(), "the standing one")
        assert "Lunch break until 13:30" in late.window.lock_view.announcement.text()
        await shots(late.window, "6-late-tablet-announcement")

        # Put away on d1, it is not shown again when the room repeats it after a drop.
        await chair.ok(LockScreens(chair.op(), False))
        await wait_until(lambda: lock.mode() == "", "unlocked")
        click(qtbot, window.announcement_strip.close_button)
        assert not window.announcement_strip.isVisible()
        connection = d1.connection
        assert connection is not None
        welcome = connection.welcome
        connection.drop()
        await wait_until(
            lambda: d1.link.connected and connection.welcome is not welcome, "reconnected"
        )
        await asyncio.sleep(0.3)  # the repeated announcement arrives right after welcome
        assert not window.announcement_strip.isVisible()
        assert "Lunch break" in lock.announcement.text()  # still the room's latest
        await chair.stop()

    run_long(body())
