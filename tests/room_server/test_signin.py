"""Sign-in that cannot be replayed or guessed: op ids answered from the record only as
what they were, failed PINs counted per member, per tablet and room-wide (in the
database, so a restart forgets nothing), 6-digit PINs, badge + PIN, hashed resume tokens.

Counting runs in-process with a clock the test moves; the restart against a real
room-server process that is SIGKILLed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from room_protocol.live import (
    Ack,
    Alert,
    AlertKind,
    Following,
    RequestFloor,
    SignedIn,
    SignIn,
    SignOut,
    Unlock,
)
from room_protocol.messages import ErrorMessage, Message
from room_server.importer import import_package
from room_server.meeting.context import Client
from room_server.package import PackageError, open_package
from room_server.store import Store
from tests.live_clients import Tablet
from tests.room_server.in_process import Room, open_room, signed_in
from tests.rooms import running_room, write_package


async def send(
    room: Room, client: Client, request: SignIn | SignOut | Unlock | RequestFloor
) -> Message:
    room.session.handle(client, request)
    return await room.answer(client, request.op_id)


async def refused(
    room: Room, client: Client, request: SignIn | Unlock | RequestFloor, code: str, text: str = ""
) -> ErrorMessage:
    answer = await send(room, client, request)
    assert isinstance(answer, ErrorMessage), answer
    assert answer.code == code and text in answer.message, answer
    return answer


def tablet(room: Room, client_id: str, seat: str | None = None) -> Client:
    client = room.connect(client_id)
    client.seat_id = seat
    return client


def alerts(room: Room, client: Client, kind: AlertKind) -> list[Alert]:
    found = room.inbox.get(client.client_id, [])
    return [m for m in found if isinstance(m, Alert) and m.kind is kind]


# --- op ids -------------------------------------------------------------------------------


async def test_a_reused_op_id_never_signs_anyone_in(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    """The red team's replay: the tablet's device signed d1 in; someone at it (without the
    resume token) sends a refused request with op id X, then a sign-in with op id X and a
    wrong PIN. It used to be "restored" as d1's sign-in."""
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        owner = await signed_in(room, "d1", "2222", "A2")  # device "tab-d1"
        intruder = tablet(room, "tab-d1", "A2")  # the same device, a new connection
        await refused(room, intruder, RequestFloor("X"), "forbidden")
        # Refusals to a tablet nobody is signed in on are not kept: X is checked afresh.
        await refused(room, intruder, SignIn("X", delegate_id="d1", pin="0000"), "wrong_pin")
        assert intruder.delegate_id is None and owner.delegate_id == "d1"
        # An op id the device used for another request is never answered as a sign-in.
        await send(room, owner, RequestFloor("Z"))
        await refused(
            room, owner, SignIn("Z", delegate_id="d1", pin="0000"), "op_id_reused", "op_id"
        )
        assert intruder.delegate_id is None and owner.delegate_id == "d1"
        # A refused sign-in's op id again: the same refusal, nobody signed in.
        for _ in range(2):
            await refused(room, intruder, SignIn("Y", delegate_id="d1", pin="0000"), "wrong_pin")
        assert intruder.delegate_id is None and owner.delegate_id == "d1"
        # The device's own successful sign-in comes back only while it holds: not once
        # the member signed out.
        await room.request(owner, SignOut("out"))
        answer = await send(room, intruder, SignIn("in-d1", delegate_id="d1", pin="0000"))
        assert answer.TYPE == "ack" and intruder.delegate_id is None


async def test_a_lost_sign_in_answer_restores_the_devices_own_sign_in_with_a_new_token(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        first = tablet(room, "tab-a", "A3")
        assert (await send(room, first, SignIn("S", delegate_id="d2", pin="4444"))).TYPE == "ack"
        old_token = room.latest(first, SignedIn).token  # type: ignore[attr-defined]
        # The answer was lost with the connection: the tablet comes back without a token
        # and sends S again.
        again = tablet(room, "tab-a", "A3")
        assert (await send(room, again, SignIn("S", delegate_id="d2", pin="4444"))).TYPE == "ack"
        assert again.delegate_id == "d2"
        new_token = room.latest(again, SignedIn).token  # type: ignore[attr-defined]
        assert new_token != old_token
        resumed = tablet(room, "tab-a", "A3")
        room.session.signin.resume(resumed, old_token)
        assert resumed.delegate_id is None  # the old token ended with the restore
        room.session.signin.resume(resumed, new_token)
        assert resumed.delegate_id == "d2"
        # After signing in again with another op id, S no longer restores anything.
        await room.request(resumed, SignOut("out"))
        await room.request(resumed, SignIn("T", delegate_id="d2", pin="4444"))
        await room.request(resumed, SignOut("out-2"))
        late = tablet(room, "tab-a", "A3")
        assert (await send(room, late, SignIn("S", delegate_id="d2", pin="4444"))).TYPE == "ack"
        assert late.delegate_id is None


async def test_the_op_id_record_is_pruned_when_another_meeting_is_loaded(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        await signed_in(room, "d1", "2222", "A2")
        store = room.session.ctx.store

        def recorded() -> list[str]:
            return [r["meeting_id"] for r in store.rows("SELECT meeting_id FROM operations")]

        assert recorded() == ["council-test"]
        with Store(tmp_path / "room.sqlite3", tmp_path / "documents") as other:
            import_package(other, write_package(tmp_path / "next", meeting_id="council-next"))
        room.session.publish_meeting()
        await room.writer.drain()
        assert recorded() == []
        late = tablet(room, "tab-x")
        await refused(room, late, SignIn("z", delegate_id="d1", pin="0000"), "wrong_pin")
        assert recorded() == []  # a refusal to a tablet nobody is signed in on: not kept
        assert (await send(room, late, SignIn("y", delegate_id="d1", pin="2222"))).TYPE == "ack"
        assert recorded() == ["council-next"]
        assert await room.session.signin.forget_meeting("council-next") == 1
        assert recorded() == []


async def test_a_tablet_nobody_is_signed_in_on_leaves_no_record(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    """The red team's disk filler: accepted requests of a tablet nobody is signed in on
    (following, signing out) each added a row to the record, and each sign-out forced a
    commit of its own. Only requests made by or making a member's sign-in are kept."""
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        store = room.session.ctx.store

        def kept() -> list[str]:
            return sorted(r["op_id"] for r in store.rows("SELECT op_id FROM operations"))

        idle = tablet(room, "idle", "A3")
        for i in range(20):
            await room.request(idle, Following(f"f{i}", follow=i % 2 == 0))
        for i in range(20):
            room.session.handle(idle, SignOut(f"out-{i}"))
            # answered at once: no job for the writer, so no write and no commit
            assert isinstance(room.latest(idle, Ack), Ack)
            assert room.latest(idle, Ack).op_id == f"out-{i}"  # type: ignore[attr-defined]
        await room.writer.drain()
        assert kept() == []
        await refused(room, idle, SignIn("bad", delegate_id="d2", pin="0000"), "wrong_pin")
        assert kept() == []
        # A sign-in's answer is kept (after it the tablet is signed in), and so is what
        # the member does, signing out included.
        await room.request(idle, SignIn("in", delegate_id="d2", pin="4444"))
        await room.request(idle, Following("f-member", follow=False))
        await room.request(idle, SignOut("out-member"))
        assert kept() == ["f-member", "in", "out-member"]
        # The member's sign-out resent (its answer lost) is answered from the record.
        answer = await send(room, idle, SignOut("out-member"))
        assert answer.TYPE == "ack" and kept() == ["f-member", "in", "out-member"]


# --- counting failures --------------------------------------------------------------------


async def test_rotating_devices_and_seats_does_not_escape_the_member_lockout(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    async with open_room(tmp_path, voting_package_dir) as (room, clock):
        chair = await signed_in(room, "chair", "1111", "A1")
        clerk = await signed_in(room, "clerk", "3333")
        d1 = await signed_in(room, "d1", "2222", "A2")
        # Every guess from another device claiming another seat.
        for i in range(4):
            fake = tablet(room, f"fake-{i}", f"A{i % 5 + 1}")
            await refused(
                room, fake, SignIn(f"g{i}", delegate_id="d2", pin=f"{i:04d}"), "wrong_pin"
            )
        fake = tablet(room, "fake-4", "A5")
        await refused(
            room, fake, SignIn("g4", delegate_id="d2", pin="0004"), "locked", "now locked for 300 s"
        )
        # Even the right PIN, from a fresh device or d2's own seat, waits out the lock.
        await refused(
            room, tablet(room, "fake-5"), SignIn("g5", delegate_id="d2", pin="4444"), "locked"
        )
        own = tablet(room, "seat-a3", "A3")
        await refused(room, own, SignIn("mine", delegate_id="d2", pin="4444"), "locked", "300 s")
        for presiding in (chair, clerk):
            (alert,) = alerts(room, presiding, AlertKind.SEAT_LOCKED)
            assert "Beatrix Delegate" in alert.text and "fake-4" in alert.text
        assert not alerts(room, d1, AlertKind.SEAT_LOCKED)
        # Other members are not affected; after the lockout d2 signs in.
        await signed_in(room, "d3", "6666", "A4")
        clock.now += 301
        await room.request(own, SignIn("mine-2", delegate_id="d2", pin="4444"))


async def test_one_device_guessing_many_members_is_locked(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    async with open_room(tmp_path, voting_package_dir) as (room, clock):
        clerk = await signed_in(room, "clerk", "3333")
        sweeper = tablet(room, "sweeper", "A5")
        guesses = [("d1", 4), ("d2", 4), ("d3", 1)]
        n = 0
        for who, times in guesses:
            for _ in range(times):
                n += 1
                await refused(
                    room, sweeper, SignIn(f"s{n}", delegate_id=who, pin="0000"), "wrong_pin"
                )
        await refused(
            room,
            sweeper,
            SignIn("s10", delegate_id="d4", pin="0000"),
            "locked",
            "tablet is now locked",
        )
        await refused(
            room, sweeper, SignIn("s11", delegate_id="d4", pin="7777"), "locked", "tablet"
        )
        assert any("sweeper" in a.text for a in alerts(room, clerk, AlertKind.SEAT_LOCKED))
        # The members it tried are not locked, and other tablets work.
        await signed_in(room, "d4", "7777", "A5")
        clock.now += 901
        await room.request(sweeper, SignIn("s12", delegate_id="d3", pin="6666"))


async def test_signing_in_as_oneself_does_not_reset_the_devices_count(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    """The red team's sweep: a member guesses other members' PINs (at most 4 each, never
    locking one) and signs in as themself after every 9; each success used to wipe the
    device's count, so it was never locked. A success clears only that member's own
    failures: the device's 10th wrong PIN within its window locks it."""
    async with open_room(tmp_path, voting_package_dir) as (room, clock):
        clerk = await signed_in(room, "clerk", "3333")
        me = await signed_in(room, "d1", "2222", "A2")
        victims = ["d2"] * 4 + ["d3"] * 4 + ["d4"] * 4 + ["d5"] * 4 + ["chair"] * 2
        for n, who in enumerate(victims[:9]):
            await refused(room, me, SignIn(f"w{n}", delegate_id=who, pin="0000"), "wrong_pin")
        clock.now += 60
        await room.request(me, SignIn("me-1", delegate_id="d1", pin="2222"))
        await refused(
            room,
            me,
            SignIn("w9", delegate_id=victims[9], pin="0000"),
            "locked",
            "tablet is now locked",
        )
        await refused(room, me, SignIn("me-2", delegate_id="d1", pin="2222"), "locked", "tablet")
        assert any("tab-d1" in a.text for a in alerts(room, clerk, AlertKind.SEAT_LOCKED))
        # The member's own failures do start again after their right PIN.
        other = tablet(room, "tab-d5")
        for i in range(4):
            await refused(room, other, SignIn(f"o{i}", delegate_id="d5", pin="0000"), "wrong_pin")
        await room.request(other, SignIn("o-ok", delegate_id="d5", pin="8888"))
        for i in range(4):
            await refused(room, other, Unlock(f"u{i}", "0000"), "wrong_pin")


async def test_a_room_wide_sweep_alerts_chair_and_clerk_once(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        chair = await signed_in(room, "chair", "1111", "A1")
        clerk = await signed_in(room, "clerk", "3333")
        d1 = await signed_in(room, "d1", "2222", "A2")
        for i in range(31):  # one unknown badge from each of 31 devices: no lock anywhere
            await refused(
                room, tablet(room, f"dev-{i}"), SignIn(f"b{i}", badge=f"BAD{i:04d}"), "not_found"
            )
        for presiding in (chair, clerk):
            (alert,) = alerts(room, presiding, AlertKind.SIGN_IN_SWEEP)
            assert "30 failed sign-ins" in alert.text and "dev-29" in alert.text
        assert not alerts(room, d1, AlertKind.SIGN_IN_SWEEP)


async def test_a_right_pin_clears_the_count_and_unlock_counts_too(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        me = tablet(room, "seat-a3", "A3")
        for i in range(4):
            await refused(room, me, SignIn(f"w{i}", delegate_id="d2", pin="0000"), "wrong_pin")
        await room.request(me, SignIn("ok", delegate_id="d2", pin="4444"))
        for i in range(4):  # counted from zero again
            await refused(room, me, Unlock(f"u{i}", "0000"), "wrong_pin")
        await refused(room, me, Unlock("u4", "0000"), "locked", "now locked")
        await refused(room, me, Unlock("u5", "4444"), "locked")


# --- PINs of 6 digits, badge + PIN --------------------------------------------------------


@pytest.fixture(scope="module")
def badge_and_pin_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    badges = {f"d{i}": {"badge": f"BADGE{i}"} for i in range(2, 6)}
    return write_package(
        tmp_path_factory.mktemp("badge-and-pin"),
        voting=True,
        attendance={"badge_and_pin": True},
        delegates={**badges, "d1": {"pin": "246810"}},
    )


async def test_six_digit_pins_and_badge_and_pin_for_voting_members(
    tmp_path: Path, badge_and_pin_package: Path
) -> None:
    async with open_room(tmp_path, badge_and_pin_package) as (room, _clock):
        me = tablet(room, "seat-a2", "A2")
        await refused(room, me, SignIn("b", badge="04A1B2C3"), "pin_required", "PIN")
        await refused(room, me, SignIn("p", delegate_id="d1", pin="246810"), "badge_required")
        await refused(room, me, SignIn("w", badge="04A1B2C3", pin="246811"), "wrong_pin")
        await room.request(me, SignIn("ok", badge="04A1B2C3", pin="246810"))
        assert me.delegate_id == "d1"
        # A 4-digit PIN still works with its badge; the chair does not vote: PIN alone.
        await room.request(tablet(room, "seat-a3", "A3"), SignIn("d2", badge="BADGE2", pin="4444"))
        await signed_in(room, "chair", "1111", "A1")


async def test_six_digit_pin_without_badge_and_pin(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg", voting=True, delegates={"d2": {"pin": "135790"}})
    async with open_room(tmp_path / "room", package) as (room, _clock):
        me = tablet(room, "seat-a3", "A3")
        await refused(room, me, SignIn("short", delegate_id="d2", pin="1357"), "wrong_pin")
        await room.request(me, SignIn("six", delegate_id="d2", pin="135790"))


def test_badge_and_pin_needs_a_badge_and_a_pin_for_every_voting_member(tmp_path: Path) -> None:
    path = write_package(
        tmp_path, voting=True, attendance={"badge_and_pin": True}, delegates={"d2": {"badge": "B2"}}
    )
    with pytest.raises(PackageError) as caught, open_package(path):
        pass
    text = str(caught.value)
    assert 'delegate "d3"' in text and "has no badge" in text and "badge_and_pin" in text
    assert 'delegate "d2"' not in text and 'delegate "chair"' not in text


# --- resume tokens ------------------------------------------------------------------------


async def test_resume_tokens_are_not_in_the_database_in_clear(
    tmp_path: Path, voting_package_dir: Path
) -> None:
    async with open_room(tmp_path, voting_package_dir) as (room, _clock):
        client = await signed_in(room, "d1", "2222", "A2")
        token = room.latest(client, SignedIn).token  # type: ignore[attr-defined]
        rows = room.session.ctx.store.rows("SELECT * FROM sign_ins")
        assert [r["token_hash"] for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
        files = [tmp_path / "room.sqlite3", tmp_path / "room.sqlite3-wal"]
        for path in files:
            if path.exists():
                assert token.encode() not in path.read_bytes(), path


# --- a restart --------------------------------------------------------------------------


async def test_failures_survive_a_server_kill(tmp_path: Path, package_dir: Path) -> None:
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        for i in range(4):
            fake = await Tablet(room, f"fake-{i}", f"A{i + 1}").start()
            await fake.refused(SignIn(fake.op(), delegate_id="d2", pin="0000"), "wrong_pin")
            await fake.stop()
        room.process.kill()  # SIGKILL
        room.process.wait()
    with running_room(tmp_path / "room", mdns=False, room_id=room.room_id) as again:
        fake = await Tablet(again, "fake-9", "A4").start()
        await fake.refused(SignIn(fake.op(), delegate_id="d2", pin="0000"), "locked", "now locked")
        await fake.refused(SignIn(fake.op(), delegate_id="d2", pin="4444"), "locked")
        await fake.stop()
