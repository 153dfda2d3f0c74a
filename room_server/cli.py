"""``room-server``: run the room, import meeting packages, show status."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from room_protocol.text import language_from_environment
from room_server.config import DEFAULT_CONFIG_PATH, ConfigError, ServerConfig, load_config
from room_server.i18n import CATALOGUE, LANGUAGES, tr, trn
from room_server.state import UMASK, make_private

if TYPE_CHECKING:
    from room_server.package import PackageError

EXIT_BAD_INPUT = 2
EXIT_NOT_RUNNING = 3


def main(argv: list[str] | None = None) -> int:
    os.umask(UMASK)  # the state directory is private whatever the shell's umask was
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
    sub.add_parser("run", help="serve the room until stopped (SIGTERM)")
    imp = sub.add_parser("import", help="validate and load a meeting package (folder or .zip)")
    imp.add_argument("package", type=Path)
    imp.add_argument(
        "--no-activate",
        action="store_true",
        help="store the meeting without making it the current one",
    )
    late = sub.add_parser(
        "add-document", help="add a late document to the current meeting, on an agenda item"
    )
    late.add_argument("pdf", type=Path)
    late.add_argument("--item", required=True, help="agenda item id to attach it to")
    late.add_argument("--title", default=None, help="title shown on tablets (default: file name)")
    late.add_argument("--confidential", action="store_true")
    status = sub.add_parser("status", help="show the room's meetings and whether it is serving")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    audit_cmd = sub.add_parser("audit", help="check the hash-chained audit log")
    audit_sub = audit_cmd.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser(
        "verify", help="recompute the chain; exit 1 if any entry was changed or removed"
    )
    args = parser.parse_args(argv)
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
    if args.command == "run":
        from room_server.app import run

        try:
            _event_loop_runner()(run(config))
        except OSError as exc:  # address in use, no permission for the port or state dir
            print(tr("cli.cannot_start", error=exc), file=sys.stderr)
            return EXIT_BAD_INPUT
        return 0
    if args.command == "import":
        return _import(config, args.package, activate=not args.no_activate)
    if args.command == "add-document":
        return _add_document(config, args.pdf, args.item, args.title, args.confidential)
    if args.command == "audit":
        return _audit_verify(config)
    return _status(config, as_json=args.json)


EXIT_TAMPERED = 1


def _audit_verify(config: ServerConfig) -> int:
    import sqlite3

    from room_server.audit import verify

    if not config.database_path.exists():
        print(tr("cli.no_database_at", path=config.database_path), file=sys.stderr)
        return EXIT_BAD_INPUT
    # Read-only: checking the log must not change the file it checks.
    conn = sqlite3.connect(f"file:{config.database_path}?mode=ro", uri=True)
    try:
        result = verify(conn)
    except sqlite3.DatabaseError as exc:
        print(tr("cli.cannot_read", path=config.database_path, error=exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        conn.close()
    if result.ok:
        head = tr("audit.head", head=result.head[:16]) if result.head else ""
        print(tr("audit.intact", entries=trn("count.entries", result.entries), head=head))
        return 0
    entries = trn("count.entries", result.entries)
    print(trn("audit.tampered", len(result.problems), entries=entries))
    for problem in result.problems:
        print(f"  {problem}")
    return EXIT_TAMPERED


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


def _import(config: ServerConfig, package: Path, *, activate: bool) -> int:
    from room_server.importer import import_package
    from room_server.package import PackageError
    from room_server.store import Store, StoreError

    def progress(name: str, done: int, total: int) -> None:
        print(f"  [{done}/{total}] {name}", flush=True)

    print(tr("import.checking", package=package), flush=True)
    try:
        make_private(config.state_dir)
        with Store(config.database_path, config.documents_dir) as store:
            report = import_package(store, package, activate=activate, progress=progress)
    except PackageError as exc:
        _print_package_error(exc)
        print(tr("import.nothing_imported"), file=sys.stderr)
        return EXIT_BAD_INPUT
    except StoreError as exc:
        print(f"room-server: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
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
        + (tr("import.now_current") if activate else "")
    )
    for file, title, removed in report.stripped:
        print(tr("import.stripped", document=f"{file} ({title})", removed=_removed(removed)))
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
    return 0 if running else EXIT_NOT_RUNNING


def _print_package_error(exc: PackageError) -> None:
    """The problems of a rejected package or document, under a head in the CLI's language."""
    print(trn("package.rejected", len(exc.problems), path=exc.path), file=sys.stderr)
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
