"""The live session on real tablets: real widgets (offscreen), a real room-server process,
TLS, downloads and rendering; the chair and other delegates are played either by another
tablet UI or by protocol-level tablets (tests.live_clients)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QLabel, QToolButton, QTreeWidget, QWidget
from pytestqt.qtbot import QtBot

from room_protocol.live import (
    AddItem,
    Announce,
    GrantFloor,
    LockScreens,
    MessageSeat,
    RequestFloor,
    RequestService,
    ServiceKind,
    SetFollow,
    SetSpeakingLimit,
)
from room_protocol.messages import Role
from room_protocol.notices import NoticeKind, RoomNotice
from room_server.notices import drop
from room_server.store import utc_now
from room_server.writer import DISK_FULL
from tablet_client import identity_controller
from tablet_client.i18n import set_language
from tablet_client.render import PageRenderer
from tablet_client.session import BADGE_KEY_GAP_S
from tablet_client.tablet_controller import TabletController, TabletSettings
from tablet_client.views.main_window import MainWindow
from tablet_client.views.style import CURRENT_ITEM_BACKGROUND
from tests.live_clients import Tablet
from tests.rooms import RunningRoom, running_room, timeout, write_package
from tests.tablet_client.conftest import stopped_after_the_test

Run = Callable[[Coroutine[Any, Any, Any]], Any]
WaitUntil = Callable[..., Coroutine[Any, Any, float]]
SHOTS = Path("/tmp/hemicycle-shots")
PINS = {"chair": "1111", "clerk": "3333", "d1": "2222", "d2": "4444", "d3": "6666"}


@pytest.fixture
def live_room(tmp_path: Path, package_dir: Path) -> Iterator[RunningRoom]:
    with running_room(
        tmp_path / "room", package=package_dir, mdns=False, room_name="Council chamber"
    ) as room:
        yield room


@pytest.fixture(scope="module")
def sign_in_room(
    tmp_path_factory: pytest.TempPathFactory, package_dir: Path
) -> Iterator[RunningRoom]:
    """One room for the sign-in tests: each uses its own seat (one ends locked)."""
    directory = tmp_path_factory.mktemp("sign-in-room")
    with running_room(
        directory, package=package_dir, mdns=False, room_name="Council chamber"
    ) as room:
        yield room


@pytest.fixture
def run_long(run_async: Run, qasync_loop: Any) -> Run:
    """Like run_async, with room for a whole session story (still well under a minute)."""

    def run(body: Coroutine[Any, Any, Any]) -> Any:
        return qasync_loop.run_until_complete(asyncio.wait_for(body, timeout(40)))

    return run


def make_tablet(
    qtbot: QtBot,
    room: RunningRoom,
    tmp_path: Path,
    name: str,
    seat_id: str | None,
    **settings: Any,
) -> TabletController:
    window = MainWindow()
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    tablet = TabletController(
        window,
        TabletSettings(
            credentials=room.device(f"tablet-{name}", seat_id),
            cache_dir=tmp_path / f"cache-{name}",
            direct=room.endpoint(),
            seat_id=seat_id,
            **settings,
        ),
        PageRenderer(cache_bytes=32 * 1024 * 1024),
    )
    return stopped_after_the_test(tablet)


def click(qtbot: QtBot, widget: QWidget) -> None:
    assert widget.isVisible() and widget.isEnabled(), widget.objectName()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def type_pin(qtbot: QtBot, tablet: TabletController, pin: str) -> None:
    for digit in pin:
        click(qtbot, tablet.window.sign_in_view.pin_pad.keys[digit])


async def shot(widget: QWidget, name: str, tmp_path: Path) -> QImage:
    await asyncio.sleep(0.05)  # let Qt lay out after a language switch or a new text
    pixmap = widget.grab()
    for folder in (tmp_path, SHOTS):
        folder.mkdir(parents=True, exist_ok=True)
        assert pixmap.save(str(folder / f"{name}.png"))
    image = pixmap.toImage()
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 9) for y in range(0, image.height(), 9)
    }
    assert len(colours) > 20, f"{name}: only {len(colours)} colours, the screen looks blank"
    return image


async def protocol_tablet(room: RunningRoom, who: str, seat: str | None) -> Tablet:
    tablet = await Tablet(room, f"protocol-{who}", seat).start()
    await tablet.sign_in(who, PINS[who])
    return tablet


async def sign_in_ui(
    qtbot: QtBot, tablet: TabletController, who: str, wait_until: WaitUntil
) -> None:
    """Choose ``who`` on the sign-in screen (opening it if needed) and type the PIN."""
    window = tablet.window
    await wait_until(lambda: tablet.meeting is not None, "the meeting")
    if window.screens.currentWidget() is not window.sign_in_view:
        click(qtbot, window.identity_action)
    window.sign_in_view.select_member(who)
    type_pin(qtbot, tablet, PINS[who])
    click(qtbot, window.sign_in_view.submit)
    await wait_until(lambda: tablet.link.me is not None, f"{who} signed in")


def text_of(widget: QWidget, name: str) -> str:
    label = widget.findChild(QLabel, name)
    assert label is not None, name
    return label.text()


def test_sign_in_with_the_pin_pad_wrong_pins_and_wrong_seat(
    qtbot: QtBot, sign_in_room: RunningRoom, tmp_path: Path, run_long: Run, wait_until: WaitUntil
) -> None:
    tablet = make_tablet(qtbot, sign_in_room, tmp_path, "a2", "A2")
    window, view = tablet.window, tablet.window.sign_in_view

    async def body() -> None:
        await tablet.start()
        await wait_until(lambda: tablet.meeting is not None, "the meeting")
        await wait_until(lambda: view.members.count() == 6, "the roster on the sign-in screen")
        assert window.screens.currentWidget() is view
        assert view.selected_member() == "d1"  # the member assigned to seat A2
        assert "Nguyễn Văn An — seat A2" in view.members.currentItem().text()
        assert text_of(view, "subheading") == "Seat A2"
        key = view.pin_pad.keys["5"]
        assert key.width() >= 88 and key.height() >= 60  # a finger-sized target

        # A wrong PIN: a clear message, the dots cleared, still on the sign-in screen.
        type_pin(qtbot, tablet, "9999")
        assert text_of(view, "pin_display") == "● ● ● ●"
        click(qtbot, view.submit)
        await wait_until(lambda: view.error.text() != "", "the wrong-PIN message")
        assert view.error.text() == "Wrong PIN — please try again"
        assert text_of(view, "pin_display") == "Type your PIN"
        await shot(window, "sign-in", tmp_path)

        # The right PIN: signed in, the top bar says who, the agenda is home.
        type_pin(qtbot, tablet, "2222")
        click(qtbot, view.submit)
        await wait_until(lambda: tablet.link.me is not None, "signed in")
        await wait_until(lambda: window.screens.currentWidget() is window.agenda_view, "agenda")
        assert window.identity.text() == "Nguyễn Văn An · Delegate · seat A2"
        assert window.identity_action.text() == "Sign out"
        assert window.wrong_seat_strip.isHidden()
        assert window.floor_bar.isVisible()

        # Sign out, then sign in as someone whose seat is A4: a wrong-seat warning.
        click(qtbot, window.identity_action)
        await wait_until(lambda: window.screens.currentWidget() is view, "back at sign-in")
        assert tablet.link.me is None and not window.identity.isVisible()
        view.select_member("d3")
        type_pin(qtbot, tablet, "6666")
        click(qtbot, view.submit)
        await wait_until(lambda: not window.wrong_seat_strip.isHidden(), "wrong-seat warning")
        assert window.wrong_seat_strip.text.text() == (
            "You are not at your assigned seat: this is seat A2, yours is A4"
        )
        set_language("vi")
        assert window.wrong_seat_strip.text.text() == (
            "Bạn không ngồi đúng ghế được xếp: đây là ghế A2, ghế của bạn là A4"
        )
        assert window.identity.text() == "Trần Thị Bình · Đại biểu · ghế A2"
        set_language("en")
        click(qtbot, window.identity_action)
        await wait_until(lambda: window.screens.currentWidget() is view, "signed out again")

        # Five wrong PINs lock signing in as that member (the observer here, whom no later
        # test needs): the message says so and names the clerk.
        view.select_member("obs")
        for _attempt in range(5):
            type_pin(qtbot, tablet, "0000")
            click(qtbot, view.submit)
            await wait_until(lambda: view.submit.isEnabled(), "the answer")
        assert "locked" in view.error.text() and "clerk" in view.error.text()
        await tablet.stop()

    run_long(body())


class KeyClock:
    """The sign-in's clock, stepped by the test: a badge reader is told from a person by the
    time between keys (BADGE_KEY_GAP_S), and a busy machine can pause a burst for longer."""

    def __init__(self, step: float) -> None:
        self.now = 1000.0
        self.step = step

    def monotonic(self) -> float:
        self.now += self.step
        return self.now


def test_a_badge_reader_typing_like_a_keyboard_signs_in(
    qtbot: QtBot,
    sign_in_room: RunningRoom,
    tmp_path: Path,
    run_long: Run,
    wait_until: WaitUntil,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tablet = make_tablet(qtbot, sign_in_room, tmp_path, "b1", "B1")  # a spare seat
    view = tablet.window.sign_in_view
    clock = KeyClock(step=BADGE_KEY_GAP_S + 0.02)  # a person: 70 ms between keys
    monkeypatch.setattr(identity_controller, "time", clock)

    async def body() -> None:
        await tablet.start()
        await wait_until(lambda: view.members.count() == 6, "the sign-in screen")
        # A person typing the badge number slowly is not a badge reader.
        for char in "04A1B2C3":
            qtbot.keyClick(view, char)
            await asyncio.sleep(0.01)
        qtbot.keyClick(view, Qt.Key.Key_Return)
        await asyncio.sleep(0.3)  # no sign-in went out: nothing comes back
        assert tablet.link.me is None and view.error.text() == ""
        # The reader: the whole number and Enter in a burst, wherever the focus is.
        clock.step = 0.002
        qtbot.keyClicks(view, "04A1B2C3")
        qtbot.keyClick(view, Qt.Key.Key_Return)
        await wait_until(lambda: tablet.link.me is not None, "signed in by badge")
        assert tablet.link.me is not None and tablet.link.me.delegate_id == "d1"
        await tablet.stop()

    run_long(body())


def test_a_badge_then_the_pin_where_the_meeting_wants_both(
    qtbot: QtBot,
    tmp_path: Path,
    run_long: Run,
    wait_until: WaitUntil,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    package = write_package(
        tmp_path / "package",
        voting=True,
        attendance={"badge_and_pin": True},
        delegates={
            "d1": {"pin": "246810"},
            **{f"d{i}": {"badge": f"BADGE{i}"} for i in range(2, 6)},
        },
    )
    clock = KeyClock(step=0.002)  # a badge reader
    monkeypatch.setattr(identity_controller, "time", clock)
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        tablet = make_tablet(qtbot, room, tmp_path, "a2", "A2")
        view = tablet.window.sign_in_view

        async def body() -> None:
            await tablet.start()
            await wait_until(lambda: view.members.count() > 0, "the sign-in screen")
            qtbot.keyClicks(view, "04A1B2C3")
            qtbot.keyClick(view, Qt.Key.Key_Return)
            await wait_until(lambda: view.error.text() != "", "asked for the PIN")
            assert view.error.text() == "Badge read — now type your PIN"
            assert tablet.link.me is None
            type_pin(qtbot, tablet, "246810")  # six digits
            click(qtbot, view.submit)
            await wait_until(lambda: tablet.link.me is not None, "signed in by badge and PIN")
            assert tablet.link.me is not None and tablet.link.me.delegate_id == "d1"
            await tablet.stop()

        run_long(body())


def test_delegate_follows_queues_reads_messages_and_is_locked(
    qtbot: QtBot, live_room: RunningRoom, tmp_path: Path, run_long: Run, wait_until: WaitUntil
) -> None:
    delegate = make_tablet(qtbot, live_room, tmp_path, "a2", "A2")
    clerk = make_tablet(qtbot, live_room, tmp_path, "clerk", None)
    window = delegate.window
    page_label = window.document_view.findChild(QLabel, "page_label")
    next_page = window.document_view.findChild(QToolButton, "next")
    assert page_label is not None and next_page is not None

    async def body() -> None:
        await asyncio.gather(delegate.start(), clerk.start())
        chair = await protocol_tablet(live_room, "chair", "A1")
        d2 = await protocol_tablet(live_room, "d2", "A3")
        await sign_in_ui(qtbot, delegate, "d1", wait_until)
        await sign_in_ui(qtbot, clerk, "clerk", wait_until)
        budget = next(d for d in chair.meeting.documents if d.title == "Budget 2027")
        # 0. The chair has shown nothing yet: following, and saying so.
        await wait_until(lambda: window.follow_strip.isVisible(), "the follow strip")
        assert window.follow_strip.text.text() == "Following the chair — no document shown yet"
        await shot(window, "delegate-following-nothing-yet", tmp_path)
        set_language("vi")
        assert window.follow_strip.text.text().startswith("Đang theo chủ tọa — chủ tọa chưa")
        await shot(window, "delegate-following-nothing-yet-vi", tmp_path)
        set_language("en")

        # 1. Follow the chair: the reader opens the budget (downloading it first) at the
        #    chair's page, and says it is following.
        for page in range(4):
            await chair.ok(SetFollow(chair.op(), budget.sha256, page))
        await wait_until(lambda: page_label.text() == "Page 4 of 6", "the chair's page")
        assert window.screens.currentWidget() is window.document_view
        assert window.follow_strip.text.text() == "Following the chair"
        await asyncio.sleep(0.3)  # the page image and thumbnails
        await shot(window, "delegate-following", tmp_path)

        # 2. A page turn of one's own leaves; the chair's moves no longer arrive.
        click(qtbot, next_page)
        await wait_until(lambda: not delegate.follow.following, "browsing freely")
        assert page_label.text() == "Page 5 of 6"
        assert window.follow_strip.text.text() == (
            "Browsing freely — tap to follow the chair again"
        )
        await chair.ok(SetFollow(chair.op(), budget.sha256, 1))
        await asyncio.sleep(0.4)
        assert page_label.text() == "Page 5 of 6"
        # One tap follows again and jumps to where the chair is now.
        click(qtbot, window.follow_strip.action)
        await wait_until(lambda: page_label.text() == "Page 2 of 6", "back with the chair")
        assert window.follow_strip.text.text() == "Following the chair"

        # 3. Speaker queue: d2 asks first, this delegate second; the chair gives d2 the
        #    floor: who speaks, with the time left, and "number 1" here.
        bar = window.floor_bar
        await chair.ok(SetSpeakingLimit(chair.op(), 120))
        await d2.ok(RequestFloor(d2.op()))
        await wait_until(lambda: bar.position.text() == "1 waiting to speak", "d2 queued")
        click(qtbot, bar.speak)
        await wait_until(
            lambda: bar.position.text() == "You are number 2 of 2 in the queue", "queued"
        )
        assert not bar.speak.isEnabled() and bar.withdraw.isEnabled()
        await chair.ok(GrantFloor(chair.op()))
        await wait_until(lambda: bar.speaker.text() == "Speaking: Beatrix Delegate", "speaker")
        # The room's two minutes, counting down (a second or so gone, more on a busy machine).
        await wait_until(lambda: bar.countdown.text() != "", "the countdown")
        minutes, seconds = bar.countdown.text().split(":")
        assert 120 - timeout(2) <= int(minutes) * 60 + int(seconds) <= 120, bar.countdown.text()
        assert bar.position.text() == "You are number 1 of 1 in the queue"
        assert bar.countdown.property("expired") is False
        await shot(window, "speaker-queue", tmp_path)
        set_language("vi")
        assert bar.position.text() == "Bạn đứng thứ 1/1 trong danh sách chờ"
        assert window.follow_strip.text.text() == "Đang theo chủ tọa"
        await shot(window, "speaker-queue-vi", tmp_path)
        set_language("en")
        # The clerk sees the queue and the countdown but cannot run the floor.
        console = clerk.window.chair_console_view
        assert clerk.window.screens.currentWidget() is console
        await wait_until(lambda: console.queue.count() == 1, "the clerk's queue")
        assert console.grant.isHidden() and console.follow_me.isHidden()
        assert console.speaking_now.text() == "Speaking: Beatrix Delegate"
        # Time is up: the countdown turns red.
        await chair.ok(SetSpeakingLimit(chair.op(), 1))
        await wait_until(lambda: bar.countdown.property("expired") is True, "time is up")
        # As on the room display: 0:00, then +m:ss from a whole second over.
        await wait_until(lambda: bar.countdown.text().startswith("+"), "over time")
        click(qtbot, bar.withdraw)
        await wait_until(lambda: bar.position.text() == "0 waiting to speak", "withdrawn")

        # 4. Announcements and a message to this seat, each dismissible.
        await chair.ok(Announce(chair.op(), "Lunch break until 13:30"))
        strip = window.announcement_strip
        await wait_until(lambda: not strip.isHidden(), "the announcement")
        assert strip.text.text().startswith("Announcement from Chair Person at ")
        assert strip.text.text().endswith(": Lunch break until 13:30")
        click(qtbot, strip.close_button)
        assert strip.isHidden()
        await chair.ok(MessageSeat(chair.op(), "A2", "Your microphone is on"))
        await wait_until(lambda: not strip.isHidden(), "the message to the seat")
        assert strip.text.text().startswith("Message for your seat from Chair Person")

        # 5. A call for service reaches the clerk's inbox and is resolved there.
        click(qtbot, bar.service)
        assert window.screens.currentWidget() is window.service_view
        click(qtbot, window.service_view.kind_buttons[ServiceKind.MICROPHONE])
        window.service_view.note.setText("the red light does not come on")
        click(qtbot, window.service_view.send)
        confirmation = window.confirmation_strip
        await wait_until(lambda: not confirmation.isHidden(), "the confirmation")
        assert confirmation.text.text() == (
            "Your request (Microphone problem) was sent to the clerk"
        )
        assert window.screens.currentWidget() is window.document_view  # back to reading
        calls = console.service_calls
        await wait_until(lambda: calls.count() == 1, "the call in the clerk's inbox")
        assert calls.item(0).text().startswith("Microphone problem · Nguyễn Văn An · seat A2")
        assert "the red light does not come on" in calls.item(0).text()
        assert console.tabs.tabText(2) == "Service (1)"
        console.tabs.setCurrentIndex(2)
        click(qtbot, console.resolve)
        await wait_until(lambda: calls.count() == 0, "resolved")

        # 6. The chair locks every screen: a full-screen overlay, gone when unlocked;
        #    the clerk's own console stays usable.
        await chair.ok(LockScreens(chair.op(), True))
        await wait_until(lambda: window.lock_view.mode() == "chair", "locked by the chair")
        assert window.lock_view.title.text() == "The chair has locked the screens"
        assert window.lock_view.geometry() == window.rect()
        assert clerk.window.lock_view.mode() == ""
        await wait_until(lambda: console.screens_state.text() == "Screens locked", "clerk sees")
        await shot(window, "lock", tmp_path)
        # Wi-Fi drops while locked and the chair unlocks meanwhile: after the reconnect
        # the room does not say "locked" again, so the tablet opens by itself.
        assert delegate.connection is not None
        delegate.connection.drop()
        await chair.ok(LockScreens(chair.op(), False))
        await wait_until(lambda: window.lock_view.mode() == "", "unlocked after reconnecting")
        assert delegate.follow.following and delegate.link.me is not None  # all restored

        await asyncio.gather(chair.stop(), d2.stop(), delegate.stop(), clerk.stop())

    run_long(body())


def test_inactivity_locks_the_screen_and_the_pin_opens_it(
    qtbot: QtBot, sign_in_room: RunningRoom, tmp_path: Path, run_long: Run, wait_until: WaitUntil
) -> None:
    idle = max(1, round(timeout(1)))  # whole seconds, as the setting is
    tablet = make_tablet(qtbot, sign_in_room, tmp_path, "a3", "A3", inactivity_lock_seconds=idle)
    lock = tablet.window.lock_view

    async def body() -> None:
        await tablet.start()
        await sign_in_ui(qtbot, tablet, "d2", wait_until)
        assert lock.mode() == ""
        await asyncio.sleep(idle / 2)
        assert lock.mode() == ""
        touched = time.monotonic()
        qtbot.mouseClick(tablet.window.agenda_view, Qt.MouseButton.LeftButton)  # a touch
        await wait_until(lambda: lock.mode() == "pin", "locked after a second untouched", 3)
        # The touch started the count again: without it the lock would have come at most
        # idle / 2 after the touch (a Qt coarse timer may fire up to 5 % early).
        assert time.monotonic() - touched >= 0.9 * idle
        assert lock.title.text() == "Screen locked"
        await shot(tablet.window, "lock-pin", tmp_path)
        for digit in "9999":
            click(qtbot, lock.pin_pad.keys[digit])
        click(qtbot, lock.unlock)
        await wait_until(lambda: lock.error.text() != "", "the wrong-PIN message")
        assert lock.error.text() == "Wrong PIN — please try again"
        assert lock.mode() == "pin"
        for digit in PINS["d2"]:
            click(qtbot, lock.pin_pad.keys[digit])
        click(qtbot, lock.unlock)
        await wait_until(lambda: lock.mode() == "", "unlocked with the PIN")
        await tablet.stop()

    run_long(body())


def row_is_current(tree: QTreeWidget, top_level: int) -> bool:
    colour: QColor = tree.topLevelItem(top_level).background(1).color()
    return colour.name() == CURRENT_ITEM_BACKGROUND


def test_chair_console_runs_the_agenda_and_follow_me(
    qtbot: QtBot, live_room: RunningRoom, tmp_path: Path, run_long: Run, wait_until: WaitUntil
) -> None:
    chair = make_tablet(qtbot, live_room, tmp_path, "a1", "A1")
    delegate = make_tablet(qtbot, live_room, tmp_path, "a2", "A2")
    console = chair.window.chair_console_view
    agenda = delegate.window.agenda_view.findChild(QTreeWidget, "agenda")
    delegate_page = delegate.window.document_view.findChild(QLabel, "page_label")
    assert agenda is not None and delegate_page is not None

    async def body() -> None:
        await asyncio.gather(chair.start(), delegate.start())
        await sign_in_ui(qtbot, chair, "chair", wait_until)
        await sign_in_ui(qtbot, delegate, "d1", wait_until)
        assert chair.link.role is Role.CHAIR
        assert chair.window.screens.currentWidget() is console
        assert console.follow_me.isVisible() and console.grant.isVisible()
        assert console.current_item.text() == "No current item"

        # Next: item 1 becomes current; its timer runs; the delegate's agenda follows.
        click(qtbot, console.next)
        await wait_until(lambda: console.current_item.text() == "Current item: 1 Opening", "1")
        # The timer runs: past 0:00 within seconds (the room's clock is known to the second,
        # and a busy machine may show a later second first).
        await wait_until(
            lambda: (
                re.fullmatch(r"0:[0-5][0-9] of 5:00", console.item_timer.text()) is not None
                and console.item_timer.text() != "0:00 of 5:00"
            ),
            "the timer running",
            4,
        )
        assert console.meeting_end.text().startswith("Estimated end: ")
        await wait_until(lambda: row_is_current(agenda, 0), "the delegate's highlight")
        assert not row_is_current(agenda, 1)

        # Add an item after the selected one: it appears on the delegate's tablet.
        console.select_item("opening")
        console.new_title.setText("Urgent motion")
        console.new_minutes.setValue(10)
        click(qtbot, console.add)
        await wait_until(lambda: agenda.topLevelItemCount() == 3, "the new item on the tablet")
        assert agenda.topLevelItem(1).text(1) == "Urgent motion"
        assert agenda.topLevelItem(1).text(2) == "10 min"
        # The chair's form clears on the room's answer, which may reach the chair's
        # connection after the broadcast reached the delegate's.
        await wait_until(lambda: console.new_title.text() == "", "the form cleared")
        # Move it down below the budget.
        await wait_until(lambda: console.tree.topLevelItemCount() == 3, "the console tree")
        added = console.tree.topLevelItem(1).data(0, Qt.ItemDataRole.UserRole)
        console.select_item(added)
        click(qtbot, console.move_buttons["down"])
        await wait_until(lambda: agenda.topLevelItem(2).text(1) == "Urgent motion", "moved")

        # Attach the minutes to item 1: the delegate gets a notice of the late document.
        console.select_item("opening")
        console.tabs.setCurrentIndex(4)
        minutes = next(d for d in chair.meeting.documents if d.title.startswith("Minutes"))  # type: ignore[union-attr]
        console.attach_choice.setCurrentIndex(console.attach_choice.findData(minutes.sha256))
        click(qtbot, console.attach)
        notice = delegate.window.notice_strip
        await wait_until(lambda: not notice.isHidden(), "the late-document notice")
        assert notice.text.text() == (
            "New document: Minutes of the last meeting (added to 1 Opening)"
        )

        # Follow me: the chair opens the budget and turns pages; the delegate follows.
        console.select_item("budget")
        assert console.item_documents.count() == 1
        click(qtbot, console.follow_me)
        assert console.follow_me.text() == "Follow me: on"
        click(qtbot, console.open_document)
        await wait_until(lambda: delegate_page.text() == "Page 1 of 6", "the delegate follows")
        assert chair.window.follow_strip.text.text().startswith("Follow me is on")
        chair_next = chair.window.document_view.findChild(QToolButton, "next")
        assert chair_next is not None
        click(qtbot, chair_next)
        click(qtbot, chair_next)
        await wait_until(lambda: delegate_page.text() == "Page 3 of 6", "page 3 on the tablet")
        assert delegate.window.screens.currentWidget() is delegate.window.document_view

        # Back at the console with a queue, a running speech and a service call.
        chair_back = chair.window.document_view.findChild(QToolButton, "back")
        assert chair_back is not None
        click(qtbot, chair_back)
        assert chair.window.screens.currentWidget() is console
        assert delegate_page.text() == "Page 3 of 6"  # the chair going back moves nobody
        console.tabs.setCurrentIndex(0)
        others = [
            await protocol_tablet(live_room, "d2", "A3"),
            await protocol_tablet(live_room, "d3", "B7"),  # not d3's seat: an alert
        ]
        for other in others:
            await other.ok(RequestFloor(other.op()))
        await others[1].ok(RequestService(others[1].op(), ServiceKind.WATER, "still water"))
        await wait_until(lambda: console.queue.count() == 2, "the queue on the console")
        console.select_queue_entry("d3")
        click(qtbot, console.queue_up)
        await wait_until(lambda: console.queue.item(0).text() == "1. Trần Thị Bình · seat A4", "up")
        await wait_until(lambda: console.alerts.count() == 1, "the wrong-seat alert")
        assert (
            console.alerts.item(0)
            .text()
            .startswith("Someone signed in at seat B7, which is not theirs")
        )
        assert console.tabs.tabText(3) == "Alerts (1)"
        click(qtbot, console.grant)  # the selected one: d3
        await wait_until(
            lambda: console.speaking_now.text() == "Speaking: Trần Thị Bình", "the speech"
        )
        await wait_until(lambda: console.countdown.text() != "", "the console countdown")
        console.select_item("budget")
        console.tabs.setCurrentIndex(0)
        await wait_until(lambda: console.tabs.tabText(2) == "Service (1)", "the service call")
        await wait_until(lambda: console.tabs.tabText(0) == "Speakers (1)", "one waiting")
        await asyncio.sleep(1.1)  # let the timers tick
        await shot(chair.window, "chair-console", tmp_path)
        set_language("vi")
        await asyncio.sleep(0.1)
        assert console.current_item.text() == "Mục hiện tại: 1 Opening"
        assert console.tabs.tabText(0) == "Phát biểu (1)"
        assert console.follow_me.text() == "Theo tôi: bật"
        await shot(chair.window, "chair-console-vi", tmp_path)
        set_language("en")

        # An announcement from the console reaches the delegate; delegates cannot edit.
        console.tabs.setCurrentIndex(1)
        console.announcement.setText("Vote at 15:00")
        click(qtbot, console.announce)
        strip = delegate.window.announcement_strip
        await wait_until(lambda: not strip.isHidden(), "the announcement on the tablet")
        assert strip.text.text().endswith(": Vote at 15:00")
        # the chair's own answer may come after the delegate's copy
        await wait_until(
            lambda: console.message_status.text() == "Announcement sent", "the chair's answer"
        )
        await others[0].refused(AddItem(others[0].op(), "Sneaky"), "forbidden")
        await asyncio.gather(*(o.stop() for o in others), chair.stop(), delegate.stop())

    run_long(body())


def test_the_command_line_places_the_tablet_at_a_seat(tmp_path: Path) -> None:
    from tablet_client.app import parse_args, settings_from

    common = ["--device-dir", str(tmp_path / "device"), "--cache-dir", str(tmp_path)]
    settings = settings_from(parse_args([*common, "--seat", "A2", "--inactivity-lock", "90"]))
    assert (settings.seat_id, settings.inactivity_lock_seconds) == ("A2", 90)
    roaming = settings_from(parse_args(common))
    assert (roaming.seat_id, roaming.inactivity_lock_seconds) == (None, None)


def test_the_chair_console_shows_the_rooms_notices(
    qtbot: QtBot, live_room: RunningRoom, tmp_path: Path, run_long: Run, wait_until: WaitUntil
) -> None:
    chair = make_tablet(qtbot, live_room, tmp_path, "a1", "A1")
    delegate = make_tablet(qtbot, live_room, tmp_path, "a2", "A2")
    console = chair.window.chair_console_view
    heard: list[object] = []
    delegate.link.received.connect(heard.append)

    async def body() -> None:
        await chair.start()
        await delegate.start()
        await sign_in_ui(qtbot, chair, "chair", wait_until)
        await sign_in_ui(qtbot, delegate, "d1", wait_until)
        imported = live_room.cli(
            "notice", "package_imported", "--title", "Council 12 Dec", "--count", "14"
        )
        assert imported.returncode == 0, imported.stderr
        await wait_until(lambda: console.alerts.count() == 1, "the notice on the console")
        assert (
            console.alerts.item(0)
            .text()
            .startswith("Package 'Council 12 Dec' imported — 14 documents (")
        )
        exported = live_room.cli("notice", "records_exported", "--count", "1")
        assert exported.returncode == 0, exported.stderr
        await wait_until(lambda: console.alerts.count() == 2, "the second notice")
        assert console.alerts.item(0).text().startswith("1 record exported to the stick (")
        # The room's own: its disk refuses changes (raised by the server, not the command).
        assert live_room.cli("notice", "storage_failed").returncode != 0
        drop(
            live_room.state_dir, RoomNotice(NoticeKind.STORAGE_FAILED, utc_now(), detail=DISK_FULL)
        )
        await wait_until(lambda: console.alerts.count() == 3, "the disk's notice")
        assert (
            console.alerts.item(0)
            .text()
            .startswith(
                "The room server's disk refuses changes: the room's disk is full: nothing was"
            )
        )
        console.tabs.setCurrentIndex(3)
        assert console.tabs.tabText(3) == "Alerts (3)"
        await shot(chair.window, "console-room-notices-en", tmp_path)
        set_language("vi")
        try:
            assert (
                console.alerts.item(0)
                .text()
                .startswith("Ổ đĩa của máy chủ phòng họp không ghi được, thay đổi chưa được lưu: ")
            )
            assert console.alerts.item(1).text().startswith("Đã xuất 1 biên bản ra USB (")
            assert (
                console.alerts.item(2)
                .text()
                .startswith("Đã nhập gói 'Council 12 Dec' — 14 tài liệu (")
            )
            await shot(chair.window, "console-room-notices-vi", tmp_path)
        finally:
            set_language("en")
        assert not [m for m in heard if isinstance(m, RoomNotice)]

    run_long(body())
