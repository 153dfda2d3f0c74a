"""Which poll the display shows, the result chart and the roll call, with plain values."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from kiosk.voting import (
    Stage,
    chart,
    close_countdown,
    percent,
    roll_call,
    shown_poll,
)
from room_client.timers import Level, parse_time
from room_protocol.voting import (
    ABSTAIN,
    NO,
    YES,
    Majority,
    NamedVote,
    OptionCount,
    Outcome,
    Poll,
    PollKind,
    PollOption,
    PollResult,
    PollRule,
    PollSpec,
    PollState,
    normalised,
)

T = "2026-11-21T09:{:02d}:00+00:00"
MOTION = normalised(PollSpec("Motion", PollKind.YES_NO))


def at(minute: int) -> str:
    return T.format(minute)


def poll(poll_id: str, state: PollState, opened: int, closed: int = 0, published: int = 0) -> Poll:
    return Poll(
        poll_id,
        MOTION,
        state,
        opened_at=at(opened),
        closed_at=at(closed) if closed else None,
        published_at=at(published) if published else None,
    )


def result(poll_id: str = "a", **changes: object) -> PollResult:
    base = PollResult(
        poll_id=poll_id,
        outcome=Outcome.ADOPTED,
        counts=(OptionCount(YES, 5, 5), OptionCount(NO, 2, 2), OptionCount(ABSTAIN, 1, 1)),
        ballots=8,
        cast=7,
        abstentions=1,
        base=7,
        required=4,
        winners=(YES,),
        members=10,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_an_open_poll_wins_and_the_newest_of_several() -> None:
    polls = [
        poll("a", PollState.PUBLISHED, 1, 2, 3),
        poll("b", PollState.OPEN, 4),
        poll("c", PollState.OPEN, 5),
    ]
    shown = shown_poll(polls, [result()], now=parse_time(at(30)), item_changed=parse_time(at(20)))
    assert shown is not None and (shown.poll.id, shown.stage) == ("c", Stage.OPEN)


def test_the_latest_ended_poll_is_counted_or_shown_until_it_goes_stale() -> None:
    published = poll("a", PollState.PUBLISHED, 1, 2, 3)
    closed = poll("b", PollState.CLOSED, 4, 5)
    now = parse_time(at(6))
    shown = shown_poll([published, closed], [result()], now=now, item_changed=None)
    assert shown is not None and (shown.poll.id, shown.stage) == ("b", Stage.COUNTING)
    shown = shown_poll([published], [result()], now=now, item_changed=None)
    assert shown is not None and shown.stage is Stage.RESULT and shown.result == result()
    # published, but the result has not reached the display: treated as being counted
    shown = shown_poll([published], [], now=now, item_changed=None)
    assert shown is not None and shown.stage is Stage.COUNTING
    late = now + timedelta(minutes=5)
    assert shown_poll([published], [result()], now=late, item_changed=None, keep_s=120) is None
    moved = parse_time(at(4))
    assert shown_poll([published], [result()], now=now, item_changed=moved) is None
    assert shown_poll([poll("d", PollState.DRAFT, 1)], [], now=now, item_changed=None) is None


def test_the_closing_countdown() -> None:
    now = parse_time(at(10))
    minute = close_countdown(at(11), now)
    assert (minute.remaining, minute.level) == (60, Level.NORMAL)
    soon = close_countdown("2026-11-21T09:10:09+00:00", now)
    assert (soon.remaining, soon.level) == (9, Level.NEAR)  # amber for the last ten seconds
    past = close_countdown(at(9), now)
    assert (past.remaining, past.level) == (0, Level.OVER)


def test_a_yes_no_chart_is_measured_against_the_base() -> None:
    figures = chart(MOTION, result())
    assert [(r.option_id, r.votes, r.winner, r.abstain) for r in figures.rows] == [
        (YES, 5, True, False),
        (NO, 2, False, False),
        (ABSTAIN, 1, False, True),
    ]
    assert (figures.top, figures.required, figures.hidden) == (7, 4, 0)
    assert percent(5, 7) is not None and round(percent(5, 7) or 0, 1) == 71.4
    assert percent(1, 0) is None


def test_an_election_chart_ranks_and_plurality_measures_against_the_most() -> None:
    options = tuple(PollOption(f"c{k}", f"C{k}") for k in range(12))
    spec = normalised(
        PollSpec("Board", PollKind.ELECTION, options, seats=2, rule=PollRule(Majority.PLURALITY))
    )
    counts = tuple(OptionCount(f"c{k}", (k * 7) % 12, 0) for k in range(12))
    figures = chart(spec, result(counts=counts, required=0, base=40, winners=("c5", "c10")))
    votes = [r.votes for r in figures.rows]
    assert votes == sorted(votes, reverse=True) and len(votes) == 10 and figures.hidden == 2
    assert (figures.top, figures.required) == (11, 0)


def test_a_roll_call_only_for_small_named_one_choice_polls() -> None:
    named = (
        NamedVote("d2", (NO,), 1),
        NamedVote("d1", (YES,), 1),
        NamedVote("d3", (), 1),
        NamedVote("d4", (YES,), 1, cast_by="d1"),
    )
    names = {"d1": "An", "d2": "Bình", "d3": "Cường", "d4": "Dung"}
    groups = roll_call(MOTION, result(named=named), names)
    assert groups is not None
    assert [(g.option_id, [(n.name, n.by_proxy) for n in g.names]) for g in groups] == [
        (YES, [("An", False), ("Dung", True)]),  # the roster's order
        (NO, [("Bình", False)]),
        (ABSTAIN, [("Cường", False)]),  # a blank ballot
    ]
    assert roll_call(replace(MOTION, secret=True), result(named=named), names) is None
    assert roll_call(MOTION, result(named=named, members=31), names) is None
    assert roll_call(MOTION, result(), names) is None
    several = replace(MOTION, kind=PollKind.MULTIPLE, max_choices=2)
    assert roll_call(several, result(named=named), names) is None
