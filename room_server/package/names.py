"""Names of the files inside a package: which are safe, which are junk, the manifest's.

Plain string checks shared by the folder and zip readers and by the manifest's "file" keys.
"""

from __future__ import annotations

import re
import unicodedata

MANIFEST_NAMES = ("meeting.toml", "meeting.json")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE_RE = re.compile(r"[A-Za-z]:")
_JUNK_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})


def unsafe_zip_name(raw: str) -> str:
    """Why a zip entry name is unsafe to extract, or '' if it is fine."""
    if "\x00" in raw or CONTROL_RE.search(raw):
        return "has control characters in its name"
    if "\\" in raw:
        return "has a backslash in its name (Windows path); use '/' between folders"
    if raw.startswith("/"):
        return "has an absolute path"
    if _DRIVE_RE.match(raw):
        return "starts with a drive letter"
    if ".." in raw.split("/"):
        return "has a '..' component that would point outside the package"
    return ""


def nfc(name: str) -> str:
    # macOS zips often store names decomposed (NFD); manifests are usually NFC
    return unicodedata.normalize("NFC", name)


def is_junk(name: str) -> bool:
    parts = name.split("/")
    base = parts[-1]
    return "__MACOSX" in parts[:-1] or base.lower() in _JUNK_NAMES or base.startswith("._")
