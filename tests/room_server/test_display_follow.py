"""The room display follows the chair's view, and is given only what it may show.

A real room-server process; the display is a real RoomConnection with a display
device's certificate, the chair a real signed-in tablet.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from room_client.connection import Backoff, RoomConnection
from room_client.documents import DocumentCache, DocumentFetcher, DocumentUnavailable
from room_protocol.live import Following, FollowState, SetFollow
from room_protocol.messages import MeetingSnapshot, Message
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom, running_room, write_package


@pytest.fixture
async def room(tmp_path: Path) -> AsyncIterator[RunningRoom]:
    package = write_package(tmp_path / "pkg", confidential=("minutes",))
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        yield room


class Display(Tablet):
    """A protocol-level room display: a Tablet whose certificate is a display's."""

    def __init__(self, room: RunningRoom, client_id: str) -> None:
        self.received: list[Message] = []
        self.meetings: list[MeetingSnapshot | None] = []
        self.connection = RoomConnection(
            room.endpoint(),
            room.device(client_id, display=True),
            on_meeting=self.meetings.append,
            on_message=self.received.append,
            backoff=Backoff(initial=0.05, maximum=0.3),
        )


async def test_the_display_always_follows_the_chair(room: RunningRoom) -> None:
    display = await Display(room, "display-1").start()
    await until(lambda: bool(display.of_type(FollowState)))
    first = display.of_type(FollowState)[-1]
    assert (first.sha256, first.following) == (None, True)  # nothing shown yet
    chair = await Tablet(room, "tablet-a1", "A1").start()
    await chair.sign_in("chair", "1111")
    budget = next(d for d in chair.meeting.documents if d.title == "Budget 2027")
    mark = len(display.received)
    await chair.ok(SetFollow(chair.op(), budget.sha256, 2))
    moved = await display.next_of(FollowState, mark)
    assert (moved.sha256, moved.page, moved.following) == (budget.sha256, 2, True)

    # The display may not stop following (it sends nothing but reads); it keeps hearing.
    await display.refused(Following(display.op(), False), "forbidden", "room display")
    # Nor move the chair's view: whoever holds a display's certificate is not the chair.
    await display.refused(SetFollow(display.op(), budget.sha256, 5), "forbidden", "room display")
    mark = len(display.received)
    await chair.ok(SetFollow(chair.op(), budget.sha256, 3))
    assert (await display.next_of(FollowState, mark)).page == 3
    await chair.ok(SetFollow(chair.op(), None, 0))
    off = await display.next_of(FollowState, mark, lambda m: m.sha256 is None)
    assert off.following

    # A display that (re)connects is told where the chair is now.
    await chair.ok(SetFollow(chair.op(), budget.sha256, 4))
    late = await Display(room, "display-2").start()
    await until(lambda: bool(late.of_type(FollowState)))
    assert [(m.sha256, m.page) for m in late.of_type(FollowState)] == [(budget.sha256, 4)]
    await asyncio.gather(display.stop(), late.stop(), chair.stop())


async def test_the_display_fetches_public_documents_and_never_confidential_ones(
    room: RunningRoom, tmp_path: Path
) -> None:
    """Even while the chair shows the confidential document and members read it, the
    display's certificate gets a refusal, and its cache holds nothing of it."""
    chair = await Tablet(room, "tablet-a1", "A1").start()
    await chair.sign_in("chair", "1111")
    minutes = next(d for d in chair.meeting.documents if d.confidential)
    budget = next(d for d in chair.meeting.documents if d.title == "Budget 2027")
    await chair.ok(SetFollow(chair.op(), minutes.sha256, 0))
    cache = DocumentCache(tmp_path / "display-cache")
    fetcher = DocumentFetcher(room.endpoint(), room.device("display-1", display=True), cache)
    try:
        assert (await fetcher.fetch(budget)).read_bytes()[:5] == b"%PDF-"
        with pytest.raises(DocumentUnavailable, match="confidential"):
            await fetcher.fetch(minutes)
    finally:
        await fetcher.close()
    assert cache.get(minutes.sha256) is None
    held = [p for p in cache.root.rglob("*") if p.is_file() and minutes.sha256 in p.name]
    assert all(p.stat().st_size == 0 for p in held), held  # not one byte of it
    await chair.stop()
