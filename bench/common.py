"""Small helpers shared by the bench processes: limits, /proc readings, percentiles, and
the pipe protocol to load-generator processes."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib.metadata
import json
import math
import multiprocessing
import os
import platform
import re
import resource
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, TypeVar

LOOPBACK = "127.0.0.1"
_TICKS = os.sysconf("SC_CLK_TCK")


def raise_nofile(wanted: int = 65_536) -> int:
    """Raise RLIMIT_NOFILE's soft limit towards ``wanted`` (never past the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB (10^6 bytes), from /proc/<pid>/status."""
    values = {"VmRSS": 0.0, "VmHWM": 0.0}
    with Path(f"/proc/{pid}/status").open(encoding="ascii") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in values:
                values[key] = int(rest.split()[0]) * 1024 / 1e6  # the kernel reports kB
    return values["VmRSS"], values["VmHWM"]


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds ``pid`` has used so far, from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    # after the ")" closing comm: state is field 3, utime 14 and stime 15 (1-based)
    return int(fields[11]) / _TICKS, int(fields[12]) / _TICKS


def cpu_seconds(pid: int) -> float:
    """User + system CPU time ``pid`` has used so far."""
    return sum(cpu_times(pid))


def run_queue_seconds(pid: int) -> float:
    """Seconds the threads of ``pid`` have spent runnable but waiting for a CPU, from
    /proc/<pid>/task/*/schedstat (nan if the kernel does not keep it). Beside
    :func:`cpu_seconds` it tells a process slowed by other work on its CPU from one
    that is waiting on something else (a lock, a disk)."""
    total = 0.0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):  # a thread that just ended
                total += int((task / "schedstat").read_text(encoding="ascii").split()[1]) / 1e9
    except OSError:
        return math.nan
    return total


TCP_COUNTERS = ("RetransSegs", "TCPTimeouts", "TCPMemoryPressures", "PruneCalled")


def tcp_counters() -> dict[str, int]:
    """Machine-wide TCP trouble counters (/proc/net/snmp and /proc/net/netstat).

    On loopback nothing should be lost: retransmissions or memory pressure during a
    block mean the kernel, not the server, delayed some frames."""
    found: dict[str, int] = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        try:
            lines = Path(path).read_text(encoding="ascii").splitlines()
        except OSError:
            continue
        for names, values in zip(lines[::2], lines[1::2], strict=False):
            for name, value in zip(names.split()[1:], values.split()[1:], strict=False):
                if name in TCP_COUNTERS:
                    found[name] = int(value)
    return found


def tcp_memory_mb() -> float:
    """TCP buffer memory of the whole machine in MB (/proc/net/sockstat, in pages)."""
    with Path("/proc/net/sockstat").open(encoding="ascii") as stat:
        for line in stat:
            if line.startswith("TCP:"):
                words = line.split()
                return int(words[words.index("mem") + 1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    return 0.0


def tcp_memory_limits_mb() -> tuple[float, float, float]:
    """net.ipv4.tcp_mem (low, pressure, high) in MB."""
    text = Path("/proc/sys/net/ipv4/tcp_mem").read_text(encoding="ascii")
    low, pressure, high = (int(v) * os.sysconf("SC_PAGE_SIZE") / 1e6 for v in text.split())
    return low, pressure, high


def pin(pid: int, cpus: set[int]) -> bool:
    """Pin ``pid`` to ``cpus`` if the machine has them; False if it could not."""
    try:
        if not cpus <= os.sched_getaffinity(0):
            return False
        os.sched_setaffinity(pid, cpus)
    except OSError:
        return False
    return True


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of already sorted values; nan if empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def pin_threads(pid: int, cpus: set[int]) -> bool:
    """Pin every thread ``pid`` has now (not only its main thread, as :func:`pin` does)
    to ``cpus``, which may include CPUs the caller is not pinned to; threads it starts
    later inherit their creator's. False if it could not."""
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            os.sched_setaffinity(int(task.name), cpus)
    except OSError:
        return False
    return True


class LoadGenerators:
    """Load-generator processes (multiprocessing, spawn), each running ``target(pipe,
    config)``, and the pipe protocol to them: send ``(command, args)``, get back
    ``("ok", reply)`` or ``("error", text)``."""

    def __init__(self, target: Callable[..., None], count: int, config: dict[str, Any]) -> None:
        context = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes: list[BaseProcess] = []
        for index in range(count):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=target,
                args=(theirs, {**config, "index": index}),
                name=f"loadgen-{index}",
                daemon=True,
            )
            process.start()
            theirs.close()
            self.pipes.append(ours)
            self.processes.append(process)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    async def ask(
        self, command: str, per_worker: Sequence[tuple[Any, ...]], limit: float
    ) -> list[Any]:
        """Send one command to every worker (its own arguments each), gather replies."""
        for pipe, args in zip(self.pipes, per_worker, strict=True):
            pipe.send((command, args))
        replies: dict[int, Any] = {}
        deadline = time.monotonic() + limit
        loop = asyncio.get_running_loop()
        while len(replies) < len(self.pipes):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"load generators did not answer {command!r} in {limit:.0f} s")
            waiting = [p for i, p in enumerate(self.pipes) if i not in replies]
            ready = await loop.run_in_executor(None, wait, waiting, min(remaining, 1.0))
            for index, pipe in enumerate(self.pipes):
                if pipe in ready:
                    status, value = pipe.recv()
                    if status != "ok":
                        raise RuntimeError(f"load generator failed {command!r}: {value}")
                    replies[index] = value
        return [replies[i] for i in range(len(self.pipes))]

    async def ask_all(self, command: str, *args: Any, limit: float = 60) -> list[Any]:
        return await self.ask(command, [args] * len(self.pipes), limit)

    def stop(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError, ValueError):
                pipe.send(("quit", ()))
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join(2)


async def serve_commands(
    worker: Any, pipe: Connection, deadline: float, *, no_collect: frozenset[str] = frozenset()
) -> None:
    """A load generator's side of :class:`LoadGenerators`: run ``worker.do_<command>(*args)``
    for every command until ``quit``, the orchestrator leaving, or ``deadline``
    (``time.monotonic()``). The collector runs between commands (before the answer: an
    answer means ready for the next command), except after those in ``no_collect``."""
    loop = asyncio.get_running_loop()
    while (remaining := deadline - time.monotonic()) > 0:
        ready = await loop.run_in_executor(None, pipe.poll, min(remaining, 1.0))
        if not ready:
            continue
        try:
            command, args = pipe.recv()
        except EOFError:
            return  # the orchestrator is gone
        if command == "quit":
            pipe.send(("ok", {}))
            return
        handler = getattr(worker, f"do_{command}")
        try:
            answer = (
                "ok",
                await asyncio.wait_for(handler(*args), max(1.0, deadline - time.monotonic())),
            )
        except Exception as exc:  # report, keep serving: the orchestrator decides
            answer = ("error", f"{type(exc).__name__}: {exc}")
        if command not in no_collect:
            gc.collect()
            gc.freeze()  # what survived is long-lived: keep it out of later scans
        pipe.send(answer)


def run_worker(
    make: Callable[[Connection, dict[str, Any]], Any], pipe: Connection, config: dict[str, Any]
) -> None:
    """The body of a load-generator process: ``make(pipe, config).run()`` to the end."""
    raise_nofile()
    gc.disable()  # collected explicitly between commands, never inside a measurement
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(make(pipe, config).run())
    os._exit(0)  # do not wait for the executor thread blocked in pipe.poll


# --- follow-the-chair latency, from what the load generators collected -------------------


@dataclass
class FollowTally:
    """Page changes against what the tablets received (ms, sorted)."""

    latencies_ms: list[float]  # chair's send -> the frame's arrival at the tablet's socket
    in_code_ms: list[float]  # chair's send -> the simulated tablet's code has the frame
    by_move: dict[int, list[float]]  # seq -> the latencies of that page change, sorted
    unstamped: int  # receipts without the kernel's stamp (counted at their in-code time)
    missed: int  # (tablet, move) pairs never received
    tablets_missing: int  # tablets that missed at least one move
    wrong_page: int
    lost: int  # connections lost


def tally_follow(
    sends: dict[int, tuple[float, float, int]], replies: list[dict[str, Any]], followers: int
) -> FollowTally:
    """Latency of each (tablet, page change) pair: ``sends`` seq -> (sent on the monotonic
    clock, on the wall clock, page); ``replies``: ``bench.loadgen``'s ``collect``; a
    tablet that never connected (or dropped before collect) missed every move."""
    latencies: list[float] = []  # arrival at the tablet's socket
    in_code: list[float] = []  # seen by the simulated tablet's code
    by_move: dict[int, list[float]] = {seq: [] for seq in sends}
    missed = tablets_missing = wrong_page = lost = counted = unstamped = 0
    for reply in replies:
        lost += reply["lost_connections"]
        for frames in reply["tablets"]:
            counted += 1
            got_by_seq: dict[int, tuple[int, float, float]] = {}
            for seq, page, seen, arrived in frames:
                got_by_seq.setdefault(seq, (page, seen, arrived))
            absent = 0
            for seq, (sent, sent_wall, page) in sends.items():
                got = got_by_seq.get(seq)
                if got is None:
                    absent += 1
                    continue
                got_page, seen, arrived = got
                if got_page != page:
                    wrong_page += 1
                in_code.append((seen - sent) * 1000)
                # A read without the kernel's stamp counts as late as the code saw it.
                unstamped += math.isnan(arrived)
                latency = in_code[-1] if math.isnan(arrived) else (arrived - sent_wall) * 1000
                latencies.append(latency)
                by_move[seq].append(latency)
            missed += absent
            tablets_missing += bool(absent)
    missing_tablets = followers - counted
    for values in by_move.values():
        values.sort()
    return FollowTally(
        latencies_ms=sorted(latencies),
        in_code_ms=sorted(in_code),
        by_move=by_move,
        unstamped=unstamped,
        missed=missed + missing_tablets * len(sends),
        tablets_missing=tablets_missing + missing_tablets,
        wrong_page=wrong_page,
        lost=lost,
    )


# --- small things every bench needs ------------------------------------------------------


def timeout_prefix(seconds: float) -> list[str]:
    """``timeout`` makes a child stop by itself even if this process is killed."""
    return ["timeout", "--kill-after=10", f"{seconds:.0f}"]


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text(encoding="ascii").split()[:3])


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.1f}"


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError), Path("/proc/cpuinfo").open(encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"nproc {os.cpu_count()} ({cpu}), {mem:.0f} GiB RAM, Linux {platform.release()}, "
        f"Python {platform.python_version()}, websockets {importlib.metadata.version('websockets')}"
    )


def replace_section(path: Path, begin: str, end: str, text: str, first: str) -> None:
    """Put a generated section (``text``, from ``begin`` to ``end`` markers) into ``path``,
    replacing an earlier one; a first one goes at the end after ``first``. Nothing else
    in the file is touched."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _m: text, old)
    else:
        new = (old.rstrip() + "\n\n" if old else "") + first + text + "\n"
    path.write_text(new, encoding="utf-8")


# --- the command line every bench shares --------------------------------------------------

_S = TypeVar("_S")


def add_run_options(parser: argparse.ArgumentParser, max_seconds: float, doc: Path) -> None:
    """Options every bench has: pinning, the time bound, where files and results go."""
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument("--max-seconds", type=float, default=max_seconds)
    parser.add_argument(
        "--workdir", type=Path, help="keep the servers' files here (a new or empty directory)"
    )
    parser.add_argument(
        "--server-prefix",
        default="",
        help="run the room server(s) under this command (a wrapper script, a profiler that "
        "passes SIGTERM on); it gets `python -m room_server ...` as its arguments",
    )
    parser.add_argument("--json", type=Path, help="also write raw results here")
    parser.add_argument(
        "--write-doc",
        nargs="?",
        type=Path,
        const=doc,
        default=None,
        help=f"put the table into this Markdown file (default {doc.name} in docs/)",
    )


def settings_from(parser: argparse.ArgumentParser, args: argparse.Namespace, cls: type[_S]) -> _S:
    """The bench's settings dataclass from parsed arguments; a used --workdir is refused."""
    fields: dict[str, Any] = getattr(cls, "__dataclass_fields__")  # noqa: B009
    settings = cls(**{k: v for k, v in vars(args).items() if k in fields})
    workdir = getattr(settings, "workdir", None)
    if workdir is not None and workdir.exists() and any(workdir.iterdir()):
        parser.error(f"--workdir {workdir} is not empty")
    return settings


def command_line(module: str, argv: list[str] | None) -> str:
    """The command that ran this bench, as the docs show it."""
    return f".venv/bin/python -m {module} " + shlex.join(argv if argv is not None else sys.argv[1:])


def publish(
    args: argparse.Namespace,
    text: str,
    write_doc: Callable[[Path, str], None],
    facts: dict[str, Any],
    settings: Any,
    rows: list[Any],
) -> None:
    """Print the bench's Markdown section, put it into the doc (``--write-doc``) and keep
    every number (``--json``): ``settings`` and ``rows`` are dataclasses."""
    print(text)
    if args.write_doc:
        write_doc(args.write_doc, text)
        print(f"written to {args.write_doc}", file=sys.stderr)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "facts": facts,
                    "settings": {**asdict(settings), "workdir": str(settings.workdir)},
                    "rows": [asdict(r) for r in rows],
                },
                indent=1,
            ),
            encoding="utf-8",
        )
