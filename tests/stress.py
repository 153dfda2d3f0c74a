"""Run pytest with every CPU busy: ``python -m tests.stress [pytest arguments]``.

Starts one busy-looping process per CPU at normal priority (the tests compete with them
for every time slice), runs pytest in a child process with a larger timeout factor, stops
the load whatever the outcome and exits with pytest's exit code. `make test-stress`.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from types import FrameType

STRESS_TIMEOUT_FACTOR = "3"  # HEMICYCLE_TEST_TIMEOUT_FACTOR unless the caller set one


def _spin(parent: int) -> None:
    """Burn one CPU until killed, or until the runner is gone (even if it was SIGKILLed)."""
    while True:
        for _ in range(5_000_000):
            pass
        if os.getppid() != parent:
            return


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # so that `finally` stops the load and pytest


def main(argv: list[str]) -> int:
    hogs_count = int(os.environ.get("HEMICYCLE_STRESS_HOGS", "0")) or os.cpu_count() or 1
    env = dict(os.environ)
    env.setdefault("HEMICYCLE_TEST_TIMEOUT_FACTOR", STRESS_TIMEOUT_FACTOR)
    spawn = multiprocessing.get_context("spawn")  # a clean child: nothing of pytest or Qt
    hogs = [
        spawn.Process(target=_spin, args=(os.getpid(),), name=f"cpu-hog-{i}", daemon=True)
        for i in range(hogs_count)
    ]
    signal.signal(signal.SIGTERM, _stop)
    started = time.monotonic()
    try:
        for hog in hogs:
            hog.start()
        print(
            f"tests.stress: {hogs_count} busy-looping processes, "
            f"HEMICYCLE_TEST_TIMEOUT_FACTOR={env['HEMICYCLE_TEST_TIMEOUT_FACTOR']}",
            flush=True,
        )
        return subprocess.call([sys.executable, "-m", "pytest", *argv], env=env)
    except KeyboardInterrupt:
        return 130
    finally:
        for hog in hogs:
            if hog.pid is not None:
                hog.kill()
                hog.join(10)
        print(f"tests.stress: load stopped after {time.monotonic() - started:.0f} s", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
