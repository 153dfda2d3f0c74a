"""``hemicycle-display`` as a process: finds the room over mDNS (127.0.0.1 only), joins it
as an observer and saves one screenshot; and its argument checks."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from kiosk.display_app import display_name, main, parse_args
from room_protocol.live import FloorKind, GrantFloor, RequestFloor, SetCurrentItem
from tests.kiosk.conftest import SHOTS, not_blank
from tests.live_clients import Tablet
from tests.rooms import running_room, timeout


async def test_screenshot_of_a_room_found_over_mdns(tmp_path: Path, package_dir: Path) -> None:
    with running_room(
        tmp_path / "room", package=package_dir, room_name="Phòng họp số 2", hostname="room-two"
    ) as room:
        chair = await Tablet(room, "tablet-chair", "A1").start()
        await chair.sign_in("chair", "1111")
        d1 = await Tablet(room, "tablet-d1", "A2").start()
        await d1.sign_in("d1", "2222")
        d3 = await Tablet(room, "tablet-d3", "A4").start()
        await d3.sign_in("d3", "6666")
        await chair.ok(SetCurrentItem(chair.op(), "budget-debate"))
        await d1.ok(RequestFloor(d1.op()))
        await d3.ok(RequestFloor(d3.op(), FloorKind.POINT_OF_ORDER))
        await chair.ok(GrantFloor(chair.op(), "d1"))

        path = SHOTS / "display-cli-vi.png"
        path.unlink(missing_ok=True)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kiosk",
            "--device-dir",
            str(room.device("display-cli", display=True).directory),
            "--room",
            room.room_id,
            "--interface",
            "127.0.0.1",
            "--language",
            "vi",
            "--screenshot",
            str(path),
            "--timeout",
            "20",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout(40))
        await asyncio.gather(chair.stop(), d1.stop(), d3.stop())
    assert process.returncode == 0, err.decode()
    assert f"screenshot: {path}" in out.decode()
    image = QImage(str(path))
    assert (image.width(), image.height()) == (1920, 1080)
    not_blank(image, "display-cli-vi")


def test_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = parse_args(["--server", "room-two.local:8443", "--windowed"])
    assert (args.server, args.room_id, args.windowed, args.language) == (
        "room-two.local:8443",
        None,
        True,
        "en",
    )
    assert args.cache_dir.name == "hemicycle-display"
    assert parse_args(["--room", "r", "--cache-dir", "/srv/d"]).cache_dir == Path("/srv/d")
    with pytest.raises(SystemExit):
        parse_args([])  # which room?
    with pytest.raises(SystemExit):
        parse_args(["--room", "r", "--server", "h:1"])
    with pytest.raises(SystemExit):
        parse_args(["--room", "r", "--address", "10.0.0.2"])
    capsys.readouterr()
    assert main(["--device-dir", str(tmp_path), "--server", "no-port"]) == 2
    assert "HOSTNAME:PORT" in capsys.readouterr().err
    assert display_name().startswith("Room display ")
