"""The record's copy of the audit chain: ``audit/log.jsonl``, ``audit/heads.jsonl`` and
``audit/room-signing.pub``.

A meeting's entries alone cannot be re-hashed into a chain: each hash covers the one
before it, and other entries (a device enrolled, the next meeting) may lie between them.
So the record holds a *segment* of the chain, bounded by signed heads at both ends:
from just after the last head the room signed before the meeting's first entry (the
*anchor*: the first entry's ``prev`` is that head's hash) to the first head signed at or
after the meeting's last entry. Every entry in between is there, whatever meeting it
belongs to, each with its ``prev`` and ``hash``, so anyone can recompute every hash with
:func:`room_server.audit.entry_hash` (docs/records.md shows how without Hemicycle), link
them, and check the room's signature on each head in the segment.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from room_server import audit
from room_server.record import minisign
from room_server.record.durable import write_file

LOG_FILE = "audit/log.jsonl"
HEADS_FILE = "audit/heads.jsonl"
PUBLIC_KEY_FILE = "audit/room-signing.pub"

Progress = Callable[[int, int, str], None]


class AuditExportError(RuntimeError):
    """The chain cannot be cut into a signed segment for this meeting (yet)."""


@dataclass(frozen=True, slots=True)
class Segment:
    entries: list[audit.Entry]
    heads: list[audit.SignedHead]  # the anchor (if the segment does not start at 1) first


def entry_line(entry: audit.Entry) -> str:
    """One entry as a line of log.jsonl; ``data`` is the stored text, hashed as it is."""
    fields = {
        "seq": entry.seq,
        "at": entry.at,
        "meeting_id": entry.meeting_id,
        "kind": entry.kind,
        "actor": entry.actor,
        "data": entry.data,
        "prev": entry.prev,
        "hash": entry.hash,
    }
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"


def parse_entry_line(line: str) -> audit.Entry:
    """Raises ValueError for a line that is not an entry as :func:`entry_line` writes it."""
    try:
        f = json.loads(line)
        entry = audit.Entry(
            f["seq"],
            f["at"],
            f["meeting_id"],
            f["kind"],
            f["actor"],
            f["data"],
            f["prev"],
            f["hash"],
        )
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(str(exc)) from None
    texts = (entry.at, entry.kind, entry.data, entry.prev, entry.hash)
    if (
        not isinstance(entry.seq, int)
        or isinstance(entry.seq, bool)
        or not all(isinstance(v, str) for v in texts)
        or not all(v is None or isinstance(v, str) for v in (entry.meeting_id, entry.actor))
    ):
        raise ValueError("a field has the wrong type")
    return entry


def meeting_segment(conn: sqlite3.Connection, meeting_id: str) -> Segment:
    """The signed segment of the chain that holds every entry of ``meeting_id`` up to its
    close (the room keeps auditing under the meeting's id after it, e.g. enrollments:
    those belong to no record)."""
    first, last = conn.execute(
        "SELECT min(seq), coalesce("
        "(SELECT min(seq) FROM audit_log WHERE meeting_id = ?1 AND kind = 'meeting.closed'), "
        "max(seq)) FROM audit_log WHERE meeting_id = ?1",
        (meeting_id,),
    ).fetchone()
    if first is None:
        raise AuditExportError(f"meeting {meeting_id!r} has no audit entries")
    (anchor,) = conn.execute("SELECT max(seq) FROM audit_heads WHERE seq < ?", (first,)).fetchone()
    (end,) = conn.execute("SELECT min(seq) FROM audit_heads WHERE seq >= ?", (last,)).fetchone()
    if end is None:
        raise AuditExportError(
            f"the last audit entry of meeting {meeting_id!r} (entry {last}) is not covered by "
            "a signed head yet: the room signs one when the meeting closes"
        )
    start = 0 if anchor is None else int(anchor)
    rows = conn.execute(
        f"SELECT {audit.ENTRY_COLUMNS} FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq",  # noqa: S608
        (start, end),
    )
    entries = [audit.Entry(*row) for row in rows]
    query = f"SELECT {audit.HEAD_COLUMNS} FROM audit_heads WHERE seq >= ? AND seq <= ? ORDER BY seq"  # noqa: S608
    heads = [audit.SignedHead(*row) for row in conn.execute(query, (start, end))]
    return Segment(entries, heads)


def write_audit(
    record_dir: Path,
    conn: sqlite3.Connection,
    meeting_id: str,
    public: Ed25519PublicKey,
    progress: Progress | None = None,
) -> Segment:
    """Write the meeting's audit segment, its signed heads and the room's public key
    (minisign format) into ``record_dir/audit/``. ``conn`` only reads."""
    segment = meeting_segment(conn, meeting_id)
    total = 3
    write_file(record_dir / LOG_FILE, "".join(map(entry_line, segment.entries)).encode())
    if progress:
        progress(1, total, LOG_FILE)
    write_file(record_dir / HEADS_FILE, "".join(h.log_line() for h in segment.heads).encode())
    if progress:
        progress(2, total, HEADS_FILE)
    write_file(record_dir / PUBLIC_KEY_FILE, minisign.public_key_file(public).encode())
    if progress:
        progress(3, total, PUBLIC_KEY_FILE)
    return segment
