"""Voting by touch: real QTest touch sequences (tests.tablet_client.touch) on the tablet's
window, where the ballot's buttons are on screen; the room is played by the test
(tests.tablet_client.fed). A vote takes two deliberate taps and ends at its receipt; a
double tap never casts one. The window fits the offscreen screen (800 x 600, a tablet in
portrait is as wide), beyond which Qt drops touch points."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import QPoint, QRect, QSize
from pytestqt.qtbot import QtBot

from room_protocol.voting import CastBallot
from tests.tablet_client.fed import FedTablet, poll, polls
from tests.tablet_client.test_voting_ui import MOTION, VENUES
from tests.tablet_client.touch import OFFSCREEN_SCREEN, Finger

MakeFed = Callable[..., FedTablet]
Run = Callable[[Coroutine[Any, Any, Any]], Any]


def touch_tablet(fed: MakeFed, run_async: Run) -> tuple[FedTablet, Finger]:
    tablet = fed()
    width, height = OFFSCREEN_SCREEN
    tablet.window.resize(width - 4, height - 4)  # and its 2 px frame

    async def settle() -> None:
        tablet.start("d1")
        await asyncio.sleep(0.05)  # laid out at the new size

    run_async(settle())
    assert QRect(QPoint(0, 0), QSize(*OFFSCREEN_SCREEN)).contains(tablet.window.frameGeometry())
    return tablet, Finger(tablet.window, run_async)


def feed(tablet: FedTablet, run_async: Run, *messages: Any) -> None:
    """As the room's messages arrive; new cards are shown and laid out by Qt's events."""
    tablet.feed(*messages)
    run_async(asyncio.sleep(0.05))


def sent(tablet: FedTablet, run_async: Run) -> list[CastBallot]:
    ballots: list[CastBallot] = run_async(tablet.sent(CastBallot))
    return ballots


def test_a_vote_by_touch_takes_two_taps_and_ends_at_its_receipt(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    tablet, finger = touch_tablet(fed, run_async)
    panel = tablet.window.voting_panel
    feed(tablet, run_async, polls(poll("p1", MOTION)))
    assert panel.isVisible()  # it came up over the screen
    card = panel.sections["p1"].cards["d1"]

    finger.tap(card.option_buttons["yes"])  # 1
    assert card.mode() == "reviewing" and card.review_text.text() == "You vote: Yes"
    assert not sent(tablet, run_async)
    finger.tap(card.cast)  # 2
    (ballot,) = sent(tablet, run_async)
    assert (ballot.poll_id, ballot.choices) == ("p1", ("yes",))
    assert card.status.text() == "Sending…"
    tablet.record(ballot, code="5C0FFEE123")
    assert card.status.text().startswith("✓ Your vote is recorded")
    assert "receipt 5C0FFEE123" in card.status.text()
    assert card.status.text().endswith("You voted: Yes")

    # Choose up to 2: the first tick is a whole choice; a second one, then Cast vote.
    feed(tablet, run_async, polls(poll("p3", VENUES), poll("p1", MOTION)))
    venues = panel.sections["p3"].cards["d1"]
    panel.scroll_area.ensureWidgetVisible(venues)
    finger.tap(venues.option_buttons["v2"])
    assert venues.review_text.text() == "You vote: Huế"
    finger.tap(venues.option_buttons["v4"])
    assert venues.review_text.text() == "You vote: Huế, Cần Thơ"
    panel.scroll_area.ensureWidgetVisible(venues.cast)
    finger.tap(venues.cast)
    assert [b.choices for b in sent(tablet, run_async)] == [("v2", "v4")]


def test_a_double_tap_by_touch_never_casts_a_vote(
    qtbot: QtBot, fed: MakeFed, run_async: Run
) -> None:
    tablet, finger = touch_tablet(fed, run_async)
    tablet.clock.step = 0  # the clock stands still: both taps of a double tap at once
    feed(tablet, run_async, polls(poll("p1", MOTION)))
    card = tablet.window.voting_panel.sections["p1"].cards["d1"]
    tablet.clock.advance(1)

    yes = card.option_buttons["yes"]
    at_yes = yes.mapToGlobal(yes.rect().center())
    finger.tap_at(at_yes)
    tablet.clock.advance(0.15)
    finger.tap_at(at_yes)  # the double tap's second half: on Yes again
    assert card.mode() == "reviewing" and card.chosen() == (("yes",), False)
    cast = card.cast
    at_cast = cast.mapToGlobal(cast.rect().center())
    assert not yes.rect().contains(yes.mapFromGlobal(at_cast))  # Cast vote is elsewhere
    tablet.clock.advance(0.15)
    finger.tap_at(at_cast)  # a finger that went on tapping, straight on to Cast vote
    assert not sent(tablet, run_async)
    assert card.mode() == "reviewing"

    tablet.clock.advance(1)  # a deliberate tap
    finger.tap_at(at_cast)
    (ballot,) = sent(tablet, run_async)
    tablet.clock.advance(0.1)
    finger.tap_at(at_cast)  # the same finger again: only the receipt's status is there
    assert [b.op_id for b in sent(tablet, run_async)] == [ballot.op_id]
    assert card.mode() == "done"
