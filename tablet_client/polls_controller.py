"""The console's polls: create one (from a template of the package or from scratch), open
it (asking first when the quorum is not met: opening anyway is recorded), watch the
ballots come in, close it now or after a countdown, see the result before anyone else,
give the casting vote on a tie and publish it. The clerk sees all of it and may create
polls; only the chair runs them (room_protocol.voting.ALLOWED)."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer

from room_client.timers import format_duration
from room_protocol.errors import ErrorCode
from room_protocol.messages import ErrorMessage, MeetingSnapshot, Message
from room_protocol.voting import (
    AttendanceState,
    ClosePoll,
    CreatePoll,
    OpenPoll,
    Poll,
    PollKind,
    PollOption,
    PollProgress,
    PollResult,
    PollSpec,
    PollsState,
    PollState,
    PublishPoll,
    QuorumRule,
)
from tablet_client.i18n import tr, tr_text
from tablet_client.live_link import LiveLink
from tablet_client.polls import (
    casting_places,
    closes_in,
    draft_spec,
    keep_roll_calls,
    needs_casting_vote,
    option_label,
    refusal,
    rule_lines,
    spec_problem,
)
from tablet_client.views.main_window import MainWindow
from tablet_client.voting_controller import item_line, result_line, show_result

TICK_MS = 500


class PollsController(QObject):
    def __init__(
        self,
        window: MainWindow,
        link: LiveLink,
        meeting: Callable[[], MeetingSnapshot | None],
        attendance: Callable[[], AttendanceState | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.console = window.chair_console_view
        self.view = window.chair_console_view.polls
        self.link = link
        self._meeting = meeting
        self._attendance = attendance
        self.polls: PollsState | None = None
        self.progress: dict[str, PollProgress] = {}
        self.confirming: str | None = None  # the poll waiting for "open without quorum?"
        self.closing: str | None = None  # the poll waiting for "close now?"
        self.created: str | None = None  # a new poll to show as soon as it is listed
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

        view = self.view
        view.poll_selected.connect(lambda _id: self._selected())
        view.new_requested.connect(self.new_poll)
        view.editor.create_requested.connect(self.create)
        view.editor.cancel_requested.connect(self._cancel_editor)
        view.open_requested.connect(lambda: self.open(override=False))
        view.open_anyway_requested.connect(lambda: self.open(override=True))
        view.open_cancelled.connect(self._cancel_open)
        view.close_requested.connect(self.close)
        view.close_confirmed.connect(self._close_now)
        view.close_cancelled.connect(self._keep_open)
        view.publish_requested.connect(self.publish)
        view.casting_changed.connect(self._show_publish)
        link.received.connect(self._receive)
        link.identity_changed.connect(self._identity_changed)

    # --- state in -------------------------------------------------------------------------

    def _receive(self, message: Message) -> None:
        if isinstance(message, PollsState):
            self.polls = keep_roll_calls(self.polls, message)
            for poll in message.polls:
                if poll.state is not PollState.OPEN:
                    self.progress.pop(poll.id, None)
            self.refresh()
        elif isinstance(message, PollProgress):
            self.progress[message.poll_id] = message
            self._show_progress()
            self._show_list()
        elif isinstance(message, AttendanceState) and self.confirming is not None:
            self._show_detail()

    def _identity_changed(self) -> None:
        if self.link.presiding:
            self.view.new_poll.setVisible(self.link.may(CreatePoll))
            self.refresh()
        else:
            self._timer.stop()

    def meeting_changed(self) -> None:
        self.refresh()

    def poll(self, poll_id: str | None) -> Poll | None:
        polls = self.polls.polls if self.polls is not None else ()
        return next((p for p in polls if p.id == poll_id), None)

    def result(self, poll_id: str) -> PollResult | None:
        results = self.polls.results if self.polls is not None else ()
        return next((r for r in results if r.poll_id == poll_id), None)

    # --- what is shown -------------------------------------------------------------------

    def refresh(self) -> None:
        if not self.link.presiding:
            return
        self._show_list()
        polls = self.polls.polls if self.polls is not None else ()
        open_count = sum(1 for p in polls if p.state is PollState.OPEN)
        self.console.set_section_counts(polls=open_count)
        if self.created is not None and self.poll(self.created) is not None:
            self.view.show_page("detail")
            self.view.select_poll(self.created)
            self.created = None
        elif self.view.selected_poll() is None and polls:
            current = next((p for p in polls if p.state is PollState.OPEN), polls[-1])
            self.view.select_poll(current.id)
        self._selected()

    def _show_list(self) -> None:
        rows = []
        for poll in self.polls.polls if self.polls is not None else ():
            state = tr(f"poll.state.{poll.state.value}")
            result = self.result(poll.id)
            if poll.state is PollState.OPEN:
                state = f"{state} · {self._progress_text(poll)}"
            if result is not None:
                state = f"{state} · {result_line(poll, result, self._quorum_required())}"
            elif poll.quorum_override:
                state = f"{state} · {tr('polls.opened_without_quorum')}"
            rows.append((poll.id, f"{poll.spec.title}\n{state}", poll.state.value))
        self.view.set_polls(rows)

    def _selected(self) -> None:
        if self.view.page() == "editor":
            return
        self._show_detail()

    def _show_detail(self) -> None:
        view = self.view
        poll = self.poll(view.selected_poll())
        if poll is None:
            view.show_page("empty")
            self._timer.stop()
            return
        view.show_page("detail")
        spec, meeting = poll.spec, self._meeting()
        view.title.setText(spec.title)
        view.set_state_badge(tr(f"poll.state.{poll.state.value}"), poll.state.value)
        meta = [
            tr(f"poll.kind.{spec.kind.value}"),
            tr("vote.secret" if spec.secret else "vote.named"),
            item_line(meeting, spec),
        ]
        if spec.allow_change:
            meta.append(tr("vote.may_change"))
        if spec.kind is PollKind.ELECTION:
            meta.append(tr("polls.seats", seats=spec.seats))
        if poll.quorum_override:
            meta.append(tr("polls.opened_without_quorum"))
        view.meta.setText(" · ".join(m for m in meta if m))
        view.rule.setText("\n".join(tr_text(line) for line in rule_lines(spec)))
        labels = "\n".join("• " + tr_text(option_label(spec, o.id)) for o in spec.options)
        view.options.setText(tr("polls.options_shown", options=labels))
        draft, is_open = poll.state is PollState.DRAFT, poll.state is PollState.OPEN
        view.open_box.setVisible(draft and self.link.may(OpenPoll) and self.confirming != poll.id)
        view.quorum_confirm.setVisible(self.confirming == poll.id and draft)
        if self.confirming == poll.id:
            view.quorum_text.setText(self._quorum_warning())
        view.progress_box.setVisible(is_open)
        may_close = is_open and self.link.may(ClosePoll)
        asking = may_close and self.closing == poll.id
        view.close_confirm.setVisible(asking)
        if asking:
            view.close_confirm_text.setText(
                tr("polls.close_question", progress=self._progress_text(poll))
            )
        view.close_now.setVisible(may_close and not asking)
        for widget in (view.close_later, view.close_countdown, view.close_later_label):
            widget.setVisible(may_close and poll.closes_at is None and not asking)
        result = self.result(poll.id)
        if result is not None and poll.state in (PollState.CLOSED, PollState.PUBLISHED):
            show_result(
                view.results,
                poll,
                result,
                meeting,
                title=False,
                quorum_required=self._quorum_required(),
            )
            view.results.show()
        else:
            view.results.hide()
        view.options.setVisible(view.results.isHidden())  # the bars name them once counted
        casting = (
            poll.state is PollState.CLOSED
            and needs_casting_vote(spec, result)
            and self.link.may(PublishPoll)
        )
        view.casting_box.setVisible(casting)
        if casting and result is not None:
            places = casting_places(spec, result)
            view.set_casting_options(
                [(o, tr_text(option_label(spec, o))) for o in result.tied], places
            )
            view.casting_text.setText(tr("polls.casting", count=places))
        view.publish.setVisible(poll.state is PollState.CLOSED and self.link.may(PublishPoll))
        self._show_publish()
        self._show_progress()
        if is_open and poll.closes_at is not None:
            self._timer.start()
        else:
            self._timer.stop()
        self._tick()

    def _progress_text(self, poll: Poll) -> str:
        progress = self.progress.get(poll.id)
        if progress is None:
            return tr("polls.voted", voted=poll.voted)
        return tr("polls.voted_of", voted=progress.voted, eligible=progress.eligible)

    def _show_progress(self) -> None:
        poll = self.poll(self.view.selected_poll())
        if poll is None or poll.state is not PollState.OPEN:
            return
        progress = self.progress.get(poll.id)
        self.view.progress_text.setText(self._progress_text(poll))
        eligible = progress.eligible if progress is not None else 0
        voted = progress.voted if progress is not None else poll.voted
        self.view.progress.setRange(0, max(1, eligible))
        self.view.progress.setValue(min(voted, max(1, eligible)))

    def _show_publish(self) -> None:
        view = self.view
        poll = self.poll(view.selected_poll())
        if poll is None:
            return
        needs = needs_casting_vote(poll.spec, self.result(poll.id))
        view.publish.setEnabled(not needs or len(view.casting()) == view.casting_places)

    def _tick(self) -> None:
        poll = self.poll(self.view.selected_poll())
        left = closes_in(poll, self.link.server_now()) if poll is not None else None
        self.view.countdown.setText(
            "" if left is None else tr("vote.closes_in", time=format_duration(left, up=True))
        )

    def _quorum_required(self) -> int | None:
        attendance = self._attendance()
        return attendance.required if attendance is not None else None

    def _quorum_warning(self) -> str:
        attendance = self._attendance()
        if attendance is None:
            return tr("polls.quorum_unknown")
        counted = attendance.represented if attendance.proxies_count else attendance.present_members
        return tr("polls.quorum_not_met", present=counted, required=attendance.required)

    # --- the chair's taps ----------------------------------------------------------------

    def new_poll(self) -> None:
        meeting = self._meeting()
        items = [
            (item.id, f"{item.number} {item.title}")
            for _depth, item in (meeting.walk() if meeting is not None else [])
        ]
        templates = list(self.polls.templates) if self.polls is not None else []
        self.view.editor.reset(templates, items)
        if meeting is not None and meeting.current_item_id:
            self.view.editor.select(self.view.editor.item, meeting.current_item_id)
        self.view.show_page("editor")
        self.view.editor.title.setFocus()

    def _cancel_editor(self) -> None:
        self.view.show_page("empty")
        self._show_detail()

    def create(self) -> None:
        editor = self.view.editor
        draft, template_id = editor.draft(), editor.template_id()
        if template_id is None:
            spec = draft_spec(draft)
            problem = spec_problem(spec)
        else:
            # The template decides kind and rule; the title and options are the chair's.
            labels = [label.strip() for label in draft.options if label.strip()]
            options = tuple(PollOption(f"o{i}", label) for i, label in enumerate(labels, 1))
            kind = PollKind.SINGLE if options else PollKind.YES_NO
            spec = PollSpec(draft.title.strip(), kind, options, item_id=draft.item_id)
            problem = None if spec.title else ("polls.problem.title", {})
        if problem is not None:
            editor.problem.setText(tr_text(problem))
            return
        editor.problem.clear()
        poll_id = "poll-" + secrets.token_hex(4)

        def answered(reply: Message) -> None:
            if isinstance(reply, ErrorMessage):
                editor.problem.setText(tr_text(refusal(reply.code, reply.message, ballot=False)))
                return
            self.created = poll_id  # listed now, or with the next poll.state
            self.refresh()

        self.link.send(lambda op: CreatePoll(op, poll_id, spec, template_id), answered)

    def open(self, *, override: bool) -> None:
        poll = self.poll(self.view.selected_poll())
        if poll is None or poll.state is not PollState.DRAFT:
            return
        attendance = self._attendance()
        quorum_missing = (
            attendance is not None
            and attendance.rule is not QuorumRule.NONE
            and not attendance.quorum_met
        )
        if quorum_missing and not override:
            self.confirming = poll.id
            self._show_detail()
            return
        self.confirming = None
        seconds = self.view.open_countdown.value()

        def answered(reply: Message) -> None:
            if isinstance(reply, ErrorMessage) and reply.code == ErrorCode.NO_QUORUM:
                self.confirming = poll.id  # the quorum was lost meanwhile: ask
                self._show_detail()
            else:
                self._answered(reply)

        self._do(lambda op: OpenPoll(op, poll.id, override, seconds), answered)
        self._show_detail()

    def _cancel_open(self) -> None:
        self.confirming = None
        self._show_detail()

    def close(self, seconds: int) -> None:
        """Close after ``seconds``; now (0) only once the chair said so twice."""
        poll = self.poll(self.view.selected_poll())
        if poll is None or poll.state is not PollState.OPEN:
            return
        if seconds == 0:
            self.closing = poll.id
            self._show_detail()
            return
        self._do(lambda op: ClosePoll(op, poll.id, seconds))

    def _close_now(self) -> None:
        poll = self.poll(self.view.selected_poll())
        if poll is None or poll.state is not PollState.OPEN or self.closing != poll.id:
            return
        self.closing = None
        self._do(lambda op: ClosePoll(op, poll.id, 0))
        self._show_detail()

    def _keep_open(self) -> None:
        self.closing = None
        self._show_detail()

    def publish(self) -> None:
        poll = self.poll(self.view.selected_poll())
        if poll is None or poll.state is not PollState.CLOSED:
            return
        casting = self.view.casting() if needs_casting_vote(poll.spec, self.result(poll.id)) else ()
        self._do(lambda op: PublishPoll(op, poll.id, casting))

    def _do(
        self,
        make: Callable[[str], OpenPoll | ClosePoll | PublishPoll],
        on_reply: Callable[[Message], None] | None = None,
    ) -> None:
        self.view.status.setText("")
        self.link.send(make, on_reply or self._answered)

    def _answered(self, reply: Message) -> None:
        if isinstance(reply, ErrorMessage):
            self.view.status.setText(tr_text(refusal(reply.code, reply.message, ballot=False)))

    def retranslate(self) -> None:
        self.refresh()

    def stop(self) -> None:
        self._timer.stop()
