"""A list with one button under it, a tab of the chair's console twice over: the service
calls (resolve the chosen call) and the alerts (clear them all). Layout only."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from tablet_client.views.style import console_button, named

KEY = Qt.ItemDataRole.UserRole  # the id a row stands for


class ActionListView(QWidget):
    triggered = Signal()

    def __init__(
        self,
        list_name: str,
        button_name: str,
        *,
        acts_on_choice: bool,
        parent: QWidget | None = None,
    ) -> None:
        """``acts_on_choice``: the button acts on the chosen row, so the first row is
        chosen and the button is off while the list is empty."""
        super().__init__(parent)
        self.setObjectName(f"{list_name}_view")
        self._acts_on_choice = acts_on_choice
        self.rows = named(QListWidget(), list_name)
        self.rows.setWordWrap(True)
        self.button = console_button(button_name)
        self.button.clicked.connect(self.triggered)
        layout = QVBoxLayout(self)
        layout.addWidget(self.rows, 1)
        layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignRight)

    def set_rows(self, rows: Sequence[tuple[str | None, str]]) -> None:
        """``rows`` as (id or None, label), in order."""
        self.rows.clear()
        for key, label in rows:
            row = QListWidgetItem(label)
            row.setData(KEY, key)
            self.rows.addItem(row)
        if self._acts_on_choice:
            if rows:
                self.rows.setCurrentRow(0)
            self.button.setEnabled(bool(rows))

    def selected(self) -> str | None:
        row = self.rows.currentItem()
        return None if row is None else str(row.data(KEY))
