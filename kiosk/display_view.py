"""The room display's one screen, laid out for a projector or wall screen (1920 x 1080).

Layout only: the controller decides what every label says and which level (normal,
near, over) a timer is at. Sizes are given for 1080 pixels of height and scaled to the
real screen. Light text on a dark background, yellow for what the room must notice.

::

    ┌ meeting title ────────────────────────────────────────── clock ┐
    │ date · location                                                 │
    ├ announcement (yellow while new, then a quiet line) ─────────────┤
    │ ┌ current agenda item ───────────┐ ┌ attendance ──────────────┐ │
    │ │ 2  Budget                      │ │ Present 12 of 15         │ │
    │ │ 12:34 / 45:00     32:26 left   │ │ [Quorum 8 · met] +2 proxy│ │
    │ └────────────────────────────────┘ └──────────────────────────┘ │
    │ ┌ speaking ──────────────────────┐ ┌ next speakers ───────────┐ │
    │ │ Beatrix Delegate               │ │ 1 Trần Thị Bình  [P.O.]  │ │
    │ │           2:41                 │ │ 2 Nguyễn Văn An          │ │
    │ └────────────────────────────────┘ └──────────────────────────┘ │
    └ ● connection line ──────────────────────────────────────────────┘

While a poll is open (or being counted) its panel takes the place of the item and the
speaker; a published result does the same, and a roll call of a small roster takes the
queue's place (:mod:`kiosk.vote_view`). The attendance panel always stays.

While the chair shows a document page (and no vote is on screen) the meeting page gives
way to the presentation page (:mod:`kiosk.page_view`): the page as large as fits, the
item and the speaker in one small line above it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QImage, QResizeEvent
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.fit_label import FitLabel
from kiosk.i18n import tr
from kiosk.look import (
    ALERT_BACKGROUND,
    AMBER,
    BACKGROUND,
    BLACK,
    GREEN,
    GREY,
    LEVEL_COLOURS,
    MUTED,
    PANEL,
    PANEL_BORDER,
    WHITE,
    YELLOW,
    Align,
    Tone,
)
from kiosk.look import colour as _colour
from kiosk.look import frame as _frame
from kiosk.look import label as _label
from kiosk.look import repolish as _repolish
from kiosk.look import style as _style
from kiosk.page_view import PresentationPage
from kiosk.pairing_view import PairingPage, SetupPage
from kiosk.presentation import InkMark
from kiosk.vote_lines import NameGroup, ResultLines, VoteLines
from kiosk.vote_view import (
    AttendancePanel,
    ResultPanel,
    RollCallPanel,
    ScaledPanel,
    VotePanel,
)
from room_client.timers import Level

DESIGN_SIZE = (1920, 1080)  # the sizes below are pixels at this resolution
QUEUE_ROWS = 5

CONNECTION_COLOURS = {
    "connected": GREEN,
    "connecting": AMBER,
    "searching": AMBER,
    "reconnecting": "#ff7a45",
    "stopped": GREY,
}


@dataclass(frozen=True, slots=True)
class QueueLine:
    """One waiting speaker as the queue panel shows it."""

    name: str
    seat: str = ""
    point_of_order: bool = False


class QueueRow(QWidget):
    """Position, name and seat; a point of order gets a yellow tag under the name."""

    def __init__(self) -> None:
        super().__init__()
        self.position = _label("queue_position", Align.AlignRight | Align.AlignVCenter)
        self.name = FitLabel(max_px=46, min_px=34, bold=True, name="queue_name")
        self.pill = _label("pill", Align.AlignCenter)
        self.seat = _label("queue_seat", Align.AlignRight | Align.AlignVCenter)
        self.row_layout = QGridLayout(self)
        self.row_layout.setContentsMargins(0, 0, 0, 0)
        self.row_layout.setVerticalSpacing(0)
        self.row_layout.addWidget(self.position, 0, 0)
        self.row_layout.addWidget(self.name, 0, 1)
        self.row_layout.addWidget(self.seat, 0, 2)
        self.row_layout.addWidget(self.pill, 1, 1, Align.AlignLeft | Align.AlignTop)
        self.row_layout.setColumnStretch(1, 1)

    def show_line(self, position: int, line: QueueLine, pill_text: str) -> None:
        self.position.setText(str(position))
        self.name.setText(line.name)
        self.seat.setText(line.seat)
        self.seat.setVisible(bool(line.seat))
        self.pill.setText(pill_text)
        self.pill.setVisible(line.point_of_order)
        self.setVisible(True)


class DisplayView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("display_view")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._fonts: list[tuple[QWidget, int, bool]] = []  # label, px at 1080, bold
        self._fit_labels: list[FitLabel] = []
        self._scale = 1.0
        self._countdown_level = Level.NORMAL

        # header
        self.title = self._fit(FitLabel(max_px=58, min_px=34, bold=True, colour=YELLOW))
        self.meeting_line = self._fit(FitLabel(max_px=34, min_px=22, colour=MUTED))
        self.clock = self._sized(_label("clock", Align.AlignRight | Align.AlignTop), 72, True)
        header = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(0)
        titles.addWidget(self.title)
        titles.addWidget(self.meeting_line)
        header.addLayout(titles, 1)
        header.addWidget(self.clock)

        # announcement
        self.announcement = _frame("announcement")
        self.announcement_heading = _label("announcement_heading", Align.AlignLeft | Align.AlignTop)
        self.announcement_meta = _label("announcement_meta", Align.AlignLeft | Align.AlignTop)
        self.announcement_text = self._fit(
            FitLabel(max_px=54, min_px=30, bold=True, max_lines=2, colour=BLACK)
        )
        captions = QVBoxLayout()
        captions.setSpacing(0)
        captions.addWidget(self.announcement_heading)
        captions.addWidget(self.announcement_meta)
        captions.addStretch(1)
        self._announcement_layout = QHBoxLayout(self.announcement)
        self._announcement_layout.addLayout(captions)
        self._announcement_layout.addWidget(self.announcement_text, 1, Align.AlignVCenter)
        self.announcement.setVisible(False)
        self.announcement_prominent = False

        # idle page
        self.idle_page = QWidget()
        self.idle_text = self._fit(
            FitLabel(
                max_px=110,
                min_px=48,
                bold=True,
                max_lines=2,
                align=Align.AlignHCenter | Align.AlignVCenter,
            )
        )
        idle = QVBoxLayout(self.idle_page)
        idle.addStretch(1)
        idle.addWidget(self.idle_text, 2)
        idle.addStretch(1)

        # current agenda item
        self.item_panel = _frame("panel")
        self.item_heading = _label("heading")
        self.item_number = self._sized(
            _label("item_number", Align.AlignLeft | Align.AlignTop), 58, True
        )
        self.item_title = self._fit(
            FitLabel(max_px=58, min_px=30, bold=True, max_lines=3, max_block=2)
        )
        self.item_timer = self._sized(
            _label("item_timer", Align.AlignLeft | Align.AlignVCenter), 76, True
        )
        self.item_detail = self._sized(
            _label("item_detail", Align.AlignRight | Align.AlignVCenter), 40, False
        )
        number_row = QHBoxLayout()
        self._number_row = number_row
        number_row.addWidget(self.item_number, 0, Align.AlignTop)
        number_row.addWidget(self.item_title, 1)
        timer_row = QHBoxLayout()
        timer_row.addWidget(self.item_timer)
        timer_row.addStretch(1)
        timer_row.addWidget(self.item_detail)
        item = QVBoxLayout(self.item_panel)
        item.addWidget(self.item_heading)
        item.addLayout(number_row)
        item.addLayout(timer_row)

        # current speaker
        self.speaker_panel = _frame("panel")
        self.speaker_heading = _label("heading")
        self.speaker_name = self._fit(  # a long name: two smaller lines in the same height
            FitLabel(
                max_px=72,
                min_px=30,
                bold=True,
                max_lines=2,
                max_block=1,
                align=Align.AlignLeft | Align.AlignVCenter,
            )
        )
        self.speaker_pill = _label("pill", Align.AlignCenter)
        self.speaker_detail = self._fit(
            FitLabel(
                max_px=34, min_px=22, colour=MUTED, align=Align.AlignRight | Align.AlignVCenter
            )
        )
        self.countdown = self._fit(
            FitLabel(
                max_px=300,
                min_px=72,
                bold=True,
                tight=True,
                align=Align.AlignHCenter | Align.AlignVCenter,
            )
        )
        self.countdown.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.countdown_caption = self._sized(
            _label("countdown_caption", Align.AlignCenter), 44, True
        )
        speaker = QVBoxLayout(self.speaker_panel)
        speaker_top = QHBoxLayout()  # SPEAKING [POINT OF ORDER]          Seat A2 · Group
        speaker_top.addWidget(self.speaker_heading)
        speaker_top.addWidget(self.speaker_pill)
        speaker_top.addWidget(self.speaker_detail, 1)
        self._speaker_top = speaker_top
        speaker.addLayout(speaker_top)
        speaker.addWidget(self.speaker_name)
        speaker.addWidget(self.countdown, 1)
        speaker.addWidget(self.countdown_caption, 0, Align.AlignHCenter)

        # speaker queue
        self.queue_panel = _frame("panel")
        self.queue_heading = _label("heading")
        self.queue_rows = [QueueRow() for _ in range(QUEUE_ROWS)]
        for row in self.queue_rows:
            self._sized(row.position, 40, True)
            self._sized(row.pill, 24, True)
            self._sized(row.seat, 34, False)
            self._fit(row.name)
            row.setVisible(False)
        self.queue_more = self._fit(FitLabel(max_px=34, min_px=24, colour=MUTED))
        self.queue_empty = self._fit(FitLabel(max_px=38, min_px=24, max_lines=2, colour=MUTED))
        queue = QVBoxLayout(self.queue_panel)
        queue.addWidget(self.queue_heading)
        queue.addWidget(self.queue_empty)
        for row in self.queue_rows:
            queue.addWidget(row)
        queue.addWidget(self.queue_more)
        queue.addStretch(1)
        self._panel_layouts = [item, speaker, queue]

        # meeting page: item and speaker on the left, queue and later panels on the right
        self.meeting_page = QWidget()
        left = QVBoxLayout()
        # While a poll is open or its result is fresh, the vote takes the speaker's place
        # (a result the item's too) and a roll call may take the queue's.
        self.vote_panel = VotePanel()
        self.result_panel = ResultPanel()
        self.attendance_panel = AttendancePanel()
        self.roll_call_panel = RollCallPanel()
        self._vote_panels: list[ScaledPanel] = [
            self.vote_panel,
            self.result_panel,
            self.attendance_panel,
            self.roll_call_panel,
        ]
        for panel in self._vote_panels:
            panel.setVisible(False)
        left.addWidget(self.item_panel)
        left.addWidget(self.speaker_panel, 1)
        left.addWidget(self.vote_panel, 1)
        left.addWidget(self.result_panel, 1)
        self.side_panels = QVBoxLayout()  # more panels can go here: add_panel()
        self.side_panels.addWidget(self.attendance_panel)
        self.side_panels.addWidget(self.queue_panel, 1)
        self.side_panels.addWidget(self.roll_call_panel, 1)
        self._columns = QHBoxLayout(self.meeting_page)
        self._columns.setContentsMargins(0, 0, 0, 0)
        self._columns.addLayout(left, 3)
        self._columns.addLayout(self.side_panels, 2)
        self._left = left

        self.pages = QStackedWidget()
        self.pages.addWidget(self.idle_page)
        self.pages.addWidget(self.meeting_page)
        self.pairing_page = PairingPage()
        self.setup_page = SetupPage()
        self.pages.addWidget(self.pairing_page)
        self.pages.addWidget(self.setup_page)
        self.presentation_page = PresentationPage()
        self.pages.addWidget(self.presentation_page)

        # connection line
        self.status_dot = _label("status_dot")
        self.status_text = self._fit(FitLabel(max_px=26, min_px=18, colour=MUTED))
        # the audit chain's head the room signed last, witnessed by everyone in the room
        self.audit_head = self._sized(
            _label("audit_head", Align.AlignRight | Align.AlignVCenter), 20, False
        )
        status = QHBoxLayout()
        status.addWidget(self.status_dot, 0, Align.AlignVCenter)
        status.addWidget(self.status_text, 1)
        status.addWidget(self.audit_head, 0, Align.AlignVCenter)
        self.connection_state = "stopped"

        self._root = QVBoxLayout(self)
        # The screen's size is given; the layout must never make the window bigger (Qt
        # would size a top-level window to the heightForWidth of its longest title).
        self._root.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        self._root.addLayout(header)
        self._root.addWidget(self.announcement)
        self._root.addWidget(self.pages, 1)
        self._root.addLayout(status)

        for heading in (self.item_heading, self.speaker_heading, self.queue_heading):
            self._sized(heading, 28, True)
        self._sized(self.speaker_pill, 24, True)
        self.speaker_pill.setVisible(False)
        self._sized(self.announcement_heading, 28, True)
        self._sized(self.announcement_meta, 28, False)
        self.set_announcement_prominent(False)
        self.retranslate()
        self._apply_scale(1.0)

    # --- what the controller sets ---------------------------------------------------------

    def retranslate(self) -> None:
        self.item_heading.setText(tr("item.heading").upper())
        self.speaker_heading.setText(tr("speaker.heading").upper())
        self.queue_heading.setText(tr("queue.heading").upper())
        self.announcement_heading.setText(tr("announcement.heading").upper())
        self.setWindowTitle(tr("app.title"))
        for panel in self._vote_panels:
            panel.retranslate()

    def show_idle(self, title: str, text: str) -> None:
        self.title.setText(title)
        self.meeting_line.setText("")
        self.idle_text.setText(text)
        self.pages.setCurrentWidget(self.idle_page)

    def show_meeting(self, title: str, line: str) -> None:
        self.title.setText(title)
        self.meeting_line.setText(line)
        self.pages.setCurrentWidget(self.meeting_page)

    def show_presentation(
        self, title: str, line: str, item: str, speaker: str, *, no_item: bool = False
    ) -> None:
        """The chair's page instead of the meeting page; ``item`` and ``speaker`` are the
        small line above it. What the page area holds is set by the calls below."""
        self.title.setText(title)
        self.meeting_line.setText(line)
        self.presentation_page.set_lines(item, speaker, no_item=no_item)
        self.pages.setCurrentWidget(self.presentation_page)

    @property
    def presenting(self) -> bool:
        return self.pages.currentWidget() is self.presentation_page

    def set_page(self, image: QImage, page_width: float, page_height: float) -> None:
        """The rendered page (``page_width`` x ``page_height`` points, as shown)."""
        self.presentation_page.canvas.set_page(image, page_width, page_height)
        self.presentation_page.show_page()

    def clear_page(self) -> None:
        self.presentation_page.canvas.clear_page()

    def set_presenter_ink(self, marks: list[InkMark]) -> None:
        self.presentation_page.canvas.set_marks(marks)

    def show_page_notice(self, title: str, text: str, *, warning: bool = False) -> None:
        """A notice where the page would be (loading, confidential, cannot be shown)."""
        self.presentation_page.show_notice(title, text, warning=warning)

    def show_pairing(
        self, heading: str, code: str, target: str, expiry: str, how: str, link: str
    ) -> None:
        """A pairing code the chair chose to show here, over the meeting until it expires."""
        self.pairing_page.show_code(heading, code, target, expiry, how, link)
        self.pages.setCurrentWidget(self.pairing_page)

    def show_setup(
        self, room: str, title: str, body: str, steps: str, problem: str, where: str
    ) -> None:
        """This display is not enrolled: the whole screen says what IT staff should do."""
        self.title.setText(room)
        self.meeting_line.setText("")
        self.setup_page.show_setup(title, body, steps, problem, where)
        self.pages.setCurrentWidget(self.setup_page)

    def set_clock(self, text: str) -> None:
        self.clock.setText(text)

    def set_item(self, number: str, title: str) -> None:
        self.item_number.setText(number)
        self.item_number.setVisible(bool(number))
        self.item_title.setText(title)
        self.item_title.set_colour(WHITE)

    def set_no_item(self, text: str) -> None:
        self.item_number.setVisible(False)
        self.item_title.setText(text)
        self.item_title.set_colour(MUTED)
        self.set_item_timer("", "", Level.NORMAL)

    def set_item_timer(self, timer: str, detail: str, level: Level) -> None:
        self.item_timer.setText(timer)
        self.item_detail.setText(detail)
        _colour(self.item_timer, LEVEL_COLOURS[level])
        _colour(self.item_detail, LEVEL_COLOURS[level] if level is not Level.NORMAL else MUTED)

    def set_speaker(self, name: str, detail: str, *, point_of_order: bool = False) -> None:
        self.speaker_name.setText(name)
        self.speaker_name.set_colour(WHITE)
        self.speaker_detail.setText(detail)
        self.speaker_pill.setText(tr("queue.point_of_order").upper())
        self.speaker_pill.setVisible(point_of_order)

    def set_no_speaker(self, text: str) -> None:
        self.speaker_name.setText(text)
        self.speaker_name.set_colour(MUTED)
        self.speaker_detail.setText("")
        self.speaker_pill.setVisible(False)
        self.set_countdown("", "", Level.NORMAL)

    def set_countdown(self, time: str, caption: str, level: Level) -> None:
        self.countdown.setText(time)
        self.countdown.set_colour(LEVEL_COLOURS[level])
        self.countdown_caption.setText(caption)
        self._countdown_level = level
        if level is Level.OVER:  # "Time is up" in white on red
            _style(
                self.countdown_caption,
                f"color: {WHITE}; background: {ALERT_BACKGROUND};"
                f" border-radius: {round(10 * self._scale)}px;"
                f" padding: 0 {round(28 * self._scale)}px;",
            )
        else:
            _colour(self.countdown_caption, MUTED)
        alert = level is Level.OVER
        if self.speaker_panel.property("alert") != alert:
            self.speaker_panel.setProperty("alert", alert)
            _repolish(self.speaker_panel)

    def set_queue(self, lines: list[QueueLine], more: str, empty: str) -> None:
        pill = tr("queue.point_of_order").upper()
        for index, row in enumerate(self.queue_rows):
            if index < len(lines):
                row.show_line(index + 1, lines[index], pill)
            else:
                row.setVisible(False)
        self.queue_more.setText(more)
        self.queue_more.setVisible(bool(more))
        self.queue_empty.setText(empty)
        self.queue_empty.setVisible(not lines)

    def set_announcement(
        self, text: str, meta: str, *, prominent: bool, heading: str | None = None
    ) -> None:
        """``heading``: instead of "Announcement" (the room's own notices)."""
        self.announcement_heading.setText((heading or tr("announcement.heading")).upper())
        self.announcement_text.setText(text)
        self.announcement_meta.setText(meta)
        self.set_announcement_prominent(prominent)
        self.announcement.setVisible(True)

    def clear_announcement(self) -> None:
        self.announcement.setVisible(False)
        self.announcement_text.setText("")

    def set_announcement_prominent(self, prominent: bool) -> None:
        """New: black on yellow, large. Later: a quiet line that stays for a while."""
        if self.announcement.property("prominent") == ("yes" if prominent else "no"):
            return
        self.announcement_prominent = prominent
        self.announcement.setProperty("prominent", "yes" if prominent else "no")
        _repolish(self.announcement)
        if prominent:
            self.announcement_text.set_sizes(54, 30, bold=True)
            self.announcement_text.set_colour(BLACK)
            _colour(self.announcement_heading, BLACK)
            _colour(self.announcement_meta, BLACK)
        else:
            self.announcement_text.set_sizes(34, 24, bold=False)
            self.announcement_text.set_colour(WHITE)
            _colour(self.announcement_heading, YELLOW)
            _colour(self.announcement_meta, MUTED)

    def set_connection(self, state: str, text: str) -> None:
        """``state`` is one of :data:`CONNECTION_COLOURS`: the dot's colour."""
        self.connection_state = state
        self.status_text.setText(text)
        self.status_text.set_colour(WHITE if state == "reconnecting" else MUTED)
        self._paint_dot()

    def set_audit_head(self, text: str) -> None:
        """The small corner line "Audit seq 1234 · 3F9A C21B" (empty: none signed yet)."""
        self.audit_head.setText(text)

    def set_attendance(self, present: str, quorum: str, tone: Tone, proxies: str) -> None:
        """The attendance panel: "Present 12 of 15", the quorum tag (empty: no quorum
        rule) in green or red, the proxies line (may be empty)."""
        self.attendance_panel.show_attendance(present, quorum, tone, proxies)

    def clear_attendance(self) -> None:
        self.attendance_panel.setVisible(False)

    def show_floor(self) -> None:
        """The normal view: current item, speaker, queue."""
        self._arrange(speaker=True)

    def show_vote(self, lines: VoteLines) -> None:
        """An open poll (or one being counted) in the place of the item and the speaker."""
        self.vote_panel.show_vote(lines)
        self._arrange(vote=True)

    def show_result(self, lines: ResultLines, roll_call: tuple[NameGroup, ...] = ()) -> None:
        """A result in the place of the item and the speaker; with a roll call, the names
        in the queue's place."""
        self.result_panel.show_result(lines)
        self.roll_call_panel.show_groups(roll_call)
        self._arrange(result=True, roll_call=bool(roll_call))

    def _arrange(
        self,
        *,
        speaker: bool = False,
        vote: bool = False,
        result: bool = False,
        roll_call: bool = False,
    ) -> None:
        self.item_panel.setVisible(speaker)
        self.speaker_panel.setVisible(speaker)
        self.vote_panel.setVisible(vote)
        self.result_panel.setVisible(result)
        self.queue_panel.setVisible(not roll_call)
        self.roll_call_panel.setVisible(roll_call)

    def add_panel(self, panel: QWidget, stretch: int = 0) -> None:
        """Add a panel under the speaker queue (vote results, quorum)."""
        self.side_panels.addWidget(panel, stretch)

    def panel_frame(self, name: str = "panel") -> QFrame:
        """An empty panel in the display's look, for :meth:`add_panel`."""
        return _frame(name)

    # --- scale ----------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        size = event.size()
        scale = min(size.width() / DESIGN_SIZE[0], size.height() / DESIGN_SIZE[1])
        if abs(scale - self._scale) > 0.005:
            self._apply_scale(scale)
        super().resizeEvent(event)

    def _apply_scale(self, scale: float) -> None:
        self._scale = scale

        def px(value: float) -> int:
            return max(1, round(value * scale))

        for widget, size, bold in self._fonts:
            font = QFont(self.font())
            font.setPixelSize(px(size))
            font.setBold(bold)
            widget.setFont(font)
        for label in self._fit_labels:
            label.set_scale(scale)
        self.setStyleSheet(
            f"""
            #display_view {{ background: {BACKGROUND}; }}
            QLabel {{ color: {WHITE}; background: transparent; }}
            QLabel#heading {{ color: {MUTED}; }}
            QLabel#clock {{ color: {WHITE}; }}
            QLabel#audit_head {{ color: {MUTED}; }}
            QLabel#queue_position, QLabel#queue_seat {{ color: {MUTED}; }}
            QLabel#pill {{ color: {BLACK}; background: {YELLOW};
                border-radius: {px(8)}px; padding: {px(2)}px {px(12)}px; }}
            QFrame#panel {{ background: {PANEL}; border: {px(2)}px solid {PANEL_BORDER};
                border-radius: {px(18)}px; }}
            QFrame#panel[alert="true"] {{ border: {px(6)}px solid {LEVEL_COLOURS[Level.OVER]}; }}
            QFrame#announcement[prominent="yes"] {{ background: {YELLOW};
                border-radius: {px(18)}px; }}
            QFrame#announcement[prominent="no"] {{ background: {PANEL};
                border-left: {px(10)}px solid {YELLOW}; border-radius: 0; }}
            """
        )
        self._root.setContentsMargins(px(56), px(32), px(56), px(20))
        self._root.setSpacing(px(20))
        self._number_row.setSpacing(px(22))
        self._speaker_top.setSpacing(px(18))
        self._columns.setSpacing(px(24))
        self._left.setSpacing(px(24))
        self.side_panels.setSpacing(px(24))
        for layout in self._panel_layouts:
            layout.setContentsMargins(px(32), px(18), px(32), px(18))
            layout.setSpacing(px(8))
        self._announcement_layout.setContentsMargins(px(32), px(14), px(32), px(14))
        self._announcement_layout.setSpacing(px(36))
        for row in self.queue_rows:
            row.row_layout.setHorizontalSpacing(px(18))
            row.position.setMinimumWidth(px(44))
        for panel in self._vote_panels:
            panel.set_scale(scale)
        self.pairing_page.set_scale(scale)
        self.setup_page.set_scale(scale)
        self.presentation_page.set_scale(scale)
        self._paint_dot()
        self.set_countdown(
            self.countdown.text(), self.countdown_caption.text(), self._countdown_level
        )

    def _paint_dot(self) -> None:
        size = max(6, round(18 * self._scale))
        self.status_dot.setFixedSize(size, size)
        _style(
            self.status_dot,
            f"background: {CONNECTION_COLOURS.get(self.connection_state, MUTED)};"
            f" border-radius: {size // 2}px;",
        )

    def _sized(self, widget: QLabel, px: int, bold: bool) -> QLabel:
        self._fonts.append((widget, px, bold))
        return widget

    def _fit(self, label: FitLabel) -> FitLabel:
        self._fit_labels.append(label)
        return label
