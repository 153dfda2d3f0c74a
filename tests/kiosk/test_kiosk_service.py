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
from pathlib import Path

import pytest

from tests.notify import notices_until
from tests.rooms import RunningRoom, enroll_device, running_room, timeout


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> RunningRoom:  # type: ignore[misc]
    with running_room(tmp_path_factory.mktemp("kiosk-service") / "room", mdns=False) as room:
        yield room


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
            notices_until(sock, "READY=1", 60, process)
            fed = notices_until(sock, "WATCHDOG=1", 60, process)
            assert fed[-1] == "WATCHDOG=1"
            process.send_signal(signal.SIGTERM)
            notices_until(sock, "STOPPING=1", 60, process)
            assert process.wait(timeout(60)) == 0, (tmp_path / "app.log").read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
