"""The sealed record of a closed meeting: built after the chair closes the meeting, in a
worker thread (never on the event loop), step by step into
``<state_dir>/records/.building-<meeting_id>/`` and renamed to ``records/<meeting_id>/``
when every step is done. A folder still called ``.building-…`` is no record: the server
removes it and builds again when it starts and finds a closed meeting without a record.

A build step is a callable ``(db_path, state_dir, meeting_id, out_dir, progress) -> None``
that reads the database only (a read-only connection of its own) and writes files into
``out_dir``; ``progress(done, total, what)`` reports how far it is. May import
``room_protocol`` and ``room_server.store``; never the live session.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from room_protocol.messages import ID_RE
from room_protocol.records import RecordProgress, RecordState
from room_server.signing import SigningKey

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]  # (done, total, what)
StepFunction = Callable[[Path, Path, str, Path, Progress], None]
Report = Callable[[RecordProgress], None]

RECORDS_DIR = "records"
BUILDING_PREFIX = ".building-"
PROGRESS_INTERVAL_S = 0.25  # record.progress at most 4 times a second (but every stage's start)


@dataclass(frozen=True, slots=True)
class BuildStep:
    name: str  # the stage the chair sees, e.g. "contents"
    run: StepFunction


class BuildCancelled(Exception):
    """The server is stopping: the half-built folder stays and is rebuilt at the next start."""


def records_dir(state_dir: Path) -> Path:
    return state_dir / RECORDS_DIR


def record_path(state_dir: Path, meeting_id: str) -> Path:
    return records_dir(state_dir) / _checked(meeting_id)


def building_path(state_dir: Path, meeting_id: str) -> Path:
    return records_dir(state_dir) / f"{BUILDING_PREFIX}{_checked(meeting_id)}"


def _checked(meeting_id: str) -> str:
    # A meeting id names a folder: never a path of its own.
    if not ID_RE.fullmatch(meeting_id):
        raise ValueError(f"{meeting_id!r} is not a meeting id")
    return meeting_id


def record_steps(signing_key: SigningKey, room_id: str) -> tuple[BuildStep, ...]:
    """The steps this room builds a record with, in order: the contents (meeting, register,
    polls, speakers, minutes, documents), each member's annotations, the audit segment
    with its signed heads, and last the seal (manifest and signature)."""

    def contents(db: Path, state: Path, meeting_id: str, out: Path, progress: Progress) -> None:
        from room_server.record.contents import write_contents

        write_contents(db, state, meeting_id, out, progress)

    def annotations(db: Path, state: Path, meeting_id: str, out: Path, progress: Progress) -> None:
        from room_server.record.annotations import write_annotations

        write_annotations(db, state, meeting_id, out, progress)

    def audit(db: Path, state: Path, meeting_id: str, out: Path, progress: Progress) -> None:
        from room_server.record.audit_export import write_audit
        from room_server.record.tables import read_only

        with read_only(db) as conn:
            write_audit(out, conn, meeting_id, signing_key.public, progress)

    def seal(db: Path, state: Path, meeting_id: str, out: Path, progress: Progress) -> None:
        from room_server.record.seal import seal

        seal(out, signing_key, room_id, meeting_id, progress)

    return (
        BuildStep("contents", contents),
        BuildStep("annotations", annotations),
        BuildStep("audit", audit),
        BuildStep("seal", seal),
    )


class RecordBuilder:
    """Builds records one at a time in its own worker thread; reports on the event loop."""

    def __init__(
        self,
        db_path: Path,
        state_dir: Path,
        report: Report,
        *,
        steps: Sequence[BuildStep],
        interval_s: float = PROGRESS_INTERVAL_S,
    ) -> None:
        self.db_path = db_path
        self.state_dir = state_dir
        self.steps = tuple(steps)
        self.interval_s = interval_s
        self._report = report
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="record-build")
        self._cancel = threading.Event()
        self._queued: dict[str, Future[bool]] = {}
        self.latest: dict[str, RecordProgress] = {}  # by meeting: the last progress sent

    def has_record(self, meeting_id: str) -> bool:
        return record_path(self.state_dir, meeting_id).is_dir()

    def build(self, meeting_id: str) -> Future[bool]:
        """Build ``meeting_id``'s record (unless it exists); True once it is in place."""
        if meeting_id in self._queued and not self._queued[meeting_id].done():
            return self._queued[meeting_id]
        future = self._executor.submit(self._build, meeting_id)
        self._queued[meeting_id] = future
        return future

    def resume(self, closed: Sequence[str]) -> list[Future[bool]]:
        """At start: every closed meeting without a record is built (again)."""
        return [self.build(m) for m in closed if not self.has_record(m)]

    def stop(self) -> None:
        """Cancel what waits, stop the running build at its next progress call."""
        self._cancel.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # --- in the worker thread ----------------------------------------------------------

    def _build(self, meeting_id: str) -> bool:
        final = record_path(self.state_dir, meeting_id)
        if final.is_dir():
            return True
        out = building_path(self.state_dir, meeting_id)
        reporter = _Reporter(self, meeting_id)
        try:
            if out.exists():
                log.info("removing the half-built record %s", out)
                shutil.rmtree(out)
            out.mkdir(parents=True)
            total = len(self.steps)
            for number, step in enumerate(self.steps):
                reporter.stage(step.name, number, total)
                step.run(self.db_path, self.state_dir, meeting_id, out, reporter.step_progress)
            _fsync_tree(out)
            out.rename(final)
            _fsync_dir(final.parent)
        except BuildCancelled:
            log.info("the record of %s will be built again at the next start", meeting_id)
            return False
        except Exception as exc:
            log.exception("building the record of %s failed", meeting_id)
            reporter.final(RecordState.FAILED, f"{type(exc).__name__}: {exc}"[:500])
            return False
        log.info("the record of %s is in %s", meeting_id, final)
        reporter.final(RecordState.SEALED, f"{RECORDS_DIR}/{meeting_id}")
        return True

    def _emit(self, progress: RecordProgress) -> None:
        self.latest[progress.meeting_id] = progress
        self._report(progress)


class _Reporter:
    """One build's progress: throttled, every stage's start and the end always sent."""

    def __init__(self, builder: RecordBuilder, meeting_id: str) -> None:
        self.builder = builder
        self.meeting_id = meeting_id
        self.stage_name = ""
        self.stage_number = 0
        self.stages = 0
        self._sent = 0.0

    def stage(self, name: str, number: int, total: int) -> None:
        self.stage_name, self.stage_number, self.stages = name, number, total
        self._send(0, 1, name, force=True)

    def step_progress(self, done: int, total: int, what: str) -> None:
        self._send(done, total, what, force=False)

    def _send(self, done: int, total: int, what: str, *, force: bool) -> None:
        if self.builder._cancel.is_set():
            raise BuildCancelled
        now = time.monotonic()
        if not force and now - self._sent < self.builder.interval_s:
            return
        self._sent = now
        text = f"{self.stage_number + 1}/{self.stages} {what}"[:500]
        self.builder._emit(
            RecordProgress(
                self.meeting_id,
                RecordState.BUILDING,
                self.stage_name,
                max(0, min(done, total)),
                max(0, total),
                text,
            )
        )

    def final(self, state: RecordState, text: str) -> None:
        total = max(1, self.stages)
        done = total if state is RecordState.SEALED else self.stage_number
        self.builder._emit(
            RecordProgress(self.meeting_id, state, self.stage_name or "record", done, total, text)
        )


def _fsync_tree(root: Path) -> None:
    """Every file and folder of the record on disk before it is renamed into place."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            fd = os.open(Path(folder) / name, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(folder))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
