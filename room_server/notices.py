"""Notices the room's own programs raise for the chair, the clerks and the room display.

``room-server notice`` (run by the USB watcher, as the room's user) drops one file per
notice into ``<state dir>/notices/``; the running server picks them up on its store poll,
deletes them and sends each as ``room.notice``. Only who may write the state directory
can raise one: no tablet message does.
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path

from room_protocol import decode, encode
from room_protocol.errors import ErrorCode, ProtocolError
from room_protocol.notices import RoomNotice
from room_protocol.private_files import write_private

log = logging.getLogger(__name__)

NOTICES_DIR = "notices"
MAX_NOTICE_BYTES = 4096  # one encoded room.notice is well under 2 KiB
MAX_PER_POLL = 20  # a flood of files waits for the next polls instead of one long send


def drop(state_dir: Path, notice: RoomNotice) -> Path:
    """Leave ``notice`` for the running server (complete before it is visible)."""
    folder = state_dir / NOTICES_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    # Names sort in the order the notices were raised.
    path = folder / f"{time.time_ns():020d}-{secrets.token_hex(4)}.json"
    write_private(path, encode(notice).encode())
    return path


def collect(state_dir: Path) -> list[RoomNotice]:
    """The notices waiting, oldest first, each removed once read; a file that is not a
    ``room.notice`` is logged and removed."""
    folder = state_dir / NOTICES_DIR
    if not folder.is_dir():
        return []
    found: list[RoomNotice] = []
    for path in sorted(folder.glob("*.json"))[:MAX_PER_POLL]:
        try:
            with path.open("rb") as f:
                data = f.read(MAX_NOTICE_BYTES + 1)
            path.unlink()
        except OSError as exc:
            log.warning("cannot read the notice %s: %s", path.name, exc)
            continue
        try:
            if len(data) > MAX_NOTICE_BYTES:
                raise ProtocolError(ErrorCode.TOO_LARGE, f"over {MAX_NOTICE_BYTES} bytes")
            message = decode(data)
        except ProtocolError as exc:
            log.warning("ignoring the notice %s: %s", path.name, exc)
            continue
        if not isinstance(message, RoomNotice):
            log.warning("ignoring the notice %s: a %s, not a room.notice", path.name, message.TYPE)
            continue
        found.append(message)
    return found
