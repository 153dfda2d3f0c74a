"""Agenda items, the current item and its timer, attached documents and notices."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from room_server.store import Store, utc_now


def items(store: Store, meeting_id: str) -> list[tuple[str, str | None]]:
    """(item id, parent id) of every item, in position order."""
    return [
        (row[0], row[1])
        for row in store.conn.execute(
            "SELECT id, parent_id FROM agenda_items WHERE meeting_id = ? ORDER BY position",
            (meeting_id,),
        )
    ]


def item(store: Store, meeting_id: str, item_id: str) -> dict[str, Any] | None:
    return store.row(
        "SELECT * FROM agenda_items WHERE meeting_id = ? AND id = ?", meeting_id, item_id
    )


def current(store: Store, meeting_id: str) -> tuple[str | None, float | None]:
    """The current item and when it became current (epoch seconds)."""
    row = store.row(
        "SELECT current_item_id, current_started_ts FROM meetings WHERE id = ?", meeting_id
    )
    return (row["current_item_id"], row["current_started_ts"]) if row else (None, None)


def make_current(
    store: Store, meeting_id: str, item_id: str | None, now: float, time_spent: float | None
) -> None:
    """``item_id`` is current from ``now``; the previous one gets ``time_spent`` seconds."""
    previous, _ = current(store, meeting_id)
    if previous is not None and time_spent is not None:
        store.conn.execute(
            "UPDATE agenda_items SET actual_seconds = actual_seconds + ? "
            "WHERE meeting_id = ? AND id = ?",
            (time_spent, meeting_id, previous),
        )
    store.conn.execute(
        "UPDATE meetings SET current_item_id = ?, current_started_ts = ? WHERE id = ?",
        (item_id, now if item_id else None, meeting_id),
    )


def set_done(store: Store, meeting_id: str, item_id: str, done: bool) -> None:
    store.conn.execute(
        "UPDATE agenda_items SET done = ? WHERE meeting_id = ? AND id = ?",
        (int(done), meeting_id, item_id),
    )


def insert(
    store: Store,
    meeting_id: str,
    item_id: str,
    parent_id: str | None,
    title: str,
    planned_minutes: int | None,
) -> None:
    store.conn.execute(
        "INSERT INTO agenda_items (meeting_id, id, parent_id, position, number, title, "
        "planned_minutes) VALUES (?, ?, ?, 0, '', ?, ?)",
        (meeting_id, item_id, parent_id, title, planned_minutes),
    )


def place(store: Store, meeting_id: str, parent_id: str | None, order: Sequence[str]) -> None:
    """Put ``order`` under ``parent_id`` in that order."""
    store.conn.executemany(
        "UPDATE agenda_items SET parent_id = ?, position = ? WHERE meeting_id = ? AND id = ?",
        [(parent_id, i, meeting_id, item_id) for i, item_id in enumerate(order)],
    )


def set_numbers(store: Store, meeting_id: str, numbers: Sequence[tuple[str, str]]) -> None:
    store.conn.executemany(
        "UPDATE agenda_items SET number = ? WHERE meeting_id = ? AND id = ?",
        [(number, meeting_id, item_id) for number, item_id in numbers],
    )


def document(store: Store, meeting_id: str, sha256: str) -> dict[str, Any] | None:
    return store.row(
        "SELECT id, title FROM documents WHERE meeting_id = ? AND sha256 = ?", meeting_id, sha256
    )


def is_attached(store: Store, meeting_id: str, item_id: str, document_id: str) -> bool:
    return (
        store.row(
            "SELECT 1 AS x FROM agenda_documents WHERE meeting_id = ? AND item_id = ? "
            "AND document_id = ?",
            meeting_id,
            item_id,
            document_id,
        )
        is not None
    )


def attach(store: Store, meeting_id: str, item_id: str, document_id: str) -> None:
    store.conn.execute(
        "INSERT OR IGNORE INTO agenda_documents (meeting_id, item_id, document_id, position) "
        "VALUES (?, ?, ?, (SELECT coalesce(max(position), -1) + 1 FROM agenda_documents "
        "WHERE meeting_id = ? AND item_id = ?))",
        (meeting_id, item_id, document_id, meeting_id, item_id),
    )


def add_notice(
    store: Store, meeting_id: str, notice_id: str, text: str, sha256: str, item_id: str
) -> None:
    store.conn.execute(
        "INSERT INTO notices (meeting_id, id, text, at, sha256, item_id) VALUES (?, ?, ?, ?, ?, ?)",
        (meeting_id, notice_id, text, utc_now(), sha256, item_id),
    )
