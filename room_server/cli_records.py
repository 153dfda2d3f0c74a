"""``room-server record ...``: the sealed records of this room and their way out.

``add_status_commands`` adds ``status`` and ``upload-now`` under ``record``; the record
commands that verify and export a record sit beside them.
"""

from __future__ import annotations

import argparse
import sys
import time

from room_server.config import ServerConfig
from room_server.i18n import tr

EXIT_BAD_INPUT = 2

_STATUS_COMMANDS = ("status", "upload-now")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    record = sub.add_parser("record", help="sealed meeting records: state, upload")
    record_sub = record.add_subparsers(dest="record_command", required=True)
    add_status_commands(record_sub)


def add_status_commands(record_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    record_sub.add_parser(
        "status", help="every sealed record and its upload: state, progress, next try, error"
    )
    now = record_sub.add_parser(
        "upload-now", help="ask the running server to upload a record now (its backoff restarts)"
    )
    now.add_argument("meeting_id")


def is_status_command(args: argparse.Namespace) -> bool:
    return getattr(args, "record_command", None) in _STATUS_COMMANDS


def run(config: ServerConfig, args: argparse.Namespace) -> int:
    from room_server.record.outbox import Outbox, OutboxError

    outbox = Outbox(config.state_dir, config.archive, time.time)
    if args.record_command == "upload-now":
        try:
            outbox.upload_now(args.meeting_id)
        except OutboxError as exc:
            print(f"room-server: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if not config.archive.configured:
            print(tr("record.upload_not_configured", meeting=args.meeting_id))
        else:
            print(tr("record.upload_asked", meeting=args.meeting_id))
        return 0
    records = outbox.status()
    if not config.archive.configured:
        print(tr("record.no_archive"))
    if not records:
        print(tr("record.none", records_dir=outbox.records_dir))
        return 0
    rows = [
        (
            tr("record.column_meeting"),
            tr("record.column_state"),
            tr("record.column_files"),
            tr("record.column_bytes"),
            tr("record.column_attempts"),
            tr("record.column_next"),
            tr("record.column_error"),
        )
    ]
    for r in records:
        state = r.state.value
        if r.pruned_at is not None:
            state = tr("record.state_pruned", state=state)
        rows.append(
            (
                r.meeting_id,
                state,
                f"{r.files_done}/{r.files_total}",
                f"{_size(r.bytes_done)}/{_size(r.bytes_total)}",
                str(r.attempts),
                _time(r.next_attempt_at) if r.next_attempt_at is not None else "-",
                r.last_error or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1])
    return 0


def _size(count: int) -> str:
    """Bytes for a reader: 812 B, 3.4 MB (decimal units, as file managers show them)."""
    if count < 1000:
        return f"{count} B"
    value = float(count)
    for unit in ("kB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000:
            return f"{value:.1f} {unit}"
    return f"{value:.0f} TB"


def _time(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
