"""Advertise the room over mDNS/DNS-SD: the one module on the server that imports zeroconf.

One long-lived AsyncZeroconf, bound to the configured interface addresses (or all of
them), registers ``_hemicycle._tcp`` with the TXT record from room_protocol.discovery;
:meth:`RoomAdvertiser.stop` withdraws it with goodbye packets (RFC 6762 §10.1).
"""

from __future__ import annotations

import ipaddress
import logging

import ifaddr
from zeroconf import InterfaceChoice, IPVersion
from zeroconf.asyncio import AsyncServiceInfo, AsyncZeroconf

from room_protocol.discovery import SERVICE_TYPE, RoomAnnouncement, build_txt

log = logging.getLogger(__name__)


def host_addresses() -> list[str]:
    """Every non-loopback, non-link-local address of this machine."""
    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            address = ipaddress.ip_address(text.split("%")[0])
            if not (address.is_loopback or address.is_link_local):
                found.append(str(address))
    return found


class RoomAdvertiser:
    def __init__(
        self,
        room: RoomAnnouncement,
        *,
        port: int,
        hostname: str,
        interfaces: tuple[str, ...] = (),
    ) -> None:
        self.room = room
        self.port = port
        self.hostname = hostname if hostname.endswith(".") else hostname + "."
        self.interfaces = interfaces
        self._zeroconf: AsyncZeroconf | None = None
        self._info: AsyncServiceInfo | None = None

    @property
    def service_name(self) -> str | None:
        return self._info.name if self._info else None

    async def start(self) -> None:
        addresses = list(self.interfaces) or host_addresses()
        if not addresses:
            log.warning("no network address to advertise; tablets must be given the address")
            return
        versions = {ipaddress.ip_address(a).version for a in addresses}
        ip_version = (
            IPVersion.All
            if versions == {4, 6}
            else IPVersion.V6Only
            if 6 in versions
            else IPVersion.V4Only
        )
        self._zeroconf = AsyncZeroconf(
            interfaces=list(self.interfaces) if self.interfaces else InterfaceChoice.All,
            ip_version=ip_version,
        )
        self._info = AsyncServiceInfo(
            SERVICE_TYPE,
            f"{self.room.instance_name()}.{SERVICE_TYPE}",
            port=self.port,
            properties=build_txt(self.room),
            server=self.hostname,
            parsed_addresses=addresses,
        )
        # The first await queues the probe; the second waits until it is announced.
        announced = await self._zeroconf.async_register_service(self._info, allow_name_change=True)
        await announced
        log.info("advertising %s on %s", self._info.name, ", ".join(addresses))

    async def stop(self) -> None:
        if self._zeroconf is None:
            return
        if self._info is not None:
            goodbye = await self._zeroconf.async_unregister_service(self._info)
            await goodbye  # the goodbye packets are out before the socket closes
        await self._zeroconf.async_close()
        self._zeroconf = None
        self._info = None
