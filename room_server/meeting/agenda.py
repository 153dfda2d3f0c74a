"""The agenda in progress: the current item and its timer, done marks, live edits
(new items, moves, renumbering) and documents attached during the meeting."""

from __future__ import annotations

import secrets

from room_protocol.errors import ErrorCode
from room_protocol.live import (
    AddItem,
    AttachDocument,
    MoveItem,
    Request,
    SetCurrentItem,
    SetItemDone,
    StepItem,
)
from room_server.meeting.context import Client, Context, Effects, Handler
from room_server.repo import agenda as repo
from room_server.rules import Refusal
from room_server.rules import agenda as rules
from room_server.writer import Transaction


class AgendaWord:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.handlers: dict[type[Request], Handler] = {
            SetCurrentItem: self.set_current,
            StepItem: self.step,
            SetItemDone: self.set_done,
            AddItem: self.add_item,
            MoveItem: self.move_item,
            AttachDocument: self.attach_document,
        }

    def _item(self, tx: Transaction, item_id: str) -> dict[str, object]:
        row = repo.item(tx.store, self.ctx.meeting_id, item_id)
        if row is None:
            raise Refusal(ErrorCode.NOT_FOUND, f"agenda item {item_id!r} does not exist")
        return row

    def _changed(self, tx: Transaction) -> Effects:
        tx.store.bump_revision()
        return [self.ctx.publish_meeting]

    def _make_current(self, tx: Transaction, item_id: str | None) -> Effects:
        meeting_id = self.ctx.meeting_id
        previous, started = repo.current(tx.store, meeting_id)
        if previous == item_id:
            return []
        now = self.ctx.clock()
        spent = max(0.0, now - started) if started is not None else None
        repo.make_current(tx.store, meeting_id, item_id, now, spent)
        return self._changed(tx)

    def set_current(self, tx: Transaction, client: Client, request: SetCurrentItem) -> Effects:
        self._item(tx, request.item_id)
        return self._make_current(tx, request.item_id)

    def step(self, tx: Transaction, client: Client, request: StepItem) -> Effects:
        meeting_id = self.ctx.meeting_id
        order = rules.walk_order(repo.items(tx.store, meeting_id))
        current, _ = repo.current(tx.store, meeting_id)
        return self._make_current(tx, rules.step_target(order, current, request.direction))

    def set_done(self, tx: Transaction, client: Client, request: SetItemDone) -> Effects:
        self._item(tx, request.item_id)
        repo.set_done(tx.store, self.ctx.meeting_id, request.item_id, request.done)
        return self._changed(tx)

    def add_item(self, tx: Transaction, client: Client, request: AddItem) -> Effects:
        meeting_id = self.ctx.meeting_id
        if not request.title.strip():
            raise Refusal(ErrorCode.BAD_FIELD, "an agenda item needs a title")
        if request.parent_id is not None:
            self._item(tx, request.parent_id)
        items = repo.items(tx.store, meeting_id)
        rules.check_new_item(items, request.title, request.parent_id, request.after_id)
        item_id = "live-" + secrets.token_hex(4)
        repo.insert(
            tx.store,
            meeting_id,
            item_id,
            request.parent_id,
            request.title.strip(),
            request.planned_minutes,
        )
        order = rules.siblings(items, request.parent_id)
        at = order.index(request.after_id) + 1 if request.after_id is not None else 0
        order.insert(at, item_id)
        repo.place(tx.store, meeting_id, request.parent_id, order)
        self._renumber(tx)
        return self._changed(tx)

    def move_item(self, tx: Transaction, client: Client, request: MoveItem) -> Effects:
        meeting_id = self.ctx.meeting_id
        row = self._item(tx, request.item_id)
        parent = request.parent_id
        if parent is not None:
            self._item(tx, parent)
        items = repo.items(tx.store, meeting_id)
        rules.check_move(items, request.item_id, parent)
        old_parent = row["parent_id"]
        assert old_parent is None or isinstance(old_parent, str)
        old = rules.siblings(items, old_parent)
        old.remove(request.item_id)
        repo.place(tx.store, meeting_id, old_parent, old)
        new = rules.siblings(items, parent) if parent != old_parent else old
        if parent != old_parent and request.item_id in new:
            new.remove(request.item_id)
        new.insert(min(request.index, len(new)), request.item_id)
        repo.place(tx.store, meeting_id, parent, new)
        self._renumber(tx)
        return self._changed(tx)

    def _renumber(self, tx: Transaction) -> None:
        meeting_id = self.ctx.meeting_id
        repo.set_numbers(tx.store, meeting_id, rules.numbers(repo.items(tx.store, meeting_id)))

    def attach_document(self, tx: Transaction, client: Client, request: AttachDocument) -> Effects:
        meeting_id = self.ctx.meeting_id
        item = self._item(tx, request.item_id)
        doc = repo.document(tx.store, meeting_id, request.sha256)
        if doc is None:
            raise Refusal(
                ErrorCode.NOT_FOUND,
                "that document is not in this meeting; add it with room-server add-document",
            )
        if repo.is_attached(tx.store, meeting_id, request.item_id, doc["id"]):
            raise Refusal(ErrorCode.BAD_STATE, "that document is already on that item")
        repo.attach(tx.store, meeting_id, request.item_id, doc["id"])
        repo.add_notice(
            tx.store,
            meeting_id,
            "n-" + secrets.token_hex(4),
            f"{doc['title']} added to item {item['number']} {item['title']}",
            request.sha256,
            request.item_id,
        )
        return self._changed(tx)
