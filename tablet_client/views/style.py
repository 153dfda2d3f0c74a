"""Shared look of the tablet screens: touch-sized controls, high contrast."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QWidget

W = TypeVar("W", bound=QWidget)

ACCENT = "#1f5fae"
CURRENT_ITEM_BACKGROUND = "#fff1c2"
STATUS_COLOURS = {  # connection phase -> (background, text)
    "connected": ("#1e7b34", "#ffffff"),
    "connecting": ("#8a6d00", "#ffffff"),
    "retrying": ("#b35900", "#ffffff"),
    "offline": ("#5c6370", "#ffffff"),
    "idle": ("#5c6370", "#ffffff"),
    "stopped": ("#5c6370", "#ffffff"),
}

SCREEN_STYLE = f"""
QWidget {{ font-size: 15px; }}
QLabel#heading {{ font-size: 22px; font-weight: 600; }}
QLabel#subheading {{ color: #4a4f57; }}
QPushButton {{ min-height: 40px; padding: 4px 18px; }}
QPushButton#primary {{ background: {ACCENT}; color: white; border-radius: 6px; font-weight: 600; }}
QPushButton#primary:disabled {{ background: #9aa7b8; }}
QTreeWidget, QListWidget {{ font-size: 16px; }}
QTreeWidget::item, QListWidget::item {{ min-height: 40px; }}
"""


def scaled_font(widget: QWidget, factor: float, *, bold: bool = False) -> QFont:
    font = widget.font()
    if font.pointSizeF() > 0:
        font.setPointSizeF(font.pointSizeF() * factor)
    else:  # the style sheet sized it in pixels
        font.setPixelSize(round(font.pixelSize() * factor))
    font.setBold(bold)
    return font


def human_size(size: int) -> str:
    """Bytes as a person reads them (1 decimal, binary units)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def named(widget: W, name: str) -> W:
    """Give a widget the object name style sheets and tests find it by."""
    widget.setObjectName(name)
    return widget
