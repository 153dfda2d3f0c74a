"""Whether a meeting is closed, and closing it."""

from __future__ import annotations

from room_server.store import Store


def closed_at(store: Store, meeting_id: str) -> str | None:
    row = store.row("SELECT closed_at FROM meetings WHERE id = ?", meeting_id)
    return None if row is None else row["closed_at"]


def close(store: Store, meeting_id: str, at: str, by: str | None) -> None:
    store.conn.execute(
        "UPDATE meetings SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL",
        (at, by, meeting_id),
    )


def open_poll_titles(store: Store, meeting_id: str) -> list[str]:
    return [
        str(r["title"] or r["id"])
        for r in store.rows(
            "SELECT id, json_extract(spec, '$.title') AS title FROM polls "
            "WHERE meeting_id = ? AND state = 'open' ORDER BY position",
            meeting_id,
        )
    ]


def forget_answers_but_close(store: Store, meeting_id: str) -> int:
    """Drop the record of the meeting's answered requests (nothing of a closed meeting is
    applied again), but the close's own: a chair who resends it gets its ack again."""
    cursor = store.conn.execute(
        "DELETE FROM operations WHERE meeting_id = ? AND kind <> 'meeting.close'", (meeting_id,)
    )
    return cursor.rowcount
