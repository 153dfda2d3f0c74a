"""The record of a closed meeting, as the live session sees it: a build starts when the
meeting closes (``meeting_closed``) and when the server starts and finds a closed meeting
without a record; its progress goes to the chair and clerks as ``record.progress``. Once
sealed, the record is queued in the outbox at once, and the outbox's state of the upload
goes to the chair and clerks as ``record.upload``."""

from __future__ import annotations

import asyncio
import logging
import math
from pathlib import Path

from room_protocol.codec import encode
from room_protocol.live import Request
from room_protocol.records import RecordProgress, RecordState, RecordUpload, UploadState
from room_server.meeting.context import Client, Context, Handler
from room_server.record import BuildStep, RecordBuilder
from room_server.record.outbox import Outbox, OutboxError, RecordStatus, State

log = logging.getLogger(__name__)

_UPLOAD_STATES = {
    State.QUEUED: UploadState.QUEUED,
    State.UPLOADING: UploadState.UPLOADING,
    State.UPLOADED: UploadState.UPLOADED,
    State.FAILED_RETRYING: UploadState.RETRYING,
    State.NOT_CONFIGURED: UploadState.NOT_CONFIGURED,
}


def upload_message(status: RecordStatus, now: float) -> RecordUpload:
    retry = status.next_attempt_at
    return RecordUpload(
        status.meeting_id,
        _UPLOAD_STATES[status.state],
        status.files_done,
        status.files_total,
        min(status.bytes_done, status.bytes_total),
        status.bytes_total,
        status.attempts,
        (status.last_error or "")[:500],
        0 if retry is None else max(0, math.ceil(retry - now)),
    )


class RecordsWord:
    def __init__(
        self,
        ctx: Context,
        state_dir: Path,
        steps: tuple[BuildStep, ...],
        outbox: Outbox | None = None,
    ) -> None:
        self.ctx = ctx
        self.handlers: dict[type[Request], Handler] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.builder = RecordBuilder(ctx.store.path, state_dir, self._from_thread, steps=steps)
        self.outbox = outbox
        self.uploads: dict[str, RecordStatus] = {}  # by meeting: the last state sent
        self._stop_listening = outbox.on_change(self._upload_changed) if outbox else None
        ctx.hooks.meeting_closed.append(self.closed)
        ctx.hooks.signed_in.append(self.welcome)

    def closed(self, meeting_id: str) -> None:
        self._loop = asyncio.get_running_loop()
        self.builder.build(meeting_id)

    def welcome(self, client: Client) -> None:
        """A chair or clerk signing in sees the last state of the current meeting's record
        and of its upload."""
        if not client.presiding or self.ctx.snapshot is None:
            return
        meeting_id = self.ctx.snapshot.meeting_id
        latest = self.builder.latest.get(meeting_id)
        if latest is not None:
            self.ctx.send([client], encode(latest))
        upload = self.uploads.get(meeting_id)
        if upload is None and self.outbox is not None and self.builder.has_record(meeting_id):
            upload = next((s for s in self.outbox.status() if s.meeting_id == meeting_id), None)
        if upload is not None:
            self.ctx.send([client], encode(upload_message(upload, self.ctx.clock())))

    def _from_thread(self, progress: RecordProgress) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._send, progress)

    def _send(self, progress: RecordProgress) -> None:
        self.ctx.broadcast(self.ctx.presiding(), encode(progress), "record.progress")
        if progress.state is RecordState.SEALED and self.outbox is not None:
            try:
                self.outbox.enqueue(progress.meeting_id)
            except (OutboxError, OSError) as exc:  # the outbox's own scan queues it later
                log.error("the record of %s is not queued yet: %s", progress.meeting_id, exc)

    def _upload_changed(self, status: RecordStatus) -> None:
        self.uploads[status.meeting_id] = status
        message = upload_message(status, self.ctx.clock())
        self.ctx.broadcast(self.ctx.presiding(), encode(message), "record.upload")

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.builder.resume(self.ctx.store.closed_meetings())

    def stop(self) -> None:
        self.builder.stop()
        if self._stop_listening is not None:
            self._stop_listening()
            self._stop_listening = None
