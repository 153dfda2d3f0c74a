"""The sign-in screen: choose your name, type your PIN, or hold your badge to the reader.

Every key typed on this screen is passed on (``key_typed``), so a badge reader that
types like a keyboard works wherever the screen has focus; nothing here takes focus
from it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tablet_client.i18n import tr
from tablet_client.views.pin_pad import PinPad
from tablet_client.views.style import named

MEMBER_KEY = Qt.ItemDataRole.UserRole
_ENTER_KEYS = frozenset({Qt.Key.Key_Return, Qt.Key.Key_Enter})


class SignInView(QWidget):
    submit_requested = Signal()
    key_typed = Signal(str)  # printable text of one key
    enter_pressed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sign_in_view")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._heading = named(QLabel(), "heading")
        self._seat = named(QLabel(), "subheading")
        self._who = QLabel()
        self._who.setObjectName("section")
        self.members = named(QListWidget(), "members")
        self.members.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.members.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._pin_label = QLabel()
        self._pin_label.setObjectName("section")
        self.pin_pad = PinPad()
        self.submit = named(QPushButton(), "primary")
        self.submit.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.submit.setMinimumHeight(64)
        self.submit.clicked.connect(self.submit_requested)
        self.error = named(QLabel(), "sign_in_error")
        self.error.setWordWrap(True)
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._badge_hint = named(QLabel(), "hint")
        self._badge_hint.setWordWrap(True)
        self._badge_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)

        left = QVBoxLayout()
        left.addWidget(self._who)
        left.addWidget(self.members, 1)
        pin_card = named(QFrame(), "card")
        right = QVBoxLayout(pin_card)
        right.setContentsMargins(24, 16, 24, 16)
        right.setSpacing(10)
        right.addWidget(self._pin_label)
        right.addWidget(self.pin_pad)
        right.addWidget(self.submit)
        right.addWidget(self.error)
        right.addStretch(1)
        right.addWidget(self._badge_hint)
        columns = QHBoxLayout()
        columns.setSpacing(32)
        columns.addLayout(left, 1)
        columns.addWidget(pin_card)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 20, 32, 20)
        layout.setSpacing(8)
        layout.addWidget(self._heading)
        layout.addWidget(self._seat)
        layout.addLayout(columns, 1)
        self._seat_id: str | None = None
        self.setStyleSheet("QPushButton#primary { min-height: 60px; font-size: 19px; }")
        self.retranslate()

    def set_members(self, members: list[tuple[str, str]], selected: str | None) -> None:
        """``members`` as (delegate id, label); ``selected`` is pre-chosen and shown."""
        keep = self.selected_member() or selected
        self.members.clear()
        for delegate_id, label in members:
            row = QListWidgetItem(label)
            row.setData(MEMBER_KEY, delegate_id)
            self.members.addItem(row)
            if delegate_id == keep:
                self.members.setCurrentItem(row)
        current = self.members.currentItem()
        if current is not None:
            self.members.scrollToItem(current, QAbstractItemView.ScrollHint.PositionAtCenter)

    def select_member(self, delegate_id: str) -> None:
        for row in range(self.members.count()):
            if self.members.item(row).data(MEMBER_KEY) == delegate_id:
                self.members.setCurrentRow(row)

    def selected_member(self) -> str | None:
        current = self.members.currentItem()
        return None if current is None else str(current.data(MEMBER_KEY))

    def set_seat(self, seat_id: str | None) -> None:
        self._seat_id = seat_id
        self._seat.setText(tr("sign_in.at_seat", seat=seat_id) if seat_id else "")

    def set_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def set_busy(self, busy: bool) -> None:
        self.submit.setEnabled(not busy)

    def retranslate(self) -> None:
        self._heading.setText(tr("sign_in.heading"))
        self._who.setText(tr("sign_in.who"))
        self._pin_label.setText(tr("sign_in.pin"))
        self.submit.setText(tr("sign_in.submit"))
        self._badge_hint.setText(tr("sign_in.badge_hint"))
        self.set_seat(self._seat_id)
        self.pin_pad.retranslate()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        if event.key() in _ENTER_KEYS:
            self.enter_pressed.emit()
        elif event.text():
            self.key_typed.emit(event.text())
        else:
            super().keyPressEvent(event)
