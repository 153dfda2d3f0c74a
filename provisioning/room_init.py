"""``room-provision init``: a commented configuration for a new room, then
``room-server init`` to make its database and keys (the room server owns those)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path

ROOM_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")  # as room_server/config.py checks it

# The configuration install leaves for `room-provision init`, which replaces it (and only
# it: a file that differs from this was edited, and init keeps it).
INSTALLED_CONFIG = """\
# Hemicycle room server configuration, installed by room-provision install.
# Nothing is set yet: make the room with
#   room-provision init --state-dir /var/lib/hemicycle --room-id ID --room-name NAME \\
#       --interface ROOM-NETWORK-ADDRESS
# which replaces this file with the room's own (docs/it-guide.md, docs/configuration.md).
#
# [room]
# id = "council-chamber"
# name = "Council Chamber"
#
# [server]
# host = "192.0.2.10"
# port = 8443
#
# [mdns]
# interfaces = ["192.0.2.10"]
#
# [storage]
# state_dir = "/var/lib/hemicycle"
"""


class InitError(ValueError):
    """An argument that cannot make a room; nothing was written."""


@dataclass(frozen=True, slots=True)
class Room:
    state_dir: Path
    room_id: str
    room_name: str
    interface: str = ""  # "" = every interface (doctor warns)
    port: int = 8443

    def check(self) -> None:
        if not ROOM_ID.fullmatch(self.room_id):
            raise InitError(
                f"room id {self.room_id!r} must be 1-63 lower-case letters, digits or '-'"
            )
        if not self.room_name.strip() or len(self.room_name) > 200 or "\n" in self.room_name:
            raise InitError("room name must be 1-200 characters on one line")
        if not 0 <= self.port <= 65535:
            raise InitError(f"port {self.port} must be 0-65535 (0 picks a free one)")
        if self.interface:
            try:
                ip_address(self.interface)
            except ValueError:
                raise InitError(f"--interface {self.interface!r} is not an IP address") from None


def config_text(room: Room) -> str:
    """The commented ``room-server.toml`` for ``room`` (docs/configuration.md has every key)."""
    room.check()
    quoted = json.dumps  # a TOML basic string is a JSON string for these values
    if room.interface:
        network = (
            f"# The room network's address: tablets are served and the room is seen there only.\n"
            f"host = {quoted(room.interface)}\n"
        )
        mdns = f"interfaces = [{quoted(room.interface)}]\n"
    else:
        network = (
            "# Empty: every address of this machine. Set the room network's address\n"
            '# (host = "192.0.2.10") so that only the room network reaches the server;\n'
            "# room-provision doctor warns until then.\n"
            'host = ""\n'
        )
        mdns = (
            "# Empty: advertise on every interface. Set the room network's address:\n"
            '# interfaces = ["192.0.2.10"]\n'
            "interfaces = []\n"
        )
    return (
        "# Hemicycle room server configuration, written by room-provision init.\n"
        "# Every key is explained in docs/configuration.md. room-provision init does not\n"
        "# overwrite this file once it differs from what init would write (--force does).\n"
        "\n"
        "[room]\n"
        "# The room's stable identifier: tablets remember it; the room CA is named after it.\n"
        f"id = {quoted(room.room_id)}\n"
        "# Shown on tablets and the room display, and advertised over mDNS.\n"
        f"name = {quoted(room.room_name, ensure_ascii=False)}\n"
        "\n"
        "[server]\n"
        f"{network}"
        f"port = {room.port}\n"
        "\n"
        "[mdns]\n"
        "enabled = true\n"
        f"{mdns}"
        "\n"
        "[storage]\n"
        "# Database, documents, certificates and keys (0700): back it up with\n"
        "# room-provision backup.\n"
        f"state_dir = {quoted(str(room.state_dir.absolute()), ensure_ascii=False)}\n"
    )


def write_config(path: Path, text: str, *, force: bool) -> str:
    """Write ``text`` to ``path``: "made", "kept" (the same text is there), "replaced"
    (``force``; the old file stays beside it as ``.bak``) or "differs" (not written)."""
    if not path.exists():
        if not path.parent.exists():
            path.parent.mkdir(parents=True)
            path.parent.chmod(0o755)  # as /etc/hemicycle: the server's user reads the file
        _write(path, text)
        return "made"
    old = path.read_text(encoding="utf-8")
    if old == text:
        return "kept"
    if old == INSTALLED_CONFIG:  # room-provision install's placeholder: nobody edited it
        _write(path, text)
        return "made"
    if not force:
        return "differs"
    _write(path.with_name(path.name + ".bak"), old)
    _write(path, text)
    return "replaced"


def _write(path: Path, text: str) -> None:
    """Whole or not at all; 0644: the server's user reads it, and it holds no secret (the
    archive token has a file of its own)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o644)
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
