"""Guard against a PySide6 release that corrupts reference counts (seen in 6.12.0 on
CPython 3.11: every void call dropped a reference to None, every emit one to True, and
the tablet aborted after a few thousand UI operations). pyproject.toml pins around it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

HAMMER = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QApplication, QWidget

    class Ticker(QObject):
        ticked = Signal()

    app = QApplication([])
    widget, ticker = QWidget(), Ticker()
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(20_000):
        widget.setVisible(False)
        ticker.ticked.emit()
    print(sys.getrefcount(None) - none_before, sys.getrefcount(True) - true_before)
    """
)


def test_qt_calls_do_not_leak_or_steal_references() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-c", HAMMER],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    none_delta, true_delta = (int(x) for x in result.stdout.split())
    assert abs(none_delta) < 100 and abs(true_delta) < 100, result.stdout
