"""``hemicycle-tablet``: the seat tablet application (PySide6 on a qasync loop).

``--screenshots DIR`` runs a scripted tour without a person (join the room, enroll with
``--enroll`` if the tablet is new, open the first document, turn a page, switch to
Vietnamese), saves a PNG of each screen and exits: what ``make demo`` uses on a machine
without a display.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from room_client.collector import LoopCollector
from room_client.confidential import DEFAULT_EXPIRY_S
from room_client.connection import RoomEndpoint
from room_client.enrollment import DeviceCredentials, not_a_folder
from room_protocol.private_files import UMASK
from room_protocol.service_manager import serve_until
from tablet_client.i18n import LANGUAGES, set_language
from tablet_client.preferences import PREFERENCES_FILE
from tablet_client.render import PageRenderer
from tablet_client.tablet_controller import TabletController, TabletSettings
from tablet_client.views.document_view import DocumentView
from tablet_client.views.main_window import MainWindow

log = logging.getLogger(__name__)

WINDOW_SIZE = (1280, 800)  # a common 10-inch seat tablet, landscape


def build_parser() -> argparse.ArgumentParser:
    """Every option of the tablet's command line, each with its help."""
    parser = argparse.ArgumentParser(prog="hemicycle-tablet", description="Hemicycle seat tablet")
    parser.add_argument(
        "--device-dir",
        type=Path,
        default=Path(os.environ.get("XDG_DATA_HOME", "~/.local/share")).expanduser()
        / "hemicycle-tablet"
        / "device",
        help="this tablet's credentials for its room (made at enrollment)",
    )
    parser.add_argument(
        "--enroll",
        default="",
        metavar="CODE",
        help="enroll in the room with this pairing code (from `room-server enroll`)",
    )
    parser.add_argument(
        "--enroll-stick",
        type=Path,
        default=None,
        metavar="PATH",
        help="the enrollment stick (room-provision stick enroll) is mounted here"
        " (default: looked for under /run/hemicycle-tablet/stick, /media and /run/media)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser()
        / "hemicycle-tablet",
        help="where the tablet keeps the meeting's documents (confidential ones encrypted)",
    )
    parser.add_argument(
        "--room",
        dest="room_id",
        default=None,
        help="room id this tablet is provisioned for: join it when found",
    )
    parser.add_argument(
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
    parser.add_argument("--name", default="", help="seat label sent to the room")
    parser.add_argument(
        "--seat",
        default=None,
        metavar="SEAT",
        help="the seat this tablet stands at (e.g. A2): it opens on the sign-in screen with"
        " that seat's member chosen; leave out for a roaming tablet",
    )
    parser.add_argument(
        "--inactivity-lock",
        type=int,
        default=None,
        metavar="SECONDS",
        help="lock a delegate's screen after this many seconds untouched"
        " (default: as the room says; 0: never)",
    )
    parser.add_argument(
        "--confidential-expiry",
        type=float,
        default=DEFAULT_EXPIRY_S / 3600,
        metavar="HOURS",
        help="wipe confidential documents after this many hours without reaching the room"
        " (default: %(default)g)",
    )
    parser.add_argument(
        "--language",
        choices=sorted(LANGUAGES),
        default="en",
        help="the language until someone chooses one on the tablet; their choice is kept"
        " (default: %(default)s)",
    )
    parser.add_argument(
        "--preferences",
        type=Path,
        default=None,
        metavar="FILE",
        help="where the tablet keeps the language chosen across restarts"
        f" (default: {PREFERENCES_FILE} beside --device-dir)",
    )
    parser.add_argument(
        "--fullscreen",
        action="store_true",
        help="kiosk mode: full screen, with an on-screen keyboard (Qt Virtual Keyboard)",
    )
    parser.add_argument(
        "--screenshots",
        type=Path,
        default=None,
        metavar="DIR",
        help="run the scripted tour, save screenshots into DIR and exit",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        help="with --screenshots: give up after this many seconds",
    )
    return parser


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def settings_from(args: argparse.Namespace) -> TabletSettings:
    direct = None
    if args.server:
        host, _, port = args.server.rpartition(":")
        if not host or not port.isdigit():
            raise SystemExit("hemicycle-tablet: --server must be HOSTNAME:PORT")
        direct = RoomEndpoint(host, int(port), args.address or host)
    return TabletSettings(
        credentials=DeviceCredentials(args.device_dir),
        cache_dir=args.cache_dir,
        pairing_code=args.enroll,
        enroll_stick=args.enroll_stick,
        client_name=args.name,
        room_id=args.room_id,
        interfaces=tuple(args.interface),
        direct=direct,
        seat_id=args.seat or None,
        inactivity_lock_seconds=args.inactivity_lock,
        confidential_expiry_seconds=_expiry_hours(args.confidential_expiry) * 3600,
        preferences_file=args.preferences or args.device_dir.parent / PREFERENCES_FILE,
    )


def _expiry_hours(hours: float) -> float:
    if not 0 < hours <= 24 * 30:
        raise SystemExit(
            "hemicycle-tablet: --confidential-expiry must be more than 0 and at most 720 hours"
        )
    return hours


def main(argv: list[str] | None = None) -> int:
    import qasync

    os.umask(UMASK)  # the cache and the tablet's identity are private whatever the umask
    args = parse_args(argv)
    problem = DeviceCredentials(args.device_dir).problem() or not_a_folder(args.cache_dir)
    if problem:
        print(f"hemicycle-tablet: {problem}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    set_language(args.language)
    if args.fullscreen:
        from tablet_client.views import keyboard_view

        keyboard_view.prepare_environment()  # before the QApplication: it picks the plugin
    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    collector = LoopCollector(loop)  # cycles holding Qt objects die on the GUI thread only
    collector.start()
    window = MainWindow()
    window.resize(*WINDOW_SIZE)
    if args.fullscreen:  # kiosk: no hardware keyboard, every text field gets this one
        keyboard = keyboard_view.make_keyboard()
        if keyboard is not None:
            window.add_keyboard(keyboard)
    controller = TabletController(window, settings_from(args), PageRenderer())
    if args.fullscreen:
        window.showFullScreen()
    else:
        window.show()
    with loop:
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        if args.screenshots:
            args.screenshots.mkdir(parents=True, exist_ok=True)
        body = (
            screenshot_tour(controller, args.screenshots, args.timeout)
            if args.screenshots
            else run_until(controller, stop)
        )
        result: int = loop.run_until_complete(body)
        collector.stop()
    return result


async def run_until(controller: TabletController, stop: asyncio.Event) -> int:
    await controller.start()
    # Under the kiosk unit the app runs inside the compositor (cage), so it speaks for the
    # unit's main process (NotifyAccess=all); the watchdog is fed from the Qt thread's loop:
    # a frozen screen is restarted (systemd/).
    await serve_until(stop, any_process=True)
    await controller.stop()
    return 0


async def wait_for(condition: object, what: str, deadline: float) -> None:
    loop = asyncio.get_running_loop()
    while not condition():  # type: ignore[operator]
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def save(widget: QWidget, directory: Path, name: str) -> Path | None:
    """Save a screenshot of ``widget``; never of a confidential document (None)."""
    # Let the qasync loop lay out and paint first (processEvents here would run other
    # tasks' callbacks inside this one).
    await asyncio.sleep(0.05)
    reader = widget.findChild(DocumentView, "document_view")
    if reader is not None and reader.isVisible() and reader.confidential:
        print(f"screenshot {name}: skipped, a confidential document is on screen", flush=True)
        return None
    path = directory / f"{name}.png"
    if not widget.grab().save(str(path)):
        raise OSError(f"could not write {path}")
    print(f"screenshot: {path}", flush=True)
    return path


async def screenshot_tour(controller: TabletController, out: Path, limit: float) -> int:
    """Discover, join, read: one screenshot per step. Exit code 0 when all worked."""
    window = controller.window
    deadline = asyncio.get_running_loop().time() + limit
    controller.auto_join = False  # let the discovery screen be seen first
    # A tablet that is not enrolled yet stops at the enroll screen: see it with the code
    # typed, then tap Enroll as IT staff would.
    code = controller.settings.pairing_code
    enrolling = bool(code) and not controller.settings.credentials.enrolled
    if enrolling:
        controller.settings = replace(controller.settings, pairing_code="")
    try:
        await controller.start()
        if controller.settings.direct is None:
            await wait_for(lambda: bool(controller.rooms), "a room on the network", deadline)
            await save(window, out, "1-discovery")
            controller.auto_join = True
            wanted = controller.settings.room_id
            room = next(
                (r for r in controller.rooms.values() if wanted in (None, r.room.room_id)), None
            )
            if room is None:
                raise LookupError(f"room {wanted!r} was not found")
            controller.join_service(room.service_name)
        if enrolling:
            view = window.enroll_view
            await wait_for(lambda: window.screens.currentWidget() is view, "enroll", deadline)
            view.code.setText(code)
            await save(window, out, "1b-enroll")
            view.enroll.click()
        await wait_for(lambda: controller.meeting is not None, "the meeting", deadline)
        await wait_for(lambda: not controller.missing_documents(), "all documents", deadline)
        meeting = controller.meeting
        assert meeting is not None
        item, first = next((i, sha) for _d, i in meeting.walk() for sha in i.documents)
        window.agenda_view.select_item(item.id)
        await asyncio.sleep(0.2)
        await save(window, out, "2-agenda")
        await controller.open_document(first)
        await asyncio.sleep(0.6)  # thumbnails render in the background after the page
        await save(window, out, "3-document")
        controller.reader.next_page()
        await wait_for(lambda: controller.reader.current_page == 1, "page 2", deadline)
        await asyncio.sleep(0.3)
        await save(window, out, "4-document-page-2")
        vietnamese = next(
            (
                d
                for d in meeting.documents
                if "vi" in d.filename.lower() or "báo" in d.title.lower()
            ),
            None,
        )
        set_language("vi")
        if vietnamese is not None:
            await controller.open_document(vietnamese.sha256)
            await asyncio.sleep(0.3)
            await save(window, out, "5-document-vi")
        window.show_screen(window.agenda_view)
        if vietnamese is not None:
            window.agenda_view.select_item(
                next(i.id for _d, i in meeting.walk() if vietnamese.sha256 in i.documents)
            )
        await asyncio.sleep(0.1)
        await save(window, out, "6-agenda-vi")
        return 0
    except (TimeoutError, LookupError) as exc:
        print(f"hemicycle-tablet: {exc}", file=sys.stderr)
        await save(window, out, "failure")
        return 1
    finally:
        await controller.stop()


if __name__ == "__main__":
    sys.exit(main())
