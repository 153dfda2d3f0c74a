"""The document reader screen: toolbar, page area and thumbnail strip; layout, and the
touch gestures that move the page (tablet_client.page_gestures says what the fingers did).

Zoom is a factor on the fit mode's size, kept when the page turns (as in a reader app:
a delegate who zoomed into a column keeps reading at that size); "Fit width" and "Fit
page" reset it. A pinch scales the pixels on screen at once; the controller re-renders
them sharp at the new width when the fingers lift.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import (
    QEasingCurve,
    QEvent,
    QObject,
    QPoint,
    QPointF,
    QRectF,
    QSize,
    Qt,
    QVariantAnimation,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QEventPoint,
    QIcon,
    QImage,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPixmap,
    QResizeEvent,
    QTouchEvent,
)
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpacerItem,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tablet_client.i18n import tr
from tablet_client.page_gestures import (
    DoubleTap,
    Fling,
    Gesture,
    PageGestures,
    Pan,
    Pinch,
    PinchEnded,
    PinchStarted,
    Swipe,
    Tap,
)
from tablet_client.render import RenderedPage
from tablet_client.views.annotation_view import (
    AnnotationBar,
    AnnotationLayer,
    AnnotationListPanel,
    NoteEditor,
)
from tablet_client.views.elided_label import ElidedLabel
from tablet_client.views.search_view import SearchPanel

__all__ = ["MAX_ZOOM", "DocumentView", "PageScale", "to_qimage"]

THUMBNAIL_STRIP_HEIGHT = 140  # logical px
# Shorter than this (a 10" tablet in landscape, under the session bars), or in portrait,
# the reader opens without the thumbnail strip (one tap brings it): the page keeps at
# least three quarters of the screen's height.
THUMBNAILS_MIN_VIEW_HEIGHT = 760  # logical px
# Narrower than this (a 10" tablet in portrait) the page-turning buttons show only their
# arrows (their names in tooltips) so the toolbar fits the screen.
COMPACT_TOOLBAR_BELOW = 1100  # logical px
TOOLBAR_GAP = 12  # logical px between groups of the toolbar's controls (2 when compact)
TOOLBAR_SPACING = 6  # logical px between controls (2 when compact)
THUMBNAIL_ICON = QSize(100, 96)  # logical px; an A4 page shows 68 x 96, a 16:9 slide 100 x 56
PAGE_MARGIN = 8  # logical px of dark background around the page
NOTE_EDITOR_SIZE = QSize(480, 300)  # logical px
PIN_CLEARANCE = 24  # logical px kept between the note editor and the note's pin
NOTE_EDITOR_MIN_HEIGHT = 200  # logical px: a heading, three lines and the buttons
PAGE_BACKGROUND = QColor("#3c3f44")
PLACEHOLDER_PAPER = QColor("#f2f2f2")  # a page still being drawn, without a preview
PLACEHOLDER_WIDTH = 64  # px of the placeholder image, scaled to the page's size
MAX_ZOOM = 4.0  # times the fit mode's size
DOUBLE_TAP_ZOOM = 2.0
ZOOM_EPSILON = 1e-3  # a zoom this close to 1 is the fit size
COAST_S = 0.6  # a flung page slows to a stop over this long
ZOOM_KEY_STEP = 1.25  # Ctrl + and Ctrl -
TOUCH_TARGET = 48  # logical px (9 mm on a 10" tablet): the smallest control a finger hits
SCROLL_BAR_WIDTH = 24  # logical px: a scroll bar a finger can drag
READING_STRIP_HEIGHT = 24  # logical px: all that is left of the bars in full-screen reading
_TOUCH_EVENTS = frozenset(
    {
        QEvent.Type.TouchBegin,
        QEvent.Type.TouchUpdate,
        QEvent.Type.TouchEnd,
        QEvent.Type.TouchCancel,
    }
)

_NEXT_KEYS = frozenset({Qt.Key.Key_Right, Qt.Key.Key_PageDown, Qt.Key.Key_Space})
_PREVIOUS_KEYS = frozenset({Qt.Key.Key_Left, Qt.Key.Key_PageUp})
# What a confidential document's reader swallows: nothing of it leaves through the app.
_KEPT_IN = (
    QKeySequence.StandardKey.Copy,
    QKeySequence.StandardKey.Cut,
    QKeySequence.StandardKey.SelectAll,
    QKeySequence.StandardKey.Save,
    QKeySequence.StandardKey.SaveAs,
    QKeySequence.StandardKey.Print,
)


def to_qimage(page: RenderedPage, device_pixel_ratio: float = 1.0) -> QImage:
    """A QImage over the rendered page's pixels in place (Format_RGB32, as the worker drew
    them; no copy). PySide holds ``page.samples`` until Qt lets go of the pixels (the
    image's cleanup function runs when the last QImage or QPixmap sharing them is gone),
    and that view holds the renderer's page buffer: mapped, and not drawn over, while Qt
    may read it. ``.copy()`` it to keep a small one for long (thumbnails)."""
    # page.samples itself, not a new memoryview of it: the object PySide holds is the one
    # that keeps the buffer (any view made from it would too, but this is the plain one).
    image = QImage(page.samples, page.width, page.height, page.stride, QImage.Format.Format_RGB32)
    image.setDevicePixelRatio(device_pixel_ratio)
    return image


@dataclass(frozen=True, slots=True)
class PageScale:
    """How large the page is drawn: ``fit`` logical px wide at zoom 1 (the fit mode's
    size), times ``zoom``, which gestures keep within ``minimum``..``maximum``."""

    fit: float
    zoom: float = 1.0
    minimum: float = 1.0
    maximum: float = MAX_ZOOM


class PageImage(QLabel):
    """The page's pixels drawn into ``page_rect``: scaled at once while the zoom changes,
    1:1 once the controller has rendered them at that size."""

    def __init__(self) -> None:
        super().__init__()
        self.page_rect = QRectF()
        self.smooth = True  # off while fingers move: a scaled frame must be quick

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt override)
        painter = QPainter(self)
        painter.fillRect(event.rect(), PAGE_BACKGROUND)
        pixmap = self.pixmap()
        if not pixmap.isNull() and not self.page_rect.isEmpty():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.smooth)
            painter.drawPixmap(self.page_rect, pixmap, QRectF(pixmap.rect()))
        painter.end()


class DocumentView(QWidget):
    """Shows one page of a document; says what the reader asked for through signals."""

    previous_requested = Signal()
    next_requested = Signal()
    first_requested = Signal()
    last_requested = Signal()
    page_requested = Signal(int)  # zero-based page index
    fit_mode_changed = Signal(str)  # "width" | "page"
    zoom_changed = Signal(float)  # times the fit size, once a pinch or double tap ends
    back_requested = Signal()
    viewport_resized = Signal()
    thumbnails_scrolled = Signal()
    full_screen_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("document_view")
        # Kiosk tablets are touch-first: only the view takes keyboard focus, so arrow keys
        # and Space turn pages instead of scrolling or pressing a focused button.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._page: int = 0
        self._pages: int = 0
        self._fit_mode = "width"
        self._scale = PageScale(1.0)  # as the controller last said
        self._zoom = 1.0  # as on screen: differs from the controller's during a gesture
        self._image_size = (1.0, 1.0)  # logical px of the pixmap
        self._pinch_from: tuple[float, float, float] | None = None  # zoom, page fraction x, y
        self.gestures = PageGestures()
        self.clock: Callable[[], float] = time.monotonic  # seconds, for taps and swipes
        self._turned = False  # the lifted finger turned the page: it does not also coast
        self._coast = QVariantAnimation(self)
        self._coast.setDuration(round(COAST_S * 1000))
        # Out-quad starts at twice its mean speed: the page leaves the finger at its speed.
        self._coast.setEasingCurve(QEasingCurve.Type.OutQuad)
        self._coast.valueChanged.connect(self._coast_to)

        self._back = self._tool_button("back", QStyle.StandardPixmap.SP_ArrowBack)
        self._title = ElidedLabel()  # a long title ends in "…", whole in its tooltip
        self._title.setObjectName("title")
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        title_font = self._title.font()
        title_font.setBold(True)
        title_font.setPointSizeF(title_font.pointSizeF() * 1.2)
        self._title.setFont(title_font)
        self._previous = self._tool_button("previous", QStyle.StandardPixmap.SP_ArrowLeft)
        self._next = self._tool_button("next", QStyle.StandardPixmap.SP_ArrowRight)
        self._page_label = QLabel()
        self._page_label.setObjectName("page_label")
        self._page_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._fit_width = self._tool_button("fit_width", None, checkable=True)
        self._fit_page = self._tool_button("fit_page", None, checkable=True)
        self._fit_width.setChecked(True)
        self._fit_group = QButtonGroup(self)
        self._fit_group.setExclusive(True)
        self._fit_group.addButton(self._fit_width)
        self._fit_group.addButton(self._fit_page)
        self._thumbnails_toggle = self._tool_button("thumbnails", None, checkable=True)
        self._thumbnails_toggle.setChecked(True)
        self._thumbnails_chosen = False  # the reader tapped the toggle: their choice stays
        self._search_toggle = self._tool_button("search", None, checkable=True)
        self._full_screen = self._tool_button("full_screen", None)
        # A confidential document: a red mark beside the title. The page is only an image
        # (no text layer to select), and the reader has no save, print or copy action.
        self.confidential = False
        self._confidential = QLabel()
        self._confidential.setObjectName("confidential")
        self._confidential.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self._confidential.setStyleSheet(
            "QLabel#confidential { background: #b3261e; color: white; font-weight: bold; "
            "border-radius: 4px; padding: 4px 10px; }"
        )
        self._confidential.hide()

        self._gaps: list[QSpacerItem] = []
        toolbar = QFrame()
        toolbar.setObjectName("toolbar")
        toolbar.setFrameShape(QFrame.Shape.StyledPanel)
        bar = QHBoxLayout(toolbar)
        bar.setContentsMargins(8, 2, 8, 2)
        bar.setSpacing(TOOLBAR_SPACING)
        bar.addWidget(self._back)
        bar.addItem(self._gap())
        bar.addWidget(self._confidential)
        bar.addWidget(self._title, 1)
        bar.addItem(self._gap())
        bar.addWidget(self._previous)
        bar.addWidget(self._page_label)
        bar.addWidget(self._next)
        bar.addItem(self._gap())
        bar.addWidget(self._fit_width)
        bar.addWidget(self._fit_page)
        bar.addItem(self._gap())
        bar.addWidget(self._thumbnails_toggle)
        bar.addWidget(self._search_toggle)
        bar.addWidget(self._full_screen)
        self._toolbar = toolbar
        self._toolbar_layout = bar
        # The view may be narrower than the toolbar's names: it then turns compact.
        toolbar.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._compact = False

        # Tapping the page number opens this: type a page and go there.
        self._goto_bar = QFrame()
        self._goto_bar.setObjectName("goto_bar")
        self._goto_bar.setStyleSheet(
            "QFrame#goto_bar { background: #f6f7f9; border-bottom: 1px solid #cfd5dd; }"
            "QLineEdit { min-height: 48px; font-size: 18px; }"
            "QPushButton { min-height: 48px; padding: 0 16px; }"
            "QLabel#goto_error { color: #b3261e; font-size: 16px; }"
        )
        self._goto_prompt = QLabel()
        self._goto_prompt.setObjectName("goto_prompt")
        self._goto_field = QLineEdit()
        self._goto_field.setObjectName("goto_field")
        self._goto_field.setMaxLength(6)
        self._goto_field.setFixedWidth(120)
        self._goto_field.setInputMethodHints(Qt.InputMethodHint.ImhDigitsOnly)
        self._goto_field.returnPressed.connect(self._go_to_typed)
        self._goto_go = QPushButton()
        self._goto_go.setObjectName("goto_go")
        self._goto_go.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._goto_go.clicked.connect(self._go_to_typed)
        self._goto_cancel = QPushButton()
        self._goto_cancel.setObjectName("goto_cancel")
        self._goto_cancel.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._goto_cancel.clicked.connect(self.close_go_to)
        self._goto_error = QLabel()
        self._goto_error.setObjectName("goto_error")
        self._goto_error.setWordWrap(True)
        goto = QHBoxLayout(self._goto_bar)
        goto.setContentsMargins(12, 4, 12, 4)
        goto.setSpacing(8)
        goto.addWidget(self._goto_prompt)
        goto.addWidget(self._goto_field)
        goto.addWidget(self._goto_go)
        goto.addWidget(self._goto_cancel)
        goto.addWidget(self._goto_error, 1)
        self._goto_bar.hide()
        self._page_label.setCursor(Qt.CursorShape.PointingHandCursor)
        self._page_label.setMinimumHeight(TOUCH_TARGET)

        # Full-screen reading: only this strip stays, saying whom the page follows.
        self._strip = QToolButton()
        self._strip.setObjectName("reading_strip")
        self._strip.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._strip.setFixedHeight(READING_STRIP_HEIGHT)
        self._strip.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._strip.setStyleSheet(
            "QToolButton#reading_strip { background: #202124; color: #e8eaed; border: none;"
            " font-size: 14px; padding: 0 12px; }"
        )
        self._strip.clicked.connect(lambda: self.set_full_screen(False))
        self._strip.hide()
        self._follow_text = ""
        self._full = False
        self._title_text = ""
        self._annotating_shown = False  # the annotation tools, as they were before full screen

        self._image = PageImage()
        self._pixels: QImage | None = None  # what the page's pixmap was made from
        self._image.setObjectName("page_image")
        self._image.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self._image.setContextMenuPolicy(Qt.ContextMenuPolicy.NoContextMenu)
        self._image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._scroll = QScrollArea()
        self._scroll.setObjectName("page_area")
        self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._scroll.setWidgetResizable(False)
        self._scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._scroll.setWidget(self._image)
        self._scroll.setStyleSheet("QScrollArea#page_area { background: #3c3f44; }")
        self._scroll.viewport().setStyleSheet("background: #3c3f44;")
        touch_bars = (
            f"QScrollBar:vertical {{ width: {SCROLL_BAR_WIDTH}px; background: #2b2d31; }}"
            f"QScrollBar:horizontal {{ height: {SCROLL_BAR_WIDTH}px; background: #2b2d31; }}"
            "QScrollBar::handle { background: #9aa0a6; border-radius: 6px; margin: 3px;"
            f" min-height: {TOUCH_TARGET}px; min-width: {TOUCH_TARGET}px; }}"
            "QScrollBar::add-line, QScrollBar::sub-line { width: 0; height: 0; }"
        )
        self._scroll.verticalScrollBar().setStyleSheet(touch_bars)
        self._scroll.horizontalScrollBar().setStyleSheet(touch_bars)
        self._image.setStyleSheet("background: #3c3f44;")
        self._scroll.installEventFilter(self)
        # Fingers on the page area are this view's: Qt's own two-finger pan would move the
        # page a second time.
        viewport = self._scroll.viewport()
        viewport.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents)
        viewport.ungrabGesture(Qt.GestureType.PanGesture)
        viewport.installEventFilter(self)
        # Annotations are drawn over the page image, in its coordinates.
        self.annotation_layer = AnnotationLayer(self._image)
        self.annotation_bar = AnnotationBar()
        self.annotation_bar.hide()  # until the tablet has somewhere to keep annotations
        self.annotation_list = AnnotationListPanel()
        self.annotation_list.hide()
        self.annotation_bar.list_toggled.connect(self.annotation_list.setVisible)
        self.annotation_layer.touch_passed.connect(self._touch)
        self.annotation_layer.installEventFilter(self)

        # Over the page area: a page that takes long to draw says so (see show_placeholder).
        self._drawing_note = QLabel(self)
        self._drawing_note.setObjectName("still_drawing")
        self._drawing_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._drawing_note.setStyleSheet(
            "QLabel#still_drawing { background: rgba(32, 33, 36, 220); color: white; "
            "border-radius: 6px; padding: 10px 20px; }"
        )
        self._drawing_note.hide()

        self._error = QLabel()
        self._error.setObjectName("error")
        self._error.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._error.setWordWrap(True)
        self._error.setMargin(32)
        error_font = self._error.font()
        error_font.setPointSizeF(error_font.pointSizeF() * 1.3)
        self._error.setFont(error_font)

        self._stack = QStackedWidget()
        self._stack.addWidget(self._scroll)
        self._stack.addWidget(self._error)

        self._thumbnails = QListWidget()
        self._thumbnails.setObjectName("thumbnails")
        self._thumbnails.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._thumbnails.setViewMode(QListView.ViewMode.IconMode)
        self._thumbnails.setFlow(QListView.Flow.LeftToRight)
        self._thumbnails.setWrapping(False)
        self._thumbnails.setMovement(QListView.Movement.Static)
        self._thumbnails.setResizeMode(QListView.ResizeMode.Adjust)
        self._thumbnails.setUniformItemSizes(True)
        self._thumbnails.setIconSize(THUMBNAIL_ICON)
        self._thumbnails.setSpacing(4)
        self._thumbnails.setFixedHeight(THUMBNAIL_STRIP_HEIGHT)
        self._thumbnails.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._thumbnails.setHorizontalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self._thumbnails.setStyleSheet(
            "QListWidget#thumbnails { background: #2b2d31; color: #e6e6e6; border: none; }"
            "QListWidget#thumbnails::item { padding: 2px; border-radius: 4px; }"
            "QListWidget#thumbnails::item:selected { background: #2d7dd2; color: white; }"
        )
        self._placeholder = self._blank_icon()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self._strip)
        layout.addWidget(toolbar)
        layout.addWidget(self._goto_bar)
        layout.addWidget(self.annotation_bar)
        self.search_panel = SearchPanel()
        self.search_panel.hide()
        middle = QHBoxLayout()
        middle.setContentsMargins(0, 0, 0, 0)
        middle.setSpacing(0)
        middle.addWidget(self._stack, 1)
        middle.addWidget(self.annotation_list)
        middle.addWidget(self.search_panel)
        layout.addLayout(middle, 1)
        layout.addWidget(self._thumbnails)
        self.note_editor = NoteEditor(self)  # floats over the page area
        self._note_anchor: tuple[float, float] | None = None

        self._back.clicked.connect(self.back_requested)
        self._previous.clicked.connect(self.previous_requested)
        self._next.clicked.connect(self.next_requested)
        self._fit_width.clicked.connect(lambda: self.fit_mode_changed.emit("width"))
        self._fit_page.clicked.connect(lambda: self.fit_mode_changed.emit("page"))
        self._thumbnails_toggle.toggled.connect(self._show_thumbnails)
        self._thumbnails_toggle.clicked.connect(self._choose_thumbnails)
        self._search_toggle.toggled.connect(self._show_search)
        self._full_screen.clicked.connect(lambda: self.set_full_screen(True))
        self._thumbnails.itemClicked.connect(
            lambda item: self.page_requested.emit(self._thumbnails.row(item))
        )
        self._thumbnails.horizontalScrollBar().valueChanged.connect(self.thumbnails_scrolled)
        self._page_label.installEventFilter(self)  # a tap on the page number: go to a page

        self.retranslate()

    # setters

    def retranslate(self) -> None:
        self._back.setText(tr("viewer.back_to_agenda"))
        self._previous.setText(tr("viewer.previous_page"))
        self._next.setText(tr("viewer.next_page"))
        for button in (self._back, self._previous, self._next):
            button.setToolTip(button.text())  # the name, when only the arrow shows
        self._fit_width.setText(tr("viewer.fit_width"))
        self._fit_page.setText(tr("viewer.fit_page"))
        self._thumbnails_toggle.setText(tr("viewer.thumbnails"))
        self._search_toggle.setText(tr("viewer.search"))
        self._full_screen.setText(tr("viewer.full_screen"))
        self._page_label.setToolTip(tr("viewer.go_to_hint"))
        self._goto_prompt.setText(tr("viewer.go_to_prompt"))
        self._goto_go.setText(tr("viewer.go_to"))
        self._goto_cancel.setText(tr("viewer.go_to_cancel"))
        self._goto_field.setPlaceholderText(tr("viewer.go_to_placeholder", pages=self._pages))
        self._goto_error.clear()
        self.search_panel.retranslate()
        self._update_strip()
        self.annotation_bar.retranslate()
        self.annotation_list.retranslate()
        self.note_editor.retranslate()
        self._confidential.setText(tr("viewer.confidential"))
        self._confidential.setToolTip(tr("viewer.confidential_hint"))
        self._update_page_label()

    def set_confidential(self, confidential: bool) -> None:
        """Mark the document on screen as confidential (or not)."""
        self.confidential = confidential
        self._confidential.setVisible(confidential)

    def set_title(self, title: str) -> None:
        self._title_text = title
        self._title.setText(title)
        self._title.update()

    def show_page(
        self, image: QImage, scale: PageScale | None = None, *, keep_position: bool = False
    ) -> None:
        """Put a rendered page on screen at ``scale`` (None: its own size, zoom 1),
        scrolled to its top, or where it was (``keep_position``: the same page re-rendered).
        A page turned while zoomed keeps its sideways position (the column being read)."""
        self.set_drawing_note(None)
        self._show_image(image, scale, keep_position=keep_position)

    def show_placeholder(
        self,
        note: str,
        scale: PageScale,
        page_size: tuple[float, float],
        preview: QImage | None = None,
        *,
        keep_position: bool = False,
    ) -> None:
        """A page that takes long to draw: ``preview`` (a low-resolution render) or a
        blank sheet of the page's shape (``page_size`` in points) at ``scale``, with
        ``note`` over it, until ``show_page`` brings the real page."""
        if preview is None:
            width, height = page_size
            preview = QImage(
                PLACEHOLDER_WIDTH,
                max(1, round(PLACEHOLDER_WIDTH * height / max(width, 1e-6))),
                QImage.Format.Format_RGB32,
            )
            preview.fill(PLACEHOLDER_PAPER)
        self._show_image(preview, scale, keep_position=keep_position)
        self.set_drawing_note(note)

    def set_drawing_note(self, note: str | None) -> None:
        """Say over the page area that the page is still being drawn (None: hide it)."""
        if note is None:
            self._drawing_note.hide()
            return
        self._drawing_note.setText(note)
        self._drawing_note.adjustSize()
        area = self._stack.geometry()
        self._drawing_note.move(
            area.x() + (area.width() - self._drawing_note.width()) // 2, area.y() + 24
        )
        self._drawing_note.show()
        self._drawing_note.raise_()

    @property
    def drawing_note(self) -> str | None:
        """The "still drawing" note on screen, if any."""
        return self._drawing_note.text() if self._drawing_note.isVisible() else None

    def _show_image(self, image: QImage, scale: PageScale | None, *, keep_position: bool) -> None:
        self._stack.setCurrentWidget(self._scroll)
        # The pixmap shares the image's pixels, the renderer's page buffer (to_qimage),
        # and holds them itself; the image is kept too while it is shown.
        self._pixels = image
        self._image.setPixmap(QPixmap.fromImage(image))
        ratio = image.devicePixelRatio()
        self._image_size = (image.width() / ratio, image.height() / ratio)
        if self._pinch_from is None:
            self._scale = scale or PageScale(self._image_size[0])
            self._zoom = self._scale.zoom
        else:  # fingers are pinching: the new pixels take the size they ask for
            self._scale = scale or PageScale(self._image_size[0], zoom=self._zoom)
        if not keep_position:
            self._coast.stop()
        self._lay_out_page()
        if not keep_position:
            self._scroll.verticalScrollBar().setValue(0)

    def set_page_scale(self, scale: PageScale, *, to_top: bool = False) -> None:
        """Draw the page on screen at ``scale`` now (its pixels scaled until re-rendered),
        keeping what is in the middle of the page area there, or showing the page's top
        left (``to_top``: a fit mode chosen)."""
        middle = QPointF(self._scroll.viewport().rect().center())
        fraction = self._page_fraction(middle)
        self._scale = scale
        self._pinch_from = None
        self._zoom_about(scale.zoom, fraction, middle)
        if to_top:
            self._scroll.horizontalScrollBar().setValue(0)
            self._scroll.verticalScrollBar().setValue(0)

    @property
    def title(self) -> str:
        """The open document's title, whole."""
        return self._title_text

    @property
    def zoom(self) -> float:
        """Times the fit size, as on screen."""
        return self._zoom

    @property
    def coasting(self) -> bool:
        """The page still moves after a fling."""
        return self._coast.state() == QVariantAnimation.State.Running

    @property
    def page_rect(self) -> QRectF:
        """Where the page is drawn, in the page area's (viewport's) coordinates."""
        offset = QPointF(self._image.mapTo(self._scroll.viewport(), QPoint(0, 0)))
        return self._image.page_rect.translated(offset)

    @property
    def page_box(self) -> QWidget:
        """The page area with what stands in for it (an error): below the reader's bars."""
        return self._stack

    @property
    def page_area(self) -> QWidget:
        """The part of the screen the page scrolls in (where fingers move it)."""
        return self._scroll.viewport()

    def open_note_editor(
        self,
        text: str,
        *,
        heading: tuple[str, dict[str, object]],
        editable: bool,
        deletable: bool,
        at: tuple[float, float] | None = None,
    ) -> None:
        """``at``: the note's point on the page (PDF points), which the editor leaves
        uncovered."""
        self._note_anchor = at
        self.note_editor.open_note(text, heading=heading, editable=editable, deletable=deletable)
        self._place_note_editor()

    def set_annotating(self, annotating: bool) -> None:
        """Show the annotation tools (a tablet with somewhere to keep annotations)."""
        self._annotating_shown = annotating
        self.annotation_bar.setVisible(annotating and not self._full)
        if not annotating:
            self.annotation_list.hide()
            self.note_editor.hide()

    def set_page_label(self, page: int, pages: int) -> None:
        """``page`` is one-based, as readers count."""
        self._page, self._pages = page, pages
        self._update_page_label()
        self._previous.setEnabled(page > 1)
        self._next.setEnabled(page < pages)

    def set_fit_mode(self, mode: str) -> None:
        """Reflect the fit mode on the toggle buttons without emitting ``fit_mode_changed``."""
        (self._fit_page if mode == "page" else self._fit_width).setChecked(True)
        self._fit_mode = mode
        self._update_scroll_bars()

    def set_thumbnail_count(self, count: int) -> None:
        self._thumbnails.clear()
        self._thumbnails.setVisible(
            count > 0 and self._thumbnails_toggle.isChecked() and not self._full
        )
        for index in range(count):
            item = QListWidgetItem(self._placeholder, str(index + 1))
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self._thumbnails.addItem(item)

    def set_thumbnail(self, index: int, image: QImage) -> None:
        item = self._thumbnails.item(index)
        if item is not None:
            pixmap = QPixmap.fromImage(image)
            icon = QIcon(pixmap)
            icon.addPixmap(pixmap, QIcon.Mode.Selected)  # the frame marks the page, not a tint
            item.setIcon(icon)

    def set_current_thumbnail(self, index: int) -> None:
        """Highlight the page being read and bring it into the strip's view."""
        item = self._thumbnails.item(index)
        if item is None:
            return
        self._thumbnails.setCurrentItem(item)
        self._thumbnails.scrollToItem(item, QListWidget.ScrollHint.PositionAtCenter)

    def clear_page(self) -> None:
        """Nothing of the last page stays in the widget."""
        self.set_drawing_note(None)
        self._image.clear()
        self._image.update()

    def show_error(self, text: str) -> None:
        self.set_drawing_note(None)
        self._error.setText(text)
        self._stack.setCurrentWidget(self._error)

    # what the controller needs to know about the layout

    def page_area_size(self, mode: str) -> QSize:
        """Logical pixels a page may fill in ``mode`` ("width" reserves a scroll bar)."""
        area = self._scroll.contentsRect().size()
        width = area.width() - 2 * PAGE_MARGIN
        height = area.height() - 2 * PAGE_MARGIN
        if mode == "width":
            width -= SCROLL_BAR_WIDTH
        return QSize(max(width, 1), max(height, 1))

    def visible_thumbnails(self) -> range:
        """Indexes of the thumbnails the strip currently shows (empty when hidden)."""
        count = self._thumbnails.count()
        if count == 0 or not self._thumbnails.isVisible():
            return range(0)
        viewport = self._thumbnails.viewport().rect()
        y = viewport.center().y()
        first = self._thumbnails.indexAt(QPoint(viewport.left() + 4, y)).row()
        last = self._thumbnails.indexAt(QPoint(viewport.right() - 4, y)).row()
        first = 0 if first < 0 else first
        last = count - 1 if last < 0 else last
        return range(first, last + 1)

    @property
    def displayed_pixmap_size(self) -> QSize:
        """Logical size of the page's rendered pixels (empty before the first page): the
        page on screen, once rendered for the zoom shown."""
        pixmap = self._image.pixmap()
        if pixmap.isNull():
            return QSize()
        return pixmap.deviceIndependentSize().toSize()

    # events

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        key = event.key()
        if self.confidential and any(event.matches(kept) for kept in _KEPT_IN):
            event.accept()  # never reaches a parent that might copy, save or print
            return
        if key == Qt.Key.Key_Escape and self._full:
            self.set_full_screen(False)
        elif key in _NEXT_KEYS:
            self.next_requested.emit()
        elif key in _PREVIOUS_KEYS:
            self.previous_requested.emit()
        elif key == Qt.Key.Key_Home:
            self.first_requested.emit()
        elif key == Qt.Key.Key_End:
            self.last_requested.emit()
        elif event.matches(QKeySequence.StandardKey.ZoomIn):
            self._zoom_by(ZOOM_KEY_STEP)
        elif event.matches(QKeySequence.StandardKey.ZoomOut):
            self._zoom_by(1 / ZOOM_KEY_STEP)
        else:
            super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self._page_label and event.type() == QEvent.Type.MouseButtonRelease:
            self.open_go_to()
            return True
        if watched is self._scroll and event.type() == QEvent.Type.Resize:
            self.viewport_resized.emit()
            self._place_note_editor()
        if (
            watched is self.annotation_layer
            and event.type() == QEvent.Type.MouseButtonDblClick
            and self.annotation_layer.tool == "read"
        ):
            assert isinstance(event, QMouseEvent)
            # A mouse (a chair's laptop) double-clicks where a finger double-taps.
            at = self.annotation_layer.mapTo(self._scroll.viewport(), event.position())
            self.apply_gesture(DoubleTap((at.x(), at.y())))
            return True
        if watched is self._scroll.viewport() and event.type() in _TOUCH_EVENTS:
            assert isinstance(event, QTouchEvent)
            self._touch(event)  # fingers beside the page (it is narrower than the screen)
            event.accept()
            return True
        return super().eventFilter(watched, event)

    # gestures

    def _touch(self, event: QTouchEvent) -> None:
        """A touch on the page area, from the annotation layer over the page or beside it."""
        if event.type() == QEvent.Type.TouchCancel:
            self._apply_gestures(self.gestures.cancel())
            return
        if not self.gestures.active:
            self._coast.stop()  # a finger on a moving page holds it
        self._turned = False
        viewport = self._scroll.viewport()
        fingers: dict[int, tuple[float, float]] = {}
        for point in event.points():
            if point.state() != QEventPoint.State.Released:
                at = viewport.mapFromGlobal(point.globalPosition())
                fingers[point.id()] = (at.x(), at.y())
        self._apply_gestures(self.gestures.touch(fingers, self.clock()))

    def _apply_gestures(self, gestures: list[Gesture]) -> None:
        for gesture in gestures:
            self.apply_gesture(gesture)

    def apply_gesture(self, gesture: Gesture) -> None:
        """Move the page as ``gesture`` says (points in the page area's coordinates)."""
        if isinstance(gesture, Pan):
            self._scroll_by(-gesture.dx, -gesture.dy)
        elif isinstance(gesture, Fling):
            if not self._turned:
                self._coast_by(-gesture.vx * COAST_S / 2, -gesture.vy * COAST_S / 2)
        elif isinstance(gesture, PinchStarted):
            x, y = self._page_fraction(QPointF(*gesture.focal))
            self._pinch_from = (self._zoom, x, y)
            self._image.smooth = False
        elif isinstance(gesture, Pinch):
            if self._pinch_from is not None:
                zoom, x, y = self._pinch_from
                self._zoom_about(zoom * gesture.scale, (x, y), QPointF(*gesture.focal))
        elif isinstance(gesture, PinchEnded):
            self._pinch_from = None
            self._image.smooth = True
            self._image.update()
            if not math.isclose(self._zoom, self._scale.zoom):
                self.zoom_changed.emit(self._zoom)
        elif isinstance(gesture, Swipe):
            if self._zoom <= 1 + ZOOM_EPSILON:  # zoomed in, a sideways drag pans instead
                self._turned = True
                (self.next_requested if gesture.direction > 0 else self.previous_requested).emit()
        elif isinstance(gesture, Tap):
            layer = self.annotation_layer
            layer.tap(layer.mapFrom(self._scroll.viewport(), QPointF(*gesture.at)))
        elif isinstance(gesture, DoubleTap):
            at = QPointF(*gesture.at)
            zoom = DOUBLE_TAP_ZOOM if abs(self._zoom - 1) <= ZOOM_EPSILON else 1.0
            self._zoom_about(zoom, self._page_fraction(at), at)
            self.zoom_changed.emit(self._zoom)

    def _zoom_by(self, factor: float) -> None:
        zoom = min(max(self._zoom * factor, self._scale.minimum), self._scale.maximum)
        if not math.isclose(zoom, self._zoom):
            self.zoom_changed.emit(zoom)  # the controller scales about the middle

    def _page_fraction(self, at: QPointF) -> tuple[float, float]:
        """Where on the page (0..1 across and down) the page area's point ``at`` is."""
        rect = self.page_rect
        if rect.isEmpty():
            return (0.5, 0.5)
        return ((at.x() - rect.x()) / rect.width(), (at.y() - rect.y()) / rect.height())

    def _zoom_about(self, zoom: float, fraction: tuple[float, float], at: QPointF) -> None:
        """Draw the page at ``zoom`` (clamped) with its point ``fraction`` under ``at``."""
        self._coast.stop()
        self._zoom = min(max(zoom, self._scale.minimum), self._scale.maximum)
        self._lay_out_page()
        rect = self._image.page_rect
        # The page is at minus the scroll values when larger than the area (centred, and
        # not scrollable, when smaller).
        self._scroll.horizontalScrollBar().setValue(
            round(rect.x() + fraction[0] * rect.width() - at.x())
        )
        self._scroll.verticalScrollBar().setValue(
            round(rect.y() + fraction[1] * rect.height() - at.y())
        )

    def _coast_by(self, dx: float, dy: float) -> None:
        """Move the page on by (dx, dy) logical px, slowing to a stop."""
        horizontal = self._scroll.horizontalScrollBar()
        vertical = self._scroll.verticalScrollBar()
        start = QPointF(horizontal.value(), vertical.value())
        end = QPointF(
            min(max(start.x() + dx, horizontal.minimum()), horizontal.maximum()),
            min(max(start.y() + dy, vertical.minimum()), vertical.maximum()),
        )
        if (end - start).manhattanLength() < 1:
            return
        self._coast.stop()
        self._coast.setStartValue(start)
        self._coast.setEndValue(end)
        self._coast.start()

    def _coast_to(self, value: object) -> None:
        if isinstance(value, QPointF):
            self._scroll.horizontalScrollBar().setValue(round(value.x()))
            self._scroll.verticalScrollBar().setValue(round(value.y()))

    def _scroll_by(self, dx: float, dy: float) -> None:
        for bar, delta in (
            (self._scroll.horizontalScrollBar(), dx),
            (self._scroll.verticalScrollBar(), dy),
        ):
            bar.setValue(bar.value() + round(delta))

    def _lay_out_page(self) -> None:
        """Size the page image (and the annotations over it) for the zoom on screen."""
        image_width, image_height = self._image_size
        width = self._scale.fit * self._zoom
        if abs(width - image_width) < 1:  # rendered at this size: drawn 1:1, sharp
            width, height = image_width, image_height
        else:
            height = width * image_height / max(image_width, 1e-6)
        rect = QRectF(PAGE_MARGIN, PAGE_MARGIN, width, height)
        self._image.page_rect = rect
        self._image.resize(math.ceil(width) + 2 * PAGE_MARGIN, math.ceil(height) + 2 * PAGE_MARGIN)
        self.annotation_layer.setGeometry(self._image.rect())
        self.annotation_layer.set_page_rect(rect)
        self._image.update()
        self._update_scroll_bars()

    def _update_scroll_bars(self) -> None:
        zoomed = self._zoom > 1 + ZOOM_EPSILON
        off, as_needed = Qt.ScrollBarPolicy.ScrollBarAlwaysOff, Qt.ScrollBarPolicy.ScrollBarAsNeeded
        self._scroll.setHorizontalScrollBarPolicy(as_needed if zoomed else off)
        fits = self._fit_mode == "page" and not zoomed
        self._scroll.setVerticalScrollBarPolicy(off if fits else as_needed)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._set_compact(self.width() < COMPACT_TOOLBAR_BELOW)
        self._default_thumbnails()
        self._place_note_editor()
        if self._drawing_note.isVisible():
            self.set_drawing_note(self._drawing_note.text())  # keep it over the page area

    # helpers

    def _place_note_editor(self) -> None:
        if not self.note_editor.isVisible():
            return
        area = self._stack.geometry()
        width = min(NOTE_EDITOR_SIZE.width(), area.width() - 16)
        height = min(NOTE_EDITOR_SIZE.height(), area.height() - 16)
        top = area.y() + 24
        if self._note_anchor is not None and self.annotation_layer.ready:
            # Above or below the note, where there is more room: the note stays in sight.
            y = self.annotation_layer.mapTo(
                self, self.annotation_layer.to_layer(*self._note_anchor).toPoint()
            ).y()
            above = y - PIN_CLEARANCE - area.y() - 8
            below = area.bottom() - y - PIN_CLEARANCE - 8
            height = max(min(height, max(above, below)), NOTE_EDITOR_MIN_HEIGHT)
            top = y - PIN_CLEARANCE - height if above >= below else y + PIN_CLEARANCE
        self.note_editor.setGeometry(area.x() + (area.width() - width) // 2, top, width, height)
        self.note_editor.raise_()

    # go to a page

    def open_go_to(self) -> None:
        """Show the field to type a page number in (a document must be open)."""
        if self._pages <= 0:
            return
        self._goto_error.clear()
        self._goto_field.clear()
        self._goto_field.setPlaceholderText(tr("viewer.go_to_placeholder", pages=self._pages))
        self._goto_bar.show()
        self._goto_field.setFocus()

    def close_go_to(self) -> None:
        self._goto_bar.hide()
        self._goto_error.clear()
        self.setFocus()

    @property
    def go_to_error(self) -> str:
        """Why the typed page was refused ("" when it was not)."""
        return self._goto_error.text() if self._goto_bar.isVisible() else ""

    def _go_to_typed(self) -> None:
        typed = self._goto_field.text().strip()
        number = int(typed) if typed.isascii() and typed.isdigit() else None
        if number is None or not 1 <= number <= self._pages:
            self._goto_error.setText(tr("viewer.go_to_refused", text=typed, pages=self._pages))
            self._goto_field.selectAll()
            return
        self.close_go_to()
        self.page_requested.emit(number - 1)

    # full-screen reading

    def set_full_screen(self, full: bool) -> None:
        """Hide the toolbar, the annotation tools and the thumbnails (and, through
        ``full_screen_changed``, the window's bars), leaving the page and the strip."""
        if full == self._full:
            return
        self._full = full
        self._toolbar.setVisible(not full)
        if full:
            self._goto_bar.hide()
            self.annotation_bar.hide()
            self.annotation_list.hide()
            self.search_panel.hide()
        else:
            self.annotation_bar.setVisible(self._annotating_shown)
            self.search_panel.setVisible(self._search_toggle.isChecked())
        self._thumbnails.setVisible(
            not full and self._thumbnails_toggle.isChecked() and self._thumbnails.count() > 0
        )
        self._strip.setVisible(full)
        self._update_strip()
        self.full_screen_changed.emit(full)

    @property
    def full_screen(self) -> bool:
        return self._full

    def set_follow_note(self, text: str) -> None:
        """What the full-screen strip says about following ("Following the chair — page
        4" / "Reading on your own")."""
        self._follow_text = text
        self._update_strip()

    @property
    def strip_text(self) -> str:
        return self._strip.text()

    def _update_strip(self) -> None:
        note = self._follow_text or tr("viewer.reading_alone")
        self._strip.setText(f"{note}  ·  {tr('viewer.leave_full_screen')}")

    def _gap(self) -> QSpacerItem:
        gap = QSpacerItem(TOOLBAR_GAP, 0, QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Minimum)
        self._gaps.append(gap)
        return gap

    def _set_compact(self, compact: bool) -> None:
        if compact == self._compact:
            return
        self._compact = compact
        for gap in self._gaps:
            gap.changeSize(
                2 if compact else TOOLBAR_GAP,
                0,
                QSizePolicy.Policy.Fixed,
                QSizePolicy.Policy.Minimum,
            )
        self._toolbar_layout.setSpacing(2 if compact else TOOLBAR_SPACING)
        side = 4 if compact else 8
        self._toolbar_layout.setContentsMargins(side, 2, side, 2)
        self._toolbar_layout.invalidate()
        style = (
            Qt.ToolButtonStyle.ToolButtonIconOnly
            if compact
            else Qt.ToolButtonStyle.ToolButtonTextBesideIcon
        )
        for button in (self._back, self._previous, self._next):
            button.setToolButtonStyle(style)
            button.setMinimumWidth(TOUCH_TARGET if compact else 0)

    def _choose_thumbnails(self) -> None:
        self._thumbnails_chosen = True

    def _default_thumbnails(self) -> None:
        """Thumbnails by default only where they leave the page enough of the height."""
        if not self._thumbnails_chosen:
            wanted = THUMBNAILS_MIN_VIEW_HEIGHT <= self.height() <= self.width()
            if self._thumbnails_toggle.isChecked() != wanted:
                self._thumbnails_toggle.setChecked(wanted)

    def _show_thumbnails(self, shown: bool) -> None:
        self._thumbnails.setVisible(shown and not self._full and self._thumbnails.count() > 0)

    def _show_search(self, shown: bool) -> None:
        self.search_panel.setVisible(shown and not self._full)
        if shown:
            self.search_panel.field.setFocus()
        else:
            self.setFocus()

    def open_search(self) -> None:
        self._search_toggle.setChecked(True)

    def _update_page_label(self) -> None:
        text = tr("viewer.page_of", page=self._page, pages=self._pages) if self._pages else ""
        self._page_label.setText(text)

    def _tool_button(
        self, name: str, icon: QStyle.StandardPixmap | None, *, checkable: bool = False
    ) -> QToolButton:
        button = QToolButton()
        button.setObjectName(name)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        button.setCheckable(checkable)
        button.setAutoRaise(True)
        button.setMinimumHeight(TOUCH_TARGET)
        if icon is not None:
            button.setIcon(self.style().standardIcon(icon))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        return button

    def _blank_icon(self) -> QIcon:
        pixmap = QPixmap(70, THUMBNAIL_ICON.height())
        pixmap.fill(QColor("#e8e8e8"))
        return QIcon(pixmap)
