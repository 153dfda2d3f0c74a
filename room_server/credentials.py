"""PIN and badge checks without keeping PINs or badge numbers.

Both are stored as HMAC-SHA256 under a room secret (``state_dir/room-secret.key``,
0600, never in the database): a copied database alone does not give a 4-digit PIN away
to an offline search. Online guessing is stopped by :class:`PinGuard`.
"""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

SECRET_BYTES = 32
MAX_FAILURES = 5  # wrong PINs at one seat ...
FAILURE_WINDOW_S = 600.0  # ... within this many seconds ...
LOCKOUT_S = 300.0  # ... lock that seat for this long


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


@dataclass
class PinGuard:
    """Counts wrong PINs per seat (or per tablet without a seat) and locks it for a while."""

    max_failures: int = MAX_FAILURES
    window_s: float = FAILURE_WINDOW_S
    lockout_s: float = LOCKOUT_S
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, list[float]] = field(default_factory=dict)
    _locked_until: dict[str, float] = field(default_factory=dict)

    def locked_for(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: it may)."""
        return max(0.0, self._locked_until.get(key, 0.0) - self.clock())

    def failed(self, key: str) -> bool:
        """Record a wrong PIN; True if this failure locked the seat."""
        now = self.clock()
        recent = [t for t in self._failures.get(key, []) if now - t < self.window_s]
        recent.append(now)
        if len(recent) >= self.max_failures:
            self._locked_until[key] = now + self.lockout_s
            self._failures.pop(key, None)
            return True
        self._failures[key] = recent
        return False

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
