"""Reading an enrollment stick on a tablet (format: :mod:`room_protocol.enrollment_stick`).

:func:`find_stick` looks for one under the folders where sticks are mounted;
:class:`EnrollmentStick` gives its unused tokens in order and marks one used by renaming
it (when the stick is writable: the room refuses a used token anyway).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from room_protocol.enrollment import PairingCode
from room_protocol.enrollment_stick import (
    MAX_ROOM_FILE,
    MAX_TOKEN_FILE,
    ROOM_FILE,
    STICK_FOLDER,
    STICK_MARKER,
    TOKEN_SUFFIX,
    USED_SUFFIX,
    StickRoom,
    is_token_name,
    parse_token,
)
from room_protocol.errors import ProtocolError

log = logging.getLogger(__name__)

# Where a kiosk tablet's udev rule mounts a stick: /run/hemicycle-tablet/stick/sdb1
# (systemd/90-hemicycle-tablet-stick.rules).
KIOSK_STICK_ROOT = Path("/run/hemicycle-tablet/stick")
# The kiosk's, then a desktop's (udisks: /media/USER/LABEL, /run/media/USER/LABEL).
MOUNT_ROOTS = (KIOSK_STICK_ROOT, Path("/media"), Path("/run/media"))
MAX_DEPTH = 2  # /media/LABEL or /media/USER/LABEL


class StickError(Exception):
    """The stick cannot be used; ``str()`` says why (English, for IT staff and logs)."""


@dataclass(frozen=True, slots=True)
class StickToken:
    path: Path
    code: PairingCode


def is_enrollment_stick(root: Path) -> bool:
    return (root / STICK_MARKER).is_file() and (root / STICK_FOLDER).is_dir()


def find_stick(roots: Iterable[Path] = MOUNT_ROOTS) -> Path | None:
    """The first enrollment stick mounted under ``roots`` (a root may be one itself)."""
    for root in roots:
        level = [root]
        for _depth in range(MAX_DEPTH + 1):
            below: list[Path] = []
            for folder in level:
                if is_enrollment_stick(folder):
                    return folder
                try:
                    below += sorted(p for p in folder.iterdir() if p.is_dir())
                except OSError:
                    continue
            level = below
    return None


class EnrollmentStick:
    def __init__(self, root: Path) -> None:
        """StickError when ``root`` is not a readable enrollment stick."""
        if not is_enrollment_stick(root):
            raise StickError(f"{root} is not an enrollment stick ({STICK_MARKER} missing)")
        self.root = root
        self.folder = root / STICK_FOLDER
        try:
            self.room = StickRoom.parse(_read(self.folder / ROOM_FILE, MAX_ROOM_FILE))
        except (OSError, ProtocolError) as exc:
            raise StickError(f"{ROOM_FILE} on the stick cannot be read: {exc}") from exc

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.room.expires_ts

    def unused(self) -> list[StickToken]:
        """The tokens not yet used, in order; a damaged one is skipped (and logged)."""
        tokens = []
        for entry in sorted(os.scandir(self.folder), key=lambda e: e.name):
            if not (is_token_name(entry.name) and entry.name.endswith(TOKEN_SUFFIX)):
                continue
            if not entry.is_file(follow_symlinks=False):
                continue
            path = Path(entry.path)
            try:
                tokens.append(StickToken(path, parse_token(_read(path, MAX_TOKEN_FILE), self.room)))
            except (OSError, ProtocolError) as exc:
                log.warning("skipping %s on the stick: %s", entry.name, exc)
        return tokens

    def mark_used(self, token: StickToken) -> bool:
        """Rename the token ``NNN.used``; False when the stick is read-only."""
        try:
            token.path.rename(token.path.with_suffix(USED_SUFFIX))
        except OSError as exc:
            log.warning("could not mark %s used on the stick: %s", token.path.name, exc)
            return False
        return True


def _read(path: Path, limit: int) -> bytes:
    with path.open("rb") as f:
        return f.read(limit + 1)
