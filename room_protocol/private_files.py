"""What every Hemicycle program keeps on disk is its own: 0700 directories, 0600 files,
whatever the umask.

The room server's state directory holds the database (ballots, hashed PINs, the audit
log), the documents (some confidential), the room CA key, the signing key and the room
secret; a tablet's cache holds documents and its device key. Every program runs with
umask 077 (:data:`UMASK`), so what it creates is private; :func:`make_private` tightens
what an earlier run under a looser umask (or a copy by hand) left open, and
:func:`create_private` makes a file 0600 whatever the umask.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

UMASK = 0o077  # nothing the server writes is readable by group or others
_OPEN_TO_OTHERS = 0o077


def make_private(root: Path) -> list[Path]:
    """Create ``root`` (0700) if needed and take group and other permissions off
    every directory and file under it; return what had them (and log it)."""
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
        shown = ", ".join(str(p.relative_to(root)) for p in opened[:5])
        more = f" and {len(opened) - 5} more" if len(opened) > 5 else ""
        log.warning(
            "%s was open to other users: made %d entries private (%s%s)",
            root,
            len(opened),
            shown,
            more,
        )
    return opened


def create_private(path: Path, *, append: bool = False) -> int:
    """A file descriptor for writing ``path``, created 0600 whatever the umask."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    return os.open(path, flags, 0o600)


def write_private(path: Path, data: bytes) -> None:
    """Write a key or a credential 0600, whatever the umask: complete and on disk (a
    temporary file beside it, fsync'd, then renamed) before it replaces an older one."""
    tmp = path.with_name(path.name + ".tmp")
    with os.fdopen(create_private(tmp), "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
