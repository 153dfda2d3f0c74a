"""The tablet's window: a connection banner with who is signed in, attendance and a
language switch, message strips, one screen at a time (with the voting panel over it),
the speaker-queue bar and the lock overlay. Messages that come and go (announcements,
notices, confirmations) lie over the top of the screen instead of pushing it down, so
a button does not move from under the chair's finger; so does the vote strip, the "vote
open" signal on every screen."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QPoint, QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from tablet_client.i18n import LANGUAGES, current_language, tr
from tablet_client.views.agenda_view import AgendaView
from tablet_client.views.chair_console_view import ChairConsoleView
from tablet_client.views.discovery_view import DiscoveryView
from tablet_client.views.document_view import DocumentView
from tablet_client.views.elided_label import ElidedLabel
from tablet_client.views.enroll_view import EnrollView
from tablet_client.views.lock_view import LockView
from tablet_client.views.service_view import ServiceView
from tablet_client.views.session_bars import FloorBarView, StripView
from tablet_client.views.sign_in_view import SignInView
from tablet_client.views.speakers_drawer_view import SpeakersDrawerView
from tablet_client.views.style import INDICATOR_COLOURS, SCREEN_STYLE, STATUS_COLOURS, named
from tablet_client.views.voting_view import VotingPanelView

if TYPE_CHECKING:  # it loads Qt Quick: imported in kiosk mode only (tablet_client.app)
    from tablet_client.views.keyboard_view import KeyboardView


class ScreenStack(QStackedWidget):
    """A stack as large as the screen on show: a tall sign-in screen must not make the
    reader's window taller than the tablet when message strips are shown too."""

    def __init__(self) -> None:
        super().__init__()
        self.currentChanged.connect(lambda _index: self._screen_changed())
        self.overlay: VotingPanelView | None = None  # kept over the screens, as large
        self.squeezed = False  # the on-screen keyboard is up: the screen may be cut short
        self.message_strips: MessageStrips | None = None  # over the top of the screens
        self.drawer: SpeakersDrawerView | None = None  # the chair's queue, at the right
        # Screens whose top left holds controls (the console's section tabs): the message
        # strips lie over the right part of their top only.
        self.strips_at_right: set[QWidget] = set()
        # Screens whose top is a row of controls (the reader's toolbar): the strips lie
        # over the top of the widget named here (the page) instead, below the controls.
        self.strips_below: dict[QWidget, QWidget] = {}

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if self.overlay is not None:
            self.overlay.fit()
        if self.message_strips is not None:
            self.message_strips.place()
        if self.drawer is not None:
            self.drawer.fit()

    def _screen_changed(self) -> None:
        self.updateGeometry()
        if self.message_strips is not None:
            self.message_strips.place()

    def raise_overlays(self) -> None:
        """Over the screen shown: the message strips, and the voting panel over them."""
        for overlay in (self.drawer, self.message_strips, self.overlay):
            if overlay is not None and overlay.isVisible():
                overlay.raise_()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        current = self.currentWidget()
        return current.sizeHint() if current is not None else super().sizeHint()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        current = self.currentWidget()
        hint = current.minimumSizeHint() if current is not None else super().minimumSizeHint()
        # The window never grows past the screen for the keyboard: the bottom of a tall
        # screen is cut off while it is up (Enter on the keyboard submits the field).
        return QSize(hint.width(), 0) if self.squeezed else hint

    def squeeze(self, squeezed: bool) -> None:
        self.squeezed = squeezed
        self.updateGeometry()


STRIPS_AT_RIGHT_MIN = 560  # px: the narrowest the strips get at the right of a screen


class MessageStrips(QWidget):
    """Strips that come and go, over the top of the screen stack, as wide as it and as
    tall as the strips shown; hidden when none is."""

    def __init__(self, strips: list[StripView], parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("message_strips")
        self.strips = strips
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for strip in strips:
            layout.addWidget(strip)
            strip.installEventFilter(self)
        self.hide()

    def place(self) -> None:
        parent = self.parentWidget()
        shown = any(not strip.isHidden() for strip in self.strips)
        if parent is None or not shown:
            self.hide()
            return
        current = parent.currentWidget() if isinstance(parent, ScreenStack) else None
        left, top, width = 0, 0, parent.width()
        if isinstance(parent, ScreenStack) and current in parent.strips_at_right:
            left = width - max(STRIPS_AT_RIGHT_MIN, width // 2)
            width -= left
        below = None
        if isinstance(parent, ScreenStack) and current is not None:
            below = parent.strips_below.get(current)
        if below is not None and below.isVisible():
            top = below.mapTo(parent, QPoint(0, 0)).y()
        layout = self.layout()
        assert layout is not None
        height = (
            layout.heightForWidth(width)
            if layout.hasHeightForWidth()
            else layout.sizeHint().height()
        )
        self.setGeometry(left, top, width, max(height, layout.sizeHint().height()))
        self.show()
        if isinstance(parent, ScreenStack):
            parent.raise_overlays()

    def lie_below(self, screen: QWidget, anchor: QWidget) -> None:
        """On ``screen``, lie over the top of ``anchor`` (and follow it when it moves)."""
        parent = self.parentWidget()
        assert isinstance(parent, ScreenStack)
        parent.strips_below[screen] = anchor
        anchor.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if kind in (QEvent.Type.ShowToParent, QEvent.Type.HideToParent):
            self.place()
        elif kind == QEvent.Type.LayoutRequest:
            self.place()  # a longer text: the strip takes a new height
        elif kind in (QEvent.Type.Move, QEvent.Type.Resize) and watched not in self.strips:
            self.place()  # the widget the strips lie on moved (a bar came or went above it)
        return super().eventFilter(watched, event)


def _holder(bar: QWidget) -> QWidget:
    """A box around ``bar`` that can be hidden without touching the bar's own visibility."""
    holder = QWidget()
    layout = QVBoxLayout(holder)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(0)
    layout.addWidget(bar)
    return holder


class MainWindow(QMainWindow):
    language_requested = Signal(str)
    identity_action_requested = Signal()  # "Sign in" or "Sign out", whichever is shown

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("tablet_window")
        self.setStyleSheet(SCREEN_STYLE)
        self.discovery_view = DiscoveryView()
        self.enroll_view = EnrollView()
        self.sign_in_view = SignInView()
        self.agenda_view = AgendaView()
        self.document_view = DocumentView()
        self.chair_console_view = ChairConsoleView()
        self.service_view = ServiceView()
        self.screens = ScreenStack()
        for screen in (
            self.discovery_view,
            self.enroll_view,
            self.sign_in_view,
            self.agenda_view,
            self.document_view,
            self.chair_console_view,
            self.service_view,
        ):
            self.screens.addWidget(screen)

        self.banner = named(QLabel(), "connection_banner")
        self.banner.setMargin(8)
        # It takes what the identity and language leave: a tablet in portrait is 800 px.
        self.banner.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.banner.setMinimumWidth(180)  # logical px: the room's state stays in sight
        self.identity = named(ElidedLabel(), "identity")
        self.identity_action = named(QPushButton(), "identity_action")
        self.identity_action.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.identity_action.clicked.connect(self.identity_action_requested)
        self.identity_action.hide()
        self.speakers_button = named(QPushButton(), "reader_speakers")  # the chair's reader
        self.speakers_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.speakers_button.setMinimumHeight(48)
        self.speakers_button.setCheckable(True)
        self.speakers_button.hide()
        self.quorum_indicator = named(QLabel(), "quorum_indicator")  # chair and clerks
        self.presence_indicator = named(QLabel(), "presence_indicator")  # delegates
        for indicator in (self.quorum_indicator, self.presence_indicator):
            indicator.hide()
        self._language_label = QLabel()
        self.language = named(QComboBox(), "language")
        self.language.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for code in LANGUAGES:
            self.language.addItem(tr(f"language.{code}"), code)  # in its own language
        self.language.setCurrentIndex(self.language.findData(current_language()))
        self.language.currentIndexChanged.connect(
            lambda index: self.language_requested.emit(str(self.language.itemData(index)))
        )

        # Strips, most urgent first; each hides itself until a controller shows it.
        self.closed_strip = StripView("closed_strip")
        self.wrong_seat_strip = StripView("wrong_seat_strip")
        self.announcement_strip = StripView("announcement_strip")
        self.notice_strip = StripView("notice_strip")
        self.follow_strip = StripView("follow_strip")
        self.confirmation_strip = StripView("confirmation_strip")
        self.vote_strip = StripView("vote_strip")
        self.floor_bar = FloorBarView()

        top = named(QFrame(), "top_bar")
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 12, 0)
        top_layout.setSpacing(10)
        top_layout.addWidget(self.banner, 1)
        top_layout.addWidget(self.quorum_indicator, 0, Qt.AlignmentFlag.AlignVCenter)
        top_layout.addWidget(self.presence_indicator, 0, Qt.AlignmentFlag.AlignVCenter)
        top_layout.addWidget(self.speakers_button)
        top_layout.addWidget(self.identity)
        top_layout.addWidget(self.identity_action)
        top_layout.addSpacing(8)
        top_layout.addWidget(self._language_label)
        top_layout.addWidget(self.language)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(top)
        # Full-screen reading hides these; their controllers show and hide what is inside.
        follow_holder = _holder(self.follow_strip)
        floor_holder = _holder(self.floor_bar)
        for strip in self.strips():
            if strip is self.follow_strip:
                layout.addWidget(follow_holder)
            elif strip not in self.passing_strips():
                layout.addWidget(strip)  # a closed meeting, a wrong seat: never hidden
        layout.addWidget(self.screens, 1)
        layout.addWidget(floor_holder)
        self._layout = layout
        self._reading_bars = (top, follow_holder, floor_holder)
        self.document_view.full_screen_changed.connect(self._full_screen_reading)
        self.screens.currentChanged.connect(self._leave_full_screen_elsewhere)
        self.keyboard: KeyboardView | None = None  # kiosk mode: add_keyboard
        self.setCentralWidget(central)
        self.screens.strips_at_right.add(self.chair_console_view)
        self.speakers_drawer = SpeakersDrawerView(self.screens)
        self.screens.drawer = self.speakers_drawer
        self.message_strips = MessageStrips(self.passing_strips(), self.screens)
        self.screens.message_strips = self.message_strips
        self.message_strips.lie_below(self.document_view, self.document_view.page_box)
        self.voting_panel = VotingPanelView(self.screens)  # over whatever screen is shown
        self.screens.overlay = self.voting_panel
        self.screens.currentChanged.connect(self._keep_panel_on_top)
        self.lock_view = LockView(self)  # over everything, the top bar included
        self._banner_state = ("idle", tr("connection.not_connected"))
        self.retranslate()

    def _full_screen_reading(self, full: bool) -> None:
        """The reader asked for all the page: the top bar, the follow strip and the floor
        bar go (a vote, lying over the page, or a closed meeting still shows its strip),
        and come back."""
        for bar in self._reading_bars:
            bar.setVisible(not full)

    def _leave_full_screen_elsewhere(self, _index: int) -> None:
        if self.screens.currentWidget() is not self.document_view:
            self.document_view.set_full_screen(False)

    def add_keyboard(self, keyboard: KeyboardView) -> None:
        """The on-screen keyboard, at the bottom under everything but the lock screen:
        the screen above it gets shorter while it is up, so the field stays in view."""
        self.keyboard = keyboard
        self._layout.addWidget(keyboard)
        keyboard.set_language(current_language())
        keyboard.fit_window(self.height())
        keyboard.toggled.connect(self.screens.squeeze)

    def strips(self) -> list[StripView]:
        return [
            self.closed_strip,
            self.wrong_seat_strip,
            self.vote_strip,
            self.announcement_strip,
            self.notice_strip,
            self.confirmation_strip,
            self.follow_strip,
        ]

    def passing_strips(self) -> list[StripView]:
        """The strips that lie over the screen (messages that come and go), most urgent
        first. Over the screen stack, they stay in full-screen reading."""
        return [
            self.vote_strip,
            self.announcement_strip,
            self.notice_strip,
            self.confirmation_strip,
        ]

    def _keep_panel_on_top(self, _index: int) -> None:
        self.screens.raise_overlays()

    def set_indicator(self, indicator: QLabel, text: str, kind: str = "neutral") -> None:
        """An attendance indicator in the top bar; ``kind`` picks its colours (see
        INDICATOR_COLOURS); empty ``text`` hides it."""
        background, foreground = INDICATOR_COLOURS[kind]
        indicator.setText(text)
        indicator.setVisible(bool(text))
        indicator.setProperty("kind", kind)
        indicator.setStyleSheet(
            f"QLabel#{indicator.objectName()} {{ background: {background}; color: {foreground};"
            " font-size: 14px; font-weight: 600; border-radius: 9px; padding: 3px 10px; }"
        )

    def show_screen(self, screen: QWidget) -> None:
        self.screens.setCurrentWidget(screen)
        if screen is self.document_view or screen is self.sign_in_view:
            screen.setFocus()

    def set_connection(self, phase: str, text: str, detail: str = "") -> None:
        """``phase`` picks the banner colour (see STATUS_COLOURS); ``text`` is shown,
        ``detail`` (the technical reason) is the banner's tooltip."""
        self.banner.setToolTip(detail)
        self._banner_state = (phase, text)
        background, foreground = STATUS_COLOURS.get(phase, STATUS_COLOURS["idle"])
        self.banner.setStyleSheet(
            f"QLabel#connection_banner {{ background: {background}; color: {foreground};"
            " font-weight: 600; font-size: 15px; }"
        )
        self.banner.setText(text)

    def connection_text(self) -> str:
        return self._banner_state[1]

    def set_identity(self, text: str, action: str) -> None:
        """Who is signed in (empty: nobody) and the sign in/out button ("": hidden)."""
        self.identity.setText(text)
        self.identity.setVisible(bool(text))
        self.identity.update()
        self.identity_action.setText(action)
        self.identity_action.setVisible(bool(action))

    def retranslate(self) -> None:
        self.setWindowTitle(tr("app.title"))
        self._language_label.setText(tr("language.label"))
        self.language.blockSignals(True)
        self.language.setCurrentIndex(self.language.findData(current_language()))
        self.language.blockSignals(False)
        self.discovery_view.retranslate()
        self.enroll_view.retranslate()
        self.sign_in_view.retranslate()
        self.agenda_view.retranslate()
        self.document_view.retranslate()
        self.chair_console_view.retranslate()
        self.service_view.retranslate()
        self.floor_bar.retranslate()
        self.lock_view.retranslate()
        self.voting_panel.retranslate()
        self.speakers_drawer.retranslate()
        for strip in self.strips():
            strip.retranslate()
        if self.keyboard is not None:
            self.keyboard.set_language(current_language())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self.lock_view.setGeometry(self.rect())
        if self.keyboard is not None:
            self.keyboard.fit_window(self.height())
