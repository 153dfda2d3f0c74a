"""Minisign-compatible signatures (https://jedisct1.github.io/minisign/) with the room's
Ed25519 key, so an auditor checks a record with ``minisign -Vm manifest.json -p
room-signing.pub`` or with the few lines of Python in docs/records.md.

Only the pre-hashed ``ED`` algorithm is made: the signature is Ed25519 over the
BLAKE2b-512 digest of the file. The key id (8 bytes) is the first 8 bytes of SHA-256 of
the raw 32-byte public key: the same key always has the same id, and nothing else needs
to be kept. Minisign shows a key id as the 8 bytes read as a little-endian 64-bit number
in upper-case hex (:func:`key_id_text`). Signing is deterministic (Ed25519 is), and the
trusted comment holds no time, so signing the same bytes twice gives the same file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PUBLIC_ALG = b"Ed"  # a public key line: its algorithm is Ed25519
PREHASHED_ALG = b"ED"  # a signature over the BLAKE2b-512 digest of the file
LEGACY_ALG = b"Ed"  # a signature over the file itself (minisign before 0.9 made these)
UNTRUSTED = "untrusted comment: "
TRUSTED = "trusted comment: "
COMMENT_MAX = 1024  # bytes; minisign's COMMENTMAXBYTES


class MinisignError(ValueError):
    """A public key or signature file that is not in minisign's format."""


def key_id(public: Ed25519PublicKey) -> bytes:
    return hashlib.sha256(_raw(public)).digest()[:8]


def key_id_text(key_id_bytes: bytes) -> str:
    """The id as minisign prints it: ``int.from_bytes(id, "little")`` in upper-case hex."""
    return f"{int.from_bytes(key_id_bytes, 'little'):016X}"


def public_key_file(public: Ed25519PublicKey) -> str:
    """The text of a minisign public key file (``minisign -p FILE``)."""
    kid = key_id(public)
    blob = base64.b64encode(PUBLIC_ALG + kid + _raw(public)).decode()
    return f"{UNTRUSTED}minisign public key {key_id_text(kid)}\n{blob}\n"


def parse_public_key(text: str) -> tuple[Ed25519PublicKey, bytes]:
    """The key and its id from a minisign public key file (or the bare base64 line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[0].startswith(UNTRUSTED):
        lines = lines[1:]
    if len(lines) != 1:
        raise MinisignError("a minisign public key is one base64 line after its comment")
    blob = _b64(lines[0], "the public key")
    if len(blob) != 42 or blob[:2] != PUBLIC_ALG:
        raise MinisignError("not an Ed25519 minisign public key")
    return Ed25519PublicKey.from_public_bytes(blob[10:]), blob[2:10]


def sign(
    private: Ed25519PrivateKey, data: bytes, *, trusted_comment: str, untrusted_comment: str
) -> str:
    """The text of a ``.minisig`` file for ``data``."""
    for name, comment in (("trusted", trusted_comment), ("untrusted", untrusted_comment)):
        if "\n" in comment or "\r" in comment or len(comment.encode()) > COMMENT_MAX - 32:
            raise ValueError(f"the {name} comment must be one short line")
    signature = private.sign(hashlib.blake2b(data, digest_size=64).digest())
    global_signature = private.sign(signature + trusted_comment.encode())
    kid = key_id(private.public_key())
    return (
        f"{UNTRUSTED}{untrusted_comment}\n"
        f"{base64.b64encode(PREHASHED_ALG + kid + signature).decode()}\n"
        f"{TRUSTED}{trusted_comment}\n"
        f"{base64.b64encode(global_signature).decode()}\n"
    )


@dataclass(frozen=True, slots=True)
class Signature:
    key_id: bytes
    prehashed: bool
    signature: bytes
    trusted_comment: str
    global_signature: bytes


def parse_signature(text: str) -> Signature:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    if len(lines) != 4:
        raise MinisignError("a minisign signature has four lines")
    if not lines[0].startswith(UNTRUSTED):
        raise MinisignError("the first line is not an untrusted comment")
    blob = _b64(lines[1], "the signature line")
    if len(blob) != 74 or blob[:2] not in (PREHASHED_ALG, LEGACY_ALG):
        raise MinisignError("the signature line is not an Ed25519 minisign signature")
    if not lines[2].startswith(TRUSTED):
        raise MinisignError("the third line is not a trusted comment")
    global_signature = _b64(lines[3], "the global signature")
    if len(global_signature) != 64:
        raise MinisignError("the global signature is not 64 bytes")
    return Signature(
        blob[2:10], blob[:2] == PREHASHED_ALG, blob[10:], lines[2][len(TRUSTED) :], global_signature
    )


def verify(public: Ed25519PublicKey, data: bytes, signature: Signature) -> str | None:
    """None if ``signature`` is a good signature of ``data`` by ``public`` (with its
    trusted comment), else what is wrong with it."""
    if signature.key_id != key_id(public):
        return (
            f"signed with key {key_id_text(signature.key_id)}, "
            f"not with the room's key {key_id_text(key_id(public))}"
        )
    signed = hashlib.blake2b(data, digest_size=64).digest() if signature.prehashed else data
    try:
        public.verify(signature.signature, signed)
    except InvalidSignature:
        return "the signature does not match the file (the file or the signature was changed)"
    try:
        public.verify(
            signature.global_signature, signature.signature + signature.trusted_comment.encode()
        )
    except InvalidSignature:
        return "the trusted comment was changed after it was signed"
    return None


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _b64(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise MinisignError(f"{what} is not base64") from None
