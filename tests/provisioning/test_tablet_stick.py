"""An enrollment stick on a kiosk seat tablet: the udev rule that mounts it, what
``room-provision install --role tablet`` stages, and the tablet finding a stick that
``room-provision stick enroll`` wrote where that rule mounts it.

``udevadm`` is not on every test machine (and never mounts anything here): the rule is
checked by a small reading of its keys, which also plays udev events through it. Where
``udevadm verify`` exists it is run too.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from provisioning.install import (
    TABLET_SYSUSERS,
    TABLET_TMPFILES,
    TABLET_UDEV_RULE,
    TABLET_UNIT,
    UDEV_RULE,
    UNITS,
)
from room_client.enrollment import DeviceCredentials, enroll
from room_client.enrollment_stick import (
    KIOSK_STICK_ROOT,
    MOUNT_ROOTS,
    EnrollmentStick,
    find_stick,
)
from tests.provisioning.run import provision
from tests.provisioning.test_enroll_stick import write_stick
from tests.rooms import running_room

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
RULE = SYSTEMD / "90-hemicycle-tablet-stick.rules"
ASSIGN_KEYS = re.compile(r"^(ENV\{\w+\}|RUN\{program\}|GOTO|LABEL)$")
MATCH_KEYS = re.compile(r"^(ACTION|SUBSYSTEM|ENV\{\w+\})$")
TERM = re.compile(r'^(?P<key>[A-Z]+(?:\{[\w]+\})?)(?P<op>==|!=|\+=|=)"(?P<value>[^"]*)"$')


@dataclass(frozen=True, slots=True)
class Term:
    key: str
    op: str
    value: str


def rule_lines(text: str) -> list[list[Term]]:
    """The rule file's lines as udev(7) reads them: ``KEY op "value"`` terms separated by
    commas. Fails on anything else."""
    lines = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        terms = []
        for raw in re.split(r'(?<=")\s*,\s*', line.strip()):
            found = TERM.match(raw)
            assert found, f"not a udev term: {raw!r}"
            term = Term(found["key"], found["op"], found["value"])
            if term.op in ("==", "!="):
                assert MATCH_KEYS.match(term.key), term
            else:
                assert ASSIGN_KEYS.match(term.key), term
            terms.append(term)
        lines.append(terms)
    return lines


def play(lines: list[list[Term]], event: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """The properties a udev event ends with, and the programs it runs: ``==``/``!=``
    with ``|`` alternatives and globs, ``GOTO``/``LABEL``, ``=`` and ``+=``."""
    properties, run = dict(event), []
    labels = {t.value: i for i, line in enumerate(lines) for t in line if t.key == "LABEL"}
    i = 0
    while i < len(lines):
        line, goto = lines[i], None
        matched = True
        for term in (t for t in line if t.op in ("==", "!=")):
            name = term.key[4:-1] if term.key.startswith("ENV{") else term.key
            value = properties.get(name, "")
            hit = any(fnmatch.fnmatchcase(value, p) for p in term.value.split("|"))
            matched = matched and (hit if term.op == "==" else not hit)
        if matched:
            for term in (t for t in line if t.op in ("=", "+=")):
                if term.key == "GOTO":
                    goto = term.value
                elif term.key == "RUN{program}":
                    run.append(term.value)
                elif term.key.startswith("ENV{"):
                    properties[term.key[4:-1]] = term.value
        i = labels[goto] if goto is not None else i + 1
    return properties, run


def usb_event(**changes: str) -> dict[str, str]:
    """A FAT stick's first partition put into a USB port, as udev's own rules leave it."""
    event = {
        "ACTION": "add",
        "SUBSYSTEM": "block",
        "DEVTYPE": "partition",
        "DEVNAME": "/dev/sdb1",
        "ID_BUS": "usb",
        "ID_FS_USAGE": "filesystem",
        "ID_FS_TYPE": "vfat",
    }
    return {**event, **changes}


def test_the_rule_mounts_a_usb_fat_stick_for_the_tablet_and_nothing_else() -> None:
    lines = rule_lines(RULE.read_text(encoding="utf-8"))
    gotos = {t.value for line in lines for t in line if t.key == "GOTO"}
    labels = [t.value for line in lines for t in line if t.key == "LABEL"]
    assert gotos == set(labels) and len(labels) == 1

    properties, run = play(lines, usb_event())
    assert len(run) == 1
    assert properties["UDISKS_IGNORE"] == "1"  # a desktop automounter keeps off
    argv = shlex.split(run[0].replace("$devnode", "/dev/sdb1").replace("%k", "sdb1"))
    assert argv[0] == "/usr/bin/systemd-mount"
    assert {"--no-block", "--automount=no"} <= set(argv)  # queued: udev never waits on it
    options = next(a for a in argv if a.startswith("--options=")).split("=", 1)[1].split(",")
    assert {"nosuid", "nodev", "noexec"} <= set(options)  # nothing on the stick runs
    assert {"uid=hemicycle-tablet", "gid=hemicycle-tablet", "fmask=0177", "dmask=0077"} <= set(
        options
    )  # the tablet's user alone: tokens 0600
    assert argv[-2:] == ["/dev/sdb1", f"{KIOSK_STICK_ROOT}/sdb1"]
    # ... where the tablet looks: one level below a root of its own (find_stick's depth).
    assert KIOSK_STICK_ROOT in MOUNT_ROOTS and MOUNT_ROOTS[0] == KIOSK_STICK_ROOT

    for other in (
        usb_event(ACTION="remove"),  # pulled: systemd unmounts it (the mount is bound to it)
        usb_event(ACTION="change"),
        usb_event(ID_BUS="ata"),  # the tablet's own disk
        usb_event(ID_FS_TYPE="ext4"),  # Unix owners: root's 0600 tokens are not the tablet's
        usb_event(ID_FS_USAGE="crypto", ID_FS_TYPE="crypto_LUKS"),
        usb_event(DEVTYPE="disk", ID_FS_USAGE="", ID_FS_TYPE=""),  # the partition table
        usb_event(SUBSYSTEM="usb"),
    ):
        assert play(lines, other)[1] == [], other
    # A stick formatted without partitions ("superfloppy") and exFAT are mounted too.
    assert play(lines, usb_event(DEVTYPE="disk", DEVNAME="/dev/sdc"))[1]
    assert play(lines, usb_event(ID_FS_TYPE="exfat"))[1]


def test_the_tablet_unit_and_tmpfiles_agree_with_the_rule() -> None:
    unit = (SYSTEMD / TABLET_UNIT).read_text(encoding="utf-8")
    assert f"ReadWritePaths=-{KIOSK_STICK_ROOT}\n" in unit  # it renames the used token
    assert "User=hemicycle-tablet\n" in unit
    tmpfiles = (SYSTEMD / "hemicycle-tablet.tmpfiles").read_text(encoding="utf-8").splitlines()
    assert f"d {KIOSK_STICK_ROOT} 0755 root root -" in tmpfiles
    sysusers = (SYSTEMD / "hemicycle-tablet.sysusers").read_text(encoding="utf-8")
    assert sysusers.splitlines()[-4].startswith("u hemicycle-tablet - ")


def test_systemd_tmpfiles_makes_the_mount_folder(tmp_path: Path) -> None:
    tmpfiles = shutil.which("systemd-tmpfiles")
    if tmpfiles is None:
        pytest.skip("no systemd-tmpfiles on this machine")
    result = subprocess.run(
        [tmpfiles, f"--root={tmp_path}", "--create", str(SYSTEMD / "hemicycle-tablet.tmpfiles")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    made = tmp_path / KIOSK_STICK_ROOT.relative_to("/")
    assert made.is_dir() and made.stat().st_mode & 0o777 == 0o755


def test_udevadm_verifies_the_rule_where_it_exists() -> None:
    udevadm = shutil.which("udevadm")
    if udevadm is None:
        pytest.skip("no udevadm on this machine: the rule is read by the test above only")
    result = subprocess.run(
        [udevadm, "verify", "--resolve-names=never", str(RULE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if "Unknown command verb" in result.stderr or "unrecognized" in result.stderr:
        pytest.skip(f"this udevadm has no verify (systemd < 253): {result.stderr.strip()}")
    assert result.returncode == 0, result.stdout + result.stderr


def test_install_role_tablet_stages_the_tablet_and_keeps_it_the_second_time(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    host_passwd = Path("/etc/passwd").read_bytes()
    first = provision("install", "--root", str(root), "--role", "tablet", "--no-venv")
    assert first.returncode == 0, first.stdout + first.stderr
    for target, name in (
        (TABLET_UDEV_RULE, "90-hemicycle-tablet-stick.rules"),
        (TABLET_TMPFILES, "hemicycle-tablet.tmpfiles"),
        (TABLET_SYSUSERS, "hemicycle-tablet.sysusers"),
        (UNITS / TABLET_UNIT, TABLET_UNIT),
    ):
        assert (root / target).read_bytes() == (SYSTEMD / name).read_bytes()
        assert f"made     {root / target}" in first.stdout
    # A tablet is no room server: no other unit, no USB watcher's rule, no room configuration.
    assert sorted(p.name for p in (root / UNITS).iterdir()) == [TABLET_UNIT]
    assert not (root / UDEV_RULE).exists() and not (root / "etc/hemicycle").exists()
    assert "hemicycle-tablet.service" in first.stdout.splitlines()[-1]  # what to do next
    if shutil.which("systemd-sysusers"):
        users = (root / "etc/passwd").read_text().splitlines()
        user = next(u for u in users if u.startswith("hemicycle-tablet:"))
        assert user.endswith(":/var/lib/hemicycle-tablet:/usr/sbin/nologin")
        group_lines = (root / "etc/group").read_text().split()
        groups = {g.split(":")[0]: g.split(":")[3] for g in group_lines}
        assert all("hemicycle-tablet" in groups[g].split(",") for g in ("video", "render", "input"))
    assert Path("/etc/passwd").read_bytes() == host_passwd  # the box's users: untouched

    second = provision("install", "--root", str(root), "--role", "tablet", "--no-venv")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "made     " not in second.stdout and "updated  " not in second.stdout


def test_an_unknown_role_is_refused_and_installs_nothing(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    result = provision("install", "--root", str(root), "--role", "display", "--no-venv")
    assert result.returncode == 2
    assert "invalid choice: 'display'" in result.stderr
    assert list(root.iterdir()) == []


async def test_a_stick_written_by_room_provision_is_found_where_the_kiosk_mounts_it(
    tmp_path: Path,
) -> None:
    """The kiosk's mount roots, moved under a staging folder: the stick at
    ``/run/hemicycle-tablet/stick/sdb1`` as the udev rule mounts it."""
    staging = tmp_path / "tablet"
    roots = [staging / root.relative_to("/") for root in MOUNT_ROOTS]
    for root in roots:
        root.mkdir(parents=True)
    assert find_stick(roots) is None  # nothing put in yet
    with running_room(tmp_path / "room", mdns=False) as room:
        mounted = staging / KIOSK_STICK_ROOT.relative_to("/") / "sdb1"
        write_stick(room, mounted, 2)
        assert find_stick(roots) == mounted
        stick = EnrollmentStick(mounted)
        token = stick.unused()[0]
        done = await enroll(
            room.endpoint().uri,
            "127.0.0.1",
            room.port,
            token.code,
            DeviceCredentials(tmp_path / "device"),
        )
        assert done.device_id
        assert stick.mark_used(token)
        assert [t.path.name for t in stick.unused()] == ["002.token"]
