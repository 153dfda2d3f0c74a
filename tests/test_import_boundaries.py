"""Imports go one way, and importing a package does no work (STYLE.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent(
    """
    import importlib, json, logging, pkgutil, sys, threading
    root = importlib.import_module(sys.argv[1])
    names = [root.__name__]
    if hasattr(root, "__path__"):
        names += [m.name for m in pkgutil.walk_packages(root.__path__, root.__name__ + ".")
                  if not m.name.endswith("__main__")]
    for name in names:
        importlib.import_module(name)
    print(json.dumps({
        "modules": sorted(sys.modules),
        "threads": threading.active_count(),
        "log_handlers": len(logging.getLogger().handlers),
    }))
    """
)


def imported_by(package: str) -> dict[str, object]:
    """What a fresh interpreter has loaded after importing every module of ``package``
    (``bench`` too: its modules are imported one by one like any package's)."""
    env = {"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"}
    if "PYTHONPATH" in os.environ:  # check the checked-out code, not an installed copy
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    result = subprocess.run(
        [sys.executable, "-c", PROBE, package],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=env,
    )
    return dict(json.loads(result.stdout))


def top_level(modules: object) -> set[str]:
    assert isinstance(modules, list)
    return {name.split(".")[0] for name in modules}


FORBIDDEN = {
    "room_protocol": {
        "room_server",
        "tablet_client",
        "kiosk",
        "provisioning",
        "websockets",
        "zeroconf",
        "PySide6",
        "pymupdf",
        "sqlite_utils",
        "pyudev",
    },
    "room_client": {
        "room_server",
        "tablet_client",
        "kiosk",
        "provisioning",
        "PySide6",
        "qasync",
        "pymupdf",
        "fitz",
        "sqlite_utils",
        "pyudev",
    },
    "tablet_client": {"room_server", "kiosk", "provisioning", "pyudev", "sqlite_utils"},
    "room_server": {"room_client", "tablet_client", "kiosk", "provisioning", "PySide6", "pyudev"},
    "kiosk": {"room_server", "tablet_client", "provisioning", "pyudev", "sqlite_utils"},
    "provisioning": {"room_server", "room_client", "tablet_client", "kiosk", "PySide6"},
    "bench": {"tablet_client", "kiosk", "PySide6", "pyudev"},
}


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_go_one_way_and_do_no_work(package: str) -> None:
    seen = imported_by(package)
    leaked = top_level(seen["modules"]) & FORBIDDEN[package]
    assert not leaked, f"importing {package} (all of its modules) pulls in {sorted(leaked)}"
    assert seen["threads"] == 1, "importing started a thread"
    assert seen["log_handlers"] == 0, "importing configured logging"


def test_tablet_process_never_loads_pymupdf() -> None:
    """PyMuPDF holds the GIL: on the tablet it lives only in the render worker process."""
    seen = imported_by("tablet_client")
    assert "pymupdf" not in top_level(seen["modules"])
    assert "fitz" not in top_level(seen["modules"])


def test_display_process_never_loads_pymupdf() -> None:
    """Likewise the room display: PyMuPDF only in kiosk.page_render's worker process."""
    seen = imported_by("kiosk")
    assert "pymupdf" not in top_level(seen["modules"])
    assert "fitz" not in top_level(seen["modules"])
