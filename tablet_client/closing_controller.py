"""Closing the meeting: the chair's button and confirmation, the record's progress for
the chair and clerks, and "the meeting is closed" on every tablet."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject

from room_protocol.errors import ErrorCode
from room_protocol.live import CloseBlocked, CloseMeeting
from room_protocol.messages import ErrorMessage, MeetingSnapshot, Message
from room_protocol.records import RecordProgress, RecordState, RecordUpload, UploadState
from tablet_client.i18n import tr, trn
from tablet_client.live_link import LiveLink
from tablet_client.messages_controller import local_clock
from tablet_client.views.main_window import MainWindow
from tablet_client.views.meeting_close_view import CloseMeetingDialog


def still_open_lines(blocked: CloseBlocked) -> list[str]:
    """What is still open, one line each, in the tablet's language."""
    lines = [tr("closing.open_poll", title=title) for title in blocked.polls]
    if blocked.speaker:
        lines.append(tr("closing.speaker", name=blocked.speaker))
    if blocked.queue:
        lines.append(trn("closing.queue", blocked.queue))
    if blocked.service_calls:
        lines.append(trn("closing.service_calls", blocked.service_calls))
    return lines


def upload_text(upload: RecordUpload) -> str:
    """Where the record is on its way to the archive, in the tablet's language."""
    if upload.state is UploadState.UPLOADED:
        return tr("closing.upload_done")
    if upload.state is UploadState.NOT_CONFIGURED:
        return tr("closing.upload_none")
    if upload.state is UploadState.RETRYING:
        minutes = max(1, -(-upload.retry_in_s // 60))
        return tr("closing.upload_retrying", reason=upload.error, minutes=minutes)
    if upload.state is UploadState.UPLOADING:
        percent = 100 * upload.bytes_done // upload.bytes_total if upload.bytes_total else 0
        return tr(
            "closing.upload_sending",
            done=upload.files_done,
            total=upload.files_total,
            percent=percent,
        )
    return tr("closing.upload_queued")


class ClosingController(QObject):
    def __init__(
        self,
        window: MainWindow,
        link: LiveLink,
        meeting: Callable[[], MeetingSnapshot | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.view = window.chair_console_view.closing
        self.dialog = CloseMeetingDialog(window)
        self.link = link
        self._meeting = meeting
        self.blocked: dict[str, CloseBlocked] = {}  # by op_id, until the refusal comes
        self.record: RecordProgress | None = None
        self.upload: RecordUpload | None = None
        # What the dialog asks, as keys: asked again in the new language on a switch.
        self._asked: tuple[str, CloseBlocked | None, str, bool] | None = None
        self.view.close_requested.connect(self.ask)
        self.dialog.confirmed.connect(self.close)
        link.received.connect(self._receive)
        link.identity_changed.connect(self.meeting_changed)

    # --- state in --------------------------------------------------------------------------

    def _receive(self, message: Message) -> None:
        if isinstance(message, CloseBlocked):
            self.blocked[message.ref] = message
        elif isinstance(message, RecordProgress):
            meeting = self._meeting()
            if meeting is None or message.meeting_id == meeting.meeting_id:
                self.record = message
                self._show_record()
        elif isinstance(message, RecordUpload):
            meeting = self._meeting()
            if meeting is None or message.meeting_id == meeting.meeting_id:
                self.upload = message
                self._show_record()

    def meeting_changed(self) -> None:
        meeting = self._meeting()
        if self.record is not None and (
            meeting is None or meeting.meeting_id != self.record.meeting_id
        ):
            self.record = None
            self.view.record_panel.hide()
        if self.upload is not None and (
            meeting is None or meeting.meeting_id != self.upload.meeting_id
        ):
            self.upload = None
        closed = meeting is not None and meeting.closed_at is not None
        strip = self.window.closed_strip
        self.window.floor_bar.setEnabled(not closed)  # nobody asks for the floor any more
        if closed:
            assert meeting is not None and meeting.closed_at is not None
            text = tr("closing.closed", time=local_clock(meeting.closed_at))
            strip.show_text(text, kind="closed")
            self.view.show_closed(text)
            if self.dialog.isVisible():
                self.dialog.reject()
        else:
            strip.hide()
            self.view.show_open(self.link.may(CloseMeeting) and meeting is not None)
        self._show_record()

    # --- the chair closes --------------------------------------------------------------------

    def ask(self) -> None:
        """The button: ask first (closing cannot be undone)."""
        self._ask("closing.question", None, "closing.confirm", force=False)

    def _ask(
        self, question: str, blocked: CloseBlocked | None, action: str, *, force: bool
    ) -> None:
        self._asked = (question, blocked, action, force)
        lines = still_open_lines(blocked) if blocked is not None else []
        self.dialog.ask(tr(question), lines, action=tr(action) if action else "", force=force)

    def close(self, force: bool) -> None:
        op_ids: list[str] = []

        def make(op_id: str) -> CloseMeeting:
            op_ids.append(op_id)
            return CloseMeeting(op_id, force=force)

        def answered(reply: Message) -> None:
            blocked = self.blocked.pop(op_ids[0], None) if op_ids else None
            if not isinstance(reply, ErrorMessage):
                return  # meeting.state with closed_at follows
            if reply.code == ErrorCode.STILL_OPEN.value and blocked is not None:
                if blocked.forcible:
                    self._ask("closing.still_open", blocked, "closing.close_anyway", force=True)
                else:
                    self._ask("closing.close_poll_first", blocked, "", force=False)
            elif reply.code != ErrorCode.MEETING_CLOSED.value:
                self.view.state.setText(tr("error.refused", reason=reply.message))

        self.link.send(make, answered)

    # --- the record ----------------------------------------------------------------------------

    def _show_record(self) -> None:
        record = self.record
        if record is None or not self.link.presiding:
            self.view.record_panel.hide()
            return
        if record.state is RecordState.SEALED:
            text = tr("closing.record_sealed")
        elif record.state is RecordState.FAILED:
            text = tr("closing.record_failed", reason=record.text)
        else:
            text = tr("closing.record_building", stage=record.stage, what=record.text)
        self.view.show_record(
            record.done, record.total, text, failed=record.state is RecordState.FAILED
        )
        self.view.show_upload(upload_text(self.upload) if self.upload is not None else "")

    def retranslate(self) -> None:
        self.view.retranslate()
        self.meeting_changed()
        if self.dialog.isVisible() and self._asked is not None:
            question, blocked, action, force = self._asked
            self._ask(question, blocked, action, force=force)
