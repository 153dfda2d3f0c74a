"""Worker processes that do not outlive the program that started them.

The room server's watermarking worker, the tablet's render workers and the room
display's page worker are ``spawn``-ed processes of a ``ProcessPoolExecutor``. When their
program is killed (``SIGKILL``, the kernel's OOM killer, a crash), nothing tells them:
each holds both ends of its call queue's pipe, so it never sees end-of-file and would
wait for work forever, holding its memory (a render worker maps whole pages) and any
decrypted document it has open. Each worker here watches its parent and exits when the
parent is gone.

``PR_SET_PDEATHSIG`` is not used: it fires when the *thread* that forked the worker
ends, and a pool may start a replacement worker from any thread.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import threading
import time
from collections.abc import Callable

__all__ = ["PARENT_POLL_S", "worker_pool"]

PARENT_POLL_S = 0.5  # how often a worker checks that its program is still there


def worker_pool(
    max_workers: int, initializer: Callable[[], None] | None = None
) -> concurrent.futures.ProcessPoolExecutor:
    """A pool of ``spawn``-ed workers (nothing of the parent's threads, Qt or event loop
    is inherited) that exit within ``PARENT_POLL_S`` of their parent's death.
    ``initializer`` runs in each worker after the watch starts; it must be a module-level
    function (it is pickled)."""
    return concurrent.futures.ProcessPoolExecutor(
        max_workers=max_workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(os.getpid(), initializer),
    )


def _start_worker(parent: int, initializer: Callable[[], None] | None) -> None:
    if os.getppid() != parent:  # the program died while this worker was starting
        os._exit(1)
    threading.Thread(
        target=_exit_with_parent, args=(parent,), name="exit-with-parent", daemon=True
    ).start()
    if initializer is not None:
        initializer()


def _exit_with_parent(parent: int) -> None:
    # An orphan is re-parented (to init or a subreaper), so its parent id changes.
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_S)
    os._exit(1)  # no clean-up: the program that would want the results is gone
