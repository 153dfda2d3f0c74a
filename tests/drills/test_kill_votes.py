"""Drill: the room server SIGKILLed (a power cut) again and again during a vote burst.

Every voting member's tablet (a real RoomConnection over TLS, its member signed in)
casts its ballot within one second; the server is killed the moment a seeded number of
ballots has been acknowledged, started again on the same port, and killed again while the
tablets re-send what is still unanswered (same op ids). After the last restart every
ballot is answered; each ballot acknowledged before a kill keeps its receipt; the
database holds every ballot exactly once (ballots, voters, op ids, audit entries) and the
audit chain verifies. tests/room_server/test_vote_durability.py is the single-kill case
with a third wave cast while the room is down; this drill kills at exact
acknowledgement counts, several times.

Short form: 40 voters, two kills. Long form (HEMICYCLE_DRILLS=long): 300 voters, five kills.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
from pathlib import Path

from room_protocol.messages import Message
from room_protocol.voting import NO, YES, BallotRecorded, CastBallot, OpenPoll, PollsState
from room_protocol.voting import PollState as State
from tests.drills.scale import drill_marks, seeded, sized
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom, start_room, timeout, write_package

pytestmark = drill_marks()

VOTERS = sized(40, 300)
KILLS = sized(2, 5)
BURST_S = 1.0  # every ballot is cast within this many seconds (DESIGN.md's vote burst)
POLL = "p-secret"


def counts(directory: Path) -> dict[str, int]:
    path = directory / "state" / "room.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        found = {
            table: int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608
            for table in ("secret_ballots", "secret_voters", "ballot_ids")
        }
        found["audit"] = int(
            db.execute("SELECT count(*) FROM audit_log WHERE kind = 'poll.ballot'").fetchone()[0]
        )
        found["doubled"] = int(
            db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM secret_voters "
                "GROUP BY poll_id, delegate_id HAVING count(*) > 1)"
            ).fetchone()[0]
        )
    return found


async def signed_in(room: RunningRoom, i: int) -> Tablet:
    tablet = await Tablet(room, f"tab-m{i:04d}", f"S{i:04d}").start()
    await tablet.sign_in(f"m{i:04d}", f"1{i:04d}")
    return tablet


async def test_every_acknowledged_ballot_is_there_once_after_kills(tmp_path: Path) -> None:
    rng = seeded("kill during a vote burst")
    package = write_package(tmp_path / "package", voting=True, more_delegates=VOTERS)
    directory = tmp_path / "room"
    room = start_room(directory, package=package, mdns=False)
    tablets: list[Tablet] = []
    try:
        chair = await Tablet(room, "tab-chair", "A1").start()
        tablets.append(chair)
        await chair.sign_in("chair", "1111")
        voters: list[Tablet] = []
        for start in range(0, VOTERS, 20):
            voters += await asyncio.gather(
                *(signed_in(room, i) for i in range(start, min(start + 20, VOTERS)))
            )
        tablets.extend(voters)
        await chair.ok(OpenPoll(chair.op(), POLL))
        await until(
            lambda: any(
                p.id == POLL and p.state is State.OPEN for p in chair.of_type(PollsState)[-1].polls
            )
        )

        ballots = [
            CastBallot(t.op(), POLL, f"m{i:04d}", (YES if i % 3 else NO,))
            for i, t in enumerate(voters)
        ]
        answered: dict[str, Message] = {}
        kill_at = [0]  # kill the room when this many ballots are answered (0: do not)

        def heard(op_id: str, future: asyncio.Future[Message]) -> None:
            if future.cancelled() or future.exception() is not None:
                return
            answered[op_id] = future.result()
            if kill_at[0] and len(answered) >= kill_at[0]:
                kill_at[0] = 0
                os.kill(room.process.pid, signal.SIGKILL)  # now, between two answers

        async def cast(tablet: Tablet, ballot: CastBallot, after: float) -> Message:
            await asyncio.sleep(after)
            return await tablet.connection.request(ballot)

        # The burst: every ballot cast within BURST_S, at seeded moments.
        sent: list[asyncio.Future[Message]] = []
        for tablet, ballot in zip(voters, ballots, strict=True):
            future = asyncio.ensure_future(cast(tablet, ballot, rng.uniform(0, BURST_S)))
            future.add_done_callback(lambda f, op=ballot.op_id: heard(op, f))
            sent.append(future)

        receipts: dict[str, BallotRecorded] = {}
        kills = 0
        mid_burst = 0  # kills with ballots still unanswered
        for _ in range(KILLS):
            left = VOTERS - len(answered)
            if left < 2:
                break
            kill_at[0] = len(answered) + rng.randint(1, max(1, left // 2))
            await until(lambda: room.process.poll() is not None, seconds=60)  # noqa: B023  now
            kills += 1
            acknowledged = {op: a for op, a in answered.items() if isinstance(a, BallotRecorded)}
            receipts.update(acknowledged)
            mid_burst += len(acknowledged) < VOTERS
            on_disk = counts(directory)
            print(
                f"kill {kills}: {len(acknowledged)} of {VOTERS} ballots acknowledged, "
                f"{on_disk['ballot_ids']} on disk"
            )
            # Nothing acknowledged is lost: committed before it was answered.
            assert on_disk["ballot_ids"] >= len(acknowledged)
            assert on_disk["secret_ballots"] == on_disk["secret_voters"] == on_disk["ballot_ids"]
            room = start_room(directory, mdns=False, room_id=room.room_id, port=room.port)

        final = await asyncio.wait_for(asyncio.gather(*sent), timeout(60))
        assert kills >= 1 and mid_burst >= 1
        assert all(isinstance(a, BallotRecorded) for a in final), [
            a for a in final if not isinstance(a, BallotRecorded)
        ][:5]
        by_op = {b.op_id: a for b, a in zip(ballots, final, strict=True)}
        for op_id, receipt in receipts.items():
            after = by_op[op_id]
            assert isinstance(after, BallotRecorded)
            assert after.receipt == receipt.receipt  # the same ballot, not a second one
        assert counts(directory) == {
            "secret_ballots": VOTERS,
            "secret_voters": VOTERS,
            "ballot_ids": VOTERS,
            "audit": VOTERS,
            "doubled": 0,
        }
        verified = room.cli("audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        # Bounded, so that a failure above is reported as itself, not as the whole run's
        # timeout (the stress run is one process: that ended it, 2026-12-08).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(tablet.stop() for tablet in tablets)), timeout(30)
            )
        if room.process.poll() is None:
            room.process.kill()
            room.process.wait()
