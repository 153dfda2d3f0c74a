"""``room-server record``: the sealed records of this room and their way out: check a
record, export records to a folder (a USB stick), print the room's public signing key in
minisign's format, and the archive upload's state (``status``, ``upload-now``)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from room_server.config import ServerConfig
from room_server.i18n import tr, trn

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from room_server.record.outbox import Outbox

EXIT_NOT_VALID = 1
EXIT_BAD_INPUT = 2
_STATUS_COMMANDS = ("status", "upload-now", "upload")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    record = sub.add_parser("record", help="check, export and sign sealed meeting records")
    record_sub = record.add_subparsers(dest="record_command", required=True)
    verify = record_sub.add_parser(
        "verify",
        help="check a record folder offline: the signature, every file and the audit chain; "
        "exit 1 naming each problem",
    )
    verify.add_argument("path", type=Path, help="the record's folder (with manifest.json)")
    verify.add_argument(
        "--public-key",
        type=Path,
        default=None,
        help="the room's public key (minisign or PEM) as you hold it; without it the key "
        "the record carries is used, which shows only that the record is whole",
    )
    export = record_sub.add_parser(
        "export",
        help="copy sealed records to a folder (a mounted USB stick) and verify the copy",
    )
    export.add_argument("--all", action="store_true", help="every sealed record of the room")
    export.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object at the end instead: what was exported, what failed",
    )
    export.add_argument(
        "target",
        nargs="+",
        metavar="[MEETING_ID] PATH",
        help="the meeting, then the folder; the folder alone: every sealed record",
    )
    record_sub.add_parser(
        "public-key", help="print the room's public signing key (minisign format)"
    )
    add_status_commands(record_sub)


def run(config: ServerConfig, args: argparse.Namespace) -> int:
    if args.record_command in _STATUS_COMMANDS:
        return _status(config, args)
    if args.record_command == "verify":
        return _verify(args.path, args.public_key)
    if args.record_command == "export":
        # PATH alone (or --all PATH): every sealed record; MEETING_ID PATH: that one.
        if len(args.target) > 2 or (args.all and len(args.target) != 1):
            print(tr("record.export_usage"), file=sys.stderr)
            return EXIT_BAD_INPUT
        meeting = args.target[0] if len(args.target) == 2 else None
        return _export(config, meeting, Path(args.target[-1]), as_json=args.json)
    return _public_key(config)


def _verify(path: Path, public_key: Path | None) -> int:
    from room_server.record.verify import check_record, load_public_key_file

    given: Ed25519PublicKey | None = None
    if public_key is not None:
        try:
            given = load_public_key_file(public_key)
        except (OSError, ValueError) as exc:
            print(tr("record.bad_key_file", path=public_key, error=exc), file=sys.stderr)
            return EXIT_BAD_INPUT
    check = check_record(path, given)
    if not check.ok:
        print(trn("record.not_valid", len(check.problems), path=path))
        for problem in check.problems:
            print(f"  {problem}")
        return EXIT_NOT_VALID
    print(
        trn(
            "record.ok",
            check.files,
            first=check.first_seq,
            last=check.last_seq,
            key_id=check.key_id,
        )
    )
    if check.key_from_record:
        print(tr("record.key_in_record", key_id=check.key_id))
    return 0


def _room_public_key(config: ServerConfig) -> Ed25519PublicKey | None:
    from room_server.signing import PUBLIC_FILE, SigningKeyError, load_public_key

    try:
        return load_public_key(config.keys_dir / PUBLIC_FILE)
    except SigningKeyError:
        return None


def _public_key(config: ServerConfig) -> int:
    from room_server.record import minisign
    from room_server.signing import PUBLIC_FILE

    public = _room_public_key(config)
    if public is None:
        print(tr("record.no_key", path=config.keys_dir / PUBLIC_FILE), file=sys.stderr)
        return EXIT_BAD_INPUT
    sys.stdout.write(minisign.public_key_file(public))
    return 0


def _export(config: ServerConfig, meeting: str | None, dest: Path, *, as_json: bool) -> int:
    from room_server.record import RECORDS_DIR
    from room_server.record.export import ExportError, export_record
    from room_server.record.seal import MANIFEST

    records = config.state_dir / RECORDS_DIR
    if meeting is not None:
        if (
            "/" in meeting
            or meeting.startswith(".")
            or not (records / meeting / MANIFEST).is_file()
        ):
            print(tr("record.not_found", meeting=meeting, path=records), file=sys.stderr)
            return EXIT_BAD_INPUT
        chosen = [records / meeting]
    else:
        found = sorted(records.iterdir()) if records.is_dir() else []
        chosen = [p for p in found if not p.name.startswith(".") and (p / MANIFEST).is_file()]
        if not chosen:
            print(tr("record.none", path=records), file=sys.stderr)
            return EXIT_BAD_INPUT
    if not dest.is_dir():
        print(tr("record.no_destination", path=dest), file=sys.stderr)
        return EXIT_BAD_INPUT
    public = _room_public_key(config)
    exported: list[dict[str, str]] = []
    failed: list[dict[str, object]] = []
    for record in chosen:
        if not as_json:
            print(tr("record.exporting", meeting=record.name, path=dest), flush=True)

        def progress(done: int, total: int, what: str) -> None:
            if not as_json:
                print(tr("record.progress", done=done, total=total, what=what), flush=True)

        try:
            target = export_record(record, dest, progress, public_key=public)
        except (ExportError, OSError) as exc:
            problems = [str(p) for p in getattr(exc, "problems", [])]
            failed.append({"meeting": record.name, "error": str(exc), "problems": problems})
            if not as_json:
                print(tr("record.export_failed", meeting=record.name, error=exc))
                for problem in problems:
                    print(f"  {problem}")
            continue
        exported.append({"meeting": record.name, "path": str(target)})
        if not as_json:
            print(tr("record.exported", meeting=record.name, path=target), flush=True)
    if as_json:
        print(json.dumps({"exported": exported, "failed": failed}), flush=True)
    return EXIT_NOT_VALID if failed else 0


def add_status_commands(record_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    record_sub.add_parser(
        "status", help="every sealed record and its upload: state, progress, next try, error"
    )
    now = record_sub.add_parser(
        "upload-now", help="ask the running server to upload a record now (its backoff restarts)"
    )
    now.add_argument("meeting_id", help="the meeting whose record to upload now")
    upload = record_sub.add_parser(
        "upload",
        help="upload the sealed records that are due, then stop; --follow: keep uploading",
        description="The outbox's uploader on its own (hemicycle-uploader.service runs it "
        'with --follow when [archive] uploader = "separate"). Only one uploader runs at a '
        "time: this one waits while another (the server's) holds the outbox.",
    )
    upload.add_argument(
        "--follow", action="store_true", help="keep uploading new records until stopped"
    )


def _status(config: ServerConfig, args: argparse.Namespace) -> int:
    from room_server.record.outbox import Outbox, OutboxError

    outbox = Outbox(config.state_dir, config.archive, time.time)
    if args.record_command == "upload":
        return _upload(config, outbox, follow=args.follow)
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
        print(tr("record.status_none", records_dir=outbox.records_dir))
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


def _upload(config: ServerConfig, outbox: Outbox, *, follow: bool) -> int:
    """Run the outbox's uploader in this process until stopped (``follow``) or until no
    record is due; exit 1 when a record is left failed."""
    import asyncio
    import logging
    import signal

    from room_protocol.service_manager import serve_until
    from room_server.record.outbox import State

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if not config.archive.configured:
        print(tr("record.no_archive"), file=sys.stderr)
        return EXIT_BAD_INPUT

    async def main() -> None:
        if not follow:
            await outbox.run(until_idle=True)
            return
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        uploader = asyncio.create_task(outbox.run(), name="record uploader")
        waiting = asyncio.create_task(serve_until(stop, "uploading records to the archive"))
        done, _ = await asyncio.wait({uploader, waiting}, return_when=asyncio.FIRST_COMPLETED)
        uploader.cancel()
        waiting.cancel()
        for task in (uploader, waiting):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for task in done:
            task.result()  # an uploader that ended by itself: its error

    asyncio.run(main())
    failed = [r for r in outbox.status() if r.state is State.FAILED_RETRYING]
    for record in failed:
        print(tr("record.upload_failed", meeting=record.meeting_id, error=record.last_error))
    return EXIT_NOT_VALID if failed and not follow else 0


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
