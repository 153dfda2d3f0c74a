"""Run the room server: store, certificates, WebSocket server and mDNS, until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from datetime import UTC, datetime

from room_protocol import PROTOCOL_VERSION
from room_protocol.discovery import RoomAnnouncement, fingerprint_hint
from room_protocol.private_files import make_private
from room_protocol.service_manager import serve_until
from room_server.config import ServerConfig
from room_server.importer import remove_orphan_tempfiles
from room_server.mdns import RoomAdvertiser, host_addresses
from room_server.record.outbox import Outbox
from room_server.server import RoomServer
from room_server.store import Store
from room_server.tls import ensure_certificates, room_hostname

log = logging.getLogger(__name__)


async def run(config: ServerConfig, stop: asyncio.Event | None = None) -> None:
    """Serve until ``stop`` is set or the process gets SIGTERM/SIGINT."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    make_private(config.state_dir)
    remove_orphan_tempfiles(config.documents_dir)
    hostname = room_hostname(config.mdns_hostname)
    certs = ensure_certificates(
        config.tls_dir,
        room_id=config.room_id,
        room_name=config.room_name,
        hostnames=(hostname, *config.tls_hostnames),
        addresses=(*(config.mdns_interfaces or host_addresses()), *config.tls_addresses),
    )
    fingerprint = certs.fingerprint()
    with Store(config.database_path, config.documents_dir) as store:
        # "separate": hemicycle-uploader.service owns the outbox (and the network to the
        # archive); the server seals, and that uploader's scan finds the record.
        separate = config.archive_uploader == "separate"
        outbox = None if separate else Outbox(config.state_dir, config.archive, time.time)
        server = RoomServer(config, store, certs, outbox)
        await server.start()
        advertiser: RoomAdvertiser | None = None
        uploader = asyncio.create_task(
            outbox.run() if outbox is not None else asyncio.sleep(0), name="record uploader"
        )
        if separate:
            log.info("records are uploaded by `room-server record upload --follow` (uploader)")
        try:
            if config.mdns_enabled:
                advertiser = RoomAdvertiser(
                    RoomAnnouncement(
                        config.room_id,
                        config.room_name,
                        PROTOCOL_VERSION,
                        fingerprint_hint(fingerprint),
                    ),
                    port=server.port,
                    hostname=hostname,
                    interfaces=config.mdns_interfaces,
                )
                await advertiser.start()
            # Logged before the runtime file says the room is up, so whoever waits for
            # that file finds where it listens already in the log.
            for warn, line in exposure(config, server.port, host_addresses()):
                log.log(logging.WARNING if warn else logging.INFO, "%s", line)
            _write_runtime(config, server.port, hostname, fingerprint, advertiser)
            print(f"room server ready on port {server.port}", flush=True)
            await serve_until(stop, f"serving room {config.room_id} on port {server.port}")
            log.info("stopping")
        finally:
            try:
                config.runtime_file.unlink(missing_ok=True)
            except OSError as exc:  # a read-only disk: the rest of the shutdown still runs
                log.warning("cannot remove %s: %s", config.runtime_file, exc)
            uploader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await uploader
            if advertiser is not None:
                await advertiser.stop()
            await server.stop()


def exposure(config: ServerConfig, port: int, addresses: list[str]) -> list[tuple[bool, str]]:
    """Where the room can be reached and seen, as (is a warning, line) for the log: a room
    that listens or advertises on every interface of the box says so, with the setting
    that narrows it (an appliance usually has a room network and an office network)."""
    every = ", ".join(addresses) or "none found"
    lines: list[tuple[bool, str]] = []
    if config.host:
        lines.append((False, f"listening on {config.host} port {port}"))
    else:
        lines.append(
            (
                True,
                f"listening on every address of this machine ({every}) port {port}: "
                "set [server] host to the room network's address to take tablets there only",
            )
        )
    if not config.mdns_enabled:
        lines.append((False, "not advertising over mDNS ([mdns] enabled = false)"))
    elif config.mdns_interfaces:
        lines.append((False, f"advertising over mDNS on {', '.join(config.mdns_interfaces)}"))
    else:
        lines.append(
            (
                True,
                f"advertising the room over mDNS on every interface ({every}): "
                "set [mdns] interfaces to the room network's address",
            )
        )
    return lines


def _write_runtime(
    config: ServerConfig,
    port: int,
    hostname: str,
    fingerprint: str,
    advertiser: RoomAdvertiser | None,
) -> None:
    """``server.json``: how to reach the running server (read by status, tests, the demo)."""
    info = {
        "pid": os.getpid(),
        "port": port,
        "hostname": hostname,
        "room_id": config.room_id,
        "room_name": config.room_name,
        "fingerprint": fingerprint,
        "ca_file": str(config.tls_dir / "ca.pem"),
        "service_name": advertiser.service_name if advertiser else None,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    tmp = config.runtime_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(info, indent=2), encoding="utf-8")
    tmp.replace(config.runtime_file)
