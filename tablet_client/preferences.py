"""What the tablet remembers of the people using it across restarts: the language chosen.

One small JSON file (``preferences.json`` beside the device credentials by default),
written whole and private; a missing, unreadable or odd file means no preference, never
a failure to start.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from room_protocol.private_files import write_private

log = logging.getLogger(__name__)

PREFERENCES_FILE = "preferences.json"
MAX_BYTES = 4096  # the file holds one short value; more is not ours


class Preferences:
    def __init__(self, path: Path, languages: tuple[str, ...]) -> None:
        self.path = path
        self.languages = languages

    def _read(self) -> dict[str, object]:
        try:
            with self.path.open("rb") as f:
                data = f.read(MAX_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("cannot read %s: %s", self.path, exc)
            return {}
        try:
            if len(data) > MAX_BYTES:
                raise ValueError(f"over {MAX_BYTES} bytes")
            value = json.loads(data)
            if not isinstance(value, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            log.warning("ignoring %s: %s", self.path, exc)
            return {}
        return value

    @property
    def language(self) -> str | None:
        """The language last chosen on this tablet (None: never, or not one we have)."""
        code = self._read().get("language")
        return code if isinstance(code, str) and code in self.languages else None

    def set_language(self, code: str) -> None:
        if code not in self.languages:
            raise ValueError(f"unknown language {code!r}")
        values = {**self._read(), "language": code}
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_private(self.path, json.dumps(values).encode())
        except OSError as exc:  # kept for this run only
            log.warning("cannot save the language in %s: %s", self.path, exc)
