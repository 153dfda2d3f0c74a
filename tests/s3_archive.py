"""Test support: a real S3-compatible store on 127.0.0.1 over TLS, whose every request must
carry a valid SigV4 presigned URL.

The store is moto's S3 (``moto[s3]``, served by werkzeug in a thread of the tests). moto
checks SigV4 only in the ``Authorization`` header, and only for keys made through its IAM
(``INITIAL_NO_AUTH_ACTION_COUNT``); a presigned request makes it fail with a KeyError, so it
never checks a presigned URL. In front of it :class:`S3Store` therefore checks the query
signature the way S3 does, with botocore's own SigV4 query signer (``S3SigV4QueryAuth``) over
what arrived on the wire: the key id, the expiry against the store's clock, and the
signature. A refusal is S3's XML error (``<Code>``, ``<Message>``) with a ``Date`` header.

:class:`PresignService` is what an organisation that gives the room no store key runs: it
holds the key, checks the room's bearer token and answers ``{"url": …}`` presigned by
botocore (``generate_presigned_url``).
"""

from __future__ import annotations

import datetime
import json
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import botocore.session
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3.models import s3_backends
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tests.archive import _write_tls, free_port

ACCESS_KEY = "HEMICYCLEROOM01"
PRESIGN_TOKEN = "presign-token-2f9a71"  # the room's token at a test presign service
SECRET = "s3-secret-6d0f/Qx+room"  # a test store's secret access key
REGION = "eu-central-1"
SKEW = datetime.timedelta(minutes=15)  # a request signed further in the future is refused

_StartResponse = Callable[[str, list[tuple[str, str]]], Any]
_session: botocore.session.Session | None = None


def botocore_session() -> botocore.session.Session:
    """One session for the tests: it reads S3's service model once, not per client."""
    global _session
    if _session is None:
        _session = botocore.session.get_session()
    return _session


class S3Store:
    """moto's S3 behind a presigned-URL check at https://127.0.0.1:PORT (path-style)."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.port = port or free_port()
        self.ca_file = _write_tls(directory)
        self.secret_file = directory / "s3-secret"
        self.secret_file.write_text(SECRET + "\n", encoding="utf-8")
        self.secret_file.chmod(0o600)
        self.requests: list[tuple[str, str, int]] = []  # method, path, status: as answered
        self.wrong_etag = False  # answer PUTs with another ETag (as SSE-KMS buckets do)
        self._moto = DomainDispatcherApplication(create_backend_app)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def create_bucket(self, name: str) -> None:
        """Create ``name`` unless it is there (the store's state outlives a test)."""
        if name not in _backend().buckets:
            _backend().create_bucket(name, REGION)

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """What the store holds in ``bucket`` under ``prefix``: key (less the prefix) -> bytes."""
        keys = _backend().get_bucket(bucket).keys
        return {
            name.removeprefix(prefix): keys[name].value
            for name in list(keys.keys())
            if name.startswith(prefix)
        }

    def puts(self) -> list[str]:
        """The paths of the PUTs the store took, in the order it took them."""
        with self._lock:
            return [
                path for method, path, status in self.requests if method == "PUT" and status == 200
            ]

    def start(self) -> S3Store:
        self._server, self._thread = _serve(self._app, self.port, self.directory)
        return self

    def stop(self) -> None:
        _stop(self._server, self._thread)
        self._server = self._thread = None

    # -- the presigned-URL check ---------------------------------------------------------

    def _app(self, environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        raw = environ.get("REQUEST_URI") or environ.get("RAW_URI") or environ["PATH_INFO"]
        path, _, query = raw.partition("?")
        refusal = self._refusal(method, environ.get("HTTP_HOST", ""), path, query)
        status_line: list[str] = []

        def record(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            status_line.append(status)
            return start_response(status, headers, *rest)

        if refusal is not None:
            status, code, message = refusal
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
            ).encode()
            record(
                status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))]
            )
            answer: Iterable[bytes] = [body] if method != "HEAD" else []
        else:
            answer = self._moto(environ, self._etag_changer(method, record))
        with self._lock:
            self.requests.append((method, path, int(status_line[0].split()[0])))
        return answer

    def _etag_changer(self, method: str, start_response: _StartResponse) -> _StartResponse:
        if method != "PUT" or not self.wrong_etag:
            return start_response

        def changed(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            headers = [(k, '"' + "0" * 32 + '"' if k.lower() == "etag" else v) for k, v in headers]
            return start_response(status, headers, *rest)

        return changed

    def _refusal(
        self, method: str, host: str, path: str, query: str
    ) -> tuple[str, str, str] | None:
        pairs = parse_qsl(query, keep_blank_values=True)
        params = dict(pairs)
        if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" or "X-Amz-Signature" not in params:
            return "403 Forbidden", "AccessDenied", "Anonymous access is not allowed"
        credential = params.get("X-Amz-Credential", "").split("/")
        if len(credential) != 5 or credential[0] != ACCESS_KEY:
            return (
                "403 Forbidden",
                "InvalidAccessKeyId",
                "The AWS Access Key Id you provided does not exist in our records.",
            )
        stamp = params.get("X-Amz-Date", "")
        signed = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        now = datetime.datetime.now(datetime.UTC)
        if signed > now + SKEW:
            return "403 Forbidden", "AccessDenied", "Request is not valid yet"
        if now > signed + datetime.timedelta(seconds=int(params.get("X-Amz-Expires", "0"))):
            return "403 Forbidden", "AccessDenied", "Request has expired"
        unsigned = "&".join(
            part for part in query.split("&") if not part.startswith("X-Amz-Signature=")
        )
        auth = S3SigV4QueryAuth(
            Credentials(ACCESS_KEY, SECRET),
            "s3",
            credential[2],
            expires=int(params["X-Amz-Expires"]),
        )
        request = AWSRequest(
            method=method, url=f"https://{host}{path}?{unsigned}", headers={"Host": host}
        )
        request.context["timestamp"] = stamp
        expected = auth.signature(
            auth.string_to_sign(request, auth.canonical_request(request)), request
        )
        if expected != params["X-Amz-Signature"]:
            return (
                "403 Forbidden",
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you"
                " provided. Check your key and signing method.",
            )
        return None


class PresignService:
    """A presign service for ``bucket`` of ``store`` at https://127.0.0.1:PORT/presign (its
    TLS certificate is the store's: one ``ca_file`` for both)."""

    def __init__(self, store: S3Store, bucket: str) -> None:
        self.store = store
        self.bucket = bucket
        self.port = free_port()
        self.token_file = store.directory / "presign-token"
        self.token_file.write_text(PRESIGN_TOKEN + "\n", encoding="utf-8")
        self.asked: list[dict[str, Any]] = []  # every request it presigned
        self.answer: bytes | None = None  # answer this instead of a presigned URL
        self._client = botocore_session().create_client(
            "s3",
            region_name=REGION,
            endpoint_url=store.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/presign"

    def start(self) -> PresignService:
        self._server, self._thread = _serve(self._app, self.port, self.store.directory)
        return self

    def stop(self) -> None:
        _stop(self._server, self._thread)
        self._server = self._thread = None

    def _app(self, environ: dict[str, Any], start_response: _StartResponse) -> Iterable[bytes]:
        def answer(status: str, document: object) -> list[bytes]:
            body = document if isinstance(document, bytes) else json.dumps(document).encode()
            start_response(status, [("Content-Type", "application/json")])
            return [body]

        if environ.get("HTTP_AUTHORIZATION") != f"Bearer {PRESIGN_TOKEN}":
            return answer("401 Unauthorized", {"error": "unknown room token"})
        size = int(environ.get("CONTENT_LENGTH") or 0)
        asked = json.loads(environ["wsgi.input"].read(size))
        self.asked.append(asked)
        if self.answer is not None:
            return answer("200 OK", self.answer)
        operation = {"PUT": "put_object", "HEAD": "head_object", "GET": "get_object"}
        url = self._client.generate_presigned_url(
            operation[asked["method"]],
            Params={"Bucket": self.bucket, "Key": asked["key"]},
            ExpiresIn=900,
            HttpMethod=asked["method"],
        )
        return answer("200 OK", {"url": url})


def _serve(
    app: Callable[[dict[str, Any], _StartResponse], Iterable[bytes]], port: int, tls: Path
) -> tuple[BaseWSGIServer, threading.Thread]:
    """``app`` over TLS (``tls``/server.pem and server.key) at 127.0.0.1:``port``, in a thread."""
    server = make_server(
        "127.0.0.1",
        port,
        app,
        threaded=True,
        request_handler=_Quiet,
        ssl_context=(str(tls / "server.pem"), str(tls / "server.key")),
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def _stop(server: BaseWSGIServer | None, thread: threading.Thread | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()
    if thread is not None:
        thread.join()


class _Quiet(WSGIRequestHandler):
    """No request log: it would print every presigned URL."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def _backend() -> Any:
    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
