"""The speaker queue over the chair's reader: a drawer at the right of the screen with
the same speakers view as the console's (who speaks, the queue, give the floor), so the
chair manages requests without leaving the document. Layout only: the ChairController
fills it as it fills the console's."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from tablet_client.i18n import tr
from tablet_client.views.speakers_view import SpeakersView
from tablet_client.views.style import console_button, named

DRAWER_WIDTH = 520  # px at most; at most DRAWER_SHARE of the screen's width
DRAWER_SHARE = 0.45


class SpeakersDrawerView(QFrame):
    close_requested = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("speakers_drawer")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.heading = named(QLabel(), "speakers_drawer_heading")
        self.close_button = console_button("speakers_drawer_close")
        self.close_button.clicked.connect(self.close_requested)
        self.speakers = SpeakersView()
        header = QHBoxLayout()
        header.addWidget(self.heading, 1)
        header.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(header)
        layout.addWidget(self.speakers, 1)
        self.setStyleSheet(
            "QFrame#speakers_drawer { background: white; border-left: 2px solid #9aa7b8; }"
            " QLabel#speakers_drawer_heading { font-size: 20px; font-weight: 700; }"
            " QLabel#speaking_now { font-size: 18px; font-weight: 600; }"
        )
        self.hide()
        self.retranslate()

    def fit(self) -> None:
        """Along the right edge of the parent, its full height."""
        parent = self.parentWidget()
        if parent is not None:
            width = min(DRAWER_WIDTH, round(parent.width() * DRAWER_SHARE))
            self.setGeometry(parent.width() - width, 0, width, parent.height())

    def open(self) -> None:
        self.fit()
        self.show()
        self.raise_()

    def retranslate(self) -> None:
        self.heading.setText(tr("reader.speakers_heading"))
        self.close_button.setText(tr("reader.speakers_close"))
        self.speakers.retranslate()
