"""A device's credentials for its room, and enrolling with a pairing code.

The credentials are three files in one directory (0700, files 0600): ``ca.pem`` (the
room CA: the only certificate the device trusts), ``device.key`` (made here, never sent)
and ``device.pem`` (the device certificate the room issued at enrollment). With them the
device opens mutual-TLS connections; the room knows it by the certificate.

Enrolling (see :mod:`room_protocol.enrollment`): connect without trusting anyone yet,
receive the room CA, check it against the pairing code and check that the server's TLS
certificate was issued by it; only then send the code's secret and a certificate request.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from room_protocol import PROTOCOL_VERSION
from room_protocol.codec import MAX_MESSAGE_BYTES, decode, encode
from room_protocol.enrollment import Enrolled, EnrollRequest, EnrollRoom, PairingCode
from room_protocol.errors import ProtocolError
from room_protocol.messages import Channel, ErrorMessage, Hello, Message, Welcome
from room_protocol.private_files import make_private, write_private
from room_protocol.wire import frame_safe_logger, restrict_tls

OPEN_TIMEOUT = 10.0


class EnrollFailure(StrEnum):
    """Why enrolling failed, for a screen to say it in the reader's language."""

    WRONG_ROOM = "wrong_room"  # the room's CA is not the one the code names
    CODE_REFUSED = "code_refused"  # the room does not know the code: mistyped, used, expired
    UNREACHABLE = "unreachable"  # no connection, or it dropped
    UNTRUSTED = "untrusted"  # the room's certificates or messages do not hold together


class EnrollError(Exception):
    """Enrolling failed; ``str()`` is a reason a person can act on (English, for IT staff
    and logs), ``reason`` what kind of failure it is."""

    def __init__(self, message: str, reason: EnrollFailure = EnrollFailure.UNTRUSTED) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DeviceCredentials:
    directory: Path

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def cert_file(self) -> Path:
        return self.directory / "device.pem"

    @property
    def key_file(self) -> Path:
        return self.directory / "device.key"

    @property
    def enrolled(self) -> bool:
        return all(p.is_file() for p in (self.ca_file, self.cert_file, self.key_file))

    def device_id(self) -> str:
        """The device id the room gave this device (its certificate's common name)."""
        cert = x509.load_pem_x509_certificate(self.cert_file.read_bytes())
        names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(names[0].value) if names else ""

    def problem(self) -> str | None:
        """Why this enrollment cannot be used (a file that is not what it should be), or
        None: usable, or nothing enrolled yet."""
        if self.directory.exists() and not self.directory.is_dir():
            return f"{self.directory} is a file, not a folder for the device's credentials"
        if not self.enrolled:
            return None
        context = client_context()
        try:
            context.load_verify_locations(cafile=self.ca_file)
        except (ssl.SSLError, OSError, ValueError) as exc:
            return f"{self.ca_file} is not a room CA certificate (PEM): {_reason(exc)}"
        try:
            context.load_cert_chain(self.cert_file, self.key_file)
            self.device_id()
        except (ssl.SSLError, OSError, ValueError) as exc:
            return (
                f"{self.cert_file} and {self.key_file} are not a device certificate and its "
                f"key (PEM): {_reason(exc)}"
            )
        return None

    def context(self) -> ssl.SSLContext:
        """Trust the room CA and nothing else (no system store: rooms are air-gapped), and
        show the device certificate."""
        context = client_context()
        context.check_hostname = True
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=self.ca_file)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def save(self, ca_pem: str, key: ec.EllipticCurvePrivateKey, cert_pem: str) -> None:
        """Write the three files, each complete before it replaces an older one."""
        make_private(self.directory)
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        for path, data in (
            (self.key_file, key_pem),
            (self.cert_file, cert_pem.encode()),
            (self.ca_file, ca_pem.encode()),
        ):
            write_private(path, data)


def not_a_folder(path: Path) -> str | None:
    """Why ``path`` cannot be a folder the app keeps files in, or None."""
    if path.exists() and not path.is_dir():
        return f"{path} is a file, not a folder"
    return None


def _reason(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc)
    return str(reason).replace("_", " ").lower()


def client_context() -> ssl.SSLContext:
    return restrict_tls(ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))


async def enroll(
    uri: str,
    address: str,
    port: int,
    code: PairingCode,
    credentials: DeviceCredentials,
    *,
    name: str = "",
) -> Enrolled:
    """Enroll this device in the room at ``uri`` with ``code``; save its credentials."""
    context = client_context()
    # Nothing is trusted yet: the room's CA is checked against the code below.
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        ws = await connect(
            uri,
            host=address,
            port=port,
            ssl=context,
            open_timeout=OPEN_TIMEOUT,
            max_size=MAX_MESSAGE_BYTES,
            compression=None,
            proxy=None,
            logger=frame_safe_logger(__name__),
        )
    except InvalidStatus as exc:
        raise EnrollError(
            f"the room refused the connection (HTTP {exc.response.status_code})",
            EnrollFailure.UNREACHABLE,
        ) from exc
    except (OSError, TimeoutError, InvalidHandshake, ssl.SSLError) as exc:
        raise EnrollError(
            f"cannot reach the room: {exc or type(exc).__name__}", EnrollFailure.UNREACHABLE
        ) from exc
    try:
        await ws.send(encode(Hello(PROTOCOL_VERSION, Channel.ENROLL, "enrolling", name)))
        welcome = await _next(ws)
        if isinstance(welcome, ErrorMessage):
            raise EnrollError(welcome.message, EnrollFailure.UNREACHABLE)
        if not isinstance(welcome, Welcome):
            raise EnrollError(f"the room answered {welcome.TYPE} instead of welcome")
        room = await _next(ws)
        if not isinstance(room, EnrollRoom):
            raise EnrollError(f"the room sent {room.TYPE} instead of its certificate")
        ca = _check_room(room.ca_certificate, code, ws.transport.get_extra_info("ssl_object"))
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "enrolling")]))
            .sign(key, hashes.SHA256())
        )
        await ws.send(
            encode(
                EnrollRequest(
                    code.secret, csr.public_bytes(serialization.Encoding.PEM).decode(), name
                )
            )
        )
        answer = await _next(ws)
        if isinstance(answer, ErrorMessage):
            raise EnrollError(answer.message, EnrollFailure.CODE_REFUSED)
        if not isinstance(answer, Enrolled):
            raise EnrollError(f"the room answered {answer.TYPE} instead of a certificate")
        issued = x509.load_pem_x509_certificate(answer.certificate.encode())
        if issued.public_key() != key.public_key():
            raise EnrollError("the room's certificate is not for this device's key")
        issued.verify_directly_issued_by(ca)
        credentials.save(room.ca_certificate, key, answer.certificate)
        return answer
    except (ConnectionClosed, TimeoutError) as exc:
        raise EnrollError(
            "the room closed the connection while enrolling", EnrollFailure.UNREACHABLE
        ) from exc
    except ProtocolError as exc:
        raise EnrollError(f"the room sent a bad message: {exc}") from exc
    finally:
        await ws.close()


async def _next(ws: ClientConnection) -> Message:
    return decode(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))


def _check_room(
    ca_pem: str, code: PairingCode, ssl_object: ssl.SSLObject | None
) -> x509.Certificate:
    """The room CA, if it is the one the code names and it issued the server's certificate."""
    try:
        ca = x509.load_pem_x509_certificate(ca_pem.encode())
    except ValueError as exc:
        raise EnrollError("the room sent a damaged certificate") from exc
    if not code.matches_ca(ca.fingerprint(hashes.SHA256()).hex()):
        raise EnrollError(
            "this room is not the one the pairing code belongs to: check that the code was "
            "shown in this room, and tell IT staff if it was",
            EnrollFailure.WRONG_ROOM,
        )
    try:
        _check_is_a_ca(ca)
        ca.verify_directly_issued_by(ca)  # a real self-signed CA, not bytes ground to match
    except (InvalidSignature, ValueError, TypeError, x509.ExtensionNotFound) as exc:
        raise EnrollError(
            "the room's CA certificate is not a valid self-signed CA", EnrollFailure.UNTRUSTED
        ) from exc
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        raise EnrollError("the room showed no certificate", EnrollFailure.UNTRUSTED)
    server = x509.load_der_x509_certificate(der)
    try:
        server.verify_directly_issued_by(ca)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise EnrollError(
            "the server's certificate was not issued by the room the pairing code belongs to",
            EnrollFailure.UNTRUSTED,
        ) from exc
    return ca


def _check_is_a_ca(ca: x509.Certificate) -> None:
    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
    if not constraints.ca:
        raise ValueError("the room's CA certificate is not a CA")
