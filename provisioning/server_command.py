"""The ``room-server`` command, as provisioning drives it: the room server is the one
owner of the room's keys and database schema, so provisioning asks it (``init``,
``backup``, ``inspect``) instead of importing its code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The room-server of this installation: the same interpreter, so the same venv.
_COMMAND = (sys.executable, "-m", "room_server")


class RoomServerError(RuntimeError):
    """``room-server`` refused (bad configuration, unreadable state): its own message."""


@dataclass(frozen=True, slots=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


def room_server(config: Path, *args: str, capture: bool = True) -> Finished:
    """Run ``room-server --config CONFIG ARGS...``; its output is passed through unless
    ``capture``."""
    result = subprocess.run(
        [*_COMMAND, "--config", str(config), *args],
        capture_output=capture,
        text=True,
        check=False,
        env={**os.environ},
    )
    return Finished(result.returncode, result.stdout or "", result.stderr or "")


def inspect(config: Path) -> dict[str, Any]:
    """``room-server inspect``: the configuration the room runs with and its state."""
    result = room_server(config, "inspect")
    if result.returncode != 0:
        raise RoomServerError(result.stderr.strip() or f"room-server exited {result.returncode}")
    facts: dict[str, Any] = json.loads(result.stdout)
    return facts
