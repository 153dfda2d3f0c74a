"""The agenda's rules on plain values: reading order, stepping, numbering, moving."""

from __future__ import annotations

import pytest

from room_protocol.live import Step
from room_server.rules import Refusal, agenda

ITEMS = [("a", None), ("b", None), ("b1", "b"), ("b2", "b"), ("b2x", "b2"), ("c", None)]


def test_walk_order_reads_each_item_before_its_sub_items() -> None:
    assert agenda.walk_order(ITEMS) == ["a", "b", "b1", "b2", "b2x", "c"]


def test_numbers_follow_positions_and_nesting() -> None:
    assert agenda.numbers(ITEMS) == [
        ("1", "a"),
        ("2", "b"),
        ("2.1", "b1"),
        ("2.2", "b2"),
        ("2.2.1", "b2x"),
        ("3", "c"),
    ]


@pytest.mark.parametrize(
    ("current", "direction", "target"),
    [
        (None, Step.NEXT, "a"),
        (None, Step.PREVIOUS, "c"),
        ("b", Step.NEXT, "b1"),
        ("b2x", Step.NEXT, "c"),
        ("b1", Step.PREVIOUS, "b"),
    ],
)
def test_step_goes_through_the_reading_order(
    current: str | None, direction: Step, target: str
) -> None:
    assert agenda.step_target(agenda.walk_order(ITEMS), current, direction) == target


def test_step_past_either_end_or_on_an_empty_agenda_is_refused() -> None:
    order = agenda.walk_order(ITEMS)
    with pytest.raises(Refusal, match="already the last"):
        agenda.step_target(order, "c", Step.NEXT)
    with pytest.raises(Refusal, match="already the first"):
        agenda.step_target(order, "a", Step.PREVIOUS)
    with pytest.raises(Refusal, match="empty"):
        agenda.step_target([], None, Step.NEXT)


def test_depth_and_subtree_height() -> None:
    assert agenda.depth(ITEMS, None) == 0
    assert agenda.depth(ITEMS, "b2x") == 3
    assert agenda.subtree_height(ITEMS, "b") == 3
    assert agenda.subtree_height(ITEMS, "c") == 1


def test_an_item_cannot_move_under_itself_or_too_deep() -> None:
    with pytest.raises(Refusal, match="under itself"):
        agenda.check_move(ITEMS, "b", "b2x")
    deep = [("i1", None), ("i2", "i1"), ("i3", "i2"), ("i4", "i3"), ("j", None), ("j1", "j")]
    with pytest.raises(Refusal, match="nest at most"):
        agenda.check_move(deep, "j", "i4")
    agenda.check_move(ITEMS, "c", "b")  # allowed: nothing raised


def test_new_items_need_a_title_and_a_known_neighbour() -> None:
    with pytest.raises(Refusal, match="needs a title"):
        agenda.check_new_item(ITEMS, "  ", None, None)
    with pytest.raises(Refusal, match="not among those items"):
        agenda.check_new_item(ITEMS, "Budget", "b", "a")
    agenda.check_new_item(ITEMS, "Budget", "b", "b1")
