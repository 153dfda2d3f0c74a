"""The documents tab of the chair's console: the selected item's documents, to open, and a
meeting document to attach to it. Layout only: the ChairController fills it and acts on
its signals."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from tablet_client.i18n import tr
from tablet_client.views.style import console_button, named

KEY = Qt.ItemDataRole.UserRole  # the sha256 of a document row


class ItemDocumentsView(QWidget):
    open_document_requested = Signal(str)  # sha256
    attach_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("item_documents_view")
        self._item_documents_label = QLabel()
        self.item_documents = named(QListWidget(), "item_documents")
        self.item_documents.setWordWrap(True)
        self.item_documents.itemActivated.connect(self._emit_open)
        self.open_document = console_button("open_document")
        self.open_document.clicked.connect(
            lambda: self._emit_open(self.item_documents.currentItem())
        )
        self.attach_label = QLabel()
        self.attach_choice = named(QComboBox(), "attach_choice")
        self.attach_choice.setMinimumHeight(44)
        self.attach = console_button("attach_document")
        self.attach.clicked.connect(self.attach_requested)
        layout = QVBoxLayout(self)
        layout.addWidget(self._item_documents_label)
        layout.addWidget(self.item_documents, 1)
        layout.addWidget(self.open_document, 0, Qt.AlignmentFlag.AlignRight)
        layout.addSpacing(12)
        layout.addWidget(self.attach_label)
        layout.addWidget(self.attach_choice)
        layout.addWidget(self.attach, 0, Qt.AlignmentFlag.AlignRight)

    def set_item_documents(self, documents: list[tuple[str, str]]) -> None:
        self.item_documents.clear()
        for sha256, label in documents:
            row = QListWidgetItem(label)
            row.setData(KEY, sha256)
            self.item_documents.addItem(row)
        if documents:
            self.item_documents.setCurrentRow(0)
        self.open_document.setEnabled(bool(documents))

    def set_attachable(self, documents: list[tuple[str, str]]) -> None:
        chosen = self.attach_choice.currentData()
        self.attach_choice.clear()
        for sha256, title in documents:
            self.attach_choice.addItem(title, sha256)
        index = self.attach_choice.findData(chosen)
        if index >= 0:
            self.attach_choice.setCurrentIndex(index)

    def attach_sha256(self) -> str | None:
        data = self.attach_choice.currentData()
        return None if data is None else str(data)

    def retranslate(self) -> None:
        self._item_documents_label.setText(tr("console.item_documents"))
        self.open_document.setText(tr("documents.open"))
        self.attach_label.setText(tr("console.attach_label"))
        self.attach.setText(tr("console.attach"))

    def _emit_open(self, row: QListWidgetItem | None) -> None:
        if row is not None and row.data(KEY):
            self.open_document_requested.emit(str(row.data(KEY)))
