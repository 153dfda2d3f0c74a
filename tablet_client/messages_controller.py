"""Messages on the tablet: announcements and messages to this seat (the latest one stays
until dismissed), notices of late documents, and calls for service to the clerk."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from room_client.timers import parse_time
from room_protocol.live import Ack, Announcement, RequestService, ServiceKind
from room_protocol.messages import ErrorMessage, MeetingSnapshot, Message, Notice
from tablet_client.i18n import tr
from tablet_client.live_link import LiveLink
from tablet_client.views.main_window import MainWindow

CONFIRMATION_SHOWN_MS = 8_000


def local_clock(iso_time: str) -> str:
    """``HH:MM`` in the tablet's time zone for a time from the room."""
    return parse_time(iso_time).astimezone().strftime("%H:%M")


class MessagesController(QObject):
    document_requested = Signal(str)  # sha256 of a late document the delegate wants to open

    def __init__(
        self,
        window: MainWindow,
        link: LiveLink,
        meeting: Callable[[], MeetingSnapshot | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.link = link
        self._meeting = meeting
        self.latest: Announcement | None = None
        self.standing: Announcement | None = None  # the latest to everyone: on lock screens
        self._dismissed: set[str] = set()  # announcement ids; the room may repeat one
        self.dismissed_notices: set[str] = set()
        self.notice: Notice | None = None
        self._return_to: QWidget | None = None
        self._confirmation: tuple[str, dict[str, object]] | None = None
        self._confirmation_timer = QTimer(self)
        self._confirmation_timer.setSingleShot(True)
        self._confirmation_timer.setInterval(CONFIRMATION_SHOWN_MS)
        self._confirmation_timer.timeout.connect(self._hide_confirmation)

        window.announcement_strip.dismissed.connect(self._dismiss_announcement)
        window.notice_strip.dismissed.connect(self._dismiss_notice)
        window.notice_strip.action_requested.connect(self._open_notice)
        window.confirmation_strip.dismissed.connect(self._hide_confirmation)
        window.floor_bar.service_requested.connect(self.open_service)
        window.service_view.send_requested.connect(self.send_service)
        window.service_view.cancel_requested.connect(self._close_service)
        link.received.connect(self._receive)

    # --- announcements -----------------------------------------------------------------------

    def _receive(self, message: Message) -> None:
        if isinstance(message, Announcement):
            if message.to_seat is None:
                self.standing = message
                self._show_standing()
            if message.id in self._dismissed:
                return  # the room repeated it after a reconnect: read and put away already
            self.latest = message
            self._show_announcement()

    def _dismiss_announcement(self) -> None:
        if self.latest is not None:
            self._dismissed.add(self.latest.id)
        self.window.announcement_strip.hide()

    def _show_announcement(self) -> None:
        message = self.latest
        if message is None:
            return
        key = "message.to_seat" if message.to_seat else "message.announcement"
        self.window.announcement_strip.show_text(
            tr(key, sender=message.sender, time=local_clock(message.at), text=message.text),
            kind="personal" if message.to_seat else "info",
            dismissible=True,
        )

    def _show_standing(self) -> None:
        """The lock screen shows the room's latest announcement ("Lunch break until
        13:30"), dismissed or not; a message to this seat stays off it (others see it)."""
        message = self.standing
        self.window.lock_view.set_announcement(
            tr(
                "message.announcement",
                sender=message.sender,
                time=local_clock(message.at),
                text=message.text,
            )
            if message is not None
            else ""
        )

    # --- late documents -----------------------------------------------------------------------

    def meeting_changed(self) -> None:
        meeting = self._meeting()
        notices = (
            [n for n in meeting.notices if n.id not in self.dismissed_notices] if meeting else []
        )
        self.notice = notices[-1] if notices else None
        self._show_notice()

    def _show_notice(self) -> None:
        notice, meeting = self.notice, self._meeting()
        strip = self.window.notice_strip
        if notice is None or meeting is None:
            strip.hide()
            return
        doc = meeting.document(notice.sha256) if notice.sha256 else None
        if doc is None:
            strip.show_text(tr("notice.generic", text=notice.text), kind="notice", dismissible=True)
            return
        items = [
            f"{item.number} {item.title}"
            for _depth, item in meeting.walk()
            if doc.sha256 in item.documents
            and (notice.item_id is None or item.id == notice.item_id)
        ]
        strip.show_text(
            tr("notice.late_document", title=doc.title, items=", ".join(items) or "—"),
            kind="notice",
            action=tr("documents.open"),
            dismissible=True,
        )

    def _dismiss_notice(self) -> None:
        if self.notice is not None:
            self.dismissed_notices.add(self.notice.id)
        self.meeting_changed()

    def _open_notice(self) -> None:
        if self.notice is not None and self.notice.sha256:
            sha = self.notice.sha256
            self._dismiss_notice()
            self.document_requested.emit(sha)

    # --- service ----------------------------------------------------------------------------

    def open_service(self) -> None:
        current = self.window.screens.currentWidget()
        if current is not self.window.service_view:
            self._return_to = current
        self.window.service_view.reset()
        self.window.show_screen(self.window.service_view)

    def send_service(self) -> None:
        view = self.window.service_view
        kind, note = view.selected_kind(), view.note.text().strip()
        view.send.setEnabled(False)
        view.status.setText(tr("service.sending"))
        self.link.send(
            lambda op: RequestService(op, kind, note), lambda reply: self._sent(kind, reply)
        )

    def _sent(self, kind: ServiceKind, reply: Message) -> None:
        view = self.window.service_view
        view.send.setEnabled(True)
        if isinstance(reply, ErrorMessage):
            view.status.setText(tr("error.refused", reason=reply.message))
            return
        if isinstance(reply, Ack):
            self._close_service()
            self._confirmation = ("service.sent", {"kind": f"service.kind.{kind.value}"})
            self._show_confirmation()
            self._confirmation_timer.start()

    def _close_service(self) -> None:
        if self.window.screens.currentWidget() is self.window.service_view:
            target = self._return_to or self.window.agenda_view
            self.window.show_screen(target)

    def _show_confirmation(self) -> None:
        if self._confirmation is None:
            return
        key, arguments = self._confirmation
        kind = tr(str(arguments["kind"]))
        self.window.confirmation_strip.show_text(
            tr(key, kind=kind), kind="confirm", dismissible=True
        )

    def _hide_confirmation(self) -> None:
        self._confirmation = None
        self._confirmation_timer.stop()
        self.window.confirmation_strip.hide()

    def stop(self) -> None:
        self._confirmation_timer.stop()

    def retranslate(self) -> None:
        if not self.window.announcement_strip.isHidden():
            self._show_announcement()
        self._show_standing()
        self._show_notice()
        self._show_confirmation()
