"""The document reader screen: toolbar, page area and thumbnail strip; layout only."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QKeyEvent, QKeySequence, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tablet_client.i18n import tr
from tablet_client.render import RenderedPage
from tablet_client.views.annotation_view import (
    AnnotationBar,
    AnnotationLayer,
    AnnotationListPanel,
    NoteEditor,
)

__all__ = ["DocumentView", "to_qimage"]

THUMBNAIL_STRIP_HEIGHT = 140  # logical px
THUMBNAIL_ICON = QSize(100, 96)  # logical px; an A4 page shows 68 x 96, a 16:9 slide 100 x 56
PAGE_MARGIN = 8  # logical px of dark background around the page
NOTE_EDITOR_SIZE = QSize(480, 300)  # logical px
PIN_CLEARANCE = 24  # logical px kept between the note editor and the note's pin
NOTE_EDITOR_MIN_HEIGHT = 200  # logical px: a heading, three lines and the buttons

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
    """A QImage that owns a copy of the rendered RGB pixels."""
    image = QImage(page.samples, page.width, page.height, page.stride, QImage.Format.Format_RGB888)
    # The constructor borrows the buffer; the copy owns its pixels.
    owned = image.copy()
    owned.setDevicePixelRatio(device_pixel_ratio)
    return owned


class DocumentView(QWidget):
    """Shows one page of a document; says what the reader asked for through signals."""

    previous_requested = Signal()
    next_requested = Signal()
    first_requested = Signal()
    last_requested = Signal()
    page_requested = Signal(int)  # zero-based page index
    fit_mode_changed = Signal(str)  # "width" | "page"
    back_requested = Signal()
    viewport_resized = Signal()
    thumbnails_scrolled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("document_view")
        # Kiosk tablets are touch-first: only the view takes keyboard focus, so arrow keys
        # and Space turn pages instead of scrolling or pressing a focused button.
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._page: int = 0
        self._pages: int = 0

        self._back = self._tool_button("back", QStyle.StandardPixmap.SP_ArrowBack)
        self._title = QLabel()
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

        toolbar = QFrame()
        toolbar.setObjectName("toolbar")
        toolbar.setFrameShape(QFrame.Shape.StyledPanel)
        bar = QHBoxLayout(toolbar)
        bar.setContentsMargins(8, 4, 8, 4)
        bar.setSpacing(6)
        bar.addWidget(self._back)
        bar.addSpacing(12)
        bar.addWidget(self._confidential)
        bar.addWidget(self._title, 1)
        bar.addSpacing(12)
        bar.addWidget(self._previous)
        bar.addWidget(self._page_label)
        bar.addWidget(self._next)
        bar.addSpacing(12)
        bar.addWidget(self._fit_width)
        bar.addWidget(self._fit_page)
        bar.addSpacing(12)
        bar.addWidget(self._thumbnails_toggle)

        self._image = QLabel()
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
        self._image.setStyleSheet("background: #3c3f44;")
        self._scroll.installEventFilter(self)
        # Annotations are drawn over the page image, in its coordinates.
        self.annotation_layer = AnnotationLayer(self._image)
        self.annotation_bar = AnnotationBar()
        self.annotation_bar.hide()  # until the tablet has somewhere to keep annotations
        self.annotation_list = AnnotationListPanel()
        self.annotation_list.hide()
        self.annotation_bar.list_toggled.connect(self.annotation_list.setVisible)

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
        layout.addWidget(toolbar)
        layout.addWidget(self.annotation_bar)
        middle = QHBoxLayout()
        middle.setContentsMargins(0, 0, 0, 0)
        middle.setSpacing(0)
        middle.addWidget(self._stack, 1)
        middle.addWidget(self.annotation_list)
        layout.addLayout(middle, 1)
        layout.addWidget(self._thumbnails)
        self.note_editor = NoteEditor(self)  # floats over the page area
        self._note_anchor: tuple[float, float] | None = None

        self._back.clicked.connect(self.back_requested)
        self._previous.clicked.connect(self.previous_requested)
        self._next.clicked.connect(self.next_requested)
        self._fit_width.clicked.connect(lambda: self.fit_mode_changed.emit("width"))
        self._fit_page.clicked.connect(lambda: self.fit_mode_changed.emit("page"))
        self._thumbnails_toggle.toggled.connect(self._thumbnails.setVisible)
        self._thumbnails.itemClicked.connect(
            lambda item: self.page_requested.emit(self._thumbnails.row(item))
        )
        self._thumbnails.horizontalScrollBar().valueChanged.connect(self.thumbnails_scrolled)

        self.retranslate()

    # setters

    def retranslate(self) -> None:
        self._back.setText(tr("viewer.back_to_agenda"))
        self._previous.setText(tr("viewer.previous_page"))
        self._next.setText(tr("viewer.next_page"))
        self._fit_width.setText(tr("viewer.fit_width"))
        self._fit_page.setText(tr("viewer.fit_page"))
        self._thumbnails_toggle.setText(tr("viewer.thumbnails"))
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
        self._title.setText(title)
        self._title.setToolTip(title)

    def show_page(self, image: QImage) -> None:
        """Put a rendered page on screen, scrolled to its top."""
        self._stack.setCurrentWidget(self._scroll)
        self._image.setPixmap(QPixmap.fromImage(image))
        ratio = image.devicePixelRatio()
        width, height = round(image.width() / ratio), round(image.height() / ratio)
        self._image.resize(width + 2 * PAGE_MARGIN, height + 2 * PAGE_MARGIN)
        self.annotation_layer.setGeometry(self._image.rect())
        self.annotation_layer.set_page_rect(QRectF(PAGE_MARGIN, PAGE_MARGIN, width, height))
        self._scroll.verticalScrollBar().setValue(0)

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
        self.annotation_bar.setVisible(annotating)
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
        policy = (
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff
            if mode == "page"
            else Qt.ScrollBarPolicy.ScrollBarAsNeeded
        )
        self._scroll.setVerticalScrollBarPolicy(policy)

    def set_thumbnail_count(self, count: int) -> None:
        self._thumbnails.clear()
        self._thumbnails.setVisible(count > 0 and self._thumbnails_toggle.isChecked())
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
        self._image.clear()

    def show_error(self, text: str) -> None:
        self._error.setText(text)
        self._stack.setCurrentWidget(self._error)

    # what the controller needs to know about the layout

    def page_area_size(self, mode: str) -> QSize:
        """Logical pixels a page may fill in ``mode`` ("width" reserves a scroll bar)."""
        area = self._scroll.contentsRect().size()
        width = area.width() - 2 * PAGE_MARGIN
        height = area.height() - 2 * PAGE_MARGIN
        if mode == "width":
            width -= self._scroll.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
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
        """Logical size of the page on screen (empty before the first page)."""
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
        if key in _NEXT_KEYS:
            self.next_requested.emit()
        elif key in _PREVIOUS_KEYS:
            self.previous_requested.emit()
        elif key == Qt.Key.Key_Home:
            self.first_requested.emit()
        elif key == Qt.Key.Key_End:
            self.last_requested.emit()
        else:
            super().keyPressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if watched is self._scroll and event.type() == QEvent.Type.Resize:
            self.viewport_resized.emit()
            self._place_note_editor()
        return super().eventFilter(watched, event)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        self._place_note_editor()

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
        button.setMinimumHeight(40)  # a finger-sized target on a 10" tablet
        if icon is not None:
            button.setIcon(self.style().standardIcon(icon))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        return button

    def _blank_icon(self) -> QIcon:
        pixmap = QPixmap(70, THUMBNAIL_ICON.height())
        pixmap.fill(QColor("#e8e8e8"))
        return QIcon(pixmap)
