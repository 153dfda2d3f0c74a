"""The console's attendance tab: the quorum, every member present or absent (how and
where they checked in, a wrong seat, proxies), and the clerk's check-in, check-out and
proxies for members without a tablet. Layout only: the AttendanceController fills it."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tablet_client.i18n import tr
from tablet_client.views.style import INDICATOR_COLOURS, named

KEY = Qt.ItemDataRole.UserRole
COLUMNS = ("member", "seat", "status", "how", "proxy")
ABSENT_TEXT = "#7a808a"
WARNING_TEXT = "#b35900"


@dataclass(frozen=True, slots=True)
class AttendanceRow:
    delegate_id: str
    cells: tuple[str, str, str, str, str]  # member, seat, status, how, proxy
    present: bool
    warning: bool = False  # signed in at a seat that is not theirs


def _button(name: str) -> QPushButton:
    button = named(QPushButton(), name)
    button.setMinimumHeight(48)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return button


class AttendanceView(QWidget):
    member_selected = Signal(str)
    check_in_requested = Signal(bool)  # True: check in, False: check out
    grant_proxy_requested = Signal()
    revoke_proxy_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attendance_view")
        self.summary = named(QLabel(), "attendance_summary")
        self.summary.setWordWrap(True)
        self.roster = named(QTreeWidget(), "attendance_roster")
        self.roster.setColumnCount(len(COLUMNS))
        self.roster.setRootIsDecorated(False)
        self.roster.setUniformRowHeights(True)
        self.roster.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        head = self.roster.header()
        head.setStretchLastSection(True)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for column in (1, 2, 3):
            head.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.roster.currentItemChanged.connect(self._on_row)
        self.check_in = _button("check_in")
        self.check_out = _button("check_out")
        self.check_in.clicked.connect(lambda: self.check_in_requested.emit(True))
        self.check_out.clicked.connect(lambda: self.check_in_requested.emit(False))
        self._proxy_label = QLabel()
        self.holder = named(QComboBox(), "proxy_holder")
        self.holder.setMinimumHeight(44)
        self.holder.setMinimumWidth(220)
        self.grant_proxy = _button("grant_proxy")
        self.revoke_proxy = _button("revoke_proxy")
        self.grant_proxy.clicked.connect(self.grant_proxy_requested)
        self.revoke_proxy.clicked.connect(self.revoke_proxy_requested)
        self.status = named(QLabel(), "attendance_status")
        self.status.setWordWrap(True)
        checks = QHBoxLayout()
        checks.addWidget(self.check_in)
        checks.addWidget(self.check_out)
        checks.addStretch(1)
        proxies = QHBoxLayout()
        proxies.addWidget(self._proxy_label)
        proxies.addWidget(self.holder, 1)
        proxies.addWidget(self.grant_proxy)
        proxies.addWidget(self.revoke_proxy)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        layout.addWidget(self.summary)
        layout.addWidget(self.roster, 1)
        layout.addLayout(checks)
        layout.addLayout(proxies)
        layout.addWidget(self.status)
        self.setStyleSheet(" QLabel#attendance_status { color: #b00020; font-weight: 600; }")
        self.set_summary("", "neutral")
        self.retranslate()

    def set_summary(self, text: str, kind: str) -> None:
        background, foreground = INDICATOR_COLOURS[kind]
        self.summary.setText(text)
        self.summary.setProperty("kind", kind)
        self.summary.setStyleSheet(
            f"QLabel#attendance_summary {{ background: {background}; color: {foreground};"
            " font-size: 18px; font-weight: 700; border-radius: 8px; padding: 8px 14px; }"
        )

    def set_rows(self, rows: list[AttendanceRow]) -> None:
        """Rebuild the roster; the selection stays on the same member."""
        chosen = self.selected_member()
        self.roster.blockSignals(True)
        self.roster.clear()
        for row in rows:
            item = QTreeWidgetItem(list(row.cells))
            item.setData(0, KEY, row.delegate_id)
            if not row.present:
                for column in range(len(COLUMNS)):
                    item.setForeground(column, QBrush(QColor(ABSENT_TEXT)))
            else:
                item.setForeground(2, QBrush(QColor("#1e7b34")))
            if row.warning:
                item.setForeground(3, QBrush(QColor(WARNING_TEXT)))
            self.roster.addTopLevelItem(item)
            if row.delegate_id == chosen:
                self.roster.setCurrentItem(item)
        first = self.roster.topLevelItem(0)
        if self.roster.currentItem() is None and first is not None:
            self.roster.setCurrentItem(first)
        self.roster.blockSignals(False)
        self._on_row(self.roster.currentItem(), None)

    def row_texts(self, delegate_id: str) -> tuple[str, ...]:
        for index in range(self.roster.topLevelItemCount()):
            item = self.roster.topLevelItem(index)
            if item is not None and item.data(0, KEY) == delegate_id:
                return tuple(item.text(c) for c in range(len(COLUMNS)))
        return ()

    def selected_member(self) -> str | None:
        row = self.roster.currentItem()
        return None if row is None else str(row.data(0, KEY))

    def select_member(self, delegate_id: str) -> None:
        for index in range(self.roster.topLevelItemCount()):
            item = self.roster.topLevelItem(index)
            if item is not None and item.data(0, KEY) == delegate_id:
                self.roster.setCurrentItem(item)

    def set_holders(self, holders: list[tuple[str, str]]) -> None:
        """Who may hold the selected member's proxy, as (delegate id, label)."""
        chosen = self.holder.currentData()
        self.holder.clear()
        for delegate_id, label in holders:
            self.holder.addItem(label, delegate_id)
        index = self.holder.findData(chosen)
        if index >= 0:
            self.holder.setCurrentIndex(index)

    def selected_holder(self) -> str | None:
        data = self.holder.currentData()
        return None if data is None else str(data)

    def select_holder(self, delegate_id: str) -> None:
        index = self.holder.findData(delegate_id)
        if index >= 0:
            self.holder.setCurrentIndex(index)

    def set_editable(self, editable: bool) -> None:
        """The clerk and the chair may check members in and give proxies."""
        for widget in (
            self.check_in,
            self.check_out,
            self._proxy_label,
            self.holder,
            self.grant_proxy,
            self.revoke_proxy,
        ):
            widget.setVisible(editable)

    def retranslate(self) -> None:
        self.roster.setHeaderLabels([tr(f"attendance.column_{c}") for c in COLUMNS])
        self.check_in.setText(tr("attendance.check_in"))
        self.check_out.setText(tr("attendance.check_out"))
        self._proxy_label.setText(tr("attendance.proxy_to"))
        self.grant_proxy.setText(tr("attendance.grant_proxy"))
        self.revoke_proxy.setText(tr("attendance.revoke_proxy"))

    def _on_row(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        if current is not None:
            self.member_selected.emit(str(current.data(0, KEY)))
