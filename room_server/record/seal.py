"""Sealing a record: ``manifest.json`` lists every file of the folder (path, size,
sha256), then ``manifest.json.minisig`` signs it with the room's Ed25519 key in
minisign's format (:mod:`room_server.record.minisign`). Both are written last, in that
order; the same folder always gives the same bytes (no time in either).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from room_server.record import minisign
from room_server.record.audit_export import PUBLIC_KEY_FILE
from room_server.record.durable import write_file
from room_server.signing import SigningKey

FORMAT = "hemicycle-record"
VERSION = 1
MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.minisig"
CHUNK = 1 << 20  # bytes read at a time while hashing

Progress = Callable[[int, int, str], None]


class SealError(RuntimeError):
    """The folder cannot be sealed: something in it is not a plain file, or unsafe."""


@dataclass(frozen=True, slots=True)
class FileEntry:
    path: str  # relative, '/'-separated
    size: int
    sha256: str


def trusted_comment(room_id: str, meeting_id: str) -> str:
    """What the signature's trusted comment says: only the ids, never a time."""
    return f"hemicycle-record room:{room_id} meeting:{meeting_id} file:{MANIFEST}"


def untrusted_comment(room_id: str, meeting_id: str) -> str:
    return (
        f"Hemicycle record of meeting {meeting_id}, room {room_id}; "
        f"check: minisign -Vm {MANIFEST} -p {PUBLIC_KEY_FILE}"
    )


def safe_path(path: str) -> str | None:
    """Why ``path`` (as a manifest names it) is not a safe relative path, or None."""
    if not path or "\\" in path or "\0" in path:
        return "is not a plain relative path"
    if path.startswith("/"):
        return "is an absolute path"
    parts = path.split("/")
    if ".." in parts:
        return "goes up out of the record ('..')"
    if any(part in ("", ".") for part in parts):
        return "is not a plain relative path"
    if any(ord(c) < 32 for c in path):
        return "has control characters in it"
    return None


def record_files(record_dir: Path) -> list[str]:
    """Every file of the folder but the manifest and its signature, sorted. Raises
    SealError for a symlink, a special file or an unsafe name."""
    found: list[str] = []
    for root, dirs, files in os.walk(record_dir, followlinks=False):
        for name in [*dirs, *files]:
            full = Path(root) / name
            relative = full.relative_to(record_dir).as_posix()
            mode = full.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise SealError(f"{relative}: a record holds no symbolic links")
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                raise SealError(f"{relative}: not a plain file")
            unsafe = safe_path(relative)
            if unsafe:
                raise SealError(f"{relative}: the name {unsafe}")
            if stat.S_ISREG(mode) and relative not in (MANIFEST, SIGNATURE):
                found.append(relative)
        dirs.sort()
    return sorted(found)


def hash_file(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as data:
        while chunk := data.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def manifest_bytes(room_id: str, meeting_id: str, key_id: str, files: list[FileEntry]) -> bytes:
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "room_id": room_id,
        "meeting_id": meeting_id,
        "signing_key_id": key_id,
        "files": [
            {"path": f.path, "size": f.size, "sha256": f.sha256}
            for f in sorted(files, key=lambda f: f.path)
        ],
    }
    text = json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2)
    return (text + "\n").encode()


def seal(
    record_dir: Path,
    signing_key: SigningKey,
    room_id: str,
    meeting_id: str,
    progress: Progress | None = None,
) -> bytes:
    """Write ``manifest.json`` over every other file in ``record_dir``, then its
    signature; return the manifest's bytes. ``audit/room-signing.pub`` is written if the
    audit export has not (and must be the signing key's if it has)."""
    for name, value in (("room id", room_id), ("meeting id", meeting_id)):
        if not value or any(ord(c) < 32 or c.isspace() for c in value):
            raise SealError(f"the {name} {value!r} cannot be sealed (empty or has spaces)")
    public_text = minisign.public_key_file(signing_key.public).encode()
    public_path = record_dir / PUBLIC_KEY_FILE
    if not public_path.exists():
        write_file(public_path, public_text)
    elif public_path.read_bytes() != public_text:
        raise SealError(f"{PUBLIC_KEY_FILE} is not the public half of the room's signing key")
    names = record_files(record_dir)
    total = len(names) + 2
    entries: list[FileEntry] = []
    for done, name in enumerate(names, start=1):
        entries.append(FileEntry(name, *hash_file(record_dir / name)))
        if progress:
            progress(done, total, name)
    key_id = minisign.key_id_text(minisign.key_id(signing_key.public))
    manifest = manifest_bytes(room_id, meeting_id, key_id, entries)
    write_file(record_dir / MANIFEST, manifest)
    if progress:
        progress(total - 1, total, MANIFEST)
    signature = minisign.sign(
        signing_key.private,
        manifest,
        trusted_comment=trusted_comment(room_id, meeting_id),
        untrusted_comment=untrusted_comment(room_id, meeting_id),
    )
    write_file(record_dir / SIGNATURE, signature.encode())
    if progress:
        progress(total, total, SIGNATURE)
    return manifest
