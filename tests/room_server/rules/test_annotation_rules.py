"""The room's annotation rules on plain values: the incremental fold agrees with the
protocol's AnnotationSet in any order, who sees what, the limits, and paging."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from room_protocol.annotations import (
    MAX_OPS_PER_MESSAGE,
    Annotation,
    AnnotationKind,
    AnnotationPatch,
    AnnotationSet,
    OpRecord,
    Visibility,
)
from room_protocol.errors import ErrorCode
from room_server.meeting.annotations import PAGE_BYTES, pages
from room_server.rules import Refusal
from room_server.rules.annotations import (
    AnnotationLimits,
    Totals,
    Winners,
    check_limits,
    check_owner,
    check_place,
    check_visibility,
    fold,
    may_see,
    tombstone,
)

SHA = "ab" * 32


def random_ops(rng: random.Random, count: int) -> list[OpRecord]:
    ops = []
    for n in range(count):
        patch = AnnotationPatch(
            colour=rng.choice([None, "#d62828", "#1d4ed8"]),
            width=rng.choice([None, 1.0, 3.0]),
            text=rng.choice([None, "a", "b"]),
            visibility=rng.choice([None, *Visibility]),
            deleted=rng.choice([None, True, False]),
            kind=AnnotationKind.INK if n == 0 else None,
        )
        ops.append(
            OpRecord(
                f"op-{n}",
                ("tab-a", "tab-b")[n % 2],
                "d1",
                rng.choice(["x", "y"]),
                SHA,
                0,
                # A tablet never stamps twice alike; two tablets may: the device decides.
                rng.randrange(1, 4) * 100 + n // 2,
                patch,
            )
        )
    return ops


@pytest.mark.parametrize("seed", range(20))
def test_the_rooms_fold_agrees_with_the_protocols_in_any_order(seed: int) -> None:
    rng = random.Random(seed)
    ops = random_ops(rng, 30)
    reference = AnnotationSet()
    for op in ops:
        reference.apply(op)
    rng.shuffle(ops)
    state: dict[str, tuple[Annotation | None, Winners]] = {}
    for op in ops + ops[:5]:  # some twice: changes nothing
        current, winners = state.get(op.annotation_id, (None, {}))
        folded, _changed = fold(current, winners, op)
        state[op.annotation_id] = (folded, winners)
    assert {k: v[0] for k, v in state.items()} == {
        a.annotation_id: a for a in reference.annotations()
    }


def test_an_operation_that_wins_nothing_changes_nothing() -> None:
    winners: Winners = {}
    first = OpRecord("o1", "tab-b", "d1", "x", SHA, 0, 5, AnnotationPatch(colour="#d62828"))
    made, changed = fold(None, winners, first)
    assert changed and made.colour == "#d62828"
    older = replace(first, op_id="o2", device_id="tab-a", patch=AnnotationPatch(colour="#111111"))
    again, changed = fold(made, winners, older)
    assert not changed and again == made


def test_who_sees_a_shared_annotation() -> None:
    def note(visibility: Visibility, deleted: bool = False) -> Annotation:
        return Annotation("x", "d1", SHA, 0, visibility=visibility, deleted=deleted)

    screens = {
        "author": ("d1", False),
        "delegate": ("d2", False),
        "chair": ("chair", True),
        "display": (None, False),
    }

    def seen_by(annotation: Annotation) -> set[str]:
        return {
            name
            for name, (member, presiding) in screens.items()
            if may_see(annotation, member_id=member, presiding=presiding)
        }

    assert seen_by(note(Visibility.PRIVATE)) == set()
    assert seen_by(note(Visibility.CHAIR)) == {"chair"}
    assert seen_by(note(Visibility.EVERYONE)) == {"delegate", "chair"}
    assert seen_by(note(Visibility.PRESENTER)) == {"delegate", "chair", "display"}
    assert seen_by(note(Visibility.EVERYONE, deleted=True)) == set()
    gone = tombstone(replace(note(Visibility.EVERYONE), text="secret", geometry=(1.0, 2.0)))
    assert gone.deleted and gone.text == "" and gone.geometry == ()
    assert gone.visibility is Visibility.PRIVATE


def test_ownership_place_and_presenter_ink() -> None:
    mine = Annotation("x", "d1", SHA, 2)
    check_owner(mine, "d1")
    check_owner(None, "d2")
    with pytest.raises(Refusal) as refused:
        check_owner(mine, "d2")
    assert refused.value.code is ErrorCode.FORBIDDEN
    check_place(mine, SHA, 2)
    with pytest.raises(Refusal, match="page 3 of"):
        check_place(mine, SHA, 3)
    check_visibility(Visibility.PRESENTER, presiding=True)
    check_visibility(Visibility.EVERYONE, presiding=False)
    with pytest.raises(Refusal, match="chair and clerks"):
        check_visibility(Visibility.PRESENTER, presiding=False)


def test_limits_count_operations_and_bytes() -> None:
    limits = AnnotationLimits(max_per_member=3, max_bytes_per_member=1000)
    check_limits(Totals(2, 900), 100, limits)
    with pytest.raises(Refusal, match="limit of 3 annotation changes") as refused:
        check_limits(Totals(3, 0), 1, limits)
    assert refused.value.code is ErrorCode.ANNOTATION_LIMIT
    with pytest.raises(Refusal, match="limit of 0 KiB"):
        check_limits(Totals(0, 900), 101, limits)


def test_pages_cut_by_count_and_by_size() -> None:
    assert list(pages([])) == [[]]
    by_count = list(pages((n, 10) for n in range(MAX_OPS_PER_MESSAGE * 2 + 1)))
    assert [len(p) for p in by_count] == [MAX_OPS_PER_MESSAGE, MAX_OPS_PER_MESSAGE, 1]
    big = PAGE_BYTES // 3
    by_size = list(pages((n, big) for n in range(7)))
    assert all(len(p) <= 3 for p in by_size) and sum(map(len, by_size)) == 7
    assert list(pages([("huge", PAGE_BYTES * 2)])) == [["huge"]]
