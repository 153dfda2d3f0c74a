"""Real python-zeroconf advertising (room server process) and browsing (tablet code).

Bound to 127.0.0.1, or to addresses inside network namespaces the test creates.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from room_client.connection import RoomConnection, RoomEndpoint
from room_client.discovery import DiscoveredRoom, RoomBrowser
from room_protocol.discovery import DOT_STAND_IN, SERVICE_TYPE
from tests import netns
from tests.rooms import announcement_of, running_room, timeout


async def test_tablet_finds_the_room_on_loopback(tmp_path: Path, package_dir: Path) -> None:
    with running_room(
        tmp_path / "room",
        package=package_dir,
        room_name="Phòng họp 7, Tầng 2.1",
        hostname="room-seven",
    ) as room:
        found: list[list[DiscoveredRoom]] = []
        browser = RoomBrowser(found.append, interfaces=("127.0.0.1",))
        started = time.monotonic()
        await browser.start()
        try:
            await wait_for(
                lambda: any(r.room.room_id == room.room_id for r in latest(found)), "the room"
            )
            elapsed = time.monotonic() - started
            mine = next(r for r in latest(found) if r.room.room_id == room.room_id)
            assert mine.room == announcement_of(room)
            # One DNS label for the instance; the room's own name, dot included, from TXT.
            assert mine.service_name == f"Phòng họp 7, Tầng 2{DOT_STAND_IN}1.{SERVICE_TYPE}"
            assert mine.room.room_name == "Phòng họp 7, Tầng 2.1"
            assert mine.hostname == "room-seven.local"
            assert mine.port == room.port
            assert "127.0.0.1" in mine.addresses
            print(f"discovery took {elapsed * 1000:.0f} ms")
            # The advertised name and address lead to the room over TLS.
            meetings: list[object] = []
            connection = RoomConnection(
                RoomEndpoint(mine.hostname, mine.port, mine.addresses[0], mine.room.room_name),
                room.device("seat-a1"),
                on_meeting=meetings.append,
            )
            connection.start()
            await wait_for(lambda: bool(meetings), "the meeting over TLS")
            await connection.stop()
            # SIGTERM withdraws the advertisement (goodbye packets).
            assert await asyncio.to_thread(room.stop) == 0
            await wait_for(
                lambda: all(r.room.room_id != room.room_id for r in latest(found)),
                "the room withdrawn",
            )
        finally:
            await browser.stop()


def latest(found: list[list[DiscoveredRoom]]) -> list[DiscoveredRoom]:
    return found[-1] if found else []


async def wait_for(condition, what: str, seconds: float = 10) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout(seconds)
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not seen within {timeout(seconds):g} s"
        await asyncio.sleep(0.02)


BROWSE_AND_CONNECT = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from pathlib import Path
    from room_client.connection import RoomConnection, RoomEndpoint
    from room_client.enrollment import DeviceCredentials
    from room_client.discovery import RoomBrowser

    async def main() -> None:
        address, device_dir = sys.argv[1], Path(sys.argv[2])
        rooms = []
        started = time.monotonic()
        browser = RoomBrowser(lambda found: rooms.extend(found), interfaces=(address,))
        await browser.start()
        while not rooms and time.monotonic() - started < 20:
            await asyncio.sleep(0.02)
        elapsed = time.monotonic() - started
        await browser.stop()
        room = rooms[0]
        meetings = []
        connection = RoomConnection(
            RoomEndpoint(room.hostname, room.port, room.addresses[0]),
            DeviceCredentials(device_dir),
            on_meeting=meetings.append,
        )
        connection.start()
        while not meetings and time.monotonic() - started < 30:
            await asyncio.sleep(0.02)
        await connection.stop()
        print(json.dumps({"room": room.room.room_id, "addresses": room.addresses,
                          "seconds": elapsed, "title": meetings[0].title}))

    asyncio.run(main())
    """
)


@pytest.mark.netns
def test_tablet_finds_the_room_across_network_namespaces(tmp_path: Path, package_dir: Path) -> None:
    reason = netns.unavailable_reason()
    if reason:
        pytest.skip(reason)
    with (
        netns.two_hosts() as (server_host, tablet_host),
        running_room(
            tmp_path / "room",
            package=package_dir,
            command_prefix=server_host.prefix(),
            host=server_host.address,
            interfaces=(server_host.address,),
            hostname="ns-room",
        ) as room,
    ):
        result = subprocess.run(
            [
                *tablet_host.prefix(),
                sys.executable,
                "-c",
                BROWSE_AND_CONNECT,
                tablet_host.address,
                str(room.device("seat-b").directory),
            ],
            capture_output=True,
            text=True,
            timeout=timeout(60),
            check=False,
        )
        assert result.returncode == 0, result.stderr
        seen = json.loads(result.stdout)
        assert seen["room"] == room.room_id
        assert seen["addresses"] == [server_host.address]
        assert seen["title"] == "Test council"
        print(f"discovery across namespaces took {seen['seconds'] * 1000:.0f} ms")
        assert room.stop() == 0
