"""A poll's life: when it may open, when its countdown ends, what its result counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from room_protocol.errors import ErrorCode
from room_protocol.voting import AttendanceState, PollSpec, PollState
from room_server.rules import Refusal
from room_server.rules.attendance import Member


def check_open(
    state: PollState, open_polls: Iterable[str], attendance: AttendanceState, override: bool
) -> bool:
    """Refuse opening a poll that is not a draft, while another is open, or without the
    quorum unless the chair overrides; True if it opens on the chair's override."""
    if state is not PollState.DRAFT:
        raise Refusal(ErrorCode.BAD_STATE, f"the poll is {state.value}, not a draft")
    for other in open_polls:
        raise Refusal(ErrorCode.BAD_STATE, f"poll {other!r} is still open; close it first")
    if not attendance.quorum_met and not override:
        proxied = attendance.represented - attendance.present_members
        by_proxy = f", {proxied} by proxy" if proxied and attendance.proxies_count else ""
        raise Refusal(
            ErrorCode.NO_QUORUM,
            f"the quorum is not met ({attendance.present_members} present{by_proxy}, "
            f"{attendance.required} required); open with the chair's override to vote anyway",
        )
    return not attendance.quorum_met and override


def countdown_wait(closes_at_ts: float, now: float) -> float:
    """Seconds until a poll's countdown ends (0: it has ended)."""
    return max(0.0, closes_at_ts - now)


def bases(
    spec: PollSpec, members: Mapping[str, Member], represented: Iterable[str]
) -> tuple[int, int]:
    """(present or represented, all voting members) in weights or heads, as the poll counts."""
    voting = {k: m for k, m in members.items() if m.voting}

    def weight(ids: Iterable[str]) -> int:
        return sum(voting[i].weight if spec.weighted else 1 for i in ids if i in voting)

    return weight(represented), weight(voting)
