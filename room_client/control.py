"""The control channel's session without I/O: the outbox, op ids, answers and resume.

A :class:`ControlSession` is told what the client sends and what the room says, and
answers with plain values: which request a message answers, what goes out again after a
reconnect and in which order, what is news for the application. It never touches a
socket or a clock, so these rules are tested with messages; ``connection`` is the asyncio
shell around it.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from room_protocol.annotations import AnnotationsKept
from room_protocol.errors import ErrorCode
from room_protocol.live import Ack, Request, SignedIn, SignedOut
from room_protocol.messages import (
    ErrorMessage,
    MeetingRoster,
    MeetingSnapshot,
    MeetingState,
    Message,
)
from room_protocol.voting import BallotRecorded

__all__ = ["Answer", "ControlSession", "Received"]

Answer = Ack | ErrorMessage | BallotRecorded | AnnotationsKept  # what settles a request


@dataclass(frozen=True, slots=True)
class Received:
    """What one message from the room means for the client."""

    answered: Request | None = None  # the pending request this message answers
    news: Message | None = None  # for the application (state, event, late receipt)
    meeting_changed: bool = False  # the meeting state was replaced (maybe by None)
    refused: str = ""  # the room will not talk to this client: why
    throttled: Request | None = None  # over the room's rate limit: still pending, send later


def _random_prefix() -> str:
    return secrets.token_hex(6)


class ControlSession:
    """One client's requests and the room's answers, across reconnects.

    A request waits in the outbox until the room answers it; after a reconnect every
    unanswered request is sent again, oldest first, with the same ``op_id``, and the room
    answers a repeat without applying it twice. A ballot is answered by its receipt
    (``poll.recorded``), every other request by ``ack`` or by an error whose ``ref`` is
    its ``op_id``. The sign-in is resumed with its token.
    """

    def __init__(self, prefix: Callable[[], str] = _random_prefix) -> None:
        """``prefix``: the part of each op id that makes it unique across tablets."""
        self.meeting: MeetingSnapshot | None = None
        self.signed_in: SignedIn | None = None
        self.latest: dict[str, Message] = {}  # last message of each type, e.g. "floor.state"
        self.roster: MeetingRoster | None = None  # the last the room sent
        self._prefix = prefix
        self._outbox: dict[str, Request] = {}  # by op_id, in the order first sent
        self._counter = 0

    # --- out --------------------------------------------------------------------------

    def new_op_id(self) -> str:
        self._counter += 1
        return f"{self._prefix()}-{self._counter}"

    def submit(self, request: Request) -> bool:
        """Put ``request`` in the outbox; False if one with its ``op_id`` already waits
        (the same request sent again: it keeps its place and gets the same answer)."""
        if request.op_id in self._outbox:
            return False
        self._outbox[request.op_id] = request
        return True

    @property
    def pending(self) -> list[Request]:
        """Requests sent (or waiting to be sent) that the room has not answered yet,
        oldest first: what to send again, in this order, once the room welcomed us."""
        return list(self._outbox.values())

    def is_pending(self, op_id: str) -> bool:
        return op_id in self._outbox

    @property
    def resume_token(self) -> str | None:
        """What the next hello carries to stay signed in."""
        return self.signed_in.token if self.signed_in is not None else None

    # --- in ---------------------------------------------------------------------------

    def receive(self, message: Message) -> Received:
        if isinstance(message, MeetingState):
            self.meeting = self._with_roster(message.meeting)
            return Received(meeting_changed=True)
        if isinstance(message, MeetingRoster):
            self.roster = message
            meeting = self.meeting
            if meeting is None or meeting.roster_id != message.roster_id or meeting.roster:
                return Received()  # the meeting.state naming it comes next, or it has it
            self.meeting = self._with_roster(self.meeting)
            return Received(meeting_changed=True)
        if isinstance(message, Ack | ErrorMessage | BallotRecorded | AnnotationsKept):
            return self._answer(message)
        if isinstance(message, SignedIn):
            self.signed_in = message
        elif isinstance(message, SignedOut):
            self.signed_in = None
        self.latest[message.TYPE] = message
        return Received(news=message)

    def _with_roster(self, meeting: MeetingSnapshot | None) -> MeetingSnapshot | None:
        """The meeting with the members its ``roster_id`` names, when the room sent them
        (until then, and for a room that sends them inline, as it came)."""
        if meeting is None or not meeting.roster_id or meeting.roster:
            return meeting
        if self.roster is None or self.roster.roster_id != meeting.roster_id:
            return meeting
        return dataclasses.replace(meeting, roster=self.roster.roster)

    def _answer(self, message: Answer) -> Received:
        ref = message.ref if isinstance(message, ErrorMessage) else message.op_id
        if (
            isinstance(message, ErrorMessage)
            and message.code == ErrorCode.RATE_LIMITED
            and ref in self._outbox
        ):
            # Neither applied nor recorded: the same request (same op id) goes again later.
            return Received(throttled=self._outbox[ref])
        answered = self._outbox.pop(ref, None) if ref else None
        if isinstance(message, BallotRecorded):
            # A receipt is news for the tablet too (a re-sent ballot answered late).
            self.latest[message.TYPE] = message
            return Received(answered, news=message)
        if (
            answered is None
            and isinstance(message, ErrorMessage)
            and message.code == ErrorCode.VERSION_MISMATCH
        ):
            return Received(refused=message.message)
        return Received(answered)
