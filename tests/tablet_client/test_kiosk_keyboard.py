"""The on-screen keyboard in kiosk mode (Qt Virtual Keyboard, in the tablet's window).

The input method is chosen when the QApplication is made, so the keyboard itself is tried
in a process of its own (tests/tablet_client/keyboard_probe.py): offscreen, a tap on the
pairing-code field brings the keys up, taps on keys type into the field without taking
its focus, the layout follows the tablet's language (vi_VN), the window does not grow.
That needs PySide6-Addons (the tablet-kiosk extra); where it is missing the test is
skipped with the reason, and the set-up tests below still run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tablet_client.app import parse_args
from tablet_client.views import keyboard_view
from tests.rooms import die_with_the_tests, timeout
from tests.system_packages import ensure

ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path("/tmp/shots-connection")


def test_kiosk_mode_chooses_the_keyboard_and_keeps_what_the_unit_set() -> None:
    environ: dict[str, str] = {}
    keyboard_view.prepare_environment(environ)
    assert environ == {
        "QT_IM_MODULE": "qtvirtualkeyboard",
        "QT_VIRTUALKEYBOARD_DESKTOP_DISABLE": "1",
    }
    chosen = {"QT_IM_MODULE": "ibus"}  # someone chose another input method: theirs wins
    keyboard_view.prepare_environment(chosen)
    assert chosen["QT_IM_MODULE"] == "ibus"
    assert parse_args(["--fullscreen"]).fullscreen


def test_the_kiosk_unit_sets_the_keyboard_up() -> None:
    unit = (ROOT / "systemd" / "hemicycle-tablet.service").read_text()
    environment = " ".join(
        line.removeprefix("Environment=")
        for line in unit.splitlines()
        if line.startswith("Environment=")
    ).split()
    for name, value in keyboard_view.KIOSK_ENVIRONMENT.items():
        assert f"{name}={value}" in environment
    assert "--fullscreen" in unit


def test_without_the_input_method_there_is_no_keyboard_and_it_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    if os.environ.get("QT_IM_MODULE") == "qtvirtualkeyboard":
        pytest.skip("this test process was started with the keyboard chosen")
    assert keyboard_view.make_keyboard() is None
    assert "QT_IM_MODULE is not qtvirtualkeyboard" in caplog.text


def test_the_on_screen_keyboard_types_into_a_text_field(tmp_path: Path) -> None:
    # Qt Virtual Keyboard loads Qt Multimedia, which links libpulse0 (docs/dependencies.md)
    ensure("libpulse.so.0", "libpulse0")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("QT_IM_", "QT_VIRTUALKEYBOARD"))
    }
    env["QT_QPA_PLATFORM"] = "offscreen"
    done = subprocess.run(
        [sys.executable, "-m", "tests.tablet_client.keyboard_probe", str(SHOTS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout(120),
        check=False,
        preexec_fn=die_with_the_tests(),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if not result["available"]:
        pytest.skip(f"Qt Virtual Keyboard is not installed (PySide6-Addons): {result['problem']}")
    assert result["shown_before"] is False  # nothing to type in: no keys
    assert result["shown"] is True and result["height"] >= 300
    assert result["pressed"] == "key" and result["typed"] == "KEY"  # the field upper-cases
    assert result["focus_kept"] is True and result["field_visible"] is True
    assert result["layouts"] == {"en": "en_US", "vi": "vi_VN"}
    # Vietnamese letters by holding a key (ư only in the Vietnamese layout).
    assert "đ" in result["held_vi"]["d"] and "ư" in result["held_vi"]["u"]
    assert "ư" not in result["held_en"]["u"]
    # At most 40 % of the window, which stays the tablet's size.
    assert result["keyboard_height_800"] <= 320 and result["window_height_800"] == 800
    assert result["keyboard_height_1200"] <= 480 and result["window_height_1200"] == 1200
    assert result["hidden_after"] is True  # the next screen has no text field: keys go
