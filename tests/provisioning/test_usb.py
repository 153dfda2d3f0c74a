"""The USB stick watcher against a real room server: sticks are real ext4 filesystem images
on loop devices, mounted by the watcher's own mount(2) code, and the udev events are
objects with pyudev.Device's attributes fed to the same ``handle`` the monitor calls.
Without root (no loop devices, no mount) the stick is a folder and the mount step is
replaced by :class:`FolderMounter`, the one test seam, and the tests that need a real
mount skip."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from provisioning.cli import main as provision
from provisioning.usb import (
    EXPORT_MARKER,
    PROVISION_MARKER,
    BlockDevice,
    Outcome,
    Result,
    RoomCommand,
    StickKind,
    StickWatcher,
    SystemMounter,
    is_stick,
    list_block_devices,
    recognise,
    watch,
)
from room_protocol.live import CloseMeeting
from room_protocol.notices import NoticeKind, RoomNotice
from room_protocol.records import RecordProgress, RecordState
from room_protocol.voting import CheckIn
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom, room_cli, running_room, timeout, write_package

ENSURE_COMMAND = Path(__file__).resolve().parents[1] / "tools" / "ensure-command.sh"
# HEMICYCLE_TEST_FOLDER_STICKS=1 runs the seam's way even as root (to check the seam).
REAL_MOUNTS = (
    os.geteuid() == 0
    and shutil.which("losetup") is not None
    and not os.environ.get("HEMICYCLE_TEST_FOLDER_STICKS")
)
needs_mount = pytest.mark.skipif(not REAL_MOUNTS, reason="loop devices and mount need root")


@dataclass
class Event:
    """A udev event with the attributes pyudev.Device has (what the watcher reads)."""

    action: str
    device_node: str
    device_type: str = "partition"
    subsystem: str = "block"
    properties: dict[str, str] = field(default_factory=dict)


def usb(action: str, node: str, fs_type: str = "ext4", label: str = "STICK") -> Event:
    props = {"ID_BUS": "usb", "ID_FS_TYPE": fs_type, "ID_FS_LABEL": label, "ID_MODEL": "Test"}
    return Event(action, node, properties=props)


class FolderMounter:
    """TEST SEAM, used only without root: the "stick" is a folder, and mounting it means
    handing that folder back (no read-only, nosuid, nodev or noexec: the tests that
    check those need real mounts and skip)."""

    def __init__(self) -> None:
        self.folders: dict[str, Path] = {}

    def mount(self, device_node: str, fs_type: str, target: Path) -> Path:
        return self.folders[device_node]

    def make_writable(self, target: Path) -> None:
        pass

    def unmount(self, target: Path, *, lazy: bool = False) -> None:
        pass


@dataclass
class Stick:
    node: str
    image: Path | None  # the ext4 image on a loop device; None: a folder (the seam)
    folder: Path

    def contents(self, where: Path) -> Path:
        """Mount the stick read-only for the test to look at (unmounted by ``close``)."""
        if self.image is None:
            return self.folder
        where.mkdir(exist_ok=True)
        subprocess.run(["mount", "-o", "ro", self.node, str(where)], check=True)
        self._looked = where
        return where

    def close(self) -> None:
        looked = getattr(self, "_looked", None)
        if looked is not None:
            subprocess.run(["umount", str(looked)], check=False)
        if self.image is not None:
            subprocess.run(["losetup", "-d", self.node], check=False)


@pytest.fixture
def mounter() -> SystemMounter | FolderMounter:
    return SystemMounter() if REAL_MOUNTS else FolderMounter()


MakeStick = Callable[..., Stick]  # (fill, fs_type="ext4") -> Stick


@pytest.fixture
def make_stick(tmp_path: Path, mounter: SystemMounter | FolderMounter) -> Iterator[MakeStick]:
    """A stick holding what ``fill`` writes into a folder: an ext4 image (``mkfs.ext4 -d``)
    or a FAT one (files copied in through a mount of the test's own) on a loop device."""
    made: list[Stick] = []

    def make(fill: Callable[[Path], object], fs_type: str = "ext4") -> Stick:
        folder = tmp_path / f"stick-{len(made)}"
        folder.mkdir()
        fill(folder)
        if isinstance(mounter, FolderMounter):
            stick = Stick(f"/dev/fake{len(made)}", None, folder)
            mounter.folders[stick.node] = folder
            made.append(stick)
            return stick
        image = tmp_path / f"stick-{len(made)}.img"
        subprocess.run(["truncate", "-s", "64M", str(image)], check=True)
        if fs_type == "ext4":
            subprocess.run(["mkfs.ext4", "-q", "-d", str(folder), str(image)], check=True)
        else:
            found = subprocess.run(
                [str(ENSURE_COMMAND), "mkfs.vfat", "dosfstools"], capture_output=True, text=True
            )
            if found.returncode != 0:
                pytest.skip(found.stdout.strip())
            if fs_type not in Path("/proc/filesystems").read_text().split():
                pytest.skip(f"this kernel does not mount {fs_type} (no module here)")
            mkfs = ["mkfs.vfat", "-n", "STICK", str(image)]
            subprocess.run(mkfs, check=True, capture_output=True)
        node = subprocess.run(
            ["losetup", "--find", "--show", str(image)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        stick = Stick(node, image, folder)
        made.append(stick)
        if fs_type != "ext4":
            filling = tmp_path / f"filling-{len(made)}"
            filling.mkdir()
            subprocess.run(["mount", "-o", "utf8", node, str(filling)], check=True)
            try:
                shutil.copytree(folder, filling, dirs_exist_ok=True)
            finally:
                subprocess.run(["umount", str(filling)], check=True)
        return stick

    yield make
    for stick in made:
        stick.close()


def room_command(room: RunningRoom) -> RoomCommand:
    return RoomCommand((sys.executable, "-m", "room_server", "--config", str(room.config)))


async def result_of(watcher: StickWatcher, node: str) -> Result:
    result = await asyncio.to_thread(watcher.wait, node, timeout(120))
    assert result is not None, "the watcher did not finish in time"
    return result


def status(room: RunningRoom) -> dict[str, object]:
    answer = room.cli("status", "--json")
    return dict(json.loads(answer.stdout))


async def display_of(room: RunningRoom) -> Tablet:
    room.device("display-1", display=True)
    return await Tablet(room, "display-1").start()


def mounted(point: Path) -> list[str]:
    """The mount options of ``point`` now (empty: not mounted)."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        if fields[4] == str(point):
            return fields[5].split(",") + fields[fields.index("-") + 3].split(",")
    return []


# --- what a stick is, by its files --------------------------------------------------------


def test_a_stick_is_recognised_by_its_files(tmp_path: Path) -> None:
    package = write_package(tmp_path / "package")
    assert recognise(package).kind is StickKind.PACKAGE
    assert recognise(package).package == package

    one_zip = tmp_path / "zip"
    one_zip.mkdir()
    (one_zip / "council.zip").write_bytes(b"PK")
    (one_zip / "._council.zip").write_bytes(b"")  # macOS leaves these: not a second zip
    assert recognise(one_zip).package == one_zip / "council.zip"
    (one_zip / "other.ZIP").write_bytes(b"PK")
    assert recognise(one_zip).kind is StickKind.REJECTED
    assert "keep one meeting package" in recognise(one_zip).reason

    export = tmp_path / "export"
    export.mkdir()
    (export / EXPORT_MARKER).write_text("x")
    assert recognise(export).kind is StickKind.EXPORT
    (export / PROVISION_MARKER).write_text("x")
    assert "at once" in recognise(export).reason

    provision_stick = tmp_path / "provision"
    provision_stick.mkdir()
    (provision_stick / PROVISION_MARKER).write_text("x")
    assert recognise(provision_stick).kind is StickKind.PROVISION

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "holiday.jpg").write_bytes(b"\xff\xd8")
    assert recognise(empty).kind is StickKind.REJECTED
    assert "no meeting package" in recognise(empty).reason

    # A marker that is a symlink (even inside the stick) does not mark it.
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "real").write_text("x")
    (linked / EXPORT_MARKER).symlink_to("real")
    assert recognise(linked).kind is StickKind.REJECTED


def test_a_symlink_leaving_the_stick_refuses_it(tmp_path: Path) -> None:
    package = write_package(tmp_path / "package")
    (package / "extra").mkdir()
    (package / "extra" / "passwd").symlink_to("/etc/passwd")
    verdict = recognise(package)
    assert verdict.kind is StickKind.REJECTED
    assert "extra/passwd is a symbolic link that leaves the stick" in verdict.reason


def test_only_usb_block_devices_are_sticks() -> None:
    assert is_stick(usb("add", "/dev/sdb1"))
    ata = usb("add", "/dev/sda1")
    ata.properties["ID_BUS"] = "ata"
    assert not is_stick(ata)
    whole = Event("add", "/dev/sdc", "disk", properties={"ID_BUS": "usb", "ID_FS_TYPE": "vfat"})
    assert is_stick(whole)  # a stick formatted without a partition table
    whole.properties["ID_PART_TABLE_TYPE"] = "dos"
    assert not is_stick(whole)  # its partitions come as events of their own
    assert not is_stick(Event("add", "/dev/sdc", "disk", properties={"ID_BUS": "usb"}))


def test_real_block_devices_enumerate_through_pyudev() -> None:
    """The real path: pyudev.Context().list_devices(subsystem="block") on this machine,
    through the same predicate the monitor's events go through."""
    found = list_block_devices()
    assert found, "udev knows no block device on this machine"
    for device in found:
        assert device.subsystem == "block"
        assert device.device_type in ("disk", "partition")
        assert isinstance(is_stick(device), bool)
        dict(device.properties)  # readable like the tests' events


def test_the_real_monitor_runs_and_stops(tmp_path: Path) -> None:
    """watch(): a pyudev netlink monitor on "block", the devices present fed through
    ``handle`` first, then events until stopped."""
    seen: list[str | None] = []

    class Recording(StickWatcher):
        def handle(self, device: BlockDevice) -> None:
            seen.append(device.device_node)
            super().handle(device)

    room = RoomCommand(("false",))
    watcher = Recording(room, tmp_path / "run", FolderMounter())
    stop = threading.Event()
    thread = threading.Thread(target=watch, args=(watcher, stop, 0.05))
    thread.start()
    try:
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join(timeout(10))
    assert not thread.is_alive()
    plugged = [d.device_node for d in list_block_devices() if is_stick(d)]
    assert [node for node in seen if node in plugged] == plugged


# --- against a real room server -----------------------------------------------------------


@pytest.mark.parametrize("fs_type", ["ext4", "vfat"])
async def test_a_package_stick_is_imported_and_the_room_serves_it(
    tmp_path: Path,
    package_dir: Path,
    make_stick: MakeStick,
    mounter: SystemMounter | FolderMounter,
    fs_type: str,
) -> None:
    stick = make_stick(
        lambda root: write_package(root, meeting_id="council-12-dec", title="Council 12 Dec"),
        fs_type,
    )
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        display = await display_of(room)
        try:
            watcher = StickWatcher(room_command(room), tmp_path / "run", mounter)
            watcher.handle(usb("add", stick.node, fs_type))
            result = await result_of(watcher, stick.node)
            assert result == Result(Outcome.IMPORTED, title="Council 12 Dec", count=3)
            await until(lambda: display.meeting.meeting_id == "council-12-dec")
            await until(lambda: display.of_type(RoomNotice))
            (notice,) = display.of_type(RoomNotice)
            assert notice.kind is NoticeKind.PACKAGE_IMPORTED
            assert (notice.title, notice.count) == ("Council 12 Dec", 3)
            assert status(room)["active_meeting"] == "council-12-dec"
            assert mounted(tmp_path / "run" / Path(stick.node).name) == []
            assert list((tmp_path / "run").iterdir()) == []  # the mount point is gone too
        finally:
            await display.stop()


async def test_a_package_stick_during_a_session_is_stored_not_made_current(
    tmp_path: Path,
    package_dir: Path,
    make_stick: MakeStick,
    mounter: SystemMounter | FolderMounter,
) -> None:
    """Tomorrow's package put in while today's meeting runs must not switch the room's
    tablets: it is stored, the chair console and display say so, and IT staff make it
    current after the close (``room-server activate``)."""
    stick = make_stick(
        lambda root: write_package(root, meeting_id="council-12-dec", title="Council 12 Dec"),
        "ext4",
    )
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        today = status(room)["active_meeting"]
        chair = await Tablet(room, "tablet-chair", "A1").start()
        display = await display_of(room)
        try:
            await chair.sign_in("chair", "1111")
            await chair.ok(CheckIn(chair.op(), "d2"))  # the session has begun
            session_title = display.meeting.title
            watcher = StickWatcher(room_command(room), tmp_path / "run", mounter)
            watcher.handle(usb("add", stick.node, "ext4"))
            result = await result_of(watcher, stick.node)
            assert result == Result(
                Outcome.STORED, title="Council 12 Dec", count=3, detail=session_title
            )
            await until(lambda: display.of_type(RoomNotice))
            (notice,) = display.of_type(RoomNotice)
            assert notice.kind is NoticeKind.PACKAGE_STORED and notice.detail == session_title
            assert status(room)["active_meeting"] == today
            assert display.meeting.meeting_id == today
            refused = room_cli(room.config, "activate", "council-12-dec")
            assert refused.returncode == 2 and "is in session" in refused.stderr
            await chair.ok(CloseMeeting(chair.op(), force=True))
            done = room_cli(room.config, "activate", "council-12-dec")
            assert done.returncode == 0, done.stderr
            await until(lambda: display.meeting.meeting_id == "council-12-dec")
            missing = room_cli(room.config, "activate", "no-such-meeting")
            assert missing.returncode == 2 and "no meeting 'no-such-meeting'" in missing.stderr
        finally:
            await display.stop()
            await chair.stop()


async def test_a_bad_package_is_rejected_with_the_reason_and_changes_nothing(
    tmp_path: Path,
    package_dir: Path,
    make_stick: MakeStick,
    mounter: SystemMounter | FolderMounter,
) -> None:
    def broken(root: Path) -> None:
        write_package(root, meeting_id="council-12-dec", title="Council 12 Dec")
        next(root.rglob("*.pdf")).unlink()

    stick = make_stick(broken)
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        before = status(room)
        display = await display_of(room)
        try:
            watcher = StickWatcher(room_command(room), tmp_path / "run", mounter)
            watcher.handle(usb("add", stick.node))
            result = await result_of(watcher, stick.node)
            assert result.outcome is Outcome.REJECTED
            assert ".pdf" in result.detail
            await until(lambda: display.of_type(RoomNotice))
            (notice,) = display.of_type(RoomNotice)
            assert notice.kind is NoticeKind.PACKAGE_REJECTED
            assert notice.detail == result.detail
            assert status(room) == before
        finally:
            await display.stop()


async def close_meeting(room: RunningRoom) -> Tablet:
    """The chair closes the meeting and the room seals its record; the chair stays."""
    chair = await Tablet(room, "tablet-chair", "A1").start()
    await chair.sign_in("chair", "1111")
    await chair.ok(CloseMeeting(chair.op(), force=True))
    await chair.next_of(RecordProgress, 0, lambda m: m.state is RecordState.SEALED)
    return chair


async def test_an_export_stick_receives_the_sealed_records_and_they_verify(
    tmp_path: Path,
    package_dir: Path,
    make_stick: MakeStick,
    mounter: SystemMounter | FolderMounter,
) -> None:
    stick = make_stick(lambda root: provision(["export-stick", str(root)]))
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        chair = await close_meeting(room)
        try:
            watcher = StickWatcher(room_command(room), tmp_path / "run", mounter)
            watcher.handle(usb("add", stick.node))
            result = await result_of(watcher, stick.node)
            assert result == Result(Outcome.EXPORTED, count=1)
            await until(lambda: chair.of_type(RoomNotice))
            assert chair.of_type(RoomNotice)[0].kind is NoticeKind.RECORDS_EXPORTED
            assert chair.of_type(RoomNotice)[0].count == 1
        finally:
            await chair.stop()
        files = stick.contents(tmp_path / "look")
        assert mounted(tmp_path / "run" / Path(stick.node).name) == []
        check = room.cli("record", "verify", str(files / "council-test"))
        assert check.returncode == 0, check.stdout + check.stderr
        assert sorted(p.name for p in files.iterdir() if not p.name.startswith(".")) == [
            EXPORT_MARKER,
            "council-test",
        ] + (["lost+found"] if stick.image is not None else [])


async def test_a_stick_pulled_during_the_export_reports_the_failure(
    tmp_path: Path,
    package_dir: Path,
    make_stick: MakeStick,
    mounter: SystemMounter | FolderMounter,
) -> None:
    stick = make_stick(lambda root: provision(["export-stick", str(root)]))
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        chair = await close_meeting(room)
        try:
            pulled: list[str] = []

            def pull(step: str, process: subprocess.Popen[str]) -> None:
                # The export runs: the stick goes, as udev says it when it is pulled out.
                assert step == "export" and process.poll() is None
                watcher.handle(usb("remove", stick.node))
                pulled.append(step)

            watcher = StickWatcher(room_command(room), tmp_path / "run", mounter, started=pull)
            watcher.handle(usb("add", stick.node))
            result = await result_of(watcher, stick.node)
            assert pulled == ["export"]
            assert result.outcome is Outcome.EXPORT_FAILED
            assert "removed while records were written" in result.detail
            await until(lambda: chair.of_type(RoomNotice))
            (notice,) = chair.of_type(RoomNotice)
            assert notice.kind is NoticeKind.EXPORT_FAILED
            assert notice.detail == result.detail
            assert mounted(tmp_path / "run" / Path(stick.node).name) == []
        finally:
            await chair.stop()


@needs_mount
async def test_nothing_on_a_stick_is_executed(
    tmp_path: Path,
    package_dir: Path,
    make_stick: MakeStick,
    mounter: SystemMounter | FolderMounter,
) -> None:
    marker = tmp_path / "ran"

    def booby_trapped(root: Path) -> None:
        write_package(root, meeting_id="council-12-dec", title="Council 12 Dec")
        script = root / "run.sh"
        script.write_text(f"#!/bin/sh\ntouch {marker}\n")
        script.chmod(0o4755)  # setuid too: nosuid would ignore it
        (root / "autorun.inf").write_text("[autorun]\nopen=run.sh\n")
        (root / "autorun.sh").write_text(f"#!/bin/sh\ntouch {marker}\n")
        (root / "autorun.sh").chmod(0o755)

    stick = make_stick(booby_trapped)
    seen: dict[str, object] = {}
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:

        def look(step: str, process: subprocess.Popen[str]) -> None:
            point = tmp_path / "run" / Path(stick.node).name
            seen["options"] = mounted(point)
            try:
                subprocess.run([str(point / "run.sh")], check=False)
            except PermissionError as exc:
                seen["exec"] = exc

        watcher = StickWatcher(room_command(room), tmp_path / "run", mounter, started=look)
        watcher.handle(usb("add", stick.node))
        result = await result_of(watcher, stick.node)
        # Files the manifest does not list refuse the package: they are never opened.
        assert result.outcome is Outcome.REJECTED
        assert "run.sh: is not listed" in result.detail
    options = seen["options"]
    assert isinstance(options, list)
    assert {"ro", "nosuid", "nodev", "noexec"} <= set(options), options
    assert isinstance(seen.get("exec"), PermissionError)  # noexec: even asked, it won't run
    assert not marker.exists()


async def test_a_stick_with_a_symlink_out_is_rejected_and_let_go(
    tmp_path: Path,
    package_dir: Path,
    make_stick: MakeStick,
    mounter: SystemMounter | FolderMounter,
) -> None:
    def linked(root: Path) -> None:
        write_package(root, meeting_id="council-12-dec")
        (root / "secrets").symlink_to("/etc")

    stick = make_stick(linked)
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        before = status(room)
        display = await display_of(room)
        try:
            watcher = StickWatcher(room_command(room), tmp_path / "run", mounter)
            watcher.handle(usb("add", stick.node))
            result = await result_of(watcher, stick.node)
            assert result.outcome is Outcome.STICK_REJECTED
            assert "secrets is a symbolic link that leaves the stick" in result.detail
            await until(lambda: display.of_type(RoomNotice))
            assert display.of_type(RoomNotice)[0].kind is NoticeKind.STICK_REJECTED
            assert status(room) == before
            assert mounted(tmp_path / "run" / Path(stick.node).name) == []
        finally:
            await display.stop()


async def test_other_sticks_are_refused_or_reported_and_other_disks_ignored(
    tmp_path: Path,
    package_dir: Path,
    make_stick: MakeStick,
    mounter: SystemMounter | FolderMounter,
) -> None:
    photos = make_stick(lambda root: (root / "holiday.jpg").write_bytes(b"\xff\xd8"))
    provisioning = make_stick(lambda root: (root / PROVISION_MARKER).write_text("x"))
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        display = await display_of(room)
        try:
            watcher = StickWatcher(room_command(room), tmp_path / "run", mounter)
            internal = usb("add", "/dev/sda1")
            internal.properties["ID_BUS"] = "ata"
            watcher.handle(internal)
            assert watcher.wait("/dev/sda1", 0) is None  # never looked at
            watcher.handle(usb("add", photos.node))
            assert (await result_of(watcher, photos.node)).outcome is Outcome.STICK_REJECTED
            watcher.handle(usb("add", provisioning.node))
            not_yet = await result_of(watcher, provisioning.node)
            assert not_yet == Result(Outcome.NOT_HANDLED, detail="provisioning stick: for tablets")
            watcher.handle(usb("add", "/dev/sdz1", fs_type="ntfs"))
            ntfs = await result_of(watcher, "/dev/sdz1")
            assert ntfs.outcome is Outcome.STICK_REJECTED and "ntfs" in ntfs.detail
            await until(lambda: len(display.of_type(RoomNotice)) == 3)
            kinds = [n.kind for n in display.of_type(RoomNotice)]
            assert sorted(kinds) == sorted(
                [NoticeKind.STICK_REJECTED, NoticeKind.STICK_NOT_HANDLED, NoticeKind.STICK_REJECTED]
            )
        finally:
            await display.stop()


def test_export_stick_writes_the_marker_and_refuses_a_package_stick(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blank = tmp_path / "blank"
    blank.mkdir()
    assert provision(["export-stick", str(blank)]) == 0
    assert recognise(blank).kind is StickKind.EXPORT
    package = write_package(tmp_path / "package")
    assert provision(["export-stick", str(package)]) == 2
    assert "marked as export and package" in capsys.readouterr().err
    assert not (package / EXPORT_MARKER).exists()
    assert provision(["export-stick", str(tmp_path / "missing")]) == 2


async def test_an_export_stick_in_a_room_without_records_says_so(
    tmp_path: Path, package_dir: Path, make_stick: MakeStick, mounter: SystemMounter | FolderMounter
) -> None:
    stick = make_stick(lambda root: provision(["export-stick", str(root)]))
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        watcher = StickWatcher(room_command(room), tmp_path / "run", mounter)
        watcher.handle(usb("add", stick.node))
        result = await result_of(watcher, stick.node)
        assert result.outcome is Outcome.EXPORT_FAILED
        assert "no sealed records" in result.detail
    files = stick.contents(tmp_path / "look")
    assert sorted(p.name for p in files.iterdir()) == sorted(
        [EXPORT_MARKER] + (["lost+found"] if stick.image is not None else [])
    )
