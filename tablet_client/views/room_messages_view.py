"""The messages tab of the chair's console: an announcement to the room, a message to one
seat, and locking the seat screens. Layout only: the ChairController fills it and acts
on its signals."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from tablet_client.i18n import tr
from tablet_client.views.style import console_button, named

MESSAGE_MAX_CHARS = 280


class RoomMessagesView(QWidget):
    announce_requested = Signal()
    seat_message_requested = Signal()
    lock_requested = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("room_messages_view")
        self._announce_label = QLabel()
        self.announcement = named(QLineEdit(), "announcement_text")
        self.announcement.setMaxLength(MESSAGE_MAX_CHARS)
        self.announcement.setMinimumHeight(44)
        self.announce = console_button("announce")
        self.announce.clicked.connect(self.announce_requested)
        self._seat_label = QLabel()
        self.seat = named(QComboBox(), "message_seat")
        self.seat.setMinimumHeight(44)
        self.seat_text = named(QLineEdit(), "seat_message_text")
        self.seat_text.setMaxLength(MESSAGE_MAX_CHARS)
        self.seat_text.setMinimumHeight(44)
        self.send_to_seat = console_button("send_to_seat")
        self.send_to_seat.clicked.connect(self.seat_message_requested)
        seat_row = QHBoxLayout()
        seat_row.addWidget(self.seat)
        seat_row.addWidget(self.seat_text, 1)
        self._screens_label = QLabel()
        self.lock = console_button("lock_screens")
        self.unlock = console_button("unlock_screens")
        self.lock.clicked.connect(lambda: self.lock_requested.emit(True))
        self.unlock.clicked.connect(lambda: self.lock_requested.emit(False))
        lock_row = QHBoxLayout()
        lock_row.addWidget(self.lock)
        lock_row.addWidget(self.unlock)
        self.message_status = named(QLabel(), "message_status")
        self.message_status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self._announce_label)
        layout.addWidget(self.announcement)
        layout.addWidget(self.announce, 0, Qt.AlignmentFlag.AlignRight)
        layout.addSpacing(12)
        layout.addWidget(self._seat_label)
        layout.addLayout(seat_row)
        layout.addWidget(self.send_to_seat, 0, Qt.AlignmentFlag.AlignRight)
        layout.addSpacing(12)
        layout.addWidget(self._screens_label)
        layout.addLayout(lock_row)
        layout.addWidget(self.message_status)
        layout.addStretch(1)

    def set_seats(self, seats: list[tuple[str, str]]) -> None:
        chosen = self.seat.currentData()
        self.seat.clear()
        for seat_id, label in seats:
            self.seat.addItem(label, seat_id)
        index = self.seat.findData(chosen)
        if index >= 0:
            self.seat.setCurrentIndex(index)

    def selected_seat(self) -> str | None:
        data = self.seat.currentData()
        return None if data is None else str(data)

    def retranslate(self) -> None:
        self._announce_label.setText(tr("console.announce_label"))
        self.announce.setText(tr("console.announce"))
        self._seat_label.setText(tr("console.seat_label"))
        self.send_to_seat.setText(tr("console.send_to_seat"))
        self._screens_label.setText(tr("console.screens_label"))
        self.lock.setText(tr("console.lock"))
        self.unlock.setText(tr("console.unlock"))
