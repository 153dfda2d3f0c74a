"""Closing the meeting on the chair console: the "Close meeting" button, the state of the
meeting, and the record panel (how the build of the record goes, then whether the archive
has it). Layout only: the ClosingController fills it and acts on its signal."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tablet_client.i18n import tr
from tablet_client.views.style import named


class MeetingCloseView(QFrame):
    close_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("meeting_close_view")
        self.state = named(QLabel(), "meeting_close_state")
        self.state.setWordWrap(True)
        self.close_meeting = named(QPushButton(), "close_meeting")
        self.close_meeting.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.close_meeting.clicked.connect(self.close_requested)

        # The record panel: the build's progress, then (later) the upload's state.
        self.record_panel = named(QFrame(), "record_panel")
        self.record_heading = named(QLabel(), "record_heading")
        self.record_progress = named(QProgressBar(), "record_progress")
        self.record_progress.setTextVisible(True)
        self.record_text = named(QLabel(), "record_text")
        self.record_text.setWordWrap(True)
        # Filled by the outbox (uploaded / waiting for the archive) once it reports.
        self.upload_state = named(QLabel(), "record_upload_state")
        self.upload_state.setWordWrap(True)
        self.upload_state.hide()
        panel = QVBoxLayout(self.record_panel)
        panel.setContentsMargins(12, 8, 12, 8)
        panel.setSpacing(4)
        panel.addWidget(self.record_heading)
        panel.addWidget(self.record_progress)
        panel.addWidget(self.record_text)
        panel.addWidget(self.upload_state)
        self.record_panel.hide()

        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.state, 1)
        row.addWidget(self.close_meeting)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.setSpacing(6)
        layout.addLayout(row)
        layout.addWidget(self.record_panel)
        self.setStyleSheet(
            "QPushButton#close_meeting { background: #8a1c1c; color: white; font-weight: 700;"
            " border-radius: 6px; min-height: 40px; padding: 2px 20px; }"
            " QPushButton#close_meeting:disabled { background: #c9ccd1; color: #5c6370; }"
            " QLabel#meeting_close_state { font-size: 16px; font-weight: 600; }"
            " QFrame#record_panel { background: #f1f3f6; border: 1px solid #d5d9df;"
            " border-radius: 8px; }"
            " QLabel#record_heading { font-size: 16px; font-weight: 700; }"
            " QProgressBar#record_progress { min-height: 22px; }"
        )
        self.retranslate()

    def show_open(self, may_close: bool) -> None:
        self.state.setText("")
        self.close_meeting.setVisible(may_close)
        self.close_meeting.setEnabled(may_close)

    def show_closed(self, text: str) -> None:
        self.state.setText(text)
        self.close_meeting.hide()

    def show_record(self, done: int, total: int, text: str, *, failed: bool = False) -> None:
        self.record_panel.show()
        self.record_progress.setRange(0, max(1, total))
        self.record_progress.setValue(max(0, min(done, total)))
        self.record_text.setText(text)
        self.record_text.setStyleSheet("color: #b00020;" if failed else "")

    def show_upload(self, text: str) -> None:
        self.upload_state.setText(text)
        self.upload_state.setVisible(bool(text))

    def retranslate(self) -> None:
        self.close_meeting.setText(tr("closing.close_meeting"))
        self.record_heading.setText(tr("closing.record_heading"))


class CloseMeetingDialog(QDialog):
    """Asks before the meeting is closed; names what is still open. Not modal in the Qt
    sense (``open()``): the console keeps running behind it."""

    confirmed = Signal(bool)  # force: close although something is open

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("close_meeting_dialog")
        self.setModal(True)
        self.question = named(QLabel(), "close_question")
        self.question.setWordWrap(True)
        self.still_open = named(QLabel(), "close_still_open")
        self.still_open.setWordWrap(True)
        self.still_open.setTextFormat(Qt.TextFormat.PlainText)
        self.close_anyway = named(QPushButton(), "close_anyway")
        self.cancel = named(QPushButton(), "close_cancel")
        self.close_anyway.clicked.connect(self._confirm)
        self.cancel.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        # The safe choice is the primary button, at the right where a finger goes first.
        buttons.addWidget(self.close_anyway)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.setSpacing(12)
        layout.addWidget(self.question)
        layout.addWidget(self.still_open)
        layout.addLayout(buttons)
        self.setMinimumWidth(520)
        self.setStyleSheet(
            "QLabel#close_question { font-size: 18px; font-weight: 700; }"
            " QLabel#close_still_open { font-size: 16px; }"
            " QPushButton { min-height: 48px; padding: 2px 20px; font-size: 16px; }"
            " QPushButton#close_anyway { background: white; color: #8a1c1c; font-weight: 600;"
            " border: 2px solid #8a1c1c; border-radius: 6px; }"
            " QPushButton#close_cancel { background: #1f5fae; color: white; font-weight: 700;"
            " border-radius: 6px; }"
        )
        self._force = False

    def ask(self, question: str, still_open: list[str], *, action: str, force: bool) -> None:
        """Show ``question``, the list of what is open, and ``action`` (empty: only
        Cancel, e.g. while a poll is open); confirming emits ``confirmed(force)``."""
        self._force = force
        self.question.setText(question)
        self.still_open.setText("\n".join(f"•  {line}" for line in still_open))
        self.still_open.setVisible(bool(still_open))
        self.close_anyway.setText(action)
        self.close_anyway.setVisible(bool(action))
        self.cancel.setText(tr("closing.cancel"))
        self.open()

    def _confirm(self) -> None:
        self.accept()
        self.confirmed.emit(self._force)
