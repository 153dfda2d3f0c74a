"""Follow the chair: the page the chair shows, sent to every tablet that follows and to
the room display, which always follows (it may not send ``following``).

The display never follows onto a confidential document's page unless the chair allowed it
(``display.allow_confidential``, off for every new meeting): it is sent the position
without the document (``withheld``) and shows "Confidential".
"""

from __future__ import annotations

import json
from typing import Any

from room_protocol.codec import encode
from room_protocol.errors import ErrorCode
from room_protocol.live import (
    AllowConfidentialOnDisplay,
    Following,
    FollowState,
    Request,
    SetFollow,
)
from room_server.meeting.context import Client, Context, Effects, Handler
from room_server.rules import Refusal
from room_server.writer import Transaction

KEY_FOLLOW = "follow"
KEY_DISPLAY_CONFIDENTIAL = "display_confidential"  # "1": the chair allowed it


def display_allowed(ctx: Context) -> bool:
    """Whether the chair let the room display show confidential pages in this meeting."""
    return ctx.meta(KEY_DISPLAY_CONFIDENTIAL) == "1"


NOTHING_SHOWN: dict[str, Any] = {"seq": 0, "sha256": None, "page": 0, "fit": "width"}


class FollowWord:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.choice: dict[str, bool] = {}  # client_id -> following (a tablet's own choice)
        self.handlers: dict[type[Request], Handler] = {
            SetFollow: self.set_follow,
            Following: self.following,
            AllowConfidentialOnDisplay: self.allow_on_display,
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
        return self._state(
            client,
            position,
            following=self.follows(client),
            allowed=self.display_allowed(),
        )

    def _state(
        self, client: Client, position: dict[str, Any], *, following: bool, allowed: bool
    ) -> FollowState:
        """The position as ``client`` may see it: the room display is not told a
        confidential document's page unless the chair allowed it."""
        sha256, page = position["sha256"], position["page"]
        doc = self.ctx.snapshot.document(sha256) if self.ctx.snapshot and sha256 else None
        withheld = client.display and doc is not None and doc.confidential and not allowed
        return FollowState(
            seq=position["seq"],
            sha256=None if withheld else sha256,
            page=0 if withheld else page,
            fit=position["fit"],
            following=following,
            confidential_on_display=allowed,
            withheld=withheld,
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

    def display_allowed(self) -> bool:
        return display_allowed(self.ctx)

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
        allowed = tx.store.meta(f"{self.ctx.meeting_id}:{KEY_DISPLAY_CONFIDENTIAL}") == "1"

        def send() -> None:
            for display in (False, True):  # one frame for the tablets, one for displays
                targets = [c for c in self.ctx.clients if c.display is display and self.follows(c)]
                if targets:
                    state = self._state(targets[0], position, following=True, allowed=allowed)
                    self.ctx.broadcast(targets, encode(state), "follow.state")

        return [send]

    def allow_on_display(
        self, tx: Transaction, client: Client, request: AllowConfidentialOnDisplay
    ) -> Effects:
        """The chair lets the room display show confidential pages, or stops it; every
        device hears the new setting with the current position."""
        self.ctx.set_meta(tx, KEY_DISPLAY_CONFIDENTIAL, "1" if request.allow else "0")

        def send() -> None:
            for each in self.ctx.clients:
                self._send_position(each)

        return [send]

    def following(self, tx: Transaction, client: Client, request: Following) -> Effects:
        def apply() -> None:
            self.choice[client.client_id] = request.follow
            self._send_position(client)

        return [apply]
