"""The voting panel: it comes up over the reader when a poll opens, one section per poll
and one ballot card per vote this tablet casts (the member's own, and one per proxy).
It can be hidden and brought back; it never locks the tablet. Layout only: the
VotingController decides what each card shows."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from tablet_client.i18n import tr
from tablet_client.views.results_view import ResultsView
from tablet_client.views.style import INDICATOR_STYLE, named

SHEET_WIDTH = 980  # px at most; narrower screens get their width less a margin
OPTION = "option_id"  # the property holding a choice's option id
BLANK = ""  # the option id of "abstain" on a card where a blank ballot is allowed
DOUBLE_TAP_S = 0.4  # a tap this soon after the card's last tap or change is the same finger's
Clock = Callable[[], float]  # seconds, monotonic

STATUS_COLOURS = {  # a card's status kind -> (background, text)
    "sending": ("#eef1f5", "#1b1f24"),
    "recorded": ("#e3f4e8", "#0f4d21"),
    "unconfirmed": ("#fff1c2", "#5c4500"),
    "error": ("#fde7e9", "#8c0016"),
    "info": ("#eef1f5", "#333a44"),
}
YES_NO_COLOURS = {"yes": "#1e7b34", "no": "#b00020", "abstain": "#5c6370"}


class ChoiceRadio(QRadioButton):
    """A radio button a finger can hit anywhere on its row, not just on its words."""

    def hitButton(self, pos: QPoint) -> bool:  # noqa: N802 (Qt override)
        return self.rect().contains(pos)


class ChoiceBox(QCheckBox):
    """A checkbox a finger can hit anywhere on its row, not just on its words."""

    def hitButton(self, pos: QPoint) -> bool:  # noqa: N802 (Qt override)
        return self.rect().contains(pos)


def _button(name: str, *, height: int = 52) -> QPushButton:
    button = named(QPushButton(), name)
    button.setMinimumHeight(height)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return button


class BallotCardView(QFrame):
    """One ballot: whose vote, the choices, the review with Cast vote, the receipt.

    Two deliberate taps cast a vote: a whole choice (Yes; one candidate; the first of
    "up to k") brings up the review, "You vote: Yes", with Cast vote under the choices
    and at the right, never where an option is; the choices stay open until it is
    tapped. Cast vote (and every other button of the card) ignores a tap that comes
    within DOUBLE_TAP_S of the card's last tap or change: that is a double tap's second
    half, not a decision."""

    action = Signal(str)  # cast | resend | change_vote | keep_vote
    chosen_changed = Signal()

    def __init__(
        self, delegate_id: str, parent: QWidget | None = None, *, clock: Clock = time.monotonic
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ballot_card")
        self.delegate_id = delegate_id
        self.clock = clock
        self._held_at = float("-inf")  # the card's last tap or change of mode
        self.kind = ""
        self.max_choices = 1
        self.who = named(QLabel(), "ballot_who")
        self.who.setWordWrap(True)
        self.choices_box = named(QWidget(), "ballot_choices")
        self._choices_layout = QVBoxLayout(self.choices_box)
        self._choices_layout.setContentsMargins(0, 0, 0, 0)
        self._choices_layout.setSpacing(6)
        self.group = QButtonGroup(self)
        self.option_buttons: dict[str, QAbstractButton] = {}
        self.hint = named(QLabel(), "ballot_hint")
        self.hint.setWordWrap(True)
        self.review_text = named(QLabel(), "ballot_review_text")
        self.review_text.setWordWrap(True)
        self.cast = _button("ballot_cast", height=64)
        self.cast.setMinimumWidth(220)
        self.review_box = named(QFrame(), "ballot_review_box")
        review_layout = QHBoxLayout(self.review_box)
        review_layout.setContentsMargins(12, 8, 12, 8)
        review_layout.addWidget(self.review_text, 1)
        review_layout.addWidget(self.cast)  # under the choices, at the right: no option there
        self.status = named(QLabel(), "ballot_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.resend = _button("ballot_resend")
        self.change_vote = _button("ballot_change_vote")
        self.keep_vote = _button("ballot_keep_vote")
        for button, name in (
            (self.cast, "cast"),
            (self.resend, "resend"),
            (self.change_vote, "change_vote"),
            (self.keep_vote, "keep_vote"),
        ):
            button.clicked.connect(lambda _checked=False, n=name: self._tapped(n))
        actions = QHBoxLayout()
        actions.addWidget(self.hint, 1)
        actions.addWidget(self.keep_vote)
        after = QHBoxLayout()
        after.addWidget(self.status, 1)
        after.addWidget(self.resend)
        after.addWidget(self.change_vote)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        layout.addWidget(self.who)
        layout.addWidget(self.choices_box)
        layout.addLayout(actions)
        layout.addWidget(self.review_box)
        layout.addLayout(after)
        self.set_mode("choosing")
        self.set_status("", "")

    def _tapped(self, action: str) -> None:
        """A tap on a button of the card: one that lands within DOUBLE_TAP_S of the card's
        last tap or change is the second half of a double tap, not a decision."""
        now = self.clock()
        if now - self._held_at < DOUBLE_TAP_S:
            self._held_at = now  # a third tap of the same burst is no decision either
            return
        self.action.emit(action)

    def hold(self) -> None:
        """The card was just tapped or changed, or came up under the finger: its buttons
        wait DOUBLE_TAP_S before they take a tap."""
        self._held_at = self.clock()

    # --- choices -----------------------------------------------------------------------

    def set_options(
        self, kind: str, options: list[tuple[str, str]], *, blank: str, max_choices: int
    ) -> None:
        """Build the choices (once: a poll's options do not change): ``options`` as (id,
        label); ``blank`` labels an explicit "abstain" (empty: no blank ballot)."""
        self.kind, self.max_choices = kind, max_choices
        if kind == "yes_no":
            row = QHBoxLayout()
            row.setSpacing(12)
            for option_id, label in options:
                button = named(QPushButton(label), f"vote_{option_id}")
                button.setCheckable(True)
                button.setMinimumHeight(84)
                button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
                colour = YES_NO_COLOURS.get(option_id, "#5c6370")
                button.setStyleSheet(
                    f"QPushButton {{ font-size: 24px; font-weight: 700; border-radius: 10px;"
                    f" border: 3px solid {colour}; color: {colour}; background: white; }}"
                    f" QPushButton:checked {{ background: {colour}; color: white; }}"
                    " QPushButton:disabled { border-color: #c9ced6; color: #9aa1ab; }"
                    f" QPushButton:checked:disabled {{ background: {colour}; color: white; }}"
                )
                self._add_choice(button, option_id)
                row.addWidget(button)
            self._choices_layout.addLayout(row)
            self.group.setExclusive(True)
            return
        single = kind == "single"
        self.group.setExclusive(single)
        for option_id, label in options:
            choice: QAbstractButton = ChoiceRadio(label) if single else ChoiceBox(label)
            choice.setObjectName("vote_option")
            self._add_choice(choice, option_id)
            self._choices_layout.addWidget(choice)
        if blank:
            abstain: QAbstractButton = ChoiceRadio(blank) if single else ChoiceBox(blank)
            abstain.setObjectName("vote_blank")
            self._add_choice(abstain, BLANK)
            self._choices_layout.addWidget(abstain)

    def set_labels(self, labels: dict[str, str]) -> None:
        """New words for the choices (after a language switch); ids as in set_options."""
        for option_id, label in labels.items():
            button = self.option_buttons.get(option_id)
            if button is not None and button.text() != label:
                button.setText(label)

    def _add_choice(self, button: QAbstractButton, option_id: str) -> None:
        button.setProperty(OPTION, option_id)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setMinimumHeight(44)
        button.toggled.connect(lambda on, b=button: self._toggled(b, on))
        button.clicked.connect(self.hold)  # tapped, even if it stays as it was
        self.group.addButton(button)
        self.option_buttons[option_id] = button

    def _toggled(self, button: QAbstractButton, on: bool) -> None:
        if self.kind in ("multiple", "election"):
            option_id = button.property(OPTION)
            blank = self.option_buttons.get(BLANK)
            if on and option_id == BLANK:  # abstaining clears the choices
                for other_id, other in self.option_buttons.items():
                    if other_id != BLANK:
                        self._set_checked(other, False)
            elif on and blank is not None:
                self._set_checked(blank, False)
            self._limit()
        self.chosen_changed.emit()

    def _limit(self) -> None:
        """No more than ``max_choices``: the unchosen options wait until one is let go."""
        full = len(self.chosen()[0]) >= self.max_choices
        for option_id, button in self.option_buttons.items():
            if option_id != BLANK:
                button.setEnabled(self._editable and (button.isChecked() or not full))

    @staticmethod
    def _set_checked(button: QAbstractButton, on: bool) -> None:
        button.blockSignals(True)
        button.setChecked(on)
        button.blockSignals(False)

    def chosen(self) -> tuple[tuple[str, ...], bool]:
        """The chosen option ids in the poll's order, and whether "abstain" is chosen."""
        ids = [str(b.property(OPTION)) for b in self.option_buttons.values() if b.isChecked()]
        return tuple(i for i in ids if i != BLANK), BLANK in ids

    def set_chosen(self, choices: tuple[str, ...], blank: bool = False) -> None:
        exclusive = self.group.exclusive()
        self.group.setExclusive(False)  # an exclusive group cannot be emptied otherwise
        for option_id, button in self.option_buttons.items():
            self._set_checked(button, option_id in choices or (blank and option_id == BLANK))
        self.group.setExclusive(exclusive)
        if self.kind in ("multiple", "election"):
            self._limit()

    def choose(self, option_id: str) -> None:
        """Tap an option (tests, and the keyboard-less path)."""
        self.option_buttons[option_id].click()

    # --- stages ------------------------------------------------------------------------

    _editable = True

    def set_mode(self, mode: str) -> None:
        """``choosing`` (the choices, not yet whole), ``reviewing`` (the choices, still
        open, and "You vote: …" with Cast vote) or ``done`` (only the status: sending,
        the receipt, a refusal)."""
        if self.property("mode") != mode:
            self.hold()
        self._editable = mode in ("choosing", "reviewing")
        self.choices_box.setVisible(mode != "done")
        for button in self.option_buttons.values():
            button.setEnabled(self._editable)
        if self._editable and self.kind in ("multiple", "election"):
            self._limit()
        self.hint.setVisible(self._editable)
        # There while choosing too, Cast vote greyed: nothing moves when a choice is whole
        # (not this card's buttons, nor the next card's under a finger on its way there).
        self.review_box.setVisible(self._editable)
        self.cast.setEnabled(mode == "reviewing")
        self.setProperty("mode", mode)

    def mode(self) -> str:
        return str(self.property("mode"))

    def set_status(self, kind: str, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))
        if kind and self.status.property("kind") != kind:  # restyling is not free
            self.status.setProperty("kind", kind)
            background, foreground = STATUS_COLOURS[kind]
            self.status.setStyleSheet(
                f"QLabel#ballot_status {{ background: {background}; color: {foreground};"
                " font-size: 17px; font-weight: 600; border-radius: 6px; padding: 8px 12px; }"
            )

    def set_actions(self, *, resend: bool, change_vote: bool, keep_vote: bool) -> None:
        self.resend.setVisible(resend)
        self.change_vote.setVisible(change_vote)
        self.keep_vote.setVisible(keep_vote)

    def retranslate(self) -> None:
        self.cast.setText(tr("vote.cast"))
        self.resend.setText(tr("vote.send_again"))
        self.change_vote.setText(tr("vote.change_my_vote"))
        self.keep_vote.setText(tr("vote.keep_my_vote"))


class PollSectionView(QFrame):
    """One poll in the panel: what is asked and how it is decided, the ballots, and
    (once published) the result."""

    ballot_action = Signal(str, str)  # delegate id, action
    chosen_changed = Signal(str)  # delegate id

    def __init__(
        self, poll_id: str, parent: QWidget | None = None, *, clock: Clock = time.monotonic
    ) -> None:
        super().__init__(parent)
        self.setObjectName("poll_section")
        self.poll_id = poll_id
        self.clock = clock
        self.title = named(QLabel(), "vote_title")
        self.title.setWordWrap(True)
        self.meta = named(QLabel(), "vote_meta")
        self.meta.setWordWrap(True)
        self.rule = named(QLabel(), "vote_rule")
        self.rule.setWordWrap(True)
        self.countdown = named(QLabel(), "vote_countdown")
        self.state = named(QLabel(), "vote_state")
        self.state.setWordWrap(True)
        self.cards: dict[str, BallotCardView] = {}
        self._cards_layout = QVBoxLayout()
        self._cards_layout.setSpacing(12)
        self.results = ResultsView()
        self.results.hide()
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.countdown, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 8)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.meta)
        layout.addWidget(self.rule)
        layout.addWidget(self.state)
        layout.addSpacing(4)
        layout.addLayout(self._cards_layout)
        layout.addWidget(self.results)

    def set_cards(self, delegate_ids: list[str]) -> list[BallotCardView]:
        """Keep one card per id, in this order; returns the cards made new."""
        made: list[BallotCardView] = []
        for delegate_id in list(self.cards):
            if delegate_id not in delegate_ids:
                card = self.cards.pop(delegate_id)
                self._cards_layout.removeWidget(card)
                card.deleteLater()
        for index, delegate_id in enumerate(delegate_ids):
            existing = self.cards.get(delegate_id)
            if existing is None:
                card = BallotCardView(delegate_id, clock=self.clock)
                card.action.connect(lambda a, d=delegate_id: self.ballot_action.emit(d, a))
                card.chosen_changed.connect(lambda d=delegate_id: self.chosen_changed.emit(d))
                card.retranslate()
                self.cards[delegate_id] = card
                made.append(card)
            else:
                card = existing
            self._cards_layout.insertWidget(index, card)
        return made

    def set_countdown(self, text: str, urgent: bool) -> None:
        self.countdown.setText(text)
        self.countdown.setVisible(bool(text))
        if self.countdown.property("urgent") == urgent:
            return  # restyling is not free: only when it flips
        self.countdown.setProperty("urgent", urgent)
        colour = "#b00020" if urgent else "#1b1f24"
        self.countdown.setStyleSheet(
            f"QLabel#vote_countdown {{ color: {colour}; font-size: 24px; font-weight: 700; }}"
        )

    def set_state(self, text: str, kind: str = "info") -> None:
        self.state.setText(text)
        self.state.setVisible(bool(text))
        if self.state.property("kind") == kind:
            return
        self.state.setProperty("kind", kind)
        background, foreground = STATUS_COLOURS[kind]
        self.state.setStyleSheet(
            f"QLabel#vote_state {{ background: {background}; color: {foreground};"
            " font-size: 17px; font-weight: 600; border-radius: 6px; padding: 8px 12px; }"
        )

    def retranslate(self) -> None:
        for card in self.cards.values():
            card.retranslate()


class FittingScrollArea(QScrollArea):
    """As tall as its contents want (the panel hangs from the top and grows with the
    ballots), scrolling once the screen is full."""

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        inner = self.widget()
        if inner is None:
            return super().sizeHint()
        hint = inner.sizeHint()
        height = hint.height()
        if inner.hasHeightForWidth():  # wrapped text: its height at the width it will get
            height = inner.heightForWidth(max(hint.width(), self.viewport().width()))
        return QSize(hint.width(), height + 2 * self.frameWidth())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self.widget() and event.type() == QEvent.Type.LayoutRequest:
            self.updateGeometry()  # the ballots changed: the panel takes a new height
        return super().eventFilter(watched, event)


class VotingPanelView(QFrame):
    """Over the screen stack: a dimmed backdrop and a card with the polls. Hiding it
    takes the delegate back to what they were reading."""

    hide_requested = Signal()
    ballot_action = Signal(str, str, str)  # poll id, delegate id, action
    chosen_changed = Signal(str, str)  # poll id, delegate id

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("voting_panel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.clock: Clock = time.monotonic  # the ballots' double-tap guard (tests set it)
        self.sections: dict[str, PollSectionView] = {}
        self.heading = named(QLabel(), "voting_heading")
        self.hide_button = _button("voting_hide", height=48)
        self.hide_button.clicked.connect(self.hide_requested)
        header = QHBoxLayout()
        header.addWidget(self.heading, 1)
        header.addWidget(self.hide_button)
        self._sections_layout = QVBoxLayout()
        self._sections_layout.setSpacing(18)
        body = QWidget()
        body.setObjectName("voting_body")
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(0, 0, 8, 0)
        body_layout.addLayout(self._sections_layout)
        body_layout.addStretch(1)
        self.scroll_area = named(FittingScrollArea(), "voting_scroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setWidget(body)
        self.sheet = named(QFrame(), "voting_card")
        self.sheet.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.sheet.setFixedWidth(SHEET_WIDTH)
        card_layout = QVBoxLayout(self.sheet)
        card_layout.setContentsMargins(24, 16, 16, 16)
        card_layout.setSpacing(10)
        card_layout.addLayout(header)
        card_layout.addWidget(self.scroll_area, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.addWidget(self.sheet, 0, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.setStyleSheet(
            "QFrame#voting_panel { background: rgba(21, 32, 46, 150); }"
            " QFrame#voting_card { background: white; border-radius: 12px; }"
            " QWidget#voting_body { background: white; }"
            " QLabel#voting_heading { font-size: 24px; font-weight: 700; }"
            " QLabel#vote_title { font-size: 22px; font-weight: 700; }"
            " QLabel#vote_meta { color: #333a44; font-size: 16px; }"
            " QLabel#vote_rule { color: #1f5fae; font-size: 16px; font-weight: 600; }"
            " QFrame#poll_section { border-bottom: 1px solid #d5dae1; }"
            " QFrame#ballot_card { background: #f3f5f8; border: 1px solid #d5dae1;"
            " border-radius: 10px; }"
            " QFrame#ballot_card QLabel, QFrame#ballot_card QRadioButton,"
            " QFrame#ballot_card QCheckBox { background: transparent; border: none; }"
            " QLabel#ballot_who { font-size: 18px; font-weight: 700; }"
            " QLabel#ballot_hint { color: #4a4f57; }"
            " QFrame#ballot_review_box { background: #dbe8f7; border: none; border-radius: 8px; }"
            " QLabel#ballot_review_text { font-size: 20px; font-weight: 700; }"
            " QRadioButton, QCheckBox { font-size: 19px; }"
            " QPushButton#ballot_cast { background: #1f5fae;"
            " color: white; border-radius: 6px; font-size: 20px; font-weight: 700;"
            " padding: 4px 28px; }"
            " QPushButton#ballot_cast:disabled { background: #c3ccd8; color: #f3f5f8; }"
            " QPushButton#ballot_resend,"
            " QPushButton#ballot_change_vote, QPushButton#ballot_keep_vote, "
            " QPushButton#voting_hide { font-size: 16px; font-weight: 600; padding: 4px 20px; }"
            + INDICATOR_STYLE
        )
        self.hide()
        self.retranslate()

    def set_sections(self, poll_ids: list[str]) -> list[PollSectionView]:
        """Keep one section per poll, in this order; returns the sections made new."""
        made: list[PollSectionView] = []
        for poll_id in list(self.sections):
            if poll_id not in poll_ids:
                section = self.sections.pop(poll_id)
                self._sections_layout.removeWidget(section)
                section.deleteLater()
        for index, poll_id in enumerate(poll_ids):
            existing = self.sections.get(poll_id)
            if existing is None:
                section = PollSectionView(poll_id, clock=self.clock)
                section.ballot_action.connect(
                    lambda d, a, p=poll_id: self.ballot_action.emit(p, d, a)
                )
                section.chosen_changed.connect(lambda d, p=poll_id: self.chosen_changed.emit(p, d))
                self.sections[poll_id] = section
                made.append(section)
            else:
                section = existing
            self._sections_layout.insertWidget(index, section)
        return made

    def card(self, poll_id: str, delegate_id: str) -> BallotCardView | None:
        section = self.sections.get(poll_id)
        return section.cards.get(delegate_id) if section is not None else None

    def fit(self) -> None:
        """Cover the parent (the screen stack calls this when it is resized)."""
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
            self.sheet.setFixedWidth(min(SHEET_WIDTH, parent.width() - 48))

    def open(self) -> None:
        """Show the panel; if it comes up now, under a finger that may tap again, its
        buttons wait a double tap's time."""
        self.fit()
        if self.isHidden():
            for section in self.sections.values():
                for card in section.cards.values():
                    card.hold()
        self.show()
        self.raise_()

    def order(self) -> list[str]:
        """The polls' ids as the panel lists them, top to bottom."""
        items = (self._sections_layout.itemAt(i) for i in range(self._sections_layout.count()))
        widgets = (item.widget() for item in items if item is not None)
        return [w.poll_id for w in widgets if isinstance(w, PollSectionView)]

    def show_first(self) -> None:
        """Scroll to the top: the first section is the open ballot, or the newest result."""
        self.scroll_area.verticalScrollBar().setValue(0)

    def retranslate(self) -> None:
        self.heading.setText(tr("vote.heading"))
        self.hide_button.setText(tr("vote.hide"))
        for section in self.sections.values():
            section.retranslate()
