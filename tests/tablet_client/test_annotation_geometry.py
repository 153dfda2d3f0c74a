"""The rules behind the annotation tools, with plain values: what a drag over text
selects, what an eraser touches, how a long stroke is kept within the wire's limit."""

from __future__ import annotations

import math

from room_protocol.annotations import MAX_GEOMETRY, Annotation, AnnotationKind
from tablet_client.annotation_geometry import (
    bounds,
    distance,
    drag_highlight,
    erased,
    ink_geometry,
    snap_to_text,
)
from tablet_client.render import TextWord

SHA = "ab" * 32


def word(x0: float, y0: float, text: str, line: tuple[int, int]) -> TextWord:
    return TextWord(x0, y0, x0 + 10 * len(text), y0 + 12, text, line)


# Two lines of one block, then a second block.
WORDS = [
    word(50, 100, "The", (0, 0)),
    word(90, 100, "budget", (0, 0)),
    word(160, 100, "grows", (0, 0)),
    word(50, 116, "by", (0, 1)),
    word(80, 116, "four", (0, 1)),
    word(50, 200, "Annex", (1, 0)),
]


def annotation(kind: AnnotationKind, geometry: tuple[float, ...], width: float = 2.0) -> Annotation:
    return Annotation("a-1", "m-an", SHA, 0, kind=kind, geometry=geometry, width=width)


def test_a_drag_within_a_line_selects_its_words_as_one_rectangle() -> None:
    assert snap_to_text(WORDS, (55, 105), (170, 106), tolerance=2) == (50, 100, 210, 112)
    # Backwards selects the same.
    assert snap_to_text(WORDS, (170, 106), (55, 105), tolerance=2) == (50, 100, 210, 112)


def test_a_drag_over_lines_gives_one_rectangle_per_line_in_reading_order() -> None:
    geometry = snap_to_text(WORDS, (95, 104), (85, 120), tolerance=2)
    assert geometry == (90, 100, 210, 112, 50, 116, 120, 128)


def test_the_end_snaps_to_the_nearest_word_even_off_the_text() -> None:
    # Ends in the right margin next to the second line: that line's last word.
    geometry = snap_to_text(WORDS, (55, 105), (400, 121), tolerance=2)
    assert geometry == (50, 100, 210, 112, 50, 116, 120, 128)


def test_a_drag_that_does_not_start_on_text_is_no_text_selection() -> None:
    assert snap_to_text(WORDS, (300, 400), (55, 105), tolerance=2) is None
    assert snap_to_text([], (55, 105), (170, 106), tolerance=2) is None


def test_a_drag_highlight_is_its_rectangle_and_a_slip_is_nothing() -> None:
    assert drag_highlight((300, 80), (200, 20)) == (200, 20, 300, 80)
    assert drag_highlight((200, 20), (201, 80)) is None
    assert drag_highlight((200, 20), (200, 20)) is None


def test_ink_drops_samples_closer_than_a_finger_draws_and_keeps_a_dot() -> None:
    points = [(0.0, 0.0), (0.1, 0.1), (0.2, 0.1), (5.0, 5.0), (5.0, 5.0)]
    assert ink_geometry(points) == (0.0, 0.0, 5.0, 5.0)
    assert ink_geometry([(3.333, 4.444)]) == (3.33, 4.44, 3.33, 4.44)


def test_a_long_stroke_is_thinned_to_the_wire_limit_keeping_both_ends() -> None:
    points = [(float(i), math.sin(i / 50) * 100) for i in range(10_000)]
    geometry = ink_geometry(points)
    assert len(geometry) == MAX_GEOMETRY
    assert geometry[:2] == (0.0, 0.0)
    assert geometry[-2:] == (9999.0, round(math.sin(9999 / 50) * 100, 2))


def test_distance_to_each_kind() -> None:
    ink = annotation(AnnotationKind.INK, (0, 0, 100, 0), width=4)
    assert distance(ink, (50, 10)) == 8  # 10 from the line, minus half the pen
    assert distance(ink, (50, 1)) == 0
    highlight = annotation(AnnotationKind.HIGHLIGHT, (0, 0, 10, 10, 0, 20, 10, 30))
    assert distance(highlight, (5, 25)) == 0
    assert distance(highlight, (13, 14)) == 5
    note = annotation(AnnotationKind.NOTE, (100, 100))
    assert distance(note, (105, 100)) == 0  # on its pin
    assert distance(note, (130, 100)) == 20
    assert distance(annotation(AnnotationKind.INK, ()), (0, 0)) == math.inf


def test_the_eraser_touches_what_its_path_crosses_between_samples() -> None:
    left = annotation(AnnotationKind.INK, (0, 0, 0, 100))
    right = annotation(AnnotationKind.INK, (200, 0, 200, 100))
    far = annotation(AnnotationKind.NOTE, (100, 500))
    # A fast swipe sampled only at its ends still crosses the left stroke.
    assert erased([left, right, far], (-50, 50, 50, 50), tolerance=3) == [left]
    assert erased([left, right, far], (100, 490), tolerance=3) == [far]  # a tap
    assert erased([left, right, far], (100, 50), tolerance=3) == []


def test_bounds_include_the_pen() -> None:
    assert bounds(annotation(AnnotationKind.INK, (10, 10, 20, 30), width=4)) == (8, 8, 22, 32)
    assert bounds(annotation(AnnotationKind.HIGHLIGHT, (0, 0, 5, 5, 2, 8, 9, 12))) == (
        0,
        0,
        9,
        12,
    )
    assert bounds(annotation(AnnotationKind.INK, ())) is None
