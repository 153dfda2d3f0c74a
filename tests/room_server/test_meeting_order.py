"""Requests that arrive together are applied in the order they came, and each is checked
against who is signed in after the requests before it (in-process, the real writer)."""

from __future__ import annotations

from pathlib import Path

from room_protocol.live import Fit, SetFollow, SignIn, SignOut
from room_protocol.messages import ErrorMessage
from room_protocol.voting import YES, BallotRecorded, CastBallot, OpenPoll
from tests.room_server.in_process import open_room, signed_in


async def test_a_ballot_counts_who_is_signed_in_when_it_is_written(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    """d1 takes another tablet while the first one's ballot is on its way: the ballot comes
    from a tablet nobody is signed in on by then, and is refused."""
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        chair = await signed_in(room, "chair", "1111", "A1")
        await room.request(chair, OpenPoll("o1", "p-budget", override_quorum=True))
        first = await signed_in(room, "d1", "2222", "A2")
        second = room.connect("tab-d1-spare")
        second.seat_id = "A2"
        room.session.handle(second, SignIn("in-again", delegate_id="d1", pin="2222"))
        room.session.handle(first, CastBallot("b1", "p-budget", "d1", (YES,)))  # same tick
        answer = await room.answer(first, "b1")
        assert isinstance(answer, ErrorMessage) and answer.code == "forbidden", answer
        assert first.delegate_id is None and second.delegate_id == "d1"
        ballot = CastBallot("b2", "p-budget", "d1", (YES,))
        room.session.handle(second, ballot)
        assert isinstance(await room.answer(second, "b2"), BallotRecorded)


async def test_a_page_change_does_not_overtake_a_sign_out_before_it(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        chair = await signed_in(room, "chair", "1111", "A1")
        sha = room.session.snapshot.documents[0].sha256
        room.session.handle(chair, SignOut("out"))
        room.session.handle(chair, SetFollow("page", sha, 0, Fit.WIDTH))  # same tick
        answer = await room.answer(chair, "page")
        assert isinstance(answer, ErrorMessage) and answer.code == "forbidden", answer
