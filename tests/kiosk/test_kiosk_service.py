"""The seat tablet and the room display, run as their kiosk units run them, tell systemd
they are ready, feed its watchdog from the Qt thread's loop and say they stop on SIGTERM
(sd_notify through a real datagram socket; the app under the compositor speaks for the
unit's main process, so WATCHDOG_PID is another process's)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.rooms import RunningRoom, enroll_device, running_room, timeout


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> RunningRoom:  # type: ignore[misc]
    with running_room(tmp_path_factory.mktemp("kiosk-service") / "room", mdns=False) as room:
        yield room


def messages(sock: socket.socket, process: subprocess.Popen[bytes], until: str) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout(60)
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the app exited with {process.returncode}"
        try:
            seen.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
        if any(until in m.split("\n") for m in seen):
            return seen
    raise AssertionError(f"{until} never came: {seen}")


@pytest.mark.parametrize("app", ["tablet_client", "kiosk"])
def test_ready_watchdog_and_stopping(room: RunningRoom, tmp_path: Path, app: str) -> None:
    credentials = enroll_device(
        room.state_dir, f"svc-{app.replace('_', '-')}", display=app == "kiosk"
    )
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(0.5)
        command = [
            sys.executable,
            "-m",
            app,
            "--device-dir",
            str(credentials.directory),
            "--server",
            f"{room.hostname}:{room.port}",
            "--address",
            "127.0.0.1",
        ]
        if app == "tablet_client":
            command += ["--room", room.room_id, "--cache-dir", str(tmp_path / "cache")]
        else:
            command += ["--windowed"]
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "NOTIFY_SOCKET": str(path),
            "WATCHDOG_USEC": "200000",  # fed every 0.1 s
            "WATCHDOG_PID": "1",  # the compositor's, in the unit
        }
        log = (tmp_path / "app.log").open("wb")
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            messages(sock, process, "READY=1")
            fed = messages(sock, process, "WATCHDOG=1")
            assert fed[-1] == "WATCHDOG=1"
            process.send_signal(signal.SIGTERM)
            messages(sock, process, "STOPPING=1")
            assert process.wait(timeout(60)) == 0, (tmp_path / "app.log").read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
