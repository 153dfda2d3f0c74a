"""The room display's attendance, voting, result and roll-call panels: layout and drawing.

The controller decides every text and its tone (:class:`~kiosk.look.Tone`) and hands
them over as :mod:`kiosk.vote_lines`; the panels only place them, and the painted bar,
chart and names (:mod:`kiosk.vote_chart`) draw them. Sizes are pixels at 1080 lines of
screen, scaled with the rest of the display (:meth:`ScaledPanel.set_scale`).

::

    ┌ attendance ─────────────────────┐   ┌ VOTE [SECRET BALLOT] ───────────────┐
    │ Present 12 of 15                │   │ Approval of the 2027 budget          │
    │ (Quorum 8 · met)  +2 by proxy   │   │            Voting open               │
    └─────────────────────────────────┘   │               0:45                   │
    ┌ RESULT [NAMED VOTE] ────────────┐   │ ███████████░░░░░░░░░░░░░░░░░░░░░░░░  │
    │ Approval of the 2027 budget     │   │        38 of 120 have voted          │
    │ ADOPTED                         │   └──────────────────────────────────────┘
    │ Yes      ██████████████┊░░░  60 │
    │ No       ████████░░░░░░┊░░░  40 │
    │ Ballots 118 · Needed 51 of 100  │
    └─────────────────────────────────┘
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout

from kiosk.fit_label import FitLabel
from kiosk.i18n import tr
from kiosk.look import (
    LEVEL_COLOURS,
    MUTED,
    TONE_COLOURS,
    Align,
    Tone,
    colour,
    label,
    pill,
)
from kiosk.vote_chart import BarChart, NameGrid, ProgressBar, pixel_font
from kiosk.vote_lines import NameGroup, ResultLines, VoteLines
from room_client.timers import Level

_Expanding = QSizePolicy.Policy.Expanding


def _context_label() -> FitLabel:
    return FitLabel(max_px=30, min_px=22, colour=MUTED, align=Align.AlignRight | Align.AlignVCenter)


class ScaledPanel(QFrame):
    """A panel in the display's look whose fonts and margins follow the screen's scale."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("panel")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.scale = 1.0
        self._fonts: list[tuple[QLabel, int, bool]] = []
        self._fits: list[FitLabel] = []
        self._rows: list[QHBoxLayout] = []
        self.panel_layout = QVBoxLayout(self)

    def sized(self, widget: QLabel, px: int, bold: bool) -> QLabel:
        self._fonts.append((widget, px, bold))
        return widget

    def fit(self, widget: FitLabel) -> FitLabel:
        self._fits.append(widget)
        return widget

    def row(self) -> QHBoxLayout:
        layout = QHBoxLayout()
        self._rows.append(layout)
        return layout

    def px(self, value: float) -> int:
        return max(1, round(value * self.scale))

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        for widget, size, bold in self._fonts:
            widget.setFont(pixel_font(self.font(), size * scale, bold))
        for fit in self._fits:
            fit.set_scale(scale)
        self.panel_layout.setContentsMargins(self.px(32), self.px(18), self.px(32), self.px(18))
        self.panel_layout.setSpacing(self.px(8))
        for layout in self._rows:
            layout.setSpacing(self.px(18))
        self.rescaled()

    def rescaled(self) -> None:
        """Subclasses: re-apply what depends on the scale beyond fonts and margins."""

    def _top_row(self, heading: QLabel, kinds: QLabel, context: FitLabel) -> QHBoxLayout:
        """HEADING [KINDS]                                  4 · Budget 2027"""
        top = self.row()
        top.addWidget(heading)
        top.addWidget(kinds)
        top.addWidget(context, 1)
        return top

    def retranslate(self) -> None:
        """Subclasses: set the fixed headings in the current language."""


class AttendancePanel(ScaledPanel):
    """Who is here: "Present 12 of 15", the quorum as a green or red tag, proxies."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("panel")
        self.present = self.fit(FitLabel(max_px=52, min_px=30, bold=True, name="present"))
        self.quorum = self.sized(label("quorum", Align.AlignCenter), 32, True)
        self.proxies = self.fit(
            FitLabel(
                max_px=34,
                min_px=22,
                colour=MUTED,
                align=Align.AlignRight | Align.AlignVCenter,
                name="proxies",
            )
        )
        self.quorum_tone = Tone.GOOD
        second = self.row()
        second.addWidget(self.quorum)
        second.addWidget(self.proxies, 1)
        self.panel_layout.addWidget(self.present)
        self.panel_layout.addLayout(second)

    def show_attendance(self, present: str, quorum: str, tone: Tone, proxies: str) -> None:
        self.present.setText(present)
        self.quorum.setText(quorum)
        self.quorum.setVisible(bool(quorum))
        self.quorum_tone = tone
        self.proxies.setText(proxies)
        pill(self.quorum, tone, self.scale)
        self.setVisible(True)

    def rescaled(self) -> None:
        pill(self.quorum, self.quorum_tone, self.scale)


class VotePanel(ScaledPanel):
    """An open poll (title, "Voting open", countdown, how many have voted) or a closed
    one being counted. Shown in place of the speaker."""

    def __init__(self) -> None:
        super().__init__()
        self.heading = self.sized(label("heading"), 28, True)
        self.kinds = self.sized(label("kinds", Align.AlignCenter), 24, True)
        self.title = self.fit(FitLabel(max_px=58, min_px=30, bold=True, max_lines=2))
        self.status = self.fit(
            FitLabel(
                max_px=96,
                min_px=40,
                bold=True,
                max_lines=2,
                align=Align.AlignHCenter | Align.AlignVCenter,
                name="vote_status",
            )
        )
        self.countdown = self.fit(
            FitLabel(
                max_px=240,
                min_px=72,
                bold=True,
                tight=True,
                align=Align.AlignHCenter | Align.AlignVCenter,
                name="vote_countdown",
            )
        )
        self.countdown.setSizePolicy(_Expanding, _Expanding)
        self.caption = self.sized(label("vote_caption", Align.AlignCenter), 40, True)
        self.progress = ProgressBar()
        self.progress_text = self.fit(
            FitLabel(
                max_px=48, min_px=28, bold=True, align=Align.AlignHCenter, name="vote_progress"
            )
        )
        self.context = self.fit(_context_label())
        layout = self.panel_layout
        layout.addLayout(self._top_row(self.heading, self.kinds, self.context))
        layout.addWidget(self.title)
        layout.addStretch(1)  # without a countdown, the status sits in the middle
        layout.addWidget(self.status)
        layout.addWidget(self.countdown, 6)
        layout.addWidget(self.caption)
        layout.addStretch(1)
        layout.addWidget(self.progress)
        layout.addWidget(self.progress_text)
        self.retranslate()

    def retranslate(self) -> None:
        self.heading.setText(tr("vote.heading").upper())

    def show_vote(self, lines: VoteLines) -> None:
        self.context.setText(lines.context)
        self.title.setText(lines.title)
        self.kinds.setText(lines.kinds.upper())
        self.kinds.setVisible(bool(lines.kinds))
        self.status.setText(lines.status)
        self.status.set_colour(TONE_COLOURS[lines.status_tone])
        self.countdown.setText(lines.countdown)
        self.countdown.set_colour(LEVEL_COLOURS[lines.level])
        self.countdown.setVisible(bool(lines.countdown))
        self.caption.setText(lines.caption)
        self.caption.setVisible(bool(lines.caption))
        colour(
            self.caption, LEVEL_COLOURS[lines.level] if lines.level is not Level.NORMAL else MUTED
        )
        self.progress.set_fraction(lines.fraction, lines.status_tone)
        self.progress_text.setText(lines.progress)

    def rescaled(self) -> None:
        pill(self.kinds, Tone.PLAIN, self.scale)
        self.progress.set_scale(self.scale)


class ResultPanel(ScaledPanel):
    """A published result: the outcome in big words, a bar per option, the totals."""

    def __init__(self) -> None:
        super().__init__()
        self.heading = self.sized(label("heading"), 28, True)
        self.kinds = self.sized(label("kinds", Align.AlignCenter), 24, True)
        # Long texts take two smaller lines in little more than one line's height: the
        # chart gets the room.
        self.title = self.fit(FitLabel(max_px=52, min_px=28, bold=True, max_lines=2, max_block=1.5))
        self.outcome = self.fit(FitLabel(max_px=110, min_px=56, bold=True, name="outcome"))
        self.detail = self.fit(
            FitLabel(max_px=40, min_px=26, max_lines=2, max_block=1.3, name="detail")
        )
        self.chart = BarChart()
        self.totals = self.fit(
            FitLabel(max_px=34, min_px=22, max_lines=2, max_block=1.2, colour=MUTED)
        )
        self.context = self.fit(_context_label())
        layout = self.panel_layout
        layout.addLayout(self._top_row(self.heading, self.kinds, self.context))
        layout.addWidget(self.title)
        layout.addWidget(self.outcome)
        layout.addWidget(self.detail)
        layout.addWidget(self.chart, 1)
        layout.addWidget(self.totals)
        self.retranslate()

    def retranslate(self) -> None:
        self.heading.setText(tr("result.heading").upper())

    def show_result(self, lines: ResultLines) -> None:
        self.context.setText(lines.context)
        self.title.setText(lines.title)
        self.kinds.setText(lines.kinds.upper())
        self.kinds.setVisible(bool(lines.kinds))
        self.outcome.setText(lines.outcome.upper())
        self.outcome.set_colour(TONE_COLOURS[lines.tone])
        self.detail.setText(lines.detail)
        self.detail.setVisible(bool(lines.detail))
        self.chart.set_chart(lines.bars, lines.marker, lines.marker_text, lines.more)
        self.totals.setText(lines.totals)

    def rescaled(self) -> None:
        pill(self.kinds, Tone.PLAIN, self.scale)
        self.chart.set_scale(self.scale)


class RollCallPanel(ScaledPanel):
    """Who voted what in a named poll of a small roster."""

    def __init__(self) -> None:
        super().__init__()
        self.heading = self.sized(label("heading"), 28, True)
        self.grid = NameGrid()
        self.panel_layout.addWidget(self.heading)
        self.panel_layout.addWidget(self.grid, 1)
        self.retranslate()

    def retranslate(self) -> None:
        self.heading.setText(tr("roll_call.heading").upper())

    def show_groups(self, groups: tuple[NameGroup, ...]) -> None:
        self.grid.set_groups(groups)

    def rescaled(self) -> None:
        self.grid.set_scale(self.scale)
