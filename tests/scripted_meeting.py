"""The scripted meeting the record tests run through real clients against a real
room-server process with the voting package: check-ins (at the seat, by the clerk), a
check-out, proxies (from the package, by the clerk), speakers, a named and a secret poll,
an announcement, a message to a seat and a service call."""

from __future__ import annotations

import asyncio

from room_protocol.annotations import AnnotationKind, AnnotationOp, AnnotationPatch, Visibility
from room_protocol.live import (
    Announce,
    EndSpeech,
    FloorKind,
    FloorState,
    GrantFloor,
    MessageSeat,
    RequestFloor,
    RequestService,
    ResolveService,
    ServiceCalls,
    ServiceKind,
    SetCurrentItem,
    SetItemDone,
    SignOut,
)
from room_protocol.voting import (
    ABSTAIN,
    NO,
    YES,
    BallotRecorded,
    CastBallot,
    CheckIn,
    ClosePoll,
    OpenPoll,
    PollsState,
    PollState,
    PublishPoll,
    SetProxy,
)
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom

PINS = {"chair": "1111", "clerk": "3333", "d1": "2222", "d2": "4444", "d3": "6666"}
SEATS = {"chair": "A1", "clerk": "C1", "d1": "A2", "d2": "A3", "d3": "A4"}
MEETING = "council-test"
NAMES = {
    "chair": "Chair Person",
    "clerk": "Clerk Person",
    "d1": "Nguyễn Văn An",
    "d2": "Beatrix Delegate",
    "d3": "Trần Thị Bình",
    "d4": "Lê Văn Cường",
    "d5": "Eva Absent",
    "obs": "Press Observer",
}

# The record's contents files for this meeting (annotations, audit and seal aside).
CONTENTS = {
    "meeting.json",
    "attendance.csv",
    "attendance.json",
    "polls.json",
    "results.csv",
    "speakers.csv",
    "messages.json",
    "minutes-en.pdf",
    "minutes-vi.pdf",
    "documents/agenda.pdf",
    "documents/budget.pdf",
    "documents/minutes.pdf",
}


async def signed_in(room: RunningRoom, who: str) -> Tablet:
    t = await Tablet(room, f"tab-{who}", SEATS[who]).start()
    await t.sign_in(who, PINS[who])
    return t


def _state(t: Tablet, poll_id: str) -> PollState:
    return next(p.state for p in t.of_type(PollsState)[-1].polls if p.id == poll_id)


async def _vote(t: Tablet, poll_id: str, member: str, choice: str) -> None:
    reply = await t.do(CastBallot(t.op(), poll_id, member, (choice,)))
    assert isinstance(reply, BallotRecorded), reply


async def _poll(chair: Tablet, poll_id: str, votes: list[tuple[Tablet, str, str]]) -> None:
    await chair.ok(OpenPoll(chair.op(), poll_id))
    await until(lambda: _state(chair, poll_id) is PollState.OPEN)
    for tablet, member, choice in votes:
        await _vote(tablet, poll_id, member, choice)
    await chair.ok(ClosePoll(chair.op(), poll_id))
    await until(lambda: _state(chair, poll_id) is PollState.CLOSED)
    await chair.ok(PublishPoll(chair.op(), poll_id))
    await until(lambda: _state(chair, poll_id) is PollState.PUBLISHED)


# Annotations two delegates make on the budget: (member, annotation id, page, patch).
ANNOTATIONS = (
    (
        "d1",
        "d1-ink",
        0,
        AnnotationPatch(
            kind=AnnotationKind.INK, geometry=(72.0, 300.0, 150.0, 320.0, 220.0, 310.0)
        ),
    ),
    (
        "d1",
        "d1-note",
        1,
        AnnotationPatch(
            kind=AnnotationKind.NOTE,
            geometry=(100.0, 100.0),
            text="Hỏi về dòng ngân sách 4",
            visibility=Visibility.CHAIR,
        ),
    ),
    (
        "d2",
        "d2-mark",
        0,
        AnnotationPatch(
            kind=AnnotationKind.HIGHLIGHT, geometry=(72.0, 400.0, 300.0, 415.0), colour="#f9a825"
        ),
    ),
)


async def annotate(tablets: dict[str, Tablet]) -> None:
    """The annotations above, sent as their tablets would (one op each, stamps growing)."""
    for stamp, (member, annotation_id, page, patch) in enumerate(ANNOTATIONS, start=1):
        tablet = tablets[member]
        sha = next(d.sha256 for d in tablet.meeting.documents if d.filename == "budget.pdf")
        await tablet.ok(AnnotationOp(tablet.op(), annotation_id, sha, page, stamp << 16, patch))


async def run_meeting(room: RunningRoom) -> None:
    """Check-ins (at the seat, by the clerk), a check-out, proxies (from the package, by the
    clerk), speakers, a named and a secret poll, messages and a service call."""
    chair, clerk = await signed_in(room, "chair"), await signed_in(room, "clerk")
    d1, d2, d3 = [await signed_in(room, who) for who in ("d1", "d2", "d3")]
    await clerk.ok(CheckIn(clerk.op(), "d4"))  # d4 has no tablet
    await chair.ok(SetCurrentItem(chair.op(), "opening"))
    await clerk.ok(Announce(clerk.op(), "Chào mừng: the session is open"))
    await chair.ok(SetItemDone(chair.op(), "opening", True))
    await chair.ok(SetCurrentItem(chair.op(), "budget"))
    await annotate({"d1": d1, "d2": d2})
    await d1.ok(RequestFloor(d1.op()))
    await d2.ok(RequestFloor(d2.op(), FloorKind.POINT_OF_ORDER))
    for _ in range(2):
        await chair.ok(GrantFloor(chair.op()))
        await until(lambda: chair.of_type(FloorState)[-1].speaking is not None)
        await chair.ok(EndSpeech(chair.op()))
        await until(lambda: chair.of_type(FloorState)[-1].speaking is None)
    # the named poll: d1 votes for absent d5 with the package's proxy
    await _poll(
        chair, "p-budget", [(d1, "d1", YES), (d1, "d5", NO), (d2, "d2", YES), (d3, "d3", NO)]
    )
    await d1.ok(RequestService(d1.op(), ServiceKind.WATER, "nước lọc, please"))
    await until(lambda: bool(clerk.of_type(ServiceCalls) and clerk.of_type(ServiceCalls)[-1].calls))
    await clerk.ok(ResolveService(clerk.op(), clerk.of_type(ServiceCalls)[-1].calls[0].id))
    await clerk.ok(MessageSeat(clerk.op(), "A3", "Your microphone is on"))
    # d3 leaves and gives d2 their proxy through the clerk
    await d3.ok(SignOut(d3.op()))
    await clerk.ok(SetProxy(clerk.op(), "d3", "d2"))
    # the secret poll: yes 2 (d1, d5 by proxy), no 1 (d2), abstain 1 (d3 by proxy)
    await _poll(
        chair, "p-secret", [(d1, "d1", YES), (d1, "d5", YES), (d2, "d2", NO), (d2, "d3", ABSTAIN)]
    )
    await asyncio.gather(*(t.stop() for t in (chair, clerk, d1, d2, d3)))
