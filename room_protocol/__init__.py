"""The Hemicycle wire protocol, without any I/O.

Message types, their JSON codec, the protocol version, the document-transfer rules, the
mDNS discovery contract, the wire's TLS and logging rules (``wire``) and the rule that
what a program keeps on disk is private (``private_files``). Standard library only: the
room server, the tablets and the room display all speak through this package, so they
cannot drift apart.
"""

from room_protocol import annotations, enrollment, live, notices, records, voting
from room_protocol.codec import MAX_MESSAGE_BYTES, decode, encode
from room_protocol.errors import ErrorCode, ProtocolError
from room_protocol.messages import (
    AgendaItem,
    Channel,
    DocumentBegin,
    DocumentEnd,
    DocumentInfo,
    ErrorMessage,
    FetchDocument,
    Hello,
    MeetingSnapshot,
    MeetingState,
    Message,
    Welcome,
)
from room_protocol.version import PROTOCOL_VERSION

__all__ = [
    "MAX_MESSAGE_BYTES",
    "PROTOCOL_VERSION",
    "AgendaItem",
    "Channel",
    "DocumentBegin",
    "DocumentEnd",
    "DocumentInfo",
    "ErrorCode",
    "ErrorMessage",
    "FetchDocument",
    "Hello",
    "MeetingSnapshot",
    "MeetingState",
    "Message",
    "ProtocolError",
    "Welcome",
    "annotations",
    "decode",
    "encode",
    "enrollment",
    "live",
    "notices",
    "records",
    "voting",
]
