"""Annotations: a member's operations on their ink, highlights and notes, kept in the
room's log (``annotation_ops``) through the one writer, and sent to whoever may see them.

The author is the member signed in on the sending tablet and the device is that tablet's
enrolled certificate: nothing in the operation says who made it. After the commit the
operation goes to the author's other signed-in tablets (``annotation.ops``), and the
annotation's new state to every screen that may show it (``annotation.shared``), or a
tombstone to every screen that showed it and may no longer. A sign-in brings the member
their whole log and everything shared with them; a screen nobody is signed in on (the
room display) gets the presenter ink.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TypeVar

import room_server.repo.annotations as repo
import room_server.rules.annotations as rules
from room_protocol.annotations import (
    MAX_OPS_PER_MESSAGE,
    Annotation,
    AnnotationBatch,
    AnnotationOp,
    AnnotationOps,
    AnnotationPace,
    AnnotationsKept,
    OpRecord,
    OpRefused,
    SharedAnnotations,
    Visibility,
    patch_json,
)
from room_protocol.codec import MAX_MESSAGE_BYTES, encode
from room_protocol.errors import ErrorCode
from room_protocol.live import Request
from room_server.limits import RequestBucket
from room_server.meeting.context import Answered, Client, Context, Effects, Handler
from room_server.meeting.follow import display_allowed
from room_server.rules import Refusal
from room_server.rules.documents import may_read
from room_server.writer import Transaction

PAGE_BYTES = MAX_MESSAGE_BYTES // 2  # a page of ops or annotations stays well under a frame
_ENVELOPE_BYTES = 400  # ids, stamp, page and names around a patch or a state

T = TypeVar("T")


def pages(items: Iterable[tuple[T, int]]) -> Iterator[list[T]]:
    """Items (with their size in bytes) cut into pages of at most MAX_OPS_PER_MESSAGE
    items and about PAGE_BYTES bytes; at least one page, maybe empty."""
    page: list[T] = []
    size = 0
    for item, item_size in items:
        if page and (len(page) >= MAX_OPS_PER_MESSAGE or size + item_size > PAGE_BYTES):
            yield page
            page, size = [], 0
        page.append(item)
        size += item_size + _ENVELOPE_BYTES
    yield page


# The paces a room asks for, seconds: 0 (send at once) while it is small.
PACE_STEPS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


@dataclass(frozen=True, slots=True)
class _Kept:
    """An operation kept in this transaction, and the annotation's state around it
    (``after`` None: the operation changed nothing anyone sees)."""

    record: OpRecord
    before: Annotation | None
    after: Annotation | None


def _shared(annotation: Annotation | None) -> bool:
    return (
        annotation is not None
        and not annotation.deleted
        and annotation.visibility is not Visibility.PRIVATE
    )


class AnnotationsWord:
    def __init__(self, ctx: Context, limits: rules.AnnotationLimits | None = None) -> None:
        self.ctx = ctx
        self.limits = limits or rules.AnnotationLimits()
        # The whole room's operations per second (ctx.clock is wall time; the bucket
        # refills nothing when it steps back).
        self.budget = RequestBucket(
            self.limits.ops_per_second, self.limits.ops_burst, clock=ctx.clock
        )
        self.handlers: dict[type[Request], Handler] = {
            AnnotationOp: self.op,
            AnnotationBatch: self.batch,
        }
        self._paced = 0.0  # the pace every signed-in tablet was last told
        # Tablets each member signed in on (checked when used: they may have signed out
        # since), so an operation's fan-out does not walk every connection of the room.
        self._tablets: dict[str, set[Client]] = {}
        ctx.hooks.connected.append(self._connected)
        ctx.hooks.disconnected.append(self._disconnected)
        ctx.hooks.signed_in.append(self._signed_in)
        ctx.hooks.signed_out.append(self._signed_out)
        ctx.hooks.meeting_changed.append(self._meeting_changed)

    # --- the request ------------------------------------------------------------------

    def take(self, request: AnnotationOp | AnnotationBatch) -> bool:
        """Whether the room's budget has room for this request's operations now."""
        return self.budget.take(len(request.ops) if isinstance(request, AnnotationBatch) else 1)

    def op(self, tx: Transaction, client: Client, request: AnnotationOp) -> Effects:
        kept = self._keep(tx, client, request)
        return [] if kept is None else [lambda: self._fan_out(client, [kept])]

    def batch(self, tx: Transaction, client: Client, request: AnnotationBatch) -> Answered:
        """Each operation kept or refused on its own (its own savepoint), as if sent alone;
        one answer, one ``annotation.ops`` to the author's other tablets."""
        if not request.ops:
            raise Refusal(ErrorCode.BAD_FIELD, "an annotation batch must carry an operation")
        kept: list[_Kept] = []
        refused: list[OpRefused] = []
        for item in request.ops:
            tx.conn.execute("SAVEPOINT annotation_op")
            try:
                done = self._keep(tx, client, item.request())
            except Refusal as refusal:
                tx.conn.execute("ROLLBACK TO annotation_op")
                refused.append(OpRefused(item.op_id, refusal.code.value, refusal.message))
            else:
                if done is not None:
                    kept.append(done)
            tx.conn.execute("RELEASE annotation_op")
        answer = AnnotationsKept(request.op_id, tuple(refused))
        return Answered(answer, [lambda: self._fan_out(client, kept)] if kept else [])

    def _keep(self, tx: Transaction, client: Client, request: AnnotationOp) -> _Kept | None:
        """Check and keep one operation (None: kept before, sent again)."""
        meeting = self.ctx.meeting()
        author = client.delegate_id
        if author is None:  # the role check lets no one else through; said plainly anyway
            raise Refusal(ErrorCode.FORBIDDEN, "sign in to annotate")
        device = client.client_id
        if repo.op_kept(tx.store, device, request.op_id):
            return None  # sent again after its answer was lost: kept once, answered again
        doc = meeting.document(request.sha256)
        if doc is None:
            raise Refusal(ErrorCode.NOT_FOUND, "that document is not in this meeting")
        if not may_read(doc, client.role, author):
            raise Refusal(
                ErrorCode.FORBIDDEN, f"{doc.title} is confidential and not for this member"
            )
        if request.page >= doc.pages:
            raise Refusal(
                ErrorCode.BAD_FIELD,
                f"page {request.page} is past the last page of {doc.title} ({doc.pages - 1})",
            )
        if request.patch.is_empty():
            raise Refusal(ErrorCode.BAD_FIELD, "an annotation operation must set a field")
        rules.check_visibility(request.patch.visibility, client.presiding)
        found = repo.current(tx.store, meeting.meeting_id, request.annotation_id)
        before, winners = found if found is not None else (None, {})
        rules.check_owner(before, author)
        rules.check_place(before, request.sha256, request.page)
        patch = patch_json(request.patch)
        rules.check_limits(
            repo.totals(tx.store, meeting.meeting_id, author), len(patch.encode()), self.limits
        )
        record = OpRecord(
            request.op_id,
            device,
            author,
            request.annotation_id,
            request.sha256,
            request.page,
            request.stamp,
            request.patch,
        )
        after, changed = rules.fold(before, winners, record)
        repo.keep(tx.store, meeting.meeting_id, record, patch, after, winners)
        return _Kept(record, before, after if changed else None)

    def _fan_out(self, client: Client, kept: list[_Kept]) -> None:
        """After the commit: the operations to the author's other tablets, each changed
        annotation's state to whoever may see it."""
        author = client.delegate_id
        others = [
            c
            for c in self._tablets.get(author or "", ())
            if c is not client and c.delegate_id == author and c in self.ctx.clients
        ]
        if others:
            frame = encode(AnnotationOps(tuple(k.record for k in kept), last=True))
            self.ctx.broadcast(others, frame, "annotation.ops")
        for k in kept:
            if k.after is not None:
                self._share(k.before, k.after)

    # --- the pace ---------------------------------------------------------------------

    def pace(self) -> float:
        """The seconds each tablet gathers its private operations for: the room's
        connections spread over ``batches_per_second``, in steps (so it is told again
        only when the room has about doubled or halved)."""
        wanted = len(self.ctx.clients) / self.limits.batches_per_second
        if wanted < PACE_STEPS[1] / 2:
            return 0.0
        return next((step for step in PACE_STEPS if step >= wanted), PACE_STEPS[-1])

    def _send_pace(self, client: Client) -> None:
        pace = self.pace()
        if pace != self._paced:  # the room crossed a step: every signed-in tablet hears it
            self._paced = pace
            tablets = [c for c in self.ctx.clients if c.delegate_id is not None]
            self.ctx.broadcast(tablets, encode(AnnotationPace(pace)), "annotation.pace")
        else:
            self.ctx.send([client], encode(AnnotationPace(pace)))

    # --- who sees what ----------------------------------------------------------------

    def _named(self, annotation: Annotation) -> Annotation:
        snapshot = self.ctx.snapshot
        member = snapshot.member(annotation.author_id) if snapshot else None
        return replace(annotation, author_name=member.name if member else annotation.author_id)

    def _sees(self, annotation: Annotation | None, client: Client) -> bool:
        """Shared with ``client``, and on a document it may read: marks on a confidential
        page say something about it, so they go only where the page may go."""
        if not rules.may_see(annotation, member_id=client.delegate_id, presiding=client.presiding):
            return False
        assert annotation is not None
        doc = self.ctx.snapshot.document(annotation.sha256) if self.ctx.snapshot else None
        if doc is None:
            return False
        if client.display:  # presenter ink, on a page the chair may show on the wall
            return not doc.confidential or display_allowed(self.ctx)
        role = client.role if client.delegate_id is not None else None
        return may_read(doc, role, client.delegate_id)

    def _share(self, before: Annotation | None, after: Annotation) -> None:
        if not _shared(before) and not _shared(after):
            return  # private (or erased) before and after: nobody else to tell
        shown: list[Client] = []
        dropped: list[Client] = []
        for client in self.ctx.clients:
            if self._sees(after, client):
                shown.append(client)
            elif self._sees(before, client):
                dropped.append(client)
        named = self._named(after)
        if shown:
            self.ctx.broadcast(shown, encode(SharedAnnotations((named,))), "annotation.shared")
        if dropped:
            gone = SharedAnnotations((rules.tombstone(named),))
            self.ctx.broadcast(dropped, encode(gone), "annotation.shared")

    def _send_shared(self, client: Client) -> None:
        """Everything ``client`` may show, replacing what it had (in pages)."""
        meeting_id = self.ctx.snapshot.meeting_id if self.ctx.snapshot else None
        visible: Iterable[tuple[Annotation, int]] = ()
        if meeting_id is not None:
            only = None if client.delegate_id else (Visibility.PRESENTER,)
            visible = (
                (self._named(a), size)
                for a, size in repo.shared(self.ctx.store, meeting_id, only)
                if self._sees(a, client)
            )
        for number, page in enumerate(pages(visible)):
            message = SharedAnnotations(tuple(page), replace=number == 0)
            self.ctx.send([client], encode(message))

    def _send_own(self, client: Client) -> None:
        """The member's whole log, for this tablet to fold in (in pages, ``last`` on the
        final one)."""
        if self.ctx.snapshot is None or client.delegate_id is None:
            return
        ops = repo.own_ops(self.ctx.store, self.ctx.snapshot.meeting_id, client.delegate_id)
        chunks = list(pages(ops))
        for number, page in enumerate(chunks):
            message = AnnotationOps(tuple(page), last=number == len(chunks) - 1)
            self.ctx.send([client], encode(message))

    # --- hooks ------------------------------------------------------------------------

    def _connected(self, client: Client) -> None:
        if client.delegate_id is None:  # a resumed sign-in got everything already
            self._send_shared(client)

    def _signed_in(self, client: Client) -> None:
        if client.delegate_id is not None:
            member = client.delegate_id
            tablets = self._tablets.setdefault(member, set())
            tablets.intersection_update(
                c for c in tablets if c.delegate_id == member and c in self.ctx.clients
            )
            tablets.add(client)
        self._send_own(client)
        self._send_shared(client)
        if client.delegate_id is not None:
            self._send_pace(client)

    def _disconnected(self, client: Client) -> None:
        """A closed connection is not kept: with it went its TLS buffers (2,000 tablets
        that signed in and reconnected kept 280 MB of closed connections)."""
        member = client.delegate_id
        for tablets in [self._tablets.get(member, set())] if member else self._tablets.values():
            tablets.discard(client)

    def _signed_out(self, client: Client, was_presiding: bool) -> None:
        self._send_shared(client)  # the presenter ink, which every screen shows

    def _meeting_changed(self, switched: bool) -> None:
        if switched:
            for client in [c for c in self.ctx.clients if c.delegate_id is None]:
                self._send_shared(client)
