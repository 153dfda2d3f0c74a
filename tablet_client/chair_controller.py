"""The chair console: runs the agenda (current item, timers, estimated end, live edits),
the speaker queue, messages and screen locks, service calls and alerts. The clerk gets
the same console without what only the chair may do (room_protocol.live.ALLOWED)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QObject, QTimer, Signal

from room_client.notices import notice_text
from room_client.timers import format_duration
from room_protocol.live import (
    Ack,
    AddItem,
    Alert,
    AlertKind,
    Announce,
    AttachDocument,
    EndSpeech,
    FloorKind,
    FloorState,
    GrantFloor,
    LockScreens,
    MessageSeat,
    MoveItem,
    ReorderQueue,
    Request,
    ResolveService,
    ScreensLocked,
    ServiceCalls,
    SetCurrentItem,
    SetItemDone,
    SetSpeakingLimit,
    Step,
    StepItem,
)
from room_protocol.messages import AgendaItem, ErrorMessage, MeetingSnapshot, Message
from room_protocol.notices import RoomNotice
from tablet_client.floor_controller import countdown_text
from tablet_client.i18n import tr, tr_text
from tablet_client.live_link import LiveLink
from tablet_client.messages_controller import local_clock
from tablet_client.pairing_controller import PairingController
from tablet_client.session import (
    add_position,
    capabilities,
    estimated_end,
    item_elapsed,
    move_target,
)
from tablet_client.views.main_window import MainWindow
from tablet_client.views.speakers_view import SpeakersView

TICK_MS = 500  # twice a second, so a one-second clock never skips a second
MAX_ALERTS = 50


class ChairController(QObject):
    document_requested = Signal(str)  # sha256 the chair wants to read (and show)

    def __init__(
        self,
        window: MainWindow,
        link: LiveLink,
        meeting: Callable[[], MeetingSnapshot | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.view = window.chair_console_view
        self.agenda_view = self.view.agenda_control
        self.speakers_view = self.view.speakers
        self.messages_view = self.view.room_messages
        self.service_view = self.view.service_desk
        self.alerts_view = self.view.alert_list
        self.documents_view = self.view.documents
        self.link = link
        self._meeting = meeting
        self.pairing = PairingController(self.view.pairing, link, meeting, self)
        self.floor: FloorState | None = None
        self.floor_received_at = 0.0
        self.calls: ServiceCalls = ServiceCalls(())
        self.alerts: list[Alert | RoomNotice] = []  # newest first; notices of the room too
        self.screens_locked = False
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.tick)

        agenda, speakers, messages = self.agenda_view, self.speakers_view, self.messages_view
        agenda.item_selected.connect(self._item_selected)
        agenda.previous_requested.connect(lambda: self._do(lambda op: StepItem(op, Step.PREVIOUS)))
        agenda.next_requested.connect(lambda: self._do(lambda op: StepItem(op, Step.NEXT)))
        agenda.make_current_requested.connect(self._make_current)
        agenda.mark_done_requested.connect(self._mark_done)
        agenda.move_requested.connect(self._move)
        agenda.add_requested.connect(self._add)
        self.documents_view.attach_requested.connect(self._attach)
        self.documents_view.open_document_requested.connect(self.document_requested)
        self.drawer = window.speakers_drawer
        # The console's speakers tab and the drawer over the reader: one queue, two views.
        self.speaker_views = [speakers, self.drawer.speakers]
        for view in self.speaker_views:
            view.grant_requested.connect(lambda v=view: self._grant(v))
            view.end_speech_requested.connect(lambda: self._do(EndSpeech))
            view.queue_move_requested.connect(lambda d, v=view: self._reorder(v, d))
            view.limit_changed.connect(lambda s: self._do(lambda op: SetSpeakingLimit(op, s)))
        window.speakers_button.toggled.connect(self._toggle_drawer)
        self.drawer.close_requested.connect(lambda: window.speakers_button.setChecked(False))
        window.screens.currentChanged.connect(lambda _index: self._show_speakers_button())
        messages.announce_requested.connect(self._announce)
        messages.seat_message_requested.connect(self._message_seat)
        messages.lock_requested.connect(lambda locked: self._do(lambda op: LockScreens(op, locked)))
        self.service_view.triggered.connect(self._resolve)
        self.alerts_view.triggered.connect(self._clear_alerts)
        link.received.connect(self._receive)
        link.identity_changed.connect(self._identity_changed)

    # --- state in --------------------------------------------------------------------------

    def _identity_changed(self) -> None:
        presiding = self.link.presiding
        allowed = capabilities(self.link.role)
        self.view.set_capabilities(allowed)
        self.drawer.speakers.set_capabilities(
            grant=GrantFloor in allowed,
            end=EndSpeech in allowed,
            reorder=ReorderQueue in allowed,
            limit=SetSpeakingLimit in allowed,
        )
        self._show_speakers_button()
        if presiding:
            self.meeting_changed()
            self._timer.start()
        else:
            self._timer.stop()

    def meeting_changed(self) -> None:
        meeting = self._meeting()
        self.pairing.meeting_changed()
        self.agenda_view.set_meeting(meeting)
        if meeting is not None:
            self.documents_view.set_attachable([(d.sha256, d.title) for d in meeting.documents])
            seats = sorted((m.seat_id, m.name) for m in meeting.roster if m.seat_id is not None)
            self.messages_view.set_seats(
                [(seat, tr("console.seat_choice", seat=seat, name=name)) for seat, name in seats]
            )
        self._item_selected(self.agenda_view.selected_item())
        self._refresh_rows()
        self.tick()

    def _receive(self, message: Message) -> None:
        if isinstance(message, FloorState):
            if self.floor is None or message.seq >= self.floor.seq:
                self.floor = message
                self.floor_received_at = time.monotonic()
                self._show_floor()
        elif isinstance(message, ServiceCalls):
            self.calls = message
            self._show_calls()
        elif isinstance(message, Alert | RoomNotice):
            self.alerts.insert(0, message)
            del self.alerts[MAX_ALERTS:]
            self._show_alerts()
        elif isinstance(message, ScreensLocked):
            self.screens_locked = message.locked
            self._show_screens()

    # --- agenda ----------------------------------------------------------------------------

    def _item_selected(self, item_id: str | None) -> None:
        meeting = self._meeting()
        item = meeting.item(item_id) if meeting and item_id else None
        documents = []
        if meeting is not None and item is not None:
            for sha in item.documents:
                doc = meeting.document(sha)
                if doc is not None:
                    documents.append((sha, doc.title))
        self.documents_view.set_item_documents(documents)
        done = item is not None and item.done
        self.agenda_view.mark_done.setText(
            tr("console.mark_not_done" if done else "console.mark_done")
        )
        for move, button in self.agenda_view.move_buttons.items():
            button.setEnabled(
                meeting is not None
                and item_id is not None
                and move_target(meeting, item_id, move) is not None
            )
        self.agenda_view.set_closed(meeting is not None and meeting.closed_at is not None)

    def _refresh_rows(self) -> None:
        """Planned, spent, done and current for every row (after the agenda changed)."""
        meeting, now = self._meeting(), self.link.server_now()
        if meeting is None:
            return
        for _depth, item in meeting.walk():
            self._show_row(meeting, item, now)

    def _show_row(self, meeting: MeetingSnapshot, item: AgendaItem, now: float | None) -> None:
        spent = item_elapsed(meeting, item, now) if now is not None else item.actual_seconds
        self.agenda_view.set_item_row(
            item.id,
            planned=_minutes(item.planned_minutes),
            spent=format_duration(spent) if spent >= 1 else "",
            done=item.done,
            current=item.id == meeting.current_item_id,
        )

    def tick(self) -> None:
        """Refresh the clocks: item timer, estimated end, speaking time."""
        meeting, now = self._meeting(), self.link.server_now()
        view = self.agenda_view
        current = (
            meeting.item(meeting.current_item_id)
            if meeting is not None and meeting.current_item_id
            else None
        )
        if meeting is None or now is None or current is None:
            view.current_item.setText(tr("console.no_current"))
            view.item_timer.setText("")
            view.set_overrun(False)
        else:
            self._show_row(meeting, current, now)
            spent = item_elapsed(meeting, current, now)
            view.current_item.setText(
                tr("console.current", number=current.number, title=current.title)
            )
            if current.planned_minutes is None:
                view.item_timer.setText(tr("console.timer_unplanned", spent=format_duration(spent)))
                view.set_overrun(False)
            else:
                planned = current.planned_minutes * 60
                view.item_timer.setText(
                    tr(
                        "console.timer",
                        spent=format_duration(spent),
                        planned=format_duration(planned),
                    )
                )
                view.set_overrun(spent > planned)
        if meeting is None or now is None:
            view.meeting_end.setText("")
        else:
            end = datetime.fromtimestamp(estimated_end(meeting, now))
            view.meeting_end.setText(tr("console.meeting_end", time=end.strftime("%H:%M")))
        self._tick_speech()
        self.pairing.tick()

    def _make_current(self) -> None:
        item_id = self.agenda_view.selected_item()
        if item_id is not None:
            self._do(lambda op: SetCurrentItem(op, item_id))

    def _mark_done(self) -> None:
        meeting, item_id = self._meeting(), self.agenda_view.selected_item()
        item = meeting.item(item_id) if meeting and item_id else None
        if item is not None:
            self._do(lambda op: SetItemDone(op, item.id, not item.done))

    def _move(self, move: str) -> None:
        meeting, item_id = self._meeting(), self.agenda_view.selected_item()
        if meeting is None or item_id is None:
            return
        target = move_target(meeting, item_id, move)
        if target is not None:
            index, parent_id = target
            self._do(lambda op: MoveItem(op, item_id, index, parent_id))

    def _add(self) -> None:
        meeting = self._meeting()
        title = self.agenda_view.new_title.text().strip()
        if meeting is None:
            return
        if not title:
            self._problem(tr("console.title_needed"))
            return
        parent_id, after_id = add_position(meeting, self.agenda_view.selected_item())
        minutes = self.agenda_view.new_minutes.value() or None

        def added(reply: Message) -> None:
            if isinstance(reply, Ack):
                self.agenda_view.new_title.clear()

        self._do(lambda op: AddItem(op, title, minutes, parent_id, after_id), added)

    def _attach(self) -> None:
        item_id, sha = self.agenda_view.selected_item(), self.documents_view.attach_sha256()
        if item_id is not None and sha is not None:
            self._do(lambda op: AttachDocument(op, item_id, sha))

    # --- speaker queue --------------------------------------------------------------------

    def _show_speakers_button(self) -> None:
        """In the reader, the chair (and clerk) reach the queue by a button in the top bar."""
        window = self.window
        reading = window.screens.currentWidget() is window.document_view
        shown = self.link.presiding and reading
        window.speakers_button.setVisible(shown)
        if not shown:
            window.speakers_button.setChecked(False)
        waiting = len(self.floor.queue) if self.floor is not None else 0
        window.speakers_button.setText(tr("reader.speakers", count=waiting))

    def _toggle_drawer(self, on: bool) -> None:
        if on:
            self.drawer.open()
        else:
            self.drawer.hide()

    def _show_floor(self) -> None:
        for view in self.speaker_views:
            self._show_floor_in(view)
        self._counts()
        self._show_speakers_button()
        self._tick_speech()

    def _show_floor_in(self, view: SpeakersView) -> None:
        floor = self.floor
        if floor is None:
            return
        entries = []
        for number, entry in enumerate(floor.queue, start=1):
            parts = [tr("console.queue_entry", number=number, name=entry.name)]
            if entry.seat_id:
                parts.append(tr("console.at_seat", seat=entry.seat_id))
            if entry.kind is FloorKind.POINT_OF_ORDER:
                parts.append(tr("floor.kind_point_of_order"))
            entries.append((entry.delegate_id, " · ".join(parts)))
        view.set_queue(entries)
        if view.selected_queue_entry() is None and entries:
            view.select_queue_entry(entries[0][0])
        view.set_limit(floor.limit_seconds)
        view.grant.setEnabled(bool(floor.queue))
        view.end_speech.setEnabled(floor.speaking is not None)

    def _tick_speech(self) -> None:
        for view in self.speaker_views:
            self._tick_speech_in(view)

    def _tick_speech_in(self, view: SpeakersView) -> None:
        floor = self.floor
        speaking = floor.speaking if floor else None
        if floor is None or speaking is None:
            view.speaking_now.setText(tr("floor.nobody_speaking"))
            view.countdown.setText("")
            view.set_expired(False)
            return
        view.speaking_now.setText(tr("floor.speaking", name=speaking.name))
        since = time.monotonic() - self.floor_received_at
        text, expired = countdown_text(floor, since)
        view.countdown.setText(text)
        view.set_expired(expired)

    def _grant(self, view: SpeakersView) -> None:
        delegate_id = view.selected_queue_entry()
        self._do(lambda op: GrantFloor(op, delegate_id))

    def _reorder(self, view: SpeakersView, delta: int) -> None:
        floor, chosen = self.floor, view.selected_queue_entry()
        if floor is None or chosen is None:
            return
        order = [e.delegate_id for e in floor.queue]
        index = order.index(chosen) if chosen in order else -1
        target = index + delta
        if index < 0 or not 0 <= target < len(order):
            return
        order.insert(target, order.pop(index))
        self._do(lambda op: ReorderQueue(op, tuple(order)))

    # --- messages, screens, service, alerts ---------------------------------------------

    def _announce(self) -> None:
        text = self.messages_view.announcement.text().strip()
        if not text:
            return

        def sent(reply: Message) -> None:
            if isinstance(reply, Ack):
                self.messages_view.announcement.clear()
                self.messages_view.message_status.setText(tr("console.announced"))

        self._do(lambda op: Announce(op, text), sent)

    def _message_seat(self) -> None:
        seat, text = self.messages_view.selected_seat(), self.messages_view.seat_text.text().strip()
        if seat is None or not text:
            return

        def sent(reply: Message) -> None:
            if isinstance(reply, Ack):
                self.messages_view.seat_text.clear()
                self.messages_view.message_status.setText(tr("console.message_sent", seat=seat))
            elif isinstance(reply, ErrorMessage):
                self.messages_view.message_status.setText(tr("error.refused", reason=reply.message))

        self._do(lambda op: MessageSeat(op, seat, text), sent)

    def _show_screens(self) -> None:
        self.agenda_view.screens_state.setText(
            tr("console.screens_locked") if self.screens_locked else ""
        )
        self.messages_view.lock.setEnabled(not self.screens_locked)
        self.messages_view.unlock.setEnabled(self.screens_locked)

    def _show_calls(self) -> None:
        rows = []
        for call in self.calls.calls:
            parts = [tr(f"service.kind.{call.kind.value}"), call.name or tr("console.someone")]
            if call.seat_id:
                parts.append(tr("console.at_seat", seat=call.seat_id))
            parts.append(local_clock(call.at))
            label = " · ".join(parts)
            if call.text:
                label += f"\n“{call.text}”"
            rows.append((call.id, label))
        self.service_view.set_rows(rows)
        self._counts()

    def _resolve(self) -> None:
        call_id = self.service_view.selected()
        if call_id is not None:
            self._do(lambda op: ResolveService(op, call_id))

    def _show_alerts(self) -> None:
        rows: list[tuple[str | None, str]] = []
        for alert in self.alerts:
            if isinstance(alert, RoomNotice):
                rows.append((None, _room_notice(alert)))
                continue
            seat = alert.seat_id or "?"
            key = {
                AlertKind.SEAT_LOCKED: "alert.seat_locked",
                AlertKind.SIGN_IN_SWEEP: "alert.sign_in_sweep",
            }.get(alert.kind, "alert.wrong_seat")
            rows.append((None, tr(key, seat=seat, time=local_clock(alert.at))))
        self.alerts_view.set_rows(rows)
        self._counts()

    def _clear_alerts(self) -> None:
        self.alerts.clear()
        self._show_alerts()

    def _counts(self) -> None:
        self.view.set_counts(
            queue=len(self.floor.queue) if self.floor else 0,
            service=len(self.calls.calls),
            alerts=len(self.alerts),
        )

    # --- helpers -----------------------------------------------------------------------------

    def _do(
        self, make: Callable[[str], Request], on_ack: Callable[[Message], None] | None = None
    ) -> None:
        self.agenda_view.status.setText("")

        def answered(reply: Message) -> None:
            if isinstance(reply, ErrorMessage):
                self._problem(tr("error.refused", reason=reply.message))
            if on_ack is not None:
                on_ack(reply)

        self.link.send(make, answered)

    def _problem(self, text: str) -> None:
        self.agenda_view.status.setText(text)

    def retranslate(self) -> None:
        self.meeting_changed()
        self.pairing.retranslate()
        self._show_floor()
        self._show_calls()
        self._show_alerts()
        self._show_screens()

    def stop(self) -> None:
        self._timer.stop()


def _minutes(planned: int | None) -> str:
    return "" if planned is None else tr("agenda.duration_minutes", minutes=planned)


def _room_notice(notice: RoomNotice) -> str:
    """A USB stick's result, as the room reported it: "Package 'X' imported — 14 documents
    (14:05)"."""
    return tr("console.room_notice", text=tr_text(notice_text(notice)), time=local_clock(notice.at))
