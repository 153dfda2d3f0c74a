"""Voting on the tablet: the panel that comes up over the reader when a poll opens, with
one ballot per vote this tablet casts (the member's own and one per absent member whose
proxy they hold), the confirmation, the receipt, and the result once it is published.

A ballot travels as a CastBallot whose op_id is its ballot id. It is confirmed only by
``poll.recorded``; if the connection drops first, the ballot says so and can be sent
again with the same id (the outbox also sends it again on reconnect), so either way it
ends at one receipt and one count. The receipts the room lists after sign-in restore
"recorded" after a restart.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from room_client.timers import format_duration
from room_protocol.messages import ErrorMessage, MeetingSnapshot, Message
from room_protocol.voting import (
    ABSTAIN,
    Abstentions,
    AttendanceState,
    BallotRecorded,
    CastBallot,
    Outcome,
    Poll,
    PollResult,
    PollSpec,
    PollsState,
    PollState,
    Receipts,
    fingerprint,
)
from tablet_client.i18n import tr, tr_text, trn
from tablet_client.live_link import LiveLink
from tablet_client.polls import (
    Ballot,
    BallotSlot,
    Stage,
    allows_blank,
    ballot_slots,
    choice_hint,
    choices_ready,
    closes_in,
    keep_roll_calls,
    local_time,
    option_label,
    outcome_text,
    panel_order,
    refusal,
    rule_lines,
)
from tablet_client.views.main_window import MainWindow
from tablet_client.views.results_view import Bar, ResultsView
from tablet_client.views.voting_view import BLANK, BallotCardView, PollSectionView

TICK_MS = 500
Section = tuple[Poll, list[BallotSlot], PollResult | None]  # a poll in the panel
URGENT_S = 10  # the countdown turns red


def describe_choices(spec: PollSpec, choices: tuple[str, ...], blank: bool = False) -> str:
    """What a ballot chose, in words ("Yes"; "Anna, Bao"; "Blank ballot (abstain)")."""
    if blank or not choices:
        return tr("vote.blank")
    return ", ".join(tr_text(option_label(spec, choice)) for choice in choices)


def item_line(meeting: MeetingSnapshot | None, spec: PollSpec) -> str:
    item = meeting.item(spec.item_id) if meeting is not None and spec.item_id else None
    return tr("vote.item", number=item.number, title=item.title) if item is not None else ""


def result_line(poll: Poll, result: PollResult, quorum_required: int | None = None) -> str:
    """The outcome in words, with the winners, and as plainly that the poll was opened
    without quorum ("Adopted — but without quorum: 1 of 12 present, 7 needed")."""
    outcome, winners = outcome_text(poll.spec, result, poll.state)
    text = tr_text(outcome)
    if winners:
        text = tr(
            "results.with_winners", outcome=text, winners=", ".join(tr_text(w) for w in winners)
        )
    if not poll.quorum_override:
        return text
    if poll.spec.weighted:  # its figures are weights; the quorum counts members
        return tr("results.without_quorum_weighted", outcome=text)
    if quorum_required:
        return tr(
            "results.without_quorum_needed",
            outcome=text,
            present=result.present,
            members=result.members,
            required=quorum_required,
        )
    return tr(
        "results.without_quorum", outcome=text, present=result.present, members=result.members
    )


def show_result(
    view: ResultsView,
    poll: Poll,
    result: PollResult,
    meeting: MeetingSnapshot | None,
    *,
    title: bool = True,
    quorum_required: int | None = None,
) -> None:
    """Fill ``view`` with ``result``: outcome, bars, figures and the named votes.
    ``quorum_required`` (members needed for the quorum, if known) is named beside the
    outcome of a poll opened without quorum."""
    spec = poll.spec
    text = result_line(poll, result, quorum_required)
    kind = {
        Outcome.ADOPTED: "good",
        Outcome.DECIDED: "good" if result.winners else "none",
        Outcome.REJECTED: "bad",
        Outcome.NO_DECISION: "none",
        Outcome.TIE: "wait",
    }[result.outcome]
    if poll.quorum_override:
        kind = "inquorate"
    bars = []
    for count in result.counts:
        # A share of the votes cast; abstentions that are not votes cast have none.
        excluded = count.option_id == ABSTAIN and spec.rule.abstentions is Abstentions.EXCLUDED
        shared = result.cast and not excluded
        share = f" · {round(100 * count.votes / result.cast)} %" if shared else ""
        bars.append(
            Bar(
                tr_text(option_label(spec, count.option_id)),
                count.votes,
                f"{count.votes}{share}",
                count.option_id in result.winners,
                muted=excluded,
            )
        )
    figures = [
        trn("results.ballots", result.ballots),
        trn("results.abstentions", result.abstentions),
        tr("results.base", count=result.base),
    ]
    if result.required:
        figures.append(tr("results.required", count=result.required))
    if result.members:
        key = "results.present_weighted" if spec.weighted else "results.present"
        figures.append(trn(key, result.members, present=result.present))
    decided_by = {"chair": "results.decided_by_chair", "lot": "results.decided_by_lot"}
    named_rows = None
    if not spec.secret:
        named_rows = []
        for vote in result.named:
            member = meeting.member(vote.delegate_id) if meeting is not None else None
            note = ""
            if vote.cast_by:
                holder = meeting.member(vote.cast_by) if meeting is not None else None
                note = tr("results.by_proxy", name=holder.name if holder else vote.cast_by)
            if spec.weighted:
                weight = tr("results.weight", weight=vote.weight)
                note = f"{note} · {weight}" if note else weight
            named_rows.append(
                (
                    member.name if member is not None else vote.delegate_id,
                    describe_choices(spec, vote.choices),
                    note,
                )
            )
    view.show_result(
        title=spec.title if title else "",
        outcome=text,
        kind=kind,
        bars=bars,
        figures=" · ".join(figures),
        decided_by=tr(decided_by[result.decided_by]) if result.decided_by in decided_by else "",
        named_heading=tr("results.named_heading"),
        columns=(tr("results.column_member"), tr("results.column_vote"), ""),
        named_rows=named_rows,
    )


class VotingController(QObject):
    def __init__(
        self,
        window: MainWindow,
        link: LiveLink,
        meeting: Callable[[], MeetingSnapshot | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.panel = window.voting_panel
        self.link = link
        self._meeting = meeting
        self.attendance: AttendanceState | None = None
        self.polls: PollsState | None = None
        self.ballots: dict[tuple[str, str], Ballot] = {}
        self.collapsed = False
        self._seen: set[tuple[str, PollState]] = set()  # what the panel came up for
        self._dismissed: set[str] = set()  # closed or published polls the member put away
        self._strip_put_away: set[str] = set()  # open polls whose strip has nothing to ask
        self._shown_open: set[str] = set()  # polls this tablet voted in, shown while open
        self._polls_known = False  # the first poll.state: old results do not pop up
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

        self.panel.hide_requested.connect(self.collapse)
        self.panel.ballot_action.connect(self._action)
        self.panel.chosen_changed.connect(self._chosen)
        window.vote_strip.action_requested.connect(self.expand)
        window.vote_strip.dismissed.connect(self._dismiss_strip)
        link.received.connect(self._receive)
        link.identity_changed.connect(self._identity_changed)
        link.disconnected.connect(self._dropped)
        link.reconnected.connect(self._reconnected)

    # --- state in ---------------------------------------------------------------------------

    def _receive(self, message: Message) -> None:
        if isinstance(message, AttendanceState):
            self.attendance = message
        elif isinstance(message, PollsState):
            self.polls = keep_roll_calls(self.polls, message)
            if not self._polls_known:
                self._polls_known = True
                self._seen |= {
                    (p.id, p.state) for p in message.polls if p.state is not PollState.OPEN
                }
        elif isinstance(message, BallotRecorded):
            self._ballot(message.receipt.poll_id, message.receipt.delegate_id).recorded(
                message.receipt
            )
        elif isinstance(message, Receipts):
            for receipt in sorted(message.receipts, key=lambda r: r.at):
                self._ballot(receipt.poll_id, receipt.delegate_id).recorded(receipt)
        else:
            return
        self.refresh()

    def meeting_changed(self) -> None:
        self.refresh()

    def _identity_changed(self) -> None:
        # Whoever sits down next must not see this member's ballots.
        self.ballots.clear()
        self._seen = {seen for seen in self._seen if seen[1] is not PollState.OPEN}
        self._shown_open.clear()
        self._strip_put_away.clear()
        self.collapsed = False
        self.refresh()

    def _dropped(self) -> None:
        for ballot in self.ballots.values():
            ballot.dropped()
        self.refresh()

    def _reconnected(self) -> None:
        for ballot in self.ballots.values():
            if ballot.ballot_id is not None and self.link.is_pending(ballot.ballot_id):
                ballot.resent()  # the outbox sends it again with the same id
        self.refresh()

    # --- what is shown ---------------------------------------------------------------------

    def poll(self, poll_id: str) -> Poll | None:
        polls = self.polls.polls if self.polls is not None else ()
        return next((p for p in polls if p.id == poll_id), None)

    def slots(self, poll: Poll) -> list[BallotSlot]:
        me = self.link.me
        if me is None or not self.link.may(CastBallot):
            return []
        return ballot_slots(me.delegate_id, self._meeting(), self.attendance, poll)

    def _ballot(self, poll_id: str, delegate_id: str) -> Ballot:
        key = (poll_id, delegate_id)
        ballot = self.ballots.get(key)
        if ballot is None:
            poll = self.poll(poll_id)
            ballot = Ballot(poll_id, delegate_id, secret=poll is not None and poll.spec.secret)
            self.ballots[key] = ballot
        return ballot

    def _sections(self) -> list[Section]:
        if self.polls is None or self.link.me is None:
            return []
        results = {r.poll_id: r for r in self.polls.results}
        shown: list[Section] = []
        for poll in panel_order(list(self.polls.polls)):
            slots = self.slots(poll)
            result = results.get(poll.id)
            if poll.state is PollState.OPEN and slots:
                self._shown_open.add(poll.id)
                shown.append((poll, slots, None))
            elif poll.id in self._dismissed:
                continue
            elif poll.state is PollState.CLOSED and poll.id in self._shown_open:
                shown.append((poll, slots, None))
            elif (
                poll.state is PollState.PUBLISHED
                and result is not None
                and (not self.link.presiding or poll.id in self._shown_open)
            ):
                shown.append((poll, [], result))
        return shown

    def refresh(self) -> None:
        sections = self._sections()
        self.panel.set_sections([poll.id for poll, _slots, _result in sections])
        pop_up = False
        for poll, slots, result in sections:
            section = self.panel.sections[poll.id]
            self._show_section(section, poll, slots, result)
            if (poll.id, poll.state) not in self._seen:
                self._seen.add((poll.id, poll.state))
                waiting = any(
                    self._ballot(poll.id, s.delegate_id).stage is not Stage.RECORDED for s in slots
                )
                if poll.state is PollState.PUBLISHED or (poll.state is PollState.OPEN and waiting):
                    pop_up = True
        if not sections:
            self.panel.hide()
        elif pop_up:
            self.collapsed = False
            self.panel.open()
            self.panel.show_first()  # the open ballot (or the newest result) is on top
        elif not self.collapsed and self.panel.isHidden():
            self.panel.open()
        counting = any(p.state is PollState.OPEN and p.closes_at for p, _s, _r in sections)
        if counting and not self._timer.isActive():
            self._timer.start()
        elif not counting:
            self._timer.stop()
        self._tick()
        self._show_strip(sections)
        to_vote = self.waiting_poll()
        self.window.lock_view.set_vote(to_vote.spec.title if to_vote is not None else "")

    def waiting_poll(self) -> Poll | None:
        """The first open poll where a ballot of this tablet can still be cast."""
        for poll in panel_order(list(self.polls.polls) if self.polls is not None else []):
            if poll.state is not PollState.OPEN:
                continue
            for slot in self.slots(poll):
                stage = self._ballot(poll.id, slot.delegate_id).stage
                if slot.present and stage is not Stage.RECORDED:
                    return poll
        return None

    def show_waiting_ballot(self) -> None:
        """After the screen is unlocked: straight to a ballot still to be cast."""
        if self.waiting_poll() is not None:
            self.expand()

    def _show_section(
        self,
        section: PollSectionView,
        poll: Poll,
        slots: list[BallotSlot],
        result: PollResult | None,
    ) -> None:
        spec, meeting = poll.spec, self._meeting()
        section.title.setText(spec.title)
        meta = [item_line(meeting, spec), tr("vote.secret" if spec.secret else "vote.named")]
        if spec.allow_change:
            meta.append(tr("vote.may_change"))
        section.meta.setText(" · ".join(part for part in meta if part))
        section.rule.setText("\n".join(tr_text(line) for line in rule_lines(spec)))
        section.set_state(tr("vote.closed") if poll.state is PollState.CLOSED else "")
        labels = {o.id: tr_text(option_label(spec, o.id)) for o in spec.options}
        blank = tr("vote.abstain_blank") if allows_blank(spec) else ""
        for card in section.set_cards([slot.delegate_id for slot in slots]):
            card.set_options(
                spec.kind.value, list(labels.items()), blank=blank, max_choices=spec.max_choices
            )
        for slot in slots:
            section.cards[slot.delegate_id].set_labels(
                {**labels, BLANK: blank} if blank else labels
            )
            self._show_card(section.cards[slot.delegate_id], poll, slot)
        if result is not None:
            show_result(
                section.results,
                poll,
                result,
                meeting,
                title=False,
                quorum_required=self.attendance.required if self.attendance else None,
            )
            section.results.show()
        else:
            section.results.hide()

    def _show_card(self, card: BallotCardView, poll: Poll, slot: BallotSlot) -> None:
        spec = poll.spec
        ballot = self._ballot(poll.id, slot.delegate_id)
        ballot.secret = spec.secret
        if ballot.secret:
            ballot.voted = None
        who = tr("vote.proxy_for", name=slot.name) if slot.proxy else tr("vote.your_vote")
        if spec.weighted:
            who = trn("vote.with_weight", slot.weight, who=who)
        card.who.setText(who)
        card.set_chosen(ballot.choices, ballot.blank)  # nothing stays ticked once recorded
        is_open = poll.state is PollState.OPEN
        stage = ballot.stage
        card.set_actions(resend=False, change_vote=False, keep_vote=False)
        if not slot.present and stage is not Stage.RECORDED:
            card.set_mode("done")
            card.set_status("info", tr("vote.not_checked_in"))
            return
        if not is_open and stage in (Stage.CHOOSING, Stage.REVIEWING, Stage.REFUSED):
            card.set_mode("done")
            if ballot.changing and ballot.receipt is not None:
                card.set_status("recorded", self._receipt_text(spec, ballot))
            elif stage is Stage.REFUSED:
                card.set_status("error", tr_text(refusal(ballot.problem)))
            else:
                card.set_status("info", tr("vote.closed_without_vote"))
            return
        if stage in (Stage.CHOOSING, Stage.REVIEWING, Stage.REFUSED):
            # A whole choice is under review, ready to cast (again, after a refusal).
            whole = stage is Stage.REVIEWING or (
                stage is Stage.REFUSED and choices_ready(spec, ballot.choices, ballot.blank)
            )
            card.set_mode("reviewing" if whole else "choosing")
            card.hint.setText(tr_text(choice_hint(spec, len(ballot.choices))))
            card.review_text.setText(
                tr("vote.you_vote", choice=describe_choices(spec, ballot.choices, ballot.blank))
                if whole
                else ""
            )
            if stage is Stage.REFUSED:
                card.set_status("error", tr_text(refusal(ballot.problem)))
            elif ballot.changing:
                card.set_status("info", tr("vote.changing"))
            else:
                card.set_status("", "")
            card.set_actions(resend=False, change_vote=False, keep_vote=ballot.changing)
        elif stage is Stage.SENDING:
            card.set_mode("done")
            card.set_status("sending", tr("vote.sending"))
        elif stage is Stage.UNCONFIRMED:
            card.set_mode("done")
            card.set_status("unconfirmed", tr("vote.unconfirmed"))
            card.set_actions(resend=True, change_vote=False, keep_vote=False)
        else:
            card.set_mode("done")
            card.set_status("recorded", self._receipt_text(spec, ballot))
            may_change = spec.allow_change and not spec.secret and is_open
            card.set_actions(resend=False, change_vote=may_change, keep_vote=False)

    def _receipt_text(self, spec: PollSpec, ballot: Ballot) -> str:
        receipt = ballot.receipt
        assert receipt is not None
        time, code = local_time(receipt.at), receipt.code
        # The room's signed audit head when the ballot went in: witnessed on the display.
        head = (
            "\n"
            + tr("vote.audit_head", seq=receipt.head_seq, fingerprint=fingerprint(receipt.head))
            if receipt.head
            else ""
        )
        if spec.secret:
            return tr("vote.recorded_secret", time=time, code=code) + head
        text = tr("vote.recorded", time=time, code=code) + head
        if ballot.voted is not None:
            choice = describe_choices(spec, ballot.voted)
            text += "\n" + tr("vote.recorded_choice", choice=choice)
        return text

    def _tick(self) -> None:
        now = self.link.server_now()
        for poll_id, section in self.panel.sections.items():
            poll = self.poll(poll_id)
            left = closes_in(poll, now) if poll is not None else None
            if left is None:
                section.set_countdown("", False)
            else:
                section.set_countdown(
                    tr("vote.closes_in", time=format_duration(left, up=True)), left <= URGENT_S
                )

    def _show_strip(self, sections: list[Section]) -> None:
        strip = self.window.vote_strip
        polls = self.polls.polls if self.polls is not None else ()
        open_polls = [p for p in polls if p.state is PollState.OPEN]
        if self.panel.isVisible():
            strip.hide()
            return
        voting = [(p, s) for p, s, _r in sections if p.state is PollState.OPEN]
        if voting:
            poll, slots = voting[0]
            waiting = [
                s for s in slots if self._ballot(poll.id, s.delegate_id).stage is not Stage.RECORDED
            ]
            if waiting:
                strip.show_text(
                    tr("vote.strip_open", title=poll.spec.title),
                    kind="vote",
                    action=tr("vote.strip_vote"),
                )
            elif poll.id in self._strip_put_away:
                strip.hide()  # the vote is in: the member may read the screen under it
            else:
                strip.show_text(
                    tr("vote.strip_recorded", title=poll.spec.title),
                    kind="confirm",
                    action=tr("vote.strip_show"),
                    dismissible=True,
                )
        elif open_polls and self.link.me is not None and not self.link.presiding:
            if open_polls[0].id in self._strip_put_away:
                strip.hide()
            else:
                strip.show_text(
                    tr("vote.strip_in_progress", title=open_polls[0].spec.title),
                    kind="vote",
                    dismissible=True,
                )
        elif sections:
            poll = sections[0][0]
            strip.show_text(
                tr("vote.strip_result", title=poll.spec.title),
                kind="info",
                action=tr("vote.strip_show"),
                dismissible=True,
            )
        else:
            strip.hide()

    # --- the member's taps -------------------------------------------------------------------

    def expand(self) -> None:
        self.collapsed = False
        if self._sections():
            self.panel.open()
        self.refresh()
        self.panel.show_first()

    def collapse(self) -> None:
        """Hide the panel; closed polls and results put away do not come back."""
        self.collapsed = True
        for poll_id in self.panel.sections:
            poll = self.poll(poll_id)
            if poll is not None and poll.state is not PollState.OPEN:
                self._dismissed.add(poll_id)
        self.panel.hide()
        self.refresh()

    def _dismiss_strip(self) -> None:
        """The strip lies over the screen: once nothing waits for this tablet (the votes
        are in, or it has none), it can be put away until the next poll or result."""
        for poll, _slots, _result in self._sections():
            if poll.state is not PollState.OPEN:
                self._dismissed.add(poll.id)
        polls = self.polls.polls if self.polls is not None else ()
        self._strip_put_away |= {p.id for p in polls if p.state is PollState.OPEN}
        self.refresh()

    def _chosen(self, poll_id: str, delegate_id: str) -> None:
        card = self.panel.card(poll_id, delegate_id)
        poll = self.poll(poll_id)
        if card is None or poll is None:
            return
        choices, blank = card.chosen()
        ballot = self._ballot(poll_id, delegate_id)
        # A whole choice goes under review at once: the next deliberate tap casts it.
        ballot.choose(choices, blank=blank, ready=choices_ready(poll.spec, choices, blank))
        self.refresh()

    def _action(self, poll_id: str, delegate_id: str, action: str) -> None:
        poll = self.poll(poll_id)
        if poll is None:
            return
        ballot = self._ballot(poll_id, delegate_id)
        castable = ballot.stage in (Stage.REVIEWING, Stage.REFUSED)
        if action == "cast" and castable:
            if not choices_ready(poll.spec, ballot.choices, ballot.blank):
                pass  # nothing whole to cast (the button is not shown then)
            elif self.link.connection is None:
                ballot.stage, ballot.problem = Stage.REFUSED, "not_connected"
            else:
                ballot.cast(self.link.new_op_id(), connected=self.link.connected)
                self._send(ballot)
        elif action == "resend" and ballot.stage is Stage.UNCONFIRMED:
            if self.link.connected:
                ballot.resent()
            self._send(ballot)
        elif action == "change_vote":
            ballot.change_vote()
        elif action == "keep_vote":
            ballot.keep_vote()
        self.refresh()

    def _send(self, ballot: Ballot) -> None:
        ballot_id = ballot.ballot_id
        assert ballot_id is not None
        choices = () if ballot.blank else ballot.choices
        key = (ballot.poll_id, ballot.delegate_id)

        def answered(reply: Message) -> None:
            # The receipt arrives as a message too (see _receive); here only refusals.
            current = self.ballots.get(key)
            mine = current is not None and current.ballot_id == ballot_id
            if isinstance(reply, ErrorMessage) and current is not None and mine:
                current.refused(reply.code)
                self.refresh()

        self.link.submit(
            CastBallot(ballot_id, ballot.poll_id, ballot.delegate_id, choices), answered
        )

    def retranslate(self) -> None:
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()
