"""Follow the chair: the page the chair shows, sent to every tablet that follows and to
the room display, which always follows (it may not send ``following``)."""

from __future__ import annotations

import json
from typing import Any

from room_protocol.codec import encode
from room_protocol.errors import ErrorCode
from room_protocol.live import Following, FollowState, Request, SetFollow
from room_server.meeting.context import Client, Context, Effects, Handler
from room_server.rules import Refusal
from room_server.writer import Transaction

KEY_FOLLOW = "follow"
NOTHING_SHOWN: dict[str, Any] = {"seq": 0, "sha256": None, "page": 0, "fit": "width"}


class FollowWord:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.choice: dict[str, bool] = {}  # client_id -> following (a tablet's own choice)
        self.handlers: dict[type[Request], Handler] = {
            SetFollow: self.set_follow,
            Following: self.following,
        }
        ctx.hooks.connected.append(self._send_position)
        ctx.hooks.meeting_changed.append(self._meeting_changed)

    def _position(self, tx: Transaction | None = None) -> dict[str, Any]:
        if tx is None:
            raw = self.ctx.meta(KEY_FOLLOW)
        else:
            raw = tx.store.meta(f"{self.ctx.meeting_id}:{KEY_FOLLOW}")
        return json.loads(raw) if raw else dict(NOTHING_SHOWN)

    def _message(self, client: Client) -> FollowState:
        position = self._position()
        return FollowState(
            seq=position["seq"],
            sha256=position["sha256"],
            page=position["page"],
            fit=position["fit"],
            following=self.follows(client),
        )

    def follows(self, client: Client) -> bool:
        """A tablet follows unless it chose not to; the room display always does."""
        return client.display or self.choice.get(client.client_id, True)

    def _send_position(self, client: Client) -> None:
        self.ctx.send([client], encode(self._message(client)))

    def _meeting_changed(self, switched: bool) -> None:
        if switched:
            for client in self.ctx.clients:
                self._send_position(client)

    def set_follow(self, tx: Transaction, client: Client, request: SetFollow) -> Effects:
        if request.sha256 is not None:
            doc = self.ctx.meeting().document(request.sha256)
            if doc is None:
                raise Refusal(ErrorCode.NOT_FOUND, "that document is not in this meeting")
            if request.page >= doc.pages:
                raise Refusal(
                    ErrorCode.BAD_FIELD, f"page {request.page} is past the last ({doc.pages - 1})"
                )
        position = {
            "seq": self._position(tx)["seq"] + 1,
            "sha256": request.sha256,
            "page": request.page,
            "fit": request.fit.value,
        }
        self.ctx.set_meta(tx, KEY_FOLLOW, json.dumps(position))
        frame = encode(
            FollowState(position["seq"], request.sha256, request.page, request.fit, following=True)
        )
        return [
            lambda: self.ctx.broadcast(
                [c for c in self.ctx.clients if self.follows(c)],
                frame,
                "follow.state",
            )
        ]

    def following(self, tx: Transaction, client: Client, request: Following) -> Effects:
        def apply() -> None:
            self.choice[client.client_id] = request.follow
            self._send_position(client)

        return [apply]
