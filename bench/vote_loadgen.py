"""The vote-burst load generator: one process voting for a share of the seat tablets.

Each simulated tablet is protocol level, an enrolled device of the room
(:mod:`bench.enroll`), with the real client code (``room_client.connection.open_channel``:
mutual TLS with its device certificate, ``hello``), and has a link to each server under
test: it signs in there once with its
member's PIN (``session.sign_in``), keeps the token and disconnects, and from then on
connects with ``hello(resume_token=...)`` as a tablet does after a Wi-Fi drop. In a
burst it sends one ``poll.cast`` with a ballot id of its own at a given moment, and
waits for ``poll.recorded`` (the ballot is on disk) or an ``error`` naming that id.

The receive loop stamps frames with ``time.monotonic()`` the moment the tablet's
coroutine gets them and keeps only the raw text of those it needs (answers to ballots,
the ``poll.state`` carrying the watched poll's result); they are decoded with the real
codec after the burst, so decoding does not delay the stamps. All processes on one
machine share CLOCK_MONOTONIC, so the stamps compare directly with the orchestrator's.
The garbage collector runs only between commands.

The orchestrator (``bench.votes``) drives a worker through a pipe (:func:`worker_main`),
with the same command loop as ``bench.loadgen``: every command is bounded in time, and
the worker exits by itself after ``max_seconds`` or when the pipe closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench.common import run_worker, serve_commands
from bench.enroll import Access, open_control
from room_client.connection import ConnectError, RoomEndpoint
from room_protocol.codec import decode, encode
from room_protocol.errors import ProtocolError
from room_protocol.live import Ack, SignedIn, SignIn
from room_protocol.messages import ErrorMessage
from room_protocol.voting import ABSTAIN, NO, YES, BallotRecorded, CastBallot, PollsState

CONNECT_ATTEMPTS = 3
SIGN_IN_TIMEOUT = 15.0  # seconds for one tablet's sign-in answer and its session.signed_in
_ANSWER_TAGS = ('"poll.recorded"', '"error"')
_STATE_TAG = '"poll.state"'
_SIGNED_IN_TAG = '"session.signed_in"'
_HEAD = 40  # the type comes first in every frame the codec writes


def result_marker(poll_id: str) -> str:
    """Text found in a ``poll.state`` frame only when it carries ``poll_id``'s result
    (a delegate's tablet gets results once they are published)."""
    return f'{{"poll_id":"{poll_id}","outcome"'


@dataclass
class Link:
    """A tablet's control connection to one server, and what it received there."""

    token: str | None = None  # the sign-in token this server gave
    ws: ClientConnection | None = None
    reader: asyncio.Task[None] | None = None
    signed_in: bool = False  # session.signed_in arrived on the current connection
    answers: list[tuple[float, str]] = field(default_factory=list)  # (received, raw)
    published: float = math.nan  # when the watched poll's result arrived
    published_raw: str = ""
    lost: int = 0

    async def send(self, frame: str) -> bool:
        """Send ``frame`` on the current connection (False: there is none)."""
        ws = self.ws
        if ws is None:
            return False
        with contextlib.suppress(ConnectionClosed):
            await ws.send(frame)
        return True

    async def read(self, worker: Worker, ws: ClientConnection, marker: list[str]) -> None:
        monotonic = time.monotonic
        try:
            async for raw in ws:
                now = monotonic()
                if not isinstance(raw, str):
                    continue
                head = raw[:_HEAD]
                if _ANSWER_TAGS[0] in head or _ANSWER_TAGS[1] in head:
                    self.answers.append((now, raw))
                elif _STATE_TAG in head:
                    if marker[0] and math.isnan(self.published) and marker[0] in raw:
                        self.published = now
                        self.published_raw = raw
                elif _SIGNED_IN_TAG in head:
                    self.signed_in = True
        except ConnectionClosed:
            pass
        if ws is self.ws and not worker.closing:
            self.lost += 1


@dataclass
class Voter:
    """One simulated seat tablet and the member signed in on it, with a link to each
    server under test."""

    client_id: str
    seat_id: str  # said in hello only to a protocol 3 server; otherwise the certificate says it
    delegate_id: str
    pin: str
    links: dict[str, Link] = field(default_factory=dict)


class Worker:
    def __init__(self, pipe: Connection, config: dict[str, Any]) -> None:
        self.pipe = pipe
        self.index: int = config["index"]
        self.access: Access | None = None
        self.concurrency: int = config.get("connect_concurrency", 16)
        self.deadline = time.monotonic() + float(config["max_seconds"])
        self.endpoints: dict[str, RoomEndpoint] = {}
        self.voters: list[Voter] = []
        self.markers: dict[str, list[str]] = {}  # per server: [result_marker being watched]
        self.closing = False

    # --- the command loop ----------------------------------------------------------------

    async def run(self) -> None:
        try:
            await serve_commands(self, self.pipe, self.deadline)
        finally:
            self.closing = True
            await self.do_disconnect()

    def _links(self, server: str) -> list[Link]:
        return [v.links[server] for v in self.voters if server in v.links]

    # --- commands ------------------------------------------------------------------------

    async def do_room(
        self,
        access: Access,
        servers: dict[str, tuple[str, int, str]],
        voters: list[tuple[str, str, str, str]],
    ) -> dict[str, Any]:
        """A new room (a new N): forget the old tablets; these (client_id, seat_id,
        delegate_id, pin) sit in it, enrolled as ``access`` says. ``servers``: name ->
        (hostname, port, address), each reached with ``access``."""
        await self.do_disconnect()
        self.access = access
        self.endpoints = {name: RoomEndpoint(*where) for name, where in servers.items()}
        self.markers = {name: [""] for name in servers}
        self.voters = [Voter(*v, links={name: Link() for name in servers}) for v in voters]
        return {"voters": len(self.voters)}

    async def do_ping(self) -> dict[str, Any]:
        """Nothing: the answer says this worker's loop is free (and collected)."""
        return {}

    async def do_sign_in(self, concurrency: int) -> dict[str, Any]:
        """On every server, every tablet without a token there connects, signs in with
        its member's PIN, keeps the token and disconnects; at most ``concurrency`` at a
        time per server, the servers in parallel."""
        assert self.access is not None
        access = self.access
        failures: list[str] = []
        started = time.monotonic()
        seconds: dict[str, float] = {}

        async def sign_in(endpoint: RoomEndpoint, voter: Voter, link: Link) -> None:
            link.token = await sign_in_once(
                endpoint,
                access,
                voter.client_id,
                voter.seat_id,
                voter.delegate_id,
                voter.pin,
                failures,
            )

        async def one_server(name: str) -> None:
            gate = asyncio.Semaphore(concurrency)

            async def gated(voter: Voter) -> None:
                async with gate:
                    await sign_in(self.endpoints[name], voter, voter.links[name])

            await asyncio.gather(*(gated(v) for v in self.voters if v.links[name].token is None))
            seconds[name] = time.monotonic() - started

        await asyncio.gather(*(one_server(name) for name in self.endpoints))
        return {
            "signed_in": {n: sum(1 for link in self._links(n) if link.token) for n in seconds},
            "failed": len(failures),
            "failures": failures[:5],
            "seconds": seconds,
        }

    async def do_connect(self, wait_seconds: float) -> dict[str, Any]:
        """Every tablet opens its control connection to every server with its token
        there, and waits (at most ``wait_seconds`` after the last one opened) until each
        server says it is signed in. The servers in parallel."""
        assert self.access is not None
        access = self.access
        failures: list[str] = []
        started = time.monotonic()
        seconds: dict[str, float] = {}

        async def connect(name: str, voter: Voter, link: Link) -> None:
            for attempt in range(1, CONNECT_ATTEMPTS + 1):
                try:
                    ws, _welcome = await open_control(
                        self.endpoints[name], access, voter.client_id, voter.seat_id, link.token
                    )
                except ConnectError as exc:
                    if attempt == CONNECT_ATTEMPTS:
                        failures.append(f"{name} {voter.delegate_id}: {exc}")
                        return
                    await asyncio.sleep(0.2 * attempt)
                    continue
                link.ws, link.signed_in = ws, False
                link.reader = asyncio.create_task(link.read(self, ws, self.markers[name]))
                return

        async def one_server(name: str) -> None:
            gate = asyncio.Semaphore(self.concurrency)

            async def gated(voter: Voter) -> None:
                async with gate:
                    await connect(name, voter, voter.links[name])

            await asyncio.gather(
                *(
                    gated(v)
                    for v in self.voters
                    if v.links[name].token is not None and v.links[name].ws is None
                )
            )
            seconds[name] = time.monotonic() - started

        await asyncio.gather(*(one_server(name) for name in self.endpoints))
        until = time.monotonic() + wait_seconds
        while time.monotonic() < until:
            if all(link.signed_in for v in self.voters for link in v.links.values() if link.ws):
                break
            await asyncio.sleep(0.02)
        return {
            "opened": {n: sum(1 for link in self._links(n) if link.ws) for n in self.endpoints},
            "failed": len(failures),
            "failures": failures[:5],
            "not_signed_in": sum(
                1
                for v in self.voters
                for link in v.links.values()
                if link.ws and not link.signed_in
            ),
            "seconds": seconds,
        }

    async def do_disconnect(self) -> dict[str, Any]:
        """Cut every control connection (before the servers stop: they need not wait)."""
        readers = []
        for v in self.voters:
            for link in v.links.values():
                ws, link.ws = link.ws, None
                if ws is not None and ws.transport is not None:
                    ws.transport.abort()
                if link.reader is not None:
                    link.reader.cancel()
                    readers.append(link.reader)
                    link.reader = None
        await asyncio.gather(*readers, return_exceptions=True)
        return {"lost": sum(link.lost for v in self.voters for link in v.links.values())}

    async def do_burst(
        self,
        server: str,
        poll_id: str,
        tag: str,
        start_at: float,
        spread: float,
        answer_seconds: float,
    ) -> dict[str, Any]:
        """Every tablet connected to ``server`` casts one ballot in ``poll_id`` at a
        moment drawn uniformly from [start_at, start_at + spread) (monotonic seconds),
        then waits for its answer until ``start_at + spread + answer_seconds``.

        Per ballot: (delegate_id, ballot_id, sent, answered, code, receipt or message),
        ``answered`` nan if no answer came; ``code`` "" for poll.recorded."""
        late = time.monotonic() - start_at  # > 0: this order came too late for its start
        rng = random.Random(f"{tag}:{self.index}")
        casts = []
        for v in self.voters:
            link = v.links[server]
            if link.ws is not None:
                link.answers.clear()
                casts.append(
                    Cast.plan(
                        rng, tag, poll_id, v.delegate_id, start_at, spread, link.answers, link.send
                    )
                )
        await cast_burst(casts, start_at + spread + answer_seconds)
        return {
            "ballots": [c.outcome()[:6] for c in casts],
            "lost": sum(link.lost for link in self._links(server)),
            "late": late,
        }

    async def do_watch(self, server: str, poll_id: str) -> dict[str, Any]:
        """From now on, stamp the first poll.state from ``server`` carrying ``poll_id``'s
        result."""
        self.markers[server][0] = result_marker(poll_id)
        for link in self._links(server):
            link.published, link.published_raw = math.nan, ""
        return {}

    async def do_settle(self, server: str, seconds: float) -> dict[str, Any]:
        """Wait until every tablet connected to ``server`` has the watched result, or
        ``seconds``."""
        until = time.monotonic() + seconds
        links = self._links(server)
        while True:
            short = sum(1 for link in links if link.ws is not None and math.isnan(link.published))
            if not short or time.monotonic() > until:
                return {"short": short}
            await asyncio.sleep(0.005)

    async def do_collect(self, server: str, poll_id: str) -> dict[str, Any]:
        """When each tablet connected to ``server`` got the watched result (nan: never),
        and what the distinct frames said (decoded by the real codec):
        [(state, ballots, outcome, tablets)]."""
        stamps: list[float] = []
        frames: dict[str, int] = {}
        for link in self._links(server):
            if link.ws is None:
                continue
            stamps.append(link.published)
            if link.published_raw:
                frames[link.published_raw] = frames.get(link.published_raw, 0) + 1
        said: list[tuple[str, int, str, int]] = []
        for raw, count in frames.items():
            message = decode(raw)
            assert isinstance(message, PollsState)
            poll = next(p for p in message.polls if p.id == poll_id)
            result = next(r for r in message.results if r.poll_id == poll_id)
            said.append((poll.state.value, result.ballots, result.outcome.value, count))
        self.markers[server][0] = ""
        return {"stamps": stamps, "said": said}


# --- what every voting load generator does (this one and bench.loadgen's) ----------------

Ballot = tuple[str, str, float, float, str, str, int]
"""(delegate_id, ballot_id, sent, answered, code, receipt or message, answers naming it):
``answered`` nan if no answer came; ``code`` "" for poll.recorded."""


@dataclass
class Cast:
    """One tablet's ballot in a burst: what it sends when, and where its link keeps the
    (received, raw) answers to ballots."""

    delegate_id: str
    ballot_id: str
    frame: str
    at: float  # time.monotonic() to send it
    answers: list[tuple[float, str]]
    send: Callable[[str], Awaitable[bool]]  # False: the tablet had no connection
    sent: float = math.nan

    @classmethod
    def plan(
        cls,
        rng: random.Random,
        tag: str,
        poll_id: str,
        delegate_id: str,
        start_at: float,
        spread: float,
        answers: list[tuple[float, str]],
        send: Callable[[str], Awaitable[bool]],
    ) -> Cast:
        """A yes/no/abstain ballot (yes twice as likely) at a moment drawn uniformly from
        [start_at, start_at + spread)."""
        ballot_id = f"{tag}-{delegate_id}"
        choice = rng.choice((YES, YES, NO, ABSTAIN))
        frame = encode(CastBallot(ballot_id, poll_id, delegate_id, (choice,)))
        return cls(delegate_id, ballot_id, frame, start_at + rng.random() * spread, answers, send)

    def outcome(self) -> Ballot:
        """The first answer naming this ballot, decoded by the real codec, and how many
        answers named it."""
        answered, code, text = math.nan, "missing", "no answer"
        times = 0
        for stamp, raw in self.answers:
            try:
                message = decode(raw)
            except ProtocolError as exc:
                if math.isnan(answered):
                    answered, code, text = stamp, "bad_frame", str(exc)
                continue
            if isinstance(message, BallotRecorded) and message.op_id == self.ballot_id:
                times += 1
                if times == 1:
                    answered, code, text = stamp, "", message.receipt.code
            elif isinstance(message, ErrorMessage) and message.ref == self.ballot_id:
                times += 1
                if times == 1:
                    answered, code, text = stamp, message.code, message.message
        return (self.delegate_id, self.ballot_id, self.sent, answered, code, text, times)


async def cast_burst(casts: list[Cast], until: float) -> None:
    """Send every ballot at its moment, then wait until each tablet has an answer or
    ``until`` (time.monotonic())."""
    loop = asyncio.get_running_loop()
    offset = loop.time() - time.monotonic()  # the loop's clock is monotonic, but be sure

    async def cast(c: Cast) -> None:
        await asyncio.sleep(max(0.0, c.at + offset - loop.time()))
        sent = time.monotonic()
        if await c.send(c.frame):
            c.sent = sent

    await asyncio.gather(*(cast(c) for c in casts))
    while time.monotonic() < until:
        if all(c.answers for c in casts):
            break
        await asyncio.sleep(0.005)


async def sign_in_once(
    endpoint: RoomEndpoint,
    access: Access,
    client_id: str,
    seat_id: str,
    delegate_id: str,
    pin: str,
    failures: list[str],
    timings: list[float] | None = None,
) -> str | None:
    """Connect, sign in with the member's PIN, disconnect: the token (None, with a line
    in ``failures``, if that did not work). The tablet walks away; its sign-in stays.
    ``timings``: where to add the seconds from the sign-in's send to its ack and token."""
    try:
        ws, _welcome = await open_control(endpoint, access, client_id, seat_id)
    except ConnectError as exc:
        failures.append(f"{delegate_id}: {exc}")
        return None
    try:
        sent = time.monotonic()
        token = await asyncio.wait_for(_sign_in(ws, delegate_id, pin), SIGN_IN_TIMEOUT)
        if timings is not None:
            timings.append(time.monotonic() - sent)
        return token
    except (TimeoutError, ConnectionClosed, ProtocolError, RuntimeError) as exc:
        failures.append(f"{delegate_id}: {type(exc).__name__}: {exc}")
        return None
    finally:
        if ws.transport is not None:
            ws.transport.abort()


async def _sign_in(ws: ClientConnection, delegate_id: str, pin: str) -> str:
    """Send the sign-in, wait for its answer and for session.signed_in; the token."""
    op_id = f"sign-in-{delegate_id}"
    await ws.send(encode(SignIn(op_id, delegate_id=delegate_id, pin=pin)))
    answered = False
    token = ""
    async for raw in ws:
        if not isinstance(raw, str):
            continue
        head = raw[:_HEAD]
        if '"ack"' in head or '"error"' in head:
            message = decode(raw)
            if isinstance(message, ErrorMessage) and message.ref == op_id:
                raise RuntimeError(f"sign-in refused: {message.message}")
            answered = answered or (isinstance(message, Ack) and message.op_id == op_id)
        elif _SIGNED_IN_TAG in head:
            signed = decode(raw)
            assert isinstance(signed, SignedIn)
            token = signed.token
        if answered and token:
            return token
    raise RuntimeError("the connection closed during sign-in")


def worker_main(pipe: Connection, config: dict[str, Any]) -> None:
    """Entry point of a load-generator process (multiprocessing, spawn)."""
    run_worker(Worker, pipe, config)
