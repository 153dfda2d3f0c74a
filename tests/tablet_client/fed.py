"""A tablet UI whose room is the test: messages are fed to its connection as if the room
had sent them, and its requests wait in the outbox for the test to answer.

For the views and controllers of attendance and voting, where each state of a ballot
must be shown exactly; the same flows run against a real room in test_voting_live.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from pytestqt.qtbot import QtBot

from room_client.connection import Phase, RoomConnection, RoomEndpoint
from room_client.enrollment import DeviceCredentials
from room_protocol.live import Ack, Request, SignedIn
from room_protocol.messages import (
    AgendaItem,
    ErrorMessage,
    MeetingSnapshot,
    MeetingState,
    Message,
    Role,
    RosterEntry,
    Welcome,
)
from room_protocol.voting import (
    AttendanceState,
    BallotRecorded,
    CastBallot,
    CheckMethod,
    Poll,
    PollResult,
    PollSpec,
    PollsState,
    PollState,
    Presence,
    Proxy,
    QuorumRule,
    Receipt,
    Seating,
    normalised,
)
from tablet_client.live_link import LiveLink
from tablet_client.render import PageRenderer
from tablet_client.tablet_controller import TabletController, TabletSettings
from tablet_client.views.main_window import MainWindow

R = TypeVar("R", bound=Request)
NOW = datetime.now(UTC).replace(microsecond=0)


def at(seconds: float = 0) -> str:
    return (NOW + timedelta(seconds=seconds)).isoformat()


ROSTER = (
    RosterEntry("chair", "Chair Person", Role.CHAIR, "A1"),
    RosterEntry("clerk", "Clerk Person", Role.CLERK),
    RosterEntry("d1", "Nguyễn Văn An", Role.DELEGATE, "A2", voting=True),
    RosterEntry("d2", "Beatrix Delegate", Role.DELEGATE, "A3", voting=True),
    RosterEntry("d3", "Trần Thị Bình", Role.DELEGATE, "A4", voting=True),
    RosterEntry("obs", "Press Observer", Role.OBSERVER),
)
MEETING = MeetingSnapshot(
    "council-test",
    "Test council",
    "2026-11-21",
    "Chamber",
    1,
    (
        AgendaItem("opening", "1", "Opening", 5),
        AgendaItem("budget", "2", "Budget 2027", 45),
    ),
    (),
    current_item_id="budget",
    roster=ROSTER,
)


def attendance(
    present: Iterable[str] = ("d1", "d2"),
    proxies: Iterable[tuple[str, str]] = (),
    *,
    required: int = 2,
    rule: QuorumRule = QuorumRule.MAJORITY,
) -> AttendanceState:
    here = tuple(present)
    given = tuple(Proxy(giver, holder) for giver, holder in proxies)
    voting = [m.delegate_id for m in ROSTER if m.voting]
    present_members = sum(1 for d in here if d in voting)
    represented = present_members + sum(
        1 for p in given if p.giver_id not in here and p.holder_id in here
    )
    return AttendanceState(
        present=tuple(Presence(d, CheckMethod.PIN, at(-600), seat_id=None) for d in here),
        proxies=given,
        members=len(voting),
        present_members=present_members,
        represented=represented,
        required=required,
        quorum_met=represented >= required,
        rule=rule,
        seating=Seating.ASSIGNED,
    )


class StepClock:
    """The ballots' clock (the double-tap guard): each reading is ``step`` seconds after
    the last, so taps the test makes one after another are never a double tap; with
    ``step`` 0 it stands still until the test moves it (``advance``)."""

    def __init__(self, step: float = 1.0) -> None:
        self.now = 1000.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FedTablet:
    """Call ``close()`` at the end (the ``fed`` fixture does)."""

    def __init__(
        self, qtbot: QtBot, tmp_path: Path, credentials: DeviceCredentials, name: str = "fed"
    ) -> None:
        self.window = MainWindow()
        qtbot.addWidget(self.window)
        self.window.resize(1280, 800)
        self.window.show()
        qtbot.waitExposed(self.window)
        self.tablet = TabletController(
            self.window,
            TabletSettings(credentials=credentials, cache_dir=tmp_path / f"cache-{name}"),
            PageRenderer(cache_bytes=8 * 1024 * 1024),
        )
        self.connection = RoomConnection(
            RoomEndpoint("room.test", 1, "127.0.0.1", "Fed room"),
            credentials,
            on_meeting=self.tablet._on_meeting,
            on_status=self.tablet._on_status,
        )
        self.tablet.connection = self.connection
        self.tablet.link.attach(self.connection)
        self.replies: dict[str, Message] = {}
        self.clock = StepClock()
        self.window.voting_panel.clock = self.clock

    @property
    def link(self) -> LiveLink:
        return self.tablet.link

    async def close(self) -> None:
        await self.tablet.stop()

    def connect(self) -> None:
        """As if the room welcomed the tablet (again)."""
        self.connection.welcome = Welcome(3, "room", "Fed room", at(), "s1")
        self.connection.welcomed_at = asyncio.get_event_loop().time()
        self.connection._set(Phase.CONNECTED)

    def drop(self) -> None:
        self.connection._set(Phase.RETRYING, "the room closed the connection", 1.0)

    def feed(self, *messages: Message) -> None:
        for message in messages:
            self.connection._receive(message)

    def start(
        self,
        who: str = "d1",
        *,
        present: Iterable[str] = ("d1", "d2"),
        proxies: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.connect()
        member = next(m for m in ROSTER if m.delegate_id == who)
        self.feed(
            MeetingState(MEETING),
            SignedIn(who, member.name, member.role, member.seat_id, "token"),
            attendance(present, proxies),
        )
        self.tablet.identity.show_home()

    async def sent(self, kind: type[R]) -> list[R]:
        """The requests of ``kind`` waiting in the outbox (sending is a task: let it run)."""
        await asyncio.sleep(0)
        return [r for r in self.connection.pending if isinstance(r, kind)]

    def answer(self, request: Request, reply: Message | None = None) -> None:
        self.feed(reply if reply is not None else Ack(request.op_id))

    def record(
        self, ballot: CastBallot, code: str = "3F9A21C4B7", head: tuple[int, str] = (0, "")
    ) -> Receipt:
        """``head``: the signed audit head the receipt carries (seq, hash prefix)."""
        receipt = Receipt(ballot.poll_id, ballot.delegate_id, ballot.op_id, code, at(5), *head)
        self.feed(BallotRecorded(ballot.op_id, receipt))
        return receipt

    def refuse(self, request: Request, code: str, message: str = "refused") -> None:
        self.feed(ErrorMessage(code, message, ref=request.op_id))


def polls(
    *polls: Poll, results: Iterable[PollResult] = (), templates: Iterable[str] = ()
) -> PollsState:
    return PollsState(tuple(polls), tuple(results), tuple(templates))


def poll(poll_id: str, spec: PollSpec, state: PollState = PollState.OPEN, **fields: object) -> Poll:
    opened = at(-30) if state is not PollState.DRAFT else None
    return Poll(poll_id, normalised(spec), state, opened_at=opened, **fields)  # type: ignore[arg-type]
