from __future__ import annotations

import pytest
from zeroconf import DNSOutgoing, DNSPointer
from zeroconf.const import _CLASS_IN, _FLAGS_QR_RESPONSE, _TYPE_PTR

from room_protocol.discovery import (
    DOT_STAND_IN,
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


@pytest.mark.parametrize(
    ("name", "instance"),
    [
        ("Council Chamber, Bldg. 2", f"Council Chamber, Bldg{DOT_STAND_IN} 2"),
        ("Phòng họp số 3.1, Hội đồng", f"Phòng họp số 3{DOT_STAND_IN}1, Hội đồng"),
        ("  Hall\tA\n.  ", f"HallA{DOT_STAND_IN}"),
        ("...", DOT_STAND_IN * 3),
    ],
)
def test_the_instance_name_is_one_dns_label(name: str, instance: str) -> None:
    room = RoomAnnouncement("council-1", name, 1, "0123456789abcdef")
    assert room.instance_name() == instance
    assert "." not in room.instance_name()
    # The room's own name, dots and all, is what the TXT record carries.
    assert parse_txt(as_wire(build_txt(room))).room_name == name


def test_a_name_of_nothing_printable_falls_back_to_the_room_id() -> None:
    assert RoomAnnouncement("council-1", "\t\n ", 1, "0123456789abcdef").instance_name() == (
        "council-1"
    )


def test_a_long_dotted_name_is_cut_on_a_character_edge() -> None:
    room = RoomAnnouncement(
        "r", "Phòng họp Hội đồng nhân dân tỉnh Bà Rịa.Vũng Tàu, Bldg. 2", 1, "0" * 16
    )
    instance = room.instance_name()
    assert len(instance.encode()) <= MAX_INSTANCE_NAME
    assert "." not in instance and instance.startswith("Phòng họp")


def test_python_zeroconf_writes_the_instance_as_one_label() -> None:
    """On the wire, what a browser such as avahi reads: one length-prefixed label before
    ``_hemicycle``."""
    room = RoomAnnouncement("council-1", "Council Chamber, Bldg. 2 — Phòng họp", 1, "0" * 16)
    full = f"{room.instance_name()}.{SERVICE_TYPE}"
    packet = DNSOutgoing(_FLAGS_QR_RESPONSE)
    packet.add_answer_at_time(DNSPointer(SERVICE_TYPE, _TYPE_PTR, _CLASS_IN, 120, full), 0)
    wire = packet.packets()[0]
    label = room.instance_name().encode()
    at = wire.index(label)
    assert wire[at - 1] == len(label)  # the length byte covers the whole name
    rest = wire[at + len(label) :]
    if rest[0] >= 0xC0:  # name compression: a pointer to where the type was written
        offset = (rest[0] & 0x3F) << 8 | rest[1]
        rest = wire[offset:]
    assert rest.startswith(b"\x0a_hemicycle\x04_tcp\x05local\x00")
