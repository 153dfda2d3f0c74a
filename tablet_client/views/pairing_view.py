"""The chair console's Devices section: make a one-time pairing code that enrolls a seat
tablet or the room display, and show it large with its QR code until it expires."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from tablet_client.i18n import tr
from tablet_client.views.qr_code_view import QrCodeView
from tablet_client.views.style import ERROR_TEXT, console_button, named

CODE_FONT_PX = 40
DEFAULT_MINUTES = 10
MINUTES_STEP = 5
MAX_MINUTES = 24 * 60  # room_protocol.enrollment.CreatePairingCode


class PairingView(QWidget):
    create_requested = Signal()  # read kind(), seat_id(), minutes(), on_display()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pairing_view")

        # --- the form ------------------------------------------------------------------
        form = named(QFrame(), "card")
        self._heading = named(QLabel(), "section")
        self._explain = named(QLabel(), "hint")
        self._explain.setWordWrap(True)
        self._kind_label, self._seat_label, self._minutes_label = QLabel(), QLabel(), QLabel()
        self.tablet_kind = console_button("pair_tablet", height=56)
        self.display_kind = console_button("pair_display", height=56)
        self.kinds = QButtonGroup(self)
        for button in (self.tablet_kind, self.display_kind):
            button.setCheckable(True)
            self.kinds.addButton(button)
        self.tablet_kind.setChecked(True)
        self.kinds.buttonToggled.connect(lambda *_: self._kind_changed())
        self.seat = named(QComboBox(), "pair_seat")
        self.seat.setMinimumHeight(52)
        self.minutes = named(QSpinBox(), "pair_minutes")
        self.minutes.setRange(1, MAX_MINUTES)
        self.minutes.setValue(DEFAULT_MINUTES)
        self.minutes.setMinimumHeight(52)
        self.minutes.setMinimumWidth(130)
        self.minutes.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.minutes.setButtonSymbols(QSpinBox.ButtonSymbols.NoButtons)  # too small to touch
        self.fewer = console_button("pair_fewer", height=52)
        self.more = console_button("pair_more", height=52)
        for button, step in ((self.fewer, -MINUTES_STEP), (self.more, MINUTES_STEP)):
            button.setText("−" if step < 0 else "+")
            button.setFixedWidth(64)
            button.clicked.connect(lambda _=False, step=step: self._step_minutes(step))
        self.on_display_toggle = console_button("pair_on_display", height=56)
        self.on_display_toggle.setCheckable(True)
        self.make_code = console_button("primary", height=64)
        self.make_code.clicked.connect(self.create_requested)
        self.status = named(QLabel(), "pair_status")
        self.status.setWordWrap(True)

        kinds = QHBoxLayout()
        kinds.setSpacing(10)
        kinds.addWidget(self.tablet_kind, 1)
        kinds.addWidget(self.display_kind, 1)
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(12)
        grid.addWidget(self._kind_label, 0, 0)
        grid.addLayout(kinds, 0, 1)
        grid.addWidget(self._seat_label, 1, 0)
        grid.addWidget(self.seat, 1, 1)
        grid.addWidget(self._minutes_label, 2, 0)
        minutes = QHBoxLayout()
        minutes.setSpacing(8)
        minutes.addWidget(self.fewer)
        minutes.addWidget(self.minutes)
        minutes.addWidget(self.more)
        minutes.addStretch(1)
        grid.addLayout(minutes, 2, 1)
        grid.addWidget(self.on_display_toggle, 3, 1)
        grid.setColumnStretch(1, 1)
        form_layout = QVBoxLayout(form)
        form_layout.setContentsMargins(24, 20, 24, 20)
        form_layout.setSpacing(14)
        form_layout.addWidget(self._heading)
        form_layout.addWidget(self._explain)
        form_layout.addLayout(grid)
        form_layout.addStretch(1)
        form_layout.addWidget(self.status)
        form_layout.addWidget(self.make_code)

        # --- the code ------------------------------------------------------------------
        shown = named(QFrame(), "pair_code_card")
        self.empty = named(QLabel(), "hint")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code = named(QLabel(), "pair_code")
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPixelSize(CODE_FONT_PX)
        font.setBold(True)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 2)
        self.code.setFont(font)
        self.code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.target = named(QLabel(), "pair_target")
        self.target.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.target.setWordWrap(True)
        self.expiry = named(QLabel(), "pair_expiry")
        self.expiry.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.qr = QrCodeView(minimum=200)
        self.qr.setObjectName("pair_qr")
        self.where = named(QLabel(), "hint")
        self.where.setWordWrap(True)
        self.where.setAlignment(Qt.AlignmentFlag.AlignCenter)
        shown_layout = QVBoxLayout(shown)
        shown_layout.setContentsMargins(20, 16, 20, 16)
        shown_layout.setSpacing(8)
        shown_layout.addWidget(self.empty, 1)
        shown_layout.addWidget(self.code)
        shown_layout.addWidget(self.target)
        shown_layout.addWidget(self.expiry)
        shown_layout.addWidget(self.qr, 1)
        shown_layout.addWidget(self.where)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(16)
        layout.addWidget(form, 5)
        layout.addWidget(shown, 4)
        self.setStyleSheet(
            "QPushButton#pair_tablet, QPushButton#pair_display, QPushButton#pair_on_display"
            " { border: 2px solid #c9ced6; border-radius: 8px; background: white;"
            " font-size: 17px; }"
            " QPushButton#pair_tablet:checked, QPushButton#pair_display:checked,"
            " QPushButton#pair_on_display:checked { border-color: #1f5fae;"
            " background: #dbe8f7; font-weight: 700; }"
            " QPushButton#primary { font-size: 18px; }"
            " QFrame#pair_code_card { background: white; border: 2px solid #d5dae1;"
            " border-radius: 10px; }"
            " QLabel#pair_target { font-size: 17px; font-weight: 600; }"
            " QLabel#pair_expiry { font-size: 20px; font-weight: 700; color: #1e7b34; }"
            " QLabel#pair_expiry[level='near'] { color: #b35900; }"
            " QLabel#pair_expiry[level='over'] { color: #5c6370; }"
            f" QLabel#pair_status {{ color: {ERROR_TEXT}; font-weight: 600; }}"
            " QSpinBox#pair_minutes, QComboBox#pair_seat { font-size: 17px; }"
            f" QLabel#pair_code {{ font-size: {CODE_FONT_PX}px; font-weight: 700;"
            " font-family: monospace; }"
            " QPushButton#pair_fewer, QPushButton#pair_more { font-size: 24px;"
            " font-weight: 700; }"
        )
        self._seats: list[tuple[str, str]] | None = None
        self.set_seats([])
        self.show_code(None)
        self.retranslate()

    # --- what the controller reads ------------------------------------------------------

    def kind(self) -> str:
        return "display" if self.display_kind.isChecked() else "tablet"

    def seat_id(self) -> str | None:
        if self.kind() != "tablet":
            return None
        data = self.seat.currentData()
        return str(data) if data else None

    def on_display(self) -> bool:
        return self.on_display_toggle.isChecked()

    # --- what the controller sets -------------------------------------------------------

    def set_seats(self, seats: list[tuple[str, str]]) -> None:
        """(seat id, "A1 — Name") of the meeting's seats, in order."""
        if seats == self._seats:
            return
        chosen = self.seat.currentData()
        self._seats = seats
        self.seat.clear()
        self.seat.addItem(tr("pair.any_seat"), None)
        for seat_id, text in seats:
            self.seat.addItem(text, seat_id)
        index = self.seat.findData(chosen)
        self.seat.setCurrentIndex(max(index, 0))

    def show_code(
        self, code: str | None, target: str = "", link: str = "", where: str = ""
    ) -> None:
        """A new code (None: none yet) with who it is for and where else it is shown."""
        has = code is not None
        self.empty.setVisible(not has)
        for widget in (self.code, self.target, self.expiry, self.qr, self.where):
            widget.setVisible(has)
        self.code.setText(code or "")
        self.target.setText(target)
        self.where.setText(where)
        self.qr.set_text(link)

    def set_expiry(self, text: str, level: str) -> None:
        """``level``: ``normal``, ``near`` (under a minute) or ``over`` (expired)."""
        self.expiry.setText(text)
        self.expiry.setProperty("level", level)
        self.expiry.style().unpolish(self.expiry)
        self.expiry.style().polish(self.expiry)
        self.qr.set_faded(level == "over")
        self.code.setEnabled(level != "over")

    def set_problem(self, text: str) -> None:
        self.status.setText(text)

    def retranslate(self) -> None:
        self._heading.setText(tr("pair.heading"))
        self._explain.setText(tr("pair.explain"))
        self._kind_label.setText(tr("pair.kind"))
        self._seat_label.setText(tr("pair.seat"))
        self._minutes_label.setText(tr("pair.minutes"))
        self.tablet_kind.setText(tr("pair.kind_tablet"))
        self.display_kind.setText(tr("pair.kind_display"))
        self.minutes.setSuffix(tr("pair.minutes_suffix"))
        self.on_display_toggle.setText(tr("pair.on_display"))
        self.make_code.setText(tr("pair.create"))
        self.empty.setText(tr("pair.none_yet"))
        if self.seat.count():
            self.seat.setItemText(0, tr("pair.any_seat"))

    def _step_minutes(self, step: int) -> None:
        """To the next multiple of the step: 10 → 15 → 20, 7 → 5 → 1."""
        value = self.minutes.value()
        target = (value // MINUTES_STEP + (1 if step > 0 else 0)) * MINUTES_STEP
        if step < 0 and target == value:
            target -= MINUTES_STEP
        self.minutes.setValue(max(1, target))

    def _kind_changed(self) -> None:
        tablet = self.kind() == "tablet"
        self.seat.setEnabled(tablet)
        self._seat_label.setEnabled(tablet)
