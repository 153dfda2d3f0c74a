"""Tablet and room display show the same countdown for the same poll: both read the room's
time from room_client's ServerClock and write it with its format_duration."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kiosk.voting import close_countdown
from room_client.timers import ServerClock, format_duration, parse_time
from room_protocol.voting import Poll, PollKind, PollSpec, PollState, normalised
from tablet_client.polls import closes_in

WELCOME = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)  # welcome.server_time, whole seconds
POLL = Poll(
    "p1",
    normalised(PollSpec("Motion", PollKind.YES_NO)),
    PollState.OPEN,
    opened_at="2026-11-21T09:00:00+00:00",
    closes_at="2026-11-21T09:00:30+00:00",
)


@pytest.mark.parametrize(
    ("since_welcome", "shown"),
    [(0.0, "0:30"), (9.5, "0:20"), (28.5, "0:01"), (29.2, "0:01"), (29.4, "0:00"), (31.0, "0:00")],
)
def test_tablet_and_display_show_the_same_countdown(since_welcome: float, shown: str) -> None:
    """The welcome said 09:00:00 and a later message 09:00:00.700; the poll closes at
    09:00:30, so 29.3 s are left at welcome, written rounded up."""
    tablet, display = ServerClock(), ServerClock()
    for clock in (tablet, display):
        clock.sync(WELCOME, local=100.0)
        clock.observe(parse_time("2026-11-21T09:00:00.700+00:00"), local=100.0)
    local = 100.0 + since_welcome
    on_tablet, on_display = tablet.now(local), display.now(local)
    assert on_tablet is not None and on_display is not None
    assert POLL.closes_at is not None
    tablet_left = closes_in(POLL, on_tablet.timestamp())
    assert tablet_left is not None
    display_left = close_countdown(POLL.closes_at, on_display).remaining
    assert format_duration(tablet_left, up=True) == shown
    assert format_duration(display_left, up=True) == shown
