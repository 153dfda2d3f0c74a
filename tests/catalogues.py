"""The project's .po catalogues, read with Babel, for the tests that check them."""

from __future__ import annotations

import string
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
LANGUAGES = ("en", "vi")
# domain -> the folder whose locale/ holds it
DOMAINS = {
    "hemicycle-tablet": ROOT / "room_client" / "locale",
    "hemicycle-display": ROOT / "room_client" / "locale",
    "room-server": ROOT / "room_server" / "locale",
    "room-provision": ROOT / "provisioning" / "locale",
}
PLURAL_FORMS = {"en": (2, "(n != 1)"), "vi": (1, "0")}


def po_path(domain: str, code: str) -> Path:
    return DOMAINS[domain] / code / "LC_MESSAGES" / f"{domain}.po"


def read(domain: str, code: str) -> Catalog:
    with po_path(domain, code).open("rb") as source:
        return read_po(source, abort_invalid=True)


def texts(domain: str, code: str) -> dict[str, tuple[str, ...]]:
    """msgid -> its text, or its plural forms, for every entry but the header."""
    out: dict[str, tuple[str, ...]] = {}
    for message in read(domain, code):
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple | list) else message.id
        text = message.string
        forms = text if isinstance(text, tuple | list) else (text,)
        out[str(key)] = tuple(str(form or "") for form in forms)
    return out


def plural_ids(domain: str, code: str) -> set[str]:
    return {
        str(message.id[0])
        for message in read(domain, code)
        if message.id and isinstance(message.id, tuple | list)
    }


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
