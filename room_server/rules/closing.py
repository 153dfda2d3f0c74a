"""Closing the meeting: what may still be open when the chair closes it.

An open poll always blocks (a poll cut short by the close would lose the votes in
flight, or leave a result nobody published: the chair closes it first). A speaker on the
floor, members in the queue and open service calls block unless the chair insists
(``force``): the speech is ended with its time, the queue is let go, and the calls stay
in the record as they were.
"""

from __future__ import annotations

from dataclasses import dataclass

from room_protocol.errors import ErrorCode
from room_server.rules import Refusal


@dataclass(frozen=True, slots=True)
class StillOpen:
    polls: tuple[str, ...] = ()  # titles of the open polls
    speaker: str | None = None  # the name of who has the floor
    queue: int = 0
    service_calls: int = 0

    def __bool__(self) -> bool:
        return bool(self.polls or self.speaker or self.queue or self.service_calls)

    def describe(self) -> str:
        parts: list[str] = []
        if self.polls:
            parts.append("open polls: " + ", ".join(self.polls))
        if self.speaker:
            parts.append(f"{self.speaker} has the floor")
        if self.queue:
            parts.append(f"{self.queue} in the speaker queue")
        if self.service_calls:
            parts.append(f"{self.service_calls} open service calls")
        return "; ".join(parts)


def check_close(closed_at: str | None, still_open: StillOpen, force: bool) -> None:
    """Refuse closing a closed meeting, a meeting with an open poll, and (without
    ``force``) one where anything else is still open."""
    if closed_at is not None:
        raise Refusal(ErrorCode.MEETING_CLOSED, f"the meeting was closed at {closed_at}")
    if still_open.polls:
        raise Refusal(
            ErrorCode.STILL_OPEN,
            f"close the poll first ({still_open.describe()}); a meeting never closes over a vote",
        )
    if still_open and not force:
        raise Refusal(
            ErrorCode.STILL_OPEN,
            f"still open: {still_open.describe()}; send meeting.close with force to close anyway",
        )
