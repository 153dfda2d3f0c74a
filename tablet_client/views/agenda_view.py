"""The meeting screen: agenda tree with the current item marked, and the chosen item's
documents with their download state."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from room_protocol.messages import AgendaItem, DocumentInfo, MeetingSnapshot
from tablet_client.i18n import tr, trn
from tablet_client.views.style import (
    CURRENT_ITEM_BACKGROUND,
    agenda_tree,
    human_size,
    named,
    scaled_font,
)

ID_ROLE = Qt.ItemDataRole.UserRole


class AgendaView(QWidget):
    item_selected = Signal(str)  # agenda item id
    document_open_requested = Signal(str)  # sha256

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("agenda_view")
        self._meeting: MeetingSnapshot | None = None
        self._status: dict[str, str] = {}  # sha256 -> status line
        self._items: dict[str, QTreeWidgetItem] = {}

        self._title = named(QLabel(), "heading")
        self._title.setWordWrap(True)
        self._subtitle = named(QLabel(), "subheading")
        self._agenda_label = QLabel()
        self._agenda_label.setFont(scaled_font(self, 1.1, bold=True))
        self._tree = agenda_tree("agenda", 3)
        self._tree.setHeaderHidden(True)
        self._tree.currentItemChanged.connect(self._on_item_changed)

        self._open = named(QPushButton(), "primary")
        self._open.setEnabled(False)
        self._documents_label = QLabel()
        self._documents_label.setFont(scaled_font(self, 1.1, bold=True))
        self._documents = named(QListWidget(), "documents")
        self._documents.setWordWrap(True)
        self._documents.itemActivated.connect(self._emit_open)
        self._documents.currentItemChanged.connect(
            lambda current, _previous: self._open.setEnabled(current is not None)
        )
        self._open.clicked.connect(lambda: self._emit_open(self._documents.currentItem()))

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self._agenda_label)
        left_layout.addWidget(self._tree, 1)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self._documents_label)
        right_layout.addWidget(self._documents, 1)
        open_row = QHBoxLayout()
        open_row.addStretch(1)
        open_row.addWidget(self._open)
        right_layout.addLayout(open_row)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        layout.setSpacing(8)
        layout.addWidget(self._title)
        layout.addWidget(self._subtitle)
        layout.addWidget(splitter, 1)
        self.retranslate()

    # --- state from the controller ------------------------------------------------------

    def set_meeting(self, meeting: MeetingSnapshot | None) -> None:
        previous = self.selected_item()
        self._meeting = meeting
        self._tree.clear()
        self._items.clear()
        if meeting is None:
            self.retranslate()
            self._documents.clear()
            return

        def add(parent: QTreeWidget | QTreeWidgetItem, item: AgendaItem) -> None:
            row = QTreeWidgetItem([item.number, item.title, _minutes(item.planned_minutes)])
            row.setData(0, ID_ROLE, item.id)
            row.setData(2, ID_ROLE, item.planned_minutes)
            row.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if isinstance(parent, QTreeWidget):
                parent.addTopLevelItem(row)
            else:
                parent.addChild(row)
            self._items[item.id] = row
            for child in item.children:
                add(row, child)

        for item in meeting.agenda:
            add(self._tree, item)
        self._tree.expandAll()
        self._mark_current(meeting.current_item_id)
        self.retranslate()
        keep = previous if previous in self._items else meeting.current_item_id
        if keep is None and meeting.agenda:
            keep = meeting.agenda[0].id
        if keep is not None:
            self._tree.setCurrentItem(self._items[keep])

    def set_document_status(self, sha256: str, text: str) -> None:
        self._status[sha256] = text
        for row in range(self._documents.count()):
            entry = self._documents.item(row)
            if entry.data(ID_ROLE) == sha256:
                entry.setText(self._document_text(self._document(sha256)))

    def selected_item(self) -> str | None:
        current = self._tree.currentItem()
        return None if current is None else str(current.data(0, ID_ROLE))

    def select_item(self, item_id: str) -> None:
        if item_id in self._items:
            self._tree.setCurrentItem(self._items[item_id])

    def document_rows(self) -> list[str]:
        """The sha256 of each document listed for the selected item, in order."""
        return [str(self._documents.item(i).data(ID_ROLE)) for i in range(self._documents.count())]

    def retranslate(self) -> None:
        meeting = self._meeting
        self._agenda_label.setText(tr("agenda.title"))
        self._documents_label.setText(tr("agenda.documents"))
        self._open.setText(tr("documents.open"))
        if meeting is None:
            self._title.setText(tr("agenda.no_meeting"))
            self._subtitle.setText("")
            return
        for row in self._items.values():
            row.setText(2, _minutes(row.data(2, ID_ROLE)))
        self._title.setText(meeting.title)
        self._subtitle.setText(
            tr("agenda.meeting_line", date=meeting.date, location=meeting.location)
        )
        self._show_documents(self.selected_item())

    # --- internals ----------------------------------------------------------------------

    def _mark_current(self, current_id: str | None) -> None:
        for item_id, row in self._items.items():
            is_current = item_id == current_id
            for column in range(3):
                row.setFont(column, scaled_font(self._tree, 1.0, bold=is_current))
                row.setBackground(
                    column, QBrush(QColor(CURRENT_ITEM_BACKGROUND)) if is_current else QBrush()
                )
            row.setToolTip(1, tr("agenda.current_item") if is_current else "")

    def _on_item_changed(self, current: QTreeWidgetItem | None, _previous: object) -> None:
        item_id = None if current is None else str(current.data(0, ID_ROLE))
        self._show_documents(item_id)
        if item_id is not None:
            self.item_selected.emit(item_id)

    def _find(self, item_id: str) -> AgendaItem | None:
        if self._meeting is None:
            return None
        return next((i for _d, i in self._meeting.walk() if i.id == item_id), None)

    def _document(self, sha256: str) -> DocumentInfo | None:
        return self._meeting.document(sha256) if self._meeting else None

    def _show_documents(self, item_id: str | None) -> None:
        self._documents.clear()
        item = self._find(item_id) if item_id else None
        if item is None:
            self._documents.addItem(tr("agenda.choose_item"))
            self._documents.item(0).setFlags(Qt.ItemFlag.NoItemFlags)
            return
        if not item.documents:
            self._documents.addItem(tr("agenda.no_documents"))
            self._documents.item(0).setFlags(Qt.ItemFlag.NoItemFlags)
            return
        for sha256 in item.documents:
            entry = QListWidgetItem(self._document_text(self._document(sha256)))
            entry.setData(ID_ROLE, sha256)
            self._documents.addItem(entry)
        self._documents.setCurrentRow(0)

    def _document_text(self, doc: DocumentInfo | None) -> str:
        if doc is None:
            return "?"
        details = trn("documents.pages", doc.pages, size=human_size(doc.size))
        if doc.confidential:
            details += " · " + tr("documents.confidential")
        status = self._status.get(doc.sha256, tr("documents.waiting"))
        return f"{doc.title}\n{details}\n{status}"

    def _emit_open(self, entry: QListWidgetItem | None) -> None:
        if entry is not None and entry.data(ID_ROLE):
            self.document_open_requested.emit(str(entry.data(ID_ROLE)))


def _minutes(planned: int | None) -> str:
    return "" if planned is None else tr("agenda.duration_minutes", minutes=planned)
