"""Voting and the session by touch (issue 13): the open ballot first and scrolled to,
earlier roll calls kept, radio buttons and checkboxes drawn before a tap, the lock screen
that says a vote is open and unlocks into the ballot, two taps to vote and no double-tap
hazard, an inquorate result said plainly, banners that do not move the chair's buttons,
draft options shown, destructive chair actions asked first, touch-sized number fields,
and a closed meeting's agenda that no longer moves. The room is played by the test
(tests.tablet_client.fed); real widgets, real mouse clicks at the widgets' places, and
screenshots at 1280x800 and 1920x1200 in English and Vietnamese."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QAbstractButton, QWidget
from pytestqt.qtbot import QtBot

from room_protocol.live import (
    Ack,
    Announcement,
    CloseMeeting,
    FloorKind,
    FloorState,
    GrantFloor,
    QueueEntry,
    Speech,
    Unlock,
)
from room_protocol.messages import MeetingState
from room_protocol.voting import (
    CastBallot,
    ClosePoll,
    NamedVote,
    OpenPoll,
    OptionCount,
    Outcome,
    PollResult,
    PollState,
)
from tablet_client.i18n import set_language
from tests.tablet_client.conftest import until
from tests.tablet_client.fed import MEETING, FedTablet, at, attendance, poll, polls
from tests.tablet_client.test_voting_ui import CHAIR_OF_FINANCE, MOTION, VENUES, click

MakeFed = Callable[..., FedTablet]
Run = Callable[[Coroutine[Any, Any, Any]], Any]
SHOTS = Path("/tmp/shots-voting")
SIZES = ((1280, 800), (1920, 1200))
UX13_SHOTS = Path("/tmp/ux13-shots")


async def shots(
    window: QWidget,
    name: str,
    *,
    languages: tuple[str, ...] = ("en", "vi"),
    folder: Path = SHOTS,
) -> None:
    """``name`` at both tablet sizes in each language; back to 1280x800 in English."""
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (once, before any await)
    for language in languages:
        set_language(language)
        for width, height in SIZES:
            window.resize(width, height)
            await asyncio.sleep(0.05)  # let Qt lay out the new size and words
            assert window.grab().save(str(folder / f"{name}-{width}x{height}-{language}.png"))
    set_language("en")
    window.resize(*SIZES[0])
    await asyncio.sleep(0.05)


def tap_at(qtbot: QtBot, window: QWidget, global_pos: QPoint) -> None:
    """A tap where the finger is, on whatever widget is there now."""
    local = window.mapFromGlobal(global_pos)
    target = window.childAt(local) or window
    qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=target.mapFromGlobal(global_pos))


def result(poll_id: str, named: tuple[NamedVote, ...] = (), **fields: Any) -> PollResult:
    values: dict[str, Any] = {
        "outcome": Outcome.ADOPTED,
        "counts": (OptionCount("yes", 2, 2), OptionCount("no", 1, 1), OptionCount("abstain", 0, 0)),
        "ballots": 3,
        "cast": 3,
        "abstentions": 0,
        "base": 3,
        "required": 2,
        "winners": ("yes",),
        "present": 3,
        "members": 3,
        "named": named,
    }
    values.update(fields)
    return PollResult(poll_id, **values)


def published(poll_id: str, title: str, minutes_ago: int, **fields: Any) -> Any:
    spec = replace(MOTION, title=title)
    return poll(poll_id, spec, PollState.PUBLISHED, published_at=at(-60 * minutes_ago), **fields)


ROLL_CALL = (NamedVote("d1", ("yes",), 1), NamedVote("d2", ("no",), 1))


def order(tablet: FedTablet) -> list[str]:
    return tablet.window.voting_panel.order()


# --- 1. the open ballot first; earlier roll calls kept ---------------------------------------


def test_an_open_poll_is_first_and_scrolled_to_and_earlier_roll_calls_stay(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    panel = tablet.window.voting_panel
    earlier = [
        published("r1", "Minutes of the last meeting", 50),
        published("r2", "Agenda of the day", 40),
        published("r3", "Suspend standing order 12", 30),
    ]

    async def body() -> None:
        tablet.start("d1")
        # The room sends the roll call with the latest result; it is kept for r1 when
        # a later poll.state no longer carries it.
        tablet.feed(polls(earlier[0], results=[result("r1", ROLL_CALL)]))
        tablet.feed(
            polls(
                *earlier,
                results=[result("r1"), result("r2"), result("r3", ROLL_CALL)],
            )
        )
        assert order(tablet) == ["r3", "r2", "r1"]  # the newest result first
        assert [row[0] for row in panel.sections["r1"].results.named_votes()] == [
            "Nguyễn Văn An",
            "Beatrix Delegate",
        ]
        panel.scroll_area.verticalScrollBar().setValue(10_000)  # the member scrolled down
        # A poll opens; the room lists it last: the panel puts it first and scrolls to it.
        tablet.feed(polls(*earlier, poll("p1", MOTION), results=[result(p.id) for p in earlier]))
        assert order(tablet) == ["p1", "r3", "r2", "r1"]
        assert panel.isVisible() and panel.scroll_area.verticalScrollBar().value() == 0
        assert panel.sections["r1"].results.named_votes()  # still there
        await shots(tablet.window, "voting-open-first")

        # The member hides the panel; the strip brings it back, scrolled to the ballot.
        click(qtbot, panel.hide_button)
        panel.scroll_area.verticalScrollBar().setValue(10_000)
        click(qtbot, tablet.window.vote_strip.action)
        assert panel.isVisible() and panel.scroll_area.verticalScrollBar().value() == 0

    run_async(body())


def test_after_a_restart_the_open_poll_is_still_first(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    restarted = fed()  # a tablet that starts with all of it: the same order
    earlier = [
        published("r1", "Minutes of the last meeting", 50),
        published("r2", "Agenda of the day", 40),
        published("r3", "Suspend standing order 12", 30),
    ]

    async def body() -> None:
        restarted.start("d1")
        restarted.feed(polls(*earlier, poll("p1", MOTION), results=[result(p.id) for p in earlier]))
        assert order(restarted) == ["p1", "r3", "r2", "r1"]
        assert restarted.window.voting_panel.isVisible()

    run_async(body())


# --- 2. radio buttons and checkboxes drawn before a tap --------------------------------------


def indicator_colours(button: QAbstractButton) -> set[str]:
    """The colours drawn in the indicator's square at the left of an option."""
    image: QImage = button.grab().toImage()
    side = min(image.height(), 40)
    top = (image.height() - side) // 2
    return {
        QColor(image.pixel(x, y)).name() for x in range(0, side) for y in range(top, top + side)
    }


def test_choices_show_their_radio_button_or_checkbox_before_any_tap(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    panel = tablet.window.voting_panel

    async def body() -> None:
        tablet.start("d1")
        tablet.feed(polls(poll("p2", CHAIR_OF_FINANCE), poll("p3", VENUES)))
        single = panel.sections["p2"].cards["d1"]
        several = panel.sections["p3"].cards["d1"]
        ring = "#4a5568"  # the indicator's border before a tap (views/style.py)
        for card in (single, several):
            for button in card.option_buttons.values():
                assert button.height() >= 44
                assert ring in indicator_colours(button), button.text()
        await shots(tablet.window, "voting-indicators")
        qtbot.mouseClick(several.option_buttons["v2"], Qt.MouseButton.LeftButton)
        assert "#1f5fae" in indicator_colours(several.option_buttons["v2"])  # ticked: filled
        assert "#1f5fae" not in indicator_colours(several.option_buttons["v1"])
        panel.scroll_area.ensureWidgetVisible(several)
        await shots(tablet.window, "voting-ticked", languages=("en",))

    run_async(body())


# --- 3. the lock screen; two taps; no double tap ---------------------------------------------


def test_the_lock_screen_says_a_vote_is_open_and_unlocks_into_the_ballot(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    window, panel, lock = tablet.window, tablet.window.voting_panel, tablet.window.lock_view
    locks = tablet.tablet.locks

    async def body() -> None:
        tablet.start("d1")
        tablet.feed(polls(poll("p1", MOTION)))
        click(qtbot, panel.hide_button)  # put away during the debate
        locks.override = 1  # seconds without a touch
        locks.restart_idle()
        await until(lambda: lock.mode() == "pin", "the inactivity lock")
        assert lock.vote.isVisible()
        assert lock.vote.text() == (
            "Vote open: “Adopt the budget 2027” — type your PIN to go straight to your ballot"
        )
        assert lock.member.text() == "Signed in as Nguyễn Văn An"
        await shots(window, "lock-vote-open")
        set_language("vi")
        assert lock.vote.text().startswith("Đang biểu quyết: “Adopt the budget 2027”")
        set_language("en")

        for digit in "2222":
            click(qtbot, lock.pin_pad.keys[digit])
        click(qtbot, lock.unlock)
        (unlock,) = await tablet.sent(Unlock)
        tablet.answer(unlock, Ack(unlock.op_id))
        await until(lambda: lock.mode() == "", "the answer, through the link")
        assert panel.isVisible()  # straight to the ballot
        card = panel.sections["p1"].cards["d1"]
        # Two deliberate taps: Yes, then Cast vote.
        click(qtbot, card.option_buttons["yes"])
        assert card.mode() == "reviewing" and card.review_text.text() == "You vote: Yes"
        await shots(window, "voting-review")
        click(qtbot, card.cast)
        (ballot,) = await tablet.sent(CastBallot)
        assert ballot.choices == ("yes",)
        tablet.record(ballot)
        assert card.status.text().startswith("✓ Your vote is recorded")
        assert not lock.vote.text()  # nothing waits any more
        await shots(window, "voting-two-taps-receipt")

    run_async(body())
    locks.override = 0
    locks.restart_idle()


def test_a_double_tap_never_casts_a_vote(qtbot: QtBot, fed: MakeFed, run_async: Run) -> None:
    tablet = fed()
    window, panel = tablet.window, tablet.window.voting_panel
    tablet.clock.step = 0  # the clock stands still: both taps of a double tap at once

    async def body() -> None:
        tablet.start("d1")
        tablet.feed(polls(poll("p3", VENUES), poll("p1", MOTION)))
        venues = panel.sections["p3"].cards["d1"]
        await shots(window, "voting-multiple-choosing", languages=("en",), folder=UX13_SHOTS)
        before = places(panel)
        tablet.clock.advance(1)
        click(qtbot, venues.option_buttons["v1"])  # a whole choice: its review, Cast vote
        assert venues.mode() == "reviewing" and venues.cast.isEnabled()
        await asyncio.sleep(0.05)
        assert places(panel) == before  # nothing moved: Cast vote was there, greyed
        await shots(window, "voting-multiple-review", folder=UX13_SHOTS)
        cast = venues.cast
        cast_rect = cast.rect().translated(cast.mapToGlobal(QPoint(0, 0)))
        for option in venues.option_buttons.values():  # no option where Cast vote is
            option_rect = option.rect().translated(option.mapToGlobal(QPoint(0, 0)))
            assert not option_rect.intersects(cast_rect), option.text()
        tablet.clock.advance(0.1)  # a quick second tap, on Cast vote itself
        click(qtbot, cast)
        assert venues.mode() == "reviewing"
        assert not await tablet.sent(CastBallot)
        tablet.clock.advance(0.3)  # a third tap of the same burst
        click(qtbot, cast)
        assert not await tablet.sent(CastBallot)
        tablet.clock.advance(1)
        click(qtbot, cast)  # a deliberate tap
        (ballot,) = await tablet.sent(CastBallot)
        assert ballot.choices == ("v1",)

        # Yes/No: a double tap on Yes lands on Yes again; nothing is cast.
        motion = panel.sections["p1"].cards["d1"]
        yes = motion.option_buttons["yes"]
        finger = yes.mapToGlobal(yes.rect().center())
        tablet.clock.advance(1)
        click(qtbot, yes)
        tablet.clock.advance(0.1)
        tap_at(qtbot, window, finger)
        assert motion.mode() == "reviewing" and motion.chosen() == (("yes",), False)
        assert [b.poll_id for b in await tablet.sent(CastBallot)] == ["p3"]

        # The panel comes up under the finger (Vote now on the strip): Cast vote waits.
        click(qtbot, panel.hide_button)
        tablet.clock.advance(1)
        click(qtbot, window.vote_strip.action)
        assert panel.isVisible()
        tablet.clock.advance(0.1)
        click(qtbot, motion.cast)
        assert [b.poll_id for b in await tablet.sent(CastBallot)] == ["p3"]
        tablet.clock.advance(1)
        click(qtbot, motion.cast)
        assert [b.poll_id for b in await tablet.sent(CastBallot)] == ["p3", "p1"]

    run_async(body())


# --- 4. an inquorate result, as plainly as the result -----------------------------------------


MOTION_INQUORATE = poll("p1", MOTION, PollState.PUBLISHED, quorum_override=True, published_at=at())
THIN = result("p1", ROLL_CALL, present=1, members=12, ballots=1, cast=1, base=1, required=1)
PLAIN = "Adopted — but without quorum: 1 of 12 present, 7 needed"


def test_an_inquorate_result_says_so_as_plainly_as_the_result(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    delegate = fed()

    async def body() -> None:
        delegate.start("d1")
        delegate.feed(attendance(("d1",), required=7), polls(MOTION_INQUORATE, results=[THIN]))
        outcome = delegate.window.voting_panel.sections["p1"].results.outcome
        assert outcome.text() == PLAIN
        assert outcome.property("kind") == "inquorate"
        await shots(delegate.window, "results-inquorate")
        set_language("vi")
        assert outcome.text() == "Được thông qua — nhưng không đủ túc số: 1/12 có mặt, cần 7"
        set_language("en")

    run_async(body())


def test_the_chairs_results_list_says_without_quorum_too(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    chair = fed()

    async def body() -> None:
        chair.start("chair")
        chair.feed(attendance(("d1",), required=7), polls(MOTION_INQUORATE, results=[THIN]))
        console = chair.window.chair_console_view
        console.show_section("polls")
        view = console.polls
        view.select_poll("p1")
        assert view.results.outcome.text() == PLAIN
        assert view.poll_list.item(0).text() == f"Adopt the budget 2027\nPublished · {PLAIN}"
        await shots(chair.window, "chair-results-inquorate", languages=("en",))

    run_async(body())


# --- 5. banners lie over the console -----------------------------------------------------------


def test_an_announcement_does_not_move_the_chairs_buttons(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    window = tablet.window
    console = window.chair_console_view

    async def body() -> None:
        tablet.start("chair")
        console.tabs.setCurrentWidget(console.room_messages)
        lock_all = console.room_messages.lock
        await asyncio.sleep(0.05)
        before = lock_all.mapToGlobal(QPoint(0, 0))
        tablet.feed(Announcement("m1", "Coffee break until 10:30", "Chair Person", at()))
        await asyncio.sleep(0.05)
        strip = window.announcement_strip
        assert strip.isVisible() and "Coffee break" in strip.text.text()
        assert lock_all.mapToGlobal(QPoint(0, 0)) == before  # the finger still hits it
        strip_top = strip.mapToGlobal(QPoint(0, 0)).y()
        assert strip_top == window.screens.mapToGlobal(QPoint(0, 0)).y()  # over the top
        # ... at the right, clear of the console's section tabs
        tabs = console.sections.tabBar()
        last_tab = tabs.tabRect(tabs.count() - 1)
        tabs_right = tabs.mapToGlobal(last_tab.topRight()).x()
        assert strip.mapToGlobal(QPoint(0, 0)).x() > tabs_right
        await shots(window, "chair-announcement-overlay", languages=("en",))
        click(qtbot, strip.close_button)
        assert not window.message_strips.isVisible()
        assert lock_all.mapToGlobal(QPoint(0, 0)) == before

    run_async(body())


def places(screen: QWidget) -> dict[str, QPoint]:
    """Where each button a finger can reach on ``screen`` is on the glass."""
    return {
        f"{button.objectName()}:{button.text()}": button.mapToGlobal(QPoint(0, 0))
        for button in screen.findChildren(QAbstractButton)
        if button.isVisible()
    }


def covered(screen: QWidget, strip: QWidget) -> list[str]:
    """The buttons of ``screen`` that ``strip`` lies over."""
    over = strip.rect().translated(strip.mapToGlobal(QPoint(0, 0)))
    return [
        button.objectName()
        for button in screen.findChildren(QAbstractButton)
        if button.isVisible()
        and button.rect().translated(button.mapToGlobal(QPoint(0, 0))).intersects(over)
    ]


def test_the_vote_strip_lies_over_the_screen_and_moves_no_button(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    window, panel, strip = tablet.window, tablet.window.voting_panel, tablet.window.vote_strip

    async def body() -> None:
        tablet.start("d1")
        agenda = window.agenda_view
        assert window.screens.currentWidget() is agenda
        await asyncio.sleep(0.05)
        before = places(agenda)
        assert before  # the agenda's own buttons (Open, …)
        screen_top = agenda.mapToGlobal(QPoint(0, 0))
        tablet.feed(polls(poll("p1", MOTION)))
        click(qtbot, panel.hide_button)  # put away to read on: the strip says a vote waits
        await asyncio.sleep(0.05)
        assert strip.isVisible() and strip.text.text() == "Voting is open: Adopt the budget 2027"
        assert places(agenda) == before  # nothing moved from under the finger
        assert agenda.mapToGlobal(QPoint(0, 0)) == screen_top
        assert strip.mapToGlobal(QPoint(0, 0)).y() == window.screens.mapToGlobal(QPoint(0, 0)).y()
        assert strip.action.height() >= 36
        await shots(window, "vote-strip-agenda", folder=UX13_SHOTS)
        # The reader: the strip lies over the top of the page, below its toolbar.
        reader = window.document_view
        window.show_screen(reader)
        await asyncio.sleep(0.05)
        assert places(reader)  # the toolbar's buttons
        assert not covered(reader, strip)
        assert strip.mapToGlobal(QPoint(0, 0)).y() == reader.page_box.mapToGlobal(QPoint(0, 0)).y()
        await shots(window, "vote-strip-reader", folder=UX13_SHOTS)
        assert not covered(reader, strip)
        reader.set_full_screen(True)  # full-screen reading: still there, over the page
        await asyncio.sleep(0.05)
        assert strip.isVisible() and not covered(reader, strip)
        assert strip.mapToGlobal(QPoint(0, 0)).y() == reader.page_box.mapToGlobal(QPoint(0, 0)).y()
        await shots(window, "vote-strip-full-screen", languages=("en",), folder=UX13_SHOTS)
        reader.set_full_screen(False)
        await asyncio.sleep(0.05)
        assert not covered(reader, strip)
        window.show_screen(agenda)
        await asyncio.sleep(0.05)

        click(qtbot, strip.action)  # Vote now
        card = panel.sections["p1"].cards["d1"]
        click(qtbot, card.option_buttons["no"])
        click(qtbot, card.cast)
        (ballot,) = await tablet.sent(CastBallot)
        tablet.record(ballot)
        click(qtbot, panel.hide_button)
        await asyncio.sleep(0.05)
        assert strip.text.text() == "Your vote on “Adopt the budget 2027” is recorded"
        assert places(agenda) == before
        await shots(window, "vote-strip-recorded", folder=UX13_SHOTS)
        click(qtbot, strip.close_button)  # the vote is in: the strip may be put away
        await asyncio.sleep(0.05)
        assert not strip.isVisible() and not window.message_strips.isVisible()
        assert places(agenda) == before
        tablet.feed(polls(poll("p1", MOTION, PollState.CLOSED), poll("p2", CHAIR_OF_FINANCE)))
        click(qtbot, panel.hide_button)
        assert strip.isVisible()  # the next poll is signalled again
        assert strip.text.text() == "Voting is open: Chair of the finance committee"

    run_async(body())


# --- 6. the speaker queue from the chair's reader ---------------------------------------------


def test_the_chair_gives_the_floor_from_the_reader(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    window = tablet.window
    queue = (
        QueueEntry("d1", "Nguyễn Văn An", FloorKind.SPEAK, at(-60), "A2"),
        QueueEntry("d2", "Beatrix Delegate", FloorKind.SPEAK, at(-30), "A3"),
    )

    async def body() -> None:
        tablet.start("chair")
        tablet.feed(FloorState(1, None, queue, 120))
        assert not window.speakers_button.isVisible()  # the console has its own tab
        window.show_screen(window.document_view)  # the chair reads a document
        button = window.speakers_button
        assert button.isVisible() and button.text() == "Speakers (2 waiting)"
        assert button.height() >= 44
        click(qtbot, button)
        drawer = window.speakers_drawer
        assert drawer.isVisible()
        assert drawer.geometry().right() == window.screens.width() - 1  # at the right edge
        speakers = drawer.speakers
        assert [speakers.queue.item(i).text() for i in range(2)] == [
            "1. Nguyễn Văn An · seat A2",
            "2. Beatrix Delegate · seat A3",
        ]
        await shots(window, "chair-reader-speakers")
        speakers.select_queue_entry("d2")
        click(qtbot, speakers.grant)
        (grant,) = await tablet.sent(GrantFloor)
        assert grant.delegate_id == "d2"
        tablet.answer(grant)
        speech = Speech("d2", "Beatrix Delegate", FloorKind.SPEAK, at(), 120, 0.0)
        tablet.feed(FloorState(2, speech, queue[:1], 120))
        assert speakers.speaking_now.text() == "Speaking: Beatrix Delegate"
        assert button.text() == "Speakers (1 waiting)"
        click(qtbot, drawer.close_button)
        assert not drawer.isVisible() and not button.isChecked()
        window.show_screen(window.chair_console_view)  # back at the console: no button
        assert not button.isVisible() and not drawer.isVisible()

    run_async(body())


# --- 7. the chair's polls: options first, the safe choice primary, asked first ---------------


def test_draft_options_shown_and_destructive_poll_actions_asked_first(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    window = tablet.window
    view = window.chair_console_view.polls

    async def body() -> None:
        tablet.start("chair", present=("d1",))
        tablet.feed(attendance(("d1",), required=2))  # no quorum
        tablet.feed(polls(poll("p2", CHAIR_OF_FINANCE, PollState.DRAFT)))
        window.chair_console_view.show_section("polls")
        view.select_poll("p2")
        assert view.options.isVisible()
        assert view.options.text() == "Options:\n• Anna Schmidt\n• Lê Văn Bảo\n• Carla Ruiz"

        # Touch-sized number fields: "-" and "+" a finger wide and the field tall.
        spin = view.open_countdown
        assert spin.height() >= 48
        for x, y, value in ((spin.width() - 24, spin.height() // 2, 15), (6, 6, 0)):
            qtbot.mouseClick(spin, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
            assert spin.value() == value
        qtbot.mouseClick(spin, Qt.MouseButton.LeftButton, pos=QPoint(spin.width() - 6, 6))
        assert spin.value() == 15
        spin.setValue(0)
        await shots(window, "chair-poll-draft")

        click(qtbot, view.open_poll)
        assert view.quorum_confirm.isVisible()
        # The safe choice is the primary button, right of the other.
        cancel, anyway = view.open_cancel, view.open_anyway
        assert cancel.mapToGlobal(QPoint(0, 0)).x() > anyway.mapToGlobal(QPoint(0, 0)).x()
        centre = cancel.grab().toImage().pixelColor(cancel.width() // 2, 4)
        assert centre.name() == "#1f5fae"
        assert anyway.grab().toImage().pixelColor(anyway.width() // 2, 4).name() != "#1f5fae"
        await shots(window, "chair-poll-open-anyway")
        click(qtbot, cancel)
        assert not await tablet.sent(OpenPoll) and not view.quorum_confirm.isVisible()
        click(qtbot, view.open_poll)
        click(qtbot, view.open_anyway)
        (opening,) = await tablet.sent(OpenPoll)
        assert opening.override_quorum
        tablet.answer(opening)
        tablet.feed(polls(poll("p2", CHAIR_OF_FINANCE, quorum_override=True)))

        # "Close now" asks; keeping it open is the primary button.
        click(qtbot, view.close_now)
        assert view.close_confirm.isVisible() and not view.close_now.isVisible()
        assert view.close_confirm_text.text().startswith("Close the vote now?")
        assert not await tablet.sent(ClosePoll)
        await shots(window, "chair-poll-close-now")
        click(qtbot, view.close_keep)
        assert not view.close_confirm.isVisible() and not await tablet.sent(ClosePoll)
        click(qtbot, view.close_now)
        click(qtbot, view.close_yes)
        (closing,) = await tablet.sent(ClosePoll)
        assert (closing.poll_id, closing.after_seconds) == ("p2", 0)

    run_async(body())


def test_closing_the_meeting_asks_with_cancel_as_the_primary_button(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    window = tablet.window

    async def body() -> None:
        tablet.start("chair")
        click(qtbot, window.chair_console_view.closing.close_meeting)
        dialog = tablet.tablet.closing.dialog
        assert dialog.isVisible()
        cancel, close = dialog.cancel, dialog.close_anyway
        assert cancel.height() >= 48 and close.height() >= 48
        assert cancel.mapToGlobal(QPoint(0, 0)).x() > close.mapToGlobal(QPoint(0, 0)).x()
        assert cancel.grab().toImage().pixelColor(cancel.width() // 2, 4).name() == "#1f5fae"
        SHOTS.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (a dialog: one shot)
        assert dialog.grab().save(str(SHOTS / "chair-close-dialog-en.png"))
        click(qtbot, cancel)
        assert not dialog.isVisible()
        assert not await tablet.sent(CloseMeeting)

    run_async(body())


# --- 8. a closed meeting's agenda ---------------------------------------------------------------


def test_after_the_meeting_is_closed_the_agenda_buttons_are_disabled(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    agenda = tablet.window.chair_console_view.agenda_control

    async def body() -> None:
        tablet.start("chair")
        agenda.select_item("opening")
        buttons = [agenda.previous, agenda.next, agenda.make_current, agenda.mark_done, agenda.add]
        assert all(b.isEnabled() for b in buttons)
        tablet.feed(MeetingState(replace(MEETING, closed_at=at())))
        agenda.select_item("budget")
        for widget in [*buttons, *agenda.move_buttons.values(), agenda.new_title]:
            assert not widget.isEnabled(), widget.objectName()
        await shots(tablet.window, "chair-closed-agenda", languages=("en",))

    run_async(body())
