"""The outbox against a real archive: nginx with WebDAV PUT over TLS on 127.0.0.1.

Records here are folders written by the test (files and a manifest.json), as the seal
writes them; the uploader sends any file of a sealed folder."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from room_server.config import ArchiveConfig, ConfigError, load_config
from room_server.record.outbox import Outbox, RecordStatus, State
from tests.archive import TOKEN, NginxArchive, files_of, free_port
from tests.room_server.in_process import Clock
from tests.rooms import room_cli, start_room, timeout
from tests.webdav import PASSWORD, USER, WebDavFolder

ROOM = "room-outbox"
KILLED = "room-killed"  # its own folder on the module's archive


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NginxArchive]:
    server = NginxArchive(tmp_path_factory.mktemp("archive")).start()
    try:
        yield server
    finally:
        server.stop()


def write_record(state_dir: Path, meeting_id: str, *, big_bytes: int = 0) -> dict[str, bytes]:
    """A sealed-looking record: a few files, a signature and a manifest; path -> bytes."""
    files: dict[str, bytes] = {
        "meeting.json": json.dumps({"id": meeting_id, "title": "Sứ mệnh"}).encode() + b"\n",
        "results.csv": b"poll,option,votes\np1,yes,12\np1,no,3\n",
        "documents/budget.pdf": b"%PDF-1.7\n"
        + hashlib.shake_256(meeting_id.encode()).digest(big_bytes or 200_000),
        "audit/log.jsonl": b'{"seq": 1}\n{"seq": 2}\n',
    }
    entries = [
        {"path": p, "size": len(b), "sha256": hashlib.sha256(b).hexdigest()}
        for p, b in sorted(files.items())
    ]
    files["manifest.json"] = json.dumps({"files": entries}, indent=2).encode() + b"\n"
    files["manifest.json.minisig"] = b"untrusted comment: test\nRWQ...\n"
    folder = state_dir / "records" / meeting_id
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    return files


def archive_config(archive: NginxArchive, place: str = "records", **kw: object) -> ArchiveConfig:
    values: dict[str, object] = {
        "room_id": ROOM,
        "url": archive.url(place),
        "token_file": archive.token_file,
        "ca_file": archive.ca_file,
        "timeout_seconds": 10.0,
        "retry_min_seconds": 5.0,
        "retry_max_seconds": 60.0,
    }
    values.update(kw)
    return ArchiveConfig(**values)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running(outbox: Outbox) -> AsyncIterator[Outbox]:
    task = asyncio.create_task(outbox.run())
    try:
        yield outbox
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(
    outbox: Outbox, meeting_id: str, check: Callable[[RecordStatus], bool], seconds: float = 30
) -> RecordStatus:
    """The record's status once ``check`` holds (the uploader runs meanwhile)."""
    deadline = time.monotonic() + timeout(seconds)
    status = None
    while time.monotonic() < deadline:
        status = next(s for s in outbox.status() if s.meeting_id == meeting_id)
        if check(status):
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out; last status {status}")


def later(outbox: Outbox, clock: Clock, status: RecordStatus) -> None:
    """Move the clock past the record's next try and wake the uploader."""
    assert status.next_attempt_at is not None
    clock.now = status.next_attempt_at + 1
    outbox.wake()


async def test_archive_down_at_first_then_up(tmp_path: Path) -> None:
    state = tmp_path / "state"
    files = write_record(state, "council-1")
    archive = NginxArchive(tmp_path / "archive", port=free_port())  # not started: refused
    clock = Clock()
    outbox = Outbox(state, archive_config(archive), clock)
    seen: list[RecordStatus] = []
    outbox.on_change(seen.append)
    async with running(outbox):
        failed = await until(outbox, "council-1", lambda s: s.state is State.FAILED_RETRYING)
        assert "refused" in (failed.last_error or "")
        assert failed.attempts == 1 and failed.confirmed_at is None
        assert failed.next_attempt_at is not None
        assert clock.now + 4 <= failed.next_attempt_at <= clock.now + 6.01  # 5 s ± jitter
        # The clock has not moved: no second try however often the uploader is woken.
        outbox.wake()
        await asyncio.sleep(0.3)
        assert outbox.status()[0].attempts == 1
        archive.start()
        try:
            later(outbox, clock, failed)
            done = await until(outbox, "council-1", lambda s: s.state is State.UPLOADED)
        finally:
            archive.stop()
    assert done.attempts == 2 and done.confirmed_at == clock.now
    assert (done.files_done, done.bytes_done) == (len(files), sum(map(len, files.values())))
    assert archive.stored("records", ROOM) == {f"council-1/{p}": b for p, b in files.items()}
    assert (state / "records" / "council-1" / "manifest.json").exists()  # keep_days 0: kept
    states = [s.state for s in seen]
    assert State.UPLOADING in states and states[-1] is State.UPLOADED
    # The manifest was the last file the archive got.
    log = (archive.directory / "access.log").read_text().splitlines()
    puts = [line.split('"PUT ')[1].split(" ")[0] for line in log if '"PUT ' in line]
    assert puts[-2:] == [
        f"/records/{ROOM}/council-1/manifest.json.minisig",
        f"/records/{ROOM}/council-1/manifest.json",
    ]
    # The state survives a restart: a new outbox reads it as uploaded and sends nothing.
    again = Outbox(state, archive_config(archive), clock)
    assert again.status()[0].state is State.UPLOADED


async def test_an_archive_answering_500_is_retried_and_the_record_kept(
    tmp_path: Path, archive: NginxArchive
) -> None:
    state = tmp_path / "state"
    write_record(state, "council-500")
    clock = Clock()
    outbox = Outbox(state, archive_config(archive, "broken", keep_days=1), clock)
    async with running(outbox):
        first = await until(outbox, "council-500", lambda s: s.state is State.FAILED_RETRYING)
        assert "500" in (first.last_error or "")
        later(outbox, clock, first)
        second = await until(
            outbox, "council-500", lambda s: s.attempts == 2 and s.state is State.FAILED_RETRYING
        )
        # Backoff doubles: 10 s ± jitter after the second failure.
        assert second.next_attempt_at is not None
        assert clock.now + 8 <= second.next_attempt_at <= clock.now + 12.01
        clock.now += 30 * 86_400  # a month later, still never confirmed: kept
        outbox.wake()
        await until(
            outbox, "council-500", lambda s: s.attempts == 3 and s.state is State.FAILED_RETRYING
        )
    assert outbox.status()[0].confirmed_at is None
    assert (state / "records" / "council-500" / "manifest.json").exists()
    assert not (archive.store / "broken").exists()


@pytest.mark.parametrize("other", ["shorter", "same size, other bytes"])
async def test_an_archive_storing_something_else_is_not_taken_for_an_upload(
    tmp_path: Path, archive: NginxArchive, other: str
) -> None:
    """``/short/`` stores what is PUT but serves GET and HEAD from another folder."""
    meeting = "council-short" if other == "shorter" else "council-other"
    state = tmp_path / "state"
    files = write_record(state, meeting)
    first = sorted(p for p in files if not p.startswith("manifest"))[0]
    served = archive.other / "short" / ROOM / meeting / first
    served.parent.mkdir(parents=True, exist_ok=True)
    wrong = files[first][:-1] if other == "shorter" else files[first][::-1]
    served.write_bytes(wrong)
    clock = Clock()
    outbox = Outbox(state, archive_config(archive, "short"), clock)
    async with running(outbox):
        failed = await until(outbox, meeting, lambda s: s.state is State.FAILED_RETRYING)
        later(outbox, clock, failed)
        again = await until(
            outbox, meeting, lambda s: s.attempts == 2 and s.state is State.FAILED_RETRYING
        )
    expected = "holds" if other == "shorter" else "differs"
    assert expected in (again.last_error or ""), again.last_error
    assert first in (again.last_error or "")
    assert again.files_done == 0 and again.confirmed_at is None
    stored = archive.stored("short", ROOM)
    assert f"{meeting}/manifest.json" not in stored  # never a record on the archive
    assert (state / "records" / meeting / "manifest.json").exists()


async def test_a_confirmed_record_is_pruned_after_keep_days_never_before(
    tmp_path: Path, archive: NginxArchive, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state"
    files = write_record(state, "council-keep")
    clock = Clock()
    outbox = Outbox(state, archive_config(archive, keep_days=2), clock)
    folder = state / "records" / "council-keep"
    with caplog.at_level(logging.INFO, logger="room_server.record.outbox"):
        async with running(outbox):
            done = await until(outbox, "council-keep", lambda s: s.state is State.UPLOADED)
            assert done.confirmed_at is not None
            clock.now = done.confirmed_at + 2 * 86_400 - 60  # a minute early
            outbox.wake()
            await asyncio.sleep(0.3)
            assert (folder / "manifest.json").exists()
            assert outbox.status()[0].pruned_at is None
            clock.now = done.confirmed_at + 2 * 86_400
            outbox.wake()
            pruned = await until(outbox, "council-keep", lambda s: s.pruned_at is not None)
    assert not folder.exists()
    assert pruned.state is State.UPLOADED and pruned.pruned_at == clock.now
    assert archive.stored("records", ROOM) == {f"council-keep/{p}": b for p, b in files.items()}
    assert any("deleted from the room" in r.getMessage() for r in caplog.records)


async def test_without_an_archive_records_wait_not_configured(tmp_path: Path) -> None:
    state = tmp_path / "state"
    write_record(state, "council-local")
    clock = Clock()
    outbox = Outbox(state, ArchiveConfig(room_id=ROOM, keep_days=1), clock)
    async with running(outbox):
        await until(outbox, "council-local", lambda s: s.state is State.NOT_CONFIGURED)
        clock.now += 365 * 86_400
        outbox.wake()
        await asyncio.sleep(0.3)
    [status] = outbox.status()
    assert status.attempts == 0 and status.state is State.NOT_CONFIGURED
    assert (state / "records" / "council-local" / "manifest.json").exists()


async def test_stopping_the_server_mid_upload_stops_at_once_and_resumes(
    tmp_path: Path, archive: NginxArchive
) -> None:
    state = tmp_path / "state"
    files = write_record(state, "council-stop", big_bytes=4 * 1024 * 1024)
    clock = Clock()
    slow = archive_config(archive, max_bytes_per_second=256 * 1024)  # 16 s for the big file
    outbox = Outbox(state, slow, clock)
    task = asyncio.create_task(outbox.run())
    await until(outbox, "council-stop", lambda s: s.bytes_done > 1024 * 1024)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout(5))  # the paced thread gives up at once
    assert "council-stop/manifest.json" not in archive.stored("records", ROOM)
    resumed = Outbox(state, archive_config(archive), clock)
    assert resumed.status()[0].state is State.UPLOADING  # as a status command sees it
    async with running(resumed):
        done = await until(resumed, "council-stop", lambda s: s.state is State.UPLOADED)
    assert done.attempts == 2
    stored = archive.stored("records", ROOM)
    assert {p: b for p, b in stored.items() if p.startswith("council-stop/")} == {
        f"council-stop/{p}": b for p, b in files.items()
    }


@pytest.mark.parametrize("wrong", ["token", "ca"])
async def test_a_wrong_token_or_an_unknown_archive_certificate_uploads_nothing(
    tmp_path: Path, archive: NginxArchive, wrong: str
) -> None:
    state = tmp_path / "state"
    write_record(state, f"council-{wrong}")
    bad_token = tmp_path / "bad-token"
    bad_token.write_text("not-the-token-9f8e\n")
    config = (
        archive_config(archive, token_file=bad_token)
        if wrong == "token"
        else archive_config(archive, ca_file=None)  # the system's CAs do not know it
    )
    outbox = Outbox(state, config, Clock())
    async with running(outbox):
        failed = await until(outbox, f"council-{wrong}", lambda s: s.state is State.FAILED_RETRYING)
    error = failed.last_error or ""
    assert ("401" in error) if wrong == "token" else ("certificate verify failed" in error), error
    assert "not-the-token" not in error and TOKEN not in error
    assert not any(p.startswith(f"council-{wrong}/") for p in archive.stored("records", ROOM))


async def test_a_webdav_folder_like_nextclouds_takes_the_record(tmp_path: Path) -> None:
    """HTTP Basic with an app password, and folders made with MKCOL: a PUT into a folder
    that does not exist is refused (409), as Nextcloud and Apache mod_dav refuse it."""
    folder = WebDavFolder(tmp_path / "webdav").start()
    try:
        state = tmp_path / "state"
        files = write_record(state, "council-dav")
        config = ArchiveConfig(
            room_id=ROOM,
            url=folder.url(),
            username=USER,
            password_file=folder.password_file,
            ca_file=folder.ca_file,
            timeout_seconds=10.0,
        )
        outbox = Outbox(state, config, Clock())
        async with running(outbox):
            done = await until(outbox, "council-dav", lambda s: s.state is State.UPLOADED)
        stored = files_of(folder.files / ROOM)
        assert stored == {f"council-dav/{p}": b for p, b in files.items()}
        assert done.bytes_done == done.bytes_total == sum(len(b) for b in files.values())
        assert "MKCOL" in folder.requests() and "409" in folder.requests()

        wrong = tmp_path / "wrong-password"
        wrong.write_text("not-the-password\n")
        write_record(state, "council-dav-wrong")
        bad = Outbox(state, replace(config, password_file=wrong), Clock())
        async with running(bad):
            failed = await until(
                bad, "council-dav-wrong", lambda s: s.state is State.FAILED_RETRYING
            )
        error = failed.last_error or ""
        assert "401" in error and "not-the-password" not in error and PASSWORD not in error
        assert not (folder.files / ROOM / "council-dav-wrong").exists()
    finally:
        folder.stop()


def test_server_killed_mid_upload_finishes_after_restart_with_one_copy(
    tmp_path: Path, archive: NginxArchive
) -> None:
    """A real ``room-server run`` SIGKILLed while a big file is on its way, then started
    again: the archive ends up with the record once, byte for byte."""
    room_dir = tmp_path / "room"
    state = room_dir / "state"
    big = 24 * 1024 * 1024
    files = write_record(state, "council-big", big_bytes=big)
    # 8 MiB/s: the big file takes about 3 s, time to see it on its way.
    extra = archive.config_table(max_kib_per_second=8192)
    room = start_room(room_dir, room_id=KILLED, mdns=False, extra=extra)
    state_file = state / "outbox" / "council-big.json"
    try:
        deadline = time.monotonic() + timeout(60)
        while not any(p.stat().st_size > 1024 * 1024 for p in archive.uploads_in_flight()):
            assert time.monotonic() < deadline, "the big file never started uploading"
            assert room.process.poll() is None
            time.sleep(0.02)
        room.stop(signal.SIGKILL)
        before = json.loads(state_file.read_text())
        assert before["state"] == "uploading"
        assert "documents/budget.pdf" not in before["done"]
        stored = archive.stored("records", KILLED)
        assert "council-big/manifest.json" not in stored
        assert "council-big/documents/budget.pdf" not in stored
        # Verbose this time: the log must still not show the token.
        room = start_room(room_dir, room_id=KILLED, mdns=False, extra=extra, server_args=["-v"])
        deadline = time.monotonic() + timeout(90)
        while json.loads(state_file.read_text())["state"] != "uploaded":
            assert time.monotonic() < deadline, state_file.read_text()
            assert room.process.poll() is None
            time.sleep(0.1)
        status = room_cli(room.config, "record", "status")
        assert status.returncode == 0, status.stderr
        assert "council-big" in status.stdout and "uploaded" in status.stdout
    finally:
        assert room.stop() == 0  # SIGTERM: the uploader stops with the server
    assert TOKEN not in (room_dir / "server.log").read_text(errors="replace")
    assert archive.stored("records", KILLED) == {f"council-big/{p}": b for p, b in files.items()}
    assert not archive.uploads_in_flight()
    assert [p.name for p in (archive.store / "records" / KILLED).iterdir()] == ["council-big"]
    after = json.loads(state_file.read_text())
    assert after["attempts"] == 2 and after["confirmed_at"] is not None
    # The record stays in the room (keep_days 0).
    assert (state / "records" / "council-big" / "documents" / "budget.pdf").stat().st_size > big


def test_record_status_and_upload_now_from_the_command_line(
    tmp_path: Path, archive: NginxArchive
) -> None:
    room_dir = tmp_path / "room"
    state = room_dir / "state"
    write_record(state, "council-cli")
    config = room_dir / "room-server.toml"
    config.write_text(
        f'[room]\nid = "{ROOM}"\n[storage]\nstate_dir = "state"\n'
        + archive.config_table().replace(archive.url(), archive.url("broken")),
        encoding="utf-8",
    )
    listed = room_cli(config, "record", "status")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()[:2]
    assert header.split()[:5] == ["meeting", "state", "files", "bytes", "attempts"]
    assert row.split()[:3] == ["council-cli", "queued", "0/6"]
    asked = room_cli(config, "record", "upload-now", "council-cli")
    assert asked.returncode == 0, asked.stderr
    assert (state / "outbox" / "council-cli.wake").exists()
    unknown = room_cli(config, "record", "upload-now", "no-such-meeting")
    assert unknown.returncode == 2
    assert "no sealed record of 'no-such-meeting'" in unknown.stderr
    assert not (state / "outbox" / "no-such-meeting.wake").exists()


async def test_upload_now_restarts_the_backoff(tmp_path: Path, archive: NginxArchive) -> None:
    state = tmp_path / "state"
    write_record(state, "council-wake")
    clock = Clock()
    slow = archive_config(archive, "broken", retry_min_seconds=600, retry_max_seconds=900)
    outbox = Outbox(state, slow, clock)
    async with running(outbox):
        failed = await until(outbox, "council-wake", lambda s: s.state is State.FAILED_RETRYING)
        assert failed.next_attempt_at is not None and failed.next_attempt_at > clock.now + 400
        Outbox(state, slow, clock).upload_now("council-wake")  # as the CLI does
        outbox.wake()  # it looks for wake files every few seconds anyway; hurry it
        again = await until(
            outbox, "council-wake", lambda s: s.attempts == 2 and s.state is not State.UPLOADING
        )
    assert again.state is State.FAILED_RETRYING  # the archive still answers 500
    assert not (state / "outbox" / "council-wake.wake").exists()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('url = "http://archive.example.org/r"\ntoken_file = "token"', "plain http://"),
        ('url = "ftp://archive.example.org/r"\ntoken_file = "token"', "must be an https:// URL"),
        ('url = "https://u:p@archive.example.org/r"\ntoken_file = "token"', "user or password"),
        ('url = "https://archive.example.org/r"', "needs archive.token_file or"),
        ('url = "https://archive.example.org/r"\ntoken_file = "missing"', "no file at"),
        ("keep_days = -1", "archive.keep_days must be 0-36500"),
        ("timeout_seconds = 0", "archive.timeout_seconds must be 1-600"),
        ("retry_min_seconds = 10\nretry_max_seconds = 5", "archive.retry_max_seconds must be"),
        ('client_key = "token"', "client_key needs archive.client_certificate"),
        ('ca_file = "token"', "archive.ca_file: .*token holds no CA certificate"),
        ('client_certificate = "token"', "is not a certificate and its private key"),
        ('read_back = "yes"', "archive.read_back must be true or false"),
        ("container = 1", "unknown key archive.container"),
        (
            'url = "https://a.example.org/r"\nusername = "u"',
            "username and archive.password_file go",
        ),
        (
            'url = "https://a.example.org/r"\ntoken_file = "token"\nusername = "u"\n'
            'password_file = "pw"',
            "token_file and archive.username exclude each other",
        ),
        (
            'url = "https://a.example.org/r"\nusername = "u"\npassword_file = "token"',
            "archive.password_file .*token can be read by others",
        ),
        (
            'url = "https://a.example.org/r"\nusername = "a:b"\npassword_file = "pw"',
            "must not hold ':'",
        ),
    ],
)
def test_bad_archive_settings_are_named(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "token").write_text("t\n")
    (tmp_path / "token").chmod(0o644)  # whatever the umask: others may read it
    (tmp_path / "pw").write_text("p\n")
    (tmp_path / "pw").chmod(0o600)
    path = tmp_path / "room-server.toml"
    path.write_text(f"[archive]\n{table}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        load_config(path)


def test_archive_settings_resolve_files_beside_the_configuration(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("t\n")
    path = tmp_path / "room-server.toml"
    path.write_text(
        '[archive]\nurl = "http://127.0.0.1:8080/r/"\nallow_insecure_http = true\n'
        'token_file = "token"\nkeep_days = 30\nmax_kib_per_second = 100\nread_back = false\n',
        encoding="utf-8",
    )
    archive = load_config(path).archive
    assert archive.url == "http://127.0.0.1:8080/r"
    assert archive.token_file == tmp_path / "token"
    assert (archive.keep_days, archive.max_bytes_per_second, archive.read_back) == (
        30,
        102_400,
        False,
    )
