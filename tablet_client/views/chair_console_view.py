"""The chair's and clerk's console, in three sections: the agenda in progress with the
speaker queue, messages, service calls, alerts and documents beside it; attendance; and
polls. Layout only: the ChairController (and the AttendanceController and
PollsController for their sections) fill it and act on its signals."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from room_protocol.live import (
    AddItem,
    AttachDocument,
    EndSpeech,
    GrantFloor,
    MoveItem,
    ReorderQueue,
    Request,
    SetFollow,
    SetSpeakingLimit,
)
from room_protocol.messages import AgendaItem, MeetingSnapshot
from tablet_client.i18n import tr
from tablet_client.views.attendance_view import AttendanceView
from tablet_client.views.polls_view import PollsView
from tablet_client.views.style import CURRENT_ITEM_BACKGROUND, named, scaled_font

KEY = Qt.ItemDataRole.UserRole
SPEAKING_LIMIT_MAX_S = 3600  # room_protocol.live.SetSpeakingLimit
SPEAKING_LIMIT_STEP_S = 30


def _button(name: str, *, height: int = 48) -> QPushButton:
    button = named(QPushButton(), name)
    button.setMinimumHeight(height)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return button


class ChairConsoleView(QWidget):
    item_selected = Signal(str)
    previous_requested = Signal()
    next_requested = Signal()
    make_current_requested = Signal()
    mark_done_requested = Signal()
    move_requested = Signal(str)  # "up" | "down" | "indent" | "outdent"
    add_requested = Signal()
    follow_me_toggled = Signal(bool)
    grant_requested = Signal()
    end_speech_requested = Signal()
    queue_move_requested = Signal(int)  # -1 up, +1 down
    limit_changed = Signal(int)  # seconds, 0: no limit
    announce_requested = Signal()
    seat_message_requested = Signal()
    lock_requested = Signal(bool)
    resolve_requested = Signal()
    clear_alerts_requested = Signal()
    open_document_requested = Signal(str)  # sha256
    attach_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chair_console_view")
        self._items: dict[str, QTreeWidgetItem] = {}
        self._meeting: MeetingSnapshot | None = None

        # --- left: the agenda in progress -------------------------------------------
        self._heading = named(QLabel(), "heading")
        self.follow_me = _button("follow_me")
        self.follow_me.setCheckable(True)
        self.follow_me.toggled.connect(self.follow_me_toggled)
        self.screens_state = named(QLabel(), "screens_state")
        header = QHBoxLayout()
        header.addWidget(self._heading, 1)
        header.addWidget(self.screens_state)
        header.addWidget(self.follow_me)

        current_box = named(QFrame(), "current_box")
        self.current_item = named(QLabel(), "current_item")
        self.current_item.setWordWrap(True)
        self.item_timer = named(QLabel(), "item_timer")
        self.meeting_end = named(QLabel(), "meeting_end")
        self.set_overrun(False)
        box = QGridLayout(current_box)
        box.setContentsMargins(16, 10, 16, 10)
        box.addWidget(self.current_item, 0, 0, 1, 2)
        box.addWidget(self.item_timer, 1, 0)
        box.addWidget(self.meeting_end, 1, 1, Qt.AlignmentFlag.AlignRight)

        self.tree = named(QTreeWidget(), "console_agenda")
        self.tree.setColumnCount(5)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        head = self.tree.header()
        head.setStretchLastSection(False)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        for column in (2, 3, 4):
            head.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._on_item_changed)

        self.previous = _button("previous_item")
        self.next = _button("next_item")
        self.make_current = _button("make_current")
        self.mark_done = _button("mark_done")
        self.previous.clicked.connect(self.previous_requested)
        self.next.clicked.connect(self.next_requested)
        self.make_current.clicked.connect(self.make_current_requested)
        self.mark_done.clicked.connect(self.mark_done_requested)
        steps = QHBoxLayout()
        for button in (self.previous, self.next, self.make_current, self.mark_done):
            steps.addWidget(button)

        self.move_buttons: dict[str, QPushButton] = {}
        edit = QHBoxLayout()
        for move in ("up", "down", "indent", "outdent"):
            button = _button(f"move_{move}", height=44)
            button.clicked.connect(lambda _checked=False, m=move: self.move_requested.emit(m))
            self.move_buttons[move] = button
            edit.addWidget(button)
        self.new_title = named(QLineEdit(), "new_item_title")
        self.new_title.setMinimumHeight(44)
        self.new_minutes = named(QSpinBox(), "new_item_minutes")
        self.new_minutes.setRange(0, 1440)
        self.new_minutes.setValue(10)
        self.new_minutes.setMinimumHeight(44)
        self.add = _button("add_item", height=44)
        self.add.clicked.connect(self.add_requested)
        self.new_title.returnPressed.connect(self.add_requested)
        adding = QHBoxLayout()
        adding.addWidget(self.new_title, 1)
        adding.addWidget(self.new_minutes)
        adding.addWidget(self.add)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(8)
        left_layout.addLayout(header)
        left_layout.addWidget(current_box)
        left_layout.addWidget(self.tree, 1)
        left_layout.addLayout(steps)
        left_layout.addLayout(edit)
        left_layout.addLayout(adding)
        self.status = named(QLabel(), "console_status")
        self.status.setWordWrap(True)
        left_layout.addWidget(self.status)

        # --- right: tabs ----------------------------------------------------------------
        self.tabs = named(QTabWidget(), "console_tabs")
        self.tabs.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tabs.addTab(self._speakers_tab(), "")
        self.tabs.addTab(self._messages_tab(), "")
        self.tabs.addTab(self._service_tab(), "")
        self.tabs.addTab(self._alerts_tab(), "")
        self.tabs.addTab(self._documents_tab(), "")
        self._counts = {"queue": 0, "service": 0, "alerts": 0}

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(0, 11)
        splitter.setStretchFactor(1, 9)
        splitter.setChildrenCollapsible(False)
        agenda_page = QWidget()
        agenda_layout = QVBoxLayout(agenda_page)
        agenda_layout.setContentsMargins(16, 10, 16, 10)
        agenda_layout.addWidget(splitter, 1)

        # --- sections: agenda, attendance, polls ----------------------------------------
        self.attendance = AttendanceView()
        self.polls = PollsView()
        self.sections = named(QTabWidget(), "console_sections")
        self.sections.setDocumentMode(True)
        self.sections.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.sections.addTab(agenda_page, "")
        self.sections.addTab(self.attendance, "")
        self.sections.addTab(self.polls, "")
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
            " QTabBar::tab { min-height: 40px; padding: 0 10px; }"
            " QTabWidget#console_sections > QTabBar::tab { min-height: 44px; padding: 0 22px;"
            " font-size: 17px; font-weight: 600; }"
        )
        self.retranslate()

    # --- tabs ---------------------------------------------------------------------------

    def _speakers_tab(self) -> QWidget:
        self.speaking_now = named(QLabel(), "speaking_now")
        self.speaking_now.setWordWrap(True)
        self.countdown = named(QLabel(), "console_countdown")
        self.set_expired(False)
        self.end_speech = _button("end_speech")
        self.end_speech.clicked.connect(self.end_speech_requested)
        now_row = QHBoxLayout()
        now_row.addWidget(self.speaking_now, 1)
        now_row.addWidget(self.countdown)
        now_row.addWidget(self.end_speech)
        self._queue_label = QLabel()
        self.queue = named(QListWidget(), "queue")
        self.grant = _button("grant_floor")
        self.queue_up = _button("queue_up")
        self.queue_down = _button("queue_down")
        self.grant.clicked.connect(self.grant_requested)
        self.queue_up.clicked.connect(lambda: self.queue_move_requested.emit(-1))
        self.queue_down.clicked.connect(lambda: self.queue_move_requested.emit(1))
        queue_row = QHBoxLayout()
        queue_row.addWidget(self.grant, 1)
        queue_row.addWidget(self.queue_up)
        queue_row.addWidget(self.queue_down)
        self._limit_label = QLabel()
        self.limit = named(QSpinBox(), "speaking_limit")
        self.limit.setRange(0, SPEAKING_LIMIT_MAX_S)
        self.limit.setSingleStep(SPEAKING_LIMIT_STEP_S)
        self.limit.setMinimumHeight(44)
        self.limit.setMinimumWidth(140)
        self.limit.valueChanged.connect(self.limit_changed)
        limit_row = QHBoxLayout()
        limit_row.addWidget(self._limit_label, 1)
        limit_row.addWidget(self.limit)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addLayout(now_row)
        layout.addWidget(self._queue_label)
        layout.addWidget(self.queue, 1)
        layout.addLayout(queue_row)
        layout.addLayout(limit_row)
        return page

    def _messages_tab(self) -> QWidget:
        self._announce_label = QLabel()
        self.announcement = named(QLineEdit(), "announcement_text")
        self.announcement.setMaxLength(280)
        self.announcement.setMinimumHeight(44)
        self.announce = _button("announce")
        self.announce.clicked.connect(self.announce_requested)
        self._seat_label = QLabel()
        self.seat = named(QComboBox(), "message_seat")
        self.seat.setMinimumHeight(44)
        self.seat_text = named(QLineEdit(), "seat_message_text")
        self.seat_text.setMaxLength(280)
        self.seat_text.setMinimumHeight(44)
        self.send_to_seat = _button("send_to_seat")
        self.send_to_seat.clicked.connect(self.seat_message_requested)
        seat_row = QHBoxLayout()
        seat_row.addWidget(self.seat)
        seat_row.addWidget(self.seat_text, 1)
        self._screens_label = QLabel()
        self.lock = _button("lock_screens")
        self.unlock = _button("unlock_screens")
        self.lock.clicked.connect(lambda: self.lock_requested.emit(True))
        self.unlock.clicked.connect(lambda: self.lock_requested.emit(False))
        lock_row = QHBoxLayout()
        lock_row.addWidget(self.lock)
        lock_row.addWidget(self.unlock)
        self.message_status = named(QLabel(), "message_status")
        self.message_status.setWordWrap(True)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self._announce_label)
        layout.addWidget(self.announcement)
        layout.addWidget(self.announce, 0, Qt.AlignmentFlag.AlignRight)
        layout.addSpacing(12)
        layout.addWidget(self._seat_label)
        layout.addLayout(seat_row)
        layout.addWidget(self.send_to_seat, 0, Qt.AlignmentFlag.AlignRight)
        layout.addSpacing(12)
        layout.addWidget(self._screens_label)
        layout.addLayout(lock_row)
        layout.addWidget(self.message_status)
        layout.addStretch(1)
        return page

    def _service_tab(self) -> QWidget:
        self.service_calls = named(QListWidget(), "service_calls")
        self.service_calls.setWordWrap(True)
        self.resolve = _button("resolve_service")
        self.resolve.clicked.connect(self.resolve_requested)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.service_calls, 1)
        layout.addWidget(self.resolve, 0, Qt.AlignmentFlag.AlignRight)
        return page

    def _alerts_tab(self) -> QWidget:
        self.alerts = named(QListWidget(), "alerts")
        self.alerts.setWordWrap(True)
        self.clear_alerts = _button("clear_alerts")
        self.clear_alerts.clicked.connect(self.clear_alerts_requested)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self.alerts, 1)
        layout.addWidget(self.clear_alerts, 0, Qt.AlignmentFlag.AlignRight)
        return page

    def _documents_tab(self) -> QWidget:
        self._item_documents_label = QLabel()
        self.item_documents = named(QListWidget(), "item_documents")
        self.item_documents.setWordWrap(True)
        self.item_documents.itemActivated.connect(self._emit_open)
        self.open_document = _button("open_document")
        self.open_document.clicked.connect(
            lambda: self._emit_open(self.item_documents.currentItem())
        )
        self._attach_label = QLabel()
        self.attach_choice = named(QComboBox(), "attach_choice")
        self.attach_choice.setMinimumHeight(44)
        self.attach = _button("attach_document")
        self.attach.clicked.connect(self.attach_requested)
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.addWidget(self._item_documents_label)
        layout.addWidget(self.item_documents, 1)
        layout.addWidget(self.open_document, 0, Qt.AlignmentFlag.AlignRight)
        layout.addSpacing(12)
        layout.addWidget(self._attach_label)
        layout.addWidget(self.attach_choice)
        layout.addWidget(self.attach, 0, Qt.AlignmentFlag.AlignRight)
        return page

    # --- state from the controller ------------------------------------------------------

    def set_capabilities(self, allowed: frozenset[type[Request]]) -> None:
        """Show only what the signed-in role may do (room_protocol.live.ALLOWED and
        room_protocol.voting.ALLOWED)."""
        self.follow_me.setVisible(SetFollow in allowed)
        for request, widgets in (
            (GrantFloor, [self.grant]),
            (EndSpeech, [self.end_speech]),
            (ReorderQueue, [self.queue_up, self.queue_down]),
            (SetSpeakingLimit, [self.limit, self._limit_label]),
            (AddItem, [self.add, self.new_title, self.new_minutes]),
            (MoveItem, list(self.move_buttons.values())),
            (AttachDocument, [self.attach, self.attach_choice, self._attach_label]),
        ):
            for widget in widgets:
                widget.setVisible(request in allowed)

    def set_meeting(self, meeting: MeetingSnapshot | None) -> None:
        """Rebuild the agenda tree; the selection stays on the same item."""
        previous = self.selected_item()
        self._meeting = meeting
        self.tree.blockSignals(True)
        self.tree.clear()
        self._items.clear()

        def add(parent: QTreeWidget | QTreeWidgetItem, item: AgendaItem) -> None:
            row = QTreeWidgetItem([item.number, item.title, "", "", ""])
            row.setData(0, KEY, item.id)
            for column in (2, 3, 4):
                row.setTextAlignment(
                    column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
            if isinstance(parent, QTreeWidget):
                parent.addTopLevelItem(row)
            else:
                parent.addChild(row)
            self._items[item.id] = row
            for child in item.children:
                add(row, child)

        for item in meeting.agenda if meeting else ():
            add(self.tree, item)
        self.tree.expandAll()
        keep = (
            previous if previous in self._items else (meeting.current_item_id if meeting else None)
        )
        if keep is None and self._items:
            keep = next(iter(self._items))
        if keep is not None:
            self.tree.setCurrentItem(self._items[keep])
        self.tree.blockSignals(False)
        current_row = self.tree.currentItem()
        self._on_item_changed(current_row, None)

    def set_item_row(
        self, item_id: str, *, planned: str, spent: str, done: bool, current: bool
    ) -> None:
        row = self._items.get(item_id)
        if row is None:
            return
        row.setText(2, planned)
        row.setText(3, spent)
        row.setText(4, "✓" if done else "")
        for column in range(5):
            row.setFont(column, scaled_font(self.tree, 1.0, bold=current))
            row.setBackground(
                column, QBrush(QColor(CURRENT_ITEM_BACKGROUND)) if current else QBrush()
            )
            row.setForeground(column, QBrush(QColor("#7a808a")) if done else QBrush())

    def selected_item(self) -> str | None:
        row = self.tree.currentItem()
        return None if row is None else str(row.data(0, KEY))

    def select_item(self, item_id: str) -> None:
        if item_id in self._items:
            self.tree.setCurrentItem(self._items[item_id])

    def set_item_documents(self, documents: list[tuple[str, str]]) -> None:
        self.item_documents.clear()
        for sha256, label in documents:
            row = QListWidgetItem(label)
            row.setData(KEY, sha256)
            self.item_documents.addItem(row)
        if documents:
            self.item_documents.setCurrentRow(0)
        self.open_document.setEnabled(bool(documents))

    def set_attachable(self, documents: list[tuple[str, str]]) -> None:
        chosen = self.attach_choice.currentData()
        self.attach_choice.clear()
        for sha256, title in documents:
            self.attach_choice.addItem(title, sha256)
        index = self.attach_choice.findData(chosen)
        if index >= 0:
            self.attach_choice.setCurrentIndex(index)

    def attach_sha256(self) -> str | None:
        data = self.attach_choice.currentData()
        return None if data is None else str(data)

    def set_queue(self, entries: list[tuple[str, str]]) -> None:
        """``entries`` as (delegate id, label), in queue order; keeps the selection."""
        chosen = self.selected_queue_entry()
        self.queue.clear()
        for delegate_id, label in entries:
            row = QListWidgetItem(label)
            row.setData(KEY, delegate_id)
            self.queue.addItem(row)
            if delegate_id == chosen:
                self.queue.setCurrentItem(row)

    def selected_queue_entry(self) -> str | None:
        row = self.queue.currentItem()
        return None if row is None else str(row.data(KEY))

    def select_queue_entry(self, delegate_id: str) -> None:
        for index in range(self.queue.count()):
            if self.queue.item(index).data(KEY) == delegate_id:
                self.queue.setCurrentRow(index)

    def set_limit(self, seconds: int) -> None:
        self.limit.blockSignals(True)
        self.limit.setValue(seconds)
        self.limit.blockSignals(False)

    def set_seats(self, seats: list[tuple[str, str]]) -> None:
        chosen = self.seat.currentData()
        self.seat.clear()
        for seat_id, label in seats:
            self.seat.addItem(label, seat_id)
        index = self.seat.findData(chosen)
        if index >= 0:
            self.seat.setCurrentIndex(index)

    def selected_seat(self) -> str | None:
        data = self.seat.currentData()
        return None if data is None else str(data)

    def set_service_calls(self, calls: list[tuple[str, str]]) -> None:
        self.service_calls.clear()
        for call_id, label in calls:
            row = QListWidgetItem(label)
            row.setData(KEY, call_id)
            self.service_calls.addItem(row)
        if calls:
            self.service_calls.setCurrentRow(0)
        self.resolve.setEnabled(bool(calls))

    def selected_service_call(self) -> str | None:
        row = self.service_calls.currentItem()
        return None if row is None else str(row.data(KEY))

    def set_alerts(self, alerts: list[str]) -> None:
        self.alerts.clear()
        for text in alerts:
            self.alerts.addItem(text)

    def set_section_counts(self, **counts: object) -> None:
        """``attendance`` = (present, members) or None; ``polls`` = how many are open."""
        self._section_counts.update(counts)
        self._title_sections()

    def show_section(self, name: str) -> None:
        """``agenda``, ``attendance`` or ``polls``."""
        index = ("agenda", "attendance", "polls").index(name)
        self.sections.setCurrentIndex(index)

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

    def set_counts(self, *, queue: int, service: int, alerts: int) -> None:
        self._counts = {"queue": queue, "service": service, "alerts": alerts}
        self._title_tabs()

    def set_follow_me(self, on: bool) -> None:
        self.follow_me.blockSignals(True)
        self.follow_me.setChecked(on)
        self.follow_me.blockSignals(False)
        self.follow_me.setText(tr("console.follow_me_on" if on else "console.follow_me_off"))

    def set_overrun(self, overrun: bool) -> None:
        if self.item_timer.property("overrun") == overrun:
            return
        self.item_timer.setProperty("overrun", overrun)
        colour = "#b00020" if overrun else "#1b1f24"
        self.item_timer.setStyleSheet(
            f"QLabel#item_timer {{ color: {colour}; font-size: 26px; font-weight: 700; }}"
        )

    def set_expired(self, expired: bool) -> None:
        if self.countdown.property("expired") == expired:
            return  # restyling is not free: only when it flips
        colour = "#b00020" if expired else "#1b1f24"
        self.countdown.setStyleSheet(
            f"QLabel#console_countdown {{ color: {colour}; font-size: 26px; font-weight: 700;"
            " padding: 0 8px; }"
        )
        self.countdown.setProperty("expired", expired)

    def retranslate(self) -> None:
        self._heading.setText(tr("console.heading"))
        self.tree.setHeaderLabels(
            [
                tr("console.column_number"),
                tr("console.column_title"),
                tr("console.column_planned"),
                tr("console.column_spent"),
                tr("console.column_done"),
            ]
        )
        self.previous.setText(tr("console.previous"))
        self.next.setText(tr("console.next"))
        self.make_current.setText(tr("console.make_current"))
        self.mark_done.setText(tr("console.mark_done"))
        for move, button in self.move_buttons.items():
            button.setText(tr(f"console.move_{move}"))
        self.new_title.setPlaceholderText(tr("console.new_item_title"))
        self.new_minutes.setSuffix(tr("console.minutes_suffix"))
        self.add.setText(tr("console.add_item"))
        self.set_follow_me(self.follow_me.isChecked())
        self.end_speech.setText(tr("console.end_speech"))
        self._queue_label.setText(tr("console.queue"))
        self.grant.setText(tr("console.grant"))
        self.queue_up.setText(tr("console.queue_up"))
        self.queue_down.setText(tr("console.queue_down"))
        self._limit_label.setText(tr("console.speaking_limit"))
        self.limit.setSuffix(tr("console.seconds_suffix"))
        self.limit.setSpecialValueText(tr("console.no_limit"))
        self._announce_label.setText(tr("console.announce_label"))
        self.announce.setText(tr("console.announce"))
        self._seat_label.setText(tr("console.seat_label"))
        self.send_to_seat.setText(tr("console.send_to_seat"))
        self._screens_label.setText(tr("console.screens_label"))
        self.lock.setText(tr("console.lock"))
        self.unlock.setText(tr("console.unlock"))
        self.resolve.setText(tr("console.resolve"))
        self.clear_alerts.setText(tr("console.clear_alerts"))
        self._item_documents_label.setText(tr("console.item_documents"))
        self.open_document.setText(tr("documents.open"))
        self._attach_label.setText(tr("console.attach_label"))
        self.attach.setText(tr("console.attach"))
        self.attendance.retranslate()
        self.polls.retranslate()
        self._title_tabs()
        self._title_sections()

    # --- internals ----------------------------------------------------------------------

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

    def _on_item_changed(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        if current is not None:
            self.item_selected.emit(str(current.data(0, KEY)))

    def _emit_open(self, row: QListWidgetItem | None) -> None:
        if row is not None and row.data(KEY):
            self.open_document_requested.emit(str(row.data(KEY)))
