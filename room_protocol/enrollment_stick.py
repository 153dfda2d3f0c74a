"""The enrollment stick: what ``room-provision stick enroll`` writes and a tablet reads.

At the top of the stick, :data:`STICK_MARKER` (the file by which the room server's USB
watcher knows a provisioning stick, and leaves it alone) and the folder
:data:`STICK_FOLDER`, holding:

- ``room.json``: the room's id and name, the sha256 of its CA certificate and when the
  tokens expire. The CA's sha256 pins the room: a tablet gives a token only to a room that
  shows this CA and a server certificate the CA issued, which takes the CA's key;
- ``001.token``, ``002.token``, …: one pairing link each (``hemicycle://enroll?code=…``,
  :mod:`room_protocol.enrollment`), good for one tablet until they expire. A tablet that
  used one renames it ``001.used``.

The token files are secrets (each enrolls a tablet): 0600, and the stick is kept like a key.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from room_protocol.enrollment import PairingCode
from room_protocol.errors import ErrorCode, ProtocolError
from room_protocol.messages import SHA256_RE

STICK_MARKER = "HEMICYCLE-PROVISION"
STICK_FOLDER = "hemicycle-enroll"
ROOM_FILE = "room.json"
TOKEN_SUFFIX = ".token"  # noqa: S105 - a file name ending, not a secret
USED_SUFFIX = ".used"
STICK_FORMAT = 1
MAX_TOKENS = 999  # three digits of file name
MAX_ROOM_FILE = 4096  # bytes
MAX_TOKEN_FILE = 400  # bytes: one link
_TOKEN_NAME_RE = re.compile(r"[0-9]{3}\.(token|used)")
_ROOM_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")

MARKER_TEXT = (
    "This USB stick enrolls tablets in a Hemicycle room. It holds one-time enrollment\n"
    "tokens: keep it like a key, and wipe it once the tablets are enrolled.\n"
    "Put it into a tablet (not the room server) and choose 'From USB stick'.\n"
)


@dataclass(frozen=True, slots=True)
class StickRoom:
    """``room.json``: the room the stick's tokens are for."""

    room_id: str
    room_name: str
    ca_sha256: str  # hex, lower case
    expires_ts: float  # epoch seconds: the tokens' end

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": STICK_FORMAT,
                "room_id": self.room_id,
                "room_name": self.room_name,
                "ca_sha256": self.ca_sha256,
                "expires_ts": self.expires_ts,
            },
            ensure_ascii=False,
            indent=2,
        ).encode()

    @classmethod
    def parse(cls, raw: bytes) -> StickRoom:
        """ProtocolError says what is wrong with the file."""
        if len(raw) > MAX_ROOM_FILE:
            raise ProtocolError(ErrorCode.TOO_LARGE, f"{ROOM_FILE} is larger than it can be")
        try:
            data: Any = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError(ErrorCode.MALFORMED, f"{ROOM_FILE} is not JSON") from None
        if not isinstance(data, dict) or data.get("format") != STICK_FORMAT:
            raise ProtocolError(
                ErrorCode.VERSION_MISMATCH, f"{ROOM_FILE} is not of a format this tablet reads"
            )
        room_id, name = data.get("room_id"), data.get("room_name", "")
        ca, expires = data.get("ca_sha256"), data.get("expires_ts")
        if not isinstance(room_id, str) or not _ROOM_ID_RE.fullmatch(room_id):
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{ROOM_FILE}: the room id is malformed")
        if not isinstance(ca, str) or not SHA256_RE.fullmatch(ca):
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{ROOM_FILE}: the CA sha256 is malformed")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{ROOM_FILE}: no expiry time")
        if not isinstance(name, str):
            raise ProtocolError(ErrorCode.BAD_FIELD, f"{ROOM_FILE}: the room name is not text")
        return cls(room_id, name[:200], ca, float(expires))


def token_name(number: int) -> str:
    if not 1 <= number <= MAX_TOKENS:
        raise ValueError(f"a stick holds 1 to {MAX_TOKENS} tokens")
    return f"{number:03d}{TOKEN_SUFFIX}"


def is_token_name(name: str) -> bool:
    return bool(_TOKEN_NAME_RE.fullmatch(name))


def parse_token(raw: bytes, room: StickRoom) -> PairingCode:
    """A token file's pairing link, which must name the stick's room and CA."""
    if len(raw) > MAX_TOKEN_FILE:
        raise ProtocolError(ErrorCode.TOO_LARGE, "the token is larger than a pairing link")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise ProtocolError(ErrorCode.MALFORMED, "the token is not a pairing link") from None
    code = PairingCode.parse(text)
    if code.ca_sha256 is None:
        raise ProtocolError(ErrorCode.BAD_FIELD, "the token is not a pairing link")
    if code.ca_sha256 != room.ca_sha256 or code.room_id != room.room_id:
        raise ProtocolError(ErrorCode.BAD_FIELD, "the token is for another room than the stick")
    return code
