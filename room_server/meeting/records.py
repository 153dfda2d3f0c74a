"""The record of a closed meeting, as the live session sees it: a build starts when the
meeting closes (``meeting_closed``) and when the server starts and finds a closed meeting
without a record; its progress goes to the chair and clerks as ``record.progress``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from room_protocol.codec import encode
from room_protocol.live import Request
from room_protocol.records import RecordProgress
from room_server.meeting.context import Client, Context, Handler
from room_server.record import BuildStep, RecordBuilder


class RecordsWord:
    def __init__(self, ctx: Context, state_dir: Path, steps: tuple[BuildStep, ...]) -> None:
        self.ctx = ctx
        self.handlers: dict[type[Request], Handler] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.builder = RecordBuilder(ctx.store.path, state_dir, self._from_thread, steps=steps)
        ctx.hooks.meeting_closed.append(self.closed)
        ctx.hooks.signed_in.append(self.welcome)

    def closed(self, meeting_id: str) -> None:
        self._loop = asyncio.get_running_loop()
        self.builder.build(meeting_id)

    def welcome(self, client: Client) -> None:
        """A chair or clerk signing in sees the last state of the current meeting's record."""
        if not client.presiding or self.ctx.snapshot is None:
            return
        latest = self.builder.latest.get(self.ctx.snapshot.meeting_id)
        if latest is not None:
            self.ctx.send([client], encode(latest))

    def _from_thread(self, progress: RecordProgress) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._send, progress)

    def _send(self, progress: RecordProgress) -> None:
        self.ctx.broadcast(self.ctx.presiding(), encode(progress), "record.progress")

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.builder.resume(self.ctx.store.closed_meetings())

    def stop(self) -> None:
        self.builder.stop()
