"""The console's polls tab: the meeting's polls with their state; one poll in detail
(open it, watch the ballots come in, close it now or after a countdown, see the result,
give the casting vote on a tie, publish); and the editor for a new poll, from a template
of the package or from scratch. Layout only: the PollsController fills it."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from room_protocol.voting import Abstentions, Base, Majority, PollKind, PollRule, Tie
from tablet_client.i18n import tr
from tablet_client.polls import DraftPoll
from tablet_client.views.results_view import ResultsView
from tablet_client.views.style import INDICATOR_STYLE, named, touch_spin_box

KEY = Qt.ItemDataRole.UserRole
STATE_COLOURS = {"draft": "#5c6370", "open": "#1e7b34", "closed": "#b35900", "published": "#1f5fae"}
COUNTDOWN_MAX_S = 86_400  # room_protocol.voting.ClosePoll
CHOICE_KINDS = (PollKind.SINGLE, PollKind.ELECTION)  # where plurality and lots apply


def _button(name: str, *, height: int = 48) -> QPushButton:
    button = named(QPushButton(), name)
    button.setMinimumHeight(height)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return button


def _seconds(name: str, value: int) -> QSpinBox:
    spin = touch_spin_box(named(QSpinBox(), name))
    spin.setRange(0, COUNTDOWN_MAX_S)
    spin.setSingleStep(15)
    spin.setValue(value)
    spin.setMinimumWidth(230)  # "No countdown" between - and +
    return spin


class PollEditorView(QWidget):
    """A new poll: title, kind, options and how it is decided."""

    create_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("poll_editor")
        self.heading = named(QLabel(), "section")
        self.template = named(QComboBox(), "poll_template")
        self.template_note = named(QLabel(), "hint")
        self.template_note.setWordWrap(True)
        self.title = named(QLineEdit(), "poll_title_edit")
        self.title.setMaxLength(500)
        self.kind = named(QComboBox(), "poll_kind")
        for kind in PollKind:
            self.kind.addItem("", kind.value)
        self.options = named(QPlainTextEdit(), "poll_options")
        self.options.setMinimumHeight(110)
        self.options.setMaximumHeight(150)
        self.min_choices = named(QSpinBox(), "poll_min")
        self.max_choices = named(QSpinBox(), "poll_max")
        self.seats = named(QSpinBox(), "poll_seats")
        for spin, low, start in (
            (self.min_choices, 0, 0),
            (self.max_choices, 1, 2),
            (self.seats, 1, 1),
        ):
            touch_spin_box(spin)
            spin.setRange(low, 200)
            spin.setValue(start)
        self.majority = named(QComboBox(), "poll_majority")
        self.base = named(QComboBox(), "poll_base")
        self.abstentions = named(QComboBox(), "poll_abstentions")
        self.tie = named(QComboBox(), "poll_tie")
        for combo, values in (
            (self.majority, Majority),
            (self.base, Base),
            (self.abstentions, Abstentions),
            (self.tie, Tie),
        ):
            for value in values:
                combo.addItem("", value.value)
        self.secret = named(QCheckBox(), "poll_secret")
        self.allow_change = named(QCheckBox(), "poll_allow_change")
        self.weighted = named(QCheckBox(), "poll_weighted")
        self.item = named(QComboBox(), "poll_item")
        self.problem = named(QLabel(), "poll_editor_problem")
        self.problem.setWordWrap(True)
        self.create_button = _button("create_poll")
        self.cancel = _button("cancel_poll_editor")
        self.create_button.clicked.connect(self.create_requested)
        self.cancel.clicked.connect(self.cancel_requested)
        self.kind.currentIndexChanged.connect(lambda _i: self._kind_changed())
        self.template.currentIndexChanged.connect(lambda _i: self._kind_changed())
        self.secret.toggled.connect(lambda _on: self._kind_changed())
        self.majority.currentIndexChanged.connect(lambda _i: self._kind_changed())
        self.title.textChanged.connect(self.problem.clear)
        self.options.textChanged.connect(self.problem.clear)

        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setVerticalSpacing(8)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._labels: dict[str, QLabel] = {}
        for key, widget in (
            ("template", self.template),
            ("title", self.title),
            ("kind", self.kind),
            ("options", self.options),
            ("min", self.min_choices),
            ("max", self.max_choices),
            ("seats", self.seats),
            ("majority", self.majority),
            ("base", self.base),
            ("abstentions", self.abstentions),
            ("tie", self.tie),
            ("item", self.item),
        ):
            label = QLabel()
            self._labels[key] = label
            self.form.addRow(label, widget)
            if key == "template":
                self.form.addRow("", self.template_note)
        flags = QHBoxLayout()
        for box in (self.secret, self.allow_change, self.weighted):
            flags.addWidget(box)
        flags.addStretch(1)
        self.form.addRow("", flags)
        buttons = QHBoxLayout()
        buttons.addWidget(self.problem, 1)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.create_button)
        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 8, 0)
        body_layout.addWidget(self.heading)
        body_layout.addLayout(self.form)
        body_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self.setStyleSheet(
            "QLabel#poll_editor_problem { color: #b00020; font-weight: 600; }"
            " QPushButton#create_poll { background: #1f5fae; color: white; border-radius: 6px;"
            " font-weight: 600; }" + INDICATOR_STYLE
        )
        self._kind_changed()

    def reset(self, templates: list[str], items: list[tuple[str, str]]) -> None:
        """A blank form; ``items`` as (item id, label) for "which agenda item"."""
        self.template.blockSignals(True)
        self.template.clear()
        self.template.addItem(tr("polls.no_template"), None)
        for template_id in templates:
            self.template.addItem(template_id, template_id)
        self.template.blockSignals(False)
        self.item.clear()
        self.item.addItem(tr("polls.no_item"), None)
        for item_id, label in items:
            self.item.addItem(label, item_id)
        self.title.clear()
        self.options.clear()
        self.kind.setCurrentIndex(0)
        self.min_choices.setValue(0)
        self.max_choices.setValue(2)
        self.seats.setValue(1)
        for combo in (self.majority, self.base, self.abstentions, self.tie):
            combo.setCurrentIndex(0)
        self.majority.setCurrentIndex(self.majority.findData(Majority.SIMPLE.value))
        for box in (self.secret, self.allow_change, self.weighted):
            box.setChecked(False)
        self.problem.clear()
        self._kind_changed()

    def template_id(self) -> str | None:
        data = self.template.currentData()
        return None if data is None else str(data)

    def select_template(self, template_id: str | None) -> None:
        self.template.setCurrentIndex(max(0, self.template.findData(template_id)))

    def select_kind(self, kind: PollKind) -> None:
        self.kind.setCurrentIndex(self.kind.findData(kind.value))

    def select(self, combo: QComboBox, value: str) -> None:
        index = combo.findData(value)
        if index >= 0:
            combo.setCurrentIndex(index)

    def draft(self) -> DraftPoll:
        kind = PollKind(str(self.kind.currentData()))
        return DraftPoll(
            title=self.title.text(),
            kind=kind,
            options=tuple(self.options.toPlainText().splitlines()),
            min_choices=self.min_choices.value() if kind is not PollKind.YES_NO else 1,
            max_choices=self.max_choices.value(),
            seats=self.seats.value(),
            secret=self.secret.isChecked(),
            allow_change=self.allow_change.isChecked(),
            weighted=self.weighted.isChecked(),
            rule=PollRule(
                Majority(str(self.majority.currentData())),
                Base(str(self.base.currentData())),
                Abstentions(str(self.abstentions.currentData())),
                Tie(str(self.tie.currentData())),
            ),
            item_id=self.item.currentData(),
        )

    def _kind_changed(self) -> None:
        """Offer only what applies to the kind (and nothing a template decides)."""
        kind = PollKind(str(self.kind.currentData()))
        templated = self.template.currentData() is not None
        majority = Majority(str(self.majority.currentData()))
        counted = majority not in (Majority.PLURALITY, Majority.ABSOLUTE)  # a base applies
        self.template_note.setVisible(templated)
        shown = {
            "kind": not templated,
            "options": kind is not PollKind.YES_NO or templated,
            "min": kind is not PollKind.YES_NO and not templated,
            "max": kind is PollKind.MULTIPLE and not templated,
            "seats": kind is PollKind.ELECTION and not templated,
            "majority": not templated,
            "base": not templated and counted,
            "abstentions": not templated and majority is not Majority.PLURALITY,
            "tie": not templated,
        }
        widgets = {
            "kind": self.kind,
            "options": self.options,
            "min": self.min_choices,
            "max": self.max_choices,
            "seats": self.seats,
            "majority": self.majority,
            "base": self.base,
            "abstentions": self.abstentions,
            "tie": self.tie,
        }
        for key, widget in widgets.items():
            widget.setVisible(shown[key])
            self._labels[key].setVisible(shown[key])
        for box in (self.secret, self.allow_change, self.weighted):
            box.setVisible(not templated)
        self.min_choices.setMaximum(1 if kind is PollKind.SINGLE else 200)
        choice = kind in CHOICE_KINDS
        for combo, value in ((self.majority, Majority.PLURALITY), (self.tie, Tie.LOT)):
            index = combo.findData(value.value)
            model_item = combo.model().item(index)  # type: ignore[attr-defined]
            model_item.setEnabled(choice)
            if not choice and combo.currentIndex() == index:
                combo.setCurrentIndex(0 if index else 1)
        self.allow_change.setEnabled(not self.secret.isChecked())
        if self.secret.isChecked():
            self.allow_change.setChecked(False)

    def retranslate(self) -> None:
        self.heading.setText(tr("polls.new_heading"))
        for key, label in self._labels.items():
            label.setText(tr(f"polls.field_{key}"))
        self.template_note.setText(tr("polls.template_note"))
        self.options.setPlaceholderText(tr("polls.options_placeholder"))
        self.title.setPlaceholderText(tr("polls.title_placeholder"))
        for combo, prefix in (
            (self.kind, "poll.kind"),
            (self.majority, "poll.majority"),
            (self.base, "poll.base"),
            (self.abstentions, "poll.abstentions"),
            (self.tie, "poll.tie"),
        ):
            for index in range(combo.count()):
                combo.setItemText(index, tr(f"{prefix}.{combo.itemData(index)}"))
        if self.template.count():
            self.template.setItemText(0, tr("polls.no_template"))
        if self.item.count():
            self.item.setItemText(0, tr("polls.no_item"))
        self.min_choices.setSpecialValueText(tr("polls.blank_allowed"))
        self.secret.setText(tr("polls.secret"))
        self.allow_change.setText(tr("polls.allow_change"))
        self.weighted.setText(tr("polls.weighted"))
        self.create_button.setText(tr("polls.create"))
        self.cancel.setText(tr("polls.cancel"))


class PollsView(QWidget):
    poll_selected = Signal(str)
    new_requested = Signal()
    open_requested = Signal()
    open_anyway_requested = Signal()
    open_cancelled = Signal()
    close_requested = Signal(int)  # seconds; 0: now (asked first)
    close_confirmed = Signal()  # "close now" said twice
    close_cancelled = Signal()
    publish_requested = Signal()
    casting_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("polls_view")
        # --- the list ------------------------------------------------------------------
        self._list_heading = named(QLabel(), "section")
        self.poll_list = named(QListWidget(), "poll_list")
        self.poll_list.setWordWrap(True)
        self.poll_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.poll_list.currentItemChanged.connect(self._on_row)
        self.new_poll = _button("new_poll")
        self.new_poll.clicked.connect(self.new_requested)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 8, 0)
        left_layout.addWidget(self._list_heading)
        left_layout.addWidget(self.poll_list, 1)
        left_layout.addWidget(self.new_poll)

        # --- one poll ------------------------------------------------------------------
        self.title = named(QLabel(), "poll_title")
        self.title.setWordWrap(True)
        self.state = named(QLabel(), "poll_state")
        self.meta = named(QLabel(), "poll_meta")
        self.meta.setWordWrap(True)
        self.rule = named(QLabel(), "poll_rule")
        self.rule.setWordWrap(True)
        title_row = QHBoxLayout()
        title_row.addWidget(self.title, 1)
        title_row.addWidget(self.state, 0, Qt.AlignmentFlag.AlignTop)
        self.options = named(QLabel(), "poll_options_shown")  # what members will choose from
        self.options.setWordWrap(True)

        self.open_box = named(QFrame(), "open_box")
        self._open_countdown_label = QLabel()
        self.open_countdown = _seconds("open_countdown", 0)
        self.open_poll = _button("open_poll", height=56)
        self.open_poll.clicked.connect(self.open_requested)
        open_layout = QHBoxLayout(self.open_box)
        open_layout.setContentsMargins(0, 0, 0, 0)
        open_layout.addWidget(self._open_countdown_label)
        open_layout.addWidget(self.open_countdown)
        open_layout.addStretch(1)
        open_layout.addWidget(self.open_poll)

        self.quorum_confirm = named(QFrame(), "quorum_confirm")
        self.quorum_text = named(QLabel(), "quorum_confirm_text")
        self.quorum_text.setWordWrap(True)
        self.open_anyway = _button("open_anyway")
        self.open_cancel = _button("open_cancel")
        self.open_anyway.clicked.connect(self.open_anyway_requested)
        self.open_cancel.clicked.connect(self.open_cancelled)
        confirm_layout = QVBoxLayout(self.quorum_confirm)
        confirm_layout.addWidget(self.quorum_text)
        confirm_buttons = QHBoxLayout()
        # The safe choice is the primary button, at the right where a finger goes first.
        confirm_buttons.addWidget(self.open_anyway)
        confirm_buttons.addStretch(1)
        confirm_buttons.addWidget(self.open_cancel)
        confirm_layout.addLayout(confirm_buttons)
        self.quorum_confirm.hide()

        self.progress_box = named(QFrame(), "progress_box")
        self.progress_text = named(QLabel(), "poll_progress_text")
        self.countdown = named(QLabel(), "poll_countdown")
        self.progress = named(QProgressBar(), "poll_progress")
        self.progress.setTextVisible(False)
        self.progress.setMinimumHeight(22)
        self.close_now = _button("close_now")
        self.close_later_label = QLabel()
        self.close_countdown = _seconds("close_countdown", 30)
        self.close_later = _button("close_later")
        self.close_now.clicked.connect(lambda: self.close_requested.emit(0))
        self.close_later.clicked.connect(
            lambda: self.close_requested.emit(self.close_countdown.value())
        )
        progress_layout = QVBoxLayout(self.progress_box)
        progress_layout.setContentsMargins(0, 0, 0, 0)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_text, 1)
        progress_row.addWidget(self.countdown)
        progress_layout.addLayout(progress_row)
        progress_layout.addWidget(self.progress)
        close_row = QHBoxLayout()
        close_row.addWidget(self.close_now)
        close_row.addStretch(1)
        close_row.addWidget(self.close_later_label)
        close_row.addWidget(self.close_countdown)
        close_row.addWidget(self.close_later)
        progress_layout.addLayout(close_row)
        self.close_confirm = named(QFrame(), "close_confirm")
        self.close_confirm_text = named(QLabel(), "close_confirm_text")
        self.close_confirm_text.setWordWrap(True)
        self.close_yes = _button("close_yes")
        self.close_keep = _button("close_keep")
        self.close_yes.clicked.connect(self.close_confirmed)
        self.close_keep.clicked.connect(self.close_cancelled)
        close_confirm_layout = QVBoxLayout(self.close_confirm)
        close_confirm_layout.addWidget(self.close_confirm_text)
        close_confirm_buttons = QHBoxLayout()
        close_confirm_buttons.addWidget(self.close_yes)
        close_confirm_buttons.addStretch(1)
        close_confirm_buttons.addWidget(self.close_keep)
        close_confirm_layout.addLayout(close_confirm_buttons)
        self.close_confirm.hide()
        progress_layout.addWidget(self.close_confirm)

        self.results = named(ResultsView(), "poll_results")
        self.casting_box = named(QFrame(), "casting_box")
        self.casting_text = named(QLabel(), "casting_text")
        self.casting_text.setWordWrap(True)
        self._casting_buttons = QHBoxLayout()
        self.casting_group = QButtonGroup(self)
        self.casting_group.buttonToggled.connect(lambda *_a: self.casting_changed.emit())
        self.casting_places = 1
        casting_layout = QVBoxLayout(self.casting_box)
        casting_layout.addWidget(self.casting_text)
        casting_layout.addLayout(self._casting_buttons)
        self.publish = _button("publish_poll", height=56)
        self.publish.clicked.connect(self.publish_requested)
        self.status = named(QLabel(), "polls_status")
        self.status.setWordWrap(True)

        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(8, 0, 8, 0)
        detail_layout.setSpacing(10)
        detail_layout.addLayout(title_row)
        detail_layout.addWidget(self.meta)
        detail_layout.addWidget(self.rule)
        detail_layout.addWidget(self.options)
        detail_layout.addWidget(self.open_box)
        detail_layout.addWidget(self.quorum_confirm)
        detail_layout.addWidget(self.progress_box)
        detail_layout.addWidget(self.results)
        detail_layout.addWidget(self.casting_box)
        detail_layout.addWidget(self.publish, 0, Qt.AlignmentFlag.AlignRight)
        detail_layout.addWidget(self.status)
        detail_layout.addStretch(1)
        detail_scroll = QScrollArea()
        detail_scroll.setWidgetResizable(True)
        detail_scroll.setFrameShape(QFrame.Shape.NoFrame)
        detail_scroll.setWidget(detail)

        self.empty = named(QLabel(), "polls_empty")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.editor = PollEditorView()
        self.pages = named(QStackedWidget(), "poll_pages")
        self.pages.addWidget(self.empty)
        self.pages.addWidget(detail_scroll)
        self.pages.addWidget(self.editor)
        self._detail_page = detail_scroll

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.pages)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 7)
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(splitter, 1)
        self.setStyleSheet(
            "QLabel#poll_title { font-size: 21px; font-weight: 700; }"
            " QListWidget#poll_list::item { padding: 6px 4px; border-bottom: 1px solid #e6e9ee; }"
            " QListWidget#poll_list::item:selected { background: #dbe8f7; color: #1b1f24;"
            " border-left: 4px solid #1f5fae; }"
            " QLabel#poll_meta { color: #333a44; }"
            " QLabel#poll_rule { color: #1f5fae; font-weight: 600; }"
            " QLabel#poll_progress_text { font-size: 20px; font-weight: 700; }"
            " QLabel#poll_countdown { font-size: 22px; font-weight: 700; color: #b00020; }"
            " QLabel#polls_status { color: #b00020; font-weight: 600; }"
            " QLabel#polls_empty { color: #4a4f57; font-size: 17px; }"
            " QFrame#quorum_confirm { background: #fff1c2; border: 1px solid #e6d28f;"
            " border-radius: 8px; }"
            " QLabel#quorum_confirm_text { color: #3d3000; font-size: 17px; font-weight: 600; }"
            " QFrame#casting_box { background: #fff1c2; border-radius: 8px; }"
            " QLabel#casting_text { color: #3d3000; font-size: 17px; font-weight: 600; }"
            " QPushButton#casting_option { font-size: 18px; font-weight: 600; border-radius: 8px;"
            " border: 2px solid #8a6d00; background: white; padding: 4px 20px; }"
            " QPushButton#casting_option:checked { background: #8a6d00; color: white; }"
            " QLabel#poll_options_shown { font-size: 17px; }"
            " QFrame#close_confirm { background: #fde7e9; border: 1px solid #e8a5ad;"
            " border-radius: 8px; }"
            " QLabel#close_confirm_text { color: #5c0010; font-size: 17px; font-weight: 600; }"
            " QPushButton#open_poll, QPushButton#publish_poll, QPushButton#open_cancel,"
            " QPushButton#close_keep {"
            " background: #1f5fae; color: white; border-radius: 6px; font-size: 17px;"
            " font-weight: 700; padding: 4px 24px; }"
            " QPushButton#open_anyway, QPushButton#close_yes { background: white;"
            " color: #8c0016; border: 2px solid #8c0016; border-radius: 6px; font-size: 16px;"
            " font-weight: 600; padding: 4px 18px; }"
            " QPushButton#open_poll:disabled, QPushButton#publish_poll:disabled {"
            " background: #9aa7b8; }"
        )
        self.show_page("empty")
        self.retranslate()

    # --- state from the controller ------------------------------------------------------

    def set_polls(self, rows: list[tuple[str, str, str]]) -> None:
        """``rows`` as (poll id, label, state); keeps the selection."""
        chosen = self.selected_poll()
        self.poll_list.blockSignals(True)
        self.poll_list.clear()
        for poll_id, label, state in rows:
            row = QListWidgetItem(label)
            row.setData(KEY, poll_id)
            row.setForeground(QBrush(QColor(STATE_COLOURS.get(state, "#1b1f24"))))
            self.poll_list.addItem(row)
            if poll_id == chosen:
                self.poll_list.setCurrentItem(row)
        self.poll_list.blockSignals(False)

    def selected_poll(self) -> str | None:
        row = self.poll_list.currentItem()
        return None if row is None else str(row.data(KEY))

    def select_poll(self, poll_id: str) -> None:
        for index in range(self.poll_list.count()):
            if self.poll_list.item(index).data(KEY) == poll_id:
                self.poll_list.setCurrentRow(index)
                return

    def show_page(self, page: str) -> None:
        """``empty``, ``detail`` or ``editor``."""
        widget = {"empty": self.empty, "detail": self._detail_page, "editor": self.editor}[page]
        self.pages.setCurrentWidget(widget)

    def page(self) -> str:
        current = self.pages.currentWidget()
        if current is self.editor:
            return "editor"
        return "detail" if current is self._detail_page else "empty"

    def set_state_badge(self, text: str, state: str) -> None:
        colour = STATE_COLOURS.get(state, "#5c6370")
        self.state.setText(text)
        self.state.setStyleSheet(
            f"QLabel#poll_state {{ background: {colour}; color: white; font-weight: 700;"
            " border-radius: 12px; padding: 3px 14px; }"
        )

    def set_casting_options(self, options: list[tuple[str, str]], places: int) -> None:
        """Checkable buttons for the tied options; ``places`` of them must be chosen."""
        if [(b.property("option_id"), b.text()) for b in self.casting_group.buttons()] == options:
            self.casting_places = places
            return
        for button in self.casting_group.buttons():
            self.casting_group.removeButton(button)
            self._casting_buttons.removeWidget(button)
            button.deleteLater()
        self.casting_places = places
        self.casting_group.setExclusive(places == 1)
        for option_id, label in options:
            button = named(QPushButton(label), "casting_option")
            button.setCheckable(True)
            button.setMinimumHeight(52)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setProperty("option_id", option_id)
            self.casting_group.addButton(button)
            self._casting_buttons.addWidget(button)

    def casting(self) -> tuple[str, ...]:
        return tuple(
            str(b.property("option_id")) for b in self.casting_group.buttons() if b.isChecked()
        )

    def choose_casting(self, option_id: str) -> None:
        for button in self.casting_group.buttons():
            if button.property("option_id") == option_id:
                button.click()

    def retranslate(self) -> None:
        self._list_heading.setText(tr("polls.heading"))
        self.new_poll.setText(tr("polls.new"))
        self.empty.setText(tr("polls.empty"))
        self._open_countdown_label.setText(tr("polls.open_countdown"))
        self.open_countdown.setSpecialValueText(tr("polls.no_countdown"))
        self.open_countdown.setSuffix(tr("console.seconds_suffix"))
        self.open_poll.setText(tr("polls.open"))
        self.open_anyway.setText(tr("polls.open_anyway"))
        self.open_cancel.setText(tr("polls.dont_open"))
        self.close_now.setText(tr("polls.close_now"))
        self.close_yes.setText(tr("polls.close_now_confirm"))
        self.close_keep.setText(tr("polls.keep_open"))
        self.close_later_label.setText(tr("polls.close_countdown"))
        self.close_countdown.setSuffix(tr("console.seconds_suffix"))
        self.close_later.setText(tr("polls.close_later"))
        self.publish.setText(tr("polls.publish"))
        self.editor.retranslate()

    def _on_row(self, current: QListWidgetItem | None, _previous: object) -> None:
        if current is not None:
            self.poll_selected.emit(str(current.data(KEY)))
