from __future__ import annotations

import pytest

from room_protocol.discovery import (
    MAX_INSTANCE_NAME,
    MAX_TXT_STRING,
    SERVICE_TYPE,
    RoomAnnouncement,
    build_txt,
    parse_txt,
)
from room_protocol.errors import ErrorCode, ProtocolError

ROOM = RoomAnnouncement("council-1", "Phòng họp Hội đồng", 1, "0123456789abcdef")


def as_wire(txt: dict[str, str]) -> dict[bytes, bytes | None]:
    return {k.encode(): v.encode() for k, v in txt.items()}


def test_service_type_is_the_contract() -> None:
    assert SERVICE_TYPE == "_hemicycle._tcp.local."


def test_round_trip_through_wire_bytes() -> None:
    assert parse_txt(as_wire(build_txt(ROOM))) == ROOM


def test_long_names_are_shortened_on_a_character_edge() -> None:
    room = RoomAnnouncement("r", "Phòng " * 100, 1, "0123456789abcdef")
    txt = build_txt(room)
    assert len(b"name=" + txt["name"].encode()) <= MAX_TXT_STRING
    assert len(room.instance_name().encode()) <= MAX_INSTANCE_NAME
    assert parse_txt(as_wire(txt)).room_name.startswith("Phòng Phòng")


@pytest.mark.parametrize(
    ("room", "text"),
    [
        (RoomAnnouncement("Council 1", "x", 1, "0123456789abcdef"), "room id"),
        (RoomAnnouncement("c", "x", 1, "xyz"), "fingerprint hint"),
    ],
)
def test_build_rejects_bad_values(room: RoomAnnouncement, text: str) -> None:
    with pytest.raises(ProtocolError, match=text):
        build_txt(room)


GOOD = as_wire(build_txt(ROOM))


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({b"txtvers": b"2"}, ErrorCode.VERSION_MISMATCH),
        ({b"room": None}, ErrorCode.MISSING_FIELD),
        ({b"room": b"UPPER CASE"}, ErrorCode.BAD_FIELD),
        ({b"pv": b"one"}, ErrorCode.BAD_FIELD),
        ({b"fp": b"zz"}, ErrorCode.BAD_FIELD),
        ({b"name": b"\xff\xfe"}, ErrorCode.MALFORMED),
        ({b"name": b"x" * 300}, ErrorCode.TOO_LARGE),
    ],
)
def test_parse_rejects_malformed_records(
    change: dict[bytes, bytes | None], code: ErrorCode
) -> None:
    record = {**GOOD, **change}
    with pytest.raises(ProtocolError) as caught:
        parse_txt(record)
    assert caught.value.code is code


def test_keys_are_case_insensitive() -> None:
    upper = {k.upper(): v for k, v in GOOD.items()}
    assert parse_txt(upper) == ROOM
