"""The chair console's Devices section: asks the room for a pairing code
(CreatePairingCode) and shows the PairingCodeShown it answers with, counting down to
its expiry."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject

from room_client.timers import format_duration, parse_time
from room_protocol.enrollment import CreatePairingCode, DeviceKindName, PairingCodeShown
from room_protocol.messages import ErrorMessage, MeetingSnapshot, Message
from tablet_client.i18n import tr
from tablet_client.live_link import LiveLink
from tablet_client.views.pairing_view import PairingView

NEAR_S = 60  # the countdown turns amber in the code's last minute


class PairingController(QObject):
    def __init__(
        self,
        view: PairingView,
        link: LiveLink,
        meeting: Callable[[], MeetingSnapshot | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.view = view
        self.link = link
        self._meeting = meeting
        self.shown: PairingCodeShown | None = None
        self._on_display = False  # the code shown was also asked for on the room display
        self._asked_on_display = False
        view.create_requested.connect(self.create)
        link.received.connect(self._receive)

    def create(self) -> None:
        view = self.view
        view.set_problem("")
        kind = DeviceKindName(view.kind())
        seat, minutes, on_display = view.seat_id(), view.minutes.value(), view.on_display()
        self._asked_on_display = on_display
        view.make_code.setEnabled(False)

        def answered(reply: Message) -> None:
            view.make_code.setEnabled(True)
            if isinstance(reply, ErrorMessage):
                view.set_problem(tr("error.refused", reason=reply.message))

        self.link.send(lambda op: CreatePairingCode(op, kind, seat, minutes, on_display), answered)

    def _receive(self, message: Message) -> None:
        if isinstance(message, PairingCodeShown):
            self.shown = message
            self._on_display = self._asked_on_display
            self.show()

    def meeting_changed(self) -> None:
        meeting = self._meeting()
        if meeting is None:
            return
        names = {m.seat_id: m.name for m in meeting.roster if m.seat_id is not None}
        self.view.set_seats(
            [
                (seat, tr("console.seat_choice", seat=seat, name=name))
                for seat, name in sorted(names.items())
            ]
        )

    def show(self) -> None:
        shown = self.shown
        if shown is None:
            self.view.show_code(None)
            return
        if shown.kind is DeviceKindName.DISPLAY:
            target = tr("pair.for_display")
        elif shown.seat_id:
            target = tr("pair.for_tablet_seat", seat=shown.seat_id)
        else:
            target = tr("pair.for_tablet")
        where = tr("pair.also_on_display") if self._on_display else tr("pair.only_here")
        self.view.show_code(shown.code, target, shown.link, where)
        self.tick()

    def tick(self) -> None:
        shown = self.shown
        if shown is None:
            return
        now = self.link.server_now() or time.time()
        left = parse_time(shown.expires_at).timestamp() - now
        if left <= 0:
            self.view.set_expiry(tr("pair.expired"), "over")
        else:
            level = "near" if left < NEAR_S else "normal"
            self.view.set_expiry(tr("pair.valid_for", time=format_duration(left, up=True)), level)

    def retranslate(self) -> None:
        self.view.retranslate()
        self.meeting_changed()
        self.show()
