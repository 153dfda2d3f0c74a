"""Confidential documents at rest on a tablet: sealed with the member's key, wiped on time.

A confidential document's bytes (the member's own watermarked copy) are kept only sealed
with AES-256-GCM under the key the room hands out in ``session.signed_in``, one folder
per member (a tablet shared by two members keeps each one's copies apart); the key is
held in memory only, so the file on a stolen tablet's disk is noise. The shelf removes
every sealed file when the meeting closes and when the tablet has not reached the room
for longer than its offline expiry (``last-contact`` holds when it last did), checked
with an injectable clock. Qt-free; imports only ``cryptography`` and ``room_protocol``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from room_protocol.private_files import create_private, make_private

log = logging.getLogger(__name__)

MAGIC = b"HEMICYCLE-SEALED-1\n"  # also the AEAD's associated data: a format change fails
NONCE_BYTES = 12  # AES-GCM's standard nonce, random per file
KEY_BYTES = 32
DEFAULT_EXPIRY_S = 12 * 3600.0
_SUFFIX = ".sealed"
_LAST_CONTACT = "last-contact"


class SealedUnreadable(Exception):
    """The sealed file cannot be opened with this key (wrong key, damaged, not sealed)."""


def decode_key(text: str) -> bytes:
    """The key as ``session.signed_in`` carries it (base64url, no padding)."""
    try:
        key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SealedUnreadable("the room's cache key is not base64url") from None
    if len(key) != KEY_BYTES:
        raise SealedUnreadable(f"the room's cache key is {len(key)} bytes, not {KEY_BYTES}")
    return key


def seal(key: bytes, data: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return MAGIC + nonce + AESGCM(key).encrypt(nonce, data, MAGIC)


def unseal(key: bytes, sealed: bytes) -> bytes:
    if not sealed.startswith(MAGIC):
        raise SealedUnreadable("not a sealed confidential document")
    nonce = sealed[len(MAGIC) : len(MAGIC) + NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, sealed[len(MAGIC) + NONCE_BYTES :], MAGIC)
    except (InvalidTag, ValueError):
        raise SealedUnreadable("wrong key, or the sealed file is damaged") from None


def unseal_file(key: bytes, path: Path) -> bytes:
    try:
        return unseal(key, path.read_bytes())
    except FileNotFoundError:
        raise SealedUnreadable(f"{path.name}: not on this tablet (wiped?)") from None


class ConfidentialShelf:
    """The sealed files of one tablet, in ``root``, and when the tablet last reached the
    room."""

    def __init__(
        self,
        root: Path,
        *,
        expiry_seconds: float = DEFAULT_EXPIRY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = root
        self.expiry_seconds = expiry_seconds
        self.clock = clock
        make_private(root)

    def path(self, member: str, sha256: str) -> Path:
        # Delegate ids match the protocol's ID pattern: no separators, no "..".
        return self.root / member / f"{sha256}{_SUFFIX}"

    def get(self, member: str, sha256: str) -> Path | None:
        path = self.path(member, sha256)
        return path if path.exists() else None

    def held(self) -> list[Path]:
        """Every sealed file, of every member."""
        return sorted(self.root.glob(f"*/*{_SUFFIX}"))

    def put(self, member: str, sha256: str, key: bytes, data: bytes) -> Path:
        """Seal ``data`` (``member``'s copy of document ``sha256``) into the shelf."""
        target = self.path(member, sha256)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        with os.fdopen(create_private(tmp), "wb") as out:
            out.write(seal(key, data))
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(target)
        self.touch()
        return target

    def touch(self) -> None:
        """The tablet reached the room now: the offline expiry starts again."""
        path = self.root / _LAST_CONTACT
        tmp = path.with_suffix(".tmp")
        with os.fdopen(create_private(tmp), "w", encoding="ascii") as out:
            out.write(f"{self.clock():.3f}\n")
        tmp.replace(path)

    def last_contact(self) -> float | None:
        try:
            return float((self.root / _LAST_CONTACT).read_text(encoding="ascii"))
        except (OSError, ValueError):
            return None

    def expired(self) -> bool:
        """Sealed files are held and the room was last reached longer ago than the expiry
        (or never recorded: a shelf that cannot say when is treated as expired)."""
        if not self.held():
            return False
        last = self.last_contact()
        return last is None or self.clock() - last > self.expiry_seconds

    def wipe(self, reason: str) -> int:
        """Remove every sealed file (and any half-written one); the number removed."""
        removed = 0
        for path in [*self.held(), *self.root.glob("*/*.tmp")]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += path.suffix == _SUFFIX
        for folder in self.root.iterdir():
            if folder.is_dir():
                with contextlib.suppress(OSError):
                    folder.rmdir()  # empty now
        if removed:
            log.info("wiped %d confidential documents: %s", removed, reason)
        return removed
