"""Enrolling this tablet in a room: the pairing code shown by the chair console, the room
display or IT staff's ``room-server enroll``, typed or scanned from its QR code, or a
token from an enrollment stick (``room-provision stick enroll``)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from room_protocol.enrollment import CODE_CHARS, LINK_SCHEME
from tablet_client.i18n import tr
from tablet_client.views.style import ERROR_TEXT, named

CODE_FONT_PX = 38  # the code is read off another screen: large, monospaced, spaced out
TOUCH_PX = 64  # buttons: well above the 48 px minimum for a finger
VIEWFINDER_PX = 260


def grouped(text: str) -> str:
    """What the code field shows for typed ``text``: upper case, in groups of four, with
    spaces and dashes ignored. A scanned or pasted link is left alone."""
    if text.strip().lower().startswith(f"{LINK_SCHEME}:"):
        return text
    chars = "".join(c for c in text if not c.isspace() and c != "-").upper()
    return "-".join(chars[i : i + 4] for i in range(0, len(chars), 4))


class EnrollView(QWidget):
    enroll_requested = Signal(str)  # the code as typed (or a scanned link)
    back_requested = Signal()
    scan_requested = Signal()
    stick_requested = Signal()
    scan_cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("enroll_view")
        self._heading = named(QLabel(), "enroll_heading")
        self._room = named(QLabel(), "enroll_room")
        self._room.setWordWrap(True)
        self._explain = named(QLabel(), "subheading")
        self._explain.setWordWrap(True)
        self._steps = named(QLabel(), "enroll_steps")
        self._steps.setWordWrap(True)
        self._steps.setTextFormat(Qt.TextFormat.RichText)

        self.code = named(QLineEdit(), "pairing_code")
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPixelSize(CODE_FONT_PX)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 3)
        self.code.setFont(font)
        self.code.setMinimumHeight(CODE_FONT_PX * 2)
        self.code.setMaxLength(300)  # a scanned link is longer than a typed code
        self.code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code.setInputMethodHints(
            Qt.InputMethodHint.ImhPreferUppercase | Qt.InputMethodHint.ImhNoPredictiveText
        )
        self.code.returnPressed.connect(self._submit)
        self.code.textEdited.connect(self._tidy)
        self._code_hint = named(QLabel(), "hint")

        self.progress = named(QProgressBar(), "enroll_progress")
        self.progress.setRange(0, 0)  # busy: no known end
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(10)
        self.progress.hide()
        self.status = named(QLabel(), "enroll_status")
        self.status.setWordWrap(True)
        self.status.setProperty("tone", "plain")
        self.detail = named(QLabel(), "enroll_detail")  # the technical reason, for IT staff
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.enroll = named(QPushButton(), "primary")
        self.scan = named(QPushButton(), "enroll_scan")
        self.stick = named(QPushButton(), "enroll_stick")
        self.back = named(QPushButton(), "enroll_back")
        for button in (self.enroll, self.scan, self.stick, self.back):
            button.setMinimumHeight(TOUCH_PX)
            button.setMinimumWidth(200)
        self.enroll.clicked.connect(self._submit)
        self.scan.clicked.connect(self.scan_requested)
        self.stick.clicked.connect(self.stick_requested)
        self.back.clicked.connect(self.back_requested)

        # The camera's view while scanning, in place of the code field.
        self.scan_box = named(QFrame(), "card")
        self.viewfinder = named(QLabel(), "viewfinder")
        self.viewfinder.setFixedSize(VIEWFINDER_PX * 4 // 3, VIEWFINDER_PX)
        self.viewfinder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._scan_hint = QLabel()
        self._scan_hint.setWordWrap(True)
        self.cancel_scan = named(QPushButton(), "enroll_cancel_scan")
        self.cancel_scan.setMinimumHeight(TOUCH_PX)
        self.cancel_scan.clicked.connect(self.scan_cancelled)
        scan_side = QVBoxLayout()
        scan_side.addWidget(self._scan_hint)
        scan_side.addStretch(1)
        scan_side.addWidget(self.cancel_scan)
        scan_layout = QHBoxLayout(self.scan_box)
        scan_layout.setContentsMargins(16, 16, 16, 16)
        scan_layout.addWidget(self.viewfinder)
        scan_layout.addLayout(scan_side, 1)
        self.scan_box.hide()

        card = named(QFrame(), "card")
        card_layout = QVBoxLayout(card)
        card_layout.setContentsMargins(28, 22, 28, 22)
        card_layout.setSpacing(12)
        card_layout.addWidget(self._room)
        card_layout.addWidget(self._explain)
        card_layout.addWidget(self._steps)

        buttons = QHBoxLayout()
        buttons.setSpacing(16)
        buttons.addWidget(self.back)
        buttons.addStretch(1)
        buttons.addWidget(self.stick)
        buttons.addWidget(self.scan)
        buttons.addWidget(self.enroll)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(56, 28, 56, 28)
        layout.setSpacing(14)
        layout.addWidget(self._heading)
        layout.addWidget(card)
        layout.addWidget(self.code)
        layout.addWidget(self._code_hint)
        layout.addWidget(self.scan_box)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.detail)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.setStyleSheet(
            "QLabel#enroll_heading { font-size: 28px; font-weight: 700; }"
            " QLabel#enroll_room { font-size: 22px; font-weight: 600; color: #1f5fae; }"
            " QLabel#enroll_steps { font-size: 17px; }"
            " QLabel#enroll_status { font-size: 19px; font-weight: 600; }"
            f" QLabel#enroll_status[tone='error'] {{ color: {ERROR_TEXT}; }}"
            " QLabel#enroll_status[tone='done'] { color: #1e7b34; }"
            " QLabel#enroll_detail { color: #5c6370; font-size: 14px; }"
            f" QLineEdit#pairing_code {{ font-size: {CODE_FONT_PX}px; font-family: monospace;"
            f" min-height: {CODE_FONT_PX * 2}px; border: 2px solid #9aa7b8;"
            " border-radius: 8px; background: white; }"
            " QLineEdit#pairing_code:focus { border-color: #1f5fae; }"
            " QPushButton { font-size: 18px; }"
            " QPushButton#enroll_scan:disabled { color: #6b717a; }"
            " QLabel#viewfinder { background: #1b1f24; color: white; border-radius: 6px; }"
        )
        self._room_name = ""
        self._scan_key = "enroll.scan"
        self._status_key: tuple[str, dict[str, object], str] | None = None
        self.retranslate()

    # --- state from the controller ------------------------------------------------------

    def show_room(self, room_name: str, code: str = "") -> None:
        self._room_name = room_name
        self._room.setText(tr("enroll.room", room=room_name))
        self.code.setText(grouped(code))
        self.set_busy(False)
        self.show_status(None)
        self.show_scanning(False)

    def set_busy(self, busy: bool) -> None:
        self.enroll.setEnabled(not busy)
        self.stick.setEnabled(not busy)
        self.scan.setEnabled(not busy and self._scan_key == "enroll.scan")
        self.back.setEnabled(not busy)
        self.code.setReadOnly(busy)
        self.progress.setVisible(busy)
        if busy:
            self.show_status("enroll.working", room=self._room_name)

    def show_status(
        self, key: str | None, tone: str = "plain", detail: str = "", **kw: object
    ) -> None:
        """A translated line under the code (None: nothing); ``detail`` is the English
        technical reason shown small beneath it."""
        self._status_key = None if key is None else (key, kw, tone)
        self.status.setText("" if key is None else tr(key, **kw))
        self.status.setProperty("tone", tone)
        self.status.style().unpolish(self.status)
        self.status.style().polish(self.status)
        self.detail.setText(detail)
        self.detail.setVisible(bool(detail))

    def set_error(self, key: str, detail: str = "", **kw: object) -> None:
        self.set_busy(False)
        self.show_status(key, "error", detail, **kw)

    def set_camera(self, key: str) -> None:
        """``enroll.scan`` when a camera can scan, else the key saying why not."""
        self._scan_key = key
        self.scan.setText(tr(key))
        self.scan.setEnabled(key == "enroll.scan" and self.enroll.isEnabled())

    def show_scanning(self, scanning: bool) -> None:
        self.scan_box.setVisible(scanning)
        self.code.setVisible(not scanning)
        self._code_hint.setVisible(not scanning)
        self.scan.setVisible(not scanning)
        self.stick.setVisible(not scanning)
        self.enroll.setVisible(not scanning)
        if scanning:
            self.viewfinder.setText(tr("enroll.camera_starting"))

    def show_frame(self, image: QImage) -> None:
        self.viewfinder.setPixmap(
            QPixmap.fromImage(image).scaled(
                self.viewfinder.size(),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        )

    # --- internals ----------------------------------------------------------------------

    def _tidy(self, text: str) -> None:
        """Regroup the typed code as XXXX-XXXX-…, keeping the cursor after the same
        character."""
        tidy = grouped(text)
        if tidy == text:
            return
        cursor = self.code.cursorPosition()
        kept = sum(1 for c in text[:cursor] if not c.isspace() and c != "-")
        position = 0
        while kept and position < len(tidy):
            if tidy[position] != "-":
                kept -= 1
            position += 1
        self.code.setText(tidy)
        self.code.setCursorPosition(position)

    def _submit(self) -> None:
        if not self.enroll.isEnabled():
            return
        if self.code.text().strip():
            self.enroll_requested.emit(self.code.text())
        else:
            self.set_error("enroll.error_empty", count=CODE_CHARS)

    def retranslate(self) -> None:
        self._heading.setText(tr("enroll.heading"))
        self._explain.setText(tr("enroll.explain"))
        self._steps.setText(tr("enroll.steps"))
        self._code_hint.setText(tr("enroll.code_hint", count=CODE_CHARS))
        self.code.setPlaceholderText("XXXX-XXXX-XXXX-XXXX")
        self.enroll.setText(tr("enroll.enroll"))
        self.back.setText(tr("enroll.back"))
        self.scan.setText(tr(self._scan_key))
        self.stick.setText(tr("enroll.from_stick"))
        self._scan_hint.setText(tr("enroll.scan_hint"))
        self.cancel_scan.setText(tr("enroll.cancel_scan"))
        if self._room_name:
            self._room.setText(tr("enroll.room", room=self._room_name))
        if self._status_key is not None:
            key, kw, tone = self._status_key
            self.show_status(key, tone, self.detail.text(), **kw)
