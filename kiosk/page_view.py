"""The display's presentation page: the page the chair shows, as large as the screen
allows, with the agenda item and the speaker in one small line above it.

::

    ┌ 2 · Budget ──────────────────────── Speaking: Nguyễn Văn An  2:41 ┐
    │                     ┌──────────────────┐                          │
    │                     │  the page, fit   │                          │
    │                     │  + presenter ink │                          │
    │                     └──────────────────┘                          │
    └───────────────────────────────────────────────────────────────────┘

Instead of the page, a notice: the page is loading, a confidential document is not
shown here, or the page cannot be shown. Layout and painting only: the controller hands
an image and marks in page points (:class:`kiosk.presentation.InkMark`).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QImage,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QHBoxLayout, QStackedWidget, QVBoxLayout, QWidget

from kiosk.fit_label import FitLabel
from kiosk.look import MUTED, WHITE, YELLOW, Align
from kiosk.look import frame as _frame
from kiosk.presentation import InkMark
from room_protocol.annotations import AnnotationKind

HIGHLIGHT_ALPHA = 96  # of 255: the text under a highlight stays readable
NOTE_MARKER_PX = 34  # at 1080 lines, whatever the page's scale


class PageCanvas(QWidget):
    """The rendered page centred on the dark background, with the presenter ink."""

    box_changed = Signal(QSize)  # the space a page may fill, after a resize

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("page_canvas")
        self.image = QImage()
        self.page_size = (0.0, 0.0)  # points, rotation applied
        self.marks: list[InkMark] = []
        self.scale = 1.0  # the display's scale (1.0 at 1080 lines)

    def set_page(self, image: QImage, page_width: float, page_height: float) -> None:
        self.image = image
        self.page_size = (page_width, page_height)
        self.update()

    def clear_page(self) -> None:
        self.image = QImage()
        self.marks = []
        self.update()

    def set_marks(self, marks: list[InkMark]) -> None:
        self.marks = marks
        self.update()

    def page_rect(self) -> QRectF:
        """Where the page is drawn, in this widget's pixels (fit, centred)."""
        if self.image.isNull():
            return QRectF()
        fit = min(self.width() / self.image.width(), self.height() / self.image.height(), 1.0)
        w, h = self.image.width() * fit, self.image.height() * fit  # never upscaled: stale
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def to_screen(self, x: float, y: float) -> QPointF:
        """A point of the page (points) in this widget's pixels."""
        rect = self.page_rect()
        pw, ph = self.page_size
        return QPointF(rect.x() + x * rect.width() / pw, rect.y() + y * rect.height() / ph)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.box_changed.emit(event.size())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        if self.image.isNull() or self.page_size[0] <= 0 or self.page_size[1] <= 0:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        rect = self.page_rect()
        painter.drawImage(rect, self.image)
        per_point = rect.width() / self.page_size[0]
        for mark in self.marks:
            self._draw(painter, mark, per_point)
        painter.end()

    def _draw(self, painter: QPainter, mark: InkMark, per_point: float) -> None:
        colour = QColor(mark.colour)
        if mark.kind is AnnotationKind.INK:
            path = QPainterPath(self.to_screen(*mark.points[0]))
            for x, y in mark.points[1:]:
                path.lineTo(self.to_screen(x, y))
            pen = QPen(colour, max(1.0, mark.width * per_point))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
        elif mark.kind is AnnotationKind.HIGHLIGHT:
            colour.setAlpha(HIGHLIGHT_ALPHA)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QBrush(colour))
            for i in range(0, len(mark.points), 2):
                corner, other = self.to_screen(*mark.points[i]), self.to_screen(*mark.points[i + 1])
                painter.drawRect(QRectF(corner, other).normalized())
        else:  # a note: a marker where it is pinned, its text stays on the tablets
            size = NOTE_MARKER_PX * self.scale
            at = self.to_screen(*mark.points[0])
            marker = QRectF(at.x(), at.y() - size, size, size)
            painter.setPen(QPen(QColor("#000000"), max(1.0, 2 * self.scale)))
            painter.setBrush(QBrush(colour))
            painter.drawRoundedRect(marker, size / 5, size / 5)
            inset = size / 4
            painter.setPen(QPen(QColor("#000000"), max(1.0, 2.5 * self.scale)))
            for step in (0.35, 0.55, 0.75):
                y = marker.top() + size * step
                painter.drawLine(
                    QPointF(marker.left() + inset, y), QPointF(marker.right() - inset, y)
                )


class PresentationPage(QWidget):
    """The item and speaker line, then the page (or a notice in its place)."""

    def __init__(self) -> None:
        super().__init__()
        self.item_line = FitLabel(max_px=34, min_px=22, bold=True, colour=WHITE)
        self.speaker_line = FitLabel(
            max_px=34, min_px=22, colour=MUTED, align=Align.AlignRight | Align.AlignVCenter
        )
        self.canvas = PageCanvas()
        self.notice = _frame("panel")
        self.notice_title = FitLabel(
            max_px=64, min_px=34, bold=True, max_lines=2, colour=YELLOW, align=Align.AlignCenter
        )
        self.notice_text = FitLabel(
            max_px=38, min_px=24, max_lines=3, colour=WHITE, align=Align.AlignCenter
        )
        notice = QVBoxLayout(self.notice)
        notice.addStretch(1)
        notice.addWidget(self.notice_title)
        notice.addWidget(self.notice_text)
        notice.addStretch(1)
        self._notice_layout = notice
        self.area = QStackedWidget()
        self.area.addWidget(self.canvas)
        self.area.addWidget(self.notice)
        strip = QHBoxLayout()
        strip.addWidget(self.item_line, 3)
        strip.addWidget(self.speaker_line, 2)
        self._strip = strip
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(strip)
        layout.addWidget(self.area, 1)
        self._layout = layout
        self.fit_labels = [self.item_line, self.speaker_line, self.notice_title, self.notice_text]

    def set_lines(self, item: str, speaker: str, *, no_item: bool = False) -> None:
        """``no_item``: ``item`` says there is no current item (muted, like the panel)."""
        self.item_line.setText(item)
        self.item_line.set_colour(MUTED if no_item else WHITE)
        self.speaker_line.setText(speaker)

    def show_page(self) -> None:
        self.area.setCurrentWidget(self.canvas)

    def show_notice(self, title: str, text: str, *, warning: bool) -> None:
        """A notice instead of the page (the page is cleared: never left behind it)."""
        self.canvas.clear_page()
        self.notice_title.setText(title)
        self.notice_title.set_colour(YELLOW if warning else WHITE)
        self.notice_text.setText(text)
        self.notice.setProperty("warning", warning)
        self.area.setCurrentWidget(self.notice)

    @property
    def showing_page(self) -> bool:
        return self.area.currentWidget() is self.canvas and not self.canvas.image.isNull()

    def set_scale(self, scale: float) -> None:
        def px(value: float) -> int:
            return max(1, round(value * scale))

        self.canvas.scale = scale
        for label in self.fit_labels:
            label.set_scale(scale)
        self._layout.setSpacing(px(14))
        self._strip.setSpacing(px(24))
        self._notice_layout.setContentsMargins(px(64), px(32), px(64), px(32))
        self._notice_layout.setSpacing(px(24))
