"""Wires the tablet: discovery, connection, document downloads and the screens.

Qt signals in, asyncio work out. The views only lay out; this controller decides what
they show, and hands the live session (sign-in, follow-the-chair, speaker queue,
messages, locks, chair console, attendance, voting, polls) to one controller each
through a LiveLink. Documents
download in agenda order in the background; a document the delegate opens jumps to the
front of the queue. Confidential documents are fetched for the member signed in, kept
sealed with their key, and wiped when the meeting closes or the tablet has been away
from the room longer than its offline expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from room_client.annotations import AnnotationBook, AnnotationFileError, AnnotationSync
from room_client.confidential import DEFAULT_EXPIRY_S, SealedUnreadable, decode_key
from room_client.connection import (
    ConnectError,
    ConnectionStatus,
    Failure,
    Phase,
    RoomConnection,
    RoomEndpoint,
)
from room_client.discovery import DiscoveredRoom, RoomBrowser
from room_client.documents import (
    DocumentCache,
    DocumentFetcher,
    DocumentUnavailable,
    TransferInterrupted,
    fetch_with_retry,
)
from room_client.enrollment import DeviceCredentials, EnrollError, EnrollFailure, enroll
from room_client.enrollment_stick import MOUNT_ROOTS, EnrollmentStick, StickError, find_stick
from room_protocol.enrollment import ALPHABET, CODE_CHARS, LINK_SCHEME, PairingCode
from room_protocol.errors import ProtocolError
from room_protocol.live import Request
from room_protocol.messages import (
    DocumentInfo,
    MeetingSnapshot,
    Message,
    may_read,
)
from tablet_client.annotation_controller import AnnotationController
from tablet_client.attendance_controller import AttendanceController
from tablet_client.chair_controller import ChairController
from tablet_client.closing_controller import ClosingController
from tablet_client.document_controller import DocumentController
from tablet_client.floor_controller import FloorController
from tablet_client.follow_controller import FollowController
from tablet_client.i18n import LANGUAGES, follow_language, set_language, tr
from tablet_client.identity_controller import IdentityController
from tablet_client.live_link import LiveLink
from tablet_client.lock_controller import LockController
from tablet_client.messages_controller import MessagesController
from tablet_client.polls_controller import PollsController
from tablet_client.preferences import Preferences
from tablet_client.qr_scan import CameraState, QrScanner, camera_state
from tablet_client.render import PageRenderer
from tablet_client.search_controller import HeldDocument, SearchController
from tablet_client.views.main_window import MainWindow
from tablet_client.voting_controller import VotingController

log = logging.getLogger(__name__)

RETRY_FAILED_DOWNLOADS_S = 5.0
ANNOTATIONS_FILE = "annotations.sqlite3"  # in the cache directory: the members' op log
# Tokens of a stick the room refused in a row before the tablet gives up: more means
# voided or expired tokens, and each refusal counts towards the room voiding every code.
STICK_TRIES = 5
EXPIRY_CHECK_MS = 60_000  # how often the tablet checks its confidential documents' expiry
ENROLL_ERRORS = {  # why enrolling failed -> what the enroll screen says
    EnrollFailure.WRONG_ROOM: "enroll.error_wrong_room",
    EnrollFailure.CODE_REFUSED: "enroll.error_refused",
    EnrollFailure.UNREACHABLE: "enroll.error_unreachable",
    EnrollFailure.UNTRUSTED: "enroll.error_untrusted",
}
CAMERA_KEYS = {  # what the Scan button says
    CameraState.READY: "enroll.scan",
    CameraState.NO_CAMERA: "enroll.no_camera",
    CameraState.NO_MULTIMEDIA: "enroll.no_camera_support",
    CameraState.NO_DECODER: "enroll.no_camera_support",
}


@dataclass(frozen=True, slots=True)
class TabletSettings:
    credentials: DeviceCredentials  # this tablet's enrollment in its room
    cache_dir: Path
    client_name: str = ""
    room_id: str | None = None  # provisioned for one room: join it as soon as it is found
    interfaces: tuple[str, ...] = ()  # mDNS interface addresses; empty = all
    direct: RoomEndpoint | None = None  # a fixed room address: no mDNS
    seat_id: str | None = None  # the seat this tablet stands at; None: a roaming tablet
    pairing_code: str = ""  # enroll with this code when the room is found (IT staff's --enroll)
    enroll_stick: Path | None = None  # where an enrollment stick is mounted (--enroll-stick)
    stick_roots: tuple[Path, ...] = MOUNT_ROOTS  # else: where to look for one
    inactivity_lock_seconds: int | None = None  # None: as the room says; 0: never lock
    # Confidential documents are wiped after this long without reaching the room.
    confidential_expiry_seconds: float = DEFAULT_EXPIRY_S
    # Where the language chosen is kept across restarts (None: not kept).
    preferences_file: Path | None = None


Status = tuple[str, dict[str, object]]  # i18n key and its arguments


class TabletController(QObject):
    rooms_changed = Signal()
    meeting_changed = Signal()
    document_ready = Signal(str)  # sha256, once it is in the cache
    document_opened = Signal(str)  # sha256, once its first page is on screen
    browsing_started = Signal()  # the reader opened a document on its own (not following)
    annotations_opened = Signal()  # ``annotations`` is open (once, when the tablet first joins)

    confidential_wiped = Signal(int)  # sealed documents removed

    def __init__(
        self,
        window: MainWindow,
        settings: TabletSettings,
        renderer: PageRenderer,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.window = window
        self.settings = settings
        self.renderer = renderer
        self.cache = DocumentCache(
            settings.cache_dir,
            confidential_expiry_s=settings.confidential_expiry_seconds,
            clock=clock,
        )
        self.reader = DocumentController(window.document_view, renderer, self)
        self.search = SearchController(window.document_view, self.reader, renderer, self, self)
        self.search.went_to_hit.connect(self.browsing_started)
        self._searcher: str | None = None  # the member whose search the reader shows
        self.rooms: dict[str, DiscoveredRoom] = {}
        self.meeting: MeetingSnapshot | None = None
        self.connection: RoomConnection | None = None
        self.fetcher: DocumentFetcher | None = None
        self.auto_join = True
        self._browser: RoomBrowser | None = None
        self._joined_room: str | None = None  # room id of the room joined through mDNS
        self._ever_connected = False  # the current connection was welcomed at least once
        self._join_problem: ConnectionStatus | None = None  # why joining failed, on show
        self._statuses: dict[str, Status] = {}
        self._queue: list[str] = []
        self._queue_changed = asyncio.Event()
        self._waiters: dict[str, list[asyncio.Future[Path]]] = {}
        self._downloader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self.showing: str | None = None  # sha256 of the document in the reader
        # The members' annotations on this tablet (room_client.annotations), opened when the
        # tablet first joins a room (it needs the enrolled device id), and their sync.
        self.annotations: AnnotationBook | None = None
        self.annotation_sync: AnnotationSync | None = None

        self.link = LiveLink(self)
        self.identity = IdentityController(
            window, self.link, settings.seat_id, lambda: self.meeting, self
        )
        self.follow = FollowController(self, self.link, self)
        self.floor = FloorController(window, self.link, self)
        self.messages = MessagesController(window, self.link, lambda: self.meeting, self)
        self.locks = LockController(window, self.link, settings.inactivity_lock_seconds, self)
        self.chair = ChairController(window, self.link, lambda: self.meeting, self)
        self.closing = ClosingController(window, self.link, lambda: self.meeting, self)
        self.attendance = AttendanceController(window, self.link, lambda: self.meeting, self)
        self.voting = VotingController(window, self.link, lambda: self.meeting, self)
        self.locks.unlocked.connect(self.voting.show_waiting_ballot)
        self.polls = PollsController(
            window, self.link, lambda: self.meeting, lambda: self.attendance.attendance, self
        )

        window.discovery_view.join_requested.connect(self.join_service)
        window.discovery_view.retry_requested.connect(self._retry_join)
        window.discovery_view.back_requested.connect(self.leave_room)
        self.link.identity_changed.connect(self._identity_changed)  # confidential documents
        self._expiry = QTimer(self)
        self._expiry.setInterval(EXPIRY_CHECK_MS)
        self._expiry.timeout.connect(self.check_expiry)
        self.annotation_ui: AnnotationController | None = None  # from the first sign-in
        self.link.identity_changed.connect(self._annotations_for_member)
        window.enroll_view.enroll_requested.connect(lambda code: self._spawn(self.enroll(code)))
        window.enroll_view.back_requested.connect(self._leave_enroll)
        window.enroll_view.stick_requested.connect(lambda: self._spawn(self.enroll_from_stick()))
        self.scanner = QrScanner(self)
        window.enroll_view.scan_requested.connect(self._scan)
        window.enroll_view.scan_cancelled.connect(self._stop_scan)
        self.scanner.viewfinder.connect(window.enroll_view.show_frame)
        self.scanner.found.connect(self._scanned)
        self._enrolling: RoomEndpoint | None = None  # the room the enroll screen is for
        window.agenda_view.document_open_requested.connect(self.read_document)
        self.messages.document_requested.connect(self.read_document)
        self.chair.document_requested.connect(self.read_document)
        window.document_view.back_requested.connect(self.identity.show_home)
        self.preferences = (
            Preferences(settings.preferences_file, LANGUAGES) if settings.preferences_file else None
        )
        saved = self.preferences.language if self.preferences is not None else None
        if saved is not None:
            set_language(saved)  # the delegate's last choice, over the configured default
            window.retranslate()
        window.language_requested.connect(self.choose_language)
        self._unsubscribe_language = follow_language(window, lambda _code: self._retranslate())

    def choose_language(self, code: str) -> None:
        """The language switch: now, and at the next start."""
        set_language(code)
        if self.preferences is not None:
            self.preferences.set_language(code)

    # --- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        self.renderer.start()
        self.check_expiry()
        self._expiry.start()
        saved = self.cache.load_snapshot()
        if saved is not None:
            self._show_meeting(saved)
            self.window.set_connection("offline", tr("connection.offline"))
            self.window.show_screen(self.window.agenda_view)
        else:
            self.window.set_connection("idle", tr("connection.not_connected"))
            self.window.show_screen(self.window.discovery_view)
        self._downloader = asyncio.ensure_future(self._download_loop())
        if self.settings.direct is not None:
            self.join(self.settings.direct)
            return
        self._browser = RoomBrowser(self._on_rooms, interfaces=self.settings.interfaces)
        await self._browser.start()

    async def stop(self) -> None:
        self._expiry.stop()
        self._unsubscribe_language()
        self.scanner.stop()
        self.floor.stop()
        self.locks.stop()
        self.chair.stop()
        self.voting.stop()
        self.polls.stop()
        self.messages.stop()
        await self.link.stop()
        if self.annotation_sync is not None:
            await self.annotation_sync.stop()
        for task in [self._downloader, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._browser is not None:
            await self._browser.stop()
        if self.connection is not None:
            self.connection.on_status = None  # stopping: the window may already be gone
            await self.connection.stop()
        if self.fetcher is not None:
            await self.fetcher.close()
        if self.annotation_ui is not None:
            self.annotation_ui.close()
        self.search.close()
        self.reader.close()
        if self.annotations is not None:
            self.annotations.close()
        await self.renderer.close()

    # --- discovery and joining --------------------------------------------------------------

    def _on_rooms(self, rooms: list[DiscoveredRoom]) -> None:
        self.rooms = {r.service_name: r for r in rooms}
        # Delegates see the room's name; the rest is for IT staff, in small print.
        self.window.discovery_view.set_rooms(
            [(r.service_name, r.room.room_name, room_details(r)) for r in rooms]
        )
        self.rooms_changed.emit()
        if self.connection is None and self.auto_join and self.settings.room_id:
            mine = next((r for r in rooms if r.room.room_id == self.settings.room_id), None)
            if mine is not None:
                self.join_service(mine.service_name)
        joined = next((r for r in rooms if r.room.room_id == self._joined_room), None)
        endpoint = joined.endpoint if joined is not None else None
        if self.connection is not None and endpoint is not None:
            # The room restarted elsewhere (another address or port): go there.
            self.connection.move(endpoint)

    def join_service(self, service_name: str) -> None:
        room = self.rooms.get(service_name)
        endpoint = room.endpoint if room is not None else None
        if room is None or endpoint is None:
            return
        self.join(endpoint)
        self._joined_room = room.room.room_id

    def join(self, endpoint: RoomEndpoint) -> None:
        if not self.settings.credentials.enrolled:
            self._ask_for_code(endpoint)
            return
        if self.connection is not None:
            self._spawn(self.connection.stop())
            if self.annotation_sync is not None:
                # Requests on the old connection are never answered: send them again.
                self._spawn(self.annotation_sync.stop())
        if self.fetcher is not None:
            self._spawn(self.fetcher.close())
        self._joined_room = None
        self._ever_connected = False
        self._join_problem = None
        self.window.discovery_view.hide_problem()
        self._open_annotations()
        self.connection = RoomConnection(
            endpoint,
            self.settings.credentials,
            client_name=self.settings.client_name,
            on_status=self._on_status,
            on_meeting=self._on_meeting,
        )
        self.link.attach(self.connection)
        self.fetcher = DocumentFetcher(endpoint, self.settings.credentials, self.cache)
        self.connection.start()
        if self.window.screens.currentWidget() in (
            self.window.discovery_view,
            self.window.enroll_view,
            self.window.agenda_view,
        ):
            self.identity.show_home()

    def _open_annotations(self) -> None:
        if self.annotations is not None:
            return
        path = self.settings.cache_dir / ANNOTATIONS_FILE
        try:
            book = AnnotationBook(path, self.settings.credentials.device_id())
        except AnnotationFileError:
            log.exception("annotations are off on this tablet")
            return
        self.annotations = book
        self.annotation_sync = AnnotationSync(book, self._send_annotation)
        self.link.received.connect(self.annotation_sync.receive)
        self.annotations_opened.emit()

    async def _send_annotation(self, request: Request) -> Message:
        connection = self.connection
        assert connection is not None  # the sync sends only while a member is signed in
        return await connection.request(request)

    # --- enrollment --------------------------------------------------------------------------

    def _ask_for_code(self, endpoint: RoomEndpoint) -> None:
        self._enrolling = endpoint
        view = self.window.enroll_view
        view.show_room(endpoint.room_name or endpoint.hostname, self.settings.pairing_code)
        view.set_camera(CAMERA_KEYS[camera_state()])
        self.window.show_screen(view)
        if self.settings.pairing_code:
            self._spawn(self.enroll(self.settings.pairing_code))

    def _leave_enroll(self) -> None:
        self._stop_scan()
        self.window.show_screen(self.window.discovery_view)

    def _scan(self) -> None:
        view = self.window.enroll_view
        state = self.scanner.start()
        view.set_camera(CAMERA_KEYS[state])
        view.show_scanning(state is CameraState.READY)

    def _stop_scan(self) -> None:
        self.scanner.stop()
        self.window.enroll_view.show_scanning(False)

    def _scanned(self, link: str) -> None:
        view = self.window.enroll_view
        view.show_scanning(False)
        view.code.setText(link)
        self._spawn(self.enroll(link))

    async def enroll(self, text: str) -> bool:
        """Enroll in the room on the enroll screen with the code ``text``; join it after."""
        endpoint, view = self._enrolling, self.window.enroll_view
        if endpoint is None:
            return False
        try:
            code = PairingCode.parse(text)
        except ProtocolError as exc:
            key, kw = _code_problem(text)
            view.set_error(key, exc.message, **kw)
            return False
        return await self._enroll_code(endpoint, code) is None

    async def enroll_from_stick(self) -> bool:
        """Enroll with the first unused token of the enrollment stick, and mark it used
        on the stick. A token the room refuses (used by a tablet that could not mark it:
        a read-only stick) is marked and the next one tried."""
        endpoint, view = self._enrolling, self.window.enroll_view
        if endpoint is None:
            return False
        root = self.settings.enroll_stick or find_stick(self.settings.stick_roots)
        if root is None:
            view.set_error("enroll.stick_none")
            return False
        try:
            stick = EnrollmentStick(root)
        except StickError as exc:
            view.set_error("enroll.stick_unreadable", str(exc))
            return False
        if stick.expired():
            until = time.strftime("%Y-%m-%d %H:%M", time.localtime(stick.room.expires_ts))
            view.set_error("enroll.stick_expired", until=until)
            return False
        tokens = stick.unused()
        if not tokens:
            view.set_error("enroll.stick_empty")
            return False
        for token in tokens[:STICK_TRIES]:
            failure = await self._enroll_code(endpoint, token.code)
            if failure is None:
                stick.mark_used(token)
                return True
            if failure is not EnrollFailure.CODE_REFUSED:
                return False
            stick.mark_used(token)
        view.set_error("enroll.stick_refused", room=view_room(endpoint))
        return False

    async def _enroll_code(self, endpoint: RoomEndpoint, code: PairingCode) -> EnrollFailure | None:
        """Enroll with ``code``; join the room after. None when enrolled, else why not."""
        view = self.window.enroll_view
        view.set_busy(True)
        try:
            done = await enroll(
                endpoint.uri,
                endpoint.address or endpoint.hostname,
                endpoint.port,
                code,
                self.settings.credentials,
                name=self.settings.client_name,
            )
        except EnrollError as exc:
            log.warning("could not enroll: %s", exc)
            view.set_error(ENROLL_ERRORS[exc.reason], str(exc), room=view_room(endpoint))
            return exc.reason
        log.info("enrolled as %s (seat %s)", done.device_id, done.seat_id or "none")
        view.set_busy(False)
        view.show_status("enroll.joining", "done", room=done.room_name or view_room(endpoint))
        self._enrolling = None
        self.join(endpoint)
        return None

    def _retry_join(self) -> None:
        connection, room = self.connection, self._joined_room
        if connection is None:
            return
        self.join(connection.endpoint)
        self._joined_room = room

    def leave_room(self) -> None:
        """Stop trying the room that could not be joined and show the room list."""
        if self.connection is not None:
            self._spawn(self.connection.stop())
            self.connection = None
        self._joined_room = None
        self.auto_join = False  # the delegate chooses now
        self._join_problem = None
        self.window.discovery_view.hide_problem()
        self.window.discovery_view.clear_choice()  # not the room that failed, by a double tap
        self.window.identity_action.hide()
        self.window.set_connection("idle", tr("connection.not_connected"))
        self.window.show_screen(self.window.discovery_view)

    def _join_failed(self, status: ConnectionStatus) -> bool:
        """A room that was never reached says why on the discovery screen, instead of an
        empty sign-in list or agenda; True when it did. A room that cannot be trusted is
        not tried again by itself; one that does not answer is, until the delegate goes
        back."""
        connection, window = self.connection, self.window
        # A tablet with the meeting saved goes on showing it (offline) where it is.
        reading = self.meeting is not None and window.screens.currentWidget() not in (
            window.sign_in_view,
            window.discovery_view,
        )
        if self._ever_connected or connection is None or reading:
            return False
        if status.failure is Failure.UNTRUSTED:
            self._spawn(connection.stop())  # the same certificate again would not help
        self._join_problem = status
        self._show_join_problem()
        self.window.show_screen(self.window.discovery_view)
        self.window.identity_action.hide()  # no room, nobody to sign in as
        return True

    def _show_join_problem(self) -> None:
        status, connection = self._join_problem, self.connection
        if status is None or connection is None:
            return
        endpoint = connection.endpoint
        where = f"{endpoint.address or endpoint.hostname}:{endpoint.port}"
        room = view_room(endpoint)
        if status.failure is Failure.UNTRUSTED:
            reason = tr("join.untrusted")
        elif status.failure is Failure.UNREACHABLE:
            seconds = max(1, round(status.retry_in or 0))
            reason = tr("join.unreachable", where=where, seconds=seconds)
        else:
            reason = tr("join.refused")
        view = self.window.discovery_view
        view.show_problem(
            tr("join.failed", room=room),
            reason,
            tr("join.detail", detail=status.detail, where=where),
            can_go_back=self.settings.direct is None,
        )
        self.window.set_connection("retrying", tr("join.failed", room=room), detail=status.detail)

    def _on_status(self, status: ConnectionStatus) -> None:
        room = status.room_name or tr("app.title")
        if status.phase is Phase.CONNECTED:
            first = not self._ever_connected
            self._ever_connected = True
            if self.window.discovery_view.problem_shown():
                self._join_problem = None
                self.window.discovery_view.hide_problem()
            if first and self.window.screens.currentWidget() is self.window.discovery_view:
                self.identity.show_home()
            self._follow_endpoint()
            self.cache.confidential.touch()
            self.window.set_connection("connected", tr("connection.connected", room=room))
            self._queue_missing()
            self.link.reconnected.emit()
        elif status.phase is Phase.CONNECTING:
            self.window.set_connection("connecting", tr("connection.connecting", room=room))
        elif status.phase is Phase.RETRYING:
            self.link.disconnected.emit()
            if self._join_failed(status):
                return
            seconds = max(1, round(status.retry_in or 0))
            # The technical reason is English only: a tooltip for IT staff, not the banner.
            self.window.set_connection(
                "retrying", tr("connection.retrying", seconds=seconds), detail=status.detail
            )
        elif not self.window.discovery_view.problem_shown():
            self.window.set_connection(status.phase.value, tr("connection.not_connected"))

    def _follow_endpoint(self) -> None:
        """Documents come from where the control connection is (it may have moved)."""
        connection, fetcher = self.connection, self.fetcher
        if connection is None or fetcher is None or fetcher.endpoint == connection.endpoint:
            return
        self._spawn(fetcher.close())
        self.fetcher = DocumentFetcher(connection.endpoint, self.settings.credentials, self.cache)

    # --- meeting and documents ----------------------------------------------------------------

    def _on_meeting(self, meeting: MeetingSnapshot | None) -> None:
        self.cache.confidential.touch()
        self.cache.save_snapshot(meeting)
        if meeting is not None and meeting.closed_at is not None:
            self.wipe_confidential("confidential.wiped_closed")
        self._show_meeting(meeting)
        self._queue_missing()

    # --- confidential documents -----------------------------------------------------------

    def _key(self) -> bytes | None:
        """The signed-in member's key for sealed documents; in memory only."""
        me = self.link.me
        if me is None or me.cache_key is None:
            return None
        try:
            return decode_key(me.cache_key)
        except SealedUnreadable as exc:
            log.warning("%s", exc)
            return None

    def wipe_confidential(self, reason: str) -> int:
        """Remove every sealed document (``reason``: an i18n key saying why)."""
        if self.showing is not None and self._is_confidential(self.showing):
            self.reader.put_away(tr("viewer.confidential_gone", reason=tr(reason)))
        held = self.cache.confidential.held()
        self.search.forget()  # hits quote the documents' lines
        for path in held:
            self.renderer.forget(path)
        removed = self.cache.confidential.wipe(tr(reason))
        if self.annotations is not None and self.meeting is not None:
            # the members' marks on them too (the room keeps them; unsent ones stay)
            secret = [d.sha256 for d in self.meeting.documents if d.confidential]
            self.annotations.forget_documents(secret)
            if self.annotation_ui is not None:
                self.annotation_ui.refresh()
        names = {path.name.removesuffix(".sealed") for path in held}
        for doc in self.meeting.documents if self.meeting else ():
            if doc.confidential and doc.sha256 in names:
                self._set_status(doc.sha256, reason)
        if removed:
            self.confidential_wiped.emit(removed)
        return removed

    def check_expiry(self) -> None:
        """Wipe the sealed documents of a tablet away from the room too long."""
        if self.cache.confidential.expired():
            self.wipe_confidential("confidential.wiped_expired")

    def _member(self) -> str | None:
        me = self.link.me
        return me.delegate_id if me is not None else None

    def _is_confidential(self, sha: str) -> bool:
        doc = self.meeting.document(sha) if self.meeting else None
        return doc is not None and doc.confidential

    def _identity_changed(self) -> None:
        if self._member() != self._searcher:  # their words and hits are not the next reader's
            self.search.forget()
            self._searcher = self._member()
        if self._key() is None and self.showing is not None and self._is_confidential(self.showing):
            self.reader.put_away(
                tr("viewer.confidential_gone", reason=tr("confidential.signed_out"))
            )
        self._confidential_statuses()
        self._queue_missing()

    def _confidential_statuses(self) -> None:
        """What the agenda says of a confidential document this tablet does not hold."""
        me = self.link.me
        for doc in self.meeting.documents if self.meeting else ():
            if not doc.confidential or self.cache.held(doc, self._member()) is not None:
                continue
            if me is None or self._key() is None:
                self._set_status(doc.sha256, "documents.sign_in_to_read")
            elif not may_read(doc, me.role, me.delegate_id):
                self._set_status(doc.sha256, "documents.not_for_you")
            elif self._statuses.get(doc.sha256, ("", {}))[0] in (
                "documents.sign_in_to_read",
                "documents.not_for_you",
            ):
                self._statuses.pop(doc.sha256)
                self.window.agenda_view.set_document_status(doc.sha256, "")

    def _show_meeting(self, meeting: MeetingSnapshot | None) -> None:
        self.meeting = meeting
        if meeting is not None:
            for doc in meeting.documents:
                if self.cache.held(doc, self._member()) is not None:
                    self._statuses[doc.sha256] = ("documents.saved_offline", {})
        self.window.agenda_view.set_meeting(meeting)
        self._confidential_statuses()
        self._push_statuses()
        self.identity.meeting_changed()
        self.messages.meeting_changed()
        self.closing.meeting_changed()
        if self.link.presiding:
            self.chair.meeting_changed()
        self.attendance.meeting_changed()
        self.voting.meeting_changed()
        self.polls.meeting_changed()
        self.meeting_changed.emit()

    def _documents_in_agenda_order(self) -> list[DocumentInfo]:
        if self.meeting is None:
            return []
        ordered: dict[str, DocumentInfo] = {}
        for _depth, item in self.meeting.walk():
            for sha in item.documents:
                doc = self.meeting.document(sha)
                if doc is not None:
                    ordered.setdefault(sha, doc)
        for doc in self.meeting.documents:
            ordered.setdefault(doc.sha256, doc)
        return list(ordered.values())

    def _queue_missing(self) -> None:
        for doc in self._documents_in_agenda_order():
            if (
                self.cache.held(doc, self._member()) is None
                and doc.sha256 not in self._queue
                and self._may_fetch(doc)
            ):
                self._queue.append(doc.sha256)
        self._queue_changed.set()

    def _may_fetch(self, doc: DocumentInfo) -> bool:
        """The room gives a confidential document only to its readers signed in here,
        and this tablet keeps one only sealed with their key."""
        if not doc.confidential:
            return True
        me = self.link.me
        return me is not None and may_read(doc, me.role, me.delegate_id) and bool(self._key())

    def missing_documents(self) -> list[str]:
        """Documents this tablet may fetch now and does not hold yet."""
        return [
            d.sha256
            for d in self._documents_in_agenda_order()
            if not self.cache.held(d, self._member()) and self._may_fetch(d)
        ]

    async def _download_loop(self) -> None:
        while True:
            if not self._queue or self.fetcher is None:
                self._queue_changed.clear()
                await self._queue_changed.wait()
                continue
            sha = self._queue[0]
            doc = self.meeting.document(sha) if self.meeting else None
            if doc is None:
                self._queue.pop(0)
                continue
            try:
                path = await fetch_with_retry(
                    self.fetcher,
                    doc,
                    self._progress_reporter(doc),
                    attempts=3,
                    key=self._key() if doc.confidential else None,
                    member=self._member(),
                )
            except (ConnectError, TransferInterrupted, DocumentUnavailable, OSError) as exc:
                log.warning("download of %s failed: %s", doc.title, exc)
                self._set_status(sha, "documents.failed", reason=str(exc))
                if self._queue and self._queue[0] == sha:
                    self._queue.pop(0)
                self._fail_waiters(sha, exc)
                await asyncio.sleep(RETRY_FAILED_DOWNLOADS_S)
                continue
            if self._queue and self._queue[0] == sha:
                self._queue.pop(0)
            self._set_status(sha, "documents.saved_offline")
            for waiter in self._waiters.pop(sha, []):
                if not waiter.done():
                    waiter.set_result(path)
            self.document_ready.emit(sha)

    def _progress_reporter(self, doc: DocumentInfo) -> Callable[[int, int], None]:
        last = [-1]

        def report(held: int, total: int) -> None:
            percent = 100 * held // max(total, 1)
            if percent != last[0]:
                last[0] = percent
                self._set_status(
                    doc.sha256, "documents.downloading", title=doc.title, percent=percent
                )

        return report

    def _fail_waiters(self, sha: str, exc: BaseException) -> None:
        for waiter in self._waiters.pop(sha, []):
            if not waiter.done():
                waiter.set_exception(exc)

    async def document_path(self, sha: str) -> Path:
        """The cached file, downloading it first (ahead of everything else) if needed."""
        doc = self.meeting.document(sha) if self.meeting else None
        cached = self.cache.held(doc, self._member()) if doc is not None else self.cache.get(sha)
        if cached is not None:
            return cached
        if doc is not None and not self._may_fetch(doc):
            raise DocumentUnavailable(tr("documents.sign_in_to_read"))
        waiter: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(sha, []).append(waiter)
        if sha in self._queue:
            self._queue.remove(sha)
        self._queue.insert(1 if self._queue and self._queue[0] != sha else 0, sha)
        self._queue_changed.set()
        return await waiter

    def held_documents(self) -> list[HeldDocument]:
        """The meeting's documents this tablet holds and may open now, in agenda order
        (a confidential one only with the signed-in reader's key): what a search of the
        whole meeting looks through."""
        held: list[HeldDocument] = []
        for doc in self._documents_in_agenda_order():
            path = self.cache.held(doc, self._member())
            if path is None:
                continue
            key = self._key() if doc.confidential else None
            if doc.confidential and key is None:
                continue
            held.append(HeldDocument(doc.sha256, doc.title, path, key))
        return held

    def read_document(self, sha: str) -> None:
        """The reader asked for ``sha`` on their own: they stop following the chair."""
        self.browsing_started.emit()
        self._spawn(self.open_document(sha))

    async def open_document(self, sha: str, page: int = 0, *, show: bool = True) -> None:
        """Open ``sha`` in the reader at ``page``; ``show`` brings the reader to the front."""
        doc = self.meeting.document(sha) if self.meeting else None
        if doc is None:
            return
        try:
            path = await self.document_path(sha)
        except Exception as exc:  # shown to the delegate; the download loop logs it
            self.window.document_view.show_error(tr("viewer.cannot_show", reason=str(exc)))
            if show:
                self.window.show_screen(self.window.document_view)
            return
        key = self._key() if doc.confidential else None
        if doc.confidential and key is None:
            self.window.document_view.show_error(
                tr("viewer.cannot_show", reason=tr("documents.sign_in_to_read"))
            )
            if show:
                self.window.show_screen(self.window.document_view)
            return
        if show:
            self.window.show_screen(self.window.document_view)
        self.showing = sha
        if self.annotation_ui is not None:
            self.annotation_ui.show_document(sha)
        await self.reader.open(path, doc.title, page, key=key)
        self.document_opened.emit(sha)

    # --- annotations ---------------------------------------------------------------------------

    def _annotation_author(self) -> str | None:
        me = self.link.me
        return me.delegate_id if me is not None else None

    def _annotations_for_member(self) -> None:
        """A member signed in: the annotation tools appear over the tablet's annotations
        book (opened when the tablet joined its room); signed out, they are off until the
        next one."""
        if self.annotation_ui is None:
            if self.link.me is None or self.annotations is None:
                return
            self.annotation_ui = AnnotationController(
                self.window.document_view,
                self.reader,
                self.renderer,
                self.annotations,
                self._annotation_author,
                titles=self._document_title,
                parent=self,
            )
            self.annotation_ui.document_requested.connect(self._read_annotated)
            if self.showing is not None:
                self.annotation_ui.show_document(self.showing)
        self.annotation_ui.set_presenter_available(self.link.presiding)
        self.annotation_ui.refresh()

    def _document_title(self, sha: str) -> str:
        doc = self.meeting.document(sha) if self.meeting else None
        return doc.title if doc is not None else sha[:12]

    def _read_annotated(self, sha: str, page: int) -> None:
        """An entry of the annotations list on another document: open it there."""
        self.browsing_started.emit()
        self._spawn(self.open_document(sha, page))

    # --- text --------------------------------------------------------------------------------

    def _set_status(self, sha: str, key: str, **kwargs: object) -> None:
        self._statuses[sha] = (key, kwargs)
        self.window.agenda_view.set_document_status(sha, tr(key, **kwargs))

    def _push_statuses(self) -> None:
        for sha, (key, kwargs) in self._statuses.items():
            self.window.agenda_view.set_document_status(sha, tr(key, **kwargs))

    def _retranslate(self) -> None:
        self.window.retranslate()
        self._push_statuses()
        self.identity.retranslate()
        self.follow.retranslate()
        self.floor.retranslate()
        self.messages.retranslate()
        self.locks.retranslate()
        self.closing.retranslate()
        if self.link.presiding:
            self.chair.retranslate()
        self.attendance.retranslate()
        self.voting.retranslate()
        self.polls.retranslate()
        if self.window.discovery_view.problem_shown():
            self._show_join_problem()
        elif self.connection is not None:
            self._on_status(self.connection.status)
        elif self.meeting is not None:
            self.window.set_connection("offline", tr("connection.offline"))
        else:
            self.window.set_connection("idle", tr("connection.not_connected"))
        self._on_rooms(list(self.rooms.values()))

    def _spawn(self, coroutine: Coroutine[Any, Any, object]) -> None:
        task: asyncio.Task[object] = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def view_room(endpoint: RoomEndpoint) -> str:
    return endpoint.room_name or endpoint.hostname


def room_details(room: DiscoveredRoom) -> str:
    """What IT staff need to tell rooms apart (not translated: ids and numbers)."""
    address = room.addresses[0] if room.addresses else room.hostname
    version = room.room.protocol_version
    return f"{room.room.room_id} · {room.hostname} · {address}:{room.port} · protocol {version}"


def _code_problem(text: str) -> tuple[str, dict[str, object]]:
    """What is wrong with a code PairingCode.parse refused, as an i18n key and arguments."""
    if text.strip().lower().startswith(f"{LINK_SCHEME}:"):
        return "enroll.error_link", {}
    cleaned = re.sub(r"[\s-]", "", text).upper().translate(str.maketrans("OIL", "011"))
    bad = "".join(sorted({c for c in cleaned if c not in ALPHABET}))
    if bad:
        return "enroll.error_characters", {"chars": bad}
    return "enroll.error_length", {"count": len(cleaned), "needed": CODE_CHARS}
