"""``hemicycle-provision``: the IT staff's command line for setting up a room."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading
from pathlib import Path

from provisioning.sample_package import write_sample_package

DEFAULT_RUNTIME_DIR = Path("/run/hemicycle-usb")  # systemd's RuntimeDirectory=hemicycle-usb


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hemicycle-provision", description="Set up a Hemicycle meeting room."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sample = commands.add_parser(
        "sample-package",
        help="write a demo meeting package (manifest and four PDFs)",
        description="Write a demo meeting package into DEST and print its path.",
    )
    sample.add_argument("dest", metavar="DEST", type=Path, help="folder to write into")
    sample.add_argument("--zip", action="store_true", help="write one .zip instead of a folder")
    stick = commands.add_parser(
        "export-stick",
        help="mark a mounted USB stick for record export",
        description="Write the HEMICYCLE-EXPORT marker at the top of the stick mounted at "
        "PATH: put into the room server, it receives every sealed record of the room.",
    )
    stick.add_argument("path", metavar="PATH", type=Path, help="where the stick is mounted")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "sample-package":
        path = write_sample_package(args.dest, as_zip=args.zip)
        print(path)
    elif args.command == "export-stick":
        return _export_stick(args.path)
    elif args.command == "usb-watch":
        return _usb_watch(args)
    return 0


def _export_stick(path: Path) -> int:
    from provisioning.usb import EXPORT_MARKER, PROVISION_MARKER, recognise

    if not path.is_dir():
        print(f"hemicycle-provision: {path} is not a folder (is it mounted?)", file=sys.stderr)
        return 2
    if (path / PROVISION_MARKER).exists():
        print(f"hemicycle-provision: {path} is a provisioning stick", file=sys.stderr)
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
        print(f"hemicycle-provision: not marked: {kind.reason}", file=sys.stderr)
        return 2
    print(marker)
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
            print(f"hemicycle-provision: no user {args.user!r}", file=sys.stderr)
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
