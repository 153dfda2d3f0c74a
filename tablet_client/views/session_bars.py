"""Strips around the screens during a session: messages and warnings on top, the speaker
queue at the bottom. Layout only: the controllers put the words in."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from tablet_client.i18n import tr
from tablet_client.views.elided_label import ElidedLabel
from tablet_client.views.style import STRIP_COLOURS, named


class StripView(QFrame):
    """A coloured strip with a text, an optional action and an optional dismiss button.

    Tapping the text does what the action button does (a large target for "follow the
    chair again")."""

    action_requested = Signal()
    dismissed = Signal()

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.text = named(QLabel(), f"{name}_text")
        self.text.setWordWrap(True)
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.action = named(QPushButton(), f"{name}_action")
        self.action.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.close_button = named(QPushButton(), f"{name}_dismiss")
        self.close_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.action.clicked.connect(self.action_requested)
        self.close_button.clicked.connect(self.dismissed)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 4, 12, 4)
        layout.setSpacing(12)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.action)
        layout.addWidget(self.close_button)
        self.set_kind("info")
        self.hide()
        self.retranslate()

    def show_text(
        self, text: str, *, kind: str = "info", action: str = "", dismissible: bool = False
    ) -> None:
        """``kind`` picks the colours (see STRIP_COLOURS); an empty ``action`` hides it."""
        self.set_kind(kind)
        self.text.setText(text)
        self.action.setText(action)
        self.action.setVisible(bool(action))
        self.close_button.setVisible(dismissible)
        self.show()

    def set_kind(self, kind: str) -> None:
        background, foreground = STRIP_COLOURS[kind]
        # White buttons on a dark strip; on a light strip, buttons in the text colour.
        button = (
            f"background: white; color: {background}; border: none;"
            if QColor(background).lightness() < 160
            else f"background: {foreground}; color: {background}; border: none;"
        )
        self.setStyleSheet(
            f"QFrame#{self.objectName()} {{ background: {background}; }}"
            f" QLabel {{ color: {foreground}; font-size: 17px; font-weight: 600; }}"
            f" QPushButton {{ {button} border-radius: 6px; font-weight: 600;"
            " min-height: 36px; padding: 2px 16px; }"
        )

    def retranslate(self) -> None:
        self.close_button.setText(tr("strip.dismiss"))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if self.action.isVisible() and event.button() == Qt.MouseButton.LeftButton:
            self.action_requested.emit()
        super().mousePressEvent(event)


class FloorBarView(QFrame):
    """The delegate's speaker-queue panel: ask to speak, point of order, withdraw, who is
    speaking with the time left, and a call for service."""

    speak_requested = Signal()
    point_of_order_requested = Signal()
    withdraw_requested = Signal()
    service_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("floor_bar")
        self.speak = named(QPushButton(), "speak")
        self.point_of_order = named(QPushButton(), "point_of_order")
        self.withdraw = named(QPushButton(), "withdraw")
        self.service = named(QPushButton(), "call_service")
        for button in (self.speak, self.point_of_order, self.withdraw, self.service):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setMinimumHeight(48)
        self.position = named(ElidedLabel(), "queue_position")
        self.speaker = named(ElidedLabel(), "speaker")
        self.countdown = named(QLabel(), "countdown")
        self.countdown.setMinimumWidth(90)
        self.countdown.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.set_expired(False)
        self.speak.clicked.connect(self.speak_requested)
        self.point_of_order.clicked.connect(self.point_of_order_requested)
        self.withdraw.clicked.connect(self.withdraw_requested)
        self.service.clicked.connect(self.service_requested)

        status = QFrame()
        status.setObjectName("floor_status")
        status_layout = QGridLayout(status)
        status_layout.setContentsMargins(12, 0, 12, 0)
        status_layout.setVerticalSpacing(2)
        status_layout.addWidget(self.speaker, 0, 0)
        status_layout.addWidget(self.position, 1, 0)
        status_layout.addWidget(self.countdown, 0, 1, 2, 1)
        status_layout.setColumnStretch(0, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 4, 12, 4)  # under the reader: the page keeps the height
        layout.setSpacing(10)
        layout.addWidget(self.speak)
        layout.addWidget(self.point_of_order)
        layout.addWidget(self.withdraw)
        layout.addWidget(status, 1)
        layout.addWidget(self.service)
        self.setStyleSheet(
            "QFrame#floor_bar { background: #eef1f5; border-top: 1px solid #c9ced6; }"
            " QLabel#speaker { font-size: 16px; font-weight: 600; }"
            " QLabel#queue_position { font-size: 15px; }"
        )
        self.hide()
        self.retranslate()

    def set_expired(self, expired: bool) -> None:
        if self.countdown.property("expired") == expired:
            return  # restyling is not free: only when it flips
        colour = "#b00020" if expired else "#1b1f24"
        self.countdown.setStyleSheet(
            f"QLabel#countdown {{ color: {colour}; font-size: 26px; font-weight: 700; }}"
        )
        self.countdown.setProperty("expired", expired)

    def retranslate(self) -> None:
        self.speak.setText(tr("floor.request_speak"))
        self.point_of_order.setText(tr("floor.point_of_order"))
        self.withdraw.setText(tr("floor.withdraw"))
        self.service.setText(tr("service.call"))
