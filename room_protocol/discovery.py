"""The mDNS/DNS-SD discovery contract (RFC 6762, RFC 6763).

A room server advertises :data:`SERVICE_TYPE` with a small TXT record. mDNS is
unauthenticated: the TXT record only helps a tablet choose; TLS with the room CA is
what proves the room. :func:`build_txt` and :func:`parse_txt` keep within the RFC's
size limits and reject records a tablet must not trust to be well formed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from room_protocol.errors import ErrorCode, ProtocolError

SERVICE_TYPE = "_hemicycle._tcp.local."
TXT_FORMAT = "1"  # value of the txtvers key, RFC 6763 §6.7
MAX_TXT_STRING = 255  # bytes in one key=value string, RFC 6763 §6.1
MAX_TXT_RECORD = 1300  # bytes; fits one packet with room to spare, RFC 6763 §6.2
MAX_INSTANCE_NAME = 63  # bytes of UTF-8, RFC 6763 §4.1.1
FINGERPRINT_HINT_CHARS = 16  # 64 bits of the certificate's sha256: a hint, never proof
# In the instance name a '.' would end the DNS label: python-zeroconf splits names at every
# dot, and avahi then refuses the service ("Failed to split service name"). ONE DOT LEADER
# looks the same and is no separator; the room's own name travels in TXT ``name=``.
DOT_STAND_IN = "\u2024"

KEY_TXTVERS = "txtvers"
KEY_ROOM_ID = "room"
KEY_ROOM_NAME = "name"
KEY_PROTOCOL = "pv"
KEY_FINGERPRINT = "fp"

_ROOM_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_HEX_RE = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class RoomAnnouncement:
    room_id: str
    room_name: str
    protocol_version: int
    fingerprint_hint: str

    def instance_name(self) -> str:
        """The DNS-SD instance name: the room name as one DNS label (RFC 6763 §4.3)."""
        return instance_label(self.room_name) or self.room_id


def instance_label(name: str) -> str:
    """``name`` as one instance label: dots replaced by a look-alike, control characters
    dropped (RFC 6763 §4.1.1), cut to 63 bytes on a character edge."""
    label = "".join(
        DOT_STAND_IN if c == "." else c for c in name if ord(c) >= 0x20 and ord(c) != 0x7F
    )
    return truncate_utf8(" ".join(label.split()), MAX_INSTANCE_NAME)


def truncate_utf8(text: str, limit: int) -> str:
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", "ignore").rstrip()


def fingerprint_hint(sha256_hex: str) -> str:
    return sha256_hex.lower()[:FINGERPRINT_HINT_CHARS]


def build_txt(room: RoomAnnouncement) -> dict[str, str]:
    """The TXT properties for a room; the display name is shortened to fit, ids are not."""
    if not _ROOM_ID_RE.fullmatch(room.room_id):
        raise ProtocolError(
            ErrorCode.BAD_FIELD,
            f"room id {room.room_id!r} must be 1-63 lower-case letters, digits or '-'",
        )
    hint = room.fingerprint_hint.lower()
    if len(hint) != FINGERPRINT_HINT_CHARS or not _HEX_RE.fullmatch(hint):
        raise ProtocolError(ErrorCode.BAD_FIELD, "fingerprint hint must be 16 hex digits")
    name_budget = MAX_TXT_STRING - len(KEY_ROOM_NAME) - 1
    txt = {
        KEY_TXTVERS: TXT_FORMAT,
        KEY_ROOM_ID: room.room_id,
        KEY_ROOM_NAME: truncate_utf8(room.room_name, name_budget),
        KEY_PROTOCOL: str(room.protocol_version),
        KEY_FINGERPRINT: hint,
    }
    total = sum(1 + len(k.encode()) + 1 + len(v.encode()) for k, v in txt.items())
    assert total <= MAX_TXT_RECORD  # every part is bounded above
    return txt


def parse_txt(properties: Mapping[Any, bytes | str | None]) -> RoomAnnouncement:
    """Read a TXT record (as python-zeroconf gives it); reject anything malformed."""
    props: dict[str, str] = {}
    for raw_key, raw_value in properties.items():
        key = raw_key.decode("ascii", "replace") if isinstance(raw_key, bytes) else raw_key
        key = key.lower()  # TXT keys are case-insensitive, RFC 6763 §6.4
        if raw_value is None:
            continue
        value_bytes = raw_value if isinstance(raw_value, bytes) else raw_value.encode()
        if len(key) + 1 + len(value_bytes) > MAX_TXT_STRING:
            raise ProtocolError(ErrorCode.TOO_LARGE, f"TXT entry {key!r} exceeds 255 bytes")
        try:
            props[key] = value_bytes.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(ErrorCode.MALFORMED, f"TXT entry {key!r} is not UTF-8") from None
    if props.get(KEY_TXTVERS) != TXT_FORMAT:
        raise ProtocolError(
            ErrorCode.VERSION_MISMATCH, f"TXT format {props.get(KEY_TXTVERS)!r} is not supported"
        )
    for key in (KEY_ROOM_ID, KEY_PROTOCOL, KEY_FINGERPRINT):
        if key not in props:
            raise ProtocolError(ErrorCode.MISSING_FIELD, f"TXT record has no {key!r}")
    room_id = props[KEY_ROOM_ID]
    if not _ROOM_ID_RE.fullmatch(room_id):
        raise ProtocolError(ErrorCode.BAD_FIELD, f"TXT room id {room_id[:64]!r} is malformed")
    if not props[KEY_PROTOCOL].isdigit() or len(props[KEY_PROTOCOL]) > 6:
        raise ProtocolError(ErrorCode.BAD_FIELD, "TXT protocol version is not a number")
    hint = props[KEY_FINGERPRINT]
    if len(hint) != FINGERPRINT_HINT_CHARS or not _HEX_RE.fullmatch(hint):
        raise ProtocolError(ErrorCode.BAD_FIELD, "TXT fingerprint hint is malformed")
    return RoomAnnouncement(
        room_id=room_id,
        room_name=props.get(KEY_ROOM_NAME, room_id),
        protocol_version=int(props[KEY_PROTOCOL]),
        fingerprint_hint=hint,
    )
