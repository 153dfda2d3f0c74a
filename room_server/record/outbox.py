"""The outbox: sealed records waiting for the archive, their upload, retries and retention.

A record is ``<state_dir>/records/<meeting_id>/`` once ``manifest.json`` is in it. Each
queued record has a state file ``<state_dir>/outbox/<meeting_id>.json`` (written whole,
then renamed) that only the server's uploader writes; other processes (``room-server
record upload-now``) leave a ``<meeting_id>.wake`` file beside it instead. One uploader
runs at a time: the server's (``[archive] uploader = "server"``) or ``room-server record
upload --follow`` (``"separate"``, hemicycle-uploader.service); each holds an exclusive
lock on ``outbox/uploader.lock`` while it runs, and a second one waits for it. The state
is not in the SQLite database: that has one writer, the server's, and an upload must not
wait behind meeting traffic nor stop when the database is busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import random
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from room_protocol.private_files import write_private
from room_server.config import ArchiveConfig
from room_server.record import RECORDS_DIR
from room_server.record.uploader import (
    MANIFEST,
    Archive,
    UploadCancelled,
    UploadError,
    record_files,
    sha256_of,
)

log = logging.getLogger(__name__)

OUTBOX_DIR = "outbox"
UPLOADER_LOCK = "uploader.lock"  # flock(2)ed by the one uploader running
_MEETING_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # as a package's ids
POLL_SECONDS = 5.0  # how often the loop looks for new records and wake files at most
_DAY = 86_400.0
_JITTER = (0.8, 1.2)  # a retry waits its backoff times a random factor in this range
_PROGRESS_EVERY = 1024 * 1024  # bytes between two progress notifications
_STOP_WAIT = 10.0  # seconds a stopping server waits for an upload's thread to give up


class State(StrEnum):
    QUEUED = "queued"
    UPLOADING = "uploading"
    UPLOADED = "uploaded"
    FAILED_RETRYING = "failed-retrying"
    NOT_CONFIGURED = "not-configured"


@dataclass(frozen=True, slots=True)
class RecordStatus:
    meeting_id: str
    state: State
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    attempts: int
    last_error: str | None
    next_attempt_at: float | None  # Unix time; None: as soon as the uploader gets to it
    confirmed_at: float | None  # Unix time the archive confirmed the manifest
    pruned_at: float | None = None  # Unix time the local copy was deleted (after keep_days)


class OutboxError(ValueError):
    """A meeting id that is not a sealed record here."""


@dataclass(slots=True)
class _Entry:
    """What ``<meeting_id>.json`` holds."""

    meeting_id: str
    state: State = State.QUEUED
    attempts: int = 0
    failures: int = 0  # in a row: the backoff's exponent
    last_error: str | None = None
    next_attempt_at: float | None = None
    confirmed_at: float | None = None
    pruned_at: float | None = None
    files_total: int = 0
    bytes_total: int = 0
    done: dict[str, str] | None = None  # path -> sha256 the archive confirmed this round

    def as_json(self) -> dict[str, Any]:
        return {
            "meeting_id": self.meeting_id,
            "state": self.state.value,
            "attempts": self.attempts,
            "failures": self.failures,
            "last_error": self.last_error,
            "next_attempt_at": self.next_attempt_at,
            "confirmed_at": self.confirmed_at,
            "pruned_at": self.pruned_at,
            "files_total": self.files_total,
            "bytes_total": self.bytes_total,
            "done": dict(sorted((self.done or {}).items())),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> _Entry:
        state = State(data["state"])
        return cls(
            meeting_id=str(data["meeting_id"]),
            state=state,
            attempts=int(data.get("attempts", 0)),
            failures=int(data.get("failures", 0)),
            last_error=data.get("last_error"),
            next_attempt_at=_float_or_none(data.get("next_attempt_at")),
            confirmed_at=_float_or_none(data.get("confirmed_at")),
            pruned_at=_float_or_none(data.get("pruned_at")),
            files_total=int(data.get("files_total", 0)),
            bytes_total=int(data.get("bytes_total", 0)),
            done={str(k): str(v) for k, v in dict(data.get("done") or {}).items()},
        )


def _float_or_none(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


class Outbox:
    """Sealed records of ``state_dir`` and their way to the archive of ``archive``.

    ``clock`` is Unix time (tests move it); waiting between retries happens in real time
    in steps of at most :data:`POLL_SECONDS`, or at once on :meth:`wake`."""

    def __init__(self, state_dir: Path, archive: ArchiveConfig, clock: Callable[[], float]) -> None:
        self.records_dir = state_dir / RECORDS_DIR
        self.outbox_dir = state_dir / OUTBOX_DIR
        self._archive = archive
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._live: dict[str, tuple[int, int]] = {}  # meeting -> bytes sent, files confirmed
        self._listeners: list[Callable[[RecordStatus], None]] = []
        self._wake = asyncio.Event()
        self._cancel = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._load()

    # -- the lead's and the CLI's side -----------------------------------------------------

    def enqueue(self, meeting_id: str) -> RecordStatus:
        """Queue the sealed record of ``meeting_id`` (again: its backoff starts over; a
        record the archive confirmed stays uploaded)."""
        folder = self._sealed(meeting_id)
        with self._lock:
            entry = self._entries.get(meeting_id)
            if entry is None:
                files = record_files(folder)
                entry = _Entry(
                    meeting_id,
                    files_total=len(files),
                    bytes_total=sum(f.size for f in files),
                )
                self._entries[meeting_id] = entry
                log.info("record %s queued for the archive (%d files)", meeting_id, len(files))
            elif entry.state is not State.UPLOADED:
                entry.failures = 0
                entry.next_attempt_at = None
            self._save(entry)
        self._changed(meeting_id)
        self.wake()
        return self._status_of(entry)

    def upload_now(self, meeting_id: str) -> None:
        """From another process: ask the running uploader to try ``meeting_id`` now."""
        self._sealed(meeting_id)
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        write_private(self.outbox_dir / f"{meeting_id}.wake", b"")

    def status(self) -> list[RecordStatus]:
        """Every record in the outbox (and sealed ones not queued yet), oldest first."""
        with self._lock:
            entries = list(self._entries.values())
        known = {e.meeting_id for e in entries}
        for meeting_id in self._sealed_ids():
            if meeting_id not in known:
                files = record_files(self.records_dir / meeting_id)
                entries.append(
                    _Entry(
                        meeting_id, files_total=len(files), bytes_total=sum(f.size for f in files)
                    )
                )
        return sorted((self._status_of(e) for e in entries), key=lambda s: s.meeting_id)

    def on_change(self, listener: Callable[[RecordStatus], None]) -> Callable[[], None]:
        """Call ``listener`` in the event loop whenever a record's status changes; returns
        the call that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def wake(self) -> None:
        """Look at the queue now (a record added, the clock moved, the archive is back)."""
        self._wake.set()

    # -- the uploader ----------------------------------------------------------------------

    async def run(self, *, until_idle: bool = False) -> None:
        """Upload queued records until cancelled; cancelling stops a running upload.
        ``until_idle``: return once no record is due now (``room-server record upload``).
        Waits while another process's uploader holds the outbox."""
        lock = await self._hold_the_lock()
        try:
            await self._run(until_idle=until_idle)
        finally:
            os.close(lock)  # and with it the lock

    async def _hold_the_lock(self) -> int:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.outbox_dir / UPLOADER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not said:
                    log.warning(
                        "another uploader holds %s: this one waits for it",
                        self.outbox_dir / UPLOADER_LOCK,
                    )
                    said = True
                try:
                    await asyncio.sleep(POLL_SECONDS)
                except BaseException:
                    os.close(fd)
                    raise
                continue
            if said:  # the other uploader wrote the state files meanwhile
                with self._lock:
                    self._entries.clear()
                self._load()
                log.info("the other uploader is gone: this one goes on")
            return fd

    async def _run(self, *, until_idle: bool) -> None:
        self._loop = asyncio.get_running_loop()
        self._cancel.clear()
        with self._lock:
            for entry in self._entries.values():
                if entry.state is State.UPLOADING:  # the server stopped mid-upload: go on
                    entry.state = State.QUEUED
        if not self._archive.configured:
            log.info(
                "no [archive] url or endpoint configured: sealed records stay in %s",
                self.records_dir,
            )
        tried: set[str] = set()
        try:
            while True:
                try:
                    self._scan()
                    self._prune()
                    due = self._due(tried)
                    if due is not None:
                        if until_idle:  # one attempt each: a failure waits for next time
                            tried.add(due.meeting_id)
                        await self._attempt(due)
                        continue
                except OSError as exc:  # the state directory full or unwritable: try later
                    log.error("the outbox cannot go on (%s); trying again", exc)
                    if until_idle:
                        raise
                if until_idle:
                    return
                await self._sleep()
        finally:
            self._loop = None

    async def _sleep(self) -> None:
        delay = POLL_SECONDS
        now = self._clock()
        with self._lock:
            for entry in self._entries.values():
                if entry.state is State.FAILED_RETRYING and entry.next_attempt_at is not None:
                    delay = min(delay, max(0.0, entry.next_attempt_at - now))
        # asyncio.wait, not wait_for: Python 3.11's wait_for drops a cancellation that
        # arrives as the event is set, and the uploader would then never stop.
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({woken}, timeout=delay)
        finally:
            woken.cancel()
        self._wake.clear()

    def _due(self, tried: set[str]) -> _Entry | None:
        if not self._archive.configured:
            return None
        now = self._clock()
        with self._lock:
            waiting = [
                e
                for e in self._entries.values()
                if e.state in (State.QUEUED, State.FAILED_RETRYING)
                and e.meeting_id not in tried
                and (e.next_attempt_at is None or e.next_attempt_at <= now)
            ]
        return min(waiting, key=lambda e: (e.next_attempt_at or 0.0, e.meeting_id), default=None)

    async def _attempt(self, entry: _Entry) -> None:
        meeting_id = entry.meeting_id
        with self._lock:
            entry.state = State.UPLOADING
            entry.attempts += 1
            self._save(entry)
        self._live[meeting_id] = (0, len(entry.done or {}))
        self._changed(meeting_id)
        assert self._loop is not None
        upload = self._loop.run_in_executor(None, self._upload, entry)
        try:
            error = await asyncio.shield(upload)
        except asyncio.CancelledError:
            self._cancel.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(upload, _STOP_WAIT)
            raise
        finally:
            self._live.pop(meeting_id, None)
        with self._lock:
            if error is None:
                entry.state = State.UPLOADED
                entry.confirmed_at = self._clock()
                entry.failures = 0
                entry.last_error = None
                entry.next_attempt_at = None
                entry.done = {}
                log.info("record %s: the archive confirmed it", meeting_id)
            else:
                entry.failures += 1
                wait = self._archive.retry_min_seconds * 2 ** min(entry.failures - 1, 30)
                wait = min(wait, self._archive.retry_max_seconds) * random.uniform(*_JITTER)  # noqa: S311  # jitter, not a secret
                wait = max(self._archive.retry_min_seconds, wait)
                wait = min(wait, self._archive.retry_max_seconds)
                entry.state = State.FAILED_RETRYING
                entry.last_error = error
                entry.next_attempt_at = self._clock() + wait
                log.warning(
                    "record %s: upload failed (attempt %d), next try in %.0f s: %s",
                    meeting_id,
                    entry.attempts,
                    wait,
                    error,
                )
            self._save(entry)
        self._changed(meeting_id)

    def _upload(self, entry: _Entry) -> str | None:
        """In a worker thread: every file not confirmed yet, the manifest last; None when
        the archive confirmed the manifest, else what went wrong."""
        meeting_id = entry.meeting_id
        folder = self.records_dir / meeting_id
        if not (folder / MANIFEST).is_file():
            return f"the record is gone from {folder}"
        archive = Archive(self._archive, self._cancel)
        sent = sum((folder / p).stat().st_size for p in entry.done or {} if (folder / p).is_file())
        unreported = 0

        def progress(size: int) -> None:
            nonlocal sent, unreported
            sent += size
            unreported += size
            if unreported >= _PROGRESS_EVERY:
                unreported = 0
                self._progress(meeting_id, sent)

        try:
            files = record_files(folder)
            done = dict(entry.done or {})
            for file in files:
                path = folder / file.path
                known = done.get(file.path)
                if known is not None and file.path != MANIFEST and known == sha256_of(path):
                    continue  # confirmed before a restart or a failure
                digest = archive.put(meeting_id, path, file.path, progress)
                done[file.path] = digest
                with self._lock:
                    entry.done = done.copy()
                    entry.files_total = len(files)
                    entry.bytes_total = sum(f.size for f in files)
                    self._save(entry)
                self._progress(meeting_id, sent)
        except UploadCancelled:
            return "the server stopped during the upload"
        except UploadError as exc:
            return str(exc)
        except OSError as exc:
            return f"cannot read the record: {exc}"
        except Exception as exc:  # a bug must not stop the uploader for good
            log.exception("record %s: the upload failed unexpectedly", meeting_id)
            return f"unexpected error: {exc.__class__.__name__}: {exc}"
        return None

    def _progress(self, meeting_id: str, sent: int) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed while stopping

            def report() -> None:
                entry = self._entries.get(meeting_id)
                if meeting_id in self._live and entry is not None:
                    self._live[meeting_id] = (sent, len(entry.done or {}))
                    self._changed(meeting_id)

            loop.call_soon_threadsafe(report)

    def _scan(self) -> None:
        """Queue sealed records nobody queued (a restart between seal and enqueue); take
        ``upload-now`` wake files."""
        for meeting_id in self._sealed_ids():
            if meeting_id not in self._entries:
                self.enqueue(meeting_id)
        if not self.outbox_dir.is_dir():
            return
        for wake in sorted(self.outbox_dir.glob("*.wake")):
            meeting_id = wake.stem
            wake.unlink(missing_ok=True)
            entry = self._entries.get(meeting_id)
            if entry is not None and entry.state is not State.UPLOADED:
                log.info("record %s: upload asked for now", meeting_id)
                with self._lock:
                    entry.failures = 0
                    entry.next_attempt_at = None
                    self._save(entry)
                self._changed(meeting_id)

    def _prune(self) -> None:
        """Delete the local copy of records the archive confirmed ``keep_days`` ago."""
        keep = self._archive.keep_days
        if keep <= 0:
            return
        now = self._clock()
        for entry in list(self._entries.values()):
            if (
                entry.state is not State.UPLOADED
                or entry.confirmed_at is None
                or entry.pruned_at is not None
                or now < entry.confirmed_at + keep * _DAY
            ):
                continue
            folder = self.records_dir / entry.meeting_id
            shutil.rmtree(folder, ignore_errors=True)
            if folder.exists():
                log.warning("record %s: could not delete %s", entry.meeting_id, folder)
                continue
            with self._lock:
                entry.pruned_at = now
                self._save(entry)
            log.info(
                "record %s: deleted from the room, %d days after the archive confirmed it",
                entry.meeting_id,
                keep,
            )
            self._changed(entry.meeting_id)

    # -- files -----------------------------------------------------------------------------

    def _sealed(self, meeting_id: str) -> Path:
        if not _MEETING_ID_RE.fullmatch(meeting_id):
            raise OutboxError(f"{meeting_id!r} is not a meeting id")
        folder = self.records_dir / meeting_id
        if not (folder / MANIFEST).is_file():
            with self._lock:
                entry = self._entries.get(meeting_id)
            if entry is not None and entry.pruned_at is not None:
                return folder
            raise OutboxError(f"no sealed record of {meeting_id!r} in {self.records_dir}")
        return folder

    def _sealed_ids(self) -> list[str]:
        if not self.records_dir.is_dir():
            return []
        return sorted(
            folder.name
            for folder in self.records_dir.iterdir()
            if _MEETING_ID_RE.fullmatch(folder.name) and (folder / MANIFEST).is_file()
        )

    def _load(self) -> None:
        if not self.outbox_dir.is_dir():
            return
        for file in sorted(self.outbox_dir.glob("*.json")):
            try:
                entry = _Entry.from_json(json.loads(file.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.error(
                    "outbox state %s cannot be read (%s): the record is queued again", file, exc
                )
                continue
            if entry.meeting_id == file.stem and _MEETING_ID_RE.fullmatch(entry.meeting_id):
                self._entries[entry.meeting_id] = entry

    def _save(self, entry: _Entry) -> None:
        """Called with the lock held."""
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(entry.as_json(), ensure_ascii=False, sort_keys=True, indent=2) + "\n"
        write_private(self.outbox_dir / f"{entry.meeting_id}.json", text.encode())

    def _status_of(self, entry: _Entry) -> RecordStatus:
        with self._lock:
            done = entry.done or {}
            folder = self.records_dir / entry.meeting_id
            bytes_done = entry.bytes_total if entry.state is State.UPLOADED else 0
            live = self._live.get(entry.meeting_id)
            # An upload's own count (``live``, once it reported) starts from these files'
            # sizes: no need to look at each file again for every report, on the event
            # loop (a congress's record has a thousand files).
            if entry.state is not State.UPLOADED and done and not (live and live[0]):
                bytes_done = sum(
                    (folder / p).stat().st_size for p in done if (folder / p).is_file()
                )
            files_done = entry.files_total if entry.state is State.UPLOADED else len(done)
            if live is not None:
                bytes_done = max(bytes_done, live[0])
                files_done = max(files_done, live[1])
            state = entry.state
            if state is not State.UPLOADED and not self._archive.configured:
                state = State.NOT_CONFIGURED
            return RecordStatus(
                meeting_id=entry.meeting_id,
                state=state,
                files_done=files_done,
                files_total=entry.files_total,
                bytes_done=min(bytes_done, entry.bytes_total),
                bytes_total=entry.bytes_total,
                attempts=entry.attempts,
                last_error=entry.last_error,
                next_attempt_at=entry.next_attempt_at if state is State.FAILED_RETRYING else None,
                confirmed_at=entry.confirmed_at,
                pruned_at=entry.pruned_at,
            )

    def _changed(self, meeting_id: str) -> None:
        if not self._listeners:
            return
        with self._lock:
            entry = self._entries.get(meeting_id)
        if entry is None:
            return
        status = self._status_of(entry)
        for listener in list(self._listeners):
            try:
                listener(status)
            except Exception:
                log.exception("an outbox listener failed")
