"""Messages of attendance and voting (protocol 3): check-in, proxies, quorum, polls,
ballots and results.

A ballot is a :class:`CastBallot` request whose ``op_id`` is the ballot id the tablet
made up. The server answers :class:`BallotRecorded` only after the ballot is committed
to disk; a ballot sent again with the same id gets the same receipt and is not counted
twice. Poll rules (:class:`PollRule`) are checked by :func:`spec_problems`, shared by the
package validator and the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from room_protocol.live import OP_ID, TIME, Request
from room_protocol.messages import (
    COUNT,
    ID_RE,
    IDENT,
    SHA256,
    TEXT,
    Message,
    Role,
    limits,
    register,
)

MAX_OPTIONS = 200
MAX_MEMBERS = 10_000
RECEIPT = limits(max_len=16)
HEAD_CHARS = 16  # hex digits of a signed head's hash on a receipt
HEAD_PREFIX = limits(pattern=re.compile(rf"(?:[0-9a-f]{{{HEAD_CHARS}}})?"))
FINGERPRINT_CHARS = 8  # hex digits of a head's hash shown in the room, in groups of 4
OPTION_IDS = limits(pattern=ID_RE, max_items=MAX_OPTIONS)


class PollKind(StrEnum):
    YES_NO = "yes_no"  # yes / no / abstain
    SINGLE = "single"  # one of the options
    MULTIPLE = "multiple"  # between min_choices and max_choices of the options
    ELECTION = "election"  # up to `seats` of the candidates; the `seats` best are elected


class Majority(StrEnum):
    PLURALITY = "plurality"  # the most votes (single choice and elections only)
    SIMPLE = "simple"  # more than half of the base
    ABSOLUTE = "absolute"  # more than half of all members (the base is always members)
    TWO_THIRDS = "two_thirds"  # at least two thirds of the base
    THREE_QUARTERS = "three_quarters"  # at least three quarters of the base


class Base(StrEnum):
    CAST = "cast"  # the votes cast
    PRESENT = "present"  # the members present (and represented) when the poll closed
    MEMBERS = "members"  # all members


class Abstentions(StrEnum):
    EXCLUDED = "excluded"  # abstentions are not votes cast: they do not count at all
    COUNTED = "counted"  # abstentions are votes cast: in the base, so they weigh like "no"


class Tie(StrEnum):
    FAILS = "fails"  # a tie decides nothing (a motion is rejected; a seat stays open)
    CHAIR = "chair"  # the chair's casting vote decides, when publishing
    LOT = "lot"  # drawn by lot, reproducibly, from the ballots (single choice, elections)


class PollState(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"


class Outcome(StrEnum):
    ADOPTED = "adopted"  # yes/no: the motion passed
    REJECTED = "rejected"
    DECIDED = "decided"  # choice polls and elections: see `winners`
    NO_DECISION = "no_decision"  # no option reached the required majority
    TIE = "tie"  # waits for the chair's casting vote


class Seating(StrEnum):
    ASSIGNED = "assigned"  # everyone has a seat; signing in elsewhere alerts the clerk
    FREE = "free"


class QuorumRule(StrEnum):
    NONE = "none"
    MAJORITY = "majority"  # more than half of the members
    TWO_THIRDS = "two_thirds"  # at least two thirds of the members
    FIXED = "fixed"  # at least `count` members


class CheckMethod(StrEnum):
    PIN = "pin"
    BADGE = "badge"
    CLERK = "clerk"  # the clerk checked the member in or out (no tablet)
    SIGN_OUT = "sign_out"  # the member signed out at the tablet


YES, NO, ABSTAIN = "yes", "no", "abstain"


# --- records ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PollOption:
    id: str = field(metadata=IDENT)
    label: str = field(metadata=TEXT)


@dataclass(frozen=True, slots=True)
class PollRule:
    majority: Majority = Majority.SIMPLE
    base: Base = Base.CAST
    abstentions: Abstentions = Abstentions.EXCLUDED
    tie: Tie = Tie.FAILS


@dataclass(frozen=True, slots=True)
class PollSpec:
    """What is asked and how it is decided. For ``yes_no`` the options are fixed
    (:func:`yes_no_options`)."""

    title: str = field(metadata=TEXT)
    kind: PollKind
    options: tuple[PollOption, ...] = field(default=(), metadata=limits(max_items=MAX_OPTIONS))
    min_choices: int = field(default=0, metadata=limits(minimum=0, maximum=MAX_OPTIONS))
    max_choices: int = field(default=1, metadata=limits(minimum=1, maximum=MAX_OPTIONS))
    seats: int = field(default=1, metadata=limits(minimum=1, maximum=MAX_OPTIONS))
    secret: bool = False
    allow_change: bool = False  # members may change their vote until the poll closes
    weighted: bool = False  # count each member's weight instead of one vote each
    rule: PollRule = PollRule()
    item_id: str | None = field(default=None, metadata=IDENT)  # the agenda item it decides


@dataclass(frozen=True, slots=True)
class Poll:
    id: str = field(metadata=IDENT)
    spec: PollSpec
    state: PollState
    voted: int = field(default=0, metadata=COUNT)  # members whose ballot is in
    opened_at: str | None = field(default=None, metadata=TIME)
    closes_at: str | None = field(default=None, metadata=TIME)  # a countdown is running
    closed_at: str | None = field(default=None, metadata=TIME)
    published_at: str | None = field(default=None, metadata=TIME)
    quorum_override: bool = False  # opened without quorum, on the chair's say-so


@dataclass(frozen=True, slots=True)
class OptionCount:
    option_id: str = field(metadata=IDENT)
    votes: int = field(metadata=COUNT)  # weighted when the poll is
    ballots: int = field(metadata=COUNT)  # members who chose it


@dataclass(frozen=True, slots=True)
class NamedVote:
    """One member's vote in a named (roll-call) poll."""

    delegate_id: str = field(metadata=IDENT)
    choices: tuple[str, ...] = field(metadata=OPTION_IDS)
    weight: int = field(metadata=COUNT)
    cast_by: str | None = field(default=None, metadata=IDENT)  # the proxy holder, if any


@dataclass(frozen=True, slots=True)
class PollResult:
    poll_id: str = field(metadata=IDENT)
    outcome: Outcome
    counts: tuple[OptionCount, ...] = field(metadata=limits(max_items=MAX_OPTIONS))
    ballots: int = field(metadata=COUNT)  # members who voted, abstentions and blanks included
    cast: int = field(metadata=COUNT)  # votes cast as the rule counts them
    abstentions: int = field(metadata=COUNT)  # abstentions and blank ballots (weighted)
    base: int = field(metadata=COUNT)  # what the majority is measured against
    required: int = field(metadata=COUNT)  # votes an option needs (0: plurality)
    winners: tuple[str, ...] = field(default=(), metadata=OPTION_IDS)
    tied: tuple[str, ...] = field(default=(), metadata=OPTION_IDS)
    decided_by: str = field(default="", metadata=limits(max_len=16))  # "", "chair", "lot"
    present: int = field(default=0, metadata=COUNT)  # members present or represented
    members: int = field(default=0, metadata=COUNT)
    named: tuple[NamedVote, ...] = field(default=(), metadata=limits(max_items=MAX_MEMBERS))


@dataclass(frozen=True, slots=True)
class Presence:
    delegate_id: str = field(metadata=IDENT)
    method: CheckMethod
    since: str = field(metadata=TIME)
    seat_id: str | None = field(default=None, metadata=IDENT)
    wrong_seat: bool = False


@dataclass(frozen=True, slots=True)
class Proxy:
    giver_id: str = field(metadata=IDENT)  # the absent member
    holder_id: str = field(metadata=IDENT)  # who votes for them
    source: str = field(default="package", metadata=limits(max_len=16))  # package | clerk


@dataclass(frozen=True, slots=True)
class Receipt:
    """A recorded ballot: shown to the delegate as proof it was counted."""

    poll_id: str = field(metadata=IDENT)
    delegate_id: str = field(metadata=IDENT)  # whose ballot (the voter or the absent member)
    ballot_id: str = field(metadata=OP_ID)
    code: str = field(metadata=RECEIPT)  # the start of the audit entry's hash
    at: str = field(metadata=TIME)
    # The room's latest signed audit head when the ballot was recorded (0, "": none yet).
    head_seq: int = field(default=0, metadata=COUNT)
    head: str = field(default="", metadata=HEAD_PREFIX)  # the start of its hash


# --- requests ----------------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class CheckIn(Request):
    """The clerk checks in (or out) a member who has no tablet."""

    TYPE: ClassVar[str] = "attendance.check_in"
    delegate_id: str = field(metadata=IDENT)
    present: bool = True


@register
@dataclass(frozen=True, slots=True)
class SetProxy(Request):
    """The clerk gives ``giver_id``'s proxy to ``holder_id`` (None: takes it back)."""

    TYPE: ClassVar[str] = "attendance.set_proxy"
    giver_id: str = field(metadata=IDENT)
    holder_id: str | None = field(default=None, metadata=IDENT)


@register
@dataclass(frozen=True, slots=True)
class CreatePoll(Request):
    """A new draft poll; the tablet makes up its id. ``template_id``: start from a
    template of the package (its rule and settings; ``spec`` gives title and options)."""

    TYPE: ClassVar[str] = "poll.create"
    poll_id: str = field(metadata=IDENT)
    spec: PollSpec
    template_id: str | None = field(default=None, metadata=IDENT)


@register
@dataclass(frozen=True, slots=True)
class OpenPoll(Request):
    TYPE: ClassVar[str] = "poll.open"
    poll_id: str = field(metadata=IDENT)
    override_quorum: bool = False  # open even though the quorum is not met (recorded)
    close_after_seconds: int = field(default=0, metadata=limits(minimum=0, maximum=86_400))


@register
@dataclass(frozen=True, slots=True)
class ClosePoll(Request):
    """Close now, or (``after_seconds``) start a countdown that closes it."""

    TYPE: ClassVar[str] = "poll.close"
    poll_id: str = field(metadata=IDENT)
    after_seconds: int = field(default=0, metadata=limits(minimum=0, maximum=86_400))


@register
@dataclass(frozen=True, slots=True)
class PublishPoll(Request):
    """Show the result to everyone; ``casting`` is the chair's casting vote on a tie."""

    TYPE: ClassVar[str] = "poll.publish"
    poll_id: str = field(metadata=IDENT)
    casting: tuple[str, ...] = field(default=(), metadata=OPTION_IDS)


@register
@dataclass(frozen=True, slots=True)
class CastBallot(Request):
    """A ballot; ``op_id`` is its id. ``delegate_id`` is whose vote it is: the voter's
    own, or an absent member's whose proxy the voter holds."""

    TYPE: ClassVar[str] = "poll.cast"
    poll_id: str = field(metadata=IDENT)
    delegate_id: str = field(metadata=IDENT)
    choices: tuple[str, ...] = field(metadata=OPTION_IDS, repr=False)


# --- server to tablets -------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class AttendanceState(Message):
    """Who is present, who holds whose proxy, and the quorum. Sent to every tablet."""

    TYPE: ClassVar[str] = "attendance.state"
    present: tuple[Presence, ...] = field(metadata=limits(max_items=MAX_MEMBERS))
    proxies: tuple[Proxy, ...] = field(metadata=limits(max_items=MAX_MEMBERS))
    members: int = field(metadata=COUNT)  # voting members on the roster
    present_members: int = field(metadata=COUNT)
    represented: int = field(metadata=COUNT)  # present + absent members whose proxy is here
    required: int = field(metadata=COUNT)  # for quorum (0: no quorum rule)
    quorum_met: bool
    rule: QuorumRule
    seating: Seating
    proxies_count: bool = True  # whether represented members count toward the quorum


@register
@dataclass(frozen=True, slots=True)
class PollsState(Message):
    """The meeting's polls. Results are in once published (the chair and clerks see them
    from closing on)."""

    TYPE: ClassVar[str] = "poll.state"
    polls: tuple[Poll, ...] = field(metadata=limits(max_items=2_000))
    results: tuple[PollResult, ...] = field(default=(), metadata=limits(max_items=2_000))
    templates: tuple[str, ...] = field(default=(), metadata=limits(max_items=200))


@register
@dataclass(frozen=True, slots=True)
class PollProgress(Message):
    """How many ballots are in; to the chair, clerks and the room display while open."""

    TYPE: ClassVar[str] = "poll.progress"
    poll_id: str = field(metadata=IDENT)
    voted: int = field(metadata=COUNT)
    eligible: int = field(metadata=COUNT)


@register
@dataclass(frozen=True, slots=True)
class BallotRecorded(Message):
    """The answer to a ballot: it is on disk. ``op_id`` is the ballot's id."""

    TYPE: ClassVar[str] = "poll.recorded"
    op_id: str = field(metadata=OP_ID)
    receipt: Receipt


@register
@dataclass(frozen=True, slots=True)
class Receipts(Message):
    """Every ballot recorded for this tablet's member (and the proxies they hold) in the
    meeting; sent after sign-in and reconnect."""

    TYPE: ClassVar[str] = "poll.receipts"
    receipts: tuple[Receipt, ...] = field(metadata=limits(max_items=10_000))


@register
@dataclass(frozen=True, slots=True)
class AuditHead(Message):
    """The audit chain's head as the room last signed it (sent whenever it signs one,
    and after ``welcome``). Tablets and the room display show its fingerprint, so the
    people in the room witness which chain the room had signed."""

    TYPE: ClassVar[str] = "audit.head"
    seq: int = field(metadata=COUNT)  # the entry the head is at
    head: str = field(metadata=SHA256)  # that entry's hash
    at: str = field(metadata=TIME)  # when it was signed
    reason: str = field(metadata=TEXT)  # why: "poll.closed p1", "periodic", ...


def fingerprint(head: str) -> str:
    """A head's short fingerprint as shown in the room: ``3F9A C21B``."""
    digits = head[:FINGERPRINT_CHARS].upper()
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


# --- rules -------------------------------------------------------------------------------

ALLOWED: dict[type[Request], frozenset[Role]] = {
    CheckIn: frozenset({Role.CHAIR, Role.CLERK}),
    SetProxy: frozenset({Role.CHAIR, Role.CLERK}),
    CreatePoll: frozenset({Role.CHAIR, Role.CLERK}),
    OpenPoll: frozenset({Role.CHAIR}),
    ClosePoll: frozenset({Role.CHAIR}),
    PublishPoll: frozenset({Role.CHAIR}),
    # Voting membership (the roster's `voting` flag) is checked by the server, not the role.
    CastBallot: frozenset({Role.CHAIR, Role.CLERK, Role.DELEGATE}),
}


def yes_no_options() -> tuple[PollOption, ...]:
    return (PollOption(YES, "Yes"), PollOption(NO, "No"), PollOption(ABSTAIN, "Abstain"))


def normalised(spec: PollSpec) -> PollSpec:
    """The spec as the server keeps it: fixed options and choice counts for yes/no and
    single choice, ``absolute`` always measured against the members."""
    from dataclasses import replace

    if spec.kind is PollKind.YES_NO:
        spec = replace(spec, options=yes_no_options(), min_choices=1, max_choices=1, seats=1)
    elif spec.kind is PollKind.SINGLE:
        spec = replace(spec, min_choices=min(spec.min_choices, 1), max_choices=1, seats=1)
    elif spec.kind is PollKind.ELECTION:
        spec = replace(spec, max_choices=spec.seats)
    if spec.rule.majority is Majority.ABSOLUTE and spec.rule.base is not Base.MEMBERS:
        spec = replace(spec, rule=replace(spec.rule, base=Base.MEMBERS))
    return spec


def spec_problems(spec: PollSpec) -> list[str]:
    """Why this poll cannot be run as written (empty: it can). Checks a normalised spec."""
    problems: list[str] = []
    if not spec.title.strip():
        problems.append("a poll needs a title")
    ids = [o.id for o in spec.options]
    if len(set(ids)) != len(ids):
        problems.append("option ids must be unique")
    if any(not o.label.strip() for o in spec.options):
        problems.append("every option needs a label")
    kind, rule = spec.kind, spec.rule
    if kind is not PollKind.YES_NO:
        if len(spec.options) < 2:
            problems.append(f"a {kind.value} poll needs at least two options")
        if ABSTAIN in ids:
            problems.append('"abstain" is a reserved option id: a blank ballot is an abstention')
    if kind is PollKind.MULTIPLE:
        if spec.max_choices > len(spec.options):
            problems.append(
                f"max_choices ({spec.max_choices}) is more than the {len(spec.options)} options"
            )
        if spec.min_choices > spec.max_choices:
            problems.append(
                f"min_choices ({spec.min_choices}) is more than max_choices ({spec.max_choices})"
            )
    if kind is PollKind.ELECTION:
        if spec.seats >= len(spec.options):
            problems.append(f"an election of {spec.seats} needs more than {spec.seats} candidates")
        if spec.min_choices > spec.seats:
            problems.append(f"min_choices ({spec.min_choices}) is more than seats ({spec.seats})")
    if rule.majority is Majority.PLURALITY and kind not in (PollKind.SINGLE, PollKind.ELECTION):
        problems.append("plurality (the most votes) decides only single-choice polls and elections")
    if rule.tie is Tie.LOT and kind not in (PollKind.SINGLE, PollKind.ELECTION):
        problems.append("drawing lots breaks ties only in single-choice polls and elections")
    if spec.secret and spec.allow_change:
        problems.append(
            "a secret poll cannot let members change their vote: replacing a ballot needs a "
            "link from the voter to the ballot, which a secret poll must not keep"
        )
    return problems
