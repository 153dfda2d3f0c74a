"""``room-provision stick enroll``: an enrollment stick for a cart of tablets.

The room makes the one-time pairing codes (``room-server enroll --count N --json``, the
same codes as the chair console's); this writes them, with the room CA's sha256 that pins
the room, in the format of :mod:`room_protocol.enrollment_stick`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from room_protocol.enrollment import PairingCode
from room_protocol.enrollment_stick import (
    MARKER_TEXT,
    MAX_TOKENS,
    ROOM_FILE,
    STICK_FOLDER,
    STICK_MARKER,
    StickRoom,
    is_token_name,
    token_name,
)
from room_protocol.errors import ProtocolError
from room_protocol.private_files import write_private

MAX_HOURS = 24  # room-server enroll: a pairing code lives at most 1,440 minutes


class StickError(Exception):
    """The stick was not written; ``str()`` says why."""


@dataclass(frozen=True, slots=True)
class WrittenStick:
    room: StickRoom
    tokens: int
    replaced: int  # tokens of an earlier enrollment stick removed from it


def check_request(count: int, hours: float) -> None:
    if not 1 <= count <= MAX_TOKENS:
        raise StickError(f"--count must be 1 to {MAX_TOKENS}")
    if not 1 / 60 <= hours <= MAX_HOURS:
        raise StickError(f"--expires must be 1 minute to {MAX_HOURS} hours")


def room_of(lines: str, room_name: str) -> tuple[StickRoom, list[str]]:
    """The room and the links from ``room-server enroll --json`` output (a JSON object a
    line)."""
    links: list[str] = []
    room: StickRoom | None = None
    for line in lines.splitlines():
        if not line.strip():
            continue
        made = json.loads(line)
        link = str(made["link"])
        try:
            code = PairingCode.parse(link)
        except ProtocolError as exc:
            raise StickError(f"room-server made a link this cannot read: {exc}") from exc
        assert code.ca_sha256 is not None and code.room_id is not None
        this = StickRoom(code.room_id, room_name, code.ca_sha256, float(made["expires_ts"]))
        if room is not None and (room.room_id, room.ca_sha256) != (this.room_id, this.ca_sha256):
            raise StickError("room-server made codes of two rooms")
        if room is None or this.expires_ts < room.expires_ts:
            room = this  # the stick says when its first token ends
        links.append(link)
    if room is None:
        raise StickError("room-server made no code")
    return room, links


def write_stick(root: Path, room: StickRoom, links: list[str]) -> WrittenStick:
    """The tokens, ``room.json`` and, last, the marker: a stick pulled half-way is not taken
    for an enrollment stick. Tokens of an earlier run are removed first."""
    folder = root / STICK_FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    replaced = 0
    for entry in os.scandir(folder):
        if is_token_name(entry.name) or entry.name == ROOM_FILE:
            replaced += entry.name != ROOM_FILE
            Path(entry.path).unlink()
    for number, link in enumerate(links, start=1):
        write_private(folder / token_name(number), link.encode("ascii") + b"\n")
    write_private(folder / ROOM_FILE, room.to_json() + b"\n")
    write_private(root / STICK_MARKER, MARKER_TEXT.encode())
    os.sync()  # on the stick before IT staff pull it
    return WrittenStick(room, len(links), replaced)
