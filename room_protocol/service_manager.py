"""Telling systemd how a Hemicycle program is doing: the ``sd_notify`` datagram protocol
(``READY=1``, ``WATCHDOG=1``, ``STOPPING=1``, ``STATUS=…``), standard library only, so the
room server, the seat tablet and the room display speak it the same way.

Outside systemd (no ``NOTIFY_SOCKET``) every call does nothing. The watchdog is fed from
the program's own event loop, so a loop that hangs is what stops the feeding and systemd
restarts the program (``WatchdogSec=`` in ``systemd/``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)

__all__ = ["feed_watchdog", "notify", "serve_until", "watchdog_interval"]


def notify(*fields: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Send ``fields`` (``"READY=1"``, …) to the service manager; False when there is none
    or it cannot be reached (never raises: a program must not stop over its status)."""
    address = environ.get("NOTIFY_SOCKET", "")
    if not address or not fields:
        return False
    if address[0] == "@":  # an abstract socket
        address = "\0" + address[1:]
    elif address[0] != "/":
        log.warning("NOTIFY_SOCKET %r is neither a path nor an abstract socket", address)
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(fields).encode())
    except OSError as exc:
        log.warning("cannot tell the service manager %s: %s", fields[0], exc)
        return False
    return True


def watchdog_interval(
    environ: Mapping[str, str] = os.environ, *, any_process: bool = False
) -> float | None:
    """Seconds between two ``WATCHDOG=1`` (half of ``WatchdogSec=``, as sd_watchdog_enabled(3)
    advises), or None when systemd does not watch this process. ``any_process``: a program
    started by another (a kiosk app under its compositor, with ``NotifyAccess=all``) feeds
    the watchdog of the unit's main process."""
    usec = environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    pid = environ.get("WATCHDOG_PID", "")
    if not any_process and pid.isdigit() and int(pid) != os.getpid():
        return None
    return int(usec) / 2_000_000


def feed_watchdog(*, any_process: bool = False) -> asyncio.Task[None] | None:
    """Under systemd's watchdog: a task of the running event loop that sends
    ``WATCHDOG=1`` every :func:`watchdog_interval`, so a loop that hangs (a blocking call,
    a deadlock, a frozen screen) gets the program restarted. None when not watched."""
    interval = watchdog_interval(any_process=any_process)
    if interval is None:
        return None

    async def feed() -> None:
        while True:
            notify("WATCHDOG=1")
            await asyncio.sleep(interval)

    return asyncio.create_task(feed(), name="watchdog")


async def serve_until(stop: asyncio.Event, status: str = "", *, any_process: bool = False) -> None:
    """Tell the service manager the program serves (``READY=1``), keep its watchdog fed
    until ``stop`` is set, then say it is stopping (``STOPPING=1``)."""
    notify("READY=1", *((f"STATUS={status}",) if status else ()))
    watchdog = feed_watchdog(any_process=any_process)
    try:
        await stop.wait()
    finally:
        notify("STOPPING=1")
        if watchdog is not None:
            watchdog.cancel()
