"""Nothing acknowledged is lost: the room server is killed (SIGKILL, as a power cut
would) in the middle of a burst of ballots from many real TLS tablets."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from room_protocol.messages import Message
from room_protocol.voting import (
    NO,
    YES,
    BallotRecorded,
    CastBallot,
    ClosePoll,
    OpenPoll,
    Outcome,
    PollsState,
    PollState,
    PublishPoll,
)
from tests.live_clients import Tablet, until
from tests.rooms import room_cli, start_room, timeout, write_package

VOTERS = 60


async def test_ballots_acknowledged_before_a_kill_are_all_there_exactly_once(
    tmp_path: Path,
) -> None:
    package = write_package(tmp_path / "package", voting=True, more_delegates=VOTERS)
    directory = tmp_path / "room"
    room = start_room(directory, package=package, mdns=False)
    tablets: list[Tablet] = []
    try:
        chair = await Tablet(room, "tab-chair", "A1").start()
        tablets.append(chair)
        await chair.sign_in("chair", "1111")
        voters: list[Tablet] = []
        for i in range(VOTERS):
            t = await Tablet(room, f"tab-m{i:04d}", f"S{i:04d}").start()
            await t.sign_in(f"m{i:04d}", f"1{i:04d}")
            voters.append(t)
        tablets.extend(voters)
        await chair.ok(OpenPoll(chair.op(), "p-secret"))
        await until(lambda: chair.of_type(PollsState)[-1].polls[1].state is PollState.OPEN)

        ballots = [
            CastBallot(t.op(), "p-secret", f"m{i:04d}", (YES if i % 3 else NO,))
            for i, t in enumerate(voters)
        ]

        def acknowledged() -> dict[str, BallotRecorded]:
            return {m.op_id: m for t in voters for m in t.received if isinstance(m, BallotRecorded)}

        # Three waves: the first is answered before the kill; the second is sent all at
        # once and the server is killed while it writes it (some ballots committed but
        # not answered, some not committed); the third is cast while the room is down.
        wave = VOTERS // 3
        sent = [
            asyncio.ensure_future(t.do(b))
            for t, b in zip(voters[:wave], ballots[:wave], strict=True)
        ]
        await until(lambda: len(acknowledged()) == wave)
        sent += [
            asyncio.ensure_future(t.do(b))
            for t, b in zip(voters[wave : 2 * wave], ballots[wave : 2 * wave], strict=True)
        ]
        await until(lambda: len(acknowledged()) > wave, seconds=5)
        room.process.kill()
        room.process.wait()
        before_kill = acknowledged()
        with contextlib.closing(sqlite3.connect(directory / "state" / "room.sqlite3")) as conn:
            committed = conn.execute("SELECT count(*) FROM ballot_ids").fetchone()[0]
        sent += [
            asyncio.ensure_future(t.do(b))
            for t, b in zip(voters[2 * wave :], ballots[2 * wave :], strict=True)
        ]
        print(f"killed with {len(before_kill)} of {VOTERS} ballots answered, {committed} on disk")
        assert wave < len(before_kill) <= committed < VOTERS

        # The same room comes back on the same port; tablets reconnect by themselves,
        # resume their sign-in and send the ballots still waiting, with the same ids.
        room = start_room(directory, mdns=False, room_id=room.room_id, port=room.port)
        answers: list[Message] = await asyncio.wait_for(asyncio.gather(*sent), timeout(60))
        assert all(isinstance(a, BallotRecorded) for a in answers), answers
        after = {a.op_id: a for a in answers if isinstance(a, BallotRecorded)}
        assert set(after) == {b.op_id for b in ballots}
        for op_id, receipt in before_kill.items():
            assert after[op_id].receipt == receipt.receipt  # the same ballot, not a new one

        conn = sqlite3.connect(directory / "state" / "room.sqlite3")
        try:
            counts = [
                conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608
                for table in ("secret_ballots", "secret_voters", "ballot_ids")
            ]
            audited = conn.execute(
                "SELECT count(*) FROM audit_log WHERE kind = 'poll.ballot'"
            ).fetchone()[0]
        finally:
            conn.close()
        assert counts == [VOTERS, VOTERS, VOTERS]
        assert audited == VOTERS

        # The poll goes on: close, count and publish.
        await chair.ok(ClosePoll(chair.op(), "p-secret"))
        await chair.ok(PublishPoll(chair.op(), "p-secret"))
        await until(lambda: bool(chair.of_type(PollsState)[-1].results))
        result = chair.of_type(PollsState)[-1].results[0]
        yes = sum(1 for i in range(VOTERS) if i % 3)
        assert {c.option_id: c.votes for c in result.counts}[YES] == yes
        assert result.ballots == VOTERS
        assert result.outcome is Outcome.ADOPTED
        verified = room_cli(room.config, "audit", "verify")
        assert verified.returncode == 0, verified.stdout
    finally:
        for t in tablets:
            await t.stop()
        if room.process.poll() is None:
            room.process.kill()
            room.process.wait()
