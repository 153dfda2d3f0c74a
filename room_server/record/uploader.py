"""Put one sealed record's files on the archive by HTTP PUT, checking every answer.

Blocking (``http.client``, streamed, one connection per file); the outbox runs it in a
worker thread. Every file but the manifest first, then ``manifest.json.minisig``, then
``manifest.json``: an archive holding no manifest holds no record. The archive is a URL
taking PUT (a bearer token, HTTP Basic or a client certificate; the folders above a file
made with MKCOL where the archive does not make them) or an S3-compatible store, reached
by a presigned URL per request (:mod:`room_server.record.s3`) that the room signs itself
or asks a presign service for.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import hashlib
import http.client
import json
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from room_server.config import KIND_PRESIGN, KIND_S3, ArchiveConfig
from room_server.record import s3

MANIFEST = "manifest.json"
SIGNATURE = "manifest.json.minisig"
BLOCK = 64 * 1024  # bytes read from disk and sent per write
_ACCEPTED = (200, 201, 204)
_MAX_ERROR_BODY = 4096  # bytes of an error answer read (and dropped) at most
_USER_AGENT = "hemicycle-room-server"
_MAX_PRESIGN_ANSWER = 16 * 1024  # bytes of a presign service's answer read at most
_MAX_URL = 8192  # characters of a presigned URL


@dataclass(frozen=True, slots=True)
class _Where:
    """One request: the server to connect to and what to send it."""

    https: bool
    host: str
    port: int | None
    target: str  # path and query
    headers: dict[str, str]


class UploadError(Exception):
    """The archive did not take a file; the message says what it answered (never the token)."""


class UploadCancelled(Exception):
    """The server is stopping."""


@dataclass(frozen=True, slots=True)
class RecordFile:
    path: str  # relative, "/"-separated, as on the archive
    size: int


def record_files(folder: Path) -> list[RecordFile]:
    """The files of a sealed record in upload order: the rest sorted, the signature, the
    manifest last."""
    found: list[RecordFile] = []
    for file in folder.rglob("*"):
        if file.is_file() and not file.is_symlink():
            found.append(RecordFile(file.relative_to(folder).as_posix(), file.stat().st_size))
    last = {SIGNATURE: 1, MANIFEST: 2}
    return sorted(found, key=lambda f: (last.get(f.path, 0), f.path))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


class _Body:
    """A file read in blocks for http.client: hashed as sent, paced, stoppable."""

    def __init__(
        self,
        path: Path,
        pace: _Pace,
        cancel: threading.Event,
        progress: Callable[[int], None],
        *,
        md5: bool = False,
    ) -> None:
        self._file = path.open("rb")
        self._pace = pace
        self._cancel = cancel
        self._progress = progress
        self.digest = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False) if md5 else None  # S3's ETag
        self.sent = 0

    def read(self, size: int = BLOCK) -> bytes:
        if self._cancel.is_set():
            raise UploadCancelled
        block = self._file.read(min(size, BLOCK) if size > 0 else BLOCK)
        if block:
            self._pace.wait(len(block), self._cancel)
            self.digest.update(block)
            if self.md5 is not None:
                self.md5.update(block)
            self.sent += len(block)
            self._progress(len(block))
        return block

    def close(self) -> None:
        self._file.close()


class _Pace:
    """Keeps the upload at ``rate`` bytes per second at most (0: no cap)."""

    def __init__(self, rate: int) -> None:
        self._rate = rate
        self._start = time.monotonic()
        self._bytes = 0

    def wait(self, size: int, cancel: threading.Event) -> None:
        if not self._rate:
            return
        self._bytes += size
        ahead = self._bytes / self._rate - (time.monotonic() - self._start)
        if ahead > 0 and cancel.wait(ahead):
            raise UploadCancelled


class Archive:
    """The archive at ``config.url``, where a record goes to ``<url>/<room_id>/<meeting_id>/``;
    or (kind "s3") the bucket at ``config.endpoint``, where it goes to the keys
    ``<key_prefix><meeting_id>/``; or (kind "presign") wherever the presign service at
    ``config.presign_url`` sends those keys. ``clock`` is the Unix time the room signs with."""

    def __init__(
        self,
        config: ArchiveConfig,
        cancel: threading.Event | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._cancel = cancel or threading.Event()
        self._clock = clock
        self._s3 = config.kind == KIND_S3
        self._presign = config.kind == KIND_PRESIGN
        url = urlsplit(
            config.endpoint if self._s3 else config.presign_url if self._presign else config.url
        )
        self._https = url.scheme == "https"
        self._host = url.hostname or ""
        if self._s3 and not config.path_style:
            self._host = f"{config.bucket}.{self._host}"
        self._port = url.port
        host = f"[{self._host}]" if ":" in self._host else self._host
        default = 443 if self._https else 80
        self._host_header = host if self._port in (None, default) else f"{host}:{self._port}"
        self._base = url.path.rstrip("/")
        self._pace = _Pace(config.max_bytes_per_second)
        self._credentials: s3.Credentials | None = None
        self._folders: set[str] = set()  # made (or found) with MKCOL by this archive object

    def target(self, meeting_id: str, path: str) -> str:
        """The request path of one file of a record (without a presigned query)."""
        if self._s3:
            key = f"{self._config.key_prefix}{meeting_id}/{path}"
            return s3.object_path(self._config.bucket, key, path_style=self._config.path_style)
        parts = [self._config.room_id, meeting_id, *path.split("/")]
        return self._base + "/" + "/".join(quote(part, safe="") for part in parts)

    def _request(self, method: str, meeting_id: str, path: str, size: int, sha256: str) -> _Where:
        """Where to send ``method`` on one file of a record (``size`` bytes, ``sha256``)."""
        if self._presign:
            key = f"{self._config.key_prefix}{meeting_id}/{path}"
            return self._presigned(method, key, size, sha256, path)
        target = self.target(meeting_id, path)
        if not self._s3:
            return _Where(self._https, self._host, self._port, target, self._headers())
        query = s3.presign(
            method,
            self._host_header,
            target,
            region=self._config.region,
            credentials=self._s3_credentials(),
            now=datetime.datetime.fromtimestamp(self._clock(), datetime.UTC),
        )
        # The Host header exactly as signed; no Authorization header (the query is it).
        headers = {"User-Agent": _USER_AGENT, "Host": self._host_header}
        return _Where(self._https, self._host, self._port, f"{target}?{query}", headers)

    def _presigned(self, method: str, key: str, size: int, sha256: str, path: str) -> _Where:
        """Ask the presign service for a URL allowing ``method`` on ``key``."""
        body = json.dumps({"method": method, "key": key, "size": size, "sha256": sha256})
        headers = self._headers() | {
            "Content-Type": "application/json",
            "Content-Length": str(len(body.encode())),
        }
        service = urlsplit(self._config.presign_url)
        target = (service.path or "/") + (f"?{service.query}" if service.query else "")
        conn = self._connection(_Where(self._https, self._host, self._port, target, {}))
        try:
            with _network(path):
                conn.request("POST", target, body=body.encode(), headers=headers)
                answer = conn.getresponse()
                text = answer.read(_MAX_PRESIGN_ANSWER + 1)
        finally:
            conn.close()
        asked = f"{path}: the presign service answered"
        if answer.status != 200:
            raise UploadError(f"{asked} {_status(answer)} to {method}{_said(text)}")
        try:
            url = json.loads(text)["url"] if len(text) <= _MAX_PRESIGN_ANSWER else None
        except (ValueError, TypeError, KeyError):
            url = None
        if not isinstance(url, str):
            raise UploadError(f'{asked} no {{"url": …}} to {method}')
        where = self._usable(url)
        if where is None:
            raise UploadError(
                f"{asked} a URL the room does not use to {method} (it must be https://, with"
                " a host and no user or password)"
            )
        return where

    def _usable(self, url: str) -> _Where | None:
        """A presigned URL as a request, if it is one the room may send a record to."""
        if len(url) > _MAX_URL or not url.isascii() or not url.isprintable() or " " in url:
            return None
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return None
        insecure = parts.scheme == "http" and self._config.allow_insecure_http
        if parts.scheme != "https" and not insecure:
            return None
        if not parts.hostname or parts.username is not None or parts.password is not None:
            return None
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = {"User-Agent": _USER_AGENT, "Host": parts.netloc}
        return _Where(parts.scheme == "https", parts.hostname, port, target, headers)

    def _s3_credentials(self) -> s3.Credentials:
        """Read once per attempt, so a new secret needs no restart; never in a message."""
        if self._credentials is None:
            file = self._config.secret_key_file
            try:
                secret = file.read_text(encoding="utf-8").strip() if file else ""
            except (OSError, UnicodeDecodeError) as exc:
                raise UploadError(f"cannot read the secret key file {file}: {exc}") from None
            if not secret or any(c in secret for c in "\r\n"):
                raise UploadError(f"the secret key file {file} holds no secret key")
            self._credentials = s3.Credentials(self._config.access_key_id, secret)
        return self._credentials

    def _refused(self, path: str, answer: http.client.HTTPResponse, verb: str, body: bytes) -> str:
        """Why the archive refused ``verb`` on ``path``: its status, and for S3 the error
        code and message it sent, with a hint."""
        reason = f"{path}: the archive answered {_status(answer)} to {verb}"
        if self._s3 or self._presign:
            # A presigned URL from a service carries the service's time, not the room's.
            detail = s3.explain(
                body, answer.getheader("Date"), self._clock(), hints=not self._presign
            )
            if detail:
                reason += f": {detail}"
        return reason

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": _USER_AGENT}
        if self._config.token_file is not None:
            token = _secret_line(self._config.token_file, "token")
            headers["Authorization"] = f"Bearer {token}"
        elif self._config.username and self._config.password_file is not None:
            password = _secret_line(self._config.password_file, "password")
            pair = f"{self._config.username}:{password}".encode()
            headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
        return headers

    def _connection(self, where: _Where) -> http.client.HTTPConnection:
        timeout = self._config.timeout_seconds
        if not where.https:
            return http.client.HTTPConnection(
                where.host, where.port, timeout=timeout, blocksize=BLOCK
            )
        context = ssl.create_default_context(
            cafile=str(self._config.ca_file) if self._config.ca_file else None
        )
        if self._config.client_certificate is not None:
            try:
                context.load_cert_chain(
                    self._config.client_certificate,
                    self._config.client_key,
                )
            except (OSError, ssl.SSLError) as exc:
                raise UploadError(f"cannot load the client certificate: {exc}") from None
        return http.client.HTTPSConnection(
            where.host, where.port, timeout=timeout, context=context, blocksize=BLOCK
        )

    def put(self, meeting_id: str, file: Path, path: str, progress: Callable[[int], None]) -> str:
        """Upload one file and check the archive stored it; its sha256 as sent."""
        size = file.stat().st_size
        expected = sha256_of(file) if self._presign else ""  # the service is told it
        s3_like = self._s3 or self._presign
        answer, text, body = self._send(meeting_id, file, path, size, expected, progress)
        if answer.status == 409 and not s3_like:
            # A WebDAV folder that does not make the folders above a file (Nextcloud, Apache
            # mod_dav): make them (MKCOL), then send the file again.
            self._make_folders(meeting_id, path)
            progress(-body.sent)  # those bytes were not kept: they go again
            answer, text, body = self._send(meeting_id, file, path, size, expected, progress)
        if answer.status not in ((200,) if s3_like else _ACCEPTED):
            raise UploadError(self._refused(path, answer, "PUT", text))
        if body.sent != size:
            raise UploadError(f"{path}: the file changed while it was sent")
        sent = body.digest.hexdigest()
        if expected and sent != expected:
            raise UploadError(f"{path}: the file changed while it was sent")
        if body.md5 is not None:
            self._check_etag(path, answer.getheader("ETag"), body.md5.hexdigest())
        self._check_size(meeting_id, path, size, sent)
        if self._config.read_back:
            self._check_content(meeting_id, path, size, sent)
        return sent

    def _send(
        self,
        meeting_id: str,
        file: Path,
        path: str,
        size: int,
        expected: str,
        progress: Callable[[int], None],
    ) -> tuple[http.client.HTTPResponse, bytes, _Body]:
        """One PUT of ``file``: the answer, the start of its body, and what was sent."""
        where = self._request("PUT", meeting_id, path, size, expected)
        headers = where.headers | {
            "Content-Length": str(size),
            "Content-Type": "application/octet-stream",
        }
        body = _Body(file, self._pace, self._cancel, progress, md5=self._s3 or self._presign)
        conn = self._connection(where)
        try:
            with _network(path):
                conn.request("PUT", where.target, body=body, headers=headers)
                answer = conn.getresponse()
                text = answer.read(_MAX_ERROR_BODY)
        finally:
            body.close()
            conn.close()
        return answer, text, body

    def _make_folders(self, meeting_id: str, path: str) -> None:
        """MKCOL each folder above ``path`` on the archive, from the top: made (201) or
        there already (405); any other answer is the upload's error."""
        target = self.target(meeting_id, path)
        below = len(self._base) + 1
        parts = target[below:].split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            folder = self._base + "/" + "/".join(parts[:depth]) + "/"
            if folder in self._folders:
                continue
            where = _Where(self._https, self._host, self._port, folder, self._headers())
            conn = self._connection(where)
            try:
                with _network(path):
                    conn.request("MKCOL", where.target, headers=where.headers)
                    answer = conn.getresponse()
                    text = answer.read(_MAX_ERROR_BODY)
            finally:
                conn.close()
            if answer.status not in (201, 405):
                raise UploadError(self._refused(path, answer, f"MKCOL {folder}", text))
            self._folders.add(folder)

    @staticmethod
    def _check_etag(path: str, etag: str | None, md5: str) -> None:
        """A single-part PUT's ETag is the MD5 of what the store keeps."""
        stored = (etag or "").strip().removeprefix("W/").strip('"').lower()
        if stored != md5:
            raise UploadError(
                f"{path}: the store's ETag {stored or '(none)'} is not the MD5 of the bytes"
                f" sent ({md5}): it keeps something else, or encrypts with its own keys"
            )

    def _check_size(self, meeting_id: str, path: str, size: int, sha256: str) -> None:
        where = self._request("HEAD", meeting_id, path, size, sha256)
        conn = self._connection(where)
        try:
            with _network(path):
                conn.request("HEAD", where.target, headers=where.headers)
                answer = conn.getresponse()
                answer.read()
        finally:
            conn.close()
        if answer.status != 200:
            raise UploadError(self._refused(path, answer, "HEAD", b""))
        stored = answer.getheader("Content-Length")
        if stored is None or not stored.isdigit() or int(stored) != size:
            raise UploadError(
                f"{path}: the archive holds {stored or 'an unknown number of'} bytes,"
                f" {size} were sent"
            )

    def _check_content(self, meeting_id: str, path: str, size: int, sha256: str) -> None:
        where = self._request("GET", meeting_id, path, size, sha256)
        conn = self._connection(where)
        digest = hashlib.sha256()
        read = 0
        try:
            with _network(path):
                conn.request("GET", where.target, headers=where.headers)
                answer = conn.getresponse()
                if answer.status != 200:
                    text = answer.read(_MAX_ERROR_BODY)
                    raise UploadError(self._refused(path, answer, "GET", text))
                for block in _blocks(answer, size + 1, self._cancel):
                    digest.update(block)
                    read += len(block)
        finally:
            conn.close()
        if read != size or digest.hexdigest() != sha256:
            raise UploadError(
                f"{path}: the archive's copy differs from the room's"
                f" ({read} bytes, sha256 {digest.hexdigest()[:16]}…;"
                f" sent {size} bytes, sha256 {sha256[:16]}…)"
            )


def _secret_line(path: Path, what: str) -> str:
    """The one line of a token or password file (read at every attempt: it may change)."""
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise UploadError(f"cannot read the {what} file {path}: {exc}") from None
    if not secret or any(c in secret for c in "\r\n"):
        raise UploadError(f"the {what} file {path} holds no {what}")
    return secret


def _blocks(
    answer: http.client.HTTPResponse, limit: int, cancel: threading.Event
) -> Iterator[bytes]:
    """The answer's body in blocks, ``limit`` bytes at most."""
    read = 0
    while read < limit:
        if cancel.is_set():
            raise UploadCancelled
        block = answer.read(min(BLOCK, limit - read))
        if not block:
            return
        read += len(block)
        yield block


def _said(text: bytes) -> str:
    """A presign service's ``{"error": …}``, for the reason."""
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, str) or not error.strip():
        return ""
    error = "".join(c if c.isprintable() else " " for c in error.strip())
    return f": {error[:200]}"


def _status(answer: http.client.HTTPResponse) -> str:
    return f"{answer.status} {answer.reason}".strip()


@contextlib.contextmanager
def _network(path: str) -> Iterator[None]:
    """Network failures as :class:`UploadError` naming the file."""
    try:
        yield
    except (UploadError, UploadCancelled):
        raise
    except TimeoutError:
        raise UploadError(f"{path}: the archive did not answer in time") from None
    except ConnectionRefusedError:
        raise UploadError(f"{path}: the archive refused the connection") from None
    except (ssl.SSLError, ssl.CertificateError) as exc:
        raise UploadError(f"{path}: TLS with the archive failed: {exc}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise UploadError(f"{path}: network error: {exc.__class__.__name__}: {exc}") from None
