"""The one writer: the only connection of the server process that changes the database.

Every change the room makes (a page change, a check-in, a ballot, a queue change) is a
*job* submitted here. Jobs that arrive together are applied in one transaction and
committed with one disk sync (``synchronous=FULL``); each submitter gets its job's result
only after that commit, so a tablet is never told something is saved before it is.

Who waits where:

- Taking SQLite's write lock (``BEGIN IMMEDIATE``; ``room-server import`` in another
  process may hold it for seconds) and ``COMMIT`` (the fsync) run in a worker thread: the
  event loop never waits on the lock or the disk.
- The jobs themselves run on the event loop, between those two steps, while this
  connection holds the lock. They are short (a few SQL statements on pages in memory),
  so they read and change the session's in-memory state without any locking. A batch
  stops taking jobs after ``slice_ms`` of work and leaves the rest for the next
  transaction, so a chair's page change waits at most one slice behind a ballot burst.

A job that raises :class:`~room_server.rules.Refusal` is rolled back to its own
savepoint and changes nothing; the jobs around it commit. A job can belong to a *part*
(ballots do): consecutive jobs of a part share state kept in memory for the transaction
and write their rows together when the part is flushed, which is before any job of
another kind runs and before the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from room_server.rules import Refusal
from room_server.store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")


class Part(Protocol):
    """State that consecutive jobs of one kind share within a transaction."""

    def flush(self) -> None:
        """Write what the jobs recorded (inside the transaction)."""


class Transaction:
    """What a job sees: the writer's store inside an open transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.conn = store.conn
        self.checkpoint_after = False  # truncate the WAL once this transaction is committed
        self.sign_reasons: list[str] = []  # sign the audit chain's head before COMMIT
        self._part: tuple[str, Part] | None = None

    def sign_head(self, reason: str) -> None:
        """Have the audit chain's head signed in this transaction, after every job and
        part wrote its entries: the signed head is the head this batch commits."""
        self.sign_reasons.append(reason)

    def part(self, name: str, make: Callable[[Transaction], Part]) -> Any:
        """The state of part ``name`` for this run of consecutive jobs (made on first use)."""
        if self._part is None or self._part[0] != name:
            self.flush()
            self._part = (name, make(self))
        return self._part[1]

    def flush(self) -> None:
        if self._part is not None:
            _, part = self._part
            self._part = None
            part.flush()


@dataclass
class _Job:
    run: Callable[[Transaction], Any]
    part: str | None
    future: asyncio.Future[Any]
    barrier: bool = False


@dataclass
class WriterStats:
    """What the writer did, for logs and the benches."""

    batches: list[int] = field(default_factory=list)  # jobs per committed transaction
    commit_ms: list[float] = field(default_factory=list)


# Runs last in a transaction, before COMMIT (the audit chain's head signer); what it
# returns is called once that transaction is committed.
BeforeCommit = Callable[[Transaction], Callable[[], None] | None]


class Writer:
    """Owns the server's only write connection and commits jobs in batches."""

    def __init__(
        self,
        database: Store,
        *,
        max_batch: int = 5_000,
        slice_ms: float = 20.0,
    ) -> None:
        self.store = database
        self.max_batch = max_batch
        self.slice_s = slice_ms / 1000
        self.stats = WriterStats()
        self._queue: deque[_Job] = deque()
        self._urgent: deque[_Job] = deque()  # go ahead of the queue (a chair's page change)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._barriers = 0  # barrier jobs waiting: an urgent job may not pass them
        self._checkpoint_due = False
        self._idle = asyncio.Event()
        self._idle.set()
        self.before_commit: BeforeCommit | None = None
        # Told when the disk starts refusing writes (the chair's words) and when a commit
        # succeeds again (None); once per change, not per failed transaction.
        self.on_storage: Callable[[str | None], None] | None = None
        self._storage: str | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="writer")

    async def stop(self) -> None:
        """Commit what is queued, then stop."""
        await self.drain()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.store.close()

    def submit(
        self,
        run: Callable[[Transaction], T],
        *,
        part: str | None = None,
        barrier: bool = False,
        urgent: bool = False,
    ) -> asyncio.Future[T]:
        """Queue ``run``; the future has its result once the transaction is committed.

        It raises what ``run`` raised (a :class:`Refusal`: nothing of the job was kept),
        or :class:`WriteFailed` when the transaction could not be committed. A
        ``barrier`` job ends its batch: what its submitter does after the commit (a
        sign-in gives the tablet its role) happens before any later job runs. An
        ``urgent`` job goes ahead of the jobs waiting (not of other urgent ones) and is
        committed without waiting for others to join its batch: only for changes no
        other job depends on, such as the page the chair shows, which must not wait
        behind a burst of 2,000 ballots. It never passes a waiting barrier.
        """
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        job = _Job(run, part, future, barrier)
        if barrier:
            self._barriers += 1
        (self._urgent if urgent and not self._barriers else self._queue).append(job)
        self._idle.clear()
        self._wake.set()
        return future

    async def drain(self) -> None:
        """Wait until every job submitted so far is committed (or failed)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._urgent or self._queue:
                try:
                    await self._batch()
                except Exception:  # a bug here must not leave every tablet unanswered
                    log.exception("the writer failed; the changes waiting were not saved")
                    self._fail_waiting(RuntimeError("the writer failed"))
                    with contextlib.suppress(sqlite3.Error):
                        await asyncio.to_thread(self._rollback)
            self._idle.set()

    def _fail_waiting(self, cause: BaseException) -> None:
        self._fail([*self._urgent, *self._queue], cause)
        self._urgent.clear()
        self._queue.clear()
        self._barriers = 0

    async def _batch(self) -> None:
        try:
            await asyncio.to_thread(self._begin)
        except sqlite3.Error as exc:
            if isinstance(exc, sqlite3.OperationalError) and (
                "locked" in str(exc) or "busy" in str(exc)
            ):
                # Another process (an import) held the lock past the busy timeout: the
                # jobs wait for their turn, as the importer would.
                log.warning("the database is busy (%s); waiting for the lock again", exc)
                return
            log.error("cannot start a transaction: %s", exc)
            self._fail_waiting(exc)
            self._storage_is(storage_problem(exc))
            await asyncio.sleep(0.1)  # the disk may come back
            return
        tx = Transaction(self.store)
        done: list[tuple[_Job, bool, Any]] = []  # job, succeeded, result or exception
        try:
            self._take(tx, done)
            tx.flush()
            committed = self.before_commit(tx) if self.before_commit is not None else None
            started = time.perf_counter()
            await asyncio.to_thread(self._commit)
        except Exception as exc:  # the disk, or a bug in a part's flush: nothing is kept
            # Its tablets are answered ``internal`` unless the disk was the cause: a bug,
            # whose traceback the log must show.
            log.error(
                "committing %d change(s) failed; none was saved: %s",
                len(done),
                exc,
                exc_info=storage_problem(exc) is None,
            )
            with contextlib.suppress(sqlite3.Error):
                await asyncio.to_thread(self._rollback)
            self._fail([job for job, _, _ in done], exc)
            self._storage_is(storage_problem(exc))
            return
        self._storage_is(None)
        commit_ms = (time.perf_counter() - started) * 1000
        self.stats.batches.append(len(done))
        self.stats.commit_ms.append(commit_ms)
        log.info("changes: %d in one commit (%.1f ms)", len(done), commit_ms)
        for job, succeeded, value in done:
            if job.future.done():  # the submitter gave up waiting
                continue
            if succeeded:
                job.future.set_result(value)
            else:
                job.future.set_exception(value)
        if committed is not None:
            try:
                committed()
            except Exception:  # the commit stands; only its announcement failed
                log.exception("announcing a committed transaction failed")
        self._checkpoint_due |= tx.checkpoint_after
        if self._checkpoint_due:  # after the answers: nobody waits for it
            self._checkpoint_due = not await asyncio.to_thread(self._checkpoint)

    def _storage_is(self, problem: str | None) -> None:
        if problem == self._storage:
            return
        self._storage = problem
        if problem is None:
            log.warning("the disk takes changes again")
        if self.on_storage is not None:
            try:
                self.on_storage(problem)
            except Exception:  # telling the chair must not stop the writer
                log.exception("reporting the disk's state failed")

    def _take(self, tx: Transaction, done: list[tuple[_Job, bool, Any]]) -> None:
        """Run waiting jobs into ``tx`` until the slice, the batch size, a barrier or an
        urgent job ends the batch."""
        deadline = time.perf_counter() + self.slice_s
        while (self._urgent or self._queue) and len(done) < self.max_batch:
            if done and time.perf_counter() > deadline:
                return
            urgent = bool(self._urgent)
            job = (self._urgent or self._queue).popleft()
            if job.barrier:
                self._barriers -= 1
            try:
                done.append((job, *self._apply(tx, job)))
            except BaseException as exc:  # the transaction broke: the batch fails with it
                done.append((job, False, exc))
                raise
            if job.barrier or (urgent and not self._urgent):
                return  # commit now: an urgent job does not wait for a slice of others

    def _apply(self, tx: Transaction, job: _Job) -> tuple[bool, Any]:
        if job.part is not None:
            # A part's jobs check everything before they record anything in memory.
            try:
                return True, job.run(tx)
            except Refusal as refusal:
                return False, refusal
            except Exception as exc:
                if storage_problem(exc) is not None:
                    raise
                log.exception("a change failed and was not applied")
                return False, exc
        tx.flush()
        self.store.conn.execute("SAVEPOINT job")  # an sqlite3.Error here fails the batch
        try:
            value = job.run(tx)
        except Exception as exc:  # a refusal, or a bug: only this job is undone
            if storage_problem(exc) is not None:
                raise  # the disk, not the job: the transaction fails with every job in it
            self.store.conn.execute("ROLLBACK TO job")
            self.store.conn.execute("RELEASE job")
            if not isinstance(exc, Refusal):
                log.exception("a change failed and was not applied")
            return False, exc
        self.store.conn.execute("RELEASE job")
        return True, value

    # The three below run in a worker thread; the loop does not touch the connection
    # while they run.

    def _begin(self) -> None:
        self.store.conn.execute("BEGIN IMMEDIATE")

    def _commit(self) -> None:
        self.store.conn.execute("COMMIT")

    def _checkpoint(self) -> bool:
        """Fold the WAL into the database and empty it; False if readers kept it busy.

        The WAL holds each commit's pages in order, which for a secret poll is more than
        the tables say: a checkpoint asked for (a poll closed) is retried after every
        commit until it succeeds.
        """
        conn = self.store.conn
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            if not busy:
                # The WAL index (-shm) still lists the page of every frame the log held,
                # in order: which pages each commit touched. The first frame written
                # after a restart clears that list, so write one and fold it in too.
                conn.execute("BEGIN IMMEDIATE")
                # (a change undone in the same transaction: its page is still written)
                conn.execute(
                    "INSERT OR REPLACE INTO room_meta (key, value) VALUES ('wal.reset', '')"
                )
                conn.execute("DELETE FROM room_meta WHERE key = 'wal.reset'")
                conn.execute("COMMIT")
                busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error as exc:
            log.warning("truncating the WAL failed; will try again: %s", exc)
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return False
        if busy:
            log.warning("truncating the WAL was blocked by a reader; will try again")
        return not busy

    def _rollback(self) -> None:
        if self.store.conn.in_transaction:
            self.store.conn.execute("ROLLBACK")

    @staticmethod
    def _fail(jobs: list[_Job], cause: BaseException) -> None:
        for job in jobs:
            if not job.future.done():
                job.future.set_exception(WriteFailed(str(cause), storage_problem(cause)))


class WriteFailed(RuntimeError):
    """The transaction holding a job could not be committed; nothing of it was saved.
    ``storage`` says why in a chair's words when the room's disk was the cause."""

    def __init__(self, message: str, storage: str | None = None) -> None:
        super().__init__(message)
        self.storage = storage


# SQLite's primary result codes (the low byte of an extended code), sqlite3.h
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_FULL = 13

DISK_FULL = "the room's disk is full: nothing was saved. Ask IT staff to free space, then try again"
DISK_READ_ONLY = (
    "the room's disk cannot be written (read-only or failing): nothing was saved. "
    "Ask IT staff to check the room server, then try again"
)


def storage_problem(exc: BaseException) -> str | None:
    """What a failed write says about the room's disk, in words a chair can act on; None
    when the disk was not the cause."""
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return DISK_FULL
        if exc.errno in (errno.EROFS, errno.EIO):
            return DISK_READ_ONLY
        return None
    if not isinstance(exc, sqlite3.Error):
        return None
    code = (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF
    if code == _SQLITE_FULL:
        return DISK_FULL
    if code in (_SQLITE_READONLY, _SQLITE_IOERR):
        return DISK_READ_ONLY
    return None
