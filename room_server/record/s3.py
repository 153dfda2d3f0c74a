"""S3-compatible stores: object paths, SigV4 presigned URLs, and what an error answer says.

Pure functions, no I/O. The uploader presigns every PUT, HEAD and GET (query-string
authentication, ``UNSIGNED-PAYLOAD``) and sends it as a plain request without an
``Authorization`` header; the store's ETag, Content-Length and a read-back check the bytes.
The presigner is checked against botocore's for the same inputs in the tests.
"""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import hmac
import html
import re
from dataclasses import dataclass, field
from urllib.parse import quote

PRESIGN_SECONDS = 900  # X-Amz-Expires of every presigned URL; one is made per request
ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"  # the body is checked by its ETag and read back instead
SKEW_ALLOWED = 15 * 60  # seconds of clock difference an S3 store accepts (AWS: 15 minutes)
_CODE_RE = re.compile(r"<Code>([A-Za-z0-9._-]{1,64})</Code>")
_MESSAGE_RE = re.compile(r"<Message>([^<]{0,1000})</Message>")
_MAX_MESSAGE = 200  # characters of the store's message kept in a reason
_CLOCK_CODES = {"RequestTimeTooSkewed", "RequestExpired", "ExpiredToken"}
_CLOCK_WORDS = ("expired", "not valid yet", "not yet valid", "skew")
_HINTS = {
    "SignatureDoesNotMatch": "check archive.access_key_id and the secret in"
    " archive.secret_key_file (and archive.region)",
    "InvalidAccessKeyId": "the store knows no key archive.access_key_id",
    "AccessDenied": "the key may not do this under archive.key_prefix, or the URL expired",
    "NoSuchBucket": "no bucket archive.bucket on the store: create it or fix the name",
    "AuthorizationHeaderMalformed": "archive.region does not match the store's region",
}


@dataclass(frozen=True, slots=True)
class Credentials:
    access_key_id: str
    secret_key: str = field(repr=False)


def object_path(bucket: str, key: str, *, path_style: bool) -> str:
    """The request path of ``key``: each segment URI-encoded once, as SigV4 signs it for S3."""
    encoded = "/".join(quote(segment, safe="") for segment in key.split("/"))
    return f"/{quote(bucket, safe='')}/{encoded}" if path_style else f"/{encoded}"


def presign(
    method: str,
    host: str,
    path: str,
    *,
    region: str,
    credentials: Credentials,
    now: datetime.datetime,
    expires: int = PRESIGN_SECONDS,
) -> str:
    """The query string that authorises ``method`` on ``host`` + ``path`` (already encoded,
    see :func:`object_path`) for ``expires`` seconds from ``now``; ``host`` exactly as the
    Host header will carry it (with the port unless it is the scheme's default)."""
    stamp = now.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    scope = f"{day}/{region}/s3/aws4_request"
    params = {
        "X-Amz-Algorithm": ALGORITHM,
        "X-Amz-Credential": f"{credentials.access_key_id}/{scope}",
        "X-Amz-Date": stamp,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "host",
    }
    query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()))
    canonical = "\n".join(
        [method, path, query, f"host:{host.lower()}", "", "host", UNSIGNED_PAYLOAD]
    )
    to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = f"AWS4{credentials.secret_key}".encode()
    for part in (day, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{query}&X-Amz-Signature={signature}"


def _encode(text: str) -> str:
    return quote(text, safe="-_.~")


def explain(body: bytes, date_header: str | None, now: float, *, hints: bool = True) -> str:
    """What a refusal says, for a person: the store's error code and message, and (with
    ``hints``: the room signed the request) what to fix and the clocks' difference when it
    matters; "" when there is nothing to add."""
    text = body.decode("utf-8", "replace")
    code_match = _CODE_RE.search(text)
    message_match = _MESSAGE_RE.search(text)
    code = code_match.group(1) if code_match else ""
    message = html.unescape(message_match.group(1)) if message_match else ""
    message = "".join(c if c.isprintable() else " " for c in message).strip()
    if len(message) > _MAX_MESSAGE:
        message = message[: _MAX_MESSAGE - 1] + "…"
    parts = [f"{code}: {message}" if code and message else code or message]
    if not hints:
        return parts[0]
    skew = _skew(date_header, now)
    about_clock = code in _CLOCK_CODES or (
        code == "AccessDenied" and any(w in message.lower() for w in _CLOCK_WORDS)
    )
    if about_clock or (skew is not None and abs(skew) > SKEW_ALLOWED):
        parts.append(_clock_reason(skew))
    elif code in _HINTS:
        parts.append(_HINTS[code])
    return " — ".join(p for p in parts if p)


def _skew(date_header: str | None, now: float) -> float | None:
    """Seconds the room's clock is ahead of the store's (negative: behind)."""
    if not date_header:
        return None
    try:
        theirs = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError):
        return None
    if theirs.tzinfo is None:
        return None
    return now - theirs.timestamp()


def _clock_reason(skew: float | None) -> str:
    lead = "the room's clock looks wrong"
    if skew is not None and abs(skew) >= 60:
        way = "ahead of" if skew > 0 else "behind"
        lead = f"the room's clock is {_duration(abs(skew))} {way} the store's"
    return (
        f"{lead}: every request is signed with the room's time and is valid"
        f" {PRESIGN_SECONDS} s; set the room server's clock (an air-gapped room has no"
        " time sync)"
    )


def _duration(seconds: float) -> str:
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 60:.0f} min"
