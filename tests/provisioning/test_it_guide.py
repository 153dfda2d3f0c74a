"""docs/it-guide.md runs: every ``$`` line of its ``console`` blocks, in order, in a
staging root, with the real ``room-provision`` and ``room-server``.

What the staging root changes, and only that: the guide's paths (/etc/hemicycle,
/var/lib/hemicycle, /var/backups/hemicycle, and /mnt/stick, where a stick is mounted: an
empty folder made first) move under a temporary folder; the room network's address
192.0.2.10 becomes 127.0.0.1 on a free port (``--port 0``, so that no other test's room
is in the way); ``systemctl enable --now|start|stop|restart`` of the room server unit
starts or stops ``room-server --config … run`` as the unit does (systemd does not run
the test box). Every command must succeed. Steps that need a real tablet or the box's
own services (avahi) are ``text`` blocks: shown, not run.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from tests.rooms import die_with_the_tests, timeout

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "it-guide.md"
UNIT = "hemicycle-room-server.service"
CONFIG = "/etc/hemicycle/room-server.toml"
STICK = "/mnt/stick"
STAGED = ("/etc/hemicycle", "/var/lib/hemicycle", "/var/backups/hemicycle", STICK)


def console_commands(text: str) -> list[str]:
    commands = []
    for block in re.findall(r"```console\n(.*?)```", text, flags=re.S):
        commands += [line[2:] for line in block.splitlines() if line.startswith("$ ")]
    return commands


def staged(command: str, root: Path) -> str:
    command = command.replace("--interface 192.0.2.10", "--interface 192.0.2.10 --port 0")
    command = command.replace("192.0.2.10", "127.0.0.1")
    for path in STAGED:
        command = command.replace(path, f"{root}{path}")
    return command


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
    for words in (["enroll", "--seat"], ["devices", "revoke"], ["devices", "void-codes"]):
        assert any(" ".join(words) in c for c in commands), words
    assert ["room-provision", "backup"] in programs and ["room-provision", "restore"] in programs


def test_every_console_command_of_the_guide_runs(tmp_path: Path) -> None:
    unit = StagedUnit(Path(f"{tmp_path}{CONFIG}"), Path(f"{tmp_path}/var/lib/hemicycle"))
    Path(f"{tmp_path}{STICK}").mkdir(parents=True)  # the stick, mounted
    try:
        for command in console_commands(GUIDE.read_text(encoding="utf-8")):
            argv = shlex.split(staged(command, tmp_path))
            # Never the box's own files: every path the command names is staged.
            assert all(not a.startswith("/") or a.startswith(str(tmp_path)) for a in argv[1:]), (
                command
            )
            if argv[0] in ("room-provision", "room-server"):
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
            }.get(argv[0], argv[:1])
            result = subprocess.run(
                [*program, *argv[1:]],
                capture_output=True,
                text=True,
                timeout=timeout(120),
                check=False,
                preexec_fn=die_with_the_tests(),
            )
            assert result.returncode == 0, (command, result.stdout, result.stderr)
    finally:
        unit.stop()
