"""What a validated meeting package holds: ``MeetingPackage`` and its parts.

Frozen plain values, built only once every check has passed; the importer stores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from room_protocol.voting import PollSpec, QuorumRule, Seating


@dataclass(frozen=True, slots=True)
class SlowPage:
    page: int  # 1-based
    seconds: float  # to draw at tablet size; with overran, the limit it went past
    overran: bool = False


@dataclass(frozen=True, slots=True)
class PackageDocument:
    id: str
    title: str
    file: str
    confidential: bool
    sha256: str
    size: int  # bytes
    pages: int
    source: Path  # readable file with the bytes: in the folder, or in the extraction dir
    removed: tuple[tuple[str, int], ...] = ()  # active content stripped: (kind, places)
    # Who may read a confidential document: delegate ids and roles; both empty: every
    # member of the meeting.
    members: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    repaired: bool = False  # its cross-reference table was rebuilt; stored re-saved
    slow_pages: tuple[SlowPage, ...] = ()  # drawn at import, and slow to draw


@dataclass(frozen=True, slots=True)
class PackageAgendaItem:
    id: str
    number: str
    title: str
    planned_minutes: int | None
    documents: tuple[str, ...]  # document ids
    children: tuple[PackageAgendaItem, ...]


@dataclass(frozen=True, slots=True)
class PackageSeat:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class PackageDelegate:
    id: str
    name: str
    role: str
    seat: str | None
    group: str
    pin: str | None = None  # 4-12 digits; stored only as a salted hash
    badge: str | None = None  # what the badge reader types
    voting: bool = False  # the reader fills it: by default true for role "delegate"
    weight: int = 1  # votes in a weighted poll


@dataclass(frozen=True, slots=True)
class PackageAttendance:
    seating: Seating = Seating.ASSIGNED
    quorum: QuorumRule = QuorumRule.NONE
    quorum_count: int | None = None  # with QuorumRule.FIXED only
    proxies_count: bool = True  # members represented by a proxy count toward the quorum
    max_proxies: int = 1  # proxies one member may hold; 0: no proxies
    badge_and_pin: bool = False  # voting members sign in with their badge and their PIN


@dataclass(frozen=True, slots=True)
class PackageProxy:
    giver: str  # the absent member's delegate id
    holder: str  # the member who votes for them


@dataclass(frozen=True, slots=True)
class PackagePollTemplate:
    id: str
    spec: PollSpec  # normalised; title is the template's label; no options unless yes/no


@dataclass(frozen=True, slots=True)
class PackagePoll:
    id: str
    spec: PollSpec  # normalised, template applied
    template: str | None


@dataclass(frozen=True, slots=True)
class MeetingPackage:
    meeting_id: str
    title: str
    date: str  # YYYY-MM-DD
    location: str
    start_time: str | None  # HH:MM
    documents: tuple[PackageDocument, ...]
    agenda: tuple[PackageAgendaItem, ...]
    seats: tuple[PackageSeat, ...]
    delegates: tuple[PackageDelegate, ...]
    manifest_name: str
    attendance: PackageAttendance = PackageAttendance()
    proxies: tuple[PackageProxy, ...] = ()
    poll_templates: tuple[PackagePollTemplate, ...] = ()
    polls: tuple[PackagePoll, ...] = ()
