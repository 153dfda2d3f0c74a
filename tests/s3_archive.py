"""Test support: a real S3-compatible store on 127.0.0.1 over TLS, whose every request must
carry a valid SigV4 presigned URL.

The store is moto's S3 (``moto[s3]``, served by werkzeug in a thread of the tests). moto
checks SigV4 only in the ``Authorization`` header, and only for keys made through its IAM
(``INITIAL_NO_AUTH_ACTION_COUNT``); a presigned request makes it fail with a KeyError, so it
never checks a presigned URL. In front of it :class:`S3Store` therefore checks the query
signature the way S3 does, with botocore's own SigV4 query signer (``S3SigV4QueryAuth``) over
what arrived on the wire: the key id, the expiry against the store's clock, and the
signature. A refusal is S3's XML error (``<Code>``, ``<Message>``) with a ``Date`` header.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.s3.models import s3_backends
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from tests.archive import _write_tls, free_port

ACCESS_KEY = "HEMICYCLEROOM01"
SECRET = "s3-secret-6d0f/Qx+room"  # a test store's secret access key
REGION = "eu-central-1"
SKEW = datetime.timedelta(minutes=15)  # a request signed further in the future is refused

_StartResponse = Callable[[str, list[tuple[str, str]]], Any]


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
        certificate = (str(self.directory / "server.pem"), str(self.directory / "server.key"))
        self._server = make_server(
            "127.0.0.1",
            self.port,
            self._app,
            threaded=True,
            request_handler=_Quiet,
            ssl_context=certificate,
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
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


class _Quiet(WSGIRequestHandler):
    """No request log: it would print every presigned URL."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def _backend() -> Any:
    return s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
