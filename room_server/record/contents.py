"""The record's contents: meeting, attendance, polls, speakers, messages, documents and
the minutes, written from the room database into a record folder.

``write_contents`` reads the database through a read-only connection (it runs in a worker
thread while the server goes on) and writes every file marked (contents) in the record
layout (docs/records.md). The same database gives the same bytes: no build time, sorted
keys, ``\\n`` line ends, PDFs dated at the meeting's close.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from room_server.record import minutes
from room_server.record.durable import write_file
from room_server.record.tables import RECORD_FORMAT, MeetingRecord, read_meeting, read_only

__all__ = ["DocumentDamaged", "Progress", "write_contents"]

Progress = Callable[[int, int, str], None]

COPY_CHUNK = 1024 * 1024


class DocumentDamaged(RuntimeError):
    """A stored document's bytes no longer match the sha256 it was imported with."""


def write_contents(
    db_path: Path, state_dir: Path, meeting_id: str, out: Path, progress: Progress
) -> list[Path]:
    """Write the record's contents for ``meeting_id`` into ``out``; return the files written
    (absolute paths, in the order written)."""
    with read_only(db_path) as conn:
        record = read_meeting(conn, meeting_id)
    out.mkdir(parents=True, exist_ok=True)
    steps: list[tuple[str, Callable[[], list[Path]]]] = [
        ("meeting.json", lambda: [_json(out / "meeting.json", meeting_json(record))]),
        ("attendance", lambda: _attendance(out, record)),
        ("polls", lambda: _polls(out, record)),
        ("speakers.csv", lambda: [_speakers(out / "speakers.csv", record)]),
        ("messages.json", lambda: [_json(out / "messages.json", record.messages)]),
        *(
            (
                f"minutes-{language}.pdf",
                lambda language=language: [
                    _bytes(out / f"minutes-{language}.pdf", minutes.build_minutes(record, language))
                ],
            )
            for language in minutes.LANGUAGES
        ),
        *(
            (
                f"documents/{doc['id']}.pdf",
                lambda doc=doc: [_copy_document(state_dir, doc, out)],
            )
            for doc in record.documents
        ),
    ]
    written: list[Path] = []
    for done, (what, step) in enumerate(steps):
        progress(done, len(steps), what)
        written.extend(step())
    progress(len(steps), len(steps), "")
    return written


def meeting_json(record: MeetingRecord) -> dict[str, Any]:
    return {
        "format": RECORD_FORMAT,
        "meeting": record.meeting,
        "agenda": record.agenda,
        "documents": record.documents,
    }


# --- files ---------------------------------------------------------------------------------


def _bytes(path: Path, data: bytes) -> Path:
    write_file(path, data)
    return path


def json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def _json(path: Path, value: Any) -> Path:
    return _bytes(path, json_bytes(value))


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else _cell(v) for v in row])
    return text.getvalue().encode()


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    return str(value)


def _csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    return _bytes(path, csv_bytes(header, rows))


# --- attendance ----------------------------------------------------------------------------

ATTENDANCE_COLUMNS = (
    "member",
    "name",
    "role",
    "group",
    "voting",
    "weight",
    "assigned_seat",
    "seats",
    "methods",
    "check_ins",
    "check_outs",
    "present_at_close",
    "seat_at_close",
    "proxy_holder",
    "proxy_source",
    "proxies_held",
)


def _attendance(out: Path, record: MeetingRecord) -> list[Path]:
    return [
        _csv(
            out / "attendance.csv",
            ATTENDANCE_COLUMNS,
            ([entry[c] for c in ATTENDANCE_COLUMNS] for entry in record.register),
        ),
        _json(
            out / "attendance.json",
            {
                "register": record.register,
                "events": record.attendance_events,
                "proxies": record.proxies,
                "proxy_events": record.proxy_events,
            },
        ),
    ]


# --- polls ---------------------------------------------------------------------------------

RESULT_COLUMNS = (
    "poll",
    "title",
    "secret",
    "state",
    "option",
    "label",
    "votes",
    "ballots",
    "winner",
    "outcome",
    "ballots_total",
    "abstentions",
    "required",
)


def _polls(out: Path, record: MeetingRecord) -> list[Path]:
    rows: list[list[Any]] = []
    for poll in record.polls:
        result = poll["result"] or {}
        counts = {c["option_id"]: c for c in result.get("counts", [])}
        for option in poll["spec"]["options"]:
            count = counts.get(option["id"], {})
            rows.append(
                [
                    poll["id"],
                    poll["title"],
                    poll["secret"],
                    poll["state"],
                    option["id"],
                    option["label"],
                    count.get("votes"),
                    count.get("ballots"),
                    option["id"] in result.get("winners", []) if result else None,
                    result.get("outcome"),
                    result.get("ballots"),
                    result.get("abstentions"),
                    result.get("required"),
                ]
            )
    return [
        _json(out / "polls.json", {"polls": record.polls}),
        _csv(out / "results.csv", RESULT_COLUMNS, rows),
    ]


# --- speakers ------------------------------------------------------------------------------

SPEAKER_COLUMNS = (
    "member",
    "name",
    "item",
    "kind",
    "started_at",
    "ended_at",
    "duration_seconds",
    "limit_seconds",
    "expired",
)


def _speakers(path: Path, record: MeetingRecord) -> Path:
    return _csv(
        path,
        SPEAKER_COLUMNS,
        (
            [
                s["member"],
                record.name_of(s["member"]),
                s["item_id"],
                s["kind"],
                s["started_at"],
                s["ended_at"],
                s["duration_seconds"],
                s["limit_seconds"],
                s["expired"],
            ]
            for s in record.speeches
        ),
    )


# --- documents -----------------------------------------------------------------------------


def _copy_document(state_dir: Path, doc: dict[str, Any], out: Path) -> Path:
    """Copy a stored original, checking its sha256 on the way; a damaged one is not copied."""
    sha = doc["sha256"]
    source = state_dir / "documents" / sha[:2] / f"{sha}.pdf"
    target = out / doc["file"]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    try:
        with source.open("rb") as src, tmp.open("wb") as dst:
            while chunk := src.read(COPY_CHUNK):
                digest.update(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        if digest.hexdigest() != sha:
            raise DocumentDamaged(
                f"document {doc['id']!r}: {source} has sha256 {digest.hexdigest()}, "
                f"not {sha} as imported"
            )
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(target)
    return Path(target)
