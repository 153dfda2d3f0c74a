"""The signed audit chain: the room signs the chain's head with its Ed25519 key (kept
outside the database) at every poll transition, periodically and at shutdown; a chain
rewritten and re-hashed by someone who can write the database is reported as forged."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from room_protocol.codec import decode, encode
from room_protocol.voting import (
    NO,
    YES,
    AuditHead,
    BallotRecorded,
    CastBallot,
    CheckIn,
    ClosePoll,
    OpenPoll,
    PollsState,
    PollState,
    Receipt,
    Receipts,
    fingerprint,
)
from room_server import audit
from room_server.repo.ballots import decode_slot, encode_slot
from room_server.signing import (
    KEY_FILE,
    PUBLIC_FILE,
    ensure_signing_key,
    head_text,
    load_public_key,
    public_pem_of,
)
from tests.live_clients import Tablet, until
from tests.room_server.in_process import Room, open_room, reopen_room, signed_in
from tests.rooms import RunningRoom, room_cli, running_room, timeout

PINS = {"chair": "1111", "d1": "2222", "d2": "4444", "d3": "6666"}
SEATS = {"chair": "A1", "d1": "A2", "d2": "A3", "d3": "A4"}


@contextlib.contextmanager
def db(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(path)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def verify(room: RunningRoom, *args: str) -> tuple[int, str]:
    result = room_cli(room.config, "audit", "verify", *args)
    return result.returncode, result.stdout + result.stderr


def heads(path: Path) -> list[tuple[int, str, str]]:
    with db(path) as conn:
        return [
            (r[0], r[1], r[2])
            for r in conn.execute("SELECT seq, hash, reason FROM audit_heads ORDER BY seq")
        ]


# --- the attacker's tools: what anyone who can write the database can do -------------------


def rehash_whole_chain(conn: sqlite3.Connection) -> None:
    """Renumber the entries without gaps and recompute every hash as audit.py does, then
    write the new head where the server keeps it: a chain consistent from end to end."""
    rows = conn.execute(
        "SELECT seq, at, meeting_id, kind, actor, data FROM audit_log ORDER BY seq"
    ).fetchall()
    conn.execute("DELETE FROM audit_log")
    prev = "0" * 64
    for seq, (_, at, meeting_id, kind, actor, data) in enumerate(rows, start=1):
        head = json.dumps(
            [seq, at, meeting_id, kind, actor], ensure_ascii=False, separators=(",", ":")
        )
        digest = hashlib.sha256(f"{prev}\n{head[:-1]},{data}]".encode()).hexdigest()
        conn.execute(
            "INSERT INTO audit_log (seq, at, meeting_id, kind, actor, data, prev, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, at, meeting_id, kind, actor, data, prev, digest),
        )
        prev = digest
    conn.execute(
        "UPDATE room_meta SET value = ? WHERE key = 'audit_head'", (f"{len(rows)}:{prev}",)
    )


def flip_secret_result_and_drop_a_ballot(conn: sqlite3.Connection, poll_id: str) -> None:
    """Turn a rejected secret motion into an adopted one: one 'no' ballot (and its entry)
    gone, one 'no' turned into a 'yes', the stored result and the closing entry to match."""
    cast = [
        (slot, ballot, decode_slot(ballot))
        for slot, ballot in conn.execute(
            "SELECT slot, ballot FROM secret_slots WHERE poll_id = ?", (poll_id,)
        )
    ]
    noes = [
        (slot, len(ballot), found) for slot, ballot, found in cast if found and found[0] == (NO,)
    ]
    (dropped, size_of, _), (turned, _, (_, weight)) = noes[0], noes[1]
    conn.execute("UPDATE secret_slots SET ballot = zeroblob(?) WHERE slot = ?", (size_of, dropped))
    conn.execute(
        "UPDATE secret_slots SET ballot = ? WHERE slot = ?",
        (encode_slot([YES], weight, size_of), turned),
    )
    victim_seq, data = conn.execute(
        "SELECT seq, data FROM audit_log WHERE kind = 'poll.ballot' ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    victim = json.loads(data)["member"]
    conn.execute("DELETE FROM audit_log WHERE seq = ?", (victim_seq,))
    conn.execute(
        "DELETE FROM secret_voters WHERE poll_id = ? AND delegate_id = ?", (poll_id, victim)
    )
    conn.execute("DELETE FROM ballot_ids WHERE poll_id = ? AND delegate_id = ?", (poll_id, victim))
    result = json.loads(
        conn.execute("SELECT result FROM polls WHERE id = ?", (poll_id,)).fetchone()[0]
    )
    result["outcome"] = "adopted"
    result["ballots"] = 2
    for count in result["counts"]:
        count["votes"] = {YES: 2, NO: 0}.get(count["option_id"], 0)
    conn.execute("UPDATE polls SET result = ? WHERE id = ?", (json.dumps(result), poll_id))
    closed_seq, closed = conn.execute(
        "SELECT seq, data FROM audit_log WHERE kind = 'poll.closed'"
    ).fetchone()
    entry = json.loads(closed)
    entry.update(outcome="adopted", ballots=2, counts={YES: 2, NO: 0, "abstain": 0})
    text = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    conn.execute("UPDATE audit_log SET data = ? WHERE seq = ?", (text, closed_seq))


# --- a rewritten chain is reported as forged ------------------------------------------------


async def test_a_rewritten_and_rehashed_chain_is_reported_forged(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    with running_room(tmp_path / "room", package=voting_package_dir, mdns=False) as room:
        tablets = {
            who: await Tablet(room, f"tab-{who}", SEATS[who]).start()
            for who in ("chair", "d1", "d2", "d3")
        }
        for who, t in tablets.items():
            await t.sign_in(who, PINS[who])
        chair = tablets["chair"]
        await chair.ok(OpenPoll(chair.op(), "p-secret", override_quorum=True))
        receipts: dict[str, Receipt] = {}
        for who, choice in (("d1", YES), ("d2", NO), ("d3", NO)):
            t = tablets[who]
            await until(
                lambda t=t: any(  # type: ignore[misc]
                    p.id == "p-secret" and p.state is PollState.OPEN
                    for p in t.of_type(PollsState)[-1].polls
                )
            )
            reply = await t.do(CastBallot(t.op(), "p-secret", who, (choice,)))
            assert isinstance(reply, BallotRecorded), reply
            receipts[who] = reply.receipt
        await chair.ok(ClosePoll(chair.op(), "p-secret"))
        await until(lambda: bool(chair.of_type(PollsState)[-1].results))
        assert chair.of_type(PollsState)[-1].results[0].outcome.value == "rejected"
        for t in tablets.values():
            await t.stop()
        assert room.stop() == 0  # a clean shutdown
    database = room.state_dir / "room.sqlite3"
    code, out = verify(room)
    assert code == 0 and "audit log intact" in out and "signatures valid" in out, out
    signed = heads(database)
    opened_seq = next(seq for seq, _, reason in signed if reason == "poll.opened p-secret")
    closed_seq = next(seq for seq, _, reason in signed if reason == "poll.closed p-secret")
    # A delegate's receipt, checked against the chain afterwards
    mine = receipts["d1"]
    assert (mine.head_seq, mine.head) == (opened_seq, signed[0][1][:16])
    shown = f"seq {mine.head_seq} · {fingerprint(mine.head)}"
    found = room_cli(room.config, "audit", "receipt", mine.code, shown)
    assert found.returncode == 0, found.stdout + found.stderr
    assert f"covered by the head the room signed at entry {closed_seq}" in found.stdout
    assert "is a head the room signed before this ballot" in found.stdout
    wrong = room_cli(room.config, "audit", "receipt", mine.code, f"seq {opened_seq} · 0000 0000")
    assert wrong.returncode == 1 and "DOES NOT MATCH" in wrong.stdout, wrong.stdout
    pristine = {p: p.read_bytes() for p in room.state_dir.glob("room.sqlite3*")}

    def restore() -> None:
        for path in room.state_dir.glob("room.sqlite3*"):
            path.unlink()
        for path, data in pristine.items():
            path.write_bytes(data)

    def attack(extra: str | None = None) -> str:
        restore()
        with db(database) as conn:
            flip_secret_result_and_drop_a_ballot(conn, "p-secret")
            rehash_whole_chain(conn)
            if extra:
                conn.execute(extra)
        code, out = verify(room)
        assert code == 1, out
        return out

    # Every hash is consistent again: the old verify said "intact" here.
    out = attack()
    assert "AUDIT LOG FORGED" in out, out
    assert f"rewritten between entry {opened_seq + 1} and entry {closed_seq}" in out, out
    assert "intact" not in out
    dropped = room_cli(room.config, "audit", "receipt", receipts["d3"].code)
    assert dropped.returncode == 1 and "no entry of the audit log" in dropped.stdout
    # ... also without the signed heads that give it away
    out = attack("DELETE FROM audit_heads")
    assert "there is no signed head" in out, out
    out = attack(f"DELETE FROM audit_heads WHERE seq >= {closed_seq}")  # noqa: S608
    assert "signed head missing" in out and "poll.closed p-secret" in out, out
    # ... and with heads the attacker signed again with a key of their own
    attack()
    own = Ed25519PrivateKey.generate()
    with db(database) as conn:
        for seq, at, reason in conn.execute("SELECT seq, at, reason FROM audit_heads").fetchall():
            digest = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq,)).fetchone()
            if digest is None:
                conn.execute("DELETE FROM audit_heads WHERE seq = ?", (seq,))
                continue
            text = head_text(room.room_id, seq, digest[0], at, reason)
            conn.execute(
                "UPDATE audit_heads SET hash = ?, signature = ? WHERE seq = ?",
                (digest[0], own.sign(text.encode()).hex(), seq),
            )
    code, out = verify(room, "--public-key", str(room.state_dir / "keys" / PUBLIC_FILE))
    assert code == 1 and "does not verify with the room's public key" in out, out


def test_verify_needs_a_public_key(tmp_path: Path, voting_package_dir: Path) -> None:
    with running_room(tmp_path / "room", package=voting_package_dir, mdns=False) as room:
        pass
    (room.state_dir / "keys" / PUBLIC_FILE).unlink()
    code, out = verify(room)
    assert code == 2 and "no public key" in out and "--public-key" in out, out
    not_a_key = tmp_path / "nothing.pem"
    not_a_key.write_text("hello\n")
    code, out = verify(room, "--public-key", str(not_a_key))
    assert code == 2 and "not a PEM public key" in out, out


# --- when heads are signed ------------------------------------------------------------------


def latest_head(room: Room, client_id: str) -> AuditHead:
    return next(m for m in reversed(room.inbox[client_id]) if isinstance(m, AuditHead))


async def test_heads_are_signed_at_poll_transitions_periodically_and_survive_restart(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    database = tmp_path / "room.sqlite3"
    async with open_room(tmp_path, voting_package_dir) as (room, clock):
        room.connect("display")
        chair = await signed_in(room, "chair", PINS["chair"], "A1")
        d1 = await signed_in(room, "d1", PINS["d1"], "A2")
        d2 = await signed_in(room, "d2", PINS["d2"], "A3")
        assert heads(database) == []
        assert not any(isinstance(m, AuditHead) for m in room.inbox["display"])
        await room.request(chair, OpenPoll("o1", "p-budget", override_quorum=True))
        await asyncio.sleep(0)
        [(opened_seq, opened_hash, reason)] = heads(database)
        assert reason == "poll.opened p-budget"
        with db(database) as conn:  # the head is the chain's head as that batch committed it
            assert audit.chain_head(conn) == (opened_seq, opened_hash)
        shown = latest_head(room, "display")
        assert (shown.seq, shown.head, shown.reason) == (opened_seq, opened_hash, reason)
        assert latest_head(room, d1.client_id) == shown  # every tablet witnesses it

        # A ballot's receipt carries the head signed last.
        room.session.handle(d1, CastBallot("b1", "p-budget", "d1", (YES,)))
        recorded = await room.answer(d1, "b1")
        assert isinstance(recorded, BallotRecorded)
        assert (recorded.receipt.head_seq, recorded.receipt.head) == (
            opened_seq,
            opened_hash[:16],
        )
        # Periodically, once the interval has passed and the chain has grown.
        clock.now += 30
        room.session.heads.tick()
        await room.writer.drain()
        assert len(heads(database)) == 1  # not yet due
        clock.now += 31
        room.session.heads.tick()
        await room.writer.drain()
        await asyncio.sleep(0)
        periodic_seq, _, reason = heads(database)[-1]
        assert reason == "periodic" and periodic_seq > opened_seq
        clock.now += 120
        room.session.heads.tick()  # due, but nothing new: no second signature of one head
        await room.writer.drain()
        assert len(heads(database)) == 2

        room.session.handle(d2, CastBallot("b2", "p-budget", "d2", (NO,)))
        await room.answer(d2, "b2")
        await room.request(chair, ClosePoll("c1", "p-budget"))
        await asyncio.sleep(0)
        closed_seq, _closed_hash, reason = heads(database)[-1]
        assert reason == "poll.closed p-budget"
        assert latest_head(room, "display").seq == closed_seq
        room.session.stop()
        await room.session.heads.sign_now("shutdown")  # nothing new since the close
        assert heads(database)[-1][0] == closed_seq

    public = load_public_key(tmp_path / "keys" / PUBLIC_FILE)
    with db(database) as conn:
        result = audit.verify(conn, public, room_id="room", sign_every_seconds=60)
    assert result.ok and result.signed_heads == 3, result.problems
    # Restart: the same key, the last head is sent to whoever connects.
    key_before = (tmp_path / "keys" / KEY_FILE).read_bytes()
    async with reopen_room(tmp_path) as (room, clock):
        assert (tmp_path / "keys" / KEY_FILE).read_bytes() == key_before
        room.connect("display-2")
        assert latest_head(room, "display-2").seq == closed_seq
        # the receipts a member gets after signing in again keep their head
        d1 = await signed_in(room, "d1", PINS["d1"], "A2")
        receipts = room.latest(d1, Receipts)
        assert isinstance(receipts, Receipts)
        assert [(r.head_seq, r.head) for r in receipts.receipts] == [(opened_seq, opened_hash[:16])]
        room.session.stop()


async def test_an_unsigned_tail_longer_than_the_interval_is_reported(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    database = tmp_path / "room.sqlite3"
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        chair = await signed_in(room, "chair", PINS["chair"], "A1")
        await room.request(chair, OpenPoll("o1", "p-budget", override_quorum=True))
        await signed_in(room, "d1", PINS["d1"], "A2")  # a check-in, not signed yet
        room.session.stop()
    public = load_public_key(tmp_path / "keys" / PUBLIC_FILE)
    with db(database) as conn:
        assert audit.chain_head(conn)[0] > heads(database)[-1][0]
        ok = audit.verify(conn, public, room_id="room", sign_every_seconds=60)
        assert ok.ok, ok.problems  # a tail shorter than two intervals: a crash, not removal
        # The same tail as if the room had kept writing for two hours without signing.
        conn.execute(
            "UPDATE audit_log SET at = '2099-01-01T00:00:00.000+00:00' "
            "WHERE seq = (SELECT max(seq) FROM audit_log)"
        )
        rehash_whole_chain(conn)
        result = audit.verify(conn, public, room_id="room", sign_every_seconds=60)
    assert not result.forged
    assert any("signed head missing" in p for p in result.problems), result.problems


# --- the key ---------------------------------------------------------------------------------


def test_the_signing_key_is_private_whatever_the_umask(tmp_path: Path) -> None:
    for umask in (0o022, 0o000):
        keys = tmp_path / f"umask-{umask:o}" / "keys"
        old = os.umask(umask)
        try:
            key = ensure_signing_key(keys)
        finally:
            os.umask(old)
        assert stat.S_IMODE(keys.stat().st_mode) == 0o700
        assert stat.S_IMODE((keys / KEY_FILE).stat().st_mode) == 0o600
        assert load_public_key(keys / PUBLIC_FILE) is not None
        assert public_pem_of(load_public_key(keys / PUBLIC_FILE)) == public_pem_of(key.public)
        assert ensure_signing_key(keys).public_file == key.public_file  # loaded, not remade
        assert (keys / KEY_FILE).read_bytes() == key.key_file.read_bytes()


def test_a_server_run_under_umask_022_keeps_the_key_private(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    old = os.umask(0o022)
    try:
        with running_room(tmp_path / "room", package=voting_package_dir, mdns=False) as room:
            keys = room.state_dir / "keys"
            assert stat.S_IMODE(keys.stat().st_mode) == 0o700
            assert stat.S_IMODE((keys / KEY_FILE).stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_the_signed_text_is_domain_separated_and_one_field_a_line() -> None:
    text = head_text("room", 12, "a" * 64, "2026-01-01T00:00:00.000+00:00", "poll.closed p1")
    assert text.splitlines() == [
        "hemicycle audit head v1",
        "room room",
        "seq 12",
        f"head {'a' * 64}",
        "at 2026-01-01T00:00:00.000+00:00",
        "reason poll.closed p1",
    ]
    try:
        head_text("room", 12, "a" * 64, "x", "periodic\nseq 13")
    except ValueError:
        pass
    else:
        raise AssertionError("a reason with a line break was signed")


def test_the_head_message_and_receipt_round_trip() -> None:
    head = AuditHead(1234, "3f9ac21b" + "0" * 56, "2026-11-22T00:36:44.928+00:00", "periodic")
    assert decode(encode(head)) == head
    assert fingerprint(head.head) == "3F9A C21B"
    old = '{"poll_id":"p","delegate_id":"d","ballot_id":"b","code":"1adf7eed8389","at":"x"}'
    from room_protocol.codec import record_from_json

    assert record_from_json(Receipt, old).head == ""  # an older server's receipt


# --- cutting the chain back, and heads removed: chained heads, the heads log, witnesses -----


async def an_hour_of_meeting(tmp_path: Path, voting_package_dir: Path) -> None:
    """A poll opened and closed early on, then an hour of check-ins and check-outs with
    the room's periodic signatures, and a clean shutdown: about 60 signed heads."""
    async with open_room(tmp_path, voting_package_dir) as (room, clock):
        chair = await signed_in(room, "chair", PINS["chair"], "A1")
        clerk = await signed_in(room, "clerk", "3333")
        await room.request(chair, OpenPoll("o1", "p-budget", override_quorum=True))
        await room.request(chair, ClosePoll("c1", "p-budget"))
        for minute in range(60):
            clock.now += 61
            await room.request(clerk, CheckIn(f"in-{minute}", "d4", present=minute % 2 == 0))
            room.session.heads.tick()
            await room.writer.drain()
            await asyncio.sleep(0)
        room.session.stop()
        await room.session.heads.sign_now("shutdown")


def state_verify(state_dir: Path, *args: str) -> tuple[int, str]:
    """``room-server audit verify`` on an in-process room's state directory."""
    command = [sys.executable, "-m", "room_server", "--state-dir", str(state_dir), "audit"]
    result = subprocess.run(
        [*command, "verify", *args],
        capture_output=True,
        text=True,
        timeout=timeout(120),
        check=False,
    )
    return result.returncode, result.stdout + result.stderr


def cut_back_to(conn: sqlite3.Connection, seq: int) -> None:
    """Scenario (a): the chain and its heads cut back to the head at ``seq``, and the head
    kept in room_meta made to match: every hash and signature left is genuine."""
    conn.execute("DELETE FROM audit_log WHERE seq > ?", (seq,))
    conn.execute("DELETE FROM audit_heads WHERE seq > ?", (seq,))
    (digest,) = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq,)).fetchone()
    conn.execute("UPDATE room_meta SET value = ? WHERE key = 'audit_head'", (f"{seq}:{digest}",))


def shown(head: tuple[int, str, str]) -> str:
    return f"seq {head[0]} · {fingerprint(head[1])}"


@pytest.fixture
def hour(tmp_path: Path, voting_package_dir: Path) -> Path:
    asyncio.run(an_hour_of_meeting(tmp_path, voting_package_dir))
    return tmp_path


def test_the_heads_log_beside_the_key_has_every_head(hour: Path) -> None:
    database, log = hour / "room.sqlite3", hour / "keys" / audit.HEADS_LOG
    signed = heads(database)
    assert len(signed) > 50
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    logged, problems = audit.read_log(log)
    assert problems == []
    assert [(h.seq, h.hash, h.reason) for h in logged] == signed
    code, out = state_verify(hour, "--witness", shown(signed[3]), "--witness", shown(signed[-1]))
    assert code == 0 and "audit log intact" in out, out


def test_a_chain_cut_back_to_an_earlier_head_is_caught_by_the_log_or_a_witness(
    hour: Path,
) -> None:
    database, log = hour / "room.sqlite3", hour / "keys" / audit.HEADS_LOG
    signed = heads(database)
    middle, later = signed[len(signed) // 2], signed[-5]
    with db(database) as conn:
        cut_back_to(conn, middle[0])
    code, out = state_verify(hour)  # before: "audit log intact"
    assert code == 1 and "AUDIT LOG FORGED" in out, out
    assert f"the head signed at entry {later[0]} " in out and "is not in the database" in out
    # Without the log (a room from before it), only a head witnessed in the room shows it.
    log.unlink()
    code, out = state_verify(hour)
    assert code == 0 and "intact" in out, out  # what the database alone cannot show
    code, out = state_verify(hour, "--witness", shown(middle))
    assert code == 0, out
    code, out = state_verify(hour, "--witness", shown(middle), "--witness", shown(later))
    assert code == 1 and "AUDIT LOG FORGED" in out, out
    assert f"the head witnessed at entry {later[0]} ({fingerprint(later[1])}) is gone" in out
    code, out = state_verify(hour, "--witness", "seq twelve")
    assert code == 2 and "is not a head as a receipt shows it" in out, out


def test_a_rewrite_with_the_later_heads_deleted_and_times_squeezed_is_caught(
    hour: Path,
) -> None:
    """Scenario (b): an entry after the poll's closing head rewritten, every hash after
    it recomputed, every head after the closing one deleted, and the later entries' times
    squeezed so the unsigned tail looks a few seconds long."""
    database = hour / "room.sqlite3"
    signed = heads(database)
    closed = next(h for h in signed if h[2] == "poll.closed p-budget")
    later = signed[-1]
    with db(database) as conn:
        (at,) = conn.execute("SELECT at FROM audit_heads WHERE seq = ?", (closed[0],)).fetchone()
        victim = closed[0] + 1
        (data,) = conn.execute("SELECT data FROM audit_log WHERE seq = ?", (victim,)).fetchone()
        conn.execute(
            "UPDATE audit_log SET data = ? WHERE seq = ?",
            (data.replace('"d4"', '"d3"'), victim),
        )
        conn.execute("UPDATE audit_log SET at = ? WHERE seq > ?", (at, closed[0]))
        conn.execute("DELETE FROM audit_heads WHERE seq > ?", (closed[0],))
        rehash_whole_chain(conn)
    code, out = state_verify(hour)  # before: "audit log intact"
    assert code == 1 and "AUDIT LOG FORGED" in out, out
    assert f"the head signed at entry {later[0]} " in out and "is not in the database" in out
    (hour / "keys" / audit.HEADS_LOG).unlink()
    code, out = state_verify(hour, "--witness", shown(later))
    assert code == 1 and "AUDIT LOG FORGED" in out, out
    assert f"the head witnessed at entry {later[0]}" in out and "removed" in out, out


def test_a_head_deleted_from_the_middle_breaks_the_chain_of_heads(hour: Path) -> None:
    database = hour / "room.sqlite3"
    signed = heads(database)
    gone, after = signed[20], signed[21]
    with db(database) as conn:
        conn.execute("DELETE FROM audit_heads WHERE seq = ?", (gone[0],))
        public = load_public_key(hour / "keys" / PUBLIC_FILE)
        result = audit.verify(conn, public, room_id="room", sign_every_seconds=60)  # no log
    assert not result.ok
    assert any(
        f"entry {after[0]} " in p and f"signed after the head at entry {gone[0]}" in p
        for p in result.problems
    ), result.problems
    code, out = state_verify(hour)
    assert code == 1 and "signed head missing" in out and "is not in the database" in out, out


async def test_heads_signed_before_chaining_still_verify_and_the_chain_continues(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    """A database from before heads were chained: its heads are v1 (no link); the first
    head signed after the upgrade links to the last of them."""
    database = tmp_path / "room.sqlite3"
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        chair = await signed_in(room, "chair", PINS["chair"], "A1")
        await room.request(chair, OpenPoll("o1", "p-budget", override_quorum=True))
        await room.request(chair, ClosePoll("c1", "p-budget"))
        room.session.stop()
    key = ensure_signing_key(tmp_path / "keys")
    with db(database) as conn:  # as the room signed them before: v1 text, no prev
        for seq, digest, at, reason in conn.execute(
            "SELECT seq, hash, at, reason FROM audit_heads"
        ).fetchall():
            text = head_text("room", seq, digest, at, reason)
            conn.execute(
                "UPDATE audit_heads SET prev = NULL, signature = ? WHERE seq = ?",
                (key.sign(text), seq),
            )
    (tmp_path / "keys" / audit.HEADS_LOG).unlink()
    old = heads(database)
    assert len(old) == 2
    async with reopen_room(tmp_path) as (room, _clock):
        chair = await signed_in(room, "chair", PINS["chair"], "A1")
        await room.request(chair, OpenPoll("o2", "p-board", override_quorum=True))
        room.session.stop()
    public = load_public_key(tmp_path / "keys" / PUBLIC_FILE)
    with db(database) as conn:
        first_chained = audit.all_signed(conn)[2]
        assert first_chained.prev == audit.all_signed(conn)[1].link
        result = audit.verify(conn, public, room_id="room", sign_every_seconds=60)
        assert result.ok and result.signed_heads == 3, result.problems
        conn.execute("DELETE FROM audit_heads WHERE seq = ?", (old[1][0],))
        result = audit.verify(conn, public, room_id="room", sign_every_seconds=60)
    assert any("signed head missing" in p for p in result.problems), result.problems
