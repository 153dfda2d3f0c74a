"""The reader's search panel: a field, the scope (this document or the meeting's), the
hits listed with their page and line, and previous/next hit. Layout only; the
SearchController fills it and says what a tapped hit opens."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tablet_client.i18n import tr
from tablet_client.views.style import named

__all__ = ["SEARCH_PANEL_WIDTH", "SearchPanel"]

SEARCH_PANEL_WIDTH = 400  # logical px, beside the page
HIT_ROW_HEIGHT = 64  # logical px: a page number and a line of text, a finger's target


class SearchPanel(QFrame):
    """Search field, scope, hit list. Rows are opaque to the panel: ``set_rows`` takes
    each row's text and whether it is a heading (a document's name) or a hit."""

    search_requested = Signal(str, str)  # the words, the scope: "document" | "meeting"
    row_chosen = Signal(int)  # index into the rows last set
    step_requested = Signal(int)  # +1 next hit, -1 previous

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("search_panel")
        self.setFixedWidth(SEARCH_PANEL_WIDTH)
        self.setStyleSheet(
            "QFrame#search_panel { background: #f6f7f9; border-left: 1px solid #cfd5dd; }"
            "QToolButton, QPushButton { min-height: 48px; padding: 0 12px; }"
            "QToolButton:checked { background: #1f5fae; color: white; border-radius: 6px; }"
            "QListWidget { font-size: 16px; }"
            "QListWidget::item { padding: 4px; border-bottom: 1px solid #e1e4e8; color: #202124; }"
            "QListWidget::item:selected { background: #d2e3fc; color: #202124; }"
            "QLineEdit { min-height: 48px; font-size: 18px; }"
        )
        self.field = named(QLineEdit(), "search_field")
        self.field.setClearButtonEnabled(True)
        self.field.setMaxLength(200)
        self.field.returnPressed.connect(self._search)
        self.go = named(QPushButton(), "search_go")
        self.go.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.go.clicked.connect(self._search)
        self.this_document = named(QToolButton(), "search_scope_document")
        self.whole_meeting = named(QToolButton(), "search_scope_meeting")
        scope = QButtonGroup(self)
        for button in (self.this_document, self.whole_meeting):
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            scope.addButton(button)
            button.clicked.connect(self._search_if_typed)
        self.this_document.setChecked(True)
        self.status = named(QLabel(), "search_status")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #3c4043; font-size: 16px;")
        self.hits = named(QListWidget(), "search_hits")
        self.hits.setWordWrap(True)
        self.hits.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hits.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.hits.itemClicked.connect(lambda item: self.row_chosen.emit(self.hits.row(item)))
        self.previous = named(QPushButton(), "search_previous")
        self.next = named(QPushButton(), "search_next")
        for step_button, step in ((self.previous, -1), (self.next, 1)):
            step_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            step_button.setEnabled(False)
            step_button.clicked.connect(lambda _checked=False, s=step: self.step_requested.emit(s))

        query = QHBoxLayout()
        query.setSpacing(6)
        query.addWidget(self.field, 1)
        query.addWidget(self.go)
        scopes = QHBoxLayout()
        scopes.setSpacing(4)
        scopes.addWidget(self.this_document)
        scopes.addWidget(self.whole_meeting)
        steps = QHBoxLayout()
        steps.setSpacing(6)
        steps.addWidget(self.previous)
        steps.addWidget(self.next)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 10, 10, 10)
        layout.addLayout(query)
        layout.addLayout(scopes)
        layout.addWidget(self.status)
        layout.addWidget(self.hits, 1)
        layout.addLayout(steps)
        self.retranslate()

    def retranslate(self) -> None:
        self.field.setPlaceholderText(tr("search.placeholder"))
        self.go.setText(tr("search.go"))
        self.this_document.setText(tr("search.this_document"))
        self.whole_meeting.setText(tr("search.whole_meeting"))
        self.previous.setText(tr("search.previous"))
        self.next.setText(tr("search.next"))

    @property
    def scope(self) -> str:
        return "meeting" if self.whole_meeting.isChecked() else "document"

    def set_meeting_scope_available(self, available: bool) -> None:
        """Offer "All documents" only where the reader knows the meeting's documents."""
        self.whole_meeting.setVisible(available)
        if not available:
            self.this_document.setChecked(True)

    def set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def set_rows(self, rows: list[tuple[str, bool]]) -> None:
        """``rows``: (text, is a heading) in order; headings are not chosen by a tap."""
        self.hits.clear()
        for text, heading in rows:
            item = QListWidgetItem(text)
            if heading:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                item.setSizeHint(QSize(0, 48))
            else:
                item.setSizeHint(QSize(0, HIT_ROW_HEIGHT))
            self.hits.addItem(item)
        enabled = sum(1 for _text, heading in rows if not heading) > 1
        self.previous.setEnabled(enabled)
        self.next.setEnabled(enabled)

    def set_current_row(self, row: int) -> None:
        item = self.hits.item(row)
        if item is not None:
            self.hits.setCurrentItem(item)
            self.hits.scrollToItem(item)

    def _search(self) -> None:
        self.search_requested.emit(self.field.text(), self.scope)

    def _search_if_typed(self) -> None:
        if self.field.text().strip():
            self._search()
