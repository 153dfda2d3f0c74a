"""Every command line of Hemicycle explains itself: each subcommand and each option has
help, and bad arguments or files end in a message that names the problem, never in a
traceback."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kiosk.display_app import build_parser as display_parser
from provisioning.cli import build_parser as provision_parser
from room_server.cli import build_parser as server_parser
from tablet_client.app import build_parser as tablet_parser
from tests.rooms import room_cli, timeout, write_config

PARSERS: dict[str, Callable[[], argparse.ArgumentParser]] = {
    "room-server": server_parser,
    "room-provision": provision_parser,
    "hemicycle-tablet": tablet_parser,
    "hemicycle-display": display_parser,
}


def walk(name: str, parser: argparse.ArgumentParser) -> Iterator[tuple[str, str, str]]:
    """(where, what, its help) for the parser's description, every option and positional,
    and every subcommand, recursively."""
    yield name, "(what it does)", parser.description or ""
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help or "" for choice in action._choices_actions}
            for command, sub in action.choices.items():
                yield name, f"subcommand {command}", helps.get(command, "")
                yield from walk(f"{name} {command}", sub)
            continue
        what = "/".join(action.option_strings) or action.dest
        yield name, what, action.help or ""


@pytest.mark.parametrize("program", sorted(PARSERS))
def test_every_option_and_subcommand_has_help(program: str) -> None:
    entries = list(walk(program, PARSERS[program]()))
    assert len(entries) > 5
    missing = [f"{where}: {what}" for where, what, text in entries if not text.strip()]
    assert not missing, "no help for:\n" + "\n".join(missing)


def run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command],
        capture_output=True,
        text=True,
        timeout=timeout(60),
        check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", **(env or {})},
    )


def not_a_pem(path: Path) -> Path:
    """What ``--ca /etc/passwd`` used to hand the tablet: a text file that is no PEM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("program", ["tablet_client", "kiosk"])
def test_an_enrollment_that_is_not_pem_is_named(tmp_path: Path, program: str) -> None:
    device = tmp_path / "device"
    for name in ("ca.pem", "device.pem", "device.key"):
        not_a_pem(device / name)
    result = run(program, "--device-dir", str(device), "--room", "council")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{device / 'ca.pem'} is not a room CA certificate (PEM)" in result.stderr


@pytest.mark.parametrize("program", ["tablet_client", "kiosk"])
def test_a_cache_dir_that_is_a_file_is_named(tmp_path: Path, program: str) -> None:
    cache = not_a_pem(tmp_path / "cache")
    result = run(program, "--cache-dir", str(cache), "--room", "council")
    assert (result.returncode, "Traceback" in result.stderr) == (2, False)
    assert f"{cache} is a file, not a folder" in result.stderr


def test_an_archive_ca_that_is_not_pem_is_named(tmp_path: Path) -> None:
    config = write_config(tmp_path, room_id="cli-room", room_name="CLI room", mdns=False)
    ca = not_a_pem(tmp_path / "passwd")
    config.write_text(
        config.read_text(encoding="utf-8") + f'\n[archive]\nca_file = "{ca}"\n', encoding="utf-8"
    )
    result = room_cli(config, "status")
    assert (result.returncode, "Traceback" in result.stderr) == (2, False)
    assert f"archive.ca_file: {ca} holds no CA certificate (PEM)" in result.stderr


@pytest.mark.parametrize("language", ["en", "vi"])
def test_a_path_that_is_not_a_folder_is_named_in_the_cli_language(
    tmp_path: Path, language: str
) -> None:
    taken = not_a_pem(tmp_path / "taken")
    env = {
        "LANG": "vi_VN.UTF-8" if language == "vi" else "C.UTF-8",
        "LANGUAGE": "",
        "LC_ALL": "",
        "LC_MESSAGES": "",
    }
    sample = run("provisioning.cli", "sample-package", str(taken), env=env)
    assert (sample.returncode, "Traceback" in sample.stderr) == (2, False)
    words = "không dùng được" if language == "vi" else "cannot use"
    assert f"room-provision: {words} {taken}" in sample.stderr
    config = write_config(tmp_path, room_id="cli-room", room_name="CLI room", mdns=False)
    imported = run(
        "room_server", "--config", str(config), "--state-dir", str(taken), "import",
        str(tmp_path), env=env,
    )  # fmt: skip
    assert (imported.returncode, "Traceback" in imported.stderr) == (2, False)
    assert f"room-server: {words} {taken}" in imported.stderr
