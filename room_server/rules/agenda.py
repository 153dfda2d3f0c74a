"""How the agenda moves and renumbers: items as ``(id, parent_id)`` pairs in order."""

from __future__ import annotations

from collections.abc import Sequence

from room_protocol.errors import ErrorCode
from room_protocol.live import Step
from room_protocol.messages import MAX_AGENDA_DEPTH
from room_server.rules import Refusal

MAX_TOP_LEVEL_ITEMS = 2_000
MAX_SUB_ITEMS = 500

Items = Sequence[tuple[str, str | None]]  # (item id, parent id), in agenda order


def walk_order(items: Items) -> list[str]:
    """Every item id in reading order: each item followed by its sub-items."""
    children = _children(items)
    order: list[str] = []

    def visit(parent: str | None) -> None:
        for item_id in children.get(parent, []):
            order.append(item_id)
            visit(item_id)

    visit(None)
    return order


def step_target(order: Sequence[str], current: str | None, direction: Step) -> str:
    """The item that "next" or "previous" makes current."""
    if not order:
        raise Refusal(ErrorCode.BAD_STATE, "the agenda is empty")
    if current is None or current not in order:
        return order[0] if direction is Step.NEXT else order[-1]
    index = order.index(current) + (1 if direction is Step.NEXT else -1)
    if not 0 <= index < len(order):
        edge = "last" if direction is Step.NEXT else "first"
        raise Refusal(ErrorCode.BAD_STATE, f"the current item is already the {edge}")
    return order[index]


def numbers(items: Items) -> list[tuple[str, str]]:
    """``(number, item id)`` for every item: 1, 2, 2.1, 2.2, 3 … by position."""
    children = _children(items)
    out: list[tuple[str, str]] = []

    def visit(parent: str | None, prefix: str) -> None:
        for i, item_id in enumerate(children.get(parent, []), start=1):
            number = f"{prefix}{i}"
            out.append((number, item_id))
            visit(item_id, number + ".")

    visit(None, "")
    return out


def depth(items: Items, item_id: str | None) -> int:
    """How deep ``item_id`` sits (a top-level item is 1; None, the agenda itself, is 0)."""
    parents = dict(items)
    level = 0
    while item_id is not None:
        level += 1
        item_id = parents.get(item_id)
    return level


def subtree_height(items: Items, item_id: str) -> int:
    children = _children(items)

    def height(node: str) -> int:
        return 1 + max((height(k) for k in children.get(node, [])), default=0)

    return height(item_id)


def siblings(items: Items, parent_id: str | None) -> list[str]:
    return [item_id for item_id, parent in items if parent == parent_id]


def check_new_item(items: Items, title: str, parent_id: str | None, after_id: str | None) -> None:
    """Refuse an item that cannot be added where the chair asked."""
    if not title.strip():
        raise Refusal(ErrorCode.BAD_FIELD, "an agenda item needs a title")
    if parent_id is not None and depth(items, parent_id) >= MAX_AGENDA_DEPTH:
        raise Refusal(ErrorCode.BAD_FIELD, f"agenda items nest at most {MAX_AGENDA_DEPTH} deep")
    order = siblings(items, parent_id)
    if len(order) >= (MAX_TOP_LEVEL_ITEMS if parent_id is None else MAX_SUB_ITEMS):
        raise Refusal(ErrorCode.BAD_STATE, "that part of the agenda is full")
    if after_id is not None and after_id not in order:
        raise Refusal(ErrorCode.NOT_FOUND, f"{after_id!r} is not among those items")


def check_move(items: Items, item_id: str, parent_id: str | None) -> None:
    """Refuse moving an item under itself or deeper than the agenda may nest."""
    parents = dict(items)
    ancestor = parent_id
    while ancestor is not None:
        if ancestor == item_id:
            raise Refusal(ErrorCode.BAD_FIELD, "an item cannot move under itself")
        ancestor = parents.get(ancestor)
    if depth(items, parent_id) + subtree_height(items, item_id) > MAX_AGENDA_DEPTH:
        raise Refusal(ErrorCode.BAD_FIELD, f"agenda items nest at most {MAX_AGENDA_DEPTH} deep")


def _children(items: Items) -> dict[str | None, list[str]]:
    children: dict[str | None, list[str]] = {}
    for item_id, parent in items:
        children.setdefault(parent, []).append(item_id)
    return children
