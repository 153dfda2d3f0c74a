"""Attendance, proxies, quorum and voting against a real room-server process, with real
TLS tablets (the tablet's own RoomConnection) and the real SQLite file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from room_protocol.live import Alert, SignIn, SignOut
from room_protocol.messages import ErrorMessage
from room_protocol.voting import (
    ABSTAIN,
    NO,
    YES,
    AttendanceState,
    BallotRecorded,
    CastBallot,
    CheckIn,
    CheckMethod,
    ClosePoll,
    CreatePoll,
    OpenPoll,
    Outcome,
    Poll,
    PollKind,
    PollOption,
    PollProgress,
    PollSpec,
    PollsState,
    PollState,
    PublishPoll,
    Receipts,
    SetProxy,
)
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom, room_cli, running_room, write_package

PINS = {
    "chair": "1111",
    "clerk": "3333",
    "d1": "2222",
    "d2": "4444",
    "d3": "6666",
    "d4": "7777",
    "d5": "8888",
    "obs": "5555",
}
SEATS = {"chair": "A1", "d1": "A2", "d2": "A3", "d3": "A4", "d4": "A5"}


@pytest.fixture
async def room(tmp_path: Path, voting_package_dir: Path) -> AsyncIterator[RunningRoom]:
    with running_room(tmp_path / "room", package=voting_package_dir, mdns=False) as running:
        yield running


async def tablet(room: RunningRoom, who: str | None, seat: str | None = None) -> Tablet:
    t = await Tablet(room, f"tab-{who or seat}", seat or SEATS.get(who or "")).start()
    if who is not None:
        await t.sign_in(who, PINS[who])
    return t


def attendance(t: Tablet) -> AttendanceState:
    states = t.of_type(AttendanceState)
    assert states, "no attendance.state yet"
    return states[-1]


def polls(t: Tablet) -> PollsState:
    return t.of_type(PollsState)[-1]


def venue(state: PollsState) -> Poll:
    return next(p for p in state.polls if p.id == "p-venue")


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def poll_state(t: Tablet, poll_id: str) -> PollState:
    return next(p.state for p in polls(t).polls if p.id == poll_id)


async def vote(t: Tablet, poll_id: str, member: str, *choices: str) -> BallotRecorded:
    reply = await t.do(CastBallot(t.op(), poll_id, member, tuple(choices)))
    assert isinstance(reply, BallotRecorded), reply
    return reply


async def refused_ballot(
    t: Tablet, poll_id: str, member: str, choices: tuple[str, ...], code: str, text: str
) -> None:
    reply = await t.do(CastBallot(t.op(), poll_id, member, choices))
    assert isinstance(reply, ErrorMessage), reply
    assert (reply.code, text in reply.message) == (code, True), reply


@contextlib.contextmanager
def db(room: RunningRoom) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(room.state_dir / "room.sqlite3")
    conn.row_factory = sqlite3.Row
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def audit_verify(room: RunningRoom) -> tuple[int, str]:
    result = room_cli(room.config, "audit", "verify")
    return result.returncode, result.stdout + result.stderr


# --- attendance ----------------------------------------------------------------------------


async def test_check_in_at_the_seat_by_the_clerk_and_check_out(room: RunningRoom) -> None:
    display = await tablet(room, None, "display")
    first = attendance(display)
    assert (first.members, first.present_members, first.required, first.quorum_met) == (
        5,
        0,
        3,
        False,
    )
    assert (first.present, first.proxies) == ((), ())  # the room display needs the counts
    clerk = await tablet(room, "clerk", "C1")
    await until(lambda: bool(attendance(clerk).proxies))
    assert [(p.giver_id, p.holder_id, p.source) for p in attendance(clerk).proxies] == [
        ("d5", "d1", "package")
    ]
    d1 = await Tablet(room, "tab-d1", "A2").start()
    await d1.ok(SignIn(d1.op(), badge="04A1B2C3"))
    d2 = await tablet(room, "d2", "A4")  # at d3's seat
    await until(lambda: attendance(display).present_members == 2)  # the clerk does not vote
    await until(lambda: attendance(clerk).present_members == 2)
    state = attendance(clerk)
    by_id = {p.delegate_id: p for p in state.present}
    # a delegate is told about their own check-in and the proxies they hold
    await until(lambda: bool(attendance(d1).present))
    own = attendance(d1)
    assert [p.delegate_id for p in own.present] == ["d1"]
    assert [(p.giver_id, p.holder_id) for p in own.proxies] == [("d5", "d1")]
    assert [p.delegate_id for p in attendance(d2).present] == ["d2"] and not attendance(d2).proxies
    assert by_id["d1"].method is CheckMethod.BADGE and by_id["d1"].seat_id == "A2"
    assert by_id["d2"].wrong_seat and not by_id["d1"].wrong_seat
    # d5 is absent and d1 holds the proxy: represented, and proxies count toward quorum
    assert (state.represented, state.quorum_met) == (3, True)
    # a member without a tablet is checked in by the clerk; the clerk is not a voting member
    await clerk.ok(CheckIn(clerk.op(), "d4"))
    await clerk.refused(CheckIn(clerk.op(), "d4"), "bad_state", "already checked in")
    await clerk.refused(CheckIn(clerk.op(), "nobody"), "not_found", "not on the roster")
    await until(lambda: attendance(display).present_members == 3)
    await d2.ok(SignOut(d2.op()))
    await until(lambda: attendance(display).present_members == 2)
    # the clerk checks d1 out: d1's tablet is signed out too
    await clerk.ok(CheckIn(clerk.op(), "d1", present=False))
    await until(lambda: d1.connection.signed_in is None)
    await until(lambda: attendance(display).present_members == 1)
    # a dropped connection is not a check-out
    d3 = await tablet(room, "d3")
    await until(lambda: attendance(display).present_members == 2)
    d3.connection.drop()
    await asyncio.sleep(0.3)
    assert attendance(display).present_members == 2
    # a delegate asking for what only the clerk may do is refused
    await d3.refused(CheckIn(d3.op(), "d2"), "forbidden", "chair or clerk")
    for t in (display, clerk, d1, d2, d3):
        await t.stop()
    with db(room) as conn:
        events = [
            (r["delegate_id"], r["event"], r["method"], r["seat_id"], r["by_id"])
            for r in conn.execute("SELECT * FROM attendance_events ORDER BY id")
        ]
        times = [r[0] for r in conn.execute("SELECT at FROM attendance_events")]
    assert events == [
        ("clerk", "check_in", "pin", "C1", None),
        ("d1", "check_in", "badge", "A2", None),
        ("d2", "check_in", "pin", "A4", None),
        ("d4", "check_in", "clerk", "A5", "clerk"),
        ("d2", "check_out", "sign_out", None, None),
        ("d1", "check_out", "clerk", None, "clerk"),
        ("d3", "check_in", "pin", "A4", None),
    ]
    assert all(t.endswith("+00:00") for t in times)
    assert audit_verify(room)[0] == 0


async def test_free_seating_and_a_fixed_quorum_without_proxies(tmp_path: Path) -> None:
    package = write_package(
        tmp_path / "package",
        voting=True,
        attendance={
            "seating": "free",
            "quorum": "fixed",
            "quorum_count": 2,
            "proxies_count": False,
        },
    )
    with running_room(tmp_path / "room", package=package, mdns=False) as free_room:
        chair = await tablet(free_room, "chair")
        d1 = await tablet(free_room, "d1", "A5")  # not d1's seat: fine in free seating
        assert d1.connection.signed_in is not None and not d1.connection.signed_in.wrong_seat
        await until(lambda: attendance(chair).present_members == 1)
        state = attendance(chair)
        assert not any(p.wrong_seat for p in state.present)
        assert not any(isinstance(m, Alert) for m in chair.received)
        # d5's proxy is here (d1) but proxies do not count: 1 of the 2 needed
        assert (state.represented, state.required, state.quorum_met) == (2, 2, False)
        d2 = await tablet(free_room, "d2", "A1")
        await until(lambda: attendance(chair).quorum_met)
        for t in (chair, d1, d2):
            await t.stop()


async def test_proxies_granted_and_taken_back_by_the_clerk(room: RunningRoom) -> None:
    clerk = await tablet(room, "clerk", "C1")
    await clerk.refused(SetProxy(clerk.op(), "d1", "d1"), "bad_field", "own proxy")
    await clerk.refused(SetProxy(clerk.op(), "d2", "chair"), "bad_field", "voting members")
    await clerk.refused(SetProxy(clerk.op(), "d2", "d5"), "bad_state", "given their own proxy")
    await clerk.refused(SetProxy(clerk.op(), "d1", "d2"), "bad_state", "cannot be passed on")
    await clerk.refused(SetProxy(clerk.op(), "d2", "d1"), "bad_state", "the limit is 1")
    await clerk.refused(SetProxy(clerk.op(), "d3", None), "bad_state", "nobody holds")
    before = attendance(clerk)
    await clerk.ok(SetProxy(clerk.op(), "d5", "d3"))  # moved from d1 to d3
    await clerk.ok(SetProxy(clerk.op(), "d2", "d1"))
    await until(lambda: len(attendance(clerk).proxies) == 2 and attendance(clerk) != before)
    assert {(p.giver_id, p.holder_id, p.source) for p in attendance(clerk).proxies} == {
        ("d5", "d3", "clerk"),
        ("d2", "d1", "clerk"),
    }
    await clerk.ok(SetProxy(clerk.op(), "d2", None))
    await until(lambda: len(attendance(clerk).proxies) == 1)
    await clerk.stop()


# --- polls ---------------------------------------------------------------------------------


async def test_a_named_poll_from_quorum_check_to_published_result(room: RunningRoom) -> None:
    chair = await tablet(room, "chair")
    display = await tablet(room, None, "display")
    d1 = await tablet(room, "d1")
    # two of five present: no quorum, even with d5's proxy (3 needed, 2 + 1 = 3? no: d5's
    # holder d1 is here, so represented = 3 and the quorum is met). Check d1 out first.
    clerk = await tablet(room, "clerk", "C1")
    await clerk.ok(CheckIn(clerk.op(), "d1", present=False))
    await until(lambda: attendance(chair).present_members == 0)
    refusal = await chair.refused(OpenPoll(chair.op(), "p-budget"), "no_quorum", "not met")
    assert "0 present, 3 required" in refusal.message
    assert poll_state(chair, "p-budget") is PollState.DRAFT
    await chair.ok(OpenPoll(chair.op(), "p-budget", override_quorum=True))
    await until(lambda: poll_state(display, "p-budget") is PollState.OPEN)
    opened = next(p for p in polls(display).polls if p.id == "p-budget")
    assert opened.quorum_override and opened.opened_at
    await chair.refused(OpenPoll(chair.op(), "p-secret"), "bad_state", "still open")
    # d1 signs in again (checked in), votes for themselves and for absent d5
    await d1.sign_in("d1", PINS["d1"])
    d2 = await tablet(room, "d2")
    own = await vote(d1, "p-budget", "d1", YES)
    proxy = await vote(d1, "p-budget", "d5", NO)
    await vote(d2, "p-budget", "d2", NO)
    assert own.receipt.delegate_id == "d1" and proxy.receipt.delegate_id == "d5"
    assert len(own.receipt.code) == 12
    # the template allows changing the vote until close
    await vote(d2, "p-budget", "d2", YES)
    progress = await display.next_of(PollProgress, 0, lambda m: m.voted == 3)
    assert progress.eligible == 3  # d1, d2 and d5 by proxy
    # receipts come back after a reconnect
    d1.connection.drop()
    mark = len(d1.received)
    receipts = await d1.next_of(Receipts, mark)
    assert {(r.delegate_id, r.code) for r in receipts.receipts} == {
        ("d1", own.receipt.code),
        ("d5", proxy.receipt.code),
    }
    await chair.ok(ClosePoll(chair.op(), "p-budget"))
    await until(lambda: bool(polls(chair).results))
    result = polls(chair).results[0]
    assert (result.outcome, result.ballots) == (Outcome.ADOPTED, 3)  # yes 2 : no 1
    assert [(v.delegate_id, v.choices, v.cast_by) for v in result.named] == [
        ("d1", (YES,), None),
        ("d2", (YES,), None),
        ("d5", (NO,), "d1"),
    ]
    assert polls(display).results == ()  # not published yet
    await refused_ballot(d2, "p-budget", "d2", (NO,), "poll_closed", "closed")
    await chair.ok(PublishPoll(chair.op(), "p-budget"))
    await until(lambda: bool(polls(display).results))
    assert polls(display).results[0] == result
    assert poll_state(display, "p-budget") is PollState.PUBLISHED
    for t in (chair, display, d1, d2, clerk):
        await t.stop()
    code, out = audit_verify(room)
    assert code == 0, out
    with db(room) as conn:
        kinds = [r[0] for r in conn.execute("SELECT kind FROM audit_log ORDER BY seq")]
        opened_entry = conn.execute(
            "SELECT data FROM audit_log WHERE kind = 'poll.opened'"
        ).fetchone()[0]
    assert json.loads(opened_entry)["quorum_override"] is True
    for kind in ("poll.opened", "poll.ballot", "poll.ballot_changed", "poll.closed"):
        assert kind in kinds
    assert kinds[-1] == "poll.published"


async def test_ballots_that_must_be_refused_change_nothing(room: RunningRoom) -> None:
    chair = await tablet(room, "chair")
    d1, d2, d3 = [await tablet(room, who) for who in ("d1", "d2", "d3")]
    obs = await tablet(room, "obs", "P1")
    await refused_ballot(d1, "p-secret", "d1", (YES,), "poll_closed", "not started")
    await chair.ok(OpenPoll(chair.op(), "p-secret"))
    await until(lambda: poll_state(d1, "p-secret") is PollState.OPEN)
    await vote(d1, "p-secret", "d1", YES)
    await refused_ballot(d1, "p-secret", "d1", (NO,), "already_voted", "already voted")
    await refused_ballot(d2, "p-secret", "d2", ("maybe",), "bad_field", "not an option")
    await refused_ballot(d2, "p-secret", "d2", (YES, NO), "bad_field", "one of yes")
    await refused_ballot(d2, "p-secret", "d5", (YES,), "forbidden", "proxy")
    await refused_ballot(d2, "p-secret", "nobody", (YES,), "not_found", "roster")
    await refused_ballot(d2, "p-nope", "d2", (YES,), "not_found", "no poll")
    await refused_ballot(chair, "p-secret", "chair", (YES,), "forbidden", "not a voting member")
    reply = await obs.do(CastBallot(obs.op(), "p-secret", "obs", (YES,)))
    assert isinstance(reply, ErrorMessage) and reply.code == "forbidden", reply
    # d5 arrives: the proxy d1 holds is not used any more
    clerk = await tablet(room, "clerk", "C1")
    await clerk.ok(CheckIn(clerk.op(), "d5"))
    await refused_ballot(d1, "p-secret", "d5", (NO,), "bad_state", "votes in person")
    await vote(d3, "p-secret", "d3", ABSTAIN)
    await chair.ok(ClosePoll(chair.op(), "p-secret"))
    await refused_ballot(d2, "p-secret", "d2", (NO,), "poll_closed", "closed")
    await until(lambda: bool(polls(chair).results))
    result = polls(chair).results[0]
    assert (result.ballots, result.abstentions, result.outcome) == (2, 1, Outcome.ADOPTED)
    assert result.named == ()  # secret
    for t in (chair, d1, d2, d3, obs, clerk):
        await t.stop()


async def test_a_resent_ballot_is_recognised_and_counted_once(room: RunningRoom) -> None:
    chair = await tablet(room, "chair")
    d2 = await tablet(room, "d2")
    await chair.ok(OpenPoll(chair.op(), "p-budget", override_quorum=True))
    await until(lambda: poll_state(d2, "p-budget") is PollState.OPEN)
    ballot = CastBallot(d2.op(), "p-budget", "d2", (NO,))
    # cut the connection right after the ballot leaves: the outbox sends it again
    sending = asyncio.ensure_future(d2.do(ballot))
    await asyncio.sleep(0)
    d2.connection.drop()
    first = await sending
    assert isinstance(first, BallotRecorded)
    # the same ballot id once more, later: the same receipt, not a second vote
    again = await d2.do(ballot)
    assert isinstance(again, BallotRecorded) and again.receipt == first.receipt
    # the same id for a different ballot is refused
    await refused_ballot_same_id(d2, ballot.op_id)
    await chair.ok(ClosePoll(chair.op(), "p-budget"))
    # a resend after the close still gets its receipt (it was counted before the close)
    late = await d2.do(ballot)
    assert isinstance(late, BallotRecorded) and late.receipt == first.receipt
    await until(lambda: bool(polls(chair).results))
    assert polls(chair).results[0].ballots == 1
    with db(room) as conn:
        assert conn.execute("SELECT count(*) FROM named_votes").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM ballot_ids").fetchone()[0] == 1
    await chair.stop()
    await d2.stop()


async def refused_ballot_same_id(t: Tablet, op_id: str) -> None:
    reply = await t.do(CastBallot(op_id, "p-budget", "d5", (YES,)))
    assert isinstance(reply, ErrorMessage) and "another ballot" in reply.message, reply


async def test_weighted_tie_waits_for_the_chairs_casting_vote(room: RunningRoom) -> None:
    chair = await tablet(room, "chair")
    d1, d2, d3 = [await tablet(room, who) for who in ("d1", "d2", "d3")]
    clerk = await tablet(room, "clerk", "C1")
    await clerk.ok(CheckIn(clerk.op(), "d4"))
    await chair.ok(OpenPoll(chair.op(), "p-weighted"))
    await until(lambda: poll_state(d1, "p-weighted") is PollState.OPEN)
    # weights: d1 3, d5 (by d1's proxy) 1, d2 1, d3 1, d4 2 (no tablet: does not vote)
    await vote(d1, "p-weighted", "d1", YES)  # 3
    await vote(d1, "p-weighted", "d5", NO)  # 1
    await vote(d2, "p-weighted", "d2", NO)  # 1
    await vote(d3, "p-weighted", "d3", NO)  # 1 -> 3 : 3
    await chair.ok(ClosePoll(chair.op(), "p-weighted"))
    await until(lambda: bool(polls(chair).results))
    pending = polls(chair).results[0]
    assert (pending.outcome, pending.present, pending.members) == (Outcome.TIE, 8, 8)
    await chair.refused(PublishPoll(chair.op(), "p-weighted"), "bad_state", "casting vote")
    await chair.refused(PublishPoll(chair.op(), "p-weighted", (ABSTAIN,)), "bad_field", "1 of")
    await chair.ok(PublishPoll(chair.op(), "p-weighted", (YES,)))
    await until(lambda: poll_state(d2, "p-weighted") is PollState.PUBLISHED)
    published = polls(d2).results[0]
    # two thirds of the 8 present by weight is 6; the casting vote decides the tie
    assert (published.outcome, published.decided_by) == (Outcome.ADOPTED, "chair")
    for t in (chair, d1, d2, d3, clerk):
        await t.stop()


async def test_earlier_roll_calls_come_back_to_a_tablet_that_connects_later(
    room: RunningRoom,
) -> None:
    """A council's named results all fit one poll.state: a tablet restarted after the
    second poll still has the roll call of the first (it used to arrive empty)."""
    chair = await tablet(room, "chair")
    d1, d2 = await tablet(room, "d1"), await tablet(room, "d2")
    for poll_id in ("p-budget", "p-weighted"):
        await chair.ok(OpenPoll(chair.op(), poll_id, override_quorum=True))
        await until(lambda p=poll_id: poll_state(d1, p) is PollState.OPEN)
        await vote(d1, poll_id, "d1", YES)
        await vote(d2, poll_id, "d2", YES)
        await chair.ok(ClosePoll(chair.op(), poll_id))
        await until(lambda p=poll_id: poll_state(chair, p) is PollState.CLOSED)
        await chair.ok(PublishPoll(chair.op(), poll_id))
        await until(lambda p=poll_id: poll_state(d1, p) is PollState.PUBLISHED)
    later = await tablet(room, "d3")
    await until(lambda: len(polls(later).results) == 2)
    named = {r.poll_id: [v.delegate_id for v in r.named] for r in polls(later).results}
    assert named["p-budget"] == named["p-weighted"] == ["d1", "d2"]
    for t in (chair, d1, d2, later):
        await t.stop()


async def test_polls_created_live_and_closed_by_a_countdown(room: RunningRoom) -> None:
    chair = await tablet(room, "chair")
    d1 = await tablet(room, "d1")
    bad = PollSpec("Pick one", PollKind.SINGLE, (PollOption("a", "A"),))
    await chair.refused(CreatePoll(chair.op(), "p-new", bad), "bad_field", "two options")
    spec = PollSpec(
        "Venue", PollKind.SINGLE, (PollOption("hn", "Hà Nội"), PollOption("hcm", "TP HCM"))
    )
    await chair.ok(CreatePoll(chair.op(), "p-venue", spec))
    await chair.refused(CreatePoll(chair.op(), "p-venue", spec), "bad_state", "exists")
    from_template = PollSpec("Elect one", PollKind.YES_NO, (PollOption("x", "X"),))
    await chair.refused(
        CreatePoll(chair.op(), "p-t", from_template, "secret-election"), "bad_field", "options"
    )
    await d1.refused(CreatePoll(d1.op(), "p-d", spec), "forbidden", "chair or clerk")
    await chair.ok(OpenPoll(chair.op(), "p-venue", override_quorum=True, close_after_seconds=30))
    await until(lambda: poll_state(d1, "p-venue") is PollState.OPEN)
    await vote(d1, "p-venue", "d1", "hn")
    thirty = venue(polls(d1)).closes_at
    assert thirty is not None
    mark = len(d1.received)
    await chair.ok(ClosePoll(chair.op(), "p-venue", after_seconds=1))
    # Every tablet hears the shorter countdown, then the poll closes when it runs out: not
    # before it (the server's own timestamps say so, however busy the machine is), and
    # well before the first countdown of 30 s would have ended.
    counting = await d1.next_of(PollsState, mark, lambda m: venue(m).closes_at != thirty)
    one = venue(counting)
    assert one.state is PollState.OPEN and one.closes_at is not None
    assert at(thirty) - at(one.closes_at) > timedelta(seconds=20)
    closed = venue(await d1.next_of(PollsState, mark, lambda m: venue(m).closed_at is not None))
    assert closed.state is PollState.CLOSED and closed.closes_at is None
    assert closed.closed_at is not None
    assert at(closed.closed_at) >= at(one.closes_at) - timedelta(milliseconds=50)  # a clock step
    assert at(closed.closed_at) < at(thirty)
    await until(lambda: poll_state(chair, "p-venue") is PollState.CLOSED)
    await chair.stop()
    await d1.stop()


async def test_a_secret_poll_keeps_nothing_that_links_voters_to_ballots(
    room: RunningRoom,
) -> None:
    chair = await tablet(room, "chair")
    voters = [await tablet(room, who) for who in ("d1", "d2", "d3")]
    await chair.ok(OpenPoll(chair.op(), "p-board"))
    await until(lambda: poll_state(voters[0], "p-board") is PollState.OPEN)
    choices = {"d1": ("c-lan", "c-minh"), "d2": ("c-hoa",), "d3": ("c-minh", "c-lan")}
    for t in voters:
        member = t.connection.signed_in.delegate_id  # type: ignore[union-attr]
        await vote(t, "p-board", member, *choices[member])
    await vote(voters[0], "p-board", "d5", "c-hoa", "c-minh")  # by proxy
    with db(room) as conn:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(secret_slots)")]
        assert columns == ["meeting_id", "poll_id", "slot", "ballot"]
        with pytest.raises(sqlite3.OperationalError, match="rowid"):
            conn.execute("SELECT rowid FROM secret_slots")
        # the only order the table has is the random key
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'secret_slots'").fetchone()[
            0
        ]
        assert "WITHOUT ROWID" in sql and "PRIMARY KEY (meeting_id, poll_id, slot)" in sql
        # a slot per voting member, made when the poll opened, all of one size
        slots = conn.execute("SELECT slot, ballot FROM secret_slots").fetchall()
        voting = conn.execute("SELECT count(*) FROM delegates WHERE voting").fetchone()[0]
        assert len(slots) == voting and len({len(b["ballot"]) for b in slots}) == 1
        ballots = conn.execute("SELECT * FROM secret_ballots").fetchall()
        assert len(ballots) == 4
        text = json.dumps(
            [[b["meeting_id"], b["poll_id"], b["choices"], b["weight"]] for b in ballots]
        )
        for secret in ("d1", "d2", "d3", "d5", "tab-", "+00:00"):
            assert secret not in text
            assert not any(secret.encode() in b["ballot"] for b in slots)
        voter_columns = [r[1] for r in conn.execute("PRAGMA table_info(secret_voters)")]
        assert voter_columns == ["meeting_id", "poll_id", "delegate_id"]
        # no named vote, and the audit log says who voted but not how
        assert conn.execute("SELECT count(*) FROM named_votes").fetchone()[0] == 0
        entries = [
            json.loads(r[0])
            for r in conn.execute("SELECT data FROM audit_log WHERE kind = 'poll.ballot'")
        ]
        assert all(set(e) == {"poll", "member", "secret"} for e in entries)
        receipts = {r["ballot_id"] for r in conn.execute("SELECT ballot_id FROM ballot_ids")}
        assert not any(r.encode() in b["slot"] + b["ballot"] for r in receipts for b in slots)
    await chair.ok(ClosePoll(chair.op(), "p-board"))
    await until(lambda: bool(polls(chair).results))
    # closing folds the write-ahead log (each commit's pages, in order) into the database
    wal = room.state_dir / "room.sqlite3-wal"
    await until(lambda: not wal.exists() or wal.stat().st_size == 0)
    result = polls(chair).results[0]
    assert {c.option_id: c.votes for c in result.counts} == {"c-lan": 2, "c-minh": 3, "c-hoa": 2}
    assert result.decided_by == "lot" and result.winners[0] == "c-minh"
    for t in (chair, *voters):
        await t.stop()


# --- the audit chain -------------------------------------------------------------------------


async def test_audit_verify_detects_edits_and_deletions(room: RunningRoom, tmp_path: Path) -> None:
    chair = await tablet(room, "chair")
    d2 = await tablet(room, "d2")
    await chair.ok(OpenPoll(chair.op(), "p-budget", override_quorum=True))
    await until(lambda: poll_state(d2, "p-budget") is PollState.OPEN)
    await vote(d2, "p-budget", "d2", NO)
    await chair.ok(ClosePoll(chair.op(), "p-budget"))
    await chair.stop()
    await d2.stop()
    room.process.terminate()
    room.process.wait()
    code, out = audit_verify(room)
    assert code == 0 and "audit log intact" in out, out
    database = room.state_dir / "room.sqlite3"
    pristine = database.read_bytes()
    with db(room) as conn:
        entries = conn.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        ballot_seq = conn.execute(
            "SELECT seq FROM audit_log WHERE kind = 'poll.ballot'"
        ).fetchone()[0]
    assert entries >= 5

    def tampered(sql: str) -> str:
        database.write_bytes(pristine)
        for suffix in ("-wal", "-shm"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        with db(room) as conn:
            conn.execute(sql)
        code, out = audit_verify(room)
        assert code == 1, out
        return out

    out = tampered(
        "UPDATE audit_log SET data = replace(data, '\"no\"', '\"yes\"') WHERE kind = 'poll.ballot'"
    )
    assert f"entry {ballot_seq} (poll.ballot) was changed" in out
    out = tampered(f"DELETE FROM audit_log WHERE seq = {int(ballot_seq)}")  # noqa: S608
    assert f"entry {ballot_seq} is missing" in out
    out = tampered(f"DELETE FROM audit_log WHERE seq = {int(entries)}")  # noqa: S608
    assert "removed from the end" in out
    out = tampered("UPDATE audit_log SET at = '2020-01-01T00:00:00.000+00:00' WHERE seq = 1")
    assert "entry 1 " in out and "was changed" in out


async def test_edge_cases_found_in_review(room: RunningRoom, voting_package_dir: Path) -> None:
    anonymous = await tablet(room, None, "A3")
    await anonymous.ok(SignOut(anonymous.op()))  # nobody signed in: nothing to check out
    clerk = await tablet(room, "clerk", "C1")
    d2 = await tablet(room, "d2", "A4")  # at d3's seat
    await clerk.refused(CheckIn(clerk.op(), "d2"), "bad_state", "already checked in")
    await until(lambda: any(p.delegate_id == "d2" for p in attendance(clerk).present))
    seat = next(p.seat_id for p in attendance(clerk).present if p.delegate_id == "d2")
    assert seat == "A4"  # not moved to the roster seat
    # re-importing the meeting (which brings back a proxy) reaches tablets at once
    await clerk.ok(SetProxy(clerk.op(), "d5", None))
    await until(lambda: not attendance(clerk).proxies)
    mark = len(clerk.received)
    result = room_cli(room.config, "import", str(voting_package_dir))
    assert result.returncode == 0, result.stderr
    await clerk.next_of(AttendanceState, mark, lambda m: bool(m.proxies))
    for t in (anonymous, clerk, d2):
        await t.stop()


def test_one_batch_recognises_resends_changes_and_second_ballots(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    """Ballots of one group commit, written together: the checks see the ballots before
    them in the same batch, not only what is already on disk."""
    from room_server import audit
    from room_server.importer import import_package
    from room_server.meeting.ballots import BallotBatch
    from room_server.rules import Refusal
    from room_server.store import Store

    with Store(tmp_path / "room.sqlite3", tmp_path / "documents") as store:
        import_package(store, voting_package_dir)
        meeting = store.active_meeting_id()
        with store.transaction():
            for member in ("d1", "d2"):
                store.conn.execute(
                    "INSERT INTO presence (meeting_id, delegate_id, method, since) "
                    "VALUES (?, ?, 'pin', '2026-11-21T09:00:00.000+00:00')",
                    (meeting, member),
                )
            store.conn.execute("UPDATE polls SET state = 'open'")
        with store.transaction():
            batch = BallotBatch(store, meeting)
            first = batch.record("d1", CastBallot("b1", "p-budget", "d1", (YES,)))
            assert batch.record("d1", CastBallot("b1", "p-budget", "d1", (YES,))) is first
            changed = batch.record("d1", CastBallot("b2", "p-budget", "d1", (NO,)))
            batch.record("d2", CastBallot("s1", "p-secret", "d2", (YES,)))
            with pytest.raises(Refusal, match="already voted"):
                batch.record("d2", CastBallot("s2", "p-secret", "d2", (NO,)))
            with pytest.raises(Refusal, match="another ballot"):
                batch.record("d1", CastBallot("s1", "p-secret", "d5", (NO,)))
            batch.flush()
        # the receipts are the audit entries' hashes, made when the batch is written
        assert changed.receipt().code != first.receipt().code
        rows = store.rows("SELECT delegate_id, choices, revision, ballot_id FROM named_votes")
        assert rows == [
            {"delegate_id": "d1", "choices": '["no"]', "revision": 2, "ballot_id": "b2"}
        ]
        assert store.rows("SELECT count(*) AS n FROM secret_ballots") == [{"n": 1}]
        assert len(store.rows("SELECT * FROM ballot_ids")) == 3
        assert audit.verify(store.conn).ok


def test_a_secret_ballot_that_fails_midway_leaves_no_voter_without_a_ballot(
    tmp_path: Path, voting_package_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug while a secret ballot is put in its slot (answered ``internal``) must not keep
    the member as having voted: they could never vote again and their ballot is nowhere."""
    from room_server.importer import import_package
    from room_server.meeting.ballots import BallotBatch
    from room_server.repo import ballots as repo
    from room_server.store import Store

    with Store(tmp_path / "room.sqlite3", tmp_path / "documents") as store:
        import_package(store, voting_package_dir)
        meeting = store.active_meeting_id()
        with store.transaction():
            store.conn.execute(
                "INSERT INTO presence (meeting_id, delegate_id, method, since) "
                "VALUES (?, 'd2', 'pin', '2026-11-21T09:00:00.000+00:00')",
                (meeting,),
            )
            store.conn.execute("UPDATE polls SET state = 'open'")
        encode = repo.encode_slot

        def broken(*args: object, **kwargs: object) -> bytes:
            raise RuntimeError("a bug")

        with store.transaction():
            batch = BallotBatch(store, meeting)
            monkeypatch.setattr(repo, "encode_slot", broken)
            with pytest.raises(RuntimeError):
                batch.record("d2", CastBallot("s1", "p-secret", "d2", (YES,)))
            monkeypatch.setattr(repo, "encode_slot", encode)
            batch.flush()
        assert store.rows("SELECT count(*) AS n FROM secret_voters") == [{"n": 0}]
        with store.transaction():  # and the member votes as if nothing happened
            batch = BallotBatch(store, meeting)
            batch.record("d2", CastBallot("s2", "p-secret", "d2", (YES,)))
            batch.flush()
        assert store.rows("SELECT count(*) AS n FROM secret_voters") == [{"n": 1}]
        filled = "SELECT count(*) AS n FROM secret_slots WHERE ballot != zeroblob(length(ballot))"
        assert store.rows(filled) == [{"n": 1}]
