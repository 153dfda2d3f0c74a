"""Messages about a closed meeting's record: how its build goes (``record.progress``).

The room builds the record of a meeting after the chair closed it, in the background;
the chair and clerks see its progress, then its final state (``sealed`` or ``failed``)
and, later, whether the archive has it. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar

from room_protocol.messages import COUNT, IDENT, TEXT, Message, register


class RecordState(StrEnum):
    BUILDING = "building"
    SEALED = "sealed"  # every file written, the folder in place: the record exists
    FAILED = "failed"  # ``text`` says why; the room tries again when it next starts


@register
@dataclass(frozen=True, slots=True)
class RecordProgress(Message):
    """Where the build of ``meeting_id``'s record is: ``done`` of ``total`` steps of the
    current ``stage``; to the chair and clerks, at most a few times a second."""

    TYPE: ClassVar[str] = "record.progress"
    meeting_id: str = field(metadata=IDENT)
    state: RecordState
    stage: str = field(metadata=IDENT)  # the build step, e.g. "contents", "seal"
    done: int = field(metadata=COUNT)
    total: int = field(metadata=COUNT)
    text: str = field(default="", metadata=TEXT)  # what is being written, or why it failed
