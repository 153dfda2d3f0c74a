"""docs/it-guide.md runs: every ``$`` line of its ``console`` blocks, in order, in a
staging root, with the real ``room-provision`` and ``room-server``.

What the staging root changes, and only that: the guide's paths (/etc/hemicycle,
/var/lib/hemicycle, /var/backups/hemicycle, and /mnt/stick, where a stick is mounted: an
empty folder made first) move under a temporary folder; the room network's address
192.0.2.10 becomes 127.0.0.1 on a free port (``--port 0``, so that no other test's room
is in the way); ``systemctl enable --now|start|stop|restart`` of the room server unit
starts or stops ``room-server --config … run`` as the unit does (systemd does not run
the test box). The install stick (/media/stick) is a folder in the staging root too;
``bundle`` takes its wheels from a local index packed from this venv (``--no-index
--find-links``: never the network); ``install`` installs into the staging root
(``--root``) without making the venv (``--no-venv``: tests/provisioning/test_install.py
makes a real one); ``python3`` is the interpreter this venv was made from, with no
Hemicycle and no dependency installed, as on a bare box. ``cd`` and ``NAME=value`` before
a command work as in a shell. Every command must succeed, and does what the guide
promises of it where that is more than succeeding: ``rotate server-certificate`` keeps the
room CA, ``rotate ca`` replaces it, and a tablet enrolled with the code made after it
connects to the room. Steps that need a real tablet
or the box's own services (avahi) are ``text`` blocks: shown, not run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from provisioning import wheels
from room_client.connection import RoomEndpoint
from room_client.enrollment import DeviceCredentials, enroll
from room_protocol.enrollment import PairingCode
from tests.live_clients import connects
from tests.rooms import die_with_the_tests, timeout

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "it-guide.md"
UNIT = "hemicycle-room-server.service"
CONFIG = "/etc/hemicycle/room-server.toml"
NO_CONFIG = ("bundle", "install", "sample-package")  # commands that read no room configuration
STICK = "/mnt/stick"
STAGED = ("/etc/hemicycle", "/var/lib/hemicycle", "/var/backups/hemicycle", STICK, "/media/")


def console_commands(text: str) -> list[str]:
    commands = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        commands += [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    return commands


def staged(command: str, root: Path, wheel_cache: Path) -> str:
    command = command.replace("--interface 192.0.2.10", "--interface 192.0.2.10 --port 0")
    command = command.replace("192.0.2.10", "127.0.0.1")
    for path in STAGED:
        command = command.replace(path, f"{root}{path}")
    if command.startswith("room-provision bundle "):
        command += f" --no-index --find-links {wheel_cache}"
    if " provisioning.cli install " in command:
        command += f" --root {root} --no-venv"
    return command


@pytest.fixture(scope="module")
def wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The room server's dependencies as this venv has them, packed back into wheels."""
    cache = tmp_path_factory.mktemp("wheel-cache")
    for name in [*wheels.installed_closure(wheels.PROJECT, ("server", "provisioning"))[1:]]:
        wheels.pack_installed(name, cache)
    wheels.pack_installed("pip", cache)
    return cache


async def enroll_and_connect(state: Path, code: str, device: Path) -> None:
    """A tablet enrolls with ``code`` in the staged room, then joins it over TLS."""
    info = json.loads((state / "server.json").read_text())
    endpoint = RoomEndpoint(info["hostname"], int(info["port"]), "127.0.0.1", info["room_name"])
    credentials = DeviceCredentials(device)
    await enroll(endpoint.uri, "127.0.0.1", endpoint.port, PairingCode.parse(code), credentials)
    assert await connects(endpoint, credentials)


class Promises:
    """What the guide says of a command beyond its exit status, checked after it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.state = Path(f"{root}/var/lib/hemicycle")
        self.ca_before: bytes | None = None
        self.ca_rotated = False
        self.checked: list[str] = []

    def before(self) -> None:
        ca = self.state / "tls" / "ca.pem"
        self.ca_before = ca.read_bytes() if ca.exists() else None

    def after(self, command: str, stdout: str) -> None:
        ca = self.state / "tls" / "ca.pem"
        if command.endswith(" rotate server-certificate"):
            assert ca.read_bytes() == self.ca_before, "the room CA must be kept"
            self.checked.append("server-certificate")
        elif command.endswith(" rotate ca"):
            assert ca.read_bytes() != self.ca_before, "the room CA must be new"
            self.ca_rotated = True
            self.checked.append("ca")
        elif self.ca_rotated and " enroll --seat " in command:
            found = re.search(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){3}\b", stdout)
            assert found, stdout
            device = self.root / "tablet-after-rotation"
            asyncio.run(enroll_and_connect(self.state, found.group(0), device))
            self.checked.append("enrolled after rotation")


class StagedUnit:
    """The room server unit, as ``systemctl`` would run it."""

    def __init__(self, config: Path, state: Path) -> None:
        self.config, self.state = config, state
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.process is None, "started twice"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "room_server", "--config", str(self.config), "run"],
            stdout=(self.state.parent / "room-server.log").open("ab"),
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_the_tests(),
        )
        deadline = time.monotonic() + timeout(30)
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            with contextlib.suppress(OSError, ValueError):
                info = json.loads((self.state / "server.json").read_text())
                if info["pid"] == self.process.pid:
                    return
            time.sleep(0.05)
        raise TimeoutError("the room server did not start")

    def log(self) -> str:
        return (self.state.parent / "room-server.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            assert self.process.wait(timeout(15)) == 0, self.log()
            self.process = None


def test_the_guide_has_the_steps() -> None:
    commands = console_commands(GUIDE.read_text(encoding="utf-8"))
    programs = [shlex.split(c)[:2] for c in commands]
    for step in (
        ["room-provision", "init"],
        ["room-provision", "doctor"],
        ["room-provision", "stick"],
    ):
        assert step in programs
    assert ["room-provision", "bundle"] in programs
    assert any(" -m provisioning.cli install --from " in c for c in commands)
    assert programs.index(["room-provision", "bundle"]) < programs.index(["room-provision", "init"])
    for words in (
        ["enroll", "--seat"],
        ["devices", "revoke"],
        ["devices", "void-codes"],
        ["rotate", "server-certificate"],
        ["rotate", "ca"],
    ):
        assert any(" ".join(words) in c for c in commands), words
    assert ["room-provision", "backup"] in programs and ["room-provision", "restore"] in programs


def test_every_console_command_of_the_guide_runs(tmp_path: Path, wheel_cache: Path) -> None:
    unit = StagedUnit(Path(f"{tmp_path}{CONFIG}"), Path(f"{tmp_path}/var/lib/hemicycle"))
    promises = Promises(tmp_path)
    (tmp_path / "media/stick").mkdir(parents=True)  # the install stick, mounted
    Path(f"{tmp_path}{STICK}").mkdir(parents=True)  # the enrollment stick, mounted
    cwd = tmp_path
    try:
        for command in console_commands(GUIDE.read_text(encoding="utf-8")):
            argv = shlex.split(staged(command, tmp_path, wheel_cache))
            env = {**os.environ}
            while "=" in argv[0]:
                name, _, value = argv.pop(0).partition("=")
                env[name] = value
            # Never the box's own files: every path the command names is staged.
            named = [*argv[1:], *(v for k, v in env.items() if k not in os.environ)]
            assert all(
                not a.startswith("/") or a.startswith((str(tmp_path), str(wheel_cache)))
                for a in named
            ), command
            if argv[0] == "cd":
                cwd = Path(argv[1])
                continue
            if argv[0] in ("room-provision", "room-server") and argv[1] not in NO_CONFIG:
                assert "--config" in argv, f"{command}: without --config it reads {CONFIG}"
            if argv[0] == "systemctl":
                assert argv[-1] == UNIT, command
                {
                    "enable": unit.start,
                    "start": unit.start,
                    "stop": unit.stop,
                    "restart": lambda: (unit.stop(), unit.start()),
                }[argv[1]]()
                continue
            program = {
                "room-provision": [sys.executable, "-m", "provisioning.cli"],
                "room-server": [sys.executable, "-m", "room_server"],
                "python3": [str(getattr(sys, "_base_executable", sys.executable))],
            }.get(argv[0], argv[:1])
            promises.before()
            result = subprocess.run(
                [*program, *argv[1:]],
                capture_output=True,
                text=True,
                timeout=timeout(120),
                check=False,
                preexec_fn=die_with_the_tests(),
                cwd=cwd,
                env=env,
            )
            assert result.returncode == 0, (command, result.stdout, result.stderr)
            promises.after(command, result.stdout)
    finally:
        unit.stop()
    assert promises.checked == ["server-certificate", "ca", "enrolled after rotation"]
