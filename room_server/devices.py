"""The room's devices: enrollment with a pairing code, client certificates, revocation.

A device is a seat tablet or a room display with a key it made itself and a client
certificate from the room CA naming its device id. The server accepts control and
document connections only with such a certificate (mutual TLS); who a connection is —
its device id and fixed seat — comes from the certificate's serial and the ``devices``
table, never from what the client says. A revoked device is refused at its next
connection, and its live connections are closed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from room_protocol.enrollment import (
    ALPHABET,
    SECRET_CHARS,
    PairingCode,
)
from room_protocol.messages import ID_RE
from room_protocol.private_files import write_private
from room_server import audit
from room_server.repo import devices as repo
from room_server.repo import signin as signin_repo
from room_server.store import Store, utc_now
from room_server.tls import CLOCK_SKEW, RoomCertificates

DEVICE_VALIDITY = dt.timedelta(days=10 * 365)  # revocation, not expiry, ends a device
PAIRING_MINUTES = 10  # a pairing code's default life
MAX_PAIRING_MINUTES = 24 * 60
KEY_DEVICES_REVISION = "devices_revision"  # bumped when a device is revoked or moved


class DeviceKind(StrEnum):
    TABLET = "tablet"
    DISPLAY = "display"  # the room display: an observer


class EnrollmentError(ValueError):
    """A refused enrollment or device change; ``str()`` says why, for a person."""


@dataclass(frozen=True, slots=True)
class Device:
    device_id: str
    name: str
    kind: DeviceKind
    seat_id: str | None
    serial: str
    revoked: bool

    @classmethod
    def from_row(cls, row: dict[str, object]) -> Device:
        return cls(
            str(row["device_id"]),
            str(row["name"]),
            DeviceKind(str(row["kind"])),
            None if row["seat_id"] is None else str(row["seat_id"]),
            str(row["serial"]),
            row["revoked_at"] is not None,
        )


def serial_text(serial: int) -> str:
    return format(serial, "x")


def secret_hash(secret: str) -> str:
    return hashlib.sha256(f"hemicycle-pairing\0{secret}".encode()).hexdigest()


class Authority:
    """The room CA, as the server uses it to certify devices."""

    def __init__(self, certs: RoomCertificates) -> None:
        self.ca_cert = x509.load_pem_x509_certificate(certs.ca_cert.read_bytes())
        key = serialization.load_pem_private_key(certs.ca_key.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise EnrollmentError(f"{certs.ca_key}: not the room CA's EC key")
        self._key = key
        self.ca_pem = self.ca_cert.public_bytes(serialization.Encoding.PEM).decode()
        self.ca_sha256 = self.ca_cert.fingerprint(hashes.SHA256()).hex()

    @classmethod
    def in_dir(cls, tls_dir: Path) -> Authority:
        return cls(RoomCertificates.in_dir(tls_dir))

    def certify(
        self, public_key: ec.EllipticCurvePublicKey, device_id: str, kind: DeviceKind
    ) -> x509.Certificate:
        now = dt.datetime.now(dt.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(
                x509.Name(
                    [
                        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, kind.value),
                        x509.NameAttribute(NameOID.COMMON_NAME, device_id),
                    ]
                )
            )
            .issuer_name(self.ca_cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - CLOCK_SKEW)
            .not_valid_after(now + DEVICE_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )


def create_pairing_code(
    store: Store,
    authority: Authority,
    *,
    kind: DeviceKind = DeviceKind.TABLET,
    seat_id: str | None = None,
    minutes: int = PAIRING_MINUTES,
    created_by: str,
    now_ts: float,
) -> tuple[PairingCode, float]:
    """Inside a write transaction: a new one-time code and when it expires (epoch s)."""
    if not 1 <= minutes <= MAX_PAIRING_MINUTES:
        raise EnrollmentError(f"a pairing code lives 1 to {MAX_PAIRING_MINUTES} minutes")
    _check_seat(seat_id)
    _check_seat_free(store, seat_id, None)  # said now, not when the tablet tries it
    secret = "".join(secrets.choice(ALPHABET) for _ in range(SECRET_CHARS))
    expires = now_ts + minutes * 60
    repo.add_pairing_code(
        store,
        secret_hash=secret_hash(secret),
        kind=kind.value,
        seat_id=seat_id,
        expires_ts=expires,
        created_by=created_by,
    )
    return PairingCode.for_room(secret, authority.ca_sha256), expires


def enroll(
    store: Store, authority: Authority, *, secret: str, csr_pem: str, name: str, now_ts: float
) -> tuple[Device, x509.Certificate]:
    """Inside a write transaction: use up the code and certify the CSR's key."""
    try:
        csr = x509.load_pem_x509_csr(csr_pem.encode())
    except ValueError:
        raise EnrollmentError("the certificate request is not a valid PEM CSR") from None
    if not csr.is_signature_valid:
        raise EnrollmentError("the certificate request's signature does not match its key")
    public_key = csr.public_key()
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name not in (
        "secp256r1",
        "secp384r1",
    ):
        raise EnrollmentError("the device key must be an EC P-256 or P-384 key")
    code = repo.take_pairing_code(store, secret_hash(secret), now_ts)
    if code is None:
        raise EnrollmentError(
            "this pairing code is not valid: it is mistyped, already used or expired; "
            "ask for a new one"
        )
    kind = DeviceKind(code["kind"])
    return add_device(
        store,
        authority,
        public_key,
        kind=kind,
        seat_id=code["seat_id"],
        name=name.strip() or kind.value,
        enrolled_by=f"pairing code from {code['created_by']}",
    )


def add_device(
    store: Store,
    authority: Authority,
    public_key: ec.EllipticCurvePublicKey,
    *,
    kind: DeviceKind,
    seat_id: str | None,
    name: str,
    enrolled_by: str,
    device_id: str | None = None,
) -> tuple[Device, x509.Certificate]:
    """Inside a write transaction: record a device and certify its key."""
    _check_seat(seat_id)
    _check_seat_free(store, seat_id, device_id)
    if device_id is None:
        device_id = f"{kind.value}-{secrets.token_hex(4)}"
    elif not ID_RE.fullmatch(device_id):
        raise EnrollmentError(f"{device_id!r} is not a device id (letters, digits, . _ -)")
    if repo.by_id(store, device_id) is not None:
        raise EnrollmentError(f"a device {device_id!r} is already enrolled")
    cert = authority.certify(public_key, device_id, kind)
    serial = serial_text(cert.serial_number)
    repo.add(
        store,
        device_id=device_id,
        name=name[:120],
        kind=kind.value,
        seat_id=seat_id,
        serial=serial,
        fingerprint=cert.fingerprint(hashes.SHA256()).hex(),
        enrolled_by=enrolled_by,
    )
    _audit(
        store,
        "device.enrolled",
        {"device": device_id, "kind": kind.value, "seat": seat_id, "by": enrolled_by},
    )
    return Device(device_id, name[:120], kind, seat_id, serial, False), cert


def _audit(store: Store, kind: str, data: dict[str, object]) -> None:
    """Devices joining, moving and leaving the room are part of its record."""
    audit.append(
        store.conn,
        at=utc_now(),
        meeting_id=store.active_meeting_id(),
        kind=kind,
        actor=None,
        data=data,
    )


def provision_files(
    store: Store,
    authority: Authority,
    directory: Path,
    *,
    kind: DeviceKind = DeviceKind.TABLET,
    seat_id: str | None = None,
    name: str = "",
    device_id: str | None = None,
) -> Device:
    """Enroll a device from the room server's side and write its credentials (``ca.pem``,
    ``device.key``, ``device.pem``: the layout room_client's DeviceCredentials reads) into
    ``directory``, for a device that cannot enter a pairing code (a display without a
    keyboard, an image prepared by IT staff). The key is made here, so the directory must
    travel to the device as a secret. Pairing codes are the way that keeps keys on tablets.
    """
    (device,) = provision_many(
        store, authority, [Provision(directory, device_id, seat_id, name, kind)]
    )
    return device


@dataclass(frozen=True, slots=True)
class Provision:
    """One device for :func:`provision_many`: where its credentials go, and who it is."""

    directory: Path
    device_id: str | None = None  # None: a new random id
    seat_id: str | None = None
    name: str = ""
    kind: DeviceKind = DeviceKind.TABLET


def provision_many(store: Store, authority: Authority, wanted: Sequence[Provision]) -> list[Device]:
    """:func:`provision_files` for many devices (a load test's simulated tablets) in one
    write transaction, so one commit: all are enrolled or, on an EnrollmentError, none
    (no file written)."""
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in wanted]
    with store.transaction():
        issued = [
            add_device(
                store,
                authority,
                key.public_key(),
                kind=w.kind,
                seat_id=w.seat_id,
                name=w.name or w.kind.value,
                enrolled_by="room-server devices add",
                device_id=w.device_id,
            )
            for w, key in zip(wanted, keys, strict=True)
        ]
    for w, key, (_device, cert) in zip(wanted, keys, issued, strict=True):
        _write_credentials(w.directory, authority, key, cert)
    return [device for device, _cert in issued]


def _write_credentials(
    directory: Path, authority: Authority, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(directory / "device.key", key_pem)
    write_private(directory / "device.pem", cert.public_bytes(serialization.Encoding.PEM))
    write_private(directory / "ca.pem", authority.ca_pem.encode())


def revoke(store: Store, device_id: str) -> None:
    """Inside a write transaction: the device is refused from now on and every sign-in
    on it ends (its resume tokens with them)."""
    if not repo.revoke(store, device_id):
        found = repo.by_id(store, device_id)
        if found is None:
            raise EnrollmentError(f"no device {device_id!r} is enrolled in this room")
        raise EnrollmentError(f"device {device_id!r} is revoked already")
    signin_repo.end_device(store, device_id)
    _audit(store, "device.revoked", {"device": device_id})
    store.set_meta(KEY_DEVICES_REVISION, secrets.token_hex(8))


def ca_replaced(
    store: Store, old_ca_sha256: str | None, new_ca_sha256: str
) -> tuple[list[str], int]:
    """Inside a write transaction, when the room CA was replaced: every device it enrolled
    is revoked (a certificate of the old CA is refused by TLS already; revoked, its seat is
    free for the device enrolled again) and every open pairing code voided (each names the
    old CA, which a tablet would not find). The device ids revoked, and the codes voided."""
    revoked = [d.device_id for d in devices(store) if not d.revoked]
    for device_id in revoked:
        repo.revoke(store, device_id)
        signin_repo.end_device(store, device_id)
        _audit(store, "device.revoked", {"device": device_id, "reason": "room CA replaced"})
    voided = repo.void_pairing_codes(store)
    _audit(
        store,
        "room.ca_replaced",
        {"previous": old_ca_sha256, "ca": new_ca_sha256, "revoked": len(revoked), "voided": voided},
    )
    store.set_meta(KEY_DEVICES_REVISION, secrets.token_hex(8))
    return revoked, voided


def rename(store: Store, device_id: str, name: str) -> None:
    if not name.strip() or len(name) > 120:
        raise EnrollmentError("a device name is 1-120 characters")
    if not repo.rename(store, device_id, name.strip()):
        raise EnrollmentError(f"no device {device_id!r} is enrolled in this room")


def set_seat(store: Store, device_id: str, seat_id: str | None) -> None:
    _check_seat(seat_id)
    _check_seat_free(store, seat_id, device_id)
    if not repo.set_seat(store, device_id, seat_id):
        raise EnrollmentError(f"no device {device_id!r} is enrolled in this room")
    _audit(store, "device.moved", {"device": device_id, "seat": seat_id})
    store.set_meta(KEY_DEVICES_REVISION, secrets.token_hex(8))


def void_pairing_codes(store: Store) -> int:
    """Inside a write transaction: every open pairing code stops working."""
    return repo.void_pairing_codes(store)


def find(store: Store, serial: int) -> Device | None:
    row = repo.by_serial(store, serial_text(serial))
    return None if row is None else Device.from_row(row)


def devices(store: Store) -> list[Device]:
    return [Device.from_row(r) for r in repo.all_devices(store)]


def _check_seat(seat_id: str | None) -> None:
    if seat_id is not None and not ID_RE.fullmatch(seat_id):
        raise EnrollmentError(f"{seat_id!r} is not a seat id (letters, digits, . _ -)")


def _check_seat_free(store: Store, seat_id: str | None, device_id: str | None) -> None:
    """One device per seat: a message to a seat goes to the tablet standing there."""
    if seat_id is None:
        return
    holder = repo.at_seat(store, seat_id)
    if holder is not None and holder != device_id:
        raise EnrollmentError(
            f"seat {seat_id} has device {holder} already: revoke it or move it first "
            f"(room-server devices revoke {holder})"
        )


def peer_serial(der: bytes | None) -> int | None:
    """The serial number of a peer's certificate (DER), or None without one."""
    if not der:
        return None
    return int(x509.load_der_x509_certificate(der).serial_number)
