"""Ballots: who voted (``ballot_ids``, ``named_votes``, ``secret_voters``) and, for
secret polls, what was voted (``secret_ballots``: no voter, no time, no id, no rowid)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from room_server.store import Store


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


def insert_secret(
    store: Store, voter_rows: Sequence[tuple[Any, ...]], ballot_rows: Sequence[tuple[Any, ...]]
) -> None:
    store.conn.executemany(
        "INSERT INTO secret_voters (meeting_id, poll_id, delegate_id) VALUES (?, ?, ?)",
        voter_rows,
    )
    store.conn.executemany(
        "INSERT INTO secret_ballots (meeting_id, poll_id, shuffle, choices, weight) "
        "VALUES (?, ?, ?, ?, ?)",
        ballot_rows,
    )


def insert_ballot_ids(store: Store, rows: Sequence[tuple[Any, ...]]) -> None:
    store.conn.executemany(
        "INSERT INTO ballot_ids (meeting_id, poll_id, ballot_id, delegate_id, cast_by, "
        "receipt, at, head_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
