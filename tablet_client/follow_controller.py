"""Follow the chair: a delegate's reader shows the chair's document and page (fetching the
document first if needed) until the delegate turns a page or opens something else; one
tap follows again. On the chair's tablet, "Follow me" sends every page turn to the room.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, SignalInstance

from room_protocol.live import (
    AllowConfidentialOnDisplay,
    Fit,
    Following,
    FollowState,
    SetFollow,
)
from room_protocol.messages import ErrorMessage, MeetingSnapshot, Message
from tablet_client.document_controller import DocumentController
from tablet_client.i18n import tr
from tablet_client.live_link import LiveLink
from tablet_client.session import FollowTracker
from tablet_client.views.main_window import MainWindow

log = logging.getLogger(__name__)


class Desk(Protocol):
    """What following needs of the tablet (the TabletController): its window and reader,
    the meeting, the document on screen, and fetching and opening a document."""

    window: MainWindow
    reader: DocumentController
    meeting: MeetingSnapshot | None
    showing: str | None  # sha256 of the document in the reader

    @property
    def browsing_started(self) -> SignalInstance: ...

    async def document_path(self, sha: str) -> Path: ...

    async def open_document(self, sha: str, page: int = 0, *, show: bool = True) -> None: ...


class FollowController(QObject):
    def __init__(self, tablet: Desk, link: LiveLink, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.tablet = tablet
        self.link = link
        self.window = tablet.window
        self.tracker = FollowTracker()
        self.follow_me = False
        self._wanted: FollowState | None = None
        self._take_screen = False
        self._applying: asyncio.Task[None] | None = None
        self._last_sent: tuple[str, int, str] | None = None

        view = self.window.document_view
        for signal in (
            view.next_requested,
            view.previous_requested,
            view.first_requested,
            view.last_requested,
            view.page_requested,
            view.fit_mode_changed,
            view.back_requested,
        ):
            signal.connect(self._browsed)
        tablet.browsing_started.connect(self._browsed)
        self.window.follow_strip.action_requested.connect(self._strip_action)
        agenda_control = self.window.chair_console_view.agenda_control
        agenda_control.follow_me_toggled.connect(self.set_follow_me)
        agenda_control.display_confidential_toggled.connect(self.allow_confidential_on_display)
        self._display_allowed = False  # as the room last said
        self.window.screens.currentChanged.connect(lambda _index: self._show_strip())
        tablet.reader.page_changed.connect(lambda _page: self._send_position())
        tablet.reader.page_changed.connect(lambda _page: self._show_reading_note())
        view.fit_mode_changed.connect(lambda _mode: self._send_position())
        link.received.connect(self._receive)
        link.identity_changed.connect(self._identity_changed)

    @property
    def following(self) -> bool:
        return self.tracker.following

    # --- delegates: follow, leave, rejoin ----------------------------------------------------

    def _receive(self, message: Message) -> None:
        if not isinstance(message, FollowState):
            return
        self._display_allowed = message.confidential_on_display
        self.window.chair_console_view.agenda_control.set_display_confidential(
            message.confidential_on_display
        )
        show = self.tracker.receive(message)
        if show and not self.link.presiding:
            self._apply(message, take_screen=self._may_take_screen())
        self._show_strip()

    def _may_take_screen(self) -> bool:
        screen = self.window.screens.currentWidget()
        return screen in (self.window.agenda_view, self.window.document_view)

    def leave(self) -> None:
        if not self.tracker.following or self.link.presiding:
            return
        self.tracker.leave()
        self._wanted = None
        self.link.send(lambda op: Following(op, False))
        self._show_strip()

    def rejoin(self) -> None:
        self.tracker.rejoin()
        self._take_screen = True
        self.link.send(lambda op: Following(op, True), self._rejoin_answered)
        self._show_strip()

    def _rejoin_answered(self, reply: Message) -> None:
        if isinstance(reply, ErrorMessage):
            log.warning("could not follow the chair again: %s", reply.message)

    def _browsed(self, *_args: object) -> None:
        self.leave()

    def _strip_action(self) -> None:
        if self.link.presiding:
            self.set_follow_me(not self.follow_me)
        elif self.tracker.following:
            self.leave()
        else:
            self.rejoin()

    def _identity_changed(self) -> None:
        if self.link.presiding:
            self._wanted = None
        else:
            self.set_follow_me(False)
            latest = self.tracker.latest
            if self.tracker.following and latest is not None and self.link.me is not None:
                self._apply(latest, take_screen=self._may_take_screen())
        self._show_strip()

    def _apply(self, state: FollowState, *, take_screen: bool) -> None:
        """Show ``state``'s page; only the newest wanted state is shown after a download."""
        self._wanted = state
        self._take_screen = self._take_screen or take_screen
        if self._applying is None or self._applying.done():
            self._applying = asyncio.ensure_future(self._apply_latest())

    async def _apply_latest(self) -> None:
        tablet, reader = self.tablet, self.tablet.reader
        while self._wanted is not None:
            state, self._wanted = self._wanted, None
            take_screen, self._take_screen = self._take_screen, False
            if state.sha256 is None or not self.tracker.following:
                continue
            if reader.fit_mode != state.fit.value:
                reader.set_fit_mode(state.fit.value)
            if tablet.showing == state.sha256 and reader.page_count:
                reader.go_to(state.page)
                if take_screen:
                    self.window.show_screen(self.window.document_view)
                continue
            if tablet.meeting is None or tablet.meeting.document(state.sha256) is None:
                continue
            try:
                await tablet.document_path(state.sha256)  # downloads it first if needed
            except Exception as exc:  # the download loop reports and retries
                log.warning("cannot follow the chair into %s: %s", state.sha256[:12], exc)
                continue
            if self._wanted is not None or not self.tracker.following:
                continue  # a newer move (or leaving) came in during the download
            await tablet.open_document(state.sha256, page=state.page, show=take_screen)

    # --- chair: follow me -------------------------------------------------------------------

    def allow_confidential_on_display(self, on: bool) -> None:
        """The chair lets the room display show confidential pages, or stops it; the
        button shows what the room says (its next follow.state), not the tap."""

        def answered(reply: Message) -> None:
            if isinstance(reply, ErrorMessage):
                log.warning("the room display setting was refused: %s", reply.message)
                self.window.chair_console_view.agenda_control.set_display_confidential(
                    self._display_allowed
                )

        self.link.send(lambda op: AllowConfidentialOnDisplay(op, on), answered)

    def set_follow_me(self, on: bool) -> None:
        on = on and self.link.may(SetFollow)
        self.follow_me = on
        self._last_sent = None
        self.window.chair_console_view.agenda_control.set_follow_me(on)
        self._send_position()
        self._show_strip()

    def _send_position(self) -> None:
        sha = self.tablet.showing
        reader = self.tablet.reader
        if not self.follow_me or sha is None or not reader.page_count:
            return
        position = (sha, reader.current_page, reader.fit_mode)
        if position == self._last_sent:
            return
        self._last_sent = position
        self.link.send(lambda op: SetFollow(op, sha, position[1], Fit(position[2])))

    # --- the strip ---------------------------------------------------------------------------

    def _show_strip(self) -> None:
        strip = self.window.follow_strip
        screen = self.window.screens.currentWidget()
        on_reader = screen is self.window.document_view
        if self.link.connection is None or not (on_reader or screen is self.window.agenda_view):
            strip.hide()
        elif self.link.presiding:
            if not (on_reader and self.link.may(SetFollow)):
                strip.hide()
            elif self.follow_me:
                strip.show_text(
                    tr("follow.me_on"), kind="following", action=tr("follow.me_turn_off")
                )
            else:
                strip.show_text(
                    tr("follow.me_off"), kind="browsing", action=tr("follow.me_turn_on")
                )
        elif self.tracker.following:
            latest = self.tracker.latest
            shown = latest is not None and latest.sha256 is not None
            text = tr("follow.following" if shown else "follow.waiting")
            strip.show_text(text, kind="following", action=tr("follow.leave"))
        else:
            strip.show_text(tr("follow.browsing"), kind="browsing", action=tr("follow.rejoin"))

        self._show_reading_note()

    def _show_reading_note(self) -> None:
        """What the reader's full-screen strip says: whose page this is."""
        view = self.window.document_view
        reader = self.tablet.reader
        if self.link.presiding:
            view.set_follow_note(tr("follow.me_on" if self.follow_me else "follow.me_off"))
        elif self.link.connection is not None and self.tracker.following:
            latest = self.tracker.latest
            shown = latest is not None and latest.sha256 is not None and reader.page_count > 0
            page = reader.current_page + 1
            view.set_follow_note(
                tr("viewer.following_page", page=page) if shown else tr("follow.waiting")
            )
        else:
            view.set_follow_note(tr("viewer.reading_alone"))

    def retranslate(self) -> None:
        self._show_strip()
        self.window.chair_console_view.agenda_control.set_follow_me(self.follow_me)
