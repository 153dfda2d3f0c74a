"""A label for a wall screen: text as large as fits, never clipped mid-glyph.

The text is drawn at ``max_px`` when it fits in the label's width and ``max_lines``
(and, with ``max_block``, in that many lines' height at ``max_px``), smaller (down to
``min_px``) when it does not, and elided with "…" when even the smallest size is too
big: a long agenda title or name never pushes the layout around. A ``tight`` label (a
countdown) is fitted on the ink of its digits rather than on the line spacing.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPaintEvent,
    QTextLayout,
    QTextOption,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

_STEP = 0.94  # shrink by 6% a step: about a dozen tries from 240 px down to 96 px
_ELLIPSIS = "…"
_DIGITS = "0123456789"  # a tight label is fitted on these: its size holds as digits change
_TIGHT_AIR = 1.2  # ... with a tenth of their height free above and below


def wrap(text: str, font: QFont, width: float) -> list[str]:
    """``text`` broken into lines of at most ``width`` (a word longer than the width
    gets a line of its own, wider than ``width``)."""
    layout = QTextLayout(text, font)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WordWrap)
    layout.setTextOption(option)
    lines: list[str] = []
    layout.beginLayout()
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(width)
        lines.append(text[line.textStart() : line.textStart() + line.textLength()].strip())
    layout.endLayout()
    return [line for line in lines if line] or [""]


class FitLabel(QWidget):
    def __init__(
        self,
        text: str = "",
        *,
        max_px: int,
        min_px: int,
        bold: bool = False,
        max_lines: int = 1,
        max_block: float | None = None,
        tight: bool = False,
        align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft,
        colour: str = "#ffffff",
        name: str = "",
    ) -> None:
        super().__init__()
        if name:
            self.setObjectName(name)
        self._text = text
        self._base = (max_px, min_px)
        self._scale = 1.0
        self._bold = bold
        self._max_lines = max_lines
        self._max_block = max_block  # the text's height, in lines of the largest size
        self._tight = tight  # one line of digits: fit their ink, not the line spacing
        self._align = align
        self._colour = QColor(colour)
        self._fitted: tuple[tuple[str, float, float, float], tuple[QFont, list[str]]] | None = None
        self._elided = False
        # One line: exactly one line high at the largest size. Several: heightForWidth.
        vertical = QSizePolicy.Policy.Fixed if max_lines == 1 else QSizePolicy.Policy.Preferred
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, vertical)
        policy.setHeightForWidth(max_lines > 1)
        self.setSizePolicy(policy)

    # --- what to show -----------------------------------------------------------------

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802  Qt naming, like QLabel
        if text != self._text:
            self._text = text
            self._changed()

    def colour(self) -> str:
        return str(self._colour.name())

    def set_colour(self, colour: str) -> None:
        if QColor(colour) != self._colour:
            self._colour = QColor(colour)
            self.update()

    def set_sizes(self, max_px: int, min_px: int, *, bold: bool | None = None) -> None:
        if bold is not None:
            self._bold = bold
        if (max_px, min_px) != self._base:
            self._base = (max_px, min_px)
            self._changed()
        elif bold is not None:
            self._changed()

    def set_scale(self, scale: float) -> None:
        if scale != self._scale:
            self._scale = scale
            self._changed()

    def _changed(self) -> None:
        self._fitted = None
        self.updateGeometry()
        self.update()

    # --- fitting ----------------------------------------------------------------------

    def font_px(self, which: int) -> int:
        return max(6, round(self._base[which] * self._scale))

    def _font(self, px: float) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(max(6, round(px)))
        font.setBold(self._bold)
        return font

    def fitted_font(self) -> QFont:
        """The font the text is drawn with at the current size."""
        return self._fit(self.width(), self.height())[0]

    def _fit(self, width: float, height: float) -> tuple[QFont, list[str]]:
        key = (self._text, width, height, self._scale)
        if self._fitted is not None and self._fitted[0] == key:
            return self._fitted[1]
        font, lines, fits = self._largest(width, height)
        self._elided = not fits
        if not fits:
            lines = self._elide(lines, QFontMetricsF(font), width, height)
        result = (font, lines)
        self._fitted = (key, result)
        return result

    def _largest(self, width: float, height: float) -> tuple[QFont, list[str], bool]:
        """The largest font (not below ``min_px``) the text fits in: font, lines, fits."""
        px: float = self.font_px(0)
        smallest = self.font_px(1)
        if self._max_block is not None:
            budget = self._max_block * QFontMetricsF(self._font(px)).lineSpacing()
            height = min(height, budget)
        while True:
            font = self._font(px)
            metrics = QFontMetricsF(font)
            lines = wrap(self._text, font, width)
            fits = (
                len(lines) <= self._max_lines
                and len(lines) * self._line_height(metrics) <= height + 0.5
                and all(metrics.horizontalAdvance(line) <= width for line in lines)
            )
            if fits or px <= smallest:
                return font, lines, fits
            px = max(smallest, px * _STEP)

    def _line_height(self, metrics: QFontMetricsF) -> float:
        if self._tight:
            return metrics.tightBoundingRect(_DIGITS).height() * _TIGHT_AIR
        return metrics.lineSpacing()

    def _elide(
        self, lines: list[str], metrics: QFontMetricsF, width: float, height: float
    ) -> list[str]:
        room = max(1, min(self._max_lines, int((height + 0.5) // metrics.lineSpacing())))
        kept = lines[: room - 1]
        rest = " ".join(lines[room - 1 :])
        last = metrics.elidedText(rest, Qt.TextElideMode.ElideRight, width)
        if last != rest and not last.endswith(_ELLIPSIS):
            last += _ELLIPSIS
        return [*kept, last]

    # --- Qt -------------------------------------------------------------------------------

    def sizeHint(self) -> QSize:  # noqa: N802
        metrics = QFontMetricsF(self._font(self.font_px(0)))
        width = metrics.horizontalAdvance(self._text) if self._max_lines == 1 else 200
        return QSize(min(round(width) + 2, 400), self._lines_height(self.font_px(0), 1))

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(40, self._lines_height(self.font_px(1), 1))

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return self._max_lines > 1

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        """The height of the text at the size it fits ``width`` with, no more lines than
        ``max_lines``: a long title takes two lines, a short one one."""
        font, lines, _fits = self._largest(width, float("inf"))
        count = min(self._max_lines, len(lines))
        return round(QFontMetricsF(font).lineSpacing() * count + 1)

    def _lines_height(self, px: int, lines: int) -> int:
        return round(QFontMetricsF(self._font(px)).lineSpacing() * lines + 1)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        if not self._text:
            return
        font, lines = self._fit(self.width(), self.height())
        metrics = QFontMetricsF(font)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.setFont(font)
        painter.setPen(self._colour)
        block = len(lines) * self._line_height(metrics)
        # from the top of a line to its baseline
        if self._tight:
            ink = metrics.tightBoundingRect(_DIGITS)
            ascent = -ink.top() + ink.height() * (_TIGHT_AIR - 1) / 2
        else:
            ascent = metrics.ascent()
        if self._align & Qt.AlignmentFlag.AlignVCenter:
            top = (self.height() - block) / 2
        elif self._align & Qt.AlignmentFlag.AlignBottom:
            top = self.height() - block
        else:
            top = 0.0
        for index, line in enumerate(lines):
            advance = metrics.horizontalAdvance(line)
            if self._align & Qt.AlignmentFlag.AlignHCenter:
                left = (self.width() - advance) / 2
            elif self._align & Qt.AlignmentFlag.AlignRight:
                left = self.width() - advance
            else:
                left = 0.0
            baseline = top + index * self._line_height(metrics) + ascent
            painter.drawText(QPointF(left, baseline), line)
        painter.end()

    def elided(self) -> bool:
        """Whether the text did not fit even at the smallest size and was cut short."""
        self._fit(self.width(), self.height())
        return self._elided
