"""A poll's result: the outcome in words, a bar per option with its votes, the figures
the decision rests on and, for a named poll, how each member voted. Layout only: the
controllers put the words in."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QFrame,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tablet_client.views.style import named

OUTCOME_COLOURS = {  # outcome kind -> (background, text)
    "good": ("#e3f4e8", "#0f4d21"),  # adopted, decided
    "bad": ("#fde7e9", "#8c0016"),  # rejected
    "none": ("#eceff3", "#333a44"),  # no decision
    "wait": ("#fff1c2", "#5c4500"),  # a tie waiting for the chair
    "inquorate": ("#ffd7a8", "#5a2a00"),  # opened without quorum: said as loud as the result
}
BAR_COLOUR = "#6b8fc7"
NAMED_MAX_HEIGHT = 420  # px
WINNER_COLOUR = "#1e7b34"
MUTED_COLOUR = "#b8bec7"


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: int
    text: str  # what is written after the bar ("12 · 60 %")
    winner: bool = False
    muted: bool = False  # not a vote cast (abstentions, where they do not count)


class BarChart(QWidget):
    """Horizontal bars, one row per option: its label, the bar, the votes."""

    ROW = 40  # px per option: a finger can point at it, a room can read it

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("results_chart")
        self.bars: list[Bar] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_bars(self, bars: list[Bar]) -> None:
        self.bars = bars
        self.setFixedHeight(max(1, len(bars)) * self.ROW + 8)
        self.update()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(420, max(1, len(self.bars)) * self.ROW + 8)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        if not self.bars:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        font.setPixelSize(16)
        bold = QFont(font)
        bold.setBold(True)
        bold_metrics = QFontMetrics(bold)
        width = self.width()
        label_width = min(
            int(width * 0.4), max(bold_metrics.horizontalAdvance(b.label) for b in self.bars) + 12
        )
        text_width = max(bold_metrics.horizontalAdvance(b.text) for b in self.bars) + 16
        bar_left, bar_right = label_width, width - text_width
        top = max(b.value for b in self.bars) or 1
        for row, bar in enumerate(self.bars):
            y = 4 + row * self.ROW
            painter.setFont(bold if bar.winner else font)
            painter.setPen(QColor("#1b1f24"))
            label = QFontMetrics(painter.font()).elidedText(
                bar.label, Qt.TextElideMode.ElideRight, label_width - 12
            )
            painter.drawText(
                QRectF(0, y, label_width - 12, self.ROW - 8),
                int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                label,
            )
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#e6e9ee"))
            track = QRectF(bar_left, y + 4, max(0, bar_right - bar_left), self.ROW - 16)
            painter.drawRoundedRect(track, 4, 4)
            if bar.value > 0:
                colour = WINNER_COLOUR if bar.winner else MUTED_COLOUR if bar.muted else BAR_COLOUR
                painter.setBrush(QColor(colour))
                filled = QRectF(track)
                filled.setWidth(max(4.0, track.width() * bar.value / top))
                painter.drawRoundedRect(filled, 4, 4)
            painter.setPen(QColor("#1b1f24"))
            painter.drawText(
                QRectF(bar_right + 10, y, text_width, self.ROW - 8),
                int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
                bar.text,
            )
        painter.end()


class ResultsView(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("results_view")
        self.title = named(QLabel(), "results_title")
        self.title.setWordWrap(True)
        self.outcome = named(QLabel(), "results_outcome")
        self.outcome.setWordWrap(True)
        self.chart = BarChart()
        self.figures = named(QLabel(), "results_figures")
        self.figures.setWordWrap(True)
        self.decided_by = named(QLabel(), "results_decided_by")
        self.decided_by.setWordWrap(True)
        self.named_heading = named(QLabel(), "results_named_heading")
        self.named = named(QTreeWidget(), "results_named")
        self.named.setColumnCount(3)
        self.named.setRootIsDecorated(False)
        self.named.setUniformRowHeights(True)
        self.named.setSelectionMode(QTreeWidget.SelectionMode.NoSelection)
        head = self.named.header()
        head.setStretchLastSection(True)
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(self.title)
        layout.addWidget(self.outcome)
        layout.addWidget(self.chart)
        layout.addWidget(self.figures)
        layout.addWidget(self.decided_by)
        layout.addWidget(self.named_heading)
        layout.addWidget(self.named, 1)
        self.setStyleSheet(
            "QLabel#results_title { font-size: 19px; font-weight: 600; }"
            " QLabel#results_figures { color: #333a44; }"
            " QLabel#results_decided_by { font-weight: 600; }"
            " QLabel#results_named_heading { font-size: 16px; font-weight: 600; }"
            " QTreeWidget#results_named::item { padding-right: 18px; }"
        )

    def show_result(
        self,
        *,
        title: str,
        outcome: str,
        kind: str,
        bars: list[Bar],
        figures: str,
        decided_by: str,
        named_heading: str = "",
        columns: tuple[str, str, str] = ("", "", ""),
        named_rows: list[tuple[str, str, str]] | None = None,
    ) -> None:
        """``kind`` colours the outcome (see OUTCOME_COLOURS); ``named_rows`` (member,
        vote, note) is None for a secret poll."""
        self.title.setText(title)
        self.title.setVisible(bool(title))
        background, foreground = OUTCOME_COLOURS[kind]
        self.outcome.setText(outcome)
        self.outcome.setProperty("kind", kind)
        self.outcome.setStyleSheet(
            f"QLabel#results_outcome {{ background: {background}; color: {foreground};"
            " font-size: 22px; font-weight: 700; border-radius: 6px; padding: 8px 12px; }"
        )
        self.chart.set_bars(bars)
        self.figures.setText(figures)
        self.decided_by.setText(decided_by)
        self.decided_by.setVisible(bool(decided_by))
        shown = named_rows is not None
        self.named_heading.setText(named_heading)
        self.named_heading.setVisible(shown)
        self.named.setVisible(shown)
        self.named.clear()
        self.named.setHeaderLabels(list(columns))
        for member, vote, note in named_rows or []:
            self.named.addTopLevelItem(QTreeWidgetItem([member, vote, note]))
        # As tall as its rows (up to a screenful); a long roll call scrolls.
        rows = max(1, len(named_rows or []))
        row_height = self.named.sizeHintForRow(0) if named_rows else 40
        header = self.named.header().sizeHint().height()
        self.named.setFixedHeight(min(NAMED_MAX_HEIGHT, header + rows * row_height + 6))

    def named_votes(self) -> list[tuple[str, str, str]]:
        rows = []
        for index in range(self.named.topLevelItemCount()):
            row = self.named.topLevelItem(index)
            assert row is not None
            rows.append((row.text(0), row.text(1), row.text(2)))
        return rows
