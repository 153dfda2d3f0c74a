"""``room-provision bundle`` and ``room-provision install`` as IT staff run them: real
processes, a real ``pip download`` with ``--no-index`` against a wheel cache packed from
this test run's own venv (never the network), real ``systemd-sysusers --root``, a staging
root for every file, and one real offline venv installed from a bundle and started."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from provisioning import wheels
from provisioning.install import CONFIG, SYSUSERS, TMPFILES, UDEV_RULE, UNITS, VENV
from provisioning.room_init import INSTALLED_CONFIG, write_config
from tests.provisioning.run import provision
from tests.rooms import die_with_the_tests, timeout

ROOT = Path(__file__).resolve().parents[2]
EXTRAS = ("server", "provisioning")
SYSTEM_FILES = sorted(p.name for p in (ROOT / "systemd").iterdir())


@pytest.fixture(scope="module")
def wheel_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every dependency of the room server as this venv has it installed, packed back into
    wheels by ``bundle --from-env``: a package index that needs no network."""
    dest = tmp_path_factory.mktemp("from-env") / "bundle"
    result = provision("bundle", str(dest), "--from-env")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "packed from this installation" in result.stdout
    return dest / "wheels"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, wheel_cache: Path) -> Path:
    dest = tmp_path_factory.mktemp("stick") / "hemicycle"
    result = provision("bundle", str(dest), "--no-index", "--find-links", str(wheel_cache))
    assert result.returncode == 0, result.stdout + result.stderr
    for step in ("[1/4]", "[2/4]", "[3/4]", "[4/4]", "bundle written"):
        assert step in result.stdout  # progress is shown
    digest = hashlib.sha256((dest / "SHA256SUMS").read_bytes()).hexdigest()
    assert f"sha256 of SHA256SUMS: {digest}" in result.stdout
    return dest


def bare_python() -> str:
    """The interpreter this test's venv was made from: no third-party package on its path."""
    return str(getattr(sys, "_base_executable", sys.executable))


def names(folder: Path) -> set[str]:
    return {wheels.normalise(w.name.split("-")[0]) for w in folder.glob("*.whl")}


def test_the_bundle_holds_the_project_every_dependency_and_the_system_files(
    bundle: Path, wheel_cache: Path
) -> None:
    # pip resolved hemicycle[server,provisioning] from the cache alone, for this Python
    # (the cache holds more: markers such as python_version < "3.11" were not evaluated).
    bundled = names(bundle / "wheels")
    assert bundled <= names(wheel_cache) | {"hemicycle"}
    direct = {"websockets", "zeroconf", "ifaddr", "uvloop", "sqlite_utils", "pymupdf"}
    direct |= {"cryptography", "segno", "pymupdf_fonts", "pyudev", "cffi", "click", "pip"}
    assert direct | {"hemicycle"} <= bundled
    assert sorted(p.name for p in (bundle / "systemd").iterdir()) == SYSTEM_FILES
    assert "-m provisioning.cli install --from" in (bundle / "README.txt").read_text()
    # SHA256SUMS covers every file, and sha256sum itself agrees with it.
    listed = {line.split("  ", 1)[1] for line in (bundle / "SHA256SUMS").read_text().splitlines()}
    on_disk = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert listed == on_disk - {"SHA256SUMS"}
    check = subprocess.run(
        ["sha256sum", "--check", "--strict", "SHA256SUMS"],
        cwd=bundle,
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_project_wheel_is_built_from_the_checkout_alike_each_time(tmp_path: Path) -> None:
    first = wheels.project_wheel_from_checkout(ROOT, tmp_path / "a")
    second = wheels.project_wheel_from_checkout(ROOT, tmp_path / "b")
    assert first.name == "hemicycle-0.1.0-py3-none-any.whl"
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as wheel:
        listed = set(wheel.namelist())
        meta = wheel.read("hemicycle-0.1.0.dist-info/METADATA").decode()
        scripts = wheel.read("hemicycle-0.1.0.dist-info/entry_points.txt").decode()
        assert wheel.testzip() is None
    assert "provisioning/locale/vi/LC_MESSAGES/room-provision.mo" in listed
    assert "room_server/py.typed" in listed
    assert not any("__pycache__" in n or n.startswith("tests/") for n in listed)
    units = {n.rsplit("/", 1)[1] for n in listed if "/share/hemicycle/systemd/" in n}
    assert sorted(units) == SYSTEM_FILES
    assert 'Requires-Dist: websockets>=14; extra == "server"' in meta
    assert "room-server = room_server.cli:main" in scripts


def test_a_bundle_is_written_into_an_empty_folder_only(tmp_path: Path) -> None:
    dest = tmp_path / "stick"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine")
    result = provision("bundle", str(dest), "--no-index", "--find-links", str(tmp_path))
    assert result.returncode == 2
    assert "is not an empty folder" in result.stderr
    assert [p.name for p in dest.iterdir()] == ["notes.txt"]


def test_a_bundle_that_cannot_be_finished_leaves_nothing(tmp_path: Path) -> None:
    empty_index = tmp_path / "index"
    empty_index.mkdir()
    dest = tmp_path / "stick" / "hemicycle"
    result = provision("bundle", str(dest), "--no-index", "--find-links", str(empty_index))
    assert result.returncode == 2
    assert "pip download failed" in result.stderr
    assert not dest.exists()


def test_install_stages_everything_once_and_keeps_it_the_second_time(
    bundle: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    root.mkdir()
    host_passwd = Path("/etc/passwd").read_bytes()
    first = provision("install", "--root", str(root), "--from", str(bundle), "--no-venv")
    assert first.returncode == 0, first.stdout + first.stderr
    for unit in (bundle / "systemd").glob("*.service"):
        assert (root / UNITS / unit.name).read_bytes() == unit.read_bytes()
    for target, name in (
        (UDEV_RULE, "90-hemicycle-usb.rules"),
        (TMPFILES, "hemicycle.tmpfiles"),
        (SYSUSERS, "hemicycle.sysusers"),
    ):
        assert (root / target).read_bytes() == (bundle / "systemd" / name).read_bytes()
    assert (root / CONFIG).read_text(encoding="utf-8") == INSTALLED_CONFIG
    assert oct((root / CONFIG).stat().st_mode & 0o777) == "0o644"
    drop_in = root / UNITS / "hemicycle-uploader.service.d/archive.conf"
    assert "IPAddressAllow=" in drop_in.read_text()
    if shutil.which("systemd-sysusers"):
        assert f"made     user hemicycle ({root}/etc/passwd)" in first.stdout
        users = (root / "etc/passwd").read_text().splitlines()
        user = next(u for u in users if u.startswith("hemicycle:"))
        assert user.endswith(":/var/lib/hemicycle:/usr/sbin/nologin")
    else:
        assert "skipped  user hemicycle" in first.stdout
    assert Path("/etc/passwd").read_bytes() == host_passwd  # the box's users: untouched
    assert "skipped  " + str(root / VENV) in first.stdout
    assert "made     " in first.stdout and "kept     " not in first.stdout

    # IT staff edit the configuration and the drop-in; a unit is changed on disk.
    (root / CONFIG).write_text("[room]\nid = 'edited'\n")
    drop_in.write_text("[Service]\nIPAddressAllow=198.51.100.7\n")
    (root / UNITS / "hemicycle-usb.service").write_text("[Unit]\n")
    second = provision("install", "--root", str(root), "--from", str(bundle), "--no-venv")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "made     " not in second.stdout
    assert f"updated  {root / UNITS / 'hemicycle-usb.service'}" in second.stdout
    assert f"kept     {root / CONFIG} (edited: kept as it is)" in second.stdout
    assert (root / CONFIG).read_text() == "[room]\nid = 'edited'\n"
    assert drop_in.read_text() == "[Service]\nIPAddressAllow=198.51.100.7\n"
    assert (root / UNITS / "hemicycle-usb.service").read_bytes() == (
        bundle / "systemd/hemicycle-usb.service"
    ).read_bytes()
    assert Path("/etc/passwd").read_bytes() == host_passwd


def test_install_from_something_that_is_not_a_bundle_changes_nothing(tmp_path: Path) -> None:
    root, stick = tmp_path / "root", tmp_path / "stick"
    root.mkdir()
    stick.mkdir()
    result = provision("install", "--root", str(root), "--from", str(stick), "--no-venv")
    assert result.returncode == 2
    assert "a Hemicycle bundle?" in result.stderr
    assert list(root.iterdir()) == []
    missing = provision("install", "--root", str(tmp_path / "nowhere"), "--no-venv")
    assert missing.returncode == 2 and "is not a folder" in missing.stderr


def test_install_from_a_damaged_or_changed_stick_changes_nothing(
    bundle: Path, tmp_path: Path
) -> None:
    """A wheel with one byte changed, a file added, a file lost: each refused, by name,
    before anything is written (the sums match what bundle printed, too)."""
    stick = tmp_path / "stick"
    shutil.copytree(bundle, stick)
    digest = hashlib.sha256((stick / "SHA256SUMS").read_bytes()).hexdigest()
    assert len(digest) == 64
    wheel = next((stick / "wheels").glob("segno-*.whl"))
    data = bytearray(wheel.read_bytes())
    data[len(data) // 2] ^= 0xFF
    cases = {
        "changed": lambda: wheel.write_bytes(bytes(data)),
        "not listed": lambda: (stick / "wheels/evil-1.0-py3-none-any.whl").write_bytes(b"PK"),
        "missing": lambda: (stick / "systemd/hemicycle.tmpfiles").unlink(),
    }
    for problem, damage in cases.items():
        shutil.rmtree(stick)
        shutil.copytree(bundle, stick)
        damage()
        root = tmp_path / f"root-{problem.replace(' ', '-')}"
        root.mkdir()
        result = provision("install", "--root", str(root), "--from", str(stick), "--no-venv")
        assert result.returncode == 2, result.stdout
        assert "is not as it was written" in result.stderr and f": {problem}" in result.stderr
        assert list(root.iterdir()) == []


def test_init_fills_in_the_installed_configuration_but_keeps_an_edited_one(
    tmp_path: Path,
) -> None:
    config = tmp_path / "room-server.toml"
    config.write_text(INSTALLED_CONFIG)
    assert write_config(config, "[room]\nid = 'a'\n", force=False) == "made"
    assert config.read_text() == "[room]\nid = 'a'\n"
    assert write_config(config, "[room]\nid = 'b'\n", force=False) == "differs"
    assert config.read_text() == "[room]\nid = 'a'\n"


def test_a_real_offline_install_from_the_bundle_runs(bundle: Path, tmp_path: Path) -> None:
    """As the stick's README says: the installer runs from the project's wheel on the box's
    own Python (no Hemicycle, no dependency installed), makes the venv from the stick's
    wheels alone (pip --no-index) and the programs start: about 15 s."""
    root = tmp_path / "root"
    root.mkdir()
    project = next((bundle / "wheels").glob("hemicycle-*.whl"))
    command = ["install", "--root", str(root), "--from", str(bundle)]
    result = subprocess.run(
        [bare_python(), "-m", "provisioning.cli", *command],
        capture_output=True,
        text=True,
        timeout=timeout(120),
        check=False,
        preexec_fn=die_with_the_tests(),
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(project)},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"made     {root / VENV}" in result.stdout
    venv = root / VENV
    for program in ("room-server", "room-provision"):
        ran = subprocess.run(
            [str(venv / "bin" / program), "--help"],
            capture_output=True,
            text=True,
            timeout=timeout(60),
            check=False,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},  # not this test's PYTHONPATH
        )
        assert ran.returncode == 0, ran.stderr
        assert f"usage: {program}" in ran.stdout
    # The installed code is the checkout's, the units beside it are the bundle's.
    installed = next((venv / "lib").glob("python3*/site-packages/provisioning/install.py"))
    assert (
        hashlib.sha256(installed.read_bytes()).digest()
        == hashlib.sha256((ROOT / "provisioning/install.py").read_bytes()).digest()
    )
    assert sorted(p.name for p in (venv / "share/hemicycle/systemd").iterdir()) == SYSTEM_FILES


def test_the_uploader_reaches_only_the_archive_set_in_its_drop_in(tmp_path: Path) -> None:
    """Installed without a bundle (the checkout's units): the uploader's drop-in allows no
    address until the archive's is set; then that one address, and the unit stays within
    its target."""
    ensure = ROOT / "tests" / "tools" / "ensure-command.sh"
    found = subprocess.run(
        [str(ensure), "systemd-analyze", "systemd"], capture_output=True, text=True, check=False
    )
    if found.returncode != 0:
        pytest.skip(f"no systemd-analyze: {found.stdout.strip() or found.stderr.strip()}")
    root = tmp_path / "root"
    root.mkdir()
    result = provision("install", "--root", str(root), "--no-venv")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (root / UNITS / "hemicycle-uploader.service").read_bytes() == (
        ROOT / "systemd/hemicycle-uploader.service"
    ).read_bytes()

    def security() -> str:
        options = ["--offline=yes", f"--root={root}", "--threshold=30"]
        ran = subprocess.run(
            ["systemd-analyze", "security", *options, "hemicycle-uploader.service"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        return ran.stdout

    assert "Service blocks all IP address ranges" in security()
    drop_in = root / UNITS / "hemicycle-uploader.service.d/archive.conf"
    drop_in.write_text(
        drop_in.read_text().replace("IPAddressAllow=\n", "IPAddressAllow=198.51.100.7\n")
    )
    assert "Service defines IP address allow list with non-localhost entries" in security()


def test_the_closure_follows_extras_through_the_project_itself() -> None:
    """``all`` is ``hemicycle[server,tablet,provisioning]``: followed once, not forever."""
    server = {wheels.normalise(n) for n in wheels.installed_closure("hemicycle", EXTRAS)}
    every = {wheels.normalise(n) for n in wheels.installed_closure("hemicycle", ["all"])}
    assert {"hemicycle", "pymupdf", "pyudev", "websockets", "cffi"} <= server
    assert "pyside6_essentials" not in server and "qasync" not in server
    assert server | {"pyside6_essentials", "qasync", "zxing_cpp"} <= every
