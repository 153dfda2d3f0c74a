"""The room's TLS WebSocket server.

Every connection is mutual TLS: a device shows its client certificate from the room CA
(see :mod:`room_server.devices`), and who it is comes from that certificate. A
connection without one may only enroll. Every connection starts with ``hello`` naming
its channel. A *control* connection gets ``welcome``, the current ``meeting.state``, and
a new ``meeting.state`` whenever the meeting changes. A *documents* connection serves
``document.fetch`` requests as chunked binary frames; it is a separate TCP connection, so
document bytes never queue in front of control messages. An *enroll* connection turns a
pairing code into a device certificate. Bad input gets an ``error`` message and changes
nothing.

No one connection can take more than its share: requests are rate-limited per
connection, a tablet that stops reading is dropped once its send buffer passes a limit or
stays full too long, a stalled download gives its transfer slot up, and handshakes and
connections per address are bounded (docs/configuration.md, ``[limits]``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import http
import json
import logging
import os
import secrets
import time
import weakref
from collections import Counter, deque
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from cryptography.hazmat.primitives import serialization
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State

from room_protocol import PROTOCOL_VERSION
from room_protocol.codec import MAX_MESSAGE_BYTES, decode, encode
from room_protocol.enrollment import Enrolled, EnrollRequest, EnrollRoom
from room_protocol.errors import ErrorCode, ProtocolError
from room_protocol.live import Request as TabletRequest
from room_protocol.messages import (
    Channel,
    DocumentBegin,
    DocumentEnd,
    ErrorMessage,
    FetchDocument,
    Hello,
    Welcome,
)
from room_protocol.notices import NoticeKind, RoomNotice
from room_protocol.transfer import chunk_ranges
from room_protocol.wire import frame_safe_logger
from room_server import audit, devices, notices, read_buffers
from room_server.confidential import MemberCopies, MemberCopy, Reader
from room_server.config import ServerConfig, annotation_limits, failure_limits
from room_server.devices import Authority, Device, DeviceKind, EnrollmentError
from room_server.limits import RequestBucket
from room_server.meeting.context import Client
from room_server.meeting.dispatch import LiveSession, busy_frame
from room_server.record.outbox import Outbox
from room_server.rules.documents import may_read
from room_server.signing import ensure_signing_key
from room_server.store import Store, utc_now
from room_server.tls import RoomCertificates
from room_server.writer import Transaction, Writer

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 10.0  # seconds a client has to say hello after the TLS handshake
HANDSHAKE_TIMEOUT = 10.0  # seconds for the TLS handshake, and again for the WebSocket one
MANY_HANDSHAKES = 200  # TLS handshakes pending at once that are worth a warning
# A document's transfer holds its slot from chunk to chunk while the tablet takes what it
# is sent, so that no more than ``[documents] max_transfers`` move at once (taking a slot
# per chunk let all 2,000 downloads of bench.fanout move together, 1.5 GB in socket
# buffers and page changes 461 ms late at p99). Once the connection's send buffer is full
# (the transport paused writing) and has not drained within this many seconds, the slot
# goes to the next download and is taken again when the buffer drains: a tablet that
# stops reading holds no slot. A reading tablet drains a 256 KiB chunk in milliseconds.
SLOT_PATIENCE = 0.25
# Room in the chunk buffer in front of the bytes read from a file: a frame header of at
# most 10 bytes (RFC 6455 §5.2, unmasked, 64-bit length) and a ``document.begin`` (about
# 250 bytes); behind them, a ``document.end`` (about 120 bytes).
FRAME_HEAD = 10
FRAMES_BEFORE = 1024
FRAMES_AFTER = 512
# A larger message (the meeting state: ~240 kB with a 2,000-member roster) goes out as
# fragments of this size (RFC 6455 §5.4), each written to the connection only while
# its buffer is under websockets' write limit: TLS encrypts and buffers a connection's
# writes whole, and 2,000 connections each holding a whole meeting state (plain, in the
# TLS buffer and as ciphertext) kept the server at 1.5 GB (bench/signin_memory.py).
FRAGMENT_BYTES = 4 * 1024
# websockets' write limit (high-water mark) on control connections. Their TLS layer
# encrypts what it is given whether or not the socket takes it, into a buffer that keeps
# its largest size for the connection's life: this bounds it. At 2,000 tablets signed in
# (bench/signin_memory.py): 16 kB fragments under 32 kB 346 MB, 8 under 16 323 MB, 4
# under 8 310 MB.
CONTROL_WRITE_LIMIT = 8 * 1024
SERIALIZED_KEPT = 4  # large messages whose serialized fragments are kept for the next send
FREEZE_EVERY = 200  # new control connections between two gc.freeze() calls
CLOSE_PROTOCOL_ERROR = 4000  # application close codes, RFC 6455 §7.4.2
CLOSE_VERSION_MISMATCH = 4001
CLOSE_NOT_ENROLLED = 4003  # no certificate, or too many wrong pairing codes
ENROLL_TIMEOUT = 60.0  # seconds an enrolling device has to send its request
ENROLL_TRIES = 3  # wrong pairing codes on one connection before it is closed
# Wrong pairing codes within the window: from one address, and then that address may
# not enroll until the window has passed; in the whole room, and then every open code is
# void and the chair is told. A guesser of a 40-bit secret gets at most ~200 tries per
# 10 minutes (a chance of 2e-10 per code); one address cannot void everyone's codes.
ENROLL_FAILURES_PER_ADDRESS = 10
ENROLL_FAILURES_VOID = 200
ENROLL_WINDOW_S = 600.0
CLOSE_POLICY_VIOLATION = 1008  # RFC 6455 §7.4.1: a tablet that keeps flooding


def frame_head(length: int, opcode: int = 0x2) -> bytes:
    """The header of an unmasked, final frame of ``length`` bytes (RFC 6455 §5.2); binary
    unless ``opcode`` says otherwise (0x1: text)."""
    first = 0x80 | opcode
    if length < 126:
        return bytes((first, length))
    if length < 1 << 16:
        return bytes((first, 126)) + length.to_bytes(2, "big")
    return bytes((first, 127)) + length.to_bytes(8, "big")


def text_frame(message: str) -> bytes:
    """A text message as one unmasked, final frame (no extensions on this channel)."""
    data = message.encode()
    return frame_head(len(data), 0x1) + data


class ChunkFrames:
    """Documents' chunks as binary frames, each read from the file into one buffer behind
    room for its header and written from there: no bytes object a chunk, no copy into a
    frame. The room has one: a frame is handed to a transport before the next is read.
    The buffer is used again only once nothing holds a view of it (the TLS transport
    encrypts what it is given at once; should it ever keep a frame to write later, the
    next chunk gets a buffer of its own).

    A small message may ride in front of a chunk and behind it (``document.begin``,
    ``document.end``): one write, one TLS record set and one send for a small document
    instead of three."""

    def __init__(self, chunk_size: int) -> None:
        self.chunk_size = chunk_size
        self._buffer = self._new_buffer()
        self.buffers = 1  # buffers needed so far (1 unless a transport kept a frame)

    def _new_buffer(self) -> bytearray:
        buffer = bytearray(FRAMES_BEFORE + self.chunk_size + FRAMES_AFTER + 1)
        del buffer[-1]  # keeps the capacity: the resize in ``_held`` needs no new memory
        return buffer

    def _held(self) -> bool:
        """Whether something still holds a view of the buffer (a resize refuses then)."""
        try:
            self._buffer.append(0)
        except BufferError:
            return True
        del self._buffer[-1]
        return False

    def frame(
        self, fd: int, offset: int, length: int, before: bytes = b"", after: bytes = b""
    ) -> memoryview:
        """``before``, the frame of the ``length`` bytes at ``offset`` in the file ``fd``,
        then ``after`` (serialized frames of at most FRAMES_BEFORE - FRAME_HEAD and
        FRAMES_AFTER bytes); valid until the next call. OSError when the file is shorter
        than that."""
        if not 0 < length <= self.chunk_size:
            raise ValueError(f"a chunk of {length} bytes (chunk size {self.chunk_size})")
        if len(before) > FRAMES_BEFORE - FRAME_HEAD or len(after) > FRAMES_AFTER:
            raise ValueError(f"{len(before)} and {len(after)} bytes around a chunk: too many")
        if self._held():
            self._buffer = self._new_buffer()
            self.buffers += 1
        view = memoryview(self._buffer)
        # A local read of <= 4 MiB from the page cache takes microseconds: no thread hop.
        got = os.preadv(fd, [view[FRAMES_BEFORE : FRAMES_BEFORE + length]], offset)
        if got != length:
            raise OSError(f"read {got} of {length} bytes at {offset}: the file is shorter")
        head = frame_head(length)
        start = FRAMES_BEFORE - len(head)
        view[start:FRAMES_BEFORE] = head
        start -= len(before)
        view[start : start + len(before)] = before
        end = FRAMES_BEFORE + length
        view[end : end + len(after)] = after
        return view[start : end + len(after)]


def fragments(data: bytes, size: int = FRAGMENT_BYTES) -> tuple[bytes, ...]:
    """A text message's UTF-8 ``data`` as unmasked frames of at most ``size`` bytes of
    payload: a text frame, continuation frames, the last one final (RFC 6455 §5.4)."""
    pieces = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    last = len(pieces) - 1
    return tuple(
        Frame(Opcode.TEXT if i == 0 else Opcode.CONT, piece, fin=i == last).serialize(
            mask=False, extensions=[]
        )
        for i, piece in enumerate(pieces)
    )


class Link(ServerConnection):
    """A connection as the room watches it: where it comes from, and since when its send
    buffer has been over websockets' high-water mark (the transport paused writing)."""

    def __init__(self, links: Links, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.links = links
        self.address = ""
        self.full_since: float | None = None  # time.monotonic()
        self.dropped = False
        self.certificate: bytes | None = None  # the client certificate (DER), if it showed one
        self.device: Device | None = None  # the enrolled device, once admitted
        # Serialized frames the room sent that are not written to the transport yet: they
        # go when it takes more (``resume_writing``), in order, whole.
        self.queued: deque[bytes] = deque()
        self.queued_bytes = 0
        self._drained: asyncio.Future[None] | None = None  # set when writing resumes
        links.accepted(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # after the TLS handshake
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if peer else ""
        ssl_object = transport.get_extra_info("ssl_object")
        self.certificate = ssl_object.getpeercert(binary_form=True) if ssl_object else None
        self.links.opened(self)
        # Between two reads (the next loop turn), the TLS read buffer holds nothing.
        asyncio.get_running_loop().call_soon(read_buffers.release, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.full_since = None
        self.queued.clear()
        self.queued_bytes = 0
        self._wake_drained()
        self.links.closed(self)

    def pause_writing(self) -> None:
        super().pause_writing()
        self.full_since = time.monotonic()

    def resume_writing(self) -> None:
        super().resume_writing()
        self.full_since = None
        self._wake_drained()
        self.write_queued()

    def _wake_drained(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    async def drained(self, seconds: float | None = None) -> bool:
        """Wait until the transport takes writes again (its buffer under the low-water
        mark) or the connection is gone; False if ``seconds`` passed first. No task:
        one future a pause, shared by whoever waits."""
        if not self.paused or self.protocol.state is State.CLOSED:
            return True
        if self._drained is None or self._drained.done():
            self._drained = asyncio.get_running_loop().create_future()
        done, _ = await asyncio.wait({self._drained}, timeout=seconds)
        return bool(done)

    def write_frame(self, frame: memoryview) -> bool:
        """Write one serialized frame to the transport now, unless the connection is no
        longer open (False). websockets' own writes go to the same transport in order;
        a frame is written whole by one call, so none is cut into."""
        if self.protocol.state is not State.OPEN or self.transport.is_closing():
            return False
        if self.queued:
            # A large message's fragments are waiting: nothing may come between them
            # (RFC 6455 §5.4), so this frame goes after them, as a copy (the buffer is
            # the next chunk's).
            self.queued.append(bytes(frame))
            self.queued_bytes += len(frame)
            return True
        self.transport.write(frame)
        return True

    def send_frames(self, frames: tuple[bytes, ...]) -> None:
        """Send one message's serialized frames (the fragments of a large one) after
        whatever this connection has queued. Small messages are written at once as
        before, even when the transport is over its limit (``Links.over_buffer`` and the
        stall watchdog deal with a tablet that does not read); the fragments of a large
        one only while the transport is under it."""
        self.queued.extend(frames)
        self.queued_bytes += sum(len(f) for f in frames)
        self.write_queued(force=len(frames) == 1)

    def write_queued(self, *, force: bool = False) -> None:
        while self.queued and (not self.paused or (force and len(self.queued) == 1)):
            if self.protocol.state is not State.OPEN:
                self.queued.clear()
                self.queued_bytes = 0
                return
            frame = self.queued.popleft()
            self.queued_bytes -= len(frame)
            self.transport.write(frame)


class Links:
    """Every connection of the room from its TCP accept on: TLS handshakes pending,
    connections open per address, and the watchdog that drops stalled ones."""

    def __init__(self, send_buffer_bytes: int, stall_seconds: float, max_unenrolled: int) -> None:
        self.send_buffer_bytes = send_buffer_bytes
        self.stall_seconds = stall_seconds
        self.max_unenrolled = max_unenrolled
        self.open: set[Link] = set()
        self.unenrolled: set[Link] = set()  # open, without a client certificate
        self.per_address: Counter[str] = Counter()
        # A connection whose TLS handshake fails is never told so; it just goes away.
        self._handshaking: weakref.WeakSet[Link] = weakref.WeakSet()
        self._warned_at = -1e9
        self._watchdog: asyncio.Task[None] | None = None

    @property
    def handshakes_pending(self) -> int:
        return len(self._handshaking)

    def accepted(self, link: Link) -> None:
        self._handshaking.add(link)
        pending = len(self._handshaking)
        if pending >= MANY_HANDSHAKES and time.monotonic() - self._warned_at > 10:
            self._warned_at = time.monotonic()
            log.warning("%d TLS handshakes pending at once", pending)

    def opened(self, link: Link) -> None:
        self._handshaking.discard(link)
        if not link.certificate:
            # A device without a certificate may only enroll: a few at a time, counted
            # from the TLS handshake on, so idle ones cannot take the connections kept
            # for enrolled devices.
            if len(self.unenrolled) >= self.max_unenrolled:
                self.drop(link, f"{len(self.unenrolled)} unenrolled connections already open")
                return
            self.unenrolled.add(link)
        self.open.add(link)
        self.per_address[link.address] += 1

    def closed(self, link: Link) -> None:
        self.unenrolled.discard(link)
        if link in self.open:
            self.open.discard(link)
            self.per_address[link.address] -= 1
            if not self.per_address[link.address]:
                del self.per_address[link.address]

    def drop(self, link: Link, why: str) -> None:
        """Abort a connection that does not read what it is sent; it may reconnect."""
        if link.dropped:
            return
        link.dropped = True
        log.warning("dropping the connection from %s: %s", link.address, why)
        link.transport.abort()

    def over_buffer(self, link: Link) -> bool:
        """Drop ``link`` if more than the limit is queued for it; True if it was."""
        queued = link.transport.get_write_buffer_size() + link.queued_bytes
        if queued > self.send_buffer_bytes:
            self.drop(link, f"{queued} bytes queued unread (limit {self.send_buffer_bytes})")
            return True
        return False

    def start(self) -> None:
        self._watchdog = asyncio.create_task(self._watch(), name="stall-watchdog")

    async def stop(self) -> None:
        if self._watchdog:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog

    async def _watch(self) -> None:
        """Drop connections whose send buffer stayed full for ``stall_seconds``. Such a
        tablet reads nothing, and websockets' keepalive ping waits behind the same
        buffer, so its pong timeout would never start."""
        tick = min(1.0, self.stall_seconds / 4)
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic()
            for link in list(self.open):
                since = link.full_since
                if since is not None and now - since > self.stall_seconds:
                    self.drop(link, f"nothing read for {now - since:.0f} s")


class RoomServer:
    """Owns the listening socket, the connected tablets and the meeting broadcasts."""

    def __init__(
        self,
        config: ServerConfig,
        store: Store,
        certs: RoomCertificates,
        outbox: Outbox | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.tls = certs.server_context()
        self.authority = Authority(certs)
        self.control: set[ServerConnection] = set()
        self.document_connections: set[ServerConnection] = set()
        self._devices_revision: str | None = None
        self._enroll_failures: dict[str, list[float]] = {}  # by address: times
        self.links = Links(
            config.send_buffer_bytes, config.stall_seconds, config.max_unenrolled_connections
        )
        self._server: Server | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._data_version = -1
        self._revision = -1
        # The one connection that writes; ``store`` (the loop's) only reads.
        self.writer = Writer(
            Store(store.path, store.documents_dir),
            max_batch=config.max_batch,
            slice_ms=config.batch_slice_ms,
        )
        store.read_only()
        self.session = LiveSession(
            store,
            self.writer,
            self._send,
            limits=failure_limits(config),
            authority=self.authority,
            room_id=config.room_id,
            signing_key=ensure_signing_key(config.keys_dir),
            sign_every_seconds=config.sign_every_seconds,
            outbox=outbox,
            annotation_limits=annotation_limits(config),
        )
        self._transfers = asyncio.Semaphore(config.max_transfers)
        self.frames = ChunkFrames(config.chunk_size)  # the one buffer documents are read into
        self.writer.on_storage = self._storage_changed
        self.copies = MemberCopies(config.state_dir / "confidential")
        self.session.ctx.hooks.meeting_closed.append(self._forget_copies)
        self._frozen_at = 0  # control connections at the last gc.freeze()
        self._serialized: dict[str, tuple[bytes, ...]] = {}  # large messages' fragments
        self._background: set[asyncio.Future[None]] = set()

    @property
    def port(self) -> int:
        assert self._server is not None
        sockets = self._server.sockets
        return int(sockets[0].getsockname()[1])

    @property
    def connection_count(self) -> int:
        return len(self.control) + len(self.document_connections)

    async def start(self) -> None:
        self._data_version = self.store.data_version()
        self._devices_revision = self.store.meta(devices.KEY_DEVICES_REVISION)
        self.copies.remove_leftovers()
        self.writer.start()
        self.session.start()
        self.links.start()
        self._server = await serve(
            self._handle,
            self.config.host or None,  # None: one socket per address family
            self.config.port,
            ssl=self.tls,
            process_request=self._admit,
            create_connection=cast(type[ServerConnection], functools.partial(Link, self.links)),
            open_timeout=HANDSHAKE_TIMEOUT,
            ssl_handshake_timeout=HANDSHAKE_TIMEOUT,  # passed on to loop.create_server
            max_size=MAX_MESSAGE_BYTES,
            compression=None,  # PDFs are compressed already; JSON is small
            server_header=None,
            ping_interval=20,
            ping_timeout=20,
            close_timeout=3,  # a shutdown waits at most this long for a silent tablet
            logger=frame_safe_logger("websockets.server"),  # frames carry PINs and ballots
        )
        self._watcher = asyncio.create_task(self._watch_store(), name="store-watcher")
        log.info("listening on %s port %d", self.config.host, self.port)

    async def stop(self) -> None:
        await self.writer.drain()  # changes being written get their answer
        await self.session.heads.sign_now("shutdown")  # what was written is signed
        self.session.stop()
        if self._watcher:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        if self._server:
            self._server.close(close_connections=True)
            await self._server.wait_closed()
        await self.links.stop()
        await self.writer.stop()
        self.copies.stop()

    def _forget_copies(self, meeting_id: str) -> None:
        """A closed meeting's confidential copies leave the room server's disk."""
        task = asyncio.ensure_future(self.copies.forget_meeting(meeting_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- meeting state -----------------------------------------------------------------

    def _send(self, clients: Iterable[Client], frame: str) -> None:
        """Write one text message to every client's connection, without waiting.

        What websockets' ``broadcast()`` does, with the frames built once: a server's
        frames are unmasked and these connections have no extensions, so the frames are
        the same bytes for every tablet, and framing it 2,000 times over was a sixth of
        a page change's cost (bench/fanout.py). A large message is serialized once into
        fragments and kept for the next connection that needs it (every tablet gets the
        meeting state on connecting). Connections that are closing, or busy with a
        fragmented message of websockets' own, are skipped as ``broadcast()`` skips them.
        A tablet with more than ``limits.send_buffer_bytes`` queued is dropped: it reads
        nothing, and it gets the whole state again when it reconnects.
        """
        frames = self._frames(frame)
        for client in clients:
            link: Link = client.link
            if link.protocol.state is not State.OPEN or link.send_in_progress is not None:
                continue
            try:
                link.send_frames(frames)
            except (OSError, RuntimeError) as exc:  # one broken socket must not stop the rest
                log.warning("could not send to %s: %s", client.client_id, exc)
                continue
            self.links.over_buffer(link)

    def _frames(self, message: str) -> tuple[bytes, ...]:
        """``message`` serialized: one frame, or the fragments of a large message."""
        # No extensions: the server is started with compression=None (see start()).
        if len(message) <= FRAGMENT_BYTES:
            return (Frame(Opcode.TEXT, message.encode()).serialize(mask=False, extensions=[]),)
        kept = self._serialized.get(message)
        if kept is not None:
            return kept
        frames = fragments(message.encode())
        if len(self._serialized) >= SERIALIZED_KEPT:
            del self._serialized[next(iter(self._serialized))]  # the oldest
        self._serialized[message] = frames
        return frames

    async def _watch_store(self) -> None:
        """Pick up changes other processes commit (``room-server import``) and the
        notices they leave (``room-server notice``)."""
        while True:
            await asyncio.sleep(self.config.store_poll_seconds)
            try:
                self._send_notices()
                version = self.store.data_version()
                if version != self._data_version:
                    self._data_version = version
                    # The ballot writer commits too; only an import or a late document
                    # (which bump the revision) changes what the tablets are shown.
                    revision = self.store.revision()
                    if revision != self._revision:
                        self._revision = revision
                        self.session.publish_meeting()
                    # `room-server devices revoke` runs in another process.
                    devices_revision = self.store.meta(devices.KEY_DEVICES_REVISION)
                    if devices_revision != self._devices_revision:
                        self._devices_revision = devices_revision
                        self._close_revoked()
            except Exception:
                log.exception("reading the store failed; will try again")

    def _send_notices(self) -> None:
        for notice in notices.collect(self.config.state_dir):
            self._tell_the_room(notice)

    def _tell_the_room(self, notice: RoomNotice) -> None:
        """A notice to the chairs and clerks signed in and the room displays."""
        log.info("room notice %s: %s %s", notice.kind, notice.title, notice.detail)
        ctx = self.session.ctx
        targets = [c for c in ctx.clients if c.presiding or c.display]
        ctx.broadcast(targets, encode(notice), "room.notice")

    def _storage_changed(self, problem: str | None) -> None:
        """The disk began refusing changes (``problem``: why) or takes them again."""
        if problem is None:
            self._tell_the_room(RoomNotice(NoticeKind.STORAGE_RECOVERED, utc_now()))
        else:
            self._tell_the_room(RoomNotice(NoticeKind.STORAGE_FAILED, utc_now(), detail=problem))

    # --- connections -------------------------------------------------------------------

    def _admit(self, connection: ServerConnection, request: Request) -> Response | None:
        """After the TLS handshake, before the WebSocket one: who is it, and is there room?"""
        assert isinstance(connection, Link)
        try:
            connection.device = self._device_of(connection)
        except EnrollmentError as refused:
            log.warning("refusing %s: %s", connection.address, refused)
            return _http_error(http.HTTPStatus.FORBIDDEN, str(refused))
        refusal = self._no_room_for(connection.address)
        if refusal is not None:
            log.warning("refusing a connection from %s: %s", connection.address, refusal)
            return _http_error(
                http.HTTPStatus.SERVICE_UNAVAILABLE, "room server is at its connection limit"
            )
        return None

    def _no_room_for(self, address: str) -> str | None:
        """Why a new connection from ``address`` is refused, or None to admit it. Both
        counts include the new connection itself (it is open once its TLS handshake is
        done); the handshakes still pending are bounded by their timeout instead."""
        open_now = len(self.links.open)
        if open_now > self.config.max_connections:
            return f"{open_now - 1} connections already open"
        from_address = self.links.per_address[address]
        if from_address > self.config.max_connections_per_address:
            return f"{from_address - 1} connections from this address already open"
        return None

    def _device_of(self, connection: Link) -> Device | None:
        """The enrolled device whose certificate the connection showed (None: no
        certificate); EnrollmentError for a certificate of no device or a revoked one."""
        serial = devices.peer_serial(connection.certificate)
        if serial is None:
            return None
        device = devices.find(self.store, serial)
        if device is None:
            raise EnrollmentError("this certificate belongs to no device of this room")
        if device.revoked:
            raise EnrollmentError(f"device {device.device_id} was revoked")
        return device

    async def _handle(self, ws: ServerConnection) -> None:
        try:
            hello = await self._hello(ws)
        except (ConnectionClosed, TimeoutError):
            return
        if hello is None:
            return
        assert isinstance(ws, Link)
        device = ws.device
        if hello.channel is Channel.ENROLL:
            await self._serve_enroll(ws)
        elif device is None:
            pass  # _hello refused it
        elif hello.channel is Channel.CONTROL:
            await self._serve_control(ws, hello, device)
        else:
            await self._serve_documents(ws, device)

    async def _hello(self, ws: ServerConnection) -> Hello | None:
        try:
            raw = await asyncio.wait_for(ws.recv(), HELLO_TIMEOUT)
        except TimeoutError:
            error = ProtocolError(ErrorCode.BAD_STATE, f"no hello within {HELLO_TIMEOUT:.0f} s")
            await self._refuse(ws, error, CLOSE_PROTOCOL_ERROR)
            return None
        try:
            message = decode(raw)
        except ProtocolError as invalid:
            # A newer tablet's hello may carry fields this server does not know: tell it
            # the versions differ rather than that a field is unexpected.
            other = _claimed_version(raw)
            if other is not None and other != PROTOCOL_VERSION:
                await self._refuse(ws, _version_mismatch(other), CLOSE_VERSION_MISMATCH)
            else:
                await self._refuse(ws, invalid, CLOSE_PROTOCOL_ERROR)
            return None
        if not isinstance(message, Hello):
            error = ProtocolError(ErrorCode.BAD_STATE, f"expected hello, got {message.TYPE}")
            await self._refuse(ws, error, CLOSE_PROTOCOL_ERROR)
            return None
        if message.protocol_version != PROTOCOL_VERSION:
            await self._refuse(
                ws, _version_mismatch(message.protocol_version), CLOSE_VERSION_MISMATCH
            )
            return None
        assert isinstance(ws, Link)
        device = ws.device
        if device is None and message.channel is not Channel.ENROLL:
            error = ProtocolError(
                ErrorCode.NOT_ENROLLED,
                "this device is not enrolled in this room: enroll it with a pairing code "
                "from the chair console, the room display or `room-server enroll`",
            )
            await self._refuse(ws, error, CLOSE_NOT_ENROLLED)
            return None
        await ws.send(
            encode(
                Welcome(
                    protocol_version=PROTOCOL_VERSION,
                    room_id=self.config.room_id,
                    room_name=self.config.room_name,
                    server_time=datetime.now(UTC).isoformat(timespec="milliseconds"),
                    session_id=secrets.token_hex(8),
                    inactivity_lock_seconds=self.config.inactivity_lock_seconds,
                    device_id=device.device_id if device else None,
                    seat_id=device.seat_id if device else None,
                )
            )
        )
        return message

    async def _refuse(self, ws: ServerConnection, error: ProtocolError, code: int) -> None:
        log.info("refusing %s: %s", ws.remote_address, error)
        with contextlib.suppress(ConnectionClosed):
            await ws.send(encode(ErrorMessage(error.code.value, error.message)))
            await ws.close(code, error.code.value)

    async def _serve_control(self, ws: ServerConnection, hello: Hello, device: Device) -> None:
        # Who this is comes from the certificate; hello's client_id and seat_id are not used.
        client = Client(
            device.device_id,
            device.seat_id,
            link=ws,
            display=device.kind is DeviceKind.DISPLAY,
        )
        self.control.add(ws)
        ws.transport.set_write_buffer_limits(CONTROL_WRITE_LIMIT, CONTROL_WRITE_LIMIT // 4)
        self._freeze_long_lived()
        bucket = RequestBucket(self.config.requests_per_second, self.config.request_burst)
        try:
            self.session.connected(client, hello.resume_token)
            async for raw in ws:
                let_through = bucket.take()
                shed = self.session.shed(raw) if let_through else None
                if shed is not None:  # strokes over the room's budget: not even decoded
                    await self._answer(ws, busy_frame(shed))
                    continue
                try:
                    message = decode(raw)
                except ProtocolError as exc:
                    await self._error(ws, exc)
                    continue
                if not let_through:
                    if bucket.refused_in_a_row >= self.config.flood_close_after:
                        log.warning(
                            "closing the connection of %s: %d requests over the rate limit",
                            client.client_id,
                            bucket.refused_in_a_row,
                        )
                        await ws.close(CLOSE_POLICY_VIOLATION, ErrorCode.RATE_LIMITED.value)
                        break
                    ref = message.op_id if isinstance(message, TabletRequest) else None
                    await self._error(ws, _RATE_LIMITED, ref)
                    continue
                if isinstance(message, TabletRequest):
                    self.session.handle(client, message)
                else:
                    await self._error(
                        ws,
                        ProtocolError(
                            ErrorCode.BAD_STATE,
                            f"{message.TYPE} is not accepted on the control channel",
                        ),
                    )
        except ConnectionClosed:
            pass
        finally:
            self.control.discard(ws)
            self.session.disconnected(client)

    def _freeze_long_lived(self) -> None:
        """Connections live for the whole meeting: move what they hold out of the cyclic
        garbage collector's sight once in a while, so a full collection does not walk
        2,000 connections' objects (~170 ms, measured by bench/votes.py)."""
        if len(self.control) >= self._frozen_at + FREEZE_EVERY:
            # Garbage first: a frozen cycle is never freed (a closed connection in one
            # would keep its TLS buffers for good).
            gc.collect()
            gc.freeze()
            self._frozen_at = len(self.control)
        elif len(self.control) < self._frozen_at - FREEZE_EVERY:
            self._frozen_at = len(self.control)

    async def _error(
        self, ws: ServerConnection, error: ProtocolError, ref: str | None = None
    ) -> None:
        await self._answer(ws, encode(ErrorMessage(error.code.value, error.message, ref)))

    async def _answer(self, ws: ServerConnection, text: str) -> None:
        """Send ``text`` to one connection; behind the fragments of a large message still
        queued on it, never between two of them."""
        if isinstance(ws, Link) and ws.queued:
            ws.send_frames(self._frames(text))
            self.links.over_buffer(ws)
        else:
            await ws.send(text)

    # --- enrollment ----------------------------------------------------------------------

    async def _serve_enroll(self, ws: ServerConnection) -> None:
        """Send the room CA; take up to ENROLL_TRIES requests; answer with a certificate."""
        assert isinstance(ws, Link)
        if self._enroll_blocked(ws.address):
            await self._refuse(
                ws,
                ProtocolError(
                    ErrorCode.LOCKED,
                    "too many wrong pairing codes from this address; try again later",
                ),
                CLOSE_NOT_ENROLLED,
            )
            return
        await ws.send(encode(EnrollRoom(self.authority.ca_pem)))
        for _ in range(ENROLL_TRIES):
            try:
                message = decode(await asyncio.wait_for(ws.recv(), ENROLL_TIMEOUT))
            except ProtocolError as exc:
                await self._error(ws, exc)
                continue
            except (ConnectionClosed, TimeoutError):
                return
            if not isinstance(message, EnrollRequest):
                await self._error(
                    ws,
                    ProtocolError(
                        ErrorCode.BAD_STATE, f"{message.TYPE} is not accepted while enrolling"
                    ),
                )
                continue
            enrolled, answer = await self._enroll(message, ws.address)
            await ws.send(answer)
            if enrolled is not None:
                self.session.device_enrolled(enrolled.device_id, enrolled.kind, enrolled.seat_id)
                await ws.close()
                return
        await self._refuse(
            ws,
            ProtocolError(ErrorCode.LOCKED, "too many wrong pairing codes; ask for a new one"),
            CLOSE_NOT_ENROLLED,
        )

    def _enroll_blocked(self, address: str) -> bool:
        now = time.time()
        recent = [t for t in self._enroll_failures.get(address, []) if now - t < ENROLL_WINDOW_S]
        self._enroll_failures[address] = recent
        if not recent:
            del self._enroll_failures[address]
        return len(recent) >= ENROLL_FAILURES_PER_ADDRESS

    async def _enroll(self, request: EnrollRequest, address: str) -> tuple[Enrolled | None, str]:
        """The device enrolled (None if refused) and the answer to send."""
        now = time.time()

        def job(tx: Transaction) -> tuple[Enrolled | None, str]:
            try:
                device, cert = devices.enroll(
                    tx.store,
                    self.authority,
                    secret=request.secret,
                    csr_pem=request.csr,
                    name=request.name,
                    now_ts=now,
                )
            except EnrollmentError as refused:
                log.warning("refused an enrollment from %s: %s", address, refused)
                return None, encode(ErrorMessage(ErrorCode.NOT_FOUND.value, str(refused)))
            log.info("enrolled %s %s (%s)", device.kind.value, device.device_id, device.name)
            done = Enrolled(
                device.device_id,
                cert.public_bytes(serialization.Encoding.PEM).decode(),
                device.kind.value,
                device.seat_id,
                self.config.room_name,
            )
            return done, encode(done)

        enrolled, answer = await self.writer.submit(job)
        if enrolled is None:
            self._enroll_failures.setdefault(address, []).append(now)
            recent = sum(
                1
                for times in self._enroll_failures.values()
                for t in times
                if now - t < ENROLL_WINDOW_S
            )
            if recent >= ENROLL_FAILURES_VOID:
                self._enroll_failures.clear()
                voided: int = await self.writer.submit(
                    lambda tx: devices.void_pairing_codes(tx.store)
                )
                log.warning(
                    "%d wrong pairing codes within %.0f minutes: %d open codes are void",
                    recent,
                    ENROLL_WINDOW_S / 60,
                    voided,
                )
                self.session.pairing_codes_voided()
        return enrolled, answer

    def _close_revoked(self) -> None:
        """Close the connections of devices revoked or moved to another seat since."""
        for ws in list(self.links.open):
            device = ws.device
            if device is None:
                continue
            now = devices.find(self.store, int(device.serial, 16))
            if now is not None and not now.revoked and now.seat_id == device.seat_id:
                continue
            reason = "revoked" if now is None or now.revoked else "moved to another seat"
            log.warning("closing the connection of device %s: %s", device.device_id, reason)
            ws.device = None
            # The transport goes at once; close() would wait for a device that may not read.
            ws.transport.abort()

    # --- documents -----------------------------------------------------------------------

    async def _serve_documents(self, ws: ServerConnection, device: Device) -> None:
        self.document_connections.add(ws)
        try:
            async for raw in ws:
                try:
                    message = decode(raw)
                except ProtocolError as exc:
                    await self._error(ws, exc)
                    continue
                if not isinstance(message, FetchDocument):
                    await self._error(
                        ws,
                        ProtocolError(
                            ErrorCode.BAD_STATE,
                            f"{message.TYPE} is not accepted on the documents channel",
                        ),
                    )
                    continue
                await self._send_document(ws, device, message)
        except ConnectionClosed:
            pass
        finally:
            self.document_connections.discard(ws)

    async def _send_document(
        self, ws: ServerConnection, device: Device, fetch: FetchDocument
    ) -> None:
        stored = self.store.servable_document(fetch.sha256)
        if stored is None:
            await self._error(
                ws,
                ProtocolError(
                    ErrorCode.NOT_FOUND, f"document {fetch.sha256[:12]}… is not in this meeting"
                ),
                ref=fetch.sha256,
            )
            return
        path, size, delivered = stored.path, stored.size, None
        if stored.confidential:
            copy = await self._member_copy(ws, device, fetch)
            if copy is None:
                return
            path, size, delivered = copy.path, copy.size, copy.sha256
        if fetch.offset > size:
            await self._error(
                ws,
                ProtocolError(
                    ErrorCode.BAD_FIELD,
                    f"offset {fetch.offset} is past the end of the document ({size} bytes)",
                ),
                ref=fetch.sha256,
            )
            return
        chunk = self.frames.chunk_size
        begin = encode(DocumentBegin(stored.sha256, size, fetch.offset, chunk, delivered))
        end = encode(DocumentEnd(stored.sha256, size))
        assert isinstance(ws, Link)
        fd = os.open(path, os.O_RDONLY)
        try:
            written = await self._write_chunks(
                ws, fd, size, fetch.offset, text_frame(begin), text_frame(end)
            )
        finally:
            os.close(fd)
        if written is None:  # nothing to read: the tablet holds it all
            await ws.send(begin)
            await ws.send(end)
        elif not written:
            raise ConnectionClosed(None, None)  # the tablet went: nothing more to say

    async def _write_chunks(
        self, ws: Link, fd: int, size: int, offset: int, begin: bytes, end: bytes
    ) -> bool | None:
        """The file's bytes from ``offset`` as binary frames, ``begin`` written with the
        first and ``end`` with the last, holding a transfer slot while the tablet takes
        them (``SLOT_PATIENCE``). True once all is written, False if the connection closed
        first, None if there was nothing to write (offset = size)."""
        frames = self.frames
        slot = False  # holding one of the max_transfers slots
        ranges = chunk_ranges(size, offset, frames.chunk_size)
        try:
            for i, (start, stop) in enumerate(ranges):
                if not slot:
                    await self._transfers.acquire()
                    slot = True
                last = stop == size
                frame = frames.frame(
                    fd, start, stop - start, begin if i == 0 else b"", end if last else b""
                )
                if not ws.write_frame(frame):
                    return False
                del frame
                if last:
                    return True
                if ws.paused:  # the send buffer is full
                    if not await ws.drained(SLOT_PATIENCE):
                        # The tablet is not reading: wait for it without the slot.
                        self._transfers.release()
                        slot = False
                        await ws.drained()
                else:
                    # The socket took it at once: let control messages and other
                    # transfers run between chunks.
                    await asyncio.sleep(0)
            return None
        finally:
            if slot:
                self._transfers.release()

    async def _member_copy(
        self, ws: ServerConnection, device: Device, fetch: FetchDocument
    ) -> MemberCopy | None:
        """The signed-in member's own watermarked copy of a confidential document, or
        None after telling the device why it gets none. Who reads comes from the device's
        certificate and the member signed in on it, never from the request."""
        meeting = self.session.snapshot
        client = self.session.signed_in_on(device.device_id)
        docs = [d for d in meeting.documents if d.sha256 == fetch.sha256] if meeting else []
        refusal: ProtocolError | None = None
        if meeting is None or not docs:
            refusal = ProtocolError(ErrorCode.NOT_FOUND, "that document is not in this meeting")
        elif meeting.closed_at is not None:
            refusal = ProtocolError(
                ErrorCode.MEETING_CLOSED,
                "the meeting is closed: its confidential documents are no longer given out",
            )
        elif device.kind is DeviceKind.DISPLAY:
            if not self.session.follow.display_allowed():
                refusal = ProtocolError(
                    ErrorCode.FORBIDDEN,
                    f"document {fetch.sha256[:12]}… is confidential: the chair has not "
                    "allowed the room display to show confidential documents",
                )
        elif client is None:
            refusal = ProtocolError(
                ErrorCode.FORBIDDEN,
                f"document {fetch.sha256[:12]}… is confidential: "
                "sign in as a member of the meeting on this tablet to read it",
            )
        elif not all(may_read(d, client.role, client.delegate_id) for d in docs):
            refusal = ProtocolError(
                ErrorCode.FORBIDDEN,
                f"document {fetch.sha256[:12]}… is confidential and not for {client.name}: "
                "ask the clerk if you should read it",
            )
        if refusal is not None:
            await self._error(ws, refusal, ref=fetch.sha256)
            return None
        assert meeting is not None
        stored = self.store.servable_document(fetch.sha256)
        assert stored is not None
        if device.kind is DeviceKind.DISPLAY:  # allowed by the chair
            reader = Reader(meeting.meeting_id, f"display.{device.device_id}", "Room display", None)
        else:
            assert client is not None and client.delegate_id is not None
            member = meeting.member(client.delegate_id)
            reader = Reader(
                meeting.meeting_id,
                client.delegate_id,
                client.name,
                (member.seat_id if member else None) or client.seat_id,
            )
        try:
            copy = await self.copies.copy_for(reader, fetch.sha256, stored.path)
        except Exception:
            log.exception("could not make %s's copy of %s", reader.delegate_id, fetch.sha256)
            await self._error(
                ws,
                ProtocolError(
                    ErrorCode.INTERNAL,
                    "the room could not prepare your copy of this confidential document; "
                    "tell the IT staff",
                ),
                ref=fetch.sha256,
            )
            return None
        if copy.made_at is not None:
            await self.writer.submit(
                lambda tx: audit.append(
                    tx.conn,
                    at=utc_now(),
                    meeting_id=reader.meeting_id,
                    kind="document.copy",
                    actor=reader.delegate_id,
                    data={
                        "sha256": fetch.sha256,
                        "delivered_sha256": copy.sha256,
                        "made_at": copy.made_at,
                        "seat": reader.seat,
                        "device": device.device_id,
                    },
                )
            )
        return copy


_RATE_LIMITED = ProtocolError(
    ErrorCode.RATE_LIMITED, "too many requests from this tablet; the request was not carried out"
)


def _http_error(status: http.HTTPStatus, text: str) -> Response:
    return Response(
        status.value,
        status.phrase,
        Headers({"Retry-After": "5", "Content-Type": "text/plain"}),
        f"{text}\n".encode(),
    )


def _claimed_version(raw: str | bytes) -> int | None:
    """The protocol_version a hello claims, read leniently (only to name a mismatch)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(body, dict) or body.get("type") != "hello":
        return None
    version = body.get("protocol_version")
    return version if isinstance(version, int) and not isinstance(version, bool) else None


def _version_mismatch(other: int) -> ProtocolError:
    return ProtocolError(
        ErrorCode.VERSION_MISMATCH,
        f"this room server speaks protocol {PROTOCOL_VERSION}, the tablet speaks {other}: "
        "install matching software on both",
    )
