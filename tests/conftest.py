"""Shared fixtures: real packages and real room-server processes on loopback."""

from __future__ import annotations

import ast
import asyncio
import contextlib
import gc
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from room_client.collector import LoopCollector
from tests.rooms import TIMEOUT_FACTOR, RunningRoom, running_room, timeout, write_package

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _parse_without_gc(parse: Callable[..., ast.AST]) -> Callable[..., ast.AST]:
    def parse_without_gc(*args: Any, **kwargs: Any) -> ast.AST:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return parse(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return parse_without_gc


def pytest_configure(config: pytest.Config) -> None:
    # CPython before 3.11.8 (gh-106905): ast.parse keeps its recursion depth in global state,
    # so a garbage collection inside it whose finalizer formats a traceback (which parses
    # too) makes it raise "SystemError: AST constructor recursion depth mismatch". pytest
    # parses while it writes a failure report: on a loaded machine, with Qt and asyncio
    # garbage about, that ended a run in an INTERNALERROR. Parse with the collector off.
    if sys.version_info < (3, 11, 8):
        config.stash[_ORIGINAL_PARSE] = ast.parse
        ast.parse = _parse_without_gc(ast.parse)
    # As in the tablet and the room display (room_client/collector.py): cyclic garbage is
    # collected on the main thread only, after each test and from the Qt tests' qasync loop.
    # Collected by a zeroconf or executor thread, a cycle holding a widget or a pixmap was
    # destroyed off Qt's thread: segfaults in random tests, one run in two or three.
    gc.disable()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _ORIGINAL_PARSE in config.stash:
        ast.parse = config.stash[_ORIGINAL_PARSE]


_ORIGINAL_PARSE = pytest.StashKey[Callable[..., ast.AST]]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """pytest-timeout's per-test limit stretches with HEMICYCLE_TEST_TIMEOUT_FACTOR too, so a
    slow machine gets the same margin for the whole test as for each wait inside it."""
    if TIMEOUT_FACTOR == 1:
        return
    seconds = config.getoption("timeout", None)
    if seconds is None:
        seconds = float(config.getini("timeout") or 0)
    if not seconds:  # 0: no limit
        return
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(timeout(float(seconds))))


def _child_processes() -> dict[int, str]:
    """This process's running children (zombies are gone already): pid -> command line."""
    children: dict[int, str] = {}
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            for pid in (task / "children").read_text().split():
                with contextlib.suppress(OSError):
                    if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                        children[int(pid)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return children


_LONG_LIVED_CHILDREN = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


@pytest.fixture(scope="module", autouse=True)
def nothing_left_running() -> Iterator[None]:
    """Fail a test module that leaves a thread or a child process running (python-zeroconf's
    check, per module so that module-scoped rooms, loops and renderers are stopped first)."""
    threads = set(threading.enumerate())
    children = set(_child_processes())
    yield
    deadline = time.monotonic() + timeout(5)  # a stopping server or worker gets a moment
    while True:
        left_threads = [
            t
            for t in threading.enumerate()
            if t not in threads
            and not t.name.startswith("pytest_timeout ")  # the running test's own timer
            and not isinstance(t, threading._DummyThread)  # Qt's threads, seen from Python
        ]
        left_children = {
            pid: cmdline
            for pid, cmdline in _child_processes().items()
            if pid not in children and not any(name in cmdline for name in _LONG_LIVED_CHILDREN)
        }
        if not (left_threads or left_children) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left_threads, f"threads left running: {left_threads}"
    assert not left_children, f"child processes left running: {left_children}"


@pytest.fixture(scope="session")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small valid meeting package (three real PDFs); do not modify it."""
    return write_package(tmp_path_factory.mktemp("package"))


@pytest.fixture(scope="session")
def voting_package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small package plus attendance and voting (tests.rooms.VOTING_EXTRAS)."""
    return write_package(tmp_path_factory.mktemp("voting-package"), voting=True)


@pytest.fixture
def room(tmp_path: Path, package_dir: Path) -> Iterator[RunningRoom]:
    """A room server process with the package imported, mDNS off."""
    with running_room(tmp_path / "room", package=package_dir, mdns=False) as running:
        yield running


@pytest.fixture(autouse=True)
def garbage_collected_on_the_main_thread() -> Iterator[None]:
    """Each test's cyclic garbage is collected here, on the main thread (pytest_configure)."""
    yield
    gc.collect()


@pytest.fixture(scope="module")
def qasync_loop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """One qasync loop per test module (Qt tests), installed as the current asyncio loop,
    collecting cyclic garbage on its (the GUI) thread as the apps do."""
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    collector = LoopCollector(loop)
    collector.start()
    yield loop
    # As asyncio.run ends: what a module left running (a tablet's connection task) is
    # cancelled and let finish here, not destroyed pending when collected in a later test.
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    collector.stop()
    loop.close()
    asyncio.set_event_loop(None)
