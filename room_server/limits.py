"""How much one connection may ask of the room: a request rate per tablet.

Pure bookkeeping with an injectable clock; the server decides what to do with a request
the bucket refuses (answer ``rate_limited``, and close a connection that keeps flooding).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class RequestBucket:
    """A token bucket: ``burst`` requests at once, then ``rate`` requests per second.

    ``refused_in_a_row`` counts the requests refused since the last one let through, so a
    tablet that keeps sending far beyond the rate can be told apart from one that brushed
    against it.
    """

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a request bucket needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self.refused_in_a_row = 0

    def available(self) -> bool:
        """Whether a request would go through now, without counting one."""
        now = self._clock()
        tokens = min(self.burst, self._tokens + max(0.0, now - self._at) * self.rate)
        return tokens >= 1

    def take(self, count: int = 1) -> bool:
        """Whether ``count`` more (one request, or the operations of a batch) may go
        through now, and count them if so. More than the burst at once goes through when
        the bucket is full, and leaves it owing the rest: the next wait that much longer."""
        now = self._clock()
        # A clock that steps back (it is monotonic in the server) refills nothing.
        self._tokens = min(self.burst, self._tokens + max(0.0, now - self._at) * self.rate)
        self._at = now
        if self._tokens >= min(count, self.burst):
            self._tokens -= count
            self.refused_in_a_row = 0
            return True
        self.refused_in_a_row += 1
        return False
