"""``room-server notice``: what the room's own programs (the USB watcher) tell the chair,
the clerks and the room display, through a real running server."""

from __future__ import annotations

import asyncio
from pathlib import Path

from room_protocol import encode
from room_protocol.live import Alert, AlertKind
from room_protocol.notices import NoticeKind, RoomNotice
from room_server.notices import NOTICES_DIR
from tests.live_clients import Tablet, until
from tests.rooms import running_room


async def test_a_notice_reaches_the_chair_and_the_display_and_no_delegate(
    tmp_path: Path, package_dir: Path
) -> None:
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        chair = await Tablet(room, "tablet-chair", "A1").start()
        await chair.sign_in("chair", "1111")
        delegate = await Tablet(room, "tablet-d1", "B1").start()
        await delegate.sign_in("d1", "2222")
        room.device("display-1", display=True)
        display = await Tablet(room, "display-1").start()
        try:
            result = room.cli(
                "notice", "package_imported", "--title", "Council 12 Dec", "--count", "14"
            )
            assert result.returncode == 0, result.stderr
            await until(lambda: chair.of_type(RoomNotice) and display.of_type(RoomNotice))
            for seen in (chair, display):
                (notice,) = seen.of_type(RoomNotice)
                assert notice.kind is NoticeKind.PACKAGE_IMPORTED
                assert (notice.title, notice.count) == ("Council 12 Dec", 14)
            rejected = room.cli("notice", "package_rejected", "--detail", "meeting.toml: no agenda")
            assert rejected.returncode == 0, rejected.stderr
            await until(lambda: len(chair.of_type(RoomNotice)) == 2)
            assert chair.of_type(RoomNotice)[1].detail == "meeting.toml: no agenda"
            await asyncio.sleep(0.5)  # several polls: the delegate would have had it by now
            assert delegate.of_type(RoomNotice) == []
            assert list((room.state_dir / NOTICES_DIR).iterdir()) == []
        finally:
            for tablet in (chair, delegate, display):
                await tablet.stop()


async def test_a_bad_notice_is_refused_and_a_foreign_file_is_not_sent(
    tmp_path: Path, package_dir: Path
) -> None:
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        chair = await Tablet(room, "tablet-chair", "A1").start()
        await chair.sign_in("chair", "1111")
        try:
            too_long = room.cli("notice", "stick_rejected", "--detail", "x" * 501)
            assert too_long.returncode == 2
            assert "cannot be sent" in too_long.stderr
            unknown = room.cli("notice", "format_the_disk")
            assert unknown.returncode == 2
            negative = room.cli("notice", "records_exported", "--count", "-1")
            assert negative.returncode == 2
            folder = room.state_dir / NOTICES_DIR
            folder.mkdir(exist_ok=True)
            assert list(folder.glob("*.json")) == []
            # Another message type, or garbage, left in the folder is dropped, never sent.
            alert = Alert(AlertKind.SEAT_LOCKED, "forged", "2026-12-07T13:00:00Z", "A1")
            (folder / "0001-forged.json").write_text(encode(alert))
            (folder / "0002-garbage.json").write_bytes(b"\xff{not json")
            (folder / "0003-big.json").write_bytes(b" " * 5000)
            ok = room.cli("notice", "records_exported", "--count", "3")
            assert ok.returncode == 0, ok.stderr
            await until(lambda: chair.of_type(RoomNotice))
            await asyncio.sleep(0.3)
            assert [n.count for n in chair.of_type(RoomNotice)] == [3]
            assert not [a for a in chair.of_type(Alert) if a.text == "forged"]
            assert list(folder.iterdir()) == []
        finally:
            await chair.stop()
