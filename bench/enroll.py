"""The bench's simulated tablets as enrolled devices of the room under test.

Since protocol 4 a room server knows a connection by its device certificate (mutual TLS):
the device id and the seat come from the ``devices`` table, never from ``hello``. So
before the load starts, every simulated tablet (and the chair's tablet) is enrolled with
the room server's own code, all in one transaction
(``room_server.devices.provision_many``), and its credentials (``ca.pem``,
``device.key``, ``device.pem``) go to ``DEVICES/<client id>``, where the load generators
load each tablet's TLS context from (:class:`Access`).

``bench.follow_burst`` also measures an older revision ("before"), which may speak
protocol 3: no client certificates, the seat named in ``hello``. :class:`Access` speaks
both: for protocol 3 a tablet trusts the room CA, shows no certificate and says its seat
in ``hello``. A protocol 4 server of another checkout is enrolled with that checkout's
code: this file runs as a script with that checkout first on the path
(:func:`enroll_with`), so it imports nothing from ``bench``.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from room_client.connection import OPEN_TIMEOUT, ConnectError, RoomEndpoint, open_channel
from room_client.enrollment import DeviceCredentials, client_context
from room_protocol import PROTOCOL_VERSION
from room_protocol.codec import MAX_MESSAGE_BYTES, decode, encode
from room_protocol.errors import ProtocolError
from room_protocol.messages import Channel, Hello, Welcome
from room_server import devices
from room_server.store import Store

LEGACY_PROTOCOL = 3  # the last protocol without device certificates: hello names the seat
ENROLL_TIMEOUT = 600.0  # seconds for enrolling every tablet in another checkout's process

Tablets = Sequence[tuple[str, str | None]]  # (client id = device id, seat id)


def protocol_of(code: Path) -> int:
    """The protocol version the checkout ``code`` speaks (room_protocol/version.py)."""
    text = (code / "room_protocol" / "version.py").read_text(encoding="utf-8")
    found = re.search(r"^PROTOCOL_VERSION\s*=\s*(\d+)", text, re.M)
    if found is None:
        raise RuntimeError(f"{code}: no PROTOCOL_VERSION in room_protocol/version.py")
    return int(found[1])


@dataclass(frozen=True, slots=True)
class Access:
    """How the bench's tablets reach one room server (picklable: it goes to the load
    generators): the protocol it speaks, its CA, and where each tablet's credentials are
    ("" for protocol 3, which has none)."""

    protocol: int
    ca_file: str
    devices: str = ""

    def __post_init__(self) -> None:
        if self.protocol < LEGACY_PROTOCOL:
            raise ValueError(f"the bench cannot speak protocol {self.protocol} (3 and later)")
        if self.protocol > LEGACY_PROTOCOL and not self.devices:
            raise ValueError(f"protocol {self.protocol} needs enrolled devices")

    def credentials(self, client_id: str) -> DeviceCredentials:
        return DeviceCredentials(Path(self.devices) / client_id)

    def context(self, client_id: str) -> ssl.SSLContext:
        """The TLS context of tablet ``client_id``: its device certificate (protocol 4),
        or only the room CA (protocol 3)."""
        if self.devices:
            return self.credentials(client_id).context()
        context = client_context()
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=self.ca_file)
        return context

    def hello(self, client_id: str, seat_id: str | None, resume_token: str | None = None) -> str:
        """The control channel's hello, as the server's protocol has it."""
        text = encode(Hello(PROTOCOL_VERSION, Channel.CONTROL, client_id, "", resume_token))
        if self.protocol == PROTOCOL_VERSION:
            return text
        fields = json.loads(text)
        fields["protocol_version"] = self.protocol
        if self.protocol == LEGACY_PROTOCOL:
            fields["seat_id"] = seat_id
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


async def open_control(
    endpoint: RoomEndpoint,
    access: Access,
    client_id: str,
    seat_id: str | None,
    resume_token: str | None = None,
) -> tuple[ClientConnection, Welcome]:
    """A control connection as the real client opens it (``open_channel``); for a server
    of another protocol, the same steps with that protocol's hello. Raises ConnectError."""
    context = access.context(client_id)
    if access.protocol == PROTOCOL_VERSION:
        return await open_channel(
            endpoint, context, Channel.CONTROL, client_id, resume_token=resume_token
        )
    try:
        ws = await connect(
            endpoint.uri,
            host=endpoint.address or endpoint.hostname,
            port=endpoint.port,
            ssl=context,
            open_timeout=OPEN_TIMEOUT,
            max_size=MAX_MESSAGE_BYTES,
            compression=None,
            proxy=None,
        )
    except (OSError, TimeoutError, InvalidHandshake, ssl.SSLError) as exc:
        raise ConnectError(f"{type(exc).__name__}: {exc}") from exc
    try:
        await ws.send(access.hello(client_id, seat_id, resume_token))
        reply = decode(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
    except (ConnectionClosed, TimeoutError, ProtocolError) as exc:
        await ws.close()
        raise ConnectError(f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(reply, Welcome):
        await ws.close()
        raise ConnectError(f"the room answered hello with {reply}")
    return ws, reply


def enroll(state_dir: Path, into: Path, tablets: Tablets) -> Access:
    """Enroll ``tablets`` in the room whose state is ``state_dir`` (its server ran once:
    the CA exists), with this process's room_server, in one transaction; the credentials
    of each go to ``into/<client id>``. How to reach that room."""
    wanted = [(into / client_id, client_id, seat_id) for client_id, seat_id in tablets]
    authority = devices.Authority.in_dir(state_dir / "tls")
    with Store(state_dir / "room.sqlite3", state_dir / "documents") as store:
        if hasattr(devices, "provision_many"):
            devices.provision_many(
                store,
                authority,
                [devices.Provision(d, i, s, i) for d, i, s in wanted],
            )
        else:  # a checkout from before the batch: one transaction each
            for directory, client_id, seat_id in wanted:
                devices.provision_files(
                    store,
                    authority,
                    directory,
                    seat_id=seat_id,
                    name=client_id,
                    device_id=client_id,
                )
    return Access(PROTOCOL_VERSION, str(state_dir / "tls" / "ca.pem"), str(into))


def enroll_with(code: Path, state_dir: Path, into: Path, tablets: Tablets) -> Access:
    """Enroll ``tablets`` with the room server code of the checkout ``code`` (in a process
    of its own, that checkout first on the path); how to reach that server."""
    protocol = protocol_of(code)
    ca_file = str(state_dir / "tls" / "ca.pem")
    if protocol <= LEGACY_PROTOCOL:
        return Access(protocol, ca_file)
    in_code = ["env", "-C", str(code), f"PYTHONPATH={code}", sys.executable, __file__]
    done = subprocess.run(
        [*in_code, str(state_dir.resolve()), str(into.resolve())],
        input=json.dumps(list(tablets)),
        capture_output=True,
        text=True,
        timeout=ENROLL_TIMEOUT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"enrolling the tablets with {code} failed:\n{done.stderr}")
    return Access(protocol, ca_file, str(into))


def main() -> None:
    """``enroll.py STATE_DIR INTO``, the tablets as JSON [[client id, seat id], ...] on
    stdin."""
    state_dir, into = (Path(a) for a in sys.argv[1:3])
    enroll(state_dir, into, [(str(c), s) for c, s in json.load(sys.stdin)])


if __name__ == "__main__":
    main()
