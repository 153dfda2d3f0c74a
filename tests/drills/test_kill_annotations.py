"""Drill: the room server SIGKILLed (a power cut) while tablets stream annotations.

Each tablet is what the tablet process runs: a RoomConnection, its own AnnotationBook
(its own SQLite file) and the AnnotationSync between them, its member signed in. They
draw and edit without pause while the server is killed at seeded moments, keep drawing
while it is down, and go on once it is back on the same port. At the end every member's
annotations in the room (its log folded, and its state table) equal the tablet's, and the
room's log holds each operation a tablet made exactly once.

Short form: 3 tablets, two kills. Long form (HEMICYCLE_DRILLS=long): 12 tablets, five kills.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from pathlib import Path

from room_protocol.annotations import AnnotationKind, AnnotationPatch, Visibility
from tests.drills.scale import drill_marks, seeded, sized
from tests.live_clients import until
from tests.room_server.test_annotations import (
    BLUE,
    FAST,
    Annotator,
    book_set,
    room_set,
    scalar,
    shas,
)
from tests.rooms import RunningRoom, start_room, timeout, write_package

pytestmark = drill_marks()

TABLETS = sized(3, 12)
KILLS = sized(2, 5)
# The room's stroke budget is not what this drill is about (tests/room_server covers it).
BUDGET = "[annotations]\nops_per_second = 5000\nops_burst = 5000\n"


async def draw_until(
    annotator: Annotator, member: str, sha: str, stop: asyncio.Event, rng: random.Random
) -> int:
    """Draw, recolour, share and erase at a delegate's pace until ``stop``: the number
    of operations made."""
    made = 0
    mine: list[str] = []
    while not stop.is_set() and made < 20_000:
        roll = rng.random()
        if mine and roll < 0.3:
            annotator.change(member, rng.choice(mine), AnnotationPatch(colour=BLUE))
        elif mine and roll < 0.35:
            annotator.change(
                member, rng.choice(mine), AnnotationPatch(visibility=Visibility.EVERYONE)
            )
        elif len(mine) > 5 and roll < 0.4:
            gone = mine.pop(rng.randrange(len(mine)))
            annotator.change(member, gone, AnnotationPatch(deleted=True))
        else:
            kind = AnnotationKind.NOTE if roll < 0.5 else AnnotationKind.INK
            geometry = (5.0, 5.0) if kind is AnnotationKind.NOTE else (1.0, 2.0, 30.0, 40.0)
            mark = annotator.draw(
                member, sha, rng.randrange(6), kind=kind, geometry=geometry, text=f"n{made}"
            )
            mine.append(mark.annotation_id)
        made += 1
        await asyncio.sleep(rng.uniform(0.005, 0.04))
    return made


async def test_annotations_streamed_through_kills_are_all_there_once(tmp_path: Path) -> None:
    rng = seeded("kill during annotation streaming")
    package = write_package(tmp_path / "package", voting=True, more_delegates=TABLETS)
    directory = tmp_path / "room"
    room: RunningRoom = start_room(
        directory, package=package, mdns=False, limits=FAST, extra=BUDGET
    )
    annotators: list[Annotator] = []
    try:
        members = [f"m{i:04d}" for i in range(TABLETS)]
        for i, member in enumerate(members):
            annotator = Annotator(room, f"tab-{member}", f"S{i:04d}", tmp_path / "books")
            annotators.append(annotator)
            await annotator.tablet.start()
            await annotator.tablet.sign_in(member, f"1{i:04d}")
            await until(lambda a=annotator, m=member: a.sync.author == m)  # type: ignore[misc]
        sha = shas(annotators[0].tablet)["budget"]
        stop = asyncio.Event()
        drawing = [
            asyncio.ensure_future(draw_until(a, m, sha, stop, random.Random(rng.getrandbits(64))))
            for a, m in zip(annotators, members, strict=True)
        ]
        waiting = 0  # operations made while the room was down, sent after it came back
        for kill in range(KILLS):
            await asyncio.sleep(rng.uniform(0.3, 1.2))
            os.kill(room.process.pid, signal.SIGKILL)
            room.process.wait(timeout(10))
            pending = sum(a.book.pending_count() for a in annotators)
            await asyncio.sleep(rng.uniform(0.1, 0.5))  # drawing on while the room is down
            waiting += sum(a.book.pending_count() for a in annotators)
            print(f"kill {kill + 1}: {pending} operations not yet answered")
            room = start_room(
                directory,
                mdns=False,
                room_id=room.room_id,
                port=room.port,
                limits=FAST,
                extra=BUDGET,
            )
        await asyncio.sleep(rng.uniform(0.2, 0.6))
        stop.set()
        made = await asyncio.wait_for(asyncio.gather(*drawing), timeout(30))
        for annotator in annotators:
            await until(lambda a=annotator: a.book.pending_count() == 0, seconds=60)  # type: ignore[misc]

        print(f"{sum(made)} operations made by {TABLETS} tablets through {KILLS} kills")
        assert waiting > 0
        assert scalar(room, "SELECT count(*) FROM annotation_ops") == sum(made)
        assert not scalar(
            room,
            "SELECT count(*) FROM (SELECT 1 FROM annotation_ops "
            "GROUP BY device_id, op_id HAVING count(*) > 1)",
        )
        for annotator, member, count in zip(annotators, members, made, strict=True):
            assert (
                scalar(room, "SELECT count(*) FROM annotation_ops WHERE author_id = ?", member)
                == count
            )
            assert room_set(room, member) == book_set(annotator.book, member)
        refused = sum(
            int(
                a.book._db.execute("SELECT count(*) FROM ops WHERE state = 'refused'").fetchone()[0]
            )
            for a in annotators
        )
        assert refused == 0
    finally:
        for annotator in annotators:
            await annotator.stop()
        if room.process.poll() is None:
            room.process.kill()
            room.process.wait()
