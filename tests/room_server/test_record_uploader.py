"""The uploader on its own (``room-server record upload [--follow]``, hemicycle-uploader.service)
against a real archive (nginx, WebDAV PUT over TLS on 127.0.0.1): one pass, following,
beside a room server that leaves the upload to it (``[archive] uploader = "separate"``),
and never two uploaders at once (the outbox's lock)."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from room_server.config import ConfigError, load_config
from room_server.record.outbox import Outbox, State
from tests.archive import NginxArchive
from tests.room_server.in_process import Clock
from tests.room_server.test_record_outbox import (
    ROOM,
    archive,
    archive_config,
    running,
    until,
    write_record,
)
from tests.rooms import die_with_the_tests, room_cli, start_room, timeout

__all__ = ["archive"]  # the module's nginx fixture, shared


def config_file(folder: Path, archive: NginxArchive, room_id: str = ROOM, **more: object) -> Path:
    config = folder / "room-server.toml"
    config.write_text(
        f'[room]\nid = "{room_id}"\n[storage]\nstate_dir = "state"\n'
        + archive.config_table(**more),
        encoding="utf-8",
    )
    return config


def mine(archive: NginxArchive, meeting_id: str, room_id: str = ROOM) -> dict[str, bytes]:
    prefix = f"{meeting_id}/"
    return {
        p.removeprefix(prefix): b
        for p, b in archive.stored("records", room_id).items()
        if p.startswith(prefix)
    }


def test_one_pass_uploads_what_is_due_then_stops(tmp_path: Path, archive: NginxArchive) -> None:
    files = write_record(tmp_path / "state", "council-pass")
    config = config_file(tmp_path, archive, uploader="separate")
    result = room_cli(config, "record", "upload")
    assert result.returncode == 0, result.stderr
    assert mine(archive, "council-pass") == files
    status = json.loads((tmp_path / "state/outbox/council-pass.json").read_text())
    assert status["state"] == "uploaded" and status["attempts"] == 1
    again = room_cli(config, "record", "upload")  # nothing due: nothing sent again
    assert again.returncode == 0, again.stderr
    status = json.loads((tmp_path / "state/outbox/council-pass.json").read_text())
    assert status["attempts"] == 1


def test_one_pass_against_a_failing_archive_says_so_and_keeps_the_record(
    tmp_path: Path, archive: NginxArchive
) -> None:
    write_record(tmp_path / "state", "council-broken")
    config = config_file(tmp_path, archive)
    config.write_text(config.read_text().replace(archive.url(), archive.url("broken")))
    result = room_cli(config, "record", "upload")
    assert result.returncode == 1
    assert "council-broken: not uploaded this time" in result.stdout
    status = json.loads((tmp_path / "state/outbox/council-broken.json").read_text())
    assert status["state"] == "failed-retrying" and status["attempts"] == 1
    assert (tmp_path / "state/records/council-broken/manifest.json").is_file()


def test_without_an_archive_the_uploader_refuses(tmp_path: Path) -> None:
    config = tmp_path / "room-server.toml"
    config.write_text(f'[room]\nid = "{ROOM}"\n[storage]\nstate_dir = "state"\n')
    result = room_cli(config, "record", "upload", "--follow")
    assert result.returncode == 2
    assert "no archive configured" in result.stderr
    assert not (tmp_path / "state/outbox").exists()


def test_beside_a_separate_uploader_the_server_only_seals(
    tmp_path: Path, archive: NginxArchive
) -> None:
    """With uploader = "separate" the running server does not take the outbox: the
    uploader (following) gets the lock at once and uploads a record sealed while it runs;
    SIGTERM stops it cleanly."""
    room_id = "room-separate"
    room_dir = tmp_path / "room"
    room = start_room(
        room_dir, room_id=room_id, mdns=False, extra=archive.config_table(uploader="separate")
    )
    follower = None
    try:
        command = ["--config", str(room.config), "record", "upload", "--follow"]
        follower = subprocess.Popen(
            [sys.executable, "-m", "room_server", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=die_with_the_tests(),
        )
        files = write_record(room_dir / "state", "council-follow")  # sealed meanwhile
        deadline = time.monotonic() + timeout(60)
        while mine(archive, "council-follow", room_id) != files:
            assert time.monotonic() < deadline, "the uploader did not upload the record"
            assert follower.poll() is None
            time.sleep(0.1)
        follower.send_signal(signal.SIGTERM)
        output, _ = follower.communicate(timeout=timeout(20))
        assert follower.returncode == 0, output
        assert "another uploader holds" not in output  # the server never took the outbox
    finally:
        if follower is not None and follower.poll() is None:
            follower.kill()
        assert room.stop() == 0
    assert "uploaded by `room-server record upload --follow`" in (
        room_dir / "server.log"
    ).read_text(errors="replace")


async def test_a_second_uploader_waits_and_never_sends_again(
    tmp_path: Path, archive: NginxArchive, caplog: pytest.LogCaptureFixture
) -> None:
    """Two outboxes on one state directory (the server's and a separate uploader, say):
    the second waits on the lock while the first uploads, then reads the state the first
    wrote and sends nothing again."""
    state = tmp_path / "state"
    files = write_record(state, "council-twice")
    config = archive_config(archive)
    first, second = Outbox(state, config, Clock()), Outbox(state, config, Clock())
    caplog.set_level(logging.WARNING, "room_server.record.outbox")
    async with running(first):
        await until(first, "council-twice", lambda s: s.state is State.UPLOADED)
        waiting = asyncio.create_task(second.run())
        deadline = time.monotonic() + timeout(10)
        while "another uploader holds" not in caplog.text:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert not waiting.done()
    try:  # the first stopped: the second takes over within a poll
        done = await until(second, "council-twice", lambda s: s.state is State.UPLOADED)
        await asyncio.sleep(0.2)
        assert second.status()[0].attempts == 1 == done.attempts
    finally:
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
    assert mine(archive, "council-twice") == files


def test_the_uploader_setting_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "room-server.toml"
    path.write_text('[archive]\nuploader = "both"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r'archive\.uploader must be "server" or "separate"'):
        load_config(path)
    path.write_text('[archive]\nuploader = "separate"\n', encoding="utf-8")
    assert load_config(path).archive_uploader == "separate"
