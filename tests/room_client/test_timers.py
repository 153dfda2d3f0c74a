"""The room's clock with plain values: server time, item timer, speaking countdown,
and durations as tablet and display both write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from room_client.timers import (
    Level,
    ServerClock,
    format_duration,
    item_timer,
    parse_time,
    server_time_of,
    speech_clock,
    speech_timer,
)
from room_protocol.live import Announcement, FloorKind, FloorState, Speech
from room_protocol.messages import AgendaItem, MeetingSnapshot, MeetingState

T0 = datetime(2026, 11, 21, 9, 0, 0, tzinfo=UTC)


def test_server_clock_from_welcome_is_tightened_by_later_timestamps() -> None:
    clock = ServerClock()
    assert clock.now(100.0) is None
    clock.sync(T0, local=100.0)  # whole seconds: the server was somewhere in [T0, T0 + 1)
    assert clock.now(100.0) == T0 + timedelta(seconds=0.5)
    assert clock.now(110.0) == T0 + timedelta(seconds=10.5)
    clock.observe(T0 + timedelta(seconds=10.8), local=110.0)  # a fresher server timestamp
    assert clock.now(110.0) == T0 + timedelta(seconds=10.8)
    clock.observe(T0 + timedelta(seconds=5), local=110.0)  # an old one changes nothing
    assert clock.now(110.0) == T0 + timedelta(seconds=10.8)
    clock.observe(T0 + timedelta(seconds=30), local=110.0)  # never past what welcome allows
    assert clock.now(110.0) == T0 + timedelta(seconds=11)


def test_parse_time_reads_the_rooms_iso_times() -> None:
    assert parse_time("2026-11-21T09:00:00.250+00:00") == T0 + timedelta(milliseconds=250)
    assert parse_time("2026-11-21T09:00:00") == T0  # no zone: UTC
    assert parse_time("2026-11-21T10:00:00+01:00").timestamp() == T0.timestamp()


def test_server_timestamps_in_messages_tighten_the_clock() -> None:
    at = "2026-11-21T09:00:07+00:00"
    assert server_time_of(Announcement("m1", "Lunch", "Chair", at)) == parse_time(at)
    speaking = speech(120, 12.5)  # started at T0, 12.5 s spoken when the room sent it
    floor = FloorState(3, speaking, (), 120)
    assert server_time_of(floor) == T0 + timedelta(seconds=12.5)
    assert server_time_of(FloorState(3, None, (), 120)) is None
    meeting = MeetingSnapshot("m", "Council", "2026-11-21", "", 1, (), (), None, at)
    assert server_time_of(MeetingState(meeting)) == parse_time(at)
    assert server_time_of(MeetingState(None)) is None


def item(planned: int | None, actual: int = 0) -> AgendaItem:
    return AgendaItem("budget", "2", "Budget", planned_minutes=planned, actual_seconds=actual)


@pytest.mark.parametrize(
    ("planned", "actual", "running", "level"),
    [
        (45, 0, 60, Level.NORMAL),
        (45, 0, 45 * 60 - 271, Level.NORMAL),
        (45, 0, 45 * 60 - 270, Level.NEAR),  # amber for the last 10%: 4.5 minutes of 45
        (45, 600, 45 * 60 - 600 + 1, Level.OVER),  # earlier visits count
        (5, 0, 5 * 60 - 61, Level.NORMAL),
        (5, 0, 5 * 60 - 60, Level.NEAR),  # at least the last minute is amber
        (None, 0, 9999, Level.NORMAL),  # no plan: never amber or red
    ],
)
def test_item_timer_levels(planned: int | None, actual: int, running: int, level: Level) -> None:
    timer = item_timer(item(planned, actual), T0, T0 + timedelta(seconds=running))
    assert timer.elapsed == actual + running
    assert timer.level is level


def test_item_timer_before_the_clock_is_known_shows_earlier_visits() -> None:
    assert item_timer(item(10, 120), T0, None).elapsed == 120


def speech(limit: int, elapsed: float, expired: bool = False) -> Speech:
    return Speech("d1", "An", FloorKind.SPEAK, T0.isoformat(), limit, elapsed, expired)


def test_speech_countdown_runs_from_the_states_elapsed_time() -> None:
    timer = speech_timer(speech(180, 10.0), since_received=5.0)
    assert timer.remaining == 165.0 and timer.level is Level.NORMAL
    assert speech_timer(speech(180, 10.0), 140.0).level is Level.NEAR  # last 30 s
    assert speech_timer(speech(180, 10.0), 170.0).time_up
    assert speech_timer(speech(180, 10.0, expired=True), 0.0).time_up  # the room says so
    assert speech_timer(speech(8, 0.0), 6.0).level is Level.NEAR  # last quarter of a short one
    unlimited = speech_timer(speech(0, 10.0), 5.0)
    assert unlimited.remaining is None and unlimited.level is Level.NORMAL


def test_durations_round_down_and_countdowns_up() -> None:
    assert format_duration(0) == "0:00"
    assert format_duration(59.9) == "0:59"
    assert format_duration(61) == "1:01"
    assert format_duration(59.1, up=True) == "1:00"
    assert format_duration(0.2, up=True) == "0:01"  # 0:00 only when the time is really up
    assert format_duration(3725) == "1:02:05"
    assert format_duration(-3) == "0:00"
    assert format_duration(-0.5, up=True) == "0:00"


def test_speech_clock_counts_down_then_over_time() -> None:
    assert speech_clock(speech_timer(speech(120, 10.0), 0.4)) == "1:50"  # 109.6 s left
    assert speech_clock(speech_timer(speech(60, 58.0), 2.5)) == "0:00"  # up, half a second over
    assert speech_clock(speech_timer(speech(60, 58.0), 5.0)) == "+0:03"
    assert speech_clock(speech_timer(speech(0, 30.0), 2.5)) == "0:32"  # no limit: time spoken
