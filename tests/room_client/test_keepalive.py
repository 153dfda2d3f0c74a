"""The control connection's keepalive against a real room-server process: a room that
stops answering (SIGSTOP: its TCP stack still acknowledges, as a link that swallows
everything would look) is noticed, and the tablet is back once it answers again.
tests/drills/test_network_cut.py is the same with a real link cut (root only)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from room_client.connection import Keepalive, Phase
from room_protocol.live import Ack, RequestFloor
from tests.live_clients import Tablet, until
from tests.rooms import running_room, timeout


async def test_a_room_that_stops_answering_is_noticed_and_rejoined(
    tmp_path: Path, package_dir: Path
) -> None:
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        d1 = Tablet(room, "tab-d1", "A2")
        d1.connection.keepalive = Keepalive(interval=0.3, timeout=0.6, close_timeout=0.3)
        phases: list[Phase] = []
        d1.connection.on_status = lambda status: phases.append(status.phase)
        await d1.start()
        await d1.sign_in("d1", "2222")
        room.process.send_signal(signal.SIGSTOP)
        try:
            # Noticed well before websockets' own keepalive could (20 s + 20 s).
            await until(lambda: d1.connection.status.phase is not Phase.CONNECTED, seconds=10)
            waiting = asyncio.ensure_future(d1.connection.request(RequestFloor(d1.op())))
        finally:
            room.process.send_signal(signal.SIGCONT)
        answer = await asyncio.wait_for(waiting, timeout(30))  # sent again once back
        assert isinstance(answer, Ack), answer
        assert d1.connection.status.phase is Phase.CONNECTED
        assert Phase.RETRYING in phases[phases.index(Phase.CONNECTED) :]
        assert d1.connection.signed_in is not None  # the sign-in resumed
        await d1.stop()
