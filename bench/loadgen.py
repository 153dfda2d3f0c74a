"""The load generator: one process simulating a share of the seat tablets.

Each simulated tablet is protocol-level, an enrolled device of the room
(:mod:`bench.enroll`): a control connection to each server under test (mutual TLS with
its device certificate, ``hello``, ``welcome``) and, while downloads
run, a documents connection opened with the real client code
(``room_client.connection.open_channel``) fetching the big document again and again
with ``document.fetch``.

A simulated tablet's control connection is a :class:`StampedLink`: TLS, WebSocket and
the room codec spoken from their Sans-I/O pieces over a plain socket on the event loop,
so that every read also gets the kernel's receive time of its bytes (``SO_TIMESTAMPNS``).
One process plays hundreds of tablets on one CPU, where a real tablet has a CPU of its
own: the time the instrument takes to reach a frame is its own queue, not the server's.
So each ``follow.state`` carries two stamps, the arrival at the socket (wall clock, as
the kernel stamps) and the moment the code had it (``time.monotonic()``), and the frame's
raw text; frames are decoded with the real codec only when the orchestrator collects
them. All processes on one machine share both clocks, so these stamps compare directly
with the chair's send times in the orchestrator. A simulated tablet answers the server's
pings and pings it every ``PING_INTERVAL`` seconds, as the real client does, so the
server's load is the same.

The load generator is the measuring instrument, so it keeps its own pauses out of the
numbers: its garbage collector runs only between commands (``gc.disable`` during a
block of page changes, ``gc.collect`` + ``gc.freeze`` after each command).

A tablet signed in as a member can also vote (``burst``, the ballots of
:mod:`bench.vote_loadgen`) and draw (``annotate``: ink strokes sent in ``annotation.batch``
requests at the room's ``annotation.pace``, answered once they are on disk) on the same
control connection, as a seat tablet does; the answers are stamped with
``time.monotonic()`` when the code has them and decoded with the real codec (ballots
after the command, annotation answers as they come: they decide the next batch).

A tablet also fetches a meeting's documents as the tablet app does (``fetch``,
:mod:`bench.distribution`): on a documents connection opened with the real client code,
one ``document.fetch`` after another, each checked by the real ``Receiver`` (order,
sizes, the sha256 of the whole file; a confidential one against the member's own copy),
resuming from the bytes it holds after a drop; or, for the baseline, the same files over
HTTPS from nginx on one keep-alive connection (``Range`` to resume). A tablet remembers
what it holds, so a second meeting costs only what it lacks.

The orchestrator drives a worker through a pipe (:func:`worker_main`); every command is
bounded in time and the worker exits by itself after ``max_seconds`` or when the pipe
closes.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import math
import os
import random
import socket
import ssl
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.client import ClientProtocol
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from bench.common import run_worker, serve_commands
from bench.enroll import Access
from bench.vote_loadgen import Cast, cast_burst, sign_in_once
from room_client.annotations import BatchPace
from room_client.connection import OPEN_TIMEOUT, ConnectError, RoomEndpoint, open_channel
from room_protocol.annotations import (
    MAX_BATCH_OPS,
    AnnotationBatch,
    AnnotationKind,
    AnnotationPace,
    AnnotationPatch,
    AnnotationsKept,
    BatchedOp,
    next_stamp,
)
from room_protocol.codec import MAX_MESSAGE_BYTES, decode, encode
from room_protocol.errors import ErrorCode, ProtocolError
from room_protocol.live import Ack, FollowState, RequestFloor
from room_protocol.messages import (
    Channel,
    DocumentBegin,
    DocumentEnd,
    ErrorMessage,
    FetchDocument,
    Welcome,
)
from room_protocol.transfer import Receiver

CONNECT_ATTEMPTS = 3
MAX_FETCHES_PER_TABLET = 10_000  # a bound on the download loop besides its deadline
MAX_STROKES_PER_TABLET = 10_000  # a bound on one annotate command besides its deadline
FETCH_ATTEMPTS = 5  # tries per document (a drop resumes where the bytes end)
HTTP_HEAD_BYTES = 16 * 1024  # the most an nginx response head may take
_FOLLOW_TAG = '"follow.state"'
# to a ballot, a request, or a batch of annotation operations
_ANSWER_TAGS = ('"poll.recorded"', '"error"', '"ack"', '"annotation.kept"')
_PACE_TAG = '"annotation.pace"'
_SIGNED_IN_TAG = '"session.signed_in"'
_ERROR_TAG = '"error"'
_MEETING_TAG = '"meeting.state"'
_CONTROL = frozenset({Opcode.PING, Opcode.PONG, Opcode.CLOSE})
PING_INTERVAL = 20.0  # seconds, as the tablet app's connection (websockets' default)
READ_BYTES = 256 * 1024
# Linux's SO_TIMESTAMPNS (asm-generic/socket.h; Python does not name it): each recvmsg
# carries the kernel's receive time of its bytes, a struct timespec on CLOCK_REALTIME.
SO_TIMESTAMPNS = 35
_TIMESTAMP_SPACE = socket.CMSG_SPACE(16)


Frames = list[tuple[float, float, str]]  # (seen by the code, arrived at the socket, text)


class StampedLink:
    """One simulated tablet's control connection, spoken with the Sans-I/O pieces the
    real client is made of (``ssl.SSLObject`` over memory buffers, websockets'
    ``ClientProtocol``, the room codec) over a plain non-blocking socket on the event
    loop, so that every read can ask the kernel when its bytes arrived.

    :meth:`open` does what ``open_channel`` does: TCP, TLS (verified against the room
    CA, with the tablet's device certificate), the WebSocket handshake, ``hello`` (as
    :meth:`bench.enroll.Access.hello` makes it), ``welcome``. From then on
    each readable socket is read with ``recvmsg`` and its ``SO_TIMESTAMPNS`` receive
    time kept next to ``time.monotonic()`` at the read; server pings are answered and a
    ping goes out every ``PING_INTERVAL`` seconds, as from the real client.
    """

    def __init__(
        self, sock: socket.socket, context: ssl.SSLContext, hostname: str, frames: Frames
    ) -> None:
        self.sock = sock
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_hostname=hostname)
        self.protocol: ClientProtocol | None = None
        self.frames = frames
        self.lost = False
        self.bad = 0  # frames that were not one whole text message
        self.pongs = 0
        self.answers: list[tuple[float, str]] = []  # (seen by the code, raw): answers
        self.on_answer: Callable[[], None] | None = None  # called after each answer is kept
        self.signed_in = False  # session.signed_in came (after a hello with a resume token)
        self.pace = 0.0  # seconds: the room's last annotation.pace
        self.errors: list[str] = []  # every error frame, raw (a bench counts them all)
        self.watch = ""  # text looked for in each meeting.state (a late document's sha256)
        self.watch_seen = math.nan  # time.monotonic() the first meeting.state holding it came
        self._pieces: list[bytes] | None = None  # a fragmented message being watched
        self._ping: asyncio.TimerHandle | None = None
        self._unsent = bytearray()  # what the socket did not take yet, sent when writable

    @classmethod
    async def open(
        cls,
        endpoint: RoomEndpoint,
        context: ssl.SSLContext,
        hello: str,
        frames: Frames,
    ) -> StampedLink:
        loop = asyncio.get_running_loop()
        host = endpoint.address or endpoint.hostname
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        link = cls(sock, context, endpoint.hostname, frames)
        try:
            async with asyncio.timeout(OPEN_TIMEOUT):
                await loop.sock_connect(sock, (host, endpoint.port))
                await link._tls_handshake()
                await link._hello(endpoint, hello)
        except ConnectError:
            sock.close()
            raise
        except (OSError, TimeoutError, InvalidHandshake, ProtocolError, ValueError) as exc:
            sock.close()
            raise ConnectError(f"{type(exc).__name__}: {exc}") from exc
        loop.add_reader(sock.fileno(), link._readable)
        link._ping = loop.call_later(random.uniform(0, PING_INTERVAL), link._ping_now)
        return link

    # --- opening: awaited reads and writes ----------------------------------------------

    async def _tls_handshake(self) -> None:
        while True:
            try:
                self.tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                await self._send_pending()
                await self._receive()
        await self._send_pending()

    async def _hello(self, endpoint: RoomEndpoint, hello: str) -> None:
        protocol = ClientProtocol(parse_uri(endpoint.uri), max_size=MAX_MESSAGE_BYTES)
        self.protocol = protocol
        protocol.send_request(protocol.connect())
        await self._send_pending()
        said_hello = welcomed = False
        while True:
            await self._receive()
            protocol.receive_data(self._plaintext())
            for event in protocol.events_received():
                if welcomed:  # came in the same read as the welcome
                    self._take(event)
                elif isinstance(event, Response):
                    if protocol.handshake_exc is not None:
                        raise protocol.handshake_exc
                    protocol.send_text(hello.encode())
                    said_hello = True
                elif isinstance(event, Frame) and event.opcode is Opcode.TEXT and said_hello:
                    reply = decode(bytes(event.data).decode())
                    if not isinstance(reply, Welcome):
                        raise ConnectError(f"the room answered hello with {reply}")
                    # What comes with it (the state a tablet gets on connecting) is
                    # dropped: blocks measure only frames after their reset.
                    welcomed = True
            await self._send_pending()
            if welcomed:
                return

    async def _receive(self) -> None:
        data = await asyncio.get_running_loop().sock_recv(self.sock, READ_BYTES)
        if not data:
            raise ConnectionResetError("the room closed the connection")
        self.incoming.write(data)

    async def _send_pending(self) -> None:
        self._encrypt()
        data = self.outgoing.read()
        if data:
            await asyncio.get_running_loop().sock_sendall(self.sock, data)

    # --- open: callbacks ------------------------------------------------------------------

    def _readable(self) -> None:
        try:
            data, ancillary, _flags, _address = self.sock.recvmsg(READ_BYTES, _TIMESTAMP_SPACE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._gone()
            return
        if not data:
            self._gone()
            return
        arrived = math.nan
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = struct.unpack("qq", value[:16])
                arrived = seconds + nanoseconds / 1e9
        self.incoming.write(data)
        assert self.protocol is not None
        try:
            self.protocol.receive_data(self._plaintext())
        except ssl.SSLError:
            self._gone()
            return
        for event in self.protocol.events_received():
            self._take(event, arrived)
        self._send_now()

    def _take(self, event: object, arrived: float = math.nan) -> None:
        """Keep what a block measures from one received event."""
        if not isinstance(event, Frame):  # the handshake is long over
            self.bad += 1
        elif event.opcode is Opcode.TEXT and event.fin:
            text = bytes(event.data).decode()
            head = text[:40]
            if _FOLLOW_TAG in head:  # decrypted and parsed: the code has it now
                self.frames.append((time.monotonic(), arrived, text))
            elif any(tag in head for tag in _ANSWER_TAGS):
                if _ERROR_TAG in head:
                    self.errors.append(text)
                self.answers.append((time.monotonic(), text))
                if self.on_answer is not None:
                    self.on_answer()
            elif _SIGNED_IN_TAG in head:
                self.signed_in = True
            elif _PACE_TAG in head:
                pace = decode(text)
                if isinstance(pace, AnnotationPace):
                    self.pace = pace.seconds
            elif self.watch and _MEETING_TAG in head:
                self._watched(text)
        elif event.opcode is Opcode.PONG:
            self.pongs += 1
        elif event.opcode is Opcode.CONT or event.opcode is Opcode.TEXT:
            # A fragment of a large message (the meeting state): put together only while
            # a late document is watched for, otherwise not measured here.
            if not self.watch:
                self._pieces = None
            elif event.opcode is Opcode.TEXT:
                self._pieces = [bytes(event.data)]
            elif self._pieces is not None:
                self._pieces.append(bytes(event.data))
            if event.fin and self._pieces is not None:
                whole = b"".join(self._pieces).decode()
                self._pieces = None
                if _MEETING_TAG in whole[:40]:
                    self._watched(whole)
        elif event.opcode not in _CONTROL:
            self.bad += 1

    def _watched(self, text: str) -> None:
        if math.isnan(self.watch_seen) and self.watch in text:
            self.watch_seen = time.monotonic()

    def send_text(self, text: str) -> bool:
        """Send one text message now (False: the connection is gone)."""
        assert self.protocol is not None
        if self.lost or self.protocol.state is not State.OPEN:
            return False
        self.protocol.send_text(text.encode())
        self._send_now()
        return not self.lost

    def _ping_now(self) -> None:
        assert self.protocol is not None
        if self.protocol.state is State.OPEN and not self.lost:
            self.protocol.send_ping(os.urandom(4))
            self._send_now()
            self._ping = asyncio.get_running_loop().call_later(PING_INTERVAL, self._ping_now)

    def _send_now(self) -> None:
        self._encrypt()
        data = self.outgoing.read()
        if self.lost or not data:
            return
        if self._unsent:  # behind bytes still waiting: keep the TLS stream in order
            self._unsent += data
            return
        self._unsent += data
        self._writable()
        if self._unsent and not self.lost:  # rare: a pong behind a full send buffer
            asyncio.get_running_loop().add_writer(self.sock.fileno(), self._writable)

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self._unsent)
        except BlockingIOError:
            return
        except OSError:
            self._gone()
            return
        del self._unsent[:sent]
        if not self._unsent:
            asyncio.get_running_loop().remove_writer(self.sock.fileno())

    # --- TLS and shutdown -------------------------------------------------------------------

    def _encrypt(self) -> None:
        if self.protocol is not None:
            for chunk in self.protocol.data_to_send():
                if chunk:  # b"" asks for a half-close, which TLS cannot do
                    self.tls.write(chunk)

    def _plaintext(self) -> bytes:
        chunks = []
        while True:
            try:
                chunk = self.tls.read(READ_BYTES)
            except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)

    def _gone(self) -> None:
        if not self.lost:
            self.lost = True
            self.close()

    def close(self) -> None:
        if self._ping is not None:
            self._ping.cancel()
            self._ping = None
        if self.sock.fileno() >= 0:
            loop = asyncio.get_running_loop()
            loop.remove_reader(self.sock.fileno())
            loop.remove_writer(self.sock.fileno())
            self.sock.close()


@dataclass
class Follower:
    """One simulated seat tablet following the chair."""

    client_id: str
    seat_id: str  # said in hello only to a protocol 3 server; otherwise the certificate says it
    delegate_id: str = ""  # the member signed in on it, if it votes (bench.follow_burst)
    pin: str = ""
    tokens: dict[str, str] = field(default_factory=dict)  # per server: the sign-in token
    links: dict[str, StampedLink] = field(default_factory=dict)
    frames: dict[str, Frames] = field(default_factory=dict)
    documents: ClientConnection | None = None
    documents_server: str = ""  # the server ``documents`` is connected to
    download: asyncio.Task[None] | None = None
    context: ssl.SSLContext | None = None  # with its device certificate, loaded once
    held: dict[str, set[str]] = field(default_factory=dict)  # per source: sha256s it holds

    def lost(self, server: str) -> int:
        link = self.links.get(server)
        return 1 if link is not None and link.lost else 0


@dataclass
class Errors:
    """Errors counted, the first few kept as samples for the report."""

    errors: int = 0
    error_samples: list[str] = field(default_factory=list)

    def error(self, text: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(text)


@dataclass
class DownloadStats(Errors):
    bytes: int = 0
    fetches: int = 0
    started: float = 0.0


@dataclass
class FetchStats(Errors):
    """One ``fetch`` command's tablets: what they received and how it went."""

    bytes: int = 0
    fetched: int = 0  # documents received whole and verified
    skipped: int = 0  # documents the tablet held already
    resumed: int = 0  # fetches sent again after a drop, from where the bytes ended
    done: list[float] = field(default_factory=list)  # monotonic: a tablet holds them all
    unfinished: int = 0  # tablets that did not hold every document in time
    cipher: str = ""
    opened: int = 0  # connections opened for the fetch (a TLS handshake each)


@dataclass
class Body:
    """What a tablet holds of one document fetched over HTTPS."""

    digest: Any  # hashlib's sha256, fed with every byte held
    position: int = 0


@dataclass
class Cut:
    """A tablet's one Wi-Fi drop in a ``fetch``: after ``at`` bytes (0: none)."""

    at: int
    got: int = 0
    done: bool = False

    def due(self, received: int) -> bool:
        """Count ``received`` bytes; True once, when the connection is to be cut now."""
        self.got += received
        if self.at and not self.done and self.got >= self.at:
            self.done = True
            return True
        return False


class Refused(Exception):
    """The server answered a fetch with an error, or with bytes that fail the checks."""


class InkBatches:
    """``annotation.batch`` frames of new ink strokes of ``points`` points on pages of one
    document: one frame made by the real codec, the ids, pages and stamps put into it by
    formatting (the codec's own encoding costs more than a tablet's share of the CPU
    here), and :meth:`check` decodes a made frame with the real codec to prove it is the
    batch meant."""

    _MARKS = ('"op_id":"OPID"', '"annotation_id":"OPID"', '"page":7,"stamp":8')

    def __init__(self, sha256: str, points: int) -> None:
        self.sha256 = sha256
        geometry = tuple(float(50 + (i * 7) % 400) for i in range(points * 2))
        self.patch = AnnotationPatch(kind=AnnotationKind.INK, geometry=geometry, colour="#d62828")
        op = BatchedOp("OPID", "OPID", sha256, 7, 8, self.patch)
        sample = encode(AnnotationBatch("BATCHID", (op,)))
        head, _, rest = sample.partition('"ops":[')
        body, _, tail = rest.rpartition("]")
        if head.count('"op_id":"BATCHID"') != 1 or tail != "}":
            raise RuntimeError(f"the codec's annotation.batch no longer reads as expected: {head}")
        self.head = head.replace('"op_id":"BATCHID"', '"op_id":"%s"') + '"ops":['
        template = body.replace("%", "%%")
        for mark in self._MARKS:
            if template.count(mark) != 1:
                raise RuntimeError(f"the codec's annotation.batch no longer reads {mark}")
        template = template.replace(self._MARKS[0], '"op_id":"%s"')
        template = template.replace(self._MARKS[1], '"annotation_id":"%s"')
        self.template = template.replace(self._MARKS[2], '"page":%d,"stamp":%d')

    def frame(self, batch_id: str, ops: list[tuple[str, int, int]]) -> str:
        """Batch ``batch_id`` of (op id, page, stamp): each a stroke making annotation
        ``op id``."""
        body = ",".join(self.template % (op_id, op_id, page, stamp) for op_id, page, stamp in ops)
        return self.head % batch_id + body + "]}"

    def check(self, batch_id: str, ops: list[tuple[str, int, int]]) -> None:
        made = decode(self.frame(batch_id, ops))
        meant = AnnotationBatch(
            batch_id,
            tuple(BatchedOp(o, o, self.sha256, page, stamp, self.patch) for o, page, stamp in ops),
        )
        if made != meant:
            raise RuntimeError(f"a made annotation.batch is not the one meant: {made}")


Stroke = tuple[str, int, int]  # op id, page, stamp


@dataclass
class Strokes:
    """One tablet's ink strokes in an ``annotate`` command, sent as the reference tablet
    sends them (:class:`room_client.annotations.AnnotationSync`): in batches, one on its
    way at a time, private strokes gathered for the room's pace (its own
    :class:`~room_client.annotations.BatchPace`), a ``busy`` batch sent again after a
    growing, jittered wait."""

    follower: Follower
    link: StampedLink
    drawn: dict[str, float] = field(default_factory=dict)  # op id -> time.monotonic() drawn
    pending: list[Stroke] = field(default_factory=list)  # drawn, not yet kept nor on its way
    flight: tuple[str, list[Stroke], float] | None = None  # the batch on its way, sent at
    acked: dict[str, float] = field(default_factory=dict)  # op id -> answer seen
    refusals: list[str] = field(default_factory=list)
    batch_ms: list[float] = field(default_factory=list)  # batch sent -> its answer
    pace: BatchPace = field(default_factory=BatchPace)  # set per command (its seeded draw)
    last_sent: float = -math.inf
    timer: asyncio.TimerHandle | None = None
    backing_off: bool = False
    busy_in_a_row: int = 0
    busy: int = 0  # batches answered busy
    busy_at: list[float] = field(default_factory=list)  # time.monotonic() of each busy answer
    sends: list[tuple[float, int]] = field(default_factory=list)  # (time.monotonic(), ops)
    batches: int = 0
    twice: int = 0
    bad: int = 0
    seen_answers: int = 0  # link.answers taken so far
    stamp: int = 0


def _per_second(start: float, counts: Iterable[tuple[float, int]]) -> list[int]:
    """``counts`` of (time.monotonic(), how many) added up per whole second from
    ``start`` (anything before it in the first second)."""
    seconds: list[int] = []
    for at, count in counts:
        second = max(0, int(at - start))
        seconds.extend([0] * (second + 1 - len(seconds)))
        seconds[second] += count
    return seconds


class Worker:
    def __init__(self, pipe: Connection, config: dict[str, Any]) -> None:
        self.pipe = pipe
        self.index: int = config["index"]
        self.endpoints = {
            name: RoomEndpoint(host, port, config.get("address", "127.0.0.1"), name)
            for name, (host, port) in config["servers"].items()
        }
        self.access: Access = config["access"]
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
            for link in f.links.values():
                link.close()
        await asyncio.sleep(0)

    # --- commands ------------------------------------------------------------------------

    async def do_grow(
        self, wanted: list[tuple[str, ...]], servers: list[str] | None = None
    ) -> dict[str, Any]:
        """Make sure these (client_id, seat_id) tablets are connected to every server
        (or to ``servers``); (client_id, seat_id, delegate_id, pin): a member sits at it,
        and it connects with its token where :meth:`do_sign_in` got one."""
        self._seat(wanted)
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
                        link = await StampedLink.open(
                            self.endpoints[server],
                            self._context(follower),
                            self.access.hello(
                                follower.client_id, follower.seat_id, follower.tokens.get(server)
                            ),
                            follower.frames.setdefault(server, []),
                        )
                    except ConnectError as exc:
                        if attempt == CONNECT_ATTEMPTS:
                            failures.append(f"{server} {follower.client_id}: {exc}")
                            return
                        await asyncio.sleep(0.2 * attempt)
                        continue
                    handshakes.append(time.monotonic() - t0)
                    follower.links[server] = link
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

    def _context(self, follower: Follower) -> ssl.SSLContext:
        if follower.context is None:
            follower.context = self.access.context(follower.client_id)
        return follower.context

    def _seat(self, wanted: list[tuple[str, ...]]) -> None:
        have = {f.client_id for f in self.followers}
        for client_id, seat_id, *member in wanted:
            if client_id not in have:
                delegate_id, pin = member or ("", "")
                self.followers.append(Follower(client_id, seat_id, delegate_id, pin))

    async def do_shrink(self, keep: list[tuple[str, str]]) -> dict[str, Any]:
        """Disconnect every tablet not in ``keep`` (a tablet leaving the room)."""
        wanted = {client_id for client_id, _seat in keep}
        leaving = [f for f in self.followers if f.client_id not in wanted]
        self.followers = [f for f in self.followers if f.client_id in wanted]
        for f in leaving:
            if f.download is not None:
                f.download.cancel()
            for link in f.links.values():
                link.close()
            if f.documents is not None and f.documents.transport is not None:
                f.documents.transport.abort()
        await asyncio.sleep(0.1)
        return {"left": len(leaving)}

    async def do_sign_in(
        self, server: str, concurrency: int, wanted: list[tuple[str, ...]]
    ) -> dict[str, Any]:
        """These tablets (as for :meth:`do_grow`) are in the room; every one with a member
        and no token for ``server`` yet connects there, signs in with the member's PIN,
        keeps the token and disconnects (at most ``concurrency`` at a time);
        :meth:`do_grow` then connects with the token."""
        self._seat(wanted)
        gate = asyncio.Semaphore(concurrency)
        failures: list[str] = []
        timings: list[float] = []
        started = time.monotonic()

        async def sign_in(f: Follower) -> None:
            async with gate:
                token = await sign_in_once(
                    self.endpoints[server],
                    self.access,
                    f.client_id,
                    f.seat_id,
                    f.delegate_id,
                    f.pin,
                    failures,
                    timings,
                )
            if token is not None:
                f.tokens[server] = token

        await asyncio.gather(
            *(sign_in(f) for f in self.followers if f.pin and server not in f.tokens)
        )
        return {
            "signed_in": sum(1 for f in self.followers if server in f.tokens),
            "failed": len(failures),
            "failures": failures[:5],
            "seconds": time.monotonic() - started,
            "latencies_ms": [t * 1000 for t in timings],  # sign-in sent -> ack and token
        }

    async def do_signed_in(self, server: str, seconds: float) -> dict[str, Any]:
        """Wait until every connected tablet with a token has its session back on
        ``server`` (session.signed_in), or ``seconds``; how many have not."""
        deadline = time.monotonic() + seconds
        while True:
            short = sum(
                1
                for f in self.followers
                if server in f.tokens and server in f.links and not f.links[server].signed_in
            )
            if not short or time.monotonic() > deadline:
                return {"short": short}
            await asyncio.sleep(0.05)

    async def do_burst(
        self,
        server: str,
        poll_id: str,
        tag: str,
        start_at: float,
        spread: float,
        answer_seconds: float,
    ) -> dict[str, Any]:
        """Every tablet signed in on ``server`` casts one ballot in ``poll_id`` on its
        stamped link at a moment drawn uniformly from [start_at, start_at + spread)
        (monotonic seconds), then waits for its answer until ``start_at + spread +
        answer_seconds``. The ballots: :data:`bench.vote_loadgen.Ballot` each."""
        late = time.monotonic() - start_at  # > 0: this order came too late for its start
        rng = random.Random(f"{tag}:{self.index}")
        casts = []
        for f in self.followers:
            link = f.links.get(server)
            if link is None or link.lost or server not in f.tokens:
                continue
            link.answers.clear()

            async def send(frame: str, link: StampedLink = link) -> bool:
                return link.send_text(frame)

            casts.append(
                Cast.plan(rng, tag, poll_id, f.delegate_id, start_at, spread, link.answers, send)
            )
        await cast_burst(casts, start_at + spread + answer_seconds)
        return {
            "ballots": [c.outcome() for c in casts],
            "lost": sum(f.lost(server) for f in self.followers),
            "late": late,
        }

    async def do_annotate(
        self,
        server: str,
        strokes: tuple[str, int, int],
        tag: str,
        start_at: float,
        seconds: float,
        pace: tuple[float, int],
        answer_seconds: float,
        count: int = -1,
    ) -> dict[str, Any]:
        """Every tablet (the first ``count``, if not -1) signed in on ``server`` draws ink
        strokes from ``start_at``
        (monotonic) for ``seconds``: ``strokes`` = (document, its pages, points per
        stroke), each stroke an operation making a new annotation on a page drawn at
        random, op id ``<tag>.<client id>.<k>``, sent as the reference tablet sends them
        (:class:`Strokes`). ``pace`` = (rate, window): ``rate`` strokes a second per
        tablet on a steady schedule from a random moment in the first period, sent at the
        room's pace; or, with ``rate`` 0, a batch of ``window`` new strokes as soon as
        the last batch is answered, whatever the pace (the most the room keeps). Then
        wait until each stroke is kept or ``answer_seconds`` after the end.

        Answers are decoded with the real codec as they come: the ``(client id, op id)``
        of every kept operation (for the database check), latencies drawn → kept and
        batch sent → answered (ms), refusals, busy answers, strokes never kept and
        operations kept twice."""
        sha256, pages, points = strokes
        rate, window = pace
        late = time.monotonic() - start_at
        end = start_at + seconds
        rng = random.Random(f"{tag}:{self.index}")
        ink = InkBatches(sha256, points)
        loop = asyncio.get_running_loop()
        offset = loop.time() - time.monotonic()
        tablets: list[Strokes] = []
        for f in self.followers:
            link = f.links.get(server)
            if link is None or link.lost or server not in f.tokens:
                continue
            link.answers.clear()
            tablets.append(Strokes(f, link, pace=BatchPace(rng.random)))
        if count >= 0:
            tablets = tablets[:count]
        checked = False

        def draw(t: Strokes) -> bool:
            if len(t.drawn) >= MAX_STROKES_PER_TABLET:
                return False
            op_id = f"{tag}.{t.follower.client_id}.{len(t.drawn)}"
            t.stamp = next_stamp(int(time.time() * 1000), t.stamp)
            t.pending.append((op_id, rng.randrange(pages), t.stamp))
            t.drawn[op_id] = time.monotonic()
            return True

        def send(t: Strokes) -> None:
            nonlocal checked
            if t.timer is not None:
                t.timer.cancel()
                t.timer = None
            batch, t.pending = t.pending[:MAX_BATCH_OPS], t.pending[MAX_BATCH_OPS:]
            batch_id = f"{tag}.{t.follower.client_id}.b{t.batches}"
            if not checked:
                ink.check(batch_id, batch)
                checked = True
            t.batches += 1
            t.last_sent = time.monotonic()
            t.pace.sent(t.last_sent)
            t.sends.append((t.last_sent, len(batch)))
            t.flight = (batch_id, batch, t.last_sent)
            if not t.link.send_text(ink.frame(batch_id, batch)):
                t.flight = None
                t.pending = batch + t.pending

        def schedule(t: Strokes, now: bool = False) -> None:
            if t.flight is not None or t.backing_off or not t.pending or t.link.lost:
                return
            due = t.pace.due(time.monotonic(), t.link.pace)
            if now or time.monotonic() >= due:
                send(t)
            elif t.timer is None:
                t.timer = loop.call_at(due + offset, timed, t)

        def timed(t: Strokes) -> None:
            t.timer = None
            t.backing_off = False
            t.pace.forget()
            schedule(t, now=True)

        def answered(t: Strokes) -> None:
            fresh = t.link.answers[t.seen_answers :]
            t.seen_answers = len(t.link.answers)
            for seen, raw in fresh:
                try:
                    message = decode(raw)
                except ProtocolError:
                    t.bad += 1
                    continue
                ref = message.ref if isinstance(message, ErrorMessage) else ""
                ref = message.op_id if isinstance(message, AnnotationsKept) else ref
                if t.flight is None or ref != t.flight[0]:
                    continue
                _, batch, sent = t.flight
                t.flight = None
                t.batch_ms.append((seen - sent) * 1000)
                if isinstance(message, AnnotationsKept):
                    t.busy_in_a_row = 0
                    refused = {r.op_id: f"{r.code}: {r.message}" for r in message.refused}
                    for op_id, _page, _stamp in batch:
                        if op_id in refused:
                            t.refusals.append(refused[op_id])
                        elif op_id in t.acked:
                            t.twice += 1
                        else:
                            t.acked[op_id] = seen
                elif isinstance(message, ErrorMessage) and message.code == ErrorCode.BUSY.value:
                    t.busy += 1  # over the room's budget: sent again after a wait
                    t.busy_at.append(seen)
                    t.busy_in_a_row += 1
                    t.pending = batch + t.pending
                    wait = min(30.0, 2 ** min(t.busy_in_a_row - 1, 10)) * rng.uniform(0.5, 1.5)
                    t.backing_off = True
                    if t.timer is not None:
                        t.timer.cancel()
                    t.timer = loop.call_later(wait, timed, t)
                    continue
                else:
                    t.refusals.extend(f"{message}" for _ in batch)
                if rate > 0:
                    schedule(t)
                elif time.monotonic() < end:
                    flood(t)

        def paced(t: Strokes, at: float) -> None:
            if at < end and draw(t):
                schedule(t)
                loop.call_at(at + 1 / rate + offset, paced, t, at + 1 / rate)

        def flood(t: Strokes) -> None:
            if t.flight is None and not t.backing_off and time.monotonic() < end:
                while len(t.pending) < window and draw(t):
                    pass
                schedule(t, now=True)

        for t in tablets:
            t.link.on_answer = functools.partial(answered, t)
            if rate > 0:
                first = start_at + rng.random() / rate
                loop.call_at(first + offset, paced, t, first)
            else:
                loop.call_at(start_at + offset, flood, t)
        try:
            await asyncio.sleep(max(0.0, end - time.monotonic()))
            until = end + answer_seconds
            while time.monotonic() < until:
                await asyncio.sleep(0.05)
                if all(len(t.acked) + len(t.refusals) >= len(t.drawn) for t in tablets):
                    break
        finally:
            for t in tablets:
                t.link.on_answer = None
                if t.timer is not None:
                    t.timer.cancel()
        return self._strokes_answered(tablets) | {
            "sent_per_second": _per_second(
                start_at, ((at, ops) for t in tablets for at, ops in t.sends)
            ),
            "busy_per_second": _per_second(
                start_at, ((at, 1) for t in tablets for at in t.busy_at)
            ),
            "late": late,
            "lost": sum(f.lost(server) for f in self.followers),
        }

    @staticmethod
    def _strokes_answered(tablets: list[Strokes]) -> dict[str, Any]:
        acked: list[tuple[str, str]] = []
        latencies: list[float] = []
        refusals: list[str] = []
        first_sent = last_answer = math.nan
        for t in tablets:
            for op_id, seen in t.acked.items():
                acked.append((t.follower.client_id, op_id))
                latencies.append((seen - t.drawn[op_id]) * 1000)
                last_answer = seen if math.isnan(last_answer) else max(last_answer, seen)
            refusals.extend(t.refusals)
            if t.drawn:
                first = min(t.drawn.values())
                first_sent = first if math.isnan(first_sent) else min(first_sent, first)
            t.link.answers.clear()
        return {
            "sent": sum(len(t.drawn) for t in tablets),
            "acked": acked,
            "latencies_ms": latencies,
            "batch_ms": [x for t in tablets for x in t.batch_ms],
            "batches": sum(t.batches for t in tablets),
            "refused": len(refusals),
            "deferred": sum(t.busy for t in tablets),
            "refusals": refusals[:5],
            "unanswered": sum(len(t.drawn) - len(t.acked) - len(t.refusals) for t in tablets),
            "answered_twice": sum(t.twice for t in tablets),
            "bad_frames": sum(t.bad for t in tablets),
            "first_sent": first_sent,
            "last_answer": last_answer,
            "paces": sorted({t.link.pace for t in tablets}),
        }

    async def do_speak(
        self,
        server: str,
        count: int,
        tag: str,
        start_at: float,
        spread: float,
        answer_seconds: float,
    ) -> dict[str, Any]:
        """The first ``count`` tablets signed in on ``server`` each ask for the floor once
        (``floor.request``, op id ``<tag>.<client id>``) at a moment drawn uniformly from
        [start_at, start_at + spread) (monotonic), then wait for its answer until
        ``start_at + spread + answer_seconds``: per request, sent → ack seen by the code
        (ms), and the refusals and requests never answered."""
        late = time.monotonic() - start_at
        rng = random.Random(f"{tag}:{self.index}")
        speakers: list[tuple[StampedLink, str, float]] = []
        for f in self.followers:
            link = f.links.get(server)
            if link is None or link.lost or server not in f.tokens:
                continue
            if len(speakers) == count:
                break
            link.answers.clear()
            speakers.append((link, f"{tag}.{f.client_id}", start_at + rng.random() * spread))
        sent: dict[str, float] = {}

        async def ask(link: StampedLink, op_id: str, at: float) -> None:
            await asyncio.sleep(max(0.0, at - time.monotonic()))
            now = time.monotonic()
            if link.send_text(encode(RequestFloor(op_id))):
                sent[op_id] = now

        await asyncio.gather(*(ask(*s) for s in speakers))
        until = start_at + spread + answer_seconds
        answered: dict[str, tuple[float, Any]] = {}
        while True:
            for link, op_id, _at in speakers:
                if op_id in answered:
                    continue
                for seen, raw in link.answers:
                    if op_id not in raw:
                        continue
                    message = decode(raw)
                    ref = message.ref if isinstance(message, ErrorMessage) else ""
                    ref = message.op_id if isinstance(message, Ack) else ref
                    if ref == op_id:
                        answered[op_id] = (seen, message)
                        break
            if len(answered) >= len(sent) or time.monotonic() > until:
                break
            await asyncio.sleep(0.02)
        latencies = [
            (seen - sent[op_id]) * 1000
            for op_id, (seen, message) in answered.items()
            if isinstance(message, Ack)
        ]
        refusals = [
            f"{m.code}: {m.message}" for _s, m in answered.values() if isinstance(m, ErrorMessage)
        ]
        for link, _op_id, _at in speakers:
            link.answers.clear()
        return {
            "asked": len(speakers),
            "sent": len(sent),
            "latencies_ms": latencies,
            "refused": len(refusals),
            "refusals": refusals[:5],
            "unanswered": len(sent) - len(answered),
            "late": late,
            "lost": sum(f.lost(server) for f in self.followers),
        }

    async def do_watch(self, server: str, text: str) -> dict[str, Any]:
        """From now on, stamp the first ``meeting.state`` from ``server`` holding ``text``
        (a late document's sha256) on every tablet."""
        for f in self.followers:
            link = f.links.get(server)
            if link is not None:
                link.watch, link.watch_seen = text, math.nan
        return {}

    async def do_watched(self, server: str, seconds: float) -> dict[str, Any]:
        """Wait until every connected tablet holds the watched ``meeting.state``, or
        ``seconds``; when each got it (time.monotonic(), nan: never). Watching stops."""
        links = [f.links[server] for f in self.followers if server in f.links]
        until = time.monotonic() + seconds
        while any(math.isnan(k.watch_seen) and not k.lost for k in links):
            if time.monotonic() > until:
                break
            await asyncio.sleep(0.02)
        stamps = [k.watch_seen for k in links]
        for k in links:
            k.watch, k.watch_seen, k._pieces = "", math.nan, None
        return {"stamps": stamps}

    async def do_errors(self, server: str) -> dict[str, Any]:
        """Every error frame each tablet got from ``server`` so far, by code (decoded by
        the real codec), and the connections lost."""
        codes: dict[str, int] = {}
        samples: list[str] = []
        for f in self.followers:
            link = f.links.get(server)
            if link is None:
                continue
            for raw in link.errors:
                try:
                    message = decode(raw)
                except ProtocolError:
                    codes["bad_frame"] = codes.get("bad_frame", 0) + 1
                    continue
                code = message.code if isinstance(message, ErrorMessage) else "?"
                codes[code] = codes.get(code, 0) + 1
                if len(samples) < 5:
                    samples.append(f"{f.client_id}: {raw[:200]}")
        links = [f.links[server] for f in self.followers if server in f.links]
        return {
            "codes": codes,
            "samples": samples,
            "lost": sum(f.lost(server) for f in self.followers),
            "bad_frames": sum(k.bad for k in links),
            "connected": len(links),
        }

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
            await asyncio.sleep(0.02)  # a scan of every tablet: not too often, it shares the CPU

    async def do_collect(self, server: str) -> dict[str, Any]:
        """Per connected tablet, the (seq, page, seen by the code, arrived at the socket) of
        each follow.state since the last reset, decoded and checked by the real codec."""
        tablets: list[list[tuple[int, int, float, float]]] = []
        bad = 0
        for f in self.followers:
            if server not in f.links:
                continue
            got: list[tuple[int, int, float, float]] = []
            frames = f.frames.setdefault(server, [])
            taken = frames[:]
            frames.clear()  # in place: the link holds this very list
            for seen, arrived, raw in taken:
                try:
                    message = decode(raw)
                except ProtocolError:
                    bad += 1
                    continue
                if isinstance(message, FollowState):
                    got.append((message.seq, message.page, seen, arrived))
            tablets.append(got)
        links = [f.links[server] for f in self.followers if server in f.links]
        return {
            "tablets": tablets,
            "bad_frames": bad + sum(link.bad for link in links),
            "lost_connections": sum(f.lost(server) for f in self.followers),
            "pongs": sum(link.pongs for link in links),
        }

    async def do_downloads_open(self, server: str = "hemicycle", count: int = -1) -> dict[str, Any]:
        """Open a documents connection per tablet (to the room server ``server``), idle
        for now, as the tablet app keeps the one it fetched the meeting's documents on;
        ``count``: only the first that many tablets (-1: all), as ``do_fetch`` counts."""
        endpoint = self.endpoints[server]
        gate = asyncio.Semaphore(self.concurrency)
        failures: list[str] = []
        started = time.monotonic()

        async def open_one(follower: Follower) -> None:
            async with gate:
                try:
                    ws, _welcome = await open_channel(
                        endpoint, self._context(follower), Channel.DOCUMENTS, follower.client_id
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
            follower.documents, follower.documents_server = ws, server

        tablets = [f for f in self.followers if server in f.links]
        if count >= 0:
            tablets = tablets[:count]
        await asyncio.gather(*(open_one(f) for f in tablets if not f.documents))
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

    # --- fetching a meeting's documents (bench.distribution) -----------------------------

    async def do_fetch(
        self,
        source: str,
        documents: list[tuple[str, int, bool]],
        start_at: float,
        seconds: float,
        fresh: bool,
        drop_at: int = 0,
        count: int = -1,
    ) -> dict[str, Any]:
        """Every tablet fetches each of ``documents`` ((sha256, size, confidential)) it
        does not hold yet from ``source``, one after the other, from ``start_at``
        (monotonic) for at most ``seconds``: a room server (``"hemicycle"``, or the name
        the orchestrator gave it) on a documents connection as
        the tablet does (a confidential one only on a tablet where a member signed in),
        or ``"nginx"`` over HTTPS (``GET /d/<sha256>``, keep-alive). ``fresh``: forget
        what the tablets held from ``source`` first. ``drop_at``: each tablet cuts its
        connection once, after that many bytes of the phase (a Wi-Fi drop), and resumes.
        ``count``: only the first that many tablets fetch (-1: all)."""
        stats = FetchStats()
        tablets = [f for f in self.followers if source == "nginx" or source in f.links]
        if count >= 0:
            tablets = tablets[:count]
        for f in tablets:
            if fresh or source not in f.held:
                f.held[source] = set()
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        fetch = (
            self._fetch_https
            if source == "nginx"
            else functools.partial(self._fetch_documents, server=source)
        )
        gate = asyncio.Semaphore(self.concurrency)  # TLS handshakes at once, as do_grow
        jobs = [
            asyncio.create_task(fetch(f, documents, stats, gate, Cut(drop_at))) for f in tablets
        ]
        pending: set[asyncio.Task[None]] = set()
        if jobs:
            _done, pending = await asyncio.wait(
                jobs, timeout=max(0.0, start_at + seconds - time.monotonic())
            )
        for job in pending:
            job.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
        stats.unfinished = len(tablets) - len(stats.done)
        return {
            "bytes": stats.bytes,
            "fetched": stats.fetched,
            "skipped": stats.skipped,
            "resumed": stats.resumed,
            "errors": stats.errors,
            "error_samples": stats.error_samples,
            "done": stats.done,
            "tablets": len(tablets),
            "unfinished": stats.unfinished,
            "cipher": stats.cipher,
            "opened": stats.opened,
        }

    def _rcvbuf(self, sock: socket.socket | None) -> None:
        if self.documents_rcvbuf and sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.documents_rcvbuf)

    async def _fetch_documents(
        self,
        f: Follower,
        documents: list[tuple[str, int, bool]],
        stats: FetchStats,
        gate: asyncio.Semaphore,
        cut: Cut,
        server: str = "hemicycle",
    ) -> None:
        """One tablet, on the documents channel of ``server``: each document it lacks,
        verified."""
        held = f.held[server]
        # The documents connection the tablet holds (``do_downloads_open``) if any, kept
        # after the fetch as the tablet app keeps it; else one of its own, closed after.
        kept = f.documents is not None and f.documents_server == server
        ws: ClientConnection | None = f.documents if kept else None
        if ws is not None:
            stats.cipher = stats.cipher or _cipher(ws.transport)
        whole = False
        try:
            for sha256, size, confidential in documents:
                if sha256 in held:
                    stats.skipped += 1
                    continue
                if confidential and server not in f.tokens:
                    continue  # nobody signed in here: not this tablet's to read
                digest = hashlib.sha256()
                position = 0
                for attempt in range(1, FETCH_ATTEMPTS + 1):
                    if ws is None:
                        async with gate:
                            ws, _welcome = await open_channel(
                                self.endpoints[server],
                                self._context(f),
                                Channel.DOCUMENTS,
                                f.client_id,
                            )
                        stats.opened += 1
                        self._rcvbuf(ws.transport.get_extra_info("socket"))
                        stats.cipher = stats.cipher or _cipher(ws.transport)
                    if confidential:  # a member's own copy comes whole, from its start
                        digest, position = hashlib.sha256(), 0
                    receiver = Receiver(sha256, size, position, digest)
                    try:
                        await self._receive_document(ws, receiver, stats, cut)
                    except (ConnectionClosed, OSError) as exc:
                        ws = None
                        position = receiver.position
                        if attempt == FETCH_ATTEMPTS:
                            raise Refused(f"{sha256[:12]}: {exc}") from exc
                        stats.resumed += 1
                        continue
                    held.add(sha256)
                    stats.fetched += 1
                    break
            stats.done.append(time.monotonic())
            whole = True
        except (ConnectError, Refused, ProtocolError) as exc:
            stats.error(f"{f.client_id}: {type(exc).__name__}: {exc}")
        finally:
            if kept and whole:
                f.documents = ws  # None if it was lost: reopened on the next fetch
            else:
                if kept:
                    f.documents = None
                if ws is not None and ws.transport is not None:
                    ws.transport.abort()

    @staticmethod
    async def _receive_document(
        ws: ClientConnection, receiver: Receiver, stats: FetchStats, cut: Cut
    ) -> None:
        await ws.send(encode(FetchDocument(receiver.sha256, receiver.offset)))
        while True:
            raw = await ws.recv()
            if isinstance(raw, bytes):
                receiver.chunk(raw)
                stats.bytes += len(raw)
                if cut.due(len(raw)) and ws.transport is not None:
                    ws.transport.abort()
                continue
            message = decode(raw)
            if isinstance(message, DocumentBegin):
                receiver.begin(message)
            elif isinstance(message, DocumentEnd):
                receiver.end(message)
                return
            elif isinstance(message, ErrorMessage):
                raise Refused(f"{message.code}: {message.message}")

    async def _fetch_https(
        self,
        f: Follower,
        documents: list[tuple[str, int, bool]],
        stats: FetchStats,
        gate: asyncio.Semaphore,
        cut: Cut,
    ) -> None:
        """One tablet, from nginx: each document it lacks on one keep-alive connection,
        its sha256 checked; after a drop a new connection asks for the rest (Range)."""
        held = f.held["nginx"]
        endpoint = self.endpoints["nginx"]
        streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            for sha256, size, _confidential in documents:
                if sha256 in held:
                    stats.skipped += 1
                    continue
                body = Body(hashlib.sha256())
                for attempt in range(1, FETCH_ATTEMPTS + 1):
                    if streams is None:
                        async with gate, asyncio.timeout(OPEN_TIMEOUT):
                            streams = await asyncio.open_connection(
                                endpoint.address or endpoint.hostname,
                                endpoint.port,
                                ssl=self._context(f),
                                server_hostname=endpoint.hostname,
                                limit=READ_BYTES,
                            )
                        self._rcvbuf(streams[1].get_extra_info("socket"))
                        stats.cipher = stats.cipher or _cipher(streams[1].transport)
                    writer = streams[1]
                    ask = f"GET /d/{sha256} HTTP/1.1\r\nHost: {endpoint.hostname}\r\n"
                    if body.position:
                        ask += f"Range: bytes={body.position}-\r\n"
                    writer.write((ask + "\r\n").encode("ascii"))
                    try:
                        await self._receive_body(streams, sha256, body, stats, cut)
                    except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
                        writer.transport.abort()
                        streams = None
                        if attempt == FETCH_ATTEMPTS:
                            raise Refused(f"{sha256[:12]}: {exc}") from exc
                        stats.resumed += 1
                        continue
                    if body.position != size or body.digest.hexdigest() != sha256:
                        raise Refused(f"{sha256[:12]}: {body.position} of {size} bytes, or hash")
                    held.add(sha256)
                    stats.fetched += 1
                    break
            stats.done.append(time.monotonic())
        except (OSError, TimeoutError, Refused, ValueError) as exc:
            stats.error(f"{f.client_id}: {type(exc).__name__}: {exc}")
        finally:
            if streams is not None:
                streams[1].transport.abort()

    @staticmethod
    async def _receive_body(
        streams: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        sha256: str,
        body: Body,
        stats: FetchStats,
        cut: Cut,
    ) -> None:
        """Read one response (status 200 from 0, 206 from where ``body`` ends) into
        ``body``, counting each byte as it comes (a drop keeps what arrived)."""
        reader, writer = streams
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > HTTP_HEAD_BYTES:
            raise Refused(f"{sha256[:12]}: a response head of {len(head)} bytes")
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        wanted = "206" if body.position else "200"
        if len(status) < 2 or status[1] != wanted:
            raise Refused(f"{sha256[:12]}: nginx answered {lines[0]!r}")
        length = -1
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length < 0:
            raise Refused(f"{sha256[:12]}: no Content-Length")
        while length:
            data = await reader.read(min(READ_BYTES, length))
            if not data:
                raise ConnectionResetError(f"nginx closed after {body.position} bytes")
            body.digest.update(data)
            stats.bytes += len(data)
            body.position += len(data)
            length -= len(data)
            if cut.due(len(data)):
                writer.transport.abort()


def _cipher(transport: asyncio.BaseTransport) -> str:
    """The TLS version and cipher a connection speaks ("TLSv1.3 TLS_AES_256_GCM_SHA384")."""
    found = transport.get_extra_info("cipher")
    return f"{found[1]} {found[0]}" if found else "unknown"


def worker_main(pipe: Connection, config: dict[str, Any]) -> None:
    """Entry point of a load-generator process (multiprocessing, spawn)."""
    run_worker(Worker, pipe, config)
