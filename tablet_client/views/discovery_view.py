"""The first screen: rooms found on the network, and a Join button; or, when a room could
not be joined, why in plain words and the way back to the list."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
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
from tablet_client.views.style import ERROR_TEXT, named

ROOM_KEY = Qt.ItemDataRole.UserRole
DETAIL_KEY = Qt.ItemDataRole.UserRole + 1  # the room's technical details, for IT staff


class DiscoveryView(QWidget):
    join_requested = Signal(str)  # service name of the chosen room
    retry_requested = Signal()  # try the room that could not be joined again
    back_requested = Signal()  # leave that room: back to the list

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("discovery_view")
        self._heading = named(QLabel(), "heading")
        self._status = named(QLabel(), "subheading")
        self._rooms = named(QListWidget(), "rooms")
        self._detail = named(QLabel(), "room_detail")  # protocol, address: for IT staff
        self._detail.setWordWrap(True)
        self._join = named(QPushButton(), "primary")
        self._join.setEnabled(False)
        self._rooms.currentItemChanged.connect(lambda _current, _previous: self._selected())
        self._rooms.itemActivated.connect(self._emit_join)
        self._join.clicked.connect(lambda: self._emit_join(self._rooms.currentItem()))

        # Why the room chosen could not be joined, instead of the list.
        self.problem = named(QFrame(), "join_problem")
        self._problem_title = named(QLabel(), "problem_title")
        self._problem_title.setWordWrap(True)
        self._problem_reason = named(QLabel(), "problem_reason")
        self._problem_reason.setWordWrap(True)
        self._problem_detail = named(QLabel(), "problem_detail")  # the technical reason
        self._problem_detail.setWordWrap(True)
        self._problem_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.retry = named(QPushButton(), "problem_retry")
        self.back = named(QPushButton(), "primary")
        self.retry.clicked.connect(self.retry_requested)
        self.back.clicked.connect(self.back_requested)
        problem_buttons = QHBoxLayout()
        problem_buttons.addStretch(1)
        problem_buttons.addWidget(self.retry)
        problem_buttons.addWidget(self.back)
        problem_layout = QVBoxLayout(self.problem)
        problem_layout.setContentsMargins(24, 20, 24, 20)
        problem_layout.setSpacing(12)
        problem_layout.addWidget(self._problem_title)
        problem_layout.addWidget(self._problem_reason)
        problem_layout.addWidget(self._problem_detail)
        problem_layout.addLayout(problem_buttons)
        self.problem.setStyleSheet(
            "QFrame#join_problem { background: #fdecee; border: 1px solid #e3a5ad;"
            " border-radius: 10px; }"
            f" QLabel#problem_title {{ color: {ERROR_TEXT}; font-size: 22px; font-weight: 700; }}"
            " QLabel#problem_reason { font-size: 18px; color: #1b1f24; }"
            " QLabel#problem_detail { font-size: 13px; color: #5c6370; }"
        )
        self.problem.hide()

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self._join)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.setSpacing(12)
        layout.addWidget(self._heading)
        layout.addWidget(self._status)
        layout.addWidget(self.problem)
        self._filler = QWidget()  # keeps the problem at the top while the list is away
        self._filler.hide()
        layout.addWidget(self._filler, 1)
        layout.addWidget(self._rooms, 1)
        layout.addWidget(self._detail)
        layout.addLayout(buttons)
        self.setStyleSheet("QLabel#room_detail { font-size: 13px; color: #5c6370; }")
        self._count = 0
        self._list = [self._status, self._rooms, self._detail, self._join]
        self.retranslate()

    def set_rooms(self, rooms: list[tuple[str, str, str]]) -> None:
        """``rooms`` as (service name, label, details for IT staff); keeps the selection
        when it can, and never chooses a room by itself."""
        selected = self.selected_room()
        self._rooms.blockSignals(True)
        self._rooms.clear()
        for service_name, label, detail in rooms:
            item = QListWidgetItem(label)
            item.setData(ROOM_KEY, service_name)
            item.setData(DETAIL_KEY, detail)
            self._rooms.addItem(item)
            if service_name == selected:
                self._rooms.setCurrentItem(item)
        if selected is None:
            self._rooms.setCurrentRow(-1)
        self._rooms.blockSignals(False)
        self._count = len(rooms)
        self._selected()
        self._update_status()

    def selected_room(self) -> str | None:
        item = self._rooms.currentItem()
        return None if item is None else str(item.data(ROOM_KEY))

    def select_room(self, service_name: str) -> None:
        for row in range(self._rooms.count()):
            if self._rooms.item(row).data(ROOM_KEY) == service_name:
                self._rooms.setCurrentRow(row)

    def show_problem(self, title: str, reason: str, detail: str, *, can_go_back: bool) -> None:
        """Why the room could not be joined (``detail``: the technical reason, for IT
        staff), with Try again and, unless the tablet knows no other room, Back."""
        self._problem_title.setText(title)
        self._problem_reason.setText(reason)
        self._problem_detail.setText(detail)
        self._problem_detail.setVisible(bool(detail))
        self.back.setVisible(can_go_back)
        self.problem.show()
        self._filler.show()
        for widget in self._list:
            widget.hide()

    def clear_choice(self) -> None:
        self._rooms.setCurrentRow(-1)

    def hide_problem(self) -> None:
        self.problem.hide()
        self._filler.hide()
        for widget in self._list:
            widget.show()
        self._selected()

    def problem_shown(self) -> bool:
        return not self.problem.isHidden()

    def retranslate(self) -> None:
        self._heading.setText(tr("discovery.rooms_heading"))
        self._join.setText(tr("discovery.join"))
        self.retry.setText(tr("discovery.try_again"))
        self.back.setText(tr("discovery.back_to_rooms"))
        self._update_status()
        self._selected()

    def _selected(self) -> None:
        item = self._rooms.currentItem()
        self._join.setEnabled(item is not None)
        self._detail.setText(
            tr("discovery.details", details=str(item.data(DETAIL_KEY))) if item else ""
        )
        self._detail.setVisible(item is not None and self.problem.isHidden())

    def _update_status(self) -> None:
        if not self._count:
            text = tr("discovery.none_found") + " — " + tr("discovery.searching")
        else:
            text = tr("discovery.choose") + " " + tr("discovery.searching")
        self._status.setText(text)

    def _emit_join(self, item: QListWidgetItem | None) -> None:
        if item is not None:
            self.join_requested.emit(str(item.data(ROOM_KEY)))
