"""A TLS connection's read buffer gives its pages back once the handshake is done, and
the connection still carries everything whole: real TLS with the room's certificates,
on the event loop the server uses (uvloop) and on asyncio's own."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import hashlib
import os
import ssl
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from room_server import read_buffers
from room_server.tls import ensure_certificates
from tests.rooms import timeout

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="madvise, mincore")

_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_LIBC.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]


def resident_pages(view: memoryview) -> tuple[int, int]:
    """(pages of ``view``'s whole pages in memory, whole pages), by mincore(2)."""
    anchor = ctypes.c_char.from_buffer(view)
    start, size = read_buffers.page_range(ctypes.addressof(anchor), view.nbytes)
    del anchor
    pages = size // read_buffers.PAGE
    vector = (ctypes.c_ubyte * pages)()
    assert _LIBC.mincore(ctypes.c_void_p(start), size, vector) == 0, ctypes.get_errno()
    return sum(v & 1 for v in vector), pages


class Receiver(asyncio.Protocol):
    """The server's side: fills its read buffer as reused heap memory would be, then
    releases it as room_server.server.Link does, and keeps what it receives."""

    def __init__(self) -> None:
        self.transport: asyncio.BaseTransport | None = None
        self.before = (0, 0)
        self.after = (0, 0)
        self.released = 0
        self.received = bytearray()
        self.got = asyncio.Event()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        view = read_buffers.tls_read_buffer(transport)
        assert view is not None, type(transport)
        view[:] = b"\xa5" * view.nbytes  # every page written, as earlier allocations did
        self.before = resident_pages(view)
        self.released = read_buffers.release(transport)
        self.after = resident_pages(view)

    def data_received(self, data: bytes) -> None:
        self.received += data
        self.got.set()


async def exchange(tmp_path: Path) -> tuple[Receiver, bytes, tuple[int, int]]:
    certs = ensure_certificates(
        tmp_path, room_id="r", room_name="R", hostnames=("room.local",), addresses=()
    )
    receiver = Receiver()
    listening = await asyncio.get_running_loop().create_server(
        lambda: receiver, "127.0.0.1", 0, ssl=certs.server_context()
    )
    port = listening.sockets[0].getsockname()[1]
    client = ssl.create_default_context(cafile=certs.ca_cert)
    message = os.urandom(100_000)  # larger than a TLS record, smaller than the buffer
    try:
        _reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=client, server_hostname="room.local"),
            timeout(10),
        )
        writer.write(message)
        await writer.drain()
        async with asyncio.timeout(timeout(10)):
            while len(receiver.received) < len(message):
                receiver.got.clear()
                await receiver.got.wait()
        assert receiver.transport is not None
        view = read_buffers.tls_read_buffer(receiver.transport)
        assert view is not None
        later = resident_pages(view)
        writer.close()
    finally:
        listening.close()
        await listening.wait_closed()
    return receiver, message, later


def loops() -> list[tuple[str, Callable[[Coroutine[Any, Any, Any]], Any]]]:
    runners: list[tuple[str, Callable[[Coroutine[Any, Any, Any]], Any]]] = [
        ("asyncio", asyncio.run)
    ]
    try:
        import uvloop
    except ImportError:
        return runners
    return [("uvloop", uvloop.run), *runners]


@pytest.mark.parametrize(("name", "run"), loops(), ids=[n for n, _r in loops()])
def test_the_read_buffer_is_given_back_and_the_bytes_still_arrive_whole(
    tmp_path: Path, name: str, run: Callable[[Coroutine[Any, Any, Any]], Any]
) -> None:
    receiver, message, later = run(exchange(tmp_path))
    resident, pages = receiver.before
    assert pages >= 60 and resident == pages  # 256 KiB, all of it in memory
    assert receiver.released == pages * read_buffers.PAGE
    assert receiver.after == (0, pages)
    # Reads took pages again only where they wrote: at most what arrived at once.
    assert later[0] <= len(message) // read_buffers.PAGE + 2
    assert hashlib.sha256(receiver.received).digest() == hashlib.sha256(message).digest()


def test_page_range_keeps_to_whole_pages_inside() -> None:
    page = read_buffers.PAGE
    assert read_buffers.page_range(16, 4 * page) == (page, 3 * page)
    assert read_buffers.page_range(page, 4 * page) == (page, 4 * page)
    assert read_buffers.page_range(page + 1, page) == (2 * page, 0)  # no whole page: none


def test_a_transport_without_tls_is_left_alone() -> None:
    class Plain:
        pass

    assert read_buffers.tls_read_buffer(Plain()) is None
    assert read_buffers.release(Plain()) == 0
