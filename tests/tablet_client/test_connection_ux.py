"""Joining a room as a delegate meets it: rooms found over mDNS on 127.0.0.1 from real
room-server processes, real TLS, real widgets (offscreen). A room that cannot be trusted
or reached says why and leads back to the list; a room that restarts on another port is
found again; delegates read no protocol jargon and choose their room themselves."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QPushButton
from pytestqt.qtbot import QtBot

from room_client.connection import ConnectionStatus, Failure, Phase
from room_client.enrollment import DeviceCredentials
from room_protocol import PROTOCOL_VERSION
from tablet_client.app import parse_args, settings_from
from tablet_client.document_controller import DocumentController
from tablet_client.i18n import current_language, set_language
from tablet_client.render import PageRenderer
from tablet_client.tablet_controller import TabletController, TabletSettings
from tablet_client.views.elided_label import ElidedLabel
from tablet_client.views.main_window import MainWindow
from tests.rooms import RunningRoom, enroll_device, running_room, start_room, timeout
from tests.tablet_client.conftest import stopped_after_the_test

Run = Callable[[Coroutine[Any, Any, Any]], Any]
WaitUntil = Callable[..., Coroutine[Any, Any, float]]
SHOTS = Path("/tmp/shots-connection")
SIZES = ((1280, 800), (1920, 1200))


def make_tablet(
    qtbot: QtBot, enrolled_in: RunningRoom, cache: Path, **settings: Any
) -> TabletController:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(*SIZES[0])
    window.show()
    qtbot.waitExposed(window)
    tablet = TabletController(
        window,
        TabletSettings(
            credentials=enrolled_in.device("seat-a2", "A2"),
            cache_dir=cache,
            interfaces=("127.0.0.1",),
            **settings,
        ),
        PageRenderer(cache_bytes=16 * 1024 * 1024),
    )
    return stopped_after_the_test(tablet)


async def shots(qtbot: QtBot, window: MainWindow, name: str) -> None:
    """The window at both tablet sizes, in English and Vietnamese (then English again)."""
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    for language in ("en", "vi"):
        set_language(language)
        window.retranslate()  # a window without a TabletController too
        for width, height in SIZES:
            window.resize(width, height)
            # The qasync loop lays the window out meanwhile; qtbot.wait would spin a nested
            # Qt loop that wakes the room connection's task inside this one.
            await asyncio.sleep(0.05)
            assert window.grab().save(str(SHOTS / f"{name}-{language}-{width}x{height}.png"))
    set_language("en")
    window.retranslate()
    window.resize(*SIZES[0])


def room_list(window: MainWindow) -> QListWidget:
    rooms = window.discovery_view.findChild(QListWidget, "rooms")
    assert rooms is not None
    return rooms


def choose(tablet: TabletController, room: RunningRoom) -> None:
    """Tap ``room`` in the list (other rooms on the machine's loopback may be listed too)."""
    service = next(n for n, r in tablet.rooms.items() if r.room.room_id == room.room_id)
    tablet.window.discovery_view.select_room(service)
    assert tablet.window.discovery_view.selected_room() == service


def listed(tablet: TabletController, room: RunningRoom) -> bool:
    return any(r.room.room_id == room.room_id for r in tablet.rooms.values())


def test_room_list_has_no_jargon_and_nothing_chosen_for_the_delegate(
    qtbot: QtBot, tmp_path: Path, package_dir: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    with running_room(
        tmp_path / "room", package=package_dir, room_name="Phòng họp số 2", hostname="room-two"
    ) as room:
        tablet = make_tablet(qtbot, room, tmp_path / "cache")
        tablet.auto_join = False
        window = tablet.window

        async def body() -> None:
            await tablet.start()
            await wait_until(lambda: listed(tablet, room), "the room on the network")
            rooms = room_list(window)
            names = [rooms.item(i).text() for i in range(rooms.count())]
            assert "Phòng họp số 2" in names  # the name alone: no "protocol 6"
            assert not [n for n in names if "protocol" in n or "giao thức" in n]
            assert rooms.currentItem() is None  # an explicit choice
            join = window.discovery_view.findChild(QPushButton, "primary")
            assert join is not None and not join.isEnabled()
            detail = window.discovery_view.findChild(QLabel, "room_detail")
            assert detail is not None and not detail.isVisible()
            await shots(qtbot, window, "1-rooms-none-chosen")

            choose(tablet, room)  # the delegate taps their room
            assert join.isEnabled()
            # The protocol version and address are still there, on a small line for IT staff.
            assert detail.isVisible()
            assert detail.text().startswith("For IT staff: ")
            assert f"protocol {PROTOCOL_VERSION}" in detail.text()
            assert f"127.0.0.1:{room.port}" in detail.text()
            await shots(qtbot, window, "2-room-chosen")
            # A room list refresh keeps the choice and never adds one.
            chosen = window.discovery_view.selected_room()
            tablet._on_rooms(list(tablet.rooms.values()))
            assert window.discovery_view.selected_room() == chosen
            qtbot.mouseClick(join, Qt.MouseButton.LeftButton)
            await wait_until(lambda: tablet.link.connected, "connected")
            assert window.screens.currentWidget() is window.agenda_view  # a roaming tablet

        run_async(body())


def test_untrusted_room_says_why_and_leads_back_to_the_list(
    qtbot: QtBot, tmp_path: Path, package_dir: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    """The tablet was enrolled in one room; the delegate taps another room's name (its
    own CA): plain words, no endless retry, and the way back to the room list."""
    with (
        running_room(
            tmp_path / "mine", package=package_dir, room_name="Council chamber", hostname="mine"
        ) as mine,
        running_room(
            tmp_path / "other", package=package_dir, room_name="Committee room", hostname="other"
        ) as other,
    ):
        tablet = make_tablet(qtbot, mine, tmp_path / "cache")
        tablet.auto_join = False
        window = tablet.window
        view = window.discovery_view

        async def body() -> None:
            await tablet.start()
            await wait_until(
                lambda: listed(tablet, mine) and listed(tablet, other), "both rooms on the network"
            )
            choose(tablet, other)
            join = view.findChild(QPushButton, "primary")
            assert join is not None
            qtbot.mouseClick(join, Qt.MouseButton.LeftButton)
            await wait_until(view.problem_shown, "the reason")
            assert window.screens.currentWidget() is view
            title = view.findChild(QLabel, "problem_title")
            reason = view.findChild(QLabel, "problem_reason")
            detail = view.findChild(QLabel, "problem_detail")
            assert title is not None and reason is not None and detail is not None
            assert title.text() == "Could not join Committee room"
            assert reason.text().startswith(
                "This room's certificate is not the one this tablet was enrolled with"
                " — ask IT staff."
            )
            assert "certificate" in detail.text() and f":{other.port}" in detail.text()
            assert not room_list(window).isVisible()
            assert not window.identity_action.isVisible()  # no empty "Who are you?" list
            # Not tried again and again: the connection stopped, the banner says so.
            await wait_until(
                lambda: (
                    tablet.connection is not None
                    and tablet.connection.status.phase is Phase.STOPPED
                ),
                "the attempts stopped",
            )
            assert tablet.connection.status.failure is None
            assert window.connection_text() == "Could not join Committee room"
            assert "retrying" not in window.connection_text()
            await shots(qtbot, window, "3-untrusted")
            set_language("vi")
            assert title.text() == "Không thể tham gia Committee room"
            assert reason.text().startswith("Chứng chỉ của phòng này")
            set_language("en")
            # Try again: the same answer, as plainly (IT staff may have fixed the room).
            qtbot.mouseClick(view.retry, Qt.MouseButton.LeftButton)
            assert not view.problem_shown()
            await wait_until(view.problem_shown, "the reason again")
            assert title.text() == "Could not join Committee room"

            # Back: the list again, nothing chosen; the tablet's own room joins.
            qtbot.mouseClick(view.back, Qt.MouseButton.LeftButton)
            assert not view.problem_shown() and tablet.connection is None
            assert room_list(window).isVisible() and room_list(window).currentItem() is None
            assert window.connection_text() == "Not connected"
            choose(tablet, mine)
            qtbot.mouseClick(join, Qt.MouseButton.LeftButton)
            await wait_until(lambda: tablet.link.connected, "connected to the tablet's room")
            assert window.screens.currentWidget() is window.agenda_view  # a roaming tablet
            assert "Connected to Council chamber" in window.connection_text()

        run_async(body())


def test_unreachable_room_says_where_keeps_trying_and_joins_when_it_answers(
    qtbot: QtBot, tmp_path: Path, package_dir: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    room = start_room(
        tmp_path / "room", package=package_dir, room_name="Phòng họp số 2", hostname="room-two"
    )
    try:
        tablet = make_tablet(qtbot, room, tmp_path / "cache")
        tablet.auto_join = False
        window = tablet.window
        view = window.discovery_view

        async def find_it_then_lose_it() -> None:
            await tablet.start()
            await wait_until(lambda: listed(tablet, room), "the room on the network")
            room.process.send_signal(signal.SIGKILL)  # a power cut: mDNS still lists it
            await asyncio.to_thread(room.process.wait)
            choose(tablet, room)
            join = view.findChild(QPushButton, "primary")
            assert join is not None
            qtbot.mouseClick(join, Qt.MouseButton.LeftButton)
            await wait_until(view.problem_shown, "the reason")
            reason = view.findChild(QLabel, "problem_reason")
            assert reason is not None
            detail = view.findChild(QLabel, "problem_detail")
            assert detail is not None
            assert reason.text().startswith(f"Room not reachable at 127.0.0.1:{room.port}."), (
                detail.text()
            )
            connection = tablet.connection
            assert connection is not None and connection.status.failure is Failure.UNREACHABLE
            assert window.screens.currentWidget() is view
            await shots(qtbot, window, "4-unreachable")

        run_async(find_it_then_lose_it())

        # It keeps trying: the room comes back on the same port and the delegate is in.
        again = start_room(
            tmp_path / "room",
            room_name="Phòng họp số 2",
            hostname="room-two",
            port=room.port,
            room_id=room.room_id,
        )
        try:

            async def back() -> None:
                await wait_until(lambda: tablet.link.connected, "connected", 30)
                assert not view.problem_shown()
                assert window.screens.currentWidget() is window.agenda_view  # a roaming tablet

            run_async(back())
        finally:
            again.process.kill()
            again.process.wait()
    finally:
        if room.process.poll() is None:
            room.process.kill()
        room.process.wait()


def test_tablet_follows_the_room_to_a_new_port_after_a_restart(
    qtbot: QtBot, tmp_path: Path, package_dir: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    room = start_room(
        tmp_path / "room", package=package_dir, room_name="Phòng họp số 2", hostname="room-two"
    )
    moved: RunningRoom | None = None
    try:
        tablet = make_tablet(qtbot, room, tmp_path / "cache", room_id=room.room_id)
        window = tablet.window

        async def joined() -> None:
            await tablet.start()  # provisioned for this room: joins when it is found
            await wait_until(lambda: tablet.link.connected, "connected")
            await wait_until(lambda: not tablet.missing_documents(), "the documents")

        run_async(joined())
        old_port = room.port
        assert room.stop() == 0  # IT staff restart the server; port 0 picks another port
        moved = start_room(
            tmp_path / "room", room_name="Phòng họp số 2", hostname="room-two", room_id=room.room_id
        )
        assert moved.port != old_port

        async def reconnected() -> None:
            # Found again by mDNS and joined at once: not after the capped backoff of the
            # old port's retries (15 s), nor ever at the old port.
            took = await wait_until(
                lambda: (
                    tablet.link.connected
                    and tablet.connection is not None
                    and tablet.connection.endpoint.port == moved.port
                ),
                "reconnected on the new port",
                8,
            )
            assert took < timeout(8)
            assert window.connection_text() == "Connected to Phòng họp số 2"
            assert tablet.fetcher is not None and tablet.fetcher.endpoint.port == moved.port
            # The documents come from the new port too: one fetched again from there.
            doc = tablet.meeting.documents[0]  # type: ignore[union-attr]
            tablet.cache.document_path(doc.sha256).unlink(missing_ok=True)
            path = await tablet.fetcher.fetch(doc)
            assert path.read_bytes()

        run_async(reconnected())
    finally:
        for running in (room, moved):
            if running is not None and running.process.poll() is None:
                running.process.kill()
                running.process.wait()


def build_app(qtbot: QtBot, fed_room: Path, directory: Path, language: str = "en") -> MainWindow:
    """What ``hemicycle-tablet`` builds at start (app.main), in this process."""
    device, cache = str(directory / "device"), str(directory / "cache")
    args = parse_args(["--device-dir", device, "--cache-dir", cache, "--language", language])
    set_language(args.language)
    enroll_device(fed_room, "lang-tablet")  # credentials in fed_room/../devices/lang-tablet
    settings = replace(
        settings_from(args),
        credentials=DeviceCredentials(fed_room.parent / "devices" / "lang-tablet"),
    )
    assert settings.preferences_file == directory / "preferences.json"
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(*SIZES[0])
    stopped_after_the_test(TabletController(window, settings, PageRenderer()))
    return window


def test_language_chosen_is_kept_across_restarts(
    qtbot: QtBot, tmp_path: Path, fed_room: Path
) -> None:
    window = build_app(qtbot, fed_room, tmp_path)
    assert current_language() == "en" and window.windowTitle() == "Hemicycle"
    window.language.setCurrentIndex(window.language.findData("vi"))  # the delegate's choice
    assert current_language() == "vi"
    assert json.loads((tmp_path / "preferences.json").read_text()) == {"language": "vi"}
    assert (tmp_path / "preferences.json").stat().st_mode & 0o077 == 0
    window.close()

    set_language("en")  # a new process starts in the configured language...
    again = build_app(qtbot, fed_room, tmp_path)
    assert current_language() == "vi"  # ...and turns to the one chosen
    assert again.language.currentData() == "vi"
    assert again.discovery_view.back.text() == "Quay lại danh sách phòng"
    again.language.setCurrentIndex(again.language.findData("en"))
    assert json.loads((tmp_path / "preferences.json").read_text()) == {"language": "en"}


@pytest.mark.parametrize(
    "content", [b"{not json", b'{"language": "fr"}', b'["vi"]', b'{"language": 3}', b" " * 5000]
)
def test_a_bad_preferences_file_is_ignored(
    qtbot: QtBot, tmp_path: Path, fed_room: Path, content: bytes
) -> None:
    (tmp_path / "preferences.json").write_bytes(content)
    build_app(qtbot, fed_room, tmp_path, language="vi")
    assert current_language() == "vi"  # the configured language, nothing else
    assert (tmp_path / "preferences.json").read_bytes() == content  # left as it was


LONG_TITLE = (
    "Báo cáo tổng kết công tác nhiệm kỳ 2021–2026 và phương hướng, nhiệm vụ nhiệm kỳ"
    " 2026–2031 của Hội đồng nhân dân thành phố — Phụ lục 3: Kế hoạch đầu tư công trung hạn"
)


def test_a_long_document_title_ends_in_an_ellipsis(
    qtbot: QtBot, tmp_path: Path, colour_pdf: Path, qt_renderer: PageRenderer, run_async: Run
) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(*SIZES[0])
    window.show()
    qtbot.waitExposed(window)
    window.show_screen(window.document_view)
    reader = DocumentController(window.document_view, qt_renderer)
    title = window.document_view.findChild(ElidedLabel, "title")
    assert title is not None

    async def body() -> None:
        await reader.open(colour_pdf, LONG_TITLE)
        await asyncio.sleep(0.2)
        for width, height in SIZES:
            window.resize(width, height)
            await asyncio.sleep(0.05)
            window.grab()  # painted: the tooltip follows what was cut
            shown = title.shown_text()
            assert title.text() == LONG_TITLE  # whole, for the tooltip and screen readers
            assert shown.endswith("…") and LONG_TITLE.startswith(shown[:-1]), shown
            assert title.toolTip() == LONG_TITLE
            assert window.width() == width  # the title never widens the window
        await shots(qtbot, window, "7-long-document-title")
        await reader.open(colour_pdf, "Budget 2027")
        await asyncio.sleep(0.05)
        window.grab()
        assert title.shown_text() == "Budget 2027" and title.toolTip() == ""
        reader.close()

    run_async(body())


def test_an_impostor_announcing_the_room_elsewhere_does_not_strand_the_tablet(
    qtbot: QtBot, tmp_path: Path, package_dir: Path, run_async: Run, wait_until: WaitUntil
) -> None:
    """Attack: someone on the room network announces the tablet's room id over mDNS at
    their own address (a server of their own, its own CA), so the tablet tries it at its
    next reconnect. TLS refuses it, and the next attempt goes back to where the room
    last welcomed the tablet: a spoofed announcement costs one failed attempt, no more."""
    with running_room(
        tmp_path / "room", package=package_dir, room_name="Phòng họp số 2", hostname="room-two"
    ) as room:
        tablet = make_tablet(qtbot, room, tmp_path / "cache", room_id=room.room_id)

        async def joined() -> None:
            await tablet.start()
            await wait_until(lambda: tablet.link.connected, "connected")

        run_async(joined())
        with running_room(
            tmp_path / "impostor",
            package=package_dir,
            room_id=room.room_id,  # claims to be the room
            room_name="A Phòng họp số 2",  # listed first
            hostname="impostor",
        ) as impostor:

            async def attacked() -> None:
                connection = tablet.connection
                assert connection is not None
                await wait_until(
                    lambda: connection.endpoint.port == impostor.port, "the spoofed address"
                )
                assert tablet.link.connected  # a live connection is left alone
                welcome = connection.welcome
                statuses: list[ConnectionStatus] = []
                report = connection.on_status
                assert report is not None

                def seen(status: ConnectionStatus) -> None:
                    statuses.append(status)
                    report(status)

                connection.on_status = seen
                connection.drop()  # a Wi-Fi drop: the next attempt goes to the impostor
                await wait_until(
                    lambda: tablet.link.connected and connection.welcome is not welcome,
                    "back with the room",
                )
                assert connection.endpoint.port == room.port
                # It did try the impostor, and TLS refused it.
                assert [s.failure for s in statuses if s.phase is Phase.RETRYING][:2] == [
                    Failure.DROPPED,
                    Failure.UNTRUSTED,
                ]
                assert not tablet.window.discovery_view.problem_shown()
                assert tablet.window.screens.currentWidget() is not tablet.window.discovery_view

            run_async(attacked())
