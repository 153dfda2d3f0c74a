"""The tablet's offline document cache and the resumable document fetcher.

Documents are kept by sha256 (``<cache>/documents/ab/<sha256>.pdf``) so a cached
document opens without the server. A transfer in progress lives in
``<cache>/partial/<sha256>.part``; after a drop the next fetch asks for the rest from
where the file ends, and the whole file is hashed before it enters the cache.

A confidential document is the member's own copy: fetched whole into memory, checked
against the ``delivered_sha256`` the room announced, and kept only sealed with the
member's key in ``<cache>/confidential/`` (:mod:`room_client.confidential`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import ssl
import time
from collections.abc import Callable
from pathlib import Path

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from room_client.confidential import DEFAULT_EXPIRY_S, ConfidentialShelf
from room_client.connection import RoomEndpoint, open_channel
from room_client.enrollment import DeviceCredentials
from room_protocol.codec import decode, encode
from room_protocol.errors import ErrorCode, ProtocolError
from room_protocol.messages import (
    Channel,
    DocumentBegin,
    DocumentEnd,
    DocumentInfo,
    ErrorMessage,
    FetchDocument,
    MeetingSnapshot,
    MeetingState,
)
from room_protocol.private_files import create_private, make_private
from room_protocol.transfer import Receiver

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (bytes held, total bytes)
_HASH_BUFFER = 1024 * 1024


class TransferInterrupted(Exception):
    """The connection dropped mid-transfer; what arrived is kept for a resume."""


class DocumentUnavailable(Exception):
    """The room refused the document or sent bytes that do not match its hash."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code  # the room's error code when it refused ("forbidden", ...), else ""


class DocumentCache:
    def __init__(
        self,
        root: Path,
        *,
        confidential_expiry_s: float = DEFAULT_EXPIRY_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = root
        make_private(root)
        (root / "documents").mkdir(mode=0o700, exist_ok=True)
        (root / "partial").mkdir(mode=0o700, exist_ok=True)
        self.confidential = ConfidentialShelf(
            root / "confidential", expiry_seconds=confidential_expiry_s, clock=clock
        )

    def held(self, doc: DocumentInfo, member: str | None) -> Path | None:
        """The file that holds ``doc`` here: for a confidential one, ``member``'s sealed
        copy (None when nobody is signed in)."""
        if not doc.confidential:
            return self.get(doc.sha256)
        return self.confidential.get(member, doc.sha256) if member is not None else None

    def document_path(self, sha256: str) -> Path:
        return self.root / "documents" / sha256[:2] / f"{sha256}.pdf"

    def partial_path(self, sha256: str) -> Path:
        return self.root / "partial" / f"{sha256}.part"

    def get(self, sha256: str) -> Path | None:
        path = self.document_path(sha256)
        return path if path.exists() else None

    def partial_size(self, sha256: str) -> int:
        try:
            return self.partial_path(sha256).stat().st_size
        except FileNotFoundError:
            return 0

    def commit(self, sha256: str) -> Path:
        """Move a verified partial file into the cache (atomic rename, then fsync)."""
        target = self.document_path(sha256)
        target.parent.mkdir(mode=0o700, exist_ok=True)
        self.partial_path(sha256).replace(target)
        _fsync_dir(target.parent)
        return target

    def save_snapshot(self, snapshot: MeetingSnapshot | None) -> None:
        path = self.root / "meeting.json"
        tmp = path.with_suffix(".tmp")
        with os.fdopen(create_private(tmp), "w", encoding="utf-8") as out:
            out.write(encode(MeetingState(snapshot)))
        tmp.replace(path)

    def load_snapshot(self) -> MeetingSnapshot | None:
        """The last meeting seen, for offline use; None if none or unreadable."""
        try:
            message = decode((self.root / "meeting.json").read_bytes())
        except (OSError, ProtocolError):
            return None
        return message.meeting if isinstance(message, MeetingState) else None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class DocumentFetcher:
    """Fetches documents over one documents-channel connection, reopened as needed."""

    def __init__(
        self, endpoint: RoomEndpoint, credentials: DeviceCredentials, cache: DocumentCache
    ) -> None:
        self.endpoint = endpoint
        self.context: ssl.SSLContext = credentials.context()
        self.cache = cache
        self.client_id = credentials.device_id()
        self.last_offset: int | None = None  # where the most recent fetch started
        self._ws: ClientConnection | None = None
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def _discard_connection(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None and ws.transport is not None:
            ws.transport.abort()

    def drop(self) -> None:
        """Cut the connection as a Wi-Fi drop would."""
        if self._ws is not None and self._ws.transport is not None:
            self._ws.transport.abort()

    async def fetch(
        self,
        doc: DocumentInfo,
        progress: Progress | None = None,
        *,
        key: bytes | None = None,
        member: str | None = None,
    ) -> Path:
        """The cached file for ``doc``, fetching (or resuming) it first if needed; for a
        confidential document ``member``'s sealed copy, sealed with ``key``.

        Raises ConnectError when the room cannot be reached, TransferInterrupted when the
        connection drops mid-way (call again to resume) and DocumentUnavailable when the
        room refuses or the bytes do not match the hash.
        """
        if doc.confidential and (key is None or member is None):
            raise DocumentUnavailable(f"{doc.title}: confidential; sign in to read it")
        cached = self.cache.held(doc, member)
        if cached is not None:
            if progress:
                progress(doc.size, doc.size)
            return cached
        async with self._lock:
            if self._ws is None:
                self._ws, _welcome = await open_channel(
                    self.endpoint, self.context, Channel.DOCUMENTS, self.client_id
                )
            try:
                if key is not None and member is not None and doc.confidential:
                    return await self._transfer_sealed(self._ws, doc, key, member, progress)
                return await self._transfer(self._ws, doc, progress)
            except ProtocolError as exc:
                # The stream is out of step: never reuse this connection.
                await self._discard_connection()
                raise DocumentUnavailable(f"{doc.title}: {exc}") from exc
            except (ConnectionClosed, OSError) as exc:
                self._ws = None
                raise TransferInterrupted(
                    f"{doc.title}: connection lost after "
                    f"{self.cache.partial_size(doc.sha256)} of {doc.size} bytes"
                ) from exc

    async def _transfer(
        self, ws: ClientConnection, doc: DocumentInfo, progress: Progress | None
    ) -> Path:
        partial = self.cache.partial_path(doc.sha256)
        offset = self.cache.partial_size(doc.sha256)
        if offset > doc.size:
            partial.unlink()
            offset = 0
        digest = hashlib.sha256()
        if offset:
            with partial.open("rb") as held:
                while block := held.read(_HASH_BUFFER):
                    digest.update(block)
        receiver = Receiver(doc.sha256, doc.size, offset, digest)
        self.last_offset = offset
        await ws.send(encode(FetchDocument(doc.sha256, offset)))
        with os.fdopen(create_private(partial, append=True), "ab") as out:
            while True:
                raw = await ws.recv()
                if isinstance(raw, bytes):
                    receiver.chunk(raw)
                    out.write(raw)
                    if progress:
                        progress(receiver.position, doc.size)
                    continue
                message = decode(raw)
                if isinstance(message, DocumentBegin):
                    receiver.begin(message)
                elif isinstance(message, DocumentEnd):
                    out.flush()
                    os.fsync(out.fileno())
                    try:
                        receiver.end(message)
                    except ProtocolError as exc:
                        partial.unlink(missing_ok=True)
                        raise DocumentUnavailable(f"{doc.title}: {exc}") from exc
                    break
                elif isinstance(message, ErrorMessage):
                    if message.code == ErrorCode.BAD_FIELD.value:
                        partial.unlink(missing_ok=True)  # our offset was wrong: start over
                    raise DocumentUnavailable(f"{doc.title}: {message.message}", message.code)
        return self.cache.commit(doc.sha256)

    async def _transfer_sealed(
        self,
        ws: ClientConnection,
        doc: DocumentInfo,
        key: bytes,
        member: str,
        progress: Progress | None,
    ) -> Path:
        """The member's own copy, whole, in memory; sealed before it touches the disk."""
        receiver = Receiver(doc.sha256, doc.size, 0, hashlib.sha256())
        self.last_offset = 0
        await ws.send(encode(FetchDocument(doc.sha256, 0)))
        data = bytearray()
        while True:
            raw = await ws.recv()
            if isinstance(raw, bytes):
                receiver.chunk(raw)
                data += raw
                if progress:
                    progress(receiver.position, receiver.expected_size)
                continue
            message = decode(raw)
            if isinstance(message, DocumentBegin):
                if message.delivered_sha256 is None:
                    raise ProtocolError(
                        ErrorCode.BAD_STATE, "a confidential document came without a copy hash"
                    )
                receiver.begin(message)
            elif isinstance(message, DocumentEnd):
                receiver.end(message)
                break
            elif isinstance(message, ErrorMessage):
                raise DocumentUnavailable(f"{doc.title}: {message.message}")
        return await asyncio.to_thread(
            self.cache.confidential.put, member, doc.sha256, key, bytes(data)
        )


async def fetch_with_retry(
    fetcher: DocumentFetcher,
    doc: DocumentInfo,
    progress: Progress | None = None,
    *,
    attempts: int = 5,
    delay: float = 1.0,
    key: bytes | None = None,
    member: str | None = None,
) -> Path:
    """Fetch, resuming after drops, up to ``attempts`` times."""
    for attempt in range(1, attempts + 1):
        try:
            return await fetcher.fetch(doc, progress, key=key, member=member)
        except TransferInterrupted as exc:
            log.info("%s (attempt %d of %d)", exc, attempt, attempts)
            if attempt == attempts:
                raise
            await asyncio.sleep(delay * attempt)
    raise AssertionError("unreachable")


__all__ = [
    "DocumentCache",
    "DocumentFetcher",
    "DocumentUnavailable",
    "TransferInterrupted",
    "fetch_with_retry",
]
