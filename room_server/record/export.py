"""Exporting a sealed record to a folder, typically a mounted USB stick: the record is
checked, copied under a temporary name (every file and folder fsynced, the manifest's
signature and then the manifest last), renamed to ``dest/<meeting_id>/``, then read back
from the device and checked again. A different record already at the destination is
never overwritten; the same record there is left as it is.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from room_server.record.durable import sync_folder
from room_server.record.seal import CHUNK, MANIFEST, SIGNATURE
from room_server.record.verify import Problem, check_record

Progress = Callable[[int, int, str], None]


class ExportError(RuntimeError):
    """The record was not exported; the message says why."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def export_record(
    record_dir: Path,
    dest: Path,
    progress: Progress | None = None,
    *,
    public_key: Ed25519PublicKey | None = None,
) -> Path:
    """Copy the record in ``record_dir`` to ``dest/<meeting_id>/`` and verify the copy;
    return where it is. Raises ExportError (the destination keeps what it had)."""
    source = check_record(record_dir, public_key)
    if not source.ok or source.meeting_id is None:
        raise ExportError(
            f"the record in {record_dir} does not verify; it was not exported", source.problems
        )
    if not dest.is_dir():
        raise ExportError(f"{dest} is not a folder (is the USB stick mounted?)")
    target = dest / source.meeting_id
    manifest = (record_dir / MANIFEST).read_bytes()
    if target.exists() or target.is_symlink():
        there = target / MANIFEST
        if not target.is_symlink() and there.is_file() and there.read_bytes() == manifest:
            copy = check_record(target, public_key)
            if copy.ok:
                if progress:
                    progress(1, 1, f"{target} already holds this record")
                return target
            raise ExportError(
                f"{target} holds this record, damaged; remove it and export again", copy.problems
            )
        raise ExportError(f"{target} already holds something else: a different record or files")
    names = _files_in_order(record_dir)
    partial = dest / f".{source.meeting_id}.partial"
    if partial.exists():
        shutil.rmtree(partial)  # our own leftover from an export that was cut off
    partial.mkdir()
    total = len(names) + 1
    for done, name in enumerate(names, start=1):
        _copy(record_dir / name, partial / name)
        if progress:
            progress(done, total, name)
    for folder in sorted({(partial / n).parent for n in names}, key=lambda p: -len(p.parts)):
        sync_folder(folder)
    partial.rename(target)
    sync_folder(dest)
    copy = check_record(target, public_key)
    if progress:
        progress(total, total, "verified the copy" if copy.ok else "the copy does not verify")
    if not copy.ok:
        raise ExportError(f"the copy in {target} does not verify", copy.problems)
    return target


def _files_in_order(record_dir: Path) -> list[str]:
    """Every file, then the signature, then the manifest last (as an uploader sends them:
    a copy cut off before its manifest is not taken for a record)."""
    names: list[str] = []
    for root, dirs, files in os.walk(record_dir, followlinks=False):
        dirs.sort()
        names += [(Path(root) / f).relative_to(record_dir).as_posix() for f in sorted(files)]
    rest = [n for n in names if n not in (MANIFEST, SIGNATURE)]
    return [*rest, SIGNATURE, MANIFEST]


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with source.open("rb") as data, target.open("xb") as out:
        while chunk := data.read(CHUNK):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
        # Drop the cached pages, so the check after the copy reads what the device holds.
        os.posix_fadvise(out.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
