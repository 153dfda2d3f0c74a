"""The room stays bounded under abuse: real server processes, real TLS, loopback.

Each test is an attack from issue 10 (flooding refused requests, flooding accepted ones,
a tablet that stops reading, downloads that stop reading, handshakes that never finish,
many connections from one address) and what the room does about it.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from room_protocol import PROTOCOL_VERSION
from room_protocol.codec import decode, encode
from room_protocol.errors import ErrorCode
from room_protocol.live import (
    Ack,
    Announce,
    Announcement,
    Following,
    RequestFloor,
    SetFollow,
    SignIn,
    SignOut,
    WithdrawFloor,
)
from room_protocol.messages import (
    Channel,
    DocumentBegin,
    DocumentEnd,
    ErrorMessage,
    FetchDocument,
    Hello,
    MeetingRoster,
    MeetingState,
    Welcome,
)
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom, running_room, sha256_file, timeout, write_package

UNLIMITED = {"requests_per_second": 100_000, "request_burst": 100_000}


async def raw_channel(
    room: RunningRoom, channel: Channel, client_id: str, *, receive_buffer: int | None = None
) -> ClientConnection:
    """A plain websockets client after ``welcome``; ``receive_buffer`` shrinks its socket's
    receive buffer so that a client that stops reading is felt by the server at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", room.port))
    ws = await connect(
        room.endpoint().uri,
        sock=sock,
        ssl=room.device(client_id).context(),
        compression=None,
        max_size=None,
        ping_interval=None,
        open_timeout=timeout(10),
    )
    await ws.send(encode(Hello(PROTOCOL_VERSION, channel, client_id)))
    assert isinstance(decode(await asyncio.wait_for(ws.recv(), timeout(10))), Welcome)
    return ws


def stop_reading(ws: ClientConnection) -> None:
    ws.transport.pause_reading()


def database_bytes(room: RunningRoom) -> int:
    return sum(
        path.stat().st_size
        for path in room.state_dir.glob("room.sqlite3*")
        if not path.name.endswith("-shm")
    )


def count(room: RunningRoom, table: str) -> int:
    with sqlite3.connect(f"file:{room.state_dir / 'room.sqlite3'}?mode=ro", uri=True) as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608


def server_log(room: RunningRoom) -> str:
    return (room.state_dir.parent / "server.log").read_text(errors="replace")


def rss_kib(room: RunningRoom) -> int:
    for line in Path(f"/proc/{room.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def test_refusal_flood_from_nobody_stores_nothing(tmp_path: Path, package_dir: Path) -> None:
    """Thousands of refused requests from a connection nobody is signed in on are answered,
    and neither the database nor its WAL grows (the rate limit is lifted here, so this is
    the refusal path alone)."""
    with running_room(tmp_path / "room", package=package_dir, mdns=False, limits=UNLIMITED) as room:
        ws = await raw_channel(room, Channel.CONTROL, "intruder")
        async with ws:
            assert isinstance(decode(await ws.recv()), MeetingRoster)
            assert isinstance(decode(await ws.recv()), MeetingState)
            before = database_bytes(room), count(room, "operations"), count(room, "audit_log")
            answers: list[ErrorMessage] = []
            for batch in range(40):
                for i in range(100):
                    op = f"flood-{batch}-{i}"
                    kind = (Announce(op, text="x" * 200), RequestFloor(op), SetFollow(op, None))
                    await ws.send(encode(kind[i % 3]))
                while len(answers) < (batch + 1) * 100:
                    message = decode(await asyncio.wait_for(ws.recv(), timeout(10)))
                    if isinstance(message, ErrorMessage):
                        answers.append(message)
            # and a few wrong PINs, which go through the writer and are refused there
            for i in range(3):
                await ws.send(encode(SignIn(f"pin-{i}", delegate_id="d2", pin="0000")))
            while len(answers) < 4003:
                message = decode(await asyncio.wait_for(ws.recv(), timeout(10)))
                if isinstance(message, ErrorMessage):
                    answers.append(message)
        assert {a.code for a in answers[:4000]} == {ErrorCode.FORBIDDEN.value}
        assert {a.code for a in answers[4000:]} == {ErrorCode.WRONG_PIN.value}
        assert count(room, "operations") == before[1]
        assert count(room, "audit_log") == before[2]
        assert database_bytes(room) - before[0] <= 64 * 1024, (before[0], database_bytes(room))


async def test_accepted_requests_from_nobody_store_nothing(
    tmp_path: Path, package_dir: Path
) -> None:
    """The red team's disk filler: an enrolled device nobody is signed in on sends
    requests the room accepts (following, signing out); each used to add a row to the
    record of answered requests."""
    with running_room(tmp_path / "room", package=package_dir, mdns=False, limits=UNLIMITED) as room:
        ws = await raw_channel(room, Channel.CONTROL, "idle")
        async with ws:
            before = count(room, "operations")
            for i in range(300):
                request = Following(f"f-{i}", i % 2 == 0) if i % 2 else SignOut(f"out-{i}")
                await ws.send(encode(request))
            acks = 0
            for _ in range(10_000):
                message = decode(await asyncio.wait_for(ws.recv(), timeout(10)))
                assert not isinstance(message, ErrorMessage), message
                acks += isinstance(message, Ack)
                if acks == 300:
                    break
            assert count(room, "operations") == before


FLOOD = 200  # requests at once: well over the burst of 30, under flood_close_after (300)


async def test_a_flooding_delegate_is_rate_limited_and_a_chair_flicking_pages_is_not(
    tmp_path: Path, package_dir: Path
) -> None:
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        # A delegate's own program (not the tablet's client, which sends again later).
        d1 = await raw_channel(room, Channel.CONTROL, "tablet-d1")
        await d1.send(encode(SignIn("in", delegate_id="d1", pin="2222")))
        while not isinstance(decode(await asyncio.wait_for(d1.recv(), timeout(10))), Ack):
            pass
        chair = await Tablet(room, "tablet-chair", "A1").start()
        await chair.sign_in("chair", "1111")
        audit_before = count(room, "audit_log")
        loop = asyncio.get_running_loop()
        started = loop.time()
        for i in range(FLOOD):
            await d1.send(encode((RequestFloor if i % 2 == 0 else WithdrawFloor)(f"f-{i}")))
        replies: list[Ack | ErrorMessage] = []
        while len(replies) < FLOOD:
            reply = decode(await asyncio.wait_for(d1.recv(), timeout(10)))
            ref = reply.op_id if isinstance(reply, Ack) else getattr(reply, "ref", None)
            if isinstance(reply, Ack | ErrorMessage) and (ref or "").startswith("f-"):
                replies.append(reply)
        elapsed = loop.time() - started
        limited = [r for r in replies if isinstance(r, ErrorMessage) and r.code == "rate_limited"]
        let_through = len(replies) - len(limited)
        assert limited, f"a flood of {FLOOD} requests at once was not limited"
        assert let_through <= 30 + 10 * elapsed + 1, (let_through, elapsed)
        # Only what was let through reached the audit log.
        assert count(room, "audit_log") - audit_before <= let_through
        await d1.close()

        # A chair flicking quickly through 25 pages, then paging along at a brisk pace.
        budget = next(d for d in chair.meeting.documents if d.title == "Budget 2027")
        for page in range(25):
            await chair.ok(SetFollow(chair.op(), budget.sha256, page % budget.pages))
        for page in range(20):
            await chair.ok(SetFollow(chair.op(), budget.sha256, page % budget.pages))
            await asyncio.sleep(0.15)
        await chair.stop()


async def test_a_tablet_over_the_rate_limit_sends_again_and_loses_nothing(
    tmp_path: Path, package_dir: Path
) -> None:
    """The tablet's own client: 80 requests at once (an outbox after a long drop) are all
    answered, none as rate_limited: the ones over the limit go again a little later."""
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        d1 = await Tablet(room, "tablet-d1", "A2").start()
        await d1.sign_in("d1", "2222")
        requests = [(RequestFloor if i % 2 == 0 else WithdrawFloor)(d1.op()) for i in range(80)]
        replies = await asyncio.wait_for(
            asyncio.gather(*(d1.connection.request(r) for r in requests)), timeout(60)
        )
        codes = [r.code for r in replies if isinstance(r, ErrorMessage)]
        assert "rate_limited" not in codes
        assert not d1.connection.pending
        await d1.stop()


async def test_a_connection_that_keeps_flooding_is_closed(
    tmp_path: Path, package_dir: Path
) -> None:
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        ws = await raw_channel(room, Channel.CONTROL, "flooder")
        with pytest.raises(ConnectionClosed) as closed:
            for i in range(20_000):
                await asyncio.wait_for(ws.send(encode(RequestFloor(f"f-{i}"))), timeout(10))
            for _ in range(20_000):  # the answers, then the close
                await asyncio.wait_for(ws.recv(), timeout(10))
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1008
        assert closed.value.rcvd.reason == "rate_limited"
        assert "requests over the rate limit" in server_log(room)


async def test_a_tablet_that_stops_reading_is_dropped_and_others_get_everything(
    tmp_path: Path, package_dir: Path
) -> None:
    limits = {**UNLIMITED, "send_buffer_bytes": 256 * 1024, "stall_seconds": 3600}
    with running_room(tmp_path / "room", package=package_dir, mdns=False, limits=limits) as room:
        chair = await Tablet(room, "tablet-chair", "A1").start()
        await chair.sign_in("chair", "1111")
        reader = await Tablet(room, "tablet-d2", "A3").start()
        slow = await raw_channel(room, Channel.CONTROL, "slow", receive_buffer=4096)
        stop_reading(slow)
        rss_before = rss_kib(room)
        text = "Point of order. " * 17  # 272 characters
        sent = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout(120)
        while "dropping the connection" not in server_log(room):
            assert sent < 20_000 and loop.time() < deadline, "the slow reader was never dropped"
            await asyncio.gather(*(chair.ok(Announce(chair.op(), text)) for _ in range(50)))
            sent += 50
        for _ in range(3):  # the room goes on after the drop
            await asyncio.gather(*(chair.ok(Announce(chair.op(), text)) for _ in range(50)))
            sent += 50
        await until(lambda: len(reader.of_type(Announcement)) >= sent, 30)
        assert len(reader.of_type(Announcement)) == sent
        assert "queued unread" in server_log(room)
        # What was queued for the slow tablet is freed; generous: the bound is 256 KiB.
        assert rss_kib(room) - rss_before < 64 * 1024, (rss_before, rss_kib(room))
        slow.transport.resume_reading()
        with pytest.raises(ConnectionClosed):
            for _ in range(10_000):
                await asyncio.wait_for(slow.recv(), timeout(10))
        await chair.stop()
        await reader.stop()


async def fetch(room: RunningRoom, sha256: str) -> bytes:
    ws = await raw_channel(room, Channel.DOCUMENTS, "normal-reader")
    async with ws:
        await ws.send(encode(FetchDocument(sha256, 0)))
        begin = decode(await ws.recv())
        assert isinstance(begin, DocumentBegin)
        data = bytearray()
        while True:
            frame = await ws.recv()
            if isinstance(frame, bytes):
                data += frame
                continue
            assert isinstance(decode(frame), DocumentEnd)
            return bytes(data)


async def test_stalled_downloads_do_not_block_a_normal_fetch(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg", big_document_bytes=8 * 1024 * 1024)
    limits = {"stall_seconds": 3600}  # this is about transfer slots, not the watchdog
    with running_room(tmp_path / "room", package=package, mdns=False, limits=limits) as room:
        big = sha256_file(package / "docs" / "budget.pdf")
        small = sha256_file(package / "docs" / "agenda.pdf")
        stalled = []
        for i in range(20):  # more than MAX_TRANSFERS (16)
            ws = await raw_channel(room, Channel.DOCUMENTS, f"stall-{i}", receive_buffer=4096)
            await ws.send(encode(FetchDocument(big, 0)))
            assert isinstance(decode(await asyncio.wait_for(ws.recv(), timeout(10))), DocumentBegin)
            stop_reading(ws)
            stalled.append(ws)
        await asyncio.sleep(1)  # each now waits for its tablet to read
        data = await asyncio.wait_for(fetch(room, small), timeout(20))
        assert data == (package / "docs" / "agenda.pdf").read_bytes()
        for ws in stalled:
            ws.transport.abort()


async def test_stalled_downloads_give_their_slots_up_as_their_buffers_fill(
    tmp_path: Path,
) -> None:
    """Six times as many stalled downloads as transfer slots: each lets its slot go once
    its send buffer is full and stays so (``SLOT_PATIENCE``), so a fetch behind all of
    them waits rounds of a quarter of a second, not the 5 s a round the room took when a
    slot was held until a chunk was taken (30 s here)."""
    package = write_package(tmp_path / "pkg", big_document_bytes=8 * 1024 * 1024)
    limits = {"stall_seconds": 3600}  # this is about transfer slots, not the watchdog
    with running_room(
        tmp_path / "room", package=package, mdns=False, limits=limits, max_transfers=2
    ) as room:
        big = sha256_file(package / "docs" / "budget.pdf")
        small = sha256_file(package / "docs" / "agenda.pdf")
        stalled = []
        for i in range(12):
            ws = await raw_channel(room, Channel.DOCUMENTS, f"stall-{i}", receive_buffer=4096)
            stop_reading(ws)
            await ws.send(encode(FetchDocument(big, 0)))
            stalled.append(ws)
        started = time.monotonic()
        data = await asyncio.wait_for(fetch(room, small), timeout(20))
        waited = time.monotonic() - started
        assert data == (package / "docs" / "agenda.pdf").read_bytes()
        assert waited < 12  # six rounds of 5 s would be 30 s
        for ws in stalled:
            ws.transport.abort()


async def test_slow_readers_get_every_byte_of_frames_read_into_a_reused_buffer(
    tmp_path: Path,
) -> None:
    """The room reads each chunk into one buffer per transfer and writes the frame from
    it: tablets that read slowly, with tiny receive buffers (so that the room's send
    buffers are full and its writes wait), next to each other and to a fast one, each
    receive every frame whole and in order, byte for byte the stored file (its padding is
    incompressible and different everywhere: a chunk overwritten by the next would
    show)."""
    package = write_package(tmp_path / "pkg", big_document_bytes=3 * 1024 * 1024)
    with running_room(tmp_path / "room", package=package, mdns=False, max_transfers=2) as room:
        path = package / "docs" / "budget.pdf"
        big, expected = sha256_file(path), path.read_bytes()

        async def slow_fetch(i: int) -> tuple[bytes, list[int]]:
            ws = await raw_channel(room, Channel.DOCUMENTS, f"slow-{i}", receive_buffer=4096)
            async with ws:
                await ws.send(encode(FetchDocument(big, 1000 * i)))
                begin = decode(await ws.recv())
                assert isinstance(begin, DocumentBegin) and begin.offset == 1000 * i
                data, sizes = bytearray(), []
                while True:
                    frame = await ws.recv()
                    if not isinstance(frame, bytes):
                        assert isinstance(decode(frame), DocumentEnd)
                        return bytes(data), sizes
                    data += frame
                    sizes.append(len(frame))
                    stop_reading(ws)  # the room's buffer for this tablet fills meanwhile
                    await asyncio.sleep(0.02)
                    ws.transport.resume_reading()

        results = await asyncio.wait_for(
            asyncio.gather(*(slow_fetch(i) for i in range(5)), fetch(room, big)), timeout(60)
        )
        for i, (data, sizes) in enumerate(results[:5]):
            assert data == expected[1000 * i :]
            assert all(size == 64 * 1024 for size in sizes[:-1]) and 0 < sizes[-1] <= 64 * 1024
        assert results[5] == expected


async def test_a_fetch_of_bytes_the_tablet_holds_all_of_gets_begin_and_end(
    tmp_path: Path,
) -> None:
    """A resume from the very end (the tablet holds every byte) has no chunk for the
    begin and the end to ride with: they come on their own; then the same connection
    serves a whole document, begin, chunks and end written together."""
    package = write_package(tmp_path / "pkg")
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        path = package / "docs" / "agenda.pdf"
        sha256, size = sha256_file(path), path.stat().st_size
        ws = await raw_channel(room, Channel.DOCUMENTS, "resumer")
        async with ws:
            await ws.send(encode(FetchDocument(sha256, size)))
            begin = decode(await asyncio.wait_for(ws.recv(), timeout(10)))
            assert isinstance(begin, DocumentBegin) and (begin.offset, begin.size) == (size, size)
            end = decode(await asyncio.wait_for(ws.recv(), timeout(10)))
            assert isinstance(end, DocumentEnd) and end.size == size
            await ws.send(encode(FetchDocument(sha256, 0)))
            begin = decode(await asyncio.wait_for(ws.recv(), timeout(10)))
            assert isinstance(begin, DocumentBegin) and begin.offset == 0
            data = await asyncio.wait_for(ws.recv(), timeout(10))
            assert data == path.read_bytes()  # a small document: one chunk
            assert isinstance(decode(await asyncio.wait_for(ws.recv(), timeout(10))), DocumentEnd)


async def test_a_stalled_connection_is_dropped_by_the_watchdog(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg", big_document_bytes=4 * 1024 * 1024)
    with running_room(
        tmp_path / "room", package=package, mdns=False, limits={"stall_seconds": 2}
    ) as room:
        big = sha256_file(package / "docs" / "budget.pdf")
        ws = await raw_channel(room, Channel.DOCUMENTS, "stall", receive_buffer=4096)
        await ws.send(encode(FetchDocument(big, 0)))
        stop_reading(ws)
        await until(lambda: "nothing read for" in server_log(room), 30)
        ws.transport.resume_reading()
        received = 0
        with pytest.raises(ConnectionClosed):
            for _ in range(10_000):
                frame = await asyncio.wait_for(ws.recv(), timeout(10))
                received += len(frame) if isinstance(frame, bytes) else 0
        assert received < 4 * 1024 * 1024


async def test_a_tls_handshake_that_never_starts_is_closed(room: RunningRoom) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", room.port)
    try:
        # No ClientHello: the server gives up after its 10 s handshake timeout.
        assert await asyncio.wait_for(reader.read(), timeout(20)) == b""
    finally:
        writer.close()


async def test_connections_per_address_are_capped(tmp_path: Path, package_dir: Path) -> None:
    with running_room(
        tmp_path / "room", package=package_dir, mdns=False, max_connections_per_address=3
    ) as room:
        first = [await raw_channel(room, Channel.CONTROL, f"c{i}") for i in range(3)]
        with pytest.raises(InvalidStatus) as refused:
            await raw_channel(room, Channel.CONTROL, "one-too-many")
        assert refused.value.response.status_code == 503
        await first[0].close()

        async def admitted() -> bool:
            try:
                ws = await raw_channel(room, Channel.CONTROL, "again")
            except InvalidStatus:
                return False
            first.append(ws)
            return True

        for _ in range(100):
            if await admitted():
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("a freed slot was never given to the next connection")
        for ws in first[1:]:
            await ws.close()
