"""``room-provision init``, ``backup``, ``restore`` and ``doctor`` as IT staff run them:
real processes (``room-provision`` driving ``room-server``), a real room server started
from the configuration init wrote, real TLS tablets signing in and voting while a backup
is taken, real SQLite files, on 127.0.0.1 only (mDNS too)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shlex
import sqlite3
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from provisioning.doctor import Probes, Status, browse_room, diagnose
from provisioning.server_command import inspect
from room_protocol.voting import NO, YES, CastBallot, OpenPoll, PollsState, PollState
from tests.live_clients import Tablet, until
from tests.provisioning.run import provision
from tests.rooms import RunningRoom, die_with_the_tests, room_cli, timeout

PINS = {"chair": "1111", "d1": "2222", "d2": "4444", "d3": "6666"}
SEATS = {"chair": "A1", "d1": "A2", "d2": "A3", "d3": "A4"}
KEY_FILES = ("tls/ca.key", "tls/ca.pem", "tls/server.key", "tls/server.pem")
KEY_FILES += ("keys/room-signing.key", "keys/room-signing.pub", "room-secret.key")


def init(
    root: Path,
    room_id: str = "council",
    *extra: str,
    interface: str | None = "127.0.0.1",
    name: str = "Hội đồng, Bldg. 2",
) -> subprocess.CompletedProcess[str]:
    """``room-provision init`` of a room under ``root`` (config in root/etc, state in
    root/state), on a free port."""
    network = ["--interface", interface] if interface else []
    return provision(
        "init",
        "--state-dir",
        str(root / "state"),
        "--room-id",
        room_id,
        "--room-name",
        name,
        "--config",
        str(root / "etc" / "room-server.toml"),
        "--port",
        "0",
        *network,
        *extra,
    )


def made_room(root: Path, room_id: str = "council", **kwargs: Any) -> Path:
    result = init(root, room_id, **kwargs)
    assert result.returncode == 0, result.stdout + result.stderr
    return root / "etc" / "room-server.toml"


def key_bytes(state: Path) -> dict[str, bytes]:
    return {name: (state / name).read_bytes() for name in KEY_FILES}


@contextlib.contextmanager
def serving(config: Path, room_id: str = "council") -> Iterator[RunningRoom]:
    """``room-server --config CONFIG run``, as the unit runs it, until the block ends."""
    state = config.parent.parent / "state"
    log = (config.parent.parent / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "room_server", "--config", str(config), "run"],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=die_with_the_tests(),
    )
    try:
        deadline = time.monotonic() + timeout(30)
        while True:
            assert process.poll() is None, (config.parent.parent / "server.log").read_text()
            with contextlib.suppress(OSError, ValueError):
                info = json.loads((state / "server.json").read_text())
                if info["pid"] == process.pid:
                    break
            assert time.monotonic() < deadline, "the room server did not start"
            time.sleep(0.05)
        yield RunningRoom(
            process=process,
            config=config,
            state_dir=state,
            port=int(info["port"]),
            hostname=str(info["hostname"]),
            room_id=room_id,
            room_name=str(info["room_name"]),
            fingerprint=str(info["fingerprint"]),
        )
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout(15))
        log.close()


def doctor(config: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    result = provision("doctor", "--config", str(config), "--json", env=env)
    return result.returncode, json.loads(result.stdout)


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in report["checks"] if c["name"] == name]
    assert len(found) == 1, (name, report)
    return dict(found[0])


def failing(report: dict[str, Any]) -> set[str]:
    return {c["name"] for c in report["checks"] if c["status"] in ("warn", "fail")}


# --- init ----------------------------------------------------------------------------


def test_init_twice_keeps_keys_and_says_so_and_force_replaces_them(tmp_path: Path) -> None:
    first = init(tmp_path)
    assert first.returncode == 0, first.stderr
    config = tmp_path / "etc" / "room-server.toml"
    state = tmp_path / "state"
    assert f"configuration {config}: made" in first.stdout
    for what in ("database", "room CA", "server certificate", "signing key", "PIN secret"):
        assert any(
            line.split()[:1] == ["made"] and what in line for line in first.stdout.splitlines()
        ), (
            what,
            first.stdout,
        )
    assert "sha256 " in first.stdout and "fingerprint " in first.stdout
    keys = key_bytes(state)
    text = config.read_text(encoding="utf-8")
    assert 'host = "127.0.0.1"' in text and 'interfaces = ["127.0.0.1"]' in text
    assert 'name = "Hội đồng, Bldg. 2"' in text and text.count("\n#") >= 5  # commented

    again = init(tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"configuration {config}: kept (unchanged)" in again.stdout
    kept = [line for line in again.stdout.splitlines() if line.split()[:1] == ["kept"]]
    assert len(kept) == 5, again.stdout
    assert key_bytes(state) == keys

    # A configuration edited by hand is not overwritten; init says so and goes on with it.
    edited = text.replace("port = 0", "port = 0\n# our switch port 12")
    config.write_text(edited, encoding="utf-8")
    renamed = init(tmp_path, name="Another name")
    assert renamed.returncode == 0, renamed.stderr
    assert "kept — it differs from what init would write" in renamed.stdout
    assert config.read_text(encoding="utf-8") == edited
    assert key_bytes(state) == keys

    forced = init(tmp_path, "council", "--force")
    assert forced.returncode == 0, forced.stderr
    assert f"configuration {config}: REPLACED" in forced.stdout
    assert (config.parent / "room-server.toml.bak").read_text(encoding="utf-8") == edited
    replaced = [line for line in forced.stdout.splitlines() if line.split()[:1] == ["REPLACED"]]
    assert len(replaced) == 4, forced.stdout  # the keys; the database is kept
    assert any(line.split()[:2] == ["kept", "database"] for line in forced.stdout.splitlines())
    assert "every tablet and room display must be enrolled again" in forced.stdout
    now = key_bytes(state)
    assert all(now[name] != keys[name] for name in KEY_FILES), "--force replaced every key"
    old_public = list((state / "keys").glob("room-signing-*.pub"))
    assert [p.read_bytes() for p in old_public] == [keys["keys/room-signing.pub"]]


def test_init_refuses_bad_input_and_writes_nothing(tmp_path: Path) -> None:
    for args, message in (
        ({"room_id": "Council Room"}, "room id 'Council Room' must be"),
        ({"interface": "eth0"}, "--interface 'eth0' is not an IP address"),
        ({"name": "   "}, "room name must be 1-200 characters"),
    ):
        result = init(tmp_path, **args)  # type: ignore[arg-type]
        assert result.returncode == 2 and message in result.stderr, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_init_refuses_to_replace_keys_under_a_running_server(tmp_path: Path) -> None:
    config = made_room(tmp_path)
    keys = key_bytes(tmp_path / "state")
    with serving(config):
        forced = room_cli(config, "init", "--force")
        assert forced.returncode == 4, forced.stdout + forced.stderr
        assert "the room server is running" in forced.stderr
        assert key_bytes(tmp_path / "state") == keys


# --- doctor on a good room, and a config written by init serves --------------------


async def test_a_room_made_by_init_serves_tablets_and_doctor_finds_it_good(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    config = made_room(tmp_path)
    assert room_cli(config, "import", str(voting_package_dir)).returncode == 0
    with serving(config) as room:
        chair = await Tablet(room, "tab-chair", "A1").start()  # TLS with init's certificates
        await chair.sign_in("chair", PINS["chair"])  # the PIN secret init made
        await chair.stop()
        code, report = await asyncio.to_thread(doctor, config)
        assert code == 0, report
        assert report["ok"] is True
        seen = check(report, "mdns.visible")
        assert seen["status"] == "ok" and "Hội đồng, Bldg. 2" in seen["text"], seen
        # Whether or not the box runs avahi: it never uses loopback (tests/provisioning/
        # test_avahi.py checks it on a real interface).
        avahi = check(report, "mdns.avahi")
        assert avahi["status"] == "skip" and "loopback only" in avahi["text"], avahi
        assert check(report, "devices")["text"] == "devices: 1 enrolled, 0 revoked"
        assert check(report, "systemd.unit")["status"] in ("ok", "skip")
        listen = check(report, "listen")
        assert listen["text"] == f"listening on 127.0.0.1 port {room.port}"
        found = await asyncio.to_thread(browse_room, "council", ("127.0.0.1",), 3.0)
        assert found == ("Hội đồng, Bldg. 2", room.port)
        other = await asyncio.to_thread(browse_room, "another-room", ("127.0.0.1",), 1.0)
        assert other is None  # a room is recognised by its id, not by being there
        text = provision("doctor", "--config", str(config))
        assert text.returncode == 0 and "All good: the room is ready." in text.stdout
        vi = provision("doctor", "--config", str(config), env={"LANG": "vi_VN.UTF-8"})
        assert "Mọi thứ đều ổn" in vi.stdout, vi.stdout


# --- doctor on broken rooms --------------------------------------------------------


def test_doctor_finds_a_key_open_to_others_and_its_fix_works(tmp_path: Path) -> None:
    config = made_room(tmp_path)
    code, report = doctor(config)
    assert failing(report) == {"server.running"} and code == 1  # not started yet
    assert check(report, "mdns.visible")["status"] == "skip"
    key = tmp_path / "state" / "keys" / "room-signing.key"
    key.chmod(0o644)
    (tmp_path / "state").chmod(0o755)
    code, report = doctor(config)
    assert code == 1
    bad = [c for c in report["checks"] if c["name"].startswith("mode.")]
    assert {(c["name"], c["text"]) for c in bad} == {
        ("mode.signing_key", f"{key} is mode 0644, must be 0600"),
        ("mode.dir", f"{tmp_path / 'state'} is mode 0755, must be 0700"),
    }
    for c in bad:
        subprocess.run(shlex.split(c["fix"]), check=True)  # the fix, as printed
    assert failing(doctor(config)[1]) == {"server.running"}


def test_doctor_finds_a_corrupt_database(tmp_path: Path) -> None:
    config = made_room(tmp_path)
    database = tmp_path / "state" / "room.sqlite3"
    with database.open("r+b") as f:
        f.seek(8 * 4096)
        f.write(b"\xa5\x5a" * (12 * 4096))  # pages of tables and indexes, overwritten
    code, report = doctor(config)
    assert code == 1
    damaged = check(report, "database.integrity")
    assert damaged["status"] == "fail" and damaged["text"].startswith("database DAMAGED:")
    assert damaged["fix"] == f"room-provision restore --config {config} BACKUP"


def test_doctor_warns_of_a_certificate_that_expires_soon(tmp_path: Path) -> None:
    config = made_room(tmp_path)
    tls = tmp_path / "state" / "tls"
    ca_key = serialization.load_pem_private_key((tls / "ca.key").read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca = x509.load_pem_x509_certificate((tls / "ca.pem").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "x.local")]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=2))
        .not_valid_after(now + dt.timedelta(days=10, hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("x.local")]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (tls / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    code, report = doctor(config)
    assert code == 1
    soon = check(report, "certificate.server")
    day = (now + dt.timedelta(days=10, hours=1)).date().isoformat()
    assert soon["status"] == "warn", soon
    assert soon["text"] == f"server certificate expires on {day}, in 10 days"
    assert soon["fix"] == f"room-server --config {config} rotate server-certificate"
    assert check(report, "certificate.ca")["status"] == "ok"
    expired = doctor(
        config, env={"HEMICYCLE_DOCTOR_NOW": (now + dt.timedelta(days=11)).isoformat()}
    )
    assert check(expired[1], "certificate.server")["status"] == "fail"
    assert "EXPIRED" in check(expired[1], "certificate.server")["text"]


def test_doctor_finds_a_clock_behind_the_audit_log(tmp_path: Path) -> None:
    """The doctor's clock comes from HEMICYCLE_DOCTOR_NOW here, an override that only the
    tests use: a real process's clock cannot be set back without root."""
    config = made_room(tmp_path)
    added = room_cli(config, "devices", "add", "--out", str(tmp_path / "display"), "--display")
    assert added.returncode == 0, added.stderr  # enrolling writes an audit entry
    conn = sqlite3.connect(tmp_path / "state" / "room.sqlite3")
    (newest,) = conn.execute("SELECT max(at) FROM audit_log").fetchone()
    conn.close()
    assert newest is not None
    before = dt.datetime.fromisoformat(newest) - dt.timedelta(hours=1)
    code, report = doctor(config, env={"HEMICYCLE_DOCTOR_NOW": before.isoformat()})
    assert code == 1
    clock = check(report, "clock")
    assert clock["status"] == "fail", clock
    assert "is earlier than the newest audit log entry" in clock["text"]
    assert "a clock that jumped back" in clock["text"]
    assert clock["fix"].startswith("timedatectl set-time")
    assert check(doctor(config)[1], "clock")["status"] == "ok"


def test_doctor_warns_of_a_room_on_every_interface(tmp_path: Path) -> None:
    config = made_room(tmp_path, interface=None)
    text = config.read_text(encoding="utf-8")
    assert 'host = ""' in text and "interfaces = []" in text
    code, report = doctor(config)
    assert code == 1
    listen, advertise = check(report, "listen"), check(report, "advertise")
    assert listen["status"] == advertise["status"] == "warn"
    assert listen["text"].startswith("listening on EVERY address of this box")
    assert advertise["text"].startswith("advertising over mDNS on EVERY interface")
    assert (
        listen["fix"]
        == f'set [server] host = "ADDRESS" in {config}, with the room network\'s address'
    )
    assert '[mdns] interfaces = ["ADDRESS"]' in advertise["fix"]


def test_doctor_reports_a_configuration_it_cannot_use_and_a_room_never_initialised(
    tmp_path: Path,
) -> None:
    config = tmp_path / "room-server.toml"
    config.write_text('[room]\nid = "Not An Id"\n', encoding="utf-8")
    code, report = doctor(config)
    assert code == 1
    bad = check(report, "config")
    assert bad["status"] == "fail" and "room.id 'Not An Id' must be" in bad["text"]
    config.write_text(f'[storage]\nstate_dir = "{tmp_path / "state"}"\n', encoding="utf-8")
    code, report = doctor(config)
    assert code == 1
    init_fix = f"room-server --config {config} init"
    names = ("certificate.ca", "certificate.server", "key.signing_key", "database.integrity")
    for name in (*names, "disk"):
        missing = check(report, name)
        assert (missing["status"], missing["fix"]) == ("fail", init_fix), missing
    assert not (tmp_path / "state").exists()  # looking changed nothing


def test_doctor_reads_the_disk_and_the_unit_through_its_probes(tmp_path: Path) -> None:
    """Low disk space and a disabled unit cannot be made on a test box; the doctor asks
    for them through its probes, and these give the answers a full, systemd-run box would."""
    config = made_room(tmp_path)
    facts = inspect(config)
    probes = Probes(
        free_bytes=lambda path: 300 * 1024**2,
        browse=browse_room,
        systemd=lambda: True,
        unit_state=lambda unit: "disabled",
    )
    checks = {c.name: c for c in diagnose(config, facts, dt.datetime.now(dt.UTC), probes)}
    assert checks["disk"].status is Status.WARN
    assert checks["disk"].text == f"only 0.3 GiB free for {tmp_path / 'state'}"
    unit = checks["systemd.unit"]
    assert unit.status is Status.FAIL
    assert unit.fix == "systemctl enable --now hemicycle-room-server.service"
    assert checks["server.running"].fix == "systemctl start hemicycle-room-server.service"
    not_installed = Probes(probes.free_bytes, browse_room, lambda: True, lambda unit: "not-found")
    missing = {c.name: c for c in diagnose(config, facts, dt.datetime.now(dt.UTC), not_installed)}
    assert missing["systemd.unit"].text == "hemicycle-room-server.service is not installed"
    assert "systemctl daemon-reload" in missing["systemd.unit"].fix


# --- backup and restore --------------------------------------------------------------


async def test_backup_while_tablets_sign_in_and_vote_restores_the_room(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    config = made_room(tmp_path / "live")
    assert room_cli(config, "import", str(voting_package_dir)).returncode == 0
    live_state = tmp_path / "live" / "state"
    backup = tmp_path / "backup.tar"
    with serving(config) as room:
        tablets = {w: await Tablet(room, f"tab-{w}", SEATS[w]).start() for w in SEATS}
        for who, t in tablets.items():
            await t.sign_in(who, PINS[who])
        chair, d1, d2 = tablets["chair"], tablets["d1"], tablets["d2"]
        await chair.ok(OpenPoll(chair.op(), "p-budget", override_quorum=True))
        await until(
            lambda: any(
                p.id == "p-budget" and p.state is PollState.OPEN
                for p in d2.of_type(PollsState)[-1].polls
            )
        )
        for t, who in ((d1, "d1"), (d2, "d2")):
            await t.do(CastBallot(t.op(), "p-budget", who, (YES,)))
        backing_up = asyncio.create_task(
            asyncio.to_thread(provision, "backup", "--config", str(config), str(backup))
        )
        votes = 0
        while not backing_up.done():  # the room keeps writing while it is copied
            choice = (NO, YES)[votes % 2]
            await asyncio.gather(
                d1.do(CastBallot(d1.op(), "p-budget", "d1", (choice,))),
                d2.do(CastBallot(d2.op(), "p-budget", "d2", (choice,))),
            )
            votes += 1
        result = await backing_up
        assert result.returncode == 0, result.stderr
        assert "backup of room council written to" in result.stdout
        for t in tablets.values():
            await t.stop()
    assert votes >= 1
    with tarfile.open(backup) as tar:
        names = set(tar.getnames())
    assert {"backup.json", "room.sqlite3", *KEY_FILES} <= names
    assert not names & {"server.json", "room.sqlite3-wal", "room.sqlite3-shm"}
    assert (backup.stat().st_mode & 0o777) == 0o600

    # Into a fresh directory, as on a new box: the same room's configuration, no state yet.
    fresh = tmp_path / "fresh"
    fresh_config = fresh / "etc" / "room-server.toml"
    fresh_config.parent.mkdir(parents=True)
    fresh_config.write_text(
        config.read_text(encoding="utf-8").replace(str(live_state), str(fresh / "state")),
        encoding="utf-8",
    )
    restored = provision("restore", "--config", str(fresh_config), str(backup))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "restored room council" in restored.stdout
    assert "database integrity check: ok" in restored.stdout
    fresh_state = fresh / "state"
    assert key_bytes(fresh_state) == key_bytes(live_state)
    assert (fresh_state.stat().st_mode & 0o777) == 0o700

    def rows(state: Path, sql: str) -> list[tuple[Any, ...]]:
        conn = sqlite3.connect(f"file:{state / 'room.sqlite3'}?mode=ro", uri=True)
        try:
            return conn.execute(sql).fetchall()
        finally:
            conn.close()

    assert rows(fresh_state, "PRAGMA integrity_check") == [("ok",)]
    signed_in = {r[0] for r in rows(fresh_state, "SELECT delegate_id FROM sign_ins")}
    assert signed_in >= set(SEATS)
    voters = rows(
        fresh_state, "SELECT DISTINCT delegate_id FROM named_votes WHERE poll_id = 'p-budget'"
    )
    assert {r[0] for r in voters} == {"d1", "d2"}
    # One commit's state: every entry copied is the live room's entry of that number.
    copied = rows(fresh_state, "SELECT seq, hash FROM audit_log ORDER BY seq")
    live = dict(rows(live_state, "SELECT seq, hash FROM audit_log"))
    assert copied and all(live[seq] == digest for seq, digest in copied)
    verified = room_cli(fresh_config, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    # The restored room serves and the doctor finds it good.
    with serving(fresh_config):
        code, report = await asyncio.to_thread(doctor, fresh_config)
        assert code == 0, report


def test_restore_refuses_another_room_unless_forced_and_a_running_server(tmp_path: Path) -> None:
    a = made_room(tmp_path / "a", "room-a")
    b = made_room(tmp_path / "b", "room-b")
    backup = tmp_path / "a-backup"
    made = provision("backup", "--config", str(a), str(backup))  # a folder; no server running
    assert made.returncode == 0, made.stderr
    b_state = tmp_path / "b" / "state"
    before = key_bytes(b_state)

    refused = provision("restore", "--config", str(b), str(backup))
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "the backup is of room 'room-a', this configuration is room 'room-b'" in refused.stderr
    assert "--force restores it anyway" in refused.stderr
    assert key_bytes(b_state) == before
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["etc", "state"]

    with serving(b, "room-b"):
        running = provision("restore", "--config", str(b), str(backup), "--force")
        assert running.returncode == 2, running.stdout + running.stderr
        assert "the room server is running" in running.stderr
        assert key_bytes(b_state) == before

    owner = (4242, 4343)  # as the server's user owns its state directory on a real box
    if os.geteuid() == 0:
        for path in (b_state, *b_state.rglob("*")):
            os.lchown(path, *owner)
    forced = provision("restore", "--config", str(b), str(backup), "--force")
    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert key_bytes(b_state) == key_bytes(tmp_path / "a" / "state")
    if os.geteuid() == 0:  # restored by root for that user: the files are the user's
        owners = {(p.lstat().st_uid, p.lstat().st_gid) for p in (b_state, *b_state.rglob("*"))}
        assert owners == {owner}
    kept = [p for p in (tmp_path / "b").iterdir() if p.name.startswith("state.before-restore-")]
    assert len(kept) == 1 and key_bytes(kept[0]) == before


def test_restore_refuses_a_room_with_another_ca(tmp_path: Path) -> None:
    """Same room id, another room CA (a room made again with --force): tablets enrolled
    with the CA in place would not trust the restored one."""
    config = made_room(tmp_path)
    backup = tmp_path / "old.tar"
    assert provision("backup", "--config", str(config), str(backup)).returncode == 0
    assert room_cli(config, "init", "--force").returncode == 0
    refused = provision("restore", "--config", str(config), str(backup))
    assert refused.returncode == 1
    assert "the backup's room CA" in refused.stderr and "would not trust it" in refused.stderr


def test_restore_refuses_a_damaged_or_hostile_backup_and_changes_nothing(tmp_path: Path) -> None:
    config = made_room(tmp_path / "room")
    state = tmp_path / "room" / "state"
    before = key_bytes(state)
    folder = tmp_path / "backup"
    assert provision("backup", "--config", str(config), str(folder)).returncode == 0
    (folder / "tls" / "ca.pem").write_text("changed")
    damaged = provision("restore", "--config", str(config), str(folder))
    assert damaged.returncode == 2
    assert "the backup is damaged: changed since the backup: tls/ca.pem" in damaged.stderr

    hostile = tmp_path / "hostile.tar"
    with tarfile.open(hostile, "w") as tar:
        tar.add(folder / "backup.json", arcname="backup.json")
        tar.add(folder / "room.sqlite3", arcname="../escaped.sqlite3")
    refused = provision("restore", "--config", str(config), str(hostile))
    assert refused.returncode == 2 and "not a backup archive" in refused.stderr, refused.stderr
    assert not (tmp_path / "escaped.sqlite3").exists()

    not_backup = provision("restore", "--config", str(config), str(tmp_path / "nothing"))
    assert not_backup.returncode == 2 and "no backup at" in not_backup.stderr
    assert key_bytes(state) == before
    assert sorted(p.name for p in (tmp_path / "room").iterdir()) == ["etc", "state"]


def test_backup_refuses_an_existing_destination(tmp_path: Path) -> None:
    config = made_room(tmp_path)
    dest = tmp_path / "there.tar"
    dest.write_bytes(b"keep me")
    result = provision("backup", "--config", str(config), str(dest))
    assert result.returncode == 2 and "exists: name a new folder or .tar file" in result.stderr
    assert dest.read_bytes() == b"keep me"
    inside = provision("backup", "--config", str(config), str(tmp_path / "state" / "b"))
    assert inside.returncode == 2 and "is inside the state directory" in inside.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="giving files to other users needs root")
def test_restore_on_a_new_box_does_not_give_files_to_the_archives_user_ids(
    tmp_path: Path,
) -> None:
    config = made_room(tmp_path / "old")
    folder = tmp_path / "backup"
    assert provision("backup", "--config", str(config), str(folder)).returncode == 0
    for path in (folder, *folder.rglob("*")):
        os.lchown(path, 4242, 4343)  # the old box's hemicycle user: someone else here
    new_config = tmp_path / "new" / "room-server.toml"
    new_config.parent.mkdir()
    new_config.write_text(
        config.read_text(encoding="utf-8").replace(
            str(tmp_path / "old" / "state"), str(tmp_path / "new" / "state")
        ),
        encoding="utf-8",
    )
    restored = provision("restore", "--config", str(new_config), str(folder))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    state = tmp_path / "new" / "state"
    assert {(p.lstat().st_uid, p.lstat().st_gid) for p in (state, *state.rglob("*"))} == {(0, 0)}
    assert "kept as" not in restored.stdout  # there was nothing to replace
