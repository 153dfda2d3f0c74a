"""What the room itself tells the chair, the clerks and the room display (``room.notice``):
the result of a USB stick (a meeting package imported or rejected, records exported),
and the room's disk refusing writes and coming back.

The room's own programs (the USB watcher) raise these through ``room-server notice``,
the server the disk's own; no tablet can send one. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from room_protocol.live import TIME
from room_protocol.messages import COUNT, TEXT, Message, register


class NoticeKind(StrEnum):
    PACKAGE_IMPORTED = "package_imported"  # ``title``: the meeting; ``count``: documents
    # Stored, not made current: ``detail`` names the meeting in session (``title``, ``count``
    # as above); IT staff make it current after the close (``room-server activate``).
    PACKAGE_STORED = "package_stored"
    PACKAGE_REJECTED = "package_rejected"  # ``detail``: why; nothing was stored
    RECORDS_EXPORTED = "records_exported"  # ``count``: records written and verified
    EXPORT_FAILED = "export_failed"  # ``detail``: why; ``count``: records that did verify
    STICK_REJECTED = "stick_rejected"  # not a stick the room reads; ``detail``: why
    STICK_NOT_HANDLED = "stick_not_handled"  # recognised (``detail``: what), not for the room
    # The room's disk is full or cannot be written: changes are refused until it is back
    # (``detail``: the room's words); raised by the server itself, once per outage.
    STORAGE_FAILED = "storage_failed"
    STORAGE_RECOVERED = "storage_recovered"  # changes are saved again


@register
@dataclass(frozen=True, slots=True)
class RoomNotice(Message):
    """Something the room did on its own, for the chair, the clerks and the room display;
    each client words it in its own language from ``kind``, ``title`` and ``count``
    (``detail`` is the room's own words, e.g. why a package was rejected)."""

    TYPE: ClassVar[str] = "room.notice"
    kind: NoticeKind
    at: str = field(metadata=TIME)
    title: str = field(default="", metadata=TEXT)
    count: int = field(default=0, metadata=COUNT)
    detail: str = field(default="", metadata=TEXT)
