"""Enrolled devices (tablets and room displays) and the pairing codes that enroll them."""

from __future__ import annotations

from typing import Any

from room_server.store import Store, utc_now


def by_serial(store: Store, serial: str) -> dict[str, Any] | None:
    return store.row("SELECT * FROM devices WHERE serial = ?", serial)


def by_id(store: Store, device_id: str) -> dict[str, Any] | None:
    return store.row("SELECT * FROM devices WHERE device_id = ?", device_id)


def all_devices(store: Store) -> list[dict[str, Any]]:
    return store.rows("SELECT * FROM devices ORDER BY enrolled_at, device_id")


def at_seat(store: Store, seat_id: str) -> str | None:
    """The device (not revoked) that stands at ``seat_id``, if any."""
    row = store.row(
        "SELECT device_id FROM devices WHERE seat_id = ? AND revoked_at IS NULL", seat_id
    )
    return None if row is None else str(row["device_id"])


def add(
    store: Store,
    *,
    device_id: str,
    name: str,
    kind: str,
    seat_id: str | None,
    serial: str,
    fingerprint: str,
    enrolled_by: str,
) -> None:
    store.conn.execute(
        "INSERT INTO devices (device_id, name, kind, seat_id, serial, fingerprint, "
        "enrolled_at, enrolled_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (device_id, name, kind, seat_id, serial, fingerprint, utc_now(), enrolled_by),
    )


def rename(store: Store, device_id: str, name: str) -> bool:
    cursor = store.conn.execute(
        "UPDATE devices SET name = ? WHERE device_id = ?", (name, device_id)
    )
    return cursor.rowcount > 0


def set_seat(store: Store, device_id: str, seat_id: str | None) -> bool:
    cursor = store.conn.execute(
        "UPDATE devices SET seat_id = ? WHERE device_id = ?", (seat_id, device_id)
    )
    return cursor.rowcount > 0


def revoke(store: Store, device_id: str) -> bool:
    cursor = store.conn.execute(
        "UPDATE devices SET revoked_at = ? WHERE device_id = ? AND revoked_at IS NULL",
        (utc_now(), device_id),
    )
    return cursor.rowcount > 0


def add_pairing_code(
    store: Store,
    *,
    secret_hash: str,
    kind: str,
    seat_id: str | None,
    expires_ts: float,
    created_by: str,
) -> None:
    store.conn.execute(
        "INSERT INTO pairing_codes (secret_hash, kind, seat_id, created_at, expires_ts, "
        "created_by) VALUES (?, ?, ?, ?, ?, ?)",
        (secret_hash, kind, seat_id, utc_now(), expires_ts, created_by),
    )


def take_pairing_code(store: Store, secret_hash: str, now_ts: float) -> dict[str, Any] | None:
    """The live code with this secret, used up (deleted); expired codes go too."""
    store.conn.execute("DELETE FROM pairing_codes WHERE expires_ts <= ?", (now_ts,))
    row = store.row("SELECT * FROM pairing_codes WHERE secret_hash = ?", secret_hash)
    if row is not None:
        store.conn.execute("DELETE FROM pairing_codes WHERE secret_hash = ?", (secret_hash,))
    return row


def void_pairing_codes(store: Store) -> int:
    return store.conn.execute("DELETE FROM pairing_codes").rowcount
