"""The speaker queue's rules on plain values."""

from __future__ import annotations

import pytest

from room_protocol.live import FloorKind
from room_server.rules import Refusal
from room_server.rules.floor import (
    Request,
    enqueue,
    expiry_wait,
    next_speaker,
    overran,
    reorder,
    withdraw,
)

SPEAK, ORDER = FloorKind.SPEAK, FloorKind.POINT_OF_ORDER


def ids(queue: list[Request]) -> list[str]:
    return [r.delegate_id for r in queue]


def test_points_of_order_go_ahead_of_speakers_after_earlier_points_of_order() -> None:
    queue: list[Request] = []
    for who, kind in [("d1", SPEAK), ("d2", SPEAK), ("d3", ORDER), ("d4", SPEAK), ("d5", ORDER)]:
        queue = enqueue(queue, Request(who, kind), speaking=None)
    assert ids(queue) == ["d3", "d5", "d1", "d2", "d4"]


def test_nobody_queues_twice_or_while_speaking() -> None:
    queue = enqueue([], Request("d1", SPEAK), speaking=None)
    with pytest.raises(Refusal, match="already in the speaker queue"):
        enqueue(queue, Request("d1", ORDER), speaking=None)
    with pytest.raises(Refusal, match="have the floor already"):
        enqueue(queue, Request("d2", SPEAK), speaking="d2")


def test_withdraw_and_next_speaker() -> None:
    queue = [Request("d1", SPEAK), Request("d2", SPEAK)]
    assert ids(withdraw(queue, "d1")) == ["d2"]
    with pytest.raises(Refusal, match="not in the speaker queue"):
        withdraw(queue, "d9")
    assert next_speaker(queue, None).delegate_id == "d1"
    assert next_speaker(queue, "d2") == queue[1]
    assert next_speaker(queue, "d7") == Request("d7", SPEAK)  # the chair may call anyone
    with pytest.raises(Refusal, match="queue is empty"):
        next_speaker([], None)


def test_reorder_must_name_exactly_the_queue() -> None:
    queue = [Request("d1", SPEAK), Request("d2", SPEAK)]
    assert ids(reorder(queue, ["d2", "d1"])) == ["d2", "d1"]
    with pytest.raises(Refusal, match="exactly the delegates"):
        reorder(queue, ["d2"])


def test_speaking_time() -> None:
    assert overran(181.0, 180) and not overran(179.0, 180) and not overran(9_999.0, 0)
    assert expiry_wait(started_ts=100.0, limit_s=60, now=130.0) == 30.0
    assert expiry_wait(started_ts=100.0, limit_s=60, now=200.0) == 0.0
    assert expiry_wait(started_ts=100.0, limit_s=0, now=130.0) is None
