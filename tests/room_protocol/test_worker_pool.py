"""Worker processes exit when the program that started them is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from room_protocol.worker_pool import worker_pool
from tests.rooms import timeout

REPO = Path(__file__).resolve().parents[2]

POOL_PROGRAM = """
    import os, sys, time
    from room_protocol.worker_pool import worker_pool
    from tests.room_protocol.test_worker_pool import mark_started

    pool = worker_pool(1, mark_started)
    print(pool.submit(os.getpid).result(), flush=True)
    time.sleep(600)
"""

RENDERER_PROGRAM = """
    import os, time
    from tablet_client.render import PageRenderer

    renderer = PageRenderer(workers=2)
    renderer.start()
    # Past their start-up: a worker killed while spawning dies of its closed pipe anyway.
    pids = [lane.executor.submit(os.getpid).result() for lane in renderer._lanes]
    assert sorted(pids) == sorted(renderer.worker_pids)
    print(*pids, flush=True)
    time.sleep(600)
"""


def mark_started() -> None:
    os.environ["WORKER_INITIALIZED"] = "1"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its reaper is missing


def _program_and_workers(program: str) -> tuple[subprocess.Popen[str], list[int]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(program)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert parent.stdout is not None
    line = parent.stdout.readline()
    assert line, "the program ended before it started its workers"
    return parent, [int(pid) for pid in line.split()]


@pytest.mark.parametrize("program", [POOL_PROGRAM, RENDERER_PROGRAM], ids=["pool", "renderer"])
def test_workers_exit_when_their_program_is_killed(program: str) -> None:
    parent, workers = _program_and_workers(program)
    try:
        assert workers and all(_alive(pid) for pid in workers)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout(10))
        deadline = time.monotonic() + timeout(10)
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [pid for pid in workers if _alive(pid)], "workers outlived their program"
    finally:
        parent.kill()
        parent.wait()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _initialized() -> str | None:
    return os.environ.get("WORKER_INITIALIZED")


def test_the_initializer_runs_in_each_worker() -> None:
    with worker_pool(1, mark_started) as pool:
        assert pool.submit(_initialized).result(timeout=timeout(30)) == "1"
    assert "WORKER_INITIALIZED" not in os.environ


def test_workers_keep_working_while_their_program_lives() -> None:
    with worker_pool(1) as pool:
        first = pool.submit(os.getpid).result(timeout=timeout(30))
        time.sleep(0.6)  # past one check of the parent
        assert pool.submit(os.getpid).result(timeout=timeout(30)) == first
