"""A member's annotations on this tablet: saved first, sent after, never doubled.

:class:`AnnotationBook` keeps every operation in the tablet's own SQLite file (WAL,
``synchronous=FULL``) before anything else sees it, so a crash of the tablet right after
a stroke loses nothing: the operation is still *pending* when the tablet starts again and
goes to the room once its member is signed in (:class:`AnnotationSync`). The room answers
each operation by its op id and applies a repeat once; operations that came from the
member's other tablets (``annotation.ops``) are folded in by the same last-writer-wins
rule (:class:`room_protocol.annotations.AnnotationSet`), so every tablet of a member and
the room end with the same set.

Other members' shared annotations and the chair's presenter ink (``annotation.shared``)
are kept in memory only: they are theirs, and the room sends them again after a sign-in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from room_protocol.annotations import (
    MAX_BATCH_OPS,
    PATCH_FIELDS,
    Annotation,
    AnnotationBatch,
    AnnotationKind,
    AnnotationOp,
    AnnotationOps,
    AnnotationPace,
    AnnotationPatch,
    AnnotationSet,
    AnnotationsKept,
    BatchedOp,
    OpRecord,
    SharedAnnotations,
    Visibility,
    next_stamp,
    patch_json,
)
from room_protocol.codec import record_from_json
from room_protocol.errors import ErrorCode
from room_protocol.live import Request, SignedIn, SignedOut
from room_protocol.messages import ErrorMessage, Message

__all__ = ["AnnotationBook", "AnnotationFileError", "AnnotationSync", "Change"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ops (
    device_id TEXT NOT NULL, op_id TEXT NOT NULL, author_id TEXT NOT NULL,
    annotation_id TEXT NOT NULL, sha256 TEXT NOT NULL, page INTEGER NOT NULL,
    stamp INTEGER NOT NULL, patch TEXT NOT NULL,
    state TEXT NOT NULL,  -- pending | sent | refused (our own), room (from another tablet)
    refusal TEXT NOT NULL DEFAULT '', seq INTEGER NOT NULL,
    PRIMARY KEY (device_id, op_id)
);
CREATE INDEX IF NOT EXISTS ops_pending ON ops (state, author_id, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

PENDING, SENT, REFUSED, FROM_ROOM = "pending", "sent", "refused", "room"
RETRY_FIRST_S = 1.0  # after the room answered busy: the first wait before sending again
RETRY_MAX_S = 30.0  # ... doubling while it stays busy, up to this


class AnnotationFileError(OSError):
    """The tablet's annotations file cannot be used (damaged, not writable)."""


@dataclass(frozen=True, slots=True)
class Change:
    """What a listener hears: an annotation whose state changed (deleted ones included)."""

    annotation: Annotation
    own: bool  # one of the signed-in member's, else shared by someone or presenter ink


@dataclass(slots=True)
class _Undo:
    author_id: str
    annotation_id: str
    before: AnnotationPatch
    after: AnnotationPatch


@dataclass(slots=True)
class _History:
    done: list[_Undo] = field(default_factory=list)
    undone: list[_Undo] = field(default_factory=list)


def _patch(text: str) -> AnnotationPatch:
    return record_from_json(AnnotationPatch, text, "patch")


class AnnotationBook:
    """Every operation on this tablet's members' annotations, in one SQLite file."""

    def __init__(
        self,
        path: Path,
        device_id: str,
        *,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[Change], None] | None = None,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.device_id = device_id
        self.on_change = on_change
        self.on_pending: Callable[[], None] | None = None  # an own operation was saved
        self.on_answered: Callable[[], None] | None = None  # the room kept or refused one
        self._clock = clock
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            if self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
                raise AnnotationFileError(f"{path}: cannot use write-ahead logging")
            self._db.execute("PRAGMA synchronous = FULL")
            # What is forgotten (notes on a confidential document at the close) is
            # overwritten, not left in free pages of the file.
            self._db.execute("PRAGMA secure_delete = ON")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise AnnotationFileError(
                f"{path}: the annotations file cannot be read ({exc})"
            ) from exc
        self._sets: dict[str, AnnotationSet] = {}
        # (author, annotation) shared at some point: its edits, and its unsharing, are news
        # for other screens (AnnotationSync sends them at once).
        self._ever_shared: set[tuple[str, str]] = set()
        self._shared: dict[tuple[str, str], Annotation] = {}
        self._hidden: set[tuple[str, str]] = set(self._load_hidden())
        self._history: dict[str, _History] = {}
        last = self._db.execute("SELECT max(stamp), max(seq) FROM ops").fetchone()
        self._last_stamp = int(last[0] or 0)
        self._seq = int(last[1] or 0)
        for row in self._db.execute(
            "SELECT * FROM ops WHERE state != ? ORDER BY seq", (REFUSED,)
        ).fetchall():
            self._fold(self._record(row))

    def close(self) -> None:
        self._db.close()

    # --- what the member does (each saved before it returns) ---------------------------

    def draw(
        self,
        author_id: str,
        sha256: str,
        page: int,
        kind: AnnotationKind,
        geometry: Iterable[float],
        *,
        colour: str,
        width: float = 2.0,
        text: str = "",
        visibility: Visibility = Visibility.PRIVATE,
    ) -> Annotation:
        """A new annotation (an ink stroke, a highlight, a note)."""
        annotation_id = f"{self.device_id[:24]}-{secrets.token_hex(8)}"
        patch = AnnotationPatch(
            kind=kind,
            geometry=tuple(float(v) for v in geometry),
            colour=colour,
            width=float(width),
            text=text,
            visibility=visibility,
            deleted=False,
        )
        before = AnnotationPatch(deleted=True)
        return self._do(author_id, annotation_id, sha256, page, before, patch)

    def change(self, author_id: str, annotation_id: str, patch: AnnotationPatch) -> Annotation:
        """Set some fields of one of the member's annotations (text, colour, sharing,
        ``deleted=True`` to erase it)."""
        current = self._set(author_id).get(author_id, annotation_id)
        if current is None:
            raise KeyError(f"no annotation {annotation_id} of {author_id}")
        before = AnnotationPatch(
            **{
                name: getattr(current, name)
                for name in PATCH_FIELDS
                if getattr(patch, name) is not None
            }
        )
        return self._do(author_id, annotation_id, current.sha256, current.page, before, patch)

    def share_page(
        self, author_id: str, sha256: str, page: int, visibility: Visibility
    ) -> list[Annotation]:
        """Share (or make private again) every annotation of the member on one page."""
        return [
            self.change(author_id, a.annotation_id, AnnotationPatch(visibility=visibility))
            for a in self.annotations(author_id, sha256, page)
            if a.visibility != visibility
        ]

    def undo(self, author_id: str) -> Annotation | None:
        history = self._history.setdefault(author_id, _History())
        if not history.done:
            return None
        step = history.done.pop()
        history.undone.append(step)
        return self._apply_own(author_id, step.annotation_id, step.before)

    def redo(self, author_id: str) -> Annotation | None:
        history = self._history.setdefault(author_id, _History())
        if not history.undone:
            return None
        step = history.undone.pop()
        history.done.append(step)
        return self._apply_own(author_id, step.annotation_id, step.after)

    def can_undo(self, author_id: str) -> bool:
        return bool(self._history.get(author_id, _History()).done)

    def can_redo(self, author_id: str) -> bool:
        return bool(self._history.get(author_id, _History()).undone)

    # --- reading ------------------------------------------------------------------------

    def annotations(
        self, author_id: str, sha256: str | None = None, page: int | None = None
    ) -> list[Annotation]:
        """The member's own annotations (not deleted), optionally of one document or page."""
        return [
            a
            for a in self._set(author_id).annotations()
            if not a.deleted
            and (sha256 is None or a.sha256 == sha256)
            and (page is None or a.page == page)
        ]

    def shared(
        self, sha256: str | None = None, page: int | None = None, *, hidden: bool = False
    ) -> list[Annotation]:
        """Others' annotations shared with this tablet (presenter ink included); hidden
        ones only when asked."""
        return sorted(
            (
                a
                for key, a in self._shared.items()
                if (hidden or key not in self._hidden)
                and (sha256 is None or a.sha256 == sha256)
                and (page is None or a.page == page)
            ),
            key=lambda a: (a.sha256, a.page, a.stamp, a.annotation_id),
        )

    def search(self, author_id: str, words: str) -> list[Annotation]:
        """The member's notes and highlights (and shared ones) whose text has ``words``."""
        needle = words.casefold().strip()
        if not needle:
            return []
        found = [*self.annotations(author_id), *self.shared()]
        return [a for a in found if needle in a.text.casefold()]

    def set_hidden(self, author_id: str, annotation_id: str, hidden: bool) -> None:
        key = (author_id, annotation_id)
        if hidden:
            self._hidden.add(key)
        else:
            self._hidden.discard(key)
        self._db.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('hidden', ?)",
            (json.dumps(sorted(self._hidden)),),
        )
        shared = self._shared.get(key)
        if shared is not None and self.on_change:
            self.on_change(Change(shared, own=False))

    def is_hidden(self, author_id: str, annotation_id: str) -> bool:
        return (author_id, annotation_id) in self._hidden

    # --- the room -----------------------------------------------------------------------

    def pending(self, author_id: str) -> list[AnnotationOp]:
        """The member's operations the room has not answered yet, oldest first."""
        rows = self._db.execute(
            "SELECT * FROM ops WHERE state = ? AND author_id = ? ORDER BY seq",
            (PENDING, author_id),
        ).fetchall()
        return [
            AnnotationOp(r[1], r[3], r[4], r[5], r[6], _patch(r[7]))  # op_id, id, sha, page…
            for r in rows
        ]

    def is_shared_op(self, author_id: str, op: AnnotationOp) -> bool:
        """Whether others see what ``op`` does: it shares its annotation (presenter ink
        too), or the annotation was shared before (an edit, an unsharing, an erasing)."""
        if op.patch.visibility not in (None, Visibility.PRIVATE):
            return True
        return (author_id, op.annotation_id) in self._ever_shared

    def pending_count(self) -> int:
        return int(
            self._db.execute("SELECT count(*) FROM ops WHERE state = ?", (PENDING,)).fetchone()[0]
        )

    def answered(self, op_id: str, refusal: str = "") -> None:
        """The room kept our operation ``op_id`` (or refused it, saying why: it is then
        taken out of the fold, as the room never applied it)."""
        state = REFUSED if refusal else SENT
        row = self._db.execute(
            "SELECT author_id FROM ops WHERE device_id = ? AND op_id = ? AND state = ?",
            (self.device_id, op_id, PENDING),
        ).fetchone()
        if row is None:
            return
        self._db.execute(
            "UPDATE ops SET state = ?, refusal = ? WHERE device_id = ? AND op_id = ?",
            (state, refusal, self.device_id, op_id),
        )
        if refusal:
            log.warning("the room refused annotation operation %s: %s", op_id, refusal)
            self._refold(row[0])
        if self.on_answered:
            self.on_answered()

    def from_room(self, message: AnnotationOps | SharedAnnotations) -> None:
        """Operations of the member made on their other tablets, or others' shared ones."""
        if isinstance(message, AnnotationOps):
            self._receive_ops(message.ops)
            return
        if message.replace:
            gone = [a for a in self._shared.values()]
            self._shared.clear()
            for a in gone:
                self._notify(replace(a, deleted=True), own=False)
        for a in message.annotations:
            key = (a.author_id, a.annotation_id)
            if a.deleted:
                self._shared.pop(key, None)
            else:
                self._shared[key] = a
            self._notify(a, own=False)

    def forget_shared(self) -> None:
        """Signed out: others' annotations are not for whoever comes next."""
        gone = list(self._shared.values())
        self._shared.clear()
        for a in gone:
            self._notify(replace(a, deleted=True), own=False)

    def forget_documents(self, hashes: Iterable[str]) -> int:
        """Remove everything about these documents from this tablet (confidential ones at
        a meeting's close): the room keeps them. Pending operations stay until sent."""
        wanted = sorted(set(hashes))
        if not wanted:
            return 0
        marks = ",".join("?" * len(wanted))
        cursor = self._db.execute(
            f"DELETE FROM ops WHERE state != ? AND sha256 IN ({marks})",  # noqa: S608
            (PENDING, *wanted),
        )
        for author in list(self._sets):
            self._refold(author)
        for key, a in list(self._shared.items()):
            if a.sha256 in wanted:
                del self._shared[key]
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # nor in the write-ahead log
        return cursor.rowcount

    # --- inside -------------------------------------------------------------------------

    def _set(self, author_id: str) -> AnnotationSet:
        return self._sets.setdefault(author_id, AnnotationSet())

    def _do(
        self,
        author_id: str,
        annotation_id: str,
        sha256: str,
        page: int,
        before: AnnotationPatch,
        after: AnnotationPatch,
    ) -> Annotation:
        history = self._history.setdefault(author_id, _History())
        history.done.append(_Undo(author_id, annotation_id, before, after))
        history.undone.clear()
        return self._apply_own(author_id, annotation_id, after, sha256, page)

    def _apply_own(
        self,
        author_id: str,
        annotation_id: str,
        patch: AnnotationPatch,
        sha256: str | None = None,
        page: int | None = None,
    ) -> Annotation:
        if sha256 is None or page is None:
            current = self._set(author_id).get(author_id, annotation_id)
            if current is None:
                raise KeyError(f"no annotation {annotation_id} of {author_id}")
            sha256, page = current.sha256, current.page
        self._last_stamp = next_stamp(int(self._clock() * 1000), self._last_stamp)
        self._seq += 1
        record = OpRecord(
            f"a-{self.device_id[:24]}-{self._seq}-{secrets.token_hex(4)}",
            self.device_id,
            author_id,
            annotation_id,
            sha256,
            page,
            self._last_stamp,
            patch,
        )
        self._store(record, PENDING)  # durable before the member sees it
        folded = self._fold(record)
        assert folded is not None
        if self.on_pending:
            self.on_pending()
        return folded

    def _store(self, op: OpRecord, state: str) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO ops (device_id, op_id, author_id, annotation_id, sha256, "
            "page, stamp, patch, state, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                op.device_id,
                op.op_id,
                op.author_id,
                op.annotation_id,
                op.sha256,
                op.page,
                op.stamp,
                patch_json(op.patch),
                state,
                self._seq,
            ),
        )
        return cursor.rowcount == 1

    def _receive_ops(self, ops: Iterable[OpRecord]) -> None:
        self._db.execute("BEGIN")
        try:
            fresh = []
            for op in ops:
                self._last_stamp = max(self._last_stamp, op.stamp)
                self._seq += 1
                if op.device_id == self.device_id:
                    # Ours, kept by the room though its ack was lost with a connection.
                    self._db.execute(
                        "UPDATE ops SET state = ? WHERE device_id = ? AND op_id = ? AND state = ?",
                        (SENT, op.device_id, op.op_id, PENDING),
                    )
                if self._store(op, FROM_ROOM):
                    fresh.append(op)  # not on this tablet (yet): another's, or a wiped file
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        for op in fresh:
            self._fold(op)

    def _fold(self, op: OpRecord) -> Annotation | None:
        if op.patch.visibility not in (None, Visibility.PRIVATE):
            self._ever_shared.add((op.author_id, op.annotation_id))
        try:
            folded = self._set(op.author_id).apply(op)
        except ValueError as exc:
            log.warning("annotation operation %s left out: %s", op.op_id, exc)
            return None
        if folded is not None:
            self._notify(folded, own=True)
        return folded

    def _refold(self, author_id: str) -> None:
        before = {a.annotation_id: a for a in self._set(author_id).annotations()}
        fresh = AnnotationSet()
        for row in self._db.execute(
            "SELECT * FROM ops WHERE author_id = ? AND state != ? ORDER BY seq",
            (author_id, REFUSED),
        ).fetchall():
            with contextlib.suppress(ValueError):
                fresh.apply(self._record(row))
        self._sets[author_id] = fresh
        after = {a.annotation_id: a for a in fresh.annotations()}
        for annotation_id, old in before.items():
            new = after.get(annotation_id)
            if new != old:
                self._notify(new or replace(old, deleted=True), own=True)

    def _notify(self, annotation: Annotation, *, own: bool) -> None:
        if self.on_change:
            self.on_change(Change(annotation, own))

    def _record(self, row: tuple[object, ...]) -> OpRecord:
        device, op_id, author, annotation_id, sha256, page, stamp, patch = row[:8]
        return OpRecord(
            str(op_id),
            str(device),
            str(author),
            str(annotation_id),
            str(sha256),
            int(page),  # type: ignore[call-overload]
            int(stamp),  # type: ignore[call-overload]
            _patch(str(patch)),
        )

    def _load_hidden(self) -> list[tuple[str, str]]:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'hidden'").fetchone()
        return [(str(a), str(b)) for a, b in json.loads(row[0])] if row else []


class BatchPace:
    """When a tablet's gathered private operations go to the room, on any clock (seconds).

    ``seconds`` (the room's ``annotation.pace``) after the last batch left; after a quiet
    spell (nothing sent for that long) at a moment drawn once in the next ``seconds``
    (tablets that start drawing together do not send together), and every later edit is
    gathered until that same moment: an edit never brings it forward, so the room's
    batches stay spread over the pace (each tablet keeps its own phase after that).
    """

    __slots__ = ("_draw", "_due", "last_sent")

    def __init__(self, draw: Callable[[], float] | None = None) -> None:
        # uniform in [0, 1): random.random (not cryptography), or a bench's seeded one
        self._draw = draw or random.random
        self.last_sent = -math.inf  # the clock's time the last batch left
        self._due: float | None = None  # the moment drawn or set for the gathered edits

    def due(self, now: float, seconds: float) -> float:
        """The moment operations gathered by ``now`` go, at a pace of ``seconds``."""
        if self._due is None:
            due = self.last_sent + seconds
            if due < now:  # a quiet spell: a random part of the pace from now
                due = now + seconds * self._draw()
            self._due = due
        return self._due

    def sent(self, now: float) -> None:
        """A batch left at ``now`` (whatever sent it): the next gathers from here."""
        self.last_sent = now
        self._due = None

    def forget(self) -> None:
        """The moment came and went with nothing sent (nothing was left pending)."""
        self._due = None


class AnnotationSync:
    """Carries a book's pending operations to the room while their member is signed in.

    ``send`` is :meth:`room_client.connection.RoomConnection.request`: it keeps a request
    until the room answers, sends it again after a reconnect with the same op id, and
    returns the answer. Pending operations go in batches (``annotation.batch``, at most
    :data:`MAX_BATCH_OPS` and about :data:`BATCH_BYTES`), one batch on its way at a time;
    the book marks each operation sent (or refused) when the answer comes.

    The pace: the room says how long a tablet gathers its private operations
    (``annotation.pace``, longer in a full room); a private edit goes with the next batch,
    ``pace`` seconds after the last one, or after a quiet spell a random part of ``pace``
    from now (tablets that start drawing together do not send together), the same moment
    for every edit until then (:class:`BatchPace`). An edit of a
    shared annotation (or one that shares or unshares it) goes at once: others see it
    live. After a ``busy`` answer the batch waits a growing, jittered time.
    """

    def __init__(self, book: AnnotationBook, send: Callable[[Request], Awaitable[Message]]) -> None:
        self.book = book
        self._send = send
        self._author: str | None = None
        self.pace = 0.0  # seconds: the room's last annotation.pace
        self._sending: asyncio.Task[None] | None = None  # the batch on its way
        self._timer: asyncio.TimerHandle | None = None  # the next paced (or retried) batch
        self._backing_off = False  # the room said busy: wait for the timer
        self._busy_in_a_row = 0  # answers "busy" since the last batch taken: the backoff
        self._pace = BatchPace()  # on the event loop's clock
        book.on_pending = self._saved

    @property
    def author(self) -> str | None:
        """The member signed in on this tablet, whose annotations the tablet edits."""
        return self._author

    def receive(self, message: Message) -> None:
        """Every message from the room goes through here (the rest are ignored)."""
        if isinstance(message, SignedIn):
            if message.delegate_id != self._author:
                self.book.forget_shared()
            self._author = message.delegate_id
            self.flush()
        elif isinstance(message, SignedOut):
            self._author = None
            self.book.forget_shared()
        elif isinstance(message, AnnotationPace):
            self.pace = message.seconds
        elif isinstance(message, AnnotationOps | SharedAnnotations):
            self.book.from_room(message)

    def _saved(self) -> None:
        """An edit was saved: on its way now or when the pace allows, while a member is
        signed in (outside a running event loop it waits for the next sign-in or flush)."""
        self._schedule(now=False)

    def flush(self) -> None:
        """Send the signed-in member's pending operations now (a sign-in, a reconnect)."""
        self._schedule(now=True)

    def _schedule(self, *, now: bool) -> None:
        if self._author is None or self._sending is not None or self._backing_off:
            return  # the answer (or the retry) schedules what is still pending
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no event loop yet: the next sign-in or flush sends them
        pending = self.book.pending(self._author)
        if not pending:
            return
        loop = asyncio.get_running_loop()
        due = self._pace.due(loop.time(), self.pace)
        if (
            now
            or loop.time() >= due
            or any(self.book.is_shared_op(self._author, op) for op in pending)
        ):
            self._cancel_timer()
            self._sending = asyncio.ensure_future(self._deliver(_batch_of(pending)))
        elif self._timer is None:
            self._timer = loop.call_at(due, self._timed)

    def _timed(self) -> None:
        self._timer = None
        self._backing_off = False
        self._pace.forget()
        self._schedule(now=True)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def _deliver(self, ops: list[AnnotationOp]) -> None:
        self._pace.sent(asyncio.get_running_loop().time())
        batch = AnnotationBatch(f"b-{secrets.token_hex(8)}", tuple(BatchedOp.of(op) for op in ops))
        try:
            answer = await self._send(batch)
        finally:
            self._sending = None
        if isinstance(answer, AnnotationsKept):
            self._busy_in_a_row = 0
            refused = {r.op_id: r.message or r.code for r in answer.refused}
            for op in ops:
                self.book.answered(op.op_id, refusal=refused.get(op.op_id, ""))
        elif isinstance(answer, ErrorMessage):
            if answer.code in (ErrorCode.FORBIDDEN, ErrorCode.BAD_STATE) and self._author is None:
                return  # signed out meanwhile: stays pending for the member's next sign-in
            if answer.code in (ErrorCode.INTERNAL, ErrorCode.BUSY, ErrorCode.STORAGE):
                # The room did not keep them now (busy with others' strokes, a failed
                # write, its disk full): they stay pending and go again after a growing,
                # jittered wait.
                self._busy_in_a_row += 1
                self._send_again_later()
                return
            for op in ops:  # the whole batch refused (the meeting closed, ...)
                self.book.answered(op.op_id, refusal=answer.message or answer.code)
        self._schedule(now=False)

    def _send_again_later(self) -> None:
        wait = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** min(self._busy_in_a_row - 1, 10))
        # tablets refused together do not come back together
        wait *= random.uniform(0.5, 1.5)  # noqa: S311  jitter, not cryptography
        self._cancel_timer()
        self._backing_off = True
        self._timer = asyncio.get_running_loop().call_later(wait, self._timed)

    async def stop(self) -> None:
        self._cancel_timer()
        task, self._sending = self._sending, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


BATCH_BYTES = 400_000  # about: a batch's frame stays well under the 1 MiB message limit


def _batch_of(pending: list[AnnotationOp]) -> list[AnnotationOp]:
    """The oldest pending operations that fit one batch (at least one)."""
    batch: list[AnnotationOp] = []
    size = 0
    for op in pending[:MAX_BATCH_OPS]:
        size += len(patch_json(op.patch)) + 300  # ids, stamp, page and keys around it
        if batch and size > BATCH_BYTES:
            break
        batch.append(op)
    return batch
