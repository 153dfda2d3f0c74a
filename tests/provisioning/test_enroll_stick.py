"""``room-provision stick enroll``: one-time enrollment tokens on a stick, used by tablets
against a real room server over real TLS; the room CA on the stick pins the room.

The "stick" is a folder (what a mounted stick is to these programs); the USB watcher's
handling of a real mounted stick is in test_usb.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from provisioning.usb import StickKind, recognise
from room_client.enrollment import DeviceCredentials, EnrollError, EnrollFailure, enroll
from room_client.enrollment_stick import EnrollmentStick, StickError, find_stick
from room_protocol.enrollment_stick import STICK_FOLDER, STICK_MARKER, StickRoom, parse_token
from room_protocol.errors import ProtocolError
from tests.provisioning.run import provision
from tests.rooms import RunningRoom, running_room


def ca_sha256(room: RunningRoom) -> str:
    ca = x509.load_pem_x509_certificate(room.ca_file.read_bytes())
    return ca.fingerprint(hashes.SHA256()).hex()


def write_stick(room: RunningRoom, stick: Path, count: int, *extra: str) -> None:
    stick.mkdir(exist_ok=True)
    result = provision(
        "stick", "enroll", "--config", str(room.config), "--count", str(count), *extra, str(stick)
    )
    assert result.returncode == 0, result.stderr
    assert f"{count} one-time enrollment tokens for room {room.room_id}" in result.stdout


async def enroll_with(room: RunningRoom, stick: EnrollmentStick, directory: Path) -> str:
    token = stick.unused()[0]
    done = await enroll(
        room.endpoint().uri, "127.0.0.1", room.port, token.code, DeviceCredentials(directory)
    )
    assert stick.mark_used(token)
    return done.device_id


async def test_a_stick_enrolls_one_tablet_per_token_once(tmp_path: Path) -> None:
    with running_room(tmp_path / "room", mdns=False, room_name="Phòng họp, Bldg. 2") as room:
        stick = tmp_path / "stick"
        started = time.time()
        write_stick(room, stick, 3, "--expires", "2")
        # What is on it: the marker, the room (its CA pins it) and three 0600 token files.
        folder = stick / STICK_FOLDER
        names = sorted(p.name for p in folder.iterdir())
        assert names == ["001.token", "002.token", "003.token", "room.json"]
        for path in [*folder.iterdir(), stick / STICK_MARKER]:
            assert path.stat().st_mode & 0o777 == 0o600, path
        room_file = StickRoom.parse((folder / "room.json").read_bytes())
        assert room_file.room_id == room.room_id and room_file.room_name == "Phòng họp, Bldg. 2"
        assert room_file.ca_sha256 == ca_sha256(room)
        assert started + 2 * 3600 - 5 <= room_file.expires_ts <= time.time() + 2 * 3600 + 5
        # The room server's USB watcher knows it, and leaves it to the tablets.
        assert recognise(stick).kind is StickKind.PROVISION
        assert find_stick([tmp_path]) == stick

        on_stick = EnrollmentStick(stick)
        assert not on_stick.expired()
        first = on_stick.unused()[0]
        a = await enroll_with(room, on_stick, tmp_path / "tablet-a")
        assert [t.path.name for t in on_stick.unused()] == ["002.token", "003.token"]
        assert (folder / "001.used").is_file()
        b = await enroll_with(room, on_stick, tmp_path / "tablet-b")
        assert a != b
        # A used token is refused by the room even if a stick forgets it was used.
        with pytest.raises(EnrollError) as refused:
            await enroll(
                room.endpoint().uri,
                "127.0.0.1",
                room.port,
                first.code,
                DeviceCredentials(tmp_path / "tablet-c"),
            )
        assert refused.value.reason is EnrollFailure.CODE_REFUSED
        assert not DeviceCredentials(tmp_path / "tablet-c").enrolled
        listed = json.loads(room.cli("devices", "list", "--json").stdout)
        assert sorted(d["device_id"] for d in listed) == sorted([a, b])
        # A lost stick: IT staff void the open codes, and its last token is worthless.
        voided = room.cli("devices", "void-codes")
        assert voided.returncode == 0 and "1 open pairing codes no longer work" in voided.stdout
        with pytest.raises(EnrollError) as lost:
            await enroll_with(room, on_stick, tmp_path / "tablet-d")
        assert lost.value.reason is EnrollFailure.CODE_REFUSED


async def test_the_stick_pins_its_room_a_forged_room_gets_no_token(tmp_path: Path) -> None:
    """An impostor on the room network, without the room CA's key, answers with a CA of its
    own: the tablet stops before it sends the token's secret, and the token still works in
    the real room."""
    with (
        running_room(tmp_path / "room", mdns=False, room_id="council") as room,
        # Same room id and name: all an impostor can copy without the CA's key.
        running_room(
            tmp_path / "impostor", mdns=False, room_id="council", room_name=room.room_name
        ) as impostor,
    ):
        stick = tmp_path / "stick"
        write_stick(room, stick, 1)
        on_stick = EnrollmentStick(stick)
        [token] = on_stick.unused()
        with pytest.raises(EnrollError) as caught:
            await enroll(
                impostor.endpoint().uri,
                "127.0.0.1",
                impostor.port,
                token.code,
                DeviceCredentials(tmp_path / "tablet"),
            )
        assert caught.value.reason is EnrollFailure.WRONG_ROOM
        assert "refused an enrollment" not in (tmp_path / "impostor" / "server.log").read_text()
        assert await enroll_with(room, on_stick, tmp_path / "tablet")


def test_a_token_for_another_room_or_a_damaged_stick_is_not_used(tmp_path: Path) -> None:
    room = StickRoom("council", "Council", "a" * 64, time.time() + 3600)
    other_link = (
        "hemicycle://enroll?code=ZZZZ-ZZZZ-ZZZZ-ZZZZ&ca=" + "b" * 64 + "&room=council"
    ).encode()
    with pytest.raises(ProtocolError):
        parse_token(other_link, room)
    stick = tmp_path / "stick"
    (stick / STICK_FOLDER).mkdir(parents=True)
    (stick / STICK_MARKER).write_text("x")
    (stick / STICK_FOLDER / "room.json").write_bytes(room.to_json())
    (stick / STICK_FOLDER / "001.token").write_bytes(other_link)
    (stick / STICK_FOLDER / "002.token").write_bytes(b"\xff" * 50)
    assert EnrollmentStick(stick).unused() == []  # skipped, each logged
    assert EnrollmentStick(stick).expired(now=room.expires_ts)
    assert not EnrollmentStick(stick).expired(now=room.expires_ts - 1)
    (stick / STICK_FOLDER / "room.json").write_text('{"format": 1, "room_id": "Council"}')
    with pytest.raises(StickError, match="room id is malformed"):
        EnrollmentStick(stick)
    with pytest.raises(StickError, match="not an enrollment stick"):
        EnrollmentStick(tmp_path)


def test_bad_requests_write_nothing(tmp_path: Path) -> None:
    with running_room(tmp_path / "room", mdns=False) as room:
        config = str(room.config)
        before = room.cli("devices", "list", "--json").stdout
        blank = tmp_path / "blank"
        blank.mkdir()
        export = tmp_path / "export"
        export.mkdir()
        assert provision("stick", "export", str(export)).returncode == 0
        for args, text in [
            (("--count", "0", str(blank)), "--count must be 1 to 999"),
            (("--count", "2", "--expires", "48", str(blank)), "--expires must be"),
            (("--count", "2", str(tmp_path / "missing")), "is not a folder"),
            (("--count", "2", str(export)), "is a export stick"),
        ]:
            result = provision("stick", "enroll", "--config", config, *args)
            assert result.returncode == 2, args
            assert text in result.stderr, (args, result.stderr)
        assert list(blank.iterdir()) == []
        assert sorted(p.name for p in export.iterdir()) == ["HEMICYCLE-EXPORT"]
        assert room.cli("devices", "list", "--json").stdout == before
        many = room.cli("enroll", "--count", "2", "--seat", "A2")
        assert many.returncode == 2 and "--seat names one seat" in many.stderr
