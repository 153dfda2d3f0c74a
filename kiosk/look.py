"""The room display's colours and the few widget helpers every panel uses.

Light text on a dark background; yellow for what the room must notice, green and red
for what passed or failed. Contrast ratios are against :data:`PANEL`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QWidget

from kiosk.vote_lines import Tone as Tone  # re-exported beside its colours
from room_client.timers import Level

BACKGROUND = "#07090d"
PANEL = "#131922"
PANEL_BORDER = "#2a3546"
WHITE = "#ffffff"
YELLOW = "#ffd43b"
MUTED = "#a9b8ca"  # 8:1
BLACK = "#000000"
GREEN = "#3ddc84"  # 10:1; black on it 11:1
RED = "#ff5b5b"  # 5.6:1
AMBER = "#ffab2e"
BLUE = "#4dabf7"
GREY = "#7d8796"
ALERT_BACKGROUND = "#c62828"  # white on it: 5.6:1
LEVEL_COLOURS = {
    Level.NORMAL: WHITE,
    Level.NEAR: AMBER,
    Level.OVER: RED,
}


TONE_COLOURS = {
    Tone.GOOD: GREEN,
    Tone.BAD: RED,
    Tone.NOTICE: AMBER,
    Tone.PLAIN: BLUE,
    Tone.QUIET: GREY,
}
# A pill (text on a coloured background): text colour and background.
PILL_COLOURS = {
    Tone.GOOD: (BLACK, GREEN),
    Tone.BAD: (WHITE, ALERT_BACKGROUND),
    Tone.NOTICE: (BLACK, AMBER),
    Tone.PLAIN: (WHITE, PANEL_BORDER),
    Tone.QUIET: (WHITE, PANEL_BORDER),
}

Align = Qt.AlignmentFlag


def label(name: str, align: Qt.AlignmentFlag = Align.AlignLeft | Align.AlignVCenter) -> QLabel:
    widget = QLabel()
    widget.setObjectName(name)
    widget.setAlignment(align)
    widget.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)  # never squeezed
    return widget


def frame(name: str) -> QFrame:
    widget = QFrame()
    widget.setObjectName(name)
    widget.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
    return widget


def colour(widget: QLabel, value: str) -> None:
    style(widget, f"color: {value};")


def pill(widget: QLabel, tone: Tone, scale: float) -> None:
    """``widget`` as a rounded tag in ``tone``'s colours."""
    text, background = PILL_COLOURS[tone]
    style(
        widget,
        f"color: {text}; background: {background};"
        f" border-radius: {max(1, round(8 * scale))}px;"
        f" padding: {max(1, round(2 * scale))}px {max(1, round(14 * scale))}px;",
    )


def style(widget: QWidget, sheet: str) -> None:
    if widget.styleSheet() != sheet:  # setting a style sheet re-polishes: only on change
        widget.setStyleSheet(sheet)


def repolish(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()
