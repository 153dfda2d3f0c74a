"""Annotating a page: the layer drawn over it, the tool bar, the note editor and the
annotations list. Layout and gestures only; AnnotationController decides what they mean.

The layer works in PDF points of the unrotated page (as annotations are stored): it maps
them onto the page as drawn through the page's rotation and the displayed scale, so what
it shows follows zoom and rotation, and what it reports is independent of both.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QFontMetricsF,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPolygonF,
    QTouchEvent,
    QTransform,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from room_protocol.annotations import COLOURS
from tablet_client.i18n import tr, trn
from tablet_client.views.style import named

__all__ = [
    "TOOLS",
    "AnnotationBar",
    "AnnotationLayer",
    "AnnotationListPanel",
    "LayerItem",
    "ListEntry",
    "NoteEditor",
]

TOOLS = ("read", "pen", "highlighter", "note", "eraser")
TOUCH_TARGET = 48  # logical px: the smallest button a finger hits on a 10" tablet
PIN = 28.0  # logical px: a note's pin on the page
TAP_SLOP = 12.0  # logical px a finger may move and still tap
LABEL_MAX_WIDTH = 220.0  # logical px of a note's text or an author's name on the page
HIGHLIGHT_ALPHA = 100  # of 255
SEARCH_HIT_COLOUR = QColor(255, 140, 0, 110)  # orange: not a colour annotations use
SEARCH_CURRENT_COLOUR = QColor(230, 60, 0, 140)  # the hit gone to
SHARES = (
    ("one", "chair"),
    ("one", "everyone"),
    ("one", "private"),
    ("page", "chair"),
    ("page", "everyone"),
    ("page", "private"),
)


def _heading(name: str) -> QLabel:
    """A panel's title: bold, a fifth larger than the text under it."""
    label = named(QLabel(), name)
    font = label.font()
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.2)
    label.setFont(font)
    return label


@dataclass(frozen=True, slots=True)
class LayerItem:
    """One annotation as the layer draws it (geometry in PDF points)."""

    key: tuple[str, str]  # (author id, annotation id)
    kind: str  # "ink" | "highlight" | "note"
    geometry: tuple[float, ...]
    colour: str
    width: float
    text: str = ""
    label: str = ""  # the author's name, on another member's annotation
    selected: bool = False


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One row of the annotations list."""

    key: tuple[str, str]
    sha256: str
    page: int  # zero-based
    text: str
    hideable: bool = False  # another member's: can be hidden or shown again
    hidden: bool = False


class AnnotationLayer(QWidget):
    """Draws annotations over the page and turns one-finger gestures into page points."""

    stroke_finished = Signal(object)  # tuple[float, ...]: the pen's polyline
    highlight_dragged = Signal(float, float, float, float)  # start x, y; end x, y
    highlight_moved = Signal(float, float, float, float)  # the same, while dragging
    note_placed = Signal(float, float)
    note_tapped = Signal(object)  # the key of the note's annotation
    page_tapped = Signal(float, float)  # in reading mode, anywhere else (to select)
    erase_path = Signal(object)  # tuple[float, ...]: where the eraser went
    # A touch the reader's gestures take (QTouchEvent, during its delivery): every touch in
    # reading mode, and two fingers (or what follows them) with a drawing tool.
    touch_passed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("annotation_layer")
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        self.setAttribute(Qt.WidgetAttribute.WA_NoSystemBackground)
        self._tool = "read"
        self._colour = COLOURS[0]
        self._rotation: QTransform | None = None
        self._page_size = (1.0, 1.0)  # points, as drawn (rotated)
        self._page_rect = QRectF()
        self._items: list[LayerItem] = []
        # Search hits on this page (unrotated points), and which of them was gone to.
        self._search_hits: list[tuple[float, float, float, float]] = []
        self._search_current: frozenset[int] = frozenset()
        self._gesture: list[QPointF] | None = None
        self._preview: tuple[float, ...] | None = None  # what the highlight would cover
        self._two_fingers = False  # a second finger came down: the reader pinches and pans
        self._passing = False  # this touch sequence is the reader's (reading mode)

    # setters

    def set_tool(self, tool: str, colour: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"tool must be one of {', '.join(TOOLS)}, not {tool!r}")
        self._tool, self._colour = tool, colour
        self._gesture = None
        cursor = Qt.CursorShape.ArrowCursor if tool == "read" else Qt.CursorShape.CrossCursor
        self.setCursor(cursor)
        self.update()

    def set_page(
        self,
        rotation: tuple[float, float, float, float, float, float] | None,
        size: tuple[float, float] = (1.0, 1.0),
    ) -> None:
        """The page's rotation matrix (PyMuPDF's a…f) and its size as drawn; None while
        unknown (nothing is drawn and no gesture starts)."""
        self._rotation = None if rotation is None else QTransform(*rotation)
        self._page_size = size
        self._gesture = None
        self.update()

    def set_page_rect(self, rect: QRectF) -> None:
        """Where the page's pixels are, in this widget."""
        self._page_rect = QRectF(rect)
        self.update()

    def set_items(self, items: list[LayerItem]) -> None:
        self._items = list(items)
        self.update()

    def set_search_hits(
        self, rects: list[tuple[float, float, float, float]], current: Collection[int] = ()
    ) -> None:
        """Mark search hits over the page (boxes in unrotated points); ``current``: the
        indexes of the boxes of the hit gone to, marked stronger."""
        self._search_hits = list(rects)
        self._search_current = frozenset(current)
        self.update()

    @property
    def search_hits(self) -> list[tuple[float, float, float, float]]:
        return list(self._search_hits)

    def search_hit_rects(self) -> list[QRectF]:
        """Where the search hits are drawn, in this layer's coordinates."""
        if not self.ready:
            return []
        transform = self.page_to_layer()
        return [
            transform.mapRect(QRectF(QPointF(x0, y0), QPointF(x1, y1)))
            for x0, y0, x1, y1 in self._search_hits
        ]

    # what the controller asks

    @property
    def tool(self) -> str:
        return self._tool

    @property
    def ready(self) -> bool:
        return self._rotation is not None and not self._page_rect.isEmpty()

    @property
    def items(self) -> list[LayerItem]:
        return list(self._items)

    def page_to_layer(self) -> QTransform:
        assert self._rotation is not None
        scale = self._page_rect.width() / max(self._page_size[0], 1e-6)
        return (
            self._rotation
            * QTransform.fromScale(scale, scale)
            * QTransform.fromTranslate(self._page_rect.x(), self._page_rect.y())
        )

    def to_page(self, point: QPointF) -> tuple[float, float]:
        mapped = self.page_to_layer().inverted()[0].map(point)
        return mapped.x(), mapped.y()

    def to_layer(self, x: float, y: float) -> QPointF:
        return self.page_to_layer().map(QPointF(x, y))

    def points_per_pixel(self) -> float:
        return max(self._page_size[0], 1e-6) / max(self._page_rect.width(), 1e-6)

    # gestures (mouse, pen, one finger)

    def _note_at(self, pos: QPointF) -> tuple[str, str] | None:
        if not self.ready:
            return None
        for item in reversed(self._items):
            if (
                item.kind == "note"
                and len(item.geometry) >= 2
                and self._pin_rect(item).adjusted(-6, -6, 6, 6).contains(pos)
            ):
                return item.key
        return None

    def _begin(self, pos: QPointF) -> bool:
        if self._tool in ("read", "note"):
            key = self._note_at(pos)
            if key is not None:
                self.note_tapped.emit(key)
                return True
        if self._tool == "read" and self.ready:
            self.page_tapped.emit(*self.to_page(pos))
        if self._tool == "read" or not self.ready:
            return False  # the page scrolls as without annotations
        self._gesture, self._preview = [pos], None
        self.update()
        return True

    def _move(self, pos: QPointF) -> None:
        if self._gesture is not None:
            self._gesture.append(pos)
            if self._tool == "highlighter":
                self.highlight_moved.emit(*self.to_page(self._gesture[0]), *self.to_page(pos))
            self.update()

    def set_preview(self, geometry: tuple[float, ...] | None) -> None:
        """The rectangles a highlight being dragged would cover (page points)."""
        self._preview = geometry
        self.update()

    def _end(self, pos: QPointF) -> None:
        gesture, self._gesture, self._preview = self._gesture, None, None
        if gesture is None:
            return
        if gesture[-1] != pos:
            gesture.append(pos)
        self.update()
        page = [self.to_page(p) for p in gesture]
        flat = tuple(v for point in page for v in point)
        if self._tool == "pen":
            self.stroke_finished.emit(flat)
        elif self._tool == "highlighter":
            (x0, y0), (x1, y1) = page[0], page[-1]
            self.highlight_dragged.emit(x0, y0, x1, y1)
        elif self._tool == "note":
            if (gesture[-1] - gesture[0]).manhattanLength() <= TAP_SLOP:
                self.note_placed.emit(*page[-1])
        elif self._tool == "eraser":
            self.erase_path.emit(flat)

    def cancel_gesture(self) -> None:
        self._gesture, self._preview = None, None
        self.update()

    def tap(self, pos: QPointF) -> None:
        """A finger's tap in reading mode (told by the reader's gestures): opens the note
        under it, or selects what is there."""
        key = self._note_at(pos)
        if key is not None:
            self.note_tapped.emit(key)
        elif self.ready:
            self.page_tapped.emit(*self.to_page(pos))

    @property
    def preview(self) -> tuple[float, ...] | None:
        return self._preview

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if event.button() == Qt.MouseButton.LeftButton and self._begin(event.position()):
            event.accept()
        else:
            event.ignore()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if self._gesture is None:
            event.ignore()
            return
        self._move(event.position())

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt override)
        if self._gesture is None:
            event.ignore()
            return
        self._end(event.position())

    def event(self, event: QEvent) -> bool:
        kind = event.type()
        if kind in (
            QEvent.Type.TouchBegin,
            QEvent.Type.TouchUpdate,
            QEvent.Type.TouchEnd,
            QEvent.Type.TouchCancel,
        ):
            assert isinstance(event, QTouchEvent)
            return self._touch(kind, event)
        return super().event(event)

    def _touch(self, kind: QEvent.Type, event: QTouchEvent) -> bool:
        points = event.points()
        event.accept()  # every touch on the page is handled here or by the reader's gestures
        if kind == QEvent.Type.TouchCancel:
            self._two_fingers = self._passing = False
            self.cancel_gesture()
            self.touch_passed.emit(event)
            return True
        if kind == QEvent.Type.TouchBegin:
            # Reading (or no page yet): one finger pans, swipes and taps; nothing draws.
            self._passing = self._tool == "read" or not self.ready
        if self._passing:
            if kind == QEvent.Type.TouchEnd:
                self._passing = False
            self.touch_passed.emit(event)
            return True
        if len(points) >= 2 or self._two_fingers:
            # A palm or a second finger never draws: the stroke so far is dropped, and the
            # reader pinches and pans the page with the fingers until they all lift.
            self.cancel_gesture()
            self._two_fingers = kind != QEvent.Type.TouchEnd
            self.touch_passed.emit(event)
            return True
        if not points:
            return True
        pos = points[0].position()
        if kind == QEvent.Type.TouchBegin:
            self._begin(pos)
        elif kind == QEvent.Type.TouchUpdate:
            self._move(pos)
        else:
            self._end(pos)
        return True

    # painting

    def _pin_rect(self, item: LayerItem) -> QRectF:
        at = self.to_layer(item.geometry[0], item.geometry[1])
        return QRectF(at.x() - PIN / 2, at.y() - PIN / 2, PIN, PIN)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        if not self.ready:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setClipRect(self._page_rect)
        transform = self.page_to_layer()
        scale = 1 / self.points_per_pixel()
        painter.setPen(Qt.PenStyle.NoPen)
        for index, rect in enumerate(self.search_hit_rects()):
            current = index in self._search_current
            painter.setBrush(SEARCH_CURRENT_COLOUR if current else SEARCH_HIT_COLOUR)
            painter.drawRect(rect.adjusted(-1, -1, 1, 1))
        for item in self._items:
            if item.kind == "highlight":
                self._paint_highlight(painter, transform, item)
        for item in self._items:
            if item.kind == "ink":
                self._paint_ink(painter, transform, item, scale)
        for item in self._items:
            if item.kind == "note" and len(item.geometry) >= 2:
                self._paint_note(painter, item)
        for item in self._items:
            self._paint_label(painter, transform, item)
        self._paint_gesture(painter, scale)
        painter.end()

    def _paint_highlight(self, painter: QPainter, transform: QTransform, item: LayerItem) -> None:
        colour = QColor(item.colour)
        colour.setAlpha(HIGHLIGHT_ALPHA)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        geometry = item.geometry
        for i in range(0, len(geometry) - 3, 4):
            rect = QRectF(
                QPointF(geometry[i], geometry[i + 1]), QPointF(geometry[i + 2], geometry[i + 3])
            )
            painter.drawPolygon(transform.map(QPolygonF(rect)))
        if item.selected:
            self._paint_selection(painter, transform, item)

    def _paint_ink(
        self, painter: QPainter, transform: QTransform, item: LayerItem, scale: float
    ) -> None:
        geometry = item.geometry
        if len(geometry) < 2:
            return
        path = QPainterPath(QPointF(geometry[0], geometry[1]))
        for i in range(2, len(geometry) - 1, 2):
            path.lineTo(geometry[i], geometry[i + 1])
        pen = QPen(QColor(item.colour), max(item.width * scale, 1.0))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(transform.map(path))
        if item.selected:
            self._paint_selection(painter, transform, item)

    def _paint_note(self, painter: QPainter, item: LayerItem) -> None:
        pin = self._pin_rect(item)
        painter.setPen(QPen(QColor("#3d3000") if item.selected else QColor("#5c4a00"), 2))
        painter.setBrush(QColor(item.colour))
        painter.drawRoundedRect(pin, 5, 5)
        painter.setPen(QPen(QColor("#3d3000"), 2))
        for row in range(3):  # lines of writing on the pin
            y = pin.top() + 9 + row * 5
            painter.drawLine(QPointF(pin.left() + 7, y), QPointF(pin.right() - 7, y))
        text = item.text.splitlines()[0] if item.text.strip() else ""
        if not text:
            return
        metrics = QFontMetricsF(painter.font())
        shown = metrics.elidedText(text, Qt.TextElideMode.ElideRight, LABEL_MAX_WIDTH)
        width = metrics.horizontalAdvance(shown) + 12
        left = pin.right() + 4
        if (
            left + width > self._page_rect.right()
            and pin.left() - 4 - width >= self._page_rect.left()
        ):
            left = pin.left() - 4 - width  # near the right edge: the text goes to the left
        box = QRectF(left, pin.top() + 2, width, 24)
        painter.setPen(QPen(QColor("#c9b458"), 1))
        painter.setBrush(QColor("#fff8d6"))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor("#1b1f24"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, shown)

    def _paint_label(self, painter: QPainter, transform: QTransform, item: LayerItem) -> None:
        if not item.label or len(item.geometry) < 2:
            return
        xs, ys = item.geometry[0::2], item.geometry[1::2]
        box_points = QRectF(QPointF(min(xs), min(ys)), QPointF(max(xs), max(ys)))
        corners = transform.map(QPolygonF(box_points))
        top_left = corners.boundingRect().topLeft()
        if item.kind == "note":
            top_left = self._pin_rect(item).topLeft()
        metrics = QFontMetricsF(painter.font())
        shown = metrics.elidedText(item.label, Qt.TextElideMode.ElideRight, LABEL_MAX_WIDTH)
        box = QRectF(top_left.x(), top_left.y() - 24, metrics.horizontalAdvance(shown) + 12, 22)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(32, 36, 44, 215))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, shown)

    def _paint_selection(self, painter: QPainter, transform: QTransform, item: LayerItem) -> None:
        xs, ys = item.geometry[0::2], item.geometry[1::2]
        pad = item.width if item.kind == "ink" else 2.0
        rect = QRectF(QPointF(min(xs) - pad, min(ys) - pad), QPointF(max(xs) + pad, max(ys) + pad))
        pen = QPen(QColor("#1f5fae"), 1.5, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPolygon(transform.map(QPolygonF(rect)))

    def _paint_gesture(self, painter: QPainter, scale: float) -> None:
        gesture = self._gesture
        if not gesture:
            return
        if self._tool == "pen":
            pen = QPen(QColor(self._colour), max(2.0 * scale, 1.0))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            painter.drawPolyline(QPolygonF(gesture))
        elif self._tool == "highlighter":
            colour = QColor(self._colour)
            colour.setAlpha(HIGHLIGHT_ALPHA // 2)
            painter.setPen(QPen(QColor(self._colour), 1, Qt.PenStyle.DashLine))
            painter.setBrush(QBrush(colour))
            if self._preview is None:
                painter.drawRect(QRectF(gesture[0], gesture[-1]).normalized())
                return
            transform, preview = self.page_to_layer(), self._preview
            for i in range(0, len(preview) - 3, 4):
                rect = QRectF(QPointF(*preview[i : i + 2]), QPointF(*preview[i + 2 : i + 4]))
                painter.drawPolygon(transform.map(QPolygonF(rect)))
        elif self._tool == "eraser":
            pen = QPen(QColor(90, 90, 90, 160), 16)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            painter.setPen(pen)
            painter.drawPolyline(QPolygonF(gesture))


class AnnotationBar(QFrame):
    """The annotating tools: large, touch-sized buttons under the reader's tool bar."""

    tool_chosen = Signal(str)
    colour_chosen = Signal(str)
    undo_requested = Signal()
    redo_requested = Signal()
    share_requested = Signal(str, str)  # ("one" | "page", "chair" | "everyone" | "private")
    presenter_toggled = Signal(bool)
    list_toggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("annotation_bar")
        self.setStyleSheet(
            "QFrame#annotation_bar { background: #eef1f5; border-bottom: 1px solid #cfd5dd; }"
            "QToolButton { min-height: 48px; min-width: 48px; padding: 0 10px;"
            " border-radius: 6px; }"
            "QToolButton:checked { background: #1f5fae; color: white; }"
            'QToolButton[swatch="true"] { padding: 0; border: 3px solid transparent; }'
            'QToolButton[swatch="true"]:checked { border: 3px solid #1b1f24; }'
            "QMenu::item { padding: 14px 28px; font-size: 16px; }"
        )
        self.tools: dict[str, QToolButton] = {}
        self._tool_group = QButtonGroup(self)
        for tool in TOOLS:
            button = self._button(tool, checkable=True)
            self._tool_group.addButton(button)
            button.clicked.connect(lambda _checked=False, t=tool: self.tool_chosen.emit(t))
            self.tools[tool] = button
        self.tools["read"].setChecked(True)

        self.swatches: dict[str, QToolButton] = {}
        self._colour_group = QButtonGroup(self)
        for colour in COLOURS:
            swatch = self._button(f"colour_{colour[1:]}", checkable=True)
            swatch.setProperty("swatch", True)
            swatch.setFixedSize(TOUCH_TARGET, TOUCH_TARGET)
            swatch.setStyleSheet(
                f"QToolButton {{ background: {colour}; border-radius: {TOUCH_TARGET // 2}px; }}"
            )
            swatch.setAccessibleName(colour)
            self._colour_group.addButton(swatch)
            swatch.clicked.connect(lambda _checked=False, c=colour: self.colour_chosen.emit(c))
            self.swatches[colour] = swatch

        self.undo = self._button("undo")
        self.redo = self._button("redo")
        self.undo.clicked.connect(self.undo_requested)
        self.redo.clicked.connect(self.redo_requested)
        self.share = self._button("share")
        self.share.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._share_menu = QMenu(self.share)
        self.share_actions: dict[tuple[str, str], QAction] = {}
        for scope, visibility in SHARES:
            action = self._share_menu.addAction("")
            action.triggered.connect(
                lambda _checked=False, s=scope, v=visibility: self.share_requested.emit(s, v)
            )
            self.share_actions[(scope, visibility)] = action
            if (scope, visibility) == ("one", "private"):
                self._share_menu.addSeparator()
        self.share.setMenu(self._share_menu)
        self.presenter = self._button("presenter", checkable=True)
        self.presenter.toggled.connect(self.presenter_toggled)
        self.presenter.setVisible(False)
        self.list_button = self._button("annotation_list", checkable=True)
        self.list_button.toggled.connect(self.list_toggled)
        # Where the delegate's own edits are: on this tablet only (offline, or on their way)
        # or kept by the room. Hidden until the first edit of this session.
        self.sync_label = named(QLabel(), "annotation_sync")
        self.sync_label.setStyleSheet("QLabel { color: #45505c; font-size: 13px; }")
        self.sync_label.setWordWrap(True)
        self.sync_label.setMaximumWidth(120)  # two short lines: the tools keep their room
        self.sync_label.hide()
        self._sync: tuple[int, bool] = (0, False)

        bar = QHBoxLayout(self)
        bar.setContentsMargins(8, 4, 8, 4)
        bar.setSpacing(4)
        for tool in TOOLS:
            bar.addWidget(self.tools[tool])
        bar.addSpacing(10)
        for swatch in self.swatches.values():
            bar.addWidget(swatch)
        bar.addSpacing(10)
        bar.addWidget(self.undo)
        bar.addWidget(self.redo)
        bar.addStretch(1)
        bar.addWidget(self.sync_label)
        bar.addWidget(self.presenter)
        bar.addWidget(self.share)
        bar.addWidget(self.list_button)
        self.retranslate()

    def retranslate(self) -> None:
        names = {
            "read": tr("annotate.read"),
            "pen": tr("annotate.pen"),
            "highlighter": tr("annotate.highlighter"),
            "note": tr("annotate.note"),
            "eraser": tr("annotate.eraser"),
        }
        for tool, button in self.tools.items():
            button.setText(names[tool])
        self.undo.setText(tr("annotate.undo"))
        self.redo.setText(tr("annotate.redo"))
        self.share.setText(tr("annotate.share"))
        self.presenter.setText(tr("annotate.presenter"))
        self.list_button.setText(tr("annotate.list"))
        texts = {
            ("one", "chair"): tr("annotate.share_one_chair"),
            ("one", "everyone"): tr("annotate.share_one_everyone"),
            ("one", "private"): tr("annotate.share_one_private"),
            ("page", "chair"): tr("annotate.share_page_chair"),
            ("page", "everyone"): tr("annotate.share_page_everyone"),
            ("page", "private"): tr("annotate.share_page_private"),
        }
        for key, action in self.share_actions.items():
            action.setText(texts[key])
        self.set_sync(*self._sync)

    def set_tool(self, tool: str) -> None:
        self.tools[tool].setChecked(True)

    def set_colour(self, colour: str) -> None:
        swatch = self.swatches.get(colour)
        if swatch is not None:
            swatch.setChecked(True)

    def set_history(self, can_undo: bool, can_redo: bool) -> None:
        self.undo.setEnabled(can_undo)
        self.redo.setEnabled(can_redo)

    def set_share_enabled(self, one: bool, page: bool) -> None:
        for (scope, _visibility), action in self.share_actions.items():
            action.setEnabled(one if scope == "one" else page)
        self.share.setEnabled(one or page)

    def set_sync(self, pending: int, edited: bool) -> None:
        """``pending`` own edits saved on this tablet and not yet kept by the room;
        ``edited``: the delegate edited in this session (else nothing is said)."""
        self._sync = (pending, edited)
        if pending:
            self.sync_label.setText(trn("annotate.sync_pending", pending))
            self.sync_label.setProperty("state", "pending")
        else:
            self.sync_label.setText(tr("annotate.sync_kept"))
            self.sync_label.setProperty("state", "kept")
        self.sync_label.setVisible(edited or pending > 0)

    def set_presenter_available(self, available: bool) -> None:
        self.presenter.setVisible(available)
        if not available:
            self.presenter.setChecked(False)

    def _button(self, name: str, *, checkable: bool = False) -> QToolButton:
        button = named(QToolButton(), name)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setCheckable(checkable)
        button.setAutoRaise(True)
        button.setMinimumSize(TOUCH_TARGET, TOUCH_TARGET)
        return button


class NoteEditor(QFrame):
    """A note's text, to write, change or delete (or to read, for another's note)."""

    saved = Signal(str)
    deleted = Signal()
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("note_editor")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "QFrame#note_editor { background: #fffdf2; border: 2px solid #c9b458;"
            " border-radius: 10px; }"
            "QPushButton { min-height: 48px; padding: 0 18px; }"
            "QPlainTextEdit { font-size: 17px; background: white; }"
        )
        self.heading = _heading("note_heading")
        self.text = named(QPlainTextEdit(), "note_text")
        self.error = named(QLabel(), "note_error")
        self.error.setStyleSheet("color: #b00020; font-weight: 600;")
        self.error.setWordWrap(True)
        self.error.hide()
        self.save = named(QPushButton(), "note_save")
        self.delete = named(QPushButton(), "note_delete")
        self.cancel = named(QPushButton(), "note_cancel")
        self.save.setStyleSheet("background: #1f5fae; color: white; font-weight: 600;")
        for button in (self.save, self.delete, self.cancel):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        buttons = QHBoxLayout()
        buttons.addWidget(self.delete)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel)
        buttons.addWidget(self.save)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(self.heading)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.save.clicked.connect(lambda: self.saved.emit(self.text.toPlainText()))
        self.delete.clicked.connect(self.deleted)
        self.cancel.clicked.connect(self.cancelled)
        self.hide()
        self._heading: tuple[str, dict[str, object]] = ("annotate.note_new", {})
        self.retranslate()

    def retranslate(self) -> None:
        key, arguments = self._heading
        self.heading.setText(tr(key, **arguments))
        self.save.setText(tr("annotate.save"))
        self.delete.setText(tr("annotate.delete"))
        editable = not self.text.isReadOnly()
        self.cancel.setText(tr("annotate.cancel") if editable else tr("annotate.close"))
        self.text.setPlaceholderText(tr("annotate.note_placeholder"))

    def open_note(
        self, text: str, *, heading: tuple[str, dict[str, object]], editable: bool, deletable: bool
    ) -> None:
        self._heading = heading
        self.text.setReadOnly(not editable)
        self.text.setPlainText(text)
        self.save.setVisible(editable)
        self.delete.setVisible(deletable)
        self.error.hide()
        self.retranslate()
        self.show()
        self.raise_()
        if editable:
            self.text.setFocus()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()


class AnnotationListPanel(QFrame):
    """The annotations of this document or the whole meeting, with a search in notes."""

    scope_changed = Signal(str)  # "document" | "meeting"
    search_changed = Signal(str)
    entry_chosen = Signal(object)  # ListEntry
    hide_toggled = Signal(object)  # ListEntry

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("annotation_list_panel")
        self.setFixedWidth(380)
        self.setStyleSheet(
            "QFrame#annotation_list_panel { background: #f6f7f9; border-left: 1px solid #cfd5dd; }"
            "QToolButton, QPushButton { min-height: 48px; padding: 0 12px; }"
            "QToolButton:checked { background: #1f5fae; color: white; border-radius: 6px; }"
            "QListWidget { font-size: 16px; }"
            "QListWidget::item { min-height: 48px; padding: 4px;"
            " border-bottom: 1px solid #e1e4e8; }"
            "QLineEdit { min-height: 44px; font-size: 16px; }"
        )
        self.heading = _heading("annotation_list_heading")
        self.this_document = named(QToolButton(), "scope_document")
        self.whole_meeting = named(QToolButton(), "scope_meeting")
        scope = QButtonGroup(self)
        for button, name in ((self.this_document, "document"), (self.whole_meeting, "meeting")):
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            scope.addButton(button)
            button.clicked.connect(lambda _checked=False, n=name: self.scope_changed.emit(n))
        self.this_document.setChecked(True)
        self.search = named(QLineEdit(), "annotation_search")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self.search_changed)
        self.entries = named(QListWidget(), "annotation_entries")
        self.entries.setWordWrap(True)
        self.entries.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.entries.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.entries.itemClicked.connect(self._clicked)
        self.hide_button = named(QPushButton(), "hide_shared")
        self.hide_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hide_button.setEnabled(False)
        self.hide_button.clicked.connect(self._toggle_hidden)
        self.empty = named(QLabel(), "annotation_list_empty")
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #5c6370;")
        scopes = QHBoxLayout()
        scopes.setSpacing(4)
        scopes.addWidget(self.this_document)
        scopes.addWidget(self.whole_meeting)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addWidget(self.heading)
        layout.addLayout(scopes)
        layout.addWidget(self.search)
        layout.addWidget(self.entries, 1)
        layout.addWidget(self.empty)
        layout.addWidget(self.hide_button)
        self._shown: list[ListEntry] = []
        self._chosen: ListEntry | None = None
        self.retranslate()

    def retranslate(self) -> None:
        self.heading.setText(tr("annotate.list"))
        self.this_document.setText(tr("annotate.this_document"))
        self.whole_meeting.setText(tr("annotate.whole_meeting"))
        self.search.setPlaceholderText(tr("annotate.search"))
        self._update_hide_button()

    def set_entries(self, entries: list[ListEntry], texts: list[str], empty_text: str) -> None:
        """``texts``: what each row says, in order."""
        chosen = self._chosen.key if self._chosen else None
        self._shown = list(entries)
        self.entries.clear()
        self._chosen = None
        for entry, text in zip(entries, texts, strict=True):
            item = QListWidgetItem(text)
            item.setSizeHint(QSize(0, 56))
            self.entries.addItem(item)
            if entry.key == chosen:
                self._chosen = entry
                self.entries.setCurrentItem(item)
        self.empty.setText(empty_text)
        self.empty.setVisible(not entries)
        self._update_hide_button()

    @property
    def shown(self) -> list[ListEntry]:
        return list(self._shown)

    def _clicked(self, item: QListWidgetItem) -> None:
        row = self.entries.row(item)
        if 0 <= row < len(self._shown):
            self._chosen = self._shown[row]
            self._update_hide_button()
            self.entry_chosen.emit(self._chosen)

    def _toggle_hidden(self) -> None:
        if self._chosen is not None and self._chosen.hideable:
            self.hide_toggled.emit(self._chosen)

    def _update_hide_button(self) -> None:
        chosen = self._chosen
        self.hide_button.setEnabled(chosen is not None and chosen.hideable)
        hidden = chosen is not None and chosen.hidden
        self.hide_button.setText(tr("annotate.show") if hidden else tr("annotate.hide"))
