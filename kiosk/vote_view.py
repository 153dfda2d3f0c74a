"""The room display's attendance, voting, result and roll-call panels: layout and drawing.

The controller decides every text and its tone (:class:`~kiosk.look.Tone`); the panels
only place and paint them. Sizes are pixels at 1080 lines of screen, scaled with the
rest of the display (:meth:`ScaledPanel.set_scale`).

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

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from kiosk.fit_label import FitLabel
from kiosk.i18n import tr
from kiosk.look import (
    LEVEL_COLOURS,
    MUTED,
    PANEL_BORDER,
    TONE_COLOURS,
    WHITE,
    YELLOW,
    Align,
    Tone,
    colour,
    label,
    pill,
)
from room_client.timers import Level

_Expanding = QSizePolicy.Policy.Expanding


def _font(base: QFont, px: float, bold: bool) -> QFont:
    font = QFont(base)
    font.setPixelSize(max(6, round(px)))
    font.setBold(bold)
    return font


def _baseline(metrics: QFontMetricsF, middle: float) -> float:
    """The baseline that centres a line of text on ``middle``."""
    return middle + (metrics.ascent() - metrics.descent()) / 2


# --- what the controller hands the panels --------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bar:
    """One option of a result: its label, its votes as text and its bar's length."""

    label: str
    value: str  # "60 · 53.1%"
    fraction: float  # of a full-length bar, 0 to 1
    tone: Tone
    strong: bool = False  # a winner: bold, with a tick


@dataclass(frozen=True, slots=True)
class NameGroup:
    """The names of those who voted one way (a roll call)."""

    title: str  # "Yes · 12"
    tone: Tone
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VoteLines:
    """An open poll, or a closed one being counted."""

    title: str
    kinds: str  # "Secret ballot" ...
    status: str  # "Voting open"
    status_tone: Tone
    progress: str  # "38 of 120 have voted"
    fraction: float  # of the progress bar, 0 to 1
    context: str = ""  # the agenda item: "4 · Budget"
    countdown: str = ""  # "0:45" while a closing countdown runs
    caption: str = ""
    level: Level = Level.NORMAL


@dataclass(frozen=True, slots=True)
class ResultLines:
    """A published result."""

    title: str
    kinds: str
    outcome: str  # "Adopted"
    tone: Tone
    detail: str  # "Elected: …", "decided by lot"
    bars: tuple[Bar, ...]
    marker: float | None  # where the required majority is, as a fraction of a bar
    marker_text: str
    more: str  # "and 3 more options"
    totals: str
    context: str = ""  # the agenda item: "4 · Budget"


# --- painted widgets -------------------------------------------------------------------------


class ProgressBar(QWidget):
    """A thick rounded bar: how many of those who may vote have voted."""

    HEIGHT_PX = 34

    def __init__(self) -> None:
        super().__init__()
        self._fraction = 0.0
        self._scale = 1.0
        self._colour = TONE_COLOURS[Tone.GOOD]
        self.setSizePolicy(_Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.HEIGHT_PX)

    def fraction(self) -> float:
        return self._fraction

    def set_fraction(self, fraction: float, tone: Tone) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if (fraction, TONE_COLOURS[tone]) != (self._fraction, self._colour):
            self._fraction, self._colour = fraction, TONE_COLOURS[tone]
            self.update()

    def set_scale(self, scale: float) -> None:
        self._scale = scale
        self.setFixedHeight(max(4, round(self.HEIGHT_PX * scale)))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        radius = self.height() / 2
        painter.setBrush(QColor(PANEL_BORDER))
        painter.drawRoundedRect(QRectF(self.rect()), radius, radius)
        if self._fraction > 0:
            width = max(self.height(), self.width() * self._fraction)
            painter.setBrush(QColor(self._colour))
            painter.drawRoundedRect(QRectF(0, 0, width, self.height()), radius, radius)
        painter.end()


@dataclass(frozen=True, slots=True)
class _ChartLayout:
    row: float  # height of one option's row
    top: float  # where the first row starts
    font: QFont  # labels and values (bold for winners and values)
    label_w: float
    bar_x: float
    bar_len: float


class BarChart(QWidget):
    """Horizontal bars, one row per option: label, bar on a track, votes. A dashed
    yellow line marks the votes an option needs. Rows share the height (up to a limit);
    the labels get as large a font as lets the longest fit in a bit over a third of the
    width, and are cut short with "…" below the smallest."""

    ROW_MAX_PX = 120
    FONT_MAX_PX = 50
    FONT_MIN_PX = 22
    LABEL_SHARE = 0.45  # of the width, at most, for the labels
    SMALL_PX = 28  # the majority line's label and "and N more"
    GAP_PX = 20
    TICK = "✓ "

    def __init__(self) -> None:
        super().__init__()
        self._bars: tuple[Bar, ...] = ()
        self._marker: float | None = None
        self._marker_text = ""
        self._more = ""
        self._scale = 1.0
        self.setSizePolicy(_Expanding, _Expanding)

    def bars(self) -> tuple[Bar, ...]:
        return self._bars

    def marker(self) -> float | None:
        return self._marker

    def set_chart(
        self, bars: tuple[Bar, ...], marker: float | None, marker_text: str, more: str
    ) -> None:
        chart = (bars, marker, marker_text, more)
        if chart != (self._bars, self._marker, self._marker_text, self._more):
            self._bars, self._marker, self._marker_text, self._more = chart
            self.update()

    def set_scale(self, scale: float) -> None:
        self._scale = scale
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(400, round(300 * self._scale))

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(100, round(60 * self._scale))

    def row_font(self) -> QFont:
        """The font the option labels are drawn with at the current size."""
        return self._layout().font

    def labels_cut(self) -> bool:
        """Whether some label did not fit and was cut short."""
        layout = self._layout()
        plain = QFontMetricsF(layout.font)
        bold = QFontMetricsF(_font(layout.font, layout.font.pixelSize(), True))
        return any(
            (bold if bar.strong else plain).horizontalAdvance(text) > layout.label_w + 0.5
            for bar, text in zip(self._bars, self._labels(), strict=True)
        )

    def _labels(self) -> list[str]:
        return [(self.TICK if b.strong else "") + b.label for b in self._bars]

    def _small(self) -> QFont:
        return _font(self.font(), self.SMALL_PX * self._scale, False)

    def _layout(self) -> _ChartLayout:
        s = self._scale
        width, height = float(self.width()), float(self.height())
        small = QFontMetricsF(self._small()).lineSpacing()
        above = small if self._marker is not None and self._marker_text else 0.0
        below = small if self._more else 0.0
        rows = max(1, len(self._bars))
        row = min(self.ROW_MAX_PX * s, max(1.0, (height - above - below) / rows))
        top = (height - above - below - rows * row) / 2 + above  # the block in the middle
        px = max(self.FONT_MIN_PX * s, min(self.FONT_MAX_PX * s, row * 0.5))
        labels = list(zip(self._labels(), (b.strong for b in self._bars), strict=True))
        values = [b.value for b in self._bars]
        gap = self.GAP_PX * s
        while True:
            bold = QFontMetricsF(_font(self.font(), px, True))
            plain = QFontMetricsF(_font(self.font(), px, False))
            label_w = max(
                ((bold if strong else plain).horizontalAdvance(t) for t, strong in labels),
                default=0.0,
            )
            value_w = max((bold.horizontalAdvance(v) for v in values), default=0.0)
            room = width * self.LABEL_SHARE
            bar_room = width - min(label_w, room) - value_w - 2 * gap
            if (label_w <= room and bar_room >= width * 0.25) or px <= self.FONT_MIN_PX * s:
                break
            px = max(self.FONT_MIN_PX * s, px * 0.94)
        label_w = min(label_w, room)
        bar_x = label_w + gap
        bar_len = max(10.0, width - bar_x - gap - value_w)
        return _ChartLayout(row, top, _font(self.font(), px, False), label_w, bar_x, bar_len)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        if not self._bars:
            return
        layout = self._layout()
        plain = layout.font
        bold = QFont(plain)
        bold.setBold(True)
        plain_m, bold_m = QFontMetricsF(plain), QFontMetricsF(bold)
        width = float(self.width())
        row, top = layout.row, layout.top
        bar_h = row * 0.6
        radius = bar_h / 4

        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        for index, (bar, text) in enumerate(zip(self._bars, self._labels(), strict=True)):
            middle = top + (index + 0.5) * row
            metrics = bold_m if bar.strong else plain_m
            painter.setFont(bold if bar.strong else plain)
            painter.setPen(QColor(MUTED if bar.tone is Tone.QUIET else WHITE))
            shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, layout.label_w + 0.5)
            painter.drawText(QPointF(0, _baseline(metrics, middle)), shown)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(PANEL_BORDER))
            track = QRectF(layout.bar_x, middle - bar_h / 2, layout.bar_len, bar_h)
            painter.drawRoundedRect(track, radius, radius)
            if bar.fraction > 0:
                length = max(2 * radius, layout.bar_len * min(1.0, bar.fraction))
                painter.setBrush(QColor(TONE_COLOURS[bar.tone]))
                filled = QRectF(track.left(), track.top(), length, bar_h)
                painter.drawRoundedRect(filled, radius, radius)
            painter.setFont(bold)
            painter.setPen(QColor(WHITE))
            value_x = width - bold_m.horizontalAdvance(bar.value)
            painter.drawText(QPointF(value_x, _baseline(bold_m, middle)), bar.value)
        small = self._small()
        small_m = QFontMetricsF(small)
        painter.setFont(small)
        bottom = top + len(self._bars) * row
        if self._marker is not None:
            x = layout.bar_x + layout.bar_len * min(1.0, max(0.0, self._marker))
            pen = QPen(QColor(YELLOW), max(2.0, 4 * self._scale))
            pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawLine(QPointF(x, top), QPointF(x, bottom - (row - bar_h) / 2))
            if self._marker_text:
                painter.setPen(QColor(YELLOW))
                text_w = small_m.horizontalAdvance(self._marker_text)
                left = min(max(layout.bar_x, x - text_w / 2), width - text_w)
                painter.drawText(QPointF(left, top - small_m.descent()), self._marker_text)
        if self._more:
            painter.setPen(QColor(MUTED))
            painter.drawText(QPointF(0, bottom + small_m.ascent()), self._more)
        painter.end()


class NameGrid(QWidget):
    """Groups of names under coloured headings, in as many columns and as large as fits."""

    FONT_MAX_PX = 34
    FONT_MIN_PX = 16
    STEP = 0.92

    def __init__(self) -> None:
        super().__init__()
        self._groups: tuple[NameGroup, ...] = ()
        self._scale = 1.0
        self.setSizePolicy(_Expanding, _Expanding)

    def groups(self) -> tuple[NameGroup, ...]:
        return self._groups

    def set_groups(self, groups: tuple[NameGroup, ...]) -> None:
        if groups != self._groups:
            self._groups = groups
            self.update()

    def set_scale(self, scale: float) -> None:
        self._scale = scale
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(300, round(300 * self._scale))

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(100, round(60 * self._scale))

    def _height(self, metrics: QFontMetricsF, columns: int) -> float:
        line = metrics.lineSpacing()
        rows = sum(1 + math.ceil(len(g.names) / columns) for g in self._groups)
        return rows * line + (len(self._groups) - 1) * line * 0.4

    def layout_for(self, width: float, height: float) -> tuple[float, int, bool]:
        """Font size, columns, and whether every name fits whole."""
        gap = 24 * self._scale
        px = self.FONT_MAX_PX * self._scale
        smallest = self.FONT_MIN_PX * self._scale
        while True:
            metrics = QFontMetricsF(_font(self.font(), px, False))
            widest = max(
                (metrics.horizontalAdvance(n) for g in self._groups for n in g.names), default=0
            )
            for columns in (1, 2, 3):
                column_w = (width - (columns - 1) * gap) / columns
                if self._height(metrics, columns) <= height and widest <= column_w:
                    return px, columns, True
            if px <= smallest:
                return px, 3, False
            px = max(smallest, px * self.STEP)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        if not self._groups:
            return
        width, height = float(self.width()), float(self.height())
        px, columns, _fits = self.layout_for(width, height)
        plain = _font(self.font(), px, False)
        bold = _font(self.font(), px, True)
        metrics = QFontMetricsF(plain)
        line = metrics.lineSpacing()
        gap = 24 * self._scale
        column_w = (width - (columns - 1) * gap) / columns
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        y = 0.0
        for group in self._groups:
            if y + line > height + 0.5:
                break
            painter.setFont(bold)
            painter.setPen(QColor(TONE_COLOURS[group.tone]))
            painter.drawText(QPointF(0, y + metrics.ascent()), group.title)
            y += line
            painter.setFont(plain)
            painter.setPen(QColor(WHITE))
            for start in range(0, len(group.names), columns):
                if y + line > height + 0.5:
                    break
                for column, name in enumerate(group.names[start : start + columns]):
                    shown = metrics.elidedText(name, Qt.TextElideMode.ElideRight, column_w)
                    painter.drawText(
                        QPointF(column * (column_w + gap), y + metrics.ascent()), shown
                    )
                y += line
            y += line * 0.4
        painter.end()


# --- panels ------------------------------------------------------------------------------------


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
            widget.setFont(_font(self.font(), size * scale, bold))
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
