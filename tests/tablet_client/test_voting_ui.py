"""The voting panel, the results and the chair's attendance and polls sections, with the
room played by the test (tests.tablet_client.fed): every state a ballot goes through,
shown exactly, in English and Vietnamese. test_voting_live runs the same flows against a
real room server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from room_protocol.errors import ErrorCode
from room_protocol.voting import (
    Base,
    CastBallot,
    CheckIn,
    ClosePoll,
    CreatePoll,
    Majority,
    NamedVote,
    OpenPoll,
    OptionCount,
    Outcome,
    PollKind,
    PollOption,
    PollProgress,
    PollResult,
    PollRule,
    PollSpec,
    PollState,
    PublishPoll,
    QuorumRule,
    Receipt,
    Receipts,
    SetProxy,
    Tie,
)
from tablet_client.i18n import set_language
from tests.tablet_client.fed import FedTablet, at, attendance, poll, polls

MakeFed = Callable[..., FedTablet]

Run = Callable[[Coroutine[Any, Any, Any]], Any]
SHOTS = Path("/tmp/hemicycle-shots")

MOTION = PollSpec(
    "Adopt the budget 2027",
    PollKind.YES_NO,
    rule=PollRule(Majority.TWO_THIRDS, Base.PRESENT),
    item_id="budget",
)
CHAIR_OF_FINANCE = PollSpec(
    "Chair of the finance committee",
    PollKind.SINGLE,
    (
        PollOption("o1", "Anna Schmidt"),
        PollOption("o2", "Lê Văn Bảo"),
        PollOption("o3", "Carla Ruiz"),
    ),
    rule=PollRule(Majority.PLURALITY, tie=Tie.CHAIR),
)
VENUES = PollSpec(
    "Venues for the next congress",
    PollKind.MULTIPLE,
    tuple(
        PollOption(f"v{i}", name)
        for i, name in enumerate(("Hà Nội", "Huế", "Đà Nẵng", "Cần Thơ"), 1)
    ),
    min_choices=1,
    max_choices=2,
)
BOARD = PollSpec(
    "Election of the board",
    PollKind.ELECTION,
    tuple(PollOption(f"c{i}", name) for i, name in enumerate(("Anna", "Bảo", "Carla"), 1)),
    seats=2,
    secret=True,
    rule=PollRule(Majority.PLURALITY),
)


def click(qtbot: QtBot, widget: QWidget) -> None:
    assert widget.isVisible() and widget.isEnabled(), widget.objectName()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def seconds_left(countdown: str) -> int:
    """The seconds of "Closes in 0:24"."""
    assert countdown.startswith("Closes in 0:"), countdown
    return int(countdown.removeprefix("Closes in 0:"))


async def shot(widget: QWidget, name: str, tmp_path: Path) -> None:
    await asyncio.sleep(0.05)  # let Qt lay out after a new text or a language switch
    pixmap = widget.grab()
    for folder in (tmp_path, SHOTS):
        folder.mkdir(parents=True, exist_ok=True)
        assert pixmap.save(str(folder / f"{name}.png"))


def test_yes_no_ballot_goes_from_choice_to_review_to_receipt(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    window, panel = tablet.window, tablet.window.voting_panel

    async def body() -> None:
        tablet.start("d1")
        assert not panel.isVisible()
        tablet.feed(polls(poll("p1", MOTION)))
        assert panel.isVisible()  # it comes up by itself when the poll opens
        section = panel.sections["p1"]
        assert section.title.text() == "Adopt the budget 2027"
        assert section.meta.text() == "Item 2 Budget 2027 · Named vote"
        assert section.rule.text() == "Two thirds of members present"
        card = section.cards["d1"]
        assert card.who.text() == "Your vote"
        assert card.hint.text() == "Tap Yes, No or Abstain, then Cast vote"
        assert card.mode() == "choosing" and not card.cast.isEnabled()  # greyed, in place
        assert window.presence_indicator.text() == "✓ Checked in"
        await shot(window, "voting-panel", tmp_path)
        set_language("vi")
        assert card.option_buttons["yes"].text() == "Tán thành"
        await shot(window, "voting-panel-vi", tmp_path)
        set_language("en")

        card.choose("yes")  # one tap on Yes: its review and Cast vote (two taps to vote)
        assert card.mode() == "reviewing"
        assert card.review_text.text() == "You vote: Yes"
        await shot(window, "voting-review", tmp_path)
        card.choose("no")  # the choices stay open under review
        assert card.mode() == "reviewing" and card.chosen() == (("no",), False)
        assert card.review_text.text() == "You vote: No"
        assert not await tablet.sent(CastBallot)
        click(qtbot, card.cast)
        assert card.status.text() == "Sending…"
        assert card.mode() == "done"
        (ballot,) = await tablet.sent(CastBallot)
        assert (ballot.poll_id, ballot.delegate_id, ballot.choices) == ("p1", "d1", ("no",))

        tablet.record(ballot)
        status = card.status.text()
        assert status.startswith("✓ Your vote is recorded · ")
        assert "receipt 3F9A21C4B7" in status and status.endswith("\nYou voted: No")
        assert card.change_vote.isHidden()  # this poll does not allow changing
        await shot(window, "voting-receipt", tmp_path)
        set_language("vi")
        assert card.status.text().startswith("✓ Phiếu của bạn đã được ghi nhận · ")
        assert card.status.text().endswith("Bạn đã chọn: Không tán thành")
        await shot(window, "voting-receipt-vi", tmp_path)
        set_language("en")

        # Hidden: a strip says the vote is in and brings the panel back.
        click(qtbot, panel.hide_button)
        assert not panel.isVisible()
        strip = window.vote_strip
        assert strip.text.text() == "Your vote on “Adopt the budget 2027” is recorded"
        click(qtbot, strip.action)
        assert panel.isVisible() and strip.isHidden()

        # Closed, then published: the result replaces the ballot.
        tablet.feed(polls(poll("p1", MOTION, PollState.CLOSED, voted=2)))
        assert section.state.text() == "Voting closed"
        result = PollResult(
            "p1",
            Outcome.ADOPTED,
            (OptionCount("yes", 2, 2), OptionCount("no", 1, 1), OptionCount("abstain", 0, 0)),
            ballots=3,
            cast=3,
            abstentions=0,
            base=3,
            required=2,
            winners=("yes",),
            present=3,
            members=3,
            named=(
                NamedVote("d1", ("no",), 1),
                NamedVote("d2", ("yes",), 1),
                NamedVote("d3", ("yes",), 1, cast_by="d2"),
            ),
        )
        tablet.feed(polls(poll("p1", MOTION, PollState.PUBLISHED, voted=3), results=[result]))
        results = panel.sections["p1"].results
        assert results.isVisible() and not section.cards
        assert results.outcome.text() == "Adopted"
        assert [b.text for b in results.chart.bars] == ["2 · 67 %", "1 · 33 %", "0"]
        assert results.figures.text() == (
            "3 ballots · 0 abstentions · base 3 · 2 needed · 3 of 3 members present"
        )
        assert results.named_votes() == [
            ("Nguyễn Văn An", "No", ""),
            ("Beatrix Delegate", "Yes", ""),
            ("Trần Thị Bình", "Yes", "cast by Beatrix Delegate (proxy)"),
        ]
        await shot(window, "results", tmp_path)
        set_language("vi")
        assert results.outcome.text() == "Được thông qua"
        await shot(window, "results-vi", tmp_path)
        set_language("en")

    run_async(body())


def test_single_choice_with_an_explicit_blank_ballot(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()

    async def body() -> None:
        tablet.start("d1")
        tablet.feed(polls(poll("p2", CHAIR_OF_FINANCE)))
        section = tablet.window.voting_panel.sections["p2"]
        card = section.cards["d1"]
        assert section.rule.text() == (
            "The option with the most votes wins\nA tie is decided by the chair's casting vote"
        )
        assert card.hint.text() == "Choose one, or abstain"
        assert [b.text() for b in card.option_buttons.values()] == [
            "Anna Schmidt",
            "Lê Văn Bảo",
            "Carla Ruiz",
            "Abstain (blank ballot)",
        ]
        card.choose("o2")
        assert card.chosen() == (("o2",), False)
        assert card.review_text.text() == "You vote: Lê Văn Bảo"
        card.choose("")  # the blank ballot is a radio button like the others
        assert card.chosen() == ((), True)
        assert card.review_text.text() == "You vote: Blank ballot (abstain)"
        click(qtbot, card.cast)
        (ballot,) = await tablet.sent(CastBallot)
        assert ballot.choices == ()
        tablet.record(ballot)
        assert card.status.text().endswith("You voted: Blank ballot (abstain)")

    run_async(body())


def test_multiple_choice_holds_to_its_limits(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()

    async def body() -> None:
        tablet.start("d1")
        tablet.feed(polls(poll("p3", VENUES)))
        card = tablet.window.voting_panel.sections["p3"].cards["d1"]
        buttons = card.option_buttons
        assert "" not in buttons  # at least one: no blank ballot
        assert card.hint.text() == "Choose up to 2 · 0 chosen"
        assert card.cast.isVisible() and not card.cast.isEnabled()
        card.choose("v3")
        assert card.review_text.text() == "You vote: Đà Nẵng"  # one is a whole choice
        card.choose("v1")
        assert card.hint.text() == "Choose up to 2 · 2 chosen"
        assert not buttons["v2"].isEnabled() and not buttons["v4"].isEnabled()  # full
        await shot(tablet.window, "voting-multiple", tmp_path)
        card.choose("v3")  # let one go: the others can be chosen again
        assert buttons["v2"].isEnabled()
        card.choose("v4")
        assert card.review_text.text() == "You vote: Hà Nội, Cần Thơ"
        card.choose("v1")
        card.choose("v4")  # none chosen: nothing to cast
        assert card.mode() == "choosing" and not card.cast.isEnabled()
        card.choose("v1")
        card.choose("v4")
        click(qtbot, card.cast)
        (ballot,) = await tablet.sent(CastBallot)
        assert ballot.choices == ("v1", "v4")  # in the poll's order

    run_async(body())


def test_secret_election_forgets_the_choice_once_recorded(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()

    async def body() -> None:
        tablet.start("d1")
        tablet.feed(polls(poll("p4", BOARD)))
        section = tablet.window.voting_panel.sections["p4"]
        card = section.cards["d1"]
        assert section.meta.text() == "Secret ballot"
        assert section.rule.text() == "The 2 candidates with the most votes are elected"
        assert card.hint.text() == "Choose up to 2 · 0 chosen"
        card.choose("c2")
        card.choose("c3")
        assert card.review_text.text() == "You vote: Bảo, Carla"
        click(qtbot, card.cast)
        (ballot,) = await tablet.sent(CastBallot)
        tablet.record(ballot, code="77AB01CD9E")
        assert card.status.text().startswith("✓ Your secret ballot is recorded · ")
        assert "Bảo" not in card.status.text() and "77AB01CD9E" in card.status.text()
        kept = tablet.tablet.voting.ballots[("p4", "d1")]
        assert kept.voted is None and kept.choices == ()
        assert card.chosen() == ((), False)  # nothing left ticked either
        assert not await tablet.sent(CastBallot)  # the outbox let go of the ballot

    run_async(body())


def test_the_receipt_shows_the_signed_audit_head(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    """The room's signed head when the ballot went in: the fingerprint the room display
    showed, to be checked against the chain later (docs/security.md)."""
    tablet = fed()

    async def body() -> None:
        tablet.start("d1")
        tablet.feed(polls(poll("p4", BOARD)))
        card = tablet.window.voting_panel.sections["p4"].cards["d1"]
        card.choose("c2")
        click(qtbot, card.cast)
        (ballot,) = await tablet.sent(CastBallot)
        tablet.record(ballot, code="77ab01cd9e12", head=(1234, "3f9ac21b00112233"))
        assert card.status.text().endswith("receipt 77ab01cd9e12\nAudit seq 1234 · 3F9A C21B")
        await shot(tablet.window, "voting-receipt-audit-head", tmp_path)
        set_language("vi")
        assert card.status.text().endswith("\nKiểm toán seq 1234 · 3F9A C21B")
        await shot(tablet.window, "voting-receipt-audit-head-vi", tmp_path)
        set_language("en")

    run_async(body())


def test_a_proxy_gets_its_own_labelled_ballot_and_refusals_are_in_words(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    window = tablet.window

    async def body() -> None:
        tablet.start("d1", present=("d1", "d2"), proxies=[("d3", "d1")])
        assert window.presence_indicator.text() == "✓ Checked in · proxy for Trần Thị Bình"
        tablet.feed(polls(poll("p1", MOTION)))
        section = window.voting_panel.sections["p1"]
        assert list(section.cards) == ["d1", "d3"]
        proxy = section.cards["d3"]
        assert proxy.who.text() == "Proxy for Trần Thị Bình"
        await shot(window, "voting-proxy", tmp_path)
        proxy.choose("abstain")
        click(qtbot, proxy.cast)
        (ballot,) = await tablet.sent(CastBallot)
        assert ballot.delegate_id == "d3"
        tablet.refuse(ballot, ErrorCode.NOT_PRESENT, "Trần Thị Bình is present")
        await asyncio.sleep(0.01)  # the answer reaches the card through the link
        assert proxy.status.property("kind") == "error"
        assert proxy.status.text().startswith("Not accepted: only members who are checked in")
        set_language("vi")
        assert proxy.status.text().startswith("Không được chấp nhận: chỉ thành viên đã điểm danh")
        assert proxy.who.text() == "Bỏ phiếu thay Trần Thị Bình (ủy quyền)"
        set_language("en")
        assert proxy.mode() == "reviewing" and proxy.cast.isEnabled()  # try again
        assert proxy.review_text.text() == "You vote: Abstain"
        # The giver arrives: the proxy ballot goes, their own vote is theirs again.
        tablet.feed(attendance(("d1", "d2", "d3"), [("d3", "d1")]))
        assert list(section.cards) == ["d1"]

    run_async(body())


def test_a_dropped_connection_leaves_the_ballot_unconfirmed_until_its_receipt(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()

    async def body() -> None:
        tablet.start("d1")
        tablet.feed(polls(poll("p1", MOTION)))
        card = tablet.window.voting_panel.sections["p1"].cards["d1"]
        card.choose("yes")
        click(qtbot, card.cast)
        (ballot,) = await tablet.sent(CastBallot)
        tablet.drop()
        assert card.status.text() == "Not confirmed yet — the connection dropped"
        assert card.resend.isVisible()
        await shot(tablet.window, "voting-unconfirmed", tmp_path)
        click(qtbot, card.resend)
        assert [b.op_id for b in await tablet.sent(CastBallot)] == [
            ballot.op_id
        ]  # the same ballot id
        tablet.connect()  # the outbox sends it again on reconnect
        assert card.status.text() == "Sending…"
        tablet.record(ballot)
        tablet.record(ballot)  # answered twice (sent twice): one receipt
        assert card.status.text().startswith("✓ Your vote is recorded")
        assert not await tablet.sent(CastBallot)

    run_async(body())


def test_receipts_restore_recorded_ballots_and_a_vote_can_be_changed(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    changeable = PollSpec("Adjourn until 14:00", PollKind.YES_NO, allow_change=True)

    async def body() -> None:
        tablet.start("d1")
        tablet.feed(polls(poll("p5", changeable, closes_at=at(25))))
        section = tablet.window.voting_panel.sections["p5"]
        card = section.cards["d1"]
        assert section.meta.text() == "Named vote · You may change your vote until voting closes"
        assert 0 < seconds_left(section.countdown.text()) <= 25  # however slow the machine
        # After a restart the room lists the ballot cast before it.
        tablet.feed(Receipts((Receipt("p5", "d1", "old-ballot-1", "0011AABBCC", at(-10)),)))
        assert card.status.text().startswith("✓ Your vote is recorded")
        assert "You voted" not in card.status.text()  # this tablet does not know the choice
        click(qtbot, card.change_vote)
        assert card.status.text() == "Your recorded vote stands until you cast a new one"
        card.choose("no")
        click(qtbot, card.cast)
        (ballot,) = await tablet.sent(CastBallot)
        assert ballot.op_id != "old-ballot-1"  # a new ballot replaces the old one
        tablet.record(ballot, code="FFEE001122")
        assert "FFEE001122" in card.status.text()
        assert card.status.text().endswith("You voted: No")
        # The countdown runs out: closed.
        tablet.feed(polls(poll("p5", changeable, PollState.CLOSED)))
        assert section.state.text() == "Voting closed"
        assert card.change_vote.isHidden() and section.countdown.text() == ""

    run_async(body())


def test_a_member_who_is_not_checked_in_is_told_so(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()

    async def body() -> None:
        tablet.start("d1", present=("d2",))
        assert tablet.window.presence_indicator.text() == "Not checked in"
        tablet.feed(polls(poll("p1", MOTION)))
        card = tablet.window.voting_panel.sections["p1"].cards["d1"]
        assert card.status.text() == (
            "You are not checked in, so you cannot vote. Please ask the clerk."
        )
        assert card.choices_box.isHidden()
        tablet.feed(attendance(("d1", "d2")))  # the clerk checks them in
        assert card.choices_box.isVisible() and card.mode() == "choosing"

    run_async(body())


def test_chair_sees_quorum_and_runs_attendance(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    window = tablet.window
    console = window.chair_console_view
    view = console.attendance

    async def body() -> None:
        tablet.start("chair", present=("d1",), proxies=[("d3", "d1")])
        assert window.screens.currentWidget() is console
        tablet.feed(attendance(("d1",), [("d3", "d1")], required=2))
        assert window.quorum_indicator.text() == ("Present 1 / 3 · +1 by proxy · quorum 2 · met")
        assert window.quorum_indicator.property("kind") == "met"
        tablet.feed(attendance(("d1",), (), required=2))
        assert window.quorum_indicator.text() == "Present 1 / 3 · quorum 2 · not met"
        assert window.quorum_indicator.property("kind") == "not_met"
        assert console.sections.tabText(1) == "Attendance (1/3)"
        console.show_section("attendance")
        assert view.row_texts("d2")[:3] == ("Beatrix Delegate", "A3", "Absent")
        assert view.row_texts("clerk")[0] == "Clerk Person (Clerk, non-voting)"
        view.select_member("d2")
        click(qtbot, view.check_in)
        (check_in,) = await tablet.sent(CheckIn)
        assert (check_in.delegate_id, check_in.present) == ("d2", True)
        tablet.answer(check_in)
        view.select_member("d3")
        view.select_holder("d2")
        click(qtbot, view.grant_proxy)
        (proxy,) = await tablet.sent(SetProxy)
        assert (proxy.giver_id, proxy.holder_id) == ("d3", "d2")
        tablet.answer(proxy)
        tablet.feed(attendance(("d1", "d2"), [("d3", "d2")], required=2))
        assert view.row_texts("d3")[2:] == (
            "Absent · represented",
            "",
            "proxy held by Beatrix Delegate",
        )
        assert view.row_texts("d2")[4] == "holds the proxy of Trần Thị Bình"
        assert view.revoke_proxy.isEnabled()
        await shot(window, "chair-attendance", tmp_path)
        set_language("vi")
        assert console.sections.tabText(1) == "Điểm danh (2/3)"
        await shot(window, "chair-attendance-vi", tmp_path)
        set_language("en")

    run_async(body())


def test_chair_creates_opens_without_quorum_closes_and_publishes_with_a_casting_vote(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    window = tablet.window
    console = window.chair_console_view
    view = console.polls
    editor = view.editor

    async def body() -> None:
        tablet.start("chair", present=("d1",))
        tablet.feed(attendance(("d1",), required=2), polls(templates=["motion", "election"]))
        console.show_section("polls")
        assert view.page() == "empty"
        click(qtbot, view.new_poll)
        assert view.page() == "editor"
        assert [editor.template.itemText(i) for i in range(editor.template.count())] == [
            "None — set everything here",
            "motion",
            "election",
        ]
        editor.title.setText("Chair of the finance committee")
        editor.select_kind(PollKind.SINGLE)
        click(qtbot, editor.create_button)
        assert editor.problem.text() == "Give at least two options, one per line"
        editor.options.setPlainText("Anna Schmidt\nLê Văn Bảo\n")
        editor.select(editor.majority, Majority.PLURALITY.value)
        editor.select(editor.tie, Tie.CHAIR.value)
        await shot(window, "chair-poll-editor", tmp_path)
        click(qtbot, editor.create_button)
        (create,) = await tablet.sent(CreatePoll)
        spec = create.spec
        assert (spec.title, spec.kind, spec.item_id) == (
            "Chair of the finance committee",
            PollKind.SINGLE,
            "budget",  # the current item, unless the chair picks another
        )
        assert [o.label for o in spec.options] == ["Anna Schmidt", "Lê Văn Bảo"]
        assert spec.rule == PollRule(Majority.PLURALITY, tie=Tie.CHAIR)
        tablet.answer(create)
        drafted = poll(create.poll_id, spec, PollState.DRAFT)
        tablet.feed(polls(drafted, templates=["motion"]))
        await asyncio.sleep(0.01)
        assert view.page() == "detail" and view.selected_poll() == create.poll_id
        assert view.title.text() == "Chair of the finance committee"
        assert view.state.text() == "Draft"

        # Without quorum: a warning first; opening anyway sends the override.
        view.open_countdown.setValue(0)
        click(qtbot, view.open_poll)
        assert view.quorum_confirm.isVisible() and not await tablet.sent(OpenPoll)
        assert view.quorum_text.text() == (
            "Quorum is not met (present 1 of required 2). Open anyway? This is recorded."
        )
        await shot(window, "chair-polls-quorum", tmp_path)
        click(qtbot, view.open_anyway)
        (opening,) = await tablet.sent(OpenPoll)
        assert opening.override_quorum and opening.close_after_seconds == 0
        tablet.answer(opening)
        opened = poll(create.poll_id, spec, PollState.OPEN, quorum_override=True)
        tablet.feed(polls(opened), PollProgress(create.poll_id, 1, 3))
        assert view.state.text() == "Open"
        assert view.progress_text.text() == "Voted 1 of 3"
        assert view.progress.value() == 1 and view.progress.maximum() == 3
        assert "opened without quorum (recorded)" in view.meta.text()
        assert console.sections.tabText(2) == "Polls (1 open)"
        view.close_countdown.setValue(30)
        click(qtbot, view.close_later)
        (closing,) = await tablet.sent(ClosePoll)
        assert closing.after_seconds == 30
        tablet.answer(closing)
        counting = poll(create.poll_id, spec, PollState.OPEN, closes_at=at(30))
        tablet.feed(polls(counting))
        assert 0 < seconds_left(view.countdown.text()) <= 30
        assert view.close_later.isHidden() and view.close_now.isVisible()
        await shot(window, "chair-polls", tmp_path)

        # Closed on a tie: the chair sees the result first and must give the casting vote.
        tie = PollResult(
            create.poll_id,
            Outcome.TIE,
            (OptionCount("o1", 1, 1), OptionCount("o2", 1, 1)),
            ballots=2,
            cast=2,
            abstentions=0,
            base=2,
            required=0,
            tied=("o1", "o2"),
            present=1,
            members=3,
            named=(NamedVote("d1", ("o1",), 1), NamedVote("d2", ("o2",), 1)),
        )
        closed = poll(create.poll_id, spec, PollState.CLOSED, voted=2)
        tablet.feed(polls(closed, results=[tie]))
        assert view.results.outcome.text() == "Tie — awaiting the chair's casting vote"
        assert view.casting_text.text() == "Tie: give your casting vote (choose 1)"
        assert not view.publish.isEnabled()
        view.choose_casting("o2")
        assert view.publish.isEnabled()
        await shot(window, "chair-polls-tie", tmp_path)
        set_language("vi")
        assert view.results.outcome.text() == "Hòa phiếu — chờ chủ tọa quyết định"
        await shot(window, "chair-polls-tie-vi", tmp_path)
        set_language("en")
        click(qtbot, view.publish)
        (publish,) = await tablet.sent(PublishPoll)
        assert publish.casting == ("o2",)

    run_async(body())


def test_quorum_rule_none_and_the_clerk_sees_but_does_not_run_polls(
    qtbot: QtBot, tmp_path: Path, fed: MakeFed, run_async: Run
) -> None:
    tablet = fed()
    window = tablet.window
    view = window.chair_console_view.polls

    async def body() -> None:
        tablet.start("clerk")
        tablet.feed(attendance(("d1",), rule=QuorumRule.NONE, required=0))
        assert window.quorum_indicator.text() == "Present 1 / 3 · no quorum rule"
        tablet.feed(polls(poll("p1", MOTION, PollState.DRAFT)))
        window.chair_console_view.show_section("polls")
        assert view.page() == "detail"
        assert view.open_box.isHidden() and view.new_poll.isVisible()  # clerks create only
        tablet.feed(polls(poll("p1", MOTION, PollState.OPEN)))
        assert view.progress_box.isVisible() and view.close_now.isHidden()
        assert not window.voting_panel.isVisible()  # the clerk does not vote here

    run_async(body())
