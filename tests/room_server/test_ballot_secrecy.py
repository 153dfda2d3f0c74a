"""The page-layout attack on secret ballots, against a real room-server process and its
real SQLite file.

The attacker knows how each member voted in some other way only to *score* the attack:
every voter casts a different set of choices, so a ballot found in the file tells which
voter's it is. The attack itself uses the file alone: where each ballot lies (its b-tree
page and its cell's offset in the page: SQLite fills a page's cell area from the end, so
cells written later lie lower) against the order of the "who voted" entries in the audit
log, zipped. On the code before slots this paired all 30 voters with their ballots.

A layout that says nothing pairs a voter correctly only by chance: the number of correct
pairs is then the number of fixed points of a random permutation, whose distribution is
known exactly (:func:`fixed_point_tail`); a test fails if the attack does better than
chance would more than once in 50,000 runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import shutil
import sqlite3
import struct
from collections.abc import AsyncIterator, Sequence
from fractions import Fraction
from math import factorial
from pathlib import Path

from room_protocol.codec import record_to_json
from room_protocol.voting import (
    BallotRecorded,
    CastBallot,
    ClosePoll,
    CreatePoll,
    OpenPoll,
    PollKind,
    PollOption,
    PollSpec,
    PollsState,
    PollState,
)
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom, running_room, timeout, write_package

VOTERS = 30
WAVES = 3  # commit batches, each taken while the test holds SQLite's write lock
POLL = "p-layout"
OPTIONS = tuple(f"c-{i}" for i in range(1, 7))
CHANCE = Fraction(1, 50_000)  # how unlikely a pass by luck the tests accept


def fixed_point_tail(sizes: Sequence[int], at_least: int) -> Fraction:
    """P(at least ``at_least`` fixed points in all) for independent uniformly random
    permutations of ``sizes`` elements: the chance a blind attacker, pairing within
    groups of these sizes, gets that many pairs right. For one group of 30,
    P(>= 8) = 1.02e-5 (about e^-1 / 8!)."""

    def one(n: int) -> list[Fraction]:
        # rencontres numbers: permutations of n with exactly k fixed points
        derangements = [1, 0]
        for m in range(2, n + 1):
            derangements.append((m - 1) * (derangements[-1] + derangements[-2]))
        return [
            Fraction(factorial(n) // (factorial(k) * factorial(n - k)) * derangements[n - k])
            / factorial(n)
            for k in range(n + 1)
        ]

    total = [Fraction(1)]
    for n in sizes:
        group = one(n)
        mixed = [Fraction(0)] * (len(total) + len(group) - 1)
        for i, p in enumerate(total):
            for j, q in enumerate(group):
                mixed[i + j] += p * q
        total = mixed
    return sum(total[at_least:], Fraction(0))


def chance_bound(sizes: Sequence[int]) -> int:
    """The fewest correct pairs that chance reaches less often than :data:`CHANCE`."""
    bound = 0
    while fixed_point_tail(sizes, bound) > CHANCE:
        bound += 1
    return bound


def test_the_chance_bound() -> None:
    assert chance_bound([30]) == 8
    assert float(fixed_point_tail([30], 8)) < 1.1e-5
    assert fixed_point_tail([10], 10) == Fraction(1, factorial(10))
    assert chance_bound([1] * 5) == 6  # ballots one by one: nothing hidden


# --- the attacker ---------------------------------------------------------------------


def needles(choices: Sequence[str]) -> tuple[bytes, ...]:
    """The bytes a ballot with these choices is stored as, in any layout so far."""
    ordered = sorted(choices)
    return (
        json.dumps(ordered).encode(),  # secret_ballots.choices before slots
        json.dumps(ordered, separators=(",", ":")).encode(),  # in a slot
    )


def leaf_pages(data: bytes, root: int) -> list[int]:
    """The leaf pages of the b-tree at ``root``, read from the file's bytes."""
    page_size = struct.unpack(">H", data[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    leaves: list[int] = []
    todo = [root]
    while todo and len(leaves) < 10_000:
        number = todo.pop()
        start = (number - 1) * page_size
        header = start + (100 if number == 1 else 0)
        kind = data[header]
        if kind in (0x0A, 0x0D):
            leaves.append(number)
            continue
        assert kind in (0x02, 0x05), f"page {number} is not a b-tree page"
        cells = struct.unpack(">H", data[header + 3 : header + 5])[0]
        todo.append(struct.unpack(">I", data[header + 8 : header + 12])[0])
        for i in range(cells):
            at = struct.unpack(">H", data[header + 12 + 2 * i : header + 14 + 2 * i])[0]
            todo.append(struct.unpack(">I", data[start + at : start + at + 4])[0])
    return sorted(leaves)


def physical_order(database: Path, ballots: Sequence[Sequence[str]]) -> list[int]:
    """Indexes into ``ballots`` in the order they lie in the secret ballots' b-tree:
    by page, then from the end of the page down (the order SQLite fills a page in)."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        (root,) = conn.execute(
            "SELECT rootpage FROM sqlite_master WHERE type = 'table' "
            "AND name IN ('secret_ballots', 'secret_slots')"
        ).fetchone()
    data = database.read_bytes()
    page_size = struct.unpack(">H", data[16:18])[0]
    found: list[tuple[int, int, int]] = []  # page, -offset, ballot
    for page in leaf_pages(data, root):
        image = data[(page - 1) * page_size : page * page_size]
        for index, choices in enumerate(ballots):
            for needle in needles(choices):
                offset = image.find(needle)
                if offset >= 0:
                    assert image.find(needle, offset + 1) < 0, "a ballot is kept twice"
                    found.append((page, -offset, index))
                    break
    assert sorted(i for _, _, i in found) == list(range(len(ballots))), "ballots not all found"
    return [index for _, _, index in sorted(found)]


def audit_order(database: Path) -> list[str]:
    """The members whose ballots the audit log records, in its order."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        rows = conn.execute(
            "SELECT data FROM audit_log WHERE kind = 'poll.ballot' ORDER BY seq"
        ).fetchall()
    return [json.loads(r[0])["member"] for r in rows if json.loads(r[0])["poll"] == POLL]


def wal_commits(wal: bytes) -> list[list[tuple[int, bytes]]]:
    """The (page number, page image) frames of a write-ahead log, by commit, oldest
    first; every frame in the file, also ones a restart of the log left behind."""
    page_size = struct.unpack(">I", wal[8:12])[0]
    commits: list[list[tuple[int, bytes]]] = []
    frames: list[tuple[int, bytes]] = []
    at = 32
    while at + 24 + page_size <= len(wal):
        page, commit_size = struct.unpack(">II", wal[at : at + 8])
        frames.append((page, wal[at + 24 : at + 24 + page_size]))
        if commit_size:
            commits.append(frames)
            frames = []
        at += 24 + page_size
    return commits


# --- the room ---------------------------------------------------------------------------


def distinct_ballots(count: int, seed: int) -> list[tuple[str, ...]]:
    """``count`` different sets of two or more options (a single option could also be a
    poll result's list of winners elsewhere in the file)."""
    sets = [c for n in range(2, len(OPTIONS) + 1) for c in itertools.combinations(OPTIONS, n)]
    random.Random(seed).shuffle(sets)
    return sets[:count]


class Vote:
    """A room with :data:`VOTERS` members signed in and a secret poll with 6 options."""

    def __init__(self, room: RunningRoom, chair: Tablet, voters: list[Tablet]) -> None:
        self.room, self.chair, self.voters = room, chair, voters
        self.database = room.state_dir / "room.sqlite3"
        self.ballots = distinct_ballots(VOTERS, seed=10)

    async def open(self) -> None:
        spec = PollSpec(
            "Choose the projects to fund",
            PollKind.MULTIPLE,
            tuple(PollOption(o, o.upper()) for o in OPTIONS),
            min_choices=2,
            max_choices=len(OPTIONS),
            secret=True,
        )
        await self.chair.ok(CreatePoll(self.chair.op(), POLL, spec))
        await self.chair.ok(OpenPoll(self.chair.op(), POLL))
        await until(lambda: self.state() is PollState.OPEN)

    def state(self) -> PollState | None:
        found = [p for p in self.chair.of_type(PollsState)[-1].polls if p.id == POLL]
        return found[0].state if found else None

    async def cast_waves(self) -> list[str]:
        """Every voter votes, in a shuffled order, in :data:`WAVES` waves; the ballots of
        a wave reach the writer while the test holds the write lock, so each wave is
        (mostly) one group commit. Returns the members in the order they voted."""
        order = list(range(VOTERS))
        random.Random(7).shuffle(order)
        wave_size = -(-VOTERS // WAVES)
        for start in range(0, VOTERS, wave_size):
            wave = order[start : start + wave_size]
            lock = sqlite3.connect(self.database, timeout=timeout(10), isolation_level=None)
            try:
                lock.execute("BEGIN IMMEDIATE")
                sent = [
                    asyncio.ensure_future(
                        self.voters[i].do(
                            CastBallot(
                                self.voters[i].op(), POLL, f"m{i:04d}", tuple(self.ballots[i])
                            )
                        )
                    )
                    for i in wave
                ]
                await asyncio.sleep(0.5)  # the ballots reach the server and queue there
                lock.execute("ROLLBACK")
            finally:
                lock.close()
            answers = await asyncio.wait_for(asyncio.gather(*sent), timeout(30))
            assert all(isinstance(a, BallotRecorded) for a in answers), answers
        return [f"m{i:04d}" for i in order]

    def owner(self, index: int) -> str:
        return f"m{index:04d}"


@contextlib.asynccontextmanager
async def a_vote(tmp_path: Path) -> AsyncIterator[Vote]:
    package = write_package(tmp_path / "package", voting=True, more_delegates=VOTERS)
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        tablets: list[Tablet] = []
        try:
            chair = await Tablet(room, "tab-chair", "A1").start()
            tablets.append(chair)
            await chair.sign_in("chair", "1111")
            for i in range(VOTERS):
                t = await Tablet(room, f"tab-m{i:04d}", f"S{i:04d}").start()
                tablets.append(t)
                await t.sign_in(f"m{i:04d}", f"1{i:04d}")
            vote = Vote(room, chair, tablets[1:])
            await vote.open()
            yield vote
        finally:
            for t in tablets:
                await t.stop()


def correct_pairs(audit: Sequence[str], physical: Sequence[int], vote: Vote) -> int:
    return sum(member == vote.owner(i) for member, i in zip(audit, physical, strict=True))


# --- the tests ----------------------------------------------------------------------------


async def test_a_closed_secret_poll_pairs_voters_with_ballots_no_better_than_chance(
    tmp_path: Path,
) -> None:
    async with a_vote(tmp_path) as vote:
        voted = await vote.cast_waves()
        await vote.chair.ok(ClosePoll(vote.chair.op(), POLL))
        await until(lambda: vote.state() is PollState.CLOSED)
        # closing folds the write-ahead log into the database and empties it
        wal = vote.room.state_dir / "room.sqlite3-wal"
        await until(lambda: not wal.exists() or wal.stat().st_size == 0)

        # nor does the WAL index (-shm) still list the pages each commit wrote
        with contextlib.closing(sqlite3.connect(f"file:{vote.database}?mode=ro", uri=True)) as c:
            (root,) = c.execute("SELECT rootpage FROM sqlite_master WHERE name = 'secret_slots'")
        slot_pages = set(leaf_pages(vote.database.read_bytes(), root[0]))
        shm = vote.room.state_dir / "room.sqlite3-shm"

        def logged() -> set[int]:
            return set(struct.unpack("<4062I", shm.read_bytes()[136 : 136 + 4062 * 4])) - {0}

        await until(lambda: not logged() & slot_pages and wal.stat().st_size == 0)

        # a backup with SQLite's own tool, taken from the running room
        backup = tmp_path / "backup.sqlite3"
        with (
            contextlib.closing(sqlite3.connect(vote.database)) as live,
            contextlib.closing(sqlite3.connect(backup)) as copy,
        ):
            live.backup(copy)
        # and the file itself, as a thief of the disk would copy it
        stolen = tmp_path / "stolen.sqlite3"
        shutil.copyfile(vote.database, stolen)

        for database in (stolen, backup):
            audit = audit_order(database)
            assert sorted(audit) == sorted(voted)
            physical = physical_order(database, vote.ballots)
            matched = correct_pairs(audit, physical, vote)
            print(f"{database.name}: {matched} of {VOTERS} voters paired with their ballot")
            # chance: P(>= 8 of 30) = 1.0e-5; the layout before slots gave 30 of 30
            assert matched < chance_bound([VOTERS]) == 8


async def test_an_open_secret_poll_shows_a_copy_of_the_disk_no_more_than_each_commit(
    tmp_path: Path,
) -> None:
    """A copy of the database and its write-ahead log taken while the poll is open: the
    log keeps each commit's pages, so the attacker sees which ballots and which "who
    voted" entries came in which commit, and pairs them within each commit."""
    async with a_vote(tmp_path) as vote:
        await vote.cast_waves()
        copy = tmp_path / "copy"
        copy.mkdir()
        shutil.copyfile(vote.database, copy / "room.sqlite3")
        shutil.copyfile(vote.room.state_dir / "room.sqlite3-wal", copy / "room.sqlite3-wal")
        assert vote.state() is PollState.OPEN

    wal = (copy / "room.sqlite3-wal").read_bytes()
    commits = wal_commits(wal)
    ballot_commit: dict[int, tuple[int, int, int]] = {}  # ballot -> commit, page, -offset
    voter_commit: dict[str, int] = {}
    for number, frames in enumerate(commits):
        for page, image in frames:
            for index, choices in enumerate(vote.ballots):
                offset = max(image.find(n) for n in needles(choices))
                if offset >= 0 and index not in ballot_commit:
                    ballot_commit[index] = (number, page, -offset)
            for index in range(VOTERS):
                member = vote.owner(index)
                if f'"member":"{member}","poll":"{POLL}"'.encode() in image:
                    voter_commit.setdefault(member, number)
    assert len(ballot_commit) == VOTERS and len(voter_commit) == VOTERS

    # the audit order within each commit, from the copy opened as a database
    audit = audit_order(copy / "room.sqlite3")
    matched = 0
    sizes: list[int] = []
    for number in sorted(set(voter_commit.values())):
        members = [m for m in audit if voter_commit[m] == number]
        ballots = sorted(
            (place[1:], index) for index, place in ballot_commit.items() if place[0] == number
        )
        # a commit holds the ballots of the members it records as having voted
        assert sorted(vote.owner(i) for _, i in ballots) == sorted(members)
        sizes.append(len(members))
        matched += sum(m == vote.owner(i) for m, (_, i) in zip(members, ballots, strict=True))
    bound = chance_bound(sizes)
    print(f"commits of {sizes} ballots: {matched} of {VOTERS} paired; chance bound {bound}")
    # within a commit no better than chance (the layout before slots paired all 30)
    assert matched < bound


def test_secret_ballots_kept_before_slots_move_into_slots_in_a_random_order(
    tmp_path: Path,
) -> None:
    from room_server.repo import ballots as repo
    from room_server.store import MIGRATIONS, Store

    mine = next(i for i, m in enumerate(MIGRATIONS) if "CREATE TABLE secret_slots" in m)
    path = tmp_path / "room.sqlite3"
    spec = PollSpec("Old poll", PollKind.MULTIPLE, tuple(PollOption(o, o) for o in OPTIONS))
    old = [(("c-1", "c-2"), 1), (("c-3",), 2), (("c-2", "c-5", "c-6"), 1)]
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for script in MIGRATIONS[:mine]:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {mine}")
        conn.execute(
            "INSERT INTO polls (meeting_id, id, position, spec, state) "
            "VALUES ('m', 'p-old', 0, ?, 'closed')",
            (record_to_json(spec),),
        )
        for choices, weight in old:
            conn.execute(
                "INSERT INTO secret_ballots VALUES ('m', 'p-old', randomblob(16), ?, ?)",
                (json.dumps(sorted(choices)), weight),
            )
    with Store(path, tmp_path / "documents") as store:
        slots = store.rows("SELECT ballot FROM secret_slots")
        assert len({len(s["ballot"]) for s in slots}) == 1
        assert len(slots[0]["ballot"]) >= repo.slot_size(spec)
        assert sorted(repo.secret_ballots(store, "m", "p-old")) == sorted(old)
        view = store.rows("SELECT choices, weight FROM secret_ballots")
        assert sorted((tuple(json.loads(r["choices"])), r["weight"]) for r in view) == sorted(old)
    assert (
        not (tmp_path / "room.sqlite3-wal").exists()
        or path.with_name("room.sqlite3-wal").stat().st_size == 0
    )
