"""``[attendance]`` and ``[[proxies]]``: seating, the quorum rule, and who votes for whom.

Checked against the voting members of the roster: a quorum that can be met, proxies
given and held only by voting members, at most one each way, never passed on.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from room_protocol.voting import MAX_MEMBERS, QuorumRule, Seating
from room_server.package.contents import PackageAttendance, PackageProxy
from room_server.package.fields import FieldReader, Missing, did_you_mean
from room_server.package.roster import Member

_ATTENDANCE_KEYS = (
    "seating",
    "quorum",
    "quorum_count",
    "proxies_count",
    "max_proxies",
    "badge_and_pin",
)
_PROXY_KEYS = ("giver", "holder")


def read_attendance(
    reader: FieldReader, data: dict[str, Any], members: dict[str, Member]
) -> tuple[PackageAttendance, int | None]:
    """The attendance rules, and the max_proxies the proxies are checked against: None when
    a problem in [attendance] hides it."""
    where = "attendance"
    proxy_limit: int | None = PackageAttendance().max_proxies
    table = reader.table(data, "attendance", "", required=False)
    if table is None:
        if "attendance" in data:
            proxy_limit = None
        return PackageAttendance(), proxy_limit
    reader.keys(table, where, _ATTENDANCE_KEYS)
    seating = reader.choice(table, "seating", where, Seating)
    quorum = reader.choice(table, "quorum", where, QuorumRule)
    count = reader.integer(table, "quorum_count", where, 1, MAX_MEMBERS)
    voters = sum(1 for member in members.values() if member.voting)
    if quorum is QuorumRule.FIXED:
        if count is None:
            reader.problem(
                where,
                'quorum = "fixed" needs quorum_count, the number of voting members '
                "that makes the quorum",
            )
        elif isinstance(count, int) and count > voters:
            reader.problem(
                where,
                f"quorum_count {count} is more than the {voters} voting members "
                "in [[delegates]]; the quorum could never be met",
            )
    elif isinstance(count, int) and isinstance(quorum, QuorumRule | None):
        rule = (quorum or QuorumRule.NONE).value
        reader.problem(
            where,
            f'quorum_count is used only with quorum = "fixed" (here quorum is "{rule}"); '
            'remove quorum_count or set quorum = "fixed"',
        )
    proxies_count = reader.flag(table, "proxies_count", where, default=True)
    max_proxies = reader.integer(table, "max_proxies", where, 0, MAX_MEMBERS)
    if isinstance(max_proxies, Missing):
        proxy_limit = None
    elif max_proxies is not None:
        proxy_limit = max_proxies
    badge_and_pin = reader.flag(table, "badge_and_pin", where, default=False)
    attendance = PackageAttendance(
        seating=seating if isinstance(seating, Seating) else Seating.ASSIGNED,
        quorum=quorum if isinstance(quorum, QuorumRule) else QuorumRule.NONE,
        quorum_count=count if isinstance(count, int) else None,
        proxies_count=proxies_count is not False,
        max_proxies=max_proxies if isinstance(max_proxies, int) else 1,
        badge_and_pin=badge_and_pin is True,
    )
    return attendance, proxy_limit


def read_proxies(
    reader: FieldReader, data: dict[str, Any], members: dict[str, Member], limit: int | None
) -> tuple[PackageProxy, ...]:
    """``limit``: max_proxies, None when [attendance] has a problem that hides it."""
    found: list[tuple[PackageProxy, str]] = []
    givers: dict[str, tuple[str, str]] = {}  # giver -> (holder, where)
    held: Counter[str] = Counter()
    for index, table in reader.array(data, "proxies"):
        where = f"proxy #{index + 1}"
        reader.keys(table, where, _PROXY_KEYS)
        giver = _member(reader, members, table, "giver", where)
        holder = _member(reader, members, table, "holder", where)
        if giver is None or holder is None:
            continue
        if giver == holder:
            reader.problem(where, f'"{giver}" cannot hold their own proxy')
            continue
        if giver in givers:
            earlier_holder, earlier = givers[giver]
            reader.problem(
                where,
                f'giver "{giver}" already gave a proxy to "{earlier_holder}" in {earlier}; '
                "a member gives at most one proxy",
            )
            continue
        givers[giver] = (holder, where)
        held[holder] += 1
        if limit == 0:
            reader.problem(
                where,
                "proxies are not allowed: max_proxies is 0 in [attendance]; "
                "remove the proxy or raise max_proxies",
            )
            continue
        if limit is not None and held[holder] > limit:
            reader.problem(
                where,
                f'holder "{holder}" would hold {held[holder]} proxies; max_proxies in '
                f"[attendance] allows {limit}",
            )
            continue
        found.append((PackageProxy(giver, holder), where))
    proxies: list[PackageProxy] = []
    for proxy, where in found:
        if proxy.holder in givers:
            onward, given_in = givers[proxy.holder]
            reader.problem(
                where,
                f'holder "{proxy.holder}" gives their own proxy to "{onward}" in '
                f"{given_in}; a proxy cannot be passed on: give it to a member who is "
                "present",
            )
            continue
        proxies.append(proxy)
    return tuple(proxies)


def _member(
    reader: FieldReader, members: dict[str, Member], table: dict[str, Any], key: str, where: str
) -> str | None:
    """A voting member's delegate id, from ``table[key]``."""
    value = reader.text(table, key, where, max_len=64)
    if value is None:
        return None
    member = members.get(value)
    if member is None:
        hint = did_you_mean(value, members)
        reader.problem(where, f'{key} "{value}" is not in [[delegates]]{hint}')
        return None
    if member.voting is False:
        reader.problem(
            where,
            f'{key} "{value}" is not a voting member (role "{member.role}"); only voting '
            "members give or hold proxies",
        )
        return None
    return value if member.voting else None
