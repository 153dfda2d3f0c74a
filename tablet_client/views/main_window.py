"""The tablet's window: a connection banner, a language switch and one screen at a time."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from tablet_client.i18n import LANGUAGES, current_language, tr
from tablet_client.views.agenda_view import AgendaView
from tablet_client.views.discovery_view import DiscoveryView
from tablet_client.views.document_view import DocumentView
from tablet_client.views.style import SCREEN_STYLE, STATUS_COLOURS, named


class MainWindow(QMainWindow):
    language_requested = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("tablet_window")
        self.setStyleSheet(SCREEN_STYLE)
        self.discovery_view = DiscoveryView()
        self.agenda_view = AgendaView()
        self.document_view = DocumentView()
        self.screens = QStackedWidget()
        for screen in (self.discovery_view, self.agenda_view, self.document_view):
            self.screens.addWidget(screen)

        self.banner = named(QLabel(), "connection_banner")
        self.banner.setMargin(8)
        self._language_label = QLabel()
        self.language = named(QComboBox(), "language")
        for code in LANGUAGES:
            self.language.addItem(LANGUAGES[code][f"language.{code}"], code)
        self.language.setCurrentIndex(self.language.findData(current_language()))
        self.language.currentIndexChanged.connect(
            lambda index: self.language_requested.emit(str(self.language.itemData(index)))
        )

        top = named(QFrame(), "top_bar")
        top_layout = QHBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 12, 0)
        top_layout.addWidget(self.banner, 1)
        top_layout.addWidget(self._language_label)
        top_layout.addWidget(self.language)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(top)
        layout.addWidget(self.screens, 1)
        self.setCentralWidget(central)
        self._banner_state = ("idle", tr("connection.not_connected"))
        self.retranslate()

    def show_screen(self, screen: QWidget) -> None:
        self.screens.setCurrentWidget(screen)
        if screen is self.document_view:
            self.document_view.setFocus()

    def set_connection(self, phase: str, text: str, detail: str = "") -> None:
        """``phase`` picks the banner colour (see STATUS_COLOURS); ``text`` is shown,
        ``detail`` (the technical reason) is the banner's tooltip."""
        self.banner.setToolTip(detail)
        self._banner_state = (phase, text)
        background, foreground = STATUS_COLOURS.get(phase, STATUS_COLOURS["idle"])
        self.banner.setStyleSheet(
            f"QLabel#connection_banner {{ background: {background}; color: {foreground};"
            " font-weight: 600; font-size: 15px; }"
        )
        self.banner.setText(text)

    def connection_text(self) -> str:
        return self._banner_state[1]

    def retranslate(self) -> None:
        self.setWindowTitle(tr("app.title"))
        self._language_label.setText(tr("language.label"))
        self.language.blockSignals(True)
        self.language.setCurrentIndex(self.language.findData(current_language()))
        self.language.blockSignals(False)
        self.discovery_view.retranslate()
        self.agenda_view.retranslate()
        self.document_view.retranslate()
