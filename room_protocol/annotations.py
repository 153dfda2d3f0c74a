"""Annotations (protocol 5): a member's ink, highlights and notes on a document's pages.

An annotation belongs to the *member* who made it (not the tablet): every tablet the
member signs in on holds the same set. It changes only by operations: an operation names
the annotation (an id its tablet made up), its document and page, a *stamp*, and a patch
of the fields it sets. The state of an annotation is, field by field, the value of the
operation with the highest ``(stamp, device_id)`` that set that field — last writer wins
per field. Applying operations is commutative and idempotent, so two tablets of one member
(a replaced tablet, an offline one) merge without loss whatever order their operations
reach the room in, and an operation sent twice changes nothing the second time.

Stamps are hybrid logical clocks: milliseconds since the epoch shifted left by
:data:`STAMP_COUNTER_BITS`, plus a counter, never smaller than any stamp the tablet has
seen (:func:`next_stamp`). Deleting is a field (``deleted``), so an undo of a delete is a
later operation that sets it back.

Coordinates are PDF points in the page's unrotated space as PyMuPDF gives them (origin at
the top left, y down), so an annotation follows zoom and rotation on every screen.
Geometry by kind: ``ink`` a polyline ``x0, y0, x1, y1, …``; ``highlight`` rectangles
``x0, y0, x1, y1`` one after another (the text lines it covers); ``note`` the point it is
pinned to, ``x, y``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import ClassVar

from room_protocol.live import OP_ID, Request
from room_protocol.messages import COUNT, IDENT, SHA256, TEXT, Message, Role, limits, register

STAMP_COUNTER_BITS = 12  # up to 4,096 operations per millisecond on one tablet
MAX_GEOMETRY = 4_000  # numbers: a 2,000-point ink stroke
MAX_NOTE_TEXT = 2_000  # characters
MAX_OPS_PER_MESSAGE = 500
COORDINATE = limits(minimum=-100_000, maximum=100_000, max_items=MAX_GEOMETRY)
COLOUR_RE = re.compile(r"#[0-9a-f]{6}")
ANNOTATION_ID = limits(max_len=64, pattern=re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}"))

# The tablet's palette; any #rrggbb is accepted on the wire.
COLOURS = ("#d62828", "#1d4ed8", "#15803d", "#111111", "#f5c400", "#7c3aed")
HIGHLIGHT_COLOUR = "#f5c400"


class AnnotationKind(StrEnum):
    INK = "ink"
    HIGHLIGHT = "highlight"
    NOTE = "note"


class Visibility(StrEnum):
    PRIVATE = "private"  # the member's own tablets (and the sealed record) only
    CHAIR = "chair"  # shared with the chair and clerks
    EVERYONE = "everyone"  # every member signed in
    PRESENTER = "presenter"  # the chair's ink on the followed page: every screen, display too


@dataclass(frozen=True, slots=True)
class AnnotationPatch:
    """The fields one operation sets; ``None`` leaves a field as it is."""

    kind: AnnotationKind | None = None
    geometry: tuple[float, ...] | None = field(default=None, metadata=COORDINATE)
    colour: str | None = field(default=None, metadata=limits(pattern=COLOUR_RE))
    width: float | None = field(default=None, metadata=limits(minimum=0.1, maximum=100))
    text: str | None = field(default=None, metadata=limits(max_len=MAX_NOTE_TEXT))
    visibility: Visibility | None = None
    deleted: bool | None = None

    def is_empty(self) -> bool:
        return all(getattr(self, f.name) is None for f in fields(self))


PATCH_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AnnotationPatch))


def patch_json(patch: AnnotationPatch) -> str:
    """A patch as the logs keep it (the room's and the tablet's): the fields it sets, keys
    sorted. (An enum is written as its value: it is a str.)"""
    values = {name: getattr(patch, name) for name in PATCH_FIELDS}
    return json.dumps({k: v for k, v in values.items() if v is not None}, sort_keys=True)


@register
@dataclass(frozen=True, slots=True)
class AnnotationOp(Request):
    """One operation on one of the sender's member's annotations (tablet to room)."""

    TYPE: ClassVar[str] = "annotation.op"
    annotation_id: str = field(metadata=ANNOTATION_ID)
    sha256: str = field(metadata=SHA256)  # the document as imported
    page: int = field(metadata=limits(minimum=0, maximum=100_000))
    stamp: int = field(metadata=COUNT)
    patch: AnnotationPatch


# Operations in one annotation.batch: the room applies a batch as one job of its writer, so
# this bounds how long a page change may wait behind one (32 ink strokes: 10-20 ms).
MAX_BATCH_OPS = 32
MAX_PACE_S = 60.0


@dataclass(frozen=True, slots=True)
class BatchedOp:
    """One operation inside an :class:`AnnotationBatch`: the fields of an
    :class:`AnnotationOp`, with its own op id."""

    op_id: str = field(metadata=OP_ID)
    annotation_id: str = field(metadata=ANNOTATION_ID)
    sha256: str = field(metadata=SHA256)
    page: int = field(metadata=limits(minimum=0, maximum=100_000))
    stamp: int = field(metadata=COUNT)
    patch: AnnotationPatch

    def request(self) -> AnnotationOp:
        return AnnotationOp(
            self.op_id, self.annotation_id, self.sha256, self.page, self.stamp, self.patch
        )

    @classmethod
    def of(cls, op: AnnotationOp) -> BatchedOp:
        return cls(op.op_id, op.annotation_id, op.sha256, op.page, op.stamp, op.patch)


@register
@dataclass(frozen=True, slots=True)
class AnnotationBatch(Request):
    """Several operations in one request (tablet to room): what a tablet sends. Each is
    kept or refused on its own, as if sent alone; the answer is :class:`AnnotationsKept`
    (or an error that refuses them all: ``busy``, ``meeting_closed``, ...)."""

    TYPE: ClassVar[str] = "annotation.batch"
    ops: tuple[BatchedOp, ...] = field(metadata=limits(max_items=MAX_BATCH_OPS))


@dataclass(frozen=True, slots=True)
class OpRefused:
    """One operation of a batch the room did not keep, and why (an ``error`` code)."""

    op_id: str = field(metadata=OP_ID)
    code: str = field(metadata=limits(max_len=32))
    message: str = field(metadata=limits(max_len=1_000))


@register
@dataclass(frozen=True, slots=True)
class AnnotationsKept(Message):
    """The answer to a batch (``op_id`` is the batch's): every operation in it is on disk
    but the ``refused`` ones, which changed nothing."""

    TYPE: ClassVar[str] = "annotation.kept"
    op_id: str = field(metadata=OP_ID)
    refused: tuple[OpRefused, ...] = field(default=(), metadata=limits(max_items=MAX_BATCH_OPS))


@register
@dataclass(frozen=True, slots=True)
class AnnotationPace(Message):
    """How long a tablet gathers its private operations before it sends them in one batch
    (room to tablet, after a sign-in and when the room grows or shrinks): a full room asks
    each tablet for fewer, larger batches. Shared and presenter operations go at once."""

    TYPE: ClassVar[str] = "annotation.pace"
    seconds: float = field(metadata=limits(minimum=0, maximum=MAX_PACE_S))


@dataclass(frozen=True, slots=True)
class OpRecord:
    """An operation as the room kept it: who made it and on which tablet."""

    op_id: str = field(metadata=OP_ID)
    device_id: str = field(metadata=IDENT)
    author_id: str = field(metadata=IDENT)
    annotation_id: str = field(metadata=ANNOTATION_ID)
    sha256: str = field(metadata=SHA256)
    page: int = field(metadata=limits(minimum=0, maximum=100_000))
    stamp: int = field(metadata=COUNT)
    patch: AnnotationPatch


@register
@dataclass(frozen=True, slots=True)
class AnnotationOps(Message):
    """The signed-in member's own operations, for their other tablets: all of them after a
    sign-in (in messages of at most :data:`MAX_OPS_PER_MESSAGE`, ``last`` on the final
    one), then each new one as the room commits it."""

    TYPE: ClassVar[str] = "annotation.ops"
    ops: tuple[OpRecord, ...] = field(metadata=limits(max_items=MAX_OPS_PER_MESSAGE))
    last: bool = True


@dataclass(frozen=True, slots=True)
class Annotation:
    """An annotation's state: the fold of its operations."""

    annotation_id: str = field(metadata=ANNOTATION_ID)
    author_id: str = field(metadata=IDENT)
    sha256: str = field(metadata=SHA256)
    page: int = field(metadata=limits(minimum=0, maximum=100_000))
    kind: AnnotationKind = AnnotationKind.INK
    geometry: tuple[float, ...] = field(default=(), metadata=COORDINATE)
    colour: str = field(default=COLOURS[0], metadata=limits(pattern=COLOUR_RE))
    width: float = field(default=2.0, metadata=limits(minimum=0.1, maximum=100))
    text: str = field(default="", metadata=limits(max_len=MAX_NOTE_TEXT))
    visibility: Visibility = Visibility.PRIVATE
    deleted: bool = False
    author_name: str = field(default="", metadata=TEXT)  # filled in for shared ones
    stamp: int = field(default=0, metadata=COUNT)  # the newest operation folded in


@register
@dataclass(frozen=True, slots=True)
class SharedAnnotations(Message):
    """Other members' annotations this tablet may show (shared with it, or presenter ink).
    ``replace``: the whole set after a sign-in or a meeting change (in parts, ``replace``
    on the first); otherwise changes, where a deleted or no longer shared annotation comes
    with ``deleted`` set and is removed."""

    TYPE: ClassVar[str] = "annotation.shared"
    annotations: tuple[Annotation, ...] = field(metadata=limits(max_items=MAX_OPS_PER_MESSAGE))
    replace: bool = False


def next_stamp(now_ms: int, last: int) -> int:
    """A stamp later than ``last`` and no earlier than the clock (a hybrid logical clock)."""
    return max(now_ms << STAMP_COUNTER_BITS, last + 1)


def stamp_ms(stamp: int) -> int:
    return stamp >> STAMP_COUNTER_BITS


@dataclass(slots=True)
class _Folded:
    annotation: Annotation
    winners: dict[str, tuple[int, str]]  # field -> (stamp, device_id) of the value kept


class AnnotationSet:
    """Annotations folded from operations, last writer wins per field (pure, in memory)."""

    def __init__(self) -> None:
        self._by_id: dict[tuple[str, str], _Folded] = {}

    def apply(self, op: OpRecord) -> Annotation | None:
        """Fold one operation in; the annotation if it changed, else None. An operation for
        an id already on another document, page or author is refused (``ValueError``)."""
        key = (op.author_id, op.annotation_id)
        folded = self._by_id.get(key)
        if folded is None:
            folded = _Folded(Annotation(op.annotation_id, op.author_id, op.sha256, op.page), {})
            self._by_id[key] = folded
        current = folded.annotation
        if (current.sha256, current.page) != (op.sha256, op.page):
            raise ValueError(
                f"annotation {op.annotation_id} is on page {current.page + 1} of "
                f"{current.sha256[:12]}…, not page {op.page + 1} of {op.sha256[:12]}…"
            )
        order = (op.stamp, op.device_id)
        changes: dict[str, object] = {}
        for name in PATCH_FIELDS:
            value = getattr(op.patch, name)
            if value is None:
                continue
            if folded.winners.get(name, (-1, "")) < order:
                folded.winners[name] = order
                changes[name] = value
        stamp = max(current.stamp, op.stamp)
        if not changes and stamp == current.stamp:
            return None
        folded.annotation = replace(current, stamp=stamp, **changes)  # type: ignore[arg-type]
        return folded.annotation

    def get(self, author_id: str, annotation_id: str) -> Annotation | None:
        folded = self._by_id.get((author_id, annotation_id))
        return folded.annotation if folded else None

    def annotations(self) -> list[Annotation]:
        """Every annotation, deleted ones included, in a stable order."""
        return sorted(
            (f.annotation for f in self._by_id.values()),
            key=lambda a: (a.sha256, a.page, a.stamp, a.author_id, a.annotation_id),
        )

    def __len__(self) -> int:
        return len(self._by_id)


# Who may send what: a member annotates; presenter ink is the chair's (checked by the room).
ALLOWED: dict[type[Request], frozenset[Role]] = {
    AnnotationOp: frozenset({Role.CHAIR, Role.CLERK, Role.DELEGATE}),
    AnnotationBatch: frozenset({Role.CHAIR, Role.CLERK, Role.DELEGATE}),
}
