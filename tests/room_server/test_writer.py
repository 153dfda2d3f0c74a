"""The one writer: batches, savepoints, parts, commit failures, and a loop that never
waits on SQLite's lock (real SQLite files, a second connection as the other process)."""

from __future__ import annotations

import asyncio
import errno
import sqlite3
import time
from pathlib import Path

import pytest

from room_protocol.errors import ErrorCode
from room_server.rules import Refusal
from room_server.store import Store, connect
from room_server.writer import (
    DISK_FULL,
    DISK_READ_ONLY,
    Transaction,
    WriteFailed,
    Writer,
    storage_problem,
)


def make_writer(tmp_path: Path, **settings: float) -> Writer:
    store = Store(tmp_path / "room.sqlite3", tmp_path / "documents")
    store.conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL)")
    return Writer(store, **settings)  # type: ignore[arg-type]


def note(text: str) -> object:
    def run(tx: Transaction) -> int:
        return int(tx.conn.execute("INSERT INTO notes (text) VALUES (?)", (text,)).lastrowid or 0)

    return run


def saved(tmp_path: Path) -> list[str]:
    """What another connection sees: only what was committed."""
    conn = connect(tmp_path / "room.sqlite3")
    try:
        return [row[0] for row in conn.execute("SELECT text FROM notes ORDER BY id")]
    finally:
        conn.close()


async def test_jobs_that_arrive_together_commit_together_and_are_answered_after(
    tmp_path: Path,
) -> None:
    writer = make_writer(tmp_path, slice_ms=1_000)  # a descheduled loop must not split it
    writer.start()
    futures = [writer.submit(note(f"n{i}")) for i in range(50)]  # type: ignore[arg-type]
    first = await futures[0]
    assert saved(tmp_path) == [f"n{i}" for i in range(50)]  # committed before any answer
    assert first == 1
    assert writer.stats.batches == [50]
    await writer.stop()


async def test_a_refused_job_changes_nothing_and_its_neighbours_commit(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    writer.start()

    def refused(tx: Transaction) -> None:
        tx.conn.execute("INSERT INTO notes (text) VALUES ('refused')")
        raise Refusal(ErrorCode.BAD_STATE, "not now")

    def broken(tx: Transaction) -> None:
        tx.conn.execute("INSERT INTO notes (text) VALUES ('broken')")
        raise ZeroDivisionError

    before = writer.submit(note("before"))  # type: ignore[arg-type]
    no = writer.submit(refused)
    bug = writer.submit(broken)
    after = writer.submit(note("after"))  # type: ignore[arg-type]
    await asyncio.gather(before, after)
    with pytest.raises(Refusal, match="not now"):
        await no
    with pytest.raises(ZeroDivisionError):
        await bug
    assert saved(tmp_path) == ["before", "after"]
    await writer.stop()


async def test_a_failed_commit_fails_every_job_of_the_batch_and_keeps_nothing(
    tmp_path: Path,
) -> None:
    writer = make_writer(tmp_path)
    writer.store.conn.executescript(
        "CREATE TABLE parents (id INTEGER PRIMARY KEY);"
        "CREATE TABLE children (parent INTEGER REFERENCES parents (id) "
        "DEFERRABLE INITIALLY DEFERRED);"
    )
    writer.start()

    def orphan(tx: Transaction) -> None:  # only the commit finds the missing parent
        tx.conn.execute("INSERT INTO children (parent) VALUES (42)")

    jobs = [writer.submit(note("lost")), writer.submit(orphan)]  # type: ignore[arg-type]
    for job in jobs:
        with pytest.raises(WriteFailed, match="FOREIGN KEY"):
            await job
    assert saved(tmp_path) == []
    assert await writer.submit(note("next")) == 1  # type: ignore[arg-type]  # it goes on
    assert saved(tmp_path) == ["next"]
    await writer.stop()


async def test_a_batch_stops_after_its_slice_so_a_late_job_waits_one_slice(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, slice_ms=5)
    writer.start()

    def slow(tx: Transaction) -> None:
        deadline = time.perf_counter() + 0.002  # 2 ms of work
        while time.perf_counter() < deadline:
            pass
        tx.conn.execute("INSERT INTO notes (text) VALUES ('slow')")

    jobs = [writer.submit(slow) for _ in range(40)]
    await asyncio.gather(*jobs)
    assert len(writer.stats.batches) >= 4  # 80 ms of work in slices of about 5 ms
    assert sum(writer.stats.batches) == 40
    assert max(writer.stats.batches) <= 4
    await writer.stop()


async def test_parts_share_state_and_are_flushed_before_other_jobs(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    writer.start()

    class Tally:
        made = 0

        def __init__(self, tx: Transaction) -> None:
            Tally.made += 1
            self.tx, self.texts = tx, list[str]()

        def flush(self) -> None:
            self.tx.conn.executemany(
                "INSERT INTO notes (text) VALUES (?)", [(t,) for t in self.texts]
            )

    def part(text: str) -> object:
        def run(tx: Transaction) -> None:
            tx.part("tally", Tally).texts.append(text)

        return run

    def count(tx: Transaction) -> int:
        return int(tx.conn.execute("SELECT count(*) FROM notes").fetchone()[0])

    jobs = [
        writer.submit(part("a"), part="tally"),  # type: ignore[arg-type]
        writer.submit(part("b"), part="tally"),  # type: ignore[arg-type]
        writer.submit(count),
        writer.submit(part("c"), part="tally"),  # type: ignore[arg-type]
    ]
    results = await asyncio.gather(*jobs)
    assert results[2] == 2  # a and b were written before the count ran
    assert Tally.made == 2
    assert saved(tmp_path) == ["a", "b", "c"]
    await writer.stop()


async def test_the_loop_runs_on_while_another_process_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    """`room-server import` may hold SQLite's write lock for seconds: the writer waits for
    it in a thread, the event loop (every tablet) does not."""
    writer = make_writer(tmp_path)
    writer.start()
    other = sqlite3.connect(tmp_path / "room.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the importer takes the lock
    held_s = 2.0
    asyncio.get_running_loop().call_later(held_s, other.execute, "COMMIT")
    job = writer.submit(note("waited"))  # type: ignore[arg-type]
    gaps: list[float] = []
    last = time.perf_counter()
    while not job.done():
        await asyncio.sleep(0.01)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    await job
    other.close()
    assert saved(tmp_path) == ["waited"]
    # Blocked on the lock, the loop would have stalled for about held_s in one gap.
    assert max(gaps) < held_s / 2, f"the event loop stalled {max(gaps):.2f} s"
    assert sum(gaps) >= held_s * 0.9  # the job really waited for the lock
    await writer.stop()


async def test_a_barrier_job_ends_its_batch(tmp_path: Path) -> None:
    """What happens after a sign-in's commit (the tablet gets its role) comes before the
    next request is checked."""
    writer = make_writer(tmp_path, slice_ms=1_000)
    writer.start()
    jobs = [writer.submit(note("a")), writer.submit(note("sign-in"), barrier=True)]  # type: ignore[arg-type]
    jobs += [writer.submit(note("b")), writer.submit(note("c"))]  # type: ignore[arg-type]
    await asyncio.gather(*jobs)
    assert writer.stats.batches == [2, 2]
    await writer.stop()


async def test_jobs_wait_out_a_lock_held_past_the_busy_timeout(tmp_path: Path) -> None:
    """An import that holds the lock longer than SQLite's busy timeout delays the room's
    changes; it does not make them fail."""
    writer = make_writer(tmp_path)
    writer.store.conn.execute("PRAGMA busy_timeout = 50")  # ms
    writer.start()
    other = sqlite3.connect(tmp_path / "room.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.5, other.execute, "COMMIT")
    assert await writer.submit(note("patient")) == 1  # type: ignore[arg-type]
    other.close()
    assert saved(tmp_path) == ["patient"]
    await writer.stop()


async def test_an_urgent_job_goes_ahead_of_the_jobs_waiting(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, slice_ms=1)
    writer.start()

    def slow(text: str) -> object:
        def run(tx: Transaction) -> None:
            deadline = time.perf_counter() + 0.002
            while time.perf_counter() < deadline:
                pass
            tx.conn.execute("INSERT INTO notes (text) VALUES (?)", (text,))

        return run

    jobs = [writer.submit(slow(f"ballot {i}")) for i in range(20)]  # type: ignore[arg-type]
    jobs.append(writer.submit(note("page"), urgent=True))  # type: ignore[arg-type]
    await asyncio.gather(*jobs)
    order = saved(tmp_path)
    assert order.index("page") <= 2, order  # behind at most the batch already running
    assert writer.stats.batches[0] == 1  # and committed on its own, without waiting
    await writer.stop()


async def test_an_urgent_job_never_passes_a_waiting_barrier(tmp_path: Path) -> None:
    """A page change may not overtake a sign-out: its role is checked after it."""
    writer = make_writer(tmp_path, slice_ms=1_000)
    writer.start()
    jobs = [writer.submit(note("sign-out"), barrier=True)]  # type: ignore[arg-type]
    jobs.append(writer.submit(note("page"), urgent=True))  # type: ignore[arg-type]
    await asyncio.gather(*jobs)
    assert saved(tmp_path) == ["sign-out", "page"]
    await writer.stop()


async def test_a_part_that_fails_to_flush_fails_its_batch_and_the_writer_goes_on(
    tmp_path: Path,
) -> None:
    writer = make_writer(tmp_path)
    writer.start()

    class Broken:
        def __init__(self, tx: Transaction) -> None:
            self.tx = tx

        def flush(self) -> None:
            raise sqlite3.OperationalError("database or disk is full")

    def part(tx: Transaction) -> None:
        tx.part("broken", Broken)

    jobs = [
        writer.submit(part, part="broken"),
        writer.submit(note("after the part")),  # type: ignore[arg-type]
    ]
    for job in jobs:
        with pytest.raises(WriteFailed, match="disk is full"):
            await job
    assert await writer.submit(note("next")) == 1  # type: ignore[arg-type]
    assert saved(tmp_path) == ["next"]
    await writer.drain()
    await writer.stop()


async def test_a_batch_failed_by_a_bug_logs_its_traceback_and_one_by_the_disk_does_not(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch that fails for another reason than the disk answers its tablets
    ``internal``: the log must say where the bug is."""
    writer = make_writer(tmp_path)
    writer.start()
    failures = [ValueError("a bug in a part"), OSError(errno.ENOSPC, "No space left on device")]

    class Broken:
        def __init__(self, tx: Transaction) -> None:
            self.tx = tx

        def flush(self) -> None:
            raise failures.pop(0)

    def part(tx: Transaction) -> None:
        tx.part("broken", Broken)

    for cause in ("a bug in a part", "No space left"):
        caplog.clear()
        with pytest.raises(WriteFailed, match=cause):
            await writer.submit(part, part="broken")
        (failed,) = [r for r in caplog.records if "none was saved" in r.getMessage()]
        assert bool(failed.exc_info) is (cause == "a bug in a part"), failed
    await writer.stop()


async def test_a_poll_close_truncates_the_wal_even_if_a_reader_delays_it(tmp_path: Path) -> None:
    """The WAL keeps the order of a secret poll's commits: emptied after the close, and
    tried again after a reader kept it from being emptied."""
    writer = make_writer(tmp_path)
    writer.store.conn.execute("PRAGMA busy_timeout = 50")  # ms, so a blocked try ends soon
    writer.start()
    wal = tmp_path / "room.sqlite3-wal"

    def close(tx: Transaction) -> None:
        tx.conn.execute("INSERT INTO notes (text) VALUES ('closed')")
        tx.checkpoint_after = True

    reader = sqlite3.connect(tmp_path / "room.sqlite3", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM notes").fetchone()  # holds a read snapshot
    await writer.submit(close)
    await writer.drain()
    assert wal.stat().st_size > 0  # the reader kept it
    reader.execute("COMMIT")
    reader.close()
    await writer.submit(note("next"))  # type: ignore[arg-type]
    await writer.drain()
    assert wal.stat().st_size == 0
    await writer.stop()


async def test_a_full_database_fails_the_batch_with_the_chairs_words_and_recovers(
    tmp_path: Path,
) -> None:
    """SQLite's own "database or disk is full" (its page limit reached, as a full disk
    would): every job of the batch fails as ``storage`` with words for the chair, nothing
    of it is kept, what was committed before stays, and once there is room it goes on."""
    writer = make_writer(tmp_path)
    told: list[str | None] = []  # what the room's chair is told (room.notice)
    writer.on_storage = told.append
    writer.start()
    assert await writer.submit(note("before")) == 1  # type: ignore[arg-type]
    assert told == []
    pages = writer.store.conn.execute("PRAGMA page_count").fetchone()[0]
    writer.store.conn.execute(f"PRAGMA max_page_count = {pages}")
    big = "x" * 50_000  # needs pages the database may not take
    jobs = [writer.submit(note("small")), writer.submit(note(big))]  # type: ignore[arg-type]
    for job in jobs:
        with pytest.raises(WriteFailed) as failed:
            await job
        assert failed.value.storage == DISK_FULL
        assert "disk is full" in failed.value.storage
    assert saved(tmp_path) == ["before"]
    with pytest.raises(WriteFailed):  # still full: told once, not at every failure
        await writer.submit(note(big))  # type: ignore[arg-type]
    assert told == [DISK_FULL]
    writer.store.conn.execute("PRAGMA max_page_count = 1073741823")
    assert await writer.submit(note(big)) == 2  # type: ignore[arg-type]
    assert saved(tmp_path) == ["before", big]
    assert told == [DISK_FULL, None]  # and once that it is back
    await writer.stop()


def test_what_a_failed_write_says_about_the_disk() -> None:
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = 13  # type: ignore[attr-defined]  # SQLITE_FULL
    read_only = sqlite3.OperationalError("attempt to write a readonly database")
    read_only.sqlite_errorcode = 8 | (6 << 8)  # type: ignore[attr-defined]  # READONLY_DBMOVED
    io = sqlite3.OperationalError("disk I/O error")
    io.sqlite_errorcode = 10 | (3 << 8)  # type: ignore[attr-defined]  # SQLITE_IOERR_WRITE
    assert storage_problem(full) == DISK_FULL
    assert storage_problem(read_only) == DISK_READ_ONLY
    assert storage_problem(io) == DISK_READ_ONLY
    assert storage_problem(OSError(errno.ENOSPC, "No space left on device")) == DISK_FULL
    assert storage_problem(OSError(errno.EROFS, "Read-only file system")) == DISK_READ_ONLY
    assert storage_problem(sqlite3.IntegrityError("FOREIGN KEY constraint failed")) is None
    assert storage_problem(OSError(errno.ENOENT, "gone")) is None
    assert storage_problem(RuntimeError("a bug")) is None
