"""The room display and devices, against a real room-server process: a pairing code the
chair asks to show appears large with a QR code that decodes back to the room's link, and
a display that is not enrolled says so on the whole screen for IT staff."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from kiosk.display_controller import DisplayController, DisplaySettings
from kiosk.display_view import DisplayView
from kiosk.i18n import set_language
from room_client.enrollment import DeviceCredentials
from room_protocol.enrollment import CreatePairingCode, DeviceKindName, PairingCodeShown
from tests.kiosk.conftest import Run, shot, until
from tests.kiosk.test_display import make_display
from tests.live_clients import Tablet
from tests.rooms import RunningRoom, running_room


@pytest.fixture(scope="module")
def pairing_room(
    tmp_path_factory: pytest.TempPathFactory, package_dir: Path
) -> Iterator[RunningRoom]:
    with running_room(
        tmp_path_factory.mktemp("pairing-room"),
        package=package_dir,
        mdns=False,
        room_name="Council chamber",
    ) as room:
        yield room


def decoded(view: DisplayView) -> list[str]:
    image = view.pairing_page.qr.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    return [str(b.text) for b in zxingcpp.read_barcodes(image)]


def test_a_pairing_code_the_chair_shows_fills_the_display_until_it_expires(
    qtbot: QtBot, pairing_room: RunningRoom, run_async: Run[Any]
) -> None:
    display = make_display(qtbot, pairing_room)
    view = display.view

    async def body() -> None:
        chair = await Tablet(pairing_room, "tablet-chair", "A1").start()
        try:
            await display.start()
            await until(lambda: display.meeting is not None, "the meeting")
            await chair.sign_in("chair", "1111")
            await chair.ok(
                CreatePairingCode(
                    chair.op(), DeviceKindName.TABLET, "A3", minutes=5, on_display=True
                )
            )
            await until(lambda: bool(chair.of_type(PairingCodeShown)), "the code")
            shown = chair.of_type(PairingCodeShown)[-1]
            await until(lambda: view.pages.currentWidget() is view.pairing_page, "the code shown")
            page = view.pairing_page
            assert page.code.text() == shown.code
            assert page.target.text() == "For the seat tablet at seat A3"
            assert page.expiry.text() in ("Valid for 5:00", "Valid for 4:59", "Valid for 4:58")
            assert decoded(view) == [shown.link]  # the QR code on screen is the room's link
            await shot(view, "display-pairing")
            set_language("vi")
            await asyncio.sleep(0.05)
            assert page.target.text() == "Cho máy tính bảng tại ghế A3"
            await shot(view, "display-pairing-vi")
            set_language("en")
            # Past its expiry the code leaves the screen and the meeting comes back.
            display.pairing = PairingCodeShown(
                shown.code, shown.link, "2000-01-01T00:00:00Z", shown.kind, shown.seat_id
            )
            display.refresh()
            assert view.pages.currentWidget() is view.meeting_page
            assert display.pairing is None
        finally:
            await chair.stop()
            await display.stop()

    run_async(body())


def test_a_display_that_is_not_enrolled_tells_it_staff_what_to_do(
    qtbot: QtBot, pairing_room: RunningRoom, tmp_path: Path, run_async: Run[Any]
) -> None:
    view = DisplayView()
    qtbot.addWidget(view)
    view.resize(1920, 1080)
    view.show()
    qtbot.waitExposed(view)
    credentials = DeviceCredentials(tmp_path / "display-device")
    display = DisplayController(
        view, DisplaySettings(credentials=credentials, direct=pairing_room.endpoint())
    )
    wrong: list[DisplayController] = []

    async def body() -> None:
        try:
            await display.start()
            page = view.setup_page
            assert view.pages.currentWidget() is page
            assert page.title.text() == "This display is not enrolled"
            assert "Council chamber" in page.body.text()
            assert "room-server enroll --display" in page.steps.text()
            assert page.problem.isHidden()
            await shot(view, "display-not-enrolled")
            set_language("vi")
            await asyncio.sleep(0.05)
            assert page.title.text() == "Màn hình này chưa được đăng ký"
            await shot(view, "display-not-enrolled-vi")
            set_language("en")
            await display.stop()
            # With a code of another room: the reason, still on the same screen.
            wrong.append(
                DisplayController(
                    view,
                    DisplaySettings(
                        credentials=credentials,
                        direct=pairing_room.endpoint(),
                        pairing_code="AAAA-AAAA-AAAA-AAAA",
                    ),
                )
            )
            await wrong[0].start()
            await until(lambda: not page.problem.isHidden(), "the reason")
            assert "not the one the pairing code belongs to" in page.problem.text()
            assert not credentials.enrolled
        finally:
            await display.stop()
            for other in wrong:
                await other.stop()

    run_async(body())
