"""The text of ``room-provision``'s command line, in the locale's language.

The texts are in ``provisioning/locale/{en,vi}/LC_MESSAGES/room-provision.po``; ``cli.main``
picks the language from the locale variables (``LANG=vi_VN.UTF-8`` → Vietnamese).
"""

from __future__ import annotations

from importlib.resources import files

from room_protocol.text import Catalogue

__all__ = ["CATALOGUE", "LANGUAGES", "tr", "trn"]

LANGUAGES: tuple[str, ...] = ("en", "vi")

CATALOGUE = Catalogue("room-provision", files("provisioning") / "locale", LANGUAGES)
tr = CATALOGUE.tr
trn = CATALOGUE.trn
