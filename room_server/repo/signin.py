"""Sign-ins (who is signed in on which tablet, by resume token) and the roster's secrets."""

from __future__ import annotations

from typing import Any

from room_server.store import Store, utc_now


def pin_hash(store: Store, meeting_id: str, delegate_id: str) -> dict[str, Any] | None:
    """The member's row with its PIN hash (None: not on the roster)."""
    return store.row(
        "SELECT pin_hash FROM delegates WHERE meeting_id = ? AND id = ?", meeting_id, delegate_id
    )


def member_by_badge(store: Store, meeting_id: str, badge_hash: str) -> str | None:
    row = store.row(
        "SELECT id FROM delegates WHERE meeting_id = ? AND badge_hash = ?", meeting_id, badge_hash
    )
    return None if row is None else str(row["id"])


def start(
    store: Store, meeting_id: str, delegate_id: str, seat_id: str | None, client_id: str, token: str
) -> None:
    """Record a sign-in; it replaces the member's and this tablet's earlier ones."""
    store.conn.execute(
        "DELETE FROM sign_ins WHERE meeting_id = ? AND (delegate_id = ? OR client_id = ?)",
        (meeting_id, delegate_id, client_id),
    )
    store.conn.execute(
        "INSERT INTO sign_ins (token, meeting_id, delegate_id, seat_id, client_id, "
        "signed_in_at) VALUES (?, ?, ?, ?, ?, ?)",
        (token, meeting_id, delegate_id, seat_id, client_id, utc_now()),
    )


def end(store: Store, meeting_id: str, delegate_id: str | None) -> None:
    store.conn.execute(
        "DELETE FROM sign_ins WHERE meeting_id = ? AND delegate_id = ?", (meeting_id, delegate_id)
    )


def by_token(store: Store, meeting_id: str, token: str) -> dict[str, Any] | None:
    return store.row(
        "SELECT delegate_id, seat_id FROM sign_ins WHERE token = ? AND meeting_id = ?",
        token,
        meeting_id,
    )


def token_of_client(store: Store, meeting_id: str, client_id: str) -> str | None:
    row = store.row(
        "SELECT token FROM sign_ins WHERE client_id = ? AND meeting_id = ?", client_id, meeting_id
    )
    return None if row is None else str(row["token"])


def recorded_answer(store: Store, client_id: str, op_id: str) -> str | None:
    """The answer already given to this tablet's request ``op_id``, if any."""
    row = store.row(
        "SELECT response FROM operations WHERE client_id = ? AND op_id = ?", client_id, op_id
    )
    return None if row is None else str(row["response"])


def record_answer(store: Store, client_id: str, op_id: str, response: str) -> None:
    store.conn.execute(
        "INSERT INTO operations (client_id, op_id, response, at) VALUES (?, ?, ?, ?)",
        (client_id, op_id, response, utc_now()),
    )
