"""The speaker queue and the speeches given."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from room_protocol.live import FloorKind
from room_server.rules.floor import Request
from room_server.store import Store, iso_time, utc_now


def queue(store: Store, meeting_id: str) -> list[Request]:
    return [
        Request(r["delegate_id"], FloorKind(r["kind"]), r["requested_at"])
        for r in store.rows(
            "SELECT delegate_id, kind, requested_at FROM floor_queue WHERE meeting_id = ? "
            "ORDER BY position",
            meeting_id,
        )
    ]


def write_queue(store: Store, meeting_id: str, order: Sequence[Request]) -> None:
    store.conn.execute("DELETE FROM floor_queue WHERE meeting_id = ?", (meeting_id,))
    store.conn.executemany(
        "INSERT INTO floor_queue (meeting_id, delegate_id, kind, requested_at, position) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            (meeting_id, r.delegate_id, r.kind.value, r.requested_at or utc_now(), i)
            for i, r in enumerate(order)
        ],
    )


def open_speech(store: Store, meeting_id: str) -> dict[str, Any] | None:
    """The speech going on now, if any."""
    return store.row(
        "SELECT * FROM speeches WHERE meeting_id = ? AND ended_at IS NULL ORDER BY id DESC LIMIT 1",
        meeting_id,
    )


def end_speech(store: Store, speech_id: int, duration_s: float, overran: bool) -> None:
    store.conn.execute(
        "UPDATE speeches SET ended_at = ?, duration_seconds = ?, expired = (expired OR ?) "
        "WHERE id = ?",
        (utc_now(), duration_s, int(overran), speech_id),
    )


def start_speech(
    store: Store,
    meeting_id: str,
    item_id: str | None,
    speaker: Request,
    now: float,
    limit_s: int,
) -> None:
    store.conn.execute(
        "INSERT INTO speeches (meeting_id, item_id, delegate_id, kind, started_at, "
        "started_ts, limit_seconds) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (meeting_id, item_id, speaker.delegate_id, speaker.kind.value, iso_time(now), now, limit_s),
    )


def set_speech_limit(store: Store, speech_id: int, limit_s: int, expired: bool) -> None:
    store.conn.execute(
        "UPDATE speeches SET limit_seconds = ?, expired = ? WHERE id = ?",
        (limit_s, int(expired), speech_id),
    )


def mark_expired(store: Store, speech_id: int) -> bool:
    """The speech's time is up; False if it had ended or was marked already."""
    changed = store.conn.execute(
        "UPDATE speeches SET expired = 1 WHERE id = ? AND ended_at IS NULL AND expired = 0",
        (speech_id,),
    ).rowcount
    return bool(changed)
