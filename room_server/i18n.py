"""The text of ``room-server``'s command line: its catalogue, in the locale's language.

The texts are in ``room_server/locale/{en,vi}/LC_MESSAGES/room-server.po``; ``cli.main``
picks the language from the locale variables (``LANG=vi_VN.UTF-8`` → Vietnamese).
Log messages and the details inside errors stay in English, for the people who read logs.
"""

from __future__ import annotations

from importlib.resources import files

from room_protocol.text import Catalogue

__all__ = ["CATALOGUE", "LANGUAGES", "tr", "trn"]

LANGUAGES: tuple[str, ...] = ("en", "vi")

CATALOGUE = Catalogue("room-server", files("room_server") / "locale", LANGUAGES)
tr = CATALOGUE.tr
trn = CATALOGUE.trn
