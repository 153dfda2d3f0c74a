"""What the live session keeps of a tablet once its connection is gone: nothing (in-process,
the real writer)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from tests.room_server.in_process import open_room, signed_in


async def test_a_tablet_that_signed_in_and_left_is_not_kept(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    """Every tablet of a congress signs in with its PIN and comes back with its token on
    a new connection; the first connection, with its TLS buffers, must be freed: 2,000 of
    them kept 280 MB (bench/signin_memory.py)."""
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        client = await signed_in(room, "d1", "2222", "A2")
        assert client.delegate_id == "d1"
        gone = weakref.ref(client)
        room.session.disconnected(client)
        del client
        gc.collect()
        assert gone() is None
        again = await signed_in(room, "d1", "2222", "A2")  # the member is back, and kept
        assert again.delegate_id == "d1"


async def test_a_tablet_signed_out_before_it_left_is_not_kept_either(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        client = await signed_in(room, "d2", "4444", "A3")
        room.session.ctx.become_observer(client, "signed out")
        gone = weakref.ref(client)
        room.session.disconnected(client)
        del client
        gc.collect()
        assert gone() is None
