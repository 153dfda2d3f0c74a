"""The display's layout and drawing rules with plain values: no room server.

The controller is fed what RoomConnection would hand it, with a clock the test moves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QRect
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from kiosk.display_controller import DisplayController, DisplaySettings
from kiosk.display_view import DisplayView
from kiosk.fit_label import FitLabel
from kiosk.i18n import set_language
from room_client.enrollment import DeviceCredentials
from room_client.timers import parse_time
from room_protocol.live import Announcement, FloorKind, FloorState, QueueEntry, Speech
from room_protocol.messages import AgendaItem, MeetingSnapshot, Role, RosterEntry
from room_protocol.voting import AttendanceState, QuorumRule, Seating
from tests.kiosk.conftest import SHOTS, not_blank

NAMES = [
    ("d1", "Nguyễn Thị Phương Thảo-Hoàng Lê Minh Khôi", "A2"),
    ("d2", "Beatrix Delegate", "A3"),
    ("d3", "Trần Thị Bình", "A4"),
    ("d4", "Maximilian Alexander von Oberhausen-Wittgenstein", "B12"),
    ("d5", "Lê Văn Tám", "B13"),
    ("d6", "Ana Paula", "B14"),
    ("d7", "Đặng Quốc Việt", "C1"),
    ("d8", "Someone Else", "C2"),
]
LONG_TITLE = (
    "Draft resolution on the 2027 budget of the province: first reading, amendments of the "
    "finance committee"
)
ANNOUNCEMENT = (
    "The session resumes at 14:00 in the main chamber. Delegates of group B please meet in "
    "room 2 during the break. Lunch is served on the ground floor."
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def crowded_meeting() -> MeetingSnapshot:
    budget = AgendaItem("budget", "12.3", LONG_TITLE, planned_minutes=30, actual_seconds=1900)
    return MeetingSnapshot(
        meeting_id="congress",
        title="13th Provincial People's Council — 9th session (extraordinary), plenary",
        date="2026-11-21",
        location="Great Hall, Provincial Assembly Building",
        revision=1,
        agenda=(budget,),
        documents=(),
        current_item_id="budget",
        current_started_at="2026-11-21T09:00:00+00:00",
        roster=tuple(
            RosterEntry(i, n, Role.DELEGATE, seat, group="Group B") for i, n, seat in NAMES
        ),
    )


def crowded_floor() -> FloorState:
    first, *waiting = NAMES
    speaking = Speech(
        first[0], first[1], FloorKind.POINT_OF_ORDER, "2026-11-21T09:20:00+00:00", 120, 30.0
    )
    queue = tuple(
        QueueEntry(i, n, FloorKind.POINT_OF_ORDER if i == "d4" else FloorKind.SPEAK, "t", seat)
        for i, n, seat in waiting
    )
    return FloorState(1, speaking, queue, 120)


def crowded_attendance() -> AttendanceState:
    """A congress: 1,000 of 1,586 present, 64 by proxy (not counted), two thirds needed."""
    return AttendanceState(
        present=(),
        proxies=(),
        members=1586,
        present_members=1000,
        represented=1064,
        required=1058,
        quorum_met=False,
        rule=QuorumRule.TWO_THIRDS,
        seating=Seating.ASSIGNED,
        proxies_count=False,
    )


def make(qtbot: QtBot, size: tuple[int, int] = (1920, 1080), **settings: Any) -> DisplayController:
    view = DisplayView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    return DisplayController(
        view,
        DisplaySettings(DeviceCredentials(Path("/nonexistent")), **settings),
        clock=Clock(),
    )


def inside(widget: QWidget, view: DisplayView) -> bool:
    top_left = widget.mapTo(view, widget.rect().topLeft())
    return view.rect().contains(QRect(top_left, widget.size()))


def fit_labels(view: DisplayView) -> list[FitLabel]:
    return [label for label in view.findChildren(FitLabel) if label.isVisible() and label.text()]


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (3840, 2160), (1024, 768)])
def test_a_crowded_meeting_fits_the_screen(qtbot: QtBot, size: tuple[int, int]) -> None:
    """Long names and titles, a point of order, a full queue and a new announcement: all
    of it on screen, nothing past the edge, the countdown still big."""
    display = make(qtbot, size)
    view = display.view
    set_language("vi")  # the longer strings
    display.on_meeting(crowded_meeting())
    display.on_message(crowded_floor())
    display.on_message(Announcement("m-1", ANNOUNCEMENT, "Thư ký", "2026-11-21T09:21:00+00:00"))
    display.on_message(crowded_attendance())
    qtbot.wait(50)  # layout
    assert (view.width(), view.height()) == size  # the screen is given: never grown
    scale = min(size[0] / 1920, size[1] / 1080)
    if size[0] < 2000:  # a 4K grab costs seconds and shows nothing new
        name = f"display-7-crowded-vi-{size[0]}x{size[1]}"
        SHOTS.mkdir(parents=True, exist_ok=True)
        pixmap = view.grab()
        assert pixmap.save(str(SHOTS / f"{name}.png"))
        not_blank(pixmap.toImage(), name)
    for widget in [*fit_labels(view), view.clock, view.item_timer, view.countdown_caption]:
        assert inside(widget, view), widget.objectName() or type(widget).__name__
    assert inside(view.status_text, view)
    assert view.status_text.height() >= view.status_text.sizeHint().height() - 1
    # Even squeezed by a three-line title and an announcement, the countdown stays by far
    # the largest text on screen (300 px when there is room).
    assert view.countdown.fitted_font().pixelSize() >= 180 * scale
    for label in (view.item_title, view.announcement_text, view.speaker_name):
        assert not label.elided(), label.text()
    assert [r.name.text() for r in view.queue_rows if r.isVisible()] == [
        n for _, n, _ in NAMES[1:6]
    ]
    assert view.queue_rows[2].pill.isVisible() and not view.queue_rows[0].pill.isVisible()
    assert view.queue_more.text() == "và 2 người khác"
    assert view.speaker_detail.text() == "Ghế A2 · Group B"
    assert view.speaker_pill.isVisible() and view.speaker_pill.text() == "KIẾN NGHỊ THỦ TỤC"
    assert view.item_number.text() == "12.3" and view.item_title.text() == LONG_TITLE
    attendance = view.attendance_panel
    assert attendance.present.text() == "Có mặt 1000/1586"
    assert attendance.quorum.text() == "Chưa đủ túc số (1058)"
    assert attendance.proxies.text() == "+64 ủy quyền"
    assert not attendance.present.elided() and not attendance.proxies.elided()
    assert inside(attendance.quorum, view)


def test_a_title_too_long_for_two_lines_is_cut_with_an_ellipsis(qtbot: QtBot) -> None:
    display = make(qtbot)
    display.on_meeting(crowded_meeting())
    view = display.view
    view.set_item("7", "Amendment " * 60)
    qtbot.wait(50)
    assert view.item_title.elided()
    assert view.item_title.fitted_font().pixelSize() == view.item_title.font_px(1)
    assert inside(view.item_title, view)


def test_an_announcement_is_prominent_then_quiet_then_gone(qtbot: QtBot) -> None:
    display = make(qtbot, announcement_prominent_s=120, announcement_keep_s=1800)
    clock = display._now
    assert isinstance(clock, Clock)
    view = display.view
    display.on_meeting(crowded_meeting())
    message = Announcement("m-1", "Fire drill at 11:00", "Clerk Person", "2026-11-21T09:21:00Z")
    display.on_message(message)
    assert view.announcement.isVisible() and view.announcement_prominent
    assert view.announcement_meta.text().startswith("Clerk Person · ")
    clock.now += 121
    display.refresh()
    assert view.announcement.isVisible() and not view.announcement_prominent
    assert view.announcement_text.text() == "Fire drill at 11:00"
    clock.now += 1800
    display.refresh()
    assert not view.announcement.isVisible()
    # A message to one seat is not for the room's screen.
    display.on_message(Announcement("m-2", "Your mic is on", "Clerk", "2026-11-21T09:30:00Z", "A3"))
    assert not view.announcement.isVisible()


def test_the_countdown_ticks_from_the_last_floor_state(qtbot: QtBot) -> None:
    display = make(qtbot)
    clock = display._now
    assert isinstance(clock, Clock)
    view = display.view
    display.on_meeting(crowded_meeting())
    display.on_message(crowded_floor())  # 30 s of 120 gone
    assert view.countdown.text() == "1:30" and view.countdown_caption.text() == "Time left"
    clock.now += 0.4  # 30.4 s gone: the next tick comes just after 31 s
    assert display.next_tick_ms(clock.now) == 600 + 15
    clock.now += 75
    display.refresh()
    assert view.countdown.text() == "0:15"
    assert view.countdown.colour() == "#ffab2e"  # amber for the last 30 s
    clock.now += 20
    display.refresh()
    assert view.countdown.text() == "+0:05" and view.countdown_caption.text() == "Time is up"


def test_before_the_room_is_found_the_display_says_what_it_looks_for(qtbot: QtBot) -> None:
    display = make(qtbot, room_id="council-7")
    display.refresh()
    view = display.view
    assert view.pages.currentWidget() is view.idle_page
    assert view.idle_text.text() == "Waiting for the room…"
    assert view.status_text.text() == "Looking for room council-7…"
    assert view.connection_state == "searching"


def test_panels_can_be_added_beside_the_queue(qtbot: QtBot) -> None:
    """Vote results and quorum will be panels under the speaker queue."""
    display = make(qtbot)
    display.on_meeting(crowded_meeting())
    view = display.view
    panel = view.panel_frame()
    view.add_panel(panel, 1)
    qtbot.wait(50)
    assert panel.isVisible() and inside(panel, view)
    assert panel.geometry().top() > view.queue_panel.geometry().bottom()


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_signed_audit_head_is_witnessed_in_a_corner(
    qtbot: QtBot, tmp_path: Path, language: str
) -> None:
    """The head the room signed last, small in the bottom corner, for the room to see."""
    from room_protocol.voting import AuditHead

    display = make(qtbot)
    view = display.view
    set_language(language)
    display.on_meeting(crowded_meeting())
    display.on_message(crowded_floor())
    assert view.audit_head.text() == ""  # nothing signed yet: nothing shown
    display.on_message(
        AuditHead(1234, "3f9ac21b" + "7" * 56, "2026-11-21T09:21:00.000+00:00", "poll.closed p1")
    )
    qtbot.wait(50)  # layout
    expected = {"en": "Audit", "vi": "Kiểm toán"}[language] + " seq 1234 · 3F9A C21B"
    assert view.audit_head.text() == expected
    assert view.audit_head.isVisible() and inside(view.audit_head, view)
    corner = view.audit_head.mapTo(view, view.audit_head.rect().bottomRight())
    assert corner.x() > view.width() * 0.8 and corner.y() > view.height() * 0.9
    assert view.audit_head.x() > view.status_text.x()  # beside the connection line
    pixmap = view.grab()
    shot = tmp_path / f"display-audit-head-{language}.png"
    assert pixmap.save(str(shot))
    not_blank(pixmap.toImage(), shot.stem)
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert pixmap.save(str(SHOTS / shot.name))


def test_a_standing_announcement_is_as_old_as_its_time_says(qtbot: QtBot) -> None:
    """The room repeats its standing announcement to a display that connects later: it is
    aged from when it was made (by the room's clock), not from when it arrived."""
    display = make(qtbot, announcement_prominent_s=120, announcement_keep_s=1800)
    clock = display._now
    assert isinstance(clock, Clock)
    view = display.view
    display.clock.sync(parse_time("2026-11-21T10:00:00Z"), clock.now)  # as at welcome
    display.on_meeting(crowded_meeting())
    made_20_min_ago = "2026-11-21T09:40:00Z"
    display.on_message(Announcement("m-1", "Lunch until 13:30", "Chair", made_20_min_ago))
    assert view.announcement.isVisible() and not view.announcement_prominent
    assert view.announcement_text.text() == "Lunch until 13:30"
    clock.now += 10 * 60 + 1  # half an hour after it was made: gone
    display.refresh()
    assert not view.announcement.isVisible()
    display.on_message(Announcement("m-2", "We resume", "Chair", "2026-11-21T10:10:00Z"))
    assert view.announcement.isVisible() and view.announcement_prominent  # just made
