"""Screen locks: the chair locks every delegate's screen at once, and a signed-in
delegate's tablet locks itself after a while without a touch and opens with the PIN."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from room_protocol.live import Ack, ScreensLocked, Unlock
from room_protocol.messages import ErrorMessage, Message, Role
from tablet_client.i18n import tr
from tablet_client.live_link import LiveLink
from tablet_client.session import MAX_PIN_DIGITS, sign_in_problem
from tablet_client.views.main_window import MainWindow

_ACTIVITY = frozenset(
    {
        QEvent.Type.MouseButtonPress,
        QEvent.Type.TouchBegin,
        QEvent.Type.KeyPress,
        QEvent.Type.Wheel,
    }
)


class LockController(QObject):
    unlocked = Signal()  # the member typed their PIN: back to what waits (a ballot)

    def __init__(
        self,
        window: MainWindow,
        link: LiveLink,
        inactivity_seconds: int | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``inactivity_seconds`` overrides what the room says (0: never lock)."""
        super().__init__(parent)
        self.window = window
        self.link = link
        self.override = inactivity_seconds
        self.chair_locked = False
        self.pin_locked = False
        self._pin = ""
        self._problem: tuple[str, dict[str, object]] | None = None
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.timeout.connect(self._lock_for_inactivity)
        self._watching = False  # the application-wide touch filter is installed
        view = window.lock_view
        view.pin_pad.digit_pressed.connect(self._digit)
        view.pin_pad.backspace_pressed.connect(lambda: self._set_pin(self._pin[:-1]))
        view.pin_pad.clear_pressed.connect(lambda: self._set_pin(""))
        view.unlock_requested.connect(self.unlock)
        link.received.connect(self._receive)
        link.identity_changed.connect(self._identity_changed)

    # --- what locks ------------------------------------------------------------------------

    @property
    def inactivity_seconds(self) -> int:
        if self.override is not None:
            return self.override
        connection = self.link.connection
        welcome = connection.welcome if connection is not None else None
        return welcome.inactivity_lock_seconds if welcome is not None else 0

    def _lockable(self) -> bool:
        """Only a signed-in member who is not running the meeting is locked out."""
        return self.link.me is not None and not self.link.presiding

    def _receive(self, message: Message) -> None:
        # The room states the lock on every (re)connect, so this is always current.
        if isinstance(message, ScreensLocked):
            was_locked = self.chair_locked and not self.pin_locked
            self.chair_locked = message.locked
            self._show()
            if was_locked and not message.locked:
                self.unlocked.emit()

    def _identity_changed(self) -> None:
        if not self._lockable():
            self.pin_locked = False
        self.restart_idle()
        self._show()

    def restart_idle(self) -> None:
        seconds = self.inactivity_seconds
        if seconds > 0 and self._lockable() and not self.pin_locked:
            self._idle.start(seconds * 1000)
            self._watch(True)
        else:
            self._idle.stop()
            self._watch(False)

    def _watch(self, on: bool) -> None:
        """Filter the application's events only while a touch can matter."""
        app = QApplication.instance()
        if app is None or on == self._watching:
            return
        if on:
            app.installEventFilter(self)
        else:
            app.removeEventFilter(self)
        self._watching = on

    def _lock_for_inactivity(self) -> None:
        if self._lockable():
            self.pin_locked = True
            self._watch(False)
            self._set_pin("")
            self._show_problem(None)
            self._show()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() in _ACTIVITY and self._idle.isActive():
            self._idle.start()  # a touch: start counting again
        return False

    # --- unlocking --------------------------------------------------------------------------

    def _digit(self, digit: str) -> None:
        if len(self._pin) < MAX_PIN_DIGITS:
            self._set_pin(self._pin + digit)

    def _set_pin(self, pin: str) -> None:
        self._pin = pin
        self.window.lock_view.pin_pad.set_length(len(pin))

    def unlock(self) -> None:
        if not self._pin:
            return
        pin = self._pin
        self._set_pin("")
        self.link.send(lambda op: Unlock(op, pin), self._answered)

    def _answered(self, reply: Message) -> None:
        if isinstance(reply, ErrorMessage):
            self._show_problem(sign_in_problem(reply))
        elif isinstance(reply, Ack):
            self.pin_locked = False
            self._show_problem(None)
            self.restart_idle()
            self._show()
            self.unlocked.emit()

    def _show_problem(self, problem: tuple[str, dict[str, object]] | None) -> None:
        self._problem = problem
        self.window.lock_view.set_error(tr(problem[0], **problem[1]) if problem else "")

    # --- the overlay ----------------------------------------------------------------------

    def _show(self) -> None:
        view = self.window.lock_view
        me = self.link.me
        view.set_member(me.name if me is not None else "")
        chair_lock = self.chair_locked and self.link.role not in (Role.CHAIR, Role.CLERK)
        if chair_lock:
            view.show_chair_lock()
        elif self.pin_locked:
            view.show_pin_lock()
        else:
            view.hide()

    def retranslate(self) -> None:
        self.window.lock_view.retranslate()
        if self._problem is not None:
            self._show_problem(self._problem)

    def stop(self) -> None:
        self._idle.stop()
        self._watch(False)
