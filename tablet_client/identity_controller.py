"""Who is at this tablet: the sign-in screen (name + PIN pad, or a badge reader typing
like a keyboard), the signed-in line in the top bar with sign-out, the wrong-seat
warning, and which screen is "home" for the signed-in role."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from room_protocol.errors import ErrorCode
from room_protocol.live import Ack, SignedIn, SignedOut, SignIn, SignOut
from room_protocol.messages import ErrorMessage, MeetingSnapshot, Message
from tablet_client.i18n import tr, tr_text
from tablet_client.live_link import LiveLink
from tablet_client.session import (
    MAX_PIN_DIGITS,
    MIN_PIN_DIGITS,
    BadgeReader,
    sign_in_problem,
    signed_out_reason,
)
from tablet_client.views.main_window import MainWindow


class IdentityController(QObject):
    def __init__(
        self,
        window: MainWindow,
        link: LiveLink,
        seat_id: str | None,
        meeting: Callable[[], MeetingSnapshot | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.link = link
        self.seat_id = seat_id
        self._meeting = meeting
        self.badges = BadgeReader()
        self._pin = ""
        self._badge: str | None = None  # read, waiting for the PIN (badge + PIN meetings)
        self._busy = False
        self._problem: tuple[str, dict[str, object]] | None = None

        view = window.sign_in_view
        view.set_seat(seat_id)
        view.pin_pad.digit_pressed.connect(self._digit)
        view.pin_pad.backspace_pressed.connect(lambda: self._set_pin(self._pin[:-1]))
        view.pin_pad.clear_pressed.connect(lambda: self._set_pin(""))
        view.submit_requested.connect(self.submit_pin)
        view.key_typed.connect(lambda text: self.badges.key(text, time.monotonic()))
        view.enter_pressed.connect(self._enter)
        window.identity_action_requested.connect(self._identity_action)
        window.screens.currentChanged.connect(lambda _index: self._show_identity())
        link.identity_changed.connect(self._identity_changed)
        link.received.connect(self._receive)
        self._show_identity()

    # --- screens ---------------------------------------------------------------------------

    @property
    def is_seat_tablet(self) -> bool:
        return self.seat_id is not None

    def home_screen(self) -> QWidget:
        window = self.window
        if self.link.presiding:
            return window.chair_console_view
        if self.link.me is None and self.is_seat_tablet and self.link.connection is not None:
            return window.sign_in_view
        return window.agenda_view

    def show_home(self) -> None:
        screen = self.home_screen()
        if screen is self.window.sign_in_view:
            self.show_sign_in()
        else:
            self.window.show_screen(screen)

    def show_sign_in(self) -> None:
        self.refresh_members()
        self.window.show_screen(self.window.sign_in_view)

    def meeting_changed(self) -> None:
        self.refresh_members()
        self._show_identity()

    def refresh_members(self) -> None:
        meeting = self._meeting()
        members = meeting.roster if meeting else ()
        mine = next(
            (m.delegate_id for m in members if m.seat_id and m.seat_id == self.seat_id), None
        )
        self.window.sign_in_view.set_members(
            [
                (
                    m.delegate_id,
                    tr("sign_in.member_with_seat", name=m.name, seat=m.seat_id)
                    if m.seat_id
                    else tr("sign_in.member_role", name=m.name, role=tr(f"role.{m.role.value}")),
                )
                for m in members
            ],
            mine,
        )

    # --- PIN and badge -------------------------------------------------------------------

    def _digit(self, digit: str) -> None:
        if len(self._pin) < MAX_PIN_DIGITS:
            self._set_pin(self._pin + digit)

    def _set_pin(self, pin: str) -> None:
        self._pin = pin
        self.window.sign_in_view.pin_pad.set_length(len(pin))

    def submit_pin(self) -> None:
        if self._badge is not None:
            self._submit_badge_and_pin(self._badge)
            return
        delegate_id = self.window.sign_in_view.selected_member()
        if delegate_id is None:
            self._show_problem(("sign_in.choose_name", {}))
            return
        if len(self._pin) < MIN_PIN_DIGITS:
            self._show_problem(("sign_in.pin_too_short", {"n": MIN_PIN_DIGITS}))
            return
        pin = self._pin
        self._send(lambda op: SignIn(op, delegate_id=delegate_id, pin=pin))

    def _submit_badge_and_pin(self, badge: str) -> None:
        if len(self._pin) < MIN_PIN_DIGITS:
            self._show_problem(("sign_in.pin_too_short", {"n": MIN_PIN_DIGITS}))
            return
        pin = self._pin
        self._send(lambda op: SignIn(op, badge=badge, pin=pin))

    def _enter(self) -> None:
        badge = self.badges.enter(time.monotonic())
        if badge is not None:
            self._badge = badge
            self._send(lambda op: SignIn(op, badge=badge))
        elif self._pin:
            self.submit_pin()

    def _send(self, make: Callable[[str], SignIn]) -> None:
        if self._busy:
            return
        self._busy = True
        self.window.sign_in_view.set_busy(True)
        self._show_problem(None)
        self.link.send(make, self._answered)

    def _answered(self, reply: Message) -> None:
        self._busy = False
        self.window.sign_in_view.set_busy(False)
        self._set_pin("")
        if isinstance(reply, ErrorMessage):
            # The meeting wants the PIN after the badge: keep the badge for the PIN pad.
            if reply.code not in (ErrorCode.PIN_REQUIRED, ErrorCode.WRONG_PIN):
                self._badge = None
            self._show_problem(sign_in_problem(reply))
        elif isinstance(reply, Ack):
            self._badge = None
            self._show_problem(None)

    def _show_problem(self, problem: tuple[str, dict[str, object]] | None) -> None:
        self._problem = problem
        self.window.sign_in_view.set_error(tr_text(problem) if problem else "")

    # --- signed in / out -------------------------------------------------------------------

    def _identity_action(self) -> None:
        if self.link.me is not None:
            self.link.send(SignOut)
        else:
            self.show_sign_in()

    def _receive(self, message: Message) -> None:
        if isinstance(message, SignedOut) and message.reason != "signed out":
            self._show_problem((signed_out_reason(message.reason), {}))
        elif isinstance(message, SignedIn):
            self._show_identity()  # wrong_seat may change without a new role

    def _identity_changed(self) -> None:
        self._show_identity()
        window = self.window
        screen = window.screens.currentWidget()
        if screen is window.discovery_view:
            return
        if self.link.me is not None:
            self._set_pin("")
            console = screen is window.chair_console_view
            if (
                screen in (window.sign_in_view, window.agenda_view)
                or console != self.link.presiding
            ):
                self.show_home()
        elif screen is window.chair_console_view or self.is_seat_tablet:
            self.show_home()  # nobody may keep reading at a seat after signing out

    def _show_identity(self) -> None:
        me = self.link.me
        window = self.window
        if me is None:
            offer = self.link.connection is not None and (
                window.screens.currentWidget() is not window.sign_in_view
            )
            window.set_identity("", tr("identity.sign_in") if offer else "")
            window.wrong_seat_strip.hide()
            return
        role = tr(f"role.{me.role.value}")
        text = (
            tr("identity.with_seat", name=me.name, role=role, seat=me.seat_id)
            if me.seat_id
            else tr("identity.no_seat", name=me.name, role=role)
        )
        window.set_identity(text, tr("identity.sign_out"))
        if me.wrong_seat:
            meeting = self._meeting()
            member = meeting.member(me.delegate_id) if meeting else None
            assigned = member.seat_id if member and member.seat_id else "?"
            window.wrong_seat_strip.show_text(
                tr("identity.wrong_seat", seat=me.seat_id or "?", assigned=assigned),
                kind="warning",
            )
        else:
            window.wrong_seat_strip.hide()

    def retranslate(self) -> None:
        self.refresh_members()
        self._show_identity()
        if self._problem is not None:
            self._show_problem(self._problem)
