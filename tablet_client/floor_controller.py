"""The delegate's side of the speaker queue: ask to speak, raise a point of order,
withdraw; where I am in the queue; who speaks now and how long they have left."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer

from room_client.timers import speech_clock, speech_timer
from room_protocol.live import FloorKind, FloorState, RequestFloor, WithdrawFloor
from room_protocol.messages import ErrorMessage, Message, Role
from tablet_client.i18n import tr
from tablet_client.live_link import LiveLink
from tablet_client.session import queue_position
from tablet_client.views.main_window import MainWindow

COUNTDOWN_TICK_MS = 250


def countdown_text(state: FloorState, since_received: float) -> tuple[str, bool]:
    """The countdown shown for ``state``'s speech, and whether its time is up."""
    if state.speaking is None:
        return "", False
    timer = speech_timer(state.speaking, since_received)
    return speech_clock(timer), timer.time_up


class FloorController(QObject):
    def __init__(self, window: MainWindow, link: LiveLink, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.link = link
        self.state: FloorState | None = None
        self.received_at = 0.0  # loop time the state arrived
        self._problem = ""
        self._timer = QTimer(self)
        self._timer.setInterval(COUNTDOWN_TICK_MS)
        self._timer.timeout.connect(self._tick)
        bar = window.floor_bar
        bar.speak_requested.connect(lambda: self._request(FloorKind.SPEAK))
        bar.point_of_order_requested.connect(lambda: self._request(FloorKind.POINT_OF_ORDER))
        bar.withdraw_requested.connect(lambda: self.link.send(WithdrawFloor, self._answered))
        window.screens.currentChanged.connect(lambda _index: self._show_bar())
        link.received.connect(self._receive)
        link.identity_changed.connect(self._show)

    def since_received(self) -> float:
        return time.monotonic() - self.received_at

    def _receive(self, message: Message) -> None:
        if not isinstance(message, FloorState):
            return
        if self.state is not None and message.seq < self.state.seq:
            return  # an older state that arrived late
        self.state = message
        self.received_at = time.monotonic()
        self._problem = ""
        self._show()

    def _request(self, kind: FloorKind) -> None:
        self.link.send(lambda op: RequestFloor(op, kind), self._answered)

    def _answered(self, reply: Message) -> None:
        if isinstance(reply, ErrorMessage):
            self._problem = tr("error.refused", reason=reply.message)
            self._show()

    def _show_bar(self) -> None:
        window = self.window
        screen = window.screens.currentWidget()
        visible = self.link.role is Role.DELEGATE and screen in (
            window.agenda_view,
            window.document_view,
            window.service_view,
        )
        window.floor_bar.setVisible(visible)

    def _show(self) -> None:
        self._show_bar()
        bar = self.window.floor_bar
        state, me = self.state, self.link.me
        speaking = state.speaking if state else None
        position = queue_position(state, me.delegate_id) if state and me else None
        i_speak = speaking is not None and me is not None and speaking.delegate_id == me.delegate_id
        if speaking is None:
            bar.speaker.setText(tr("floor.nobody_speaking"))
        elif i_speak:
            bar.speaker.setText(tr("floor.you_speak"))
        else:
            bar.speaker.setText(tr("floor.speaking", name=speaking.name))
        if self._problem:
            bar.position.setText(self._problem)
        elif position is not None and state is not None:
            entry = state.queue[position - 1]
            key = (
                "floor.position_point_of_order"
                if entry.kind is FloorKind.POINT_OF_ORDER
                else "floor.position"
            )
            bar.position.setText(tr(key, position=position, count=len(state.queue)))
        elif not i_speak:
            bar.position.setText(tr("floor.waiting", count=len(state.queue) if state else 0))
        else:
            bar.position.setText("")
        queued = position is not None or i_speak
        bar.speak.setEnabled(not queued)
        bar.point_of_order.setEnabled(not queued)
        bar.withdraw.setEnabled(position is not None)
        if speaking is not None:
            self._timer.start()
        else:
            self._timer.stop()
        self._tick()

    def _tick(self) -> None:
        bar = self.window.floor_bar
        if self.state is None or self.state.speaking is None:
            bar.countdown.setText("")
            bar.countdown.hide()  # its room goes to who speaks and the queue
            bar.set_expired(False)
            return
        text, expired = countdown_text(self.state, self.since_received())
        bar.countdown.setText(text)
        bar.countdown.show()
        bar.set_expired(expired)

    def retranslate(self) -> None:
        self._show()

    def stop(self) -> None:
        self._timer.stop()
