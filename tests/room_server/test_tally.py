"""Every poll kind and majority rule on worked examples: ties, abstentions, weights."""

from __future__ import annotations

from dataclasses import replace

import pytest

from room_protocol.voting import (
    ABSTAIN,
    NO,
    YES,
    Abstentions,
    Base,
    Majority,
    Outcome,
    PollKind,
    PollOption,
    PollRule,
    PollSpec,
    QuorumRule,
    Tie,
    normalised,
    spec_problems,
)
from room_server.tally import (
    Ballot,
    CastingError,
    Quorum,
    ballots_seed,
    choice_problem,
    lot_order,
    quorum,
    required_votes,
    tally,
)


def motion(**rule: object) -> PollSpec:
    return normalised(PollSpec("Motion", PollKind.YES_NO, rule=PollRule(**rule)))  # type: ignore[arg-type]


def votes(yes: int = 0, no: int = 0, abstain: int = 0) -> list[Ballot]:
    return [Ballot((YES,))] * yes + [Ballot((NO,))] * no + [Ballot((ABSTAIN,))] * abstain


CANDIDATES = tuple(PollOption(f"c{i}", name) for i, name in enumerate("ABCDE", start=1))


def choice(kind: PollKind, **fields: object) -> PollSpec:
    rule = fields.pop("rule", PollRule())
    spec = PollSpec("Choice", kind, CANDIDATES, rule=rule, **fields)  # type: ignore[arg-type]
    spec = normalised(spec)
    assert spec_problems(spec) == []
    return spec


@pytest.mark.parametrize(
    ("majority", "base", "needed"),
    [
        (Majority.SIMPLE, 10, 6),
        (Majority.SIMPLE, 9, 5),
        (Majority.ABSOLUTE, 15, 8),
        (Majority.TWO_THIRDS, 9, 6),
        (Majority.TWO_THIRDS, 10, 7),
        (Majority.THREE_QUARTERS, 8, 6),
        (Majority.THREE_QUARTERS, 10, 8),
        (Majority.TWO_THIRDS, 0, 1),
        (Majority.SIMPLE, 0, 1),
        (Majority.PLURALITY, 10, 0),
    ],
)
def test_required_votes(majority: Majority, base: int, needed: int) -> None:
    assert required_votes(majority, base) == needed


# --- yes / no / abstain ------------------------------------------------------------------


def test_simple_majority_of_votes_cast_ignores_abstentions() -> None:
    result = tally("p", motion(), votes(yes=5, no=4, abstain=6), present=15, members=20)
    assert result.outcome is Outcome.ADOPTED
    assert (result.cast, result.abstentions, result.base, result.required) == (9, 6, 9, 5)
    assert result.ballots == 15


def test_abstentions_counted_weigh_like_no() -> None:
    spec = motion(abstentions=Abstentions.COUNTED)
    result = tally("p", spec, votes(yes=5, no=4, abstain=6), present=15, members=20)
    assert result.outcome is Outcome.REJECTED
    assert (result.cast, result.base, result.required) == (15, 15, 8)


def test_majority_of_members_present() -> None:
    spec = motion(base=Base.PRESENT)
    assert tally("p", spec, votes(6, 2, 3), present=12, members=20).outcome is Outcome.REJECTED
    assert tally("p", spec, votes(7, 2, 3), present=12, members=20).outcome is Outcome.ADOPTED


def test_absolute_majority_is_of_all_members_whatever_the_turnout() -> None:
    spec = motion(majority=Majority.ABSOLUTE)
    assert spec.rule.base is Base.MEMBERS  # normalised
    result = tally("p", spec, votes(10, 0), present=12, members=21)
    assert (result.outcome, result.required) == (Outcome.REJECTED, 11)
    assert tally("p", spec, votes(11, 1), present=12, members=21).outcome is Outcome.ADOPTED


@pytest.mark.parametrize(
    ("majority", "yes", "no", "outcome"),
    [
        (Majority.TWO_THIRDS, 10, 5, Outcome.ADOPTED),  # exactly two thirds is enough
        (Majority.TWO_THIRDS, 9, 5, Outcome.REJECTED),
        (Majority.THREE_QUARTERS, 15, 5, Outcome.ADOPTED),
        (Majority.THREE_QUARTERS, 14, 5, Outcome.REJECTED),
    ],
)
def test_qualified_majorities(majority: Majority, yes: int, no: int, outcome: Outcome) -> None:
    result = tally("p", motion(majority=majority), votes(yes, no), present=30, members=30)
    assert result.outcome is outcome


def test_a_tie_fails_by_default() -> None:
    result = tally("p", motion(), votes(4, 4, 2), present=10, members=10)
    assert result.outcome is Outcome.REJECTED
    assert result.tied == (YES, NO) and result.winners == ()


def test_a_tie_for_the_chair_waits_for_the_casting_vote() -> None:
    spec = motion(tie=Tie.CHAIR)
    pending = tally("p", spec, votes(4, 4), present=10, members=10)
    assert pending.outcome is Outcome.TIE
    adopted = tally("p", spec, votes(4, 4), present=10, members=10, casting=[YES])
    assert (adopted.outcome, adopted.decided_by, adopted.winners) == (
        Outcome.ADOPTED,
        "chair",
        (YES,),
    )
    rejected = tally("p", spec, votes(4, 4), present=10, members=10, casting=[NO])
    assert (rejected.outcome, rejected.decided_by) == (Outcome.REJECTED, "chair")
    with pytest.raises(CastingError, match="must choose 1 of: yes, no"):
        tally("p", spec, votes(4, 4), present=10, members=10, casting=[ABSTAIN])


def test_a_casting_vote_without_a_tie_is_refused() -> None:
    with pytest.raises(CastingError, match="no tie"):
        tally("p", motion(tie=Tie.CHAIR), votes(5, 4), present=9, members=9, casting=[NO])
    with pytest.raises(CastingError, match="not decided by the chair"):
        tally("p", motion(), votes(4, 4), present=9, members=9, casting=[YES])


def test_no_votes_at_all_decides_nothing() -> None:
    result = tally("p", motion(), [], present=10, members=10)
    assert (result.outcome, result.cast, result.required) == (Outcome.REJECTED, 0, 1)


def test_weights_count_when_the_poll_is_weighted() -> None:
    ballots = [Ballot((YES,), 50), Ballot((NO,), 30), Ballot((NO,), 25), Ballot((ABSTAIN,), 5)]
    weighted = replace(motion(), weighted=True)
    result = tally("p", weighted, ballots, present=110, members=120)
    assert (result.outcome, result.cast, result.abstentions) == (Outcome.REJECTED, 105, 5)
    assert [(c.option_id, c.votes, c.ballots) for c in result.counts] == [
        (YES, 50, 1),
        (NO, 55, 2),
        (ABSTAIN, 5, 1),
    ]
    unweighted = tally("p", motion(), ballots, present=4, members=4)
    assert (unweighted.outcome, unweighted.cast) == (Outcome.REJECTED, 3)


def test_a_proxy_vote_is_one_more_ballot() -> None:
    # Three present members, one of them holding an absent member's proxy: four ballots.
    own_and_proxy = [Ballot((YES,)), Ballot((YES,)), Ballot((NO,)), Ballot((NO,))]
    result = tally("p", motion(base=Base.PRESENT), own_and_proxy, present=4, members=5)
    assert (result.ballots, result.base, result.outcome) == (4, 4, Outcome.REJECTED)


# --- single choice -----------------------------------------------------------------------


def test_single_choice_needs_a_majority_of_votes_cast() -> None:
    spec = choice(PollKind.SINGLE)
    won = tally("p", spec, [Ballot(("c1",))] * 6 + [Ballot(("c2",))] * 4, present=10, members=10)
    assert (won.outcome, won.winners) == (Outcome.DECIDED, ("c1",))
    split = [Ballot(("c1",))] * 4 + [Ballot(("c2",))] * 3 + [Ballot(("c3",))] * 3
    none = tally("p", spec, split, present=10, members=10)
    assert (none.outcome, none.winners, none.required) == (Outcome.NO_DECISION, (), 6)


def test_single_choice_blank_ballots_are_abstentions() -> None:
    spec = choice(PollKind.SINGLE)
    ballots = [Ballot(("c1",))] * 4 + [Ballot(("c2",))] * 3 + [Ballot(())] * 5
    result = tally("p", spec, ballots, present=12, members=12)
    assert (result.outcome, result.abstentions, result.cast) == (Outcome.DECIDED, 5, 7)
    counted = replace(spec, rule=PollRule(abstentions=Abstentions.COUNTED))
    assert tally("p", counted, ballots, present=12, members=12).outcome is Outcome.NO_DECISION


def test_single_choice_plurality_and_its_ties() -> None:
    spec = choice(PollKind.SINGLE, rule=PollRule(Majority.PLURALITY))
    ballots = [Ballot(("c1",))] * 4 + [Ballot(("c2",))] * 3 + [Ballot(("c3",))] * 3
    assert tally("p", spec, ballots, present=10, members=10).winners == ("c1",)
    tied = [Ballot(("c1",))] * 3 + [Ballot(("c2",))] * 3 + [Ballot(("c3",))] * 2
    fails = tally("p", spec, tied, present=8, members=8)
    assert (fails.outcome, fails.tied) == (Outcome.NO_DECISION, ("c1", "c2"))
    chair = replace(spec, rule=PollRule(Majority.PLURALITY, tie=Tie.CHAIR))
    assert tally("p", chair, tied, present=8, members=8).outcome is Outcome.TIE
    decided = tally("p", chair, tied, present=8, members=8, casting=["c2"])
    assert (decided.winners, decided.decided_by) == (("c2",), "chair")
    lot = replace(spec, rule=PollRule(Majority.PLURALITY, tie=Tie.LOT))
    drawn = tally("p", lot, tied, present=8, members=8)
    assert drawn.decided_by == "lot" and drawn.winners[0] in ("c1", "c2")
    again = tally("p", lot, list(reversed(tied)), present=8, members=8)
    assert again.winners == drawn.winners  # the draw depends on the ballots, not their order
    expected = lot_order(ballots_seed("p", tied), ["c1", "c2"])[0]
    assert drawn.winners == (expected,)


# --- multiple choice ---------------------------------------------------------------------


def test_multiple_choice_adopts_every_option_with_the_required_votes() -> None:
    spec = choice(PollKind.MULTIPLE, min_choices=1, max_choices=3)
    ballots = [Ballot(("c1", "c2"))] * 5 + [Ballot(("c1", "c3", "c4"))] * 3 + [Ballot(("c2",))] * 2
    result = tally("p", spec, ballots, present=10, members=10)
    # base = 10 ballots cast; more than half = 6
    assert result.required == 6
    assert result.winners == ("c1", "c2")  # 8 and 7; c3 and c4 have 3
    assert [c.votes for c in result.counts] == [8, 7, 3, 3, 0]


def test_multiple_choice_two_thirds_of_members() -> None:
    spec = choice(
        PollKind.MULTIPLE,
        max_choices=2,
        rule=PollRule(Majority.TWO_THIRDS, Base.MEMBERS),
    )
    ballots = [Ballot(("c1", "c2"))] * 10 + [Ballot(("c1",))] * 4 + [Ballot(())] * 2
    result = tally("p", spec, ballots, present=16, members=20)
    assert (result.required, result.winners) == (14, ("c1",))


# --- elections ---------------------------------------------------------------------------


def election(**rule: object) -> PollSpec:
    return choice(PollKind.ELECTION, seats=2, rule=PollRule(**rule))  # type: ignore[arg-type]


def test_election_of_two_by_plurality() -> None:
    ballots = [Ballot(("c1", "c2"))] * 4 + [Ballot(("c3", "c2"))] * 3 + [Ballot(("c4",))] * 2
    result = tally("p", election(majority=Majority.PLURALITY), ballots, present=9, members=9)
    assert (result.outcome, result.winners) == (Outcome.DECIDED, ("c2", "c1"))


def test_election_tie_on_the_last_seat() -> None:
    ballots = [Ballot(("c1", "c2"))] * 4 + [Ballot(("c1", "c3"))] * 4 + [Ballot(("c4",))]
    fails = tally("p", election(majority=Majority.PLURALITY), ballots, present=9, members=9)
    assert (fails.winners, fails.tied, fails.outcome) == (("c1",), ("c2", "c3"), Outcome.DECIDED)
    chair = election(majority=Majority.PLURALITY, tie=Tie.CHAIR)
    pending = tally("p", chair, ballots, present=9, members=9)
    assert (pending.outcome, pending.winners) == (Outcome.TIE, ("c1",))
    with pytest.raises(CastingError, match="must choose 1 of: c2, c3"):
        tally("p", chair, ballots, present=9, members=9, casting=["c2", "c3"])
    decided = tally("p", chair, ballots, present=9, members=9, casting=["c3"])
    assert decided.winners == ("c1", "c3")
    lot = election(majority=Majority.PLURALITY, tie=Tie.LOT)
    drawn = tally("p", lot, ballots, present=9, members=9)
    assert drawn.winners[0] == "c1" and drawn.winners[1] in ("c2", "c3")


def test_election_with_a_majority_rule_leaves_seats_open() -> None:
    ballots = [Ballot(("c1", "c2"))] * 5 + [Ballot(("c3", "c4"))] * 4
    result = tally("p", election(), ballots, present=9, members=9)
    # more than half of 9 ballots = 5: c1 and c2 are elected, nobody else qualifies
    assert result.winners == ("c1", "c2")
    thin = [Ballot(("c1", "c2"))] * 4 + [Ballot(("c3", "c4"))] * 4 + [Ballot(("c1",))]
    partial = tally("p", election(), thin, present=9, members=9)
    assert (partial.winners, partial.outcome) == (("c1",), Outcome.DECIDED)


def test_weighted_election() -> None:
    spec = replace(election(majority=Majority.PLURALITY), weighted=True)
    ballots = [Ballot(("c1",), 10), Ballot(("c2", "c3"), 4), Ballot(("c3",), 3)]
    assert tally("p", spec, ballots, present=17, members=17).winners == ("c1", "c3")


# --- ballots and specs -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "choices", "problem"),
    [
        (motion(), (), "choose one of yes, no or abstain"),
        (motion(), (YES, NO), "choose one of yes, no or abstain"),
        (motion(), ("maybe",), "'maybe' is not an option"),
        (choice(PollKind.SINGLE), ("c1", "c2"), "at most 1"),
        (choice(PollKind.MULTIPLE, min_choices=2, max_choices=3), ("c1",), "at least 2"),
        (choice(PollKind.MULTIPLE, min_choices=2, max_choices=3), (), "at least 2"),
        (choice(PollKind.MULTIPLE, max_choices=3), ("c1", "c1"), "more than once"),
        (choice(PollKind.ELECTION, seats=2), ("c1", "c2", "c3"), "at most 2"),
    ],
)
def test_invalid_choices(spec: PollSpec, choices: tuple[str, ...], problem: str) -> None:
    found = choice_problem(spec, choices)
    assert found is not None and problem in found


def test_valid_choices() -> None:
    assert choice_problem(motion(), (ABSTAIN,)) is None
    assert choice_problem(choice(PollKind.SINGLE), ()) is None  # blank
    assert choice_problem(choice(PollKind.ELECTION, seats=3), ("c1", "c5")) is None


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        (PollSpec(" ", PollKind.YES_NO), "needs a title"),
        (PollSpec("x", PollKind.SINGLE, CANDIDATES[:1]), "at least two options"),
        (PollSpec("x", PollKind.YES_NO, rule=PollRule(Majority.PLURALITY)), "plurality"),
        (PollSpec("x", PollKind.MULTIPLE, CANDIDATES, rule=PollRule(tie=Tie.LOT)), "lots"),
        (PollSpec("x", PollKind.YES_NO, secret=True, allow_change=True), "secret poll cannot"),
        (PollSpec("x", PollKind.ELECTION, CANDIDATES[:2], seats=2), "needs more than 2"),
        (
            PollSpec("x", PollKind.MULTIPLE, CANDIDATES, min_choices=4, max_choices=3),
            "min_choices (4) is more than max_choices (3)",
        ),
        (
            PollSpec("x", PollKind.SINGLE, (PollOption("abstain", "Abstain"), *CANDIDATES)),
            "reserved",
        ),
        (PollSpec("x", PollKind.SINGLE, (CANDIDATES[0], CANDIDATES[0])), "unique"),
    ],
)
def test_spec_problems(spec: PollSpec, problem: str) -> None:
    assert any(problem in p for p in spec_problems(normalised(spec)))


# --- quorum ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "members", "counted", "fixed", "required", "met"),
    [
        (QuorumRule.NONE, 15, 0, None, 0, True),
        (QuorumRule.MAJORITY, 15, 8, None, 8, True),
        (QuorumRule.MAJORITY, 16, 8, None, 9, False),
        (QuorumRule.TWO_THIRDS, 15, 10, None, 10, True),
        (QuorumRule.TWO_THIRDS, 16, 10, None, 11, False),
        (QuorumRule.FIXED, 15, 5, 6, 6, False),
        (QuorumRule.FIXED, 15, 6, 6, 6, True),
    ],
)
def test_quorum(
    rule: QuorumRule, members: int, counted: int, fixed: int | None, required: int, met: bool
) -> None:
    assert quorum(rule, members=members, counted=counted, fixed=fixed) == Quorum(required, met)
