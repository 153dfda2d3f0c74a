"""Rules of attendance and voting on the tablet, without Qt or sockets.

Whose ballots this tablet casts, what a ballot may hold, where each ballot stands on its
way to a receipt, how a poll is decided and what came out: plain values in, plain values
(or i18n keys with their arguments) out, so the controllers stay thin and these rules
are tested with plain values.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from room_client.timers import parse_time
from room_protocol.errors import ErrorCode
from room_protocol.messages import MeetingSnapshot
from room_protocol.voting import (
    ABSTAIN,
    NO,
    YES,
    AttendanceState,
    Base,
    Majority,
    Outcome,
    Poll,
    PollKind,
    PollOption,
    PollResult,
    PollRule,
    PollSpec,
    PollsState,
    PollState,
    QuorumRule,
    Receipt,
    Tie,
    normalised,
    spec_problems,
)
from tablet_client.i18n import Text
from tablet_client.session import NOT_CONNECTED

__all__ = [
    "Ballot",
    "BallotSlot",
    "DraftPoll",
    "Stage",
    "Text",
    "allows_blank",
    "ballot_slots",
    "casting_places",
    "choice_hint",
    "choices_ready",
    "closes_in",
    "draft_spec",
    "keep_roll_calls",
    "local_time",
    "needs_casting_vote",
    "option_label",
    "outcome_text",
    "panel_order",
    "quorum_parts",
    "refusal",
    "rule_lines",
    "spec_problem",
]


def local_time(iso_time: str, *, seconds: bool = True) -> str:
    """A time from the room in the tablet's time zone: ``HH:MM:SS`` (or ``HH:MM``)."""
    moment = parse_time(iso_time).astimezone()
    return moment.strftime("%H:%M:%S" if seconds else "%H:%M")


# --- whose ballots ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BallotSlot:
    """One vote this tablet may cast in a poll: the member's own, or an absent member's
    whose proxy the member holds."""

    poll_id: str
    delegate_id: str  # whose vote it is
    name: str
    proxy: bool  # cast for an absent member
    weight: int
    present: bool  # own vote: whether the member is checked in (proxies: always True)

    @property
    def key(self) -> tuple[str, str]:
        return self.poll_id, self.delegate_id


def ballot_slots(
    me: str, meeting: MeetingSnapshot | None, attendance: AttendanceState | None, poll: Poll
) -> list[BallotSlot]:
    """The ballots ``me`` casts in ``poll``: their own if they are a voting member, then
    one for each absent member whose proxy they hold (a present member votes alone)."""
    if meeting is None:
        return []
    present = {p.delegate_id for p in attendance.present} if attendance else set()
    slots = []
    member = meeting.member(me)
    if member is not None and member.voting:
        slots.append(BallotSlot(poll.id, me, member.name, False, member.weight, me in present))
    for proxy in attendance.proxies if attendance else ():
        if proxy.holder_id != me or proxy.giver_id in present or proxy.giver_id == me:
            continue
        giver = meeting.member(proxy.giver_id)
        if giver is not None:
            slots.append(
                BallotSlot(poll.id, giver.delegate_id, giver.name, True, giver.weight, True)
            )
    return slots


# --- a ballot on its way to a receipt -----------------------------------------------------


class Stage(StrEnum):
    CHOOSING = "choosing"
    REVIEWING = "reviewing"  # a whole choice, shown as "You vote: Yes" beside Cast vote
    SENDING = "sending"  # sent; waiting for poll.recorded
    UNCONFIRMED = "unconfirmed"  # the connection dropped before the answer
    RECORDED = "recorded"
    REFUSED = "refused"  # the room said no (``problem``); the member may choose again


@dataclass
class Ballot:
    """One member's ballot in one poll, from choosing to its receipt.

    ``ballot_id`` is the op_id the ballot travels with: sending it again (after a drop)
    keeps the id, so the room answers with the same receipt and counts it once. ``voted``
    is what the recorded vote was, when this tablet knows it; a secret ballot forgets its
    choices as soon as it is recorded.
    """

    poll_id: str
    delegate_id: str
    secret: bool = False
    stage: Stage = Stage.CHOOSING
    choices: tuple[str, ...] = ()  # being chosen, or on their way
    blank: bool = False  # a deliberate blank ballot (an abstention)
    ballot_id: str | None = None
    receipt: Receipt | None = None  # the vote that stands
    voted: tuple[str, ...] | None = None  # what the standing vote chose (None: unknown)
    problem: str = ""  # the error code of a refusal
    changing: bool = False  # choosing a vote to replace the recorded one

    def choose(self, choices: tuple[str, ...], *, blank: bool = False, ready: bool) -> None:
        """New choices, still editable; ``ready`` (a whole choice, see choices_ready) puts
        them under review, ready to be cast, and a choice made whole again after a
        refusal clears the refusal."""
        if self.stage in (Stage.CHOOSING, Stage.REVIEWING, Stage.REFUSED):
            self.choices, self.blank = choices, blank and not choices
            self.stage = Stage.REVIEWING if ready else Stage.CHOOSING
            self.problem = ""

    def cast(self, ballot_id: str, *, connected: bool = True) -> None:
        """The choice under review is cast: a new ballot with a new id goes out. After a
        refusal, the same choice may be cast again (as a new ballot)."""
        if self.stage is Stage.REFUSED and (self.choices or self.blank):
            self.stage = Stage.REVIEWING
        if self.stage is Stage.REVIEWING:
            self.ballot_id = ballot_id
            self.stage = Stage.SENDING if connected else Stage.UNCONFIRMED

    def dropped(self) -> None:
        if self.stage is Stage.SENDING:
            self.stage = Stage.UNCONFIRMED

    def resent(self) -> None:
        """Sent again with the same id (the Send again button, or the outbox)."""
        if self.stage is Stage.UNCONFIRMED and self.ballot_id is not None:
            self.stage = Stage.SENDING

    def recorded(self, receipt: Receipt) -> None:
        """The answer to this ballot, or a receipt the room listed for this member."""
        mine = receipt.ballot_id == self.ballot_id
        in_flight = self.stage in (Stage.SENDING, Stage.UNCONFIRMED)
        if (in_flight and not mine) or (self.changing and not in_flight):
            self._standing(receipt)  # an earlier vote; the new one is still to come
            return
        if self.receipt is not None and not mine and receipt.at < self.receipt.at:
            return  # older than the vote shown
        if mine and in_flight:
            self.voted = self.choices
        elif not mine:
            self.voted = None  # cast before a restart, or on another tablet
        self.ballot_id, self.receipt = receipt.ballot_id, receipt
        self.stage, self.problem, self.changing = Stage.RECORDED, "", False
        self.choices, self.blank = (), False
        if self.secret:
            self.voted = None

    def _standing(self, receipt: Receipt) -> None:
        if self.receipt is not None and receipt.ballot_id == self.receipt.ballot_id:
            return  # the vote that stands, listed again
        if self.receipt is None or receipt.at >= self.receipt.at:
            self.receipt, self.voted = receipt, None

    def refused(self, code: str) -> None:
        if self.stage in (Stage.SENDING, Stage.UNCONFIRMED):
            self.stage, self.problem = Stage.REFUSED, code

    def change_vote(self) -> None:
        """Choose again to replace the recorded vote (the poll allows it)."""
        if self.stage is Stage.RECORDED and not self.secret:
            self.stage, self.changing, self.problem = Stage.CHOOSING, True, ""
            self.choices = self.voted or ()

    def keep_vote(self) -> None:
        """Give up changing: the recorded vote stands."""
        editing = self.stage in (Stage.CHOOSING, Stage.REVIEWING, Stage.REFUSED)
        if self.changing and self.receipt is not None and editing:
            self.stage, self.changing, self.problem = Stage.RECORDED, False, ""
            self.ballot_id = self.receipt.ballot_id
            self.choices, self.blank = (), False


# --- what a ballot may hold -----------------------------------------------------------------


def allows_blank(spec: PollSpec) -> bool:
    """A blank ballot (an abstention) is allowed: an explicit "Abstain" is offered."""
    return spec.kind is not PollKind.YES_NO and spec.min_choices == 0


def choices_ready(spec: PollSpec, choices: tuple[str, ...], blank: bool) -> bool:
    """Whether these choices (or a deliberate blank ballot) can be submitted."""
    if blank:
        return allows_blank(spec) and not choices
    if spec.kind is PollKind.YES_NO:
        return len(choices) == 1 and choices[0] in (YES, NO, ABSTAIN)
    valid = {o.id for o in spec.options}
    if not choices or any(c not in valid for c in choices) or len(set(choices)) < len(choices):
        return False
    low = max(1, spec.min_choices)
    return low <= len(choices) <= spec.max_choices


def choice_hint(spec: PollSpec, chosen: int) -> Text:
    """What to choose, and how many are chosen (multiple choice and elections)."""
    low, high = spec.min_choices, spec.max_choices
    if spec.kind is PollKind.YES_NO:
        return "vote.hint_yes_no", {}
    if spec.kind is PollKind.SINGLE:
        return ("vote.hint_single_or_abstain" if low == 0 else "vote.hint_single"), {}
    if spec.kind is PollKind.ELECTION:
        key = "vote.hint_election" if low <= 1 else "vote.hint_election_at_least"
        return key, {"seats": spec.seats, "min": low, "chosen": chosen}
    if low == high:
        return "vote.hint_exactly", {"count": high, "chosen": chosen}
    if low <= 1:
        return "vote.hint_up_to", {"max": high, "chosen": chosen}
    return "vote.hint_between", {"min": low, "max": high, "chosen": chosen}


def option_label(spec: PollSpec, option_id: str) -> Text:
    """An option's label; yes, no and abstain in the tablet's language."""
    if spec.kind is PollKind.YES_NO and option_id in (YES, NO, ABSTAIN):
        return f"vote.option_{option_id}", {}
    for option in spec.options:
        if option.id == option_id:
            return "vote.literal", {"text": option.label}
    return "vote.literal", {"text": option_id}


# --- how it is decided ------------------------------------------------------------------------


def rule_lines(spec: PollSpec) -> list[Text]:
    """How ``spec`` is decided, in a few short lines."""
    rule = spec.rule
    lines: list[Text] = []
    if rule.majority is Majority.PLURALITY:
        if spec.kind is PollKind.ELECTION:
            lines.append(("vote.rule.plurality_election", {"n": spec.seats}))
        else:
            lines.append(("vote.rule.plurality", {}))
    else:
        base = Base.MEMBERS if rule.majority is Majority.ABSOLUTE else rule.base
        lines.append((f"vote.rule.{rule.majority.value}.{base.value}", {}))
        if spec.kind is PollKind.ELECTION:
            lines.append(("vote.rule.seats", {"seats": spec.seats}))
    if rule.base is Base.CAST and rule.majority not in (Majority.ABSOLUTE, Majority.PLURALITY):
        lines.append((f"vote.rule.abstentions_{rule.abstentions.value}", {}))
    if rule.tie is not Tie.FAILS:
        lines.append((f"vote.rule.tie_{rule.tie.value}", {}))
    if spec.weighted:
        lines.append(("vote.rule.weighted", {}))
    return lines


def outcome_text(spec: PollSpec, result: PollResult, state: PollState) -> tuple[Text, list[Text]]:
    """The outcome in words, and the winners' labels (choice polls and elections)."""
    winners = [option_label(spec, w) for w in result.winners]
    if result.outcome is Outcome.TIE:
        waiting = spec.rule.tie is Tie.CHAIR and state is not PollState.PUBLISHED
        return ("results.outcome_tie_chair" if waiting else "results.outcome_tie", {}), winners
    if result.outcome is Outcome.DECIDED:
        return ("results.outcome_decided", {}), winners
    return (f"results.outcome_{result.outcome.value}", {}), []  # "Adopted" says it all


def casting_places(spec: PollSpec, result: PollResult) -> int:
    """How many of the tied options the chair's casting vote must choose."""
    if spec.kind is PollKind.ELECTION:
        return max(1, spec.seats - len(result.winners))
    return 1


def needs_casting_vote(spec: PollSpec, result: PollResult | None) -> bool:
    return result is not None and result.outcome is Outcome.TIE and spec.rule.tie is Tie.CHAIR


def closes_in(poll: Poll, now: float | None) -> float | None:
    """Seconds until a running countdown closes ``poll`` (None: no countdown)."""
    if poll.state is not PollState.OPEN or poll.closes_at is None or now is None:
        return None
    return max(0.0, parse_time(poll.closes_at).timestamp() - now)


# --- refusals -----------------------------------------------------------------------------------

_BALLOT_REFUSALS = {
    ErrorCode.NOT_PRESENT: "vote.error.not_present",
    ErrorCode.ALREADY_VOTED: "vote.error.already_voted",
    ErrorCode.POLL_CLOSED: "vote.error.poll_closed",
    ErrorCode.BAD_FIELD: "vote.error.bad_field",
    ErrorCode.FORBIDDEN: "vote.error.forbidden",
    ErrorCode.NOT_FOUND: "vote.error.not_found",
    NOT_CONNECTED: "vote.error.not_connected",
}
_POLL_REFUSALS = {  # the chair's and clerk's requests: the rest keep the room's own words
    ErrorCode.NO_QUORUM: "vote.error.no_quorum",
    ErrorCode.BAD_STATE: "vote.error.bad_state",
    ErrorCode.NOT_FOUND: "vote.error.not_found",
    NOT_CONNECTED: "vote.error.not_connected",
}


def refusal(code: str, message: str = "", *, ballot: bool = True) -> Text:
    """Why the room refused a ballot (or, ``ballot=False``, a poll request), in words;
    a code without words of its own says the room's reason."""
    key = (_BALLOT_REFUSALS if ballot else _POLL_REFUSALS).get(code)
    if key is None:
        return "error.refused", {"reason": message or code}
    return key, {}


# --- attendance ---------------------------------------------------------------------------------


def quorum_parts(attendance: AttendanceState) -> tuple[list[Text], bool]:
    """The quorum indicator ("Present 12 / 15 · quorum 8 · met") and whether it is met."""
    parts: list[Text] = [
        ("quorum.present", {"present": attendance.present_members, "members": attendance.members})
    ]
    by_proxy = attendance.represented - attendance.present_members
    if by_proxy > 0 and attendance.proxies_count:
        parts.append(("quorum.by_proxy", {"count": by_proxy}))
    if attendance.rule is QuorumRule.NONE:
        parts.append(("quorum.no_rule", {}))
        return parts, True
    parts.append(("quorum.required", {"required": attendance.required}))
    parts.append(("quorum.met" if attendance.quorum_met else "quorum.not_met", {}))
    return parts, attendance.quorum_met


# --- the chair's poll editor --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftPoll:
    """What the chair typed into the poll editor."""

    title: str
    kind: PollKind
    options: tuple[str, ...] = ()  # labels, one per line
    min_choices: int = 0
    max_choices: int = 1
    seats: int = 1
    secret: bool = False
    allow_change: bool = False
    weighted: bool = False
    rule: PollRule = field(default_factory=PollRule)
    item_id: str | None = None


def draft_spec(draft: DraftPoll) -> PollSpec:
    """The PollSpec the editor describes (option ids ``o1``, ``o2``, ... in order)."""
    labels = [label.strip() for label in draft.options if label.strip()]
    options = tuple(PollOption(f"o{index}", label) for index, label in enumerate(labels, 1))
    spec = PollSpec(
        title=draft.title.strip(),
        kind=draft.kind,
        options=() if draft.kind is PollKind.YES_NO else options,
        min_choices=draft.min_choices,
        max_choices=max(1, draft.max_choices),
        seats=max(1, draft.seats),
        secret=draft.secret,
        allow_change=draft.allow_change and not draft.secret,
        weighted=draft.weighted,
        rule=draft.rule,
        item_id=draft.item_id,
    )
    return normalised(spec)


def spec_problem(spec: PollSpec) -> Text | None:
    """The first reason the editor's poll cannot be run, in words (None: it can)."""
    kind, labels = spec.kind, [o.label for o in spec.options]
    if not spec.title:
        return "polls.problem.title", {}
    if kind is not PollKind.YES_NO:
        if len(labels) < 2:
            return "polls.problem.options", {}
        if len({label.casefold() for label in labels}) < len(labels):
            return "polls.problem.duplicate", {}
    if kind is PollKind.MULTIPLE and spec.min_choices > spec.max_choices:
        return "polls.problem.min_max", {}
    if kind is PollKind.MULTIPLE and spec.max_choices > len(labels):
        return "polls.problem.max_options", {"n": len(labels)}
    if kind is PollKind.ELECTION and spec.seats >= len(labels):
        return "polls.problem.seats", {"n": spec.seats}
    if kind is PollKind.ELECTION and spec.min_choices > spec.seats:
        return "polls.problem.min_seats", {}
    if spec.rule.majority is Majority.PLURALITY and kind not in (
        PollKind.SINGLE,
        PollKind.ELECTION,
    ):
        return "polls.problem.plurality", {}
    if spec.rule.tie is Tie.LOT and kind not in (PollKind.SINGLE, PollKind.ELECTION):
        return "polls.problem.lot", {}
    problems = spec_problems(spec)
    if problems:  # a rule of the protocol this editor does not know in words yet
        return "error.refused", {"reason": problems[0]}
    return None


# --- the voting panel and the results ---------------------------------------------------------


def panel_order(polls: list[Poll]) -> list[Poll]:
    """Open polls first (the ballot a member must not miss), then closed ones, then the
    published results, the newest first."""
    rank = {PollState.OPEN: 0, PollState.CLOSED: 1, PollState.PUBLISHED: 2, PollState.DRAFT: 3}
    newest_first = sorted(polls, key=lambda p: p.published_at or p.closed_at or "", reverse=True)
    return sorted(newest_first, key=lambda p: rank[p.state])


def keep_roll_calls(before: PollsState | None, after: PollsState) -> PollsState:
    """``after``, with the roll calls that ``before`` had and the room no longer repeats
    (it sends the older ones only while they fit one message). How each member voted
    does not change once a poll is counted."""
    if before is None:
        return after
    known = {r.poll_id: r.named for r in before.results if r.named}
    if not known:
        return after
    results = tuple(
        replace(r, named=known[r.poll_id]) if not r.named and r.poll_id in known else r
        for r in after.results
    )
    return replace(after, results=results)
