"""The tablet's voting rules with plain values: no Qt, no room."""

from __future__ import annotations

import asyncio
from pathlib import Path

from room_client.connection import RoomConnection, RoomEndpoint
from room_client.timers import parse_time
from room_protocol.errors import ErrorCode
from room_protocol.messages import Role
from room_protocol.voting import (
    Abstentions,
    BallotRecorded,
    Base,
    CastBallot,
    CheckIn,
    Majority,
    NamedVote,
    OpenPoll,
    Outcome,
    Poll,
    PollKind,
    PollOption,
    PollResult,
    PollRule,
    PollSpec,
    PollsState,
    PollState,
    PublishPoll,
    QuorumRule,
    Receipt,
    Tie,
    normalised,
)
from tablet_client.polls import (
    Ballot,
    DraftPoll,
    Stage,
    ballot_slots,
    casting_places,
    choice_hint,
    choices_ready,
    closes_in,
    draft_spec,
    keep_roll_calls,
    outcome_text,
    panel_order,
    quorum_parts,
    refusal,
    rule_lines,
    spec_problem,
)
from tablet_client.session import capabilities
from tests.tablet_client.fed import MEETING, at, attendance

YES_NO = normalised(PollSpec("Motion", PollKind.YES_NO))
PICK = PollSpec(
    "Pick",
    PollKind.MULTIPLE,
    tuple(PollOption(f"o{i}", f"Option {i}") for i in range(1, 5)),
    min_choices=1,
    max_choices=2,
)


def receipt(ballot_id: str, seconds: float = 0, code: str = "AAAA") -> Receipt:
    return Receipt("p", "d1", ballot_id, code, at(seconds))


def test_a_ballot_goes_from_choice_to_receipt_and_keeps_a_named_choice() -> None:
    ballot = Ballot("p", "d1")
    ballot.choose(("yes",), ready=True)
    assert ballot.stage is Stage.REVIEWING
    ballot.choose((), ready=False)  # let go: nothing to cast
    assert ballot.stage is Stage.CHOOSING
    ballot.cast("b-0")
    assert (ballot.stage, ballot.ballot_id) == (Stage.CHOOSING, None)
    ballot.choose(("no",), ready=True)
    ballot.cast("b-1")
    assert (ballot.stage, ballot.ballot_id) == (Stage.SENDING, "b-1")
    ballot.recorded(receipt("b-1"))
    assert ballot.stage is Stage.RECORDED and ballot.voted == ("no",)
    ballot.recorded(receipt("b-1"))  # the same answer again (a resent ballot)
    assert ballot.stage is Stage.RECORDED and ballot.voted == ("no",)


def test_a_secret_ballot_forgets_its_choice_and_cannot_be_changed() -> None:
    ballot = Ballot("p", "d1", secret=True)
    ballot.choose(("yes",), ready=True)
    ballot.cast("b-1")
    ballot.recorded(receipt("b-1"))
    assert ballot.voted is None and ballot.choices == ()
    ballot.change_vote()
    assert ballot.stage is Stage.RECORDED


def test_a_dropped_ballot_is_resent_with_its_id_and_ends_at_its_receipt() -> None:
    ballot = Ballot("p", "d1")
    ballot.choose(("yes",), ready=True)
    ballot.cast("b-1")
    ballot.dropped()
    assert ballot.stage is Stage.UNCONFIRMED
    ballot.resent()
    assert (ballot.stage, ballot.ballot_id) == (Stage.SENDING, "b-1")
    ballot.dropped()
    ballot.recorded(receipt("b-1"))  # the answer came after all
    assert ballot.stage is Stage.RECORDED and ballot.voted == ("yes",)


def test_casting_offline_is_unconfirmed_at_once_and_a_refusal_lets_cast_or_choose_again() -> None:
    ballot = Ballot("p", "d1")
    ballot.choose(("yes",), ready=True)
    ballot.cast("b-1", connected=False)
    assert ballot.stage is Stage.UNCONFIRMED
    ballot.refused(ErrorCode.POLL_CLOSED)
    assert (ballot.stage, ballot.problem) == (Stage.REFUSED, "poll_closed")
    ballot.cast("b-2")  # the same choice again, as a new ballot
    assert (ballot.stage, ballot.ballot_id, ballot.choices) == (Stage.SENDING, "b-2", ("yes",))
    ballot.refused(ErrorCode.POLL_CLOSED)
    ballot.choose(("no",), ready=True)
    assert ballot.stage is Stage.REVIEWING and ballot.problem == ""


def test_receipts_restore_and_a_changed_vote_replaces_the_standing_one() -> None:
    ballot = Ballot("p", "d1")
    ballot.recorded(receipt("elsewhere", -60, "OLD"))  # from poll.receipts
    assert ballot.stage is Stage.RECORDED and ballot.voted is None
    ballot.change_vote()
    assert ballot.stage is Stage.CHOOSING and ballot.changing
    ballot.recorded(receipt("elsewhere", -60, "OLD"))  # listed again: the old vote stands
    assert ballot.stage is Stage.CHOOSING
    ballot.keep_vote()
    assert ballot.stage is Stage.RECORDED and ballot.receipt is not None
    ballot.change_vote()
    ballot.choose(("abstain",), ready=True)
    ballot.cast("b-2")
    ballot.recorded(receipt("elsewhere", -60, "OLD"))  # an older receipt meanwhile
    assert ballot.stage is Stage.SENDING
    ballot.recorded(receipt("b-2", 0, "NEW"))
    assert ballot.stage is Stage.RECORDED and ballot.receipt is not None
    assert (ballot.receipt.code, ballot.voted) == ("NEW", ("abstain",))
    ballot.recorded(receipt("elsewhere", -60, "OLD"))  # older than the one shown
    assert ballot.receipt.code == "NEW"


def test_whose_ballots_a_tablet_casts() -> None:
    poll = Poll("p", YES_NO, PollState.OPEN)
    slots = ballot_slots("d1", MEETING, attendance(("d1",), [("d3", "d1"), ("d2", "d1")]), poll)
    assert [(s.delegate_id, s.proxy, s.present) for s in slots] == [
        ("d1", False, True),
        ("d3", True, True),
        ("d2", True, True),
    ]
    # A giver who is present votes alone; a non-voting member has no ballot of their own.
    slots = ballot_slots("d1", MEETING, attendance(("d1", "d3"), [("d3", "d1")]), poll)
    assert [s.delegate_id for s in slots] == ["d1"]
    assert ballot_slots("chair", MEETING, attendance(("chair",)), poll) == []
    absent = ballot_slots("d1", MEETING, attendance(("d2",)), poll)
    assert [(s.delegate_id, s.present) for s in absent] == [("d1", False)]


def test_what_a_ballot_may_hold() -> None:
    assert choices_ready(YES_NO, ("abstain",), False)
    assert not choices_ready(YES_NO, (), True)  # yes/no abstains with its own button
    assert not choices_ready(PICK, (), False) and not choices_ready(PICK, (), True)
    assert choices_ready(PICK, ("o1", "o3"), False)
    assert not choices_ready(PICK, ("o1", "o2", "o3"), False)
    blank_ok = normalised(PollSpec("Pick one", PollKind.SINGLE, PICK.options))
    assert choices_ready(blank_ok, (), True) and not choices_ready(blank_ok, ("o9",), False)
    assert choice_hint(PICK, 1) == ("vote.hint_up_to", {"max": 2, "chosen": 1})
    exactly = PollSpec("Two", PollKind.MULTIPLE, PICK.options, min_choices=2, max_choices=2)
    assert choice_hint(exactly, 0) == ("vote.hint_exactly", {"count": 2, "chosen": 0})
    between = PollSpec("Some", PollKind.MULTIPLE, PICK.options, min_choices=2, max_choices=3)
    assert choice_hint(between, 0)[0] == "vote.hint_between"


def test_how_a_poll_is_decided_in_lines() -> None:
    assert rule_lines(YES_NO) == [
        ("vote.rule.simple.cast", {}),
        ("vote.rule.abstentions_excluded", {}),
    ]
    absolute = PollSpec("M", PollKind.YES_NO, rule=PollRule(Majority.ABSOLUTE, Base.CAST))
    assert rule_lines(absolute) == [("vote.rule.absolute.members", {})]
    counted = PollRule(Majority.TWO_THIRDS, Base.CAST, Abstentions.COUNTED, Tie.CHAIR)
    assert [
        key for key, _ in rule_lines(PollSpec("M", PollKind.YES_NO, rule=counted, weighted=True))
    ] == [
        "vote.rule.two_thirds.cast",
        "vote.rule.abstentions_counted",
        "vote.rule.tie_chair",
        "vote.rule.weighted",
    ]
    election = PollSpec(
        "E", PollKind.ELECTION, PICK.options, seats=2, rule=PollRule(Majority.PLURALITY)
    )
    assert rule_lines(election) == [("vote.rule.plurality_election", {"n": 2})]


def test_outcomes_and_the_casting_vote() -> None:
    def result(outcome: Outcome, **fields: object) -> PollResult:
        return PollResult("p", outcome, (), 0, 0, 0, 0, 0, **fields)  # type: ignore[arg-type]

    chair_tie = PollSpec("M", PollKind.YES_NO, rule=PollRule(tie=Tie.CHAIR))
    tie = result(Outcome.TIE, tied=("yes", "no"))
    assert outcome_text(chair_tie, tie, PollState.CLOSED)[0] == ("results.outcome_tie_chair", {})
    assert outcome_text(YES_NO, result(Outcome.ADOPTED, winners=("yes",)), PollState.PUBLISHED) == (
        ("results.outcome_adopted", {}),
        [],
    )
    decided = outcome_text(PICK, result(Outcome.DECIDED, winners=("o2",)), PollState.PUBLISHED)
    assert decided == (("results.outcome_decided", {}), [("vote.literal", {"text": "Option 2"})])
    election = PollSpec("E", PollKind.ELECTION, PICK.options, seats=3)
    assert casting_places(election, result(Outcome.TIE, winners=("o1",))) == 2
    assert casting_places(chair_tie, tie) == 1


def test_the_countdown_and_the_quorum_in_words() -> None:
    counting = Poll("p", YES_NO, PollState.OPEN, closes_at=at(30))
    assert closes_in(counting, parse_time(at(10)).timestamp()) == 20
    assert closes_in(counting, parse_time(at(40)).timestamp()) == 0
    assert closes_in(Poll("p", YES_NO, PollState.CLOSED, closes_at=at(30)), 0.0) is None
    parts, met = quorum_parts(attendance(("d1",), [("d3", "d1")], required=2))
    assert met and [key for key, _ in parts] == [
        "quorum.present",
        "quorum.by_proxy",
        "quorum.required",
        "quorum.met",
    ]
    parts, met = quorum_parts(attendance(("d1",), rule=QuorumRule.NONE, required=0))
    assert met and parts[-1] == ("quorum.no_rule", {})


def test_refusals_in_words() -> None:
    assert refusal(ErrorCode.NOT_PRESENT) == ("vote.error.not_present", {})
    assert refusal(ErrorCode.BAD_FIELD, "choose at most 2") == ("vote.error.bad_field", {})
    assert refusal(ErrorCode.BAD_FIELD, "needs two options", ballot=False) == (
        "error.refused",
        {"reason": "needs two options"},
    )
    assert refusal(ErrorCode.NO_QUORUM, ballot=False) == ("vote.error.no_quorum", {})
    assert refusal("busy", "try again") == ("error.refused", {"reason": "try again"})


def test_the_editor_makes_a_spec_and_finds_its_problems() -> None:
    draft = DraftPoll("  Chair  ", PollKind.SINGLE, ("Anna", "", " Bảo "))
    spec = draft_spec(draft)
    assert spec.title == "Chair" and [(o.id, o.label) for o in spec.options] == [
        ("o1", "Anna"),
        ("o2", "Bảo"),
    ]
    assert spec_problem(spec) is None
    assert spec_problem(draft_spec(DraftPoll("", PollKind.YES_NO))) == ("polls.problem.title", {})
    assert spec_problem(draft_spec(DraftPoll("T", PollKind.SINGLE, ("Anna",))))[0] == (  # type: ignore[index]
        "polls.problem.options"
    )
    assert spec_problem(draft_spec(DraftPoll("T", PollKind.SINGLE, ("A", "a")))) == (
        "polls.problem.duplicate",
        {},
    )
    election = draft_spec(DraftPoll("T", PollKind.ELECTION, ("A", "B"), seats=2))
    assert spec_problem(election) == ("polls.problem.seats", {"n": 2})
    secret = draft_spec(DraftPoll("T", PollKind.YES_NO, secret=True, allow_change=True))
    assert not secret.allow_change  # a secret poll never lets a vote be changed
    plurality = draft_spec(DraftPoll("T", PollKind.YES_NO, rule=PollRule(Majority.PLURALITY)))
    assert spec_problem(plurality) == ("polls.problem.plurality", {})


def test_the_panel_lists_open_polls_first_then_results_newest_first() -> None:
    def made(poll_id: str, state: PollState, published: float | None = None) -> Poll:
        when = at(published) if published is not None else None
        return Poll(poll_id, YES_NO, state, published_at=when)

    polls = [
        made("old", PollState.PUBLISHED, -600),
        made("new", PollState.PUBLISHED, -60),
        made("closed", PollState.CLOSED),
        made("open", PollState.OPEN),
    ]
    assert [p.id for p in panel_order(polls)] == ["open", "closed", "new", "old"]
    assert panel_order([]) == []


def test_roll_calls_the_room_leaves_out_later_are_kept() -> None:
    def counted(poll_id: str, *named: NamedVote) -> PollResult:
        return PollResult(poll_id, Outcome.ADOPTED, (), 1, 1, 0, 1, 1, named=named)

    roll_call = (NamedVote("d1", ("yes",), 1),)
    first = PollsState((), (counted("p1", *roll_call),))
    later = PollsState((), (counted("p1"), counted("p2", *roll_call)))
    kept = keep_roll_calls(first, later)
    assert [r.named for r in kept.results] == [roll_call, roll_call]
    assert keep_roll_calls(None, later) is later
    assert keep_roll_calls(PollsState(()), later) is later  # nothing to keep


def test_the_roles_may_run_what_the_protocol_allows() -> None:
    assert {CastBallot, CheckIn, OpenPoll, PublishPoll} <= capabilities(Role.CHAIR)
    clerk = capabilities(Role.CLERK)
    assert CheckIn in clerk and CastBallot in clerk and OpenPoll not in clerk
    assert CastBallot in capabilities(Role.DELEGATE)
    assert CastBallot not in capabilities(Role.OBSERVER)


async def test_a_receipt_answers_its_ballot_and_a_repeat_waits_for_the_same_answer(
    fed_room: Path,
) -> None:
    from tests.rooms import enroll_device

    heard: list[object] = []
    connection = RoomConnection(
        RoomEndpoint("room.test", 1), enroll_device(fed_room, "t"), on_message=heard.append
    )
    ballot = CastBallot("b-1", "p", "d1", ("yes",))
    first = asyncio.ensure_future(connection.request(ballot))
    again = asyncio.ensure_future(connection.request(ballot))  # "Send again"
    await asyncio.sleep(0)
    assert [r.op_id for r in connection.pending] == ["b-1"]  # one ballot in the outbox
    again.cancel()  # a caller giving up does not cancel the answer for the other
    await asyncio.sleep(0)
    answer = BallotRecorded("b-1", Receipt("p", "d1", "b-1", "CODE", at()))
    connection._receive(answer)
    assert await first == answer
    assert heard == [answer]  # and the tablet hears of the receipt
    assert not connection.pending
