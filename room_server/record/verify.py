"""Checking a sealed record offline: the minisign signature on ``manifest.json``, every
file it lists (missing, size, sha256), files that are not in it, unsafe paths, and the
audit segment in ``audit/`` (every entry re-hashed and linked, every signed head's
signature and link, every entry covered by a signed head). Each problem names the file,
or the entry by its sequence number.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from room_server import audit
from room_server.record import minisign
from room_server.record.audit_export import (
    HEADS_FILE,
    LOG_FILE,
    PUBLIC_KEY_FILE,
    parse_entry_line,
)
from room_server.record.seal import (
    FORMAT,
    MANIFEST,
    SIGNATURE,
    VERSION,
    hash_file,
    safe_path,
    trusted_comment,
)


@dataclass(frozen=True, slots=True)
class Problem:
    where: str  # a file of the record (relative path)
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass(slots=True)
class RecordCheck:
    problems: list[Problem] = field(default_factory=list)
    meeting_id: str | None = None
    room_id: str | None = None
    files: int = 0  # files the manifest lists
    first_seq: int = 0  # the audit segment's entries (0: none)
    last_seq: int = 0
    key_id: str | None = None  # the key that made the signature (minisign's spelling)
    key_from_record: bool = True  # checked against audit/room-signing.pub, not a given key

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_record(path: Path, public_key: Ed25519PublicKey | None = None) -> list[Problem]:
    """Every problem with the record in ``path``; an empty list if it is intact.
    ``public_key`` is the room's key as the auditor holds it (None: the key the record
    carries in audit/room-signing.pub, which shows only that the record is whole)."""
    return check_record(path, public_key).problems


def check_record(path: Path, public_key: Ed25519PublicKey | None = None) -> RecordCheck:
    check = RecordCheck(key_from_record=public_key is None)
    problems = check.problems
    manifest_path = path / MANIFEST
    if not path.is_dir():
        problems.append(Problem(str(path), "is not a folder"))
        return check
    try:
        manifest_data = manifest_path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(MANIFEST, "is missing: this folder is not a sealed record"))
        return check
    except OSError as exc:
        problems.append(Problem(MANIFEST, f"cannot be read: {exc.strerror}"))
        return check
    manifest = _parse_manifest(manifest_data, problems)
    if manifest is not None:
        check.meeting_id, check.room_id = manifest["meeting_id"], manifest["room_id"]
    public = _public_key(path, public_key, problems)
    if public is not None:
        check.key_id = _check_signature(path, manifest_data, manifest, public, problems)
    if manifest is None:
        return check
    check.files = len(manifest["files"])
    _check_files(path, manifest["files"], problems)
    if public is not None:
        _check_audit(path, manifest, public, check)
    return check


def load_public_key_file(path: Path) -> Ed25519PublicKey:
    """A public key file as an auditor may hold it: minisign's format or PEM. Raises
    ValueError (or OSError) for anything else."""
    from room_server.signing import SigningKeyError, load_public_key

    text = path.read_bytes()
    if b"-----BEGIN" in text:
        try:
            return load_public_key(path)
        except SigningKeyError as exc:
            raise ValueError(str(exc)) from None
    return minisign.parse_public_key(text.decode("utf-8", errors="replace"))[0]


# --- the manifest and its signature ---------------------------------------------------


def _parse_manifest(data: bytes, problems: list[Problem]) -> dict[str, Any] | None:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problems.append(Problem(MANIFEST, f"is not JSON ({exc})"))
        return None
    if not isinstance(manifest, dict):
        problems.append(Problem(MANIFEST, "is not a record manifest (not a JSON object)"))
        return None
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        problems.append(
            Problem(MANIFEST, f"is not a {FORMAT} manifest of version {VERSION} (format/version)")
        )
        return None
    ids = (manifest.get("room_id"), manifest.get("meeting_id"))
    files = manifest.get("files")
    if not all(isinstance(v, str) and v for v in ids) or not isinstance(files, list):
        problems.append(Problem(MANIFEST, "lacks its room_id, meeting_id or files"))
        return None
    good: list[dict[str, Any]] = []
    seen: set[str] = set()
    for number, item in enumerate(files, start=1):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("path"), str)
            and isinstance(item.get("size"), int)
            and isinstance(item.get("sha256"), str)
        ):
            problems.append(Problem(MANIFEST, f"file entry {number} is not a path, size, sha256"))
            continue
        name = item["path"]
        unsafe = safe_path(name)
        if unsafe is not None or name in (MANIFEST, SIGNATURE):
            what = unsafe or "is the manifest or its signature"
            problems.append(Problem(MANIFEST, f"lists {name!r}, which {what}"))
            continue
        if name in seen:
            problems.append(Problem(MANIFEST, f"lists {name} twice"))
            continue
        seen.add(name)
        good.append(item)
    manifest["files"] = good
    return manifest


def _public_key(
    path: Path, given: Ed25519PublicKey | None, problems: list[Problem]
) -> Ed25519PublicKey | None:
    try:
        carried = minisign.parse_public_key((path / PUBLIC_KEY_FILE).read_text(errors="replace"))[0]
    except FileNotFoundError:
        carried = None
        problems.append(Problem(PUBLIC_KEY_FILE, "is missing"))
    except (OSError, ValueError) as exc:
        carried = None
        problems.append(Problem(PUBLIC_KEY_FILE, f"is not a minisign public key ({exc})"))
    if given is None:
        return carried
    if carried is not None and minisign.key_id(carried) != minisign.key_id(given):
        problems.append(
            Problem(
                PUBLIC_KEY_FILE,
                f"is key {_kid(carried)}, not the room's key {_kid(given)} given to check "
                "the record with (the record was signed by another key)",
            )
        )
    return given


def _check_signature(
    path: Path,
    manifest_data: bytes,
    manifest: dict[str, Any] | None,
    public: Ed25519PublicKey,
    problems: list[Problem],
) -> str | None:
    try:
        signature = minisign.parse_signature((path / SIGNATURE).read_text(errors="replace"))
    except FileNotFoundError:
        problems.append(Problem(SIGNATURE, "is missing: the manifest is not signed"))
        return None
    except (OSError, ValueError) as exc:
        problems.append(Problem(SIGNATURE, f"is not a minisign signature ({exc})"))
        return None
    wrong = minisign.verify(public, manifest_data, signature)
    if wrong is not None:
        problems.append(Problem(SIGNATURE, f"does not verify for {MANIFEST}: {wrong}"))
    elif manifest is not None:
        expected = trusted_comment(manifest["room_id"], manifest["meeting_id"])
        if signature.trusted_comment != expected:
            problems.append(
                Problem(
                    SIGNATURE,
                    f"its trusted comment {signature.trusted_comment!r} does not name this "
                    f"record ({expected!r})",
                )
            )
    return minisign.key_id_text(signature.key_id)


# --- the files ------------------------------------------------------------------------


def _check_files(path: Path, listed: list[dict[str, Any]], problems: list[Problem]) -> None:
    names = {item["path"] for item in listed}
    for item in listed:
        name = item["path"]
        full = path / name
        linked = _symlink_on_the_way(path, name)
        if linked is not None:
            problems.append(Problem(name, f"{linked} is a symbolic link (a record has none)"))
            continue
        try:
            mode = full.lstat().st_mode
        except FileNotFoundError:
            problems.append(Problem(name, "is missing (the manifest lists it)"))
            continue
        if not stat.S_ISREG(mode):
            problems.append(Problem(name, "is not a plain file"))
            continue
        try:
            size, digest = hash_file(full)
        except OSError as exc:
            problems.append(Problem(name, f"cannot be read: {exc.strerror}"))
            continue
        if size != item["size"]:
            problems.append(
                Problem(
                    name, f"has {size} bytes, but the manifest says {item['size']}: it was changed"
                )
            )
        elif digest != item["sha256"].lower():
            problems.append(
                Problem(name, "was changed: its sha256 differs from the one in the manifest")
            )
    for root, dirs, files in os.walk(path, followlinks=False):
        dirs.sort()
        for entry in sorted(files) + [d for d in dirs if (Path(root) / d).is_symlink()]:
            relative = (Path(root) / entry).relative_to(path).as_posix()
            if relative in (MANIFEST, SIGNATURE) or relative in names:
                continue
            problems.append(Problem(relative, "is not in the manifest (added after sealing)"))


def _symlink_on_the_way(path: Path, name: str) -> str | None:
    """The first part of ``name`` (within the record) that is a symbolic link."""
    current = path
    for part in name.split("/"):
        current = current / part
        if current.is_symlink():
            return current.relative_to(path).as_posix()
    return None


# --- the audit segment ----------------------------------------------------------------


def _check_audit(
    path: Path, manifest: dict[str, Any], public: Ed25519PublicKey, check: RecordCheck
) -> None:
    problems = check.problems
    log_lines = _lines(path, LOG_FILE, problems)
    head_lines = _lines(path, HEADS_FILE, problems)
    if log_lines is None or head_lines is None:
        return
    entries: list[audit.Entry] = []
    for number, line in log_lines:
        try:
            entries.append(parse_entry_line(line))
        except ValueError:
            problems.append(Problem(LOG_FILE, f"line {number} is not an audit entry"))
    heads: list[audit.SignedHead] = []
    for number, line in head_lines:
        try:
            heads.append(audit.SignedHead.from_log_line(line))
        except ValueError:
            problems.append(Problem(HEADS_FILE, f"line {number} is not a signed head"))
    if not entries:
        problems.append(Problem(LOG_FILE, "has no entries"))
        return
    first = entries[0]
    walked = audit.walk_entries(entries, first_seq=first.seq, first_prev=None)
    problems.extend(Problem(LOG_FILE, text) for text in walked.problems)
    check.first_seq, check.last_seq = first.seq, walked.last_seq
    if not any(e.meeting_id == manifest["meeting_id"] for e in entries):
        problems.append(Problem(LOG_FILE, f"has no entry of meeting {manifest['meeting_id']}"))
    hashes = dict(walked.hashes)
    head_problems: list[str] = []
    if first.seq == 1:
        if first.prev != audit.GENESIS:
            head_problems.append("entry 1 does not start the chain (its prev is not the genesis)")
    elif not any(h.seq == first.seq - 1 for h in heads):
        head_problems.append(
            f"the segment's start is not signed: no signed head at entry {first.seq - 1}, the "
            f"one entry {first.seq} follows"
        )
    else:
        hashes[first.seq - 1] = first.prev  # the anchor head must have signed that hash
    audit.check_heads(heads, hashes, public, manifest["room_id"], head_problems)
    audit.check_links(heads, head_problems, first_link=None)
    audit.check_coverage(
        heads, walked.transitions, walked.times, walked.last_seq, None, head_problems
    )
    last_signed = heads[-1].seq if heads else 0
    if last_signed < walked.last_seq:
        head_problems.append(
            f"entries {max(last_signed + 1, first.seq)} to {walked.last_seq} are not covered "
            "by a signed head (the last one was removed, or entries were added)"
        )
    problems.extend(Problem(HEADS_FILE, text) for text in head_problems)


def _lines(path: Path, name: str, problems: list[Problem]) -> list[tuple[int, str]] | None:
    try:
        text = (path / name).read_text(encoding="utf-8", errors="replace")
    except OSError:
        problems.append(Problem(name, "cannot be read: the audit chain cannot be checked"))
        return None
    return [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]


def _kid(public: Ed25519PublicKey) -> str:
    return minisign.key_id_text(minisign.key_id(public))
