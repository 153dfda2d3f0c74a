"""Shapes of annotations on a page, in PDF points: what a finger hit, what a drag over
text selects, how long a stroke may be. Plain values only (no Qt, no PyMuPDF), so the
rules are tested without a screen.

Geometry follows :mod:`room_protocol.annotations`: ``ink`` a polyline ``x0, y0, x1, y1…``,
``highlight`` rectangles ``x0, y0, x1, y1`` one after another, ``note`` a point ``x, y``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence

from room_protocol.annotations import MAX_GEOMETRY, Annotation, AnnotationKind
from tablet_client.render import TextWord

__all__ = [
    "Point",
    "Rect",
    "bounds",
    "distance",
    "drag_highlight",
    "drag_rect",
    "erased",
    "ink_geometry",
    "rects",
    "snap_to_text",
]

Point = tuple[float, float]
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1

MIN_STEP = 0.75  # points between kept ink samples: finer than a finger draws
MIN_HIGHLIGHT = 3.0  # points: a smaller drag rectangle is a slip, not a highlight
NOTE_RADIUS = 10.0  # points around a note's pin that count as touching it


def _pairs(values: Sequence[float]) -> list[Point]:
    return [(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]


def rects(geometry: Sequence[float]) -> list[Rect]:
    return [
        (geometry[i], geometry[i + 1], geometry[i + 2], geometry[i + 3])
        for i in range(0, len(geometry) - 3, 4)
    ]


def ink_geometry(points: Iterable[Point]) -> tuple[float, ...]:
    """A stroke as the wire takes it: samples closer than :data:`MIN_STEP` dropped, at most
    :data:`MAX_GEOMETRY` numbers (evenly thinned), rounded to 1/100 point."""
    kept: list[Point] = []
    for x, y in points:
        if not kept or math.dist(kept[-1], (x, y)) >= MIN_STEP:
            kept.append((x, y))
    limit = MAX_GEOMETRY // 2
    if len(kept) > limit:
        step = (len(kept) - 1) / (limit - 1)
        kept = [kept[round(i * step)] for i in range(limit)]
    if len(kept) == 1:
        kept.append(kept[0])  # a dot: a stroke of one point still shows
    return tuple(round(v, 2) for point in kept for v in point)


def drag_rect(start: Point, end: Point) -> Rect:
    return (
        min(start[0], end[0]),
        min(start[1], end[1]),
        max(start[0], end[0]),
        max(start[1], end[1]),
    )


def _rect_distance(rect: Rect, point: Point) -> float:
    x0, y0, x1, y1 = rect
    dx = max(x0 - point[0], 0.0, point[0] - x1)
    dy = max(y0 - point[1], 0.0, point[1] - y1)
    return math.hypot(dx, dy)


def _segment_distance(a: Point, b: Point, p: Point) -> float:
    (ax, ay), (bx, by) = a, b
    length2 = (bx - ax) ** 2 + (by - ay) ** 2
    if length2 == 0:
        return math.dist(a, p)
    t = max(0.0, min(1.0, ((p[0] - ax) * (bx - ax) + (p[1] - ay) * (by - ay)) / length2))
    return math.dist((ax + t * (bx - ax), ay + t * (by - ay)), p)


def distance(annotation: Annotation, point: Point) -> float:
    """Points from ``point`` to the nearest part of the annotation (0 inside a highlight;
    an ink stroke's own width counts as part of it)."""
    geometry = annotation.geometry
    if annotation.kind == AnnotationKind.HIGHLIGHT:
        return min((_rect_distance(r, point) for r in rects(geometry)), default=math.inf)
    if annotation.kind == AnnotationKind.NOTE:
        pins = _pairs(geometry)
        return max(0.0, math.dist(pins[0], point) - NOTE_RADIUS) if pins else math.inf
    points = _pairs(geometry)
    if not points:
        return math.inf
    if len(points) == 1:
        nearest = math.dist(points[0], point)
    else:
        nearest = min(_segment_distance(a, b, point) for a, b in itertools.pairwise(points))
    return max(0.0, nearest - annotation.width / 2)


def erased(
    annotations: Iterable[Annotation], path: Sequence[float], tolerance: float
) -> list[Annotation]:
    """The annotations an eraser passed over (``path`` a polyline, one point for a tap)."""
    points = _densified(_pairs(path), max(tolerance, 0.5))
    return [a for a in annotations if any(distance(a, p) <= tolerance for p in points)]


def _densified(points: list[Point], step: float) -> list[Point]:
    """The polyline with a point at least every ``step`` (a fast swipe samples sparsely)."""
    dense = points[:1]
    for a, b in itertools.pairwise(points):
        parts = max(1, math.ceil(math.dist(a, b) / step))
        dense.extend(
            (a[0] + (b[0] - a[0]) * i / parts, a[1] + (b[1] - a[1]) * i / parts)
            for i in range(1, parts + 1)
        )
    return dense


def bounds(annotation: Annotation) -> Rect | None:
    geometry = annotation.geometry
    if len(geometry) < 2:
        return None
    xs, ys = geometry[0::2], geometry[1::2]
    pad = annotation.width / 2 if annotation.kind == AnnotationKind.INK else 0.0
    return (min(xs) - pad, min(ys) - pad, max(xs) + pad, max(ys) + pad)


def _box(word: TextWord) -> Rect:
    return (word.x0, word.y0, word.x1, word.y1)


def _word_at(words: Sequence[TextWord], point: Point, tolerance: float) -> int | None:
    best, best_distance = None, math.inf
    for index, word in enumerate(words):
        d = _rect_distance(_box(word), point)
        if d < best_distance:
            best, best_distance = index, d
    return best if best_distance <= tolerance else None


def snap_to_text(
    words: Sequence[TextWord], start: Point, end: Point, tolerance: float
) -> tuple[float, ...] | None:
    """A drag that starts on a word selects the text up to the word nearest its end, in
    reading order, as one rectangle per text line; None when it does not start on text."""
    first = _word_at(words, start, tolerance)
    if first is None:
        return None
    on_line = [i for i, w in enumerate(words) if w.y0 <= end[1] <= w.y1]
    last: int | None
    if on_line:  # beside a line (in a margin, past its end): that line's nearest word
        last = min(on_line, key=lambda i: _rect_distance(_box(words[i]), end))
    else:
        last = _word_at(words, end, math.inf)
    assert last is not None  # words is not empty: the start found one
    lo, hi = sorted((first, last))
    lines: list[list[float]] = []
    current: tuple[int, int] | None = None
    for word in words[lo : hi + 1]:
        if word.line != current or not lines:
            lines.append([word.x0, word.y0, word.x1, word.y1])
            current = word.line
        else:
            box = lines[-1]
            box[0], box[1] = min(box[0], word.x0), min(box[1], word.y0)
            box[2], box[3] = max(box[2], word.x1), max(box[3], word.y1)
    return tuple(round(v, 2) for box in lines for v in box)


def drag_highlight(start: Point, end: Point) -> tuple[float, ...] | None:
    """A highlight drawn as a rectangle where there is no text (a figure, a scan)."""
    x0, y0, x1, y1 = drag_rect(start, end)
    if x1 - x0 < MIN_HIGHLIGHT or y1 - y0 < MIN_HIGHLIGHT:
        return None
    return tuple(round(v, 2) for v in (x0, y0, x1, y1))
