"""Drill: the room server SIGKILLed (a power cut) while tablets fetch a large document.

Real DocumentFetchers, each with its own DocumentCache, fetch over real TLS from a real
server process, which is killed at seeded points of the transfer and started again on
the same port. Each tablet resumes from the bytes it holds (``FetchDocument.offset`` = the
size of its partial file): no byte is received twice, counted by the tablet (the bytes of
every attempt add up to the document's size exactly), and every tablet ends with a file
whose sha256 is the document's.

Short form: 4 tablets, a 24 MiB document, one kill. Long form (HEMICYCLE_DRILLS=long):
16 tablets, a 64 MiB document, three kills.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from room_client.connection import ConnectError
from room_client.documents import DocumentCache, DocumentFetcher, TransferInterrupted
from room_protocol.messages import DocumentInfo
from tests.drills.scale import drill_marks, seeded, sized
from tests.live_clients import Tablet, until
from tests.rooms import sha256_file, start_room, timeout, write_package

pytestmark = drill_marks()

TABLETS = sized(4, 16)
# Much more than loopback TCP can hold in flight past a kill's mark (send buffers up to
# 4 MiB, receive buffers growing to 32 MiB here): a tablet must be mid-way at a kill.
DOCUMENT_BYTES = sized(24, 64) * 1024 * 1024
KILLS = sized(1, 3)


@dataclass
class Fetching:
    """One tablet's fetch of the document: what it held at each drop, where each attempt
    started and how many bytes each attempt brought."""

    fetcher: DocumentFetcher
    held: int = 0
    done: bool = False
    attempts: list[tuple[int, int]] = field(default_factory=list)  # (offset, bytes received)
    dropped_at: list[int] = field(default_factory=list)  # bytes held when the room went
    heard: Callable[[], None] = lambda: None  # after each chunk

    def progress(self, position: int, total: int) -> None:
        offset, received = self.attempts[-1]
        self.attempts[-1] = (offset, received + position - self.held)
        self.held = position
        self.heard()


async def fetch_through_kills(
    tablet: Fetching, doc: DocumentInfo, room_back: asyncio.Event, deadline: float
) -> Path:
    loop = asyncio.get_running_loop()
    while loop.time() < deadline:
        tablet.held = tablet.fetcher.cache.partial_size(doc.sha256)
        tablet.attempts.append((tablet.held, 0))
        try:
            path = await tablet.fetcher.fetch(doc, tablet.progress)
        except TransferInterrupted:
            tablet.dropped_at.append(tablet.fetcher.cache.partial_size(doc.sha256))
            await room_back.wait()
            continue
        except ConnectError:  # the room is down (or not listening yet): try again soon
            tablet.attempts.pop()
            await asyncio.sleep(0.05)
            continue
        tablet.done = True
        return path
    raise AssertionError("the fetch did not finish in time")


async def test_tablets_resume_downloads_after_the_server_is_killed(tmp_path: Path) -> None:
    rng = seeded("kill during distribution")
    package = write_package(tmp_path / "package", big_document_bytes=DOCUMENT_BYTES)
    directory = tmp_path / "room"
    room = start_room(directory, package=package, mdns=False)
    fetchers: list[DocumentFetcher] = []
    try:
        probe = await Tablet(room, "probe").start()
        (doc,) = [d for d in probe.meeting.documents if d.title == "Budget 2027"]
        await probe.stop()
        assert doc.sha256 == sha256_file(package / "docs" / "budget.pdf")
        tablets = []
        for i in range(TABLETS):
            fetcher = DocumentFetcher(
                room.endpoint(), room.device(f"tab-{i:02d}"), DocumentCache(tmp_path / f"c{i}")
            )
            fetchers.append(fetcher)
            tablets.append(Fetching(fetcher))
        # Each kill when every tablet still fetching holds at least this much.
        marks = sorted(rng.uniform(0.05, 0.5) * doc.size for _ in range(KILLS))
        room_back = asyncio.Event()
        killed = asyncio.Event()
        armed: list[float] = []  # the next kill's mark, while armed
        pid = [room.process.pid]

        def kill_at_the_mark() -> None:
            """The kill comes from inside a chunk's progress: exactly at the mark."""
            if not armed or not all(t.done or t.held >= armed[0] for t in tablets):
                return
            if all(t.done for t in tablets):
                return
            armed.clear()
            room_back.clear()
            os.kill(pid[0], signal.SIGKILL)
            killed.set()

        for tablet in tablets:
            tablet.heard = kill_at_the_mark
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout(120)
        fetches = [
            asyncio.ensure_future(fetch_through_kills(t, doc, room_back, deadline)) for t in tablets
        ]
        kills = 0
        for mark in marks:
            killed.clear()
            armed[:] = [mark]
            await until(lambda: killed.is_set() or all(t.done for t in tablets), seconds=60)
            if not killed.is_set():
                break
            room.process.wait(timeout(10))
            kills += 1
            held = sorted(t.held for t in tablets if not t.done)
            print(f"kill {kills} at {mark / doc.size:.0%}: unfinished tablets hold {held}")
            room = start_room(directory, mdns=False, room_id=room.room_id, port=room.port)
            pid[0] = room.process.pid
            room_back.set()
        paths = await asyncio.wait_for(asyncio.gather(*fetches), timeout(120))

        assert kills >= 1
        interrupted = [t for t in tablets if t.dropped_at]
        assert interrupted, "no tablet was mid-way at a kill"
        for tablet, path in zip(tablets, paths, strict=True):
            assert sha256_file(path) == doc.sha256
            # Resumed where it was: each attempt after a drop started at the bytes held
            # then, and nothing came twice.
            offsets = [offset for offset, _ in tablet.attempts]
            assert offsets[1:] == tablet.dropped_at, (offsets, tablet.dropped_at)
            assert sum(received for _, received in tablet.attempts) == doc.size
            assert not tablet.fetcher.cache.partial_path(doc.sha256).exists()
        resumed = sum(1 for t in tablets if t.attempts[-1][0] > 0)
        print(f"{kills} kills, {len(interrupted)} of {TABLETS} tablets resumed mid-document")
        assert resumed >= 1
    finally:
        for fetcher in fetchers:
            await fetcher.close()
        if room.process.poll() is None:
            room.process.kill()
            room.process.wait()
