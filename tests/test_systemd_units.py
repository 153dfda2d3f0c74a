"""The unit files in systemd/ are valid and hardened: `systemd-analyze verify` has nothing
to say about them, and `systemd-analyze security --offline=yes` scores each within its
target (room server ≤ 2.0, USB watcher and uploader ≤ 3.0, kiosk units ≤ 5.0; issue 14).
Verified in a staging root that holds systemd's own units and a stand-in for every program
the units start, so nothing on this machine is touched."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNITS = sorted((ROOT / "systemd").glob("*.service"))
ENSURE_COMMAND = ROOT / "tests" / "tools" / "ensure-command.sh"
TARGETS = {
    "hemicycle-room-server.service": 2.0,
    "hemicycle-usb.service": 3.0,  # root with CAP_SYS_ADMIN: it mounts sticks
    "hemicycle-uploader.service": 3.0,  # the one unit with IP beyond the box: the archive
    "hemicycle-tablet.service": 5.0,
    "hemicycle-display.service": 5.0,
}
SYSTEM_UNITS = (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system"))


@pytest.fixture(scope="module")
def analyze() -> str:
    found = subprocess.run(
        [str(ENSURE_COMMAND), "systemd-analyze", "systemd"],
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode != 0:
        pytest.skip(f"no systemd-analyze: {found.stdout.strip() or found.stderr.strip()}")
    path = shutil.which("systemd-analyze")
    assert path is not None
    return path


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A root with systemd's units, our units in /etc/systemd/system and an executable
    stand-in at every ExecStart path."""
    root = tmp_path_factory.mktemp("root")
    system = next((p for p in SYSTEM_UNITS if (p / "sysinit.target").exists()), None)
    if system is None:
        pytest.skip("systemd's own unit files are not on this machine")
    shutil.copytree(system, root / "usr/lib/systemd/system", symlinks=True)
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(unit, units / unit.name)
        for line in unit.read_text().splitlines():
            match = re.match(r"Exec\w+=[-@:+!]*(\S+)", line)
            if match:
                program = root / match.group(1).lstrip("/")
                program.parent.mkdir(parents=True, exist_ok=True)
                program.write_text("#!/bin/sh\n")
                program.chmod(0o755)
    return root


def test_every_unit_has_a_target() -> None:
    assert {u.name for u in UNITS} == set(TARGETS)


def test_the_units_verify_without_a_word(analyze: str, staged: Path) -> None:
    result = subprocess.run(
        [
            analyze,
            "verify",
            "--man=no",
            f"--root={staged}",
            *(f"/etc/systemd/system/{u.name}" for u in UNITS),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=staged,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_each_unit_is_hardened_within_its_target(analyze: str, unit: Path) -> None:
    target = TARGETS[unit.name]
    result = subprocess.run(
        [analyze, "security", "--offline=yes", f"--threshold={int(target * 10)}", str(unit)],
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= target, result.stdout
    assert result.returncode == 0, result.stdout
