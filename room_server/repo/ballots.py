"""Ballots: who voted (``ballot_ids``, ``named_votes``, ``secret_voters``) and, for
secret polls, what was voted (``secret_slots``: no voter, no time, no id, no rowid).

A secret poll's ballots live in slots made when it opens, one per voting member, each
with a random key and the same size. A ballot is written into a slot chosen at random
among the free ones, with an ``UPDATE`` of a record that keeps its size: SQLite then
overwrites the cell where it is (its same-size overwrite), so a ballot's place in the
file was fixed before anyone voted and says nothing of when it came or who cast it.
Every slot of a poll has the same byte length, free or cast: a free slot is zero bytes,
a cast one the JSON ``[choices, weight]`` padded with spaces to :func:`slot_size`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from room_protocol.voting import PollKind, PollSpec
from room_server.store import Store

SLOT_KEY_BYTES = 16
LONGEST_WEIGHT = -(2**63)  # the longest a stored (64-bit) weight is written


def _ballot_json(choices: Sequence[str], weight: int) -> bytes:
    return json.dumps([list(choices), weight], ensure_ascii=False, separators=(",", ":")).encode()


def slot_size(spec: PollSpec) -> int:
    """Bytes of every slot of a poll: its longest valid ballot, the most choices it
    allows of its longest option ids, with the longest weight."""
    most = 1 if spec.kind is PollKind.YES_NO else spec.max_choices
    longest = sorted((o.id for o in spec.options), key=lambda o: len(_ballot_json([o], 0)))
    return len(_ballot_json(longest[max(0, len(longest) - most) :], LONGEST_WEIGHT))


def encode_slot(choices: Sequence[str], weight: int, size: int) -> bytes:
    """A cast ballot as its slot holds it: choices sorted, so the order they were
    ticked in is not kept either."""
    text = _ballot_json(sorted(choices), weight)
    if len(text) > size or size == 0:
        raise ValueError(f"a ballot of {len(text)} bytes does not fit a slot of {size}")
    return text.ljust(size, b" ")


def decode_slot(ballot: bytes) -> tuple[tuple[str, ...], int] | None:
    """(choices, weight) of a cast slot; None for a free one."""
    if not ballot or ballot[0] == 0:
        return None
    choices, weight = json.loads(ballot)
    return tuple(choices), int(weight)


def create_slots(store: Store, meeting_id: str, poll_id: str, count: int, size: int) -> None:
    """``count`` free slots of ``size`` bytes; their keys are random, so the order they
    are inserted in (and lie in on the page) is unrelated to the order of their keys."""
    store.conn.executemany(
        "INSERT INTO secret_slots (meeting_id, poll_id, slot, ballot) "
        "VALUES (?, ?, ?, zeroblob(?))",
        [(meeting_id, poll_id, os.urandom(SLOT_KEY_BYTES), size) for _ in range(count)],
    )


def free_slots(store: Store, meeting_id: str, poll_id: str) -> tuple[list[bytes], int | None]:
    """The keys of a poll's free slots, and the size of its slots (None: it has none)."""
    keys: list[bytes] = []
    size: int | None = None
    for key, length, free in store.conn.execute(
        "SELECT slot, length(ballot), ballot = zeroblob(length(ballot)) FROM secret_slots "
        "WHERE meeting_id = ? AND poll_id = ?",
        (meeting_id, poll_id),
    ):
        size = length
        if free:
            keys.append(key)
    return keys, size


def fill_slots(
    store: Store, meeting_id: str, poll_id: str, fills: Sequence[tuple[bytes, bytes]]
) -> None:
    """Write (slot, ballot) pairs into free slots, in the order of the slot keys: even a
    page SQLite writes out before the commit shows no order but the keys' (random) one."""
    for slot, ballot in sorted(fills):
        changed = store.conn.execute(
            "UPDATE secret_slots SET ballot = ? WHERE meeting_id = ? AND poll_id = ? "
            "AND slot = ? AND length(ballot) = ? AND ballot = zeroblob(length(ballot))",
            (ballot, meeting_id, poll_id, slot, len(ballot)),
        ).rowcount
        if changed != 1:
            raise RuntimeError("a secret ballot's slot was not free or not of its size")


def secret_ballots(
    store: Store, meeting_id: str, poll_id: str
) -> list[tuple[tuple[str, ...], int]]:
    """The cast ballots of a secret poll, in the order of their random slot keys."""
    found = (
        decode_slot(ballot)
        for (ballot,) in store.conn.execute(
            "SELECT ballot FROM secret_slots WHERE meeting_id = ? AND poll_id = ?",
            (meeting_id, poll_id),
        )
    )
    return [b for b in found if b is not None]


def voting_members(store: Store, meeting_id: str) -> int:
    row = store.conn.execute(
        "SELECT count(*) FROM delegates WHERE meeting_id = ? AND voting", (meeting_id,)
    ).fetchone()
    return int(row[0])


def ballot(store: Store, meeting_id: str, poll_id: str, ballot_id: str) -> dict[str, Any] | None:
    """A ballot already recorded under this id: whom it was for, who cast it, its receipt
    and time (one primary-key lookup)."""
    return store.row(
        "SELECT b.delegate_id, b.cast_by, b.receipt, b.at, b.head_seq, "
        "coalesce(h.hash, '') AS head FROM ballot_ids b LEFT JOIN audit_heads h "
        "ON h.seq = b.head_seq WHERE b.meeting_id = ? AND b.poll_id = ? AND b.ballot_id = ?",
        meeting_id,
        poll_id,
        ballot_id,
    )


def has_voted(store: Store, meeting_id: str, poll_id: str, delegate_id: str, secret: bool) -> bool:
    table = "secret_voters" if secret else "named_votes"
    found = store.conn.execute(
        f"SELECT 1 FROM {table} WHERE meeting_id = ? AND poll_id = ? AND delegate_id = ?",  # noqa: S608  a fixed table name
        (meeting_id, poll_id, delegate_id),
    ).fetchone()
    return found is not None


def receipts(store: Store, meeting_id: str, delegate_id: str) -> list[dict[str, Any]]:
    """The receipts of ballots for or by a member, oldest first."""
    return store.rows(
        "SELECT b.*, coalesce(h.hash, '') AS head FROM ballot_ids b LEFT JOIN audit_heads h "
        "ON h.seq = b.head_seq WHERE b.meeting_id = ? AND (b.delegate_id = ? OR b.cast_by = ?) "
        "ORDER BY b.at",
        meeting_id,
        delegate_id,
        delegate_id,
    )


def change_named_vote(
    store: Store, key: tuple[str, str], delegate_id: str, values: tuple[Any, ...]
) -> None:
    """``values``: choices, weight, cast_by, ballot_id, at."""
    store.conn.execute(
        "UPDATE named_votes SET choices = ?, weight = ?, cast_by = ?, ballot_id = ?, at = ?, "
        "revision = revision + 1 WHERE meeting_id = ? AND poll_id = ? AND delegate_id = ?",
        (*values, *key, delegate_id),
    )


def insert_named_votes(store: Store, rows: Sequence[tuple[Any, ...]]) -> None:
    store.conn.executemany(
        "INSERT INTO named_votes (meeting_id, poll_id, delegate_id, choices, weight, "
        "cast_by, ballot_id, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )


def insert_secret_voters(store: Store, rows: Sequence[tuple[Any, ...]]) -> None:
    store.conn.executemany(
        "INSERT INTO secret_voters (meeting_id, poll_id, delegate_id) VALUES (?, ?, ?)",
        sorted(rows),
    )


def insert_ballot_ids(store: Store, rows: Sequence[tuple[Any, ...]]) -> None:
    store.conn.executemany(
        "INSERT INTO ballot_ids (meeting_id, poll_id, ballot_id, delegate_id, cast_by, "
        "receipt, at, head_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
