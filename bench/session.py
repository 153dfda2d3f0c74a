"""A whole congress meeting on one room server, measured end to end.

    .venv/bin/python -m bench.session --tablets 2000 [--write-doc]

What runs (all on 127.0.0.1, every process bounded in time and stopping by itself):

* the room server (``room-server run``, mDNS off) with a test meeting package of
  ``--tablets`` more voting members (m0000..., PIN "1" + the number), its request rate
  limit and its per-member annotation limits raised for the run (as ``bench.annotations``
  does), and an archive: sealed records go to a local nginx (Debian's, installed if
  missing, on 127.0.0.1 over TLS) taking WebDAV PUT with a bearer token, as
  ``tests.archive`` runs it;
* load-generator processes (``bench.loadgen``, ``--per-worker`` tablets each), every
  simulated tablet an enrolled device at its member's seat (``bench.enroll``), speaking
  TLS and WebSocket from their Sans-I/O pieces over plain sockets (``StampedLink``);
* this process: the orchestrator and the chair (PIN sign-in).

The meeting, in phases, each bounded in count and time; the chair changes page every
``--interval`` seconds on a fixed schedule in every phase but the first and the last
(``bench.follow_burst.PageChanges``), and every tablet follows:

1. **sign-in**: every member signs in with the PIN (``session.sign_in``, the real
   client code), keeps the token, and connects with it (``session.signed_in``); the
   ``--fetchers`` share then opens its documents connection and keeps it, as a tablet
   keeps the one it fetched the meeting's documents on (the room does not close it);
2. **idle**: ``--idle-moves`` page changes and nothing else: the baseline;
3. **agenda**: the chair moves the agenda (``agenda.set_current``, ``agenda.step``);
4. **speakers**: ``--speakers`` tablets ask for the floor (``floor.request``) over
   ``--speak-spread`` seconds while the chair gives it to the first in the queue and
   ends the speech, ``--grants`` times;
5. **annotations**: a ``--annotators`` share of the tablets streams ink strokes
   (``annotation.batch`` at the room's pace, ``--ops-per-second`` each, for
   ``--annotate-seconds``), as ``bench.annotations`` does;
6. **poll 1, poll 2 (secret), poll 3**: the chair creates and opens a yes/no poll, every
   voter casts one ballot within ``--spread`` seconds, the chair closes and publishes it;
7. **late document**: ``room-server add-document`` adds a PDF to an agenda item; every
   tablet is told (its next ``meeting.state`` lists it, with a notice) and a
   ``--fetchers`` share fetches it on the documents connection it holds (the real
   client code; ``--fresh-documents``: on a new one, each a TLS handshake);
8. **close**: the chair closes the meeting; the room builds and seals the record and
   uploads it to the archive (the chair sees ``record.progress`` and ``record.upload``).

Latency per message kind, each stamped by the simulated tablet's code
(``time.monotonic()``) unless said: sign-in (``session.sign_in`` sent → its ack and
token); follow.state (the chair's send → the frame's arrival at the tablet's socket,
``SO_TIMESTAMPNS``, as ``bench.fanout``); ballot ack (``poll.cast`` → ``poll.recorded``);
speaker ack (``floor.request`` → ``ack``); annotation ack (a stroke drawn → the
``annotation.kept`` naming it, the room's pace included); late document notice (the
notice's commit time in the database → the tablet's first ``meeting.state`` listing the
document; the server looks for other processes' commits every ``poll_seconds``, 0.5 s).
Errors: every ``error`` frame any tablet got, every connection lost, every sign-in or
connection that failed, every page change missed, every ballot, request or stroke
refused or never answered, every fetch that failed, every chair request refused. Server
RSS is sampled every ``--rss-every`` seconds, CPU read per phase, from /proc. Once the
server stopped, its database must hold exactly the acknowledged ballots and annotation
operations, and the archive every file of the sealed record.

With two or more CPUs the server (every thread) is pinned to CPU 0 once the tablets are
connected, the load generators and the chair to the others (``--no-pin`` to disable).

Results: a Markdown section printed and (``--write-doc``) put into docs/performance.md;
``--json`` keeps every number.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import json
import math
import os
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from bench.annotations import Database, database
from bench.common import (
    LoadGenerators,
    add_run_options,
    command_line,
    cpu_seconds,
    loadavg,
    log,
    machine,
    ms,
    percentile,
    pin,
    pin_threads,
    publish,
    raise_nofile,
    replace_section,
    rss_mb,
    run_queue_seconds,
    settings_from,
    timeout_prefix,
)
from bench.enroll import enroll_with
from bench.follow_burst import REPO, Block, Phase, add_block, page_change_block
from bench.loadgen import worker_main
from bench.vote_loadgen import Ballot
from bench.votes import (
    CHAIR_DEVICE,
    CHAIR_SEAT,
    CHAIR_TIMEOUT,
    Chair,
    Server,
    assign_members,
    ballot_ids_in_database,
    stop_server,
)
from room_protocol.codec import decode, encode
from room_protocol.live import (
    Ack,
    CloseMeeting,
    EndSpeech,
    FloorState,
    GrantFloor,
    Request,
    SetCurrentItem,
    SetFollow,
    SignedIn,
    Step,
    StepItem,
)
from room_protocol.messages import ErrorMessage
from room_protocol.records import RecordProgress, RecordState, RecordUpload, UploadState
from room_protocol.voting import ClosePoll, CreatePoll, OpenPoll, PollKind, PollSpec, PublishPoll
from tests.archive import NginxArchive, files_of
from tests.nginx import ensure_nginx
from tests.rooms import room_cli, sha256_file, start_room, write_package, write_pdf

DOC = REPO / "docs" / "performance.md"
SECTION_BEGIN = "<!-- bench.session: begin (generated by python -m bench.session) -->"
SECTION_END = "<!-- bench.session: end -->"
SECTION_TITLE = """## A whole meeting (session bench)

One room server through a whole simulated congress meeting: every member signs in, the
chair moves the agenda and the pages, members ask for the floor, annotate, vote in three
polls (one secret), a late document arrives, and the chair closes the meeting while the
record is sealed and uploaded to an archive. `bench/session.py` says exactly what runs
and how each number is measured.

"""
TARGET_FOLLOW_P99_MS = 100.0
TARGET_BALLOT_P99_MS = 500.0
TARGET_RSS_MB = 300.0
ROOM_ID = "bench-session"
SERVER = "room"  # the load generators' name for the room server
LATE_ITEM = "budget"
POLLS = (("poll 1", False), ("poll 2 (secret)", True), ("poll 3", False))
AGENDA_MOVES: tuple[Callable[[str], Request], ...] = (
    lambda op: SetCurrentItem(op, "opening"),
    lambda op: StepItem(op, Step.NEXT),
    lambda op: StepItem(op, Step.NEXT),
    lambda op: StepItem(op, Step.PREVIOUS),
)
PAGES = 6  # the budget document of the test package: strokes go on any of its pages
# where this machine has it, off the PATH (a program run, not a file written)
PY_SPY_FALLBACK = "/tmp/pyspy-venv/bin/py-spy"  # noqa: S108
SEAL_WAIT = 300.0  # seconds the record may take to be sealed, and then uploaded


@dataclass
class Settings:
    tablets: int = 2000
    interval: float = 0.15  # seconds between two page changes
    idle_moves: int = 40  # page changes in the idle phase
    agenda_gap: float = 1.0  # seconds between two agenda moves
    speakers: int = 40  # floor requests in the speakers phase
    speak_spread: float = 8.0  # seconds over which they come
    grants: int = 3  # speeches the chair gives and ends meanwhile
    annotators: float = 0.25  # share of the tablets that draw
    # strokes a second per drawing tablet: 500 of 2,000 at 0.5 keep within the room's
    # default budget of 300 operations a second (above it, the room answers busy)
    ops_per_second: float = 0.5
    annotate_seconds: float = 15.0
    points: int = 60  # per stroke
    spread: float = 1.0  # seconds over which the ballots of a burst are sent
    answer_seconds: float = 60.0  # after the spread (or drawing), how long an answer may take
    fetchers: float = 0.25  # share of the tablets that fetch the late document
    # the fetchers open a documents connection for the late document instead of using the
    # one they hold from sign-in (the tablet app keeps it; the room does not close it)
    fresh_documents: bool = False
    late_pages: int = 12
    late_bytes: int = 400_000  # padding in the late PDF
    settle: float = 15.0  # after a block, how long a page change may take to reach all
    rss_every: float = 0.5  # seconds between two samples of the server's RSS
    # seconds for an order to reach every worker, or a state change every tablet, before
    # the next step
    pause: float = 1.0
    py_spy: str = ""  # record the server with py-spy per phase, into this folder
    per_worker: int = 500  # tablets per load-generator process
    connect_concurrency: int = 16  # handshakes in flight per load-generator process
    sign_in_concurrency: int = 4  # sign-ins in flight per load-generator process
    pin: bool = True
    max_seconds: float = 840.0  # the whole run; every child process dies after this too
    workdir: Path | None = None
    server_prefix: str = ""


@dataclass
class PhaseResult:
    """One phase of the meeting: its page changes, and the server meanwhile."""

    name: str
    follow: Phase = field(default_factory=Phase)
    seconds: float = 0.0
    cpu_s: float = 0.0
    waited_s: float = 0.0  # the server's threads runnable but waiting for a CPU
    rss_peak_mb: float = math.nan
    rss_end_mb: float = math.nan
    notes: list[str] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        return self.cpu_s / self.seconds if self.seconds else math.nan

    @property
    def waited(self) -> float:
        return self.waited_s / self.seconds if self.seconds else math.nan


@dataclass
class Kinds:
    """Latencies (ms) per message kind, and how many were expected."""

    latencies: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, values: list[float]) -> None:
        self.latencies[kind] = sorted(self.latencies.get(kind, []) + values)


@dataclass
class Errors:
    """Every error of the run, by where it was seen."""

    counts: dict[str, int] = field(default_factory=dict)
    samples: list[str] = field(default_factory=list)

    def add(self, what: str, count: int, samples: list[str] | None = None) -> None:
        if count:
            self.counts[what] = self.counts.get(what, 0) + count
        for text in samples or []:
            if len(self.samples) < 12:
                self.samples.append(f"{what}: {text}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Record:
    """The meeting's close, and its record's way to the archive."""

    close_ack_ms: float = math.nan
    sealed_s: float = math.nan  # the close's ack → record.progress sealed
    uploaded_s: float = math.nan  # the close's ack → record.upload uploaded
    upload_s: float = math.nan  # sealed → uploaded
    files: int = 0
    bytes: int = 0
    archive_files: int = -1  # what the archive holds for the room afterwards
    archive_bytes: int = 0
    state: str = ""


# --- the chair ----------------------------------------------------------------------------


class SessionChair(Chair):
    """The chair's tablet, as :class:`bench.votes.Chair`, whose requests may go while
    page changes are on their way: an answer is matched to its request by op id (every
    answer still reaches the page changes' queue), and the record's progress is kept."""

    def __init__(self, ws: ClientConnection) -> None:
        self.waiting: dict[str, asyncio.Future[tuple[float, Ack | ErrorMessage]]] = {}
        self.records: list[tuple[float, RecordProgress | RecordUpload]] = []
        self.refusals: list[str] = []
        self.queued = asyncio.Event()  # the last floor.state had someone in the queue
        super().__init__(ws)

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.ws:
                now = time.monotonic()
                if not isinstance(raw, str):
                    continue
                head = raw[:40]
                if '"ack"' in head or '"error"' in head:
                    message = decode(raw)
                    if isinstance(message, Ack | ErrorMessage):
                        self.answers.put_nowait((now, message))
                        ref = message.op_id if isinstance(message, Ack) else message.ref
                        waiting = self.waiting.pop(ref or "", None)
                        if waiting is not None and not waiting.done():
                            waiting.set_result((now, message))
                        elif isinstance(message, ErrorMessage):
                            self.refusals.append(f"{message.code}: {message.message}")
                elif '"session.signed_in"' in head:
                    signed = decode(raw)
                    if isinstance(signed, SignedIn):
                        self.token = signed.token
                        self.signed_in.set()
                elif '"follow.state"' in head:
                    self.follows.append((now, raw))
                elif '"floor.state"' in head:
                    floor = decode(raw)
                    if isinstance(floor, FloorState):
                        if floor.queue:
                            self.queued.set()
                        else:
                            self.queued.clear()
                elif '"record.progress"' in head or '"record.upload"' in head:
                    record = decode(raw)
                    if isinstance(record, RecordProgress | RecordUpload):
                        self.records.append((now, record))

    async def request(self, make: Any) -> tuple[float, float]:
        """Send ``make(op_id)``; (sent, answered) once it is acknowledged."""
        op_id = self.next_op()
        request: Request = make(op_id)
        waiting: asyncio.Future[tuple[float, Ack | ErrorMessage]] = (
            asyncio.get_running_loop().create_future()
        )
        self.waiting[op_id] = waiting
        sent = time.monotonic()
        await self.ws.send(encode(request))
        try:
            at, message = await asyncio.wait_for(waiting, CHAIR_TIMEOUT)
        except TimeoutError:
            self.waiting.pop(op_id, None)
            raise TimeoutError(
                f"no answer to the chair's {request.TYPE} in {CHAIR_TIMEOUT:.0f} s"
            ) from None
        if isinstance(message, ErrorMessage):
            raise RuntimeError(f"the chair's {request.TYPE} was refused: {message.message}")
        return sent, at

    def record_seen(self, done: Callable[[RecordProgress | RecordUpload], bool]) -> float:
        """When the first record message ``done`` accepts came (nan: not yet)."""
        return next((at for at, m in self.records if done(m)), math.nan)


# --- the server and its archive ------------------------------------------------------------


def start_server(
    workdir: Path, settings: Settings, archive: NginxArchive, seconds: float
) -> Server:
    package = write_package(workdir / "package", voting=True, more_delegates=settings.tablets)
    archive_table = archive.config_table()
    room = start_room(
        workdir / "room",
        package=package,
        mdns=False,
        room_id=ROOM_ID,
        room_name="Bench session",
        limits={"requests_per_second": 100_000, "request_burst": 100_000},
        extra="[annotations]\nmax_per_member = 10000000\nmax_bytes_per_member = 1073741824\n"
        + archive_table
        + "\n",
        command_prefix=[*timeout_prefix(seconds), *shlex.split(settings.server_prefix)],
    )
    pid = int(json.loads((room.state_dir / "server.json").read_text())["pid"])
    return Server(room, pid, workdir / "room" / "server.log")


class RssSampler:
    """The server's RSS every ``every`` seconds, each sample labelled with the phase."""

    def __init__(self, pid: int, every: float) -> None:
        self.pid = pid
        self.every = every
        self.phase = "start"
        self.samples: list[tuple[float, str, float]] = []  # (monotonic, phase, MB)
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(OSError):
                self.samples.append((time.monotonic(), self.phase, rss_mb(self.pid)[0]))
            await asyncio.sleep(self.every)

    def peak(self, phase: str | None = None) -> float:
        values = [mb for _t, p, mb in self.samples if phase is None or p == phase]
        return max(values) if values else math.nan

    def last(self, phase: str) -> float:
        values = [mb for _t, p, mb in self.samples if p == phase]
        return values[-1] if values else math.nan

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


# --- the meeting --------------------------------------------------------------------------


class Meeting:
    def __init__(
        self,
        settings: Settings,
        server: Server,
        workers: LoadGenerators,
        chair: SessionChair,
        sampler: RssSampler,
    ) -> None:
        self.settings = settings
        self.server = server
        self.workers = workers
        self.chair = chair
        self.sampler = sampler
        self.timing = (settings.interval, settings.settle)
        self.sha256 = ""
        self.phases: list[PhaseResult] = []
        self.kinds = Kinds()
        self.errors = Errors()
        self.record = Record()
        self.polls: list[tuple[str, str, list[Ballot]]] = []  # (phase, poll id, ballots)
        self.annotated: set[tuple[str, str]] = set()
        self.fetch: dict[str, Any] = {}
        self.facts: dict[str, Any] = {}

    @property
    def workers_count(self) -> int:
        return len(self.workers.pipes)

    @contextlib.asynccontextmanager
    async def phase(self, name: str) -> AsyncIterator[PhaseResult]:
        result = PhaseResult(name)
        self.sampler.phase = name
        profiler = self._profile(name)
        cpu0, began = cpu_seconds(self.server.pid), time.monotonic()
        wait0 = run_queue_seconds(self.server.pid)
        log(f"phase {name}")
        try:
            yield result
        finally:
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)  # py-spy writes what it sampled, and ends
                try:
                    profiler.wait(30)
                except subprocess.TimeoutExpired:
                    profiler.kill()
            result.seconds = time.monotonic() - began
            with contextlib.suppress(OSError):
                result.cpu_s = cpu_seconds(self.server.pid) - cpu0
                result.waited_s = run_queue_seconds(self.server.pid) - wait0
                self.sampler.samples.append((time.monotonic(), name, rss_mb(self.server.pid)[0]))
            result.rss_peak_mb = self.sampler.peak(name)
            result.rss_end_mb = self.sampler.last(name)
            self.phases.append(result)
            f = result.follow
            log(
                f"phase {name}: {result.seconds:.1f} s, server CPU {result.cpu:.0%}, RSS peak "
                f"{result.rss_peak_mb:.0f} MB; {f.moves} page changes p99 {ms(f.p(99))} ms, "
                f"missed {f.missed}"
            )

    def _profile(self, name: str) -> subprocess.Popen[bytes] | None:
        """py-spy sampling the server (every thread, 100 Hz, without pausing it) for one
        phase, its stacks written collapsed ("raw") to ``<n>-<phase>.txt``."""
        if not self.settings.py_spy:
            return None
        folder = Path(self.settings.py_spy)
        binary = shutil.which("py-spy") or PY_SPY_FALLBACK
        folder.mkdir(parents=True, exist_ok=True)
        slug = "".join(c if c.isalnum() else "-" for c in name)
        out = folder / f"{len(self.phases):02d}-{slug}.txt"
        return subprocess.Popen(
            [
                *(binary, "record", "--pid", str(self.server.pid), "--rate", "100"),
                *("--nonblocking", "--format", "raw", "--output", str(out)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=(folder / f"{out.stem}.log").open("wb"),
        )

    def _share(self, share: float) -> list[tuple[int]]:
        """``share`` of the tablets, as per-worker counts (each worker's first ones)."""
        n, count = self.settings.tablets, self.workers_count
        total = round(n * share)
        return [(total // count + (1 if i < total % count else 0),) for i in range(count)]

    async def _block(
        self, result: PhaseResult, during: Awaitable[list[dict[str, Any]]] | None, moves: int = 0
    ) -> Block:
        """Page changes while ``during`` runs (or ``moves`` of them), counted in ``result``."""
        block = await page_change_block(
            self.server, self.chair, self.workers, self.sha256, self.timing, moves, during
        )
        add_block(result.follow, block, block.sends, self.settings.tablets)
        acks, refused = await block.changes.answers()
        result.follow.chair_ack_ms = sorted(result.follow.chair_ack_ms + acks)
        result.follow.refused += refused
        self.errors.add("page changes refused or unanswered", refused)
        self.errors.add("page changes missed (tablet, change)", result.follow.missed)
        self.errors.add("page changes shown at the wrong page", result.follow.wrong_page)
        self.kinds.add("follow.state", block_latencies(block, self.settings.tablets))
        return block

    # --- the phases --------------------------------------------------------------------

    async def sign_in(self, tablets: list[list[tuple[str, ...]]]) -> None:
        s = self.settings
        async with self.phase("sign-in") as result:
            signed = await self.workers.ask(
                "sign_in",
                [(SERVER, s.sign_in_concurrency, t) for t in tablets],
                limit=max(300.0, s.tablets * 0.5),
            )
            self.kinds.add("session.sign_in → ack", [x for r in signed for x in r["latencies_ms"]])
            self.errors.add(
                "sign-ins failed",
                sum(r["failed"] for r in signed),
                [t for r in signed for t in r["failures"]],
            )
            sign_in_s = max(r["seconds"] for r in signed)
            grown = await self.workers.ask("grow", [(t,) for t in tablets], limit=600)
            self.errors.add(
                "connections failed",
                sum(g["failed"] for g in grown),
                [t for g in grown for t in g["failures"]],
            )
            connect_s = max(g["seconds"] for g in grown)
            short = await self.workers.ask_all("signed_in", SERVER, 60.0, limit=120)
            self.errors.add("sessions not back after connecting", sum(x["short"] for x in short))
            if not s.fresh_documents and s.fetchers > 0:
                # Where a tablet fetched the meeting's documents on signing in, it keeps
                # that connection; the late document's fetchers are those tablets.
                kept = await self.workers.ask(
                    "downloads_open", [(SERVER, n) for (n,) in self._share(s.fetchers)], limit=600
                )
                self.errors.add(
                    "documents connections failed",
                    sum(k["failed"] for k in kept),
                    [t for k in kept for t in k["failures"]],
                )
                result.notes.append(
                    f"{sum(k['opened'] for k in kept)} of them (the late document's fetchers) "
                    "then opened their documents connection, as a tablet keeps the one it "
                    "fetched the meeting's documents on"
                )
            result.notes.append(
                f"{s.tablets} members signed in over {sign_in_s:.0f} s, "
                f"{s.sign_in_concurrency * self.workers_count} at a time; connected with "
                f"their tokens in {connect_s:.0f} s"
            )

    async def idle(self) -> None:
        async with self.phase("idle") as result:
            await self._block(result, None, self.settings.idle_moves)

    async def agenda(self) -> None:
        async def moves() -> list[dict[str, Any]]:
            acks = []
            for make in AGENDA_MOVES:
                await asyncio.sleep(self.settings.agenda_gap)
                sent, answered = await self.chair.request(make)
                acks.append((answered - sent) * 1000)
            await asyncio.sleep(self.settings.agenda_gap)
            return [{"acks": acks}]

        async with self.phase("agenda") as result:
            block = await self._block(result, moves())
            self.kinds.add("agenda move → chair's ack", block.during[0]["acks"])

    async def speakers(self) -> None:
        s = self.settings
        start_at = time.monotonic() + self.settings.pause

        async def chair_grants() -> list[str]:
            """The first in the queue speaks for half a gap, ``grants`` times."""
            refused = []
            gap = s.speak_spread / (s.grants + 1)
            for k in range(1, s.grants + 1):
                await asyncio.sleep(max(0.0, start_at + k * gap - time.monotonic()))
                with contextlib.suppress(TimeoutError):  # as a chair would: nobody asked yet
                    await asyncio.wait_for(self.chair.queued.wait(), s.speak_spread)
                try:
                    await self.chair.request(lambda op: GrantFloor(op))
                    await asyncio.sleep(gap / 2)
                    await self.chair.request(lambda op: EndSpeech(op))
                except (RuntimeError, TimeoutError) as exc:
                    refused.append(str(exc))
            return refused

        async def during() -> list[dict[str, Any]]:
            per = [
                (
                    SERVER,
                    n,
                    "speak",
                    start_at,
                    s.speak_spread,
                    s.answer_seconds,
                )
                for (n,) in _split(s.speakers, self.workers_count)
            ]
            asked, refused = await asyncio.gather(
                self.workers.ask("speak", per, limit=s.speak_spread + s.answer_seconds + 60),
                chair_grants(),
            )
            return [*asked, {"chair_refused": refused}]

        async with self.phase("speakers") as result:
            block = await self._block(result, during())
            replies = block.during[:-1]
            self.kinds.add("floor.request → ack", [x for r in replies for x in r["latencies_ms"]])
            self.errors.add(
                "floor requests refused",
                sum(r["refused"] for r in replies),
                [t for r in replies for t in r["refusals"]],
            )
            self.errors.add("floor requests unanswered", sum(r["unanswered"] for r in replies))
            chair_refused = block.during[-1]["chair_refused"]
            self.errors.add("chair's floor requests refused", len(chair_refused), chair_refused)
            result.notes.append(
                f"{sum(r['sent'] for r in replies)} floor requests over {s.speak_spread:.0f} s, "
                f"{s.grants} speeches given and ended"
            )

    async def annotations(self) -> None:
        s = self.settings
        start_at = time.monotonic() + self.settings.pause
        per = [
            (
                SERVER,
                (self.sha256, PAGES, s.points),
                "session",
                start_at,
                s.annotate_seconds,
                (s.ops_per_second, 0),
                s.answer_seconds,
                n,
            )
            for (n,) in self._share(s.annotators)
        ]
        during = self.workers.ask(
            "annotate", per, limit=1.0 + s.annotate_seconds + s.answer_seconds + 60
        )
        async with self.phase("annotations") as result:
            block = await self._block(result, during)
            replies = block.during
            self.kinds.add("annotation.batch → kept", [x for r in replies for x in r["batch_ms"]])
            self.kinds.add(
                "annotation stroke drawn → kept (pace included)",
                [x for r in replies for x in r["latencies_ms"]],
            )
            self.annotated.update((c, o) for r in replies for c, o in r["acked"])
            self.errors.add(
                "strokes refused",
                sum(r["refused"] for r in replies),
                [t for r in replies for t in r["refusals"]],
            )
            self.errors.add("strokes unanswered", sum(r["unanswered"] for r in replies))
            self.errors.add("strokes answered twice", sum(r["answered_twice"] for r in replies))
            self.errors.add("annotation answers unreadable", sum(r["bad_frames"] for r in replies))
            sent = sum(r["sent"] for r in replies)
            drawing = sum(len({c for c, _o in r["acked"]}) for r in replies)
            result.notes.append(
                f"{drawing} tablets drew {sent} strokes ({s.points} points each) over "
                f"{s.annotate_seconds:.0f} s, {s.ops_per_second:g} a second each; batches "
                f"answered busy (sent again later): {sum(r['deferred'] for r in replies)}"
            )
            result.notes.append(
                "operations sent a second from the start (kept or answered busy): "
                f"{_added(r['sent_per_second'] for r in replies)}; busy answers a second: "
                f"{_added(r['busy_per_second'] for r in replies)}"
            )

    async def poll(self, name: str, secret: bool, index: int) -> None:
        s = self.settings
        poll_id = f"session-p{index}"
        spec = PollSpec(f"Motion {index}", PollKind.YES_NO, secret=secret)
        await self.chair.request(lambda op: CreatePoll(op, poll_id, spec))
        await self.chair.request(lambda op: OpenPoll(op, poll_id, override_quorum=True))
        await asyncio.sleep(s.pause)  # the poll.state of the opening reaches the tablets
        start_at = time.monotonic() + self.settings.pause
        during = self.workers.ask_all(
            "burst",
            SERVER,
            poll_id,
            f"p{index}",
            start_at,
            s.spread,
            s.answer_seconds,
            limit=s.spread + s.answer_seconds + 60,
        )
        async with self.phase(name) as result:
            block = await self._block(result, during)
            ballots: list[Ballot] = [tuple(b) for r in block.during for b in r["ballots"]]
            acked = [b for b in ballots if b[4] == "" and not math.isnan(b[2])]
            self.kinds.add("poll.cast → poll.recorded", [(b[3] - b[2]) * 1000 for b in acked])
            refused = [b for b in ballots if b[4] not in ("", "missing")]
            self.errors.add(
                "ballots refused", len(refused), [f"{b[0]}: {b[4]} {b[5]}" for b in refused]
            )
            self.errors.add("ballots unanswered", sum(1 for b in ballots if b[4] == "missing"))
            self.errors.add("ballots answered more than once", sum(1 for b in ballots if b[6] > 1))
            self.polls.append((name, poll_id, ballots))
            p99 = percentile(sorted((b[3] - b[2]) * 1000 for b in acked), 99)
            result.notes.append(
                f"{len(acked)} of {len(ballots)} ballots acknowledged, ack p99 {ms(p99)} ms"
            )
            await self.chair.request(lambda op: ClosePoll(op, poll_id))
            await self.chair.request(lambda op: PublishPoll(op, poll_id))
            await asyncio.sleep(s.pause)  # the result reaches the tablets

    async def late_document(self, workdir: Path) -> None:
        s = self.settings
        pdf = write_pdf(
            workdir / "late" / "amendment.pdf",
            s.late_pages,
            "Late amendment",
            pad_bytes=s.late_bytes,
        )
        room = self.server.room
        found: dict[str, Any] = {}

        async def during() -> list[dict[str, Any]]:
            """Added, every tablet told, a share fetches it: page changes throughout."""
            added = await asyncio.to_thread(
                room_cli,
                room.config,
                "add-document",
                str(pdf),
                "--item",
                LATE_ITEM,
                "--title",
                "Late amendment",
            )
            if added.returncode != 0:
                self.errors.add("add-document failed", 1, [added.stderr.strip()[-300:]])
                return []
            sha256, size, committed = _late_in_database(room.state_dir / "room.sqlite3")
            found.update(sha256=sha256, size=size)
            watched = await self.workers.ask_all("watched", SERVER, s.settle, limit=s.settle + 30)
            offset = time.time() - time.monotonic()  # the same for every process here
            stamps = [x for r in watched for x in r["stamps"]]
            self.kinds.add(
                "late document → meeting.state",
                [(x + offset - committed) * 1000 for x in stamps if not math.isnan(x)],
            )
            self.errors.add(
                "tablets never told of the late document",
                sum(1 for x in stamps if math.isnan(x)),
            )
            start_at = time.monotonic() + 0.5
            fetched: list[dict[str, Any]] = await self.workers.ask(
                "fetch",
                [
                    (SERVER, [(sha256, size, False)], start_at, s.answer_seconds, True, 0, n)
                    for (n,) in self._share(s.fetchers)
                ],
                limit=s.answer_seconds + 60,
            )
            found["start_at"] = start_at
            return fetched

        async with self.phase("late document") as result:
            # Its sha256 is known only once the room stored it: every tablet looks for the
            # notice the room adds with it, in each meeting.state.
            await self.workers.ask_all("watch", SERVER, '"New document: Late amendment', limit=30)
            block = await self._block(result, during())
            if "start_at" not in found:
                return
            fetched, start_at = block.during, found["start_at"]
            done = sorted(x for r in fetched for x in r["done"])
            self.errors.add(
                "late document fetches failed",
                sum(r["errors"] for r in fetched) + sum(r["unfinished"] for r in fetched),
                [t for r in fetched for t in r["error_samples"]],
            )
            self.kinds.add("late document fetched whole", [(x - start_at) * 1000 for x in done])
            self.fetch = {
                "tablets": sum(r["tablets"] for r in fetched),
                "fetched": sum(r["fetched"] for r in fetched),
                "bytes": sum(r["bytes"] for r in fetched),
                "size": found["size"],
                "last_s": (done[-1] - start_at) if done else math.nan,
                "opened": sum(r.get("opened", 0) for r in fetched),
            }
            result.notes.append(
                f"a {found['size'] / 1e6:.1f} MB PDF added with `room-server add-document`, "
                "every tablet told (its next meeting.state lists it, with a notice); "
                f"{self.fetch['fetched']} of {self.fetch['tablets']} tablets fetched it, the "
                f"last {self.fetch['last_s']:.2f} s after the start; "
                f"{self.fetch['opened']} documents connections opened for it"
            )

    async def close(self) -> None:
        record = self.record
        async with self.phase("close") as result:
            sent, acked = await self.chair.request(lambda op: CloseMeeting(op, force=True))
            record.close_ack_ms = (acked - sent) * 1000
            until = time.monotonic() + SEAL_WAIT

            def sealed(m: RecordProgress | RecordUpload) -> bool:
                return isinstance(m, RecordProgress) and m.state is RecordState.SEALED

            def uploaded(m: RecordProgress | RecordUpload) -> bool:
                return isinstance(m, RecordUpload) and m.state is UploadState.UPLOADED

            while time.monotonic() < until:
                if not math.isnan(self.chair.record_seen(uploaded)):
                    break
                if any(
                    isinstance(m, RecordProgress) and m.state is RecordState.FAILED
                    for _at, m in self.chair.records
                ):
                    break
                await asyncio.sleep(0.1)
            sealed_at = self.chair.record_seen(sealed)
            uploaded_at = self.chair.record_seen(uploaded)
            record.sealed_s = sealed_at - acked
            record.uploaded_s = uploaded_at - acked
            record.upload_s = uploaded_at - sealed_at
            last = self.chair.records[-1][1] if self.chair.records else None
            record.state = f"{last.TYPE} {last.state.value}" if last is not None else "nothing"
            uploads = [m for _at, m in self.chair.records if isinstance(m, RecordUpload)]
            if uploads:
                record.files, record.bytes = uploads[-1].files_total, uploads[-1].bytes_total
            if math.isnan(uploaded_at):
                self.errors.add("record not sealed and uploaded", 1, [record.state])
            result.notes.append(
                f"close acknowledged in {ms(record.close_ack_ms)} ms; record sealed "
                f"{record.sealed_s:.1f} s later, uploaded {record.upload_s:.1f} s after that"
            )

    async def count_errors(self) -> None:
        replies = await self.workers.ask_all("errors", SERVER, limit=60)
        codes: dict[str, int] = {}
        for r in replies:
            for code, n in r["codes"].items():
                codes[code] = codes.get(code, 0) + n
        for code, n in sorted(codes.items()):
            self.errors.add(f"error frames at tablets ({code})", n)
        for text in [t for r in replies for t in r["samples"]][:5]:
            self.errors.samples.append(f"error frame: {text}")
        self.errors.add("tablet connections lost", sum(r["lost"] for r in replies))
        self.errors.add("frames not whole text messages", sum(r["bad_frames"] for r in replies))
        self.errors.add("chair's requests refused", len(self.chair.refusals), self.chair.refusals)
        self.facts["connected_at_end"] = sum(r["connected"] for r in replies)


def _added(series: Iterable[list[int]]) -> list[int]:
    """Per-second counts of several workers added up, second by second."""
    total: list[int] = []
    for counts in series:
        total.extend([0] * (len(counts) - len(total)))
        for second, count in enumerate(counts):
            total[second] += count
    return total


def _split(total: int, count: int) -> list[tuple[int]]:
    return [(total // count + (1 if i < total % count else 0),) for i in range(count)]


def block_latencies(block: Block, tablets: int) -> list[float]:
    phase = Phase()
    add_block(phase, block, block.sends, tablets)
    return phase.latencies_ms


def _late_in_database(db: Path) -> tuple[str, int, float]:
    """The late document the room stored: (sha256, size, its notice's commit time as a
    Unix time)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute(
            "SELECT n.sha256, b.size, n.at FROM notices n JOIN blobs b ON b.sha256 = n.sha256 "
            "ORDER BY n.at DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    if row is None:
        raise RuntimeError("add-document left no notice in the database")
    return str(row[0]), int(row[1]), dt.datetime.fromisoformat(str(row[2])).timestamp()


# --- the run ------------------------------------------------------------------------------


async def _meeting(
    settings: Settings, workdir: Path, facts: dict[str, Any], cpus: list[int], pinned: bool
) -> Meeting:
    deadline = time.monotonic() + settings.max_seconds
    ensure_nginx()
    archive = NginxArchive(workdir / "archive").start()
    try:
        server = start_server(workdir, settings, archive, settings.max_seconds + 30)
        count = max(1, math.ceil(settings.tablets / settings.per_worker))
        facts["workers"] = count
        if pinned:
            pin_threads(server.pid, set(cpus))  # not yet: signing in may use every CPU
        tablets = [list[tuple[str, ...]](m) for m in assign_members(settings.tablets, count)]
        devices = [(CHAIR_DEVICE, CHAIR_SEAT), *((t[0], t[1]) for w in tablets for t in w)]
        access = enroll_with(REPO, server.room.state_dir, workdir / "devices", devices)
        workers = LoadGenerators(
            worker_main,
            count,
            {
                "servers": {SERVER: (server.room.hostname, server.room.port)},
                "access": access,
                "connect_concurrency": settings.connect_concurrency,
                "documents_rcvbuf": 256 * 1024,
                "max_seconds": settings.max_seconds + 10,
            },
        )
        sampler = RssSampler(server.pid, settings.rss_every)
        chair: SessionChair | None = None
        meeting: Meeting | None = None
        try:
            chair = await SessionChair.open(server.room, access)  # type: ignore[assignment]
            assert isinstance(chair, SessionChair)
            m = meeting = Meeting(settings, server, workers, chair, sampler)
            m.facts = facts
            await m.sign_in(tablets)
            facts["rss_connected_mb"] = round(rss_mb(server.pid)[0], 1)
            if pinned and not pin_threads(server.pid, {cpus[0]}):
                raise RuntimeError(f"could not pin the server to CPU {cpus[0]}")
            m.sha256 = sha256_file(workdir / "package" / "docs" / "budget.pdf")
            await chair.request(lambda op: SetFollow(op, m.sha256, 0))
            await asyncio.sleep(2 * settings.pause)  # let the server settle (welcome frames, GC)
            steps: list[Callable[[], Awaitable[None]]] = [
                m.idle,
                m.agenda,
                m.speakers,
                m.annotations,
                *(
                    functools.partial(m.poll, name, secret, i)
                    for i, (name, secret) in enumerate(POLLS, 1)
                ),
                functools.partial(m.late_document, workdir),
            ]
            for step in steps:
                if time.monotonic() > deadline - min(120.0, settings.max_seconds / 4):
                    log("out of time: the phases left are skipped")
                    facts["skipped_phases"] = True
                    break
                await step()
            await m.count_errors()
            await m.close()
            facts["rss_peak_mb"] = round(rss_mb(server.pid)[1], 1)
        finally:
            await sampler.stop()
            if chair is not None:
                await chair.close()
            workers.stop()
            stop_server(server)
        assert meeting is not None
        _verify(meeting, server.room.state_dir / "room.sqlite3", archive)
        return meeting
    finally:
        archive.stop()


def _verify(meeting: Meeting, db: Path, archive: NginxArchive) -> None:
    """The database (the server stopped) against the acknowledgements; the archive."""
    checks: dict[str, Any] = {}
    for name, poll_id, ballots in meeting.polls:
        acked = {b[1] for b in ballots if b[4] == "" and not math.isnan(b[2])}
        try:
            stored = ballot_ids_in_database(db, poll_id)
        except sqlite3.Error as exc:
            log(f"could not read {poll_id} from {db}: {exc}")
            stored = set()
        checks[name] = {"acked": len(acked), "stored": len(stored), "exact": stored == acked}
        if stored != acked:
            meeting.errors.add(f"{name}: database ≠ acknowledged ballots", len(stored ^ acked))
    found: Database = database(db, meeting.annotated)
    checks["annotations"] = {**asdict(found), "exact": found.exact}
    if not found.exact:
        meeting.errors.add("annotations: database ≠ acknowledged", found.missing + found.extra + 1)
    stored_files = (
        files_of(archive.store / "records" / ROOM_ID)
        if (archive.store / "records" / ROOM_ID).is_dir()
        else {}
    )
    meeting.record.archive_files = len(stored_files)
    meeting.record.archive_bytes = sum(len(b) for b in stored_files.values())
    if meeting.record.files and meeting.record.archive_files < meeting.record.files:
        meeting.errors.add(
            "record files missing in the archive",
            meeting.record.files - meeting.record.archive_files,
        )
    meeting.facts["database"] = checks


async def run(settings: Settings) -> tuple[Meeting, dict[str, Any]]:
    raise_nofile()
    own_dir = settings.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="hemicycle-session-")) if own_dir else None
    workdir = (workdir or settings.workdir or Path()).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    facts: dict[str, Any] = {"workdir": str(workdir), "loadavg_start": loadavg()}
    own_cpus = os.sched_getaffinity(0)
    cpus = sorted(own_cpus)
    pinned = settings.pin and len(cpus) >= 2
    if pinned:
        pinned = pin(os.getpid(), set(cpus[1:]))  # the workers and the server inherit this
    facts["pinned"] = pinned
    started = time.monotonic()
    try:
        meeting = await _meeting(settings, workdir, facts, cpus, pinned)
        facts["loadavg_end"] = loadavg()
        facts["seconds"] = round(time.monotonic() - started)
        return meeting, facts
    finally:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, own_cpus)  # as it was: a test run goes on after this
        if own_dir:
            shutil.rmtree(workdir, ignore_errors=True)


# --- reporting ---------------------------------------------------------------------------


def _ratio(a: float, b: float) -> str:
    return "—" if not b or math.isnan(a) or math.isnan(b) else f"{a / b:.2f}"


KIND_TARGETS = {
    "follow.state": TARGET_FOLLOW_P99_MS,
    "poll.cast → poll.recorded": TARGET_BALLOT_P99_MS,
}


def kinds_table(meeting: Meeting) -> str:
    lines = [
        "| message kind | count | p50 ms | p99 ms | max ms | target (p99) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for kind, values in meeting.kinds.latencies.items():
        target = KIND_TARGETS.get(kind)
        verdict = "—"
        if target is not None:
            p99 = percentile(values, 99)
            verdict = f"< {target:.0f} ms: " + (
                "**met**" if p99 < target else f"**NOT met** (+{p99 - target:.0f} ms)"
            )
        lines.append(
            f"| {kind} | {len(values)} | {ms(percentile(values, 50))} | "
            f"{ms(percentile(values, 99))} | {ms(values[-1] if values else math.nan)} | "
            f"{verdict} |"
        )
    return "\n".join(lines)


def phases_table(meeting: Meeting) -> str:
    idle = next((p for p in meeting.phases if p.name == "idle"), None)
    idle99 = idle.follow.p(99) if idle else math.nan
    lines = [
        "| phase | s | page changes | follow p50 / p99 / max ms | p99 / idle p99 | missed | "
        "server CPU; waiting for a CPU | RSS peak / end MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in meeting.phases:
        f = p.follow
        lines.append(
            f"| {p.name} | {p.seconds:.1f} | {f.moves} | {ms(f.p(50))} / {ms(f.p(99))} / "
            f"{ms(f.max_ms)} | {_ratio(f.p(99), idle99)} | {f.missed} | {p.cpu:.0%}; "
            f"{p.waited:.0%} | {p.rss_peak_mb:.0f} / {p.rss_end_mb:.0f} |"
        )
    return "\n".join(lines)


def errors_table(meeting: Meeting) -> str:
    if not meeting.errors.counts:
        return "Errors: **0** (no error frame, no connection lost, nothing refused or missed)."
    lines = ["| error | count |", "|---|---:|"]
    for what, n in meeting.errors.counts.items():
        lines.append(f"| {what} | {n} |")
    lines.append(f"| **total** | **{meeting.errors.total}** |")
    if any("(busy)" in what for what in meeting.errors.counts):
        lines += [
            "",
            "`busy` is the room's annotation flow control: the batch is not kept, the tablet "
            "keeps its strokes and sends them again after a wait (the database check above "
            "says whether every stroke was kept in the end). It is counted here because it "
            "is an error frame; it comes when more strokes arrive together than the room's "
            "budget holds (`[annotations] ops_burst`).",
        ]
    return "\n".join(lines)


def verdict(meeting: Meeting, facts: dict[str, Any]) -> list[str]:
    out = []
    follow_p99 = {p.name: p.follow.p(99) for p in meeting.phases if p.follow.moves}
    worst = max(follow_p99.items(), key=lambda x: x[1], default=("—", math.nan))
    met = all(v < TARGET_FOLLOW_P99_MS for v in follow_p99.values()) and bool(follow_p99)
    out.append(
        f"- Follow-the-chair p99 < {TARGET_FOLLOW_P99_MS:.0f} ms in every phase: "
        f"**{'met' if met else 'NOT met'}** (worst: {worst[0]}, {ms(worst[1])} ms"
        + ("" if met else f", {worst[1] - TARGET_FOLLOW_P99_MS:.0f} ms over")
        + ")."
    )
    polls = []
    ok = bool(meeting.polls)
    for name, _poll_id, ballots in meeting.polls:
        acks = sorted((b[3] - b[2]) * 1000 for b in ballots if b[4] == "" and not math.isnan(b[2]))
        p99 = percentile(acks, 99)
        ok = ok and p99 < TARGET_BALLOT_P99_MS
        polls.append(f"{name} {ms(p99)} ms")
    out.append(
        f"- Ballot ack p99 < {TARGET_BALLOT_P99_MS:.0f} ms in every poll: "
        f"**{'met' if ok else 'NOT met'}** ({'; '.join(polls) or 'no poll ran'})."
    )
    peak = facts.get("rss_peak_mb", math.nan)
    connected = facts.get("rss_connected_mb", math.nan)
    out.append(
        f"- Server RSS < {TARGET_RSS_MB:.0f} MB at {meeting.settings.tablets} control "
        f"connections: **{'met' if peak < TARGET_RSS_MB else 'NOT met'}** (peak {peak} MB, "
        f"VmHWM over the whole run; {connected} MB once every tablet was connected"
        + ("" if peak < TARGET_RSS_MB else f"; {peak - TARGET_RSS_MB:.0f} MB over")
        + ")."
    )
    out.append(
        f"- Errors: **{meeting.errors.total}**"
        + (" (target 0: met)." if meeting.errors.total == 0 else " (target 0: NOT met).")
    )
    return out


def section(meeting: Meeting, facts: dict[str, Any], command: str) -> str:
    s = meeting.settings
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    pinned = (
        "the server (every thread) pinned to CPU 0 once the tablets are connected, load "
        "generators and chair to the other CPU(s)"
        if facts.get("pinned")
        else "no CPU pinning"
    )
    r = meeting.record
    notes = [f"- {p.name}: {note}." for p in meeting.phases for note in p.notes]
    db = facts.get("database", {})
    db_line = "; ".join(
        f"{k}: {v['stored']} stored / {v['acked']} acknowledged"
        + (" (exact)" if v.get("exact") else " (NOT exact)")
        for k, v in db.items()
        if isinstance(v, dict) and "stored" in v
    )
    parts = [
        SECTION_BEGIN,
        f"Measured {when} on {machine()}; {pinned}; {facts.get('workers')} load-generator "
        f"processes; load average {facts.get('loadavg_start')} at the start, "
        f"{facts.get('loadavg_end')} at the end (other work shares this machine); the whole "
        f"run took {facts.get('seconds')} s.",
        "",
        "```",
        command,
        "```",
        "",
        f"{s.tablets} tablets, each an enrolled device with a member signed in; the chair "
        f"changes page every {s.interval * 1000:.0f} ms in every phase from idle to the late "
        "document. Latency per message kind (all phases; follow.state = the chair's send → "
        "the frame's arrival at the tablet's socket; the others as the tablet's code saw "
        "the answer):",
        "",
        kinds_table(meeting),
        "",
        "Per phase (server CPU: its CPU time / the phase's length, 100 % = one core; "
        "waiting for a CPU: the time its threads were runnable but not running "
        "(`/proc/<pid>/task/*/schedstat`) / the same length, other work on its CPU; RSS "
        f"sampled every {s.rss_every:g} s):",
        "",
        phases_table(meeting),
        "",
        "What each phase did:",
        "",
        *notes,
        "",
        f"Meeting close → record: close acknowledged in {ms(r.close_ack_ms)} ms; sealed "
        f"{r.sealed_s:.1f} s after the ack; uploaded to the local nginx archive (WebDAV PUT, "
        f"TLS, read back) {r.upload_s:.1f} s after the seal ({r.uploaded_s:.1f} s after the "
        f"ack); {r.files} files, {r.bytes / 1e6:.1f} MB; the archive holds "
        f"{r.archive_files} files, {r.archive_bytes / 1e6:.1f} MB. Database after the run: "
        f"{db_line}.",
        "",
        errors_table(meeting),
        "",
        "Against the targets (issue 15):",
        "",
        *verdict(meeting, facts),
        SECTION_END,
    ]
    return "\n".join(parts)


def write_doc(path: Path, text: str) -> None:
    first = ("" if path.exists() else "# Performance\n\n") + SECTION_TITLE
    replace_section(path, SECTION_BEGIN, SECTION_END, text, first)


def ok(meeting: Meeting, facts: dict[str, Any]) -> bool:
    return (
        meeting.errors.total == 0
        and not facts.get("skipped_phases")
        and bool(meeting.polls)
        and meeting.record.archive_files > 0
    )


def main(argv: list[str] | None = None) -> int:
    doc = __doc__ or ""
    parser = argparse.ArgumentParser(
        prog="python -m bench.session", description=doc.split("\n\n")[0]
    )
    d = Settings()
    parser.add_argument("--tablets", type=int, default=d.tablets, metavar="N")
    parser.add_argument("--interval", type=float, default=d.interval)
    parser.add_argument("--idle-moves", type=int, default=d.idle_moves)
    parser.add_argument("--agenda-gap", type=float, default=d.agenda_gap)
    parser.add_argument("--speakers", type=int, default=d.speakers)
    parser.add_argument("--speak-spread", type=float, default=d.speak_spread)
    parser.add_argument("--grants", type=int, default=d.grants)
    parser.add_argument("--annotators", type=float, default=d.annotators, help="share, 0..1")
    parser.add_argument("--ops-per-second", type=float, default=d.ops_per_second)
    parser.add_argument("--annotate-seconds", type=float, default=d.annotate_seconds)
    parser.add_argument("--points", type=int, default=d.points)
    parser.add_argument("--spread", type=float, default=d.spread)
    parser.add_argument("--answer-seconds", type=float, default=d.answer_seconds)
    parser.add_argument("--fetchers", type=float, default=d.fetchers, help="share, 0..1")
    parser.add_argument(
        "--fresh-documents",
        action="store_true",
        help="the late document's fetchers open a new documents connection for it (by "
        "default they use the one they hold from sign-in, as the tablet app does)",
    )
    parser.add_argument("--late-pages", type=int, default=d.late_pages)
    parser.add_argument("--late-bytes", type=int, default=d.late_bytes)
    parser.add_argument("--settle", type=float, default=d.settle)
    parser.add_argument("--rss-every", type=float, default=d.rss_every)
    parser.add_argument("--pause", type=float, default=d.pause)
    parser.add_argument(
        "--py-spy",
        default=d.py_spy,
        metavar="DIR",
        help="record the server with py-spy during each phase (collapsed stacks in DIR)",
    )
    parser.add_argument("--per-worker", type=int, default=d.per_worker)
    parser.add_argument("--connect-concurrency", type=int, default=d.connect_concurrency)
    parser.add_argument("--sign-in-concurrency", type=int, default=d.sign_in_concurrency)
    add_run_options(parser, d.max_seconds, DOC)
    args = parser.parse_args(argv)
    settings = settings_from(parser, args, Settings)
    if not 2 <= settings.tablets <= 9_999:
        parser.error("--tablets must be 2..9999 (member ids have four digits)")
    if not (0 <= settings.annotators <= 1 and 0 <= settings.fetchers <= 1):
        parser.error("--annotators and --fetchers are shares, 0..1")
    if settings.speakers > settings.tablets or settings.idle_moves < 1:
        parser.error("--speakers cannot be more than --tablets; --idle-moves at least 1")
    command = command_line("bench.session", argv)
    meeting, facts = asyncio.run(asyncio.wait_for(run(settings), settings.max_seconds + 120))
    facts["errors"] = asdict(meeting.errors)
    facts["kinds"] = meeting.kinds.latencies
    facts["record"] = asdict(meeting.record)
    facts["rss_samples"] = meeting.sampler.samples
    for text in meeting.errors.samples:
        log(f"error: {text}")
    publish(args, section(meeting, facts, command), write_doc, facts, settings, meeting.phases)
    return 0 if ok(meeting, facts) else 1


if __name__ == "__main__":
    sys.exit(main())
