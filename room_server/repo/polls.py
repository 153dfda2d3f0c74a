"""Polls, their templates, their results, and the ballots a result is counted from."""

from __future__ import annotations

import json
from typing import Any

from room_protocol.codec import record_from_json, record_to_json
from room_protocol.voting import NamedVote, PollResult, PollSpec
from room_server.repo import ballots as ballots_repo
from room_server.store import Store, iso_time, utc_now
from room_server.tally import Ballot


def rows(store: Store, meeting_id: str) -> list[dict[str, Any]]:
    return store.rows("SELECT * FROM polls WHERE meeting_id = ? ORDER BY position", meeting_id)


def row(store: Store, meeting_id: str, poll_id: str) -> dict[str, Any] | None:
    return store.row("SELECT * FROM polls WHERE meeting_id = ? AND id = ?", meeting_id, poll_id)


def spec(poll: dict[str, Any]) -> PollSpec:
    return record_from_json(PollSpec, poll["spec"])


def voted(store: Store, meeting_id: str, poll_id: str, secret: bool) -> int:
    """How many members' votes are in."""
    table = "secret_voters" if secret else "named_votes"
    found = store.row(
        f"SELECT count(*) AS n FROM {table} WHERE meeting_id = ? AND poll_id = ?",  # noqa: S608  a fixed table name
        meeting_id,
        poll_id,
    )
    return int(found["n"]) if found else 0


def template_ids(store: Store, meeting_id: str) -> tuple[str, ...]:
    return tuple(
        r["id"]
        for r in store.rows(
            "SELECT id FROM poll_templates WHERE meeting_id = ? ORDER BY position", meeting_id
        )
    )


def template(store: Store, meeting_id: str, template_id: str) -> PollSpec | None:
    found = store.row(
        "SELECT spec FROM poll_templates WHERE meeting_id = ? AND id = ?", meeting_id, template_id
    )
    return None if found is None else record_from_json(PollSpec, found["spec"])


def create(
    store: Store, meeting_id: str, poll_id: str, poll_spec: PollSpec, by: str | None
) -> None:
    store.conn.execute(
        "INSERT INTO polls (meeting_id, id, position, spec, state, created_by) VALUES "
        "(?, ?, (SELECT coalesce(max(position), -1) + 1 FROM polls WHERE meeting_id = ?), "
        "?, 'draft', ?)",
        (meeting_id, poll_id, meeting_id, record_to_json(poll_spec), by),
    )


def open_poll(
    store: Store, meeting_id: str, poll_id: str, now: float, closes: float | None, override: bool
) -> None:
    store.conn.execute(
        "UPDATE polls SET state = 'open', opened_at = ?, closes_at_ts = ?, "
        "quorum_override = ? WHERE meeting_id = ? AND id = ?",
        (iso_time(now), closes, int(override), meeting_id, poll_id),
    )


def set_countdown(store: Store, meeting_id: str, poll_id: str, closes: float) -> None:
    store.conn.execute(
        "UPDATE polls SET closes_at_ts = ? WHERE meeting_id = ? AND id = ?",
        (closes, meeting_id, poll_id),
    )


def close(
    store: Store, meeting_id: str, poll_id: str, present: int, members: int, result: PollResult
) -> None:
    store.conn.execute(
        "UPDATE polls SET state = 'closed', closed_at = ?, closes_at_ts = NULL, "
        "present = ?, members = ?, result = ? WHERE meeting_id = ? AND id = ?",
        (utc_now(), present, members, record_to_json(result), meeting_id, poll_id),
    )


def publish(store: Store, meeting_id: str, poll_id: str, result: PollResult) -> None:
    store.conn.execute(
        "UPDATE polls SET state = 'published', published_at = ?, result = ? "
        "WHERE meeting_id = ? AND id = ?",
        (utc_now(), record_to_json(result), meeting_id, poll_id),
    )


def ballots(
    store: Store, meeting_id: str, poll_id: str, secret: bool
) -> tuple[list[Ballot], tuple[NamedVote, ...]]:
    """The ballots to count, and for a named poll how each member voted (by member)."""
    if secret:
        cast = ballots_repo.secret_ballots(store, meeting_id, poll_id)
        return [Ballot(choices, weight) for choices, weight in cast], ()
    found = store.rows(
        "SELECT delegate_id, choices, weight, cast_by FROM named_votes "
        "WHERE meeting_id = ? AND poll_id = ? ORDER BY delegate_id",
        meeting_id,
        poll_id,
    )
    named = tuple(
        NamedVote(
            r["delegate_id"],
            tuple(json.loads(r["choices"])),
            r["weight"],
            r["cast_by"] if r["cast_by"] != r["delegate_id"] else None,
        )
        for r in found
    )
    return [Ballot(tuple(json.loads(r["choices"])), r["weight"]) for r in found], named
