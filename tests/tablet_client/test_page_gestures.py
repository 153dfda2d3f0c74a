"""PageGestures: finger positions and times in, gestures out (plain values, a made-up clock)."""

from __future__ import annotations

import math

import pytest

from tablet_client.page_gestures import (
    DOUBLE_TAP_S,
    SWIPE_MIN_DISTANCE,
    SWIPE_MIN_SPEED,
    TAP_SLOP,
    DoubleTap,
    Fling,
    PageGestures,
    Pan,
    Pinch,
    PinchEnded,
    PinchStarted,
    Swipe,
    Tap,
)


def test_two_fingers_pinch_about_their_midpoint() -> None:
    gestures = PageGestures()
    assert gestures.touch({0: (100, 300), 1: (300, 300)}, 0.0) == [PinchStarted((200, 300))]
    assert gestures.pinching
    [spread] = gestures.touch({0: (50, 310), 1: (450, 310)}, 0.1)
    assert isinstance(spread, Pinch)
    assert math.isclose(spread.scale, 2.0) and spread.focal == (250, 310)
    [closer] = gestures.touch({0: (150, 300), 1: (250, 300)}, 0.2)
    assert isinstance(closer, Pinch) and math.isclose(closer.scale, 0.5)
    assert gestures.touch({}, 0.3) == [PinchEnded()]
    assert not gestures.active


def test_a_second_finger_turns_a_drag_into_a_pinch_and_one_left_does_nothing() -> None:
    gestures = PageGestures()
    assert gestures.touch({4: (100, 100)}, 0.0) == []
    assert gestures.touch({4: (140, 100)}, 0.05) == [Pan(40, 0)]
    assert gestures.touch({4: (140, 100), 7: (240, 100)}, 0.1) == [PinchStarted((190, 100))]
    assert gestures.touch({7: (260, 100)}, 0.2) == [PinchEnded()]  # one finger lifted
    assert gestures.touch({7: (400, 100)}, 0.25) == []  # the last one neither pans nor swipes
    assert gestures.touch({}, 0.3) == []


def test_one_finger_pans_only_past_the_tap_slop() -> None:
    gestures = PageGestures()
    gestures.touch({0: (100, 100)}, 0.0)
    assert gestures.touch({0: (100 + TAP_SLOP - 1, 100)}, 0.1) == []
    assert gestures.touch({0: (100, 130)}, 0.2) == [Pan(0, 30)]  # the whole way from the start
    assert gestures.touch({0: (90, 100)}, 0.3) == [Pan(-10, -30)]
    assert gestures.touch({}, 1.5) == []  # a slow drag: no swipe, no tap


def test_a_quick_sideways_flick_is_a_swipe_and_a_slow_one_is_not() -> None:
    distance = SWIPE_MIN_DISTANCE + 20
    quick = distance / SWIPE_MIN_SPEED / 2  # twice the least speed
    for direction, sign in ((1, -1), (-1, 1)):  # finger to the left: the next page
        gestures = PageGestures()
        gestures.touch({0: (500, 400)}, 10.0)
        gestures.touch({0: (500 + sign * distance, 410)}, 10.0 + quick)
        swipe, fling = gestures.touch({}, 10.0 + quick)
        assert swipe == Swipe(direction)  # and the page coasts on, if it does not turn
        assert fling == Fling(pytest.approx(sign * distance / quick), pytest.approx(10 / quick))

    slow = PageGestures()
    slow.touch({0: (500, 400)}, 0.0)
    slow.touch({0: (500 - distance, 400)}, distance / SWIPE_MIN_SPEED * 2)
    assert slow.touch({}, distance / SWIPE_MIN_SPEED * 2) == []  # neither turns nor coasts

    short = PageGestures()
    short.touch({0: (500, 400)}, 0.0)
    short.touch({0: (500 - SWIPE_MIN_DISTANCE + 10, 400)}, 0.01)
    assert Swipe(1) not in short.touch({}, 0.02)  # too short to turn the page

    steep = PageGestures()  # mostly downwards: a pan, not a page turn
    steep.touch({0: (500, 400)}, 0.0)
    steep.touch({0: (500 - distance, 400 + distance)}, 0.05)
    assert [type(g) for g in steep.touch({}, 0.06)] == [Fling]


def test_a_finger_lifted_while_moving_flings_and_one_that_stopped_does_not() -> None:
    gestures = PageGestures()
    gestures.touch({0: (400, 500)}, 0.0)
    gestures.touch({0: (400, 450)}, 0.25)  # slowly, then quickly
    gestures.touch({0: (400, 400)}, 0.375)
    gestures.touch({0: (400, 300)}, 0.4375)
    # Measured from the last position before its last 0.1 s: 150 px in 0.1875 s.
    assert gestures.touch({}, 0.4375) == [Fling(0, pytest.approx(-800))]

    gestures.touch({0: (400, 500)}, 1.0)
    gestures.touch({0: (400, 300)}, 1.1)
    gestures.touch({0: (400, 300)}, 1.2)
    assert gestures.touch({}, 1.35) == []  # held still before lifting

    gestures.touch({0: (400, 500)}, 2.0)
    gestures.touch({0: (400, 450)}, 2.2)  # 250 px/s: too slow to coast
    assert gestures.touch({}, 2.2) == []


def test_taps_and_double_taps() -> None:
    gestures = PageGestures()
    gestures.touch({0: (300, 300)}, 0.0)
    assert gestures.touch({}, 0.05) == [Tap((300, 300))]
    gestures.touch({0: (305, 296)}, 0.1)
    assert gestures.touch({}, 0.15) == [DoubleTap((305, 296))]
    # A third tap starts again: a tap, not another double tap.
    gestures.touch({0: (305, 296)}, 0.2)
    assert gestures.touch({}, 0.25) == [Tap((305, 296))]
    # Too late, or too far, for a double tap.
    gestures.touch({0: (305, 296)}, 0.25 + DOUBLE_TAP_S + 0.1)
    assert gestures.touch({}, 0.25 + DOUBLE_TAP_S + 0.15) == [Tap((305, 296))]
    gestures.touch({0: (600, 296)}, 0.8)
    assert gestures.touch({}, 0.85) == [Tap((600, 296))]
    # A long press is no tap.
    gestures.touch({0: (600, 296)}, 2.0)
    assert gestures.touch({}, 3.0) == []


@pytest.mark.parametrize("pinching", [True, False])
def test_cancel_forgets_the_fingers(pinching: bool) -> None:
    gestures = PageGestures()
    fingers = {0: (10.0, 10.0), 1: (90.0, 10.0)} if pinching else {0: (10.0, 10.0)}
    gestures.touch(fingers, 0.0)
    assert gestures.cancel() == ([PinchEnded()] if pinching else [])
    assert not gestures.active
    gestures.touch({0: (10, 10)}, 0.1)
    assert gestures.touch({}, 0.15) == [Tap((10, 10))]  # not a double tap with a lost one
