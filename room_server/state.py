"""The state directory is the room's alone: 0700 directories, 0600 files, whatever the umask.

It holds the database (ballots, hashed PINs, the audit log), the documents (some
confidential), the room CA key and the room secret. Every ``room-server`` command runs
with umask 077 (:data:`UMASK`), so what it creates is private; :func:`make_private`
tightens what an earlier run under a looser umask (or a copy by hand) left open.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

UMASK = 0o077  # nothing the server writes is readable by group or others
_OPEN_TO_OTHERS = 0o077


def make_private(state_dir: Path) -> list[Path]:
    """Create ``state_dir`` (0700) if needed and take group and other permissions off
    every directory and file under it; return what had them (and log it)."""
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    opened: list[Path] = []
    for root, _dirs, files in os.walk(state_dir):  # each directory once; links not followed
        for path in (Path(root), *(Path(root, name) for name in files)):
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode) or not info.st_mode & _OPEN_TO_OTHERS:
                continue
            path.chmod(stat.S_IMODE(info.st_mode) & ~_OPEN_TO_OTHERS)
            opened.append(path)
    if opened:
        shown = ", ".join(str(p.relative_to(state_dir)) for p in opened[:5])
        more = f" and {len(opened) - 5} more" if len(opened) > 5 else ""
        log.warning(
            "%s was open to other users: made %d entries private (%s%s)",
            state_dir,
            len(opened),
            shown,
            more,
        )
    return opened
