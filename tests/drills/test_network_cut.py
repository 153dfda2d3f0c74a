"""Drill: one tablet's network cut during a poll and while annotating (needs root).

The tablet lives in a network namespace of its own, joined to the room server's by a
veth pair (tests/netns.py); its event loop runs in a thread that entered that namespace,
so every socket it opens is the namespace's. Its end of the pair goes down for the cut
and up again: no FIN, no RST, what a Wi-Fi drop is. During the cut it casts its ballot
and keeps annotating while the chair pages on. After the cut it is back in the room
(through the same TCP connection or a new one), its ballot is recorded exactly once,
every annotation operation it made is in the room once and the room's set equals its
own, and it follows the chair's page again. During the cut its connection said
"retrying" (the tablet's banner: offline), found by the control connection's keepalive
(room_client.connection.Keepalive): without it TCP would bridge the cut silently and the
tablet go on saying "connected" with its ballot unanswered.

Short form: a 4 s cut, noticed by a keepalive of 0.5 s + 1 s. Long form
(HEMICYCLE_DRILLS=long): 30 s with the tablet's own keepalive. Skipped, saying why, where
network namespaces cannot be made (not root, no iproute2).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from room_client.connection import ConnectionStatus, Keepalive, Phase
from room_protocol.live import FollowState, SetFollow
from room_protocol.messages import Message
from room_protocol.voting import YES, BallotRecorded, CastBallot, OpenPoll
from tests import netns
from tests.drills.scale import drill_marks, seeded, sized
from tests.live_clients import Tablet, until
from tests.room_server.test_annotations import FAST, Annotator, book_set, room_set, shas
from tests.rooms import RunningRoom, running_room, timeout, write_package

pytestmark = [*drill_marks(), pytest.mark.netns]

CUT_S = sized(4.0, 30.0)
# The short form's cut is noticed at once; the long one with the tablet's own keepalive.
KEEPALIVE = sized(Keepalive(interval=0.5, timeout=1.0, close_timeout=0.5), Keepalive())
# After the link is back: TCP's retransmission backoff (after 30 s of silence the next
# try may be 25 s away) and websockets' keepalive (20 s + 20 s) bound how long it takes.
BACK_S = sized(30.0, 120.0)

T = TypeVar("T")


class LoopInNamespace:
    """An asyncio loop in a thread that entered ``host``'s network namespace."""

    def __init__(self, host: netns.Host) -> None:
        self.host = host
        self.loop = asyncio.new_event_loop()
        self._entered = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=f"tablet in {host.namespace}")

    def _run(self) -> None:
        try:
            netns.enter(self.host)
        except BaseException as exc:  # reported by start()
            self._error = exc
            self._entered.set()
            return
        asyncio.set_event_loop(self.loop)
        self._entered.set()
        self.loop.run_forever()

    def start(self) -> None:
        self._thread.start()
        self._entered.wait(timeout(10))
        if self._error is not None:
            raise self._error

    async def call(self, coroutine: Coroutine[Any, Any, T], seconds: float = 30) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout(seconds))

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout(10))
        self.loop.close()


@contextlib.contextmanager
def tablet_host() -> Iterator[tuple[str, netns.Host]]:
    reason = netns.unavailable_reason()
    if reason:
        pytest.skip(reason)
    with netns.linked_host() as linked:
        yield linked


def scalar(room: RunningRoom, sql: str, *params: object) -> int:
    uri = f"file:{room.state_dir / 'room.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        return int(db.execute(sql, params).fetchone()[0])


async def test_a_tablet_cut_off_mid_poll_and_mid_stroke_loses_and_doubles_nothing(
    tmp_path: Path,
) -> None:
    rng = seeded("network cut")
    package = write_package(tmp_path / "package", voting=True)
    with (
        tablet_host() as (room_address, host),
        running_room(
            tmp_path / "room", package=package, mdns=False, host=room_address, limits=FAST
        ) as room,
    ):
        chair = Tablet(room, "tab-chair", "A1")
        chair.connection.endpoint = room.endpoint(room_address)
        await chair.start()
        await chair.sign_in("chair", "1111")
        away = LoopInNamespace(host)
        away.start()
        phases: list[ConnectionStatus] = []
        times: list[float] = []  # monotonic, of each phase

        def heard(status: ConnectionStatus) -> None:
            phases.append(status)
            times.append(time.monotonic())

        async def make() -> Annotator:
            annotator = Annotator(room, "tab-d1", "A2", tmp_path / "books")
            annotator.tablet.connection.endpoint = room.endpoint(room_address)
            annotator.tablet.connection.on_status = heard
            annotator.tablet.connection.keepalive = KEEPALIVE
            await annotator.start("d1")
            return annotator

        d1 = await away.call(make())
        try:
            sha = shas(d1.tablet)["budget"]

            async def draw(count: int, start: int) -> None:
                for i in range(start, start + count):
                    d1.draw("d1", sha, i % 6, text=f"n{i}")
                    await asyncio.sleep(rng.uniform(0.01, 0.05))

            await away.call(draw(10, 0))
            await chair.ok(OpenPoll(chair.op(), "p-secret", override_quorum=True))

            netns.set_link(host, up=False)
            cut_started = asyncio.get_running_loop().time()
            cut_at = time.monotonic()
            before_cut = len(phases)
            ballot = CastBallot(d1.tablet.op(), "p-secret", "d1", (YES,))

            async def vote() -> asyncio.Future[Message]:  # it waits in the tablet's loop
                return asyncio.ensure_future(d1.tablet.connection.request(ballot))

            answer = await away.call(vote())
            await away.call(draw(20, 10))
            pages = [(sha, page) for page in rng.sample(range(6), 4)]
            for page_sha, page in pages:  # the chair pages on meanwhile
                await chair.ok(SetFollow(chair.op(), page_sha, page))
            left = CUT_S - (asyncio.get_running_loop().time() - cut_started)
            await asyncio.sleep(max(0.0, left))
            during = [p.phase for p in phases[before_cut:]]
            # Nothing of the tablet's reached the room while it was cut off.
            assert not scalar(room, "SELECT count(*) FROM ballot_ids")
            assert scalar(room, "SELECT count(*) FROM annotation_ops") == 10
            netns.set_link(host, up=True)
            back_at = time.monotonic()

            async def settle() -> Message:
                result = await asyncio.wait_for(answer, timeout(BACK_S))
                await until(lambda: d1.book.pending_count() == 0, seconds=BACK_S)
                await until(
                    lambda: (
                        bool(s := d1.tablet.of_type(FollowState))
                        and (s[-1].sha256, s[-1].page) == pages[-1]
                    ),
                    seconds=BACK_S,
                )
                return result

            recorded = await away.call(settle(), seconds=3 * BACK_S)
            offline = next(
                (t for p, t in zip(phases, times, strict=True) if p.phase is Phase.RETRYING), 0.0
            )
            retries = sum(1 for p in phases if p.phase is Phase.RETRYING)
            print(
                f"cut {CUT_S:.0f} s: the tablet said retrying {offline - cut_at:.1f} s after "
                f"the cut, tried {retries} times, was connected {times[-1] - back_at:.1f} s "
                "after the link came back"
            )
            # The tablet said it was offline during the cut, and is connected again.
            assert Phase.RETRYING in during, during
            assert phases[-1].phase is Phase.CONNECTED
            assert isinstance(recorded, BallotRecorded), recorded
            assert scalar(room, "SELECT count(*) FROM ballot_ids WHERE poll_id = 'p-secret'") == 1
            assert (
                scalar(room, "SELECT count(*) FROM secret_voters WHERE poll_id = 'p-secret'") == 1
            )
            assert (
                scalar(room, "SELECT count(*) FROM secret_ballots WHERE poll_id = 'p-secret'") == 1
            )
            assert scalar(room, "SELECT count(*) FROM annotation_ops WHERE author_id = 'd1'") == 30

            async def own() -> list[Any]:
                return book_set(d1.book, "d1")

            assert room_set(room, "d1") == await away.call(own())
        finally:
            netns.set_link(host, up=True)
            with contextlib.suppress(Exception):
                await away.call(d1.stop())
            away.stop()
            await chair.stop()
