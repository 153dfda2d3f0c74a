"""Ballots: cast at a seat (for oneself or a proxy giver), written with group commit,
answered with a receipt only after the commit.

Consecutive ballots in the writer's queue share one :class:`BallotBatch`: each check is
a primary-key lookup remembered for the batch, the batch's own ballots are kept in
memory, and the rows are written together when the batch is flushed, so 2,000 ballots
cost a few statements per ballot and a handful of disk syncs. The checks run inside
the transaction, so a ballot and a poll closing are ordered by the writer's queue: a
ballot queued before the close counts, one after it is refused.

Secret polls keep who voted (``secret_voters``, ``ballot_ids``) apart from what was voted
(``secret_slots``): each ballot goes into a slot drawn at random among the poll's free
ones (see repo/ballots.py), and its audit entry records that a member voted, never how.
Nothing a batch writes keeps the order its ballots came in: its audit entries, receipts
and voters are written sorted by poll and member, all with the batch's time, and its
slots in the order of their random keys. So a copy of the disk taken while a poll is
open tells, at most, which members voted in one commit and the choices of that commit
taken together; once the poll is closed and the log folded in, not even that.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
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
from room_server.meeting.context import Client, Context, not_saved
from room_server.repo import attendance as attendance_repo
from room_server.repo import ballots as repo
from room_server.repo import polls as polls_repo
from room_server.rules import Refusal
from room_server.rules.attendance import Member
from room_server.rules.ballots import RECEIPT_CHARS, check_ballot
from room_server.store import Store, utc_now
from room_server.writer import Transaction, WriteFailed

log = logging.getLogger(__name__)

SPARE_SLOTS = 16  # slots added at once when a secret poll runs out of free ones


class FreeSlots:
    """The free slots of each secret poll, kept between batches: the writer is the only
    one that fills them, so reading them once per poll is enough (a burst of 2,000
    ballots in 2,000 commits read 2,000 x 2,000 rows before; bench.votes). Whatever a
    failed transaction took is forgotten, and read again."""

    def __init__(self) -> None:
        self.polls: dict[tuple[str, str], tuple[list[bytes], int]] = {}

    def forget(self) -> None:
        self.polls.clear()


class BallotsWord:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.free = FreeSlots()
        ctx.hooks.signed_in.append(self._send_receipts)

    def cast(self, client: Client, request: CastBallot, check_role: Callable[[], None]) -> None:
        """Queue a ballot; the tablet is answered once it is committed (or refused).

        Who sends it is read when it is written, not when it arrived: a sign-in or
        sign-out queued before it (a barrier) has taken effect by then.
        """

        def record(tx: Transaction) -> Recorded:
            check_role()
            batch: BallotBatch = tx.part("ballots", lambda tx: BallotBatch.start(tx, self.free))
            return batch.record(client.delegate_id, request)

        future = self.ctx.writer.submit(record, part="ballots")

        def answer(done: Any) -> None:
            try:
                frame = encode(BallotRecorded(request.op_id, done.result().receipt()))
            except Refusal as refusal:
                frame = encode(ErrorMessage(refusal.code.value, refusal.message, request.op_id))
            except WriteFailed as failed:
                self.free.forget()  # the slots its batch took are free again
                log.error("a ballot could not be saved: %s", failed)
                frame = encode(
                    not_saved(failed, request.op_id, "the ballot could not be saved; send it again")
                )
            except Exception:
                self.free.forget()
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

    def __init__(self, store: Store, meeting_id: str | None, free: FreeSlots | None = None) -> None:
        self.store = store
        self.conn = store.conn
        self.meeting_id = meeting_id
        self.free_slots = free or FreeSlots()
        self._polls: dict[str, tuple[PollState, PollSpec] | None] = {}
        self._members: dict[str, Member | None] = {}
        self._present: dict[str, bool] = {}
        self._holders: dict[str, str | None] = {}
        self._ids: dict[tuple[str, str], Recorded] = {}  # (poll, ballot id) -> recorded
        self._voted: set[tuple[str, str]] = set()  # (poll, member) whose vote is in
        self.chain = audit.Chain(self.conn)
        self._recorded: list[Recorded] = []  # audit entry, receipt and id still to write
        # The head the room signed last: what every receipt of this batch shows.
        signed = audit.latest_signed(self.conn)
        self.head_seq, self.head = (signed.seq, signed.hash[:HEAD_CHARS]) if signed else (0, "")
        self._secret_voters: list[tuple[Any, ...]] = []
        self._fills: dict[str, list[tuple[bytes, bytes]]] = {}  # poll -> (slot, ballot)
        self._named: list[tuple[Any, ...]] = []

    @classmethod
    def start(cls, tx: Transaction, free: FreeSlots | None = None) -> BallotBatch:
        return cls(tx.store, tx.store.active_meeting_id(), free)

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

    def _earlier(self, poll_id: str, ballot_id: str) -> Recorded | None:
        key = (poll_id, ballot_id)
        if key not in self._ids:
            assert self.meeting_id is not None
            found = repo.ballot(self.store, self.meeting_id, poll_id, ballot_id)
            if found is None:
                return None
            self._ids[key] = Recorded(
                poll_id,
                found["delegate_id"],
                ballot_id,
                found["cast_by"],
                code=found["receipt"],
                at=found["at"],
                head_seq=found["head_seq"],
                head=found["head"][:HEAD_CHARS],
            )
        return self._ids[key]

    def _slot(self, poll_id: str, spec: PollSpec) -> bytes:
        """A free slot of the poll, drawn uniformly at random, taken for a ballot."""
        assert self.meeting_id is not None
        key = (self.meeting_id, poll_id)
        if key not in self.free_slots.polls:
            keys, size = repo.free_slots(self.store, self.meeting_id, poll_id)
            self.free_slots.polls[key] = (keys, repo.slot_size(spec) if size is None else size)
        free, size = self.free_slots.polls[key]
        if not free:
            # More ballots than slots: a member added to the roster while the poll is
            # open, or a poll opened before slots existed. A batch of slots, not one, so
            # the late ballots are not told apart one by one.
            count = max(SPARE_SLOTS, repo.voting_members(self.store, self.meeting_id))
            repo.create_slots(self.store, self.meeting_id, poll_id, count, size)
            free.extend(repo.free_slots(self.store, self.meeting_id, poll_id)[0])
            taken = {slot for slot, _ in self._fills.get(poll_id, ())}
            free[:] = [k for k in free if k not in taken]
        return free.pop(secrets.randbelow(len(free)))

    def slot_size(self, poll_id: str) -> int:
        assert self.meeting_id is not None
        return self.free_slots.polls[(self.meeting_id, poll_id)][1]

    def _has_voted(self, poll_id: str, spec: PollSpec, delegate_id: str) -> bool:
        key = (poll_id, delegate_id)
        if key not in self._voted:
            assert self.meeting_id is not None
            if not repo.has_voted(self.store, self.meeting_id, poll_id, delegate_id, spec.secret):
                return False
            self._voted.add(key)
        return True

    def record(self, sender: str | None, request: CastBallot) -> Recorded:
        """Check one ballot and record it in memory (or raise a Refusal); its receipt is
        there once the batch is flushed."""
        if self.meeting_id is None:
            raise Refusal(ErrorCode.BAD_STATE, "no meeting is loaded in this room")
        if sender is None:
            raise Refusal(ErrorCode.FORBIDDEN, "sign in before voting")
        found = self._poll(request.poll_id)
        if found is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"there is no poll {request.poll_id!r}")
        earlier = self._earlier(request.poll_id, request.op_id)
        if earlier is not None:
            if earlier.delegate_id != request.delegate_id or earlier.cast_by != sender:
                raise Refusal(ErrorCode.BAD_FIELD, "this ballot id was used for another ballot")
            # The same ballot again (the answer was lost): the same receipt, counted once.
            return earlier
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
        weight = member.weight if spec.weighted else 1
        key = (self.meeting_id, request.poll_id)
        recorded = Recorded(request.poll_id, request.delegate_id, request.op_id, sender)
        if spec.secret:
            # The voter is noted only once the ballot has its slot: a failure between the
            # two must not keep a member as having voted with no ballot anywhere.
            slot = self._slot(request.poll_id, spec)
            ballot = repo.encode_slot(request.choices, weight, self.slot_size(request.poll_id))
            self._secret_voters.append((*key, request.delegate_id))
            self._fills.setdefault(request.poll_id, []).append((slot, ballot))
            recorded.data = {"poll": request.poll_id, "member": request.delegate_id, "secret": True}
        else:
            at = utc_now()
            values = (json.dumps(list(request.choices)), weight, sender, request.op_id, at)
            if again:
                self._write_named()  # the first vote may still be waiting in this batch
                repo.change_named_vote(self.store, key, request.delegate_id, values)
            else:
                self._named.append((*key, request.delegate_id, *values))
            recorded.kind = "poll.ballot_changed" if again else "poll.ballot"
            recorded.data = {
                "poll": request.poll_id,
                "member": request.delegate_id,
                "choices": list(request.choices),
                "weight": weight,
                "ballot": request.op_id,
            }
        self._voted.add((request.poll_id, request.delegate_id))
        self._recorded.append(recorded)
        self._ids[(request.poll_id, request.op_id)] = recorded
        return recorded

    def _write_named(self) -> None:
        repo.insert_named_votes(self.store, self._named)
        self._named.clear()

    def flush(self) -> None:
        """Write everything the batch recorded (still inside its transaction).

        The audit entries (whose hashes are the receipts) are made here, not as ballots
        come: sorted by poll and member (a member's changed vote stays after the first),
        all with this time, so neither their order nor their times follow the ballots'.
        """
        assert self.meeting_id is not None or not self._recorded
        at = utc_now()
        ballot_ids: list[tuple[Any, ...]] = []
        for entry in sorted(self._recorded, key=lambda e: (e.poll_id, e.delegate_id)):
            digest = self.chain.add(
                at=at,
                meeting_id=self.meeting_id,
                kind=entry.kind,
                actor=entry.cast_by,
                data=entry.data,
            )
            entry.code, entry.at = digest[:RECEIPT_CHARS], at
            entry.head_seq, entry.head = self.head_seq, self.head
            ballot_ids.append(
                (
                    self.meeting_id,
                    entry.poll_id,
                    entry.ballot_id,
                    entry.delegate_id,
                    entry.cast_by,
                    entry.code,
                    at,
                    self.head_seq,
                )
            )
        self._recorded.clear()
        repo.insert_secret_voters(self.store, self._secret_voters)
        self._secret_voters.clear()
        for poll_id, fills in self._fills.items():
            assert self.meeting_id is not None
            repo.fill_slots(self.store, self.meeting_id, poll_id, fills)
        self._fills.clear()
        self._write_named()
        repo.insert_ballot_ids(self.store, sorted(ballot_ids))
        self.chain.write()


@dataclass(slots=True, eq=False)
class Recorded:
    """A ballot recorded in a batch: its receipt is known once the batch is flushed."""

    poll_id: str
    delegate_id: str
    ballot_id: str
    cast_by: str
    kind: str = "poll.ballot"
    data: dict[str, Any] = field(default_factory=dict)
    code: str = ""
    at: str = ""
    head_seq: int = 0  # the audit head the room signed last before this ballot
    head: str = ""

    def receipt(self) -> Receipt:
        assert self.code, "the batch holding this ballot is not written yet"
        return Receipt(
            self.poll_id,
            self.delegate_id,
            self.ballot_id,
            self.code,
            self.at,
            self.head_seq,
            self.head,
        )


class _Lookup:
    """``in`` answered by a function: a member is looked up, not a table loaded."""

    def __init__(self, test: Callable[[str], bool]) -> None:
        self._test = test

    def __contains__(self, item: object) -> bool:
        return isinstance(item, str) and self._test(item)
