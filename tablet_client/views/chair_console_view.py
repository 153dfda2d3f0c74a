"""The chair's and clerk's console, in four sections: the agenda in progress with the
speaker queue, messages, service calls, alerts and documents beside it; attendance;
polls; and devices (pairing codes that enroll a tablet or the room display). The shell:
sections, tabs with their counts, what the role may do. Layout only:
the ChairController (and the AttendanceController and PollsController for their
sections) fill its views and act on their signals."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

from room_protocol.enrollment import CreatePairingCode
from room_protocol.live import (
    AddItem,
    AllowConfidentialOnDisplay,
    AttachDocument,
    EndSpeech,
    GrantFloor,
    MoveItem,
    ReorderQueue,
    Request,
    SetFollow,
    SetSpeakingLimit,
)
from tablet_client.i18n import tr
from tablet_client.views.action_list_view import ActionListView
from tablet_client.views.agenda_control_view import AgendaControlView
from tablet_client.views.attendance_view import AttendanceView
from tablet_client.views.item_documents_view import ItemDocumentsView
from tablet_client.views.meeting_close_view import MeetingCloseView
from tablet_client.views.pairing_view import PairingView
from tablet_client.views.polls_view import PollsView
from tablet_client.views.room_messages_view import RoomMessagesView
from tablet_client.views.speakers_view import SpeakersView
from tablet_client.views.style import named


class ChairConsoleView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chair_console_view")

        # --- the agenda section: the agenda in progress, tabs beside it ---------------------
        self.agenda_control = AgendaControlView()
        self.speakers = SpeakersView()
        self.room_messages = RoomMessagesView()
        self.service_desk = ActionListView("service_calls", "resolve_service", acts_on_choice=True)
        self.alert_list = ActionListView("alerts", "clear_alerts", acts_on_choice=False)
        self.documents = ItemDocumentsView()
        self.tabs = named(QTabWidget(), "console_tabs")
        self.tabs.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for tab in (
            self.speakers,
            self.room_messages,
            self.service_desk,
            self.alert_list,
            self.documents,
        ):
            self.tabs.addTab(tab, "")
        self._counts = {"queue": 0, "service": 0, "alerts": 0}

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.agenda_control)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 11)
        splitter.setStretchFactor(1, 9)
        splitter.setChildrenCollapsible(False)
        agenda_page = QWidget()
        agenda_layout = QVBoxLayout(agenda_page)
        agenda_layout.setContentsMargins(16, 10, 16, 10)
        agenda_layout.addWidget(splitter, 1)
        self.closing = MeetingCloseView()
        agenda_layout.addWidget(self.closing)

        # --- the widgets the tests press and read, by their console names -----------------
        agenda, speakers, documents = self.agenda_control, self.speakers, self.documents
        self.follow_me, self.screens_state = agenda.follow_me, agenda.screens_state
        self.display_confidential = agenda.display_confidential
        self.current_item, self.item_timer = agenda.current_item, agenda.item_timer
        self.meeting_end, self.tree, self.next = agenda.meeting_end, agenda.tree, agenda.next
        self.new_title, self.new_minutes = agenda.new_title, agenda.new_minutes
        self.add, self.move_buttons = agenda.add, agenda.move_buttons
        self.select_item = agenda.select_item
        self.speaking_now, self.countdown = speakers.speaking_now, speakers.countdown
        self.queue, self.grant, self.queue_up = speakers.queue, speakers.grant, speakers.queue_up
        self.select_queue_entry = speakers.select_queue_entry
        self.announcement = self.room_messages.announcement
        self.announce = self.room_messages.announce
        self.message_status = self.room_messages.message_status
        self.service_calls, self.resolve = self.service_desk.rows, self.service_desk.button
        self.alerts = self.alert_list.rows
        self.item_documents, self.open_document = documents.item_documents, documents.open_document
        self.attach_choice, self.attach = documents.attach_choice, documents.attach

        # --- sections: agenda, attendance, polls, devices -------------------------------
        self.attendance = AttendanceView()
        self.polls = PollsView()
        self.pairing = PairingView()
        self.sections = named(QTabWidget(), "console_sections")
        self.sections.setDocumentMode(True)
        self.sections.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.sections.addTab(agenda_page, "")
        self.sections.addTab(self.attendance, "")
        self.sections.addTab(self.polls, "")
        self.sections.addTab(self.pairing, "")
        self._section_counts: dict[str, object] = {"attendance": None, "polls": 0}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.sections, 1)
        self.setStyleSheet(
            "QFrame#current_box { background: #fff7dc; border: 1px solid #e6d28f;"
            " border-radius: 8px; }"
            " QLabel#current_item { font-size: 18px; font-weight: 600; }"
            " QLabel#meeting_end { font-size: 16px; color: #333a44; }"
            " QLabel#speaking_now { font-size: 18px; font-weight: 600; }"
            " QLabel#screens_state { color: #b00020; font-weight: 700; padding: 0 8px; }"
            " QLabel#console_status { color: #b00020; font-weight: 600; }"
            " QPushButton#follow_me { font-weight: 700; padding: 4px 18px; }"
            " QPushButton#follow_me:checked { background: #1e7b34; color: white;"
            " border-radius: 6px; }"
            " QPushButton#display_confidential:checked { background: #b3261e; color: white;"
            " border-radius: 6px; }"
            " QTabBar::tab { min-height: 40px; padding: 0 10px; }"
            " QTabWidget#console_sections > QTabBar::tab { min-height: 44px; padding: 0 22px;"
            " font-size: 17px; font-weight: 600; }"
        )
        self.retranslate()

    # --- state from the controller ------------------------------------------------------

    def set_capabilities(self, allowed: frozenset[type[Request]]) -> None:
        """Show only what the signed-in role may do (room_protocol.live.ALLOWED and
        room_protocol.voting.ALLOWED)."""
        agenda, speakers, documents = self.agenda_control, self.speakers, self.documents
        agenda.follow_me.setVisible(SetFollow in allowed)
        agenda.display_confidential.setVisible(AllowConfidentialOnDisplay in allowed)
        speakers.set_capabilities(
            grant=GrantFloor in allowed,
            end=EndSpeech in allowed,
            reorder=ReorderQueue in allowed,
            limit=SetSpeakingLimit in allowed,
        )
        for request, widgets in (
            (AddItem, [agenda.add, agenda.new_title, agenda.new_minutes]),
            (MoveItem, list(agenda.move_buttons.values())),
            (AttachDocument, [documents.attach, documents.attach_choice, documents.attach_label]),
        ):
            for widget in widgets:
                widget.setVisible(request in allowed)
        self.sections.setTabVisible(3, CreatePairingCode in allowed)

    def set_section_counts(self, **counts: object) -> None:
        """``attendance`` = (present, members) or None; ``polls`` = how many are open."""
        self._section_counts.update(counts)
        self._title_sections()

    def show_section(self, name: str) -> None:
        """``agenda``, ``attendance``, ``polls`` or ``devices``."""
        index = ("agenda", "attendance", "polls", "devices").index(name)
        self.sections.setCurrentIndex(index)

    def set_counts(self, *, queue: int, service: int, alerts: int) -> None:
        self._counts = {"queue": queue, "service": service, "alerts": alerts}
        self._title_tabs()

    def retranslate(self) -> None:
        self.agenda_control.retranslate()
        self.speakers.retranslate()
        self.room_messages.retranslate()
        self.service_desk.button.setText(tr("console.resolve"))
        self.alert_list.button.setText(tr("console.clear_alerts"))
        self.documents.retranslate()
        self.attendance.retranslate()
        self.polls.retranslate()
        self.pairing.retranslate()
        self.closing.retranslate()
        self._title_tabs()
        self._title_sections()

    # --- internals ----------------------------------------------------------------------

    def _title_sections(self) -> None:
        attendance = self._section_counts["attendance"]
        if isinstance(attendance, tuple):
            present, members = attendance
            self.sections.setTabText(
                1, tr("console.section_attendance_count", present=present, members=members)
            )
        else:
            self.sections.setTabText(1, tr("console.section_attendance"))
        open_polls = self._section_counts["polls"]
        self.sections.setTabText(
            2,
            tr("console.section_polls_open", count=open_polls)
            if open_polls
            else tr("console.section_polls"),
        )
        self.sections.setTabText(0, tr("console.section_agenda"))
        self.sections.setTabText(3, tr("console.section_devices"))

    def _title_tabs(self) -> None:
        counts = self._counts
        titles = [
            tr("console.tab_speakers", count=counts["queue"]),
            tr("console.tab_messages"),
            tr("console.tab_service", count=counts["service"]),
            tr("console.tab_alerts", count=counts["alerts"]),
            tr("console.tab_documents"),
        ]
        for index, title in enumerate(titles):
            self.tabs.setTabText(index, title)
