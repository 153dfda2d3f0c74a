"""Announcements, messages to a seat and service calls."""

from __future__ import annotations

from typing import Any

from room_protocol.live import Announcement
from room_server.store import Store, utc_now


def keep_message(store: Store, meeting_id: str, message: Announcement) -> None:
    store.conn.execute(
        "INSERT INTO messages (id, meeting_id, text, sender, to_seat, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (message.id, meeting_id, message.text, message.sender, message.to_seat, message.at),
    )


def latest_announcement(store: Store, meeting_id: str) -> Announcement | None:
    """The meeting's last announcement to everyone (not a message to a seat)."""
    row = store.conn.execute(
        "SELECT id, text, sender, at FROM messages WHERE meeting_id = ? AND to_seat IS NULL "
        "ORDER BY at DESC, rowid DESC LIMIT 1",
        (meeting_id,),
    ).fetchone()
    return None if row is None else Announcement(row[0], row[1], row[2], row[3])


def open_service_calls(store: Store, meeting_id: str) -> list[dict[str, Any]]:
    return store.rows(
        "SELECT * FROM service_calls WHERE meeting_id = ? AND resolved_at IS NULL ORDER BY at",
        meeting_id,
    )


def add_service_call(
    store: Store,
    meeting_id: str,
    call_id: str,
    kind: str,
    text: str,
    delegate_id: str | None,
    seat_id: str | None,
) -> None:
    store.conn.execute(
        "INSERT INTO service_calls (id, meeting_id, kind, text, delegate_id, seat_id, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (call_id, meeting_id, kind, text, delegate_id, seat_id, utc_now()),
    )


def resolve_service_call(store: Store, meeting_id: str, call_id: str) -> bool:
    changed = store.conn.execute(
        "UPDATE service_calls SET resolved_at = ? WHERE id = ? AND meeting_id = ? "
        "AND resolved_at IS NULL",
        (utc_now(), call_id, meeting_id),
    ).rowcount
    return bool(changed)
