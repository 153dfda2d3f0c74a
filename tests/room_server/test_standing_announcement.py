"""The standing announcement: a connection that says hello gets the meeting's latest
announcement to everyone, while it is less than half an hour old (by the room's clock,
moved by the test), and never a message that was sent to one seat."""

from __future__ import annotations

from pathlib import Path

from room_protocol.live import (
    STANDING_ANNOUNCEMENT_S,
    Announce,
    Announcement,
    MessageSeat,
    ScreensLocked,
)
from tests.room_server.in_process import Room, open_room, reopen_room, signed_in


def announcements(room: Room, client_id: str) -> list[Announcement]:
    return [m for m in room.inbox.get(client_id, []) if isinstance(m, Announcement)]


async def test_a_late_connection_gets_the_standing_announcement(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    async with open_room(tmp_path, voting_package_dir) as (room, clock):
        fresh = room.connect("display-before")
        assert announcements(room, "display-before") == []  # nothing announced yet
        chair = await signed_in(room, "chair", "1111")
        d1 = await signed_in(room, "d1", "2222", seat="A2")
        await room.request(chair, Announce("a-1", "Lunch break until 13:30"))
        await room.request(chair, MessageSeat("a-2", "A2", "Your microphone is on"))
        sent = [m for m in announcements(room, "tab-d1") if m.to_seat is None]
        assert [m.text for m in sent] == ["Lunch break until 13:30"]
        assert d1.delegate_id == "d1" and fresh.client_id == "display-before"

        clock.now += STANDING_ANNOUNCEMENT_S - 1
        room.connect("display-late")
        late = room.inbox["display-late"]
        (standing,) = announcements(room, "display-late")
        assert standing == sent[0]  # the same message, id and time: not a new one
        assert standing.to_seat is None  # the message to seat A2 is not repeated
        assert late.index(standing) > next(
            i for i, m in enumerate(late) if isinstance(m, ScreensLocked)
        )

        await room.request(chair, Announce("a-3", "We resume at 14:00"))
        room.connect("tablet-later")
        assert [m.text for m in announcements(room, "tablet-later")] == ["We resume at 14:00"]

        clock.now += STANDING_ANNOUNCEMENT_S + 1  # half an hour later: no longer standing
        room.connect("tablet-much-later")
        assert announcements(room, "tablet-much-later") == []


async def test_the_standing_announcement_survives_a_restart(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        clerk = await signed_in(room, "clerk", "3333")
        await room.request(clerk, Announce("a-1", "Fire drill at 11:00"))
    async with reopen_room(tmp_path) as (again, _clock):
        again.connect("after-restart")
        assert [m.text for m in announcements(again, "after-restart")] == ["Fire drill at 11:00"]
