"""The speakers tab of the chair's console: who has the floor with the countdown, the
queue and the speaking limit. Layout only: the ChairController fills it and acts on its
signals."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from tablet_client.i18n import tr
from tablet_client.views.style import console_button, named, touch_spin_box

KEY = Qt.ItemDataRole.UserRole  # the delegate id of a queue row
SPEAKING_LIMIT_MAX_S = 3600  # room_protocol.live.SetSpeakingLimit
SPEAKING_LIMIT_STEP_S = 30


class SpeakersView(QWidget):
    grant_requested = Signal()
    end_speech_requested = Signal()
    queue_move_requested = Signal(int)  # -1 up, +1 down
    limit_changed = Signal(int)  # seconds, 0: no limit

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("speakers_view")
        self.speaking_now = named(QLabel(), "speaking_now")
        self.speaking_now.setWordWrap(True)
        self.countdown = named(QLabel(), "console_countdown")
        self.set_expired(False)
        self.end_speech = console_button("end_speech")
        self.end_speech.clicked.connect(self.end_speech_requested)
        now_row = QHBoxLayout()
        now_row.addWidget(self.speaking_now, 1)
        now_row.addWidget(self.countdown)
        now_row.addWidget(self.end_speech)
        self._queue_label = QLabel()
        self.queue = named(QListWidget(), "queue")
        self.grant = console_button("grant_floor")
        self.queue_up = console_button("queue_up")
        self.queue_down = console_button("queue_down")
        self.grant.clicked.connect(self.grant_requested)
        self.queue_up.clicked.connect(lambda: self.queue_move_requested.emit(-1))
        self.queue_down.clicked.connect(lambda: self.queue_move_requested.emit(1))
        queue_row = QHBoxLayout()
        queue_row.addWidget(self.grant, 1)
        queue_row.addWidget(self.queue_up)
        queue_row.addWidget(self.queue_down)
        self.limit_label = QLabel()
        self.limit = touch_spin_box(named(QSpinBox(), "speaking_limit"))
        self.limit.setRange(0, SPEAKING_LIMIT_MAX_S)
        self.limit.setSingleStep(SPEAKING_LIMIT_STEP_S)
        self.limit.valueChanged.connect(self.limit_changed)
        limit_row = QHBoxLayout()
        limit_row.addWidget(self.limit_label, 1)
        limit_row.addWidget(self.limit)
        layout = QVBoxLayout(self)
        layout.addLayout(now_row)
        layout.addWidget(self._queue_label)
        layout.addWidget(self.queue, 1)
        layout.addLayout(queue_row)
        layout.addLayout(limit_row)

    def set_capabilities(self, *, grant: bool, end: bool, reorder: bool, limit: bool) -> None:
        """Show only what the signed-in role may do."""
        self.grant.setVisible(grant)
        self.end_speech.setVisible(end)
        self.queue_up.setVisible(reorder)
        self.queue_down.setVisible(reorder)
        self.limit.setVisible(limit)
        self.limit_label.setVisible(limit)

    def set_queue(self, entries: list[tuple[str, str]]) -> None:
        """``entries`` as (delegate id, label), in queue order; keeps the selection."""
        chosen = self.selected_queue_entry()
        self.queue.clear()
        for delegate_id, label in entries:
            row = QListWidgetItem(label)
            row.setData(KEY, delegate_id)
            self.queue.addItem(row)
            if delegate_id == chosen:
                self.queue.setCurrentItem(row)

    def selected_queue_entry(self) -> str | None:
        row = self.queue.currentItem()
        return None if row is None else str(row.data(KEY))

    def select_queue_entry(self, delegate_id: str) -> None:
        for index in range(self.queue.count()):
            if self.queue.item(index).data(KEY) == delegate_id:
                self.queue.setCurrentRow(index)

    def set_limit(self, seconds: int) -> None:
        self.limit.blockSignals(True)
        self.limit.setValue(seconds)
        self.limit.blockSignals(False)

    def set_expired(self, expired: bool) -> None:
        if self.countdown.property("expired") == expired:
            return  # restyling is not free: only when it flips
        colour = "#b00020" if expired else "#1b1f24"
        self.countdown.setStyleSheet(
            f"QLabel#console_countdown {{ color: {colour}; font-size: 26px; font-weight: 700;"
            " padding: 0 8px; }"
        )
        self.countdown.setProperty("expired", expired)

    def retranslate(self) -> None:
        self.end_speech.setText(tr("console.end_speech"))
        self._queue_label.setText(tr("console.queue"))
        self.grant.setText(tr("console.grant"))
        self.queue_up.setText(tr("console.queue_up"))
        self.queue_down.setText(tr("console.queue_down"))
        self.limit_label.setText(tr("console.speaking_limit"))
        self.limit.setSuffix(tr("console.seconds_suffix"))
        self.limit.setSpecialValueText(tr("console.no_limit"))
