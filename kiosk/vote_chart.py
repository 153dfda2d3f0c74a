"""The room display's painted voting widgets: the progress bar, the result's bar chart
and the roll call's grid of names, with the font helpers they share. Sizes are pixels at
1080 lines of screen, times the scale the panel hands down (``set_scale``)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from kiosk.look import (
    MUTED,
    PANEL_BORDER,
    TONE_COLOURS,
    WHITE,
    YELLOW,
    Tone,
)
from kiosk.vote_lines import Bar, NameGroup

_Expanding = QSizePolicy.Policy.Expanding


def pixel_font(base: QFont, px: float, bold: bool) -> QFont:
    """``base`` at ``px`` pixels (6 at least), bold or not."""
    font = QFont(base)
    font.setPixelSize(max(6, round(px)))
    font.setBold(bold)
    return font


def _baseline(metrics: QFontMetricsF, middle: float) -> float:
    """The baseline that centres a line of text on ``middle``."""
    return middle + (metrics.ascent() - metrics.descent()) / 2


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
        bold = QFontMetricsF(pixel_font(layout.font, layout.font.pixelSize(), True))
        return any(
            (bold if bar.strong else plain).horizontalAdvance(text) > layout.label_w + 0.5
            for bar, text in zip(self._bars, self._labels(), strict=True)
        )

    def _labels(self) -> list[str]:
        return [(self.TICK if b.strong else "") + b.label for b in self._bars]

    def _small(self) -> QFont:
        return pixel_font(self.font(), self.SMALL_PX * self._scale, False)

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
            bold = QFontMetricsF(pixel_font(self.font(), px, True))
            plain = QFontMetricsF(pixel_font(self.font(), px, False))
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
        return _ChartLayout(row, top, pixel_font(self.font(), px, False), label_w, bar_x, bar_len)

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
            metrics = QFontMetricsF(pixel_font(self.font(), px, False))
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
        plain = pixel_font(self.font(), px, False)
        bold = pixel_font(self.font(), px, True)
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
