"""The ``[[seats]]`` and ``[[delegates]]``: who sits where, with which role, PIN, badge
and voting weight."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from room_server.package.contents import PackageDelegate, PackageSeat
from room_server.package.fields import FieldReader, Missing, describe_entry

ROLES = ("chair", "clerk", "delegate", "observer")
MAX_WEIGHT = 1_000_000  # votes of one member in a weighted poll (shares, delegation size)
_SEAT_KEYS = ("id", "label")
_DELEGATE_KEYS = ("id", "name", "role", "seat", "group", "pin", "badge", "voting", "weight")


@dataclass(frozen=True, slots=True)
class Member:
    role: str | None  # None: the role itself was wrong
    voting: bool | None  # None: the voting flag itself was wrong


def read_seats(reader: FieldReader, data: dict[str, Any]) -> tuple[PackageSeat, ...]:
    seats: list[PackageSeat] = []
    for index, table in reader.array(data, "seats"):
        where = describe_entry("seat", table, index)
        reader.keys(table, where, _SEAT_KEYS)
        seat_id = reader.ident(table, where, "seat")
        label = reader.text(table, "label", where, max_len=200, default=seat_id or "")
        if seat_id is not None and label is not None:
            seats.append(PackageSeat(seat_id, label))
    return tuple(seats)


def read_delegates(
    reader: FieldReader, data: dict[str, Any], seats: set[str]
) -> tuple[tuple[PackageDelegate, ...], dict[str, Member]]:
    """The delegates without problems, and every delegate id, even one with problems, as a
    member whose role and voting flag the attendance and proxy checks can rely on."""
    delegates: list[PackageDelegate] = []
    members: dict[str, Member] = {}
    taken: dict[str, str] = {}
    badges: dict[str, str] = {}
    for index, table in reader.array(data, "delegates"):
        where = describe_entry("delegate", table, index)
        reader.keys(table, where, _DELEGATE_KEYS)
        delegate_id = reader.ident(table, where, "delegate")
        name = reader.text(table, "name", where, max_len=200)
        role = reader.text(table, "role", where, max_len=20, default="delegate")
        if role is not None and role not in ROLES:
            reader.problem(where, f'role "{role}" is not one of {", ".join(ROLES)}')
            role = None
        group = reader.text(table, "group", where, max_len=200, default="")
        seat = reader.text(table, "seat", where, max_len=64, default="")
        if seat:
            if seat not in seats:
                reader.problem(where, f'seat "{seat}" is not in [[seats]]')
                seat = None
            elif seat in taken:
                reader.problem(where, f'seat "{seat}" is already assigned to {taken[seat]}')
                seat = None
            else:
                taken[seat] = where
        pin = reader.text(table, "pin", where, max_len=12, default="")
        if pin and not re.fullmatch(r"[0-9]{4,12}", pin):
            reader.problem(where, 'pin must be 4 to 12 digits, written as a string ("0421")')
            pin = None
        badge = reader.text(table, "badge", where, max_len=64, default="")
        if badge and not re.fullmatch(r"[A-Za-z0-9:_-]{1,64}", badge):
            reader.problem(where, "badge may only contain letters, digits, ':', '_' and '-'")
            badge = None
        elif badge and badge in badges:
            reader.problem(where, f'badge "{badge}" is already given to {badges[badge]}')
            badge = None
        elif badge:
            badges[badge] = where
        voting = reader.flag(table, "voting", where, default=role == "delegate")
        if voting and role == "observer":
            reader.problem(
                where,
                'an observer cannot be a voting member; make the role "delegate" '
                "(or chair or clerk) or leave voting out",
            )
            voting = None
        weight = reader.integer(table, "weight", where, 1, MAX_WEIGHT)
        if delegate_id is not None:
            members[delegate_id] = Member(role, voting)
        if None not in (delegate_id, name, role, group, seat, pin, badge, voting) and not (
            isinstance(weight, Missing)
        ):
            assert delegate_id is not None and name is not None and role is not None
            assert group is not None and voting is not None
            delegates.append(
                PackageDelegate(
                    delegate_id,
                    name,
                    role,
                    seat or None,
                    group,
                    pin or None,
                    badge or None,
                    voting,
                    1 if weight is None else weight,
                )
            )
    return tuple(delegates), members
