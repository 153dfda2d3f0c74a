"""Rules of the live session on the tablet, without Qt or sockets.

What a badge reader typed, which chair move to show, where I am in the queue, when
the meeting will end, what the signed-in role may do: plain values in, plain values out,
so the controllers stay thin and these rules are tested with numbers.
"""

from __future__ import annotations

import re

from room_client.timers import parse_time
from room_protocol import enrollment, voting
from room_protocol.errors import ErrorCode
from room_protocol.live import ALLOWED, FloorState, FollowState, Request
from room_protocol.messages import AgendaItem, ErrorMessage, MeetingSnapshot, Role

__all__ = [
    "BADGE_KEY_GAP_S",
    "MAX_PIN_DIGITS",
    "MIN_PIN_DIGITS",
    "NOT_CONNECTED",
    "BadgeReader",
    "FollowTracker",
    "add_position",
    "capabilities",
    "estimated_end",
    "item_elapsed",
    "move_target",
    "queue_position",
    "sign_in_problem",
    "signed_out_reason",
]

BADGE_KEY_GAP_S = 0.05  # wedges type a character every few ms; people need > 50 ms
BADGE_MIN_LENGTH = 4
BADGE_MAX_LENGTH = 64  # room_protocol.live.BADGE
_BADGE_CHAR = re.compile(r"[A-Za-z0-9:_-]")
MIN_PIN_DIGITS = 4  # room_protocol.live.PIN
MAX_PIN_DIGITS = 12  # room_protocol.live.PIN; packages give 4- or 6-digit PINs
NOT_CONNECTED = "not_connected"  # ErrorMessage.code the tablet makes up when it has no room


# --- identity --------------------------------------------------------------------------


class BadgeReader:
    """Tells a badge reader from a person at a keyboard by the rhythm of the keys.

    A keyboard-wedge reader types the whole badge number and Enter within a few
    milliseconds; any pause longer than ``max_gap`` starts the collection again, so
    slow typing never adds up to a badge.
    """

    def __init__(
        self, max_gap: float = BADGE_KEY_GAP_S, min_length: int = BADGE_MIN_LENGTH
    ) -> None:
        self.max_gap = max_gap
        self.min_length = min_length
        self._chars: list[str] = []
        self._last = 0.0

    def key(self, text: str, at: float) -> None:
        """A printable key typed at ``at`` (seconds, any monotonic clock)."""
        if len(text) != 1 or not _BADGE_CHAR.fullmatch(text):
            self._chars.clear()  # a key no badge contains
            return
        if self._chars and at - self._last > self.max_gap:
            self._chars.clear()
        self._chars.append(text)
        self._last = at

    def enter(self, at: float) -> str | None:
        """Enter was pressed: the badge number if a reader typed it, else None."""
        chars, self._chars = self._chars, []
        if not chars or at - self._last > self.max_gap:
            return None
        if not self.min_length <= len(chars) <= BADGE_MAX_LENGTH:
            return None
        return "".join(chars)


def sign_in_problem(error: ErrorMessage) -> tuple[str, dict[str, object]]:
    """The i18n key (and arguments) that explains a refused sign-in or unlock."""
    text = error.message
    if error.code == NOT_CONNECTED:
        return "sign_in.not_connected", {}
    if error.code == ErrorCode.LOCKED:
        match = re.search(r"locked for (\d+) s", text)
        if match:
            return "sign_in.seat_locked_for", {"seconds": int(match.group(1))}
        return "sign_in.seat_locked", {}
    if error.code == ErrorCode.WRONG_PIN:
        return "sign_in.wrong_pin", {}
    if error.code == ErrorCode.NO_PIN:
        return "sign_in.no_pin", {}
    if error.code == ErrorCode.PIN_REQUIRED:
        return "sign_in.pin_after_badge", {}
    if error.code == ErrorCode.BADGE_REQUIRED:
        return "sign_in.badge_first", {}
    if error.code == ErrorCode.NOT_FOUND and "badge" in text:
        return "sign_in.unknown_badge", {}
    return "error.refused", {"reason": text}


def signed_out_reason(reason: str) -> str:
    """The i18n key for why the room signed this tablet out."""
    if "another tablet" in reason:
        return "sign_in.signed_in_elsewhere"
    if "ended" in reason:
        return "sign_in.ended"
    return "sign_in.signed_out"


def capabilities(role: Role | None) -> frozenset[type[Request]]:
    """The requests ``role`` may send (None: nobody is signed in)."""
    rules: dict[type[Request], frozenset[Role] | None] = {
        **ALLOWED,
        **voting.ALLOWED,
        **enrollment.ALLOWED,
    }
    return frozenset(
        request
        for request, roles in rules.items()
        if roles is None or (role is not None and role in roles)
    )


# --- follow the chair -------------------------------------------------------------------


class FollowTracker:
    """Which of the chair's moves this tablet should show.

    Moves arrive numbered (``seq``); an older one arriving late is dropped, and so is a
    repeat of the last one (after a reconnect). Leaving takes effect at once, before the
    room confirms it, so a move already on its way does not pull the reader back.
    """

    def __init__(self) -> None:
        self.following = True
        self.seq = -1
        self.latest: FollowState | None = None
        self._rejoining = False

    def leave(self) -> None:
        self.following = False
        self._rejoining = False

    def rejoin(self) -> None:
        self.following = True
        self._rejoining = True

    def receive(self, state: FollowState) -> bool:
        """Record ``state``; True if the reader should now show its page."""
        if state.seq < self.seq:
            return False
        fresh = state.seq > self.seq or self._rejoining
        self.seq, self.latest = state.seq, state
        if not state.following:
            if not self._rejoining:  # the answer to an earlier "leave"
                self.following = False
            return False
        if not self.following:
            return False  # a move sent before the room heard that we left
        self._rejoining = False
        return fresh


# --- speaker queue ------------------------------------------------------------------------


def queue_position(floor: FloorState, delegate_id: str) -> int | None:
    """1-based place of ``delegate_id`` in the queue, or None."""
    for index, entry in enumerate(floor.queue, start=1):
        if entry.delegate_id == delegate_id:
            return index
    return None


# --- agenda timing ---------------------------------------------------------------------------


def item_elapsed(meeting: MeetingSnapshot, item: AgendaItem, now: float) -> float:
    """Seconds spent on ``item`` (``now``: the room's epoch seconds): earlier turns plus
    the running one if it is current."""
    elapsed = float(item.actual_seconds)
    if item.id == meeting.current_item_id and meeting.current_started_at:
        elapsed += max(0.0, now - parse_time(meeting.current_started_at).timestamp())
    return elapsed


def _own_planned_seconds(item: AgendaItem) -> float:
    """Planned time of ``item`` itself: a parent's minutes include its sub-items'."""
    if item.planned_minutes is None:
        return 0.0
    children = sum(c.planned_minutes or 0 for c in item.children)
    return 60.0 * max(0, item.planned_minutes - children)


def estimated_end(meeting: MeetingSnapshot, now: float) -> float:
    """When the meeting should end (epoch seconds): now plus the planned time left of
    every item not done, less what was already spent on each."""
    remaining = 0.0

    def visit(items: tuple[AgendaItem, ...]) -> None:
        nonlocal remaining
        for item in items:
            if item.done:
                continue  # and its sub-items with it
            remaining += max(0.0, _own_planned_seconds(item) - item_elapsed(meeting, item, now))
            visit(item.children)

    visit(meeting.agenda)
    return now + remaining


# --- agenda editing ----------------------------------------------------------------------


def _parents(meeting: MeetingSnapshot) -> dict[str, AgendaItem | None]:
    parents: dict[str, AgendaItem | None] = {}

    def visit(items: tuple[AgendaItem, ...], parent: AgendaItem | None) -> None:
        for item in items:
            parents[item.id] = parent
            visit(item.children, item)

    visit(meeting.agenda, None)
    return parents


def move_target(meeting: MeetingSnapshot, item_id: str, move: str) -> tuple[int, str | None] | None:
    """Where ``move`` ("up", "down", "indent", "outdent") takes ``item_id``, as the
    (index, parent_id) of a MoveItem request; None if it cannot go that way."""
    parents = _parents(meeting)
    if item_id not in parents:
        return None
    parent = parents[item_id]
    siblings = parent.children if parent is not None else meeting.agenda
    index = next(i for i, s in enumerate(siblings) if s.id == item_id)
    parent_id = parent.id if parent is not None else None
    if move == "up":
        return (index - 1, parent_id) if index > 0 else None
    if move == "down":
        return (index + 1, parent_id) if index < len(siblings) - 1 else None
    if move == "indent":
        if index == 0:
            return None
        new_parent = siblings[index - 1]
        return len(new_parent.children), new_parent.id
    if move == "outdent":
        if parent is None:
            return None
        grandparent = parents[parent.id]
        aunts = grandparent.children if grandparent is not None else meeting.agenda
        position = next(i for i, s in enumerate(aunts) if s.id == parent.id)
        return position + 1, grandparent.id if grandparent is not None else None
    raise ValueError(f"unknown move {move!r}")


def add_position(meeting: MeetingSnapshot, selected: str | None) -> tuple[str | None, str | None]:
    """(parent_id, after_id) of a new item placed after ``selected`` at its level (at the
    end of the agenda when nothing is selected)."""
    parents = _parents(meeting)
    if selected is None or selected not in parents:
        return None, meeting.agenda[-1].id if meeting.agenda else None
    parent = parents[selected]
    return (parent.id if parent is not None else None), selected
