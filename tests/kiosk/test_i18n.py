"""The display's English and Vietnamese catalogues are complete and consistent."""

from __future__ import annotations

import ast
import string
from datetime import date
from pathlib import Path

import pytest

import kiosk
from kiosk.i18n import LANGUAGES, long_date, set_language, tr


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_every_key_is_in_every_language() -> None:
    english = set(LANGUAGES["en"])
    for code, catalogue in LANGUAGES.items():
        assert set(catalogue) == english, code
        assert all(text.strip() for text in catalogue.values()), code


@pytest.mark.parametrize("key", sorted(LANGUAGES["en"]))
def test_placeholders_match(key: str) -> None:
    expected = placeholders(LANGUAGES["en"][key])
    for code, catalogue in LANGUAGES.items():
        assert placeholders(catalogue[key]) == expected, (code, key)


def test_every_key_the_code_asks_for_exists() -> None:
    """Literal ``tr("...")`` keys in kiosk/ are all in the catalogue (and none is unused)."""
    used: set[str] = set()
    for path in Path(kiosk.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "tr"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                used.add(str(node.args[0].value))
    assert used <= set(LANGUAGES["en"]), used - set(LANGUAGES["en"])
    built = {k for k in LANGUAGES["en"] if k.startswith(("date.weekday.", "date.month."))}
    assert set(LANGUAGES["en"]) - used - built == set()


def test_long_dates() -> None:
    assert long_date(date(2026, 11, 21)) == "Saturday 21 November 2026"
    set_language("vi")
    assert long_date(date(2026, 11, 21)) == "Thứ Bảy, ngày 21 tháng 11 năm 2026"
    assert tr("speaker.time_up") == "Hết giờ"
    set_language("en")
    with pytest.raises(ValueError, match="unknown language"):
        set_language("fr")
    with pytest.raises(KeyError):
        tr("no.such.key")
