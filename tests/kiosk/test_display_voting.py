"""Attendance, voting and results on the room display, fed the messages the room sends
(attendance.state, poll.state, poll.progress) with a clock the test moves.

Screenshots go to tmp_path and to /tmp/hemicycle-shots (display-vote-*.png).
"""

from __future__ import annotations

from dataclasses import replace
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
from kiosk.look import AMBER, GREEN, RED, TONE_COLOURS, Tone
from kiosk.voting import Stage
from room_client.enrollment import DeviceCredentials
from room_client.timers import parse_time
from room_protocol.live import FloorKind, FloorState, QueueEntry, Speech
from room_protocol.messages import AgendaItem, MeetingSnapshot, Role, RosterEntry
from room_protocol.voting import (
    ABSTAIN,
    NO,
    YES,
    AttendanceState,
    Base,
    CheckMethod,
    Majority,
    NamedVote,
    OptionCount,
    Outcome,
    Poll,
    PollKind,
    PollOption,
    PollProgress,
    PollResult,
    PollRule,
    PollSpec,
    PollsState,
    PollState,
    Presence,
    Proxy,
    QuorumRule,
    Seating,
    Tie,
    normalised,
)
from tests.kiosk.conftest import SHOTS, not_blank

T0 = "2026-11-21T09:00:00+00:00"  # the item started; the room's clock reads 09:20:00 at start
NOW = "2026-11-21T09:20:00+00:00"

MEMBERS = [
    ("m01", "Nguyễn Văn An"),
    ("m02", "Trần Thị Bình"),
    ("m03", "Lê Hoàng Cường"),
    ("m04", "Phạm Thị Dung"),
    ("m05", "Hoàng Văn Em"),
    ("m06", "Beatrix Delegate"),
    ("m07", "Đặng Quốc Việt"),
    ("m08", "Võ Thị Giang"),
    ("m09", "Ana Paula"),
    ("m10", "Bùi Minh Hải"),
    ("m11", "Someone Else"),
    ("m12", "Ngô Thị Phương Thảo-Hoàng Lê Minh Khôi"),
    ("m13", "Đỗ Văn Khánh"),
    ("m14", "Maximilian von Oberhausen"),
    ("m15", "Lý Thị Mai"),
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def meeting(current: str = "budget", started: str = T0) -> MeetingSnapshot:
    budget = AgendaItem("budget", "4", "Budget 2027 of the province", planned_minutes=45)
    other = AgendaItem("other", "5", "Any other business", planned_minutes=10)
    return MeetingSnapshot(
        meeting_id="council",
        title="Provincial People's Council — 9th session",
        date="2026-11-21",
        location="Great Hall",
        revision=1,
        agenda=(budget, other),
        documents=(),
        current_item_id=current,
        current_started_at=started,
        roster=tuple(
            RosterEntry(i, n, Role.DELEGATE, f"A{k + 1}", voting=True)
            for k, (i, n) in enumerate(MEMBERS)
        ),
    )


def attendance(
    present: int,
    *,
    proxies: int = 0,
    members: int = len(MEMBERS),
    required: int = 8,
    rule: QuorumRule = QuorumRule.MAJORITY,
) -> AttendanceState:
    here = tuple(Presence(i, CheckMethod.PIN, NOW) for i, _ in MEMBERS[:present])
    given = tuple(Proxy(MEMBERS[-1 - k][0], MEMBERS[k][0]) for k in range(proxies))
    counted = present + proxies
    return AttendanceState(
        present=here,
        proxies=given,
        members=members,
        present_members=present,
        represented=counted,
        required=0 if rule is QuorumRule.NONE else required,
        quorum_met=rule is QuorumRule.NONE or counted >= required,
        rule=rule,
        seating=Seating.ASSIGNED,
    )


BUDGET = normalised(
    PollSpec("Approval of the 2027 budget (second reading)", PollKind.YES_NO, item_id="budget")
)
ELECTION = normalised(
    PollSpec(
        "Election of two vice-chairs of the council",
        PollKind.ELECTION,
        options=(
            PollOption("c1", "Nguyễn Văn An"),
            PollOption("c2", "Trần Thị Bình"),
            PollOption("c3", "Lê Hoàng Cường"),
            PollOption("c4", "Maximilian von Oberhausen"),
            PollOption("c5", "Phạm Thị Dung"),
        ),
        seats=2,
        secret=True,
        rule=PollRule(Majority.SIMPLE, Base.CAST, tie=Tie.LOT),
    )
)


def poll(
    spec: PollSpec = BUDGET,
    state: PollState = PollState.OPEN,
    *,
    poll_id: str = "p-budget",
    voted: int = 0,
    opened: str = "2026-11-21T09:19:00+00:00",
    closes_at: str | None = None,
    closed: str | None = None,
    published: str | None = None,
    quorum_override: bool = False,
) -> Poll:
    return Poll(
        poll_id,
        spec,
        state,
        voted=voted,
        opened_at=opened,
        closes_at=closes_at,
        closed_at=closed,
        published_at=published,
        quorum_override=quorum_override,
    )


def budget_result() -> PollResult:
    """9 yes, 3 no, 2 abstain of 14 present (one by proxy): adopted, 7 needed of 12 cast."""
    votes = [YES] * 9 + [NO] * 3 + [ABSTAIN] * 2
    named = tuple(
        NamedVote(i, (choice,), 1, cast_by="m01" if i == "m09" else None)  # m09 by proxy
        for (i, _), choice in zip(MEMBERS, votes, strict=False)
    )
    return PollResult(
        poll_id="p-budget",
        outcome=Outcome.ADOPTED,
        counts=(OptionCount(YES, 9, 9), OptionCount(NO, 3, 3), OptionCount(ABSTAIN, 2, 2)),
        ballots=14,
        cast=12,
        abstentions=2,
        base=12,
        required=7,
        winners=(YES,),
        present=14,
        members=15,
        named=named,
    )


def election_result() -> PollResult:
    """Two seats: c2 elected, c1 and c4 tied for the second seat, drawn by lot (c1)."""
    return PollResult(
        poll_id="p-vice",
        outcome=Outcome.DECIDED,
        counts=(
            OptionCount("c1", 61, 61),
            OptionCount("c2", 88, 88),
            OptionCount("c3", 40, 40),
            OptionCount("c4", 61, 61),
            OptionCount("c5", 12, 12),
        ),
        ballots=118,
        cast=113,
        abstentions=5,
        base=113,
        required=57,
        winners=("c2", "c1"),
        tied=("c1", "c4"),
        decided_by="lot",
        present=120,
        members=150,
    )


def make(qtbot: QtBot, size: tuple[int, int] = (1920, 1080), **settings: Any) -> DisplayController:
    view = DisplayView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    qtbot.waitExposed(view)
    display = DisplayController(
        view,
        DisplaySettings(DeviceCredentials(Path("/nonexistent")), **settings),
        clock=Clock(),
    )
    display.clock.sync(parse_time(NOW), 1000.5)  # the room's clock reads NOW at local 1000
    display.on_meeting(meeting())
    waiting = QueueEntry("m06", "Beatrix Delegate", FloorKind.SPEAK, "t", "A6")
    display.on_message(FloorState(1, None, (waiting,), 180))
    return display


def advance(display: DisplayController, seconds: float) -> None:
    clock = display._now
    assert isinstance(clock, Clock)
    clock.now += seconds
    display.refresh()


def inside(widget: QWidget, view: DisplayView) -> bool:
    top_left = widget.mapTo(view, widget.rect().topLeft())
    return view.rect().contains(QRect(top_left, widget.size()))


def check_fits(view: DisplayView, *labels: FitLabel) -> None:
    """Every visible text on screen is inside it; ``labels`` are not cut short."""
    for label in view.findChildren(FitLabel):
        if label.isVisible() and label.text():
            assert inside(label, view), label.text()
    for label in labels:
        assert label.isVisible() and not label.elided(), label.text()


def save(qtbot: QtBot, view: DisplayView, tmp_path: Path, name: str) -> Path:
    """Grab the screen at its size into tmp_path and /tmp/hemicycle-shots. The status
    line says what a connected display says (these tests have no room to connect to)."""
    view.set_connection("connected", "Connected to Great Hall")
    qtbot.wait(50)  # layout and paint
    pixmap = view.grab()
    path = tmp_path / f"{name}.png"
    assert pixmap.save(str(path))
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert pixmap.save(str(SHOTS / f"{name}.png"))
    not_blank(pixmap.toImage(), name)
    return path


# --- attendance --------------------------------------------------------------------------


def test_quorum_met_with_proxies(qtbot: QtBot, tmp_path: Path) -> None:
    display = make(qtbot)
    view = display.view
    assert not view.attendance_panel.isVisible()  # nothing from the room yet
    speech = Speech("m02", "Trần Thị Bình", FloorKind.SPEAK, NOW, 180, 42.0)
    display.on_message(FloorState(2, speech, display.floor.queue if display.floor else (), 180))
    display.on_message(attendance(12, proxies=2))
    panel = view.attendance_panel
    assert panel.isVisible()
    assert panel.present.text() == "Present 12 of 15"
    assert panel.quorum.text() == "Quorum 8 · met" and panel.quorum.isVisible()
    assert panel.quorum_tone is Tone.GOOD
    assert panel.proxies.text() == "+2 by proxy"
    assert view.speaker_panel.isVisible() and view.queue_panel.isVisible()
    save(qtbot, view, tmp_path, "display-vote-1-quorum-en")
    check_fits(view, panel.present, panel.proxies)
    set_language("vi")
    assert panel.present.text() == "Có mặt 12/15"
    assert panel.quorum.text() == "Đủ túc số (8)"
    assert panel.proxies.text() == "+2 ủy quyền"


def test_quorum_not_met_is_red_and_no_rule_shows_presence_only(qtbot: QtBot) -> None:
    display = make(qtbot)
    panel = display.view.attendance_panel
    display.on_message(attendance(6))
    assert panel.present.text() == "Present 6 of 15"
    assert panel.quorum.text() == "Quorum 8 · not met" and panel.quorum_tone is Tone.BAD
    assert "background: #c62828" in panel.quorum.styleSheet()
    assert panel.proxies.text() == ""
    set_language("vi")
    assert panel.quorum.text() == "Chưa đủ túc số (8)"
    set_language("en")
    display.on_message(attendance(6, rule=QuorumRule.NONE))
    assert panel.present.text() == "Present 6 of 15"
    assert not panel.quorum.isVisible()


# --- an open poll ------------------------------------------------------------------------


def test_an_open_poll_shows_progress_and_the_closing_countdown(
    qtbot: QtBot, tmp_path: Path
) -> None:
    display = make(qtbot)
    view = display.view
    display.on_message(attendance(12, proxies=2))
    display.on_message(PollsState((poll(voted=3, closes_at="2026-11-21T09:20:45+00:00"),)))
    panel = view.vote_panel
    assert display.shown is not None and display.shown.stage is Stage.OPEN
    assert panel.isVisible() and not view.speaker_panel.isVisible()
    assert not view.item_panel.isVisible() and view.queue_panel.isVisible()
    assert panel.context.text() == "4 · Budget 2027 of the province"
    assert panel.title.text() == BUDGET.title
    assert panel.kinds.text() == "NAMED VOTE"
    assert panel.status.text() == "Voting open" and panel.status.colour() == GREEN
    # Until the room counts for this poll: who is here (present and by proxy) may vote.
    assert panel.progress_text.text() == "3 of 14 have voted"
    display.on_message(PollProgress("p-budget", 9, 14))
    assert panel.progress_text.text() == "9 of 14 have voted"
    assert panel.progress.fraction() == pytest.approx(9 / 14)
    assert panel.countdown.text() == "0:45" and panel.caption.text() == "Time left to vote"
    save(qtbot, view, tmp_path, "display-vote-2-open-en")
    check_fits(view, panel.title, panel.status, panel.progress_text)
    assert panel.countdown.fitted_font().pixelSize() >= 120

    # The countdown keeps the room's time: amber for the last ten seconds, then closing.
    advance(display, 0.3)  # 44.7 s left: the next tick lands just after 44 s
    assert display.next_tick_ms(display._now()) == 700 + 15
    advance(display, 36)
    assert panel.countdown.text() == "0:09" and panel.countdown.colour() == AMBER
    advance(display, 10)
    assert panel.countdown.text() == "0:00" and panel.caption.text() == "Closing…"
    assert panel.countdown.colour() == RED

    set_language("vi")
    assert panel.status.text() == "Đang biểu quyết"
    assert panel.kinds.text() == "BIỂU QUYẾT GHI DANH"
    assert panel.progress_text.text() == "9/14 đại biểu đã biểu quyết"
    assert panel.caption.text() == "Đang kết thúc…"
    assert panel.heading.text() == "BIỂU QUYẾT"


def test_a_secret_poll_without_countdown_then_counting(qtbot: QtBot, tmp_path: Path) -> None:
    display = make(qtbot, (1280, 720))
    view = display.view
    set_language("vi")
    display.on_message(attendance(118, members=150, required=76))
    open_poll = poll(ELECTION, poll_id="p-vice", voted=38)
    display.on_message(PollsState((open_poll,)))
    display.on_message(PollProgress("p-vice", 38, 120))
    panel = view.vote_panel
    assert panel.kinds.text() == "BỎ PHIẾU KÍN"
    assert not panel.countdown.isVisible() and not panel.caption.isVisible()
    assert panel.progress_text.text() == "38/120 đại biểu đã biểu quyết"
    save(qtbot, view, tmp_path, "display-vote-3-open-vi-1280")
    check_fits(view, panel.title, panel.status, panel.progress_text)

    closed = replace(open_poll, state=PollState.CLOSED, voted=118, closed_at=NOW)
    display.on_message(PollsState((closed,)))
    assert display.shown is not None and display.shown.stage is Stage.COUNTING
    assert panel.status.text() == "Đã kết thúc biểu quyết — đang kiểm phiếu"
    assert panel.status.colour() == AMBER
    assert panel.progress_text.text() == "118/120 đại biểu đã biểu quyết"
    save(qtbot, view, tmp_path, "display-vote-4-counting-vi-1280")
    check_fits(view, panel.title, panel.status)
    set_language("en")
    assert panel.status.text() == "Voting closed — counting"
    display.on_message(PollsState((replace(closed, state=PollState.PUBLISHED, published_at=NOW),)))
    assert display.progress == {}  # the count of a published poll is dropped


# --- published results -------------------------------------------------------------------


def published_budget() -> PollsState:
    done = poll(
        voted=14,
        state=PollState.PUBLISHED,
        closed="2026-11-21T09:19:50+00:00",
        published="2026-11-21T09:19:58+00:00",
    )
    return PollsState((done,), (budget_result(),))


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720)])
def test_a_yes_no_result_with_a_roll_call(
    qtbot: QtBot, tmp_path: Path, size: tuple[int, int]
) -> None:
    display = make(qtbot, size)
    view = display.view
    display.on_message(attendance(13, proxies=1))
    display.on_message(published_budget())
    panel = view.result_panel
    assert display.shown is not None and display.shown.stage is Stage.RESULT
    assert panel.isVisible() and not view.item_panel.isVisible()
    assert not view.speaker_panel.isVisible() and not view.vote_panel.isVisible()
    assert view.attendance_panel.isVisible()  # always
    assert panel.outcome.text() == "ADOPTED" and panel.outcome.colour() == GREEN
    assert panel.detail.text() == "" and not panel.detail.isVisible()
    bars = panel.chart.bars()
    assert [(b.label, b.value, b.tone, b.strong) for b in bars] == [
        ("Yes", "9 · 75.0%", Tone.GOOD, True),
        ("No", "3 · 25.0%", Tone.BAD, False),
        ("Abstain", "2", Tone.QUIET, False),
    ]
    assert bars[0].fraction == pytest.approx(9 / 12)
    assert panel.chart.marker() == pytest.approx(7 / 12)
    assert panel.totals.text() == ("Ballots 14 · Abstentions 2 · Needed 7 of 12 (more than half)")
    # Fifteen members: the names, grouped by vote, in place of the queue.
    assert view.roll_call_panel.isVisible() and not view.queue_panel.isVisible()
    groups = view.roll_call_panel.grid.groups()
    assert [(g.title, len(g.names)) for g in groups] == [
        ("Yes · 9", 9),
        ("No · 3", 3),
        ("Abstain · 2", 2),
    ]
    assert groups[1].names == (MEMBERS[9][1], MEMBERS[10][1], MEMBERS[11][1])
    assert groups[0].names[-1] == "Ana Paula (by proxy)"
    name = f"display-vote-5-result-en-{size[0]}"
    save(qtbot, view, tmp_path, name)
    check_fits(view, panel.title, panel.outcome, panel.totals)
    grid = view.roll_call_panel.grid
    px, _columns, fits = grid.layout_for(grid.width(), grid.height())
    assert fits and px >= 16 * size[1] / 1080

    set_language("vi")
    assert panel.outcome.text() == "THÔNG QUA"
    assert [b.label for b in panel.chart.bars()] == [
        "Tán thành",
        "Không tán thành",
        "Không biểu quyết",
    ]
    assert panel.chart.bars()[0].value == "9 · 75,0%"
    assert panel.totals.text() == "Số phiếu 14 · Không biểu quyết 2 · Cần 7/12 (quá bán)"
    assert next(g.title for g in view.roll_call_panel.grid.groups()) == "Tán thành · 9"
    save(qtbot, view, tmp_path, f"display-vote-6-result-vi-{size[0]}")
    check_fits(view, panel.title, panel.outcome, panel.totals)


def test_a_result_opened_without_quorum_says_so_under_the_outcome(
    qtbot: QtBot, tmp_path: Path
) -> None:
    display = make(qtbot)
    view = display.view
    display.on_message(attendance(3))
    done = poll(
        voted=3,
        state=PollState.PUBLISHED,
        closed="2026-11-21T09:19:50+00:00",
        published="2026-11-21T09:19:58+00:00",
        quorum_override=True,
    )
    thin = replace(budget_result(), present=3, named=())
    display.on_message(PollsState((done,), (thin,)))
    panel = view.result_panel
    assert panel.outcome.text() == "ADOPTED"
    assert panel.detail.isVisible()
    assert panel.detail.text() == "WITHOUT QUORUM: 3 of 15 present"
    save(qtbot, view, tmp_path, "display-result-without-quorum-en")
    check_fits(view, panel.title, panel.outcome, panel.detail, panel.totals)
    set_language("vi")
    assert panel.detail.text() == "KHÔNG ĐỦ TÚC SỐ: 3/15 có mặt"
    set_language("en")


def test_an_election_result_decided_by_lot(qtbot: QtBot, tmp_path: Path) -> None:
    display = make(qtbot)
    view = display.view
    display.on_message(attendance(118, proxies=2, members=150, required=76))
    done = poll(
        ELECTION,
        PollState.PUBLISHED,
        poll_id="p-vice",
        voted=118,
        closed="2026-11-21T09:19:30+00:00",
        published="2026-11-21T09:19:40+00:00",
    )
    display.on_message(PollsState((done,), (election_result(),)))
    panel = view.result_panel
    assert panel.outcome.text() == "DECIDED"
    assert panel.kinds.text() == "SECRET BALLOT"
    assert panel.detail.text() == ("Elected: Trần Thị Bình, Nguyễn Văn An · decided by lot")
    # Candidates by votes, most first; the two elected in green, the one tied out in amber.
    assert [(b.label, b.value, b.tone) for b in panel.chart.bars()] == [
        ("Trần Thị Bình", "88 · 77.9%", Tone.GOOD),
        ("Nguyễn Văn An", "61 · 54.0%", Tone.GOOD),
        ("Maximilian von Oberhausen", "61 · 54.0%", Tone.NOTICE),
        ("Lê Hoàng Cường", "40 · 35.4%", Tone.PLAIN),
        ("Phạm Thị Dung", "12 · 10.6%", Tone.PLAIN),
    ]
    assert [b.strong for b in panel.chart.bars()] == [True, True, False, False, False]
    assert panel.chart.marker() == pytest.approx(57 / 113)
    assert not view.roll_call_panel.isVisible() and view.queue_panel.isVisible()  # secret
    save(qtbot, view, tmp_path, "display-vote-7-election-en")
    check_fits(view, panel.title, panel.outcome, panel.detail, panel.totals)
    assert panel.chart.row_font().pixelSize() >= 28 and not panel.chart.labels_cut()

    set_language("vi")
    assert panel.outcome.text() == "ĐÃ CÓ KẾT QUẢ"
    assert panel.detail.text() == (
        "Trúng cử: Trần Thị Bình, Nguyễn Văn An · quyết định bằng bốc thăm"
    )
    assert panel.totals.text() == "Số phiếu 118 · Không biểu quyết 5 · Cần 57/113 (quá bán)"
    save(qtbot, view, tmp_path, "display-vote-8-election-vi")
    check_fits(view, panel.title, panel.outcome, panel.detail, panel.totals)


def test_outcomes_in_words_and_colours(qtbot: QtBot) -> None:
    display = make(qtbot)
    panel = display.view.result_panel
    cases = [
        (Outcome.REJECTED, "", "REJECTED", "KHÔNG THÔNG QUA", RED),
        (Outcome.NO_DECISION, "", "NO DECISION", "KHÔNG CÓ KẾT QUẢ", AMBER),
        (Outcome.TIE, "", "TIE", "SỐ PHIẾU NGANG NHAU", AMBER),
        (Outcome.ADOPTED, "chair", "ADOPTED", "THÔNG QUA", GREEN),
    ]
    for outcome, decided_by, english, vietnamese, colour in cases:
        result = replace(
            budget_result(),
            outcome=outcome,
            decided_by=decided_by,
            tied=(YES, NO) if outcome is Outcome.TIE else (),
        )
        state = published_budget()
        display.on_message(replace(state, results=(result,)))
        assert panel.outcome.text() == english and panel.outcome.colour() == colour
        if outcome is Outcome.TIE:
            assert panel.detail.text() == "Tied: Yes, No"
        if decided_by == "chair":
            assert panel.detail.text() == "decided by the chair's casting vote"
        set_language("vi")
        assert panel.outcome.text() == vietnamese
        set_language("en")
    assert TONE_COLOURS[Tone.GOOD] == GREEN


def test_many_options_are_cut_to_the_ten_best(qtbot: QtBot) -> None:
    display = make(qtbot)
    options = tuple(PollOption(f"o{k}", f"Option {k}") for k in range(14))
    spec = normalised(
        PollSpec(
            "Venue of the next session",
            PollKind.SINGLE,
            options=options,
            rule=PollRule(Majority.PLURALITY),
        )
    )
    result = PollResult(
        poll_id="p-venue",
        outcome=Outcome.DECIDED,
        counts=tuple(OptionCount(f"o{k}", k, k) for k in range(14)),
        ballots=91,
        cast=91,
        abstentions=0,
        base=91,
        required=0,
        winners=("o13",),
        present=100,
        members=120,
    )
    done = poll(spec, PollState.PUBLISHED, poll_id="p-venue", closed=NOW, published=NOW)
    display.on_message(PollsState((done,), (result,)))
    chart = display.view.result_panel.chart
    assert [b.label for b in chart.bars()][:2] == ["Option 13", "Option 12"]
    assert len(chart.bars()) == 10 and chart.marker() is None
    assert chart.bars()[0].fraction == 1.0  # plurality: measured against the most votes
    assert display.view.result_panel.detail.text() == "Chosen: Option 13"
    assert display.view.result_panel.totals.text().endswith("Most votes wins")


# --- when a result leaves the screen ------------------------------------------------------


def test_a_result_gives_way_to_the_next_item(qtbot: QtBot) -> None:
    display = make(qtbot)
    view = display.view
    display.on_message(published_budget())
    assert view.result_panel.isVisible()
    display.on_meeting(meeting("other", started="2026-11-21T09:20:05+00:00"))
    assert display.shown is None
    assert not view.result_panel.isVisible() and view.speaker_panel.isVisible()
    assert view.item_panel.isVisible() and view.queue_panel.isVisible()
    assert not view.roll_call_panel.isVisible()


def test_a_result_gives_way_when_the_chair_clears_the_item(qtbot: QtBot) -> None:
    display = make(qtbot)
    display.on_message(published_budget())
    advance(display, 2)
    display.on_meeting(meeting(current=None, started=None))  # type: ignore[arg-type]
    assert display.shown is None


def test_a_result_gives_way_after_a_few_minutes(qtbot: QtBot) -> None:
    display = make(qtbot, result_keep_s=300)
    view = display.view
    display.on_message(published_budget())  # published at 09:19:58, two seconds ago
    advance(display, 297)
    assert view.result_panel.isVisible()
    advance(display, 2)
    assert not view.result_panel.isVisible() and view.speaker_panel.isVisible()


def test_a_result_gives_way_to_the_next_poll(qtbot: QtBot) -> None:
    display = make(qtbot)
    view = display.view
    state = published_budget()
    display.on_message(state)
    advance(display, 5)
    following = poll(ELECTION, poll_id="p-vice", opened="2026-11-21T09:20:05+00:00")
    display.on_message(replace(state, polls=(*state.polls, following)))
    assert display.shown is not None and display.shown.poll.id == "p-vice"
    assert view.vote_panel.isVisible() and not view.result_panel.isVisible()
    assert view.queue_panel.isVisible() and not view.roll_call_panel.isVisible()


def test_a_result_from_before_the_current_item_is_not_shown(qtbot: QtBot) -> None:
    """The display started after the chair moved on: an old result stays off screen."""
    display = make(qtbot)
    display.on_meeting(meeting(started="2026-11-21T09:19:59+00:00"))
    display.on_message(published_budget())  # published at 09:19:58
    assert display.shown is None


def test_drafts_are_not_shown(qtbot: QtBot) -> None:
    display = make(qtbot)
    display.on_message(PollsState((poll(state=PollState.DRAFT, opened=None),)))  # type: ignore[arg-type]
    assert display.shown is None and display.view.speaker_panel.isVisible()
