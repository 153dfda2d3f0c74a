"""Call for service: water, a microphone problem, a technical problem or anything else,
with an optional note, sent to the clerk."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from room_protocol.live import ServiceKind
from tablet_client.i18n import tr
from tablet_client.views.style import named


class ServiceView(QWidget):
    send_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("service_view")
        self._heading = named(QLabel(), "heading")
        self._explain = named(QLabel(), "subheading")
        self._explain.setWordWrap(True)
        self._kinds = QButtonGroup(self)
        self._kinds.setExclusive(True)
        self.kind_buttons: dict[ServiceKind, QPushButton] = {}
        grid = QGridLayout()
        grid.setSpacing(16)
        for index, kind in enumerate(ServiceKind):
            button = named(QPushButton(), "service_kind")
            button.setProperty("kind", kind.value)
            button.setCheckable(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setMinimumHeight(88)
            self._kinds.addButton(button)
            self.kind_buttons[kind] = button
            grid.addWidget(button, index // 2, index % 2)
        self.kind_buttons[ServiceKind.WATER].setChecked(True)
        self._note_label = QLabel()
        self.note = named(QLineEdit(), "service_note")
        self.note.setMaxLength(280)  # room_protocol.live.SHORT_TEXT
        self.note.setMinimumHeight(44)
        self.send = named(QPushButton(), "primary")
        self.send.setMinimumHeight(56)
        self.cancel = named(QPushButton(), "service_cancel")
        self.cancel.setMinimumHeight(56)
        self.send.clicked.connect(self.send_requested)
        self.cancel.clicked.connect(self.cancel_requested)
        self.status = named(QLabel(), "service_status")
        self.status.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.send)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 24, 48, 24)
        layout.setSpacing(12)
        layout.addWidget(self._heading)
        layout.addWidget(self._explain)
        layout.addLayout(grid)
        layout.addWidget(self._note_label)
        layout.addWidget(self.note)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.setStyleSheet(
            "QPushButton#service_kind { font-size: 20px; font-weight: 600; border-radius: 8px;"
            " border: 2px solid #c9ced6; background: #f7f8fa; }"
            " QPushButton#service_kind:checked { border: 3px solid #1f5fae; background: #dbe8f7; }"
        )
        self.retranslate()

    def selected_kind(self) -> ServiceKind:
        for kind, button in self.kind_buttons.items():
            if button.isChecked():
                return kind
        return ServiceKind.OTHER

    def reset(self) -> None:
        self.kind_buttons[ServiceKind.WATER].setChecked(True)
        self.note.clear()
        self.status.clear()
        self.send.setEnabled(True)

    def retranslate(self) -> None:
        self._heading.setText(tr("service.heading"))
        self._explain.setText(tr("service.explain"))
        for kind, button in self.kind_buttons.items():
            button.setText(tr(f"service.kind.{kind.value}"))
        self._note_label.setText(tr("service.note"))
        self.note.setPlaceholderText(tr("service.note_placeholder"))
        self.send.setText(tr("service.send"))
        self.cancel.setText(tr("service.cancel"))
