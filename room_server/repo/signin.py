"""Sign-ins (who is signed in on which tablet, by the hash of its resume token), the
roster's secrets, failed sign-ins and the locks they caused, and the record of answered
requests (op ids), and the members' keys for their tablets' caches of confidential
documents."""

from __future__ import annotations

from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from room_server.rules.signin import EarlierFailures, FailureLimits
from room_server.store import Store, utc_now

MEMBER = "member"  # sign_in_locks.scope
DEVICE = "device"
_SWEEP_ALERT_KEY = "sign_in_sweep_alert_ts"  # room_meta


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


def token_hash(token: str) -> str:
    """What the database keeps of a resume token: its sha256 (a token is 192 random bits)."""
    return sha256(token.encode()).hexdigest()


def start(
    store: Store,
    meeting_id: str,
    delegate_id: str,
    seat_id: str | None,
    client_id: str,
    op_id: str,
    token: str,
) -> None:
    """Record a sign-in made by request ``op_id``; it replaces the member's and this
    tablet's earlier ones."""
    store.conn.execute(
        "DELETE FROM sign_ins WHERE meeting_id = ? AND (delegate_id = ? OR client_id = ?)",
        (meeting_id, delegate_id, client_id),
    )
    store.conn.execute(
        "INSERT INTO sign_ins (token_hash, meeting_id, delegate_id, seat_id, client_id, op_id, "
        "signed_in_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token_hash(token), meeting_id, delegate_id, seat_id, client_id, op_id, utc_now()),
    )


def end(store: Store, meeting_id: str, delegate_id: str) -> None:
    store.conn.execute(
        "DELETE FROM sign_ins WHERE meeting_id = ? AND delegate_id = ?", (meeting_id, delegate_id)
    )


def end_device(store: Store, client_id: str) -> int:
    """End every sign-in on this device (it is revoked); how many there were."""
    cursor = store.conn.execute("DELETE FROM sign_ins WHERE client_id = ?", (client_id,))
    return cursor.rowcount


def by_token(store: Store, meeting_id: str, token: str, client_id: str) -> dict[str, Any] | None:
    """The sign-in this device was given ``token`` for: a token copied to another device
    finds nothing."""
    return store.row(
        "SELECT delegate_id, seat_id FROM sign_ins "
        "WHERE token_hash = ? AND meeting_id = ? AND client_id = ?",
        token_hash(token),
        meeting_id,
        client_id,
    )


def renew_token(
    store: Store, meeting_id: str, client_id: str, op_id: str, token: str
) -> str | None:
    """The sign-in request ``op_id`` of this tablet made, if it still holds, gets ``token``
    as its new resume token (the old one cannot be recovered from its hash); its member."""
    row = store.row(
        "SELECT delegate_id FROM sign_ins WHERE meeting_id = ? AND client_id = ? AND op_id = ?",
        meeting_id,
        client_id,
        op_id,
    )
    if row is None:
        return None
    store.conn.execute(
        "UPDATE sign_ins SET token_hash = ? WHERE meeting_id = ? AND client_id = ? AND op_id = ?",
        (token_hash(token), meeting_id, client_id, op_id),
    )
    return str(row["delegate_id"])


# --- answered requests ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recorded:
    """A request already answered: its answer, its kind and whether it was applied."""

    response: str
    kind: str
    ok: bool


def recorded_answer(store: Store, client_id: str, op_id: str) -> Recorded | None:
    """What this tablet's request ``op_id`` was answered, if it was (only this tablet's)."""
    row = store.row(
        "SELECT response, kind, ok FROM operations WHERE client_id = ? AND op_id = ?",
        client_id,
        op_id,
    )
    if row is None:
        return None
    return Recorded(str(row["response"]), str(row["kind"]), bool(row["ok"]))


def record_answer(
    store: Store,
    client_id: str,
    op_id: str,
    response: str,
    *,
    kind: str,
    ok: bool,
    meeting_id: str | None,
) -> None:
    store.conn.execute(
        "INSERT INTO operations (client_id, op_id, response, at, kind, ok, meeting_id) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (client_id, op_id, response, utc_now(), kind, int(ok), meeting_id),
    )


def forget_answers(store: Store, meeting_id: str) -> int:
    """Drop the record of the requests answered in ``meeting_id`` (closed or replaced)."""
    cursor = store.conn.execute("DELETE FROM operations WHERE meeting_id = ?", (meeting_id,))
    return cursor.rowcount


def forget_answers_except(store: Store, meeting_id: str | None) -> int:
    """Drop the record of every request not answered in ``meeting_id`` (the active one)."""
    cursor = store.conn.execute("DELETE FROM operations WHERE meeting_id IS NOT ?", (meeting_id,))
    return cursor.rowcount


# --- failed sign-ins -----------------------------------------------------------------------


def earlier_failures(
    store: Store,
    limits: FailureLimits,
    now: float,
    meeting_id: str,
    delegate_id: str | None,
    client_id: str,
) -> EarlierFailures:
    def count(since: float, where: str, *params: Any) -> int:
        row = store.row(
            f"SELECT count(*) AS n FROM sign_in_failures WHERE at_ts > ?{where}",  # noqa: S608 (fixed clauses below)
            since,
            *params,
        )
        return int(row["n"]) if row else 0

    member = (
        None
        if delegate_id is None
        else count(
            now - limits.member_window_s,
            " AND meeting_id = ? AND delegate_id = ?",
            meeting_id,
            delegate_id,
        )
    )
    alerted = float(store.meta(_SWEEP_ALERT_KEY) or "-inf")
    return EarlierFailures(
        member=member,
        device=count(now - limits.device_window_s, " AND client_id = ?", client_id),
        room=count(now - limits.room_window_s, ""),
        sweep_alerted=now - alerted < limits.room_window_s,
    )


def add_failure(
    store: Store,
    limits: FailureLimits,
    now: float,
    meeting_id: str,
    delegate_id: str | None,
    client_id: str,
) -> None:
    """Count one failed sign-in (and forget those older than every window)."""
    oldest = now - max(limits.member_window_s, limits.device_window_s, limits.room_window_s)
    store.conn.execute("DELETE FROM sign_in_failures WHERE at_ts <= ?", (oldest,))
    store.conn.execute(
        "INSERT INTO sign_in_failures (at_ts, meeting_id, delegate_id, client_id) "
        "VALUES (?, ?, ?, ?)",
        (now, meeting_id, delegate_id, client_id),
    )


def sweep_alerted(store: Store, now: float) -> None:
    store.set_meta(_SWEEP_ALERT_KEY, repr(now))


def clear_member(store: Store, meeting_id: str, delegate_id: str) -> None:
    """The member's failures stop counting against them (they still count room-wide)."""
    store.conn.execute(
        "UPDATE sign_in_failures SET delegate_id = NULL WHERE meeting_id = ? AND delegate_id = ?",
        (meeting_id, delegate_id),
    )


def clear_device(store: Store, client_id: str) -> None:
    """The device's failures stop counting against it (once it has been locked for them)."""
    store.conn.execute(
        "UPDATE sign_in_failures SET client_id = NULL WHERE client_id = ?", (client_id,)
    )


def lock(store: Store, scope: str, meeting_id: str, key: str, until: float) -> None:
    store.conn.execute(
        "INSERT INTO sign_in_locks (scope, meeting_id, key, until_ts) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (scope, meeting_id, key) DO UPDATE SET until_ts = excluded.until_ts",
        (scope, meeting_id, key, until),
    )


def locked_until(store: Store, scope: str, meeting_id: str, key: str) -> float:
    """When the lock ends (0: not locked)."""
    row = store.row(
        "SELECT until_ts FROM sign_in_locks WHERE scope = ? AND meeting_id = ? AND key = ?",
        scope,
        meeting_id,
        key,
    )
    return 0.0 if row is None else float(row["until_ts"])


def drop_cache_keys(store: Store, meeting_id: str) -> None:
    """The members' keys for their tablets' encrypted caches (the meeting was closed)."""
    store.conn.execute("DELETE FROM cache_keys WHERE meeting_id = ?", (meeting_id,))
