"""Counting votes and the quorum: pure functions over plain values, no I/O.

The rules, as the chair and delegate guides state them:

- *simple*: an option needs more than half of the base; *absolute*: more than half of all
  members; *two thirds* / *three quarters*: at least that share of the base; *plurality*:
  the most votes (single choice and elections only).
- The base is the votes cast (abstentions and blank ballots count as cast only when the
  poll says abstentions are *counted*), the members present or represented when the poll
  closed, or all members. Weighted polls count each member's weight, others one each.
- Yes/no: the motion is adopted when "yes" reaches the required votes. Yes equal to no
  is a tie. Single choice: the option with the most votes, if it reaches the required
  votes. Multiple choice: every option that reaches the required votes. Election of n:
  the n candidates with the most votes among those that reach the required votes.
- A tie that decides the outcome (yes = no; equal first places under plurality; equal
  candidates on the last seat) *fails* (nothing is decided by it), is decided by the
  chair's casting vote, or by lot: a reproducible draw seeded from the ballots.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from room_protocol.voting import (
    ABSTAIN,
    NO,
    YES,
    Abstentions,
    Base,
    Majority,
    OptionCount,
    Outcome,
    PollKind,
    PollResult,
    PollSpec,
    QuorumRule,
    Tie,
)


class CastingError(ValueError):
    """A casting vote that does not resolve the tie (wrong options or number)."""


@dataclass(frozen=True, slots=True)
class Ballot:
    choices: tuple[str, ...]  # option ids; () is a blank ballot
    weight: int = 1


def required_votes(majority: Majority, base: int) -> int:
    """Votes an option needs to reach ``majority`` of ``base`` (0: plurality)."""
    if majority is Majority.PLURALITY:
        return 0
    if majority in (Majority.SIMPLE, Majority.ABSOLUTE):
        return base // 2 + 1
    num, den = (2, 3) if majority is Majority.TWO_THIRDS else (3, 4)
    return max(1, -(-base * num // den))  # ceil; an empty base decides nothing


def choice_problem(spec: PollSpec, choices: Sequence[str]) -> str | None:
    """Why a ballot with these choices is not valid for the poll (None: it is)."""
    valid = {o.id for o in spec.options}
    unknown = [c for c in choices if c not in valid]
    if unknown:
        return f"{unknown[0]!r} is not an option of this poll"
    if len(set(choices)) != len(choices):
        return "an option is chosen more than once"
    if spec.kind is PollKind.YES_NO:
        return None if len(choices) == 1 else "choose one of yes, no or abstain"
    if not choices:
        if spec.min_choices == 0:
            return None
        return f"a blank ballot is not allowed here: choose at least {spec.min_choices}"
    if len(choices) < spec.min_choices:
        return f"choose at least {spec.min_choices}"
    if len(choices) > spec.max_choices:
        return f"choose at most {spec.max_choices}"
    return None


def lot_order(seed: bytes, option_ids: Sequence[str]) -> list[str]:
    """A reproducible draw: the options ordered by sha256(seed, option id)."""
    return sorted(option_ids, key=lambda o: hashlib.sha256(seed + b"\0" + o.encode()).digest())


def ballots_seed(poll_id: str, ballots: Sequence[Ballot]) -> bytes:
    """The lot's seed: every ballot of the poll, in a canonical order."""
    canonical = sorted(json.dumps([sorted(b.choices), b.weight]) for b in ballots)
    return hashlib.sha256(json.dumps([poll_id, canonical]).encode()).digest()


def tally(
    poll_id: str,
    spec: PollSpec,
    ballots: Sequence[Ballot],
    *,
    present: int,
    members: int,
    casting: Sequence[str] = (),
) -> PollResult:
    """The result of a closed poll. ``present`` and ``members`` are weights when the poll
    is weighted, head counts otherwise. ``casting`` resolves a tie the chair decides."""
    weight = (lambda b: b.weight) if spec.weighted else (lambda b: 1)
    votes = {o.id: 0 for o in spec.options}
    heads = {o.id: 0 for o in spec.options}
    abstaining = 0
    for ballot in ballots:
        blank = not ballot.choices or ballot.choices == (ABSTAIN,)
        if blank:
            abstaining += weight(ballot)
        for choice in ballot.choices:
            votes[choice] += weight(ballot)
            heads[choice] += 1
    total = sum(weight(b) for b in ballots)
    cast = total if spec.rule.abstentions is Abstentions.COUNTED else total - abstaining
    base = {Base.CAST: cast, Base.PRESENT: present, Base.MEMBERS: members}[spec.rule.base]
    required = required_votes(spec.rule.majority, base)
    counts = tuple(OptionCount(o.id, votes[o.id], heads[o.id]) for o in spec.options)
    result = _Decision(spec, votes, required, casting, ballots_seed(poll_id, ballots))
    if spec.kind is PollKind.YES_NO:
        result.yes_no()
    elif spec.kind is PollKind.MULTIPLE:
        result.each_on_its_own()
    else:
        result.best(1 if spec.kind is PollKind.SINGLE else spec.seats)
    return PollResult(
        poll_id=poll_id,
        outcome=result.outcome,
        counts=counts,
        ballots=len(ballots),
        cast=cast,
        abstentions=abstaining,
        base=base,
        required=required,
        winners=tuple(result.winners),
        tied=tuple(result.tied),
        decided_by=result.decided_by,
        present=present,
        members=members,
    )


class _Decision:
    def __init__(
        self,
        spec: PollSpec,
        votes: dict[str, int],
        required: int,
        casting: Sequence[str],
        seed: bytes,
    ) -> None:
        self.spec, self.votes, self.required = spec, votes, required
        self.casting, self.seed = tuple(casting), seed
        self.outcome = Outcome.NO_DECISION
        self.winners: list[str] = []
        self.tied: list[str] = []
        self.decided_by = ""
        if self.casting and spec.rule.tie is not Tie.CHAIR:
            raise CastingError("this poll's ties are not decided by the chair")

    def yes_no(self) -> None:
        yes, no = self.votes[YES], self.votes[NO]
        if yes >= self.required:
            self.outcome, self.winners = Outcome.ADOPTED, [YES]
        elif yes == no and yes > 0:
            self.tied = [YES, NO]
            self._break_tie(1, fallback=Outcome.REJECTED)
            if self.outcome is Outcome.DECIDED:
                self.outcome = Outcome.ADOPTED if self.winners == [YES] else Outcome.REJECTED
                self.winners = [YES] if self.outcome is Outcome.ADOPTED else []
        else:
            self.outcome = Outcome.REJECTED
        self._unused_casting()

    def each_on_its_own(self) -> None:
        self.winners = sorted(
            (o for o, v in self.votes.items() if v >= self.required),
            key=lambda o: -self.votes[o],
        )
        self.outcome = Outcome.DECIDED if self.winners else Outcome.NO_DECISION
        self._unused_casting()

    def best(self, places: int) -> None:
        plurality = self.spec.rule.majority is Majority.PLURALITY
        floor = 1 if plurality else self.required
        ranked = sorted(
            (o for o, v in self.votes.items() if v >= floor), key=lambda o: -self.votes[o]
        )
        if len(ranked) <= places:
            self.winners = ranked
        else:
            boundary = self.votes[ranked[places - 1]]
            self.winners = [o for o in ranked if self.votes[o] > boundary]
            level = [o for o in ranked if self.votes[o] == boundary]
            if len(self.winners) + len(level) <= places:
                self.winners += level
            else:
                self.tied = level
                before = list(self.winners)
                self._break_tie(places - len(before), fallback=Outcome.DECIDED)
                self.winners = before + self.winners
        if self.outcome is not Outcome.TIE:
            self.outcome = Outcome.DECIDED if self.winners else Outcome.NO_DECISION
        self._unused_casting()

    def _break_tie(self, places: int, *, fallback: Outcome) -> None:
        """Choose ``places`` of ``self.tied`` into ``self.winners`` (replacing it)."""
        rule = self.spec.rule.tie
        self.winners = []
        if rule is Tie.FAILS:
            self.outcome = fallback
        elif rule is Tie.LOT:
            self.winners = lot_order(self.seed, self.tied)[:places]
            self.outcome, self.decided_by = Outcome.DECIDED, "lot"
        elif not self.casting:
            self.outcome = Outcome.TIE
        else:
            if len(self.casting) != places or not set(self.casting) <= set(self.tied):
                names = ", ".join(self.tied)
                raise CastingError(f"the casting vote must choose {places} of: {names}")
            self.winners = list(self.casting)
            self.outcome, self.decided_by = Outcome.DECIDED, "chair"
            self.casting = ()

    def _unused_casting(self) -> None:
        if self.casting:
            raise CastingError("there is no tie to decide: publish without a casting vote")


# --- quorum ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Quorum:
    required: int  # 0: no quorum rule
    met: bool


def quorum(rule: QuorumRule, *, members: int, counted: int, fixed: int | None) -> Quorum:
    """``counted``: members present (plus those represented, where proxies count)."""
    if rule is QuorumRule.NONE:
        return Quorum(0, True)
    if rule is QuorumRule.MAJORITY:
        required = members // 2 + 1
    elif rule is QuorumRule.TWO_THIRDS:
        required = -(-members * 2 // 3)
    else:
        required = fixed or 0
    return Quorum(required, counted >= required)
