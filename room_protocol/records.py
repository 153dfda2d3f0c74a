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


class UploadState(StrEnum):
    QUEUED = "queued"  # waiting for its turn (or for the archive's first answer)
    UPLOADING = "uploading"
    UPLOADED = "uploaded"  # the archive confirmed every file and the manifest
    RETRYING = "retrying"  # the last attempt failed (``error``); next in ``retry_in_s``
    NOT_CONFIGURED = "not-configured"  # no archive: the record leaves on a USB stick


@register
@dataclass(frozen=True, slots=True)
class RecordUpload(Message):
    """Where a sealed record is on its way to the archive; to the chair and clerks when
    it changes (at most once per MiB sent). ``retry_in_s`` counts from when the room sent
    it, so a tablet's wrong clock does not matter."""

    TYPE: ClassVar[str] = "record.upload"
    meeting_id: str = field(metadata=IDENT)
    state: UploadState
    files_done: int = field(metadata=COUNT)
    files_total: int = field(metadata=COUNT)
    bytes_done: int = field(metadata=COUNT)
    bytes_total: int = field(metadata=COUNT)
    attempts: int = field(default=0, metadata=COUNT)
    error: str = field(default="", metadata=TEXT)
    retry_in_s: int = field(default=0, metadata=COUNT)
