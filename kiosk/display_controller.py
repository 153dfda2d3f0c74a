"""Wires the room display: discovery, the observer connection and the one screen.

The display never signs in: the room treats it as an observer and sends it the meeting,
the speaker queue, announcements, attendance and polls like any tablet, and the count
of ballots while a poll is open. Everything on screen is drawn from the last state the
room sent plus the time since, once a second and on every update, so a lost connection
freezes nothing and the timers keep the room's time. Which poll is on screen, and for
how long, is :func:`kiosk.voting.shown_poll`.

The display also follows the chair's view (``follow.state``): when the chair shows a
document page and no vote is on screen, that page fills the screen, fetched into the
display's own cache and rendered in a worker process, with the chair's presenter ink on
it. A confidential document is never fetched nor shown (:func:`kiosk.presentation.may_show`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QSize, Qt, QTimer
from PySide6.QtGui import QImage

from kiosk.display_view import DisplayView, QueueLine
from kiosk.i18n import long_date, on_language_changed, tr, trn
from kiosk.page_render import PageRenderError, RenderedPage, Renderer
from kiosk.presentation import InkMark, PresenterInk, Shown, marks_on_page, may_show
from kiosk.result_lines import poll_kinds, result_lines
from kiosk.vote_lines import Tone, VoteLines
from kiosk.voting import (
    RESULT_KEEP_S,
    ShownPoll,
    Stage,
    close_countdown,
    last_change,
    shown_poll,
)
from room_client.connection import (
    Backoff,
    ConnectError,
    ConnectionStatus,
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
from room_client.enrollment import DeviceCredentials, EnrollError, enroll
from room_client.notices import notice_text
from room_client.timers import (
    Level,
    ServerClock,
    item_timer,
    parse_time,
    server_time_of,
    speech_clock,
    speech_timer,
)
from room_client.timers import format_duration as duration
from room_protocol.annotations import SharedAnnotations
from room_protocol.enrollment import DeviceKindName, PairingCode, PairingCodeShown
from room_protocol.errors import ErrorCode, ProtocolError
from room_protocol.live import Announcement, FloorKind, FloorState, FollowState
from room_protocol.messages import DocumentInfo, MeetingSnapshot, Message
from room_protocol.notices import RoomNotice
from room_protocol.voting import (
    AttendanceState,
    AuditHead,
    Poll,
    PollProgress,
    PollsState,
    PollState,
    QuorumRule,
    fingerprint,
)

log = logging.getLogger(__name__)

DISPLAY_SHELF = "room-display"  # the display's folder of sealed confidential copies

TICK_MS = 1000
TICK_LATE_MS = 15  # land just after the countdown's next whole second, never just before
ANNOUNCEMENT_NEW_S = 5.0  # an announcement made less long ago than this is taken as new
ANNOUNCEMENT_PROMINENT_S = 120.0  # a new announcement is shown large for two minutes
ANNOUNCEMENT_KEEP_S = 30 * 60.0  # ... then as a quiet line for half an hour
MIN_PAGE_BOX_PX = 64  # smaller: the page area is not laid out yet
FETCH_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class DisplaySettings:
    credentials: DeviceCredentials  # the display's enrollment in its room (an observer)
    client_name: str = "Room display"
    pairing_code: str = ""  # enroll with this code when the room is found
    room_id: str | None = None  # join this room when mDNS finds it
    interfaces: tuple[str, ...] = ()  # mDNS interface addresses; empty = all
    direct: RoomEndpoint | None = None  # a fixed room address: no mDNS
    retry_initial_s: float = 0.5
    retry_maximum_s: float = 15.0
    announcement_prominent_s: float = ANNOUNCEMENT_PROMINENT_S
    announcement_keep_s: float = ANNOUNCEMENT_KEEP_S
    result_keep_s: float = RESULT_KEEP_S  # a published result leaves the screen after this
    cache_dir: Path | None = None  # the display's documents; default: beside its credentials

    @property
    def documents(self) -> Path:
        return self.cache_dir or self.credentials.directory.parent / "display-documents"


class DisplayController(QObject):
    def __init__(
        self,
        view: DisplayView,
        settings: DisplaySettings,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        """``clock``: monotonic seconds; by default the event loop's, which is what
        RoomConnection stamps ``welcomed_at`` with."""
        super().__init__()
        self.view = view
        self.settings = settings
        self.connection: RoomConnection | None = None
        self.clock = ServerClock()
        self.meeting: MeetingSnapshot | None = None
        self.meeting_received = False  # the room has sent its meeting state at least once
        self.floor: FloorState | None = None
        self.announcement: Announcement | None = None
        self.notice: RoomNotice | None = None  # the room's own (a USB stick's result)
        self._notice_at = 0.0
        self.attendance: AttendanceState | None = None
        self.audit_head: AuditHead | None = None
        self.polls: PollsState | None = None
        self.progress: dict[str, PollProgress] = {}  # the last count of open and closed polls
        self.shown: ShownPoll | None = None  # the poll on screen after the last refresh
        self._item_changed: datetime | None = None  # room time the current item last changed
        self._clock_given = clock is not None
        self._now: Callable[[], float] = clock or time.monotonic
        self._floor_at = 0.0  # local time the floor state arrived
        self._announcement_at = 0.0
        self._last_update: datetime | None = None  # server time of the last message
        self._ever_connected = False
        self._failure = ""  # why the last attempt failed, until the next success
        self.pairing: PairingCodeShown | None = None  # a code the chair asked to show here
        self._enroll_problem = ""  # why enrolling failed (English, for IT staff)
        self._enroll_room = ""  # the room this display was asked to enroll in
        self._unenrolled = False  # a room was found, and this display is not its device
        self._browser: RoomBrowser | None = None
        self._tasks: set[asyncio.Future[None]] = set()
        # the chair's view and what the page area shows of it
        self.follow: FollowState | None = None
        self.ink = PresenterInk()
        self.presented = Shown.NOTHING
        self.cache: DocumentCache | None = None  # made when the first page is wanted
        self.fetcher: DocumentFetcher | None = None
        self.renderer = Renderer()
        self.page: RenderedPage | None = None  # the page in the view
        self._page_key: tuple[str, int, int, int] | None = None  # sha256, page, box w, h
        self._wanted: tuple[str, int, int, int] | None = None  # the render the screen needs
        self._rendering: set[tuple[str, int, int, int]] = set()  # renders under way
        self._render_failed: dict[tuple[str, int, int, int], str] = {}
        self._fetching: set[str] = set()
        self._forbidden: set[str] = set()  # the room refused: confidential to this display
        self._seal_key = secrets.token_bytes(32)  # of the sealed copies the chair allowed here
        self._fetch_failed: dict[str, str] = {}  # sha256 -> why (until the next connect)
        self._marks: list[InkMark] = []
        self._page_tasks: set[asyncio.Future[None]] = set()
        view.presentation_page.canvas.box_changed.connect(self._box_changed)
        self._tick = QTimer(view)  # dies with the view it redraws
        self._tick.setTimerType(Qt.TimerType.PreciseTimer)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self.refresh)
        self._unsubscribe_language = on_language_changed(lambda _code: self._retranslate())
        view.destroyed.connect(lambda: self._unsubscribe_language())

    # --- life cycle -----------------------------------------------------------------------

    async def start(self) -> None:
        if not self._clock_given:
            self._now = asyncio.get_running_loop().time
        self._tick.start()
        self.refresh()
        if self.settings.direct is not None:
            self.join(self.settings.direct)
            return
        self._browser = RoomBrowser(self._on_rooms, interfaces=self.settings.interfaces)
        await self._browser.start()

    async def stop(self) -> None:
        """Stop everything; safe to call twice."""
        self._tick.stop()
        self._unsubscribe_language()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for job in list(self._page_tasks):
            job.cancel()  # a cut transfer resumes from the partial file next time
            with contextlib.suppress(asyncio.CancelledError):
                await job
        if self.fetcher is not None:
            await self.fetcher.close()
            self.fetcher = None
        await self.renderer.close()
        if self._browser is not None:
            await self._browser.stop()
            self._browser = None
        if self.connection is not None:
            await self.connection.stop()

    # --- finding and joining the room ----------------------------------------------------

    def _on_rooms(self, rooms: list[DiscoveredRoom]) -> None:
        mine = next((r for r in rooms if r.room.room_id == self.settings.room_id), None)
        endpoint = mine.endpoint if mine is not None else None
        if endpoint is None:
            return
        if self.connection is None:
            self.join(endpoint)
        else:
            self.connection.move(endpoint)  # the room came back elsewhere (new address or port)

    def join(self, endpoint: RoomEndpoint) -> None:
        if not self.settings.credentials.enrolled:
            self._enroll(endpoint)
            return
        if self.connection is not None:
            task = asyncio.ensure_future(self.connection.stop())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        self.connection = RoomConnection(
            endpoint,
            self.settings.credentials,
            client_name=self.settings.client_name,
            on_status=self.on_status,
            on_meeting=self.on_meeting,
            on_message=self.on_message,
            backoff=Backoff(self.settings.retry_initial_s, self.settings.retry_maximum_s),
        )
        self.connection.start()
        self.refresh()

    def _enroll(self, endpoint: RoomEndpoint) -> None:
        """Enroll with the configured code, then join; without one, say what to do."""
        self._enroll_room = endpoint.room_name or endpoint.hostname
        self._unenrolled = True
        if not self.settings.pairing_code:
            self._failure = tr("enroll.not_enrolled")
            self.refresh()
            return
        if any(not t.done() for t in self._tasks):
            return  # enrolling already

        async def enroll_then_join() -> None:
            try:
                code = PairingCode.parse(self.settings.pairing_code)
                await enroll(
                    endpoint.uri,
                    endpoint.address or endpoint.hostname,
                    endpoint.port,
                    code,
                    self.settings.credentials,
                    name=self.settings.client_name,
                )
            except (ProtocolError, EnrollError) as exc:
                log.warning("could not enroll: %s", exc)
                self._failure = str(exc)
                self._enroll_problem = str(exc)
                self.refresh()
                return
            self._enroll_problem = ""
            self._unenrolled = False
            self.join(endpoint)

        task = asyncio.ensure_future(enroll_then_join())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- from the room (RoomConnection's callbacks) -------------------------------------

    def on_status(self, status: ConnectionStatus) -> None:
        connection = self.connection
        if status.phase is Phase.CONNECTED and connection and connection.welcome:
            self._ever_connected = True
            self._failure = ""
            self.clock.sync(parse_time(connection.welcome.server_time), connection.welcomed_at)
            self._fetch_failed.clear()  # the room is back: try those documents again
        elif status.phase is Phase.RETRYING:
            self._failure = status.detail
        self.refresh()

    def on_meeting(self, meeting: MeetingSnapshot | None) -> None:
        previous = self.meeting
        if previous is not None and (
            meeting is None or meeting.current_item_id != previous.current_item_id
        ):
            changed = self.clock.now(self._now())
            if changed is not None:
                self._item_changed = changed  # a fresh result gives way
        if previous is not None and (
            meeting is None or meeting.meeting_id != previous.meeting_id or meeting.closed_at
        ):
            self._drop_confidential()  # of the meeting that was (its snapshot still here)
        self.meeting = meeting
        self.meeting_received = True
        if meeting is not None and meeting.current_started_at:
            self.clock.observe(parse_time(meeting.current_started_at), self._now())
        self._mark_update()
        self.refresh()

    def on_message(self, message: Message) -> None:
        now = self._now()
        stamp = server_time_of(message)
        if stamp is not None:
            self.clock.observe(stamp, now)
        if isinstance(message, FloorState):
            self.floor, self._floor_at = message, now
        elif isinstance(message, Announcement) and message.to_seat is None:
            # Aged from when it was made: the room repeats a standing one to a display
            # that connects later, which shows it as old as it is.
            made = self.clock.now(now)
            age = (made - parse_time(message.at)).total_seconds() if made is not None else 0.0
            if age < ANNOUNCEMENT_NEW_S:
                age = 0.0  # new: the estimate of the room's clock is only good to a second
            self.announcement, self._announcement_at = message, now - age
        elif isinstance(message, RoomNotice):
            self.notice, self._notice_at = message, now
        elif isinstance(message, AttendanceState):
            self.attendance = message
        elif isinstance(message, PollsState):
            self.polls = message
            counting = {
                p.id for p in message.polls if p.state in (PollState.OPEN, PollState.CLOSED)
            }
            self.progress = {k: v for k, v in self.progress.items() if k in counting}
            changes = [t for p in message.polls if (t := last_change(p)) is not None]
            if changes:  # the room's clock was past its latest open, close or publish
                self.clock.observe(max(changes), now)
        elif isinstance(message, PollProgress):
            self.progress[message.poll_id] = message
        elif isinstance(message, AuditHead):
            self.audit_head = message
        elif isinstance(message, PairingCodeShown):
            self.pairing = message
        elif isinstance(message, FollowState):
            if self.follow is None or message.seq != self.follow.seq:
                # the chair moved: a page or document that failed before is tried again
                self._fetch_failed.clear()
                self._render_failed.clear()
            was_allowed = self.follow is not None and self.follow.confidential_on_display
            if message.confidential_on_display and not was_allowed:
                self._forbidden.clear()  # the chair allows it now: the room will answer
            elif was_allowed and not message.confidential_on_display:
                self._drop_confidential()
            self.follow = message
        elif isinstance(message, SharedAnnotations):
            self.ink.receive(message)
        else:
            return
        self._mark_update()
        self.refresh()

    def _mark_update(self) -> None:
        self._last_update = self.clock.now(self._now())

    # --- drawing --------------------------------------------------------------------------

    def _retranslate(self) -> None:
        self.view.retranslate()
        self.refresh()

    def refresh(self) -> None:
        """Draw everything from the current state; cheap enough to run every second."""
        now = self._now()
        server_now = self.clock.now(now)
        self.view.set_clock(_local_time(server_now) if server_now else "")
        self._show_connection()
        head = self.audit_head
        self.view.set_audit_head(
            tr("audit.head", seq=head.seq, fingerprint=fingerprint(head.head)) if head else ""
        )
        meeting = self.meeting
        self._wanted = None  # until the page area asks for a page below
        if self._unenrolled:
            self._show_setup()
        elif self._show_pairing(server_now):
            pass
        elif meeting is None:
            room = self._room_name() or tr("app.title")
            text = tr("idle.no_meeting") if self.meeting_received else tr("idle.waiting")
            self.view.show_idle(room, text)
        elif meeting.closed_at is not None:
            closed = _local_time(parse_time(meeting.closed_at))
            self.view.show_idle(meeting.title, tr("idle.closed", time=closed))
        else:
            self.shown = self._pick_poll(meeting, server_now)
            follow = self.follow
            if self.shown is None and follow is not None and (follow.sha256 or follow.withheld):
                self._show_presentation(meeting, follow, now)
            else:
                self.presented = Shown.NOTHING
                self.view.show_meeting(meeting.title, self._meeting_line(meeting))
                self._show_item(meeting, server_now)
                self._show_floor(meeting, now)
                self._show_attendance()
                self._show_poll(meeting, server_now)
        if not self.view.presenting:
            self.presented = Shown.NOTHING
            self._drop_page()
        self._show_announcement(now)
        if self._tick.isActive():
            self._tick.start(self.next_tick_ms(now))

    def next_tick_ms(self, now: float) -> int:
        """About a second; while a countdown runs (a poll closing, someone speaking), timed
        so that it changes on time."""
        shown = self.shown
        server_now = self.clock.now(now)
        if shown is not None and shown.stage is Stage.OPEN and server_now is not None:
            closes_at = shown.poll.closes_at
            if closes_at:
                remaining = close_countdown(closes_at, server_now).remaining
                if remaining > 0:
                    return round((remaining % 1.0 or 1.0) * 1000) + TICK_LATE_MS
            return TICK_MS
        speech = self.floor.speaking if self.floor else None
        if speech is None:
            return TICK_MS
        elapsed = speech.elapsed_seconds + (now - self._floor_at)
        return round((1.0 - elapsed % 1.0) * 1000) + TICK_LATE_MS

    # --- the chair's page -----------------------------------------------------------------

    def _show_presentation(self, meeting: MeetingSnapshot, follow: FollowState, now: float) -> None:
        """The chair's page in the page area, or a notice saying why not (yet)."""
        self.view.show_presentation(
            meeting.title,
            self._meeting_line(meeting),
            self._item_line(meeting),
            self._speaker_line(now),
            no_item=meeting.current_item_id is None,
        )
        if follow.withheld:  # the room does not say which: a confidential page, not allowed
            self._notice(
                Shown.CONFIDENTIAL,
                tr("page.confidential"),
                tr("page.confidential_withheld"),
                warning=True,
            )
            return
        assert follow.sha256 is not None
        doc = meeting.document(follow.sha256)
        if doc is None:
            self._notice(Shown.UNAVAILABLE, tr("page.unavailable"), tr("page.not_in_meeting"))
            return
        where = tr("page.document", title=doc.title, page=follow.page + 1)
        if not self._may_show(doc):
            self._notice(
                Shown.CONFIDENTIAL,
                tr("page.confidential"),
                tr("page.confidential_detail", title=doc.title, page=follow.page + 1),
                warning=True,
            )
            return
        failed = self._fetch_failed.get(doc.sha256)
        if failed is not None:
            self._notice(Shown.UNAVAILABLE, tr("page.unavailable"), f"{where} · {failed}")
            return
        path = self._cache().held(doc, DISPLAY_SHELF)
        if path is None:
            self._start_fetch(doc)
            self._notice(Shown.LOADING, tr("page.loading"), where)
            return
        box = self._page_box()
        if box is None:
            self._notice(Shown.LOADING, tr("page.loading"), where)
            return
        key = (doc.sha256, follow.page, *box)
        self._wanted = key
        problem = self._render_failed.get(key)
        if problem is not None:
            self._notice(Shown.UNAVAILABLE, tr("page.unavailable"), f"{where} · {problem}")
            return
        if self._page_key != key:
            self._start_render(key, path, self._seal_key if doc.confidential else None)
            if self._page_key is None:
                self._notice(Shown.LOADING, tr("page.loading"), where)
                return
            if self._page_key[:2] != key[:2]:
                return  # a page turn: the last page stays until this one is drawn, no flash
            # the same page, rendered for another size: shown until the new one is ready
        self.presented = Shown.PAGE
        assert self.page is not None
        marks = marks_on_page(self.ink.on_page(doc.sha256, follow.page), self.page.rotation)
        if marks != self._marks:
            self._marks = marks
            self.view.set_presenter_ink(marks)

    def _may_show(self, doc: DocumentInfo) -> bool:
        """:func:`may_show`, and never a document the room refused this display."""
        allowed = self.follow is not None and self.follow.confidential_on_display
        return may_show(doc, display_allowed=allowed) and doc.sha256 not in self._forbidden

    def _notice(self, shown: Shown, title: str, text: str, *, warning: bool = False) -> None:
        self._drop_page()
        self.presented = shown
        self.view.show_page_notice(title, text, warning=warning)

    def _drop_page(self) -> None:
        """Forget the page on screen (a render still coming is dropped unless wanted)."""
        if self.page is not None or self._marks:
            self.page, self._page_key, self._marks = None, None, []
            self.view.clear_page()

    def _item_line(self, meeting: MeetingSnapshot) -> str:
        item = meeting.item(meeting.current_item_id) if meeting.current_item_id else None
        if item is None:
            return tr("item.none")
        return f"{item.number} · {item.title}" if item.number else item.title

    def _speaker_line(self, now: float) -> str:
        speech = self.floor.speaking if self.floor else None
        if speech is None:
            return tr("speaker.none")
        timer = speech_timer(speech, now - self._floor_at)
        return tr("page.speaking", name=speech.name, time=speech_clock(timer))

    def _page_box(self) -> tuple[int, int] | None:
        """The page area in device pixels; None until it is laid out."""
        canvas = self.view.presentation_page.canvas
        ratio = canvas.devicePixelRatioF()
        w, h = round(canvas.width() * ratio), round(canvas.height() * ratio)
        return (w, h) if min(w, h) >= MIN_PAGE_BOX_PX else None

    def _box_changed(self, _size: QSize) -> None:
        if self.view.presenting:
            self.refresh()

    def _drop_confidential(self) -> None:
        """The chair no longer allows confidential pages here (or the meeting closed): the
        display keeps no copy of one."""
        meeting = self.meeting
        if meeting is None or self.cache is None:
            return
        self.cache.confidential.wipe("the room display may no longer show confidential pages")
        for doc in meeting.documents:
            if doc.confidential:
                self.cache.partial_path(doc.sha256).unlink(missing_ok=True)

    def _cache(self) -> DocumentCache:
        if self.cache is None:
            self.cache = DocumentCache(self.settings.documents)
            # sealed with the key of an earlier run: nobody can open them any more
            self.cache.confidential.wipe("the room display started again")
        return self.cache

    def _start_fetch(self, doc: DocumentInfo) -> None:
        """Fetch ``doc`` into the display's cache in the background (once at a time)."""
        connection = self.connection
        if doc.sha256 in self._fetching or connection is None or not self._may_show(doc):
            return
        fetcher = self.fetcher
        if fetcher is None or fetcher.endpoint != connection.endpoint:
            if fetcher is not None:
                self._spawn(fetcher.close())
            fetcher = DocumentFetcher(connection.endpoint, self.settings.credentials, self._cache())
            self.fetcher = fetcher
        self._fetching.add(doc.sha256)

        async def fetch() -> None:
            try:
                # A confidential copy (the chair allowed it) is kept sealed with a key
                # this process holds in memory only, as a tablet keeps a member's.
                await fetch_with_retry(
                    fetcher,
                    doc,
                    attempts=FETCH_ATTEMPTS,
                    key=self._seal_key if doc.confidential else None,
                    member=DISPLAY_SHELF if doc.confidential else None,
                )
            except DocumentUnavailable as exc:
                if exc.code == ErrorCode.FORBIDDEN.value:
                    log.info("the room does not give %s to this display", doc.sha256[:12])
                    self._forbidden.add(doc.sha256)
                    self._cache().partial_path(doc.sha256).unlink(missing_ok=True)
                else:
                    log.warning("%s", exc)
                    self._fetch_failed[doc.sha256] = str(exc)
            except (ConnectError, TransferInterrupted, OSError) as exc:
                log.warning("could not fetch %s: %s", doc.title, exc)
                self._fetch_failed[doc.sha256] = str(exc)
            finally:
                self._fetching.discard(doc.sha256)
            self.refresh()

        self._spawn(fetch())

    def _start_render(
        self, key: tuple[str, int, int, int], path: Path, seal_key: bytes | None
    ) -> None:
        if key in self._rendering:
            return
        self._rendering.add(key)
        _, page_index, width, height = key

        async def render() -> None:
            try:
                page = await self.renderer.render(path, page_index, width, height, seal_key)
            except PageRenderError as exc:
                log.warning("%s", exc)
                self._render_failed[key] = str(exc)
                if self._wanted == key:
                    self.refresh()
                return
            finally:
                self._rendering.discard(key)
            if self._wanted != key:
                return  # the chair moved on, or the page gave way: not this page any more
            image = QImage(
                page.samples, page.width, page.height, page.stride, QImage.Format.Format_RGB888
            ).copy()  # owns its pixels
            # the view holds the pixels; keep the page's size and rotation only
            self.page, self._page_key, self._marks = replace(page, samples=b""), key, []
            self.view.set_page(image, page.page_width, page.page_height)
            self.view.set_presenter_ink([])
            self.refresh()

        self._spawn(render())

    def _spawn(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(job)
        self._page_tasks.add(task)
        task.add_done_callback(self._page_tasks.discard)

    def _meeting_line(self, meeting: MeetingSnapshot) -> str:
        try:
            day = long_date(date.fromisoformat(meeting.date))
        except ValueError:
            day = meeting.date
        return tr("meeting.line", date=day, location=meeting.location) if meeting.location else day

    def _show_item(self, meeting: MeetingSnapshot, server_now: datetime | None) -> None:
        item = meeting.item(meeting.current_item_id) if meeting.current_item_id else None
        if item is None:
            self.view.set_no_item(tr("item.none"))
            return
        self.view.set_item(item.number, item.title)
        started = parse_time(meeting.current_started_at) if meeting.current_started_at else None
        timer = item_timer(item, started, server_now)
        if timer.planned is None:
            self.view.set_item_timer(duration(timer.elapsed), tr("item.no_plan"), timer.level)
            return
        text = tr("item.timer", elapsed=duration(timer.elapsed), planned=duration(timer.planned))
        remaining = timer.remaining or 0.0
        if timer.level is Level.OVER:
            detail = tr("item.over", over=duration(-remaining))
        else:
            detail = tr("item.left", left=duration(remaining, up=True))
        self.view.set_item_timer(text, detail, timer.level)

    def _show_floor(self, meeting: MeetingSnapshot, now: float) -> None:
        floor = self.floor
        speech = floor.speaking if floor else None
        if speech is None:
            self.view.set_no_speaker(tr("speaker.none"))
        else:
            member = meeting.member(speech.delegate_id)
            details = []
            if member is not None and member.seat_id:
                details.append(tr("speaker.seat", seat=member.seat_id))
            if member is not None and member.group:
                details.append(member.group)
            self.view.set_speaker(
                speech.name,
                " · ".join(details),
                point_of_order=speech.kind is FloorKind.POINT_OF_ORDER,
            )
            timer = speech_timer(speech, now - self._floor_at)
            if timer.remaining is None:
                caption, level = tr("speaker.no_limit"), Level.NORMAL
            elif timer.time_up:
                caption, level = tr("speaker.time_up"), Level.OVER
            else:
                caption, level = tr("speaker.time_left"), timer.level
            self.view.set_countdown(speech_clock(timer), caption, level)
        queue = floor.queue if floor else ()
        lines = [
            QueueLine(e.name, e.seat_id or "", e.kind is FloorKind.POINT_OF_ORDER)
            for e in queue[: len(self.view.queue_rows)]
        ]
        hidden = len(queue) - len(lines)
        self.view.set_queue(
            lines, tr("queue.more", count=hidden) if hidden > 0 else "", tr("queue.empty")
        )

    def _show_attendance(self) -> None:
        state = self.attendance
        if state is None:
            self.view.clear_attendance()
            return
        present = tr("attendance.present", present=state.present_members, members=state.members)
        by_proxy = state.represented - state.present_members
        proxies = tr("attendance.proxies", count=by_proxy) if by_proxy > 0 else ""
        if state.rule is QuorumRule.NONE or state.required <= 0:
            self.view.set_attendance(present, "", Tone.GOOD, proxies)
        elif state.quorum_met:
            quorum = tr("attendance.quorum_met", required=state.required)
            self.view.set_attendance(present, quorum, Tone.GOOD, proxies)
        else:
            quorum = tr("attendance.quorum_not_met", required=state.required)
            self.view.set_attendance(present, quorum, Tone.BAD, proxies)

    def _pick_poll(self, meeting: MeetingSnapshot, server_now: datetime | None) -> ShownPoll | None:
        polls = self.polls
        if polls is None:
            return None
        changed = self._item_changed
        if meeting.current_started_at:
            started = parse_time(meeting.current_started_at)
            changed = started if changed is None else max(changed, started)
        return shown_poll(
            polls.polls,
            polls.results,
            now=server_now,
            item_changed=changed,
            keep_s=self.settings.result_keep_s,
        )

    def _show_poll(self, meeting: MeetingSnapshot, server_now: datetime | None) -> None:
        shown = self.shown
        if shown is None:
            self.view.show_floor()
        elif shown.stage is Stage.RESULT and shown.result is not None:
            result, names = result_lines(meeting, shown.poll, shown.result)
            context = self._context(meeting, shown.poll)
            self.view.show_result(replace(result, context=context), names)
        else:
            vote = self._vote_lines(shown, server_now)
            self.view.show_vote(replace(vote, context=self._context(meeting, shown.poll)))

    def _context(self, meeting: MeetingSnapshot, poll: Poll) -> str:
        """What the vote is about in a line: its agenda item, else the current one."""
        item_id = poll.spec.item_id or meeting.current_item_id
        item = meeting.item(item_id) if item_id else None
        if item is None:
            return ""
        return f"{item.number} · {item.title}" if item.number else item.title

    def _vote_lines(self, shown: ShownPoll, server_now: datetime | None) -> VoteLines:
        poll = shown.poll
        latest = self.progress.get(poll.id)
        voted = max(poll.voted, latest.voted if latest is not None else 0)  # never goes down
        eligible = latest.eligible if latest is not None else 0
        if eligible <= 0 and self.attendance is not None:
            eligible = self.attendance.represented  # until the room counts for this poll
        if eligible > 0:
            progress = trn("vote.progress", voted, eligible=eligible)
        else:
            progress = trn("vote.progress_unknown", voted)
        fraction = voted / eligible if eligible > 0 else 0.0
        if shown.stage is Stage.COUNTING:
            return VoteLines(
                poll.spec.title,
                poll_kinds(poll),
                tr("vote.counting"),
                Tone.NOTICE,
                progress,
                fraction,
            )
        countdown, caption, level = "", "", Level.NORMAL
        if poll.closes_at and server_now is not None:
            timer = close_countdown(poll.closes_at, server_now)
            countdown = duration(timer.remaining, up=True)
            caption = tr("vote.time_left") if timer.remaining > 0 else tr("vote.closing")
            level = timer.level
        return VoteLines(
            poll.spec.title,
            poll_kinds(poll),
            tr("vote.open"),
            Tone.GOOD,
            progress,
            fraction,
            countdown=countdown,
            caption=caption,
            level=level,
        )

    def _show_announcement(self, now: float) -> None:
        """The newer of the chair's last announcement and the room's last notice, in the
        same place: large while new, then a quiet line, then gone."""
        notice = self.notice
        if notice is not None and (
            self.announcement is None or self._notice_at >= self._announcement_at
        ):
            age = now - self._notice_at
            if age <= self.settings.announcement_keep_s:
                key, arguments = notice_text(notice)
                count = arguments.pop("n", None)
                if isinstance(count, int):
                    text = trn(key, count, **arguments)
                else:
                    text = tr(key, **arguments)
                meta = tr("notice.meta", time=_local_time(parse_time(notice.at)))
                self.view.set_announcement(
                    text,
                    meta,
                    prominent=age <= self.settings.announcement_prominent_s,
                    heading=tr("notice.heading"),
                )
                return
        message = self.announcement
        age = now - self._announcement_at
        if message is None or age > self.settings.announcement_keep_s:
            self.view.clear_announcement()
            return
        meta = tr(
            "announcement.meta", sender=message.sender, time=_local_time(parse_time(message.at))
        )
        self.view.set_announcement(
            message.text, meta, prominent=age <= self.settings.announcement_prominent_s
        )

    def _show_connection(self) -> None:
        connection = self.connection
        room = self._room_name()
        if connection is None:
            if self.settings.direct is None and self.settings.room_id:
                self.view.set_connection(
                    "searching", tr("connection.searching", room=self.settings.room_id)
                )
            else:
                self.view.set_connection("stopped", tr("connection.stopped"))
            return
        phase = connection.status.phase
        if phase is Phase.CONNECTED:
            self.view.set_connection("connected", tr("connection.connected", room=room))
        elif phase in (Phase.CONNECTING, Phase.RETRYING) and not self._ever_connected:
            text = tr("connection.connecting", room=room)
            if self._failure:
                text += f" · {self._failure}"
            self.view.set_connection("connecting", text)
        elif phase in (Phase.CONNECTING, Phase.RETRYING):
            parts = [tr("connection.reconnecting", room=room)]
            if self._last_update is not None:
                parts.append(tr("connection.last_update", time=_local_time(self._last_update)))
            if self._failure:
                parts.append(self._failure)  # for IT staff; English like the logs
            self.view.set_connection("reconnecting", " · ".join(parts))
        else:
            self.view.set_connection("stopped", tr("connection.stopped"))

    def _show_pairing(self, server_now: datetime | None) -> bool:
        """Show the pairing code the chair sent, until it expires; False when there is none."""
        shown = self.pairing
        if shown is None:
            return False
        left = parse_time(shown.expires_at).timestamp() - (
            server_now.timestamp() if server_now is not None else time.time()
        )
        if left <= 0:
            self.pairing = None
            return False
        if shown.kind is DeviceKindName.DISPLAY:
            target, how = tr("pairing.for_display"), tr("pairing.how_display")
        elif shown.seat_id:
            target, how = tr("pairing.for_tablet_seat", seat=shown.seat_id), tr("pairing.how")
        else:
            target, how = tr("pairing.for_tablet"), tr("pairing.how")
        self.view.show_pairing(
            tr("pairing.heading").upper(),
            shown.code,
            target,
            tr("pairing.valid_for", time=duration(left, up=True)),
            how,
            shown.link,
        )
        return True

    def _show_setup(self) -> None:
        """Not enrolled: a full screen for IT staff, and why enrolling failed if it did."""
        room = self._enroll_room
        self.view.show_setup(
            room or tr("app.title"),
            tr("setup.title"),
            tr("setup.body", room=room) if room else tr("setup.body_no_room"),
            tr("setup.steps"),
            tr("setup.failed", reason=self._enroll_problem) if self._enroll_problem else "",
            tr("setup.where", directory=str(self.settings.credentials.directory)),
        )

    def _room_name(self) -> str:
        connection = self.connection
        if connection is None:
            return ""
        if connection.welcome is not None:
            return connection.welcome.room_name
        return connection.endpoint.room_name or connection.endpoint.hostname


def _local_time(moment: datetime) -> str:
    """A server time as this room's wall clock shows it (hours and minutes)."""
    return moment.astimezone().strftime("%H:%M")
