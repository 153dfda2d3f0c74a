"""Enrolling through the tablet's screens, against a real room-server process: a tablet
that is not a device of the room types (or scans) a real pairing code and reaches the
meeting; wrong codes get a clear message each; the chair makes a code on the console and
sees it with a QR code that decodes back to the same link."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import segno
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from room_client.connection import RoomEndpoint
from room_client.enrollment import DeviceCredentials
from room_protocol.enrollment import PairingCode
from tablet_client.i18n import set_language
from tablet_client.qr_scan import CameraState, QrScanner, camera_state, decode_pairing
from tablet_client.render import PageRenderer
from tablet_client.tablet_controller import TabletController, TabletSettings
from tablet_client.views.main_window import MainWindow
from tests.rooms import RunningRoom, offline_room, running_room
from tests.system_packages import qt_multimedia
from tests.tablet_client.conftest import stopped_after_the_test
from tests.tablet_client.test_live_ui import click, make_tablet, shot, sign_in_ui

Run = Callable[[Coroutine[Any, Any, Any]], Any]
WaitUntil = Callable[..., Coroutine[Any, Any, float]]


@pytest.fixture(scope="module")
def enroll_room(
    tmp_path_factory: pytest.TempPathFactory, package_dir: Path
) -> Iterator[RunningRoom]:
    with running_room(
        tmp_path_factory.mktemp("enroll-room"),
        package=package_dir,
        mdns=False,
        room_name="Council chamber",
    ) as room:
        yield room


def new_code(room: RunningRoom, *args: str) -> dict[str, str]:
    """A real one-time pairing code from IT staff's ``room-server enroll``."""
    result = room.cli("enroll", *args, "--json")
    assert result.returncode == 0, result.stderr
    answer: dict[str, str] = json.loads(result.stdout)
    return answer


def qr_image(text: str, scale: int = 6) -> QImage:
    """A QR code of ``text`` as a camera would see it: segno's PNG, read by Qt."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    image = QImage.fromData(buffer.getvalue())
    assert not image.isNull()
    return image


def ca_sha256(ca_file: Path) -> str:
    certificate = x509.load_pem_x509_certificate(ca_file.read_bytes())
    return certificate.fingerprint(hashes.SHA256()).hex()


def unenrolled_tablet(
    qtbot: QtBot, room: RunningRoom, tmp_path: Path, name: str = "new"
) -> TabletController:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    credentials = DeviceCredentials(tmp_path / f"device-{name}")
    assert not credentials.enrolled
    tablet = TabletController(
        window,
        TabletSettings(
            credentials=credentials,
            cache_dir=tmp_path / f"cache-{name}",
            direct=room.endpoint(),
            seat_id="A2",
        ),
        PageRenderer(cache_bytes=32 * 1024 * 1024),
    )
    return stopped_after_the_test(tablet)


def test_an_unenrolled_tablet_enrolls_with_a_typed_code_and_reaches_the_meeting(
    qtbot: QtBot, enroll_room: RunningRoom, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    tablet = unenrolled_tablet(qtbot, enroll_room, tmp_path)
    window, view = tablet.window, tablet.window.enroll_view
    code = new_code(enroll_room, "--seat", "A2")["code"]

    async def body() -> None:
        await tablet.start()
        assert window.screens.currentWidget() is view
        assert view.findChild(type(view._room), "enroll_room").text() == "Room: Council chamber"
        for button in (view.enroll, view.scan, view.back):
            assert button.height() >= 48 and button.width() >= 48, button.objectName()
        assert view.code.height() >= 48
        # This machine has no camera: the Scan button says so instead of failing later.
        state = camera_state()
        if state is not CameraState.READY:
            assert not view.scan.isEnabled()
            assert view.scan.text().startswith("Scan:")
        await shot(window, "enroll", tmp_path)

        # Typed as people type it: lower case, spaces; the field regroups it.
        view.code.setFocus()
        qtbot.keyClicks(view.code, code.replace("-", " ").lower())
        assert view.code.text() == code
        click(qtbot, view.enroll)
        await wait_until(lambda: tablet.meeting is not None, "the meeting after enrolling")
        assert tablet.settings.credentials.enrolled
        assert window.screens.currentWidget() is not view
        assert tablet.connection is not None and tablet.connection.welcome is not None
        assert tablet.connection.welcome.seat_id == "A2"

    run_async(body())


def test_each_failure_says_what_went_wrong(
    qtbot: QtBot, enroll_room: RunningRoom, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    tablet = unenrolled_tablet(qtbot, enroll_room, tmp_path)
    window, view = tablet.window, tablet.window.enroll_view
    # A real code of another room: its CA is not this room's.
    other_sha = ca_sha256(offline_room(tmp_path / "other-room") / "tls" / "ca.pem")
    right = PairingCode.parse(new_code(enroll_room)["code"])
    wrong_room = str(PairingCode.for_room(right.secret, other_sha))
    this_sha = ca_sha256(enroll_room.ca_file)
    unknown = str(PairingCode.for_room("ZZZZZZZZ", this_sha))  # this room's, never made

    details: list[str] = []

    async def attempt(text: str) -> str:
        view.code.setText(text)
        click(qtbot, view.enroll)
        await wait_until(lambda: view.status.property("tone") == "error", f"an error for {text}")
        message = view.status.text()
        details.append(view.detail.text() if view.detail.isVisible() else "")
        assert view.enroll.isEnabled() and not view.progress.isVisible()
        assert not tablet.settings.credentials.enrolled
        view.show_status(None)
        return message

    async def body() -> None:
        await tablet.start()
        assert window.screens.currentWidget() is view
        assert "another room" in await attempt(wrong_room)
        assert "did not accept this code" in await attempt(unknown)
        assert "has 16 letters and digits; this one has 12" in await attempt("K7Q2 M9XD 4HRT")
        assert "also has *" in await attempt("K7Q2-M9XD-4HRT-PW3*")

        set_language("vi")
        view.code.setText(wrong_room)
        click(qtbot, view.enroll)
        await wait_until(lambda: view.status.property("tone") == "error", "the wrong-room error")
        assert "thuộc về một phòng khác" in view.status.text()
        await shot(window, "enroll-wrong-room-vi", tmp_path)
        set_language("en")
        assert "belongs to another room" in view.status.text()  # retranslated in place

        # The room cannot be reached: a port nobody listens on.
        view.show_status(None)
        tablet.join(RoomEndpoint(enroll_room.hostname, 1, "127.0.0.1", "Council chamber"))
        message = await attempt(str(right))
        assert "Cannot reach Council chamber" in message
        assert "cannot reach the room" in details[-1]  # the technical reason, for IT staff

    run_async(body())


def test_scanning_a_qr_code_enrolls_through_the_camera_frame_path(
    qtbot: QtBot, enroll_room: RunningRoom, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    """The frames the camera gives go to QrScanner.take_frame; here a picture of a real
    pairing code's QR code goes the same way (this machine has no camera)."""
    tablet = unenrolled_tablet(qtbot, enroll_room, tmp_path)
    link = new_code(enroll_room, "--seat", "A3")["link"]  # A2 has the typed-code tablet
    frame = qr_image(link)

    async def body() -> None:
        await tablet.start()
        blank = QImage(640, 480, QImage.Format.Format_RGB32)
        blank.fill(0xFFFFFF)
        assert tablet.scanner.take_frame(blank, now=0.0) is None
        code = tablet.scanner.take_frame(frame, now=1.0)
        assert code is not None and code == PairingCode.parse(link)
        await wait_until(lambda: tablet.meeting is not None, "the meeting after scanning")
        assert tablet.settings.credentials.enrolled

    run_async(body())


def test_a_frame_without_our_link_is_not_taken(qtbot: QtBot) -> None:
    scanner = QrScanner()
    found: list[str] = []
    scanner.found.connect(found.append)
    assert scanner.take_frame(qr_image("https://example.org/not-a-room"), now=1.0) is None
    assert scanner.take_frame(qr_image("hemicycle://enroll?code=XXXX"), now=2.0) is None
    assert not found
    assert decode_pairing(QImage()) is None


def test_the_chair_makes_a_code_and_sees_it_with_its_qr_code(
    qtbot: QtBot, enroll_room: RunningRoom, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    chair = make_tablet(qtbot, enroll_room, tmp_path, "chair", "A1")
    window = chair.window
    console = window.chair_console_view
    view = console.pairing

    async def body() -> None:
        await chair.start()
        await sign_in_ui(qtbot, chair, "chair", wait_until)
        await wait_until(lambda: window.screens.currentWidget() is console, "the chair console")
        assert console.sections.isTabVisible(3)
        console.show_section("devices")
        await wait_until(lambda: view.seat.count() > 1, "the seats")
        assert view.code.isHidden() and not view.empty.isHidden()
        view.seat.setCurrentIndex(view.seat.findData("A4"))  # no device there yet
        click(qtbot, view.on_display_toggle)
        click(qtbot, view.make_code)
        await wait_until(lambda: chair.chair.pairing.shown is not None, "the pairing code")
        shown = chair.chair.pairing.shown
        assert shown is not None
        assert view.code.text() == shown.code and view.code.isVisible()
        assert view.target.text() == "For the seat tablet at seat A4"
        assert re.fullmatch(r"Valid for (10:00|9:[0-5]\d)", view.expiry.text())
        assert view.where.text().startswith("Also shown on the room display")
        for button in (view.tablet_kind, view.display_kind, view.on_display_toggle, view.make_code):
            assert button.height() >= 48
        await shot(window, "chair-pairing", tmp_path)
        # The QR code on screen, as a camera would read it, is the link the room made.
        decoded = decode_pairing(view.qr.grab().toImage())
        assert decoded is not None and decoded == PairingCode.parse(shown.link)
        assert decoded.ca_sha256 == ca_sha256(enroll_room.ca_file)
        set_language("vi")
        await shot(window, "chair-pairing-vi", tmp_path)
        assert view.target.text() == "Cho máy tính bảng tại ghế A4"
        set_language("en")

    run_async(body())


def test_only_the_chair_and_clerk_see_the_devices_section(qtbot: QtBot) -> None:
    from room_protocol.messages import Role
    from tablet_client.session import capabilities
    from tablet_client.views.chair_console_view import ChairConsoleView

    console = ChairConsoleView()
    qtbot.addWidget(console)
    console.set_capabilities(capabilities(Role.CLERK))
    assert console.sections.isTabVisible(3)
    console.set_capabilities(capabilities(Role.DELEGATE))
    assert not console.sections.isTabVisible(3)
    assert isinstance(console.pairing.make_code, QPushButton)
    assert console.pairing.make_code.focusPolicy() == Qt.FocusPolicy.NoFocus
    console.set_capabilities(capabilities(Role.CHAIR))
    console.show()
    console.show_section("devices")
    view = console.pairing
    click(qtbot, view.more)
    assert view.minutes.value() == 15
    for _ in range(4):
        click(qtbot, view.fewer)
    assert view.minutes.value() == 1
    click(qtbot, view.display_kind)
    assert view.kind() == "display" and view.seat_id() is None and not view.seat.isEnabled()


def test_frames_through_a_qt_video_sink_reach_the_decoder(qtbot: QtBot) -> None:
    """The camera's path without a camera: a QVideoSink wired as QrScanner.start wires
    it, fed a video frame of a real pairing link's QR code."""
    multimedia = qt_multimedia()
    link = PairingCode.parse("K7Q2-M9XD-4HRT-PW3A")
    ca = "ab" * 32
    text = PairingCode.for_room(link.secret, ca).link(ca, "room-1")
    scanner = QrScanner()
    found: list[str] = []
    scanner.found.connect(found.append)
    sink = scanner.watch(multimedia.QVideoSink())
    rgb = qr_image(text).convertToFormat(QImage.Format.Format_RGB32)
    sink.setVideoFrame(multimedia.QVideoFrame(rgb))
    assert found == [text]
    assert camera_state() in (CameraState.NO_CAMERA, CameraState.READY)


def test_a_tablet_enrolls_from_the_usb_stick_and_marks_the_token_used(
    qtbot: QtBot, enroll_room: RunningRoom, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    """The stick IT staff wrote with ``room-provision stick enroll``, found where the
    desktop mounts sticks; its first token was already used by a tablet that could not
    mark it (a read-only stick): the room refuses it, the next one enrolls."""
    from dataclasses import replace

    from room_client.enrollment import enroll
    from room_client.enrollment_stick import EnrollmentStick
    from tests.provisioning.test_enroll_stick import write_stick

    media = tmp_path / "media"
    stick = media / "it-staff" / "ENROLL"
    stick.parent.mkdir(parents=True)
    write_stick(enroll_room, stick, 3)
    first = EnrollmentStick(stick).unused()[0]
    tablet = unenrolled_tablet(qtbot, enroll_room, tmp_path)
    window, view = tablet.window, tablet.window.enroll_view
    tablet.settings = replace(tablet.settings, stick_roots=(tmp_path / "nothing-here", media))

    async def body() -> None:
        await enroll(
            enroll_room.endpoint().uri,
            "127.0.0.1",
            enroll_room.port,
            first.code,
            DeviceCredentials(tmp_path / "other-tablet"),
        )
        await tablet.start()
        assert window.screens.currentWidget() is view
        assert view.stick.text() == "From USB stick" and view.stick.height() >= 48
        click(qtbot, view.stick)
        await wait_until(lambda: tablet.meeting is not None, "the meeting after enrolling")
        assert tablet.settings.credentials.enrolled
        on_stick = sorted(p.name for p in (stick / "hemicycle-enroll").iterdir())
        assert on_stick == ["001.used", "002.used", "003.token", "room.json"]

    run_async(body())


def test_without_a_usable_stick_the_tablet_says_why(
    qtbot: QtBot, enroll_room: RunningRoom, tmp_path: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    from dataclasses import replace

    from room_protocol.enrollment_stick import StickRoom
    from tests.provisioning.test_enroll_stick import write_stick

    tablet = unenrolled_tablet(qtbot, enroll_room, tmp_path)
    view = tablet.window.enroll_view
    tablet.settings = replace(tablet.settings, stick_roots=(tmp_path / "empty",))

    async def attempt() -> str:
        view.show_status(None)
        click(qtbot, view.stick)
        await wait_until(lambda: view.status.property("tone") == "error", "an error")
        assert not tablet.settings.credentials.enrolled and view.stick.isEnabled()
        return view.status.text()

    async def body() -> None:
        await tablet.start()
        assert "No enrollment stick found" in await attempt()
        stick = tmp_path / "stick"
        write_stick(enroll_room, stick, 1)
        tablet.settings = replace(tablet.settings, enroll_stick=stick)
        room_file = stick / "hemicycle-enroll" / "room.json"
        kept = StickRoom.parse(room_file.read_bytes())
        room_file.write_bytes(replace(kept, expires_ts=1.0).to_json())
        assert "expired" in await attempt()
        room_file.write_bytes(kept.to_json())
        (stick / "hemicycle-enroll" / "001.token").rename(stick / "hemicycle-enroll" / "001.used")
        assert "has been used" in await attempt()
        set_language("vi")
        try:
            assert "đã được dùng hết" in await attempt()
        finally:
            set_language("en")
        # Voided tokens (a lost stick): a few tries, then the tablet stops and says so.
        write_stick(enroll_room, stick, 7)
        assert enroll_room.cli("devices", "void-codes").returncode == 0
        assert "refused the tokens on this USB stick" in await attempt()
        left = sorted(p.name for p in (stick / "hemicycle-enroll").glob("*.token"))
        assert left == ["006.token", "007.token"]

    run_async(body())
