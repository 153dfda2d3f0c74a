"""Enrollment: how a tablet or a room display becomes a device of the room.

The room shows a short-lived **pairing code** (chair console, room display,
``room-server enroll``). It carries two things, 40 bits each:

- a one-time **secret**, so the room knows the device was given the code by someone in
  the room;
- a **check** of the room's CA certificate: the first 40 bits of
  HMAC-SHA256(secret, sha256(CA certificate, DER)), so the device can tell, before it
  trusts anyone, that the room it reached is the one the code belongs to (as Syncthing
  device ids and KDE Connect's verification code do). Keyed with the one-time secret,
  the check differs for every code: an impostor cannot precompute a CA that matches a
  room's codes, and would have to forge one matching 40 bits of this code's check, with
  a valid self-signature, while the code lives.

Written as 16 Crockford base32 characters in four groups (``K7Q2-M9XD-4HRT-PW3A``: the
check, then the secret); reading forgives case, spaces, dashes and the look-alikes
O/o → 0 and I/i/L/l → 1. The QR code of the same code is a ``hemicycle://enroll`` link
that also carries the whole CA fingerprint and the room id.

On the ``enroll`` channel the room sends :class:`EnrollRoom` (its CA certificate) after
``welcome``; the device checks it against the code and checks that the TLS server
certificate was issued by it, and only then sends :class:`EnrollRequest`: the secret and
a certificate signing request for a key made on the device (the key never leaves it).
The answer is :class:`Enrolled` with the device's certificate.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from room_protocol.errors import ErrorCode, ProtocolError
from room_protocol.live import TIME, Request
from room_protocol.messages import IDENT, SHA256_RE, TEXT, Message, Role, limits, register

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
CHECK_CHARS = 8  # 40 bits of HMAC-SHA256(secret, the CA's sha256)
SECRET_CHARS = 8  # 40 bits of one-time secret
CODE_CHARS = CHECK_CHARS + SECRET_CHARS
LINK_SCHEME = "hemicycle"
SECRET = limits(max_len=SECRET_CHARS, pattern=re.compile(f"[{ALPHABET}]{{{SECRET_CHARS}}}"))
PEM = limits(max_len=8_000)


def encode_base32(data: bytes, chars: int) -> str:
    """The first ``chars`` Crockford base32 characters of ``data`` (5 bits each)."""
    number = int.from_bytes(data, "big")
    bits = len(data) * 8
    if chars * 5 > bits:
        raise ValueError(f"{len(data)} bytes give fewer than {chars} characters")
    number >>= bits - chars * 5
    return "".join(ALPHABET[(number >> (5 * i)) & 31] for i in reversed(range(chars)))


def ca_check(secret: str, ca_sha256_hex: str) -> str:
    """The pairing code's first half: the room CA's sha256 (hex) under the code's secret."""
    digest = hmac.new(secret.encode(), bytes.fromhex(ca_sha256_hex), hashlib.sha256).digest()
    return encode_base32(digest, CHECK_CHARS)


@dataclass(frozen=True, slots=True)
class PairingCode:
    check: str  # CHECK_CHARS characters: the room CA under the secret (ca_check)
    secret: str  # SECRET_CHARS characters
    ca_sha256: str | None = None  # the whole CA fingerprint, when read from a QR link
    room_id: str | None = None

    @classmethod
    def for_room(cls, secret: str, ca_sha256_hex: str) -> PairingCode:
        return cls(ca_check(secret, ca_sha256_hex), secret)

    def __str__(self) -> str:
        text = self.check + self.secret
        return "-".join(text[i : i + 4] for i in range(0, CODE_CHARS, 4))

    def matches_ca(self, ca_sha256_hex: str) -> bool:
        """Whether a room whose CA has this sha256 is the room of this code."""
        if self.ca_sha256 is not None and self.ca_sha256 != ca_sha256_hex.lower():
            return False
        return hmac.compare_digest(ca_check(self.secret, ca_sha256_hex), self.check)

    def link(self, ca_sha256_hex: str, room_id: str) -> str:
        """What the QR code holds."""
        query = urlencode({"code": str(self), "ca": ca_sha256_hex.lower(), "room": room_id})
        return f"{LINK_SCHEME}://enroll?{query}"

    @classmethod
    def parse(cls, text: str) -> PairingCode:
        """A typed code or a scanned link; ProtocolError says what is wrong with it."""
        text = text.strip()
        if text.lower().startswith(f"{LINK_SCHEME}://"):
            return cls._parse_link(text)
        cleaned = re.sub(r"[\s-]", "", text).upper().translate(_LOOKALIKES)
        bad = sorted({c for c in cleaned if c not in ALPHABET})
        if bad:
            raise ProtocolError(
                ErrorCode.BAD_FIELD,
                f"a pairing code has only digits and letters (not {''.join(bad)!r})",
            )
        if len(cleaned) != CODE_CHARS:
            raise ProtocolError(
                ErrorCode.BAD_FIELD,
                f"a pairing code has {CODE_CHARS} characters; this one has {len(cleaned)}",
            )
        return cls(cleaned[:CHECK_CHARS], cleaned[CHECK_CHARS:])

    @classmethod
    def _parse_link(cls, text: str) -> PairingCode:
        parts = urlsplit(text)
        query = parse_qs(parts.query)
        if parts.netloc != "enroll" or set(query) - {"code", "ca", "room"}:
            raise ProtocolError(ErrorCode.BAD_FIELD, "this is not a Hemicycle pairing link")
        try:
            code = cls.parse(query["code"][0])
            ca = query["ca"][0].lower()
            room = query.get("room", [None])[0]
        except (KeyError, IndexError):
            raise ProtocolError(ErrorCode.BAD_FIELD, "the pairing link is incomplete") from None
        if not SHA256_RE.fullmatch(ca) or not code.matches_ca(ca):
            raise ProtocolError(ErrorCode.BAD_FIELD, "the pairing link is damaged")
        return cls(code.check, code.secret, ca, room)


# --- messages on the enroll channel ------------------------------------------------------


@register
@dataclass(frozen=True, slots=True)
class EnrollRoom(Message):
    """Server to device, after welcome: the room CA certificate to check against the code."""

    TYPE: ClassVar[str] = "enroll.room"
    ca_certificate: str = field(metadata=PEM)


@register
@dataclass(frozen=True, slots=True)
class EnrollRequest(Message):
    """Device to server, once it trusts the room: the code's secret and its CSR."""

    TYPE: ClassVar[str] = "enroll.request"
    secret: str = field(metadata=SECRET)
    csr: str = field(metadata=PEM)  # PEM certificate signing request
    name: str = field(default="", metadata=limits(max_len=120))  # e.g. "Seat A2"


@register
@dataclass(frozen=True, slots=True)
class Enrolled(Message):
    """Server to device: its certificate. The device now connects with it."""

    TYPE: ClassVar[str] = "enroll.done"
    device_id: str = field(metadata=IDENT)
    certificate: str = field(metadata=PEM)
    kind: str = field(metadata=IDENT)  # "tablet" or "display"
    seat_id: str | None = field(default=None, metadata=IDENT)
    room_name: str = field(default="", metadata=TEXT)


# --- on the control channel: the chair console makes a code ------------------------------


class DeviceKindName(StrEnum):
    TABLET = "tablet"
    DISPLAY = "display"


@register
@dataclass(frozen=True, slots=True)
class CreatePairingCode(Request):
    """Chair or clerk: a new one-time pairing code, shown to the sender (and on the room
    display when ``on_display``) as :class:`PairingCodeShown`."""

    TYPE: ClassVar[str] = "device.pair"
    kind: DeviceKindName = DeviceKindName.TABLET
    seat_id: str | None = field(default=None, metadata=IDENT)  # the new device's fixed seat
    minutes: int = field(default=10, metadata=limits(minimum=1, maximum=24 * 60))
    on_display: bool = False


@register
@dataclass(frozen=True, slots=True)
class PairingCodeShown(Message):
    TYPE: ClassVar[str] = "device.pairing_code"
    code: str = field(metadata=limits(max_len=19))  # XXXX-XXXX-XXXX-XXXX
    link: str = field(metadata=limits(max_len=300))  # what the QR code holds
    expires_at: str = field(metadata=TIME)
    kind: DeviceKindName = DeviceKindName.TABLET
    seat_id: str | None = field(default=None, metadata=IDENT)


ALLOWED: dict[type[Request], frozenset[Role]] = {
    CreatePairingCode: frozenset({Role.CHAIR, Role.CLERK}),
}
