"""The tablet's live-session rules with plain values: no Qt, no room."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from room_protocol.live import (
    ALLOWED,
    AddItem,
    Fit,
    FloorKind,
    FloorState,
    FollowState,
    GrantFloor,
    QueueEntry,
    RequestFloor,
    SetFollow,
    SignIn,
    Speech,
)
from room_protocol.messages import AgendaItem, ErrorMessage, MeetingSnapshot, Role
from tablet_client.session import (
    BadgeReader,
    FollowTracker,
    add_position,
    capabilities,
    estimated_end,
    item_elapsed,
    move_target,
    queue_position,
    sign_in_problem,
    signed_out_reason,
)

SHA = "a" * 64
START = "2026-11-21T09:00:00.000+00:00"
T0 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC).timestamp()


def meeting(
    *,
    current: str | None = None,
    done: frozenset[str] = frozenset(),
    spent: dict[str, int] | None = None,
) -> MeetingSnapshot:
    spent = spent or {}

    def item(item_id: str, minutes: int | None, *children: AgendaItem) -> AgendaItem:
        return AgendaItem(
            item_id,
            item_id,
            item_id.title(),
            minutes,
            children=children,
            done=item_id in done,
            actual_seconds=spent.get(item_id, 0),
        )

    agenda = (
        item("opening", 5),
        item("budget", 45, item("debate", 30), item("vote", None)),
        item("closing", 10),
    )
    return MeetingSnapshot(
        "m",
        "Council",
        "2026-11-21",
        "Chamber",
        1,
        agenda,
        (),
        current_item_id=current,
        current_started_at=START if current else None,
    )


# --- badge reader ------------------------------------------------------------------------


def test_a_fast_burst_ending_in_enter_is_a_badge() -> None:
    reader = BadgeReader()
    for i, char in enumerate("04A1B2C3"):
        reader.key(char, 10.0 + i * 0.004)
    assert reader.enter(10.04) == "04A1B2C3"
    assert reader.enter(10.05) is None  # the buffer is used up


def test_human_typing_is_not_a_badge() -> None:
    reader = BadgeReader()
    for i, char in enumerate("04A1B2C3"):
        reader.key(char, 10.0 + i * 0.15)  # 150 ms a key
    assert reader.enter(11.2) is None


def test_a_pause_restarts_the_burst_and_short_or_strange_input_is_ignored() -> None:
    reader = BadgeReader()
    reader.key("9", 1.0)  # a stray key long before the reader types
    for i, char in enumerate("04A1B2C3"):
        reader.key(char, 5.0 + i * 0.003)
    assert reader.enter(5.03) == "04A1B2C3"
    for i, char in enumerate("123"):
        reader.key(char, 7.0 + i * 0.003)
    assert reader.enter(7.01) is None  # too short for a badge
    for i, char in enumerate("04A1 B2C3"):
        reader.key(char, 8.0 + i * 0.003)
    assert reader.enter(8.03) == "B2C3"  # a space is no badge character: starts again
    reader.key("1", 9.0)
    assert reader.enter(9.2) is None  # Enter long after the last key


# --- sign-in messages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message", "key", "arguments"),
    [
        ("wrong_pin", "wrong PIN", "sign_in.wrong_pin", {}),
        ("locked", "wrong PIN; this seat is now locked for a while", "sign_in.seat_locked", {}),
        (
            "locked",
            "this seat is locked for 287 s after too many wrong PINs; ask the clerk for help",
            "sign_in.seat_locked_for",
            {"seconds": 287},
        ),
        (
            "locked",
            "wrong PIN; signing in as this member is now locked for 300 s; ask the clerk for help",
            "sign_in.seat_locked_for",
            {"seconds": 300},
        ),
        (
            "locked",
            "this tablet is locked for 899 s after too many failed sign-ins; ask the clerk",
            "sign_in.seat_locked_for",
            {"seconds": 899},
        ),
        ("pin_required", "type your PIN after your badge", "sign_in.pin_after_badge", {}),
        ("badge_required", "badge and then PIN here", "sign_in.badge_first", {}),
        ("not_found", "this badge belongs to no one in this meeting", "sign_in.unknown_badge", {}),
        ("no_pin", "no PIN is set for you; ask the clerk", "sign_in.no_pin", {}),
        ("not_connected", "not connected to a room", "sign_in.not_connected", {}),
        ("bad_state", "no meeting is loaded", "error.refused", {"reason": "no meeting is loaded"}),
    ],
)
def test_sign_in_problems_are_explained(
    code: str, message: str, key: str, arguments: dict[str, object]
) -> None:
    assert sign_in_problem(ErrorMessage(code, message, "op")) == (key, arguments)


def test_signed_out_reasons() -> None:
    assert signed_out_reason("Nguyễn Văn An signed in on another tablet") == (
        "sign_in.signed_in_elsewhere"
    )
    assert signed_out_reason("your sign-in has ended; sign in again") == "sign_in.ended"
    assert signed_out_reason("signed out") == "sign_in.signed_out"


def test_capabilities_follow_the_protocol_rules() -> None:
    assert capabilities(None) == {r for r, roles in ALLOWED.items() if roles is None}
    assert SignIn in capabilities(None) and RequestFloor not in capabilities(None)
    chair, clerk = capabilities(Role.CHAIR), capabilities(Role.CLERK)
    assert {SetFollow, GrantFloor, AddItem} <= chair
    assert AddItem in clerk and SetFollow not in clerk and GrantFloor not in clerk
    assert RequestFloor in capabilities(Role.DELEGATE) and AddItem not in capabilities(
        Role.DELEGATE
    )
    assert RequestFloor not in capabilities(Role.OBSERVER)


# --- follow the chair ---------------------------------------------------------------------


def state(seq: int, page: int, following: bool = True) -> FollowState:
    return FollowState(seq, SHA, page, Fit.WIDTH, following)


def test_follow_moves_in_order_and_drops_late_and_repeated_ones() -> None:
    tracker = FollowTracker()
    assert tracker.receive(state(10, 0))
    assert tracker.receive(state(11, 1))
    assert not tracker.receive(state(10, 0))  # arrived late
    assert not tracker.receive(state(11, 1))  # the same again, after a reconnect
    assert tracker.latest == state(11, 1)


def test_leaving_ignores_moves_in_flight_and_rejoining_shows_the_current_page() -> None:
    tracker = FollowTracker()
    tracker.receive(state(1, 0))
    tracker.leave()
    assert not tracker.receive(state(2, 1))  # sent before the room heard we left
    assert not tracker.receive(state(2, 1, following=False))  # the room's confirmation
    assert not tracker.following
    tracker.rejoin()
    assert not tracker.receive(state(2, 1, following=False))  # an old answer: ignore
    assert tracker.following
    assert tracker.receive(state(2, 1))  # same seq, but we asked to come back: show it
    assert not tracker.receive(state(2, 1))


def test_the_room_can_say_we_are_not_following() -> None:
    tracker = FollowTracker()
    assert not tracker.receive(state(5, 3, following=False))  # remembered from before
    assert not tracker.following


# --- speaker queue -----------------------------------------------------------------------------


def speech(limit: int, elapsed: float, expired: bool = False) -> Speech:
    return Speech("d2", "Beatrix", FloorKind.SPEAK, START, limit, elapsed, expired)


def test_queue_position() -> None:
    queue = tuple(QueueEntry(d, d, FloorKind.SPEAK, START, None) for d in ("d3", "d1", "d2"))
    floor = FloorState(1, None, queue, 180)
    assert queue_position(floor, "d1") == 2
    assert queue_position(floor, "chair") is None


# --- agenda timing -------------------------------------------------------------------------------


def test_item_elapsed_adds_the_running_turn_to_earlier_ones() -> None:
    snapshot = meeting(current="opening", spent={"opening": 30, "closing": 12})
    opening = snapshot.item("opening")
    closing = snapshot.item("closing")
    assert opening is not None and closing is not None
    assert item_elapsed(snapshot, opening, T0 + 90) == 120
    assert item_elapsed(snapshot, closing, T0 + 90) == 12


def test_estimated_end_is_now_plus_what_is_left_of_the_plan() -> None:
    # Planned: opening 5, budget 45 of which debate 30 (budget itself 15), closing 10.
    assert estimated_end(meeting(), T0) == T0 + 60 * 60
    # Two minutes into the opening: three of its five minutes are left.
    assert estimated_end(meeting(current="opening"), T0 + 120) == T0 + 120 + 58 * 60
    # Overrunning an item leaves none of it, never less than none.
    assert estimated_end(meeting(current="opening"), T0 + 600) == T0 + 600 + 55 * 60
    # Done items (and their sub-items) count no more.
    assert estimated_end(meeting(done=frozenset({"opening", "budget"})), T0) == T0 + 10 * 60


# --- agenda editing ------------------------------------------------------------------------------


def test_move_targets() -> None:
    snapshot = meeting()
    assert move_target(snapshot, "opening", "up") is None
    assert move_target(snapshot, "budget", "up") == (0, None)
    assert move_target(snapshot, "budget", "down") == (2, None)
    assert move_target(snapshot, "closing", "down") is None
    assert move_target(snapshot, "closing", "indent") == (2, "budget")  # after its children
    assert move_target(snapshot, "opening", "indent") is None
    assert move_target(snapshot, "debate", "outdent") == (2, None)  # right after budget
    assert move_target(snapshot, "vote", "up") == (0, "budget")
    assert move_target(snapshot, "opening", "outdent") is None
    assert move_target(snapshot, "nope", "up") is None
    with pytest.raises(ValueError, match="sideways"):
        move_target(snapshot, "opening", "sideways")


def test_add_position() -> None:
    snapshot = meeting()
    assert add_position(snapshot, "opening") == (None, "opening")
    assert add_position(snapshot, "debate") == ("budget", "debate")
    assert add_position(snapshot, None) == (None, "closing")
