"""Presence, attendance events, proxies and the roster's voting data."""

from __future__ import annotations

from typing import Any

from room_protocol.voting import AttendanceState, CheckMethod
from room_server import audit
from room_server.rules.attendance import AttendanceSettings, Member, attendance_state
from room_server.store import Store, utc_now


def settings(store: Store, meeting_id: str) -> AttendanceSettings:
    row = store.row("SELECT attendance FROM meetings WHERE id = ?", meeting_id)
    return AttendanceSettings.from_json(row["attendance"] if row else None)


def members(store: Store, meeting_id: str) -> dict[str, Member]:
    """The roster in its order, by id."""
    return {
        r["id"]: Member(r["id"], r["name"], r["seat_id"], bool(r["voting"]), r["weight"])
        for r in store.rows(
            "SELECT id, name, seat_id, voting, weight FROM delegates "
            "WHERE meeting_id = ? ORDER BY position",
            meeting_id,
        )
    }


def member(store: Store, meeting_id: str, delegate_id: str) -> Member | None:
    found = store.conn.execute(
        "SELECT id, name, seat_id, voting, weight FROM delegates WHERE meeting_id = ? AND id = ?",
        (meeting_id, delegate_id),
    ).fetchone()
    return None if found is None else Member(found[0], found[1], found[2], bool(found[3]), found[4])


def is_present(store: Store, meeting_id: str, delegate_id: str) -> bool:
    found = store.conn.execute(
        "SELECT 1 FROM presence WHERE meeting_id = ? AND delegate_id = ?", (meeting_id, delegate_id)
    ).fetchone()
    return found is not None


def holder_of(store: Store, meeting_id: str, giver_id: str) -> str | None:
    found = store.conn.execute(
        "SELECT holder_id FROM proxies WHERE meeting_id = ? AND giver_id = ?",
        (meeting_id, giver_id),
    ).fetchone()
    return None if found is None else str(found[0])


def presence(store: Store, meeting_id: str) -> dict[str, dict[str, Any]]:
    """Who is checked in, in the order they came: delegate id -> seat, method, since."""
    return {
        r["delegate_id"]: r
        for r in store.rows(
            "SELECT * FROM presence WHERE meeting_id = ? ORDER BY since", meeting_id
        )
    }


def present_ids(store: Store, meeting_id: str) -> set[str]:
    return {
        row[0]
        for row in store.conn.execute(
            "SELECT delegate_id FROM presence WHERE meeting_id = ?", (meeting_id,)
        )
    }


def proxies(store: Store, meeting_id: str) -> dict[str, dict[str, Any]]:
    """giver id -> the proxy row (holder, source, when), in the order they were given."""
    return {
        r["giver_id"]: r
        for r in store.rows(
            "SELECT * FROM proxies WHERE meeting_id = ? ORDER BY granted_at, giver_id",
            meeting_id,
        )
    }


def holders(store: Store, meeting_id: str) -> dict[str, str]:
    """giver id -> holder id."""
    return dict(
        store.conn.execute(
            "SELECT giver_id, holder_id FROM proxies WHERE meeting_id = ?", (meeting_id,)
        ).fetchall()
    )


def eligible(store: Store, meeting_id: str) -> int:
    """Voting members present, plus absent ones whose proxy holder is present."""
    row = store.conn.execute(
        "SELECT (SELECT count(*) FROM presence p JOIN delegates d "
        "  ON d.meeting_id = p.meeting_id AND d.id = p.delegate_id "
        "  WHERE p.meeting_id = :m AND d.voting) + "
        "(SELECT count(*) FROM proxies x JOIN presence h "
        "  ON h.meeting_id = x.meeting_id AND h.delegate_id = x.holder_id "
        "  WHERE x.meeting_id = :m AND x.giver_id NOT IN "
        "  (SELECT delegate_id FROM presence WHERE meeting_id = :m))",
        {"m": meeting_id},
    ).fetchone()
    return int(row[0])


def check_in(
    store: Store,
    meeting_id: str,
    delegate_id: str,
    method: CheckMethod,
    seat_id: str | None,
    by: str | None,
) -> bool:
    """Mark a member present (or moved to another seat); True if that changed anything."""
    current = store.row(
        "SELECT seat_id FROM presence WHERE meeting_id = ? AND delegate_id = ?",
        meeting_id,
        delegate_id,
    )
    now = utc_now()
    if current is not None:
        if current["seat_id"] == seat_id or seat_id is None:
            return False
        store.conn.execute(
            "UPDATE presence SET seat_id = ?, method = ? WHERE meeting_id = ? AND delegate_id = ?",
            (seat_id, method.value, meeting_id, delegate_id),
        )
        event = "moved"
    else:
        store.conn.execute(
            "INSERT INTO presence (meeting_id, delegate_id, seat_id, method, since) "
            "VALUES (?, ?, ?, ?, ?)",
            (meeting_id, delegate_id, seat_id, method.value, now),
        )
        event = "check_in"
    _event(store, meeting_id, delegate_id, event, method, seat_id, by, now)
    return True


def check_out(
    store: Store, meeting_id: str, delegate_id: str, method: CheckMethod, by: str | None
) -> bool:
    gone = store.conn.execute(
        "DELETE FROM presence WHERE meeting_id = ? AND delegate_id = ?", (meeting_id, delegate_id)
    ).rowcount
    if gone:
        _event(store, meeting_id, delegate_id, "check_out", method, None, by, utc_now())
    return bool(gone)


def _event(
    store: Store,
    meeting_id: str,
    delegate_id: str,
    event: str,
    method: CheckMethod,
    seat_id: str | None,
    by: str | None,
    at: str,
) -> None:
    store.conn.execute(
        "INSERT INTO attendance_events (meeting_id, delegate_id, event, method, seat_id, "
        "at, by_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (meeting_id, delegate_id, event, method.value, seat_id, at, by),
    )
    audit.append(
        store.conn,
        at=utc_now(),
        meeting_id=meeting_id,
        kind=f"attendance.{event}",
        actor=by or delegate_id,
        data={"member": delegate_id, "method": method.value, "seat": seat_id},
    )


def give_proxy(
    store: Store, meeting_id: str, giver_id: str, holder_id: str, by: str | None
) -> None:
    store.conn.execute(
        "INSERT INTO proxies (meeting_id, giver_id, holder_id, source, granted_at) "
        "VALUES (?, ?, ?, 'clerk', ?) ON CONFLICT (meeting_id, giver_id) DO UPDATE SET "
        "holder_id = excluded.holder_id, source = 'clerk', granted_at = excluded.granted_at",
        (meeting_id, giver_id, holder_id, utc_now()),
    )
    audit.append(
        store.conn,
        at=utc_now(),
        meeting_id=meeting_id,
        kind="attendance.proxy_granted",
        actor=by,
        data={"giver": giver_id, "holder": holder_id},
    )


def take_proxy(store: Store, meeting_id: str, giver_id: str, by: str | None) -> None:
    store.conn.execute(
        "DELETE FROM proxies WHERE meeting_id = ? AND giver_id = ?", (meeting_id, giver_id)
    )
    audit.append(
        store.conn,
        at=utc_now(),
        meeting_id=meeting_id,
        kind="attendance.proxy_revoked",
        actor=by,
        data={"giver": giver_id},
    )


def state(store: Store, meeting_id: str) -> AttendanceState:
    """The meeting's attendance and quorum as it stands in the store."""
    given = proxies(store, meeting_id)
    return attendance_state(
        settings(store, meeting_id),
        members(store, meeting_id),
        presence(store, meeting_id),
        {g: p["holder_id"] for g, p in given.items()},
        {g: p["source"] for g, p in given.items()},
    )
