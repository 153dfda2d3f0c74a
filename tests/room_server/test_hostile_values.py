"""Well-formed requests with hostile values, from a signed-in delegate to a real room:
each gets a clear error (never ``internal``), changes nothing, and leaves no traceback in
the room's log. Each case is an input the protocol fuzz drill found."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection

from room_protocol.codec import decode, encode
from room_protocol.errors import ErrorCode
from room_protocol.live import Ack, SignIn
from room_protocol.messages import Channel, ErrorMessage, MeetingState, Message
from tests.room_server.test_abuse import count, raw_channel, server_log
from tests.rooms import running_room, timeout, write_package


async def answer(ws: ClientConnection, op_id: str) -> Message:
    """The room's answer to ``op_id`` (other news skipped): a message the room could not
    decode is refused without a ``ref``."""
    while True:
        message = decode(await asyncio.wait_for(ws.recv(), timeout(10)))
        if isinstance(message, ErrorMessage) and message.ref in (op_id, None):
            return message
        if getattr(message, "op_id", None) == op_id:
            return message


async def signed_in_delegate(ws: ClientConnection) -> str:
    """Signs d2 in on ``ws``; the sha256 of a document of the meeting."""
    sha = ""
    await ws.send(encode(SignIn("in", delegate_id="d2", pin="4444")))
    while True:
        message = decode(await asyncio.wait_for(ws.recv(), timeout(10)))
        if isinstance(message, MeetingState) and message.meeting is not None:
            sha = message.meeting.documents[0].sha256
        if getattr(message, "op_id", None) == "in":
            assert isinstance(message, Ack), message
            assert sha
            return sha


def lone_surrogates(sha: str) -> list[tuple[dict[str, Any], str]]:
    """Requests whose text holds half a UTF-16 surrogate pair (JSON may escape one; UTF-8
    cannot carry it, so SQLite and the WebSocket layer refused it after the answer was
    promised), and the table each would have written to."""
    return [
        (
            {"type": "service.request", "op_id": "s1", "kind": "water", "text": "\ud800"},
            "service_calls",
        ),
        (
            {
                "type": "annotation.op",
                "op_id": "a1",
                "annotation_id": "note-1",
                "sha256": sha,
                "page": 0,
                "stamp": 1,
                "patch": {"kind": "note", "text": "see \udc00 here", "visibility": "everyone"},
            },
            "annotation_ops",
        ),
    ]


async def test_text_with_a_lone_surrogate_is_refused_as_a_bad_field(tmp_path: Path) -> None:
    """Found by the protocol fuzz drill: ``internal`` to a service request whose text was
    ``"\\ud800"`` (SQLite cannot encode it), after the request had been accepted."""
    package = write_package(tmp_path / "package", voting=True)
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        ws = await raw_channel(room, Channel.CONTROL, "tab-d2")
        async with ws:
            sha = await signed_in_delegate(ws)
            for body, table in lone_surrogates(sha):
                before = count(room, table)
                # json.dumps escapes the surrogate (\ud800), as a hostile client would
                await ws.send(json.dumps(body))
                got = await answer(ws, body["op_id"])
                assert isinstance(got, ErrorMessage), got
                assert got.code == ErrorCode.BAD_FIELD.value, got
                assert "surrogate" in got.message, got
                assert count(room, table) == before
            # the connection still works
            await ws.send(json.dumps({"type": "service.request", "op_id": "s2", "kind": "water"}))
            assert isinstance(await answer(ws, "s2"), Ack)
        assert "Traceback" not in server_log(room), server_log(room)
