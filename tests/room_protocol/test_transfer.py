from __future__ import annotations

import hashlib

import pytest

from room_protocol.errors import ProtocolError
from room_protocol.messages import DocumentBegin, DocumentEnd
from room_protocol.transfer import Receiver, chunk_ranges

DATA = bytes(range(256)) * 40
SHA = hashlib.sha256(DATA).hexdigest()


def test_chunk_ranges_cover_the_rest_of_the_file() -> None:
    assert list(chunk_ranges(10, 0, 4)) == [(0, 4), (4, 8), (8, 10)]
    assert list(chunk_ranges(10, 7, 4)) == [(7, 10)]
    assert list(chunk_ranges(10, 10, 4)) == []
    with pytest.raises(ProtocolError):
        list(chunk_ranges(10, 11, 4))


def receive(offset: int, chunk: int = 1000) -> Receiver:
    receiver = Receiver(SHA, len(DATA), offset, hashlib.sha256(DATA[:offset]))
    receiver.begin(DocumentBegin(SHA, len(DATA), offset, chunk))
    for start, end in chunk_ranges(len(DATA), offset, chunk):
        receiver.chunk(DATA[start:end])
    return receiver


@pytest.mark.parametrize("offset", [0, 1, 5000, len(DATA)])
def test_resumed_transfer_verifies(offset: int) -> None:
    receiver = receive(offset)
    receiver.end(DocumentEnd(SHA, len(DATA)))
    assert receiver.finished


def test_corrupted_bytes_fail_the_hash() -> None:
    receiver = Receiver(SHA, len(DATA), 0, hashlib.sha256())
    receiver.begin(DocumentBegin(SHA, len(DATA), 0, len(DATA)))
    receiver.chunk(b"\x01" + DATA[1:])
    with pytest.raises(ProtocolError, match="hash mismatch"):
        receiver.end(DocumentEnd(SHA, len(DATA)))


def test_short_transfer_and_oversized_chunk_are_refused() -> None:
    receiver = Receiver(SHA, len(DATA), 0, hashlib.sha256())
    receiver.begin(DocumentBegin(SHA, len(DATA), 0, 100))
    with pytest.raises(ProtocolError, match="larger than announced"):
        receiver.chunk(DATA[:101])
    receiver.chunk(DATA[:100])
    with pytest.raises(ProtocolError, match="after 100 of"):
        receiver.end(DocumentEnd(SHA, len(DATA)))


def test_begin_must_match_the_request() -> None:
    receiver = Receiver(SHA, len(DATA), 0, hashlib.sha256())
    with pytest.raises(ProtocolError, match="asked for"):
        receiver.begin(DocumentBegin(SHA, len(DATA), 5, 100))
    with pytest.raises(ProtocolError, match="outside a transfer"):
        receiver.chunk(b"x")
