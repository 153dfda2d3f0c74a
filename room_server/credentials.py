"""PIN and badge checks without keeping PINs or badge numbers.

Both are stored as HMAC-SHA256 under a room secret (``state_dir/room-secret.key``,
0600, never in the database): a copied database alone does not give a 4-digit PIN away
to an offline search. Online guessing is counted and stopped by the sign-in word
(:mod:`room_server.rules.signin`, failures kept in the database).
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

SECRET_BYTES = 32


def load_or_create_secret(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        value = secrets.token_bytes(SECRET_BYTES)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(value)
        return value


@dataclass(frozen=True)
class Credentials:
    secret: bytes

    def pin_hash(self, meeting_id: str, delegate_id: str, pin: str) -> str:
        return self._mac(f"pin\0{meeting_id}\0{delegate_id}\0{pin}")

    def badge_hash(self, meeting_id: str, badge: str) -> str:
        return self._mac(f"badge\0{meeting_id}\0{badge}")

    def _mac(self, text: str) -> str:
        return hmac.new(self.secret, text.encode(), sha256).hexdigest()
