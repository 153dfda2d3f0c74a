"""``room-provision restore``: put a backup made by ``room-server backup`` back in place
of a room's state directory.

Everything is checked before anything changes: the backup is complete (every file
listed in ``backup.json`` with its sha256, nothing else), it is this room's (room id,
and the room CA when the room has one) unless forced, and the server is not running.
The old state directory is kept beside the restored one, renamed, never deleted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import stat
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BACKUP_MANIFEST = "backup.json"
BACKUP_FORMAT = 1


class RestoreError(RuntimeError):
    """A restore refused or failed before the state directory changed."""


class OtherRoom(RestoreError):
    """The backup is another room's; ``--force`` restores it anyway."""


@dataclass(frozen=True, slots=True)
class Restored:
    room_id: str
    made_at: str
    files: int
    kept_old: Path | None  # where the replaced state directory was moved


def restore(facts: dict[str, Any], source: Path, *, force: bool) -> Restored:
    """Restore ``source`` (a backup folder or ``.tar``) into the state directory of the
    room ``facts`` describes (``room-server inspect``)."""
    running = facts.get("running")
    if running:
        raise RestoreError(
            f"the room server is running (pid {running['pid']}): stop it first "
            "(systemctl stop hemicycle-room-server)"
        )
    state = Path(facts["state_dir"])
    if not source.exists():
        raise RestoreError(f"no backup at {source}")
    state.parent.mkdir(parents=True, exist_ok=True)
    # Beside the state directory: the final step is a rename on one file system.
    stage = Path(tempfile.mkdtemp(prefix=f".{state.name}.restore.", dir=state.parent))
    try:
        _unpack(source, stage)
        manifest = _checked_manifest(stage)
        _same_room(facts, manifest, force=force)
        (stage / BACKUP_MANIFEST).unlink()
        _private(stage)
        _owned_like(stage, state if state.exists() else None)
        kept_old: Path | None = None
        if state.exists():
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
            kept_old = state.with_name(f"{state.name}.before-restore-{stamp}")
            state.rename(kept_old)
        stage.rename(state)
    except OSError as exc:
        raise RestoreError(f"{exc.filename or source}: {exc.strerror}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return Restored(manifest["room_id"], manifest["made_at"], len(manifest["files"]), kept_old)


def _unpack(source: Path, stage: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, stage, symlinks=True, dirs_exist_ok=True)
        return
    try:
        with tarfile.open(source, mode="r:") as tar:
            for member in tar.getmembers():
                if not (member.isfile() or member.isdir()):
                    raise RestoreError(f"{source}: {member.name!r} is not a file or folder")
            # "data": no absolute paths, no "..", no devices, no links out of the folder.
            tar.extractall(stage, filter="data")
    except (tarfile.TarError, ValueError) as exc:
        raise RestoreError(f"{source}: not a backup archive: {exc}") from None


def _checked_manifest(stage: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((stage / BACKUP_MANIFEST).read_text("utf-8"))
    except FileNotFoundError:
        raise RestoreError(f"not a room backup: no {BACKUP_MANIFEST}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise RestoreError(f"{BACKUP_MANIFEST} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        raise RestoreError(f"{BACKUP_MANIFEST}: not a backup format this version restores")
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not isinstance(manifest.get("room_id"), str):
        raise RestoreError(f"{BACKUP_MANIFEST}: no room id or file list")
    links = [p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_symlink()]
    if links:
        raise RestoreError(f"the backup holds symbolic links, which it never makes: {links[:5]}")
    present = {p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file()} - {
        BACKUP_MANIFEST
    }
    missing = sorted(set(listed) - present)
    extra = sorted(present - set(listed))
    damaged = sorted(
        name
        for name in set(listed) & present
        if hashlib.sha256((stage / name).read_bytes()).hexdigest() != listed[name]
    )
    problems = [
        *(f"missing: {name}" for name in missing[:5]),
        *(f"not in the backup's list: {name}" for name in extra[:5]),
        *(f"changed since the backup: {name}" for name in damaged[:5]),
    ]
    if problems:
        raise RestoreError("the backup is damaged: " + "; ".join(problems))
    if "room.sqlite3" not in listed:
        raise RestoreError("the backup has no room database")
    return manifest


def _same_room(facts: dict[str, Any], manifest: dict[str, Any], *, force: bool) -> None:
    if force:
        return
    if manifest["room_id"] != facts["room_id"]:
        raise OtherRoom(
            f"the backup is of room {manifest['room_id']!r}, this configuration is room "
            f"{facts['room_id']!r}"
        )
    ca = facts.get("certificates", {}).get("ca", {}).get("sha256")
    if ca and manifest.get("ca_sha256") and ca != manifest["ca_sha256"]:
        raise OtherRoom(
            f"the backup's room CA (sha256 {manifest['ca_sha256'][:16]}…) is not this room's "
            f"({ca[:16]}…): tablets enrolled here would not trust it"
        )


def _owned_like(root: Path, model: Path | None) -> None:
    """Restored by root for the server's user (``hemicycle``): give the files to whoever
    owned the state directory they replace, or the server could not read its own keys;
    with no directory to replace, to root (not to the user ids stored in the archive,
    which name other users on another box)."""
    if os.geteuid() != 0:
        return  # what a user extracts is theirs
    info = model.stat() if model is not None else None
    owner = (info.st_uid, info.st_gid) if info is not None else (0, 0)
    for path in (root, *root.rglob("*")):
        os.lchown(path, *owner)


def _private(root: Path) -> None:
    """0700 folders, 0600 files: the state directory's rule, whatever the archive said."""
    root.chmod(0o700)
    for path in root.rglob("*"):
        if not path.is_symlink():
            path.chmod(0o700 if stat.S_ISDIR(path.lstat().st_mode) else 0o600)
