"""Debian packages a test needs, installed by tests/tools/ensure-command.sh when missing."""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

ENSURE = Path(__file__).resolve().parent / "tools" / "ensure-command.sh"


def ensure(command: str, package: str) -> str | None:
    """None once ``command`` (or a shared library such as ``libpulse.so.0``) is there,
    installing ``package`` when it is missing; else the reason it is not."""
    result = subprocess.run(
        ["sh", str(ENSURE), command, package], capture_output=True, text=True, check=False
    )
    if result.returncode == 0:
        return None
    return result.stdout.strip() or result.stderr.strip() or f"{command}: not available"


def qt_multimedia() -> ModuleType:
    """PySide6.QtMultimedia, with the system library it links (Debian's libpulse0)
    installed first when missing; the test is skipped with the reason when it cannot load."""
    try:
        return importlib.import_module("PySide6.QtMultimedia")
    except ModuleNotFoundError:
        pytest.skip("Qt Multimedia is in PySide6-Addons (the tablet-camera extra)")
    except ImportError as exc:
        problem = ensure("libpulse.so.0", "libpulse0")
        if problem is not None:
            pytest.skip(f"Qt Multimedia cannot load ({exc}): {problem}")
    return importlib.import_module("PySide6.QtMultimedia")
