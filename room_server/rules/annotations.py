"""Annotations: whose an annotation is, who may share how, the room's limits per member,
who sees a shared annotation, and the fold of one operation into an annotation's state.

The fold is the rule of :class:`room_protocol.annotations.AnnotationSet` (last writer wins
per field by ``(stamp, device_id)``) over one annotation and its per-field winners, so the
room keeps the state of each annotation without folding its whole log again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from room_protocol.annotations import PATCH_FIELDS, Annotation, OpRecord, Visibility
from room_protocol.errors import ErrorCode
from room_server.rules import Refusal

Winners = dict[str, tuple[int, str]]  # field -> (stamp, device_id) of the value kept


@dataclass(frozen=True, slots=True)
class AnnotationLimits:
    max_per_member: int = 5_000  # operations of one member in one meeting
    max_bytes_per_member: int = 4 * 1024 * 1024  # bytes of their patches as JSON
    # The whole room: operations taken per second (and at once above that); beyond, a
    # tablet is told ``busy`` and keeps the operation to send again, so strokes never
    # crowd out page changes and ballots (docs/performance.md: ~650/s is one core's).
    ops_per_second: float = 300.0
    ops_burst: int = 600
    # Batches a second the whole room asks for: each tablet is told to gather its private
    # operations for (control connections / this) seconds (``annotation.pace``).
    batches_per_second: float = 250.0


@dataclass(frozen=True, slots=True)
class Totals:
    ops: int = 0
    patch_bytes: int = 0


def check_limits(totals: Totals, patch_bytes: int, limits: AnnotationLimits) -> None:
    """One more operation of ``patch_bytes`` must keep the member within the limits."""
    if totals.ops + 1 > limits.max_per_member:
        raise Refusal(
            ErrorCode.ANNOTATION_LIMIT,
            f"you have reached the room's limit of {limits.max_per_member} annotation "
            "changes in this meeting; this one was not kept",
        )
    if totals.patch_bytes + patch_bytes > limits.max_bytes_per_member:
        used = totals.patch_bytes / 1024
        raise Refusal(
            ErrorCode.ANNOTATION_LIMIT,
            f"your annotations in this meeting would exceed the room's limit of "
            f"{limits.max_bytes_per_member // 1024} KiB ({used:.0f} KiB used, this change "
            f"{patch_bytes / 1024:.1f} KiB); this one was not kept",
        )


def check_visibility(visibility: Visibility | None, presiding: bool) -> None:
    """Presenter ink is the chair's and clerks': it goes to every screen."""
    if visibility is Visibility.PRESENTER and not presiding:
        raise Refusal(ErrorCode.FORBIDDEN, "only the chair and clerks may draw presenter ink")


def check_owner(current: Annotation | None, author_id: str) -> None:
    """An annotation id belongs to the member whose operation made it."""
    if current is not None and current.author_id != author_id:
        raise Refusal(
            ErrorCode.FORBIDDEN,
            f"annotation {current.annotation_id} is another member's; only its author changes it",
        )


def check_place(current: Annotation | None, sha256: str, page: int) -> None:
    """An annotation stays on the document and page it was made on."""
    if current is not None and (current.sha256, current.page) != (sha256, page):
        raise Refusal(
            ErrorCode.BAD_FIELD,
            f"annotation {current.annotation_id} is on page {current.page + 1} of "
            f"{current.sha256[:12]}…, not page {page + 1} of {sha256[:12]}…",
        )


def fold(current: Annotation | None, winners: Winners, op: OpRecord) -> tuple[Annotation, bool]:
    """``op`` folded into ``current`` (None: a new annotation); ``winners`` is updated in
    place. True if the annotation changed."""
    if current is None:
        current = Annotation(op.annotation_id, op.author_id, op.sha256, op.page)
    order = (op.stamp, op.device_id)
    changes: dict[str, object] = {}
    for name in PATCH_FIELDS:
        value = getattr(op.patch, name)
        if value is None:
            continue
        if winners.get(name, (-1, "")) < order:
            winners[name] = order
            changes[name] = value
    stamp = max(current.stamp, op.stamp)
    if not changes and stamp == current.stamp:
        return current, False
    return replace(current, stamp=stamp, **changes), True  # type: ignore[arg-type]


def may_see(annotation: Annotation | None, *, member_id: str | None, presiding: bool) -> bool:
    """Whether a screen gets ``annotation`` as a shared one: ``member_id`` is who is signed
    in on it (None: nobody, or the room display). The author's own tablets get their
    operations instead, never this."""
    if annotation is None or annotation.deleted or annotation.author_id == member_id:
        return False
    if annotation.visibility is Visibility.PRESENTER:
        return True  # every screen, the room display too
    if annotation.visibility is Visibility.EVERYONE:
        return member_id is not None
    if annotation.visibility is Visibility.CHAIR:
        return member_id is not None and presiding
    return False


def tombstone(annotation: Annotation) -> Annotation:
    """What a screen that had a shared annotation gets when it may no longer show it: the
    id and place only, nothing of what it now says."""
    return Annotation(
        annotation.annotation_id,
        annotation.author_id,
        annotation.sha256,
        annotation.page,
        kind=annotation.kind,
        visibility=Visibility.PRIVATE,
        deleted=True,
        author_name=annotation.author_name,
        stamp=annotation.stamp,
    )
