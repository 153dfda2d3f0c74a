"""Two test hosts in network namespaces joined by a veth pair (needs root and iproute2).

Addresses come from 198.18.0.0/15, the range RFC 2544 sets aside for network testing;
they exist only inside the namespaces this module creates and removes.
"""

from __future__ import annotations

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
