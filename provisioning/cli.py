"""``room-provision``: the IT staff's command line for setting up and looking after a room.

``init``, ``backup``, ``restore`` and ``doctor`` drive the room through the
``room-server`` command (the one owner of the room's keys and database schema);
``sample-package`` writes a demo meeting. ``hemicycle-provision`` is the same program
under its old name, for one release.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from provisioning.bundle import DEFAULT_EXTRAS
from provisioning.i18n import CATALOGUE, LANGUAGES, tr
from room_protocol.private_files import UMASK
from room_protocol.text import language_from_environment

DEFAULT_CONFIG = Path("/etc/hemicycle/room-server.toml")  # as the systemd unit reads it
EXIT_FIX = 1  # doctor found something to fix; restore refused another room
EXIT_BAD_INPUT = 2

DEFAULT_RUNTIME_DIR = Path("/run/hemicycle-usb")  # systemd's RuntimeDirectory=hemicycle-usb


def build_parser() -> argparse.ArgumentParser:
    """Every command and option of ``room-provision``, each with its help."""
    parser = argparse.ArgumentParser(
        prog="room-provision", description="Set up and look after a Hemicycle meeting room."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = commands.add_parser(
        "init",
        help="create a room: its configuration, database, certificates and keys",
        description="Write a commented configuration file and make the room's database, "
        "room CA, server certificate, signing key and PIN secret (room-server init). "
        "Safe to run again: what exists is kept, and it says so.",
    )
    init.add_argument("--state-dir", type=Path, required=True, help="the room's state directory")
    init.add_argument("--room-id", required=True, help="stable id: a-z, 0-9 and '-'")
    init.add_argument("--room-name", required=True, help="the name tablets show")
    init.add_argument(
        "--interface",
        default="",
        metavar="ADDR",
        help="the room network's IP address to listen and advertise on (default: every one)",
    )
    init.add_argument("--port", type=int, default=8443, help="TCP port (default 8443)")
    init.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help=f"default: {DEFAULT_CONFIG}"
    )
    init.add_argument(
        "--force",
        action="store_true",
        help="overwrite a changed configuration and replace the keys (tablets enroll again)",
    )
    config_help = f"the room server's configuration file (default: {DEFAULT_CONFIG})"
    backup = commands.add_parser(
        "backup",
        help="copy the state directory, keys included (also while the room runs)",
        description="Copy the room's state directory (database, documents, records, keys) "
        "into DEST, consistently, also while the room runs. Keep it as safe as the room's "
        "keys.",
    )
    backup.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=config_help)
    backup.add_argument("dest", type=Path, metavar="DEST", help="a new folder or a .tar file")
    restore = commands.add_parser(
        "restore",
        help="put a backup back in place of the state directory (server stopped)",
        description="Put the backup SRC back in place of the room's state directory. Stop "
        "the room server first; a backup of another room is refused without --force.",
    )
    restore.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=config_help)
    restore.add_argument("source", type=Path, metavar="SRC", help="a backup folder or .tar")
    restore.add_argument("--force", action="store_true", help="restore a backup of another room")
    doctor = commands.add_parser(
        "doctor",
        help="check the room and say what to fix, with the command that fixes it",
        description="Check the room (configuration, state directory, keys, certificates, "
        "service, network) and say what to fix, with the command that fixes it.",
    )
    doctor.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=config_help)
    doctor.add_argument("--json", action="store_true", help="machine-readable output")
    sample = commands.add_parser(
        "sample-package",
        help="write a demo meeting package (manifest and four PDFs)",
        description="Write a demo meeting package into DEST and print its path.",
    )
    sample.add_argument("dest", metavar="DEST", type=Path, help="folder to write into")
    sample.add_argument("--zip", action="store_true", help="write one .zip instead of a folder")
    sticks = commands.add_parser(
        "stick",
        help="write a USB stick: enroll tablets, or receive the room's records",
        description="Prepare a mounted USB stick: 'enroll' puts one-time enrollment tokens "
        "for tablets on it, 'export' marks it to receive the room's sealed records.",
    )
    stick_kinds = sticks.add_subparsers(dest="stick_command", required=True, metavar="KIND")
    enroll_stick = stick_kinds.add_parser(
        "enroll",
        help="one-time enrollment tokens for tablets, and the room CA that pins the room",
        description="Ask the room for COUNT one-time pairing codes (room-server enroll) and "
        "write them onto the stick mounted at PATH, with the room CA's sha256 and the "
        "HEMICYCLE-PROVISION marker. A tablet enrolls with the first unused token (enroll "
        "screen: From USB stick) and marks it used. The tokens are secrets: keep the stick "
        "like a key and wipe it afterwards.",
    )
    enroll_stick.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help=config_help)
    enroll_stick.add_argument(
        "--count", type=int, required=True, help="how many tablets the stick enrolls"
    )
    enroll_stick.add_argument(
        "--expires",
        type=float,
        default=8.0,
        metavar="HOURS",
        help="the tokens work this long (default 8, at most 24)",
    )
    enroll_stick.add_argument("path", metavar="PATH", type=Path, help="where the stick is mounted")
    # The same command under two names: `stick export`, and `export-stick` (its first name).
    for under, name, summary in (
        (stick_kinds, "export", "mark the stick for record export (as export-stick)"),
        (commands, "export-stick", "mark a mounted USB stick for record export"),
    ):
        export_stick = under.add_parser(
            name,
            help=summary,
            description="Write the HEMICYCLE-EXPORT marker at the top of the stick mounted at "
            "PATH: put into the room server, it receives every sealed record of the room.",
        )
        export_stick.add_argument(
            "path", metavar="PATH", type=Path, help="where the stick is mounted"
        )
    watch = commands.add_parser(
        "usb-watch",
        help="watch for USB sticks on the room server: import packages, export records",
        description="Mount each USB stick read-only as it arrives, import the meeting "
        "package on it or export the room's sealed records to an export stick, and show "
        "the result on the chair console and the room display. Runs as root (it mounts); "
        "see systemd/hemicycle-usb.service.",
    )
    watch.add_argument(
        "--room-server",
        default="room-server",
        help="the room-server command, with its options, e.g. "
        "'room-server --config /etc/hemicycle/room-server.toml' (default: room-server)",
    )
    watch.add_argument(
        "--user",
        default=None,
        help="run room-server as this user (the room server's own), owning FAT sticks' files",
    )
    watch.add_argument(
        "--runtime-dir",
        type=Path,
        default=None,
        help=f"where sticks are mounted (default: $RUNTIME_DIRECTORY or {DEFAULT_RUNTIME_DIR})",
    )
    watch.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    bundle = commands.add_parser(
        "bundle",
        help="write everything an offline install needs into a folder (a USB stick)",
        description="Write the project's wheel, a wheel of every dependency for this Python "
        "and platform, the units, udev rule, tmpfiles and sysusers files, a README and "
        "SHA256SUMS into DEST, for `room-provision install --from DEST` on a box without "
        "network.",
    )
    bundle.add_argument("dest", type=Path, metavar="DEST", help="a new or empty folder")
    bundle.add_argument(
        "--from-env",
        action="store_true",
        help="pack the dependencies installed here instead of downloading them (no network)",
    )
    bundle.add_argument(
        "--no-index", action="store_true", help="pip download: only from --find-links"
    )
    bundle.add_argument(
        "--find-links",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="pip download: look for wheels in DIR too",
    )
    bundle.add_argument("--extras", default=",".join(DEFAULT_EXTRAS), help="default: %(default)s")
    install = commands.add_parser(
        "install",
        help="install the room server (or a kiosk seat tablet): venv, units, udev rule, "
        "tmpfiles, user, configuration",
        description="Install Hemicycle under ROOT: /opt/hemicycle/.venv (from the bundle's "
        "wheels, no network), the units, the udev rule, the tmpfiles and sysusers files, the "
        "'hemicycle' user and a commented /etc/hemicycle/room-server.toml; with --role "
        "tablet, the tablet's unit, the 'hemicycle-tablet' user and the udev rule and "
        "tmpfiles that mount an enrollment stick for it. Safe to run again: says what it "
        "made, updated and kept; never overwrites an edited configuration.",
    )
    install.add_argument(
        "--root", type=Path, default=Path("/"), help="install into this folder (default: /)"
    )
    install.add_argument(
        "--from",
        dest="bundle",
        type=Path,
        default=None,
        metavar="BUNDLE",
        help="a folder written by room-provision bundle (default: this installation)",
    )
    install.add_argument("--no-venv", action="store_true", help="leave /opt/hemicycle/.venv alone")
    install.add_argument(
        "--role",
        choices=("room", "tablet"),
        default="room",
        help="room: the room server box (default); tablet: a kiosk seat tablet (its unit, "
        "its user, the udev rule that mounts an enrollment stick for it)",
    )
    install.add_argument(
        "--extras",
        default=None,
        help=f"default: {','.join(DEFAULT_EXTRAS)} (--role tablet: tablet,tablet-kiosk)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    CATALOGUE.set_language(language_from_environment(os.environ, LANGUAGES) or "en")
    try:
        return _run(args)
    except OSError as exc:  # a path given that is not what it should be: said, not a traceback
        path = exc.filename if exc.filename is not None else "?"
        print(tr("cli.cannot_use", path=path, error=exc.strerror or exc), file=sys.stderr)
        return EXIT_BAD_INPUT


def _run(args: argparse.Namespace) -> int:
    if args.command == "sample-package":
        from provisioning.sample_package import write_sample_package

        print(write_sample_package(args.dest, as_zip=args.zip))
        return 0
    if args.command == "export-stick" or (
        args.command == "stick" and args.stick_command == "export"
    ):
        return _export_stick(args.path)
    if args.command == "stick":
        return _enroll_stick(args.config, args.count, args.expires, args.path)
    if args.command == "usb-watch":
        return _usb_watch(args)
    if args.command == "bundle":
        return _bundle(args)
    if args.command == "install":
        return _install(args)
    os.umask(UMASK)  # backups and restored state hold keys
    if args.command == "init":
        return _init(args)
    if args.command == "backup":
        from provisioning.server_command import room_server

        return room_server(args.config, "backup", str(args.dest), capture=False).returncode
    if args.command == "restore":
        return _restore(args.config, args.source, force=args.force)
    return _doctor(args.config, as_json=args.json)


def _init(args: argparse.Namespace) -> int:
    from provisioning.room_init import InitError, Room, config_text, write_config
    from provisioning.server_command import room_server

    room = Room(args.state_dir, args.room_id, args.room_name, args.interface, args.port)
    try:
        text = config_text(room)
    except InitError as exc:
        print(f"room-provision: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        written = write_config(args.config, text, force=args.force)
    except OSError as exc:
        print(tr("cli.cannot_write", path=args.config, error=exc.strerror), file=sys.stderr)
        return EXIT_BAD_INPUT
    said = {
        "made": tr("init.config_made", path=args.config),
        "kept": tr("init.config_kept", path=args.config),
        "replaced": tr("init.config_replaced", path=args.config),
        "differs": tr("init.config_differs", path=args.config),
    }
    print(said[written])
    command = ["init", "--force"] if args.force else ["init"]
    return room_server(args.config, *command, capture=False).returncode


def _extras(text: str) -> tuple[str, ...]:
    return tuple(e.strip() for e in text.split(",") if e.strip())


def _bundle(args: argparse.Namespace) -> int:
    from provisioning.bundle import BundleError, BundleOptions, write_bundle

    options = BundleOptions(
        extras=_extras(args.extras),
        from_env=args.from_env,
        no_index=args.no_index,
        find_links=tuple(args.find_links),
    )
    try:
        write_bundle(args.dest, options, lambda line: print(line, flush=True))
    except (BundleError, OSError) as exc:
        print(tr("bundle.refused", error=exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def _install(args: argparse.Namespace) -> int:
    from provisioning.install import (
        TABLET_EXTRAS,
        Done,
        InstallError,
        InstallOptions,
        Role,
        install,
    )

    role = Role(args.role)
    default = TABLET_EXTRAS if role is Role.TABLET else DEFAULT_EXTRAS
    options = InstallOptions(
        root=args.root,
        bundle=args.bundle,
        venv=not args.no_venv,
        extras=default if args.extras is None else _extras(args.extras),
        role=role,
    )

    def say(done: Done, what: str, note: str) -> None:
        line = tr(f"install.{done.value}", what=what)
        print(f"{line} ({note})" if note else line, flush=True)

    try:
        install(options, say)
    except (InstallError, OSError, subprocess.CalledProcessError) as exc:
        print(tr("install.refused", error=exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(tr("install.next_tablet" if role is Role.TABLET else "install.next"))
    return 0


def _restore(config: Path, source: Path, *, force: bool) -> int:
    from provisioning.restore import OtherRoom, RestoreError, restore
    from provisioning.server_command import RoomServerError, inspect

    try:
        restored = restore(inspect(config), source, force=force)
    except OtherRoom as exc:
        print(tr("restore.other_room", error=exc), file=sys.stderr)
        return EXIT_FIX
    except (RestoreError, RoomServerError) as exc:
        print(tr("restore.refused", error=exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(
        tr(
            "restore.done",
            room=restored.room_id,
            made_at=restored.made_at,
            files=restored.files,
        )
    )
    if restored.kept_old is not None:
        print(tr("restore.kept_old", path=restored.kept_old))
    facts = inspect(config)
    integrity = facts["database"].get("integrity", [])
    print(tr("restore.integrity", result="; ".join(integrity[:3])))
    return 0 if integrity == ["ok"] else EXIT_FIX


def _doctor(config: Path, *, as_json: bool) -> int:
    from provisioning import doctor
    from provisioning.server_command import RoomServerError, inspect

    try:
        facts = inspect(config)
    except RoomServerError as exc:
        checks = [
            doctor.Check(
                "config",
                doctor.Status.FAIL,
                str(exc),
                tr("doctor.config_fix", config=config),
            )
        ]
    else:
        checks = doctor.diagnose(config, facts, doctor.now_for_doctor(), doctor.box_probes())
    if as_json:
        print(json.dumps(doctor.as_json(checks), indent=2, ensure_ascii=False))
    else:
        marks = {
            doctor.Status.OK: tr("doctor.mark_ok"),
            doctor.Status.WARN: tr("doctor.mark_warn"),
            doctor.Status.FAIL: tr("doctor.mark_fail"),
            doctor.Status.SKIP: tr("doctor.mark_skip"),
        }
        for check in checks:
            print(f"{marks[check.status]:6} {check.text}")
            if check.fix and check.status in (doctor.Status.WARN, doctor.Status.FAIL):
                print(f"       {tr('doctor.fix')} {check.fix}")
        print(tr("doctor.all_good") if doctor.healthy(checks) else tr("doctor.to_fix"))
    return 0 if doctor.healthy(checks) else EXIT_FIX


def _export_stick(path: Path) -> int:
    from provisioning.usb import EXPORT_MARKER, PROVISION_MARKER, recognise

    if not path.is_dir():
        print(f"room-provision: {path} is not a folder (is it mounted?)", file=sys.stderr)
        return 2
    if (path / PROVISION_MARKER).exists():
        print(f"room-provision: {path} is a provisioning stick", file=sys.stderr)
        return 2
    marker = path / EXPORT_MARKER
    marker.write_text(
        "This USB stick receives the sealed meeting records of a Hemicycle room.\n"
        "Put it into the room server; the result is shown on the chair console.\n",
        encoding="utf-8",
    )
    kind = recognise(path)
    if kind.reason:  # e.g. it also holds a meeting package
        marker.unlink()
        print(f"room-provision: not marked: {kind.reason}", file=sys.stderr)
        return 2
    print(marker)
    return 0


def _enroll_stick(config: Path, count: int, hours: float, path: Path) -> int:
    from provisioning.server_command import RoomServerError, inspect, room_server
    from provisioning.stick import StickError, check_request, room_of, write_stick
    from provisioning.usb import StickKind, recognise

    try:
        check_request(count, hours)
    except StickError as exc:
        print(f"room-provision: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not path.is_dir():
        print(tr("stick.not_a_folder", path=path), file=sys.stderr)
        return EXIT_BAD_INPUT
    kind = recognise(path).kind
    if kind in (StickKind.EXPORT, StickKind.PACKAGE):
        print(tr("stick.other_kind", path=path, kind=str(kind)), file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        room_name = str(inspect(config).get("room_name", ""))
    except RoomServerError as exc:
        print(f"room-provision: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    minutes = max(1, round(hours * 60))
    made = room_server(
        config, "enroll", "--count", str(count), "--minutes", str(minutes), "--json", "--no-qr"
    )
    if made.returncode != 0:
        print(made.stderr.strip(), file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        room, links = room_of(made.stdout, room_name)
        written = write_stick(path, room, links)
    except StickError as exc:
        print(f"room-provision: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(tr("cli.cannot_write", path=path, error=exc.strerror or exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    until = time.strftime("%Y-%m-%d %H:%M", time.localtime(room.expires_ts))
    print(
        tr(
            "stick.written",
            count=written.tokens,
            room=room.room_id,
            path=path,
            until=until,
            ca=room.ca_sha256,
        )
    )
    if written.replaced:
        print(tr("stick.replaced", count=written.replaced))
    return 0


def _usb_watch(args: argparse.Namespace) -> int:
    from provisioning.usb import RoomCommand, StickWatcher, SystemMounter, watch

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",  # journald stamps the time
    )
    runtime = args.runtime_dir or Path(
        os.environ.get("RUNTIME_DIRECTORY", str(DEFAULT_RUNTIME_DIR)).split(":")[0]
    )
    owner = None
    if args.user:
        import pwd

        try:
            entry = pwd.getpwnam(args.user)
        except KeyError:
            print(f"room-provision: no user {args.user!r}", file=sys.stderr)
            return 2
        owner = (entry.pw_uid, entry.pw_gid)
    room = RoomCommand(tuple(shlex.split(args.room_server)), user=args.user)
    watcher = StickWatcher(room, runtime, SystemMounter(owner))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda _sig, _frame: stop.set())
    watch(watcher, stop)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
