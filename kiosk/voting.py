"""What the room display shows of a vote, as plain values: which poll is on screen (open,
being counted, or a result that is still fresh), the closing countdown, the rows of the
result chart and the roll call. No Qt, no I/O: the controller passes the room's time in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from room_client.timers import Level, parse_time
from room_protocol.voting import (
    ABSTAIN,
    NO,
    YES,
    Majority,
    Poll,
    PollKind,
    PollResult,
    PollSpec,
    PollState,
)

RESULT_KEEP_S = 300.0  # a result (or "counting") leaves the screen after five minutes
CLOSE_NEAR_S = 10.0  # the closing countdown turns amber for the last ten seconds
MAX_BARS = 10  # options beyond this are summed up as "and N more"
ROLL_CALL_MAX = 30  # names of a named poll are shown for rosters up to this size


_EPOCH = parse_time("1970-01-01T00:00:00+00:00")


class Stage(StrEnum):
    OPEN = "open"  # ballots are coming in
    COUNTING = "counting"  # closed, the result is not published yet
    RESULT = "result"  # published


@dataclass(frozen=True, slots=True)
class ShownPoll:
    poll: Poll
    stage: Stage
    result: PollResult | None = None


def _times(poll: Poll) -> list[datetime]:
    stamps = (poll.opened_at, poll.closed_at, poll.published_at)
    return [parse_time(t) for t in stamps if t]


def last_change(poll: Poll) -> datetime | None:
    """When the poll was last opened, closed or published (the room's time)."""
    return max(_times(poll), default=None)


def shown_poll(
    polls: Sequence[Poll],
    results: Sequence[PollResult],
    *,
    now: datetime | None,
    item_changed: datetime | None,
    keep_s: float = RESULT_KEEP_S,
) -> ShownPoll | None:
    """The poll the display shows, if any.

    An open poll always (the newest, should there be several). Otherwise the poll that
    changed last, while it is being counted or its result is fresh: not after
    ``keep_s``, and not once the chair has moved to another agenda item
    (``item_changed``, the room's time) since it closed or was published.
    """
    opened = [p for p in polls if p.state is PollState.OPEN]
    if opened:
        newest = max(opened, key=lambda p: parse_time(p.opened_at) if p.opened_at else _EPOCH)
        return ShownPoll(newest, Stage.OPEN)
    ended = [p for p in polls if p.state in (PollState.CLOSED, PollState.PUBLISHED)]
    if not ended:
        return None
    latest = max(ended, key=lambda p: last_change(p) or _EPOCH)
    since = last_change(latest)
    if since is None:
        return None
    if now is not None and (now - since).total_seconds() > keep_s:
        return None
    if item_changed is not None and item_changed > since:
        return None
    result = next((r for r in results if r.poll_id == latest.id), None)
    if latest.state is PollState.PUBLISHED and result is not None:
        return ShownPoll(latest, Stage.RESULT, result)
    return ShownPoll(latest, Stage.COUNTING)


@dataclass(frozen=True, slots=True)
class CloseCountdown:
    remaining: float  # seconds; 0 once the closing time has passed
    level: Level


def close_countdown(closes_at: str, now: datetime) -> CloseCountdown:
    remaining = max(0.0, (parse_time(closes_at) - now).total_seconds())
    if remaining <= 0:
        level = Level.OVER
    elif remaining <= CLOSE_NEAR_S:
        level = Level.NEAR
    else:
        level = Level.NORMAL
    return CloseCountdown(remaining, level)


# --- the result chart --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChartRow:
    option_id: str
    label: str  # the option's label as the poll gives it
    votes: int
    winner: bool = False
    tied: bool = False

    @property
    def abstain(self) -> bool:
        return self.option_id == ABSTAIN


@dataclass(frozen=True, slots=True)
class Chart:
    rows: tuple[ChartRow, ...]
    hidden: int  # options left out (the ones with the fewest votes)
    top: int  # the number of votes a full-length bar stands for
    required: int  # where the majority line is drawn (0: none)


def chart(spec: PollSpec, result: PollResult, *, max_rows: int = MAX_BARS) -> Chart:
    """Votes per option in the poll's order (yes, no, abstain; the options as listed), an
    election's candidates and a multiple choice's options by votes, most first. Bars are
    measured against the base when a majority is required, so the majority line shows
    how far each option got; under plurality against the most votes."""
    counts = {c.option_id: c.votes for c in result.counts}
    rows = [
        ChartRow(
            o.id,
            o.label,
            counts.get(o.id, 0),
            winner=o.id in result.winners,
            tied=o.id in result.tied,
        )
        for o in spec.options
    ]
    ranked = spec.kind in (PollKind.ELECTION, PollKind.MULTIPLE) or len(rows) > max_rows
    if ranked:
        rows.sort(key=lambda r: -r.votes)  # stable: equal votes keep the listed order
    hidden = max(0, len(rows) - max_rows)
    rows = rows[:max_rows]
    most = max((r.votes for r in rows), default=0)
    required = 0 if spec.rule.majority is Majority.PLURALITY else result.required
    top = max(most, result.base) if required else most
    return Chart(tuple(rows), hidden, max(1, top), required)


def percent(votes: int, base: int) -> float | None:
    """``votes`` as a share of the base, None when there is no base."""
    return None if base <= 0 else 100.0 * votes / base


# --- the roll call -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RollCallName:
    name: str
    by_proxy: bool = False  # the member was absent; their proxy holder voted


@dataclass(frozen=True, slots=True)
class RollCallGroup:
    option_id: str
    names: tuple[RollCallName, ...]


def roll_call(
    spec: PollSpec, result: PollResult, names: Mapping[str, str]
) -> list[RollCallGroup] | None:
    """Who voted what in a named one-choice poll of a small roster, in the roster's order
    (``names``: delegate id to name); None when the display should show counts only."""
    if spec.secret or not result.named or spec.max_choices != 1 or result.members > ROLL_CALL_MAX:
        return None
    order = {delegate_id: index for index, delegate_id in enumerate(names)}
    groups: dict[str, list[tuple[int, RollCallName]]] = {o.id: [] for o in spec.options}
    for vote in result.named:
        choice = vote.choices[0] if vote.choices else ABSTAIN
        name = RollCallName(names.get(vote.delegate_id, vote.delegate_id), vote.cast_by is not None)
        groups.setdefault(choice, []).append((order.get(vote.delegate_id, len(order)), name))
    return [
        RollCallGroup(option_id, tuple(name for _, name in sorted(members, key=lambda m: m[0])))
        for option_id, members in groups.items()
        if members
    ]


YES_NO_IDS = (YES, NO, ABSTAIN)  # options the display names in its own language
