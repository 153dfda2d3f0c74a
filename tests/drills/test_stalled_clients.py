"""Drill: tablets that stop reading, next to tablets that behave.

Stalled control connections (raw TLS WebSocket clients with a 4 KiB receive buffer that
sign a member in and then never read) and stalled downloads (more of them than the
room's transfer slots, MAX_TRANSFERS, each fetching the big document and then reading
nothing) join a room where the clerk announces, the chair pages and a follower follows,
while another tablet downloads the big document. The same work runs first without them:
a baseline from the same run on the same machine.

With the stalled clients the follower still sees every page, in order, and its page
changes are not late compared with the baseline (the median within a generous ratio:
no absolute time); the good download completes, whole; each stalled control connection
is dropped once more than ``limits.send_buffer_bytes`` waits for it, and the stalled
downloads, which the watchdog is told not to drop here, give their transfer slots up
(``SLOT_PATIENCE``) rather than hold them; the server's RSS (``/proc/PID/status``) grows
by less than a stated bound, far below what buffering the document for each stalled
download would take. The watchdog that drops connections whose buffer stays full is
tests/room_server/test_abuse.py's.

Short form: 8 stalled control connections, MAX_TRANSFERS + 4 stalled downloads of an 8 MiB
document, 60 page changes. Long form (HEMICYCLE_DRILLS=long): 48, MAX_TRANSFERS + 16 of
32 MiB, 300.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import time
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

from room_client.documents import DocumentCache, DocumentFetcher
from room_protocol import PROTOCOL_VERSION
from room_protocol.codec import decode, encode
from room_protocol.live import Ack, Announce, FollowState, SetFollow, SignIn
from room_protocol.messages import (
    Channel,
    DocumentBegin,
    DocumentInfo,
    ErrorMessage,
    FetchDocument,
    Hello,
    Welcome,
)
from room_server.config import ServerConfig
from tests.drills.scale import drill_marks, seeded, sized
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom, running_room, sha256_file, timeout, write_package

pytestmark = drill_marks()

STALLED_CONTROL = sized(8, 48)
MAX_TRANSFERS = ServerConfig().max_transfers  # the room's default
STALLED_DOWNLOADS = MAX_TRANSFERS + sized(4, 16)
DOCUMENT_BYTES = sized(8, 32) * 1024 * 1024
PAGE_CHANGES = sized(60, 300)
# Announcements per phase at least (each is sent to every tablet, ~330 bytes on the wire).
# A stalled tablet is dropped once its kernel buffers (megabytes on loopback) and then
# SEND_BUFFER are full: the clerk goes on announcing until each was, at most MAX_MORE.
ANNOUNCEMENTS = sized(1_000, 3_000)
MORE_ANNOUNCEMENTS = 40_000
TEXT = "Point of order. " * 17  # 272 characters
SEND_BUFFER = 256 * 1024  # limits.send_buffer_bytes here
# The page changes' median with stalled clients against the baseline's: generous, the
# machine is shared; a room that waited on a stalled tablet would be seconds late.
LATENCY_RATIO = 5.0
# RSS growth allowed: what may legitimately be queued (SEND_BUFFER per stalled tablet, a
# chunk and websockets' write limit per stalled download) and the interpreter's churn;
# buffering the document for each stalled download would take STALLED_DOWNLOADS x
# DOCUMENT_BYTES (160 MiB in the short form).
RSS_BOUND_KIB = 48 * 1024
LIMITS = {
    "requests_per_second": 100_000,
    "request_burst": 100_000,
    "send_buffer_bytes": SEND_BUFFER,
    "stall_seconds": 3_600,  # the watchdog stays out: slots and buffers are what is tested
}


def rss_kib(room: RunningRoom) -> int:
    for line in Path(f"/proc/{room.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def server_log(room: RunningRoom) -> str:
    return (room.state_dir.parent / "server.log").read_text(errors="replace")


async def raw_channel(
    room: RunningRoom, channel: Channel, device: str, seat: str | None = None
) -> ClientConnection:
    """A plain websockets client after ``welcome``, its receive buffer 4 KiB: once it
    stops reading, the room feels it at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", room.port))
    ws = await connect(
        room.endpoint().uri,
        sock=sock,
        ssl=room.device(device, seat).context(),
        compression=None,
        max_size=None,
        ping_interval=None,
        open_timeout=timeout(10),
    )
    await ws.send(encode(Hello(PROTOCOL_VERSION, channel, device)))
    assert isinstance(decode(await asyncio.wait_for(ws.recv(), timeout(10))), Welcome)
    return ws


async def stalled_member(room: RunningRoom, i: int) -> ClientConnection:
    """Member m000i signed in at their seat; then the tablet reads nothing more."""
    ws = await raw_channel(room, Channel.CONTROL, f"stall-c{i}", f"S{i:04d}")
    op = f"in-{i}"
    await ws.send(encode(SignIn(op, delegate_id=f"m{i:04d}", pin=f"1{i:04d}")))
    while True:
        message = decode(await asyncio.wait_for(ws.recv(), timeout(10)))
        assert not (isinstance(message, ErrorMessage) and message.ref == op), message
        if isinstance(message, Ack) and message.op_id == op:
            break
    ws.transport.pause_reading()
    return ws


async def stalled_download(room: RunningRoom, i: int, doc: DocumentInfo) -> ClientConnection:
    ws = await raw_channel(room, Channel.DOCUMENTS, f"stall-d{i}")
    await ws.send(encode(FetchDocument(doc.sha256, 0)))
    assert isinstance(decode(await asyncio.wait_for(ws.recv(), timeout(10))), DocumentBegin)
    ws.transport.pause_reading()
    return ws


class Phase:
    """One run of the room's work: the clerk's announcements, the chair's page changes
    (each timed until the follower shows it) and a good download."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: list[float] = []
        self.download_s = 0.0
        self.shown: list[int] = []  # the pages the follower was shown, in order
        self.announced = 0

    def report(self) -> str:
        ms = sorted(x * 1000 for x in self.latencies)
        return (
            f"{self.name}: page change median {statistics.median(ms):.1f} ms, "
            f"p90 {ms[int(len(ms) * 0.9)]:.1f} ms, max {ms[-1]:.1f} ms; "
            f"good download {self.download_s:.2f} s; {self.announced} announcements"
        )


async def run_phase(
    phase: Phase,
    room: RunningRoom,
    chair: Tablet,
    clerk: Tablet,
    follower: Tablet,
    doc: DocumentInfo,
    cache: Path,
    pages: list[int],
) -> Path:
    paging = asyncio.Event()  # set once the page changes are done

    async def announce() -> None:
        """Bursts of 50 for as long as the chair pages (and at least ANNOUNCEMENTS)."""
        while not paging.is_set() or phase.announced < ANNOUNCEMENTS:
            await asyncio.gather(*(clerk.ok(Announce(clerk.op(), TEXT)) for _ in range(50)))
            phase.announced += 50

    async def page_changes() -> None:
        for page in pages:
            arrived = asyncio.Event()

            def heard(message: object, page: int = page, arrived: asyncio.Event = arrived) -> None:
                follower.received.append(message)  # type: ignore[arg-type]
                if isinstance(message, FollowState) and message.page == page:
                    arrived.set()

            follower.connection.on_message = heard
            started = time.perf_counter()
            asked = asyncio.ensure_future(chair.ok(SetFollow(chair.op(), doc.sha256, page)))
            await asyncio.wait_for(arrived.wait(), timeout(30))
            phase.latencies.append(time.perf_counter() - started)
            await asked
            await asyncio.sleep(0.01)
        follower.connection.on_message = follower.received.append
        paging.set()

    async def download() -> Path:
        fetcher = DocumentFetcher(room.endpoint(), room.device("tab-good"), DocumentCache(cache))
        started = time.perf_counter()
        try:
            path = await asyncio.wait_for(fetcher.fetch(doc), timeout(120))
        finally:
            await fetcher.close()
        phase.download_s = time.perf_counter() - started
        return path

    first = len(follower.of_type(FollowState))
    _, _, path = await asyncio.gather(announce(), page_changes(), download())
    # A state sent again (a reconnect under load) has the same seq: counted once.
    by_seq = {s.seq: s.page for s in follower.of_type(FollowState)[first:]}
    phase.shown = [by_seq[seq] for seq in sorted(by_seq)]
    return path


async def test_stalled_tablets_delay_no_one_and_memory_stays_bounded(tmp_path: Path) -> None:
    rng = seeded("stalled clients")
    package = write_package(
        tmp_path / "package", big_document_bytes=DOCUMENT_BYTES, more_delegates=STALLED_CONTROL
    )
    with running_room(tmp_path / "room", package=package, mdns=False, limits=LIMITS) as room:
        chair = await Tablet(room, "tab-chair", "A1").start()
        await chair.sign_in("chair", "1111")
        clerk = await Tablet(room, "tab-clerk").start()
        await clerk.sign_in("clerk", "3333")
        follower = await Tablet(room, "tab-d2", "A3").start()
        await until(lambda: follower.of_type(FollowState))  # the chair's view, on joining
        (doc,) = [d for d in chair.meeting.documents if d.title == "Budget 2027"]
        assert doc.sha256 == sha256_file(package / "docs" / "budget.pdf")
        pages = [rng.randrange(1, 6)]
        while len(pages) < PAGE_CHANGES:  # each a change: never the page shown already
            pages.append(rng.choice([p for p in range(1, 6) if p != pages[-1]]))
        stalled: list[ClientConnection] = []
        try:
            baseline = Phase("baseline")
            path = await run_phase(
                baseline, room, chair, clerk, follower, doc, tmp_path / "c1", pages
            )
            assert sha256_file(path) == doc.sha256
            rss_before = rss_kib(room)

            stalled += await asyncio.gather(
                *(stalled_member(room, i) for i in range(STALLED_CONTROL))
            )
            # The downloads first take every slot, and more wait for one.
            stalled += await asyncio.gather(
                *(stalled_download(room, i, doc) for i in range(STALLED_DOWNLOADS))
            )
            with_stalled = Phase("with stalled tablets")
            path = await run_phase(
                with_stalled, room, chair, clerk, follower, doc, tmp_path / "c2", pages
            )
            # The clerk goes on until the room dropped every stalled member's connection
            # for what was queued unread.
            extra = 0
            while server_log(room).count("queued unread") < STALLED_CONTROL:
                assert extra < MORE_ANNOUNCEMENTS, "a stalled tablet was never dropped"
                await asyncio.gather(*(clerk.ok(Announce(clerk.op(), TEXT)) for _ in range(50)))
                extra += 50
            print(f"{extra} more announcements until every stalled member was dropped")
            rss_after = rss_kib(room)
            print(baseline.report())
            print(with_stalled.report())
            print(
                f"server RSS {rss_before} KiB before the stalled tablets, {rss_after} KiB "
                f"after (bound: +{RSS_BOUND_KIB} KiB)"
            )

            assert sha256_file(path) == doc.sha256  # the good download completed, whole
            # Every page reached the follower, in order, in both phases.
            assert baseline.shown == pages
            assert with_stalled.shown == pages
            assert len(with_stalled.latencies) == len(pages)
            base = statistics.median(baseline.latencies)
            now = statistics.median(with_stalled.latencies)
            assert now <= LATENCY_RATIO * base, (now, base)
            assert rss_after - rss_before < RSS_BOUND_KIB, (rss_before, rss_after)
            # Each stalled member's connection was dropped for its queue, not kept growing.
            log = server_log(room)
            assert log.count("queued unread") >= STALLED_CONTROL, log[-3000:]
            assert "Traceback" not in log, log[-3000:]
            assert room.process.poll() is None
        finally:
            for ws in stalled:
                ws.transport.abort()
            for tablet in (chair, clerk, follower):
                await tablet.stop()
