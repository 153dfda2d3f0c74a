"""Run by test_kiosk_keyboard.py in a process of its own (the input method is chosen when
the QApplication is made): the tablet's window in kiosk mode, offscreen, a tap on a text
field, a tap on a key of the on-screen keyboard; prints what happened as JSON.

    python -m tests.tablet_client.keyboard_probe SHOTS_DIR
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QPointF, Qt
from PySide6.QtQuick import QQuickItem
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tablet_client.i18n import set_language
from tablet_client.views import keyboard_view
from tablet_client.views.main_window import MainWindow

SIZES = ((1280, 800), (1920, 1200))
NO_MODIFIER = Qt.KeyboardModifier.NoModifier


def wait(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        QApplication.processEvents()
        time.sleep(0.01)
    return True


def keys(item: QQuickItem) -> dict[str, QQuickItem]:
    """The keyboard's letter keys by the text they type."""
    found: dict[str, QQuickItem] = {}
    for child in item.childItems():
        text = child.property("text")
        if isinstance(text, str) and text and child.property("key") is not None:
            found.setdefault(text, child)
        found.update({k: v for k, v in keys(child).items() if k not in found})
    return found


def main(shots: Path) -> dict[str, object]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_QUICK_BACKEND", "software")  # grabs without a GPU
    keyboard_view.prepare_environment()  # what `hemicycle-tablet --fullscreen` does
    app = QApplication(sys.argv[:1])
    window = MainWindow()
    keyboard = keyboard_view.make_keyboard()
    if keyboard is None:
        probe = keyboard_view.KeyboardView()
        return {"available": False, "problem": probe.problem or "QT_IM_MODULE not set"}
    window.add_keyboard(keyboard)
    window.resize(*SIZES[0])
    window.show()
    field = window.enroll_view.code  # the pairing code IT staff type in
    window.show_screen(window.enroll_view)
    window.enroll_view.setFocus()  # nothing typed yet
    wait(lambda: window.isVisible())
    result: dict[str, object] = {"available": True, "shown_before": keyboard.is_up()}
    QTest.mouseClick(field, Qt.MouseButton.LeftButton)
    result["shown"] = wait(lambda: keyboard.is_up() and keyboard.height() > 100)
    result["height"] = keyboard.height()
    root = keyboard.rootObject()
    pressed = ""
    for letter in ("k", "e", "y"):
        key = keys(root).get(letter)
        if key is None:
            continue
        centre = key.mapToScene(QPointF(key.width() / 2, key.height() / 2)).toPoint()
        QTest.mouseClick(keyboard, Qt.MouseButton.LeftButton, NO_MODIFIER, centre)
        wait(lambda: False, 0.2)
        pressed += letter
    result["pressed"] = pressed
    result["typed"] = field.text()
    result["focus_kept"] = QApplication.focusWidget() is field
    result["field_visible"] = field.visibleRegion().boundingRect().height() > 0
    result["window_height"] = window.height()  # the window did not grow for the keys
    layouts = {}
    shots.mkdir(parents=True, exist_ok=True)
    for language in ("en", "vi"):
        set_language(language)
        window.retranslate()
        wanted = keyboard_view.LAYOUTS[language]
        wait(lambda: keyboard.active_layout() == wanted, 3)  # noqa: B023  used at once
        layouts[language] = keyboard.active_layout()
        held = keys(keyboard.rootObject())  # what holding a key offers, in this layout
        result[f"held_{language}"] = {k: str(held[k].property("alternativeKeys")) for k in "du"}
        for width, height in SIZES:
            window.resize(width, height)
            wait(lambda: False, 0.3)
            result[f"keyboard_height_{height}"] = keyboard.height()
            result[f"window_height_{height}"] = window.height()
            window.grab().save(str(shots / f"8-kiosk-keyboard-{language}-{width}x{height}.png"))
    result["layouts"] = layouts
    window.show_screen(window.sign_in_view)  # the next screen: no text field has the focus
    result["hidden_after"] = wait(lambda: not keyboard.is_up(), 5)
    app.quit()
    return result


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))), flush=True)
