"""The on-screen keyboard of a kiosk tablet: Qt Virtual Keyboard's InputPanel inside the
window, under the screens, shown while a text field has the focus.

Qt Virtual Keyboard's own "desktop" window does not stay up where the platform gives the
focus to a newly shown window (cage under Wayland, the offscreen platform): the text field
loses the focus and the keyboard hides at once. So the keyboard lives in the tablet's
window, in a QQuickWidget that never takes the focus, and the plugin is told not to open a
window of its own (QT_VIRTUALKEYBOARD_DESKTOP_DISABLE). Qt Virtual Keyboard comes with
PySide6-Addons (docs/dependencies.md); without it :func:`make_keyboard` says why and the
tablet runs without an on-screen keyboard. Imported only in kiosk mode (it loads Qt Quick).
"""

from __future__ import annotations

import logging
import os
from collections.abc import MutableMapping
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QColor
from PySide6.QtQuickWidgets import QQuickWidget
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

# Set before the QApplication exists (the input method plugin is chosen then).
KIOSK_ENVIRONMENT = {
    "QT_IM_MODULE": "qtvirtualkeyboard",
    "QT_VIRTUALKEYBOARD_DESKTOP_DISABLE": "1",  # the panel is in our window, not its own
}
LAYOUTS = {"en": "en_US", "vi": "vi_VN"}  # the tablet's language -> keyboard layout
PANEL_BACKGROUND = "#263238"  # the default keyboard style's background
MAX_SHARE = 0.4  # of the window's height: the field being typed in stays above the keys

PANEL_QML = Path(__file__).with_name("keyboard.qml")


def prepare_environment(environ: MutableMapping[str, str] = os.environ) -> None:
    """Choose the on-screen keyboard for this process (what the kiosk unit sets wins)."""
    for name, value in KIOSK_ENVIRONMENT.items():
        environ.setdefault(name, value)


class KeyboardView(QQuickWidget):
    """No height until a text field has the focus; as tall as the keyboard then."""

    toggled = Signal(bool)  # the keys came up (True) or went away

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("on_screen_keyboard")
        self.setResizeMode(QQuickWidget.ResizeMode.SizeRootObjectToView)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a key tap leaves the focus in the field
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setClearColor(QColor(PANEL_BACKGROUND))  # beside keys narrower than the screen
        # Folded to no height, never hidden: a hidden Quick scene does not open the panel.
        self.setFixedHeight(0)
        self.panel: QObject | None = None
        self.problem = ""  # why there is no keyboard ("" when there is one)
        self.setSource(QUrl.fromLocalFile(str(PANEL_QML)))
        root = self.rootObject()
        if self.status() is not QQuickWidget.Status.Ready or root is None:
            self.problem = "; ".join(e.toString() for e in self.errors()) or "not loaded"
            return
        self.panel = root
        root.shownChanged.connect(self._fit)  # type: ignore[attr-defined]
        root.panelHeightChanged.connect(self._fit)  # type: ignore[attr-defined]

    @property
    def shown(self) -> bool:
        return self.panel is not None and bool(self.panel.property("shown"))

    def set_language(self, code: str) -> None:
        if self.panel is not None:
            self.panel.setProperty("layout", LAYOUTS.get(code, "en_US"))

    def active_layout(self) -> str:
        return str(self.panel.property("activeLayout")) if self.panel is not None else ""

    def is_up(self) -> bool:
        """The keys are on screen."""
        return self.isVisible() and self.height() > 0

    def fit_window(self, window_height: int) -> None:
        """At most MAX_SHARE of ``window_height`` tall (narrower keys on a wide screen)."""
        if self.panel is not None:
            self.panel.setProperty("maxHeight", window_height * MAX_SHARE)

    def _fit(self) -> None:
        if self.panel is None or not shiboken6.isValid(self.panel):
            return  # the window is closing: the Quick scene went first
        height = round(float(self.panel.property("panelHeight")))
        up = self.shown and height > 0
        was_up = self.height() > 0
        self.setFixedHeight(height if up else 0)
        if up != was_up:
            self.toggled.emit(up)


def make_keyboard(parent: QWidget | None = None) -> KeyboardView | None:
    """The keyboard, or None (logged) when Qt Virtual Keyboard is not installed or was
    not chosen before the QApplication was made (:func:`prepare_environment`)."""
    if os.environ.get("QT_IM_MODULE") != KIOSK_ENVIRONMENT["QT_IM_MODULE"]:
        log.warning("no on-screen keyboard: QT_IM_MODULE is not qtvirtualkeyboard")
        return None
    view = KeyboardView(parent)
    if view.panel is None:
        log.warning("no on-screen keyboard (PySide6-Addons installed?): %s", view.problem)
        view.deleteLater()
        return None
    return view
