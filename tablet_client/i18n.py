"""The tablet's user-interface text: its catalogue, and the calls the views use.

The texts are in ``room_client/locale/{en,vi}/LC_MESSAGES/hemicycle-tablet.po`` (keys
as message ids, English text in ``en``). Language names are written in their own
language in every catalogue, as switchers do.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.resources import files

from PySide6.QtCore import QObject

from room_protocol.text import Catalogue

__all__ = [
    "CATALOGUE",
    "LANGUAGES",
    "Text",
    "current_language",
    "follow_language",
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


def follow_language(owner: QObject, listener: Callable[[str], None]) -> Callable[[], None]:
    """Call ``listener(code)`` after each language switch while ``owner`` (the view the
    listener redraws) lives; returns the unsubscribe call. A listener left behind by a
    window closed before its controller was stopped would otherwise touch deleted widgets
    at the next switch (the room display's controller does the same)."""
    unsubscribe = on_language_changed(listener)
    owner.destroyed.connect(lambda: unsubscribe())
    return unsubscribe


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
