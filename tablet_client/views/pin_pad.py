"""A numeric PIN pad with finger-sized keys; the digits typed so far are shown as dots."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from tablet_client.i18n import tr
from tablet_client.views.style import named

PIN_KEY_SIZE = (96, 64)  # logical px: comfortably larger than a fingertip


class PinPad(QWidget):
    digit_pressed = Signal(str)
    backspace_pressed = Signal()
    clear_pressed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pin_pad")
        self._display = named(QLabel(), "pin_display")
        self._display.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._display.setMinimumHeight(56)
        grid = QGridLayout()
        grid.setSpacing(10)
        self.keys: dict[str, QPushButton] = {}
        for index, digit in enumerate("123456789"):
            self._add_key(grid, digit, f"pin_{digit}", index // 3, index % 3)
        self._clear = self._add_key(grid, "", "pin_clear", 3, 0)
        self._add_key(grid, "0", "pin_0", 3, 1)
        self._backspace = self._add_key(grid, "⌫", "pin_backspace", 3, 2)
        for digit in "0123456789":
            key = self.keys[digit]
            key.clicked.connect(lambda _checked=False, d=digit: self.digit_pressed.emit(d))
        self._clear.clicked.connect(self.clear_pressed)
        self._backspace.clicked.connect(self.backspace_pressed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(12)
        layout.addWidget(self._display)
        layout.addLayout(grid)
        self.set_length(0)
        self.retranslate()

    def set_length(self, digits: int) -> None:
        """Show how many digits are typed (never which)."""
        self._display.setText(" ".join("●" * digits) if digits else tr("pin.prompt"))
        self._display.setProperty("empty", digits == 0)
        self._display.style().unpolish(self._display)
        self._display.style().polish(self._display)

    def retranslate(self) -> None:
        self._clear.setText(tr("pin.clear"))
        self._backspace.setToolTip(tr("pin.backspace"))
        if self._display.property("empty"):
            self._display.setText(tr("pin.prompt"))

    def _add_key(
        self, grid: QGridLayout, text: str, name: str, row: int, column: int
    ) -> QPushButton:
        key = named(QPushButton(text), "pin_key")
        key.setProperty("key", name)
        key.setAccessibleName(name)
        key.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        key.setMinimumSize(*PIN_KEY_SIZE)
        grid.addWidget(key, row, column)
        if text.isdigit():
            self.keys[text] = key
        return key
