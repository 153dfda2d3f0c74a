"""Who may fetch a document's bytes."""

from __future__ import annotations

from room_protocol.messages import CONFIDENTIAL_READERS, Role


def may_read(confidential: bool, role: Role | None) -> bool:
    """Every enrolled device reads the meeting's documents; a confidential one only with a
    member signed in on it (``role`` is None when nobody is)."""
    return not confidential or role in CONFIDENTIAL_READERS
