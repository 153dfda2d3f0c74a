"""The speaker queue: who goes where, who speaks next."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from room_protocol.errors import ErrorCode
from room_protocol.live import FloorKind
from room_server.rules import Refusal


@dataclass(frozen=True, slots=True)
class Request:
    """A place in the speaker queue."""

    delegate_id: str
    kind: FloorKind
    requested_at: str = ""


def enqueue(queue: Sequence[Request], entry: Request, speaking: str | None) -> list[Request]:
    """The queue with ``entry`` in its place: points of order go ahead of speakers, after
    earlier points of order; everything else goes to the end."""
    if any(r.delegate_id == entry.delegate_id for r in queue):
        raise Refusal(ErrorCode.BAD_STATE, "you are already in the speaker queue")
    if speaking == entry.delegate_id:
        raise Refusal(ErrorCode.BAD_STATE, "you have the floor already")
    order = list(queue)
    if entry.kind is FloorKind.POINT_OF_ORDER:
        points = [i for i, r in enumerate(order) if r.kind is FloorKind.POINT_OF_ORDER]
        order.insert(points[-1] + 1 if points else 0, entry)
    else:
        order.append(entry)
    return order


def withdraw(queue: Sequence[Request], delegate_id: str | None) -> list[Request]:
    remaining = [r for r in queue if r.delegate_id != delegate_id]
    if len(remaining) == len(queue):
        raise Refusal(ErrorCode.BAD_STATE, "you are not in the speaker queue")
    return remaining


def next_speaker(queue: Sequence[Request], chosen: str | None) -> Request:
    """Whom the chair gives the floor: the head of the queue, or the member named (taken
    from the queue if waiting there, otherwise as an ordinary speaker)."""
    if chosen is None:
        if not queue:
            raise Refusal(ErrorCode.BAD_STATE, "the speaker queue is empty")
        return queue[0]
    for entry in queue:
        if entry.delegate_id == chosen:
            return entry
    return Request(chosen, FloorKind.SPEAK)


def reorder(queue: Sequence[Request], delegate_ids: Sequence[str]) -> list[Request]:
    by_id = {r.delegate_id: r for r in queue}
    if sorted(delegate_ids) != sorted(by_id):
        raise Refusal(
            ErrorCode.BAD_FIELD, "the new order must list exactly the delegates in the queue"
        )
    return [by_id[d] for d in delegate_ids]


def overran(elapsed_s: float, limit_s: int) -> bool:
    """A speech with a limit (0: none) ran past it."""
    return bool(limit_s) and elapsed_s > limit_s


def expiry_wait(started_ts: float, limit_s: int, now: float) -> float | None:
    """Seconds until a running speech's time is up (None: no limit)."""
    if not limit_s:
        return None
    return max(0.0, started_ts + limit_s - now)
