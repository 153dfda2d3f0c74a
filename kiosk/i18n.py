"""The room display's text: its catalogue, and the calls the views use.

The texts are in ``room_client/locale/{en,vi}/LC_MESSAGES/hemicycle-display.po``, with
the same rules as the tablet's (``tablet_client.i18n``); the display switches language
independently of any tablet.
"""

from __future__ import annotations

from datetime import date
from importlib.resources import files

from room_protocol.text import Catalogue

__all__ = [
    "CATALOGUE",
    "LANGUAGES",
    "current_language",
    "long_date",
    "on_language_changed",
    "set_language",
    "tr",
    "trn",
]

LANGUAGES: tuple[str, ...] = ("en", "vi")

CATALOGUE = Catalogue("hemicycle-display", files("room_client") / "locale", LANGUAGES)
set_language = CATALOGUE.set_language
current_language = CATALOGUE.current_language
on_language_changed = CATALOGUE.on_language_changed
tr = CATALOGUE.tr
trn = CATALOGUE.trn


def long_date(day: date) -> str:
    """A meeting date as people write it in the current language."""
    return tr(
        "date.long",
        weekday=tr(f"date.weekday.{day.weekday()}"),
        day=day.day,
        month=tr(f"date.month.{day.month}"),
        year=day.year,
    )
