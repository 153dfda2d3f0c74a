"""Messages of the live session (protocol 2): sign-in, agenda control, follow-the-chair,
speaker queue, announcements, screen locks and service requests.

Every request from a tablet carries an ``op_id`` the tablet makes up (unique per
tablet). The server answers ``ack`` or ``error`` with ``ref = op_id`` and remembers the
answer: a request sent again after a reconnect gets the same answer and is not applied
twice. The server checks the sender's role for every request (:data:`ALLOWED`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from room_protocol.messages import (
    COUNT,
    IDENT,
    SHA256,
    TEXT,
    Message,
    Role,
    limits,
    register,
)

OP_ID = limits(max_len=64, pattern=re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"))
PIN = limits(max_len=12, pattern=re.compile(r"[0-9]{4,12}"))
BADGE = limits(max_len=64, pattern=re.compile(r"[A-Za-z0-9:_-]{1,64}"))
TIME = limits(max_len=40)  # ISO 8601, UTC
SHORT_TEXT = limits(max_len=280)
CACHE_KEY_RE = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 bytes, base64url without padding


@dataclass(frozen=True, slots=True)
class Request(Message):
    """A tablet's request; answered by :class:`Ack` or an error with ``ref = op_id``."""

    op_id: str = field(metadata=OP_ID)


# --- requests: identity ------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class SignIn(Request):
    """Sign in with a PIN (``delegate_id`` + ``pin``) or a badge (``badge`` alone)."""

    TYPE: ClassVar[str] = "session.sign_in"
    delegate_id: str | None = field(default=None, metadata=IDENT)
    pin: str | None = field(default=None, metadata=PIN, repr=False)
    badge: str | None = field(default=None, metadata=BADGE, repr=False)


@register
@dataclass(frozen=True, slots=True)
class SignOut(Request):
    TYPE: ClassVar[str] = "session.sign_out"


@register
@dataclass(frozen=True, slots=True)
class Unlock(Request):
    """Unlock a screen that locked itself after inactivity, with the signed-in PIN."""

    TYPE: ClassVar[str] = "session.unlock"
    pin: str = field(metadata=PIN, repr=False)


# --- requests: agenda --------------------------------------------------------------------


class Step(StrEnum):
    NEXT = "next"
    PREVIOUS = "previous"


@register
@dataclass(frozen=True, slots=True)
class SetCurrentItem(Request):
    TYPE: ClassVar[str] = "agenda.set_current"
    item_id: str = field(metadata=IDENT)


@register
@dataclass(frozen=True, slots=True)
class StepItem(Request):
    TYPE: ClassVar[str] = "agenda.step"
    direction: Step


@register
@dataclass(frozen=True, slots=True)
class SetItemDone(Request):
    TYPE: ClassVar[str] = "agenda.set_done"
    item_id: str = field(metadata=IDENT)
    done: bool = True


@register
@dataclass(frozen=True, slots=True)
class AddItem(Request):
    """A new agenda item under ``parent_id`` (None: top level), after ``after_id``
    (None: first)."""

    TYPE: ClassVar[str] = "agenda.add_item"
    title: str = field(metadata=TEXT)
    planned_minutes: int | None = field(default=None, metadata=limits(minimum=0, maximum=1440))
    parent_id: str | None = field(default=None, metadata=IDENT)
    after_id: str | None = field(default=None, metadata=IDENT)


@register
@dataclass(frozen=True, slots=True)
class MoveItem(Request):
    """Move an item (with its sub-items) to ``index`` among ``parent_id``'s children."""

    TYPE: ClassVar[str] = "agenda.move_item"
    item_id: str = field(metadata=IDENT)
    index: int = field(metadata=limits(minimum=0, maximum=2_000))
    parent_id: str | None = field(default=None, metadata=IDENT)


@register
@dataclass(frozen=True, slots=True)
class AttachDocument(Request):
    """Attach a document of the meeting to an item (a late document is first added with
    ``room-server add-document``)."""

    TYPE: ClassVar[str] = "agenda.attach_document"
    item_id: str = field(metadata=IDENT)
    sha256: str = field(metadata=SHA256)


# --- requests: follow-the-chair ----------------------------------------------------------


class Fit(StrEnum):
    WIDTH = "width"
    PAGE = "page"


@register
@dataclass(frozen=True, slots=True)
class SetFollow(Request):
    """The chair shows this document page; following tablets show it too."""

    TYPE: ClassVar[str] = "follow.set"
    sha256: str | None = field(metadata=SHA256)
    page: int = field(default=0, metadata=limits(minimum=0, maximum=100_000))
    fit: Fit = Fit.WIDTH


@register
@dataclass(frozen=True, slots=True)
class Following(Request):
    """Leave (``follow = false``) or rejoin the chair's view."""

    TYPE: ClassVar[str] = "follow.mode"
    follow: bool


@register
@dataclass(frozen=True, slots=True)
class AllowConfidentialOnDisplay(Request):
    """The chair lets the room display show the pages of confidential documents (or
    stops it again); off at the start of every meeting."""

    TYPE: ClassVar[str] = "display.allow_confidential"
    allow: bool


# --- requests: messages, screens, service ------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class Announce(Request):
    TYPE: ClassVar[str] = "message.announce"
    text: str = field(metadata=SHORT_TEXT)


@register
@dataclass(frozen=True, slots=True)
class MessageSeat(Request):
    TYPE: ClassVar[str] = "message.to_seat"
    seat_id: str = field(metadata=IDENT)
    text: str = field(metadata=SHORT_TEXT)


@register
@dataclass(frozen=True, slots=True)
class LockScreens(Request):
    TYPE: ClassVar[str] = "screens.set_locked"
    locked: bool


class ServiceKind(StrEnum):
    WATER = "water"
    MICROPHONE = "microphone"
    TECHNICAL = "technical"
    OTHER = "other"


@register
@dataclass(frozen=True, slots=True)
class RequestService(Request):
    TYPE: ClassVar[str] = "service.request"
    kind: ServiceKind
    text: str = field(default="", metadata=SHORT_TEXT)


@register
@dataclass(frozen=True, slots=True)
class ResolveService(Request):
    TYPE: ClassVar[str] = "service.resolve"
    request_id: str = field(metadata=IDENT)


# --- requests: speaker queue -------------------------------------------------------------


class FloorKind(StrEnum):
    SPEAK = "speak"
    POINT_OF_ORDER = "point_of_order"


@register
@dataclass(frozen=True, slots=True)
class RequestFloor(Request):
    TYPE: ClassVar[str] = "floor.request"
    kind: FloorKind = FloorKind.SPEAK


@register
@dataclass(frozen=True, slots=True)
class WithdrawFloor(Request):
    TYPE: ClassVar[str] = "floor.withdraw"


@register
@dataclass(frozen=True, slots=True)
class GrantFloor(Request):
    """Give the floor to ``delegate_id`` (None: the first in the queue)."""

    TYPE: ClassVar[str] = "floor.grant"
    delegate_id: str | None = field(default=None, metadata=IDENT)


@register
@dataclass(frozen=True, slots=True)
class EndSpeech(Request):
    TYPE: ClassVar[str] = "floor.end"


@register
@dataclass(frozen=True, slots=True)
class ReorderQueue(Request):
    TYPE: ClassVar[str] = "floor.reorder"
    delegate_ids: tuple[str, ...] = field(
        metadata=limits(pattern=IDENT["pattern"], max_items=2_000)
    )


@register
@dataclass(frozen=True, slots=True)
class SetSpeakingLimit(Request):
    TYPE: ClassVar[str] = "floor.set_limit"
    seconds: int = field(metadata=limits(minimum=0, maximum=3_600))  # 0: no limit


# --- requests: the meeting as a whole ---------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class CloseMeeting(Request):
    """End the meeting. Without ``force`` the room refuses while anything is still open
    (a speaker, the queue, service calls) and says what in ``meeting.close_blocked``; an
    open poll always blocks: close the poll first."""

    TYPE: ClassVar[str] = "meeting.close"
    force: bool = False


# --- server to tablets -------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class CloseBlocked(Message):
    """Why ``meeting.close`` (``ref``: its op_id) was refused: what is still open. Sent to
    the requesting tablet just before the ``still_open`` error. ``force`` cannot close
    over ``polls``; it ends the speech and clears the queue."""

    TYPE: ClassVar[str] = "meeting.close_blocked"
    ref: str = field(metadata=OP_ID)
    polls: tuple[str, ...] = field(default=(), metadata=limits(max_len=500, max_items=100))
    speaker: str | None = field(default=None, metadata=TEXT)  # the name of who speaks
    queue: int = field(default=0, metadata=COUNT)  # members waiting to speak
    service_calls: int = field(default=0, metadata=COUNT)  # open service requests

    @property
    def forcible(self) -> bool:
        return not self.polls


@register
@dataclass(frozen=True, slots=True)
class Ack(Message):
    TYPE: ClassVar[str] = "ack"
    op_id: str = field(metadata=OP_ID)


@register
@dataclass(frozen=True, slots=True)
class SignedIn(Message):
    """Who this tablet is signed in as; ``token`` resumes the sign-in after a reconnect."""

    TYPE: ClassVar[str] = "session.signed_in"
    delegate_id: str = field(metadata=IDENT)
    name: str = field(metadata=TEXT)
    role: Role
    seat_id: str | None = field(default=None, metadata=IDENT)
    token: str = field(default="", metadata=limits(max_len=64), repr=False)
    wrong_seat: bool = False  # signed in at a seat that is not theirs
    # The key (AES-256, base64url) this member's tablet encrypts its cached confidential
    # documents with; random per member and meeting, kept by the room, held in memory
    # only by the tablet. None when the meeting is closed.
    cache_key: str | None = field(
        default=None, metadata=limits(max_len=64, pattern=CACHE_KEY_RE), repr=False
    )


@register
@dataclass(frozen=True, slots=True)
class SignedOut(Message):
    TYPE: ClassVar[str] = "session.signed_out"
    reason: str = field(default="", metadata=TEXT)


@register
@dataclass(frozen=True, slots=True)
class FollowState(Message):
    """The chair's view. Sent to following tablets only; ``seq`` grows with every move."""

    TYPE: ClassVar[str] = "follow.state"
    seq: int = field(metadata=COUNT)
    sha256: str | None = field(default=None, metadata=SHA256)
    page: int = field(default=0, metadata=COUNT)
    fit: Fit = Fit.WIDTH
    following: bool = True  # whether this tablet is following
    # Whether the chair lets the room display show confidential pages.
    confidential_on_display: bool = False
    # To the room display only: the chair shows a confidential page it may not show, so
    # ``sha256`` is None and the display shows "Confidential" instead.
    withheld: bool = False


@dataclass(frozen=True, slots=True)
class QueueEntry:
    delegate_id: str = field(metadata=IDENT)
    name: str = field(metadata=TEXT)
    kind: FloorKind
    requested_at: str = field(metadata=TIME)
    seat_id: str | None = field(default=None, metadata=IDENT)


@dataclass(frozen=True, slots=True)
class Speech:
    delegate_id: str = field(metadata=IDENT)
    name: str = field(metadata=TEXT)
    kind: FloorKind
    started_at: str = field(metadata=TIME)
    limit_seconds: int = field(metadata=COUNT)  # 0: no limit
    elapsed_seconds: float = field(metadata=limits(minimum=0))  # when this state was sent
    expired: bool = False


@register
@dataclass(frozen=True, slots=True)
class FloorState(Message):
    TYPE: ClassVar[str] = "floor.state"
    seq: int = field(metadata=COUNT)
    speaking: Speech | None
    queue: tuple[QueueEntry, ...] = field(metadata=limits(max_items=2_000))
    limit_seconds: int = field(metadata=COUNT)


# The room repeats its latest announcement to everyone to a connection that says hello
# this long after it was made (a display or tablet started late, a Wi-Fi drop).
STANDING_ANNOUNCEMENT_S = 30 * 60


@register
@dataclass(frozen=True, slots=True)
class Announcement(Message):
    """An announcement to every tablet, or (``to_seat`` set) a message to one seat."""

    TYPE: ClassVar[str] = "message"
    id: str = field(metadata=IDENT)
    text: str = field(metadata=SHORT_TEXT)
    sender: str = field(metadata=TEXT)
    at: str = field(metadata=TIME)
    to_seat: str | None = field(default=None, metadata=IDENT)


@register
@dataclass(frozen=True, slots=True)
class ScreensLocked(Message):
    TYPE: ClassVar[str] = "screens.locked"
    locked: bool


@dataclass(frozen=True, slots=True)
class ServiceCall:
    id: str = field(metadata=IDENT)
    kind: ServiceKind
    text: str = field(metadata=SHORT_TEXT)
    delegate_id: str | None = field(metadata=IDENT)
    name: str = field(metadata=TEXT)
    seat_id: str | None = field(metadata=IDENT)
    at: str = field(metadata=TIME)


@register
@dataclass(frozen=True, slots=True)
class ServiceCalls(Message):
    """Open service requests; sent to the chair and clerks whenever the list changes."""

    TYPE: ClassVar[str] = "service.calls"
    calls: tuple[ServiceCall, ...] = field(metadata=limits(max_items=2_000))


class AlertKind(StrEnum):
    SEAT_LOCKED = "seat_locked"  # too many wrong PINs: a member or a tablet is locked
    SIGN_IN_SWEEP = "sign_in_sweep"  # many failed sign-ins across the room: someone guessing
    WRONG_SEAT = "wrong_seat"
    PAIRING_ABUSE = "pairing_abuse"  # many wrong pairing codes: every open code is void
    DEVICE_ENROLLED = "device_enrolled"  # a new tablet or display joined the room


@register
@dataclass(frozen=True, slots=True)
class Alert(Message):
    """For the chair and clerks: something at a seat needs attention."""

    TYPE: ClassVar[str] = "alert"
    kind: AlertKind
    text: str = field(metadata=TEXT)
    at: str = field(metadata=TIME)
    seat_id: str | None = field(default=None, metadata=IDENT)


# --- who may send what -------------------------------------------------------------------

_PRESIDING = frozenset({Role.CHAIR, Role.CLERK})
_MEMBERS = frozenset({Role.CHAIR, Role.CLERK, Role.DELEGATE})

ALLOWED: dict[type[Request], frozenset[Role] | None] = {
    # None: anyone, signed in or not
    SignIn: None,
    SignOut: _MEMBERS | {Role.OBSERVER},
    Unlock: _MEMBERS | {Role.OBSERVER},
    Following: None,
    SetCurrentItem: _PRESIDING,
    StepItem: _PRESIDING,
    SetItemDone: _PRESIDING,
    AddItem: _PRESIDING,
    MoveItem: _PRESIDING,
    AttachDocument: _PRESIDING,
    SetFollow: frozenset({Role.CHAIR}),
    AllowConfidentialOnDisplay: frozenset({Role.CHAIR}),
    Announce: _PRESIDING,
    MessageSeat: _PRESIDING,
    LockScreens: _PRESIDING,
    RequestService: _MEMBERS,
    ResolveService: _PRESIDING,
    RequestFloor: _MEMBERS,
    WithdrawFloor: _MEMBERS,
    GrantFloor: frozenset({Role.CHAIR}),
    EndSpeech: frozenset({Role.CHAIR}),
    ReorderQueue: frozenset({Role.CHAIR}),
    SetSpeakingLimit: frozenset({Role.CHAIR}),
    # The chair only: ending the meeting is the presiding officer's act, as opening and
    # closing a poll is; a clerk prepares it (closes service calls) but does not decide it.
    CloseMeeting: frozenset({Role.CHAIR}),
}
