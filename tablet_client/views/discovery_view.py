"""The first screen: rooms found on the network, and a Join button."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from tablet_client.i18n import tr
from tablet_client.views.style import named

ROOM_KEY = Qt.ItemDataRole.UserRole


class DiscoveryView(QWidget):
    join_requested = Signal(str)  # service name of the chosen room

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("discovery_view")
        self._heading = named(QLabel(), "heading")
        self._status = named(QLabel(), "subheading")
        self._rooms = named(QListWidget(), "rooms")
        self._join = named(QPushButton(), "primary")
        self._join.setEnabled(False)
        self._rooms.currentItemChanged.connect(
            lambda current, _previous: self._join.setEnabled(current is not None)
        )
        self._rooms.itemActivated.connect(self._emit_join)
        self._join.clicked.connect(lambda: self._emit_join(self._rooms.currentItem()))

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self._join)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.setSpacing(12)
        layout.addWidget(self._heading)
        layout.addWidget(self._status)
        layout.addWidget(self._rooms, 1)
        layout.addLayout(buttons)
        self._count = 0
        self.retranslate()

    def set_rooms(self, rooms: list[tuple[str, str]]) -> None:
        """``rooms`` as (service name, label); keeps the selection when it can."""
        selected = self.selected_room()
        self._rooms.clear()
        for service_name, label in rooms:
            item = QListWidgetItem(label)
            item.setData(ROOM_KEY, service_name)
            self._rooms.addItem(item)
            if service_name == selected:
                self._rooms.setCurrentItem(item)
        if self._rooms.currentItem() is None and self._rooms.count():
            self._rooms.setCurrentRow(0)
        self._count = len(rooms)
        self._update_status()

    def selected_room(self) -> str | None:
        item = self._rooms.currentItem()
        return None if item is None else str(item.data(ROOM_KEY))

    def retranslate(self) -> None:
        self._heading.setText(tr("discovery.rooms_heading"))
        self._join.setText(tr("discovery.join"))
        self._update_status()

    def _update_status(self) -> None:
        self._status.setText(
            tr("discovery.searching")
            if self._count
            else tr("discovery.none_found") + " — " + tr("discovery.searching")
        )

    def _emit_join(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.join_requested.emit(str(item.data(ROOM_KEY)))
