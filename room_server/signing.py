"""The room's Ed25519 signing key and what it signs: the audit chain's head.

The key lives outside the database (``state_dir/keys/room-signing.key``, 0600, in a 0700
directory) with its public half beside it (``room-signing.pub``, PEM), so someone who can
rewrite the database cannot sign a chain they rebuilt. :func:`ensure_signing_key` makes
the pair on first use; it needs only ``cryptography``, so provisioning can make the same
files. A signed head covers :func:`head_text`, a canonical text with its own domain line,
so a signature over a head is never valid for anything else the key signs; since heads
are chained, that text also covers the head signed before it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from room_protocol.private_files import write_private

KEY_FILE = "room-signing.key"
PUBLIC_FILE = "room-signing.pub"
HEAD_DOMAIN = "hemicycle audit head v1"  # the first line of an unchained head's text
CHAINED_DOMAIN = "hemicycle audit head v2"  # ... of a head that also covers the one before


class SigningKeyError(RuntimeError):
    """A key file that is missing, unreadable or not an Ed25519 key."""


@dataclass(frozen=True, slots=True)
class SigningKey:
    private: Ed25519PrivateKey
    key_file: Path
    public_file: Path

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    def sign(self, text: str) -> str:
        """The signature of ``text`` (UTF-8), as 128 hex digits."""
        return self.private.sign(text.encode()).hex()


def ensure_signing_key(keys_dir: Path) -> SigningKey:
    """Load the room's signing key from ``keys_dir``, making it (and the public key file)
    the first time. The directory is 0700 and the key 0600 whatever the umask."""
    keys_dir.mkdir(parents=True, exist_ok=True)
    keys_dir.chmod(0o700)
    key_file, public_file = keys_dir / KEY_FILE, keys_dir / PUBLIC_FILE
    if not key_file.exists():
        private = Ed25519PrivateKey.generate()
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write_new(key_file, pem)
    try:
        loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"{key_file}: cannot read the room's signing key: {exc}") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise SigningKeyError(f"{key_file}: not an Ed25519 private key")
    key_file.chmod(0o600)
    public_pem = public_pem_of(loaded.public_key())
    if not public_file.exists() or public_file.read_bytes() != public_pem:
        write_private(public_file, public_pem)  # public, but the state directory stays private
    return SigningKey(loaded, key_file, public_file)


def public_pem_of(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        loaded = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise SigningKeyError(f"{path}: cannot read the public key: {exc.strerror}") from None
    except ValueError:
        raise SigningKeyError(f"{path}: not a PEM public key") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise SigningKeyError(f"{path}: not an Ed25519 public key")
    return loaded


def head_text(
    room_id: str, seq: int, head: str, at: str, reason: str, prev: str | None = None
) -> str:
    """What a signed head's signature covers: one field a line, after the domain line.

    ``prev`` links the head to the one the room signed before it (``"<seq> <sha256 of
    that head's text>"``, ``"0 000…"`` for the first): such a head is ``v2``, and a head
    removed from between two others breaks the link. ``None`` is the unchained ``v1``
    text of heads signed before heads were chained."""
    fields = (("room id", room_id), ("time", at), ("reason", reason), ("link", prev or ""))
    for name, value in fields:
        if "\n" in value or "\r" in value:
            raise ValueError(f"a signed head's {name} must be one line")
    body = f"room {room_id}\nseq {seq}\nhead {head}\nat {at}\nreason {reason}\n"
    if prev is None:
        return f"{HEAD_DOMAIN}\n{body}"
    return f"{CHAINED_DOMAIN}\n{body}prev {prev}\n"


def signature_ok(public: Ed25519PublicKey, text: str, signature: str) -> bool:
    try:
        public.verify(bytes.fromhex(signature), text.encode())
    except (InvalidSignature, ValueError):
        return False
    return True


def _write_new(path: Path, data: bytes) -> None:
    """A new key, 0600: O_EXCL, so an existing key is never overwritten."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # the umask may have taken bits away
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
