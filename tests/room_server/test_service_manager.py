"""The room server tells systemd it is ready, feeds the watchdog from its event loop and
says it is stopping (sd_notify), through a real datagram socket as systemd gives it."""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from room_protocol.service_manager import notify, watchdog_interval
from room_server.app import exposure
from room_server.config import ServerConfig
from tests.notify import notices_until
from tests.rooms import start_room, timeout


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(timeout(10))
    try:
        yield sock, str(path)
    finally:
        sock.close()


def test_notify_speaks_the_datagram_protocol(manager: tuple[socket.socket, str]) -> None:
    sock, path = manager
    assert notify("READY=1", "STATUS=hello", environ={"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1\nSTATUS=hello"
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    abstract.bind(f"\0hemicycle-test-{os.getpid()}")
    with abstract:
        assert notify("WATCHDOG=1", environ={"NOTIFY_SOCKET": f"@hemicycle-test-{os.getpid()}"})
        assert abstract.recv(4096) == b"WATCHDOG=1"


def test_without_a_manager_or_a_reachable_one_nothing_happens(tmp_path: Path) -> None:
    assert not notify("READY=1", environ={})
    assert not notify("READY=1", environ={"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert not notify("READY=1", environ={"NOTIFY_SOCKET": "relative/path"})


def test_the_watchdog_interval_is_half_the_timeout_for_this_process_only() -> None:
    mine = str(os.getpid())
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": mine}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}, any_process=True)
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "soon"}) is None


def test_the_server_is_ready_feeds_the_watchdog_and_says_it_stops(
    tmp_path: Path, manager: tuple[socket.socket, str]
) -> None:
    sock, path = manager
    env = {"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "200000"}  # fed every 0.1 s
    room = start_room(tmp_path / "room", mdns=False, env=env)
    try:
        ready = notices_until(sock, "READY=1", 30)
        assert any(f"port {room.port}" in m for m in ready), ready
        feeds = 0
        while feeds < 3:
            feeds += sock.recv(4096) == b"WATCHDOG=1"
        room.process.send_signal(signal.SIGTERM)
        notices_until(sock, "STOPPING=1", 30)
        assert room.process.wait(timeout(30)) == 0
    finally:
        if room.process.poll() is None:
            room.process.kill()
            room.process.wait()


def test_a_room_on_every_interface_says_so_with_the_setting_to_change() -> None:
    addresses = ["192.0.2.10", "198.51.100.7"]
    wide = ServerConfig(room_id="r", room_name="R")
    lines = exposure(wide, 8443, addresses)
    assert all(warn for warn, _ in lines)
    assert "every address of this machine (192.0.2.10, 198.51.100.7) port 8443" in lines[0][1]
    assert "[server] host" in lines[0][1]
    assert "every interface (192.0.2.10, 198.51.100.7)" in lines[1][1]
    assert "[mdns] interfaces" in lines[1][1]
    narrow = ServerConfig(
        room_id="r", room_name="R", host="192.0.2.10", mdns_interfaces=("192.0.2.10",)
    )
    assert exposure(narrow, 8443, addresses) == [
        (False, "listening on 192.0.2.10 port 8443"),
        (False, "advertising over mDNS on 192.0.2.10"),
    ]
    quiet = ServerConfig(room_id="r", room_name="R", host="127.0.0.1", mdns_enabled=False)
    assert [warn for warn, _ in exposure(quiet, 1, addresses)] == [False, False]


def test_the_server_logs_where_it_listens(tmp_path: Path) -> None:
    room = start_room(tmp_path / "room", mdns=False)
    try:
        log = (tmp_path / "room" / "server.log").read_text()
        assert f"listening on 127.0.0.1 port {room.port}" in log
        assert "not advertising over mDNS" in log
    finally:
        room.stop()
