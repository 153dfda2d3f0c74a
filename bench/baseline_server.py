"""The baseline: a minimal websockets TLS broadcast server, for comparison.

It speaks just enough of the Hemicycle protocol for the same load generator to drive it:
it answers ``hello`` with ``welcome``, and on every ``follow.set`` it broadcasts one
``follow.state`` frame (encoded by the same codec, so the very same JSON) to every
connection with ``websockets.asyncio.server.broadcast``. No roles, no store, no
validation beyond what it needs. With ``--ca`` it asks each client for a certificate
from that CA, as the room server does (mutual TLS; it does not look the device up). The
gap between it and the room server is what Hemicycle's own work costs.

    python -m bench.baseline_server --cert server.pem --key server.key --ca ca.pem \
        --ready-file f.json

It listens on 127.0.0.1 only and exits on SIGTERM/SIGINT or after ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import ssl
from datetime import UTC, datetime
from pathlib import Path

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

from bench.common import LOOPBACK, raise_nofile
from room_protocol import PROTOCOL_VERSION
from room_protocol.codec import MAX_MESSAGE_BYTES, encode
from room_protocol.live import Fit, FollowState
from room_protocol.messages import Welcome


class Baseline:
    def __init__(self) -> None:
        self.connections: set[ServerConnection] = set()
        self.seq = 0

    async def handle(self, ws: ServerConnection) -> None:
        try:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if hello.get("type") != "hello":
                return
            welcome = Welcome(
                PROTOCOL_VERSION,
                "baseline",
                "Baseline",
                datetime.now(UTC).isoformat(timespec="seconds"),
                os.urandom(8).hex(),
            )
            await ws.send(encode(welcome))
            self.connections.add(ws)
            async for raw in ws:
                message = json.loads(raw)
                if message.get("type") == "follow.set":
                    self.seq += 1
                    frame = encode(
                        FollowState(
                            self.seq, message["sha256"], message["page"], Fit(message["fit"])
                        )
                    )
                    broadcast(self.connections, frame)
        except (ConnectionClosed, TimeoutError, ValueError, AttributeError):
            pass
        finally:
            self.connections.discard(ws)


async def serve_baseline(
    cert: Path, key: Path, ca: Path | None, port: int, ready_file: Path | None, max_seconds: float
) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    if ca is not None:  # as room_server.tls.RoomCertificates.server_context
        context.load_verify_locations(cafile=ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    baseline = Baseline()
    # The same transport settings as the room server (server.py), so only the work differs.
    async with serve(
        baseline.handle,
        LOOPBACK,
        port,
        ssl=context,
        max_size=MAX_MESSAGE_BYTES,
        compression=None,
        server_header=None,
        ping_interval=20,
        ping_timeout=20,
        close_timeout=3,
    ) as server:
        bound = server.sockets[0].getsockname()[1]
        if ready_file is not None:
            tmp = ready_file.with_suffix(".tmp")
            tmp.write_text(json.dumps({"pid": os.getpid(), "port": bound}), encoding="utf-8")
            tmp.replace(ready_file)
        print(f"baseline server ready on port {bound}", flush=True)
        try:
            await asyncio.wait_for(stop.wait(), max_seconds)
        except TimeoutError:
            print("baseline server: --max-seconds reached, stopping", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cert", type=Path, required=True, help="server certificate (PEM)")
    parser.add_argument("--key", type=Path, required=True, help="its private key (PEM)")
    parser.add_argument("--ca", type=Path, help="ask clients for a certificate from this CA")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--ready-file", type=Path, help="write {pid, port} here when listening")
    parser.add_argument("--max-seconds", type=float, default=900, help="stop after this long")
    args = parser.parse_args(argv)
    raise_nofile()
    asyncio.run(
        serve_baseline(args.cert, args.key, args.ca, args.port, args.ready_file, args.max_seconds)
    )


if __name__ == "__main__":
    main()
