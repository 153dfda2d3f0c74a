"""Errors of the protocol layer.

ProtocolError
    Input that does not follow the protocol. ``code`` is a stable word from
    :class:`ErrorCode` that peers may act on; ``str(error)`` is a sentence for people.
"""

from enum import StrEnum


class ErrorCode(StrEnum):
    MALFORMED = "malformed"  # not JSON, not an object, bad encoding
    TOO_LARGE = "too_large"
    UNKNOWN_TYPE = "unknown_type"
    MISSING_FIELD = "missing_field"
    UNEXPECTED_FIELD = "unexpected_field"
    BAD_FIELD = "bad_field"  # wrong type or out of range
    VERSION_MISMATCH = "version_mismatch"
    NOT_FOUND = "not_found"
    BAD_STATE = "bad_state"  # a valid message at the wrong moment
    FORBIDDEN = "forbidden"  # the sender's role may not do this
    WRONG_PIN = "wrong_pin"
    NO_PIN = "no_pin"  # the member has no PIN: sign in with a badge or ask the clerk
    LOCKED = "locked"  # too many failed sign-ins for this member or tablet; says how long
    PIN_REQUIRED = "pin_required"  # a badge alone: this meeting wants the badge and the PIN
    BADGE_REQUIRED = "badge_required"  # a PIN alone: this meeting wants the badge and the PIN
    OP_ID_REUSED = "op_id_reused"  # this tablet already used the op_id for another request
    NOT_PRESENT = "not_present"  # a ballot from a member who is not checked in
    ALREADY_VOTED = "already_voted"  # a second, different ballot for the same member
    POLL_CLOSED = "poll_closed"  # a ballot for a poll that is not open
    NO_QUORUM = "no_quorum"  # opening a poll without quorum and without the override
    NOT_ENROLLED = "not_enrolled"  # the device has no valid certificate of this room
    RATE_LIMITED = "rate_limited"  # more requests than the room takes from one tablet
    MEETING_CLOSED = "meeting_closed"  # the meeting is closed: it takes no more changes
    STILL_OPEN = "still_open"  # closing refused: something is open (see meeting.close_blocked)
    ANNOTATION_LIMIT = "annotation_limit"  # a member's annotations reached the room's limit
    BUSY = "busy"
    STORAGE = "storage"  # the room's disk is full or cannot be written: nothing was saved
    INTERNAL = "internal"


class ProtocolError(ValueError):
    """A message or TXT record that breaks the protocol, with the reason in words."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"ProtocolError({self.code.value!r}, {self.message!r})"
