"""The room's clock as plain values: the server's time, the agenda item timer, the speaking
time countdown and how durations are written. No Qt, no I/O: callers pass the monotonic
time in. Tablet and display both use these, so they show the same countdown for a poll.

Rooms have no clock sync, so a client never trusts its own wall clock: it keeps an
offset from its monotonic clock to the server's, set by ``welcome.server_time`` and
tightened by every server timestamp it sees afterwards (:func:`server_time_of`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from room_protocol.live import Announcement, FloorState, Speech
from room_protocol.messages import AgendaItem, MeetingState, Message

ITEM_NEAR_S = 60.0  # an item turns amber this long before its planned time at the latest
ITEM_NEAR_FRACTION = 0.1  # ... or at 90% of a long item's planned time
SPEECH_NEAR_S = 30.0  # the countdown turns amber for the last 30 s
SPEECH_NEAR_FRACTION = 0.25  # ... or the last quarter of a short limit
WELCOME_RESOLUTION_S = 1.0  # welcome.server_time carries whole seconds


class Level(StrEnum):
    """How a timer stands against its plan: what colour it is shown in."""

    NORMAL = "normal"
    NEAR = "near"
    OVER = "over"


def parse_time(text: str) -> datetime:
    """An ISO 8601 time from the room; a time without a zone is UTC.
    ``.timestamp()`` gives epoch seconds, ``.astimezone()`` the local time."""
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class ServerClock:
    """The room server's time, estimated from this machine's monotonic clock."""

    def __init__(self) -> None:
        self._offset: float | None = None  # server epoch seconds minus local monotonic
        self._ceiling: float | None = None

    @property
    def synced(self) -> bool:
        return self._offset is not None

    def sync(self, server_time: datetime, local: float) -> None:
        """``server_time`` (whole seconds) was read by the server just before ``local``."""
        floor = server_time.timestamp() - local
        self._offset = floor + WELCOME_RESOLUTION_S / 2
        self._ceiling = floor + WELCOME_RESOLUTION_S

    def observe(self, server_time: datetime, local: float) -> None:
        """A server timestamp received at ``local``: the server clock was past it."""
        bound = server_time.timestamp() - local
        if self._offset is None:
            self._offset = bound
        elif bound > self._offset:
            self._offset = bound if self._ceiling is None else min(bound, self._ceiling)

    def now(self, local: float) -> datetime | None:
        if self._offset is None:
            return None
        return datetime.fromtimestamp(local + self._offset, UTC)


def server_time_of(message: Message) -> datetime | None:
    """A time the room's clock had reached when it sent ``message``, if it carries one:
    what :meth:`ServerClock.observe` tightens the offset with."""
    if isinstance(message, FloorState) and message.speaking is not None:
        speech = message.speaking  # elapsed_seconds is as of sending
        return parse_time(speech.started_at) + timedelta(seconds=speech.elapsed_seconds)
    if isinstance(message, Announcement):
        return parse_time(message.at)
    if isinstance(message, MeetingState) and message.meeting is not None:
        started = message.meeting.current_started_at
        return parse_time(started) if started else None
    return None


@dataclass(frozen=True, slots=True)
class ItemTimer:
    elapsed: float  # seconds spent on the item, earlier visits included
    planned: float | None  # seconds, None when the agenda gives no time
    level: Level

    @property
    def remaining(self) -> float | None:
        return None if self.planned is None else self.planned - self.elapsed


def item_timer(item: AgendaItem, started_at: datetime | None, now: datetime | None) -> ItemTimer:
    """Time on the current item: earlier visits plus the running one."""
    running = 0.0
    if started_at is not None and now is not None:
        running = max(0.0, (now - started_at).total_seconds())
    elapsed = item.actual_seconds + running
    if item.planned_minutes is None:
        return ItemTimer(elapsed, None, Level.NORMAL)
    planned = item.planned_minutes * 60.0
    near = max(ITEM_NEAR_S, planned * ITEM_NEAR_FRACTION)
    if elapsed > planned:
        level = Level.OVER
    elif planned - elapsed <= near:
        level = Level.NEAR
    else:
        level = Level.NORMAL
    return ItemTimer(elapsed, planned, level)


@dataclass(frozen=True, slots=True)
class SpeechTimer:
    elapsed: float
    limit: float | None  # None: no limit
    level: Level

    @property
    def remaining(self) -> float | None:
        return None if self.limit is None else self.limit - self.elapsed

    @property
    def time_up(self) -> bool:
        return self.level is Level.OVER


def speech_timer(speech: Speech, since_received: float) -> SpeechTimer:
    """The speech's clock ``since_received`` seconds after its floor state arrived."""
    elapsed = speech.elapsed_seconds + max(0.0, since_received)
    if not speech.limit_seconds:
        return SpeechTimer(elapsed, None, Level.NORMAL)
    limit = float(speech.limit_seconds)
    near = min(SPEECH_NEAR_S, limit * SPEECH_NEAR_FRACTION)
    if speech.expired or elapsed >= limit:
        level = Level.OVER
    elif limit - elapsed <= near:
        level = Level.NEAR
    else:
        level = Level.NORMAL
    return SpeechTimer(elapsed, limit, level)


def speech_clock(timer: SpeechTimer) -> str:
    """The digits of a speaking-time clock: the time left rounded up, ``+m:ss`` once over
    time, or the time spoken when there is no limit."""
    remaining = timer.remaining
    if remaining is None:
        return format_duration(timer.elapsed)
    if timer.time_up:
        over = max(0.0, -remaining)
        return f"+{format_duration(over)}" if over >= 1 else format_duration(0)
    return format_duration(remaining, up=True)


def format_duration(seconds: float, *, up: bool = False) -> str:
    """Seconds as ``m:ss`` or ``h:mm:ss``. Rounded down, or up (``up``) for countdowns,
    so a countdown shows 0:00 only when the time is really up."""
    whole = math.ceil(seconds) if up else math.floor(seconds)
    whole = max(0, whole)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
