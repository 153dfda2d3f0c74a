"""The room's SQLite store: the only module that writes to the database.

Every connection runs in WAL mode with ``synchronous=FULL`` so a committed transaction
survives a power cut. Schema changes are numbered migrations tracked in
``PRAGMA user_version``. In the server process one Store, used from the event loop, is
the one writer; a ``room-server import`` in another process waits on SQLite's lock.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from room_protocol.messages import (
    AgendaItem,
    DocumentInfo,
    MeetingSnapshot,
    Notice,
    Role,
    RosterEntry,
)

BUSY_TIMEOUT_MS = 10_000  # an import in another process may hold the write lock this long

MIGRATIONS: tuple[str, ...] = (
    # 1: meetings with agenda, documents and roster
    """
    CREATE TABLE room_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, pages INTEGER NOT NULL,
        stored_at TEXT NOT NULL
    );
    CREATE TABLE meetings (
        id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT NOT NULL, location TEXT NOT NULL,
        start_time TEXT, manifest_name TEXT NOT NULL, imported_at TEXT NOT NULL,
        current_item_id TEXT
    );
    CREATE TABLE documents (
        meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
        id TEXT NOT NULL, position INTEGER NOT NULL,
        sha256 TEXT NOT NULL REFERENCES blobs(sha256),
        title TEXT NOT NULL, filename TEXT NOT NULL, confidential INTEGER NOT NULL,
        PRIMARY KEY (meeting_id, id)
    );
    CREATE TABLE agenda_items (
        meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
        id TEXT NOT NULL, parent_id TEXT, position INTEGER NOT NULL,
        number TEXT NOT NULL, title TEXT NOT NULL, planned_minutes INTEGER,
        PRIMARY KEY (meeting_id, id)
    );
    CREATE TABLE agenda_documents (
        meeting_id TEXT NOT NULL, item_id TEXT NOT NULL, document_id TEXT NOT NULL,
        position INTEGER NOT NULL,
        PRIMARY KEY (meeting_id, item_id, document_id),
        FOREIGN KEY (meeting_id, item_id) REFERENCES agenda_items(meeting_id, id)
            ON DELETE CASCADE,
        FOREIGN KEY (meeting_id, document_id) REFERENCES documents(meeting_id, id)
            ON DELETE CASCADE
    );
    CREATE TABLE seats (
        meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
        id TEXT NOT NULL, label TEXT NOT NULL, position INTEGER NOT NULL,
        PRIMARY KEY (meeting_id, id)
    );
    CREATE TABLE delegates (
        meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
        id TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL, seat_id TEXT,
        group_name TEXT NOT NULL, position INTEGER NOT NULL,
        PRIMARY KEY (meeting_id, id)
    );
    """,
    # 2: the live session: timers, credentials, sign-ins, requests already answered,
    # speaker queue and speeches, messages, service calls, late-document notices
    """
    ALTER TABLE agenda_items ADD COLUMN done INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE agenda_items ADD COLUMN actual_seconds REAL NOT NULL DEFAULT 0;
    ALTER TABLE meetings ADD COLUMN current_started_ts REAL;
    ALTER TABLE delegates ADD COLUMN pin_hash TEXT;
    ALTER TABLE delegates ADD COLUMN badge_hash TEXT;
    CREATE INDEX delegates_badge ON delegates (badge_hash);
    CREATE TABLE sign_ins (
        token TEXT PRIMARY KEY, meeting_id TEXT NOT NULL, delegate_id TEXT NOT NULL,
        seat_id TEXT, client_id TEXT NOT NULL, signed_in_at TEXT NOT NULL
    );
    CREATE TABLE operations (
        client_id TEXT NOT NULL, op_id TEXT NOT NULL, response TEXT NOT NULL,
        at TEXT NOT NULL, PRIMARY KEY (client_id, op_id)
    );
    CREATE TABLE floor_queue (
        meeting_id TEXT NOT NULL, delegate_id TEXT NOT NULL, kind TEXT NOT NULL,
        requested_at TEXT NOT NULL, position INTEGER NOT NULL,
        PRIMARY KEY (meeting_id, delegate_id)
    );
    CREATE TABLE speeches (
        id INTEGER PRIMARY KEY, meeting_id TEXT NOT NULL, item_id TEXT,
        delegate_id TEXT NOT NULL, kind TEXT NOT NULL, started_at TEXT NOT NULL,
        started_ts REAL NOT NULL, ended_at TEXT, duration_seconds REAL,
        limit_seconds INTEGER NOT NULL, expired INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE messages (
        id TEXT PRIMARY KEY, meeting_id TEXT NOT NULL, text TEXT NOT NULL,
        sender TEXT NOT NULL, to_seat TEXT, at TEXT NOT NULL
    );
    CREATE TABLE service_calls (
        id TEXT PRIMARY KEY, meeting_id TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL,
        delegate_id TEXT, seat_id TEXT, at TEXT NOT NULL, resolved_at TEXT
    );
    CREATE TABLE notices (
        meeting_id TEXT NOT NULL, id TEXT NOT NULL, text TEXT NOT NULL, at TEXT NOT NULL,
        sha256 TEXT, PRIMARY KEY (meeting_id, id)
    )
    """,
    # 3: a notice names the agenda item a document joined
    """
    ALTER TABLE notices ADD COLUMN item_id TEXT
    """,
    # 4: attendance, proxies, polls, ballots and the audit chain. A secret poll keeps who
    # voted (secret_voters) apart from the ballots (secret_ballots): the ballots table has
    # no rowid, no time and no voter, and is ordered by a random key.
    """
    ALTER TABLE delegates ADD COLUMN voting INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE delegates ADD COLUMN weight INTEGER NOT NULL DEFAULT 1;
    UPDATE delegates SET voting = (role = 'delegate');
    ALTER TABLE meetings ADD COLUMN attendance TEXT NOT NULL DEFAULT '{}';
    CREATE TABLE attendance_events (
        id INTEGER PRIMARY KEY, meeting_id TEXT NOT NULL, delegate_id TEXT NOT NULL,
        event TEXT NOT NULL, method TEXT NOT NULL, seat_id TEXT, at TEXT NOT NULL,
        by_id TEXT
    );
    CREATE TABLE presence (
        meeting_id TEXT NOT NULL, delegate_id TEXT NOT NULL, seat_id TEXT,
        method TEXT NOT NULL, since TEXT NOT NULL, PRIMARY KEY (meeting_id, delegate_id)
    );
    CREATE TABLE proxies (
        meeting_id TEXT NOT NULL, giver_id TEXT NOT NULL, holder_id TEXT NOT NULL,
        source TEXT NOT NULL, granted_at TEXT NOT NULL, PRIMARY KEY (meeting_id, giver_id)
    );
    CREATE TABLE poll_templates (
        meeting_id TEXT NOT NULL, id TEXT NOT NULL, spec TEXT NOT NULL,
        position INTEGER NOT NULL, PRIMARY KEY (meeting_id, id)
    );
    CREATE TABLE polls (
        meeting_id TEXT NOT NULL, id TEXT NOT NULL, position INTEGER NOT NULL,
        spec TEXT NOT NULL, state TEXT NOT NULL, created_by TEXT,
        opened_at TEXT, closes_at_ts REAL, closed_at TEXT, published_at TEXT,
        quorum_override INTEGER NOT NULL DEFAULT 0, present INTEGER, members INTEGER,
        result TEXT, PRIMARY KEY (meeting_id, id)
    );
    CREATE TABLE ballot_ids (
        meeting_id TEXT NOT NULL, poll_id TEXT NOT NULL, ballot_id TEXT NOT NULL,
        delegate_id TEXT NOT NULL, cast_by TEXT NOT NULL, receipt TEXT NOT NULL,
        at TEXT NOT NULL, PRIMARY KEY (meeting_id, poll_id, ballot_id)
    );
    CREATE TABLE named_votes (
        meeting_id TEXT NOT NULL, poll_id TEXT NOT NULL, delegate_id TEXT NOT NULL,
        choices TEXT NOT NULL, weight INTEGER NOT NULL, cast_by TEXT NOT NULL,
        ballot_id TEXT NOT NULL, at TEXT NOT NULL, revision INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (meeting_id, poll_id, delegate_id)
    );
    CREATE TABLE secret_voters (
        meeting_id TEXT NOT NULL, poll_id TEXT NOT NULL, delegate_id TEXT NOT NULL,
        PRIMARY KEY (meeting_id, poll_id, delegate_id)
    ) WITHOUT ROWID;
    CREATE TABLE secret_ballots (
        meeting_id TEXT NOT NULL, poll_id TEXT NOT NULL, shuffle BLOB NOT NULL,
        choices TEXT NOT NULL, weight INTEGER NOT NULL,
        PRIMARY KEY (meeting_id, poll_id, shuffle)
    ) WITHOUT ROWID;
    CREATE TABLE audit_log (
        seq INTEGER PRIMARY KEY, at TEXT NOT NULL, meeting_id TEXT, kind TEXT NOT NULL,
        actor TEXT, data TEXT NOT NULL, prev TEXT NOT NULL, hash TEXT NOT NULL
    )
    """,
    # 5: enrolled devices (identity comes from their certificate) and one-time pairing
    # codes, kept as hashes of their secret
    """
    CREATE TABLE devices (
        device_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, seat_id TEXT,
        serial TEXT NOT NULL UNIQUE, fingerprint TEXT NOT NULL, enrolled_at TEXT NOT NULL,
        enrolled_by TEXT NOT NULL, revoked_at TEXT
    );
    CREATE TABLE pairing_codes (
        secret_hash TEXT PRIMARY KEY, kind TEXT NOT NULL, seat_id TEXT,
        created_at TEXT NOT NULL, expires_ts REAL NOT NULL, created_by TEXT NOT NULL
    )
    """,
    # 6: secret ballots in slots: a secret poll gets one fixed-size slot per voting member,
    # with a random key, when it opens; a ballot is written into a random free slot in
    # place (see repo/ballots.py), so where a ballot lies in the file says nothing of
    # when it came. Ballots already kept are moved into slots in a random order and the
    # old table dropped (secure_delete zeroes its pages). A free slot is all zero bytes;
    # a cast one is the JSON [choices, weight] padded with spaces to the poll's slot size,
    # here the length of every option id and the longest 64-bit weight.
    """
    CREATE TABLE secret_slots (
        meeting_id TEXT NOT NULL, poll_id TEXT NOT NULL, slot BLOB NOT NULL,
        ballot BLOB NOT NULL, PRIMARY KEY (meeting_id, poll_id, slot)
    ) WITHOUT ROWID;
    INSERT INTO secret_slots (meeting_id, poll_id, slot, ballot)
        SELECT b.meeting_id, b.poll_id, randomblob(16), CAST(printf('%-*s',
            (SELECT length(CAST(json_array(json_group_array(json_extract(o.value, '$.id')),
                -9223372036854775808) AS BLOB)) FROM json_each(p.spec, '$.options') o),
            json_array(json(b.choices), b.weight)) AS BLOB)
        FROM secret_ballots b JOIN polls p ON p.meeting_id = b.meeting_id AND p.id = b.poll_id
        ORDER BY random();
    DROP TABLE secret_ballots;
    CREATE VIEW secret_ballots (meeting_id, poll_id, choices, weight) AS
        SELECT meeting_id, poll_id, json_extract(CAST(ballot AS TEXT), '$[0]'),
            json_extract(CAST(ballot AS TEXT), '$[1]')
        FROM secret_slots WHERE ballot <> zeroblob(length(ballot))
    """,
    # 7: sign-in that cannot be replayed or guessed: an answered request remembers its kind,
    # whether it was applied and its meeting (so the record can be pruned); a sign-in is
    # found by the sha256 of its resume token and remembers the request that made it
    # (sign-ins from before, with tokens in clear, end: members sign in again); failed
    # sign-ins and the locks they caused outlive a restart.
    """
    ALTER TABLE operations ADD COLUMN kind TEXT NOT NULL DEFAULT '';
    ALTER TABLE operations ADD COLUMN ok INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE operations ADD COLUMN meeting_id TEXT;
    CREATE INDEX operations_meeting ON operations (meeting_id);
    DROP TABLE sign_ins;
    CREATE TABLE sign_ins (
        token_hash TEXT PRIMARY KEY, meeting_id TEXT NOT NULL, delegate_id TEXT NOT NULL,
        seat_id TEXT, client_id TEXT NOT NULL, op_id TEXT NOT NULL, signed_in_at TEXT NOT NULL
    );
    CREATE TABLE sign_in_failures (
        at_ts REAL NOT NULL, meeting_id TEXT, delegate_id TEXT, client_id TEXT
    );
    CREATE INDEX sign_in_failures_at ON sign_in_failures (at_ts);
    CREATE TABLE sign_in_locks (
        scope TEXT NOT NULL, meeting_id TEXT NOT NULL, key TEXT NOT NULL,
        until_ts REAL NOT NULL, PRIMARY KEY (scope, meeting_id, key)
    )
    """,
    # 8: signed heads of the audit chain (room_server/audit.py), and which signed head was
    # the latest when a ballot was recorded (its receipt shows that head's fingerprint)
    """
    CREATE TABLE audit_heads (
        seq INTEGER PRIMARY KEY, hash TEXT NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL,
        room_id TEXT NOT NULL, signature TEXT NOT NULL
    );
    ALTER TABLE ballot_ids ADD COLUMN head_seq INTEGER NOT NULL DEFAULT 0
    """,
    # 9: signed heads are chained: each covers the head signed before it ("<seq> <sha256 of
    # its signed text>"); NULL for the unchained heads signed before this migration
    """
    ALTER TABLE audit_heads ADD COLUMN prev TEXT
    """,
    # closing a meeting: when and by whom; a closed meeting takes no more changes and its
    # record is built from it (room_server/record/)
    """
    ALTER TABLE meetings ADD COLUMN closed_at TEXT;
    ALTER TABLE meetings ADD COLUMN closed_by TEXT
    """,
    # annotations: every operation the room acknowledged, append only (the record folds
    # it again); the fold per annotation with each field's winning (stamp, device), so a
    # sign-in or a share reads state without refolding the log; and each member's totals
    # in a meeting, checked against [annotations] before an operation is kept
    """
    CREATE TABLE annotation_ops (
        seq INTEGER PRIMARY KEY, meeting_id TEXT NOT NULL, device_id TEXT NOT NULL,
        op_id TEXT NOT NULL, author_id TEXT NOT NULL, annotation_id TEXT NOT NULL,
        sha256 TEXT NOT NULL, page INTEGER NOT NULL, stamp INTEGER NOT NULL,
        patch TEXT NOT NULL, received_at TEXT NOT NULL,
        UNIQUE (device_id, op_id)
    );
    CREATE INDEX annotation_ops_author ON annotation_ops (meeting_id, author_id, seq);
    CREATE TABLE annotations (
        meeting_id TEXT NOT NULL, annotation_id TEXT NOT NULL, author_id TEXT NOT NULL,
        sha256 TEXT NOT NULL, page INTEGER NOT NULL, visibility TEXT NOT NULL,
        deleted INTEGER NOT NULL, stamp INTEGER NOT NULL,
        state TEXT NOT NULL, winners TEXT NOT NULL,
        PRIMARY KEY (meeting_id, annotation_id)
    );
    CREATE INDEX annotations_shared ON annotations (meeting_id, visibility)
        WHERE visibility <> 'private' AND NOT deleted;
    CREATE TABLE annotation_totals (
        meeting_id TEXT NOT NULL, author_id TEXT NOT NULL, ops INTEGER NOT NULL,
        patch_bytes INTEGER NOT NULL, PRIMARY KEY (meeting_id, author_id)
    )
    """,
    # confidential documents: who may read one (JSON {"members": [...], "roles": [...]};
    # NULL: every member of the meeting), and each member's random key for the tablet's
    # encrypted cache of them (handed out at sign-in; dropped when the meeting closes)
    """
    ALTER TABLE documents ADD COLUMN readers TEXT;
    CREATE TABLE cache_keys (
        meeting_id TEXT NOT NULL, delegate_id TEXT NOT NULL, key BLOB NOT NULL,
        PRIMARY KEY (meeting_id, delegate_id)
    );
    INSERT INTO cache_keys (meeting_id, delegate_id, key)
        SELECT d.meeting_id, d.id, randomblob(32) FROM delegates d
        JOIN meetings m ON m.id = d.meeting_id WHERE m.closed_at IS NULL
    """,
)

KEY_ACTIVE_MEETING = "active_meeting"
KEY_REVISION = "revision"


class StoreError(RuntimeError):
    """The database cannot be used (newer schema, corrupt file, not writable)."""


@dataclass(frozen=True, slots=True)
class StoredDocument:
    sha256: str
    size: int
    path: Path
    confidential: bool = False


def _readers(raw: str | None, roster: list[dict[str, Any]]) -> tuple[str, ...]:
    """The delegate ids a confidential document's ``readers`` column names, directly or by
    role, in roster order; () when it names none (every member reads it)."""
    if raw is None:
        return ()
    chosen = json.loads(raw)
    members, roles = set(chosen.get("members", ())), set(chosen.get("roles", ()))
    return tuple(r["id"] for r in roster if r["id"] in members or r["role"] in roles)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def iso_time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="milliseconds")


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the durability settings every Hemicycle connection must have."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode != "wal":
        conn.close()
        raise StoreError(f"{path}: cannot switch the database to WAL mode (got {mode!r})")
    conn.execute("PRAGMA synchronous = FULL")
    # Deleted content is overwritten, so a dropped row leaves nothing behind in the file.
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


class Store:
    """Meetings, agenda, documents and roster of one room."""

    def __init__(self, database: Path, documents_dir: Path) -> None:
        self.path = database
        self.documents_dir = documents_dir
        self.secret_file = database.parent / "room-secret.key"
        self._query_only = False
        # servable_document's answers by hash, valid while data_version stays this
        self._servable: dict[str, StoredDocument | None] = {}
        self._servable_version = -1
        try:
            self.conn = connect(database)
            self.db = sqlite_utils.Database(self.conn)
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{database}: cannot open the room database: {exc}") from None

    def close(self) -> None:
        self.conn.close()

    def read_only(self) -> None:
        """From now on this connection only reads: the server's one writer has its own."""
        self.conn.execute("PRAGMA query_only = ON")
        self._query_only = True

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing --------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """One write transaction; ``BEGIN IMMEDIATE`` takes the write lock up front."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path}: schema version {version} is newer than this room server "
                f"understands ({len(MIGRATIONS)}); upgrade the software"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self.conn.execute(statement)
                self.conn.execute(f"PRAGMA user_version = {number}")
        if version < len(MIGRATIONS):
            # Pages a migration rewrote (ballots moved into slots) leave the log too.
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def data_version(self) -> int:
        """Changes whenever another connection commits (PRAGMA data_version)."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM room_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute(
            "INSERT INTO room_meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def bump_revision(self) -> int:
        """Inside a transaction: the room's state changed; tablets compare revisions."""
        revision = int(self.meta(KEY_REVISION) or 0) + 1
        self.set_meta(KEY_REVISION, str(revision))
        return revision

    # --- reading ---------------------------------------------------------------------

    def revision(self) -> int:
        return int(self.meta(KEY_REVISION) or 0)

    def active_meeting_id(self) -> str | None:
        return self.meta(KEY_ACTIVE_MEETING)

    def blob_path(self, sha256: str) -> Path:
        return self.documents_dir / sha256[:2] / f"{sha256}.pdf"

    def snapshot(self) -> MeetingSnapshot | None:
        """The active meeting as tablets see it, or None when no meeting is loaded."""
        meeting_id = self.active_meeting_id()
        if meeting_id is None:
            return None
        meeting = self._row("SELECT * FROM meetings WHERE id = ?", meeting_id)
        if meeting is None:
            return None
        docs = self._rows(
            "SELECT d.id, d.sha256, d.title, d.filename, d.confidential, d.readers, b.size, "
            "b.pages "
            "FROM documents d JOIN blobs b USING (sha256) WHERE d.meeting_id = ? "
            "ORDER BY d.position",
            meeting_id,
        )
        sha_of = {d["id"]: d["sha256"] for d in docs}
        roster = self._rows(
            "SELECT id, name, role, seat_id, group_name, voting, weight FROM delegates "
            "WHERE meeting_id = ? ORDER BY position",
            meeting_id,
        )
        attached: dict[str, list[str]] = {}
        for row in self._rows(
            "SELECT item_id, document_id FROM agenda_documents WHERE meeting_id = ? "
            "ORDER BY item_id, position",
            meeting_id,
        ):
            attached.setdefault(row["item_id"], []).append(sha_of[row["document_id"]])
        children: dict[str | None, list[dict[str, Any]]] = {}
        for row in self._rows(
            "SELECT * FROM agenda_items WHERE meeting_id = ? ORDER BY position", meeting_id
        ):
            children.setdefault(row["parent_id"], []).append(row)

        def build(parent: str | None) -> tuple[AgendaItem, ...]:
            return tuple(
                AgendaItem(
                    id=row["id"],
                    number=row["number"],
                    title=row["title"],
                    planned_minutes=row["planned_minutes"],
                    documents=tuple(attached.get(row["id"], ())),
                    children=build(row["id"]),
                    done=bool(row["done"]),
                    actual_seconds=int(row["actual_seconds"]),
                )
                for row in children.get(parent, [])
            )

        return MeetingSnapshot(
            meeting_id=meeting["id"],
            title=meeting["title"],
            date=meeting["date"],
            location=meeting["location"],
            revision=self.revision(),
            agenda=build(None),
            documents=tuple(
                DocumentInfo(
                    sha256=d["sha256"],
                    title=d["title"],
                    filename=d["filename"],
                    size=d["size"],
                    pages=d["pages"],
                    confidential=bool(d["confidential"]),
                    readers=_readers(d["readers"], roster),
                )
                for d in docs
            ),
            current_item_id=meeting["current_item_id"],
            current_started_at=(
                iso_time(meeting["current_started_ts"])
                if meeting["current_started_ts"] is not None
                else None
            ),
            roster=tuple(
                RosterEntry(
                    r["id"],
                    r["name"],
                    Role(r["role"]),
                    r["seat_id"],
                    r["group_name"],
                    bool(r["voting"]),
                    r["weight"],
                )
                for r in roster
            ),
            notices=tuple(
                Notice(r["id"], r["text"], r["at"], r["sha256"], r["item_id"])
                for r in self._rows(
                    "SELECT * FROM (SELECT * FROM notices WHERE meeting_id = ? "
                    "ORDER BY at DESC LIMIT 200) ORDER BY at",
                    meeting_id,
                )
            ),
            closed_at=meeting["closed_at"],
        )

    def cache_key(self, meeting_id: str, delegate_id: str) -> bytes | None:
        """The member's key for their tablet's encrypted cache; None once the meeting closed."""
        row = self._row(
            "SELECT key FROM cache_keys WHERE meeting_id = ? AND delegate_id = ?",
            meeting_id,
            delegate_id,
        )
        return None if row is None else bytes(row["key"])

    def servable_document(self, sha256: str) -> StoredDocument | None:
        """A document of the active meeting, by hash; others are not served.

        On a read-only connection (the server's) the answers are kept until another
        connection commits (``PRAGMA data_version``): one cheap pragma a fetch instead of
        a join. A connection that writes asks SQLite every time, since its own commits
        leave data_version alone."""
        if not self._query_only:
            return self._servable_document(sha256)
        version = self.data_version()
        if version != self._servable_version:
            self._servable.clear()
            self._servable_version = version
        try:
            return self._servable[sha256]
        except KeyError:
            found = self._servable[sha256] = self._servable_document(sha256)
            return found

    def _servable_document(self, sha256: str) -> StoredDocument | None:
        row = self._row(
            "SELECT b.sha256, b.size, max(d.confidential) AS confidential "
            "FROM documents d JOIN blobs b USING (sha256) "
            "JOIN room_meta m ON m.key = ? AND m.value = d.meeting_id "
            "WHERE d.sha256 = ? GROUP BY b.sha256",
            KEY_ACTIVE_MEETING,
            sha256,
        )
        if row is None:
            return None
        return StoredDocument(
            row["sha256"], row["size"], self.blob_path(row["sha256"]), bool(row["confidential"])
        )

    def meetings(self) -> list[dict[str, Any]]:
        return self._rows(
            "SELECT m.id, m.title, m.date, m.imported_at, m.closed_at, "
            "(SELECT count(*) FROM documents d WHERE d.meeting_id = m.id) AS documents, "
            "(SELECT count(*) FROM agenda_items a WHERE a.meeting_id = m.id) AS agenda_items, "
            "(SELECT count(*) FROM delegates p WHERE p.meeting_id = m.id) AS delegates "
            "FROM meetings m ORDER BY m.imported_at"
        )

    def closed_meetings(self) -> list[str]:
        """The ids of the meetings the chair closed, oldest close first."""
        return [
            r["id"]
            for r in self._rows(
                "SELECT id FROM meetings WHERE closed_at IS NOT NULL ORDER BY closed_at, id"
            )
        ]

    def stored_blobs(self) -> set[str]:
        return {r["sha256"] for r in self._rows("SELECT sha256 FROM blobs")}

    def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        return self._rows(sql, *params)

    def row(self, sql: str, *params: Any) -> dict[str, Any] | None:
        return self._row(sql, *params)

    def _rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        cursor = self.conn.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def _row(self, sql: str, *params: Any) -> dict[str, Any] | None:
        rows = self._rows(sql, *params)
        return rows[0] if rows else None
