"""Attendance on the tablet: the quorum indicator the chair and clerks always see, the
delegate's own check-in and the proxies they hold, and the console's attendance tab
where the clerk checks in members without a tablet and gives or takes proxies."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject

from room_protocol.messages import ErrorMessage, MeetingSnapshot, Message, Role, RosterEntry
from room_protocol.voting import AttendanceState, CheckIn, Presence, SetProxy
from tablet_client.i18n import tr, trn
from tablet_client.live_link import LiveLink
from tablet_client.polls import local_time, quorum_parts
from tablet_client.views.attendance_view import AttendanceRow
from tablet_client.views.main_window import MainWindow

MAX_NAMED_PROXIES = 2  # more are counted, not named, in the bar


class AttendanceController(QObject):
    def __init__(
        self,
        window: MainWindow,
        link: LiveLink,
        meeting: Callable[[], MeetingSnapshot | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.view = window.chair_console_view.attendance
        self.link = link
        self._meeting = meeting
        self.attendance: AttendanceState | None = None
        self.view.member_selected.connect(lambda _id: self._show_actions())
        self.view.check_in_requested.connect(self._check_in)
        self.view.grant_proxy_requested.connect(self._grant_proxy)
        self.view.revoke_proxy_requested.connect(self._revoke_proxy)
        link.received.connect(self._receive)
        link.identity_changed.connect(self._identity_changed)

    def _receive(self, message: Message) -> None:
        if isinstance(message, AttendanceState):
            self.attendance = message
            self.refresh()

    def _identity_changed(self) -> None:
        self.view.set_editable(self.link.may(CheckIn))
        self.view.status.setText("")
        self.refresh()

    def meeting_changed(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        self._show_indicators()
        if self.link.presiding:
            self._show_tab()

    # --- the top bar ----------------------------------------------------------------------

    def quorum_text(self) -> tuple[str, bool]:
        assert self.attendance is not None
        parts, met = quorum_parts(self.attendance)
        return " · ".join(tr(key, **args) for key, args in parts), met

    def _show_indicators(self) -> None:
        window, me, attendance = self.window, self.link.me, self.attendance
        if attendance is not None and self.link.presiding:
            text, met = self.quorum_text()
            window.set_indicator(window.quorum_indicator, text, "met" if met else "not_met")
        else:
            window.set_indicator(window.quorum_indicator, "")
        meeting = self._meeting()
        member = meeting.member(me.delegate_id) if meeting is not None and me else None
        if (
            attendance is None
            or me is None
            or member is None
            or self.link.presiding
            or me.role is Role.OBSERVER
        ):
            window.set_indicator(window.presence_indicator, "")
            return
        present = any(p.delegate_id == me.delegate_id for p in attendance.present)
        text = tr("attendance.you_checked_in" if present else "attendance.you_not_checked_in")
        held = [self._name(p.giver_id) for p in attendance.proxies if p.holder_id == me.delegate_id]
        if len(held) > MAX_NAMED_PROXIES:
            text += " · " + trn("attendance.you_hold_many", len(held))
        elif held:
            text += " · " + tr("attendance.you_hold", names=", ".join(held))
        window.set_indicator(window.presence_indicator, text, "met" if present else "absent")

    # --- the console tab ------------------------------------------------------------------

    def _name(self, delegate_id: str) -> str:
        meeting = self._meeting()
        member = meeting.member(delegate_id) if meeting is not None else None
        return member.name if member is not None else delegate_id

    def _show_tab(self) -> None:
        meeting, attendance, view = self._meeting(), self.attendance, self.view
        console = self.window.chair_console_view
        if meeting is None or attendance is None:
            view.set_summary("", "neutral")
            view.set_rows([])
            console.set_section_counts(attendance=None)
            return
        text, met = self.quorum_text()
        view.set_summary(text, "met" if met else "not_met")
        console.set_section_counts(attendance=(attendance.present_members, attendance.members))
        presence = {p.delegate_id: p for p in attendance.present}
        view.set_rows([self._row(m, presence.get(m.delegate_id)) for m in meeting.roster])
        self._show_actions()

    def _row(self, member: RosterEntry, presence: Presence | None) -> AttendanceRow:
        attendance = self.attendance
        assert attendance is not None
        name = member.name
        if not member.voting:
            name = tr("attendance.non_voting", name=name, role=tr(f"role.{member.role.value}"))
        given = next((p for p in attendance.proxies if p.giver_id == member.delegate_id), None)
        held = [
            self._name(p.giver_id) for p in attendance.proxies if p.holder_id == member.delegate_id
        ]
        if presence is not None:
            status = tr("attendance.present")
            how = tr(
                f"attendance.method.{presence.method.value}",
                time=local_time(presence.since, seconds=False),
            )
            if presence.seat_id and presence.seat_id != member.seat_id:
                how += " · " + tr("attendance.at_seat", seat=presence.seat_id)
            if presence.wrong_seat:
                how += " · " + tr("attendance.wrong_seat")
        else:
            # Represented only while the proxy's holder is here to vote.
            present = {p.delegate_id for p in attendance.present}
            represented = given is not None and given.holder_id in present
            status = tr("attendance.represented" if represented else "attendance.absent")
            how = ""
        proxy = []
        if given is not None:
            proxy.append(tr("attendance.proxy_with", name=self._name(given.holder_id)))
        if held:
            proxy.append(tr("attendance.holds", names=", ".join(held)))
        return AttendanceRow(
            member.delegate_id,
            (name, member.seat_id or "—", status, how, " · ".join(proxy)),
            presence is not None,
            presence is not None and presence.wrong_seat,
        )

    def _show_actions(self) -> None:
        meeting, attendance, view = self._meeting(), self.attendance, self.view
        chosen = view.selected_member()
        member = meeting.member(chosen) if meeting is not None and chosen else None
        if attendance is None or member is None or meeting is None:
            for button in (view.check_in, view.check_out, view.grant_proxy, view.revoke_proxy):
                button.setEnabled(False)
            return
        present = any(p.delegate_id == member.delegate_id for p in attendance.present)
        given = any(p.giver_id == member.delegate_id for p in attendance.proxies)
        view.check_in.setEnabled(not present)
        view.check_out.setEnabled(present)
        view.set_holders(
            [
                (m.delegate_id, tr("console.seat_choice", seat=m.seat_id, name=m.name))
                if m.seat_id
                else (m.delegate_id, m.name)
                for m in meeting.roster
                if m.voting and m.delegate_id != member.delegate_id
            ]
        )
        view.grant_proxy.setEnabled(member.voting and view.selected_holder() is not None)
        view.revoke_proxy.setEnabled(given)

    # --- the clerk's taps -----------------------------------------------------------------

    def _check_in(self, present: bool) -> None:
        chosen = self.view.selected_member()
        if chosen is not None:
            self._do(lambda op: CheckIn(op, chosen, present))

    def _grant_proxy(self) -> None:
        giver, holder = self.view.selected_member(), self.view.selected_holder()
        if giver is not None and holder is not None:
            self._do(lambda op: SetProxy(op, giver, holder))

    def _revoke_proxy(self) -> None:
        giver = self.view.selected_member()
        if giver is not None:
            self._do(lambda op: SetProxy(op, giver, None))

    def _do(self, make: Callable[[str], CheckIn | SetProxy]) -> None:
        self.view.status.setText("")

        def answered(reply: Message) -> None:
            if isinstance(reply, ErrorMessage):
                self.view.status.setText(tr("error.refused", reason=reply.message))

        self.link.send(make, answered)

    def retranslate(self) -> None:
        self.refresh()
