"""Annotations: the log of operations the room acknowledged, each annotation's folded
state with its per-field winners, and each member's totals in a meeting."""

from __future__ import annotations

import json
from collections.abc import Iterator

from room_protocol.annotations import Annotation, AnnotationPatch, OpRecord, Visibility
from room_protocol.codec import record_from_json, record_to_json
from room_server.rules.annotations import Totals, Winners
from room_server.store import Store, utc_now


def op_kept(store: Store, device_id: str, op_id: str) -> bool:
    return (
        store.conn.execute(
            "SELECT 1 FROM annotation_ops WHERE device_id = ? AND op_id = ?", (device_id, op_id)
        ).fetchone()
        is not None
    )


def current(store: Store, meeting_id: str, annotation_id: str) -> tuple[Annotation, Winners] | None:
    row = store.conn.execute(
        "SELECT state, winners FROM annotations WHERE meeting_id = ? AND annotation_id = ?",
        (meeting_id, annotation_id),
    ).fetchone()
    if row is None:
        return None
    winners = {k: (int(v[0]), str(v[1])) for k, v in json.loads(row[1]).items()}
    return record_from_json(Annotation, row[0], "annotation"), winners


def totals(store: Store, meeting_id: str, author_id: str) -> Totals:
    row = store.conn.execute(
        "SELECT ops, patch_bytes FROM annotation_totals WHERE meeting_id = ? AND author_id = ?",
        (meeting_id, author_id),
    ).fetchone()
    return Totals(int(row[0]), int(row[1])) if row else Totals()


def keep(
    store: Store,
    meeting_id: str,
    op: OpRecord,
    patch: str,
    annotation: Annotation,
    winners: Winners,
) -> None:
    """Append ``op`` to the log, store the annotation's new state, count it."""
    conn = store.conn
    conn.execute(
        "INSERT INTO annotation_ops (meeting_id, device_id, op_id, author_id, annotation_id, "
        "sha256, page, stamp, patch, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            meeting_id,
            op.device_id,
            op.op_id,
            op.author_id,
            op.annotation_id,
            op.sha256,
            op.page,
            op.stamp,
            patch,
            utc_now(),
        ),
    )
    conn.execute(
        "INSERT INTO annotations (meeting_id, annotation_id, author_id, sha256, page, "
        "visibility, deleted, stamp, state, winners) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (meeting_id, annotation_id) DO UPDATE SET visibility = excluded.visibility, "
        "deleted = excluded.deleted, stamp = excluded.stamp, state = excluded.state, "
        "winners = excluded.winners",
        (
            meeting_id,
            annotation.annotation_id,
            annotation.author_id,
            annotation.sha256,
            annotation.page,
            annotation.visibility.value,
            int(annotation.deleted),
            annotation.stamp,
            record_to_json(annotation),
            json.dumps(winners, sort_keys=True),
        ),
    )
    conn.execute(
        "INSERT INTO annotation_totals (meeting_id, author_id, ops, patch_bytes) "
        "VALUES (?, ?, 1, ?) ON CONFLICT (meeting_id, author_id) DO UPDATE SET "
        "ops = ops + 1, patch_bytes = patch_bytes + excluded.patch_bytes",
        (meeting_id, op.author_id, len(patch.encode())),
    )


def own_ops(store: Store, meeting_id: str, author_id: str) -> Iterator[tuple[OpRecord, int]]:
    """The member's operations in the order the room kept them, each with its patch's size."""
    cursor = store.conn.execute(
        "SELECT op_id, device_id, author_id, annotation_id, sha256, page, stamp, patch "
        "FROM annotation_ops WHERE meeting_id = ? AND author_id = ? ORDER BY seq",
        (meeting_id, author_id),
    )
    for row in cursor:
        patch = record_from_json(AnnotationPatch, row[7], f"annotation op {row[0]}")
        yield OpRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], patch), len(row[7])


def shared(
    store: Store, meeting_id: str, visibilities: tuple[Visibility, ...] | None = None
) -> Iterator[tuple[Annotation, int]]:
    """Annotations shared with someone (not private, not deleted), oldest change first,
    each with the size of its stored state."""
    wanted = visibilities or tuple(v for v in Visibility if v is not Visibility.PRIVATE)
    cursor = store.conn.execute(
        "SELECT state FROM annotations WHERE meeting_id = ? AND visibility <> 'private' "
        "AND NOT deleted AND visibility IN (SELECT value FROM json_each(?)) "
        "ORDER BY stamp, annotation_id",
        (meeting_id, json.dumps([v.value for v in wanted])),
    )
    for (state,) in cursor:
        yield record_from_json(Annotation, state, "annotation"), len(state)
