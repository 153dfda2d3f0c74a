"""Enrolling this tablet in a room: the pairing code shown by the chair console, the room
display or IT staff's ``room-server enroll``."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tablet_client.i18n import tr
from tablet_client.views.style import named

CODE_FONT_PX = 34  # the code is read off another screen: large, monospaced, spaced out


class EnrollView(QWidget):
    enroll_requested = Signal(str)  # the code as typed (or a scanned link)
    back_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("enroll_view")
        self._heading = named(QLabel(), "heading")
        self._explain = named(QLabel(), "subheading")
        self._explain.setWordWrap(True)
        self._room = named(QLabel(), "enroll_room")
        self.code = named(QLineEdit(), "pairing_code")
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPixelSize(CODE_FONT_PX)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 3)
        self.code.setFont(font)
        self.code.setMinimumHeight(CODE_FONT_PX * 2)
        self.code.setMaxLength(300)  # a scanned link is longer than a typed code
        self.code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code.returnPressed.connect(self._submit)
        self.status = named(QLabel(), "enroll_status")
        self.status.setWordWrap(True)
        self._enroll = named(QPushButton(), "primary")
        self._enroll.setMinimumHeight(56)
        self._enroll.clicked.connect(self._submit)
        self._back = QPushButton()
        self._back.setMinimumHeight(56)
        self._back.clicked.connect(self.back_requested)

        buttons = QHBoxLayout()
        buttons.addWidget(self._back)
        buttons.addStretch(1)
        buttons.addWidget(self._enroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 32, 48, 32)
        layout.setSpacing(16)
        layout.addWidget(self._heading)
        layout.addWidget(self._room)
        layout.addWidget(self._explain)
        layout.addWidget(self.code)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self._room_name = ""
        self.retranslate()

    def show_room(self, room_name: str, code: str = "") -> None:
        self._room_name = room_name
        self._room.setText(tr("enroll.room", room=room_name))
        if code:
            self.code.setText(code)
        self.set_busy(False)
        self.status.setText("")

    def set_busy(self, busy: bool) -> None:
        self._enroll.setEnabled(not busy)
        self.code.setReadOnly(busy)
        if busy:
            self.status.setText(tr("enroll.working"))

    def set_error(self, text: str) -> None:
        self.set_busy(False)
        self.status.setText(text)

    def _submit(self) -> None:
        if self.code.text().strip():
            self.enroll_requested.emit(self.code.text())

    def retranslate(self) -> None:
        self._heading.setText(tr("enroll.heading"))
        self._explain.setText(tr("enroll.explain"))
        self.code.setPlaceholderText("XXXX-XXXX-XXXX-XXXX")
        self._enroll.setText(tr("enroll.enroll"))
        self._back.setText(tr("enroll.back"))
        if self._room_name:
            self._room.setText(tr("enroll.room", room=self._room_name))
