"""Document transfer rules, shared by the server (sender) and the tablet (receiver).

On the ``documents`` channel the client sends ``document.fetch {sha256, offset}``. The
server answers ``document.begin {sha256, size, offset, chunk_size}``, then binary frames
that carry bytes ``offset .. size`` in order (each at most ``chunk_size``), then
``document.end``. A dropped transfer resumes with a new fetch whose offset is the number
of bytes the client already holds; the client hashes the whole file at the end.

A confidential document comes as the reader's own watermarked copy: ``document.begin``
then names its ``delivered_sha256`` and its own ``size``, and the client checks those.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from room_protocol.errors import ErrorCode, ProtocolError
from room_protocol.messages import DocumentBegin, DocumentEnd

DEFAULT_CHUNK_SIZE = 256 * 1024  # large enough for throughput, small enough to interleave


def chunk_ranges(size: int, offset: int, chunk_size: int) -> Iterator[tuple[int, int]]:
    """Byte ranges ``[start, end)`` the sender sends for a fetch from ``offset``."""
    if not 0 <= offset <= size:
        raise ProtocolError(ErrorCode.BAD_FIELD, f"offset {offset} is outside 0..{size}")
    for start in range(offset, size, chunk_size):
        yield start, min(start + chunk_size, size)


@dataclass
class Receiver:
    """Checks a transfer as it arrives: order, sizes, and the final hash.

    ``prefix_hash`` is a sha256 object already fed with the bytes the client held
    before this fetch (``offset`` of them).
    """

    sha256: str
    expected_size: int
    offset: int
    prefix_hash: hashlib._Hash
    received: int = 0
    chunk_size: int = 0
    begun: bool = False
    finished: bool = False
    delivered_sha256: str | None = None  # set by a begin that announces a member's copy

    @property
    def position(self) -> int:
        return self.offset + self.received

    def begin(self, msg: DocumentBegin) -> None:
        if self.begun:
            raise ProtocolError(ErrorCode.BAD_STATE, "second document.begin in one transfer")
        if msg.sha256 != self.sha256 or msg.offset != self.offset:
            raise ProtocolError(
                ErrorCode.BAD_STATE,
                f"document.begin for {msg.sha256[:12]}@{msg.offset}, "
                f"asked for {self.sha256[:12]}@{self.offset}",
            )
        if msg.delivered_sha256 is not None:
            if self.offset:
                raise ProtocolError(
                    ErrorCode.BAD_STATE, "a member's own copy is fetched from its start"
                )
            self.delivered_sha256 = msg.delivered_sha256
            self.expected_size = msg.size
        elif msg.size != self.expected_size:
            raise ProtocolError(
                ErrorCode.BAD_STATE,
                f"server says size {msg.size}, meeting state said {self.expected_size}",
            )
        self.begun = True
        self.chunk_size = msg.chunk_size

    def chunk(self, data: bytes) -> None:
        if not self.begun or self.finished:
            raise ProtocolError(ErrorCode.BAD_STATE, "document bytes outside a transfer")
        if len(data) > self.chunk_size or self.position + len(data) > self.expected_size:
            raise ProtocolError(ErrorCode.BAD_STATE, "document chunk larger than announced")
        self.prefix_hash.update(data)
        self.received += len(data)

    def end(self, msg: DocumentEnd) -> None:
        if not self.begun or msg.sha256 != self.sha256:
            raise ProtocolError(ErrorCode.BAD_STATE, "document.end without matching begin")
        if self.position != self.expected_size:
            raise ProtocolError(
                ErrorCode.BAD_STATE,
                f"document.end after {self.position} of {self.expected_size} bytes",
            )
        digest = self.prefix_hash.hexdigest()
        if digest != (self.delivered_sha256 or self.sha256):
            raise ProtocolError(
                ErrorCode.BAD_STATE,
                f"document hash mismatch: got {digest[:12]}…, expected {self.sha256[:12]}…",
            )
        self.finished = True
