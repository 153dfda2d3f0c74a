"""``room-provision install``: the application, its units and its user on a Debian-like box.

Everything goes under ``root`` (``/`` on the box; a staging folder in the tests and for
image builds): the venv in ``/opt/hemicycle/.venv`` (where the units start it), the units
in ``/etc/systemd/system``, the udev rule, the tmpfiles and sysusers files, and a commented
``/etc/hemicycle/room-server.toml`` that ``room-provision init`` fills in. A kiosk seat
tablet (``--role tablet``) gets the tablet's unit, user, and the udev rule and tmpfiles that
mount an enrollment stick for it, and no room configuration. Safe to run again: each step
says what it made, updated or kept, and an edited configuration or drop-in is never
overwritten. The box's user database is changed by ``systemd-sysusers``
only, and only inside ``root``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from provisioning.bundle import (
    DEFAULT_EXTRAS,
    SUMS,
    WHEELS,
    BundleError,
    BundleOptions,
    system_files,
    write_bundle,
)
from provisioning.room_init import INSTALLED_CONFIG
from provisioning.wheels import PROJECT, SYSTEM_FILES, check_sums

VENV = Path("opt/hemicycle/.venv")  # the units' ExecStart= paths
UNITS = Path("etc/systemd/system")
UDEV_RULE = Path("etc/udev/rules.d/90-hemicycle-usb.rules")
TMPFILES = Path("etc/tmpfiles.d/hemicycle.conf")
SYSUSERS = Path("etc/sysusers.d/hemicycle.conf")
TABLET_UDEV_RULE = Path("etc/udev/rules.d/90-hemicycle-tablet-stick.rules")
TABLET_TMPFILES = Path("etc/tmpfiles.d/hemicycle-tablet.conf")
TABLET_SYSUSERS = Path("etc/sysusers.d/hemicycle-tablet.conf")
TABLET_UNIT = "hemicycle-tablet.service"
TABLET_EXTRAS = ("tablet", "tablet-kiosk")  # the kiosk app and its on-screen keyboard
CONFIG = Path("etc/hemicycle/room-server.toml")
UPLOADER_DROP_IN = Path("etc/systemd/system/hemicycle-uploader.service.d/archive.conf")
USER = "hemicycle"
TABLET_USER = "hemicycle-tablet"


# Where the uploader may connect: nowhere until the archive's address is set here.
UPLOADER_ALLOW = """\
# The archive's address(es): the only place hemicycle-uploader.service may connect to
# (systemd.resource-control(5) IPAddressAllow=; an address or a prefix, e.g. 198.51.100.7
# or 198.51.100.0/24). Set it to the host of [archive] url in room-server.toml, then
#   systemctl daemon-reload && systemctl restart hemicycle-uploader.service
[Service]
IPAddressAllow=
"""


class InstallError(RuntimeError):
    """A step that cannot be done; what was done before it stays done (run again)."""


class Role(StrEnum):
    ROOM = "room"  # the room server box: every unit, the USB watcher's rule, the room's user
    TABLET = "tablet"  # a kiosk seat tablet: its unit, its user, its stick mount


@dataclass(frozen=True, slots=True)
class RoleFiles:
    units: tuple[str, ...] | None  # None: every unit of the bundle
    udev_rule: tuple[str, Path]  # (name in the bundle's systemd/, where it goes)
    tmpfiles: tuple[str, Path]
    sysusers: tuple[str, Path]
    user: str
    room_config: bool  # the room's configuration and the uploader's drop-in


ROLE_FILES = {
    Role.ROOM: RoleFiles(
        units=None,
        udev_rule=("90-hemicycle-usb.rules", UDEV_RULE),
        tmpfiles=("hemicycle.tmpfiles", TMPFILES),
        sysusers=("hemicycle.sysusers", SYSUSERS),
        user=USER,
        room_config=True,
    ),
    Role.TABLET: RoleFiles(
        units=(TABLET_UNIT,),
        udev_rule=("90-hemicycle-tablet-stick.rules", TABLET_UDEV_RULE),
        tmpfiles=("hemicycle-tablet.tmpfiles", TABLET_TMPFILES),
        sysusers=("hemicycle-tablet.sysusers", TABLET_SYSUSERS),
        user=TABLET_USER,
        room_config=False,
    ),
}


class Done(StrEnum):
    MADE = "made"
    UPDATED = "updated"
    KEPT = "kept"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class InstallOptions:
    root: Path = Path("/")
    bundle: Path | None = None
    venv: bool = True
    extras: tuple[str, ...] = DEFAULT_EXTRAS
    role: Role = Role.ROOM


Say = Callable[[Done, str, str], None]  # what happened, to what, a note


def install(options: InstallOptions, say: Say) -> None:
    root, role = options.root, ROLE_FILES[options.role]
    if not root.is_dir():
        raise InstallError(f"--root {root} is not a folder")
    units = options.bundle / SYSTEM_FILES if options.bundle else system_files()
    if not (units / "hemicycle-room-server.service").is_file():
        raise InstallError(f"no units in {units}: is {options.bundle} a Hemicycle bundle?")
    if options.bundle is not None:
        _check_bundle(options.bundle)
    if options.venv:
        _venv(options, say)
    else:
        say(Done.SKIPPED, str(root / VENV), "--no-venv")
    unit_files = sorted(units.glob("*.service"))
    if role.units is not None:
        unit_files = [units / name for name in role.units]
    role_files = (role.udev_rule, role.tmpfiles, role.sysusers)
    for source, _target in role_files:
        if not (units / source).is_file():
            raise InstallError(f"no {source} in {units}: a bundle of an older version?")
    for unit in unit_files:
        say(_program_file(unit, root / UNITS / unit.name), str(root / UNITS / unit.name), "")
    for source, target in role_files:
        say(_program_file(units / source, root / target), str(root / target), "")
    if role.room_config:
        say(
            _config_file(root / UPLOADER_DROP_IN, UPLOADER_ALLOW, 0o644),
            str(root / UPLOADER_DROP_IN),
            "",
        )
        config = _config_file(root / CONFIG, INSTALLED_CONFIG, 0o644)
        note = "edited: kept as it is" if config is Done.KEPT and _edited(root / CONFIG) else ""
        say(config, str(root / CONFIG), note)
    say(*_user(root, role.user, role.sysusers[1]))
    if root.resolve() == Path("/"):
        for command in (
            ["systemd-tmpfiles", "--create", f"/{role.tmpfiles[1]}"],
            ["udevadm", "control", "--reload"],
            ["systemctl", "daemon-reload"],
        ):
            if shutil.which(command[0]):
                subprocess.run(command, check=False)


def _check_bundle(bundle: Path) -> None:
    """The stick holds what ``bundle`` wrote, byte for byte (a damaged stick, a file added
    or lost), before anything is installed from it."""
    sums = bundle / SUMS
    if not sums.is_file():
        raise InstallError(f"no {SUMS} in {bundle}: is it a Hemicycle bundle?")
    problems = check_sums(bundle, sums.read_text(encoding="utf-8"))
    if problems:
        raise InstallError(f"{bundle} is not as it was written: " + "; ".join(problems[:5]))


def _venv(options: InstallOptions, say: Say) -> None:
    """The venv, from the bundle's wheels only (``--no-index``): made, or brought up to
    the bundle's versions (pip keeps what is already the same)."""
    venv = options.root / VENV
    python = venv / "bin" / "python"
    with _wheels(options, say) as wheels:
        pip = sorted(wheels.glob("pip-*.whl"))
        if not pip:
            raise InstallError(f"no pip wheel in {wheels}")
        made = not python.exists()
        if made:
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        result = subprocess.run(
            [
                str(python),
                f"{pip[-1]}/pip",  # pip runs from its own wheel: the venv needs no ensurepip
                "install",
                "--disable-pip-version-check",
                "--no-index",
                "--find-links",
                str(wheels),
                "--upgrade",
                "--upgrade-strategy",
                "only-if-needed",
                "pip",
                f"{PROJECT}[{','.join(options.extras)}]",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise InstallError(f"pip could not install from {wheels}:\n{result.stderr.strip()}")
        changed = "Successfully installed" in result.stdout
        state = Done.MADE if made else Done.UPDATED if changed else Done.KEPT
        say(state, str(venv), f"from {wheels}")


@contextmanager
def _wheels(options: InstallOptions, say: Say) -> Iterator[Path]:
    """The bundle's wheels, or a bundle of this installation made for the occasion."""
    if options.bundle is not None:
        yield options.bundle / WHEELS
        return
    with tempfile.TemporaryDirectory(prefix="hemicycle-bundle-") as tmp:
        try:
            bundle = write_bundle(
                Path(tmp) / "bundle",
                BundleOptions(extras=options.extras, from_env=True),
                lambda line: None,
            )
        except BundleError as exc:
            raise InstallError(f"cannot install from this installation: {exc}") from None
        say(Done.MADE, str(bundle / WHEELS), "wheels packed from this installation")
        yield bundle / WHEELS


def _program_file(source: Path, target: Path) -> Done:
    """A file that belongs to the program (local changes go in drop-ins): written when
    missing or different."""
    data = source.read_bytes()
    if target.is_file() and target.read_bytes() == data:
        return Done.KEPT
    existed = target.exists()
    _write(target, data, 0o644)
    return Done.UPDATED if existed else Done.MADE


def _config_file(target: Path, text: str, mode: int) -> Done:
    """A file the IT staff edit: written once, never overwritten."""
    if target.exists():
        return Done.KEPT
    _write(target, text.encode(), mode)
    return Done.MADE


def _edited(config: Path) -> bool:
    return config.read_text(encoding="utf-8") != INSTALLED_CONFIG


def _user(root: Path, user: str, sysusers_file: Path) -> tuple[Done, str, str]:
    """The role's system user, by ``systemd-sysusers`` from its sysusers.d file: in
    ``root``'s own /etc/passwd when staging, never the box's."""
    passwd = root / "etc/passwd"
    if passwd.is_file() and any(
        line.split(":")[0] == user for line in passwd.read_text(encoding="utf-8").splitlines()
    ):
        return Done.KEPT, f"user {user}", str(passwd)
    sysusers = shutil.which("systemd-sysusers")
    if sysusers is None:
        note = f"no systemd-sysusers: made at boot from /{sysusers_file}"
        return Done.SKIPPED, f"user {user}", note
    command = [sysusers, str(root / sysusers_file)]
    if root.resolve() != Path("/"):
        command.insert(1, f"--root={root}")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise InstallError(f"systemd-sysusers failed: {result.stderr.strip()}")
    return Done.MADE, f"user {user}", str(passwd)


def _write(target: Path, data: bytes, mode: int) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_bytes(data)
    tmp.chmod(mode)
    tmp.replace(target)
