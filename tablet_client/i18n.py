"""The tablet's user-interface text: its catalogue, and the calls the views use.

The texts are in ``room_client/locale/{en,vi}/LC_MESSAGES/hemicycle-tablet.po`` (keys
as message ids, English text in ``en``). Language names are written in their own
language in every catalogue, as switchers do.
"""

from __future__ import annotations

from importlib.resources import files

from room_protocol.text import Catalogue

__all__ = [
    "CATALOGUE",
    "LANGUAGES",
    "Text",
    "current_language",
    "on_language_changed",
    "set_language",
    "tr",
    "tr_text",
    "trn",
]

LANGUAGES: tuple[str, ...] = ("en", "vi")

CATALOGUE = Catalogue("hemicycle-tablet", files("room_client") / "locale", LANGUAGES)
set_language = CATALOGUE.set_language
current_language = CATALOGUE.current_language
on_language_changed = CATALOGUE.on_language_changed
tr = CATALOGUE.tr
trn = CATALOGUE.trn

# A message id and its arguments, to translate later; an ``n`` argument makes it a plural.
Text = tuple[str, dict[str, object]]


def tr_text(text: Text) -> str:
    """``text`` in the current language."""
    key, arguments = text
    if "n" in arguments:
        others = {name: value for name, value in arguments.items() if name != "n"}
        count = arguments["n"]
        assert isinstance(count, int), text
        return trn(key, count, **others)
    return tr(key, **arguments)
