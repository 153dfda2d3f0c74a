"""Ballots: cast at a seat (for oneself or a proxy giver), written with group commit,
answered with a receipt only after the commit.

Consecutive ballots in the writer's queue share one :class:`BallotBatch`: each check is
a primary-key lookup remembered for the batch, the batch's own ballots are kept in
memory, and the rows are written together when the batch is flushed, so 2,000 ballots
cost a few statements per ballot and a handful of disk syncs. The checks run inside
the transaction, so a ballot and a poll closing are ordered by the writer's queue: a
ballot queued before the close counts, one after it is refused.

Secret polls keep who voted (``secret_voters``, ``ballot_ids``) apart from what was voted
(``secret_ballots``, ordered by a random key); their audit entries record that a member
voted, never how.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from typing import Any

from room_protocol.codec import encode
from room_protocol.errors import ErrorCode
from room_protocol.messages import ErrorMessage
from room_protocol.voting import (
    HEAD_CHARS,
    BallotRecorded,
    CastBallot,
    PollSpec,
    PollState,
    Receipt,
    Receipts,
)
from room_server import audit
from room_server.meeting.context import Client, Context
from room_server.repo import attendance as attendance_repo
from room_server.repo import ballots as repo
from room_server.repo import polls as polls_repo
from room_server.rules import Refusal
from room_server.rules.attendance import Member
from room_server.rules.ballots import RECEIPT_CHARS, check_ballot
from room_server.store import Store, utc_now
from room_server.writer import Transaction, WriteFailed

log = logging.getLogger(__name__)


class BallotsWord:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        ctx.hooks.signed_in.append(self._send_receipts)

    def cast(self, client: Client, request: CastBallot, check_role: Callable[[], None]) -> None:
        """Queue a ballot; the tablet is answered once it is committed (or refused).

        Who sends it is read when it is written, not when it arrived: a sign-in or
        sign-out queued before it (a barrier) has taken effect by then.
        """

        def record(tx: Transaction) -> Receipt:
            check_role()
            batch: BallotBatch = tx.part("ballots", BallotBatch.start)
            return batch.record(client.delegate_id, request)

        future = self.ctx.writer.submit(record, part="ballots")

        def answer(done: Any) -> None:
            try:
                frame = encode(BallotRecorded(request.op_id, done.result()))
            except Refusal as refusal:
                frame = encode(ErrorMessage(refusal.code.value, refusal.message, request.op_id))
            except (WriteFailed, Exception):
                log.exception("a ballot could not be saved")
                frame = encode(
                    ErrorMessage(
                        ErrorCode.INTERNAL.value,
                        "the ballot could not be saved; send it again",
                        request.op_id,
                    )
                )
            else:
                for listener in self.ctx.hooks.ballots_recorded:
                    listener()
            self.ctx.send([client], frame)

        future.add_done_callback(answer)

    def receipts(self, delegate_id: str) -> Receipts:
        rows = repo.receipts(self.ctx.store, self.ctx.meeting_id, delegate_id)
        return Receipts(
            tuple(
                Receipt(
                    r["poll_id"],
                    r["delegate_id"],
                    r["ballot_id"],
                    r["receipt"],
                    r["at"],
                    r["head_seq"],
                    r["head"][:HEAD_CHARS],
                )
                for r in rows
            )
        )

    def _send_receipts(self, client: Client) -> None:
        if client.delegate_id is not None and self.ctx.snapshot is not None:
            self.ctx.send([client], encode(self.receipts(client.delegate_id)))


class BallotBatch:
    """Checks and records consecutive ballots inside the writer's transaction.

    Every check is a primary-key lookup (the member, their presence, the proxy, an
    earlier ballot with this id, an earlier vote), remembered for the batch and
    overlaid with the ballots recorded in it but not yet written: a batch costs the
    same whether it is the first of a burst or comes after 1,999 ballots.
    """

    def __init__(self, store: Store, meeting_id: str | None) -> None:
        self.store = store
        self.conn = store.conn
        self.meeting_id = meeting_id
        self._polls: dict[str, tuple[PollState, PollSpec] | None] = {}
        self._members: dict[str, Member | None] = {}
        self._present: dict[str, bool] = {}
        self._holders: dict[str, str | None] = {}
        self._ids: dict[tuple[str, str], dict[str, Any]] = {}  # (poll, ballot id) -> recorded
        self._voted: set[tuple[str, str]] = set()  # (poll, member) whose vote is in
        self.chain = audit.Chain(self.conn)
        # The head the room signed last: what every receipt of this batch shows.
        signed = audit.latest_signed(self.conn)
        self.head_seq, self.head = (signed.seq, signed.hash[:HEAD_CHARS]) if signed else (0, "")
        self._secret_voters: list[tuple[Any, ...]] = []
        self._secret_ballots: list[tuple[Any, ...]] = []
        self._named: list[tuple[Any, ...]] = []
        self._ballot_ids: list[tuple[Any, ...]] = []

    @classmethod
    def start(cls, tx: Transaction) -> BallotBatch:
        return cls(tx.store, tx.store.active_meeting_id())

    def _poll(self, poll_id: str) -> tuple[PollState, PollSpec] | None:
        if poll_id not in self._polls:
            assert self.meeting_id is not None
            row = polls_repo.row(self.store, self.meeting_id, poll_id)
            self._polls[poll_id] = (
                None if row is None else (PollState(row["state"]), polls_repo.spec(row))
            )
        return self._polls[poll_id]

    def _member(self, delegate_id: str) -> Member | None:
        if delegate_id not in self._members:
            assert self.meeting_id is not None
            self._members[delegate_id] = attendance_repo.member(
                self.store, self.meeting_id, delegate_id
            )
        return self._members[delegate_id]

    def _is_present(self, delegate_id: str) -> bool:
        if delegate_id not in self._present:
            assert self.meeting_id is not None
            self._present[delegate_id] = attendance_repo.is_present(
                self.store, self.meeting_id, delegate_id
            )
        return self._present[delegate_id]

    def _holder_of(self, giver_id: str) -> str | None:
        if giver_id not in self._holders:
            assert self.meeting_id is not None
            self._holders[giver_id] = attendance_repo.holder_of(
                self.store, self.meeting_id, giver_id
            )
        return self._holders[giver_id]

    def _earlier(self, poll_id: str, ballot_id: str) -> dict[str, Any] | None:
        key = (poll_id, ballot_id)
        if key not in self._ids:
            assert self.meeting_id is not None
            found = repo.ballot(self.store, self.meeting_id, poll_id, ballot_id)
            if found is None:
                return None
            self._ids[key] = found
        return self._ids[key]

    def _has_voted(self, poll_id: str, spec: PollSpec, delegate_id: str) -> bool:
        key = (poll_id, delegate_id)
        if key not in self._voted:
            assert self.meeting_id is not None
            if not repo.has_voted(self.store, self.meeting_id, poll_id, delegate_id, spec.secret):
                return False
            self._voted.add(key)
        return True

    def record(self, sender: str | None, request: CastBallot) -> Receipt:
        """Check one ballot and record it in memory; its receipt (or a Refusal)."""
        if self.meeting_id is None:
            raise Refusal(ErrorCode.BAD_STATE, "no meeting is loaded in this room")
        if sender is None:
            raise Refusal(ErrorCode.FORBIDDEN, "sign in before voting")
        found = self._poll(request.poll_id)
        if found is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"there is no poll {request.poll_id!r}")
        earlier = self._earlier(request.poll_id, request.op_id)
        if earlier is not None:
            if earlier["delegate_id"] != request.delegate_id or earlier["cast_by"] != sender:
                raise Refusal(ErrorCode.BAD_FIELD, "this ballot id was used for another ballot")
            # The same ballot again (the answer was lost): the same receipt, counted once.
            return Receipt(
                request.poll_id,
                request.delegate_id,
                request.op_id,
                earlier["receipt"],
                earlier["at"],
                earlier["head_seq"],
                earlier["head"][:HEAD_CHARS],
            )
        state, spec = found
        member = self._member(request.delegate_id)
        again = check_ballot(
            state=state,
            spec=spec,
            member=member,
            delegate_id=request.delegate_id,
            sender=sender,
            present=_Lookup(self._is_present),
            holder_of=self._holder_of,
            choices=request.choices,
            voted=_Lookup(lambda who: self._has_voted(request.poll_id, spec, who)),
        )
        assert member is not None  # check_ballot refuses a ballot for no one
        at = utc_now()
        weight = member.weight if spec.weighted else 1
        key = (self.meeting_id, request.poll_id)
        if spec.secret:
            self._secret_voters.append((*key, request.delegate_id))
            choices = json.dumps(sorted(request.choices))
            self._secret_ballots.append((*key, os.urandom(16), choices, weight))
            digest = self.chain.add(
                at=at,
                meeting_id=self.meeting_id,
                kind="poll.ballot",
                actor=sender,
                data={"poll": request.poll_id, "member": request.delegate_id, "secret": True},
            )
        else:
            values = (json.dumps(list(request.choices)), weight, sender, request.op_id, at)
            if again:
                self._write_named()  # the first vote may still be waiting in this batch
                repo.change_named_vote(self.store, key, request.delegate_id, values)
            else:
                self._named.append((*key, request.delegate_id, *values))
            digest = self.chain.add(
                at=at,
                meeting_id=self.meeting_id,
                kind="poll.ballot_changed" if again else "poll.ballot",
                actor=sender,
                data={
                    "poll": request.poll_id,
                    "member": request.delegate_id,
                    "choices": list(request.choices),
                    "weight": weight,
                    "ballot": request.op_id,
                },
            )
        self._voted.add((request.poll_id, request.delegate_id))
        receipt = digest[:RECEIPT_CHARS]
        self._ballot_ids.append(
            (*key, request.op_id, request.delegate_id, sender, receipt, at, self.head_seq)
        )
        self._ids[(request.poll_id, request.op_id)] = {
            "delegate_id": request.delegate_id,
            "cast_by": sender,
            "receipt": receipt,
            "at": at,
            "head_seq": self.head_seq,
            "head": self.head,
        }
        return Receipt(
            request.poll_id,
            request.delegate_id,
            request.op_id,
            receipt,
            at,
            self.head_seq,
            self.head,
        )

    def _write_named(self) -> None:
        repo.insert_named_votes(self.store, self._named)
        self._named.clear()

    def flush(self) -> None:
        """Write everything the batch recorded (still inside its transaction)."""
        repo.insert_secret(self.store, self._secret_voters, self._secret_ballots)
        self._secret_voters.clear()
        self._secret_ballots.clear()
        self._write_named()
        repo.insert_ballot_ids(self.store, self._ballot_ids)
        self._ballot_ids.clear()
        self.chain.write()


class _Lookup:
    """``in`` answered by a function: a member is looked up, not a table loaded."""

    def __init__(self, test: Callable[[str], bool]) -> None:
        self._test = test

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and self._test(item)
