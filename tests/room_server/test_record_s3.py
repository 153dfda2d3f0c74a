"""The outbox against an S3-compatible store by presigned URL: moto's S3 over TLS on
127.0.0.1, each request's SigV4 query signature checked with botocore (tests/s3_archive.py);
the URLs made by the room (kind "s3") or by a presign service (kind "presign"). The
presigner itself is compared with botocore's for the same inputs."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.config import Config

from room_server.config import ArchiveConfig, ConfigError, load_config
from room_server.record import s3
from room_server.record.outbox import Outbox, State
from room_server.record.uploader import Archive, UploadError
from tests.room_server.in_process import Clock
from tests.room_server.test_record_outbox import later, running, until, write_record
from tests.rooms import room_cli, start_room, timeout
from tests.s3_archive import (
    ACCESS_KEY,
    PRESIGN_TOKEN,
    REGION,
    SECRET,
    PresignService,
    S3Store,
    botocore_session,
)

ROOM = "room-s3"
PREFIX = "rooms/council-1/"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Store]:
    server = S3Store(tmp_path_factory.mktemp("s3")).start()
    try:
        yield server
    finally:
        server.stop()


def s3_config(store: S3Store, bucket: str, **kw: object) -> ArchiveConfig:
    values: dict[str, object] = {
        "room_id": ROOM,
        "kind": "s3",
        "endpoint": store.endpoint,
        "bucket": bucket,
        "region": REGION,
        "key_prefix": PREFIX,
        "access_key_id": ACCESS_KEY,
        "secret_key_file": store.secret_file,
        "ca_file": store.ca_file,
        "timeout_seconds": 10.0,
        "retry_min_seconds": 5.0,
        "retry_max_seconds": 60.0,
    }
    values.update(kw)
    return ArchiveConfig(**values)  # type: ignore[arg-type]


def wrong_secret(tmp_path: Path) -> Path:
    file = tmp_path / "wrong-secret"
    file.write_text("not-the-secret-4b1d\n", encoding="utf-8")
    file.chmod(0o600)
    return file


# -- the presigner ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("style", "endpoint", "key"),
    [
        ("path", "https://127.0.0.1:9000", "rooms/council-1/m-1/documents/Sứ mệnh+&=%.pdf"),
        ("path", "https://minio.example.org", "council-1/manifest.json"),
        ("virtual", "https://s3.example.org", "a b/~c_d-e.f/manifest.json.minisig"),
        ("path", "http://127.0.0.1:8333", "x/annotations/d1 (2).json"),
    ],
)
@pytest.mark.parametrize(("method", "operation"), [("PUT", "put_object"), ("HEAD", "head_object")])
def test_presigned_urls_are_botocores_byte_for_byte(
    style: str, endpoint: str, key: str, method: str, operation: str
) -> None:
    bucket = "council-records"
    client = botocore_session().create_client(
        "s3",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET,
        config=Config(signature_version="s3v4", s3={"addressing_style": style}),
    )
    theirs = urlsplit(
        client.generate_presigned_url(
            operation, Params={"Bucket": bucket, "Key": key}, ExpiresIn=900, HttpMethod=method
        )
    )
    stamp = parse_qs(theirs.query)["X-Amz-Date"][0]
    now = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
    path = s3.object_path(bucket, key, path_style=style == "path")
    ours = s3.presign(
        method,
        theirs.netloc,
        path,
        region=REGION,
        credentials=s3.Credentials(ACCESS_KEY, SECRET),
        now=now,
    )
    assert (path, ours) == (theirs.path, theirs.query)
    assert "X-Amz-Expires=900" in ours and SECRET not in ours


def test_the_archive_signs_for_the_host_it_connects_to(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text(SECRET)
    virtual = ArchiveConfig(
        room_id=ROOM,
        kind="s3",
        endpoint="https://s3.example.org",
        bucket="council-records",
        key_prefix="",
        path_style=False,
        access_key_id=ACCESS_KEY,
        secret_key_file=secret,
    )
    archive = Archive(virtual, clock=lambda: 1_800_000_000.0)
    where = archive._request("PUT", "m-1", "minutes/Biên bản.pdf", 9, "")
    assert (where.host, where.port, where.https) == ("council-records.s3.example.org", None, True)
    assert where.headers["Host"] == "council-records.s3.example.org"
    assert "Authorization" not in where.headers
    assert where.target.startswith("/m-1/minutes/Bi%C3%AAn%20b%E1%BA%A3n.pdf?X-Amz-Algorithm=")
    assert "X-Amz-Date=20270115T080000Z" in where.target


_NOW = 1_800_000_000.0
_STORE_DATE = "Fri, 15 Jan 2027 06:00:00 GMT"  # two hours before _NOW


def _error(code: str, message: str) -> bytes:
    return f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()


@pytest.mark.parametrize(
    ("body", "date", "said"),
    [
        (
            _error("RequestTimeTooSkewed", "The difference is too large."),
            _STORE_DATE,
            "RequestTimeTooSkewed: The difference is too large. — the room's clock is 2 h"
            " ahead of the store's: every request is signed with the room's time and is"
            " valid 900 s; set the room server's clock (an air-gapped room has no time sync)",
        ),
        (b"", _STORE_DATE, "the room's clock is 2 h ahead of the store's"),  # a HEAD: no body
        (
            _error("AccessDenied", "Access Denied"),
            None,
            "AccessDenied: Access Denied — the key may not do this under archive.key_prefix",
        ),
        (_error("NoSuchKey", "The key &quot;x&quot; does not exist"), None, 'key "x" does'),
        (_error("InternalError", "a\x07b\nc"), None, "InternalError: a b c"),
        (_error("SlowDown", "x" * 500), None, "SlowDown: " + "x" * 199 + "…"),
        (b"<html><body>502 Bad Gateway</body></html>", None, ""),
        (b"\xff\xfe<Code>", "not a date", ""),
    ],
)
def test_what_a_refusal_says(body: bytes, date: str | None, said: str) -> None:
    reason = s3.explain(body, date, _NOW)
    assert said in reason if said else reason == "", reason
    plain = s3.explain(body, date, _NOW, hints=False)  # a presign service's URL: no hints
    assert reason.startswith(plain) and "clock" not in plain and "archive." not in plain


# -- uploads against the store ----------------------------------------------------------


async def test_a_sealed_record_uploads_whole_manifest_last(tmp_path: Path, store: S3Store) -> None:
    store.create_bucket("whole")
    state = tmp_path / "state"
    files = write_record(state, "council-1")
    clock = Clock()
    outbox = Outbox(state, s3_config(store, "whole"), clock)
    before = len(store.requests)
    async with running(outbox):
        done = await until(outbox, "council-1", lambda s: s.state is State.UPLOADED)
    assert done.attempts == 1 and done.last_error is None
    assert (done.files_done, done.bytes_done) == (len(files), sum(map(len, files.values())))
    assert store.objects("whole", PREFIX) == {f"council-1/{p}": b for p, b in files.items()}
    # The store took the signature and then the manifest last, each file once.
    puts = [p for m, p, status in store.requests[before:] if m == "PUT" and status == 200]
    assert len(puts) == len(files)
    assert puts[-2:] == [
        f"/whole/{PREFIX}council-1/manifest.json.minisig",
        f"/whole/{PREFIX}council-1/manifest.json",
    ]
    # Every file was PUT, then its size asked (HEAD) and read back (GET), all presigned.
    methods = [m for m, _, _ in store.requests[before:]]
    assert methods == ["PUT", "HEAD", "GET"] * len(files)
    assert (state / "records" / "council-1" / "manifest.json").exists()  # keep_days 0


async def test_a_wrong_secret_is_signature_does_not_match_and_nothing_is_uploaded(
    tmp_path: Path, store: S3Store
) -> None:
    store.create_bucket("wrong-secret")
    state = tmp_path / "state"
    write_record(state, "council-2")
    outbox = Outbox(
        state, s3_config(store, "wrong-secret", secret_key_file=wrong_secret(tmp_path)), Clock()
    )
    async with running(outbox):
        failed = await until(outbox, "council-2", lambda s: s.state is State.FAILED_RETRYING)
    error = failed.last_error or ""
    assert "403" in error and "SignatureDoesNotMatch: The request signature" in error, error
    assert "archive.secret_key_file" in error
    assert "not-the-secret" not in error and SECRET not in error and "X-Amz-" not in error
    assert failed.files_done == 0 and failed.confirmed_at is None
    assert store.objects("wrong-secret") == {}
    assert (state / "records" / "council-2" / "manifest.json").exists()


async def test_a_missing_bucket_is_named_and_retried(tmp_path: Path, store: S3Store) -> None:
    state = tmp_path / "state"
    write_record(state, "council-3")
    clock = Clock()
    outbox = Outbox(state, s3_config(store, "no-such-bucket"), clock)
    async with running(outbox):
        failed = await until(outbox, "council-3", lambda s: s.state is State.FAILED_RETRYING)
        assert "NoSuchBucket" in (failed.last_error or ""), failed.last_error
        assert "archive.bucket" in (failed.last_error or "")
        store.create_bucket("no-such-bucket")  # the IT staff create it
        later(outbox, clock, failed)
        done = await until(outbox, "council-3", lambda s: s.state is State.UPLOADED)
    assert done.attempts == 2
    assert set(store.objects("no-such-bucket", PREFIX)) >= {"council-3/manifest.json"}


async def test_the_store_down_then_back_completes(tmp_path: Path) -> None:
    state = tmp_path / "state"
    files = write_record(state, "council-4")
    down = S3Store(tmp_path / "s3")  # not started: refused
    clock = Clock()
    outbox = Outbox(state, s3_config(down, "outage"), clock)
    async with running(outbox):
        failed = await until(outbox, "council-4", lambda s: s.state is State.FAILED_RETRYING)
        assert "refused" in (failed.last_error or "")
        down.create_bucket("outage")
        down.start()
        try:
            later(outbox, clock, failed)
            done = await until(outbox, "council-4", lambda s: s.state is State.UPLOADED)
        finally:
            down.stop()
    assert done.attempts == 2
    assert down.objects("outage", PREFIX) == {f"council-4/{p}": b for p, b in files.items()}


async def test_a_store_keeping_other_bytes_than_sent_is_not_taken(
    tmp_path: Path, store: S3Store
) -> None:
    """An ETag that is not the MD5 of the bytes sent (an SSE-KMS bucket, or a broken store)."""
    store.create_bucket("etag")
    state = tmp_path / "state"
    write_record(state, "council-5")
    outbox = Outbox(state, s3_config(store, "etag"), Clock())
    store.wrong_etag = True
    try:
        async with running(outbox):
            failed = await until(outbox, "council-5", lambda s: s.state is State.FAILED_RETRYING)
    finally:
        store.wrong_etag = False
    assert "ETag" in (failed.last_error or "") and "MD5" in (failed.last_error or "")
    assert failed.files_done == 0
    assert "council-5/manifest.json" not in store.objects("etag", PREFIX)


@pytest.mark.parametrize(("hours", "said"), [(+1, "not valid yet"), (-1, "expired")])
def test_a_room_clock_off_by_an_hour_is_named_as_the_clock(
    tmp_path: Path, store: S3Store, hours: int, said: str
) -> None:
    bucket = f"clock{hours:+d}".replace("+", "p").replace("-", "m")
    store.create_bucket(bucket)
    file = tmp_path / "minutes.pdf"
    file.write_bytes(b"%PDF-1.7\n")
    archive = Archive(s3_config(store, bucket), clock=lambda: time.time() + hours * 3600)
    with pytest.raises(UploadError) as refused:
        archive.put("council-6", file, "minutes.pdf", lambda n: None)
    reason = str(refused.value)
    assert f"AccessDenied: Request {'is ' if hours > 0 else 'has '}{said}" in reason, reason
    way = "ahead of" if hours > 0 else "behind"
    assert f"the room's clock is 60 min {way} the store's" in reason
    assert "set the room server's clock" in reason
    assert store.objects(bucket) == {}


async def test_the_retry_reason_is_in_record_status(tmp_path: Path, store: S3Store) -> None:
    """``room-server record status`` shows what the store said, as the chair console does."""
    store.create_bucket("status")
    room = tmp_path / "room"
    state = room / "state"
    write_record(state, "council-7")
    secret = wrong_secret(room)
    config = room / "room-server.toml"
    config.write_text(
        f'[room]\nid = "{ROOM}"\n[storage]\nstate_dir = "state"\n[archive]\nkind = "s3"\n'
        f'endpoint = "{store.endpoint}"\nbucket = "status"\nregion = "{REGION}"\n'
        f'access_key_id = "{ACCESS_KEY}"\nsecret_key_file = "wrong-secret"\n'
        f'ca_file = "{store.ca_file}"\n',
        encoding="utf-8",
    )
    archive = load_config(config).archive
    assert archive.secret_key_file == secret and archive.key_prefix == f"{ROOM}/"

    outbox = Outbox(state, archive, Clock())
    async with running(outbox):
        await until(outbox, "council-7", lambda s: s.state is State.FAILED_RETRYING)
    listed = room_cli(config, "record", "status")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("council-7"))
    assert "failed-retrying" in row and "SignatureDoesNotMatch" in row, row
    assert "not-the-secret" not in listed.stdout + listed.stderr


def test_a_running_room_server_uploads_to_the_store(tmp_path: Path, store: S3Store) -> None:
    """``room-server run`` (verbose) with an ``[archive] kind = "s3"`` table: the sealed
    record reaches the bucket whole, and its log shows neither the secret nor a URL."""
    store.create_bucket("served")
    room_dir = tmp_path / "room"
    files = write_record(room_dir / "state", "council-8")
    table = (
        f'[archive]\nkind = "s3"\nendpoint = "{store.endpoint}"\nbucket = "served"\n'
        f'region = "{REGION}"\nkey_prefix = "{PREFIX}"\naccess_key_id = "{ACCESS_KEY}"\n'
        f'secret_key_file = "{store.secret_file}"\nca_file = "{store.ca_file}"\n'
    )
    room = start_room(room_dir, room_id=ROOM, mdns=False, extra=table, server_args=["-v"])
    state_file = room_dir / "state" / "outbox" / "council-8.json"
    try:
        deadline = time.monotonic() + timeout(30)
        while not state_file.exists() or json.loads(state_file.read_text())["state"] != "uploaded":
            assert time.monotonic() < deadline, state_file.read_text()
            assert room.process.poll() is None
            time.sleep(0.1)
    finally:
        assert room.stop() == 0
    assert store.objects("served", PREFIX) == {f"council-8/{p}": b for p, b in files.items()}
    log = (room_dir / "server.log").read_text(errors="replace")
    assert SECRET not in log and "X-Amz-Signature" not in log


# -- a presign service ------------------------------------------------------------------


def presign_config(service: PresignService, **kw: object) -> ArchiveConfig:
    values: dict[str, object] = {
        "room_id": ROOM,
        "kind": "presign",
        "presign_url": service.url,
        "token_file": service.token_file,
        "key_prefix": PREFIX,
        "ca_file": service.store.ca_file,
        "timeout_seconds": 10.0,
        "retry_min_seconds": 5.0,
        "retry_max_seconds": 60.0,
    }
    values.update(kw)
    return ArchiveConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def service(store: S3Store) -> Iterator[PresignService]:
    store.create_bucket("presigned")
    server = PresignService(store, "presigned").start()
    try:
        yield server
    finally:
        server.stop()


async def test_a_presign_service_gets_the_record_whole_into_the_store(
    tmp_path: Path, store: S3Store, service: PresignService
) -> None:
    """The room holds no store key: the service presigns each request, told the key, the
    size and the sha256."""
    state = tmp_path / "state"
    files = write_record(state, "council-9")
    config = presign_config(service)
    assert config.secret_key_file is None and not config.access_key_id
    outbox = Outbox(state, config, Clock())
    async with running(outbox):
        done = await until(outbox, "council-9", lambda s: s.state is State.UPLOADED)
    assert done.attempts == 1
    assert store.objects("presigned", PREFIX) == {f"council-9/{p}": b for p, b in files.items()}
    assert [a["method"] for a in service.asked] == ["PUT", "HEAD", "GET"] * len(files)
    for asked in service.asked:
        data = files[asked["key"].removeprefix(f"{PREFIX}council-9/")]
        assert (asked["size"], asked["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert service.asked[-1]["key"] == f"{PREFIX}council-9/manifest.json"
    assert store.puts()[-1] == f"/presigned/{PREFIX}council-9/manifest.json"


async def test_a_token_the_presign_service_refuses_uploads_nothing(
    tmp_path: Path, store: S3Store, service: PresignService
) -> None:
    state = tmp_path / "state"
    write_record(state, "council-10")
    bad_token = tmp_path / "bad-token"
    bad_token.write_text("not-the-token-77\n")
    outbox = Outbox(state, presign_config(service, token_file=bad_token), Clock())
    async with running(outbox):
        failed = await until(outbox, "council-10", lambda s: s.state is State.FAILED_RETRYING)
    error = failed.last_error or ""
    assert "the presign service answered 401" in error and "unknown room token" in error, error
    assert "not-the-token" not in error and PRESIGN_TOKEN not in error
    assert service.asked == [] and failed.files_done == 0
    assert not any(k.startswith("council-10/") for k in store.objects("presigned", PREFIX))


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (b"<html>gateway</html>", 'no {"url": …}'),
        (b'{"link": "https://127.0.0.1/x"}', 'no {"url": …}'),
        (b'{"url": "ftp://127.0.0.1/presigned/x"}', "a URL the room does not use"),
        (b'{"url": "https://u:p@127.0.0.1/presigned/x"}', "a URL the room does not use"),
        (b'{"url": "http://127.0.0.1/presigned/x"}', "a URL the room does not use"),
        (b'{"url": "https://127.0.0.1/x\\r\\nHost: evil"}', "a URL the room does not use"),
    ],
)
async def test_a_presign_service_answering_nonsense_uploads_nothing(
    tmp_path: Path, store: S3Store, service: PresignService, answer: bytes, said: str
) -> None:
    state = tmp_path / "state"
    write_record(state, "council-11")
    service.answer = answer
    outbox = Outbox(state, presign_config(service), Clock())
    before = len(store.requests)
    async with running(outbox):
        failed = await until(outbox, "council-11", lambda s: s.state is State.FAILED_RETRYING)
    assert f"the presign service answered {said} to PUT" in (failed.last_error or "")
    assert failed.files_done == 0
    assert store.requests[before:] == []  # nothing was sent anywhere


# -- configuration ----------------------------------------------------------------------

_S3 = (
    'kind = "s3"\nendpoint = "https://s3.example.org"\nbucket = "council-records"\n'
    'access_key_id = "AKIAROOM01"\nsecret_key_file = "secret"\n'
)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('kind = "ftp"', "archive.kind 'ftp' must be \"put\""),
        (_S3.replace('endpoint = "https://s3.example.org"\n', ""), "archive.endpoint is needed"),
        (_S3.replace('bucket = "council-records"\n', ""), "archive.bucket is needed"),
        (_S3.replace('access_key_id = "AKIAROOM01"\n', ""), "archive.access_key_id is needed"),
        (_S3.replace('secret_key_file = "secret"\n', ""), "archive.secret_key_file is needed"),
        (_S3.replace('"secret"', '"missing"'), "archive.secret_key_file: no file at"),
        (_S3.replace("https://s3", "http://s3"), "plain http://"),
        (_S3.replace("https://s3.example.org", "ftp://s3.example.org"), "must be an https:// URL"),
        (_S3.replace("example.org", "example.org/records"), "address alone"),
        (_S3.replace("example.org", "example.org:99999"), "bad port"),
        (_S3.replace("council-records", "Council_Records"), "archive.bucket 'Council_Records'"),
        (_S3 + 'region = "EU West"', "archive.region 'EU West'"),
        (_S3 + 'addressing = "dns"', 'archive.addressing must be "path"'),
        (
            _S3.replace("s3.example.org", "10.1.2.3:9000") + 'addressing = "virtual-host"',
            'virtual-host" needs a DNS name',
        ),
        (_S3.replace("AKIAROOM01", "AKIA/ROOM"), "archive.access_key_id must be"),
        (_S3 + 'key_prefix = "rooms/council-1"', "archive.key_prefix 'rooms/council-1'"),
        (_S3 + 'key_prefix = "rooms/../x/"', "archive.key_prefix"),
        (_S3 + 'url = "https://archive.example.org/r"', 'archive.url is for kind = "put"'),
        (_S3 + 'token_file = "secret"', "archive.token_file is not used"),
        (
            'url = "https://a.example.org/r"\ntoken_file = "secret"\nbucket = "b-1"',
            'is for kind = "s3"',
        ),
        (_S3 + 'secret_access_key = "wJalr"', "a secret is never written in the configuration"),
        ('kind = "presign"\ntoken_file = "secret"', "archive.presign_url is needed"),
        (
            'kind = "presign"\npresign_url = "https://p.example.org/sign"',
            "needs archive.token_file",
        ),
        (
            'kind = "presign"\npresign_url = "http://p.example.org/sign"\ntoken_file = "secret"',
            "archive.presign_url 'http://p.example.org/sign' is plain http://",
        ),
        (
            'kind = "presign"\npresign_url = "https://p.example.org/s"\ntoken_file = "secret"\n'
            'bucket = "council-records"',
            'archive.bucket is for kind = "s3"; kind is "presign"',
        ),
        (
            'kind = "presign"\npresign_url = "https://p.example.org/s"\ntoken_file = "secret"\n'
            'url = "https://a.example.org/r"',
            'archive.url is for kind = "put"',
        ),
        (
            'url = "https://a.example.org/r"\ntoken_file = "secret"\n'
            'presign_url = "https://p.example.org/s"',
            'archive.presign_url is for kind = "presign"',
        ),
        (
            _S3 + 'presign_url = "https://p.example.org/s"',
            'archive.presign_url is for kind = "presign"',
        ),
    ],
)
def test_bad_s3_settings_are_named(tmp_path: Path, table: str, message: str) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s\n")
    secret.chmod(0o600)
    path = tmp_path / "room-server.toml"
    path.write_text(f"[archive]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_config(path)


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s\n")
    secret.chmod(0o640)
    path = tmp_path / "room-server.toml"
    path.write_text(f"[archive]\n{_S3}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"can be read by others \(mode 0640\): chmod 600"):
        load_config(path)


def test_s3_settings_and_their_defaults(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s\n")
    secret.chmod(0o600)
    path = tmp_path / "room-server.toml"
    path.write_text(f'[room]\nid = "council-hall"\n[archive]\n{_S3}', encoding="utf-8")
    archive = load_config(path).archive
    assert archive.configured
    assert (archive.kind, archive.endpoint, archive.bucket) == (
        "s3",
        "https://s3.example.org",
        "council-records",
    )
    assert (archive.region, archive.path_style, archive.key_prefix) == (
        "us-east-1",
        True,
        "council-hall/",
    )
    assert archive.secret_key_file == secret
    path.write_text(
        f'[archive]\n{_S3}key_prefix = ""\naddressing = "virtual-host"\nregion = "garage"\n',
        encoding="utf-8",
    )
    archive = load_config(path).archive
    assert (archive.key_prefix, archive.path_style, archive.region) == ("", False, "garage")
    assert dataclasses.replace(archive, endpoint="").configured is False


def test_presign_settings(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("t\n")
    path = tmp_path / "room-server.toml"
    path.write_text(
        '[room]\nid = "council-hall"\n[archive]\nkind = "presign"\n'
        'presign_url = "https://presign.example.org/hemicycle"\ntoken_file = "token"\n',
        encoding="utf-8",
    )
    archive = load_config(path).archive
    assert archive.configured and archive.kind == "presign"
    assert (archive.presign_url, archive.key_prefix) == (
        "https://presign.example.org/hemicycle",
        "council-hall/",
    )
    assert archive.token_file == tmp_path / "token" and archive.secret_key_file is None
