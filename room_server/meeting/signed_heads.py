"""Signed heads: the room signs the audit chain's head with its key, in the transaction
that wrote what the head covers, and shows every tablet and the room display the head
it signed last (``audit.head``), so the people in the room witness it.

A head is signed when a word asks for it (``tx.sign_head``: every poll transition), when
another meeting becomes the current one, every ``sign_every_seconds`` while the chain
grows, and at shutdown. Once committed, each head is also appended to the heads log
beside the key (``keys/audit-heads.log``), out of reach of whoever can only write the
database. See :mod:`room_server.audit` for what verification checks.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from datetime import datetime

from room_protocol.codec import encode
from room_protocol.voting import AuditHead
from room_server import audit
from room_server.meeting.context import Client, Context
from room_server.signing import SigningKey
from room_server.store import iso_time
from room_server.writer import Transaction, WriteFailed

log = logging.getLogger(__name__)


class SignedHeadsWord:
    def __init__(
        self, ctx: Context, key: SigningKey, *, room_id: str, sign_every_seconds: float
    ) -> None:
        self.ctx = ctx
        self.key = key
        self.room_id = room_id
        self.sign_every_seconds = sign_every_seconds
        self.log_path = key.key_file.parent / audit.HEADS_LOG
        last = audit.latest_signed(ctx.store.conn)
        self.latest: AuditHead | None = None if last is None else _message(last)
        self._signed_ts = -math.inf if last is None else _timestamp(last.at)
        self._timer: asyncio.TimerHandle | None = None
        self._logging: asyncio.Future[None] | None = None  # the last append to the heads log
        ctx.writer.before_commit = self._before_commit
        ctx.hooks.connected.append(self.welcome)
        ctx.hooks.meeting_changed.append(self._meeting_changed)

    # --- signing -------------------------------------------------------------------------

    def _before_commit(self, tx: Transaction) -> Callable[[], None] | None:
        """The writer's last step before COMMIT: sign the batch's final head if asked."""
        if not tx.sign_reasons:
            return None
        head = audit.sign_head(
            tx.conn,
            self.key,
            room_id=self.room_id,
            at=iso_time(self.ctx.clock()),
            reasons=tx.sign_reasons,
        )
        if head is None:
            return None
        return lambda: self._signed(head)

    def _signed(self, head: audit.SignedHead) -> None:
        log.info("signed the audit chain's head at entry %d (%s)", head.seq, head.reason)
        # After the commit: a crash in between leaves a head the log lacks (verify allows
        # that), never a logged head the database never had. The fsync runs in a thread
        # (on the loop it held up every tablet for its milliseconds; bench.votes), one
        # append after the other so the log keeps the heads' order.
        earlier = self._logging

        async def append() -> None:
            if earlier is not None:
                await earlier
            try:
                await asyncio.to_thread(audit.append_to_log, self.log_path, head)
            except OSError as exc:
                log.error("could not append the signed head to %s: %s", self.log_path, exc)

        self._logging = asyncio.ensure_future(append())
        self._signed_ts = self.ctx.clock()
        self.latest = _message(head)
        self.ctx.broadcast(self.ctx.clients, encode(self.latest), "audit.head")

    def sign_soon(self, reason: str) -> asyncio.Future[None]:
        """Sign the head as a job of its own (nothing if the head has not moved)."""
        return self.ctx.writer.submit(lambda tx: tx.sign_head(reason))

    async def sign_now(self, reason: str) -> None:
        """Sign now (if the head moved) and wait until the heads log has it too."""
        try:
            await self.sign_soon(reason)
        except WriteFailed as exc:
            log.error("could not sign the audit chain's head (%s): %s", reason, exc)
        if self._logging is not None:
            await self._logging

    def tick(self) -> None:
        """The periodic signature: when the interval has passed and the chain grew."""
        if self.ctx.clock() - self._signed_ts < self.sign_every_seconds:
            return
        seq, _ = audit.chain_head(self.ctx.store.conn)
        if seq > (self.latest.seq if self.latest else 0):
            self.sign_soon("periodic")

    def _meeting_changed(self, switched: bool) -> None:
        if switched and self.ctx.snapshot is not None:
            self.sign_soon(audit.head_reason("meeting.switched", self.ctx.snapshot.meeting_id))

    # --- what is sent --------------------------------------------------------------------

    def welcome(self, client: Client) -> None:
        if self.latest is not None:
            self.ctx.send([client], encode(self.latest))

    # --- life ------------------------------------------------------------------------------

    def start(self) -> None:
        self._schedule()

    def _schedule(self) -> None:
        # Look a few times per interval, so a head is signed at most ~1.25 intervals late.
        wait = max(0.5, self.sign_every_seconds / 4)
        self._timer = asyncio.get_running_loop().call_later(wait, self._periodic)

    def _periodic(self) -> None:
        try:
            self.tick()
        except Exception:  # a read failed; the next look tries again
            log.exception("checking whether the audit head needs signing failed")
        self._schedule()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _message(head: audit.SignedHead) -> AuditHead:
    return AuditHead(head.seq, head.hash, head.at, head.reason[:500])


def _timestamp(at: str) -> float:
    try:
        return datetime.fromisoformat(at).timestamp()
    except ValueError:
        return -math.inf
