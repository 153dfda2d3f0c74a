"""Confidential documents on the server: who may read one (package), each reader's own
watermarked copy (document.fetch through a real room), refusals, and the room display."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pymupdf
import pytest

from room_client.connection import open_channel
from room_client.enrollment import DeviceCredentials
from room_protocol.codec import decode, encode
from room_protocol.live import (
    AllowConfidentialOnDisplay,
    CloseMeeting,
    FollowState,
    SetFollow,
    SignOut,
)
from room_protocol.messages import (
    Channel,
    DocumentBegin,
    DocumentEnd,
    DocumentInfo,
    ErrorMessage,
    FetchDocument,
)
from room_server.confidential import MemberCopies, Reader, mark_text, watermark
from room_server.importer import import_package
from room_server.package import PackageError
from room_server.store import Store
from tests import rooms
from tests.live_clients import Tablet, until
from tests.packages import minimal_manifest, write_package
from tests.rooms import RunningRoom, running_room, timeout


def open_store(root: Path) -> Store:
    return Store(root / "room.sqlite3", root / "documents")


def confidential_manifest(**document: Any) -> dict[str, Any]:
    """minimal_manifest with a second, confidential document and a third member."""
    manifest = minimal_manifest({"agenda-doc": "agenda.pdf", "secret": "secret.pdf"})
    manifest["documents"][1].update({"confidential": True, **document})
    manifest["seats"].append({"id": "A3"})
    manifest["delegates"].append({"id": "d2", "name": "Trần Thị Bình", "seat": "A3"})
    return manifest


# --- the package --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "readers"),
    [
        ({}, ()),
        ({"members": ["d1"]}, ("d1",)),
        ({"roles": ["chair"]}, ("chair",)),
        ({"members": ["d2"], "roles": ["chair"]}, ("chair", "d2")),
        ({"roles": ["delegate"]}, ("d1", "d2")),
    ],
)
def test_a_confidential_document_names_its_readers(
    tmp_path: Path, document: dict[str, Any], readers: tuple[str, ...]
) -> None:
    package = write_package(tmp_path / "pkg", confidential_manifest(**document))
    with open_store(tmp_path / "state") as store:
        import_package(store, package)
        snapshot = store.snapshot()
        keys = store.rows("SELECT delegate_id, key FROM cache_keys ORDER BY delegate_id")
    assert snapshot is not None
    public, secret = snapshot.documents
    assert (public.confidential, public.readers) == (False, ())
    assert (secret.confidential, secret.readers) == (True, readers)
    # every member has their own random 256-bit key for their tablet's cache
    assert [k["delegate_id"] for k in keys] == ["chair", "d1", "d2"]
    assert len({bytes(k["key"]) for k in keys}) == 3
    assert all(len(k["key"]) == 32 for k in keys)


def test_a_reimport_keeps_the_members_keys(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg", confidential_manifest())
    with open_store(tmp_path / "state") as store:
        import_package(store, package)
        before = store.cache_key("test-meeting", "d1")
        import_package(store, package)
        assert before is not None and store.cache_key("test-meeting", "d1") == before


BAD_READERS: dict[str, tuple[dict[str, Any], str]] = {
    "readers of a public document": (
        {"confidential": False, "members": ["d1"]},
        "members name who may read a confidential document; add confidential = true",
    ),
    "unknown member": ({"members": ["d9"]}, 'members: "d9" is not in [[delegates]]'),
    "misspelt member": ({"members": ["d 1"]}, 'members: "d 1" is not a delegate id'),
    "members not a list": ({"members": "d1"}, '"members" must be a list of texts'),
    "a number in roles": ({"roles": [1]}, '"roles" must be a list of texts'),
    "unknown role": ({"roles": ["chiar"]}, 'roles: "chiar" is not one of chair, clerk, delegate'),
    "observer role": ({"roles": ["observer"]}, "name an observer in members"),
    "member twice": ({"members": ["d1", "d1"]}, 'members: "d1" is listed twice'),
    "nobody": ({"members": [], "roles": []}, "nobody could read this document"),
    "a role nobody has": ({"roles": ["clerk"]}, "no delegate has the role clerk"),
}


@pytest.mark.parametrize("case", BAD_READERS)
def test_bad_readers_are_named_and_nothing_is_imported(tmp_path: Path, case: str) -> None:
    document, fragment = BAD_READERS[case]
    package = write_package(tmp_path / "pkg", confidential_manifest(**document))
    with open_store(tmp_path / "state") as store:
        with pytest.raises(PackageError) as caught:
            import_package(store, package)
        assert store.snapshot() is None
        assert store.rows("SELECT * FROM documents") == []
        assert store.rows("SELECT * FROM cache_keys") == []
    found = [str(p) for p in caught.value.problems]
    assert any(
        line.startswith('meeting.toml: document "secret": ') and fragment in line for line in found
    ), found


# --- each reader's own copy, through a real room ------------------------------------------


async def fetch_all(
    room: RunningRoom, device: DeviceCredentials, sha256: str
) -> tuple[DocumentBegin, bytes] | ErrorMessage:
    """Fetch a whole document on a documents channel: its begin and its bytes, or the
    refusal."""
    ws, _ = await open_channel(room.endpoint(), device.context(), Channel.DOCUMENTS, "x")
    async with ws:
        await ws.send(encode(FetchDocument(sha256)))
        first = decode(await asyncio.wait_for(ws.recv(), timeout(60)))
        if isinstance(first, ErrorMessage):
            return first
        assert isinstance(first, DocumentBegin), first
        data = bytearray()
        while True:
            raw = await asyncio.wait_for(ws.recv(), timeout(10))
            if isinstance(raw, bytes):
                data += raw
                continue
            end = decode(raw)
            assert isinstance(end, DocumentEnd) and end.size == len(data), end
            return first, bytes(data)


def page_texts(data: bytes) -> list[str]:
    with pymupdf.open(stream=data, filetype="pdf") as doc:
        return [page.get_text() for page in doc]


@pytest.fixture
async def room(tmp_path: Path) -> AsyncIterator[RunningRoom]:
    package = rooms.write_package(
        tmp_path / "pkg",
        confidential=("minutes", "budget"),
        documents={"budget": {"members": ["d1"], "roles": ["chair"]}},
    )
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        yield room


def secret(tablet: Tablet, doc_id: str) -> DocumentInfo:
    title = {"minutes": "Minutes of the last meeting", "budget": "Budget 2027"}[doc_id]
    return next(d for d in tablet.meeting.documents if d.title == title)


async def test_each_member_gets_their_own_watermarked_copy(room: RunningRoom) -> None:
    a2 = await Tablet(room, "tablet-a2", "A2").start()
    a3 = await Tablet(room, "tablet-a3", "A3").start()
    await a2.sign_in("d1", "2222")
    await a3.sign_in("d2", "4444")
    minutes = secret(a2, "minutes")
    assert (minutes.confidential, minutes.readers) == (True, ())
    copies = {}
    for tablet, device_id, seat in ((a2, "tablet-a2", "A2"), (a3, "tablet-a3", "A3")):
        got = await fetch_all(room, room.device(device_id, seat), minutes.sha256)
        assert not isinstance(got, ErrorMessage), got
        begin, data = got
        # The protocol says which bytes these are: the member's copy, with its own hash.
        assert begin.sha256 == minutes.sha256
        assert begin.delivered_sha256 == hashlib.sha256(data).hexdigest() != minutes.sha256
        assert begin.size == len(data)
        copies[seat] = data
        texts = page_texts(data)
        assert len(texts) == minutes.pages == 3
        me = tablet.connection.signed_in
        assert me is not None
        for number, text in enumerate(texts, start=1):
            assert (
                f"page {number}" in text and "Minutes" in text
            )  # the document itself is still there
            assert f"CONFIDENTIAL · {me.name} · seat {seat} · " in text
            assert " UTC" in text
    assert copies["A2"] != copies["A3"]
    assert "Beatrix" not in "".join(page_texts(copies["A2"]))
    # Made once per member, kept under the state directory, and fetched again as it is.
    kept = room.state_dir / "confidential" / "council-test" / "d1" / f"{minutes.sha256}.pdf"
    assert kept.read_bytes() == copies["A2"]
    again = await fetch_all(room, room.device("tablet-a2", "A2"), minutes.sha256)
    assert not isinstance(again, ErrorMessage) and again[1] == copies["A2"]
    # Each copy made is in the audit log: who, which document, which bytes, where.
    with sqlite3.connect(room.state_dir / "room.sqlite3") as db:
        made = db.execute(
            "SELECT actor, data FROM audit_log WHERE kind = 'document.copy' ORDER BY seq"
        ).fetchall()
    assert [(actor, json.loads(data)["seat"]) for actor, data in made] == [
        ("d1", "A2"),
        ("d2", "A3"),
    ]
    first = json.loads(made[0][1])
    assert first["sha256"] == minutes.sha256 and first["device"] == "tablet-a2"
    assert first["delivered_sha256"] == hashlib.sha256(copies["A2"]).hexdigest()
    await asyncio.gather(a2.stop(), a3.stop())


async def test_only_the_readers_named_get_a_confidential_document(room: RunningRoom) -> None:
    a2 = await Tablet(room, "tablet-a2", "A2").start()
    a3 = await Tablet(room, "tablet-a3", "A3").start()
    press = await Tablet(room, "tablet-press").start()
    budget = secret(a2, "budget")
    # Every device sees that it exists (the agenda lists it), and who may read it.
    assert (budget.confidential, budget.readers) == (True, ("chair", "d1"))

    async def refused(device: DeviceCredentials, text: str) -> None:
        got = await fetch_all(room, device, budget.sha256)
        assert isinstance(got, ErrorMessage), got
        assert got.code == "forbidden" and text in got.message, got
        assert got.ref == budget.sha256

    # nobody signed in; a member who is not a reader; an observer; the room display
    await refused(room.device("tablet-a3", "A3"), "sign in as a member")
    await a3.sign_in("d2", "4444")
    await refused(room.device("tablet-a3", "A3"), "not for Beatrix Delegate")
    await press.sign_in("obs", "5555")
    await refused(room.device("tablet-press"), "not for Press Observer")
    await refused(room.device("display-1", display=True), "room display")
    # A reader's certificate is its own: tablet-a3 cannot borrow d1's sign-in on tablet-a2.
    await a2.sign_in("d1", "2222")
    await refused(room.device("tablet-a3", "A3"), "not for Beatrix Delegate")
    got = await fetch_all(room, room.device("tablet-a2", "A2"), budget.sha256)
    assert not isinstance(got, ErrorMessage), got
    # Nothing was made for those refused.
    made = room.state_dir / "confidential" / "council-test"
    assert sorted(p.name for p in made.iterdir()) == ["d1"]
    await asyncio.gather(a2.stop(), a3.stop(), press.stop())


async def test_the_cache_key_comes_with_the_sign_in_and_goes_with_the_meeting(
    room: RunningRoom,
) -> None:
    a2 = await Tablet(room, "tablet-a2", "A2").start()
    a3 = await Tablet(room, "tablet-a3", "A3").start()
    chair = await Tablet(room, "tablet-a1", "A1").start()
    await a2.sign_in("d1", "2222")
    await a3.sign_in("d2", "4444")
    await chair.sign_in("chair", "1111")
    mine, theirs = a2.connection.signed_in, a3.connection.signed_in
    assert mine is not None and theirs is not None
    assert mine.cache_key is not None and theirs.cache_key is not None
    assert len(base64.urlsafe_b64decode(mine.cache_key + "=")) == 32
    assert mine.cache_key != theirs.cache_key
    assert "cache_key" not in repr(mine) or mine.cache_key not in repr(mine)
    minutes = secret(a2, "minutes")
    assert not isinstance(
        await fetch_all(room, room.device("tablet-a2", "A2"), minutes.sha256), ErrorMessage
    )
    # The same member signing in again gets the same key: their cache stays readable.
    await a2.ok(SignOut(a2.op()))
    await until(lambda: a2.connection.signed_in is None)
    await a2.sign_in("d1", "2222")
    again = a2.connection.signed_in
    assert again is not None and again.cache_key == mine.cache_key

    await chair.ok(CloseMeeting(chair.op(), force=True))
    await until(lambda: a2.meeting.closed_at is not None)
    made = room.state_dir / "confidential" / "council-test"
    await until(lambda: not made.exists())
    got = await fetch_all(room, room.device("tablet-a2", "A2"), minutes.sha256)
    assert isinstance(got, ErrorMessage) and got.code == "meeting_closed", got
    await until(lambda: not keys_of(room))
    await a3.ok(SignOut(a3.op()))
    await until(lambda: a3.connection.signed_in is None)
    await a3.sign_in("d2", "4444")
    closed = a3.connection.signed_in
    assert closed is not None and closed.cache_key is None
    await asyncio.gather(a2.stop(), a3.stop(), chair.stop())


def keys_of(room: RunningRoom) -> list[tuple[str, str]]:
    with sqlite3.connect(room.state_dir / "room.sqlite3") as db:
        return db.execute("SELECT meeting_id, delegate_id FROM cache_keys").fetchall()


# --- the room display ---------------------------------------------------------------------


async def test_the_room_display_follows_onto_a_confidential_page_only_when_allowed(
    room: RunningRoom,
) -> None:
    chair = await Tablet(room, "tablet-a1", "A1").start()
    a2 = await Tablet(room, "tablet-a2", "A2").start()
    display = await Tablet(room, "display-1", display=True).start()
    await chair.sign_in("chair", "1111")
    await a2.sign_in("d1", "2222")
    minutes, agenda = secret(a2, "minutes"), a2.meeting.documents[0]

    mark = len(display.received), len(a2.received)
    await chair.ok(SetFollow(chair.op(), minutes.sha256, 2))
    shown = await a2.next_of(FollowState, mark[1], lambda m: m.sha256 is not None)
    assert (shown.sha256, shown.page, shown.withheld) == (minutes.sha256, 2, False)
    blank = await display.next_of(FollowState, mark[0], lambda m: m.seq == shown.seq)
    assert (blank.sha256, blank.page, blank.withheld) == (None, 0, True)
    assert not blank.confidential_on_display
    # A public page reaches the display as it is.
    mark = len(display.received), len(a2.received)
    await chair.ok(SetFollow(chair.op(), agenda.sha256, 1))
    public = await display.next_of(FollowState, mark[0], lambda m: m.sha256 is not None)
    assert (public.sha256, public.page, public.withheld) == (agenda.sha256, 1, False)
    await chair.ok(SetFollow(chair.op(), minutes.sha256, 1))

    # Only the chair may allow it; a delegate's request is refused and changes nothing.
    await a2.refused(AllowConfidentialOnDisplay(a2.op(), allow=True), "forbidden")
    assert isinstance(
        await fetch_all(room, room.device("display-1", display=True), minutes.sha256),
        ErrorMessage,
    )
    mark = len(display.received), len(a2.received)
    await chair.ok(AllowConfidentialOnDisplay(chair.op(), allow=True))
    allowed = await display.next_of(FollowState, mark[0], lambda m: m.confidential_on_display)
    assert (allowed.sha256, allowed.page, allowed.withheld) == (minutes.sha256, 1, False)
    told = await a2.next_of(FollowState, mark[1], lambda m: m.confidential_on_display)
    assert told.sha256 == minutes.sha256
    got = await fetch_all(room, room.device("display-1", display=True), minutes.sha256)
    assert not isinstance(got, ErrorMessage), got
    assert all("CONFIDENTIAL · Room display · no seat" in t for t in page_texts(got[1]))

    mark = len(display.received)
    await chair.ok(AllowConfidentialOnDisplay(chair.op(), allow=False))
    withdrawn = await display.next_of(FollowState, mark, lambda m: m.withheld)
    assert withdrawn.sha256 is None and not withdrawn.confidential_on_display
    got = await fetch_all(room, room.device("display-1", display=True), minutes.sha256)
    assert isinstance(got, ErrorMessage) and got.code == "forbidden"
    with sqlite3.connect(room.state_dir / "room.sqlite3") as db:
        audited = db.execute(
            "SELECT actor, data FROM audit_log WHERE kind = ? ORDER BY seq",
            ("display.allow_confidential",),
        ).fetchall()
    assert [(actor, json.loads(data)["allow"]) for actor, data in audited] == [
        ("chair", True),
        ("chair", False),
    ]
    await asyncio.gather(chair.stop(), a2.stop(), display.stop())


# --- the watermark itself ---------------------------------------------------------------


def test_the_watermark_is_on_every_page_whatever_its_size_rotation_or_contents(
    tmp_path: Path,
) -> None:
    source = pymupdf.open()
    for number in range(8):
        portrait = number % 2 == 1
        page = source.new_page(width=595 if portrait else 842, height=842 if portrait else 595)
        page.insert_text((72, 72), f"Original text {number}")
        if number == 6:
            page.set_rotation(90)
    # Page 3's own drawing leaves the coordinates scaled (no q/Q): the mark must not move.
    xref = source[3].get_contents()[0]
    source.update_stream(xref, source.xref_stream(xref) + b"\n0.5 0 0 0.5 0 0 cm\n")
    source.save(tmp_path / "source.pdf")
    text = mark_text("Nguyễn Văn An", "A2", datetime(2026, 12, 7, 9, 30, tzinfo=UTC))
    digest, size = watermark(str(tmp_path / "source.pdf"), str(tmp_path / "copy.pdf"), text)
    data = (tmp_path / "copy.pdf").read_bytes()
    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert text == "CONFIDENTIAL · Nguyễn Văn An · seat A2 · 2026-12-07 09:30 UTC"

    def footer(page: Any) -> tuple[float, ...]:
        lines = [
            line
            for block in page.get_text("dict")["blocks"]
            for line in block.get("lines", ())
            if text in "".join(span["text"] for span in line["spans"]) and line["dir"] == (1.0, 0.0)
        ]
        assert len(lines) == 1, page.number
        return tuple(round(v) for v in lines[0]["bbox"])

    with pymupdf.open(stream=data, filetype="pdf") as copy:
        for page in copy:
            found = page.get_text()
            assert f"Original text {page.number}" in found
            assert found.count(text) == 2, (page.number, found)  # diagonal and footer
            if not page.rotation:  # text directions are in unrotated space
                assert all(0 <= v <= max(page.rect.width, page.rect.height) for v in footer(page))
        # The same geometry gets the same mark in the same place, whatever the page drew.
        assert footer(copy[1]) == footer(copy[3]) == footer(copy[5])
        assert footer(copy[0]) == footer(copy[2]) == footer(copy[4])


async def test_a_copy_cut_short_is_made_again(tmp_path: Path) -> None:
    source = pymupdf.open()
    source.new_page().insert_text((72, 72), "Original")
    source.save(tmp_path / "source.pdf")
    copies = MemberCopies(tmp_path / "confidential")
    reader = Reader("m1", "d1", "Nguyễn Văn An", "A2")
    try:
        made = await copies.copy_for(reader, "ab" * 32, tmp_path / "source.pdf")
        assert made.made_at is not None
        kept = await copies.copy_for(reader, "ab" * 32, tmp_path / "source.pdf")
        assert kept.made_at is None and (kept.sha256, kept.size) == (made.sha256, made.size)
        # A crash between the PDF and its .json, and a half-written temporary file:
        (made.path.with_suffix(".json")).unlink()
        leftover = made.path.parent / f".{'ab' * 32}.999.tmp"
        leftover.write_bytes(b"%PDF-half")
        assert copies.remove_leftovers() == 1 and not leftover.exists()
        again = await copies.copy_for(reader, "ab" * 32, tmp_path / "source.pdf")
        assert again.made_at is not None
        with pymupdf.open(again.path) as doc:
            assert "Nguyễn Văn An · seat A2" in doc[0].get_text()
        await copies.forget_meeting("m1")
        assert not (tmp_path / "confidential" / "m1").exists()
    finally:
        copies.stop()
