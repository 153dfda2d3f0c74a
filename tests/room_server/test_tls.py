from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import pytest

from room_client.enrollment import client_context
from room_server.tls import ensure_certificates
from tests.rooms import RunningRoom, timeout


def test_renamed_room_gets_a_new_server_certificate_from_the_same_ca(tmp_path: Path) -> None:
    first = ensure_certificates(
        tmp_path, room_id="r", room_name="R", hostnames=("a.local",), addresses=("127.0.0.1",)
    )
    ca = first.ca_cert.read_bytes()
    fingerprint = first.fingerprint()
    again = ensure_certificates(
        tmp_path, room_id="r", room_name="R", hostnames=("a.local",), addresses=()
    )
    assert again.fingerprint() == fingerprint  # nothing changed: nothing re-issued
    renamed = ensure_certificates(
        tmp_path, room_id="r", room_name="R", hostnames=("b.local",), addresses=()
    )
    assert renamed.ca_cert.read_bytes() == ca
    assert renamed.fingerprint() != fingerprint


# --- which TLS the room speaks: real handshakes ----------------------------------------------

CBC_SUITES = ":".join(
    (
        "ECDHE-ECDSA-AES128-SHA256",
        "ECDHE-ECDSA-AES256-SHA384",
        "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-ECDSA-AES256-SHA",
        "AES128-SHA256",
        "AES128-SHA",
    )
)
AEAD = ("-GCM-SHA256", "-GCM-SHA384", "-CHACHA20-POLY1305")


def handshake(room: RunningRoom, context: ssl.SSLContext) -> tuple[str, str]:
    """Connect to the room server and return (TLS version, cipher suite) it agreed to."""
    with (
        socket.create_connection(("127.0.0.1", room.port), timeout=timeout(10)) as raw,
        context.wrap_socket(raw, server_hostname=room.hostname) as tls,
    ):
        version, cipher = tls.version(), tls.cipher()
        assert version is not None and cipher is not None
        return version, cipher[0]


def trusting(ca_file: Path) -> ssl.SSLContext:
    """The tablet's TLS settings (what room_client uses), trusting ``ca_file``."""
    context = client_context()
    context.load_verify_locations(ca_file)
    return context


def tls12_client(room: RunningRoom, ciphers: str | None = None) -> ssl.SSLContext:
    """A client that cannot do TLS 1.3, as an old or hostile one would be."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(room.ca_file)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    if ciphers:
        context.set_ciphers(ciphers)
    return context


def test_the_room_speaks_tls13_and_tls12_only_with_aead(room: RunningRoom) -> None:
    assert handshake(room, room.device("tablet-a2").context())[0] == "TLSv1.3"
    plain = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # Python's defaults
    plain.load_verify_locations(room.ca_file)
    assert handshake(room, plain)[0] == "TLSv1.3"
    version, suite = handshake(room, tls12_client(room))
    assert version == "TLSv1.2" and suite.startswith("ECDHE-") and suite.endswith(AEAD), suite
    for aead in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"):
        assert handshake(room, tls12_client(room, aead)) == ("TLSv1.2", aead)
    with pytest.raises(OSError):  # the server ends the handshake: no suite in common
        handshake(room, tls12_client(room, CBC_SUITES))


async def test_a_tablet_will_not_talk_to_a_room_that_offers_only_cbc(tmp_path: Path) -> None:
    """The client's side of the same rule, against a server that would settle for CBC."""
    certs = ensure_certificates(
        tmp_path, room_id="r", room_name="R", hostnames=("room.local",), addresses=()
    )
    for server_suites, agreed in ((CBC_SUITES, False), ("ECDHE-ECDSA-AES256-GCM-SHA384", True)):
        server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.load_cert_chain(certs.server_cert, certs.server_key)
        server.maximum_version = ssl.TLSVersion.TLSv1_2
        server.set_ciphers(server_suites)

        async def greet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        listening = await asyncio.start_server(greet, "127.0.0.1", 0, ssl=server)
        port = listening.sockets[0].getsockname()[1]
        try:
            if agreed:
                _r, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        "127.0.0.1",
                        port,
                        ssl=trusting(certs.ca_cert),
                        server_hostname="room.local",
                    ),
                    timeout(10),
                )
                assert writer.get_extra_info("cipher")[0] == "ECDHE-ECDSA-AES256-GCM-SHA384"
                writer.close()
            else:
                with pytest.raises(OSError):  # no suite in common: the handshake ends
                    await asyncio.wait_for(
                        asyncio.open_connection(
                            "127.0.0.1",
                            port,
                            ssl=trusting(certs.ca_cert),
                            server_hostname="room.local",
                        ),
                        timeout(10),
                    )
        finally:
            listening.close()
            await listening.wait_closed()
