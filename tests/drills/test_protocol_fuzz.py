"""Drill: the protocol fuzzed through a real room server from many connections.

Malformed JSON, truncated messages and frames, oversized messages, wrong types,
out-of-order messages and valid messages with hostile values (huge integers, NaN, negative
pages, unknown ids, 1 MB strings, lone surrogates) go to a real server process over real
TLS, from enrolled devices some of which a delegate signed in on; so do requests those
delegates may send that name the room's own documents, open poll and members, with edge
values (the last page and the one past it, a document's size as the offset, another
member's annotation, a ballot for a proxy's giver) and often one hostile field, so that
they reach each handler's own checks. The room stays up and answers every message with a
clear error (a known code and a sentence, never ``internal``) or closes that one
connection with a close code that says why; a well-behaved tablet following the chair sees
every page change the chair makes meanwhile; what the room refused adds nothing to its
database (page counts compared, with room only for what it accepted).

Short form (``make test``): a few thousand messages from 8 connections. Long form
(``HEMICYCLE_DRILLS=long``): tens of thousands from 24. The seed is printed;
``HEMICYCLE_DRILL_SEED`` replays a run. Every loop is bounded in count and in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import sqlite3
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from room_protocol import PROTOCOL_VERSION
from room_protocol.codec import MAX_MESSAGE_BYTES, decode, encode
from room_protocol.errors import ErrorCode, ProtocolError
from room_protocol.live import Ack, FollowState, SetFollow, SignedOut, SignIn
from room_protocol.messages import (
    Channel,
    DocumentEnd,
    DocumentInfo,
    ErrorMessage,
    Hello,
    Message,
)
from room_protocol.voting import CheckIn, OpenPoll
from tests.drills.scale import drill_marks, seeded, sized
from tests.live_clients import Tablet, until
from tests.room_server.test_abuse import raw_channel
from tests.rooms import RunningRoom, running_room, timeout, write_package
from tests.test_protocol_doc import json_examples

pytestmark = drill_marks()

MESSAGES = sized(3_000, 30_000)
CONNECTIONS = sized(8, 24)
SECONDS = sized(90.0, 900.0)  # the whole fuzz, at most
ANSWER_S = 10.0  # one message's answer, at most
# Delegates a fuzzing connection may be signed in as (none of them chairs: the follower's
# check is about the real chair's page changes).
MEMBERS = {"d2": "4444", "d3": "6666", "d4": "7777"}
LIMITS = {"requests_per_second": 100_000, "request_burst": 100_000}
ANNOTATION_BYTES = 64 * 1024  # a member's annotations, at most, in this room
ANNOTATIONS = f"[annotations]\nmax_per_member = 200\nmax_bytes_per_member = {ANNOTATION_BYTES}\n"
# Close codes that say why: RFC 6455 §7.4.1 (protocol error, bad data, policy, too big)
# and the room's own (4000 protocol error, 4001 version mismatch, 4003 not enrolled).
CLEAR_CLOSES = {1002, 1007, 1008, 1009, 4000, 4001, 4003}
KNOWN_CODES = {code.value for code in ErrorCode} - {ErrorCode.INTERNAL.value}


def examples() -> list[dict[str, Any]]:
    """Every message of docs/protocol.md, as JSON objects: the fuzz's seed corpus."""
    return [json.loads(text) for _, text in json_examples()]


HOSTILE: list[Callable[[random.Random], Any]] = [
    lambda r: 10**30,
    lambda r: 2**63,
    lambda r: -(2**63) - 1,
    lambda r: -1,
    lambda r: -r.randint(2, 10**6),
    lambda r: 1e308,
    lambda r: -0.0,
    lambda r: float("nan"),  # written as NaN, which JSON does not have
    lambda r: float("-inf"),
    lambda r: 0.5,
    lambda r: None,
    lambda r: True,
    lambda r: "",
    lambda r: "nope-" + str(r.randint(0, 999)),
    lambda r: "0" * 64,
    lambda r: "../../../etc/passwd",
    lambda r: "\x00\x01\x1b[31m",
    lambda r: "\ud800",  # a lone surrogate: JSON may carry it, UTF-8 may not
    lambda r: r.choice(("a\udc00b", "\udbff", "\ud83d")),  # inside text, half a pair
    lambda r: "x" * r.choice((65, 1_001, 10_000)),
    lambda r: "ư" * 200_000,  # 400 kB in UTF-8
    lambda r: [],
    lambda r: [r.random()] * r.choice((3, 1_000)),
    lambda r: {"a": {"b": [1, 2, {"c": None}]}},
]
BIG_STRING = 1_000_000  # "1 MB strings": under the message limit, over every field's


@dataclass
class Tally:
    sent: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    accepted: int = 0  # answered with an ack (or another non-error answer)
    closes: dict[int, int] = field(default_factory=dict)
    unclear: list[str] = field(default_factory=list)

    def error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1

    def closed(self, code: int) -> None:
        self.closes[code] = self.closes.get(code, 0) + 1


def dumps(body: Any, rng: random.Random) -> str:
    text = json.dumps(body, ensure_ascii=rng.random() < 0.5, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate goes escaped, as JSON allows
        return json.dumps(body, separators=(",", ":"))
    return text


def hostile_value(rng: random.Random) -> Any:
    return rng.choice(HOSTILE)(rng)


def mutated(corpus: list[dict[str, Any]], rng: random.Random, op_id: str) -> str:
    """A message of the corpus with one to three fields given hostile values (or removed,
    or one added); requests keep ``op_id`` so that their answer can be told apart."""
    body = dict(rng.choice(corpus))
    if "op_id" in body:
        body["op_id"] = op_id
    keys = [k for k in body if k != "type"]
    numbers = [k for k in keys if k in ("page", "offset", "seats", "seconds", "stamp")]
    if numbers and rng.random() < 0.3:  # negative pages and offsets, huge counts
        body[rng.choice(numbers)] = rng.choice((-1, -(10**12), 2**53 + 1, 10**30))
        return dumps(body, rng)
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if keys and roll < 0.8:
            body[rng.choice(keys)] = hostile_value(rng)
        elif keys and roll < 0.9:
            body.pop(rng.choice(keys), None)
        else:
            body[f"extra{rng.randint(0, 9)}"] = hostile_value(rng)
    if rng.random() < 0.05:
        body["type"] = hostile_value(rng)
    return dumps(body, rng)


# Polls the chair may open before the fuzz (a named one whose vote may change, a secret
# election) and their options, so that ballots reach the checks past "voting is closed".
OPEN_POLLS = {"p-budget": ("yes", "no", "abstain"), "p-board": ("c-lan", "c-minh", "c-hoa")}
TEXTS: list[Callable[[random.Random], str]] = [
    lambda r: "",
    lambda r: "Still water, please",
    lambda r: "x" * r.choice((280, 281, 2_000, 2_001)),
    lambda r: "ư" * r.choice((280, 2_000)),  # at the limits in characters, twice in bytes
    lambda r: "\U0001f600" * 140,  # astral: a surrogate pair each in JSON's escapes
    lambda r: r.choice(("a\ud800b", "\udfff", "\ud83d")),  # half a pair
    lambda r: "\u202e\x00\x1b[2J\r\n",
]


def _text(rng: random.Random) -> str:
    return rng.choice(TEXTS)(rng)


def _patch(rng: random.Random) -> dict[str, Any]:
    patch: dict[str, Any] = {
        "kind": rng.choice(("ink", "highlight", "note")),
        "geometry": [
            rng.choice((0.0, -0.0, 1e5, -1e5, 12.5)) for _ in range(rng.choice((0, 1, 2, 4, 7)))
        ],
        "colour": rng.choice(("#1d4ed8", "#FFFFFF", "#abc")),
        "width": rng.choice((0.1, 2.0, 100, 100.5, 0.09)),
        "text": _text(rng),
        "visibility": rng.choice(("private", "chair", "everyone", "presenter")),
        "deleted": rng.choice((True, False)),
    }
    return {k: v for k, v in patch.items() if rng.random() < 0.6} or {"deleted": False}


def _annotation(documents: list[DocumentInfo], rng: random.Random, op_id: str) -> dict[str, Any]:
    doc = rng.choice(documents)
    return {
        "op_id": op_id,
        # a few ids shared by every fuzzer: another member's annotation, another page
        "annotation_id": f"note-{rng.randrange(6)}",
        "sha256": doc.sha256,
        "page": rng.choice((0, doc.pages - 1, doc.pages, doc.pages + 1, 100_000)),
        "stamp": rng.choice((0, 1, rng.randrange(2**40), 2**53)),
        "patch": _patch(rng),
    }


def in_context(
    documents: list[DocumentInfo],
    rng: random.Random,
    op_id: str,
    member: str | None,
    channel: Channel,
) -> str:
    """A request this tablet may send, naming what is in this room (its documents and
    their pages and sizes, the open polls and their options, its members), with edge
    values, and half the time one field (maybe nested) hostile: past the codec and "not
    found", into each handler's own checks."""
    doc = rng.choice(documents)
    if channel is Channel.DOCUMENTS:
        offsets = (0, doc.size - 1, doc.size, doc.size + 1, 2**53)
        body: dict[str, Any] = {"type": "document.fetch", "sha256": doc.sha256}
        body["offset"] = rng.choice(offsets)
    else:
        poll = rng.choice(list(OPEN_POLLS))
        options = [*OPEN_POLLS[poll], "yes", "nope"]
        voters = [member or "d2", "d1", "d5", *MEMBERS]  # d5 gave d1 their proxy
        body = rng.choice(
            (
                {
                    "type": "service.request",
                    "kind": rng.choice(("water", "other")),
                    "text": _text(rng),
                },
                {"type": "floor.request", "kind": rng.choice(("speak", "point_of_order"))},
                {"type": "floor.withdraw"},
                {"type": "follow.mode", "follow": rng.random() < 0.5},
                {"type": "session.unlock", "pin": MEMBERS.get(member or "", "1234")},
                {
                    "type": "poll.cast",
                    "poll_id": poll,
                    "delegate_id": rng.choice(voters),
                    "choices": rng.sample(options, rng.choice((0, 1, 1, 2, 3))),
                },
                {"type": "annotation.op", **_annotation(documents, rng, op_id)},
                {
                    "type": "annotation.batch",
                    "ops": [
                        _annotation(documents, rng, f"{op_id}.{i % 3}")  # some ids twice
                        for i in range(rng.choice((1, 2, 5)))
                    ],
                },
            )
        )
        body = {"type": body["type"], "op_id": op_id, **body}
    if rng.random() < 0.5:
        leaves = list(_leaves(body))
        if leaves:
            parent, key = rng.choice(leaves)
            parent[key] = hostile_value(rng)
    return dumps(body, rng)


def _leaves(value: Any) -> Any:
    """(container, key) of every field and item below ``value`` but its type and op id."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if key in ("type", "op_id") and isinstance(value, dict) and "type" in value:
            continue
        yield value, key
        if isinstance(item, dict | list) and item:
            yield from _leaves(item)


def malformed(corpus: list[dict[str, Any]], rng: random.Random, op_id: str) -> str | bytes:
    valid = json.dumps({**rng.choice(corpus), "op_id": op_id}, separators=(",", ":"))
    choice = rng.randrange(9)
    if choice == 0:  # truncated
        return valid[: rng.randrange(len(valid))]
    if choice == 1:  # bytes that are not UTF-8 (a binary frame)
        return rng.randbytes(rng.randint(1, 300))
    if choice == 2:
        return rng.choice(("null", "[]", "42", '"hello"', "{}", "", " ", "true"))
    if choice == 3:  # nested past any recursion limit
        depth = rng.choice((1_000, 100_000))
        return "[" * depth + "]" * depth
    if choice == 4:  # JSON's forbidden constants, in place of a number
        return valid.replace(":0", ":NaN", 1).replace(":1", ":Infinity", 1)
    if choice == 5:  # a duplicate key
        return valid[:-1] + ',"type":"ack"}'
    if choice == 6:  # one byte flipped
        i = rng.randrange(len(valid))
        return valid[:i] + chr(rng.randrange(32, 127)) + valid[i + 1 :]
    if choice == 7:  # a field holding a 1 MB string
        body = {**rng.choice(corpus), "op_id": op_id}
        keys = [k for k in body if k not in ("type", "op_id")] or ["text"]
        body[rng.choice(keys)] = "a" * BIG_STRING
        return json.dumps(body, separators=(",", ":"))
    return json.dumps({"type": f"no.such.{rng.randint(0, 99)}", "op_id": op_id})


def oversized(rng: random.Random) -> str:
    return '{"type":"announce","op_id":"big","text":"' + "z" * (MAX_MESSAGE_BYTES + 10) + '"}'


def out_of_order(rng: random.Random, op_id: str, shas: list[str]) -> str:
    """Valid messages at the wrong moment or on the wrong channel."""
    return rng.choice(
        (
            encode(Hello(PROTOCOL_VERSION, Channel.CONTROL, "again")),
            json.dumps({"type": "document.fetch", "sha256": rng.choice(shas), "offset": 0}),
            json.dumps({"type": "welcome"}),
            encode(Ack(op_id)),
            json.dumps(
                {
                    "type": "poll.ballot",
                    "op_id": op_id,
                    "poll_id": "p-budget",
                    "member_id": "d2",
                    "choices": ["yes"],
                }
            ),
            json.dumps({"type": "floor.withdraw", "op_id": op_id}),
            json.dumps({"type": "auth.sign_out", "op_id": op_id}),
            # a member no fuzzer signs in as: d2 locked out kept its fuzzers signed out
            encode(SignIn(op_id, delegate_id="obs", pin="0000")),
        )
    )


def answers(message: Message, op_id: str) -> bool:
    """Whether ``message`` is the room's answer to what was just sent."""
    if isinstance(message, ErrorMessage):
        return True
    return getattr(message, "op_id", None) == op_id


def sent_op_id(frame: str | bytes, meant: str) -> str:
    """The op id a request went with (a mutation may have changed it)."""
    with contextlib.suppress(ValueError, RecursionError, AttributeError):
        found = json.loads(frame).get("op_id")
        if isinstance(found, str):
            return found
    return meant


def raw_frame(opcode: int, payload: bytes, *, claimed: int | None = None) -> bytes:
    """A masked client frame written by hand (RFC 6455 §5.2); ``claimed`` is the length
    its header says, for a truncated frame."""
    length = len(payload) if claimed is None else claimed
    header = bytes([0x80 | opcode])
    if length < 126:
        header += bytes([0x80 | length])
    elif length < 1 << 16:
        header += bytes([0x80 | 126]) + struct.pack("!H", length)
    else:
        header += bytes([0x80 | 127]) + struct.pack("!Q", length)
    mask = os.urandom(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def answer_to(
    ws: ClientConnection,
    op_id: str,
    tally: Tally,
    sent: str | bytes = "",
    news: Callable[[Message], None] = lambda message: None,
) -> None:
    """Read until the answer to what was just sent (other news goes to ``news``);
    ``sent`` (its start) goes with a failure's message."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout(ANSWER_S)
    while True:
        raw = await asyncio.wait_for(ws.recv(), max(0.01, deadline - loop.time()))
        if isinstance(raw, bytes):
            continue  # a document's chunk
        try:
            message = decode(raw)
        except ProtocolError as exc:
            tally.unclear.append(f"the room sent what its own decoder refuses: {exc}")
            return
        if isinstance(message, DocumentEnd):
            tally.accepted += 1
            return
        if answers(message, op_id):
            if isinstance(message, ErrorMessage):
                if message.code not in KNOWN_CODES or not message.message.strip():
                    tally.unclear.append(f"unclear error {message} to {sent[:400]!r}")
                tally.error(message.code)
            else:
                tally.accepted += 1
            return
        news(message)


class Fuzzer:
    """One fuzzing device: reconnects (and signs in again) whenever the room closed it."""

    def __init__(
        self,
        room: RunningRoom,
        index: int,
        rng: random.Random,
        corpus: list[dict[str, Any]],
        documents: list[DocumentInfo],
        tally: Tally,
    ) -> None:
        self.room = room
        self.device = f"fuzz-{index:02d}"
        self.channel = Channel.DOCUMENTS if index % 4 == 3 else Channel.CONTROL
        self.member = list(MEMBERS)[index % len(MEMBERS)] if index % 4 in (0, 1) else None
        self.rng = rng
        self.corpus = corpus
        self.documents = documents
        self.shas = [d.sha256 for d in documents]
        self.tally = tally
        self.signed_out = False  # its member signed out: sign in again (not another's doing)
        self.ws: ClientConnection | None = None
        self.count = 0
        self.last: str | bytes = ""  # what was sent last (its start), for a failure's message

    async def connect(self) -> ClientConnection:
        ws = await raw_channel(self.room, self.channel, self.device)
        if self.member is not None:
            op = f"in-{self.device}-{self.count}"
            await ws.send(encode(SignIn(op, delegate_id=self.member, pin=MEMBERS[self.member])))
            await answer_to(ws, op, Tally())
        self.signed_out = False
        return ws

    def news(self, message: Message) -> None:
        if isinstance(message, SignedOut) and message.reason == "signed out":
            self.signed_out = True

    async def run(self, messages: int, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        try:
            for _ in range(messages):
                if loop.time() > deadline:
                    return
                await self.one()
        finally:
            if self.ws is not None:
                with contextlib.suppress(ConnectionClosed, OSError):
                    await self.ws.close()

    async def one(self) -> None:
        rng, tally = self.rng, self.tally
        self.count += 1
        op_id = f"z{self.device}-{self.count}"
        roll = rng.random()
        if roll < 0.02:
            await self.garbage_hello(op_id)
            return
        if self.ws is None:
            self.ws = await self.connect()
        ws = self.ws
        tally.sent += 1
        try:
            if roll < 0.04:
                await self.broken_frame()
                return
            if self.member is not None and self.signed_out:
                # in the message budget: a member whose tablet signed itself out keeps
                # fuzzing what only a signed-in tablet reaches
                self.signed_out = False
                frame: str | bytes = encode(
                    SignIn(op_id, delegate_id=self.member, pin=MEMBERS[self.member])
                )
            elif roll < 0.05:
                frame = oversized(rng)
            elif roll < 0.40:
                frame = malformed(self.corpus, rng, op_id)
            elif roll < 0.70:
                frame = mutated(self.corpus, rng, op_id)
            elif roll < 0.90:
                frame = in_context(self.documents, rng, op_id, self.member, self.channel)
            else:
                frame = out_of_order(rng, op_id, self.shas)
            self.last = frame[:400]
            await ws.send(frame)
            await answer_to(ws, sent_op_id(frame, op_id), tally, frame, self.news)
        except ConnectionClosed as closed:
            self.ws = None
            code = closed.rcvd.code if closed.rcvd is not None else -1
            tally.closed(code)
            if code not in CLEAR_CLOSES:
                tally.unclear.append(f"closed without a clear reason: {closed!r}")
        except TimeoutError:
            tally.unclear.append(f"no answer in {ANSWER_S:.0f} s to {self.last!r}")
            self.ws = None
            with contextlib.suppress(ConnectionClosed, OSError):
                await ws.close()

    async def garbage_hello(self, op_id: str) -> None:
        """A new connection whose first message is not a hello: refused and closed."""
        self.tally.sent += 1
        async with await connect(
            self.room.endpoint().uri,
            host="127.0.0.1",
            port=self.room.port,
            ssl=self.room.device(self.device).context(),
            compression=None,
            max_size=None,
            open_timeout=timeout(10),
        ) as ws:
            await ws.send(malformed(self.corpus, self.rng, op_id))
            try:
                while True:  # the refusal, then the close
                    await asyncio.wait_for(ws.recv(), timeout(ANSWER_S))
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else -1
                self.tally.closed(code)
                if code not in CLEAR_CLOSES:
                    self.tally.unclear.append(f"a bad hello closed without a reason: {closed!r}")
            except TimeoutError:
                self.tally.unclear.append("a bad hello was neither refused nor closed")

    async def broken_frame(self) -> None:
        """Frames the WebSocket layer must refuse: text that is not UTF-8, a reserved
        opcode, or a frame cut short by a dropped connection."""
        assert self.ws is not None
        ws, self.ws = self.ws, None
        kind = self.rng.randrange(3)
        if kind == 2:
            ws.transport.write(raw_frame(0x1, b'{"type":"ann', claimed=4_000))
            ws.transport.abort()
            self.tally.closed(-2)  # ours: nothing to hear back
            return
        frame = raw_frame(0x1, b"\xff\xfe{}") if kind == 0 else raw_frame(0x3, b"{}")
        ws.transport.write(frame)
        try:
            for _ in range(1_000):
                await asyncio.wait_for(ws.recv(), timeout(ANSWER_S))
            self.tally.unclear.append("a broken frame did not close the connection")
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else -1
            self.tally.closed(code)
            if code not in CLEAR_CLOSES:
                self.tally.unclear.append(f"a broken frame closed without a reason: {closed!r}")
        except TimeoutError:
            self.tally.unclear.append("a broken frame was neither refused nor closed")


def page_count(room: RunningRoom) -> int:
    uri = f"file:{room.state_dir / 'room.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        return int(db.execute("PRAGMA page_count").fetchone()[0])


def page_size(room: RunningRoom) -> int:
    uri = f"file:{room.state_dir / 'room.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        return int(db.execute("PRAGMA page_size").fetchone()[0])


async def chair_pages(
    chair: Tablet, shas: list[str], stop: asyncio.Event, deadline: float
) -> list[tuple[str, int]]:
    """The chair pages through the documents until the fuzz ends: every page it set."""
    pages: list[tuple[str, int]] = []
    documents = [(d.sha256, d.pages) for d in chair.meeting.documents if d.sha256 in shas]
    loop = asyncio.get_running_loop()
    step = 0
    while not stop.is_set() and loop.time() < deadline and step < 100_000:
        sha, count = documents[(step // 7) % len(documents)]
        page = step % count
        step += 1
        if pages and pages[-1] == (sha, page):
            continue
        await chair.ok(SetFollow(chair.op(), sha, page))
        pages.append((sha, page))
        await asyncio.sleep(0.05)
    return pages


async def test_fuzzed_protocol_from_many_connections(tmp_path: Path) -> None:
    rng = seeded("protocol fuzz")
    package = write_package(tmp_path / "package", voting=True)
    corpus = examples()
    with running_room(
        tmp_path / "room", package=package, mdns=False, limits=LIMITS, extra=ANNOTATIONS
    ) as room:
        chair = await Tablet(room, "tab-chair", "A1").start()
        follower = await Tablet(room, "tab-d1", "A2").start()
        try:
            await chair.sign_in("chair", "1111")
            await follower.sign_in("d1", "2222")
            documents = list(chair.meeting.documents)
            shas = [d.sha256 for d in documents]
            for member in MEMBERS:  # present, so that their ballots reach the poll's checks
                await chair.ok(CheckIn(chair.op(), member))
            poll = rng.choice(sorted(OPEN_POLLS))  # one poll is open at a time
            await chair.ok(OpenPoll(chair.op(), poll, override_quorum=True))
            pages_before, size = page_count(room), page_size(room)
            tally = Tally()
            fuzzers = [
                Fuzzer(room, i, random.Random(rng.getrandbits(64)), corpus, documents, tally)
                for i in range(CONNECTIONS)
            ]
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout(SECONDS)
            follow_from = len(follower.received)
            stop = asyncio.Event()
            paging = asyncio.ensure_future(chair_pages(chair, shas, stop, deadline))
            started = loop.time()
            try:
                await asyncio.gather(*(f.run(MESSAGES // CONNECTIONS, deadline) for f in fuzzers))
            finally:
                stop.set()
                pages = await paging
            print(
                f"sent {tally.sent} in {loop.time() - started:.1f} s, accepted {tally.accepted}, "
                f"errors {tally.errors}, closes {tally.closes}, chair pages {len(pages)}"
            )
            assert room.process.poll() is None, "the room server died"
            assert tally.unclear == [], tally.unclear[:20]
            assert tally.sent >= MESSAGES * 0.95, "the fuzz ran out of time"
            assert sum(tally.errors.values()) > tally.sent // 2

            # The follower saw every page the chair set, in order.
            await until(
                lambda: (
                    (s := follower.of_type(FollowState)) and (s[-1].sha256, s[-1].page) == pages[-1]
                )
            )
            seen = [
                (m.sha256, m.page)
                for m in follower.received[follow_from:]
                if isinstance(m, FollowState)
            ]
            at = 0
            for page in pages:
                assert page in seen[at:], f"the follower missed {page}"
                at = seen.index(page, at) + 1
            seqs = [m.seq for m in follower.received[follow_from:] if isinstance(m, FollowState)]
            assert seqs == sorted(seqs)

            # Refused messages store nothing: the database grows by what was accepted
            # (a floor request, an annotation within the room's small limit) at most.
            grown = (page_count(room) - pages_before) * size
            bound = 64 * 1024 + len(MEMBERS) * ANNOTATION_BYTES * 2 + tally.accepted * 2_048
            assert grown <= bound, (grown, bound)
            log = (room.state_dir.parent / "server.log").read_text(errors="replace")
            assert "Traceback" not in log, log[log.index("Traceback") - 2_000 :][:6_000]
        finally:
            await chair.stop()
            await follower.stop()
