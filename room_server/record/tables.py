"""What the record says about a meeting, read from the room database into plain data.

Everything here reads through one read-only connection and returns JSON-ready dicts and
lists in a fixed order, so the same database always gives the same record. Secret polls
give their totals only: ``secret_slots``, ``secret_ballots``, ``ballot_ids`` are never
read, and ``secret_voters`` only as a sorted list of who took part.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from room_protocol.codec import record_from_json, record_to_json
from room_protocol.voting import PollResult, PollSpec
from room_server.store import connect, iso_time

RECORD_FORMAT = 1


class MeetingNotFound(LookupError):
    """The database has no meeting with this id."""


@contextmanager
def read_only(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A connection to the room database that cannot write (the server's writer runs on)."""
    if not db_path.is_file():
        raise FileNotFoundError(f"{db_path}: no room database here")
    conn = connect(db_path)
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.row_factory = sqlite3.Row
        conn.execute("BEGIN")  # one snapshot for the whole read
        yield conn
    finally:
        conn.close()


def _rows(conn: sqlite3.Connection, sql: str, *params: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(sql, params).fetchall()]


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    name: str
    role: str
    group: str
    seat: str | None
    voting: bool
    weight: int


@dataclass(frozen=True, slots=True)
class MeetingRecord:
    """The whole meeting as the record files show it (see contents.py for the files)."""

    meeting: dict[str, Any]
    agenda: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    members: list[Member]
    register: list[dict[str, Any]]
    attendance_events: list[dict[str, Any]]
    proxies: list[dict[str, Any]]
    proxy_events: list[dict[str, Any]]
    polls: list[dict[str, Any]]
    speeches: list[dict[str, Any]]
    messages: dict[str, list[dict[str, Any]]]

    def name_of(self, member_id: str | None) -> str:
        for m in self.members:
            if m.id == member_id:
                return m.name
        return member_id or ""

    def items(self) -> Iterator[dict[str, Any]]:
        """Every agenda item, depth first in agenda order."""

        def walk(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            for item in items:
                yield item
                yield from walk(item["items"])

        return walk(self.agenda)


def read_meeting(conn: sqlite3.Connection, meeting_id: str) -> MeetingRecord:
    row = conn.execute("SELECT * FROM meetings WHERE id = ?", (meeting_id,)).fetchone()
    if row is None:
        raise MeetingNotFound(f"no meeting {meeting_id!r} in the room database")
    meeting_row = dict(row)
    members = [
        Member(
            r["id"],
            r["name"],
            r["role"],
            r["group_name"],
            r["seat_id"],
            bool(r["voting"]),
            r["weight"],
        )
        for r in _rows(
            conn, "SELECT * FROM delegates WHERE meeting_id = ? ORDER BY position", meeting_id
        )
    ]
    documents = _documents(conn, meeting_id)
    events = _rows(
        conn,
        "SELECT delegate_id AS member, event, method, seat_id AS seat, at, by_id AS by "
        "FROM attendance_events WHERE meeting_id = ? ORDER BY id",
        meeting_id,
    )
    audit = _rows(
        conn,
        "SELECT seq, at, kind, actor, data FROM audit_log WHERE meeting_id = ? ORDER BY seq",
        meeting_id,
    )
    closed_at = meeting_row.get("closed_at") if "closed_at" in _columns(conn, "meetings") else None
    meeting = {
        "id": meeting_row["id"],
        "title": meeting_row["title"],
        "date": meeting_row["date"],
        "location": meeting_row["location"],
        "start_time": meeting_row["start_time"],
        "package": meeting_row["manifest_name"],
        "imported_at": meeting_row["imported_at"],
        "first_check_in_at": next((e["at"] for e in events if e["event"] == "check_in"), None),
        "closed_at": closed_at,
        # what the record's fixed times (PDF dates) are: the close, or the last event
        "record_time": closed_at or (audit[-1]["at"] if audit else meeting_row["imported_at"]),
        "current_item_id": meeting_row["current_item_id"],
        "current_item_since": (
            iso_time(meeting_row["current_started_ts"])
            if meeting_row["current_started_ts"] is not None
            else None
        ),
    }
    presence = {
        r["delegate_id"]: r
        for r in _rows(conn, "SELECT * FROM presence WHERE meeting_id = ?", meeting_id)
    }
    proxies = _rows(
        conn,
        "SELECT giver_id AS giver, holder_id AS holder, source, granted_at AS at "
        "FROM proxies WHERE meeting_id = ? ORDER BY granted_at, giver_id",
        meeting_id,
    )
    return MeetingRecord(
        meeting=meeting,
        agenda=_agenda(conn, meeting_id, meeting_row["current_item_id"]),
        documents=documents,
        members=members,
        register=_register(members, events, presence, proxies),
        attendance_events=events,
        proxies=proxies,
        proxy_events=[
            {"at": e["at"], "kind": e["kind"].removeprefix("attendance."), "by": e["actor"]}
            | json.loads(e["data"])
            for e in audit
            if e["kind"] in ("attendance.proxy_granted", "attendance.proxy_revoked")
        ],
        polls=_polls(conn, meeting_id, audit),
        speeches=_speeches(conn, meeting_id),
        messages=_messages(conn, meeting_id),
    )


def _documents(conn: sqlite3.Connection, meeting_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": r["id"],
            "title": r["title"],
            "filename": r["filename"],
            "sha256": r["sha256"],
            "size": r["size"],
            "pages": r["pages"],
            "confidential": bool(r["confidential"]),
            "file": f"documents/{r['id']}.pdf",
        }
        for r in _rows(
            conn,
            "SELECT d.*, b.size, b.pages FROM documents d JOIN blobs b USING (sha256) "
            "WHERE d.meeting_id = ? ORDER BY d.position, d.id",
            meeting_id,
        )
    ]


def _agenda(
    conn: sqlite3.Connection, meeting_id: str, current_item_id: str | None
) -> list[dict[str, Any]]:
    attached: dict[str, list[str]] = {}
    for r in _rows(
        conn,
        "SELECT item_id, document_id FROM agenda_documents WHERE meeting_id = ? "
        "ORDER BY item_id, position",
        meeting_id,
    ):
        attached.setdefault(r["item_id"], []).append(r["document_id"])
    children: dict[str | None, list[dict[str, Any]]] = {}
    for r in _rows(
        conn,
        "SELECT * FROM agenda_items WHERE meeting_id = ? ORDER BY position, id",
        meeting_id,
    ):
        children.setdefault(r["parent_id"], []).append(r)

    def build(parent: str | None, depth: int) -> list[dict[str, Any]]:
        if depth > 64:  # the importer allows far less; a loop in parent ids ends here
            return []
        return [
            {
                "id": r["id"],
                "number": r["number"],
                "title": r["title"],
                "planned_minutes": r["planned_minutes"],
                "actual_seconds": round(float(r["actual_seconds"]), 3),
                "done": bool(r["done"]),
                "current": r["id"] == current_item_id,
                "documents": attached.get(r["id"], []),
                "items": build(r["id"], depth + 1),
            }
            for r in children.get(parent, [])
        ]

    return build(None, 0)


def _register(
    members: list[Member],
    events: list[dict[str, Any]],
    presence: dict[str, dict[str, Any]],
    proxies: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """One entry per member on the roster, in roster order."""
    given = {p["giver"]: p for p in proxies}
    register = []
    for m in members:
        own = [e for e in events if e["member"] == m.id]
        ins = [e for e in own if e["event"] in ("check_in", "moved")]
        here = presence.get(m.id)
        proxy = given.get(m.id)
        register.append(
            {
                "member": m.id,
                "name": m.name,
                "role": m.role,
                "group": m.group,
                "voting": m.voting,
                "weight": m.weight,
                "assigned_seat": m.seat,
                "seats": sorted({e["seat"] for e in ins if e["seat"]}),
                "methods": sorted({e["method"] for e in own if e["event"] == "check_in"}),
                "check_ins": [e["at"] for e in own if e["event"] == "check_in"],
                "check_outs": [e["at"] for e in own if e["event"] == "check_out"],
                "present_at_close": here is not None,
                "seat_at_close": here["seat_id"] if here else None,
                "proxy_holder": proxy["holder"] if proxy else None,
                "proxy_source": proxy["source"] if proxy else None,
                "proxies_held": sorted(p["giver"] for p in proxies if p["holder"] == m.id),
            }
        )
    return register


def _polls(
    conn: sqlite3.Connection, meeting_id: str, audit: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    opened: dict[str, dict[str, Any]] = {}
    for e in audit:
        if e["kind"] == "poll.opened":
            data = json.loads(e["data"])
            opened[data["poll"]] = {
                "present": data.get("present"),
                "represented": data.get("represented"),
                "required": data.get("required"),
                "quorum_met": data.get("quorum_met"),
            }
    names = {
        r["id"]: r["name"]
        for r in _rows(conn, "SELECT id, name FROM delegates WHERE meeting_id = ?", meeting_id)
    }
    polls = []
    for r in _rows(
        conn, "SELECT * FROM polls WHERE meeting_id = ? ORDER BY position, id", meeting_id
    ):
        spec = record_from_json(PollSpec, r["spec"])
        result = None if r["result"] is None else record_from_json(PollResult, r["result"])
        result_json = None if result is None else json.loads(record_to_json(result))
        poll: dict[str, Any] = {
            "id": r["id"],
            "title": spec.title,
            "item_id": spec.item_id,
            "secret": spec.secret,
            "spec": json.loads(record_to_json(spec)),
            "state": r["state"],
            "created_by": r["created_by"],
            "opened_at": r["opened_at"],
            "closed_at": r["closed_at"],
            "published_at": r["published_at"],
            "quorum_at_opening": opened.get(r["id"]),
            "quorum_override": bool(r["quorum_override"]),
            # the base the majority was measured against, taken when the poll closed
            "present_at_close": r["present"],
            "members_at_close": r["members"],
            "result": result_json,
        }
        if spec.secret:
            if result_json is not None:
                result_json.pop("named", None)  # always empty for a secret poll; never kept
            # Who took part, sorted by member id: the audit chain names them too; the
            # order of the list says nothing of when anyone voted.
            poll["voters"] = sorted(
                v[0]
                for v in conn.execute(
                    "SELECT delegate_id FROM secret_voters WHERE meeting_id = ? AND poll_id = ?",
                    (meeting_id, r["id"]),
                )
            )
        else:
            poll["roll_call"] = [
                {
                    "member": v["delegate_id"],
                    "name": names.get(v["delegate_id"], v["delegate_id"]),
                    "choices": json.loads(v["choices"]),
                    "weight": v["weight"],
                    "cast_by": v["cast_by"] if v["cast_by"] != v["delegate_id"] else None,
                    "at": v["at"],
                    "revision": v["revision"],
                }
                for v in _rows(
                    conn,
                    "SELECT * FROM named_votes WHERE meeting_id = ? AND poll_id = ? "
                    "ORDER BY delegate_id",
                    meeting_id,
                    r["id"],
                )
            ]
        polls.append(poll)
    return polls


def _speeches(conn: sqlite3.Connection, meeting_id: str) -> list[dict[str, Any]]:
    return [
        {
            "member": r["delegate_id"],
            "item_id": r["item_id"],
            "kind": r["kind"],
            "started_at": r["started_at"],
            "ended_at": r["ended_at"],
            "duration_seconds": (
                None if r["duration_seconds"] is None else round(float(r["duration_seconds"]), 3)
            ),
            "limit_seconds": r["limit_seconds"],
            "expired": bool(r["expired"]),
        }
        for r in _rows(conn, "SELECT * FROM speeches WHERE meeting_id = ? ORDER BY id", meeting_id)
    ]


def _messages(conn: sqlite3.Connection, meeting_id: str) -> dict[str, list[dict[str, Any]]]:
    sent = _rows(
        conn,
        "SELECT id, text, sender, to_seat, at FROM messages WHERE meeting_id = ? ORDER BY at, id",
        meeting_id,
    )
    return {
        "announcements": [
            {k: m[k] for k in ("id", "text", "sender", "at")} for m in sent if m["to_seat"] is None
        ],
        "to_seats": [m for m in sent if m["to_seat"] is not None],
        "service_calls": _rows(
            conn,
            "SELECT id, kind, text, delegate_id AS member, seat_id AS seat, at, resolved_at "
            "FROM service_calls WHERE meeting_id = ? ORDER BY at, id",
            meeting_id,
        ),
        "late_documents": _rows(
            conn,
            "SELECT id, text, at, sha256, item_id FROM notices WHERE meeting_id = ? "
            "ORDER BY at, id",
            meeting_id,
        ),
    }
