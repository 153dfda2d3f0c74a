"""Enrolling many devices at once (room_server.devices.provision_many, for load tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from room_client.connection import open_channel
from room_client.enrollment import DeviceCredentials
from room_protocol.messages import Channel
from room_server import devices
from room_server.store import Store
from tests.rooms import offline_room, running_room, timeout, write_package


def _wanted(root: Path, ids: list[str]) -> list[devices.Provision]:
    return [devices.Provision(root / i, i, f"S{n}", f"Tablet {i}") for n, i in enumerate(ids)]


def test_many_devices_are_enrolled_at_their_seats_and_each_can_connect(tmp_path: Path) -> None:
    with running_room(tmp_path / "room", package=write_package(tmp_path / "pkg")) as room:
        ids = ["bench-a", "bench-b", "bench-c"]
        with Store(room.state_dir / "room.sqlite3", room.state_dir / "documents") as store:
            made = devices.provision_many(
                store, devices.Authority.in_dir(room.state_dir / "tls"), _wanted(tmp_path, ids)
            )
            stored = {d.device_id: d for d in devices.devices(store)}
        assert [d.device_id for d in made] == ids
        assert {i: stored[i].seat_id for i in ids} == {
            "bench-a": "S0",
            "bench-b": "S1",
            "bench-c": "S2",
        }
        assert len({d.serial for d in made}) == 3

        async def welcome(device_id: str) -> tuple[str | None, str | None]:
            credentials = DeviceCredentials(tmp_path / device_id)
            ws, hello = await asyncio.wait_for(
                open_channel(
                    room.endpoint(), credentials.context(), Channel.CONTROL, "says-anything"
                ),
                timeout(10),
            )
            await ws.close()
            return hello.device_id, hello.seat_id

        assert asyncio.run(welcome("bench-b")) == ("bench-b", "S1")


def test_a_refused_device_enrolls_none_of_the_batch_and_writes_no_file(tmp_path: Path) -> None:
    state = offline_room(tmp_path)
    authority = devices.Authority.in_dir(state / "tls")
    with Store(state / "room.sqlite3", state / "documents") as store:
        devices.provision_files(store, authority, tmp_path / "first", device_id="taken")
        wanted = _wanted(tmp_path / "batch", ["fresh-1", "taken", "fresh-2"])
        with pytest.raises(devices.EnrollmentError, match="already enrolled"):
            devices.provision_many(store, authority, wanted)
        bad_seat = [devices.Provision(tmp_path / "batch" / "x", "x", "no seat!")]
        with pytest.raises(devices.EnrollmentError, match="not a seat id"):
            devices.provision_many(store, authority, bad_seat)
        assert [d.device_id for d in devices.devices(store)] == ["taken"]
    assert not (tmp_path / "batch").exists()
