"""Two full pages of the room display about devices: a pairing code the chair chose to
show (the code large, its QR code, until it expires), and, for IT staff, what to do
when the display itself is not enrolled in the room."""

from __future__ import annotations

import segno
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from kiosk.look import MUTED, PANEL, WHITE, YELLOW, label

QUIET_ZONE = 4  # modules of white around a QR code (ISO/IEC 18004)


class QrCode(QWidget):
    """A QR code painted from segno's module matrix, in whole pixels per module."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.modules: list[list[bool]] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_text(self, text: str) -> None:
        code = segno.make(text, error="m", micro=False) if text else None
        self.modules = [[bool(m) for m in row] for row in code.matrix] if code else []
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        if not self.modules:
            return
        count = len(self.modules) + 2 * QUIET_ZONE
        module = min(self.width(), self.height()) // count
        if module < 1:
            return
        size = module * count
        left, top = (self.width() - size) // 2, (self.height() - size) // 2
        painter = QPainter(self)
        painter.fillRect(QRectF(left, top, size, size), Qt.GlobalColor.white)
        black = QColor("#000000")
        for y, row in enumerate(self.modules):
            for x, on in enumerate(row):
                if on:
                    painter.fillRect(
                        left + (x + QUIET_ZONE) * module,
                        top + (y + QUIET_ZONE) * module,
                        module,
                        module,
                        black,
                    )
        painter.end()


def _text(name: str, px: int, colour: str, *, bold: bool = False, mono: bool = False) -> QLabel:
    widget = label(name, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    widget.setWordWrap(True)
    widget.setProperty("design_px", px)
    font = QFont("monospace") if mono else QFont()
    if mono:
        font.setStyleHint(QFont.StyleHint.Monospace)
    font.setBold(bold)
    font.setPixelSize(px)
    widget.setFont(font)
    widget.setStyleSheet(f"color: {colour};")
    return widget


class _ScaledPage(QWidget):
    def set_scale(self, scale: float) -> None:
        for widget in self.findChildren(QLabel):
            px = widget.property("design_px")
            if isinstance(px, int):
                font = widget.font()
                font.setPixelSize(max(1, round(px * scale)))
                widget.setFont(font)


class PairingPage(_ScaledPage):
    """A pairing code the chair asked to show on the room display."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pairing_page")
        self.heading = _text("pairing_heading", 40, MUTED, bold=True)
        self.code = _text("pairing_code", 84, YELLOW, bold=True, mono=True)
        self.code.setWordWrap(False)  # 19 characters fit at 84 px on the right-hand side
        self.target = _text("pairing_target", 52, WHITE, bold=True)
        self.expiry = _text("pairing_expiry", 46, WHITE)
        self.how = _text("pairing_how", 36, MUTED)
        self.qr = QrCode()
        self.qr.setObjectName("pairing_qr")
        self._link = ""
        side = QVBoxLayout()
        side.setSpacing(18)
        side.addStretch(1)
        for widget in (self.heading, self.code, self.target, self.expiry, self.how):
            side.addWidget(widget)
        side.addStretch(1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(60)
        layout.addWidget(self.qr, 4)
        layout.addLayout(side, 6)

    def show_code(
        self, heading: str, code: str, target: str, expiry: str, how: str, link: str
    ) -> None:
        self.heading.setText(heading)
        self.code.setText(code)
        self.target.setText(target)
        self.expiry.setText(expiry)
        self.how.setText(how)
        if link != self._link:
            self._link = link
            self.qr.set_text(link)


class SetupPage(_ScaledPage):
    """This display is not a device of the room: what IT staff should do."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("setup_page")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet(f"#setup_page {{ background: {PANEL}; border-radius: 18px; }}")
        self.title = _text("setup_title", 72, YELLOW, bold=True)
        self.body = _text("setup_body", 38, WHITE)
        self.steps = _text("setup_steps", 36, WHITE)
        self.steps.setTextFormat(Qt.TextFormat.RichText)
        self.problem = _text("setup_problem", 34, "#ff5b5b", bold=True)
        self.where = _text("setup_where", 28, MUTED)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(64, 48, 64, 48)
        layout.setSpacing(28)
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        layout.addWidget(self.steps)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        layout.addWidget(self.where)

    def show_setup(self, title: str, body: str, steps: str, problem: str, where: str) -> None:
        self.title.setText(title)
        self.body.setText(body)
        self.steps.setText(steps)
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))
        self.where.setText(where)
