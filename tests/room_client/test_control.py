"""The control session's rules with plain messages: no socket, no loop, no clock."""

from __future__ import annotations

import itertools

from room_client.control import ControlSession, Received
from room_protocol.errors import ErrorCode
from room_protocol.live import Ack, Announcement, RequestFloor, SignedIn, SignedOut, WithdrawFloor
from room_protocol.messages import (
    ErrorMessage,
    MeetingRoster,
    MeetingSnapshot,
    MeetingState,
    Role,
    RosterEntry,
    roster_id,
)
from room_protocol.voting import BallotRecorded, CastBallot, Receipt

AT = "2026-11-21T09:00:00.000+00:00"


def session() -> ControlSession:
    prefixes = (f"t{n}" for n in itertools.count(1))
    return ControlSession(prefix=lambda: next(prefixes))


def test_op_ids_are_unique_and_counted() -> None:
    s = session()
    assert [s.new_op_id() for _ in range(3)] == ["t1-1", "t2-2", "t3-3"]
    one, other = ControlSession(), ControlSession()  # two tablets: random prefixes
    assert one.new_op_id() != other.new_op_id()


def test_requests_wait_until_answered_and_go_out_again_oldest_first() -> None:
    s = session()
    floor, withdraw, ballot = (
        RequestFloor("a"),
        WithdrawFloor("b"),
        CastBallot("c", "p1", "d1", ("yes",)),
    )
    assert s.submit(floor) and s.submit(withdraw) and s.submit(ballot)
    assert s.pending == [floor, withdraw, ballot]  # what a reconnect sends, in this order
    assert s.receive(Ack("b")) == Received(answered=withdraw)
    assert s.pending == [floor, ballot]
    assert not s.is_pending("b") and s.is_pending("a")


def test_a_repeat_keeps_its_place_and_is_answered_once() -> None:
    s = session()
    first, second = RequestFloor("a"), WithdrawFloor("b")
    s.submit(first)
    s.submit(second)
    assert not s.submit(RequestFloor("a"))  # the same op_id sent again
    assert s.pending == [first, second]
    assert s.receive(Ack("a")).answered == first
    assert s.receive(Ack("a")) == Received()  # a late duplicate answers nothing


def test_an_error_answers_the_request_it_refers_to() -> None:
    s = session()
    request = RequestFloor("a")
    s.submit(request)
    refused = ErrorMessage(ErrorCode.NOT_FOUND, "no such item", ref="a")
    assert s.receive(refused) == Received(answered=request)
    assert s.pending == []
    # An error about nothing pending is neither an answer nor news.
    assert s.receive(ErrorMessage(ErrorCode.NOT_FOUND, "gone", ref="zz")) == Received()


def test_a_ballot_is_answered_by_its_receipt_which_is_news_too() -> None:
    s = session()
    ballot = CastBallot("b-1", "p1", "d1", ("yes",))
    s.submit(ballot)
    recorded = BallotRecorded("b-1", Receipt("p1", "d1", "b-1", "3F9A21C4B7", AT))
    assert s.receive(recorded) == Received(answered=ballot, news=recorded)
    assert s.latest["poll.recorded"] == recorded
    # A receipt for a ballot answered before (re-sent, answered late) is still news.
    assert s.receive(recorded) == Received(news=recorded)


def test_a_version_mismatch_not_answering_a_request_refuses_the_client() -> None:
    s = session()
    mismatch = ErrorMessage(ErrorCode.VERSION_MISMATCH, "the room speaks protocol 9")
    assert s.receive(mismatch) == Received(refused="the room speaks protocol 9")


def test_sign_in_gives_the_resume_token_and_sign_out_forgets_it() -> None:
    s = session()
    assert s.resume_token is None
    signed_in = SignedIn("d1", "Ana", Role.DELEGATE, "s1", "tok")
    assert s.receive(signed_in) == Received(news=signed_in)
    assert s.resume_token == "tok" and s.signed_in == signed_in
    s.receive(SignedOut("ended"))
    assert s.resume_token is None and s.signed_in is None


def test_state_is_kept_by_type_and_the_meeting_apart() -> None:
    s = session()
    note = Announcement("m1", "Lunch", "Chair", AT)
    assert s.receive(note) == Received(news=note)
    assert s.latest == {"message": note}
    assert s.receive(MeetingState(None)) == Received(meeting_changed=True)
    assert s.meeting is None and "meeting.state" not in s.latest


def test_a_request_over_the_rate_limit_stays_pending_to_go_again() -> None:
    session = ControlSession()
    request = RequestFloor(session.new_op_id())
    session.submit(request)
    throttled = session.receive(ErrorMessage("rate_limited", "too many", request.op_id))
    assert throttled == Received(throttled=request)
    assert session.is_pending(request.op_id)
    assert session.receive(Ack(request.op_id)) == Received(answered=request)
    assert not session.pending


def _members(*names: str) -> tuple[RosterEntry, ...]:
    return tuple(RosterEntry(n.lower(), n, Role.DELEGATE, voting=True) for n in names)


def _meeting(roster: tuple[RosterEntry, ...], item: str) -> MeetingSnapshot:
    """A meeting as the room sends it: the roster named, not included."""
    return MeetingSnapshot(
        "m1", "Plenary", "2026-12-07", "Hall", 1, (), (), item, roster_id=roster_id(roster)
    )


def test_the_meeting_is_given_the_roster_its_state_names() -> None:
    s = session()
    first = _members("An", "Binh")
    assert s.receive(MeetingRoster(roster_id(first), first)) == Received()  # no meeting yet
    assert s.receive(MeetingState(_meeting(first, "opening"))) == Received(meeting_changed=True)
    assert s.meeting is not None and s.meeting.roster == first
    # An agenda move names the same roster: the members stay.
    s.receive(MeetingState(_meeting(first, "budget")))
    assert s.meeting.roster == first and s.meeting.current_item_id == "budget"
    # A new roster goes before the state naming it; the old meeting keeps its members.
    second = _members("An", "Binh", "Chi")
    assert s.receive(MeetingRoster(roster_id(second), second)) == Received()
    assert s.meeting.roster == first
    s.receive(MeetingState(_meeting(second, "budget")))
    assert s.meeting.roster == second


def test_a_roster_arriving_after_its_state_completes_the_meeting() -> None:
    s = session()
    members = _members("An")
    s.receive(MeetingState(_meeting(members, "opening")))
    assert s.meeting is not None and s.meeting.roster == ()  # not known yet
    assert s.receive(MeetingRoster(roster_id(members), members)) == Received(meeting_changed=True)
    assert s.meeting is not None and s.meeting.roster == members


def test_a_roster_id_names_the_members_in_order() -> None:
    members = _members("An", "Binh")
    assert roster_id(members) == roster_id(_members("An", "Binh"))
    assert roster_id(members) != roster_id(members[::-1])
    assert roster_id(members) != roster_id(_members("An", "Bình"))
