"""The sealed record's seal: the audit segment, manifest.json and its minisign signature,
``room-server record verify`` naming every kind of tampering, the minisign tool agreeing,
and the export to a folder (a USB stick) verifying what it wrote."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from room_protocol.voting import (
    NO,
    YES,
    BallotRecorded,
    CastBallot,
    ClosePoll,
    OpenPoll,
    PollsState,
    PollState,
)
from room_server.record import minisign
from room_server.record.audit_export import HEADS_FILE, LOG_FILE, PUBLIC_KEY_FILE, write_audit
from room_server.record.export import ExportError, export_record
from room_server.record.seal import MANIFEST, SIGNATURE, seal
from room_server.record.verify import verify_record
from room_server.signing import SigningKey, ensure_signing_key
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom, room_cli, running_room, write_package

MEETING = "council-test"
PINS = {"chair": "1111", "d1": "2222", "d2": "4444", "d3": "6666"}
SEATS = {"chair": "A1", "d1": "A2", "d2": "A3", "d3": "A4"}
ENSURE_COMMAND = Path(__file__).resolve().parents[1] / "tools" / "ensure-command.sh"


@contextlib.contextmanager
def read_only(database: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


async def a_meeting(room: RunningRoom) -> None:
    """Sign-ins, a named poll and a secret one, through real tablets."""
    tablets = {
        who: await Tablet(room, f"tab-{who}", SEATS[who]).start() for who in ("chair", "d1", "d2")
    }
    for who, tablet in tablets.items():
        await tablet.sign_in(who, PINS[who])
    chair = tablets["chair"]
    for poll in ("p-budget", "p-secret"):
        await chair.ok(OpenPoll(chair.op(), poll, override_quorum=True))
        for who, choice in (("d1", YES), ("d2", NO)):
            t = tablets[who]
            await until(
                lambda t=t, poll=poll: any(  # type: ignore[misc]
                    p.id == poll and p.state is PollState.OPEN
                    for p in t.of_type(PollsState)[-1].polls
                )
            )
            reply = await t.do(CastBallot(t.op(), poll, who, (choice,)))
            assert isinstance(reply, BallotRecorded), reply
        await chair.ok(ClosePoll(chair.op(), poll))
    for tablet in tablets.values():
        await tablet.stop()


@pytest.fixture(scope="module")
def room_state(tmp_path_factory: pytest.TempPathFactory) -> RunningRoom:
    """A real room's state after a meeting, its server stopped (which signs the head)."""
    base = tmp_path_factory.mktemp("record-room")
    package = write_package(base / "package", voting=True)
    with running_room(base / "room", package=package, mdns=False) as room:
        asyncio.run(a_meeting(room))
        assert room.stop() == 0
    return room


def build_record(room: RunningRoom, record: Path) -> SigningKey:
    """A record folder: stand-in contents (the contents builder writes the real ones),
    the real audit segment from the room's database, sealed with the room's key."""
    key = ensure_signing_key(room.state_dir / "keys")
    (record / "documents").mkdir(parents=True)
    (record / "meeting.json").write_text('{\n  "id": "council-test",\n  "title": "Hội đồng"\n}\n')
    (record / "results.csv").write_text("poll,option,votes\np-budget,yes,3\n")
    (record / "documents" / "agenda.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    with read_only(room.state_dir / "room.sqlite3") as conn:
        write_audit(record, conn, MEETING, key.public)
    seal(record, key, room.room_id, MEETING)
    return key


@pytest.fixture(scope="module")
def sealed(room_state: RunningRoom, tmp_path_factory: pytest.TempPathFactory) -> Path:
    record = tmp_path_factory.mktemp("sealed") / MEETING
    build_record(room_state, record)
    return record


@pytest.fixture
def record(sealed: Path, tmp_path: Path) -> Path:
    """A fresh copy of the sealed record, for a test to tamper with."""
    return Path(shutil.copytree(sealed, tmp_path / MEETING))


def cli_verify(room: RunningRoom, path: Path, *args: str) -> tuple[int, str]:
    result = room_cli(room.config, "record", "verify", str(path), *args)
    return result.returncode, result.stdout + result.stderr


def problems(path: Path) -> list[str]:
    return [str(p) for p in verify_record(path)]


# --- a sealed record verifies ----------------------------------------------------------------


def test_a_sealed_record_verifies_and_says_what_it_checked(
    room_state: RunningRoom, sealed: Path
) -> None:
    assert verify_record(sealed) == []
    manifest = json.loads((sealed / MANIFEST).read_text())
    paths = [f["path"] for f in manifest["files"]]
    assert paths == sorted(paths) and MANIFEST not in paths and SIGNATURE not in paths
    assert {LOG_FILE, HEADS_FILE, PUBLIC_KEY_FILE, "documents/agenda.pdf"} <= set(paths)
    assert (manifest["room_id"], manifest["meeting_id"]) == (room_state.room_id, MEETING)
    entries = [json.loads(line) for line in (sealed / LOG_FILE).read_text().splitlines()]
    kinds = {e["kind"] for e in entries}
    assert {"poll.opened", "poll.closed", "poll.ballot"} <= kinds, kinds
    # The room's own key, as `room-server record public-key` prints it
    printed = room_cli(room_state.config, "record", "public-key")
    assert printed.returncode == 0 and printed.stdout == (sealed / PUBLIC_KEY_FILE).read_text()
    key_id = printed.stdout.split()[-2]
    code, out = cli_verify(
        room_state, sealed, "--public-key", str(room_state.state_dir / "keys/room-signing.pub")
    )
    first, last = entries[0]["seq"], entries[-1]["seq"]
    expected = f"OK: {len(paths)} files, chain seq {first}..{last}, signed by {key_id}\n"
    assert (code, out) == (0, expected)
    code, out = cli_verify(room_state, sealed)  # the key the record carries: said so
    assert code == 0 and out.startswith(expected) and "--public-key" in out, out


def test_sealing_twice_gives_identical_bytes(room_state: RunningRoom, tmp_path: Path) -> None:
    one, two = tmp_path / "one" / MEETING, tmp_path / "two" / MEETING
    build_record(room_state, one)
    build_record(room_state, two)
    for name in (MANIFEST, SIGNATURE, LOG_FILE, HEADS_FILE, PUBLIC_KEY_FILE):
        assert (one / name).read_bytes() == (two / name).read_bytes(), name


def test_the_minisign_tool_verifies_the_signature(sealed: Path) -> None:
    installed = subprocess.run(
        [str(ENSURE_COMMAND), "minisign", "minisign"], capture_output=True, text=True, check=False
    )
    if installed.returncode != 0:
        pytest.skip(f"no minisign: {installed.stdout.strip() or installed.stderr.strip()}")
    ok = subprocess.run(
        ["minisign", "-Vm", MANIFEST, "-p", PUBLIC_KEY_FILE],
        cwd=sealed,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "Trusted comment: hemicycle-record room:" in ok.stdout
    changed = sealed.parent / "changed"
    changed.mkdir(exist_ok=True)
    (changed / MANIFEST).write_bytes(
        (sealed / MANIFEST).read_bytes().replace(b"votes", b"Votes") + b" "
    )
    shutil.copy(sealed / SIGNATURE, changed / SIGNATURE)
    bad = subprocess.run(
        ["minisign", "-Vm", str(changed / MANIFEST), "-p", str(sealed / PUBLIC_KEY_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0


# --- tampering is detected and named ------------------------------------------------------------


def listed_files(record: Path) -> list[str]:
    return [f["path"] for f in json.loads((record / MANIFEST).read_text())["files"]]


def test_one_flipped_byte_in_any_file_is_named(record: Path) -> None:
    for name in [*listed_files(record), MANIFEST, SIGNATURE]:
        path = record / name
        original = path.read_bytes()
        flipped = bytearray(original)
        flipped[len(flipped) // 2] ^= 0x01
        path.write_bytes(bytes(flipped))
        found = problems(record)
        assert found, name
        # A changed manifest shows as its signature failing: either may have been changed
        named = f"{SIGNATURE}: does not verify for {MANIFEST}" if name == MANIFEST else f"{name}:"
        assert any(p.startswith(named) for p in found), (name, found)
        path.write_bytes(original)
    assert verify_record(record) == []


def test_a_removed_file_and_an_added_file_are_named(record: Path) -> None:
    (record / "results.csv").unlink()
    (record / "documents" / "extra.pdf").write_bytes(b"%PDF-1.7\n")
    assert problems(record) == [
        "results.csv: is missing (the manifest lists it)",
        "documents/extra.pdf: is not in the manifest (added after sealing)",
    ]


def test_an_edited_manifest_is_named(record: Path) -> None:
    manifest = json.loads((record / MANIFEST).read_text())
    manifest["files"] = [f for f in manifest["files"] if f["path"] != "results.csv"]
    (record / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    found = problems(record)
    assert found[0].startswith(f"{SIGNATURE}: does not verify for {MANIFEST}"), found
    assert "results.csv: is not in the manifest (added after sealing)" in found


def test_unsafe_paths_in_the_manifest_and_symlinks_are_named(record: Path, tmp_path: Path) -> None:
    manifest = json.loads((record / MANIFEST).read_text())
    manifest["files"] += [
        {"path": "../outside", "size": 1, "sha256": "0" * 64},
        {"path": "/etc/passwd", "size": 1, "sha256": "0" * 64},
    ]
    (record / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    (tmp_path / "elsewhere.csv").write_bytes((record / "results.csv").read_bytes())
    (record / "results.csv").unlink()
    (record / "results.csv").symlink_to(tmp_path / "elsewhere.csv")
    found = problems(record)
    assert "manifest.json: lists '../outside', which goes up out of the record ('..')" in found
    assert "manifest.json: lists '/etc/passwd', which is an absolute path" in found
    assert "results.csv: results.csv is a symbolic link (a record has none)" in found


def rewrite_log(record: Path, change: object) -> None:
    lines = (record / LOG_FILE).read_text().splitlines(keepends=True)
    (record / LOG_FILE).write_text("".join(change(lines)))  # type: ignore[operator]


def test_an_edited_or_removed_audit_entry_is_named_by_its_seq(record: Path) -> None:
    lines = (record / LOG_FILE).read_text().splitlines(keepends=True)
    entries = [json.loads(line) for line in lines]
    ballot = next(i for i, e in enumerate(entries) if e["kind"] == "poll.ballot")
    seq = entries[ballot]["seq"]
    edited = dict(entries[ballot], data=entries[ballot]["data"].replace('"yes"', '"no"'))
    assert edited != entries[ballot]
    (record / LOG_FILE).write_text(
        "".join(json.dumps(edited) + "\n" if i == ballot else line for i, line in enumerate(lines))
    )
    found = problems(record)
    assert f"{LOG_FILE}: entry {seq} (poll.ballot) was changed after it was written" in found
    (record / LOG_FILE).write_text("".join(line for i, line in enumerate(lines) if i != ballot))
    found = problems(record)
    assert f"{LOG_FILE}: entry {seq} is missing (deleted)" in found
    # Either way the file no longer has the bytes the manifest signed
    assert (
        f"{LOG_FILE}: was changed: its sha256 differs from the one in the manifest" in found
        or any(p.startswith(f"{LOG_FILE}: has ") for p in found)
    )


def test_a_chain_rehashed_and_resealed_with_another_key_is_caught(
    record: Path, room_state: RunningRoom, tmp_path: Path
) -> None:
    """A forger who edits an entry, re-hashes the segment and re-seals with a key of their
    own: the record's own key file now says it is theirs, but the heads the room signed no
    longer match, and the room's key (given by the auditor) refuses the manifest."""
    from room_server import audit
    from room_server.record.audit_export import entry_line, parse_entry_line

    entries = [parse_entry_line(line) for line in (record / LOG_FILE).read_text().splitlines()]
    prev, rewritten = entries[0].prev, []
    for e in entries:
        data = e.data.replace('"yes"', '"no"')
        digest = audit.entry_hash(prev, e.seq, e.at, e.meeting_id, e.kind, e.actor, data)
        rewritten.append(
            audit.Entry(e.seq, e.at, e.meeting_id, e.kind, e.actor, data, prev, digest)
        )
        prev = digest
    (record / LOG_FILE).write_text("".join(map(entry_line, rewritten)))
    forger = ensure_signing_key(tmp_path / "forger-keys")
    (record / PUBLIC_KEY_FILE).unlink()
    seal(record, forger, room_state.room_id, MEETING)
    found = problems(record)
    assert any(
        p.startswith(f"{HEADS_FILE}: the head signed at entry") and "signature does not verify" in p
        for p in found
    ), found
    room_key = room_state.state_dir / "keys" / "room-signing.pub"
    code, out = cli_verify(room_state, record, "--public-key", str(room_key))
    assert code == 1 and "NOT VALID" in out
    assert f"{SIGNATURE}: does not verify for {MANIFEST}: signed with key" in out, out
    assert f"{PUBLIC_KEY_FILE}: is key" in out


def test_a_forged_signature_is_named(record: Path) -> None:
    other = Ed25519PrivateKey.generate()
    manifest = (record / MANIFEST).read_bytes()
    text = (record / SIGNATURE).read_text().splitlines()
    forged = minisign.sign(
        other, manifest, trusted_comment=text[2][len("trusted comment: ") :], untrusted_comment="x"
    )
    # Same key id as the room's, someone else's signature bytes
    lines = forged.splitlines()
    blob = base64.b64decode(lines[1])
    room_id_bytes = base64.b64decode(text[1])[2:10]
    lines[1] = base64.b64encode(blob[:2] + room_id_bytes + blob[10:]).decode()
    (record / SIGNATURE).write_text("\n".join(lines) + "\n")
    assert problems(record) == [
        f"{SIGNATURE}: does not verify for {MANIFEST}: the signature does not match the file "
        "(the file or the signature was changed)"
    ]
    # A changed trusted comment, the signature kept
    text[2] = text[2].replace("meeting:", "meeting:other-")
    (record / SIGNATURE).write_text("\n".join(text) + "\n")
    assert problems(record) == [
        f"{SIGNATURE}: does not verify for {MANIFEST}: the trusted comment was changed after "
        "it was signed"
    ]


def test_a_removed_signed_head_is_named(record: Path) -> None:
    lines = (record / HEADS_FILE).read_text().splitlines(keepends=True)
    assert len(lines) >= 3
    (record / HEADS_FILE).write_text("".join(lines[:1] + lines[2:]))
    found = problems(record)
    assert any(p.startswith(f"{HEADS_FILE}: signed head missing") for p in found), found
    (record / HEADS_FILE).write_text("".join(lines[:-1]))
    found = problems(record)
    assert any("are not covered by a signed head" in p for p in found), found


def test_a_folder_without_a_manifest_is_not_a_record(record: Path, room_state: RunningRoom) -> None:
    (record / MANIFEST).unlink()
    code, out = cli_verify(room_state, record)
    assert code == 1
    assert "manifest.json: is missing: this folder is not a sealed record" in out


# --- export ----------------------------------------------------------------------------------


def test_export_copies_verifies_and_refuses_a_different_record(
    room_state: RunningRoom, sealed: Path, tmp_path: Path
) -> None:
    stick = tmp_path / "usb"
    stick.mkdir()
    seen: list[tuple[int, int, str]] = []
    target = export_record(sealed, stick, lambda *p: seen.append(p))
    assert target == stick / MEETING and verify_record(target) == []
    assert seen[-1][0] == seen[-1][1] and [s[2] for s in seen][-3:-1] == [SIGNATURE, MANIFEST]
    assert sorted(p.name for p in stick.iterdir()) == [MEETING]  # no temporary left
    # The same record again: left as it is
    assert export_record(sealed, stick) == target
    # A different record at the destination is never overwritten
    other = tmp_path / "other" / MEETING
    shutil.copytree(sealed, other)
    (other / "results.csv").write_text("poll,option,votes\np-budget,yes,4\n")
    seal(other, ensure_signing_key(room_state.state_dir / "keys"), room_state.room_id, MEETING)
    before = (target / "results.csv").read_bytes()
    with pytest.raises(ExportError, match="already holds something else"):
        export_record(other, stick)
    assert (target / "results.csv").read_bytes() == before
    # A record that does not verify is not exported
    (other / "meeting.json").write_text("{}\n")
    with pytest.raises(ExportError, match="does not verify") as refused:
        export_record(other, tmp_path)
    assert [str(p) for p in refused.value.problems] == [
        "meeting.json: has 3 bytes, but the manifest says 55: it was changed"
    ]


def test_the_export_command_prints_progress(
    room_state: RunningRoom, sealed: Path, tmp_path: Path
) -> None:
    records = room_state.state_dir / "records"
    shutil.copytree(sealed, records / MEETING, dirs_exist_ok=True)
    stick = tmp_path / "usb"
    stick.mkdir()
    done = room_cli(room_state.config, "record", "export", MEETING, str(stick))
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"Exporting the record of {MEETING} to {stick}"
    assert lines[-1] == f"Exported and verified: {stick / MEETING}"
    assert any(line.strip().endswith(f"] {MANIFEST}") for line in lines)
    again = room_cli(room_state.config, "record", "export", "--all", str(stick))
    assert again.returncode == 0 and "already holds this record" in again.stdout
    missing = room_cli(room_state.config, "record", "export", "no-such", str(stick))
    assert missing.returncode == 2 and "no sealed record of meeting no-such" in missing.stderr
    # The folder alone: every sealed record of the room (the stick already holds it).
    alone = room_cli(room_state.config, "record", "export", str(stick))
    assert alone.returncode == 0 and "already holds this record" in alone.stdout
    too_many = room_cli(room_state.config, "record", "export", MEETING, str(stick), "x")
    assert too_many.returncode == 2 and "record export PATH" in too_many.stderr
