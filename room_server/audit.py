"""The audit log: an append-only, hash-chained record of what happened in the room.

Each entry's hash is sha256 over the previous entry's hash and the entry itself
(sequence number, time, meeting, kind, actor and data as canonical JSON), so editing or
deleting any entry breaks every hash after it. The newest ``seq:hash`` is also kept in
``room_meta`` so cutting entries off the end is caught too. Someone able to rewrite the
whole database can rebuild a consistent chain; what stops them is the sealed meeting
record, whose signature covers the chain's head (see docs/security.md).

Appends happen inside the caller's transaction: an event and its audit entry are
committed together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64
KEY_HEAD = "audit_head"


def _canonical(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def entry_hash(
    prev: str, seq: int, at: str, meeting_id: str | None, kind: str, actor: str | None, data: str
) -> str:
    """``data`` is the entry's data as stored: canonical JSON text, hashed as it is."""
    head = _canonical([seq, at, meeting_id, kind, actor])
    return hashlib.sha256(f"{prev}\n{head[:-1]},{data}]".encode()).hexdigest()


class Chain:
    """Appends entries inside the caller's write transaction. Entries are hashed as they
    are added (so their hash can be handed out at once) and written by :meth:`write`,
    all together: a batch of ballots costs one round of inserts, not one per entry."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        assert conn.in_transaction, "audit entries are written with the change they record"
        self.conn = conn
        last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        self.seq: int = last[0] if last else 0
        self.head: str = last[1] if last else GENESIS
        self._rows: list[tuple[int, str, str | None, str, str | None, str, str, str]] = []

    def add(
        self,
        *,
        at: str,
        meeting_id: str | None,
        kind: str,
        actor: str | None,
        data: dict[str, Any],
    ) -> str:
        text = _canonical(data)
        seq, prev = self.seq + 1, self.head
        digest = entry_hash(prev, seq, at, meeting_id, kind, actor, text)
        self._rows.append((seq, at, meeting_id, kind, actor, text, prev, digest))
        self.seq, self.head = seq, digest
        return digest

    def write(self) -> None:
        if not self._rows:
            return
        self.conn.executemany(
            "INSERT INTO audit_log (seq, at, meeting_id, kind, actor, data, prev, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            self._rows,
        )
        self.conn.execute(
            "INSERT INTO room_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (KEY_HEAD, f"{self.seq}:{self.head}"),
        )
        self._rows.clear()


def append(
    conn: sqlite3.Connection,
    *,
    at: str,
    meeting_id: str | None,
    kind: str,
    actor: str | None,
    data: dict[str, Any],
) -> str:
    """Append one entry (inside the caller's write transaction); return its hash."""
    chain = Chain(conn)
    digest = chain.add(at=at, meeting_id=meeting_id, kind=kind, actor=actor, data=data)
    chain.write()
    return digest


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    head: str  # the last entry's hash ("" for an empty log)
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(conn: sqlite3.Connection) -> Verification:
    """Recompute the whole chain; every break is reported with the entry it is at."""
    problems: list[str] = []
    prev, expected_seq, count = GENESIS, 1, 0
    rows = conn.execute(
        "SELECT seq, at, meeting_id, kind, actor, data, prev, hash FROM audit_log ORDER BY seq"
    )
    for seq, at, meeting_id, kind, actor, data, stored_prev, stored_hash in rows:
        count += 1
        if seq != expected_seq:
            problems.append(
                f"entry {expected_seq}"
                + (f" to {seq - 1}" if seq - 1 > expected_seq else "")
                + " is missing (deleted)"
            )
        if stored_prev != prev:
            problems.append(f"entry {seq} does not follow the entry before it (prev hash differs)")
        digest = entry_hash(stored_prev, seq, at, meeting_id, kind, actor, data)
        if digest != stored_hash:
            problems.append(f"entry {seq} ({kind}) was changed after it was written")
        prev, expected_seq = stored_hash, seq + 1
    head_row = conn.execute("SELECT value FROM room_meta WHERE key = ?", (KEY_HEAD,)).fetchone()
    head = f"{expected_seq - 1}:{prev}" if count else ""
    if head_row is None:
        if count:
            problems.append("the recorded head of the chain is missing")
    elif head_row[0] != head:
        recorded_seq = head_row[0].split(":", 1)[0]
        problems.append(
            f"the chain ends at entry {expected_seq - 1} but entry {recorded_seq} was the "
            "last one written: entries were removed from the end or the head was changed"
        )
    return Verification(count, prev if count else "", tuple(problems))
