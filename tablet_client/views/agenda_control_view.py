"""The left pane of the chair's console: the follow-me header, the current item with its
timer, the agenda tree and the buttons that step, move and add items. Layout only: the
ChairController fills it and acts on its signals."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from room_protocol.messages import AgendaItem, MeetingSnapshot
from tablet_client.i18n import tr
from tablet_client.views.style import (
    CURRENT_ITEM_BACKGROUND,
    agenda_tree,
    console_button,
    named,
    scaled_font,
    touch_spin_box,
)

KEY = Qt.ItemDataRole.UserRole  # the agenda item id of a tree row


class AgendaControlView(QWidget):
    item_selected = Signal(str)
    previous_requested = Signal()
    next_requested = Signal()
    make_current_requested = Signal()
    mark_done_requested = Signal()
    move_requested = Signal(str)  # "up" | "down" | "indent" | "outdent"
    add_requested = Signal()
    follow_me_toggled = Signal(bool)
    display_confidential_toggled = Signal(bool)  # let the room display show them

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agenda_control_view")
        self._items: dict[str, QTreeWidgetItem] = {}
        self._meeting: MeetingSnapshot | None = None

        self._heading = named(QLabel(), "heading")
        self.follow_me = console_button("follow_me")
        self.follow_me.setCheckable(True)
        self.follow_me.toggled.connect(self.follow_me_toggled)
        self.screens_state = named(QLabel(), "screens_state")
        self.display_confidential = console_button("display_confidential")
        self.display_confidential.setCheckable(True)
        self.display_confidential.toggled.connect(self.display_confidential_toggled)
        header = QHBoxLayout()
        header.addWidget(self._heading, 1)
        header.addWidget(self.screens_state)
        header.addWidget(self.display_confidential)
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

        self.tree = agenda_tree("console_agenda", 5)
        self.tree.currentItemChanged.connect(self._on_item_changed)

        self.previous = console_button("previous_item")
        self.next = console_button("next_item")
        self.make_current = console_button("make_current")
        self.mark_done = console_button("mark_done")
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
            button = console_button(f"move_{move}", height=44)
            button.clicked.connect(lambda _checked=False, m=move: self.move_requested.emit(m))
            self.move_buttons[move] = button
            edit.addWidget(button)
        self.new_title = named(QLineEdit(), "new_item_title")
        self.new_title.setMinimumHeight(44)
        self.new_minutes = touch_spin_box(named(QSpinBox(), "new_item_minutes"))
        self.new_minutes.setRange(0, 1440)
        self.new_minutes.setValue(10)
        self.add = console_button("add_item", height=44)
        self.add.clicked.connect(self.add_requested)
        self.new_title.returnPressed.connect(self.add_requested)
        adding = QHBoxLayout()
        adding.addWidget(self.new_title, 1)
        adding.addWidget(self.new_minutes)
        adding.addWidget(self.add)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addWidget(current_box)
        layout.addWidget(self.tree, 1)
        layout.addLayout(steps)
        layout.addLayout(edit)
        layout.addLayout(adding)
        self.status = named(QLabel(), "console_status")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)

    # --- state from the controller ------------------------------------------------------

    def set_closed(self, closed: bool) -> None:
        """Once the meeting is closed its agenda is the record's: nothing steps, moves or
        is added (the move buttons are enabled by the item chosen, not here)."""
        for widget in (
            self.previous,
            self.next,
            self.make_current,
            self.mark_done,
            self.new_title,
            self.new_minutes,
            self.add,
        ):
            widget.setEnabled(not closed)
        if closed:
            for button in self.move_buttons.values():
                button.setEnabled(False)

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

    def set_follow_me(self, on: bool) -> None:
        self.follow_me.blockSignals(True)
        self.follow_me.setChecked(on)
        self.follow_me.blockSignals(False)
        self.follow_me.setText(tr("console.follow_me_on" if on else "console.follow_me_off"))

    def set_display_confidential(self, on: bool) -> None:
        """Whether the room lets the display show confidential pages (as it says)."""
        self.display_confidential.blockSignals(True)
        self.display_confidential.setChecked(on)
        self.display_confidential.blockSignals(False)
        self.display_confidential.setText(
            tr("console.display_confidential_on" if on else "console.display_confidential_off")
        )

    def set_overrun(self, overrun: bool) -> None:
        if self.item_timer.property("overrun") == overrun:
            return
        self.item_timer.setProperty("overrun", overrun)
        colour = "#b00020" if overrun else "#1b1f24"
        self.item_timer.setStyleSheet(
            f"QLabel#item_timer {{ color: {colour}; font-size: 26px; font-weight: 700; }}"
        )

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
        self.set_display_confidential(self.display_confidential.isChecked())

    # --- internals ----------------------------------------------------------------------

    def _on_item_changed(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        if current is not None:
            self.item_selected.emit(str(current.data(0, KEY)))
