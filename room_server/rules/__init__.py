"""The meeting's rules as pure functions over plain values: no SQL, no sockets, no clock.

One module per meeting word (``agenda``, ``floor``, ``attendance``, ``ballots``, ``polls``).
A rule that says no raises :class:`Refusal` with a reason a person can act on. May import
``room_protocol`` and ``room_server.tally``, nothing that does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from room_protocol.errors import ErrorCode


class Refusal(Exception):
    """A request that is not applied; the tablet gets ``error`` with this reason.

    ``effects`` still run after the refusal is answered. ``keep`` is a write that survives
    the refusal: everything the request wrote is rolled back, then ``keep`` runs in the
    same transaction (counting a wrong PIN, for example) and returns more effects (the
    alert that a member is now locked).
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        effects: Sequence[Callable[[], None]] = (),
        keep: Callable[[], Sequence[Callable[[], None]]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.effects = list(effects)
        self.keep = keep
