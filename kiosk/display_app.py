"""``hemicycle-display``: the room display for a projector or wall screen (PySide6 on a
qasync loop). Fullscreen unless ``--windowed``.

``--screenshot PATH`` runs without a screen: join the room, wait for the meeting, save
one PNG at 1920 x 1080 and exit (0 when the picture shows the room's state).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import socket
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication

from kiosk.display_controller import DisplayController, DisplaySettings
from kiosk.display_view import DisplayView
from kiosk.i18n import LANGUAGES, set_language
from kiosk.presentation import Shown
from room_client.collector import LoopCollector
from room_client.connection import RoomEndpoint
from room_client.enrollment import DeviceCredentials, not_a_folder
from room_protocol.private_files import UMASK
from room_protocol.service_manager import serve_until

log = logging.getLogger(__name__)

SCREEN_SIZE = (1920, 1080)  # a full-HD projector; --windowed and --screenshot use it
SETTLE_S = 0.1  # for Qt to lay out and paint before the grab


def build_parser() -> argparse.ArgumentParser:
    """Every option of the display's command line, each with its help."""
    parser = argparse.ArgumentParser(
        prog="hemicycle-display", description="Hemicycle room display (projector view)"
    )
    parser.add_argument(
        "--device-dir",
        type=Path,
        default=Path(os.environ.get("XDG_DATA_HOME", "~/.local/share")).expanduser()
        / "hemicycle-display"
        / "device",
        help="this display's credentials for its room (made at enrollment)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser()
        / "hemicycle-display",
        help="where the display keeps the documents the chair shows (never confidential ones)",
    )
    parser.add_argument(
        "--enroll",
        default="",
        metavar="CODE",
        help="enroll in the room with this pairing code (`room-server enroll --display`)",
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--room", dest="room_id", default=None, help="room id: find it over mDNS and join it"
    )
    where.add_argument(
        "--server",
        default=None,
        metavar="HOSTNAME:PORT",
        help="skip mDNS and connect to this room (name as in its certificate)",
    )
    parser.add_argument("--address", default="", help="with --server: connect to this address")
    parser.add_argument(
        "--interface",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="browse mDNS only on this interface address (repeatable)",
    )
    parser.add_argument(
        "--language",
        choices=sorted(LANGUAGES),
        default="en",
        help="the display's language: %(choices)s (default: %(default)s)",
    )
    parser.add_argument("--windowed", action="store_true", help="a window, not full screen")
    parser.add_argument(
        "--screenshot",
        type=Path,
        default=None,
        metavar="PATH",
        help="save one PNG of the display once the meeting is shown, then exit",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="with --screenshot: give up after this many seconds",
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.address and not args.server:
        parser.error("--address needs --server")
    return args


def display_name() -> str:
    """The name the display enrolls with: this machine's, so IT staff recognise it."""
    host = re.sub(r"[^A-Za-z0-9._-]", "-", socket.gethostname())[:48].strip("-.") or "room"
    return f"Room display {host}"


def main(argv: list[str] | None = None) -> int:
    os.umask(UMASK)  # whatever the display keeps (its enrollment) is private
    args = parse_args(argv)
    if args.screenshot is not None:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    direct = None
    if args.server:
        host, _, port = args.server.rpartition(":")
        if not host or not port.isdigit():
            print("hemicycle-display: --server must be HOSTNAME:PORT", file=sys.stderr)
            return 2
        direct = RoomEndpoint(host, int(port), args.address or host)
    problem = DeviceCredentials(args.device_dir).problem() or not_a_folder(args.cache_dir)
    if problem:
        print(f"hemicycle-display: {problem}", file=sys.stderr)
        return 2
    set_language(args.language)

    import qasync

    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    collector = LoopCollector(loop)  # cycles holding Qt objects die on the GUI thread only
    collector.start()
    view = DisplayView()
    settings = DisplaySettings(
        credentials=DeviceCredentials(args.device_dir),
        client_name=display_name(),
        pairing_code=args.enroll,
        room_id=args.room_id,
        interfaces=tuple(args.interface),
        direct=direct,
        cache_dir=args.cache_dir,
    )
    controller = DisplayController(view, settings)
    if args.screenshot is not None or args.windowed:
        view.resize(*SCREEN_SIZE)
        view.show()
    else:
        view.showFullScreen()
        QApplication.setOverrideCursor(QCursor(Qt.CursorShape.BlankCursor))  # no pointer
    with loop:
        if args.screenshot is not None:
            body = screenshot(controller, args.screenshot, args.timeout)
        else:
            stop = asyncio.Event()
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            loop.add_signal_handler(signal.SIGINT, stop.set)
            body = run_until(controller, stop)
        result: int = loop.run_until_complete(body)
        collector.stop()
    return result


async def run_until(controller: DisplayController, stop: asyncio.Event) -> int:
    await controller.start()
    # Under the kiosk unit the app runs inside the compositor (cage), so it speaks for the
    # unit's main process (NotifyAccess=all); the watchdog is fed from the Qt thread's loop:
    # a frozen screen is restarted (systemd/).
    await serve_until(stop, any_process=True)
    await controller.stop()
    return 0


async def screenshot(controller: DisplayController, path: Path, limit: float) -> int:
    """Join, wait for the meeting state, save one PNG. 0 on success, 1 on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    try:
        await controller.start()
        # The room sends the speaker queue right after the meeting: wait for both, and for
        # the chair's page if one is being fetched or drawn.
        while not (
            controller.meeting_received
            and controller.floor is not None
            and controller.presented is not Shown.LOADING
        ):
            if loop.time() > deadline:
                print(
                    f"hemicycle-display: no meeting state from the room in {limit:g} s",
                    file=sys.stderr,
                )
                return 1
            await asyncio.sleep(0.05)
        controller.refresh()
        await asyncio.sleep(SETTLE_S)  # Qt lays out and paints on the loop
        path.parent.mkdir(parents=True, exist_ok=True)
        if not controller.view.grab().save(str(path)):
            print(f"hemicycle-display: could not write {path}", file=sys.stderr)
            return 1
        print(f"screenshot: {path}", flush=True)
        return 0
    finally:
        await controller.stop()


if __name__ == "__main__":
    sys.exit(main())
