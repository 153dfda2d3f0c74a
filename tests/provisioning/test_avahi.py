"""Living with the box's own mDNS stack: avahi-daemon sees the room by its one-label
instance name, and ``doctor`` says whether it does.

The parsing and the check are tested with avahi-browse's own output; then, in network
namespaces, a real room server beside a real avahi-daemon (the appliance), and a second
avahi-daemon on a "tablet" host with the tablet's own browser next to it.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from provisioning.doctor import (
    AvahiService,
    Probes,
    Status,
    avahi_browse,
    avahi_check,
    avahi_unescape,
    parse_avahi_browse,
)
from provisioning.doctor import _avahi as doctor_avahi
from room_protocol.discovery import RoomAnnouncement
from tests import avahi, netns
from tests.rooms import running_room, timeout

# What avahi-browse -rtp printed for a room named "Council Chamber, Bldg. 2 — Phòng họp".
BROWSED = (
    rb"+;vb;IPv4;Council\032Chamber\044\032Bldg\226\128\164\0322\032\226\128\148\032Ph\195"
    rb"\178ng\032h\225\187\141p;_hemicycle._tcp;local" + b"\n"
    rb"=;vb;IPv4;Council\032Chamber\044\032Bldg\226\128\164\0322\032\226\128\148\032Ph\195"
    rb"\178ng\032h\225\187\141p;_hemicycle._tcp;local;hemi-a.local;198.18.9.1;8443;"
    rb'"fp=0123456789abcdef" "pv=3" "name=Council Chamber, Bldg. 2 \226\128\148 Ph\195\178ng'
    rb' h\225\187\141p" "room=council" "txtvers=1"' + b"\n"
)
NAME = "Council Chamber, Bldg. 2 — Phòng họp"


def test_avahi_browse_output_is_read_back_to_the_names() -> None:
    [service] = parse_avahi_browse(BROWSED)
    assert service == AvahiService(
        interface="vb",
        protocol="IPv4",
        instance=RoomAnnouncement("council", NAME, 3, "0" * 16).instance_name(),
        hostname="hemi-a.local",
        address="198.18.9.1",
        port=8443,
        txt={"fp": "0123456789abcdef", "pv": "3", "name": NAME, "room": "council", "txtvers": "1"},
    )
    assert avahi_unescape(rb"a\\b\"c\059d") == 'a\\b"c;d'


def test_the_avahi_check_says_what_avahi_sees_and_how_to_fix_it() -> None:
    [service] = parse_avahi_browse(BROWSED)
    seen = avahi_check("council", "198.18.9.1", [service])
    assert seen.status is Status.OK
    assert seen.text == f"avahi on this box sees '{NAME}' at hemi-a.local (198.18.9.1), port 8443"
    unseen = avahi_check("another-room", "198.18.9.1", [service])
    assert unseen.status is Status.FAIL and "allow-interfaces" in unseen.fix
    link_local = dataclasses.replace(
        service, host_addresses=("198.18.9.1", "fe80::1c2d:3eff:fe4f:5a6b")
    )
    twice = avahi_check("council", "198.18.9.1", [link_local])
    assert twice.status is Status.WARN
    assert "fe80::1c2d:3eff:fe4f:5a6b" in twice.text and "198.18.9.1," not in twice.text
    assert "publish-aaaa-on-ipv4=no" in twice.fix and "use-ipv6=no" in twice.fix
    assert avahi_check("council", "", [link_local]).status is Status.OK  # every address
    not_running = avahi_check("council", "198.18.9.1", "avahi-daemon does not answer")
    assert not_running.status is Status.SKIP


def test_doctor_asks_avahi_again_once_and_only_for_a_room_it_can_see() -> None:
    [service] = parse_avahi_browse(BROWSED)
    answers: list[list[AvahiService]] = [[], [service]]  # not yet, then there

    def avahi(seconds: float) -> list[AvahiService]:
        return answers.pop(0)

    probes = Probes(lambda p: 0, lambda r, i, s: None, lambda: False, lambda u: "", avahi)
    facts = {
        "room_id": "council",
        "host": "198.18.9.1",
        "mdns_enabled": True,
        "mdns_interfaces": ["198.18.9.1"],
        "running": {"pid": 1, "port": 8443},
    }
    assert doctor_avahi(facts, probes).status is Status.OK and answers == []
    loopback = {**facts, "mdns_interfaces": ["127.0.0.1"]}
    assert doctor_avahi(loopback, probes).status is Status.SKIP  # avahi was not asked
    assert doctor_avahi({**facts, "running": None}, probes).status is Status.SKIP
    assert doctor_avahi({**facts, "mdns_enabled": False}, probes).status is Status.SKIP


def test_without_avahi_on_the_box_the_check_is_skipped_with_the_reason() -> None:
    seen = avahi_browse(1.0, prefix=("env", "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent"))
    assert isinstance(seen, str) and "avahi" in seen, seen
    assert avahi_check("council", "", seen).status is Status.SKIP


ROOMS = {  # room id: its name (dots, commas, Vietnamese letters)
    "council": "Council Chamber, Bldg. 2",
    "hoi-dong": "Phòng họp số 3.1, Hội đồng nhân dân",
}

BROWSE = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from room_client.discovery import RoomBrowser

    async def main() -> None:
        rooms = {}
        browser = RoomBrowser(
            lambda found: rooms.update({r.room.room_id: r for r in found}),
            interfaces=(sys.argv[1],),
        )
        await browser.start()
        started = time.monotonic()
        while len(rooms) < int(sys.argv[2]) and time.monotonic() - started < float(sys.argv[3]):
            await asyncio.sleep(0.02)
        await browser.stop()
        print(json.dumps({k: [r.room.room_name, r.addresses[0], r.port] for k, r in rooms.items()}))

    asyncio.run(main())
    """
)


@pytest.mark.netns
def test_avahi_resolves_rooms_named_with_dots_commas_and_vietnamese(tmp_path: Path) -> None:
    reason = netns.unavailable_reason() or avahi.unavailable_reason()
    if reason:
        pytest.skip(reason)
    with (
        netns.two_hosts() as (box, tablet),
        avahi.avahi_daemon(box, tmp_path / "avahi-box", "hemi-box") as on_box,
        avahi.avahi_daemon(tablet, tmp_path / "avahi-tablet", "hemi-tablet") as on_tablet,
        running_room(
            tmp_path / "council",
            room_id="council",
            room_name=ROOMS["council"],
            command_prefix=box.prefix(),
            host=box.address,
            interfaces=(box.address,),
            hostname="ns-room",
        ) as council,
        running_room(
            tmp_path / "hoi-dong",
            room_id="hoi-dong",
            room_name=ROOMS["hoi-dong"],
            command_prefix=box.prefix(),
            host=box.address,
            interfaces=(box.address,),
            hostname="hemi-box",  # the box's own host name, which avahi publishes too
        ) as hoi_dong,
    ):
        ports = {"council": council.port, "hoi-dong": hoi_dong.port}
        hosts = {"council": "ns-room.local", "hoi-dong": "hemi-box.local"}
        # The tablet's avahi (another RFC 6763 browser on the room network).
        seen = wait_for_rooms(on_tablet)
        for room_id, name in ROOMS.items():
            [service] = [s for s in seen if s.txt.get("room") == room_id]
            announced = RoomAnnouncement(room_id, name, 1, "0" * 16)
            assert service.instance == announced.instance_name()
            assert (service.hostname, service.address, service.port) == (
                hosts[room_id],
                box.address,
                ports[room_id],
            )
            assert service.txt["name"] == name
            assert {"txtvers", "room", "name", "pv", "fp"} <= set(service.txt)
        # doctor on the box: its avahi sees the room where it listens, and with the
        # guide's avahi-daemon.conf gives no other address for the box's own host name.
        on_the_box = avahi_browse(3.0, on_box.prefix())
        assert not isinstance(on_the_box, str), on_the_box
        for room_id in ROOMS:
            check = avahi_check(room_id, box.address, on_the_box)
            assert check.status is Status.OK, (check, on_box.log())
        assert [s.host_addresses for s in on_the_box if s.hostname == "hemi-box.local"] == [
            (box.address,)
        ]
        # The tablet's own browser shares port 5353 with avahi and shows the full names.
        result = subprocess.run(
            [*tablet.prefix(), sys.executable, "-c", BROWSE, tablet.address, "2", "10"],
            capture_output=True,
            text=True,
            timeout=timeout(30),
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {
            room_id: [name, box.address, ports[room_id]] for room_id, name in ROOMS.items()
        }


@pytest.mark.netns
def test_doctor_warns_when_avahi_as_installed_gives_another_address(tmp_path: Path) -> None:
    reason = netns.unavailable_reason() or avahi.unavailable_reason()
    if reason:
        pytest.skip(reason)
    with (
        netns.two_hosts() as (box, _tablet),
        avahi.avahi_daemon(box, tmp_path / "avahi", "hemi-box", publish_aaaa=True) as on_box,
        running_room(
            tmp_path / "room",
            room_id="council",
            room_name=ROOMS["council"],
            command_prefix=box.prefix(),
            host=box.address,
            interfaces=(box.address,),
            hostname="hemi-box",
        ),
    ):
        seen = avahi_browse(3.0, on_box.prefix())
        check = avahi_check("council", box.address, seen)
        assert check.status is Status.WARN, (check, seen)
        assert "fe80::" in check.text and f"it listens on {box.address}" in check.text
        assert "publish-aaaa-on-ipv4=no" in check.fix


def wait_for_rooms(daemon: avahi.AvahiDaemon) -> list[AvahiService]:
    """avahi-browse --terminate ends at "all for now", which may come before a room's
    answer has been resolved: browse again until both rooms are there."""
    import time

    deadline = time.monotonic() + timeout(15)
    while True:
        seen = avahi_browse(2.0, daemon.prefix())
        assert not isinstance(seen, str), (seen, daemon.log())
        if {s.txt.get("room") for s in seen} >= set(ROOMS):
            return seen
        assert time.monotonic() < deadline, (seen, daemon.log())
