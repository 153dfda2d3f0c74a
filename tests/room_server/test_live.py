"""The live session against a real room-server process, with real TLS clients."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from room_client.connection import Backoff
from room_protocol.live import (
    AddItem,
    Alert,
    AlertKind,
    Announce,
    Announcement,
    AttachDocument,
    EndSpeech,
    FloorKind,
    FloorState,
    Following,
    FollowState,
    GrantFloor,
    LockScreens,
    MessageSeat,
    MoveItem,
    ReorderQueue,
    RequestFloor,
    RequestService,
    ResolveService,
    ScreensLocked,
    ServiceCalls,
    ServiceKind,
    SetCurrentItem,
    SetFollow,
    SetItemDone,
    SetSpeakingLimit,
    SignedIn,
    SignedOut,
    SignIn,
    SignOut,
    Step,
    StepItem,
    Unlock,
    WithdrawFloor,
)
from room_protocol.messages import Role
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom, running_room

PINS = {"chair": "1111", "clerk": "3333", "d1": "2222", "d2": "4444", "d3": "6666", "obs": "5555"}
SEATS = {"chair": "A1", "d1": "A2", "d2": "A3", "d3": "A4"}


@pytest.fixture
async def live_room(tmp_path: Path, package_dir: Path) -> AsyncIterator[RunningRoom]:
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        yield room


async def signed_in(room: RunningRoom, who: str) -> Tablet:
    tablet = await Tablet(room, f"tablet-{who}", SEATS.get(who)).start()
    await tablet.sign_in(who, PINS[who])
    return tablet


def db(room: RunningRoom) -> sqlite3.Connection:
    return sqlite3.connect(room.state_dir / "room.sqlite3")


async def test_sign_in_with_pin_and_badge(live_room: RunningRoom) -> None:
    tablet = await Tablet(live_room, "seat-a2", "A2").start()
    await tablet.sign_in("d1", "2222")
    me = tablet.connection.signed_in
    assert me is not None and me.role is Role.DELEGATE and me.name == "Nguyễn Văn An"
    assert not me.wrong_seat
    await tablet.ok(SignOut(tablet.op()))
    await until(lambda: tablet.connection.signed_in is None)
    await tablet.ok(SignIn(tablet.op(), badge="04A1B2C3"))  # a badge reader typing
    await until(lambda: tablet.connection.signed_in is not None)
    await tablet.refused(SignIn(tablet.op(), badge="FFFF"), "not_found", "belongs to no one")
    await tablet.stop()


async def test_wrong_seat_is_flagged_to_the_clerk(live_room: RunningRoom) -> None:
    clerk = await signed_in(live_room, "clerk")
    mark = len(clerk.received)
    tablet = await Tablet(live_room, "seat-a4", "A4").start()
    await tablet.sign_in("d1", "2222")  # d1's seat is A2
    assert tablet.connection.signed_in is not None and tablet.connection.signed_in.wrong_seat
    alert = await clerk.next_of(Alert, mark)
    assert alert.kind is AlertKind.WRONG_SEAT and "A4" in alert.text
    await asyncio.gather(clerk.stop(), tablet.stop())


async def test_repeated_wrong_pins_lock_the_seat_and_tell_the_clerk(live_room: RunningRoom) -> None:
    clerk = await signed_in(live_room, "clerk")
    mark = len(clerk.received)
    tablet = await Tablet(live_room, "seat-a3", "A3").start()
    for _ in range(4):
        await tablet.refused(
            SignIn(tablet.op(), delegate_id="d2", pin="0000"), "wrong_pin", "wrong PIN"
        )
    await tablet.refused(SignIn(tablet.op(), delegate_id="d2", pin="0000"), "locked", "locked")
    # Even the right PIN is refused while the seat is locked.
    await tablet.refused(SignIn(tablet.op(), delegate_id="d2", pin="4444"), "locked", "locked for")
    alert = await clerk.next_of(Alert, mark)
    assert alert.kind is AlertKind.SEAT_LOCKED and alert.seat_id == "A3"
    # Another seat is not affected.
    other = await Tablet(live_room, "seat-a4", "A4").start()
    await other.sign_in("d3", "6666")
    await asyncio.gather(clerk.stop(), tablet.stop(), other.stop())


PRESIDING_ACTIONS = [
    lambda op: SetCurrentItem(op, "budget"),
    lambda op: StepItem(op, Step.NEXT),
    lambda op: SetItemDone(op, "opening", True),
    lambda op: AddItem(op, "Sneaky item"),
    lambda op: MoveItem(op, "budget", 0),
    lambda op: AttachDocument(op, "opening", "0" * 64),
    lambda op: SetFollow(op, None),
    lambda op: Announce(op, "Fire drill"),
    lambda op: MessageSeat(op, "A1", "hi"),
    lambda op: LockScreens(op, True),
    lambda op: ResolveService(op, "s-1"),
    lambda op: GrantFloor(op),
    lambda op: EndSpeech(op),
    lambda op: ReorderQueue(op, ()),
    lambda op: SetSpeakingLimit(op, 10),
]


@pytest.mark.parametrize("who", ["d1", "obs", None])
async def test_chair_and_clerk_actions_are_refused_to_others(
    live_room: RunningRoom, who: str | None
) -> None:
    tablet = await (signed_in(live_room, who) if who else Tablet(live_room, "anon").start())
    before = tablet.meeting
    with db(live_room) as conn:
        rows_before = conn.execute("SELECT count(*) FROM messages").fetchone()
    for make in PRESIDING_ACTIONS:
        request = make(tablet.op())
        reply = await tablet.refused(request, "forbidden")
        assert "needs the" in reply.message
    await asyncio.sleep(0.3)
    assert tablet.meeting == before  # nothing changed
    with db(live_room) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone() == rows_before
        assert (
            conn.execute("SELECT value FROM room_meta WHERE key LIKE '%screens_locked'").fetchone()
            is None
        )
    await tablet.stop()


async def test_observer_cannot_queue_or_call_service(live_room: RunningRoom) -> None:
    observer = await signed_in(live_room, "obs")
    await observer.refused(RequestFloor(observer.op()), "forbidden")
    await observer.refused(RequestService(observer.op(), ServiceKind.WATER), "forbidden")
    await observer.stop()


async def test_agenda_control_timers_and_live_edits(live_room: RunningRoom) -> None:
    chair = await signed_in(live_room, "chair")
    delegate = await signed_in(live_room, "d1")
    await chair.ok(StepItem(chair.op(), Step.NEXT))
    await until(lambda: delegate.meeting.current_item_id == "opening")
    assert delegate.meeting.current_started_at is not None
    await asyncio.sleep(0.3)
    await chair.ok(SetCurrentItem(chair.op(), "budget"))
    await until(lambda: delegate.meeting.current_item_id == "budget")
    opening = delegate.meeting.item("opening")
    assert opening is not None and opening.actual_seconds >= 0
    await chair.ok(SetItemDone(chair.op(), "opening", True))
    await until(lambda: delegate.meeting.item("opening").done)  # type: ignore[union-attr]
    await chair.refused(SetCurrentItem(chair.op(), "nope"), "not_found")
    # Live edits: add after "opening", then move it under "budget" as its first sub-item.
    await chair.ok(AddItem(chair.op(), "Urgent motion", 10, None, "opening"))
    await until(lambda: len(delegate.meeting.agenda) == 3)
    added = delegate.meeting.agenda[1]
    assert (added.title, added.number, added.planned_minutes) == ("Urgent motion", "2", 10)
    assert [i.number for i in delegate.meeting.agenda] == ["1", "2", "3"]
    await chair.ok(MoveItem(chair.op(), added.id, 0, "budget"))
    await until(lambda: len(delegate.meeting.agenda) == 2)
    budget = delegate.meeting.item("budget")
    assert budget is not None and [c.title for c in budget.children] == ["Urgent motion", "Debate"]
    assert [c.number for c in budget.children] == ["2.1", "2.2"]
    await chair.refused(MoveItem(chair.op(), "budget", 0, added.id), "bad_field", "under itself")
    # Attach an existing document to an item: a notice tells every tablet.
    minutes = delegate.meeting.item("budget-debate").documents[0]  # type: ignore[union-attr]
    await chair.ok(AttachDocument(chair.op(), "opening", minutes))
    await until(lambda: minutes in delegate.meeting.item("opening").documents)  # type: ignore[union-attr]
    assert delegate.meeting.notices and "added to item 1" in delegate.meeting.notices[-1].text
    await asyncio.gather(chair.stop(), delegate.stop())


async def test_follow_the_chair_in_order_and_opting_out(live_room: RunningRoom) -> None:
    chair = await signed_in(live_room, "chair")
    followers = [await signed_in(live_room, who) for who in ("d1", "d2", "d3")]
    budget = next(d for d in chair.meeting.documents if d.title == "Budget 2027")
    marks = [len(t.received) for t in followers]
    for page in range(5):
        await chair.ok(SetFollow(chair.op(), budget.sha256, page))
    for tablet, mark in zip(followers, marks, strict=True):
        await tablet.next_of(FollowState, mark, lambda m: m.page == 4)
        pages = [m.page for m in tablet.of_type(FollowState)[-5:]]
        assert pages == [0, 1, 2, 3, 4]  # every move, in order
    # d3 leaves to browse freely: it hears no page moves until it rejoins.
    leaver = followers[2]
    await leaver.ok(Following(leaver.op(), False))
    await until(lambda: not leaver.of_type(FollowState)[-1].following)
    mark = len(leaver.received)
    await chair.ok(SetFollow(chair.op(), budget.sha256, 5))
    await followers[0].next_of(FollowState, marks[0], lambda m: m.page == 5)
    await asyncio.sleep(0.3)
    assert not [m for m in leaver.received[mark:] if isinstance(m, FollowState)]
    await leaver.ok(Following(leaver.op(), True))
    back = await leaver.next_of(FollowState, mark)
    assert back.following and back.page == 5  # rejoins where the chair is now
    await chair.refused(SetFollow(chair.op(), budget.sha256, 99), "bad_field", "past the last")
    await asyncio.gather(chair.stop(), *(t.stop() for t in followers))


async def test_page_changes_go_past_a_tablet_that_vanished(live_room: RunningRoom) -> None:
    """A broadcast is written to every connection in turn: one whose tablet has gone
    (TCP cut, no closing handshake; noticed by the server yet or not) must not stop the
    rest nor change their order."""
    chair = await signed_in(live_room, "chair")
    stays, goes = [await signed_in(live_room, who) for who in ("d1", "d2")]
    budget = next(d for d in chair.meeting.documents if d.title == "Budget 2027")
    goes.connection.backoff = Backoff(initial=30, maximum=30)  # stays away during the test
    mark = len(stays.received)
    goes.connection.drop()
    for page in (1, 2, 3, 4, 5, 0):
        await chair.ok(SetFollow(chair.op(), budget.sha256, page))
    await stays.next_of(FollowState, mark, lambda m: m.page == 0)
    pages = [m.page for m in stays.received[mark:] if isinstance(m, FollowState)]
    assert pages == [1, 2, 3, 4, 5, 0]
    late = await Tablet(live_room, "tablet-late", "A4").start()  # the server still serves
    assert [m.page for m in late.of_type(FollowState)] == [0]
    await asyncio.gather(chair.stop(), stays.stop(), goes.stop(), late.stop())


async def test_speaker_queue_rules_and_speech_log(live_room: RunningRoom) -> None:
    chair = await signed_in(live_room, "chair")
    d1, d2, d3 = [await signed_in(live_room, who) for who in ("d1", "d2", "d3")]

    def queue() -> list[str]:
        states = chair.of_type(FloorState)
        return [e.delegate_id for e in states[-1].queue] if states else []

    await d1.ok(RequestFloor(d1.op()))
    await d2.ok(RequestFloor(d2.op()))
    await until(lambda: queue() == ["d1", "d2"])
    await d1.refused(RequestFloor(d1.op()), "bad_state", "already in the speaker queue")
    await d3.ok(RequestFloor(d3.op(), FloorKind.POINT_OF_ORDER))
    await until(lambda: queue() == ["d3", "d1", "d2"])  # a point of order goes first
    await d2.ok(WithdrawFloor(d2.op()))
    await until(lambda: queue() == ["d3", "d1"])
    await d2.refused(WithdrawFloor(d2.op()), "bad_state", "not in the speaker queue")
    await d2.ok(RequestFloor(d2.op()))
    await until(lambda: queue() == ["d3", "d1", "d2"])
    await chair.ok(ReorderQueue(chair.op(), ("d2", "d3", "d1")))
    await until(lambda: queue() == ["d2", "d3", "d1"])
    await chair.refused(ReorderQueue(chair.op(), ("d2",)), "bad_field", "exactly the delegates")
    await chair.ok(SetSpeakingLimit(chair.op(), 1))
    await chair.ok(GrantFloor(chair.op()))  # the first in the queue
    await until(
        lambda: (s := chair.of_type(FloorState)[-1].speaking) is not None and s.delegate_id == "d2"
    )
    # The one-second limit runs out: every tablet hears the speech has expired.
    await until(lambda: (s := d1.of_type(FloorState)[-1].speaking) is not None and s.expired, 5)
    await chair.ok(GrantFloor(chair.op(), "d1"))  # out of order: the chair may
    await until(lambda: queue() == ["d3"])
    await chair.ok(EndSpeech(chair.op()))
    await until(lambda: chair.of_type(FloorState)[-1].speaking is None)
    await chair.refused(EndSpeech(chair.op()), "bad_state", "nobody has the floor")
    with db(live_room) as conn:
        speeches = conn.execute(
            "SELECT delegate_id, expired, duration_seconds >= 1, ended_at IS NOT NULL "
            "FROM speeches ORDER BY id"
        ).fetchall()
    assert speeches == [("d2", 1, 1, 1), ("d1", 0, 0, 1)]
    await asyncio.gather(*(t.stop() for t in (chair, d1, d2, d3)))


async def test_messages_screen_lock_and_service_requests(live_room: RunningRoom) -> None:
    clerk = await signed_in(live_room, "clerk")
    d1, d2 = await signed_in(live_room, "d1"), await signed_in(live_room, "d2")
    marks = {t: len(t.received) for t in (d1, d2)}
    await clerk.ok(Announce(clerk.op(), "Lunch break until 13:30"))
    for tablet in (d1, d2):
        message = await tablet.next_of(Announcement, marks[tablet])
        assert message.text == "Lunch break until 13:30" and message.sender == "Clerk Person"
    await clerk.ok(MessageSeat(clerk.op(), "A3", "Your microphone is on"))
    await d2.next_of(Announcement, marks[d2], lambda m: m.to_seat == "A3")
    await asyncio.sleep(0.2)
    assert not [m for m in d1.of_type(Announcement) if m.to_seat]
    await clerk.refused(MessageSeat(clerk.op(), "Z9", "hello?"), "not_found", "nobody is signed in")
    await clerk.ok(LockScreens(clerk.op(), True))
    await until(lambda: d1.of_type(ScreensLocked) and d1.of_type(ScreensLocked)[-1].locked)
    await clerk.ok(LockScreens(clerk.op(), False))
    await until(lambda: not d1.of_type(ScreensLocked)[-1].locked)
    await d1.ok(RequestService(d1.op(), ServiceKind.WATER, "still water please"))
    await until(
        lambda: clerk.of_type(ServiceCalls) and len(clerk.of_type(ServiceCalls)[-1].calls) == 1
    )
    call = clerk.of_type(ServiceCalls)[-1].calls[0]
    assert (call.kind, call.seat_id, call.name) == (ServiceKind.WATER, "A2", "Nguyễn Văn An")
    await clerk.ok(ResolveService(clerk.op(), call.id))
    await until(lambda: not clerk.of_type(ServiceCalls)[-1].calls)
    await clerk.refused(ResolveService(clerk.op(), call.id), "not_found")
    await asyncio.gather(clerk.stop(), d1.stop(), d2.stop())


async def test_inactivity_unlock_needs_the_signed_in_pin(live_room: RunningRoom) -> None:
    tablet = await signed_in(live_room, "d1")
    await tablet.ok(Unlock(tablet.op(), "2222"))
    await tablet.refused(Unlock(tablet.op(), "9999"), "wrong_pin", "wrong PIN")
    await tablet.stop()


async def test_reconnect_restores_everything_and_applies_nothing_twice(
    live_room: RunningRoom,
) -> None:
    chair = await signed_in(live_room, "chair")
    d1 = await signed_in(live_room, "d1")
    budget = next(d for d in chair.meeting.documents if d.title == "Budget 2027")
    await chair.ok(SetFollow(chair.op(), budget.sha256, 3))
    await chair.ok(SetCurrentItem(chair.op(), "budget"))
    await d1.ok(RequestFloor(d1.op()))
    # A request whose answer is lost: the tablet drops right after sending it.
    op = d1.op()
    mark = len(d1.received)
    send = asyncio.ensure_future(d1.do(RequestService(op, ServiceKind.MICROPHONE)))
    await asyncio.sleep(0)  # sent
    d1.connection.drop()
    reply = await send  # resent after the reconnect with the same op_id
    assert reply.TYPE == "ack"
    signed = await d1.next_of(SignedIn, mark)
    assert signed.delegate_id == "d1"  # the sign-in came back by itself
    follow = await d1.next_of(FollowState, mark)
    assert (follow.sha256, follow.page) == (budget.sha256, 3)
    floor = await d1.next_of(FloorState, mark)
    assert [e.delegate_id for e in floor.queue] == ["d1"]
    assert d1.meeting.current_item_id == "budget"
    # The same op_id again, explicitly: answered from the record, not applied again.
    again = await d1.do(RequestService(op, ServiceKind.MICROPHONE))
    assert again.TYPE == "ack"
    with db(live_room) as conn:
        assert conn.execute("SELECT count(*) FROM service_calls").fetchone() == (1,)
    await asyncio.gather(chair.stop(), d1.stop())


async def test_signing_in_elsewhere_signs_out_the_old_tablet(live_room: RunningRoom) -> None:
    first = await signed_in(live_room, "d1")
    second = await Tablet(live_room, "spare-tablet", "A2").start()
    mark = len(first.received)
    await second.sign_in("d1", "2222")
    await first.next_of(SignedOut, mark)
    assert first.connection.signed_in is None
    await asyncio.gather(first.stop(), second.stop())


async def test_state_survives_a_server_kill(tmp_path: Path, package_dir: Path) -> None:
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as room:
        chair = await signed_in(room, "chair")
        d1 = await signed_in(room, "d1")
        await chair.ok(SetCurrentItem(chair.op(), "budget"))
        await d1.ok(RequestFloor(d1.op()))
        await chair.stop()
        await d1.stop()
        room.process.kill()  # SIGKILL: a power cut
        room.process.wait()
    with running_room(tmp_path / "room", mdns=False, room_id=room.room_id) as again:
        tablet = await Tablet(again, "seat-a2", "A2").start()
        assert tablet.meeting.current_item_id == "budget"
        await until(lambda: bool(tablet.of_type(FloorState)))
        assert [e.delegate_id for e in tablet.of_type(FloorState)[-1].queue] == ["d1"]
        await tablet.stop()


async def test_late_document_reaches_tablets_with_a_notice(
    live_room: RunningRoom, tmp_path: Path
) -> None:
    from tests.rooms import write_pdf

    tablet = await signed_in(live_room, "d1")
    late = write_pdf(tmp_path / "amendment-7.pdf", 2, "Amendment 7")
    result = live_room.cli("add-document", str(late), "--item", "budget", "--title", "Amendment 7")
    assert result.returncode == 0, result.stderr
    assert "added 'Amendment 7' (2 pages) to item 2" in result.stdout
    await until(lambda: any(d.title == "Amendment 7" for d in tablet.meeting.documents))
    doc = next(d for d in tablet.meeting.documents if d.title == "Amendment 7")
    assert doc.sha256 in tablet.meeting.item("budget").documents  # type: ignore[union-attr]
    assert tablet.meeting.notices[-1].sha256 == doc.sha256
    assert "New document: Amendment 7" in tablet.meeting.notices[-1].text
    before = tablet.meeting
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7 this is not a PDF")
    for args, message in [
        ((str(broken), "--item", "budget"), "broken.pdf: is not a readable PDF"),
        ((str(late), "--item", "nope"), "agenda item 'nope' is not in the meeting"),
        ((str(tmp_path / "missing.pdf"), "--item", "budget"), "cannot be read"),
    ]:
        bad = live_room.cli("add-document", *args)
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
        assert "nothing was added" in bad.stderr
    await asyncio.sleep(0.4)
    assert tablet.meeting == before
    await tablet.stop()


async def test_answer_lost_after_sign_in_still_signs_in(live_room: RunningRoom) -> None:
    tablet = await Tablet(live_room, "seat-a2", "A2").start()
    op = tablet.op()
    request = SignIn(op, delegate_id="d1", pin="2222")
    sending = asyncio.ensure_future(tablet.do(request))
    await asyncio.sleep(0)
    tablet.connection.drop()  # the ack and session.signed_in may be lost with it
    assert (await sending).TYPE == "ack"
    await until(lambda: tablet.connection.signed_in is not None)
    await tablet.stop()


async def test_point_of_order_after_a_reorder_and_limit_raised_after_expiry(
    live_room: RunningRoom,
) -> None:
    chair = await signed_in(live_room, "chair")
    d1, d2, d3 = [await signed_in(live_room, who) for who in ("d1", "d2", "d3")]
    await d1.ok(RequestFloor(d1.op(), FloorKind.POINT_OF_ORDER))
    await d2.ok(RequestFloor(d2.op()))
    await chair.ok(ReorderQueue(chair.op(), ("d2", "d1")))  # the chair puts d2 first
    await d3.ok(RequestFloor(d3.op(), FloorKind.POINT_OF_ORDER))
    await until(
        lambda: [e.delegate_id for e in chair.of_type(FloorState)[-1].queue] == ["d2", "d1", "d3"]
    )
    await chair.ok(SetSpeakingLimit(chair.op(), 1))
    await chair.ok(GrantFloor(chair.op()))
    await until(lambda: (s := chair.of_type(FloorState)[-1].speaking) is not None and s.expired, 5)
    await chair.ok(SetSpeakingLimit(chair.op(), 600))  # more time: no longer expired
    await until(lambda: (s := chair.of_type(FloorState)[-1].speaking) is not None and not s.expired)
    await asyncio.gather(*(t.stop() for t in (chair, d1, d2, d3)))


async def test_unknown_badges_count_towards_the_lockout(live_room: RunningRoom) -> None:
    # Unknown badges name no member: they count against the tablet (10 lock it).
    tablet = await Tablet(live_room, "seat-a3", "A3").start()
    for _ in range(9):
        await tablet.refused(SignIn(tablet.op(), badge="DEADBEEF"), "not_found")
    await tablet.refused(SignIn(tablet.op(), badge="DEADBEEF"), "locked", "tablet is now locked")
    await tablet.refused(SignIn(tablet.op(), badge="04A1B2C3"), "locked", "tablet is locked")
    await tablet.stop()
