"""The audit log: an append-only, hash-chained record of what happened in the room.

Each entry's hash is sha256 over the previous entry's hash and the entry itself
(sequence number, time, meeting, kind, actor and data as canonical JSON), so editing or
deleting any entry breaks every hash after it. The newest ``seq:hash`` is also kept in
``room_meta`` so cutting entries off the end is caught too.

Hashes alone do not stop someone who can write the database: they can change an entry
and recompute every hash after it. So the room signs the chain's head with its Ed25519
key (kept outside the database, :mod:`room_server.signing`) at every poll transition, at
a meeting switch, periodically while the head moves and at shutdown, in the transaction
that wrote the entries it covers (``audit_heads``). :func:`verify` checks every signature
and that every signed head is still the chain's hash at its sequence number: a rebuilt
chain no longer matches the heads the room signed, and the attacker cannot sign new ones.

The signed heads are chained too: each head's signed text names the head signed before
it, so a head removed or replaced between two others is reported. What the database
alone cannot show is the chain and its heads cut back together to an earlier head: the
room keeps an append-only copy of every head it signs beside its key (``keys/
audit-heads.log``), and heads witnessed in the room (the display, receipts) can be
given to :func:`verify`; either one shows such a cut.

Appends happen inside the caller's transaction: an event and its audit entry are
committed together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from room_protocol.voting import fingerprint
from room_server.signing import SigningKey, head_text, signature_ok

GENESIS = "0" * 64
KEY_HEAD = "audit_head"
HEADS_LOG = "audit-heads.log"  # beside the signing key: every head signed, one a line
FIRST_LINK = f"0 {GENESIS}"  # what the first chained head links to when none came before


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


# --- signed heads --------------------------------------------------------------------

# Audit kinds whose transaction always signs the head: a head for each must exist.
SIGNED_KINDS = frozenset({"poll.opened", "poll.closed", "poll.published"})
UNSIGNED_SLACK = 2  # an unsigned tail may span this many signing intervals (a crash)


HEAD_COLUMNS = "seq, hash, at, reason, room_id, signature, prev"


@dataclass(frozen=True, slots=True)
class SignedHead:
    seq: int
    hash: str
    at: str
    reason: str
    room_id: str
    signature: str
    prev: str | None = None  # the link to the head before (None: an unchained v1 head)

    @property
    def text(self) -> str:
        return head_text(self.room_id, self.seq, self.hash, self.at, self.reason, self.prev)

    @property
    def link(self) -> str:
        """What the head signed after this one names as its ``prev``."""
        return f"{self.seq} {hashlib.sha256(self.text.encode()).hexdigest()}"

    def log_line(self) -> str:
        fields = {
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at,
            "reason": self.reason,
            "room": self.room_id,
            "prev": self.prev,
            "signature": self.signature,
        }
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":")) + "\n"

    @classmethod
    def from_log_line(cls, line: str) -> SignedHead:
        """Raises ValueError for a line that is not a head as :meth:`log_line` writes it."""
        try:
            f = json.loads(line)
            head = cls(
                f["seq"], f["hash"], f["at"], f["reason"], f["room"], f["signature"], f["prev"]
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(str(exc)) from None
        if not isinstance(head.seq, int) or not all(
            isinstance(v, str) for v in (head.hash, head.at, head.reason, head.room_id)
        ):
            raise ValueError("a field has the wrong type")
        return head


def head_reason(kind: str, subject: str | None = None) -> str:
    """Why a head was signed: an audit kind and what it was about (``poll.closed p1``)."""
    return f"{kind} {subject}" if subject else kind


def latest_signed(conn: sqlite3.Connection) -> SignedHead | None:
    row = conn.execute(
        f"SELECT {HEAD_COLUMNS} FROM audit_heads ORDER BY seq DESC LIMIT 1"  # noqa: S608
    ).fetchone()
    return None if row is None else SignedHead(*row)


def signed_at(conn: sqlite3.Connection, seq: int) -> SignedHead | None:
    row = conn.execute(
        f"SELECT {HEAD_COLUMNS} FROM audit_heads WHERE seq = ?",  # noqa: S608
        (seq,),
    ).fetchone()
    return None if row is None else SignedHead(*row)


def all_signed(conn: sqlite3.Connection) -> list[SignedHead]:
    query = f"SELECT {HEAD_COLUMNS} FROM audit_heads ORDER BY seq"  # noqa: S608
    return [SignedHead(*row) for row in conn.execute(query)]


def chain_head(conn: sqlite3.Connection) -> tuple[int, str]:
    last = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(last[0]), str(last[1])) if last else (0, GENESIS)


def sign_head(
    conn: sqlite3.Connection, key: SigningKey, *, room_id: str, at: str, reasons: list[str]
) -> SignedHead | None:
    """Inside the write transaction, after its entries are written: sign the chain's head
    as it will be committed. None if that head is signed already (or the log is empty)."""
    assert conn.in_transaction, "a head is signed in the transaction of what it covers"
    seq, digest = chain_head(conn)
    if seq == 0:
        return None
    last = latest_signed(conn)
    if last is not None and last.seq >= seq:
        return None
    reason = "; ".join(dict.fromkeys(reasons)) or "periodic"
    prev = FIRST_LINK if last is None else last.link
    text = head_text(room_id, seq, digest, at, reason, prev)
    head = SignedHead(seq, digest, at, reason, room_id, key.sign(text), prev)
    conn.execute(
        f"INSERT INTO audit_heads ({HEAD_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
        (head.seq, head.hash, head.at, head.reason, head.room_id, head.signature, head.prev),
    )
    return head


def append_to_log(path: Path, head: SignedHead) -> None:
    """Append a committed head to the heads log beside the key (0600), on disk when this
    returns: one small write and an fsync, at most once a minute and per poll transition."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask may have taken bits away
        os.write(fd, head.log_line().encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def read_log(path: Path) -> tuple[list[SignedHead], list[str]]:
    """The heads in the heads log, and a problem for each line that is not one."""
    heads: list[SignedHead] = []
    problems: list[str] = []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                heads.append(SignedHead.from_log_line(line))
            except ValueError:
                problems.append(f"{path.name} line {number} is not a signed head")
    return heads, problems


def parse_witness(text: str) -> tuple[int, str] | None:
    """``seq 1234 · 3F9A C21B`` as the room display and receipts show a head: its seq and
    the lower-case hex digits of its fingerprint. None if it is not one."""
    found = re.fullmatch(r"\D*(\d+)\D*?((?:[0-9A-Fa-f]\s*){4,64})", text.strip())
    if found is None:
        return None
    return int(found.group(1)), re.sub(r"\s", "", found.group(2)).lower()


# --- verification --------------------------------------------------------------------


ENTRY_COLUMNS = "seq, at, meeting_id, kind, actor, data, prev, hash"


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of the chain as stored: ``data`` is its canonical JSON text."""

    seq: int
    at: str
    meeting_id: str | None
    kind: str
    actor: str | None
    data: str
    prev: str
    hash: str

    def recomputed(self) -> str:
        return entry_hash(
            self.prev, self.seq, self.at, self.meeting_id, self.kind, self.actor, self.data
        )


@dataclass(slots=True)
class Walk:
    """The chain's entries recomputed one after the other (:func:`walk_entries`)."""

    problems: list[str]
    count: int
    first_seq: int
    last_seq: int  # first_seq - 1 when there were no entries
    last_hash: str  # the last entry's stored hash (the start's prev when none)
    hashes: dict[int, str]  # seq -> hash as recomputed from the entry
    times: dict[int, str]
    transitions: list[tuple[int, str]]  # (seq, reason its signed head carries)


def walk_entries(
    entries: Iterable[Entry], *, first_seq: int = 1, first_prev: str | None = GENESIS
) -> Walk:
    """Recompute each entry's hash and check that it follows the one before it. The walk
    starts at ``first_seq`` after ``first_prev`` (the genesis for a whole chain; None: the
    first entry's own ``prev``, for a segment cut out of a longer chain)."""
    problems: list[str] = []
    prev, expected_seq, count = first_prev, first_seq, 0
    hashes: dict[int, str] = {}
    times: dict[int, str] = {}
    transitions: list[tuple[int, str]] = []
    for entry in entries:
        seq = entry.seq
        count += 1
        if count == 1 and prev is None:
            prev = entry.prev
        if seq != expected_seq:
            problems.append(
                f"entry {expected_seq}"
                + (f" to {seq - 1}" if seq - 1 > expected_seq else "")
                + " is missing (deleted)"
            )
        if entry.prev != prev:
            problems.append(f"entry {seq} does not follow the entry before it (prev hash differs)")
        digest = entry.recomputed()
        if digest != entry.hash:
            problems.append(f"entry {seq} ({entry.kind}) was changed after it was written")
        hashes[seq], times[seq] = digest, entry.at
        if entry.kind in SIGNED_KINDS:
            transitions.append((seq, head_reason(entry.kind, _poll_of(entry.data))))
        prev, expected_seq = entry.hash, seq + 1
    return Walk(
        problems, count, first_seq, expected_seq - 1, prev or GENESIS, hashes, times, transitions
    )


@dataclass(frozen=True, slots=True)
class Verification:
    entries: int
    head: str  # the last entry's hash ("" for an empty log)
    problems: tuple[str, ...]
    forged: bool = False  # the chain is not the one the room signed
    signed_heads: int = 0
    last_signed: SignedHead | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    conn: sqlite3.Connection,
    public: Ed25519PublicKey | None = None,
    *,
    room_id: str | None = None,
    sign_every_seconds: float | None = None,
    witnesses: Sequence[tuple[int, str]] = (),
    logged: Sequence[SignedHead] | None = None,
) -> Verification:
    """Recompute the whole chain and, given the room's public key, check every signed
    head against it and against the head before it; every break is reported with the
    entry it is at. ``witnesses`` are heads seen in the room (seq, fingerprint digits),
    ``logged`` the heads log kept beside the key: each must be a signed head of this chain."""
    rows = conn.execute(f"SELECT {ENTRY_COLUMNS} FROM audit_log ORDER BY seq")  # noqa: S608
    walked = walk_entries(Entry(*row) for row in rows)
    problems = walked.problems
    prev, expected_seq, count = walked.last_hash, walked.last_seq + 1, walked.count
    hashes, times, transitions = walked.hashes, walked.times, walked.transitions
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
    if public is None:
        return Verification(count, prev if count else "", tuple(problems))
    heads = all_signed(conn)
    forged = check_heads(heads, hashes, public, room_id, problems)
    check_links(heads, problems)
    last_entry = expected_seq - 1 if count else 0
    by_seq = {head.seq: head for head in heads}
    cut = _check_witnesses(witnesses, by_seq, hashes, problems)
    if logged is not None:
        cut |= _check_logged(logged, by_seq, public, room_id, problems)
    check_coverage(heads, transitions, times, last_entry, sign_every_seconds, problems)
    return Verification(
        count,
        prev if count else "",
        tuple(problems),
        forged=forged or cut,
        signed_heads=len(heads),
        last_signed=heads[-1] if heads else None,
    )


def check_heads(
    heads: list[SignedHead],
    hashes: dict[int, str],
    public: Ed25519PublicKey,
    room_id: str | None,
    problems: list[str],
) -> bool:
    """Each head's signature, and the chain against it. True if the chain is forged."""
    forged = False
    matched = 0  # the last signed seq the chain still agrees with
    for head in heads:
        where = f"the head signed at entry {head.seq} ({head.at}, {head.reason})"
        try:
            text = head.text
        except ValueError:
            text = ""
        if not text or not signature_ok(public, text, head.signature):
            problems.append(
                f"{where}: the signature does not verify with the room's public key "
                "(the signed head was altered, or made with another key)"
            )
            forged = True
            continue
        if room_id is not None and head.room_id != room_id:
            problems.append(f"{where}: signed by room {head.room_id!r}, not {room_id!r}")
            forged = True
            continue
        recomputed = hashes.get(head.seq)
        if recomputed != head.hash:
            now = (
                f"the chain now has {_short(recomputed)}"
                if recomputed is not None
                else f"entry {head.seq} is no longer in the chain"
            )
            problems.append(
                f"FORGED: the chain diverges from {where}: it was rewritten between entry "
                f"{matched + 1} and entry {head.seq} (signed {_short(head.hash)}, {now})"
            )
            forged = True
        else:
            matched = head.seq
    return forged


def check_links(
    heads: list[SignedHead], problems: list[str], *, first_link: str | None = FIRST_LINK
) -> None:
    """Each chained head names the head signed before it: one removed or replaced between
    two others breaks the link. Unchained (v1) heads come only before the first chained
    one, which links to the last of them. ``first_link`` is what the first head must
    name (None: anything, for heads cut out of a longer chain)."""
    before: SignedHead | None = None
    for head in heads:
        if before is None and first_link is None:
            before = head
            continue
        where = f"the head signed at entry {head.seq} ({head.at}, {head.reason})"
        if head.prev is None:
            if before is not None and before.prev is not None:
                problems.append(
                    f"{where} is not chained to the head before it, but it comes after "
                    f"chained heads (entry {before.seq})"
                )
        else:
            expected = (first_link or FIRST_LINK) if before is None else before.link
            if head.prev != expected:
                named = head.prev.split(" ", 1)[0]
                after = "no head" if before is None else f"the head at entry {before.seq}"
                problems.append(
                    f"signed head missing: {where} was signed after the head at entry "
                    f"{named}, but follows {after} now (signed heads were removed or "
                    "replaced)"
                )
        before = head


def _check_witnesses(
    witnesses: Sequence[tuple[int, str]],
    by_seq: dict[int, SignedHead],
    hashes: dict[int, str],
    problems: list[str],
) -> bool:
    """Heads seen in the room must be signed heads of this chain. True if one is not."""
    cut = False
    for seq, digits in witnesses:
        shown = f"the head witnessed at entry {seq} ({fingerprint(digits)})"
        head = by_seq.get(seq)
        if head is not None and head.hash.startswith(digits):
            continue  # whether the chain still has that hash is checked with every head
        cut = True
        if seq not in hashes:
            problems.append(
                f"{shown} is gone: the chain ends before it (entries were cut off the end, "
                "signed heads with them)"
            )
        elif head is None:
            problems.append(
                f"{shown} is not among the signed heads: it was removed"
                + ("" if hashes[seq].startswith(digits) else " and the chain rewritten")
            )
        else:
            problems.append(
                f"{shown} is not the head signed at that entry ({fingerprint(head.hash)}): "
                "the chain and its heads are not the ones the room showed"
            )
    return cut


def _check_logged(
    logged: Sequence[SignedHead],
    by_seq: dict[int, SignedHead],
    public: Ed25519PublicKey,
    room_id: str | None,
    problems: list[str],
) -> bool:
    """Every head in the heads log beside the key is in the database as it was signed.
    (The log may lack the last heads of a crash, or start after the database did.)
    True if a head the room signed is missing or different."""
    cut = False
    for head in logged:
        where = f"the head signed at entry {head.seq} ({head.at}, {head.reason})"
        try:
            genuine = signature_ok(public, head.text, head.signature)
        except ValueError:
            genuine = False
        if not genuine or (room_id is not None and head.room_id != room_id):
            problems.append(f"{HEADS_LOG} has {where}, which this room did not sign")
            continue
        stored = by_seq.get(head.seq)
        if stored == head:
            continue
        cut = True
        problems.append(
            f"{where}, in {HEADS_LOG}, "
            + (
                "is not in the database: signed heads were removed (with the entries "
                "after them, or with a rewrite)"
                if stored is None
                else "differs from the head the database has at that entry"
            )
        )
    return cut


def check_coverage(
    heads: list[SignedHead],
    transitions: list[tuple[int, str]],
    times: dict[int, str],
    last_entry: int,
    sign_every_seconds: float | None,
    problems: list[str],
) -> None:
    """Signed heads missing: none at all, a poll transition whose head is gone, or a long
    unsigned tail (the room signs periodically while the chain grows)."""
    if not heads:
        # All of the chain is an unsigned tail: fine only as long as the room would not
        # have signed yet (a new room, or one running for less than the interval).
        start = _when(times.get(1))
        end = _when(times.get(last_entry))
        too_long = (
            start is not None
            and end is not None
            and sign_every_seconds is not None
            and (end - start).total_seconds() > UNSIGNED_SLACK * sign_every_seconds
        )
        if transitions or too_long:
            problems.append(
                f"there is no signed head: none of the {last_entry} entries is covered by the "
                "room's signature, but the room signs every poll transition and signs "
                "periodically (the signed heads were removed)"
            )
        return
    first, last = heads[0].seq, heads[-1].seq
    reasons = [(h.seq, set(h.reason.split("; "))) for h in heads]
    for seq, reason in transitions:
        if seq <= first:
            continue  # written before the room signed heads
        if not any(head_seq >= seq and reason in said for head_seq, said in reasons):
            problems.append(
                f"signed head missing: entry {seq} ({reason}) has no signed head, but every "
                "poll transition is signed when it is written (the head was removed)"
            )
    if last_entry > last and sign_every_seconds:
        start, end = _when(heads[-1].at), _when(times.get(last_entry))
        if start is not None and end is not None:
            span = (end - start).total_seconds()
            if span > UNSIGNED_SLACK * sign_every_seconds:
                problems.append(
                    f"signed head missing: entries {last + 1} to {last_entry} run "
                    f"{span:.0f} s past the last signed head (entry {last}, {heads[-1].at}), "
                    f"but the room signs every {sign_every_seconds:g} s while the chain "
                    "grows (signed heads were removed)"
                )


def _poll_of(data: str) -> str | None:
    try:
        value = json.loads(data).get("poll")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _when(at: str | None) -> datetime | None:
    if at is None:
        return None
    try:
        return datetime.fromisoformat(at)
    except ValueError:
        return None


def _short(digest: str) -> str:
    return digest[:16]
