"""``room-server rotate``: a new server certificate from the same room CA (enrolled tablets
keep trusting the room), or a new room CA (every device of the old one revoked, every open
pairing code voided, tablets enrolled again connect). Real ``room-server`` processes,
real TLS from real client credentials, real SQLite."""

from __future__ import annotations

import json
import socket
import sqlite3
import ssl
from pathlib import Path

import pytest

from room_client.enrollment import DeviceCredentials, EnrollError, EnrollFailure, enroll
from room_protocol.enrollment import PairingCode
from tests.live_clients import Tablet, connects
from tests.provisioning.test_room_provision import (
    check,
    doctor,
    failing,
    key_bytes,
    made_room,
    serving,
)
from tests.rooms import RunningRoom, enroll_device, room_cli, timeout


def pairing_link(config: Path, *args: str) -> str:
    made = room_cli(config, "enroll", "--json", *args)
    assert made.returncode == 0, made.stderr
    return str(json.loads(made.stdout.splitlines()[0])["link"])


def refused_by_the_room(room: RunningRoom, credentials: DeviceCredentials, ca: Path) -> bool:
    """A TLS connection that trusts ``ca`` and shows ``credentials``' device certificate:
    True when the room ends it for that certificate (TLS 1.3: after the handshake)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.load_verify_locations(cafile=ca)
    context.load_cert_chain(credentials.cert_file, credentials.key_file)
    with socket.create_connection(("127.0.0.1", room.port), timeout=timeout(10)) as raw:
        try:
            with context.wrap_socket(raw) as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                return tls.recv(1) == b""
        except ssl.SSLError as exc:
            return "certificate" in str(exc).lower()


async def test_a_new_server_certificate_keeps_the_room_ca_and_its_tablets(tmp_path: Path) -> None:
    config = made_room(tmp_path)
    state = tmp_path / "state"
    with serving(config) as room:
        await (await Tablet(room, "tab-a", "A1").start()).stop()
        before = room.fingerprint
    keys = key_bytes(state)

    rotated = room_cli(config, "rotate", "server-certificate")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    lines = rotated.stdout.splitlines()
    assert any(line.split()[:3] == ["kept", "room", "CA"] for line in lines), lines
    assert any(line.split()[:3] == ["REPLACED", "server", "certificate"] for line in lines)
    assert "keep trusting it (the same room CA)" in rotated.stdout
    now = key_bytes(state)
    assert now["tls/ca.key"] == keys["tls/ca.key"] and now["tls/ca.pem"] == keys["tls/ca.pem"]
    assert now["tls/server.key"] != keys["tls/server.key"]
    assert now["tls/server.pem"] != keys["tls/server.pem"]
    assert (state / "tls/server.key").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (state / "tls").iterdir()) == [
        "ca.key",
        "ca.pem",
        "server.key",
        "server.pem",
    ]  # nothing left of the making

    with serving(config) as room:
        assert room.fingerprint != before
        # The tablet enrolled before: its credentials, unchanged, connect.
        assert await connects(room.endpoint(), DeviceCredentials(tmp_path / "devices" / "tab-a"))
        _code, report = doctor(config)
        assert check(report, "certificate.server")["status"] == "ok"
        assert check(report, "certificate.ca")["status"] == "ok"


async def test_a_new_room_ca_revokes_its_devices_and_a_tablet_enrolled_again_connects(
    tmp_path: Path,
) -> None:
    config = made_room(tmp_path)
    state = tmp_path / "state"
    with serving(config) as room:
        await (await Tablet(room, "tab-a", "A1").start()).stop()
        await (await Tablet(room, "display", display=True).start()).stop()
    old = DeviceCredentials(tmp_path / "devices" / "tab-a")
    old_link = pairing_link(config, "--count", "2")  # an enrollment stick's codes, say
    keys = key_bytes(state)

    rotated = room_cli(config, "rotate", "ca")
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    lines = rotated.stdout.splitlines()
    assert any(line.split()[:3] == ["REPLACED", "room", "CA"] for line in lines), lines
    assert "revoked  2 devices of the old room CA: tab-a, display" in rotated.stdout
    assert "voided   2 open pairing codes" in rotated.stdout
    assert "every tablet and room display must be enrolled again" in rotated.stdout
    now = key_bytes(state)
    for name in ("tls/ca.key", "tls/ca.pem", "tls/server.key", "tls/server.pem"):
        assert now[name] != keys[name], name
    for name in ("keys/room-signing.key", "keys/room-signing.pub", "room-secret.key"):
        assert now[name] == keys[name], name  # records and stored PINs go on as they were
    listed = json.loads(room_cli(config, "devices", "list", "--json").stdout)
    assert {d["device_id"]: d["revoked"] for d in listed} == {"tab-a": True, "display": True}
    conn = sqlite3.connect(state / "room.sqlite3")
    (data,) = conn.execute("SELECT data FROM audit_log WHERE kind = 'room.ca_replaced'").fetchone()
    conn.close()
    assert json.loads(data)["revoked"] == 2

    with serving(config) as room:
        new_ca = state / "tls/ca.pem"
        # The old tablet no longer trusts the room; the room no longer takes its certificate
        # (nor one an attacker made with the old CA's key: the same thing to the room).
        with (
            socket.create_connection(("127.0.0.1", room.port), timeout=timeout(10)) as raw,
            pytest.raises(ssl.SSLCertVerificationError),
        ):
            old.context().wrap_socket(raw, server_hostname="localhost")
        assert refused_by_the_room(room, old, new_ca)
        # A code made before names the old CA: the tablet refuses this room.
        with pytest.raises(EnrollError) as stale:
            await enroll(
                room.endpoint().uri,
                "127.0.0.1",
                room.port,
                PairingCode.parse(old_link),
                DeviceCredentials(tmp_path / "stale"),
            )
        assert stale.value.reason is EnrollFailure.WRONG_ROOM
        # Enrolled again, at its old seat (freed by the revocation), the tablet connects.
        again = DeviceCredentials(tmp_path / "tab-a-again")
        link = pairing_link(config, "--seat", "A1", "--no-qr")
        done = await enroll(
            room.endpoint().uri, "127.0.0.1", room.port, PairingCode.parse(link), again
        )
        assert done.device_id != "tab-a"
        assert again.ca_file.read_bytes() == new_ca.read_bytes()
        assert await connects(room.endpoint(), again)
        assert not refused_by_the_room(room, again, new_ca)  # the check above can tell
        _code, report = doctor(config)
        assert check(report, "certificate.ca")["status"] == "ok"
        assert "certificate.server" not in failing(report)


def test_rotate_refuses_a_running_room_no_room_and_a_bad_word_and_changes_nothing(
    tmp_path: Path,
) -> None:
    config = made_room(tmp_path)
    state = tmp_path / "state"
    enroll_device(state, "tab-a", "A1")
    keys = key_bytes(state)
    with serving(config):
        for what in ("ca", "server-certificate"):
            running = room_cli(config, "rotate", what)
            assert running.returncode == 4, running.stdout + running.stderr
            assert "the room server is running" in running.stderr
    assert key_bytes(state) == keys
    listed = json.loads(room_cli(config, "devices", "list", "--json").stdout)
    assert [d["revoked"] for d in listed] == [False]

    bad = room_cli(config, "rotate", "signing-key")
    assert bad.returncode == 2 and "invalid choice: 'signing-key'" in bad.stderr
    assert key_bytes(state) == keys

    (state / "tls/ca.key").rename(tmp_path / "ca.key.aside")
    missing = room_cli(config, "rotate", "ca")
    assert missing.returncode == 2, missing.stdout + missing.stderr
    assert "run room-server init first" in missing.stderr
    assert not (state / "tls/ca.key").exists()
    assert json.loads(room_cli(config, "devices", "list", "--json").stdout) == listed


def test_init_force_revokes_the_devices_of_the_old_ca_so_their_seats_are_free(
    tmp_path: Path,
) -> None:
    config = made_room(tmp_path)
    state = tmp_path / "state"
    enroll_device(state, "tab-b", "B1")
    forced = room_cli(config, "init", "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "revoked  1 devices of the old room CA: tab-b" in forced.stdout
    again = room_cli(config, "enroll", "--seat", "B1", "--no-qr")
    assert again.returncode == 0, again.stdout + again.stderr
