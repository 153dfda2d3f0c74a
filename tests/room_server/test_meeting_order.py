"""Requests that arrive together are applied in the order they came, and each is checked
against who is signed in after the requests before it (in-process, the real writer)."""

from __future__ import annotations

from pathlib import Path

from room_protocol.annotations import AnnotationKind, AnnotationOp, AnnotationPatch
from room_protocol.live import Ack, Fit, FollowState, SetFollow, SignIn, SignOut
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


async def test_the_chairs_page_changes_in_a_row_go_ahead_of_a_queue_of_strokes(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    """Page changes the chair sends one after another (the next before the last is
    answered) stay in the urgent lane, in their order: a room busy with annotation strokes
    does not make the wall and the tablets lag behind the chair (bench/annotations.py)."""
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        chair = await signed_in(room, "chair", "1111", "A1")
        d1 = await signed_in(room, "d1", "2222", "A2")
        doc = room.session.snapshot.documents[0]
        stroke = AnnotationPatch(kind=AnnotationKind.INK, geometry=(1.0, 2.0, 3.0, 4.0))
        for n in range(40):
            room.session.handle(d1, AnnotationOp(f"s{n}", f"a{n}", doc.sha256, 0, n + 1, stroke))
        for page in (1, 2, 3):  # none answered before the next is sent
            room.session.handle(chair, SetFollow(f"f{page}", doc.sha256, page % doc.pages))
        await room.answer(chair, "f3")
        inbox = room.inbox[d1.client_id]
        moves = [i for i, m in enumerate(inbox) if isinstance(m, FollowState) and m.seq > 0]
        strokes = [i for i, m in enumerate(inbox) if isinstance(m, Ack) and m.op_id[0] == "s"]
        assert len(moves) == 3 and len(strokes) == 40
        assert [inbox[i].page for i in moves] == [p % doc.pages for p in (1, 2, 3)]  # type: ignore[attr-defined]
        # every page change was applied before the last stroke waiting ahead of it
        assert moves[-1] < strokes[-1], (moves, strokes)
