"""What the room leaves behind: logs without secrets, private file modes, strict TLS.

Real room-server processes, real TLS tablets, real files on disk.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import stat
import tomllib
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pymupdf
import pytest

from room_client.documents import DocumentCache, DocumentFetcher
from room_client.enrollment import DeviceCredentials, enroll
from room_protocol.enrollment import PairingCode
from room_protocol.live import SignedIn, SignIn, SignOut
from room_protocol.messages import MeetingSnapshot
from room_protocol.voting import (
    BallotRecorded,
    CastBallot,
    ClosePoll,
    OpenPoll,
    PollsState,
    PollState,
)
from tests import packages
from tests.live_clients import Tablet, until
from tests.packages import make_pdf
from tests.rooms import (
    RunningRoom,
    room_cli,
    running_room,
    sha256_file,
    start_room,
    write_config,
    write_package,
)

# Secrets no log may show, each distinctive enough that a hit is never chance.
PIN = "739146"
WRONG_PIN = "815204"
BADGE = "ZQ7-BADGE-58213"
NAMED_CHOICE = "opt-quokka"
SECRET_CHOICE = "opt-axolotl"


def hygiene_package(root: Path) -> Path:
    """The voting package plus a member with a 6-digit PIN, one with a badge, and a named
    and a secret poll whose options say nothing but themselves."""
    write_package(root, voting=True)
    manifest: dict[str, Any] = tomllib.loads((root / "meeting.toml").read_text("utf-8"))
    manifest["seats"] += [{"id": "A6"}, {"id": "A7"}]
    manifest["delegates"] += [
        {"id": "d9", "name": "Pin Holder", "seat": "A6", "pin": PIN},
        {"id": "d8", "name": "Badge Holder", "seat": "A7", "badge": BADGE},
    ]
    election = {"kind": "election", "majority": "plurality"}
    manifest["polls"] += [
        {
            "id": "p-named",
            "title": "Named choice",
            **election,
            "options": [
                {"id": "opt-wombat", "label": "Wombat"},
                {"id": NAMED_CHOICE, "label": "Quokka"},
            ],
        },
        {
            "id": "p-hidden",
            "title": "Secret choice",
            **election,
            "secret": True,
            "options": [
                {"id": "opt-narwhal", "label": "Narwhal"},
                {"id": SECRET_CHOICE, "label": "Axolotl"},
            ],
        },
    ]
    return packages.write_package(root, manifest, {})


def poll_open(t: Tablet, poll_id: str) -> bool:
    states = t.of_type(PollsState)
    return bool(states) and any(
        p.id == poll_id and p.state is PollState.OPEN for p in states[-1].polls
    )


@pytest.fixture
def verbose_room(tmp_path: Path) -> Iterator[RunningRoom]:
    package = hygiene_package(tmp_path / "package")
    with running_room(tmp_path / "room", package=package, mdns=False, server_args=["-v"]) as room:
        yield room


async def test_no_pin_badge_token_or_choice_in_verbose_logs(
    verbose_room: RunningRoom, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the tablets' side: websockets' client loggers too
    room = verbose_room
    chair = await Tablet(room, "tab-chair", "A1").start()
    await chair.sign_in("chair", "1111")
    pin_tablet = await Tablet(room, "tab-d9", "A6").start()
    await pin_tablet.refused(SignIn(pin_tablet.op(), delegate_id="d9", pin=WRONG_PIN), "wrong_pin")
    await pin_tablet.sign_in("d9", PIN)
    badge_tablet = await Tablet(room, "tab-d8", "A7").start()
    await badge_tablet.ok(SignIn(badge_tablet.op(), badge=BADGE))
    await until(lambda: badge_tablet.connection.signed_in is not None)

    # reconnecting carries the resume token in hello
    token = pin_tablet.connection.session.resume_token
    assert token
    mark = len(pin_tablet.received)
    pin_tablet.connection.drop()
    resumed = await pin_tablet.next_of(SignedIn, mark)
    assert resumed.delegate_id == "d9"

    for poll_id, choice in (("p-named", NAMED_CHOICE), ("p-hidden", SECRET_CHOICE)):
        await chair.ok(OpenPoll(chair.op(), poll_id, override_quorum=True))
        for voter, member in ((pin_tablet, "d9"), (badge_tablet, "d8")):
            await until(partial(poll_open, voter, poll_id))
            reply = await voter.do(CastBallot(voter.op(), poll_id, member, (choice,)))
            assert isinstance(reply, BallotRecorded), reply
        await chair.ok(ClosePoll(chair.op(), poll_id))
    await badge_tablet.ok(SignOut(badge_tablet.op()))
    for t in (chair, pin_tablet, badge_tablet):
        await t.stop()
    assert room.stop() == 0

    server_log = (room.state_dir.parent / "server.log").read_text(errors="replace")
    client_log = "\n".join(r.getMessage() for r in caplog.records)
    for where, text in (("server", server_log), ("tablets", client_log)):
        for secret in (PIN, WRONG_PIN, BADGE, token, NAMED_CHOICE, SECRET_CHOICE):
            assert secret not in text, f"{secret!r} is in the {where}' log"
        assert '"pin"' not in text and '"choices"' not in text, f"a request in the {where}' log"
    assert "poll.cast from tab-d9" in server_log  # -v was on and saw the ballots


# --- file modes ------------------------------------------------------------------------------


def assert_private(root: Path) -> None:
    offenders = open_to_others(root)
    assert not offenders, "open to other users:\n" + "\n".join(offenders)


def open_to_others(root: Path) -> list[str]:
    """Every directory under ``root`` (itself included) that is not 0700 and every file
    that is not 0600, with its mode."""
    found = []
    for path in [root, *sorted(root.rglob("*"))]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        if mode != wanted:
            found.append(f"{path.relative_to(root.parent)} {mode:o}")
    return found


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


async def meeting_of(room: RunningRoom) -> MeetingSnapshot:
    tablet = await Tablet(room, "tab-reader", "A2").start()
    await tablet.stop()
    return tablet.meeting


async def test_the_state_directory_is_private_under_umask_022(tmp_path: Path) -> None:
    package = write_package(tmp_path / "package")
    with running_room(tmp_path / "room", package=package, mdns=False, umask=0o022) as room:
        meeting = await meeting_of(room)
        # a document fetched, so the server has read and served it
        cache = DocumentCache(tmp_path / "cache")
        fetcher = DocumentFetcher(room.endpoint(), room.device("seat-a1"), cache)
        await fetcher.fetch(meeting.documents[0])
        await fetcher.close()
        wal = room.state_dir / "room.sqlite3-wal"
        assert (room.state_dir / "server.json").exists() and wal.exists()
        assert sorted(p.name for p in (room.state_dir / "tls").iterdir()) == [
            "ca.key",
            "ca.pem",
            "server.key",
            "server.pem",
        ]
        assert_private(room.state_dir)
        assert room.stop() == 0
    assert_private(room.state_dir)
    # a later import and a late document under the same umask add nothing readable
    second = write_package(tmp_path / "second", meeting_id="council-two", extra_item="Late")
    late_pdf = make_pdf(tmp_path / "late.pdf", 2, "late")
    imported = room_cli(room.config, "import", str(second), umask=0o022)
    assert imported.returncode == 0, imported.stderr
    added = room_cli(room.config, "add-document", str(late_pdf), "--item", "late", umask=0o022)
    assert added.returncode == 0, added.stderr
    assert_private(room.state_dir)


def test_a_state_directory_left_open_is_made_private_and_said_so(tmp_path: Path) -> None:
    package = write_package(tmp_path / "package")
    room = start_room(tmp_path / "room", package=package, mdns=False)
    try:
        assert room.stop() == 0
    finally:
        room.process.kill()
    # as a copy by hand, or a run of an earlier version under umask 022, would leave it
    for path in [room.state_dir, *room.state_dir.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert open_to_others(room.state_dir) != []
    log_file = tmp_path / "room" / "server.log"
    with running_room(tmp_path / "room", mdns=False) as again:
        assert_private(again.state_dir)
        assert again.stop() == 0
    said = log_file.read_text()
    assert "was open to other users: made" in said and "room.sqlite3" in said, said


async def test_the_tablet_cache_is_private_under_umask_022(
    room: RunningRoom, tmp_path: Path
) -> None:
    meeting = await meeting_of(room)
    cache_dir = tmp_path / "cache"
    credentials = DeviceCredentials(tmp_path / "device")
    code = json.loads(room.cli("enroll", "--json").stdout)["code"]
    with umask(0o022):
        await enroll(
            room.endpoint().uri, "127.0.0.1", room.port, PairingCode.parse(code), credentials
        )
        cache = DocumentCache(cache_dir)
        fetcher = DocumentFetcher(room.endpoint(), credentials, cache)
        for doc in meeting.documents:  # each written as a partial file, then moved in
            await fetcher.fetch(doc)
        await fetcher.close()
        cache.save_snapshot(meeting)
    assert {p.name for p in cache_dir.iterdir()} == {
        "documents",
        "partial",
        "confidential",  # sealed confidential documents (room_client.confidential)
        "meeting.json",
    }
    assert_private(cache_dir)
    assert_private(credentials.directory)
    # a cache an earlier version left open is tightened when the tablet starts
    (cache_dir / "documents").chmod(0o755)
    (cache_dir / "meeting.json").chmod(0o644)
    DocumentCache(cache_dir)
    assert_private(cache_dir)


# --- active content in imported PDFs -----------------------------------------------------------

_mupdf: Any = pymupdf  # partly typed


def _pages(doc: Any, label: str, count: int = 3) -> None:
    for i in range(count):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 100), f"{label} — page {i + 1}", fontsize=24)
        page.draw_rect(_mupdf.Rect(72, 140, 72 + 40 * (i + 1), 180), fill=(0.2, 0.4, 0.8))


def _save(doc: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path, no_new_id=True)
    doc.close()
    return path


def scripted_pdf(path: Path) -> Path:
    """JavaScript at document level (a name tree and an open action), on a link and on a
    form field (its action and a format script)."""
    doc = _mupdf.open()
    _pages(doc, "Scripted")
    first = doc[0]
    first.insert_link(
        {"kind": _mupdf.LINK_URI, "from": _mupdf.Rect(72, 200, 200, 220), "uri": "https://a.test/"}
    )
    link = next(x for x, kind, _ in first.annot_xrefs() if kind == _mupdf.PDF_ANNOT_LINK)
    doc.xref_set_key(link, "A", "<</S/JavaScript/JS(app.alert\\('link'\\))>>")
    field = _mupdf.Widget()
    field.field_type = _mupdf.PDF_WIDGET_TYPE_TEXT
    field.field_name = "name"
    field.rect = _mupdf.Rect(72, 300, 300, 330)
    field.script = "app.alert('field');"
    field.script_format = "app.alert('format');"
    doc[1].add_widget(field)
    action = doc.get_new_xref()
    doc.update_object(action, "<</S/JavaScript/JS(app.alert\\('named'\\))>>")
    tree = doc.get_new_xref()
    doc.update_object(tree, f"<</Names[(init) {action} 0 R]>>")
    catalog = doc.pdf_catalog()
    doc.xref_set_key(catalog, "Names", f"<</JavaScript {tree} 0 R>>")
    doc.xref_set_key(catalog, "OpenAction", "<</S/JavaScript/JS(app.alert\\('open'\\))>>")
    return _save(doc, path)


def launching_pdf(path: Path) -> Path:
    doc = _mupdf.open()
    _pages(doc, "Launching")
    doc[0].insert_link(
        {"kind": _mupdf.LINK_LAUNCH, "from": _mupdf.Rect(72, 240, 200, 260), "file": "calc.exe"}
    )
    return _save(doc, path)


def carrying_pdf(path: Path) -> Path:
    doc = _mupdf.open()
    _pages(doc, "Carrying")
    doc.embfile_add("payload.exe", b"MZ: a program riding along")
    return _save(doc, path)


def attaching_pdf(path: Path) -> Path:
    doc = _mupdf.open()
    _pages(doc, "Attaching")
    doc[2].add_file_annot(_mupdf.Point(100, 400), b"attached bytes", "notes.txt")
    return _save(doc, path)


def active_content_left(path: Path) -> list[str]:
    """Every script, launch action, embedded file or file attachment PyMuPDF finds."""
    left = []
    with _mupdf.open(path) as doc:
        if doc.embfile_count():
            left.append(f"embedded files {doc.embfile_names()}")
        catalog = doc.pdf_catalog()
        for key in ("Names/JavaScript", "Names/EmbeddedFiles/Names/[0]", "OpenAction"):
            if doc.xref_get_key(catalog, key)[0] != "null":
                left.append(f"catalog {key}")
        for xref in range(1, doc.xref_length()):
            text = doc.xref_object(xref, compressed=True)
            for sign in ("/JavaScript", "/JS", "/Launch", "/EF", "/FileAttachment", "/AA<<"):
                if sign in text.replace(" ", "") and f"{sign[1:]} null" not in text:
                    left.append(f"{sign} in object {xref}: {text[:80]}")
        for page in doc:
            left += [f"annotation {a.type[1]}" for a in page.annots() if a.type[0] == 17]
    return left


def first_page_pixels(path: Path) -> bytes:
    with _mupdf.open(path) as doc:
        return bytes(doc[0].get_pixmap(dpi=50, annots=False).samples)


def test_import_strips_scripts_launch_actions_and_embedded_files(tmp_path: Path) -> None:
    source = tmp_path / "package" / "docs"
    made = {
        "scripted": scripted_pdf(source / "scripted.pdf"),
        "launching": launching_pdf(source / "launching.pdf"),
        "carrying": carrying_pdf(source / "carrying.pdf"),
        "attaching": attaching_pdf(source / "attaching.pdf"),
        "clean": make_pdf(source / "clean.pdf", 2, "clean"),
    }
    for name, path in made.items():
        assert (active_content_left(path) == []) is (name == "clean"), name
    manifest = packages.minimal_manifest({name: f"docs/{name}.pdf" for name in made})
    package = packages.write_package(tmp_path / "package", manifest, {})
    (tmp_path / "room").mkdir()
    config = write_config(tmp_path / "room", room_id="scrub", room_name="Scrub")
    result = room_cli(config, "import", str(package))
    assert result.returncode == 0, result.stderr
    said = {
        name: " ".join(
            line
            for line in result.stdout.splitlines()
            if f"docs/{name}.pdf" in line and "stored without" in line
        )
        for name in made
    }
    assert "JavaScript (5 places)" in said["scripted"], result.stdout
    assert "1 launch action" in said["launching"], result.stdout
    assert "1 embedded file" in said["carrying"], result.stdout
    assert "1 file attachment annotation" in said["attaching"], result.stdout
    assert said["clean"] == "", result.stdout

    state = tmp_path / "room" / "state"
    with contextlib.closing(sqlite3.connect(state / "room.sqlite3")) as conn:
        stored = dict(conn.execute("SELECT id, sha256 FROM documents").fetchall())
    for name, original in made.items():
        digest = stored[name]
        kept = state / "documents" / digest[:2] / f"{digest}.pdf"
        if name == "clean":  # deduplicated by hash across meetings: bytes never change
            assert digest == sha256_file(original) and kept.read_bytes() == original.read_bytes()
            continue
        assert digest != sha256_file(original) and digest == sha256_file(kept)
        assert active_content_left(kept) == [], name
        with _mupdf.open(kept) as doc, _mupdf.open(original) as was:
            assert (doc.page_count, doc.is_repaired) == (was.page_count, False)
        assert first_page_pixels(kept) == first_page_pixels(original), name


def test_a_late_document_is_stripped_too_and_the_same_pdf_always_alike(tmp_path: Path) -> None:
    package = write_package(tmp_path / "package", extra_item="Late")
    (tmp_path / "room").mkdir()
    config = write_config(tmp_path / "room", room_id="late", room_name="Late")
    assert room_cli(config, "import", str(package)).returncode == 0
    active = scripted_pdf(tmp_path / "late.pdf")
    added = room_cli(config, "add-document", str(active), "--item", "late", "--title", "Late")
    assert added.returncode == 0, added.stderr
    assert "'Late': stored without JavaScript (5 places)" in added.stdout, added.stdout
    # the same PDF is stripped to the same bytes: a second import stores nothing new
    again = room_cli(config, "add-document", str(active), "--item", "late", "--title", "Late")
    assert again.returncode == 0, again.stderr
    blobs = list((tmp_path / "room" / "state" / "documents").rglob("*.pdf"))
    assert len(blobs) == 4  # the package's three and one stripped late document
    assert all(active_content_left(blob) == [] for blob in blobs)
