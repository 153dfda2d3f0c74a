"""Attendance and voting on real tablets against a real room-server process (TLS, the
voting package of tests.rooms): the delegate's panel with a proxy, a changed vote and
the published result; a ballot cut off by a dropped connection ending at one receipt;
the chair opening without quorum, closing with a countdown and publishing a tie with
the casting vote; the clerk's check-in and proxies."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from room_client.connection import Backoff, Phase
from room_protocol.messages import Message
from room_protocol.voting import (
    BallotRecorded,
    CastBallot,
    ClosePoll,
    OpenPoll,
    PollProgress,
    PollsState,
    PublishPoll,
)
from tablet_client.i18n import set_language
from tablet_client.tablet_controller import TabletController
from tests.live_clients import Tablet
from tests.rooms import RunningRoom, running_room, timeout
from tests.tablet_client.fed import StepClock
from tests.tablet_client.test_live_ui import click, make_tablet, shot, sign_in_ui
from tests.tablet_client.touch import OFFSCREEN_SCREEN, Finger

Run = Callable[[Coroutine[Any, Any, Any]], Any]
WaitUntil = Callable[..., Coroutine[Any, Any, float]]
TabletUI = Callable[[str, str | None], TabletController]
PINS = {"chair": "1111", "clerk": "3333", "d1": "2222", "d2": "4444", "d3": "6666", "d4": "7777"}
SEATS = {"chair": "A1", "d1": "A2", "d2": "A3", "d3": "A4", "d4": "A5"}


@pytest.fixture
def voting_room(tmp_path: Path, voting_package_dir: Path) -> Iterator[RunningRoom]:
    with running_room(
        tmp_path / "room", package=voting_package_dir, mdns=False, room_name="Council chamber"
    ) as room:
        yield room


@pytest.fixture
def tablet_ui(
    qtbot: QtBot, voting_room: RunningRoom, tmp_path: Path, qasync_loop: Any
) -> Iterator[Callable[[str, str | None], TabletController]]:
    """Tablet UIs in the voting room, stopped after the test even when it fails
    (make_tablet registers them with tests.tablet_client.conftest)."""

    def make(name: str, seat: str | None) -> TabletController:
        tablet = make_tablet(qtbot, voting_room, tmp_path, name, seat)
        tablet.window.voting_panel.clock = StepClock()  # taps one after another, not double
        return tablet

    yield make


@pytest.fixture
def run_long(qasync_loop: Any) -> Run:
    def run(body: Coroutine[Any, Any, Any]) -> Any:
        return qasync_loop.run_until_complete(asyncio.wait_for(body, timeout(60)))

    return run


async def member(room: RunningRoom, who: str, seat: str | None = None) -> Tablet:
    """A protocol-level tablet signed in as ``who`` (at their seat)."""
    tablet = await Tablet(room, f"protocol-{who}", seat or SEATS.get(who)).start()
    await tablet.sign_in(who, PINS[who])
    return tablet


def latest_poll(tablet: Tablet, poll_id: str) -> Any:
    return next(p for p in tablet.of_type(PollsState)[-1].polls if p.id == poll_id)


async def ok(tablet: Tablet, request: Any) -> None:
    await tablet.ok(request)


async def d1_with_poll_open(
    qtbot: QtBot,
    room: RunningRoom,
    delegate: TabletController,
    wait_until: WaitUntil,
    poll_id: str,
) -> Tablet:
    """Start ``delegate``'s tablet, sign it in as d1 and have the chair open ``poll_id``
    (quorum overridden) until the voting panel shows it; returns the chair."""
    await delegate.start()
    chair = await member(room, "chair")
    await sign_in_ui(qtbot, delegate, "d1", wait_until)
    await ok(chair, OpenPoll(chair.op(), poll_id, override_quorum=True))
    panel = delegate.window.voting_panel
    await wait_until(lambda: poll_id in panel.sections, "the voting panel")
    return chair


async def vote(tablet: Tablet, poll_id: str, delegate_id: str, *choices: str) -> None:
    reply = await tablet.do(CastBallot(tablet.op(), poll_id, delegate_id, choices))
    assert isinstance(reply, BallotRecorded), reply


def test_delegate_votes_for_themselves_and_a_proxy_changes_and_sees_the_result(
    qtbot: QtBot,
    voting_room: RunningRoom,
    tmp_path: Path,
    tablet_ui: TabletUI,
    run_long: Run,
    wait_until: WaitUntil,
) -> None:
    delegate = tablet_ui("a2", "A2")
    window, panel = delegate.window, delegate.window.voting_panel

    async def body() -> None:
        await delegate.start()
        chair = await member(voting_room, "chair")
        d2 = await member(voting_room, "d2")
        await sign_in_ui(qtbot, delegate, "d1", wait_until)
        await wait_until(
            lambda: window.presence_indicator.text() == "✓ Checked in · proxy for Eva Absent",
            "checked in, holding Eva's proxy",
        )
        await ok(chair, OpenPoll(chair.op(), "p-budget"))
        await wait_until(lambda: panel.isVisible(), "the voting panel")
        section = panel.sections["p-budget"]
        assert section.title.text() == "Adopt the budget 2027"
        assert section.meta.text() == (
            "Item 2 Budget · Named vote · You may change your vote until voting closes"
        )
        assert list(section.cards) == ["d1", "d5"]
        own, proxy = section.cards["d1"], section.cards["d5"]
        assert own.who.text() == "Your vote"
        assert proxy.who.text() == "Proxy for Eva Absent"
        await shot(window, "voting-live-panel", tmp_path)

        own.choose("yes")
        click(qtbot, own.cast)
        await wait_until(lambda: own.status.property("kind") == "recorded", "own receipt")
        assert own.status.text().endswith("You voted: Yes")
        proxy.choose("no")
        assert proxy.review_text.text() == "You vote: No"
        click(qtbot, proxy.cast)
        await wait_until(lambda: proxy.status.property("kind") == "recorded", "proxy receipt")
        await shot(window, "voting-live-receipts", tmp_path)
        first_receipt = delegate.voting.ballots[("p-budget", "d1")].receipt
        assert first_receipt is not None

        # The poll allows changing: a new ballot replaces the first one.
        click(qtbot, own.change_vote)
        own.choose("abstain")
        click(qtbot, own.cast)
        await wait_until(
            lambda: own.status.text().endswith("You voted: Abstain"), "the changed vote"
        )
        changed = delegate.voting.ballots[("p-budget", "d1")].receipt
        assert changed is not None and changed.code != first_receipt.code
        assert isinstance(
            await d2.do(CastBallot(d2.op(), "p-budget", "d2", ("yes",))), BallotRecorded
        )

        await ok(chair, ClosePoll(chair.op(), "p-budget"))
        await wait_until(lambda: section.state.text() == "Voting closed", "closed")
        await ok(chair, PublishPoll(chair.op(), "p-budget"))
        await wait_until(lambda: section.results.isVisible(), "the published result")
        results = section.results
        assert results.named_votes() == [
            ("Nguyễn Văn An", "Abstain", ""),
            ("Beatrix Delegate", "Yes", ""),
            ("Eva Absent", "No", "cast by Nguyễn Văn An (proxy)"),
        ] or sorted(results.named_votes()) == sorted(
            [
                ("Nguyễn Văn An", "Abstain", ""),
                ("Beatrix Delegate", "Yes", ""),
                ("Eva Absent", "No", "cast by Nguyễn Văn An (proxy)"),
            ]
        )
        assert results.figures.text().startswith("3 ballots · 1 abstention")
        await shot(window, "results-live", tmp_path)
        set_language("vi")
        await shot(window, "results-live-vi", tmp_path)
        set_language("en")
        await asyncio.gather(chair.stop(), d2.stop())

    run_long(body())


def test_a_ballot_cut_off_by_a_dropped_connection_ends_at_one_receipt(
    qtbot: QtBot,
    voting_room: RunningRoom,
    tmp_path: Path,
    tablet_ui: TabletUI,
    run_long: Run,
    wait_until: WaitUntil,
) -> None:
    delegate = tablet_ui("a2", "A2")
    panel = delegate.window.voting_panel

    async def body() -> None:
        chair = await d1_with_poll_open(qtbot, voting_room, delegate, wait_until, "p-budget")
        connection = delegate.connection
        assert connection is not None
        connection.backoff = Backoff(initial=1.0, maximum=1.0)  # time to see the card
        own = panel.sections["p-budget"].cards["d1"]
        proxy = panel.sections["p-budget"].cards["d5"]

        # 1. The connection drops as the ballot is cast: it waits in the outbox,
        #    the card says it is not confirmed, and the reconnect sends it (same id).
        own.choose("yes")
        click(qtbot, own.cast)
        connection.drop()
        await wait_until(
            lambda: own.status.text() == "Not confirmed yet — the connection dropped",
            "unconfirmed",
        )
        assert own.resend.isVisible()
        await shot(delegate.window, "voting-live-unconfirmed", tmp_path)
        await wait_until(lambda: own.status.property("kind") == "recorded", "own receipt", 8)

        # 2. The room commits the proxy ballot but its answer is lost with the connection.
        #    "Send again" sends the same ballot id; the room answers the same receipt.
        lost: list[Message] = []
        receive = connection._receive

        def lose_the_receipt(message: Message) -> None:
            if isinstance(message, BallotRecorded) and not lost:
                lost.append(message)
                connection.drop()
                return
            receive(message)

        connection._receive = lose_the_receipt  # type: ignore[method-assign]
        proxy.choose("no")
        click(qtbot, proxy.cast)
        await wait_until(lambda: bool(lost), "the answer lost")
        await wait_until(lambda: proxy.resend.isVisible(), "Send again")
        assert proxy.status.text() == "Not confirmed yet — the connection dropped"
        click(qtbot, proxy.resend)
        await wait_until(lambda: proxy.status.property("kind") == "recorded", "proxy receipt", 8)
        ballot = delegate.voting.ballots[("p-budget", "d5")]
        first = lost[0]
        assert isinstance(first, BallotRecorded) and ballot.receipt is not None
        assert ballot.receipt.code == first.receipt.code  # the same receipt: counted once
        assert ballot.ballot_id == first.op_id

        # Counted once each: two ballots in, and two in the result.
        def progress() -> list[PollProgress]:
            return chair.of_type(PollProgress)

        await wait_until(lambda: bool(progress()) and progress()[-1].voted == 2, "two ballots")
        await ok(chair, ClosePoll(chair.op(), "p-budget"))
        await ok(chair, PublishPoll(chair.op(), "p-budget"))
        results = panel.sections["p-budget"].results
        await wait_until(lambda: results.isVisible(), "the result")
        assert results.figures.text().startswith("2 ballots")
        await chair.stop()

    run_long(body())


def test_a_ballot_refused_by_the_room_is_explained_in_words(
    qtbot: QtBot,
    voting_room: RunningRoom,
    tmp_path: Path,
    tablet_ui: TabletUI,
    run_long: Run,
    wait_until: WaitUntil,
) -> None:
    delegate = tablet_ui("a2", "A2")
    panel = delegate.window.voting_panel

    async def body() -> None:
        chair = await d1_with_poll_open(qtbot, voting_room, delegate, wait_until, "p-secret")
        connection = delegate.connection
        assert connection is not None
        section = panel.sections["p-secret"]
        assert section.meta.text() == "Secret ballot"
        own = section.cards["d1"]
        own.choose("yes")
        # Offline when casting; the chair closes the poll before the tablet is back.
        connection.backoff = Backoff(initial=3.0, maximum=3.0)
        connection.drop()
        await wait_until(lambda: connection.status.phase is Phase.RETRYING, "offline")
        click(qtbot, own.cast)
        assert own.status.text() == "Not confirmed yet — the connection dropped"
        await ok(chair, ClosePoll(chair.op(), "p-secret"))
        await wait_until(lambda: own.status.property("kind") == "error", "the refusal", 10)
        assert own.status.text() == "Not accepted: voting is closed"
        assert section.state.text() == "Voting closed"
        await shot(delegate.window, "voting-live-refused", tmp_path)
        set_language("vi")
        assert own.status.text() == "Không được chấp nhận: đã kết thúc biểu quyết"
        set_language("en")
        await chair.stop()

    run_long(body())


def test_chair_opens_without_quorum_closes_with_a_countdown_and_casts_the_tie(
    qtbot: QtBot,
    voting_room: RunningRoom,
    tmp_path: Path,
    tablet_ui: TabletUI,
    run_long: Run,
    wait_until: WaitUntil,
) -> None:
    chair = tablet_ui("a1", "A1")
    window, console = chair.window, chair.window.chair_console_view
    view = console.polls

    async def body() -> None:
        await chair.start()
        d2 = await member(voting_room, "d2")
        d3 = await member(voting_room, "d3")
        await sign_in_ui(qtbot, chair, "chair", wait_until)
        await wait_until(
            lambda: window.quorum_indicator.text() == "Present 2 / 5 · quorum 3 · not met",
            "the quorum indicator",
        )
        console.show_section("polls")
        await wait_until(lambda: view.poll_list.count() == 4, "the package's polls")
        view.select_poll("p-weighted")
        assert view.title.text() == "Weighted motion, two thirds of those present"
        assert view.rule.text() == (
            "Two thirds of members present\nA tie is decided by the chair's casting vote"
            "\nWeighted votes"
        )
        click(qtbot, view.open_poll)
        assert view.quorum_confirm.isVisible()
        assert view.quorum_text.text() == (
            "Quorum is not met (present 2 of required 3). Open anyway? This is recorded."
        )
        await shot(window, "chair-polls-quorum-live", tmp_path)
        click(qtbot, view.open_anyway)
        await wait_until(lambda: view.state.text() == "Open", "opened anyway")
        assert "opened without quorum (recorded)" in view.meta.text()
        await vote(d2, "p-weighted", "d2", "yes")
        await vote(d3, "p-weighted", "d3", "no")
        await wait_until(lambda: view.progress_text.text() == "Voted 2 of 2", "the progress")
        await shot(window, "chair-polls-live", tmp_path)

        countdown = max(2, round(timeout(2)))  # seconds: long enough to be seen when busy
        view.close_countdown.setValue(countdown)
        click(qtbot, view.close_later)
        await wait_until(lambda: view.countdown.text().startswith("Closes in 0:0"), "countdown")
        await shot(window, "chair-polls-countdown", tmp_path)
        await wait_until(lambda: view.state.text() == "Closed", "closed by the countdown", 6)
        assert view.results.outcome.text() == (
            "Tie — awaiting the chair's casting vote — but without quorum"
        )
        assert view.casting_box.isVisible() and not view.publish.isEnabled()
        view.choose_casting("yes")
        await shot(window, "chair-polls-tie-live", tmp_path)
        click(qtbot, view.publish)
        await wait_until(lambda: view.state.text() == "Published", "published")
        assert view.results.outcome.text() == "Adopted — but without quorum"
        assert view.results.decided_by.text() == "Decided by the chair's casting vote"

        # New polls: from scratch and from the package's template.
        click(qtbot, view.new_poll)
        editor = view.editor
        editor.title.setText("Chair of the finance committee")
        editor.select(editor.kind, "single")
        editor.options.setPlainText("Anna Schmidt\nLê Văn Bảo")
        click(qtbot, editor.create_button)
        await wait_until(lambda: view.poll_list.count() == 5, "the new draft")
        # listed first, shown once the room's answer selects it (a busy machine: later)
        await wait_until(lambda: view.title.text() == "Chair of the finance committee", "shown")
        assert view.state.text() == "Draft"
        click(qtbot, view.new_poll)
        editor.select_template("motion")
        assert editor.kind.isHidden() and editor.template_note.isVisible()
        editor.title.setText("Adjourn until 14:00")
        click(qtbot, editor.create_button)
        await wait_until(lambda: view.poll_list.count() == 6, "the templated draft")
        await wait_until(lambda: view.title.text() == "Adjourn until 14:00", "shown")
        assert "You may change your vote until voting closes" in view.meta.text()
        await asyncio.gather(d2.stop(), d3.stop())

    run_long(body())


def test_clerk_checks_in_a_member_without_a_tablet_and_manages_proxies(
    qtbot: QtBot,
    voting_room: RunningRoom,
    tmp_path: Path,
    tablet_ui: TabletUI,
    run_long: Run,
    wait_until: WaitUntil,
) -> None:
    clerk = tablet_ui("clerk", None)
    window, console = clerk.window, clerk.window.chair_console_view
    view = console.attendance

    async def body() -> None:
        await clerk.start()
        d2 = await member(voting_room, "d2")
        await sign_in_ui(qtbot, clerk, "clerk", wait_until)
        console.show_section("attendance")
        await wait_until(lambda: view.roster.topLevelItemCount() == 8, "the roster")
        assert view.row_texts("d4")[:3] == ("Lê Văn Cường", "A5", "Absent")
        # d1 holds d5's proxy but is not here: d5 is not represented
        assert view.row_texts("d5")[2:] == ("Absent", "", "proxy held by Nguyễn Văn An")
        assert window.quorum_indicator.text() == "Present 1 / 5 · quorum 3 · not met"

        view.select_member("d4")
        click(qtbot, view.check_in)
        await wait_until(lambda: view.row_texts("d4")[2] == "Present", "d4 checked in")
        assert view.row_texts("d4")[3].startswith("By the clerk at ")
        view.select_member("d3")
        view.select_holder("d2")
        click(qtbot, view.grant_proxy)
        await wait_until(
            lambda: view.row_texts("d3")[4] == "proxy held by Beatrix Delegate", "the proxy"
        )
        assert view.row_texts("d2")[4] == "holds the proxy of Trần Thị Bình"
        await wait_until(
            lambda: (
                window.quorum_indicator.text() == "Present 2 / 5 · +1 by proxy · quorum 3 · met"
            ),
            "quorum met",
        )
        await shot(window, "chair-attendance-live", tmp_path)
        # One proxy per holder in this meeting: the room refuses a second, in words.
        view.select_member("d4")
        view.select_holder("d2")
        click(qtbot, view.grant_proxy)
        await wait_until(lambda: view.status.text() != "", "the refusal")
        assert view.status.text().startswith("The room refused: ")
        view.select_member("d3")
        click(qtbot, view.revoke_proxy)
        await wait_until(lambda: view.row_texts("d3")[2] == "Absent", "the proxy taken back")
        set_language("vi")
        assert view.row_texts("d4")[2] == "Có mặt"
        await shot(window, "chair-attendance-live-vi", tmp_path)
        set_language("en")
        await d2.stop()

    run_long(body())


def test_by_touch_two_taps_end_at_the_rooms_receipt_and_a_double_tap_casts_nothing(
    qtbot: QtBot,
    voting_room: RunningRoom,
    tablet_ui: TabletUI,
    run_long: Run,
    wait_until: WaitUntil,
) -> None:
    """Real touch sequences (tests.tablet_client.touch) on the tablet's window, the ballot
    going to the room-server process and its receipt coming back."""
    delegate = tablet_ui("a2", "A2")
    window = delegate.window
    width, height = OFFSCREEN_SCREEN
    window.resize(width - 4, height - 4)  # touch points beyond the screen are dropped
    clock = StepClock(step=0)  # the test says when each tap is
    window.voting_panel.clock = clock
    opened: list[Tablet] = []

    async def open_poll() -> None:
        opened.append(await d1_with_poll_open(qtbot, voting_room, delegate, wait_until, "p-secret"))
        await asyncio.sleep(0.05)  # the new cards shown and laid out

    run_long(open_poll())
    (chair,) = opened
    own = window.voting_panel.sections["p-secret"].cards["d1"]
    finger = Finger(window, run_long)
    clock.advance(1)
    yes = own.option_buttons["yes"]
    finger.tap(yes)
    clock.advance(0.15)
    finger.tap(yes)  # a double tap on Yes: still only Yes under review
    clock.advance(0.15)
    finger.tap(own.cast)  # the same burst of taps, now on Cast vote: not a decision
    assert own.mode() == "reviewing" and own.review_text.text() == "You vote: Yes"
    clock.advance(1)
    finger.tap(own.cast)  # deliberate

    async def receipt() -> None:
        await wait_until(lambda: own.status.property("kind") == "recorded", "the receipt")
        await wait_until(
            lambda: any(p.voted == 1 for p in chair.of_type(PollProgress)), "counted once"
        )
        await asyncio.sleep(0.2)
        assert [p.voted for p in chair.of_type(PollProgress)][-1] == 1

    run_long(receipt())
    assert own.status.text().startswith("✓ Your secret ballot is recorded · ")
