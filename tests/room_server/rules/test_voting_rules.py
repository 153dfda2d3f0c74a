"""Who may vote with which ballot, proxies, quorum and poll opening, on plain values."""

from __future__ import annotations

import pytest

from room_protocol.errors import ErrorCode
from room_protocol.voting import (
    YES,
    PollKind,
    PollSpec,
    PollState,
    QuorumRule,
    Seating,
    normalised,
)
from room_server.rules import Refusal
from room_server.rules.attendance import (
    AttendanceSettings,
    Member,
    attendance_state,
    check_proxy,
    represented,
    wrong_seat,
)
from room_server.rules.ballots import check_ballot
from room_server.rules.polls import bases, check_open, countdown_wait

MEMBERS = {
    "d1": Member("d1", "Ana", "s1", True, 1),
    "d2": Member("d2", "Binh", "s2", True, 3),
    "d3": Member("d3", "Chi", "s3", True, 1),
    "obs": Member("obs", "Press", None, False, 1),
}
YES_NO = normalised(PollSpec("Budget", PollKind.YES_NO))


def ballot(**overrides: object) -> bool:
    values: dict[str, object] = {
        "state": PollState.OPEN,
        "spec": YES_NO,
        "member": MEMBERS["d1"],
        "delegate_id": "d1",
        "sender": "d1",
        "present": {"d1", "d2"},
        "holder_of": {"d3": "d1"}.get,
        "choices": (YES,),
        "voted": set(),
    }
    values.update(overrides)
    return check_ballot(**values)  # type: ignore[arg-type]


def refusal(**overrides: object) -> ErrorCode:
    with pytest.raises(Refusal) as caught:
        ballot(**overrides)
    return caught.value.code


def test_a_present_member_votes_once_and_for_a_proxy_giver_who_is_away() -> None:
    assert ballot() is False
    assert ballot(member=MEMBERS["d3"], delegate_id="d3") is False


def test_ballots_the_poll_does_not_accept() -> None:
    assert refusal(state=PollState.DRAFT) is ErrorCode.POLL_CLOSED
    assert refusal(state=PollState.CLOSED) is ErrorCode.POLL_CLOSED
    assert refusal(member=None, delegate_id="d9") is ErrorCode.NOT_FOUND
    assert refusal(member=MEMBERS["obs"], delegate_id="obs") is ErrorCode.FORBIDDEN
    assert refusal(present={"d2"}) is ErrorCode.NOT_PRESENT
    assert refusal(member=MEMBERS["d2"], delegate_id="d2", present={"d1"}) is ErrorCode.FORBIDDEN
    proxy_giver_here = {"d1", "d3"}
    assert (
        refusal(member=MEMBERS["d3"], delegate_id="d3", present=proxy_giver_here)
        is ErrorCode.BAD_STATE
    )
    assert refusal(choices=("maybe",)) is ErrorCode.BAD_FIELD
    assert refusal(voted={"d1"}) is ErrorCode.ALREADY_VOTED


def test_changing_a_vote_only_where_the_poll_allows_it_and_never_in_secret() -> None:
    changeable = YES_NO.__class__(**{**_fields(YES_NO), "allow_change": True})
    assert ballot(spec=changeable, voted={"d1"}) is True
    secret = YES_NO.__class__(**{**_fields(YES_NO), "allow_change": True, "secret": True})
    assert refusal(spec=secret, voted={"d1"}) is ErrorCode.ALREADY_VOTED


def _fields(spec: PollSpec) -> dict[str, object]:
    return {name: getattr(spec, name) for name in spec.__dataclass_fields__}


def test_proxies_have_no_chains_and_a_limit() -> None:
    check_proxy(MEMBERS, {}, "d3", "d1", max_proxies=1)
    with pytest.raises(Refusal, match="own proxy"):
        check_proxy(MEMBERS, {}, "d1", "d1", max_proxies=1)
    with pytest.raises(Refusal, match="voting members only"):
        check_proxy(MEMBERS, {}, "obs", "d1", max_proxies=1)
    with pytest.raises(Refusal, match="cannot hold another's"):
        check_proxy(MEMBERS, {"d1": "d2"}, "d3", "d1", max_proxies=1)
    with pytest.raises(Refusal, match="cannot be passed on"):
        check_proxy(MEMBERS, {"d3": "d1"}, "d1", "d2", max_proxies=2)
    with pytest.raises(Refusal, match="already holds 1 proxy; the limit is 1"):
        check_proxy(MEMBERS, {"d3": "d1"}, "d2", "d1", max_proxies=1)


def test_represented_and_the_quorum() -> None:
    here, by_proxy = represented(MEMBERS, {"d1", "obs"}, {"d3": "d1", "d2": "d9"})
    assert (here, by_proxy) == ({"d1"}, {"d3"})
    settings = AttendanceSettings(quorum=QuorumRule.MAJORITY, proxies_count=True)
    presence = {"d1": {"method": "pin", "since": "2026-12-07T09:00:00+00:00", "seat_id": "s2"}}
    state = attendance_state(settings, MEMBERS, presence, {"d3": "d1"}, {"d3": "package"})
    assert (state.members, state.present_members, state.represented) == (3, 1, 2)
    assert (state.required, state.quorum_met) == (2, True)
    assert state.present[0].wrong_seat  # Ana sits at Binh's seat
    uncounted = attendance_state(
        AttendanceSettings(quorum=QuorumRule.MAJORITY, proxies_count=False),
        MEMBERS,
        presence,
        {"d3": "d1"},
        {},
    )
    assert not uncounted.quorum_met


def test_wrong_seat_only_where_seats_are_assigned() -> None:
    assert wrong_seat(AttendanceSettings(), MEMBERS["d1"], "s2")
    assert not wrong_seat(AttendanceSettings(), MEMBERS["d1"], "s1")
    assert not wrong_seat(AttendanceSettings(seating=Seating.FREE), MEMBERS["d1"], "s2")


def test_opening_a_poll() -> None:
    settings = AttendanceSettings(quorum=QuorumRule.MAJORITY)
    inquorate = attendance_state(settings, MEMBERS, {}, {}, {})
    with pytest.raises(Refusal, match="quorum is not met"):
        check_open(PollState.DRAFT, [], inquorate, override=False)
    assert check_open(PollState.DRAFT, [], inquorate, override=True) is True
    with pytest.raises(Refusal, match="still open"):
        check_open(PollState.DRAFT, ["p1"], inquorate, override=True)
    with pytest.raises(Refusal, match="not a draft"):
        check_open(PollState.CLOSED, [], inquorate, override=True)


def test_countdown_and_bases() -> None:
    assert countdown_wait(closes_at_ts=1_000.0, now=990.5) == 9.5
    assert countdown_wait(closes_at_ts=1_000.0, now=1_010.0) == 0.0
    weighted = YES_NO.__class__(**{**_fields(YES_NO), "weighted": True})
    assert bases(YES_NO, MEMBERS, {"d1", "d2"}) == (2, 3)
    assert bases(weighted, MEMBERS, {"d1", "d2"}) == (4, 5)
