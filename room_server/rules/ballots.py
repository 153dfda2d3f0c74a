"""Who may cast which ballot in a poll."""

from __future__ import annotations

from collections.abc import Callable, Container

from room_protocol.errors import ErrorCode
from room_protocol.voting import PollSpec, PollState
from room_server.rules import Refusal
from room_server.rules.attendance import Member
from room_server.tally import choice_problem

RECEIPT_CHARS = 12  # hex digits of the ballot's audit hash printed on the receipt


def check_ballot(
    *,
    state: PollState,
    spec: PollSpec,
    member: Member | None,
    delegate_id: str,
    sender: str,
    present: Container[str],
    holder_of: Callable[[str], str | None],
    choices: tuple[str, ...],
    voted: Container[str],
) -> bool:
    """Refuse a ballot the poll does not accept; True if it changes the member's vote.

    ``sender`` is who is signed in on the tablet that sent it; ``delegate_id`` is whom
    the ballot is for (the sender, or a member whose proxy the sender holds).
    """
    if state is not PollState.OPEN:
        raise Refusal(
            ErrorCode.POLL_CLOSED,
            "voting has not started yet"
            if state is PollState.DRAFT
            else "voting is closed; the ballot was not counted",
        )
    if member is None:
        raise Refusal(ErrorCode.NOT_FOUND, f"{delegate_id!r} is not on the roster")
    if not member.voting:
        raise Refusal(ErrorCode.FORBIDDEN, f"{member.name} is not a voting member")
    if sender not in present:
        raise Refusal(ErrorCode.NOT_PRESENT, "you are not checked in; ask the clerk")
    if delegate_id != sender:
        if holder_of(delegate_id) != sender:
            raise Refusal(ErrorCode.FORBIDDEN, f"you do not hold {member.name}'s proxy")
        if delegate_id in present:
            raise Refusal(
                ErrorCode.BAD_STATE,
                f"{member.name} is present and votes in person; the proxy is not used",
            )
    problem = choice_problem(spec, choices)
    if problem is not None:
        raise Refusal(ErrorCode.BAD_FIELD, problem)
    again = delegate_id in voted
    if again and (spec.secret or not spec.allow_change):
        raise Refusal(ErrorCode.ALREADY_VOTED, "this member has already voted in this poll")
    return again
