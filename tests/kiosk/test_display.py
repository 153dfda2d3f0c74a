"""The room display against a real room-server process: real TLS, real widgets
(offscreen), a chair and delegates acting through real protocol clients."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from kiosk.display_controller import DisplayController, DisplaySettings
from kiosk.display_view import DisplayView
from kiosk.i18n import set_language
from kiosk.look import LEVEL_COLOURS, Tone
from room_client.timers import Level
from room_protocol.live import (
    Announce,
    EndSpeech,
    FloorKind,
    GrantFloor,
    RequestFloor,
    SetCurrentItem,
    SetSpeakingLimit,
)
from room_protocol.voting import (
    NO,
    YES,
    BallotRecorded,
    CastBallot,
    ClosePoll,
    OpenPoll,
    PublishPoll,
)
from tests.kiosk.conftest import Run, shot, until
from tests.live_clients import Tablet
from tests.rooms import RunningRoom, running_room, start_room, timeout

PINS = {"chair": "1111", "d1": "2222", "d2": "4444", "d3": "6666"}
SEATS = {"chair": "A1", "d1": "A2", "d2": "A3", "d3": "A4"}


TABLETS: list[Tablet] = []  # stopped after each flow, passed or failed


async def signed_in(room: RunningRoom, who: str) -> Tablet:
    tablet = await Tablet(room, f"tablet-{who}", SEATS[who]).start()
    TABLETS.append(tablet)
    await tablet.sign_in(who, PINS[who])
    return tablet


async def cleanly(display: DisplayController, body: Coroutine[Any, Any, None]) -> None:
    """Run ``body``; whatever happens, stop the display and the tablets, so a failed
    test leaves no reconnecting client behind on the shared loop."""
    try:
        await body
    finally:
        await asyncio.gather(*(t.stop() for t in TABLETS))
        TABLETS.clear()
        await display.stop()


def make_display(qtbot: QtBot, room: RunningRoom) -> DisplayController:
    view = DisplayView()
    qtbot.addWidget(view)
    view.resize(1920, 1080)
    view.show()
    qtbot.waitExposed(view)
    settings = DisplaySettings(
        credentials=room.device("display-test", display=True),
        direct=room.endpoint(),
        retry_initial_s=0.1,
        retry_maximum_s=0.5,
    )
    return DisplayController(view, settings)


def queue_rows(view: DisplayView) -> list[tuple[str, bool]]:
    return [(r.name.text(), r.pill.isVisible()) for r in view.queue_rows if r.isVisible()]


def test_display_follows_the_live_session(qtbot: QtBot, room: RunningRoom, run_async: Run) -> None:
    display = make_display(qtbot, room)
    view = display.view

    async def body() -> None:
        await display.start()
        # Connected as an observer: the meeting, no current item, nobody speaking.
        await until(lambda: view.title.text() == "Test council", "the meeting title")
        await until(lambda: view.connection_state == "connected", "connected")
        assert view.pages.currentWidget() is view.meeting_page
        assert view.meeting_line.text() == "Saturday 21 November 2026 · Chamber"
        assert view.item_title.text() == "No current item"
        assert view.speaker_name.text() == "Nobody has the floor"
        assert view.queue_empty.isVisible()
        assert view.status_text.text() == f"Connected to {room.room_name}"
        assert not view.announcement.isVisible()
        assert display.connection is not None and display.connection.signed_in is None
        await shot(view, "display-1-no-current-item")

        # The chair sets the current item: number, title and a running timer.
        chair = await signed_in(room, "chair")
        await chair.ok(SetCurrentItem(chair.op(), "budget"))
        await until(lambda: view.item_title.text() == "Budget", "the current item")
        assert view.item_number.text() == "2"
        first = view.item_timer.text()
        assert first.startswith("0:0") and first.endswith(" / 45:00"), first
        await until(lambda: view.item_timer.text() != first, "the item timer to run", 3)
        assert view.item_detail.text().endswith(" left")
        assert view.item_timer.styleSheet() == f"color: {LEVEL_COLOURS[Level.NORMAL]};"

        # Three delegates ask to speak, one on a point of order; the chair gives d1 the floor.
        d1, d2, d3 = [await signed_in(room, who) for who in ("d1", "d2", "d3")]
        await d1.ok(RequestFloor(d1.op()))
        await d2.ok(RequestFloor(d2.op()))
        await d3.ok(RequestFloor(d3.op(), FloorKind.POINT_OF_ORDER))
        await chair.ok(GrantFloor(chair.op(), "d1"))
        await until(lambda: view.speaker_name.text() == "Nguyễn Văn An", "the speaker")
        assert view.speaker_detail.text() == "Seat A2" and not view.speaker_pill.isVisible()
        assert view.countdown_caption.text() == "Time left"
        minutes, seconds = view.countdown.text().split(":")
        left = int(minutes) * 60 + int(seconds)
        assert 180 - timeout(10) <= left <= 180, left  # the room's default limit is 3 minutes
        assert queue_rows(view) == [("Trần Thị Bình", True), ("Beatrix Delegate", False)]
        assert not view.queue_empty.isVisible() and not view.queue_more.isVisible()

        # An announcement is shown large.
        await chair.ok(Announce(chair.op(), "Lunch break until 13:30 — the room stays open"))
        await until(lambda: view.announcement.isVisible(), "the announcement")
        assert view.announcement_text.text() == "Lunch break until 13:30 — the room stays open"
        assert view.announcement_prominent
        assert view.announcement_meta.text().startswith("Chair Person · ")
        await shot(view, "display-2-session-en")

        # The same screen in Vietnamese.
        set_language("vi")
        assert view.speaker_heading.text() == "ĐANG PHÁT BIỂU"
        assert view.countdown_caption.text() == "Thời gian còn lại"
        assert view.item_detail.text().startswith("còn ")
        assert view.speaker_detail.text() == "Ghế A2"
        assert view.queue_rows[0].pill.text() == "KIẾN NGHỊ THỦ TỤC"
        assert view.meeting_line.text() == "Thứ Bảy, ngày 21 tháng 11 năm 2026 · Chamber"
        assert view.status_text.text() == f"Đã kết nối tới {room.room_name}"
        await shot(view, "display-3-session-vi")
        set_language("en")

        # The chair cuts the limit to one second: time is up, in red.
        await chair.ok(SetSpeakingLimit(chair.op(), 1))
        await until(lambda: view.countdown_caption.text() == "Time is up", "time is up", 5)
        assert view.countdown.colour() == LEVEL_COLOURS[Level.OVER]
        assert view.speaker_panel.property("alert") is True
        await until(
            lambda: (
                display.floor is not None
                and display.floor.speaking is not None
                and display.floor.speaking.expired
            ),
            "the room to mark the speech expired",
        )
        await shot(view, "display-4-time-up")

        # The speech ends: the next speaker is still waiting, nobody has the floor.
        await chair.ok(EndSpeech(chair.op()))
        await until(lambda: view.speaker_name.text() == "Nobody has the floor", "no speaker")
        assert view.countdown.text() == "" and view.speaker_panel.property("alert") is False
        assert [name for name, _ in queue_rows(view)] == ["Trần Thị Bình", "Beatrix Delegate"]
        await asyncio.gather(*(t.stop() for t in (chair, d1, d2, d3)))
        await display.stop()

    run_async(cleanly(display, body()))


def test_display_shows_reconnecting_and_recovers_by_itself(
    qtbot: QtBot, tmp_path: Path, package_dir: Path, run_async: Run
) -> None:
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        display = make_display(qtbot, room)
        view = display.view

        async def body() -> None:
            await display.start()
            await until(lambda: view.connection_state == "connected", "connected")
            chair = await signed_in(room, "chair")
            await chair.ok(SetCurrentItem(chair.op(), "opening"))
            await until(lambda: view.item_title.text() == "Opening", "the current item")
            await chair.stop()
            assert display.connection is not None and display.connection.welcome is not None
            first_session = display.connection.welcome.session_id

            room.process.kill()  # SIGKILL: a power cut of the room server
            await asyncio.to_thread(room.process.wait)
            await until(lambda: view.connection_state == "reconnecting", "reconnecting")
            text = view.status_text.text()
            assert text.startswith(f"Connection to {room.room_name} lost — reconnecting…"), text
            assert "last update" in text
            # What the room last said stays on screen, timers keep running.
            assert view.item_title.text() == "Opening"
            timer = view.item_timer.text()
            await until(lambda: view.item_timer.text() != timer, "the timer while offline", 3)
            await shot(view, "display-5-reconnecting")

            # The same room comes back on the same port: the display returns by itself.
            again = await asyncio.to_thread(
                start_room, tmp_path / "room", mdns=False, port=room.port, room_id=room.room_id
            )
            try:
                await until(
                    lambda: (
                        view.connection_state == "connected"
                        and display.connection is not None
                        and display.connection.welcome is not None
                        and display.connection.welcome.session_id != first_session
                    ),
                    "reconnected",
                    15,
                )
                assert view.status_text.text() == f"Connected to {room.room_name}"
                assert view.item_title.text() == "Opening"  # the state survived the kill
                await display.stop()
            finally:
                again.process.kill()
                again.process.wait()

        run_async(cleanly(display, body()))


def test_display_without_a_meeting_says_so(qtbot: QtBot, tmp_path: Path, run_async: Run) -> None:
    with running_room(tmp_path / "room", mdns=False) as room:  # no package imported
        display = make_display(qtbot, room)
        view = display.view

        async def body() -> None:
            await display.start()
            assert view.idle_text.text() == "Waiting for the room…"
            await until(lambda: display.meeting_received, "the meeting state")
            assert view.pages.currentWidget() is view.idle_page
            assert view.idle_text.text() == "No meeting in progress"
            assert view.title.text() == room.room_name
            await shot(view, "display-6-idle")
            set_language("vi")
            assert view.idle_text.text() == "Không có cuộc họp nào đang diễn ra"
            await display.stop()

        run_async(cleanly(display, body()))


def test_display_shows_quorum_a_vote_and_its_result_from_the_room(
    qtbot: QtBot, tmp_path: Path, voting_package_dir: Path, run_async: Run
) -> None:
    """The voting package: five voting members d1-d5, d5's proxy held by d1, a majority
    quorum (3), the named yes/no poll p-budget on the budget item."""
    with running_room(tmp_path / "room", package=voting_package_dir, mdns=False) as room:
        display = make_display(qtbot, room)
        view = display.view
        attendance, vote, result = (
            view.attendance_panel,
            view.vote_panel,
            view.result_panel,
        )

        async def body() -> None:
            await display.start()
            await until(lambda: attendance.isVisible(), "the attendance")
            assert attendance.present.text() == "Present 0 of 5"
            assert attendance.quorum.text() == "Quorum 3 · not met"
            assert attendance.quorum_tone is Tone.BAD
            # The chair is not a voting member; d1 (holding d5's proxy) and d2 check in.
            chair = await signed_in(room, "chair")
            await chair.ok(SetCurrentItem(chair.op(), "budget"))
            d1, d2 = [await signed_in(room, who) for who in ("d1", "d2")]
            await until(lambda: attendance.present.text() == "Present 2 of 5", "check-ins")
            assert attendance.quorum.text() == "Quorum 3 · met"
            assert attendance.quorum_tone is Tone.GOOD
            assert attendance.proxies.text() == "+1 by proxy"
            await shot(view, "display-8-quorum")

            # The chair opens the poll with a one-minute countdown.
            await chair.ok(OpenPoll(chair.op(), "p-budget", close_after_seconds=60))
            await until(lambda: vote.isVisible(), "the vote")
            assert not view.speaker_panel.isVisible() and not view.item_panel.isVisible()
            assert vote.title.text() == "Adopt the budget 2027"
            assert vote.status.text() == "Voting open"
            assert vote.kinds.text() == "NAMED VOTE"
            assert vote.context.text() == "2 · Budget"
            assert vote.progress_text.text() == "0 of 3 have voted"
            minutes, seconds = vote.countdown.text().split(":")
            left = int(minutes) * 60 + int(seconds)
            assert 60 - timeout(5) <= left <= 60, vote.countdown.text()
            first = vote.countdown.text()
            await until(lambda: vote.countdown.text() != first, "the countdown to run", 3)
            for who, member, choice in ((d1, "d1", YES), (d1, "d5", NO), (d2, "d2", YES)):
                reply = await who.do(CastBallot(who.op(), "p-budget", member, (choice,)))
                assert isinstance(reply, BallotRecorded), reply
            await until(lambda: vote.progress_text.text() == "3 of 3 have voted", "progress")
            assert vote.progress.fraction() == 1.0
            await shot(view, "display-9-voting")

            await chair.ok(ClosePoll(chair.op(), "p-budget"))
            await until(lambda: vote.status.text() == "Voting closed — counting", "counting")
            assert not vote.countdown.isVisible()

            await chair.ok(PublishPoll(chair.op(), "p-budget"))
            await until(lambda: result.isVisible(), "the result")
            assert result.outcome.text() == "ADOPTED"
            assert [(b.label, b.value) for b in result.chart.bars()] == [
                ("Yes", "2 · 66.7%"),
                ("No", "1 · 33.3%"),
                ("Abstain", "0"),
            ]
            assert result.totals.text() == (
                "Ballots 3 · Abstentions 0 · Needed 2 of 3 (more than half)"
            )
            groups = view.roll_call_panel.grid.groups()
            assert [(g.title, g.names) for g in groups] == [
                ("Yes · 2", ("Nguyễn Văn An", "Beatrix Delegate")),
                ("No · 1", ("Eva Absent (by proxy)",)),
            ]
            assert view.attendance_panel.isVisible()
            await shot(view, "display-10-result")
            set_language("vi")
            assert result.outcome.text() == "THÔNG QUA"
            assert attendance.present.text() == "Có mặt 2/5"
            await shot(view, "display-11-result-vi")
            set_language("en")

            # The chair moves on: the normal view returns.
            await chair.ok(SetCurrentItem(chair.op(), "budget-debate"))
            await until(lambda: view.speaker_panel.isVisible(), "the normal view")
            assert not result.isVisible() and view.item_title.text() == "Debate"
            assert view.queue_panel.isVisible() and not view.roll_call_panel.isVisible()

        run_async(cleanly(display, body()))
