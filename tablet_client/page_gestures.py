"""Touch gestures on the reader's page as plain values: pan, fling, pinch, swipe, tap and
double tap.

Qt-free: DocumentView feeds it the fingers down after each touch event (in the page
area's logical px) with a time in seconds, and applies what it reports.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "DOUBLE_TAP_S",
    "SWIPE_MIN_DISTANCE",
    "SWIPE_MIN_SPEED",
    "TAP_SLOP",
    "DoubleTap",
    "Fling",
    "Gesture",
    "PageGestures",
    "Pan",
    "Pinch",
    "PinchEnded",
    "PinchStarted",
    "Swipe",
    "Tap",
]

Point = tuple[float, float]

TAP_SLOP = 12.0  # logical px a finger may move and still tap
TAP_MAX_S = 0.5  # a longer press is not a tap
DOUBLE_TAP_S = 0.3  # between the two taps' releases
DOUBLE_TAP_DISTANCE = 40.0  # logical px between the two taps
SWIPE_MIN_DISTANCE = 80.0  # logical px across
SWIPE_MIN_SPEED = 500.0  # logical px per second on average: a slower drag only pans
SWIPE_MAX_SLOPE = 0.5  # |dy| / |dx|: a swipe is mostly sideways
FLING_MIN_SPEED = 400.0  # logical px per second as the finger lifts: the page coasts on
FLING_WINDOW_S = 0.1  # the finger's speed is measured over its last movement this long


@dataclass(frozen=True, slots=True)
class Pan:
    """One finger moved by (dx, dy) since the last report."""

    dx: float
    dy: float


@dataclass(frozen=True, slots=True)
class PinchStarted:
    focal: Point  # between the two fingers


@dataclass(frozen=True, slots=True)
class Pinch:
    """Two fingers: ``scale`` is their distance over the distance when they came down."""

    scale: float
    focal: Point


@dataclass(frozen=True, slots=True)
class PinchEnded:
    pass


@dataclass(frozen=True, slots=True)
class Swipe:
    """A quick sideways flick: +1 (finger went left) for the next page, -1 for the previous."""

    direction: int


@dataclass(frozen=True, slots=True)
class Fling:
    """One finger lifted while moving at (vx, vy) logical px per second."""

    vx: float
    vy: float


@dataclass(frozen=True, slots=True)
class Tap:
    at: Point


@dataclass(frozen=True, slots=True)
class DoubleTap:
    at: Point


Gesture = Pan | Fling | PinchStarted | Pinch | PinchEnded | Swipe | Tap | DoubleTap


class PageGestures:
    """Turns a stream of finger positions into gestures.

    One finger: pans once it moved past the tap slop; lifted, it is a tap (a double tap
    when the last tap was near and recent), or a swipe when it went far and fast sideways
    (the reader turns the page, or pans on when zoomed), and a fling when it was still
    moving fast (the page coasts on). Two fingers: a pinch about their midpoint until
    fewer than two are down; nothing more happens until every finger is up.
    """

    def __init__(self) -> None:
        self._state = "idle"  # "one" | "pinch" | "done" (wait for every finger to lift)
        self._finger = -1
        self._start: Point = (0.0, 0.0)
        self._start_t = 0.0
        self._last: Point = (0.0, 0.0)
        self._moved = False
        self._pair: tuple[int, int] = (-1, -1)
        self._distance = 1.0
        self._last_tap: tuple[Point, float] | None = None
        self._track: list[tuple[float, Point]] = []  # the finger's recent (time, position)

    @property
    def active(self) -> bool:
        """A finger is down."""
        return self._state != "idle"

    @property
    def pinching(self) -> bool:
        return self._state == "pinch"

    def cancel(self) -> list[Gesture]:
        """The system took the touches away (or the page changed under them)."""
        was_pinching = self._state == "pinch"
        self._state = "idle"
        self._last_tap = None
        return [PinchEnded()] if was_pinching else []

    def touch(self, fingers: Mapping[int, Point], t: float) -> list[Gesture]:
        """``fingers``: every finger still down after this event (id -> position);
        ``t``: seconds on a monotonic clock."""
        if not fingers:
            return self._lifted(t)
        if len(fingers) >= 2 and self._state in ("idle", "one"):
            first, second = sorted(fingers)[:2]
            self._pair = (first, second)
            self._distance = max(math.dist(fingers[first], fingers[second]), 1.0)
            self._state = "pinch"
            self._last_tap = None
            return [PinchStarted(_middle(fingers[first], fingers[second]))]
        if self._state == "idle":
            ((finger, at),) = fingers.items()
            self._state, self._finger = "one", finger
            self._start = self._last = at
            self._start_t, self._moved = t, False
            self._track = [(t, at)]
            return []
        if self._state == "one":
            if self._finger not in fingers:  # another finger: the first lifted meanwhile
                self._state = "done"
                return []
            at = fingers[self._finger]
            self._track.append((t, at))
            while len(self._track) > 2 and t - self._track[1][0] >= FLING_WINDOW_S:
                del self._track[0]  # keeps the last sample from before the window
            if not self._moved and math.dist(at, self._start) <= TAP_SLOP:
                return []
            self._moved = True
            dx, dy = at[0] - self._last[0], at[1] - self._last[1]
            self._last = at
            return [Pan(dx, dy)] if dx or dy else []
        if self._state == "pinch":
            first, second = self._pair
            if first not in fingers or second not in fingers:
                self._state = "done"
                return [PinchEnded()]
            a, b = fingers[first], fingers[second]
            return [Pinch(math.dist(a, b) / self._distance, _middle(a, b))]
        return []  # "done"

    def _lifted(self, t: float) -> list[Gesture]:
        state, self._state = self._state, "idle"
        if state == "pinch":
            return [PinchEnded()]
        if state != "one":
            return []
        end = self._last
        if not self._moved:
            if t - self._start_t > TAP_MAX_S:
                self._last_tap = None
                return []
            last, self._last_tap = self._last_tap, (self._start, t)
            if (
                last is not None
                and t - last[1] <= DOUBLE_TAP_S
                and math.dist(last[0], self._start) <= DOUBLE_TAP_DISTANCE
            ):
                self._last_tap = None
                return [DoubleTap(self._start)]
            return [Tap(self._start)]
        self._last_tap = None
        dx, dy = end[0] - self._start[0], end[1] - self._start[1]
        elapsed = max(t - self._start_t, 1e-3)
        gestures: list[Gesture] = []
        if (
            abs(dx) >= SWIPE_MIN_DISTANCE
            and abs(dy) <= abs(dx) * SWIPE_MAX_SLOPE
            and abs(dx) / elapsed >= SWIPE_MIN_SPEED
        ):
            gestures.append(Swipe(1 if dx < 0 else -1))
        (t0, p0), (t1, p1) = self._track[0], self._track[-1]
        if t1 - t0 > 0 and t - t1 <= FLING_WINDOW_S:  # still moving as it lifted
            vx, vy = (p1[0] - p0[0]) / (t1 - t0), (p1[1] - p0[1]) / (t1 - t0)
            if math.hypot(vx, vy) >= FLING_MIN_SPEED:
                gestures.append(Fling(vx, vy))
        return gestures


def _middle(a: Point, b: Point) -> Point:
    return ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
