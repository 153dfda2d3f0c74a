"""``room-server``: run the room, import meeting packages, show status."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sqlite3
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from room_protocol.notices import NoticeKind
from room_protocol.private_files import UMASK, make_private
from room_protocol.text import language_from_environment
from room_server import cli_devices, cli_records, cli_state
from room_server.config import DEFAULT_CONFIG_PATH, ConfigError, ServerConfig, load_config
from room_server.i18n import CATALOGUE, LANGUAGES, tr, trn

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from room_server.importer import ImportReport
    from room_server.package import PackageError, SlowPage

EXIT_BAD_INPUT = 2
EXIT_NOT_RUNNING = 3


def build_parser() -> argparse.ArgumentParser:
    """Every command and option of ``room-server``, each with its help."""
    parser = argparse.ArgumentParser(
        prog="room-server", description="Hemicycle room server for a paperless meeting room."
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"configuration file (default: {DEFAULT_CONFIG_PATH} if it exists)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where the database, documents and certificates live",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "run",
        help="serve the room until stopped (SIGTERM)",
        description="Serve the room: listen for tablets and displays over TLS, advertise "
        "the room over mDNS, run the current meeting, seal and upload its record when it "
        "closes. Runs until stopped (SIGTERM, Ctrl-C); systemd/room-server.service runs it.",
    )
    imp = sub.add_parser("import", help="validate and load a meeting package (folder or .zip)")
    imp.add_argument(
        "package", type=Path, help="the package: a folder or a .zip with meeting.toml and PDFs"
    )
    imp.add_argument(
        "--no-activate",
        action="store_true",
        help="store the meeting without making it the current one",
    )
    imp.add_argument(
        "--unless-in-session",
        action="store_true",
        help="make it the current meeting only when none is in session (current, not closed, "
        "and begun: check-ins, a started item, an opened poll); otherwise store it and leave "
        "the room's meeting as it is (the USB watcher imports this way)",
    )
    imp.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object instead: the meeting imported, or the problems found",
    )
    activate = sub.add_parser(
        "activate",
        help="make an imported meeting the current one",
        description="Make an imported meeting the room's current meeting: a running server "
        "sends it to every tablet. Refused while another meeting is in session (current, not "
        "closed, and begun) unless --force.",
    )
    activate.add_argument("meeting_id", help="the meeting's id (room-server status lists them)")
    activate.add_argument(
        "--force",
        action="store_true",
        help="switch even while another meeting is in session (its tablets follow at once)",
    )
    late = sub.add_parser(
        "add-document", help="add a late document to the current meeting, on an agenda item"
    )
    late.add_argument("pdf", type=Path, help="the PDF file to add")
    late.add_argument("--item", required=True, help="agenda item id to attach it to")
    late.add_argument("--title", default=None, help="title shown on tablets (default: file name)")
    late.add_argument(
        "--confidential",
        action="store_true",
        help="only for the meeting's members: watermarked per member, wiped at close",
    )
    status = sub.add_parser("status", help="show the room's meetings and whether it is serving")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    audit_cmd = sub.add_parser("audit", help="check the hash-chained audit log")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", required=True)
    verify_cmd = audit_sub.add_parser(
        "verify",
        help="recompute the chain and check the room's signatures on it; exit 1 if any "
        "entry was changed, removed or rewritten, or a signed head is missing",
    )
    verify_cmd.add_argument(
        "--public-key",
        type=Path,
        default=None,
        help="the room's public key (PEM) as an auditor holds it "
        "(default: keys/room-signing.pub in the state directory)",
    )
    verify_cmd.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="HEAD",
        help="a head seen in the room (display, receipt), e.g. 'seq 1234 · 3F9A C21B': "
        "it must be a signed head of the chain (repeatable)",
    )
    receipt_cmd = audit_sub.add_parser(
        "receipt", help="find a ballot receipt's entry in the chain and the signed head after it"
    )
    receipt_cmd.add_argument("code", help="the receipt code (hex digits of the entry's hash)")
    receipt_cmd.add_argument(
        "head",
        nargs="?",
        default=None,
        help="the head printed on the receipt, e.g. 'seq 1234 · 3F9A C21B'",
    )
    receipt_cmd.add_argument(
        "--public-key",
        type=Path,
        default=None,
        help="the room's public key (PEM) (default: keys/room-signing.pub in the state directory)",
    )
    notice = sub.add_parser(
        "notice",
        help="show a notice on the chair console and the room display (the USB watcher's "
        "results); the running server sends it within a poll",
    )
    notice.add_argument(
        "kind",
        # The disk's notices are the server's own: it knows when its writes fail.
        choices=[k.value for k in NoticeKind if not k.value.startswith("storage_")],
        help="what happened: %(choices)s",
    )
    notice.add_argument("--title", default="", help="the meeting's title (package_imported)")
    notice.add_argument("--count", type=int, default=0, help="documents or records")
    notice.add_argument("--detail", default="", help="why (a rejection or a failure)")
    cli_devices.add_commands(sub)
    cli_records.add_commands(sub)
    cli_state.add_commands(sub)
    _describe_subcommands(parser)
    return parser


def _describe_subcommands(parser: argparse.ArgumentParser) -> None:
    """``room-server CMD --help`` says what CMD does: its one-line help, where it has no
    longer description."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                if not sub.description and helps.get(name):
                    sub.description = str(helps[name])[:1].upper() + str(helps[name])[1:] + "."
                _describe_subcommands(sub)


def main(argv: list[str] | None = None) -> int:
    os.umask(UMASK)  # the state directory is private whatever the shell's umask was
    args = build_parser().parse_args(argv)
    CATALOGUE.set_language(language_from_environment(os.environ, LANGUAGES) or "en")

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # websockets logs frames (PINs, ballots) at DEBUG; the server's connections use a
    # logger that never does (room_protocol.wire), and this holds for any other one.
    logging.getLogger("websockets").setLevel(logging.INFO)
    try:
        config = _config(args.config, args.state_dir)
    except ConfigError as exc:
        print(f"room-server: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        return _run(config, args)
    except OSError as exc:  # a path given that is not what it should be: said, not a traceback
        path = exc.filename if exc.filename is not None else "?"
        print(tr("cli.cannot_use", path=path, error=exc.strerror or exc), file=sys.stderr)
        return EXIT_BAD_INPUT


def _run(config: ServerConfig, args: argparse.Namespace) -> int:
    if args.command == "run":
        from room_server.app import run

        try:
            _event_loop_runner()(run(config))
        except OSError as exc:  # address in use, no permission for the port or state dir
            print(tr("cli.cannot_start", error=exc), file=sys.stderr)
            return EXIT_BAD_INPUT
        return 0
    if args.command == "import":
        mode = (
            "no" if args.no_activate else "unless-in-session" if args.unless_in_session else "yes"
        )
        return _import(config, args.package, activate=mode, as_json=args.json)
    if args.command == "activate":
        return _activate(config, args.meeting_id, force=args.force)
    if args.command == "notice":
        return _notice(config, args.kind, args.title, args.count, args.detail)
    if args.command == "add-document":
        return _add_document(config, args.pdf, args.item, args.title, args.confidential)
    if args.command in ("enroll", "devices"):
        return cli_devices.run(config, args)
    if args.command == "record":
        return cli_records.run(config, args)
    if args.command in ("init", "rotate", "backup", "inspect"):
        return cli_state.run(config, args, _running(config))
    if args.command == "audit":
        if args.audit_command == "receipt":
            return _audit_receipt(config, args.code, args.head, args.public_key)
        return _audit_verify(config, args.public_key, args.witness)
    return _status(config, as_json=args.json)


EXIT_TAMPERED = 1


def _open_audit(
    config: ServerConfig, public_key: Path | None
) -> tuple[sqlite3.Connection, Ed25519PublicKey] | int:
    """The database (read-only) and the public key to check it with, or an exit code."""
    from room_server.signing import PUBLIC_FILE, SigningKeyError, load_public_key

    if not config.database_path.exists():
        print(tr("cli.no_database_at", path=config.database_path), file=sys.stderr)
        return EXIT_BAD_INPUT
    key_path = public_key or config.keys_dir / PUBLIC_FILE
    if public_key is None and not key_path.exists():
        print(tr("audit.no_public_key", path=key_path), file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        public = load_public_key(key_path)
    except SigningKeyError as exc:
        print(f"room-server: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    # Read-only: checking the log must not change the file it checks.
    return sqlite3.connect(f"file:{config.database_path}?mode=ro", uri=True), public


def _verified(
    config: ServerConfig,
    conn: sqlite3.Connection,
    public: Ed25519PublicKey,
    witnesses: list[tuple[int, str]] | None = None,
) -> Any:
    """The verification, with the heads log beside the key when there is one (a log that
    cannot be read is one more problem)."""
    from dataclasses import replace

    from room_server import audit

    log_path = config.keys_dir / audit.HEADS_LOG
    logged: list[audit.SignedHead] | None = None
    log_problems: list[str] = []
    if log_path.exists():
        try:
            logged, log_problems = audit.read_log(log_path)
        except OSError as exc:
            log_problems = [f"{log_path}: cannot read the heads log: {exc.strerror}"]
    result = audit.verify(
        conn,
        public,
        room_id=config.room_id,
        sign_every_seconds=config.sign_every_seconds,
        witnesses=witnesses or (),
        logged=logged,
    )
    if log_problems:
        result = replace(result, problems=result.problems + tuple(log_problems))
    return result


def _print_verification(result: Any) -> None:
    from room_protocol.voting import fingerprint

    entries = trn("count.entries", result.entries)
    if result.ok:
        head = tr("audit.head", head=result.head[:16]) if result.head else ""
        print(tr("audit.intact", entries=entries, head=head))
        last = result.last_signed
        if last is not None:
            print(
                tr(
                    "audit.signed",
                    heads=trn("count.signed_heads", result.signed_heads),
                    seq=last.seq,
                    fingerprint=fingerprint(last.hash),
                    at=last.at,
                )
            )
        return
    if result.forged:
        print(trn("audit.forged", len(result.problems), entries=entries))
    else:
        print(trn("audit.tampered", len(result.problems), entries=entries))
    for problem in result.problems:
        print(f"  {problem}")


def _audit_verify(config: ServerConfig, public_key: Path | None, witness: list[str]) -> int:
    from room_server.audit import parse_witness

    witnesses: list[tuple[int, str]] = []
    for text in witness:
        parsed = parse_witness(text)
        if parsed is None:
            print(tr("audit.bad_head", head=repr(text[:70])), file=sys.stderr)
            return EXIT_BAD_INPUT
        witnesses.append(parsed)
    opened = _open_audit(config, public_key)
    if isinstance(opened, int):
        return opened
    conn, public = opened
    try:
        result = _verified(config, conn, public, witnesses)
    except sqlite3.DatabaseError as exc:
        print(tr("cli.cannot_read", path=config.database_path, error=exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        conn.close()
    _print_verification(result)
    return 0 if result.ok else EXIT_TAMPERED


def _audit_receipt(
    config: ServerConfig, code: str, head: str | None, public_key: Path | None
) -> int:
    """Find a receipt's entry, check the chain, and name the signed head that covers it."""
    import re

    from room_protocol.voting import fingerprint
    from room_server import audit

    code = code.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{8,64}", code):
        print(tr("audit.bad_code", code=repr(code[:70])), file=sys.stderr)
        return EXIT_BAD_INPUT
    claimed: tuple[int, str] | None = None
    if head is not None:
        claimed = audit.parse_witness(head)
        if claimed is None:
            print(tr("audit.bad_head", head=repr(head[:70])), file=sys.stderr)
            return EXIT_BAD_INPUT
    opened = _open_audit(config, public_key)
    if isinstance(opened, int):
        return opened
    conn, public = opened
    try:
        result = _verified(config, conn, public)
        rows = conn.execute(
            "SELECT seq, at, kind, data, hash FROM audit_log WHERE substr(hash, 1, ?) = ? "
            "ORDER BY seq LIMIT 2",
            (len(code), code),
        ).fetchall()
        covering = conn.execute(
            "SELECT seq FROM audit_heads WHERE seq >= ? ORDER BY seq LIMIT 1",
            (rows[0][0] if rows else 0,),
        ).fetchone()
        signed = audit.signed_at(conn, covering[0]) if covering else None
        shown = audit.signed_at(conn, claimed[0]) if claimed else None
    except sqlite3.DatabaseError as exc:
        print(tr("cli.cannot_read", path=config.database_path, error=exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        conn.close()
    _print_verification(result)
    ok = result.ok
    if len(rows) != 1:
        print(tr("audit.receipt_not_found" if not rows else "audit.receipt_ambiguous", code=code))
        return EXIT_TAMPERED
    seq, at, kind, data, _digest = rows[0]
    print(tr("audit.receipt_entry", code=code, seq=seq, kind=kind, at=at, data=data))
    if signed is None:
        print(tr("audit.receipt_unsigned"))
        ok = False
    else:
        print(
            tr(
                "audit.receipt_covered",
                seq=signed.seq,
                fingerprint=fingerprint(signed.hash),
                at=signed.at,
                reason=signed.reason,
            )
        )
    if claimed is not None:
        matches = (
            shown is not None
            and shown.hash.startswith(claimed[1])
            and shown.seq < seq
            and not result.forged
        )
        print(
            tr(
                "audit.receipt_head_ok" if matches else "audit.receipt_head_wrong",
                seq=claimed[0],
                fingerprint=fingerprint(claimed[1]),
            )
        )
        ok = ok and matches
    return 0 if ok else EXIT_TAMPERED


def _event_loop_runner() -> Any:
    """uvloop where it is installed: per TLS connection it keeps a fraction of asyncio's
    256 KiB buffer and broadcasts about a fifth faster (docs/performance.md)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


def _config(path: Path | None, state_dir: Path | None) -> ServerConfig:
    if path is None and DEFAULT_CONFIG_PATH.exists():
        path = DEFAULT_CONFIG_PATH
    return load_config(path, state_dir=state_dir)


def _activate(config: ServerConfig, meeting_id: str, *, force: bool) -> int:
    from room_server.importer import NotActivated, activate_meeting
    from room_server.store import Store, StoreError

    try:
        with Store(config.database_path, config.documents_dir) as store:
            revision = activate_meeting(store, meeting_id, force=force)
    except (NotActivated, StoreError) as exc:
        print(f"room-server: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(tr("activate.done", meeting=repr(meeting_id), revision=revision))
    return 0


def _import(config: ServerConfig, package: Path, *, activate: str, as_json: bool) -> int:
    """``activate``: "yes", "no" or "unless-in-session" (then not while another meeting is
    in session: the report says which)."""
    from room_server.importer import activate_meeting, import_package, in_session
    from room_server.package import PackageError
    from room_server.store import Store, StoreError

    def progress(name: str, done: int, total: int) -> None:
        if not as_json:
            print(f"  [{done}/{total}] {name}", flush=True)

    if not as_json:
        print(tr("import.checking", package=package), flush=True)
    try:
        make_private(config.state_dir)
        with Store(config.database_path, config.documents_dir) as store:
            session = in_session(store) if activate == "unless-in-session" else None
            report = import_package(store, package, activate=activate == "yes", progress=progress)
            if activate == "unless-in-session" and session is None:
                report = replace(report, revision=activate_meeting(store, report.meeting_id))
            current = store.active_meeting_id() == report.meeting_id
    except PackageError as exc:
        if as_json:
            problems = [str(p) for p in exc.problems]
            print(json.dumps({"rejected": str(exc.path), "problems": problems}))
        else:
            _print_package_error(exc)
            print(tr("import.nothing_imported"), file=sys.stderr)
        return EXIT_BAD_INPUT
    except StoreError as exc:
        if as_json:
            print(json.dumps({"rejected": str(package), "problems": [str(exc)]}))
        print(f"room-server: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if as_json:
        keys = ("meeting_id", "title", "documents", "new_documents", "replaced", "revision")
        imported: dict[str, Any] = {key: getattr(report, key) for key in keys}
        imported["warnings"] = _warnings(report)
        imported["current"] = current
        if not current and session is not None:
            imported["in_session"] = {"meeting_id": session[0], "title": session[1]}
        print(json.dumps({"imported": imported}))
        return 0
    print(
        tr(
            "import.replaced" if report.replaced else "import.imported",
            meeting=repr(report.meeting_id),
            title=report.title,
            agenda_items=trn("count.agenda_items", report.agenda_items),
            documents=trn("count.documents_new", report.documents, new=report.new_documents),
            delegates=trn("count.delegates", report.delegates),
            revision=report.revision,
        )
        + (tr("import.now_current") if current else "")
    )
    if not current and session is not None:
        print(tr("import.kept_session", meeting=repr(session[0]), title=session[1]))
    for file, title, removed in report.stripped:
        print(tr("import.stripped", document=f"{file} ({title})", removed=_removed(removed)))
    for file, title in report.repaired:
        print(tr("import.repaired", document=f"{file} ({title})"))
    for file, title, pages in report.slow:
        _print_slow(f"{file} ({title})", pages)
    return 0


def _warnings(report: ImportReport) -> list[str]:
    """What was accepted with a change or a caveat, one English line each (for --json)."""
    lines = [
        f"{file}: repaired: its cross-reference table was broken; stored re-saved"
        for file, _title in report.repaired
    ]
    for file, _title, pages in report.slow:
        for slow in pages:
            took = f"more than {slow.seconds:.1f} s" if slow.overran else f"{slow.seconds:.1f} s"
            lines.append(
                f"{file}: page {slow.page} is slow to draw ({took}); tablets will "
                "show it progressively"
            )
    return lines


def _print_slow(document: str, pages: tuple[SlowPage, ...]) -> None:
    for slow in pages:
        seconds = tr("import.more_than" if slow.overran else "import.seconds", s=slow.seconds)
        print(tr("import.slow_page", document=document, page=slow.page, seconds=seconds))


def _notice(config: ServerConfig, kind: str, title: str, count: int, detail: str) -> int:
    from room_protocol import ProtocolError, decode, encode
    from room_protocol.notices import RoomNotice
    from room_server.notices import drop
    from room_server.store import utc_now

    try:
        # Through the codec: a notice the server could not send is refused here.
        notice = decode(encode(RoomNotice(NoticeKind(kind), utc_now(), title, count, detail)))
        assert isinstance(notice, RoomNotice)
        make_private(config.state_dir)
        drop(config.state_dir, notice)
    except ProtocolError as exc:
        print(tr("notice.bad", error=exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"room-server: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _removed(removed: tuple[tuple[str, int], ...]) -> str:
    """What import stripped from a PDF, in the CLI's language: "JavaScript (2 places), ..."."""
    return ", ".join(trn(f"stripped.{kind}", places) for kind, places in removed)


def _add_document(
    config: ServerConfig, pdf: Path, item: str, title: str | None, confidential: bool
) -> int:
    from room_server.importer import add_document
    from room_server.package import PackageError
    from room_server.store import Store, StoreError

    try:
        make_private(config.state_dir)
        with Store(config.database_path, config.documents_dir) as store:
            late = add_document(store, pdf, item_id=item, title=title, confidential=confidential)
    except PackageError as exc:
        _print_package_error(exc)
        print(tr("add_document.nothing_added"), file=sys.stderr)
        return EXIT_BAD_INPUT
    except StoreError as exc:
        print(f"room-server: {exc}", file=sys.stderr)
        print(tr("add_document.nothing_added"), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(
        tr(
            "add_document.added",
            title=repr(late.title),
            pages=trn("count.pages", late.pages),
            item=late.item_number,
            revision=late.revision,
        )
    )
    if late.removed:
        print(tr("import.stripped", document=repr(late.title), removed=_removed(late.removed)))
    if late.repaired:
        print(tr("import.repaired", document=repr(late.title)))
    _print_slow(repr(late.title), late.slow_pages)
    return 0


def _status(config: ServerConfig, *, as_json: bool) -> int:
    from room_server.store import Store, StoreError

    running = _running(config)
    if not config.database_path.exists():
        print(tr("status.no_database", state_dir=config.state_dir), file=sys.stderr)
        return EXIT_NOT_RUNNING
    try:
        with Store(config.database_path, config.documents_dir) as store:
            meetings = store.meetings()
            for m in meetings:
                m["record"] = (config.state_dir / "records" / m["id"]).is_dir()
            active = store.active_meeting_id()
            revision = store.revision()
    except StoreError as exc:
        print(f"room-server: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if as_json:
        print(
            json.dumps(
                {
                    "running": running,
                    "active_meeting": active,
                    "revision": revision,
                    "meetings": meetings,
                },
                indent=2,
            )
        )
        return 0 if running else EXIT_NOT_RUNNING
    room = repr(config.room_id)
    print(tr("status.room", room=room, name=config.room_name, state_dir=config.state_dir))
    if running:
        print(
            tr(
                "status.serving",
                pid=running["pid"],
                port=running["port"],
                host=running["hostname"],
                fingerprint=running["fingerprint"][:16],
            )
        )
    else:
        print(tr("status.not_running"))
    if not meetings:
        print(tr("status.no_meetings"))
    for m in meetings:
        mark = "*" if m["id"] == active else " "
        print(
            tr(
                "status.meeting",
                mark=mark,
                id=m["id"],
                title=m["title"],
                date=m["date"],
                agenda_items=trn("count.agenda_items", m["agenda_items"]),
                documents=trn("count.documents", m["documents"]),
                delegates=trn("count.delegates", m["delegates"]),
            )
        )
        if m["closed_at"] is not None:
            record = tr("status.record_built" if m["record"] else "status.record_pending")
            print(tr("status.meeting_closed", at=m["closed_at"], record=record))
    return 0 if running else EXIT_NOT_RUNNING


def _print_package_error(exc: PackageError) -> None:
    """The problems of a rejected package or document, under a head in the CLI's language."""
    from room_server.package import DOCUMENT

    head = "document.rejected" if exc.what == DOCUMENT else "package.rejected"
    print(trn(head, len(exc.problems), path=exc.path), file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)


def _running(config: ServerConfig) -> dict[str, Any] | None:
    try:
        info = json.loads(config.runtime_file.read_text(encoding="utf-8"))
        os.kill(int(info["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return dict(info)


if __name__ == "__main__":
    sys.exit(main())
