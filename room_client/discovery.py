"""Find rooms over mDNS: the one client module that imports zeroconf.

A RoomBrowser owns one AsyncZeroconf bound to the given interface addresses, browses
``_hemicycle._tcp`` and reports the rooms it could resolve and whose TXT record is well
formed. What mDNS says is only a hint; TLS with the room CA proves the room.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

from zeroconf import InterfaceChoice, ServiceStateChange, Zeroconf
from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

from room_client.connection import RoomEndpoint
from room_protocol.discovery import SERVICE_TYPE, RoomAnnouncement, parse_txt
from room_protocol.errors import ProtocolError

log = logging.getLogger(__name__)

RESOLVE_TIMEOUT_MS = 3000


@dataclass(frozen=True, slots=True)
class DiscoveredRoom:
    service_name: str
    room: RoomAnnouncement
    hostname: str  # the SRV target without the final dot: the name TLS checks
    addresses: tuple[str, ...]
    port: int

    @property
    def endpoint(self) -> RoomEndpoint | None:
        """Where to connect: the first address mDNS gave (None: it gave none)."""
        if not self.addresses:
            return None
        return RoomEndpoint(self.hostname, self.port, self.addresses[0], self.room.room_name)


class RoomBrowser:
    def __init__(
        self,
        on_change: Callable[[list[DiscoveredRoom]], None],
        *,
        interfaces: tuple[str, ...] = (),
    ) -> None:
        self.on_change = on_change
        self.interfaces = interfaces
        self.rooms: dict[str, DiscoveredRoom] = {}
        self._zeroconf: AsyncZeroconf | None = None
        self._browser: AsyncServiceBrowser | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._zeroconf = AsyncZeroconf(
            interfaces=list(self.interfaces) if self.interfaces else InterfaceChoice.All
        )
        self._browser = AsyncServiceBrowser(
            self._zeroconf.zeroconf, SERVICE_TYPE, handlers=[self._on_state_change]
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._browser is not None:
            await self._browser.async_cancel()
        if self._zeroconf is not None:
            await self._zeroconf.async_close()
        self._browser = None
        self._zeroconf = None

    def _on_state_change(
        self, zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is ServiceStateChange.Removed:
            if self.rooms.pop(name, None) is not None:
                self._notify()
            return
        task = asyncio.ensure_future(self._resolve(name))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resolve(self, name: str) -> None:
        assert self._zeroconf is not None
        info = AsyncServiceInfo(SERVICE_TYPE, name)
        if not await info.async_request(self._zeroconf.zeroconf, RESOLVE_TIMEOUT_MS):
            log.info("could not resolve %s", name)
            return
        try:
            room = parse_txt(info.properties)
        except ProtocolError as exc:
            log.warning("ignoring %s: %s", name, exc)
            return
        if info.port is None or info.server is None:
            return
        found = DiscoveredRoom(
            service_name=name,
            room=room,
            hostname=info.server.rstrip("."),
            addresses=tuple(info.parsed_scoped_addresses()),
            port=info.port,
        )
        if self.rooms.get(name) != found:
            self.rooms[name] = found
            self._notify()

    def _notify(self) -> None:
        self.on_change(
            sorted(self.rooms.values(), key=lambda r: (r.room.room_name, r.service_name))
        )
