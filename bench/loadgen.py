"""The load generator: one process simulating a share of the seat tablets.

Each simulated tablet is protocol-level: a control connection opened with the real
client code (``tablet_client.connection.open_channel``: TLS to the room CA, ``hello``
with a ``seat_id``, ``welcome``) to each server under test, and, while downloads run, a
documents connection fetching the big document again and again with ``document.fetch``.

The receive loop stamps every ``follow.state`` frame with ``time.monotonic()`` the moment
the tablet's coroutine gets it, and keeps the raw text; frames are decoded with the real
codec only when the orchestrator collects them, so decoding 2,000 frames does not delay
the stamps of the tablets behind. All processes on one machine share CLOCK_MONOTONIC, so
these stamps compare directly with the chair's send times in the orchestrator.

The load generator is the measuring instrument, so it keeps its own pauses out of the
numbers: its garbage collector runs only between commands (``gc.disable`` during a
block of page changes, ``gc.collect`` + ``gc.freeze`` after each command).

The orchestrator drives a worker through a pipe (:func:`worker_main`); every command is
bounded in time and the worker exits by itself after ``max_seconds`` or when the pipe
closes.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench.common import run_worker, serve_commands
from room_protocol.codec import decode, encode
from room_protocol.errors import ProtocolError
from room_protocol.live import FollowState
from room_protocol.messages import Channel, DocumentEnd, ErrorMessage, FetchDocument
from tablet_client.connection import ConnectError, RoomEndpoint, open_channel, tls_context

CONNECT_ATTEMPTS = 3
MAX_FETCHES_PER_TABLET = 10_000  # a bound on the download loop besides its deadline
_FOLLOW_TAG = '"follow.state"'


@dataclass
class Follower:
    """One simulated seat tablet following the chair."""

    client_id: str
    seat_id: str
    links: dict[str, ClientConnection] = field(default_factory=dict)
    readers: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    frames: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    documents: ClientConnection | None = None
    download: asyncio.Task[None] | None = None

    async def read(self, server: str, ws: ClientConnection) -> None:
        frames = self.frames.setdefault(server, [])
        monotonic = time.monotonic
        try:
            async for raw in ws:
                now = monotonic()
                if isinstance(raw, str) and _FOLLOW_TAG in raw[:40]:
                    frames.append((now, raw))
        except ConnectionClosed:
            pass
        self.lost[server] = self.lost.get(server, 0) + 1


@dataclass
class DownloadStats:
    bytes: int = 0
    fetches: int = 0
    errors: int = 0
    started: float = 0.0
    error_samples: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text)


class Worker:
    def __init__(self, pipe: Connection, config: dict[str, Any]) -> None:
        self.pipe = pipe
        self.index: int = config["index"]
        self.endpoints = {
            name: RoomEndpoint(host, port, config.get("address", "127.0.0.1"), name)
            for name, (host, port) in config["servers"].items()
        }
        self.context: ssl.SSLContext = tls_context(Path(config["ca_file"]))
        self.concurrency: int = config.get("connect_concurrency", 16)
        self.documents_rcvbuf: int = config.get("documents_rcvbuf", 0)
        self.deadline = time.monotonic() + float(config["max_seconds"])
        self.followers: list[Follower] = []
        self.downloads = DownloadStats()
        self.closing = False

    # --- the command loop --------------------------------------------------------------

    async def run(self) -> None:
        try:
            # No collector pauses inside a measured block.
            await serve_commands(
                self, self.pipe, self.deadline, no_collect=frozenset({"reset", "settle"})
            )
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        self.closing = True
        await self.do_downloads_stop()
        for f in self.followers:
            for ws in f.links.values():
                if ws.transport is not None:
                    ws.transport.abort()
            for task in f.readers.values():
                task.cancel()
        await asyncio.sleep(0)

    # --- commands ------------------------------------------------------------------------

    async def do_grow(
        self, wanted: list[tuple[str, str]], servers: list[str] | None = None
    ) -> dict[str, Any]:
        """Make sure these (client_id, seat_id) tablets are connected to every server
        (or to ``servers``)."""
        have = {f.client_id for f in self.followers}
        for client_id, seat_id in wanted:
            if client_id not in have:
                self.followers.append(Follower(client_id, seat_id))
        names = servers or list(self.endpoints)
        todo = [(f, s) for f in self.followers for s in names if s not in f.links]
        started = time.monotonic()
        handshakes: list[float] = []
        failures: list[str] = []
        gate = asyncio.Semaphore(self.concurrency)

        async def connect(follower: Follower, server: str) -> None:
            async with gate:
                for attempt in range(1, CONNECT_ATTEMPTS + 1):
                    t0 = time.monotonic()
                    try:
                        ws, _welcome = await open_channel(
                            self.endpoints[server],
                            self.context,
                            Channel.CONTROL,
                            follower.client_id,
                            seat_id=follower.seat_id,
                        )
                    except ConnectError as exc:
                        if attempt == CONNECT_ATTEMPTS:
                            failures.append(f"{server} {follower.client_id}: {exc}")
                            return
                        await asyncio.sleep(0.2 * attempt)
                        continue
                    handshakes.append(time.monotonic() - t0)
                    follower.links[server] = ws
                    follower.readers[server] = asyncio.create_task(follower.read(server, ws))
                    return

        await asyncio.gather(*(connect(f, s) for f, s in todo))
        handshakes.sort()
        return {
            "opened": len(handshakes),
            "failed": len(failures),
            "failures": failures[:5],
            "seconds": time.monotonic() - started,
            "handshakes": handshakes,
        }

    async def do_shrink(self, keep: list[tuple[str, str]]) -> dict[str, Any]:
        """Disconnect every tablet not in ``keep`` (a tablet leaving the room)."""
        wanted = {client_id for client_id, _seat in keep}
        leaving = [f for f in self.followers if f.client_id not in wanted]
        self.followers = [f for f in self.followers if f.client_id in wanted]
        for f in leaving:
            if f.download is not None:
                f.download.cancel()
            for ws in [*f.links.values(), *([f.documents] if f.documents else [])]:
                if ws.transport is not None:
                    ws.transport.abort()
            for task in f.readers.values():
                task.cancel()
        await asyncio.sleep(0.1)
        return {"left": len(leaving)}

    async def do_reset(self, server: str) -> dict[str, Any]:
        for f in self.followers:
            f.frames.setdefault(server, []).clear()
        return {}

    async def do_settle(self, server: str, count: int, seconds: float) -> dict[str, Any]:
        """Wait until every connected tablet holds ``count`` follow.state frames from
        ``server`` since the last reset, or ``seconds``; how many did not."""
        deadline = time.monotonic() + seconds
        while True:
            short = sum(
                1
                for f in self.followers
                if server in f.links and len(f.frames.get(server, ())) < count
            )
            if not short or time.monotonic() > deadline:
                return {"short": short}
            await asyncio.sleep(0.005)

    async def do_collect(self, server: str) -> dict[str, Any]:
        """Per connected tablet, the (seq, page, received) of each follow.state since the
        last reset, decoded and checked by the real codec."""
        tablets: list[list[tuple[int, int, float]]] = []
        bad = 0
        for f in self.followers:
            if server not in f.links:
                continue
            got: list[tuple[int, int, float]] = []
            frames = f.frames.setdefault(server, [])
            taken = frames[:]
            frames.clear()  # in place: the reader task holds this very list
            for stamp, raw in taken:
                try:
                    message = decode(raw)
                except ProtocolError:
                    bad += 1
                    continue
                if isinstance(message, FollowState):
                    got.append((message.seq, message.page, stamp))
            tablets.append(got)
        lost = sum(f.lost.get(server, 0) for f in self.followers)
        return {"tablets": tablets, "bad_frames": bad, "lost_connections": lost}

    async def do_downloads_open(self) -> dict[str, Any]:
        """Open a documents connection per tablet (to the room server), idle for now."""
        endpoint = self.endpoints["hemicycle"]
        gate = asyncio.Semaphore(self.concurrency)
        failures: list[str] = []
        started = time.monotonic()

        async def open_one(follower: Follower) -> None:
            async with gate:
                try:
                    ws, _welcome = await open_channel(
                        endpoint, self.context, Channel.DOCUMENTS, follower.client_id
                    )
                except ConnectError as exc:
                    failures.append(f"{follower.client_id}: {exc}")
                    return
            if self.documents_rcvbuf:
                # Every simulated tablet's receive buffers live in this one kernel, next
                # to the server's: without a cap, loopback autotuning grows them to
                # tcp_rmem's maximum and runs the whole machine into TCP memory pressure.
                sock = ws.transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.documents_rcvbuf)
            follower.documents = ws

        await asyncio.gather(
            *(open_one(f) for f in self.followers if "hemicycle" in f.links and not f.documents)
        )
        return {
            "opened": sum(1 for f in self.followers if f.documents is not None),
            "failed": len(failures),
            "failures": failures[:5],
            "seconds": time.monotonic() - started,
        }

    async def do_downloads_go(
        self, sha256: str, size: int, rate: float, seconds: float
    ) -> dict[str, Any]:
        """Every tablet fetches ``sha256`` over and over on its documents connection
        (``rate`` bytes/s per tablet, 0 = as fast as it comes) for at most ``seconds``."""
        self.downloads = DownloadStats(started=time.monotonic())
        until = time.monotonic() + seconds
        for f in self.followers:
            if f.documents is not None and f.download is None:
                f.download = asyncio.create_task(
                    self._fetch_loop(f.documents, sha256, size, rate, until)
                )
        return {}

    async def _fetch_loop(
        self, ws: ClientConnection, sha256: str, size: int, rate: float, until: float
    ) -> None:
        stats = self.downloads
        monotonic = time.monotonic
        began = monotonic()
        held = 0  # bytes this tablet received, for pacing
        try:
            async with asyncio.timeout_at(asyncio.get_running_loop().time() + until - monotonic()):
                for _ in range(MAX_FETCHES_PER_TABLET):
                    await ws.send(encode(FetchDocument(sha256, 0)))
                    got = 0
                    while True:
                        raw = await ws.recv()
                        if isinstance(raw, bytes):
                            got += len(raw)
                            stats.bytes += len(raw)
                            if rate:
                                held += len(raw)
                                ahead = began + held / rate - monotonic()
                                if ahead > 0:
                                    await asyncio.sleep(ahead)
                            continue
                        message = decode(raw)
                        if isinstance(message, DocumentEnd):
                            break
                        if isinstance(message, ErrorMessage):
                            stats.error(message.message)
                            return
                    if got != size:
                        stats.error(f"received {got} of {size} bytes")
                    stats.fetches += 1
        except TimeoutError:
            pass
        except (ConnectionClosed, OSError, ProtocolError) as exc:
            if not self.closing:
                stats.error(f"{type(exc).__name__}: {exc}")

    async def do_downloads_stop(self) -> dict[str, Any]:
        stats = self.downloads
        seconds = time.monotonic() - stats.started if stats.started else 0.0
        # Cut every documents connection first (a tablet walking away mid-transfer: no
        # closing handshake to wait for), so no more bytes arrive, then reap the loops.
        for f in self.followers:
            if f.documents is not None and f.documents.transport is not None:
                f.documents.transport.abort()
            f.documents = None
        loops = [f.download for f in self.followers if f.download is not None]
        for f in self.followers:
            f.download = None
        for task in loops:
            task.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        self.downloads = DownloadStats()
        return {
            "bytes": stats.bytes,
            "fetches": stats.fetches,
            "errors": stats.errors,
            "error_samples": stats.error_samples,
            "seconds": seconds,
        }


def worker_main(pipe: Connection, config: dict[str, Any]) -> None:
    """Entry point of a load-generator process (multiprocessing, spawn)."""
    run_worker(Worker, pipe, config)
