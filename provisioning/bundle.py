"""``room-provision bundle DEST``: everything an offline install needs, on a stick.

``DEST/wheels`` holds the project's wheel and a wheel of every dependency for this Python
and platform (and pip's, which installs them); ``DEST/systemd`` the units, the udev rule,
tmpfiles and sysusers files; ``README.txt`` says what to type; ``SHA256SUMS`` lists every
file (``sha256sum -c SHA256SUMS`` checks the stick).
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from provisioning.i18n import tr
from provisioning.wheels import (
    PROJECT,
    SHARE,
    SYSTEM_FILES,
    WheelError,
    checkout_of,
    installed_closure,
    normalise,
    pack_installed,
    project_wheel_from_checkout,
    sha256_sums,
)

WHEELS = "wheels"
README = "README.txt"
SUMS = "SHA256SUMS"
DEFAULT_EXTRAS = ("server", "provisioning")  # what the room server box runs


class BundleError(RuntimeError):
    """A bundle that cannot be written; the message says why."""


@dataclass(frozen=True, slots=True)
class BundleOptions:
    extras: tuple[str, ...] = DEFAULT_EXTRAS
    from_env: bool = False  # pack the installed dependencies instead of pip download
    no_index: bool = False
    find_links: tuple[Path, ...] = ()


def system_files() -> Path:
    """The folder holding the units of this installation: the checkout's ``systemd/``, or
    the copy the project's wheel installs under ``<venv>/share/hemicycle``."""
    checkout = checkout_of(__file__)
    if checkout is not None:
        return checkout / SYSTEM_FILES
    installed = Path(sys.prefix) / SHARE / SYSTEM_FILES
    if installed.is_dir():
        return installed
    raise BundleError(f"no unit files: neither a checkout nor {installed}")


def write_bundle(dest: Path, options: BundleOptions, say: Callable[[str], None]) -> Path:
    """Write the bundle into ``dest`` (a new or empty folder); returns ``dest``. A bundle
    that cannot be finished leaves nothing behind."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BundleError(f"{dest} exists and is not an empty folder")
    existed = dest.exists()
    try:
        return _write_bundle(dest, options, say)
    except BaseException:
        if existed:
            for child in dest.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        else:
            shutil.rmtree(dest, ignore_errors=True)
        raise


def _write_bundle(dest: Path, options: BundleOptions, say: Callable[[str], None]) -> Path:
    wheels = dest / WHEELS
    wheels.mkdir(parents=True, exist_ok=True)
    units = system_files()
    checkout = checkout_of(__file__)
    try:
        if checkout is not None:
            say(tr("bundle.project_checkout", path=checkout))
            project = project_wheel_from_checkout(checkout, wheels)
        else:
            say(tr("bundle.project_installed", path=sys.prefix))
            project = pack_installed(PROJECT, wheels)
    except WheelError as exc:
        raise BundleError(str(exc)) from None
    say(f"      {project.name}")
    where = f"Python {platform.python_version()} on {sys.platform} {platform.machine()}"
    if options.from_env:
        say(tr("bundle.deps_env", where=where))
        for name in [*installed_closure(PROJECT, options.extras)[1:], "pip"]:
            if normalise(name) == PROJECT:
                continue
            if any(w.name.startswith(normalise(name) + "-") for w in wheels.glob("*.whl")):
                continue
            try:
                say(f"      {pack_installed(name, wheels).name}")
            except WheelError as exc:
                raise BundleError(str(exc)) from None
    else:
        say(tr("bundle.deps_pip", where=where))
        _pip_download(project, wheels, options)
    say(tr("bundle.units", path=units))
    shutil.copytree(units, dest / SYSTEM_FILES)
    version = project.name.split("-")[1]
    (dest / README).write_text(_readme(version, options.extras), encoding="utf-8")
    say(tr("bundle.sums", file=SUMS))
    sums = sha256_sums(dest)
    (dest / SUMS).write_text(sums, encoding="utf-8")
    say(tr("bundle.written", path=dest, files=len(sums.splitlines())))
    # Note it down: on the box, `sha256sum SHA256SUMS` must say the same (the sums find a
    # damaged stick; this finds a changed one).
    say(tr("bundle.sums_digest", file=SUMS, sha256=hashlib.sha256(sums.encode()).hexdigest()))
    return dest


def _pip_download(project: Path, wheels: Path, options: BundleOptions) -> None:
    """``pip download`` the project's dependencies, binary wheels only, for this Python."""
    extras = ",".join(options.extras)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--dest",
        str(wheels),
        "--find-links",
        str(wheels),
    ]
    if options.no_index:
        command.append("--no-index")
    for folder in options.find_links:
        command += ["--find-links", str(folder)]
    command += [f"{project}[{extras}]" if extras else str(project), "pip"]
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise BundleError(f"pip download failed (exit {result.returncode}): see above")


def _readme(version: str, extras: tuple[str, ...]) -> str:
    return (
        f"Hemicycle {version}: offline installation of the room server\n"
        "\n"
        "On the room server (Debian 12 or similar, as root), with this stick mounted at\n"
        "/media/hemicycle:\n"
        "\n"
        "  cd /media/hemicycle && sha256sum -c SHA256SUMS\n"
        f"  PYTHONPATH=$(ls wheels/{PROJECT}-*.whl) python3 -m provisioning.cli install "
        "--from /media/hemicycle\n"
        "\n"
        "It makes /opt/hemicycle/.venv from the wheels in wheels/ (no network), installs the\n"
        "units, the udev rule, tmpfiles and the 'hemicycle' system user, and a commented\n"
        "/etc/hemicycle/room-server.toml. Then: room-provision init (docs/it-guide.md).\n"
        f"Installed extras: {', '.join(extras)}.\n"
    )
