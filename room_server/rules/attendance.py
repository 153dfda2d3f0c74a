"""Who is here, who stands for whom, and whether the meeting has its quorum."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from room_protocol.errors import ErrorCode
from room_protocol.voting import (
    AttendanceState,
    CheckMethod,
    Presence,
    Proxy,
    QuorumRule,
    Seating,
)
from room_server.rules import Refusal
from room_server.tally import quorum


@dataclass(frozen=True, slots=True)
class Member:
    """A roster entry as the attendance and voting rules need it."""

    id: str
    name: str
    seat_id: str | None = None
    voting: bool = True
    weight: int = 1


@dataclass(frozen=True, slots=True)
class AttendanceSettings:
    seating: Seating = Seating.ASSIGNED
    quorum: QuorumRule = QuorumRule.NONE
    quorum_count: int | None = None
    proxies_count: bool = True
    max_proxies: int = 1
    badge_and_pin: bool = False  # voting members sign in with their badge and their PIN

    @classmethod
    def from_json(cls, text: str | None) -> AttendanceSettings:
        raw: dict[str, Any] = json.loads(text or "{}")
        return cls(
            seating=Seating(raw.get("seating", Seating.ASSIGNED.value)),
            quorum=QuorumRule(raw.get("quorum", QuorumRule.NONE.value)),
            quorum_count=raw.get("quorum_count"),
            proxies_count=bool(raw.get("proxies_count", True)),
            max_proxies=int(raw.get("max_proxies", 1)),
            badge_and_pin=bool(raw.get("badge_and_pin", False)),
        )


def represented(
    members: Mapping[str, Member], present: Iterable[str], holders: Mapping[str, str]
) -> tuple[set[str], set[str]]:
    """(voting members present, absent voting members whose proxy holder is present)."""
    here = {m for m in present if m in members and members[m].voting}
    by_proxy = {giver for giver, holder in holders.items() if giver not in here and holder in here}
    return here, by_proxy


def wrong_seat(settings: AttendanceSettings, member: Member | None, seat_id: str | None) -> bool:
    """A member signed in at a seat other than their own, where seats are assigned."""
    return bool(
        settings.seating is Seating.ASSIGNED
        and member is not None
        and member.seat_id
        and seat_id
        and member.seat_id != seat_id
    )


def check_proxy(
    members: Mapping[str, Member],
    holders: Mapping[str, str],
    giver_id: str,
    holder_id: str,
    max_proxies: int,
) -> None:
    """Refuse a proxy the rules do not allow: no chains, not to oneself, voting members
    only, at most ``max_proxies`` per holder."""
    giver = members.get(giver_id)
    if giver is None:
        raise Refusal(ErrorCode.NOT_FOUND, f"{giver_id!r} is not on the roster")
    holder = members.get(holder_id)
    if holder is None:
        raise Refusal(ErrorCode.NOT_FOUND, f"{holder_id!r} is not on the roster")
    if not giver.voting or not holder.voting:
        raise Refusal(ErrorCode.BAD_FIELD, "proxies are given and held by voting members only")
    if giver_id == holder_id:
        raise Refusal(ErrorCode.BAD_FIELD, "a member cannot hold their own proxy")
    if holder_id in holders:
        raise Refusal(
            ErrorCode.BAD_STATE,
            f"{holder.name} has given their own proxy and cannot hold another's",
        )
    if giver_id in holders.values():
        raise Refusal(
            ErrorCode.BAD_STATE,
            f"{giver.name} holds someone's proxy; proxies cannot be passed on",
        )
    held = sum(1 for g, h in holders.items() if h == holder_id and g != giver_id)
    if held >= max_proxies:
        noun = "proxy" if held == 1 else "proxies"
        raise Refusal(
            ErrorCode.BAD_STATE,
            f"{holder.name} already holds {held} {noun}; the limit is {max_proxies}",
        )


def attendance_state(
    settings: AttendanceSettings,
    members: Mapping[str, Member],
    presence: Mapping[str, Mapping[str, Any]],
    holders: Mapping[str, str],
    sources: Mapping[str, str],
) -> AttendanceState:
    """Who is here and whether the quorum is met. ``presence``: delegate id -> its row
    (seat_id, method, since) in arrival order; ``holders``: giver -> holder in the order
    given; ``sources``: giver -> where the proxy came from (package or clerk)."""
    present, by_proxy = represented(members, presence, holders)
    voting_members = sum(1 for m in members.values() if m.voting)
    counted = len(present) + (len(by_proxy) if settings.proxies_count else 0)
    q = quorum(
        settings.quorum, members=voting_members, counted=counted, fixed=settings.quorum_count
    )
    return AttendanceState(
        present=tuple(
            Presence(
                delegate_id,
                CheckMethod(row["method"]),
                row["since"],
                row["seat_id"],
                wrong_seat(settings, members.get(delegate_id), row["seat_id"]),
            )
            for delegate_id, row in presence.items()
        ),
        proxies=tuple(Proxy(g, h, sources.get(g, "clerk")) for g, h in holders.items()),
        members=voting_members,
        present_members=len(present),
        represented=len(present) + len(by_proxy),
        required=q.required,
        quorum_met=q.met,
        rule=settings.quorum,
        seating=settings.seating,
        proxies_count=settings.proxies_count,
    )
