"""Two test hosts in network namespaces joined by a veth pair (needs root and iproute2).

Addresses come from 198.18.0.0/15, the range RFC 2544 sets aside for network testing;
they exist only inside the namespaces this module creates and removes.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Host:
    namespace: str
    address: str
    device: str = ""  # its end of the veth pair

    def prefix(self) -> list[str]:
        """Prefix a command with this to run it on the host."""
        return ["ip", "netns", "exec", self.namespace]


def unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (the ip command) is not installed"
    probe = f"hemi-probe-{os.getpid()}"
    made = subprocess.run(
        ["ip", "netns", "add", probe], capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        return f"cannot create a network namespace here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], check=False)
    return None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


@contextmanager
def two_hosts() -> Iterator[tuple[Host, Host]]:
    tag = f"{os.getpid() % 100000}"
    veth_a, veth_b = f"hva{tag}", f"hvb{tag}"
    a = Host(f"hemi-a-{tag}", "198.18.77.1", veth_a)
    b = Host(f"hemi-b-{tag}", "198.18.77.2", veth_b)
    try:
        for host in (a, b):
            _ip("netns", "add", host.namespace)
            _ip("-n", host.namespace, "link", "set", "lo", "up")
        _ip(
            "link",
            "add",
            veth_a,
            "netns",
            a.namespace,
            "type",
            "veth",
            "peer",
            "name",
            veth_b,
            "netns",
            b.namespace,
        )
        for host, dev in ((a, veth_a), (b, veth_b)):
            _ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", dev)
            _ip("-n", host.namespace, "link", "set", dev, "up", "multicast", "on")
        yield a, b
    finally:
        for host in (a, b):
            subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True, check=False)


_CLONE_NEWNET = 0x40000000  # linux/sched.h
_libc = ctypes.CDLL(None, use_errno=True)


@contextmanager
def linked_host() -> Iterator[tuple[str, Host]]:
    """A test host in a namespace of its own, joined to this one by a veth pair: this
    side's address, and the host (whose ``device`` :func:`set_link` takes down and up)."""
    tag = f"{os.getpid() % 100000}"
    here, there = f"hlh{tag}", f"hlt{tag}"
    net = f"198.18.{100 + os.getpid() % 150}"  # not two_hosts' 198.18.77: both may run at once
    host = Host(f"hemi-l-{tag}", f"{net}.2", there)
    try:
        _ip("netns", "add", host.namespace)
        _ip("-n", host.namespace, "link", "set", "lo", "up")
        _ip("link", "add", here, "type", "veth", "peer", "name", there, "netns", host.namespace)
        _ip("addr", "add", f"{net}.1/24", "dev", here)
        _ip("link", "set", here, "up")
        _ip("-n", host.namespace, "addr", "add", f"{host.address}/24", "dev", there)
        _ip("-n", host.namespace, "link", "set", there, "up")
        yield f"{net}.1", host
    finally:
        subprocess.run(["ip", "link", "del", here], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", host.namespace], capture_output=True, check=False)


def set_link(host: Host, up: bool) -> None:
    """The host's cable plugged in or pulled out (its end of the veth pair up or down)."""
    _ip("-n", host.namespace, "link", "set", host.device, "up" if up else "down")


def enter(host: Host) -> None:
    """Move the calling thread (only it: namespaces are per thread) into ``host``'s network
    namespace; the sockets it opens from then on are the host's."""
    fd = os.open(f"/var/run/netns/{host.namespace}", os.O_RDONLY)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns into {host.namespace}: {os.strerror(errno)}")
    finally:
        os.close(fd)
