"""The USB stick watcher: the one module that uses pyudev.

A stick arrives (a udev ``add`` on a USB block partition, or on a whole USB disk that
carries a filesystem without a partition table); it is mounted read-only with
``nosuid,nodev,noexec`` under the watcher's runtime directory and recognised by its
files: a meeting package (``meeting.toml``/``meeting.json`` at the top, or one ``.zip``),
an export stick (``HEMICYCLE-EXPORT`` at the top) or a provisioning stick
(``HEMICYCLE-PROVISION``). The room is driven only through the ``room-server`` command:
``import --json`` (the same all-or-nothing validation as by hand) and ``record export
--all --json`` (after a remount read-write; the export verifies what it wrote), and the
result goes to the chair console and the room display with ``room-server notice``.
Nothing on a stick is ever executed; symlinks that leave the stick refuse it.
"""

from __future__ import annotations

import ctypes
import errno
import json
import logging
import os
import re
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from room_protocol.enrollment_stick import STICK_MARKER

log = logging.getLogger(__name__)

EXPORT_MARKER = "HEMICYCLE-EXPORT"
PROVISION_MARKER = STICK_MARKER  # an enrollment stick: for tablets, never read here
MANIFEST_NAMES = ("meeting.toml", "meeting.json")  # room_server.package.names, by value
# Filesystems a stick may carry; anything else is refused before it is mounted.
FILESYSTEMS = frozenset({"vfat", "exfat", "ext2", "ext3", "ext4"})
_OWNED_BY_MOUNT = frozenset({"vfat", "exfat"})  # no owners on disk: uid=/gid= at mount
MAX_ENTRIES = 20_000  # files and folders looked at for symlinks before the stick is refused
MAX_DETAIL = 500  # room.notice's detail field
FINISH_S = 15.0  # at a stop, how long work on a stick may go on (systemd waits 90 s)
_NODE_RE = re.compile(r"/dev/[A-Za-z0-9._-]{1,64}")

# linux/mount.h
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MNT_DETACH = 2
_SAFE_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC


class BlockDevice(Protocol):
    """What the watcher reads of a ``pyudev.Device`` (the tests build such objects)."""

    @property
    def action(self) -> str | None: ...
    @property
    def device_node(self) -> str | None: ...
    @property
    def device_type(self) -> str | None: ...
    @property
    def subsystem(self) -> str | None: ...
    @property
    def properties(self) -> Mapping[str, str]: ...


def is_stick(device: BlockDevice) -> bool:
    """A USB partition, or a whole USB disk holding a filesystem (no partition table)."""
    props = device.properties
    if device.subsystem != "block" or props.get("ID_BUS") != "usb":
        return False
    if device.device_type == "partition":
        return True
    return (
        device.device_type == "disk"
        and bool(props.get("ID_FS_TYPE"))
        and not props.get("ID_PART_TABLE_TYPE")
    )


# --- what a stick holds (pure: a folder in, a verdict out) ------------------------------


class StickKind(StrEnum):
    PACKAGE = "package"
    EXPORT = "export"
    PROVISION = "provision"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class StickContents:
    kind: StickKind
    package: Path | None = None  # the folder or the .zip to import
    reason: str = ""  # why it was rejected


def recognise(root: Path) -> StickContents:
    """What the stick mounted at ``root`` is for, by its files (never by running any)."""
    escaping = _escaping_symlink(root)
    if escaping is not None:
        return StickContents(StickKind.REJECTED, reason=escaping)
    try:
        top = {entry.name: entry for entry in os.scandir(root)}
    except OSError as exc:
        return StickContents(StickKind.REJECTED, reason=f"cannot read the stick: {exc.strerror}")

    def regular(name: str) -> bool:
        entry = top.get(name)
        return entry is not None and entry.is_file(follow_symlinks=False)

    found: list[StickContents] = []
    if regular(EXPORT_MARKER):
        found.append(StickContents(StickKind.EXPORT))
    if regular(PROVISION_MARKER):
        found.append(StickContents(StickKind.PROVISION))
    zips = sorted(
        name
        for name, entry in top.items()
        if name.lower().endswith(".zip")
        and not name.startswith(".")  # macOS "._x.zip" shadows, hidden files
        and entry.is_file(follow_symlinks=False)
    )
    if any(regular(name) for name in MANIFEST_NAMES):
        found.append(StickContents(StickKind.PACKAGE, package=root))
    elif len(zips) == 1:
        found.append(StickContents(StickKind.PACKAGE, package=root / zips[0]))
    elif len(zips) > 1:
        return StickContents(
            StickKind.REJECTED,
            reason=f"{len(zips)} .zip files at the top ({', '.join(zips[:3])}): "
            "keep one meeting package per stick",
        )
    if len(found) > 1:
        kinds = " and ".join(str(f.kind) for f in found)
        return StickContents(StickKind.REJECTED, reason=f"the stick is marked as {kinds} at once")
    if not found:
        return StickContents(
            StickKind.REJECTED,
            reason=f"no meeting package ({' or '.join(MANIFEST_NAMES)} or one .zip) and no "
            f"{EXPORT_MARKER} or {PROVISION_MARKER} file at the top",
        )
    return found[0]


def _escaping_symlink(root: Path) -> str | None:
    """Why the stick is refused for a symlink that leaves it (or for too many files)."""
    seen = 0
    real_root = root.resolve()
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            seen += 1
            if seen > MAX_ENTRIES:
                return f"more than {MAX_ENTRIES} files and folders on the stick"
            path = Path(folder, name)
            if not path.is_symlink():
                continue
            target = path.resolve()
            if target != real_root and real_root not in target.parents:
                shown = path.relative_to(root)
                return f"{shown} is a symbolic link that leaves the stick"
    return None


# --- mounting (the only privileged step) ------------------------------------------------


class Mounter(Protocol):
    """Mounts a stick's filesystem; returns where its files are."""

    def mount(self, device_node: str, fs_type: str, target: Path) -> Path: ...
    def make_writable(self, target: Path) -> None: ...
    def unmount(self, target: Path, *, lazy: bool = False) -> None: ...


class MountError(OSError):
    pass


@dataclass
class SystemMounter:
    """mount(2) itself (no ``mount`` program, no helper from the stick's filesystem):
    read-only, ``nosuid,nodev,noexec``. ``owner``: uid and gid that own the files of
    FAT-like filesystems (the room's user, who imports and exports)."""

    owner: tuple[int, int] | None = None
    _libc: ctypes.CDLL = field(
        default_factory=lambda: ctypes.CDLL(None, use_errno=True), repr=False
    )
    _data: dict[Path, tuple[str, str, bytes]] = field(default_factory=dict, repr=False)

    def mount(self, device_node: str, fs_type: str, target: Path) -> Path:
        options = []
        if fs_type in _OWNED_BY_MOUNT:
            if self.owner is not None:
                options += [f"uid={self.owner[0]}", f"gid={self.owner[1]}"]
            options += ["umask=0077"]
            if fs_type == "vfat":
                options += ["utf8", "shortname=mixed"]  # Vietnamese file names
        data = ",".join(options).encode()
        self._call(device_node, target, fs_type, MS_RDONLY | _SAFE_FLAGS, data)
        self._data[target] = (device_node, fs_type, data)
        return target

    def make_writable(self, target: Path) -> None:
        device_node, fs_type, data = self._data[target]
        self._call(device_node, target, fs_type, MS_REMOUNT | _SAFE_FLAGS, data)

    def unmount(self, target: Path, *, lazy: bool = False) -> None:
        self._data.pop(target, None)
        if self._libc.umount2(os.fsencode(target), MNT_DETACH if lazy else 0) != 0:
            code = ctypes.get_errno()
            if code == errno.EBUSY and not lazy:
                self.unmount(target, lazy=True)
                return
            if code != errno.EINVAL:  # EINVAL: not mounted (any more)
                raise MountError(code, f"umount {target}: {os.strerror(code)}")

    def _call(self, source: str, target: Path, fs_type: str, flags: int, data: bytes) -> None:
        result = self._libc.mount(
            source.encode(), os.fsencode(target), fs_type.encode(), flags, data or None
        )
        if result != 0:
            code = ctypes.get_errno()
            raise MountError(code, f"mount {source} ({fs_type}): {os.strerror(code)}")


# --- the room, through its command ------------------------------------------------------


@dataclass(frozen=True)
class RoomCommand:
    """``room-server`` with its options (``--config F``), run as ``user`` if given (the
    room's own user: its files stay its own, and the child has no capability)."""

    argv: tuple[str, ...]
    user: str | None = None
    timeout_s: float = 1800.0  # a large package, or records onto a slow stick

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*self.argv, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            user=self.user,
            group=_group_of(self.user) if self.user else None,
            extra_groups=[] if self.user else None,
        )

    def notice(self, kind: str, *, title: str = "", count: int = 0, detail: str = "") -> None:
        args = ["notice", kind, "--count", str(count)]
        if title:
            args += ["--title", title[:MAX_DETAIL]]
        if detail:
            args += ["--detail", _shorten(detail)]
        process = self.start(*args)
        try:
            _out, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            err = "timed out"
        if process.returncode != 0:
            log.error("could not tell the room (%s): %s", kind, err.strip())


def _group_of(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_gid


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_DETAIL else text[: MAX_DETAIL - 1] + "…"


# --- the watcher ------------------------------------------------------------------------


class Outcome(StrEnum):
    IMPORTED = "package_imported"
    STORED = "package_stored"  # imported, not made current: a meeting is in session
    REJECTED = "package_rejected"
    EXPORTED = "records_exported"
    EXPORT_FAILED = "export_failed"
    STICK_REJECTED = "stick_rejected"
    NOT_HANDLED = "stick_not_handled"


@dataclass(frozen=True, slots=True)
class Result:
    """What became of one stick (also what the room was told)."""

    outcome: Outcome
    title: str = ""
    count: int = 0
    detail: str = ""


@dataclass
class _Job:
    device_node: str
    mount_point: Path
    removed: threading.Event = field(default_factory=threading.Event)
    process: subprocess.Popen[str] | None = None
    step: str = ""
    thread: threading.Thread | None = None
    result: Result | None = None


Started = Callable[[str, subprocess.Popen[str]], None]


class StickWatcher:
    """Handles udev events for sticks, each stick's work in a thread of its own, so a
    ``remove`` is seen while that work runs. ``started`` (a test seam) is called with the
    step (``import``, ``export``) and its process as soon as it runs."""

    def __init__(
        self,
        room: RoomCommand,
        runtime_dir: Path,
        mounter: Mounter,
        *,
        started: Started | None = None,
    ) -> None:
        self.room = room
        self.runtime_dir = runtime_dir
        self.mounter = mounter
        self.started = started
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()

    def handle(self, device: BlockDevice) -> None:
        """The monitor's callback, for every block event."""
        node = device.device_node
        if not is_stick(device) or node is None:
            return
        log.info(
            "%s %s (%s, label %r, filesystem %s)",
            device.action,
            node,
            device.properties.get("ID_MODEL", "?"),
            device.properties.get("ID_FS_LABEL", ""),
            device.properties.get("ID_FS_TYPE", "none"),
        )
        if device.action == "add":
            self._add(node, device.properties.get("ID_FS_TYPE", ""))
        elif device.action == "remove":
            self._remove(node)

    def wait(self, device_node: str, timeout_s: float) -> Result | None:
        """The result for the stick at ``device_node`` once its work ended (for tests and
        for a clean stop)."""
        with self._lock:
            job = self._jobs.get(device_node)
        if job is None or job.thread is None:
            return None
        job.thread.join(timeout_s)
        return job.result

    def finish(self, timeout_s: float) -> None:
        """Wait for the work on every stick to end (a stop lets an import or export end
        and the stick be unmounted, rather than cut it)."""
        with self._lock:
            threads = [job.thread for job in self._jobs.values() if job.thread is not None]
        for thread in threads:
            thread.join(timeout_s)

    def _add(self, node: str, fs_type: str) -> None:
        if not _NODE_RE.fullmatch(node):
            log.warning("ignoring a device with an odd node name %r", node)
            return
        with self._lock:
            busy = self._jobs.get(node)
            if busy is not None and busy.thread is not None and busy.thread.is_alive():
                log.warning("%s: already being handled", node)
                return
            job = _Job(node, self.runtime_dir / Path(node).name)
            self._jobs[node] = job
        job.thread = threading.Thread(
            target=self._work, args=(job, fs_type), name=f"stick {node}", daemon=True
        )
        job.thread.start()

    def _remove(self, node: str) -> None:
        with self._lock:
            job = self._jobs.get(node)
        if job is None or job.thread is None or not job.thread.is_alive():
            return
        log.warning("%s was removed while it was being read or written", node)
        job.removed.set()
        # An export to a stick that is gone is cut short; an import is all-or-nothing
        # and ends by itself (done, or failing on the missing device).
        process = job.process
        if job.step == "export" and process is not None and process.poll() is None:
            process.terminate()
        try:
            self.mounter.unmount(job.mount_point, lazy=True)
        except OSError as exc:
            log.warning("%s: %s", node, exc)

    def _work(self, job: _Job, fs_type: str) -> None:
        try:
            result = self._read_stick(job, fs_type)
        except Exception as exc:  # one stick's failure never stops the watcher
            log.exception("%s: unexpected failure", job.device_node)
            result = Result(Outcome.STICK_REJECTED, detail=f"unexpected failure: {exc}")
        job.result = result
        log.info(
            "%s: %s %s %s %s",
            job.device_node,
            result.outcome,
            result.title,
            result.count,
            result.detail,
        )
        self.room.notice(
            str(result.outcome), title=result.title, count=result.count, detail=result.detail
        )

    def _read_stick(self, job: _Job, fs_type: str) -> Result:
        if fs_type not in FILESYSTEMS:
            shown = fs_type or "no filesystem"
            return Result(
                Outcome.STICK_REJECTED,
                detail=f"{shown} is not read here (FAT, exFAT or ext4 sticks only)",
            )
        self.runtime_dir.mkdir(mode=0o711, parents=True, exist_ok=True)
        job.mount_point.mkdir(mode=0o700, exist_ok=True)
        try:
            root = self.mounter.mount(job.device_node, fs_type, job.mount_point)
        except OSError as exc:
            job.mount_point.rmdir()
            return Result(Outcome.STICK_REJECTED, detail=f"cannot mount the stick: {exc}")
        try:
            contents = recognise(root)
            log.info("%s holds: %s %s", job.device_node, contents.kind, contents.reason)
            if contents.kind is StickKind.PACKAGE:
                assert contents.package is not None
                return self._import(job, contents.package)
            if contents.kind is StickKind.EXPORT:
                return self._export(job, root)
            if contents.kind is StickKind.PROVISION:
                return Result(Outcome.NOT_HANDLED, detail="provisioning stick: for tablets")
            return Result(Outcome.STICK_REJECTED, detail=contents.reason)
        finally:
            # Pulled: detached already, unless the pull came while it was being mounted
            # (detaching again is harmless).
            gone = job.removed.is_set()
            if not gone:
                os.sync()  # what was written is on the stick before it is let go
            try:
                self.mounter.unmount(job.mount_point, lazy=gone)
            except OSError as exc:
                log.error("%s: %s", job.device_node, exc)
            try:
                job.mount_point.rmdir()
            except OSError as exc:
                log.warning("%s: cannot remove %s: %s", job.device_node, job.mount_point, exc)

    def _run(self, job: _Job, step: str, args: Sequence[str]) -> tuple[int, str, str]:
        process = self.room.start(*args)
        job.process, job.step = process, step
        if self.started is not None:
            self.started(step, process)
        try:
            out, err = process.communicate(timeout=self.room.timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            out, err = process.communicate()
            err += f"\ntimed out after {self.room.timeout_s:.0f} s"
        finally:
            job.process = None
        return process.returncode, out, err

    def _import(self, job: _Job, package: Path) -> Result:
        # A stick put in during a meeting must not switch the room's tablets to another
        # meeting: then the package is stored, and made current after the close.
        args = ["import", "--json", "--unless-in-session", str(package)]
        code, out, err = self._run(job, "import", args)
        answer = _last_json(out)
        if job.removed.is_set() and (code != 0 or answer is None):
            return Result(
                Outcome.REJECTED,
                detail="the stick was removed during the import; nothing was imported",
            )
        if code == 0 and answer is not None and isinstance(answer.get("imported"), dict):
            imported = answer["imported"]
            session = imported.get("in_session")
            return Result(
                Outcome.IMPORTED if imported.get("current", True) else Outcome.STORED,
                title=str(imported.get("title", "")),
                count=int(imported.get("documents", 0)),
                detail=str(session.get("title", "")) if isinstance(session, dict) else "",
            )
        if answer is not None and isinstance(answer.get("problems"), list):
            return Result(Outcome.REJECTED, detail="; ".join(map(str, answer["problems"])))
        return Result(Outcome.REJECTED, detail=err.strip() or f"room-server import exited {code}")

    def _export(self, job: _Job, root: Path) -> Result:
        try:
            self.mounter.make_writable(job.mount_point)
        except OSError as exc:
            return Result(Outcome.EXPORT_FAILED, detail=f"cannot write to the stick: {exc}")
        log.info("%s: mounted read-write for the export", job.device_node)
        args = ["record", "export", "--all", "--json", str(root)]
        code, out, err = self._run(job, "export", args)
        answer = _last_json(out)
        exported = answer.get("exported", []) if answer else []
        done = len(exported) if isinstance(exported, list) else 0
        if job.removed.is_set():
            return Result(
                Outcome.EXPORT_FAILED,
                count=0,
                detail="the stick was removed while records were written to it; "
                "export again to a stick that stays in",
            )
        if code == 0 and answer is not None:
            return Result(Outcome.EXPORTED, count=done)
        failed = answer.get("failed", []) if answer else []
        if isinstance(failed, list) and failed:
            first = failed[0] if isinstance(failed[0], dict) else {}
            detail = f"{len(failed)} not exported: {first.get('meeting', '?')}: "
            detail += str(first.get("error", ""))
            return Result(Outcome.EXPORT_FAILED, count=done, detail=detail)
        return Result(
            Outcome.EXPORT_FAILED,
            count=done,
            detail=err.strip() or f"room-server record export exited {code}",
        )


def _last_json(out: str) -> dict[str, Any] | None:
    for line in reversed(out.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        return value if isinstance(value, dict) else None
    return None


# --- the real monitor -------------------------------------------------------------------


def list_block_devices() -> list[BlockDevice]:
    """Every block device udev knows now (``doctor``-style checks, tests)."""
    import pyudev

    return list(pyudev.Context().list_devices(subsystem="block"))


def watch(watcher: StickWatcher, stop: threading.Event, poll_s: float = 1.0) -> None:
    """Feed udev's block events to ``watcher`` until ``stop`` is set (in this thread:
    the work on each stick runs in threads of its own). Sticks already plugged in when
    the watcher starts are read as if they had just arrived."""
    import pyudev

    context = pyudev.Context()
    monitor = pyudev.Monitor.from_netlink(context)
    monitor.filter_by("block")
    monitor.start()
    for device in context.list_devices(subsystem="block"):
        if is_stick(device):
            watcher.handle(_Arrived(device))
    log.info("watching for USB sticks")
    while not stop.is_set():
        device = monitor.poll(timeout=poll_s)
        if device is not None:
            watcher.handle(device)
    log.info("stopping: waiting for the sticks being read or written")
    watcher.finish(FINISH_S)


@dataclass(frozen=True)
class _Arrived:
    """A device present at start, seen as an ``add``."""

    device: BlockDevice

    @property
    def action(self) -> str | None:
        return "add"

    @property
    def device_node(self) -> str | None:
        return self.device.device_node

    @property
    def device_type(self) -> str | None:
        return self.device.device_type

    @property
    def subsystem(self) -> str | None:
        return self.device.subsystem

    @property
    def properties(self) -> Mapping[str, str]:
        return self.device.properties
