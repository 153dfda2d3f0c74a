"""A real avahi-daemon on a test host (a network namespace of tests/netns.py), with its own
configuration, its own /run/avahi-daemon and a private D-Bus system bus (avahi-browse
talks to the daemon over D-Bus), so it never meets the machine's own avahi or bus.

Needs root, iproute2, nsenter and the Debian packages avahi-daemon, avahi-utils and
dbus-daemon (installed with tests/tools/ensure-command.sh when missing).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.netns import Host
from tests.rooms import timeout

ENSURE = Path(__file__).parent / "tools" / "ensure-command.sh"
COMMANDS = {  # command: the Debian package that has it
    "avahi-daemon": "avahi-daemon",
    "avahi-browse": "avahi-utils",
    "dbus-daemon": "dbus-daemon",
    "nsenter": "util-linux",
}

# The appliance's avahi-daemon.conf as docs/it-guide.md gives it, for the room interface.
APPLIANCE_CONF = """\
[server]
host-name={host_name}
use-ipv4=yes
use-ipv6=no
allow-interfaces={interface}
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000

[wide-area]
enable-wide-area=no

[publish]
publish-hinfo=no
publish-workstation=no
publish-aaaa-on-ipv4={publish_aaaa}
"""

BUS_CONF = """\
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""

# Run inside the host's namespace (``ip netns exec`` gives it a mount namespace of its
# own): a private /run/avahi-daemon, the bus, then the daemon itself in this process.
START = """\
set -eu
mkdir -p /run/avahi-daemon  # only the package's init script makes it
mount -t tmpfs -o mode=0755 hemicycle-avahi /run/avahi-daemon
dbus-daemon --config-file="$1/bus.conf" --nofork --nopidfile &
while [ ! -S "$1/bus" ]; do sleep 0.02; done
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$1/bus"
exec avahi-daemon -f "$1/avahi-daemon.conf" --no-drop-root --no-chroot --no-rlimits \\
    --no-proc-title
"""


def unavailable_reason() -> str | None:
    for command, package in COMMANDS.items():
        result = subprocess.run(
            ["sh", str(ENSURE), command, package], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            return result.stdout.strip() or result.stderr.strip()
    return None


@dataclass(frozen=True)
class AvahiDaemon:
    process: subprocess.Popen[bytes]
    directory: Path

    def prefix(self) -> tuple[str, ...]:
        """Prefix a command with this to run it beside the daemon (its network, its
        /run/avahi-daemon, its bus)."""
        return (
            "nsenter",
            "--target",
            str(self.process.pid),
            "--mount",
            "--net",
            "env",
            f"DBUS_SYSTEM_BUS_ADDRESS=unix:path={self.directory}/bus",
        )

    def log(self) -> str:
        return (self.directory / "avahi.log").read_text(errors="replace")


@contextmanager
def avahi_daemon(
    host: Host, directory: Path, host_name: str, *, publish_aaaa: bool = False
) -> Iterator[AvahiDaemon]:
    """avahi-daemon on ``host``, on its veth only, named ``host_name``.local;
    ``publish_aaaa``: as avahi does by default, its IPv6 addresses over IPv4 too."""
    directory.mkdir(parents=True)
    (directory / "bus.conf").write_text(BUS_CONF.format(socket=directory / "bus"))
    (directory / "avahi-daemon.conf").write_text(
        APPLIANCE_CONF.format(
            host_name=host_name,
            interface=host.device,
            publish_aaaa="yes" if publish_aaaa else "no",
        )
    )
    (directory / "start.sh").write_text(START)
    log = (directory / "avahi.log").open("wb")
    process = subprocess.Popen(
        [*host.prefix(), "sh", str(directory / "start.sh"), str(directory)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # the daemon and its bus: one process group to end
    )
    daemon = AvahiDaemon(process, directory)
    try:
        deadline = time.monotonic() + timeout(15)
        while "Server startup complete" not in daemon.log():
            assert process.poll() is None, daemon.log()
            assert time.monotonic() < deadline, daemon.log()
            time.sleep(0.05)
        yield daemon
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout(10))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()
