"""The floor: the speaker queue (points of order first), who speaks, for how long."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from room_protocol.codec import encode
from room_protocol.errors import ErrorCode
from room_protocol.live import (
    EndSpeech,
    FloorKind,
    FloorState,
    GrantFloor,
    QueueEntry,
    ReorderQueue,
    Request,
    RequestFloor,
    SetSpeakingLimit,
    Speech,
    WithdrawFloor,
)
from room_server.meeting.context import Client, Coalescer, Context, Effects, Handler, Spread
from room_server.repo import agenda as agenda_repo
from room_server.repo import floor as repo
from room_server.rules import Refusal
from room_server.rules import floor as rules
from room_server.store import utc_now
from room_server.writer import Transaction

log = logging.getLogger(__name__)

KEY_FLOOR_LIMIT = "floor_limit_seconds"
DEFAULT_SPEAKING_LIMIT_S = 180
# floor.state to every tablet at most this often; the chair's, the clerks' and the
# tablet whose request changed it hear every change at once
FLOOR_INTERVAL_S = 0.5
FLOOR_SLICE = 128  # tablets sent floor.state per event-loop turn (~2.5 ms of the loop)


class FloorWord:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._seq = int(time.time() * 1000)  # floor.state numbers only go up, across restarts
        self._expiry: asyncio.TimerHandle | None = None
        self._everyone = Coalescer(self._send_everyone, FLOOR_INTERVAL_S)
        self._spread = Spread(ctx.send, ctx.clients, FLOOR_SLICE)
        self._first: list[Client] = []  # to be sent the next broadcast ahead of the room
        self.handlers: dict[type[Request], Handler] = {
            RequestFloor: self.request_floor,
            WithdrawFloor: self.withdraw_floor,
            GrantFloor: self.grant_floor,
            EndSpeech: self.end_speech,
            ReorderQueue: self.reorder_queue,
            SetSpeakingLimit: self.set_limit,
        }
        ctx.hooks.connected.append(lambda client: ctx.send([client], encode(self.state())))
        ctx.hooks.meeting_changed.append(
            lambda switched: self.publish(at_once=True) if switched else None
        )
        ctx.hooks.meeting_closed.append(lambda meeting_id: self.publish(at_once=True))

    # --- what everyone sees ----------------------------------------------------------------

    def _limit(self, tx: Transaction | None = None) -> int:
        if tx is None:
            raw = self.ctx.meta(KEY_FLOOR_LIMIT)
        else:
            raw = tx.store.meta(f"{self.ctx.meeting_id}:{KEY_FLOOR_LIMIT}")
        return int(raw or DEFAULT_SPEAKING_LIMIT_S)

    def state(self) -> FloorState:
        snapshot = self.ctx.snapshot
        self._seq += 1
        if snapshot is None:
            return FloorState(self._seq, None, (), DEFAULT_SPEAKING_LIMIT_S)
        names = {m.delegate_id: m for m in snapshot.roster}
        speaking = None
        speech = repo.open_speech(self.ctx.store, snapshot.meeting_id)
        if speech is not None:
            member = names.get(speech["delegate_id"])
            speaking = Speech(
                delegate_id=speech["delegate_id"],
                name=member.name if member else speech["delegate_id"],
                kind=FloorKind(speech["kind"]),
                started_at=speech["started_at"],
                limit_seconds=speech["limit_seconds"],
                elapsed_seconds=round(max(0.0, self.ctx.clock() - speech["started_ts"]), 3),
                expired=bool(speech["expired"]),
            )
        queue = tuple(
            QueueEntry(
                r.delegate_id,
                names[r.delegate_id].name if r.delegate_id in names else r.delegate_id,
                r.kind,
                r.requested_at,
                names[r.delegate_id].seat_id if r.delegate_id in names else None,
            )
            for r in repo.queue(self.ctx.store, snapshot.meeting_id)
        )
        return FloorState(self._seq, speaking, queue, self._limit())

    def publish(self, *, at_once: bool = False, concerned: Iterable[Client] = ()) -> None:
        """The floor changed: every tablet hears it at most every ``FLOOR_INTERVAL_S`` (a
        wave of speaker requests goes out as one ``floor.state``, the latest), a slice
        of tablets per loop turn (``Spread``: a page change never waits for the whole
        room); the chair, the clerks and the ``concerned`` tablets (the requester's, the
        speaker's) at once. ``seq`` only goes up, so a tablet keeps the newest."""
        self._first = [*self.ctx.presiding(), *concerned]
        if at_once:
            self._everyone.now()
        elif not self._everyone.changed():  # the room later: these now
            first, self._first = self._first, []
            connected = [c for c in dict.fromkeys(first) if c in self.ctx.clients]
            if connected:
                self.ctx.broadcast(connected, encode(self.state()), "floor.state")
        self._schedule_expiry()

    def _send_everyone(self) -> None:
        first, self._first = self._first, []
        self._spread_to_everyone(first)

    def _spread_to_everyone(self, first: list[Client]) -> None:
        self._spread.send(self.ctx.clients, encode(self.state()), first)
        if self.ctx.on_broadcast:
            self.ctx.on_broadcast("floor.state", len(self.ctx.clients))

    def _members_tablets(self, delegate_id: str | None) -> list[Client]:
        return [c for c in self.ctx.clients if delegate_id and c.delegate_id == delegate_id]

    # --- requests ----------------------------------------------------------------------------

    def request_floor(self, tx: Transaction, client: Client, request: RequestFloor) -> Effects:
        assert client.delegate_id is not None  # the role rule admits members only
        meeting_id = self.ctx.meeting_id
        speech = repo.open_speech(tx.store, meeting_id)
        order = rules.enqueue(
            repo.queue(tx.store, meeting_id),
            rules.Request(client.delegate_id, request.kind, utc_now()),
            speech["delegate_id"] if speech else None,
        )
        repo.write_queue(tx.store, meeting_id, order)
        return [lambda: self.publish(concerned=[client])]

    def withdraw_floor(self, tx: Transaction, client: Client, request: WithdrawFloor) -> Effects:
        meeting_id = self.ctx.meeting_id
        remaining = rules.withdraw(repo.queue(tx.store, meeting_id), client.delegate_id)
        repo.write_queue(tx.store, meeting_id, remaining)
        return [lambda: self.publish(concerned=[client])]

    def _end(self, tx: Transaction, speech: dict[str, Any]) -> None:
        duration = max(0.0, self.ctx.clock() - speech["started_ts"])
        overran = rules.overran(duration, speech["limit_seconds"])
        repo.end_speech(tx.store, speech["id"], duration, overran)

    def grant_floor(self, tx: Transaction, client: Client, request: GrantFloor) -> Effects:
        meeting = self.ctx.meeting()
        if request.delegate_id is not None and meeting.member(request.delegate_id) is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"{request.delegate_id!r} is not on the roster")
        queue = repo.queue(tx.store, meeting.meeting_id)
        chosen = rules.next_speaker(queue, request.delegate_id)
        current = repo.open_speech(tx.store, meeting.meeting_id)
        if current is not None:
            self._end(tx, current)
        repo.write_queue(
            tx.store, meeting.meeting_id, [r for r in queue if r.delegate_id != chosen.delegate_id]
        )
        item_id, _ = agenda_repo.current(tx.store, meeting.meeting_id)
        repo.start_speech(
            tx.store, meeting.meeting_id, item_id, chosen, self.ctx.clock(), self._limit(tx)
        )
        speaker = chosen.delegate_id
        return [lambda: self.publish(concerned=self._members_tablets(speaker))]

    def end_speech(self, tx: Transaction, client: Client, request: EndSpeech) -> Effects:
        current = repo.open_speech(tx.store, self.ctx.meeting_id)
        if current is None:
            raise Refusal(ErrorCode.BAD_STATE, "nobody has the floor")
        self._end(tx, current)
        speaker = current["delegate_id"]
        return [lambda: self.publish(concerned=self._members_tablets(speaker))]

    def reorder_queue(self, tx: Transaction, client: Client, request: ReorderQueue) -> Effects:
        meeting_id = self.ctx.meeting_id
        order = rules.reorder(repo.queue(tx.store, meeting_id), request.delegate_ids)
        repo.write_queue(tx.store, meeting_id, order)
        return [self.publish]

    def set_limit(self, tx: Transaction, client: Client, request: SetSpeakingLimit) -> Effects:
        self.ctx.set_meta(tx, KEY_FLOOR_LIMIT, str(request.seconds))
        current = repo.open_speech(tx.store, self.ctx.meeting_id)
        if current is not None:
            elapsed = self.ctx.clock() - current["started_ts"]
            expired = rules.overran(elapsed, request.seconds)
            repo.set_speech_limit(tx.store, current["id"], request.seconds, expired)
        return [self.publish]

    # --- speaking time -------------------------------------------------------------------------

    def _schedule_expiry(self) -> None:
        """Mark the current speech expired when its time is up, and tell everyone."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self.ctx.snapshot is None:
            return
        speech = repo.open_speech(self.ctx.store, self.ctx.snapshot.meeting_id)
        if speech is None or speech["expired"]:
            return
        wait = rules.expiry_wait(speech["started_ts"], speech["limit_seconds"], self.ctx.clock())
        if wait is None:
            return
        loop = asyncio.get_running_loop()
        self._expiry = loop.call_later(wait, self._expire, speech["id"])

    def _expire(self, speech_id: int) -> None:
        self._expiry = None

        def expire(tx: Transaction) -> bool:
            return repo.mark_expired(tx.store, speech_id)

        def done(future: asyncio.Future[bool]) -> None:
            if not future.cancelled() and future.exception() is None and future.result():
                log.info("speaking time is up (speech %d)", speech_id)
                self._spread_to_everyone(self.ctx.presiding())

        self.ctx.writer.submit(expire).add_done_callback(done)

    def start(self) -> None:
        self._schedule_expiry()

    def stop(self) -> None:
        self._everyone.cancel()
        self._spread.cancel()
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
