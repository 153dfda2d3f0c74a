"""Who may fetch a document's bytes: the room and the tablets ask the same rule
(:func:`room_protocol.messages.may_read`), so it lives with the protocol."""

from __future__ import annotations

from room_protocol.messages import may_read

__all__ = ["may_read"]
