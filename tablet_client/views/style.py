"""Shared look of the tablet screens: touch-sized controls, high contrast."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QPushButton,
    QTreeWidget,
    QWidget,
)

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

STRIP_COLOURS = {  # strip kind -> (background, text)
    "info": ("#1f5fae", "#ffffff"),  # an announcement to everyone
    "personal": ("#5b2a86", "#ffffff"),  # a message to this seat
    "notice": ("#fff1c2", "#3d3000"),  # a late document
    "warning": ("#b35900", "#ffffff"),  # not at the assigned seat
    "following": ("#1e7b34", "#ffffff"),  # the reader follows the chair
    "browsing": ("#5c6370", "#ffffff"),  # the reader browses freely
    "confirm": ("#e3f4e8", "#0f4d21"),  # something this tablet asked for was done
    "vote": ("#7a1f5c", "#ffffff"),  # a poll is open: vote
    "closed": ("#2b2f36", "#ffffff"),  # the meeting is closed
}
INDICATOR_COLOURS = {  # attendance indicator kind -> (background, text)
    "met": ("#1e7b34", "#ffffff"),  # quorum met; checked in
    "not_met": ("#b00020", "#ffffff"),  # quorum not met
    "absent": ("#b35900", "#ffffff"),  # this member is not checked in
    "neutral": ("#e6e9ee", "#1b1f24"),
}
ERROR_TEXT = "#b00020"
_HERE = Path(__file__).parent
CHECK_MARK = (_HERE / "check-mark.svg").as_posix()  # white, for a checked box
TOUCH_STEP = 48  # px: the - and + of a number field, each a finger wide and the field tall
# A number field for fingers: "-" at its left, "+" at its right, each TOUCH_STEP square
# (the style's stacked arrows are about 14 x 20 px).
SPIN_STYLE = f"""
QAbstractSpinBox {{ min-height: {TOUCH_STEP}px; font-size: 17px;
    padding-left: {TOUCH_STEP + 4}px; padding-right: {TOUCH_STEP + 4}px; }}
QAbstractSpinBox::up-button, QAbstractSpinBox::down-button {{ subcontrol-origin: border;
    width: {TOUCH_STEP}px; height: {TOUCH_STEP}px; background: #eef1f5;
    border: 1px solid #c9ced6; border-radius: 6px; }}
QAbstractSpinBox::up-button {{ subcontrol-position: center right; }}
QAbstractSpinBox::down-button {{ subcontrol-position: center left; }}
QAbstractSpinBox::up-button:pressed, QAbstractSpinBox::down-button:pressed {{
    background: #dbe8f7; }}
QAbstractSpinBox::up-arrow {{ image: url({(_HERE / "plus.svg").as_posix()}); width: 22px;
    height: 22px; }}
QAbstractSpinBox::down-arrow {{ image: url({(_HERE / "minus.svg").as_posix()}); width: 22px;
    height: 22px; }}
QAbstractSpinBox::up-arrow:disabled, QAbstractSpinBox::up-arrow:off,
QAbstractSpinBox::down-arrow:disabled, QAbstractSpinBox::down-arrow:off {{ image: none; }}
"""

# Radio buttons and checkboxes drawn by the style sheet (sizing an indicator in a sheet
# leaves it undrawn): a ring or a box before any tap, filled once chosen.
INDICATOR_STYLE = f"""
QRadioButton, QCheckBox {{ spacing: 14px; }}
QRadioButton::indicator, QCheckBox::indicator {{ width: 26px; height: 26px;
    border: 3px solid #4a5568; background: white; }}
QRadioButton::indicator {{ border-radius: 16px; }}
QCheckBox::indicator {{ border-radius: 5px; }}
QRadioButton::indicator:checked {{ border-color: {ACCENT}; background: qradialgradient(
    cx: 0.5, cy: 0.5, radius: 0.5, fx: 0.5, fy: 0.5,
    stop: 0 {ACCENT}, stop: 0.55 {ACCENT}, stop: 0.62 white, stop: 1 white); }}
QCheckBox::indicator:checked {{ border-color: {ACCENT}; background: {ACCENT};
    image: url({CHECK_MARK}); }}
QRadioButton::indicator:disabled, QCheckBox::indicator:disabled {{
    border-color: #b8bec7; background: #eef0f3; }}
QRadioButton::indicator:checked:disabled {{ border-color: #6b7f99; background: qradialgradient(
    cx: 0.5, cy: 0.5, radius: 0.5, fx: 0.5, fy: 0.5,
    stop: 0 #6b7f99, stop: 0.55 #6b7f99, stop: 0.62 #eef0f3, stop: 1 #eef0f3); }}
QCheckBox::indicator:checked:disabled {{ border-color: #6b7f99; background: #6b7f99;
    image: url({CHECK_MARK}); }}
"""

SCREEN_STYLE = (
    INDICATOR_STYLE
    + f"""
QWidget {{ font-size: 15px; }}
QLabel#heading {{ font-size: 22px; font-weight: 600; }}
QLabel#subheading {{ color: #4a4f57; }}
QPushButton {{ min-height: 40px; padding: 4px 18px; }}
QPushButton#primary {{ background: {ACCENT}; color: white; border-radius: 6px; font-weight: 600; }}
QPushButton#primary:disabled {{ background: #9aa7b8; }}
QPushButton#reader_speakers {{ font-weight: 600; min-height: 44px; }}
QPushButton#reader_speakers:checked {{ background: {ACCENT}; color: white; border-radius: 6px; }}
QTreeWidget, QListWidget {{ font-size: 16px; }}
QTreeWidget::item, QListWidget::item {{ min-height: 40px; }}
QLabel#section {{ font-size: 17px; font-weight: 600; }}
QLabel#sign_in_error {{ color: {ERROR_TEXT}; font-size: 17px; font-weight: 600; }}
QLabel#hint {{ color: #4a4f57; }}
QLabel#identity {{ font-weight: 600; }}
QFrame#card {{ background: #f3f5f8; border: 1px solid #d5dae1; border-radius: 10px; }}
QLabel#pin_display {{ font-size: 30px; font-weight: 700; min-height: 48px; }}
QLabel#pin_display[empty="true"] {{ font-size: 17px; font-weight: 400; color: #6b717a; }}
QPushButton#pin_key {{ font-size: 26px; font-weight: 600; border-radius: 8px;
    background: #ffffff; border: 1px solid #c9ced6; min-height: 60px; min-width: 88px; }}
QPushButton#pin_key:pressed {{ background: #dbe8f7; }}
QLineEdit, QSpinBox, QComboBox {{ min-height: 40px; font-size: 16px; }}
"""
)


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


def touch_spin_box(spin: W) -> W:
    """Give a number field touch-sized "-" and "+" on either side (SPIN_STYLE)."""
    spin.setStyleSheet(SPIN_STYLE)
    spin.setMinimumWidth(2 * TOUCH_STEP + 90)
    return spin


def console_button(name: str, *, height: int = 48) -> QPushButton:
    """A button of the chair's console: touch-sized, never takes the keyboard focus."""
    button = named(QPushButton(), name)
    button.setMinimumHeight(height)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return button


def agenda_tree(name: str, columns: int) -> QTreeWidget:
    """An agenda as a tree: number, title (takes the spare width), then ``columns - 2``
    narrow columns sized to their contents; one item selected at a time."""
    tree = named(QTreeWidget(), name)
    tree.setColumnCount(columns)
    tree.setRootIsDecorated(True)
    tree.setUniformRowHeights(True)
    tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    header = tree.header()
    header.setStretchLastSection(False)
    for column in range(columns):
        mode = (
            QHeaderView.ResizeMode.Stretch
            if column == 1
            else QHeaderView.ResizeMode.ResizeToContents
        )
        header.setSectionResizeMode(column, mode)
    return tree
