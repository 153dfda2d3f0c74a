"""What a client keeps on its device is its own: 0700 directories, 0600 files.

A tablet's cache holds the meeting's documents (some confidential) and its identity.
The client programs run with umask 077 (:data:`UMASK`), and the cache creates its files
0600 itself; :func:`make_private` tightens what an earlier run left open.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

UMASK = 0o077
_OPEN_TO_OTHERS = 0o077


def make_private(root: Path) -> list[Path]:
    """Create ``root`` (0700) if needed and take group and other permissions off every
    directory and file under it; return what had them (and log it)."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    opened: list[Path] = []
    for top, _dirs, files in os.walk(root):  # each directory once; links not followed
        for path in (Path(top), *(Path(top, name) for name in files)):
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode) or not info.st_mode & _OPEN_TO_OTHERS:
                continue
            path.chmod(stat.S_IMODE(info.st_mode) & ~_OPEN_TO_OTHERS)
            opened.append(path)
    if opened:
        log.warning("%s was open to other users: made %d entries private", root, len(opened))
    return opened


def create_private(path: Path, *, append: bool = False) -> int:
    """A file descriptor for writing ``path``, created 0600 whatever the umask."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    return os.open(path, flags, 0o600)
