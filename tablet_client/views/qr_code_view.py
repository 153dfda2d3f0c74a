"""A QR code painted from segno's module matrix: sharp at any size, no image files."""

from __future__ import annotations

import segno
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

QUIET_ZONE = 4  # modules of white around the code (ISO/IEC 18004)


def qr_modules(text: str) -> list[list[bool]]:
    """The QR code of ``text`` as rows of dark (True) and light modules, without the quiet
    zone; error correction M (15 %) survives glare on a screen."""
    code = segno.make(text, error="m", micro=False)
    return [[bool(module) for module in row] for row in code.matrix]


class QrCodeView(QWidget):
    def __init__(self, parent: QWidget | None = None, *, minimum: int = 160) -> None:
        super().__init__(parent)
        self.modules: list[list[bool]] = []
        self.text = ""
        self.faded = False  # an expired code: drawn pale, so nobody scans it
        self.setMinimumSize(minimum, minimum)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def set_text(self, text: str) -> None:
        self.text = text
        self.modules = qr_modules(text) if text else []
        self.faded = False
        self.update()

    def set_faded(self, faded: bool) -> None:
        self.faded = faded
        self.update()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt override)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt override)
        return width

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(320, 320)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        if not self.modules:
            return
        painter = QPainter(self)
        count = len(self.modules) + 2 * QUIET_ZONE
        side = min(self.width(), self.height())
        module = side // count  # whole pixels: blurred module edges scan badly
        if module < 1:
            return
        size = module * count
        left = (self.width() - size) // 2
        top = (self.height() - size) // 2
        painter.fillRect(QRectF(left, top, size, size), Qt.GlobalColor.white)
        dark = QColor("#c4c8ce") if self.faded else QColor("#000000")
        for y, row in enumerate(self.modules):
            for x, on in enumerate(row):
                if on:
                    painter.fillRect(
                        left + (x + QUIET_ZONE) * module,
                        top + (y + QUIET_ZONE) * module,
                        module,
                        module,
                        dark,
                    )
        painter.end()
