"""Drill: the room server's disk fills up, or goes read-only, during a meeting (needs root).

The server's state directory is a small filesystem of the test's own: a tmpfs for the
full disk, a loop-mounted ext4 image for the read-only one. A meeting runs with a secret
poll open: members vote, a delegate annotates, the chair pages. Then the disk goes bad
and the same kinds of request are refused, each with the error code ``storage`` and words
a chair can act on ("the room's disk is full …"), never ``internal``, and the chair's
console gets one ``room.notice`` (``storage_failed``) saying so; the server stays
up and keeps serving what it can (a follower still sees the chair's page it had); what
was acknowledged before is on disk, once.

Full disk: a file fills the tmpfs; removing it gives the space back, and the refused
requests, sent again with the same op ids and ballot ids, succeed without a restart (the
chair is told ``storage_recovered``).

Read-only: the kernel's own emergency read-only (ext4 ``errors=remount-ro`` after an
error, raised through ``/sys/fs/ext4/DEV/trigger_fs_error``), which is what a room server
meets when its disk fails. ``mount -o remount,ro`` cannot be used: Linux refuses it
("mount point is busy") while SQLite holds the database open for writing, even for a
read-only bind mount of the directory; and an emergency read-only ext4 cannot be made
writable again while it is mounted. So the server must stop cleanly (SIGTERM, in time),
IT staff check the disk (``e2fsck``) and mount it again, and after the restart the
refused requests succeed and everything acknowledged is there once. Only what was
fsync'd survives the kernel's journal abort: the server's TLS certificates, written at
its first start a few seconds before, must be among it (they were not: the restart
failed on an empty certificate).

Short form: 12 voters. Long form (HEMICYCLE_DRILLS=long): 40 voters.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from room_protocol.annotations import AnnotationKind, AnnotationOp, AnnotationPatch
from room_protocol.errors import ErrorCode
from room_protocol.live import Ack, FollowState, SetFollow
from room_protocol.messages import ErrorMessage, Message
from room_protocol.notices import NoticeKind, RoomNotice
from room_protocol.voting import NO, YES, BallotRecorded, CastBallot, OpenPoll, PollsState
from room_protocol.voting import PollState as State
from room_server.writer import DISK_FULL, DISK_READ_ONLY
from tests.drills.scale import drill_marks, seeded, sized
from tests.drills.test_kill_votes import counts, signed_in
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom, start_room, timeout, write_package

pytestmark = drill_marks()

VOTERS = sized(12, 40)
POLL = "p-secret"
MEETING = "council-test"


def need_root(*tools: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting the server's own small filesystem needs root")
    missing = [tool for tool in ("mount", "umount", *tools) if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")


def run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: {done.stderr.strip()}")


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    try:
        run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path))
    except RuntimeError as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@contextlib.contextmanager
def ext4_image(image: Path, path: Path, size_mb: int) -> Iterator[str]:
    """A loop-mounted ext4 that the kernel remounts read-only on an error; yields its loop
    device, attached for the whole drill (no detach racing the next mount)."""
    with image.open("wb") as f:
        f.truncate(size_mb * 1024 * 1024)
    run("mkfs.ext4", "-q", "-F", str(image))
    path.mkdir(parents=True, exist_ok=True)
    attached = subprocess.run(
        ["losetup", "--find", "--show", str(image)], capture_output=True, text=True, check=False
    )
    if attached.returncode != 0:
        pytest.skip(f"cannot attach a loop device here: {attached.stderr.strip()}")
    device = attached.stdout.strip()
    try:
        run("mount", "-o", "errors=remount-ro", device, str(path))
    except RuntimeError as exc:
        subprocess.run(["losetup", "-d", device], check=False)
        pytest.skip(f"cannot mount an ext4 image here: {exc}")
    try:
        yield device
    finally:
        subprocess.run(["umount", str(path)], check=False, capture_output=True)
        subprocess.run(["losetup", "-d", device], check=False)


def mount_options(path: Path) -> list[str]:
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if fields[1] == str(path):
            return fields[3].split(",")
    return []


def fill(directory: Path) -> Path:
    """Write a file until the filesystem has no byte left."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as f:  # unbuffered: close() has nothing left to write
        for block in (1024 * 1024, 4096, 512, 1):
            try:
                while True:
                    f.write(b"\0" * block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    st = os.statvfs(directory)
    assert st.f_bavail == 0, st
    return filler


def note(tablet: Tablet, sha: str, annotation_id: str) -> AnnotationOp:
    patch = AnnotationPatch(kind=AnnotationKind.NOTE, geometry=(5.0, 5.0), text=annotation_id)
    return AnnotationOp(tablet.op(), annotation_id, sha, 1, 1 << 12, patch)


def annotation_ids(room: RunningRoom) -> list[str]:
    path = room.state_dir / "room.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT annotation_id FROM annotation_ops WHERE meeting_id = ? ORDER BY annotation_id",
            (MEETING,),
        ).fetchall()
    return [row[0] for row in rows]


class Meeting:
    """The chair, a follower, an annotating delegate and the voters, signed in, a secret
    poll open; every request the test made and the answer it got."""

    def __init__(self, room: RunningRoom) -> None:
        self.room = room
        self.tablets: list[Tablet] = []
        self.voters: list[Tablet] = []
        self.answers: list[tuple[str, Message]] = []  # (what, the room's answer)

    async def start(self) -> Meeting:
        self.chair = await self._tablet("tab-chair", "A1", "chair", "1111")
        self.d1 = await self._tablet("tab-d1", "A2", "d1", "2222")
        self.follower = await Tablet(self.room, "tab-d2", "A3").start()
        self.tablets.append(self.follower)
        for start in range(0, VOTERS, 20):
            self.voters += await asyncio.gather(
                *(signed_in(self.room, i) for i in range(start, min(start + 20, VOTERS)))
            )
        self.tablets += self.voters
        await self.chair.ok(OpenPoll(self.chair.op(), POLL))
        await until(
            lambda: any(
                p.id == POLL and p.state is State.OPEN
                for p in self.chair.of_type(PollsState)[-1].polls
            )
        )
        self.ballots = [
            CastBallot(t.op(), POLL, f"m{i:04d}", (YES if i % 3 else NO,))
            for i, t in enumerate(self.voters)
        ]
        self.sha = next(d.sha256 for d in self.chair.meeting.documents if d.title == "Budget 2027")
        return self

    async def _tablet(self, device: str, seat: str, member: str, pin: str) -> Tablet:
        tablet = await Tablet(self.room, device, seat).start()
        self.tablets.append(tablet)
        await tablet.sign_in(member, pin)
        return tablet

    async def ask(self, what: str, tablet: Tablet, request: object) -> Message:
        reply = await asyncio.wait_for(tablet.connection.request(request), timeout(20))  # type: ignore[arg-type]
        self.answers.append((what, reply))
        return reply

    async def stop(self) -> None:
        for tablet in self.tablets:
            await tablet.stop()

    def notices(self, kind: NoticeKind) -> list[RoomNotice]:
        return [n for n in self.chair.of_type(RoomNotice) if n.kind is kind]

    def follower_page(self) -> int | None:
        states = self.follower.of_type(FollowState)
        return states[-1].page if states else None


def refused_for_the_disk(reply: Message, words: str) -> None:
    assert isinstance(reply, ErrorMessage), reply
    assert reply.code == ErrorCode.STORAGE.value, reply
    assert reply.message == words, reply


def server_log(directory: Path) -> str:
    return (directory / "server.log").read_text(errors="replace")


async def acts_while_the_disk_is_bad(
    meeting: Meeting, words: str, rng_order: list[int]
) -> list[int]:
    """The chair pages, a delegate annotates, members vote: each refused with ``words``
    (a ballot may slip into space SQLite had already; it is then acknowledged). Returns
    the voters whose ballot was refused."""
    page_before = meeting.follower_page()
    refused_for_the_disk(
        await meeting.ask("follow", meeting.chair, SetFollow(meeting.chair.op(), meeting.sha, 4)),
        words,
    )
    refused_for_the_disk(
        await meeting.ask("annotation", meeting.d1, note(meeting.d1, meeting.sha, "a-during")),
        words,
    )
    refused: list[int] = []
    replies = await asyncio.gather(
        *(meeting.ask("ballot", meeting.voters[i], meeting.ballots[i]) for i in rng_order)
    )
    for i, reply in zip(rng_order, replies, strict=True):
        if isinstance(reply, BallotRecorded):
            continue
        refused_for_the_disk(reply, words)
        refused.append(i)
    assert refused, "no ballot was refused while the disk was bad"
    # The chair's console was told once, with the same words, as an alert (room.notice).
    await until(lambda: meeting.notices(NoticeKind.STORAGE_FAILED))
    assert [n.detail for n in meeting.notices(NoticeKind.STORAGE_FAILED)] == [words]
    assert not meeting.follower.of_type(RoomNotice)  # for the chair, clerks and display
    assert meeting.room.process.poll() is None, "the room server went down"
    await asyncio.sleep(0.3)  # a refused page change must not reach anyone
    assert meeting.follower_page() == page_before
    return refused


async def acts_before(meeting: Meeting, first: range) -> None:
    assert isinstance(
        await meeting.ask("follow", meeting.chair, SetFollow(meeting.chair.op(), meeting.sha, 2)),
        Ack,
    )
    await until(lambda: meeting.follower_page() == 2)
    assert isinstance(
        await meeting.ask("annotation", meeting.d1, note(meeting.d1, meeting.sha, "a-before")),
        Ack,
    )
    for i in first:
        assert isinstance(
            await meeting.ask("ballot", meeting.voters[i], meeting.ballots[i]), BallotRecorded
        )


async def acts_again(meeting: Meeting, refused: list[int]) -> None:
    """The refused requests, sent again the same (same op ids, ballot ids): all succeed."""
    for i in refused:
        assert isinstance(
            await meeting.ask("ballot", meeting.voters[i], meeting.ballots[i]), BallotRecorded
        )
    assert isinstance(
        await meeting.ask("follow", meeting.chair, SetFollow(meeting.chair.op(), meeting.sha, 4)),
        Ack,
    )
    await until(lambda: meeting.follower_page() == 4)
    assert isinstance(
        await meeting.ask("annotation", meeting.d1, note(meeting.d1, meeting.sha, "a-during")),
        Ack,
    )


def nothing_lost_or_doubled(meeting: Meeting, directory: Path, voted: int) -> None:
    assert counts(directory) == {
        "secret_ballots": voted,
        "secret_voters": voted,
        "ballot_ids": voted,
        "audit": voted,
        "doubled": 0,
    }
    acknowledged = sum(1 for what, a in meeting.answers if isinstance(a, BallotRecorded))
    assert acknowledged == voted
    assert not [a for _, a in meeting.answers if getattr(a, "code", "") == ErrorCode.INTERNAL]


async def test_a_full_disk_refuses_with_a_clear_error_and_recovers_without_a_restart(
    tmp_path: Path,
) -> None:
    need_root()
    rng = seeded("disk full")
    package = write_package(tmp_path / "package", voting=True, more_delegates=VOTERS)
    directory = tmp_path / "room"
    with tmpfs(directory / "state", "24m") as state:
        room = start_room(directory, package=package, mdns=False)
        meeting = Meeting(room)
        try:
            await meeting.start()
            half = VOTERS // 2
            await acts_before(meeting, range(half))
            assert counts(directory)["ballot_ids"] == half

            filler = fill(state)
            order = list(range(half, VOTERS))
            rng.shuffle(order)
            refused = await acts_while_the_disk_is_bad(meeting, DISK_FULL, order)
            slipped = VOTERS - half - len(refused)
            print(f"disk full: {len(refused)} ballots refused, {slipped} took space SQLite had")
            # Acknowledged before (and any that slipped in): on disk, once.
            assert counts(directory)["ballot_ids"] == half + slipped
            assert annotation_ids(room) == ["a-before"]

            filler.unlink()  # IT staff free the space: no restart
            await acts_again(meeting, refused)
            await until(lambda: meeting.notices(NoticeKind.STORAGE_RECOVERED))
            assert annotation_ids(room) == ["a-before", "a-during"]
            nothing_lost_or_doubled(meeting, directory, VOTERS)
            assert room.process.poll() is None
            assert room.stop() == 0  # a clean shutdown after it all
            log = server_log(directory)
            assert "Traceback" not in log, log[-3000:]
            assert "database or disk is full" in log  # what IT staff read in the journal
            verified = room.cli("audit", "verify")
            assert verified.returncode == 0, verified.stdout + verified.stderr
        finally:
            await meeting.stop()
            if room.process.poll() is None:
                room.process.kill()
                room.process.wait()


async def test_a_disk_gone_read_only_refuses_with_a_clear_error_and_loses_nothing(
    tmp_path: Path,
) -> None:
    need_root("mkfs.ext4", "e2fsck", "losetup")
    rng = seeded("disk read-only")
    package = write_package(tmp_path / "package", voting=True, more_delegates=VOTERS)
    directory = tmp_path / "room"
    image = tmp_path / "state.ext4"
    state = directory / "state"
    with ext4_image(image, state, 64) as device:
        room = start_room(directory, package=package, mdns=False)
        meeting = Meeting(room)
        try:
            await meeting.start()
            half = VOTERS // 2
            await acts_before(meeting, range(half))

            trigger = Path("/sys/fs/ext4") / Path(device).name / "trigger_fs_error"
            if not trigger.exists():
                pytest.skip(f"this kernel has no {trigger}")
            trigger.write_text("1")
            with pytest.raises(OSError) as read_only:
                (state / "probe").write_bytes(b"x")
            assert read_only.value.errno == errno.EROFS

            order = list(range(half, VOTERS))
            rng.shuffle(order)
            refused = await acts_while_the_disk_is_bad(meeting, DISK_READ_ONLY, order)
            slipped = VOTERS - half - len(refused)
            assert slipped == 0  # nothing can be written to a read-only disk
            assert counts(directory)["ballot_ids"] == half  # what was acknowledged is there
            assert annotation_ids(room) == ["a-before"]
            assert room.stop() == 0  # the server stops cleanly and in time
            log = server_log(directory)
            assert "Traceback" not in log, log[-3000:]

            # IT staff: unmount, check the disk, mount it again, start the room. The
            # tablets keep running and come back by themselves, as in the kill drills.
            run("umount", str(state))
            checked = subprocess.run(["e2fsck", "-fy", device], capture_output=True)  # noqa: ASYNC221
            assert checked.returncode in (0, 1), checked  # 1: errors corrected
            run("mount", "-o", "errors=remount-ro", device, str(state))
            assert "rw" in mount_options(state), mount_options(state)
            room = start_room(directory, mdns=False, room_id=room.room_id, port=room.port)
            meeting.room = room
            await acts_again(meeting, refused)
            assert annotation_ids(room) == ["a-before", "a-during"]
            nothing_lost_or_doubled(meeting, directory, VOTERS)
            verified = room.cli("audit", "verify")
            assert verified.returncode == 0, verified.stdout + verified.stderr
        finally:
            await meeting.stop()
            if room.process.poll() is None:
                room.process.kill()
                room.process.wait()
