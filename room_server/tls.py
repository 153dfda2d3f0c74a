"""The room's certificate authority and server certificate.

On first start the server creates a room CA (kept in ``tls/ca.key``, never leaving the
room server) and a server certificate signed by it with the room's ``.local`` name and
addresses as SANs. Tablets trust only ``tls/ca.pem``, installed at enrollment.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from room_protocol.private_files import write_private
from room_protocol.wire import restrict_tls
from room_server.record.durable import sync_folder, write_file

CA_VALIDITY = dt.timedelta(days=20 * 365)  # a room box lives long; rotation is explicit
SERVER_VALIDITY = dt.timedelta(days=5 * 365)
# Rooms run without clock sync: backdate so a tablet whose clock is behind still accepts.
CLOCK_SKEW = dt.timedelta(days=2)


@dataclass(frozen=True, slots=True)
class RoomCertificates:
    ca_cert: Path
    ca_key: Path
    server_cert: Path
    server_key: Path

    @classmethod
    def in_dir(cls, tls_dir: Path) -> RoomCertificates:
        return cls(
            tls_dir / "ca.pem", tls_dir / "ca.key", tls_dir / "server.pem", tls_dir / "server.key"
        )

    def exist(self) -> bool:
        return all(
            p.exists() for p in (self.ca_cert, self.ca_key, self.server_cert, self.server_key)
        )

    def fingerprint(self) -> str:
        """sha256 of the server certificate (DER), lower-case hex."""
        cert = x509.load_pem_x509_certificate(self.server_cert.read_bytes())
        return cert.fingerprint(hashes.SHA256()).hex()

    def server_context(self) -> ssl.SSLContext:
        """Mutual TLS: a client certificate is asked for and, when shown, must come from
        the room CA. One is not required at this layer, so that a device can enroll;
        the server refuses every other channel without one (room_server/server.py)."""
        context = restrict_tls(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER))
        context.load_cert_chain(self.server_cert, self.server_key)
        context.load_verify_locations(cafile=self.ca_cert)
        context.verify_mode = ssl.CERT_OPTIONAL
        return context


def room_hostname(configured: str = "") -> str:
    """The room's mDNS host name, e.g. ``council-box.local``."""
    name = (configured or socket.gethostname()).split(".")[0] or "hemicycle"
    return f"{name}.local"


def ensure_certificates(
    tls_dir: Path,
    *,
    room_id: str,
    room_name: str,
    hostnames: tuple[str, ...],
    addresses: tuple[str, ...],
) -> RoomCertificates:
    """Create the room CA and a server certificate, unless they exist and the server
    certificate still names every host name needed (a renamed box gets a new server
    certificate from the same CA, so enrolled tablets keep trusting it)."""
    certs = RoomCertificates.in_dir(tls_dir)
    if certs.exist() and _names_covered(certs.server_cert, hostnames):
        return certs
    tls_dir.mkdir(parents=True, exist_ok=True)
    tls_dir.chmod(0o700)
    now = dt.datetime.now(dt.UTC)
    if certs.ca_cert.exists() and certs.ca_key.exists():
        ca_key = serialization.load_pem_private_key(certs.ca_key.read_bytes(), password=None)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
        ca_cert = x509.load_pem_x509_certificate(certs.ca_cert.read_bytes())
    else:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Hemicycle room"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"Hemicycle room CA {room_id}"[:64]),
            ]
        )
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        write_private(certs.ca_key, _key_pem(ca_key))
        # On disk before the server answers anyone: a disk that fails (or a power cut)
        # seconds after the first start must not leave an empty certificate behind.
        write_file(certs.ca_cert, ca_cert.public_bytes(serialization.Encoding.PEM))

    server_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(h) for h in dict.fromkeys(hostnames)]
    names.append(x509.DNSName("localhost"))
    for address in dict.fromkeys(("127.0.0.1", "::1", *addresses)):
        names.append(x509.IPAddress(ipaddress.ip_address(address)))
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (hostnames or ("localhost",))[0])])
        )
        .issuer_name(ca_cert.subject)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + SERVER_VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    write_private(certs.server_key, _key_pem(server_key))
    write_file(certs.server_cert, server_cert.public_bytes(serialization.Encoding.PEM))
    sync_folder(certs.server_key.parent)  # the keys' renames too
    return certs


@contextmanager
def replacement_certificates(
    tls_dir: Path,
    *,
    new_ca: bool,
    room_id: str,
    room_name: str,
    hostnames: tuple[str, ...],
    addresses: tuple[str, ...],
) -> Iterator[RoomCertificates]:
    """A new server certificate, from the room CA in place or (``new_ca``) from a new room
    CA, made in a folder beside the old ones (removed after); :func:`put_in_place` makes
    them the room's."""
    certs = RoomCertificates.in_dir(tls_dir)
    if not (certs.ca_cert.is_file() and certs.ca_key.is_file()):
        raise FileNotFoundError(f"no room CA in {tls_dir}: room-server init makes one")
    staging = tls_dir / ".replacing"
    if staging.exists():
        shutil.rmtree(staging)  # a replacement interrupted before: made again
    staging.mkdir(mode=0o700)
    try:
        if not new_ca:
            write_private(staging / certs.ca_key.name, certs.ca_key.read_bytes())
            (staging / certs.ca_cert.name).write_bytes(certs.ca_cert.read_bytes())
        yield ensure_certificates(
            staging,
            room_id=room_id,
            room_name=room_name,
            hostnames=hostnames,
            addresses=addresses,
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def put_in_place(made: RoomCertificates, tls_dir: Path) -> RoomCertificates:
    """File by file, the server's before the CA's: interrupted, the old CA still signs the
    server certificate in place, or the new one does."""
    certs = RoomCertificates.in_dir(tls_dir)
    for source, target in (
        (made.server_key, certs.server_key),
        (made.server_cert, certs.server_cert),
        (made.ca_key, certs.ca_key),
        (made.ca_cert, certs.ca_cert),
    ):
        source.replace(target)
    return certs


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _names_covered(server_cert: Path, hostnames: tuple[str, ...]) -> bool:
    cert = x509.load_pem_x509_certificate(server_cert.read_bytes())
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    return set(hostnames) <= set(names.get_values_for_type(x509.DNSName))
