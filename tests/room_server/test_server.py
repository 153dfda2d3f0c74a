"""A real room-server process and real TLS WebSocket clients on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
from dataclasses import replace
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from room_client.connection import (
    Backoff,
    ConnectError,
    Phase,
    RoomConnection,
    RoomEndpoint,
    open_channel,
)
from room_client.documents import (
    DocumentCache,
    DocumentFetcher,
    DocumentUnavailable,
    TransferInterrupted,
)
from room_protocol import PROTOCOL_VERSION
from room_protocol.codec import decode, encode
from room_protocol.messages import (
    Channel,
    DocumentBegin,
    ErrorMessage,
    FetchDocument,
    Hello,
    MeetingRoster,
    MeetingSnapshot,
    MeetingState,
    Welcome,
    roster_id,
)
from room_server.tls import ensure_certificates
from tests.rooms import RunningRoom, running_room, sha256_file, timeout, write_package


async def first_state(room: RunningRoom) -> tuple[Welcome, MeetingSnapshot]:
    ws, welcome = await open_channel(
        room.endpoint(), room.device("seat-a1").context(), Channel.CONTROL, "seat-a1", "Seat A1"
    )
    async with ws:
        roster = decode(await asyncio.wait_for(ws.recv(), timeout(5)))
        message = decode(await asyncio.wait_for(ws.recv(), timeout(5)))
    # The roster first, then the meeting naming it (protocol 9).
    assert isinstance(roster, MeetingRoster) and isinstance(message, MeetingState)
    assert message.meeting is not None and message.meeting.roster == ()
    assert message.meeting.roster_id == roster.roster_id == roster_id(roster.roster)
    return welcome, replace(message.meeting, roster=roster.roster)


async def test_hello_then_agenda(room: RunningRoom, package_dir: Path) -> None:
    welcome, meeting = await first_state(room)
    assert welcome.protocol_version == PROTOCOL_VERSION
    assert welcome.room_id == room.room_id
    assert meeting.title == "Test council"
    assert [(depth, item.id) for depth, item in meeting.walk()] == [
        (0, "opening"),
        (0, "budget"),
        (1, "budget-debate"),
    ]
    budget = meeting.document(meeting.agenda[1].documents[0])
    assert budget is not None
    assert budget.sha256 == sha256_file(package_dir / "docs" / "budget.pdf")
    assert budget.pages == 6
    assert budget.size == (package_dir / "docs" / "budget.pdf").stat().st_size


async def test_download_cut_off_halfway_resumes_and_verifies(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg", big_document_bytes=3 * 1024 * 1024)
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        _welcome, meeting = await first_state(room)
        doc = next(d for d in meeting.documents if d.title == "Budget 2027")
        cache = DocumentCache(tmp_path / "cache")
        fetcher = DocumentFetcher(room.endpoint(), room.device("seat-a1"), cache)
        seen: list[int] = []

        def cut_halfway(held: int, total: int) -> None:
            seen.append(held)
            if held >= total // 2 and fetcher.last_offset == 0:
                fetcher.drop()

        with pytest.raises(TransferInterrupted):
            await fetcher.fetch(doc, cut_halfway)
        held = cache.partial_size(doc.sha256)
        assert doc.size // 2 <= held < doc.size
        assert cache.get(doc.sha256) is None

        path = await fetcher.fetch(doc, lambda held, _total: seen.append(held))
        assert fetcher.last_offset == held  # resumed, not restarted
        assert sha256_file(path) == doc.sha256
        assert path == cache.get(doc.sha256)
        assert cache.partial_size(doc.sha256) == 0
        # A cached document is served from the cache, without the server.
        await asyncio.to_thread(room.stop)
        assert await fetcher.fetch(doc) == path
        await fetcher.close()


async def test_corrupt_partial_file_is_detected_and_refetched(
    room: RunningRoom, tmp_path: Path
) -> None:
    _welcome, meeting = await first_state(room)
    doc = meeting.documents[0]
    cache = DocumentCache(tmp_path / "cache")
    cache.partial_path(doc.sha256).write_bytes(b"%PDF-garbage that is not the real start")
    fetcher = DocumentFetcher(room.endpoint(), room.device("seat-a1"), cache)
    with pytest.raises(DocumentUnavailable, match="hash mismatch"):
        await fetcher.fetch(doc)
    assert cache.partial_size(doc.sha256) == 0  # the bad bytes are thrown away
    path = await fetcher.fetch(doc)
    assert sha256_file(path) == doc.sha256
    await fetcher.close()


async def test_client_without_the_room_ca_is_refused(room: RunningRoom, tmp_path: Path) -> None:
    other = ensure_certificates(
        tmp_path / "other-ca",
        room_id="other",
        room_name="Other",
        hostnames=("x.local",),
        addresses=(),
    )
    with pytest.raises(ConnectError, match="not trusted"):
        await open_channel(room.endpoint(), trusting(other.ca_cert), Channel.CONTROL, "t1")
    system_trust = ssl.create_default_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        await connect(f"wss://127.0.0.1:{room.port}/", ssl=system_trust, proxy=None)


async def test_certificate_must_name_the_host(room: RunningRoom) -> None:
    wrong_name = RoomEndpoint("impostor.local", room.port, "127.0.0.1")
    with pytest.raises(ConnectError, match="not trusted"):
        await open_channel(wrong_name, room.device("t1").context(), Channel.CONTROL, "t1")


def trusting(ca_file: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=ca_file)
    return context


async def raw_client(room: RunningRoom):  # type: ignore[no-untyped-def]
    return await connect(
        room.endpoint().uri,
        host="127.0.0.1",
        port=room.port,
        ssl=room.device("raw").context(),
        proxy=None,
    )


async def test_protocol_version_mismatch_gets_a_clear_error(room: RunningRoom) -> None:
    async with await raw_client(room) as ws:
        await ws.send(encode(Hello(PROTOCOL_VERSION + 1, Channel.CONTROL, "t1")))
        reply = decode(await ws.recv())
        assert isinstance(reply, ErrorMessage)
        assert reply.code == "version_mismatch"
        assert f"speaks protocol {PROTOCOL_VERSION}" in reply.message
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ("not json", "not valid JSON"),
        ('{"type": "document.fetch", "sha256": "' + "0" * 64 + '"}', "expected hello"),
        (
            f'{{"type": "hello", "protocol_version": {PROTOCOL_VERSION}}}',
            "required field is missing",
        ),
    ],
)
async def test_bad_first_message_is_refused(room: RunningRoom, first: str, expected: str) -> None:
    async with await raw_client(room) as ws:
        await ws.send(first)
        reply = decode(await ws.recv())
        assert isinstance(reply, ErrorMessage)
        assert expected in reply.message
        with pytest.raises(ConnectionClosed):
            await ws.recv()


async def test_bad_messages_after_hello_change_nothing(room: RunningRoom) -> None:
    ws, _ = await open_channel(room.endpoint(), room.device("t1").context(), Channel.CONTROL, "t1")
    async with ws:
        assert isinstance(decode(await ws.recv()), MeetingRoster)
        before = decode(await ws.recv())
        for _ in range(6):  # follow, floor, screens, attendance, polls and presenter ink follow
            decode(await ws.recv())
        for bad in ["{]", '{"type": "agenda.delete"}', encode(FetchDocument("0" * 64))]:
            await ws.send(bad)
            reply = decode(await ws.recv())
            assert isinstance(reply, ErrorMessage), reply
        _w, after = await first_state(room)
        assert isinstance(before, MeetingState) and before.meeting is not None
        assert replace(before.meeting, roster=after.roster) == after


async def test_document_errors(room: RunningRoom, tmp_path: Path) -> None:
    _welcome, meeting = await first_state(room)
    doc = meeting.documents[0]
    ws, _ = await open_channel(
        room.endpoint(), room.device("t1").context(), Channel.DOCUMENTS, "t1"
    )
    async with ws:
        await ws.send(encode(FetchDocument("0" * 64)))
        reply = decode(await ws.recv())
        assert isinstance(reply, ErrorMessage) and reply.code == "not_found"
        await ws.send(encode(FetchDocument(doc.sha256, doc.size + 1)))
        reply = decode(await ws.recv())
        assert isinstance(reply, ErrorMessage) and "past the end" in reply.message
        await ws.send(encode(FetchDocument(doc.sha256, doc.size)))  # nothing left: begin+end
        assert isinstance(decode(await ws.recv()), DocumentBegin)


async def test_live_update_reaches_connected_tablets(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg")
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        meetings: list[MeetingSnapshot | None] = []
        connection = RoomConnection(
            room.endpoint(), room.device("seat-a1"), on_meeting=meetings.append
        )
        connection.start()
        await wait_until(lambda: len(meetings) == 1)
        amended = write_package(tmp_path / "amended", extra_item="Late motion on parking")
        result = room.cli("import", str(amended))
        assert result.returncode == 0, result.stderr
        await wait_until(lambda: len(meetings) == 2)
        first, second = meetings
        assert first is not None and second is not None
        assert second.revision > first.revision
        assert second.agenda[-1].title == "Late motion on parking"
        await connection.stop()


async def test_document_bytes_never_hold_up_control_messages(tmp_path: Path) -> None:
    """A tablet that stops reading a large download still gets agenda updates at once."""
    package = write_package(tmp_path / "pkg", big_document_bytes=24 * 1024 * 1024)
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        meetings: list[MeetingSnapshot | None] = []
        control = RoomConnection(
            room.endpoint(), room.device("seat-a1"), on_meeting=meetings.append
        )
        control.start()
        await wait_until(lambda: len(meetings) == 1)
        big = next(d for d in meetings[0].documents if d.title == "Budget 2027")  # type: ignore[union-attr]
        docs, _ = await open_channel(
            room.endpoint(), room.device("seat-a1").context(), Channel.DOCUMENTS, "seat-a1"
        )
        await docs.send(encode(FetchDocument(big.sha256)))
        assert isinstance(decode(await docs.recv()), DocumentBegin)
        # The document connection now stalls: nothing reads it, the server's sends block.
        result = room.cli("import", str(write_package(tmp_path / "v2", extra_item="Urgent item")))
        assert result.returncode == 0, result.stderr
        await wait_until(lambda: len(meetings) == 2)
        assert meetings[1] is not None and meetings[1].agenda[-1].title == "Urgent item"
        received = 0
        while True:  # the stalled download is still whole and in order afterwards
            raw = await asyncio.wait_for(docs.recv(), timeout(10))
            if isinstance(raw, str):
                break
            received += len(raw)
        assert received == big.size
        await docs.close()
        await control.stop()


async def test_reconnects_with_backoff_after_server_restart(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg")
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        statuses: list[Phase] = []
        meetings: list[MeetingSnapshot | None] = []
        connection = RoomConnection(
            room.endpoint(),
            room.device("seat-a1"),
            on_status=lambda s: statuses.append(s.phase),
            on_meeting=meetings.append,
            backoff=Backoff(initial=0.1, maximum=0.5),
        )
        connection.start()
        await wait_until(lambda: len(meetings) == 1)
        port = room.port
        assert await asyncio.to_thread(room.stop) == 0
        await wait_until(lambda: statuses[-1] is Phase.RETRYING)
        # Same state directory and port: the restarted room is the same room.
        with running_room(tmp_path / "room", mdns=False, port=port, room_id=room.room_id):
            await wait_until(lambda: len(meetings) == 2, seconds=20)
        assert meetings[0] == meetings[1]
        assert statuses.count(Phase.CONNECTED) == 2
        await connection.stop()


async def test_sigterm_stops_cleanly(room: RunningRoom) -> None:
    assert (room.state_dir / "server.json").exists()
    assert room.stop() == 0
    assert not (room.state_dir / "server.json").exists()


async def test_status_command(room: RunningRoom) -> None:
    result = room.cli("status", "--json")
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["running"]["port"] == room.port
    assert status["active_meeting"] == "council-test"
    text = room.cli("status").stdout
    assert "council-test: Test council" in text and f"port {room.port}" in text
    room.stop()
    assert room.cli("status").returncode == 3


async def wait_until(condition, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout(seconds)
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_newer_hello_shape_is_named_a_version_mismatch(room: RunningRoom) -> None:
    async with await raw_client(room) as ws:
        future_hello = {
            "type": "hello",
            "protocol_version": PROTOCOL_VERSION + 1,
            "channel": "control",
            "client_id": "t1",
            "seat_token": "abc",
        }
        await ws.send(json.dumps(future_hello))
        reply = decode(await ws.recv())
        assert isinstance(reply, ErrorMessage) and reply.code == "version_mismatch"
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001


def free_port_on_both_families() -> int:
    for _ in range(20):
        with socket.socket(socket.AF_INET6) as v6, socket.socket(socket.AF_INET) as v4:
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            v6.bind(("::1", 0))
            port = int(v6.getsockname()[1])
            try:
                v4.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no port free on both 127.0.0.1 and ::1")


async def test_default_host_serves_ipv4_and_ipv6(tmp_path: Path, package_dir: Path) -> None:
    port = free_port_on_both_families()
    with running_room(
        tmp_path / "room", package=package_dir, mdns=False, host="", port=port
    ) as room:
        for address in ("127.0.0.1", "::1"):
            ws, welcome = await open_channel(
                room.endpoint(address), room.device("t1").context(), Channel.CONTROL, "t1"
            )
            assert welcome.room_id == room.room_id
            await ws.close()
