"""Closing the meeting: the chair ends it, the room refuses every change after it, and
other words hear of it through the ``meeting_closed`` hook (the record is built then).

A closed meeting stays the active one: tablets keep reading its documents until another
meeting is activated. Its ``closed_at`` goes out in ``meeting.state``.
"""

from __future__ import annotations

from room_protocol.codec import encode
from room_protocol.errors import ErrorCode
from room_protocol.live import CloseBlocked, CloseMeeting, Request
from room_server import audit
from room_server.meeting.context import Client, Context, Effects, Handler
from room_server.repo import agenda as agenda_repo
from room_server.repo import closing as repo
from room_server.repo import floor as floor_repo
from room_server.repo import messages as messages_repo
from room_server.rules import Refusal
from room_server.rules import closing as rules
from room_server.rules import floor as floor_rules
from room_server.store import iso_time
from room_server.writer import Transaction


class ClosingWord:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.handlers: dict[type[Request], Handler] = {CloseMeeting: self.close}

    def refuse_if_closed(self, tx: Transaction, request: Request) -> None:
        """In the writer's job: a request that would change a closed meeting is refused."""
        if self.ctx.snapshot is None:
            return
        closed_at = repo.closed_at(tx.store, self.ctx.snapshot.meeting_id)
        if closed_at is not None:
            raise Refusal(
                ErrorCode.MEETING_CLOSED,
                f"the meeting was closed at {closed_at}; it takes no more changes",
            )

    def still_open(self, tx: Transaction) -> rules.StillOpen:
        meeting = self.ctx.meeting()
        speech = floor_repo.open_speech(tx.store, meeting.meeting_id)
        speaker = None
        if speech is not None:
            member = meeting.member(speech["delegate_id"])
            speaker = member.name if member else speech["delegate_id"]
        return rules.StillOpen(
            polls=tuple(repo.open_poll_titles(tx.store, meeting.meeting_id)),
            speaker=speaker,
            queue=len(floor_repo.queue(tx.store, meeting.meeting_id)),
            service_calls=len(messages_repo.open_service_calls(tx.store, meeting.meeting_id)),
        )

    def close(self, tx: Transaction, client: Client, request: CloseMeeting) -> Effects:
        meeting_id = self.ctx.meeting_id
        still_open = self.still_open(tx)
        try:
            rules.check_close(repo.closed_at(tx.store, meeting_id), still_open, request.force)
        except Refusal as refusal:
            if refusal.code is ErrorCode.STILL_OPEN:
                blocked = encode(
                    CloseBlocked(
                        request.op_id,
                        still_open.polls,
                        still_open.speaker,
                        still_open.queue,
                        still_open.service_calls,
                    )
                )
                # Sent before the error is: the console has the list when the refusal comes.
                self.ctx.send([client], blocked)
            raise
        now = self.ctx.clock()
        at = iso_time(now)
        ended: dict[str, object] | None = None
        speech = floor_repo.open_speech(tx.store, meeting_id)
        if speech is not None:
            duration = max(0.0, now - speech["started_ts"])
            overran = floor_rules.overran(duration, speech["limit_seconds"])
            floor_repo.end_speech(tx.store, speech["id"], duration, overran)
            ended = {"delegate": speech["delegate_id"], "seconds": round(duration, 3)}
        released = [r.delegate_id for r in floor_repo.queue(tx.store, meeting_id)]
        floor_repo.write_queue(tx.store, meeting_id, [])
        # The current item's time runs until the close.
        current, started = agenda_repo.current(tx.store, meeting_id)
        if current is not None:
            spent = max(0.0, now - started) if started is not None else None
            agenda_repo.make_current(tx.store, meeting_id, None, now, spent)
        calls = [c["id"] for c in messages_repo.open_service_calls(tx.store, meeting_id)]
        repo.close(tx.store, meeting_id, at, client.delegate_id)
        repo.forget_answers_but_close(tx.store, meeting_id)
        tx.store.bump_revision()
        audit.append(
            tx.conn,
            at=at,
            meeting_id=meeting_id,
            kind="meeting.closed",
            actor=client.delegate_id,
            data={
                "closed_at": at,
                "forced": request.force,
                "speech_ended": ended,
                "queue_released": released,
                "open_service_calls": calls,
            },
        )
        tx.sign_head(audit.head_reason("meeting.closed", meeting_id))
        return [self.ctx.publish_meeting, lambda: self.ctx.meeting_closed(meeting_id)]
