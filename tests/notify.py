"""A service manager's notify socket for tests: what a program tells systemd (sd_notify)."""

from __future__ import annotations

import socket
import subprocess
import time

from tests.rooms import timeout


def notices_until(
    sock: socket.socket,
    until: str,
    seconds: float,
    process: subprocess.Popen[bytes] | None = None,
) -> list[str]:
    """The datagrams on ``sock`` up to the first holding the line ``until`` (``READY=1``);
    ``process``, if given, must stay alive meanwhile. ``sock`` has a short timeout."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout(seconds)
    while time.monotonic() < deadline:
        if process is not None:
            assert process.poll() is None, f"the program exited with {process.returncode}"
        try:
            seen.append(sock.recv(4096).decode())
        except TimeoutError:
            continue
        if any(until in message.split("\n") for message in seen):
            return seen
    raise AssertionError(f"{until} never came: {seen}")
