"""Every message on the wire, as a frozen dataclass with a type tag.

A message is a JSON object ``{"type": TAG, ...fields}``. Field types are plain: str,
int, float, bool, ``X | None``, ``tuple[X, ...]``, string enums and nested record
dataclasses. Per-field limits live in the field's metadata (see :func:`limits`) so the
codec can check them without a hand-written parser per message.

Connections carry one of two channels (see :class:`Channel`): ``control`` for meeting
state and live updates, ``documents`` for document bytes, so bytes never queue in front
of control messages.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, TypeVar

SHA256_RE = re.compile(r"[0-9a-f]{64}")
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

_MAX_TEXT = 500
_MAX_ID = 64
_MAX_ITEMS = 10_000
MAX_AGENDA_DEPTH = 4  # item, sub-item, sub-sub-item, and one more for congresses


def limits(
    *,
    max_len: int | None = None,
    pattern: re.Pattern[str] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    max_items: int | None = None,
) -> dict[str, Any]:
    """Field metadata the codec enforces on decode (and the dataclass on construction)."""
    meta: dict[str, Any] = {}
    if max_len is not None:
        meta["max_len"] = max_len
    if pattern is not None:
        meta["pattern"] = pattern
    if minimum is not None:
        meta["minimum"] = minimum
    if maximum is not None:
        meta["maximum"] = maximum
    if max_items is not None:
        meta["max_items"] = max_items
    return meta


TEXT = limits(max_len=_MAX_TEXT)
IDENT = limits(max_len=_MAX_ID, pattern=ID_RE)
SHA256 = limits(pattern=SHA256_RE)
COUNT = limits(minimum=0, maximum=2**53)  # JSON-safe integer range
MANY = limits(max_items=_MAX_ITEMS)
IDENTS = limits(pattern=ID_RE, max_items=_MAX_ITEMS)


class Channel(StrEnum):
    CONTROL = "control"
    DOCUMENTS = "documents"
    ENROLL = "enroll"  # a device without a certificate becomes one of the room's


@dataclass(frozen=True, slots=True)
class Message:
    """Base of every message; ``TYPE`` is the tag on the wire."""

    TYPE: ClassVar[str] = ""


_M = TypeVar("_M", bound=type[Message])
REGISTRY: dict[str, type[Message]] = {}


def register(cls: _M) -> _M:
    if not cls.TYPE or cls.TYPE in REGISTRY:
        raise RuntimeError(f"message tag {cls.TYPE!r} is empty or already used")
    REGISTRY[cls.TYPE] = cls
    return cls


# --- records carried inside messages -------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """A document of the meeting, addressed by the sha256 of its bytes."""

    sha256: str = field(metadata=SHA256)
    title: str = field(metadata=TEXT)
    filename: str = field(metadata=TEXT)
    size: int = field(metadata=COUNT)
    pages: int = field(metadata=COUNT)
    confidential: bool = False
    # Who may read a confidential document (delegate ids); empty: every member of the
    # meeting (CONFIDENTIAL_READERS). ``size`` and ``sha256`` are the original's: each
    # reader gets their own watermarked copy (see DocumentBegin.delivered_sha256).
    readers: tuple[str, ...] = field(
        default=(), metadata=limits(pattern=ID_RE, max_items=_MAX_ITEMS)
    )


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """One agenda item; ``children`` are its sub-items, ``documents`` sha256 hashes."""

    id: str = field(metadata=IDENT)
    number: str = field(metadata=limits(max_len=32))
    title: str = field(metadata=TEXT)
    planned_minutes: int | None = field(default=None, metadata=limits(minimum=0, maximum=24 * 60))
    documents: tuple[str, ...] = field(
        default=(), metadata=limits(pattern=SHA256_RE, max_items=500)
    )
    children: tuple[AgendaItem, ...] = field(default=(), metadata=limits(max_items=500))
    done: bool = False
    actual_seconds: int = field(default=0, metadata=COUNT)  # time spent on it so far


class Role(StrEnum):
    CHAIR = "chair"
    CLERK = "clerk"
    DELEGATE = "delegate"
    OBSERVER = "observer"


# Who the room gives a confidential document's bytes to: a member of the meeting signed in
# on the device (an observer, the press or the public gallery, is not one).
CONFIDENTIAL_READERS = frozenset({Role.CHAIR, Role.CLERK, Role.DELEGATE})


def may_read(doc: DocumentInfo, role: Role | None, delegate_id: str | None) -> bool:
    """Whether the member signed in on a device (None: nobody) gets ``doc``'s bytes: any
    device a public document; a confidential one only its readers, or, when it names
    none, every member of the meeting. The server decides; the tablet asks the same."""
    if not doc.confidential:
        return True
    if delegate_id is None:
        return False
    if doc.readers:
        return delegate_id in doc.readers
    return role in CONFIDENTIAL_READERS


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """A member of the meeting as every tablet may see them (never a PIN or badge)."""

    delegate_id: str = field(metadata=IDENT)
    name: str = field(metadata=TEXT)
    role: Role
    seat_id: str | None = field(default=None, metadata=IDENT)
    group: str = field(default="", metadata=TEXT)
    voting: bool = False  # a voting member: counts for quorum and may vote
    weight: int = field(default=1, metadata=limits(minimum=1, maximum=10**9))  # weighted polls


@dataclass(frozen=True, slots=True)
class Notice:
    """Something added during the meeting that tablets should point out (a late document)."""

    id: str = field(metadata=IDENT)
    text: str = field(metadata=TEXT)
    at: str = field(metadata=limits(max_len=40))  # ISO 8601, UTC
    sha256: str | None = field(default=None, metadata=SHA256)
    item_id: str | None = field(default=None, metadata=IDENT)  # the item it joined


@dataclass(frozen=True, slots=True)
class MeetingSnapshot:
    """Everything a tablet needs to show the meeting; ``revision`` grows on every change."""

    meeting_id: str = field(metadata=IDENT)
    title: str = field(metadata=TEXT)
    date: str = field(metadata=limits(max_len=10, pattern=re.compile(r"\d{4}-\d{2}-\d{2}")))
    location: str = field(metadata=TEXT)
    revision: int = field(metadata=COUNT)
    agenda: tuple[AgendaItem, ...] = field(metadata=limits(max_items=2_000))
    documents: tuple[DocumentInfo, ...] = field(metadata=MANY)
    current_item_id: str | None = field(default=None, metadata=IDENT)
    current_started_at: str | None = field(default=None, metadata=limits(max_len=40))
    # On the wire (protocol 9) the roster travels on its own, as ``meeting.roster``, only
    # when it changes: a 2,000-member roster is ~230 kB, sent again with every agenda
    # move it cost seconds of the room's CPU. ``roster_id`` names the roster this state
    # goes with; the client puts the two together (empty: the roster is in ``roster``).
    roster: tuple[RosterEntry, ...] = field(default=(), metadata=MANY)
    roster_id: str = field(default="", metadata=limits(pattern=re.compile(r"(?:[0-9a-f]{64})?")))
    notices: tuple[Notice, ...] = field(default=(), metadata=limits(max_items=200))
    # When the chair closed the meeting (ISO 8601, UTC); None while it is open. A closed
    # meeting takes no more changes; its documents stay readable until another is active.
    closed_at: str | None = field(default=None, metadata=limits(max_len=40))

    def document(self, sha256: str) -> DocumentInfo | None:
        return next((d for d in self.documents if d.sha256 == sha256), None)

    def item(self, item_id: str) -> AgendaItem | None:
        return next((i for _d, i in self.walk() if i.id == item_id), None)

    def member(self, delegate_id: str) -> RosterEntry | None:
        return next((m for m in self.roster if m.delegate_id == delegate_id), None)

    def walk(self) -> list[tuple[int, AgendaItem]]:
        """Agenda items in reading order with their depth (0 for top level)."""
        out: list[tuple[int, AgendaItem]] = []

        def visit(items: tuple[AgendaItem, ...], depth: int) -> None:
            for item in items:
                out.append((depth, item))
                visit(item.children, depth + 1)

        visit(self.agenda, 0)
        return out


# --- client to server ------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class Hello(Message):
    """First message on every connection, from the client."""

    TYPE: ClassVar[str] = "hello"
    protocol_version: int = field(metadata=COUNT)
    channel: Channel
    # For the room's logs only: who a connection is comes from its device certificate.
    client_id: str = field(metadata=IDENT)
    client_name: str = field(default="", metadata=limits(max_len=120))
    resume_token: str | None = field(default=None, metadata=limits(max_len=64), repr=False)


@register
@dataclass(frozen=True, slots=True)
class FetchDocument(Message):
    """Ask for a document's bytes from ``offset`` on (documents channel only)."""

    TYPE: ClassVar[str] = "document.fetch"
    sha256: str = field(metadata=SHA256)
    offset: int = field(default=0, metadata=COUNT)


# --- server to client ------------------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class Welcome(Message):
    """The server's answer to a good ``hello``."""

    TYPE: ClassVar[str] = "welcome"
    protocol_version: int = field(metadata=COUNT)
    room_id: str = field(metadata=IDENT)
    room_name: str = field(metadata=TEXT)
    server_time: str = field(metadata=limits(max_len=40))
    session_id: str = field(metadata=IDENT)
    inactivity_lock_seconds: int = field(default=0, metadata=COUNT)  # 0: never
    # Who the room knows this connection as, from its device certificate (None on the
    # enroll channel): the client_id and seat_id of hello are not trusted.
    device_id: str | None = field(default=None, metadata=IDENT)
    seat_id: str | None = field(default=None, metadata=IDENT)


@register
@dataclass(frozen=True, slots=True)
class MeetingState(Message):
    """The whole current meeting; sent after ``welcome`` and again on every change."""

    TYPE: ClassVar[str] = "meeting.state"
    meeting: MeetingSnapshot | None


@register
@dataclass(frozen=True, slots=True)
class MeetingRoster(Message):
    """The meeting's members, sent before the ``meeting.state`` that names it by
    ``roster_id`` (the sha256 of its members' canonical JSON), after ``welcome`` and
    again only when the roster changes."""

    TYPE: ClassVar[str] = "meeting.roster"
    roster_id: str = field(metadata=SHA256)
    roster: tuple[RosterEntry, ...] = field(metadata=MANY)


def roster_id(roster: tuple[RosterEntry, ...]) -> str:
    """The name of a roster: the same members in the same order give the same name."""
    canonical = json.dumps(
        [dataclasses.astuple(member) for member in roster],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@register
@dataclass(frozen=True, slots=True)
class DocumentBegin(Message):
    """Binary frames follow, in order, carrying bytes ``offset`` .. ``size`` of the file."""

    TYPE: ClassVar[str] = "document.begin"
    sha256: str = field(metadata=SHA256)
    size: int = field(metadata=COUNT)
    offset: int = field(metadata=COUNT)
    chunk_size: int = field(metadata=limits(minimum=1, maximum=16 * 1024 * 1024))
    # A confidential document: the bytes that follow are the reader's own watermarked
    # copy, ``size`` bytes long with this sha256 (not the document's ``sha256``).
    delivered_sha256: str | None = field(default=None, metadata=SHA256)


@register
@dataclass(frozen=True, slots=True)
class DocumentEnd(Message):
    """All bytes of the document were sent; the client checks the sha256 now."""

    TYPE: ClassVar[str] = "document.end"
    sha256: str = field(metadata=SHA256)
    size: int = field(metadata=COUNT)


@register
@dataclass(frozen=True, slots=True)
class ErrorMessage(Message):
    """A refusal: ``code`` is an :class:`~room_protocol.errors.ErrorCode` value."""

    TYPE: ClassVar[str] = "error"
    code: str = field(metadata=limits(max_len=32))
    message: str = field(metadata=limits(max_len=1_000))
    ref: str | None = field(default=None, metadata=limits(max_len=64))
