"""The full-screen lock: either the chair locked every screen (nothing to do but wait),
or this tablet locked itself after inactivity and opens with the PIN. It names the
member signed in, and says when a vote is open (unlocking then goes to the ballot)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout, QWidget

from tablet_client.i18n import tr
from tablet_client.views.pin_pad import PinPad
from tablet_client.views.style import named


class LockView(QFrame):
    unlock_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("lock_view")
        self.setAutoFillBackground(True)
        self.title = named(QLabel(), "lock_title")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.detail = named(QLabel(), "lock_detail")
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        # The room's latest announcement stays readable on a locked screen.
        self.announcement = named(QLabel(), "lock_announcement")
        self.announcement.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.announcement.setWordWrap(True)
        self.announcement.setMargin(16)
        self.announcement.hide()
        self.member = named(QLabel(), "lock_member")
        self.member.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.member.setWordWrap(True)
        self.member.hide()
        self.vote = named(QLabel(), "lock_vote")
        self.vote.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.vote.setWordWrap(True)
        self.vote.hide()
        self._member_name = ""
        self._vote_title = ""
        self.pin_pad = PinPad()
        self.unlock = named(QPushButton(), "primary")
        self.unlock.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.unlock.setMinimumHeight(64)
        self.unlock.clicked.connect(self.unlock_requested)
        self.error = named(QLabel(), "lock_error")
        self.error.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error.setWordWrap(True)
        self._pin_box = QWidget()
        self._pin_box.setMinimumWidth(400)
        pin_layout = QVBoxLayout(self._pin_box)
        pin_layout.setContentsMargins(0, 0, 0, 0)
        pin_layout.setSpacing(12)
        pin_layout.addWidget(self.pin_pad)
        pin_layout.addWidget(self.unlock)
        pin_layout.addWidget(self.error)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 24, 48, 24)
        layout.setSpacing(10)
        layout.addStretch(1)
        layout.addWidget(self.vote)  # the whole width: it cannot be missed
        layout.addWidget(self.title)
        layout.addWidget(self.member)
        layout.addWidget(self.detail)
        layout.addWidget(self.announcement)
        layout.addSpacing(12)
        layout.addWidget(self._pin_box, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        self.setStyleSheet(
            "QFrame#lock_view { background: #15202e; }"
            " QLabel#lock_title { color: white; font-size: 34px; font-weight: 700; }"
            " QLabel#lock_detail { color: #c9d3e0; font-size: 19px; }"
            " QLabel#lock_member { color: white; font-size: 22px; font-weight: 600; }"
            " QLabel#lock_vote { background: #7a1f5c; color: white; font-size: 22px;"
            " font-weight: 700; border: 3px solid #f2b8dc; border-radius: 10px;"
            " padding: 14px 24px; }"
            " QLabel#lock_error { color: #ffb4b4; font-size: 17px; font-weight: 600; }"
            " QLabel#lock_announcement { background: #1f5fae; color: white; font-size: 20px;"
            " font-weight: 600; border-radius: 10px; }"
            " QLabel#pin_display { color: white; }"
            " QPushButton#pin_key { background: #2a3a50; color: white; border-radius: 8px; }"
            " QPushButton#primary { min-height: 60px; font-size: 19px; }"
        )
        self._mode = ""
        self.hide()

    def show_chair_lock(self) -> None:
        self._mode = "chair"
        self._pin_box.hide()
        self._show()

    def show_pin_lock(self) -> None:
        self._mode = "pin"
        self._pin_box.show()
        self._show()

    def mode(self) -> str:
        """ "chair", "pin" or "" (not shown)."""
        return self._mode if self.isVisible() else ""

    def set_announcement(self, text: str) -> None:
        """The room's standing announcement ("": none)."""
        self.announcement.setText(text)
        self.announcement.setVisible(bool(text))

    def set_member(self, name: str) -> None:
        """Who is signed in at this tablet ("": nobody, the line is hidden)."""
        self._member_name = name
        self._show_words()

    def set_vote(self, title: str) -> None:
        """The open poll this member has still to vote in ("": none, hidden)."""
        self._vote_title = title
        self._show_words()

    def set_error(self, text: str) -> None:
        self.error.setText(text)

    def retranslate(self) -> None:
        if self._mode == "chair":
            self.title.setText(tr("lock.by_chair"))
            self.detail.setText(tr("lock.by_chair_detail"))
        else:
            self.title.setText(tr("lock.inactive"))
            self.detail.setText(tr("lock.inactive_detail"))
        self.unlock.setText(tr("lock.unlock"))
        self.pin_pad.retranslate()
        self._show_words()

    def _show_words(self) -> None:
        name, title = self._member_name, self._vote_title
        self.member.setText(tr("lock.signed_in_as", name=name) if name else "")
        self.member.setVisible(bool(name))
        key = "lock.vote_open_chair" if self._mode == "chair" else "lock.vote_open"
        self.vote.setText(tr(key, title=title) if title else "")
        self.vote.setVisible(bool(title))

    def _show(self) -> None:
        self.retranslate()
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.show()
        self.raise_()
