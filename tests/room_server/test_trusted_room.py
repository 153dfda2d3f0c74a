"""The room knows its devices: enrollment, mutual TLS, revocation, and who sees what.

Each test plays an attacker on the room network (holding the room CA certificate, which
every tablet has) against a real room-server process over real TLS.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import sqlite3
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from room_client.connection import ConnectError, open_channel
from room_client.enrollment import DeviceCredentials, EnrollError, enroll
from room_protocol.codec import decode, encode
from room_protocol.enrollment import PairingCode
from room_protocol.errors import ProtocolError
from room_protocol.live import (
    Ack,
    Alert,
    AlertKind,
    Announce,
    Announcement,
    MessageSeat,
    SignedIn,
    SignedOut,
    SignIn,
)
from room_protocol.messages import (
    Channel,
    DocumentBegin,
    ErrorMessage,
    FetchDocument,
    MeetingRoster,
    MeetingState,
)
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom, offline_room, running_room, timeout, write_package


@pytest.fixture
async def room(tmp_path: Path) -> AsyncIterator[RunningRoom]:
    package = write_package(tmp_path / "pkg", confidential=("minutes",))
    with running_room(tmp_path / "room", package=package, mdns=False, max_unenrolled=3) as room:
        yield room


def ca_only(room: RunningRoom) -> ssl.SSLContext:
    """What anyone on the room network can have: the room CA, and no device certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=room.ca_file)
    return context


def ca_sha256_of(room: RunningRoom) -> str:
    ca = x509.load_pem_x509_certificate(room.ca_file.read_bytes())
    return ca.fingerprint(hashes.SHA256()).hex()


def pairing_code(room: RunningRoom, *args: str) -> PairingCode:
    result = room.cli("enroll", "--json", *args)
    assert result.returncode == 0, result.stderr
    return PairingCode.parse(json.loads(result.stdout)["code"])


async def enroll_at(room: RunningRoom, code: PairingCode, directory: Path) -> str:
    done = await enroll(
        room.endpoint().uri, "127.0.0.1", room.port, code, DeviceCredentials(directory)
    )
    return done.device_id


@pytest.mark.parametrize("channel", [Channel.CONTROL, Channel.DOCUMENTS])
async def test_a_device_without_a_certificate_may_only_enroll(
    room: RunningRoom, channel: Channel
) -> None:
    with pytest.raises(ConnectError, match="not enrolled in this room"):
        await open_channel(room.endpoint(), ca_only(room), channel, "tablet-a2")


async def test_a_certificate_of_another_room_is_refused(room: RunningRoom, tmp_path: Path) -> None:
    from tests.rooms import enroll_device

    other = enroll_device(offline_room(tmp_path / "other"), "tablet-a2", "A2")
    context = other.context()
    context.load_verify_locations(cafile=room.ca_file)  # it even trusts this room
    with pytest.raises(ConnectError):
        await open_channel(room.endpoint(), context, Channel.CONTROL, "tablet-a2")


async def test_enrolling_with_a_pairing_code(room: RunningRoom, tmp_path: Path) -> None:
    code = pairing_code(room, "--seat", "A2")
    device_id = await enroll_at(room, code, tmp_path / "tablet")
    credentials = DeviceCredentials(tmp_path / "tablet")
    assert credentials.enrolled and credentials.device_id() == device_id
    modes = {p.name: p.stat().st_mode & 0o777 for p in credentials.directory.iterdir()}
    assert modes == {"ca.pem": 0o600, "device.key": 0o600, "device.pem": 0o600}
    assert (credentials.directory.stat().st_mode & 0o777) == 0o700
    ws, welcome = await open_channel(
        room.endpoint(), credentials.context(), Channel.CONTROL, "not-what-it-is"
    )
    await ws.close()
    assert (welcome.device_id, welcome.seat_id) == (device_id, "A2")
    # A code works once.
    with pytest.raises(EnrollError, match="not valid"):
        await enroll_at(room, code, tmp_path / "second")
    listed = json.loads(room.cli("devices", "list", "--json").stdout)
    assert [(d["device_id"], d["seat_id"], d["revoked"]) for d in listed] == [
        (device_id, "A2", False)
    ]


async def test_a_code_of_another_room_is_never_sent_to_this_one(
    room: RunningRoom, tmp_path: Path
) -> None:
    """A room that is not the one the code belongs to (an impostor on the network) gets
    no secret: the device checks the room CA against the code first."""
    with running_room(tmp_path / "other", mdns=False) as other:
        code = pairing_code(other)
        with pytest.raises(EnrollError, match="not the one the pairing code belongs to"):
            await enroll_at(room, code, tmp_path / "tablet")
        assert not (tmp_path / "tablet" / "device.pem").exists()
        assert "refused an enrollment" not in (tmp_path / "room" / "server.log").read_text()
        # The code still works in its own room: nobody used its secret.
        assert await enroll_at(other, code, tmp_path / "tablet")


async def test_wrong_codes_are_refused_and_then_the_connection_closed(
    room: RunningRoom, tmp_path: Path
) -> None:
    good = pairing_code(room)
    wrong = PairingCode.for_room("0" * 8, ca_sha256_of(room))  # this room's form, never made
    for _ in range(3):
        with pytest.raises(EnrollError, match="not valid"):
            await enroll_at(room, wrong, tmp_path / "guess")
    assert not (tmp_path / "guess" / "device.pem").exists()
    assert await enroll_at(room, good, tmp_path / "tablet")


def idle_tls(room: RunningRoom, context: ssl.SSLContext) -> ssl.SSLSocket:
    """A TLS connection that says nothing more after its handshake."""
    raw = socket.create_connection(("127.0.0.1", room.port), timeout=timeout(10))
    return context.wrap_socket(raw, server_hostname=room.hostname)


def closed_by_server(tls: ssl.SSLSocket) -> bool:
    try:
        return tls.recv(1) == b""
    except (ConnectionError, ssl.SSLError):
        return True


async def test_unenrolled_connections_cannot_crowd_out_enrolled_tablets(
    room: RunningRoom,
) -> None:
    """Idle TLS connections without a certificate are counted from their handshake on:
    past max_unenrolled_connections (3 here) the server drops them, and an enrolled
    tablet is still served."""
    held = [idle_tls(room, ca_only(room)) for _ in range(3)]
    try:
        extra = idle_tls(room, ca_only(room))
        extra.settimeout(timeout(10))
        assert await asyncio.to_thread(closed_by_server, extra)
        tablet = await Tablet(room, "tablet-a2", "A2").start()  # enrolled: still served
        await tablet.stop()
    finally:
        for tls in held:
            tls.close()


async def test_plain_https_requests_do_not_use_up_enrollment(
    room: RunningRoom, tmp_path: Path
) -> None:
    """Requests that are no WebSocket upgrade are answered and forgotten: twenty of them
    (more than max_unenrolled_connections) do not keep devices from enrolling."""

    def get() -> bytes:
        with idle_tls(room, ca_only(room)) as tls:
            tls.sendall(f"GET / HTTP/1.1\r\nHost: {room.hostname}\r\n\r\n".encode())
            return tls.recv(64)

    for _ in range(20):
        assert (await asyncio.to_thread(get)).startswith(b"HTTP/1.1 4")
    assert await enroll_at(room, pairing_code(room), tmp_path / "tablet")


async def test_a_revoked_device_is_disconnected_and_refused(room: RunningRoom) -> None:
    tablet = await Tablet(room, "tablet-a2", "A2").start()
    credentials = room.device("tablet-a2", "A2")
    result = room.cli("devices", "revoke", "tablet-a2")
    assert result.returncode == 0, result.stderr
    await until(lambda: tablet.connection.status.phase.value == "retrying", seconds=10)
    with pytest.raises(ConnectError, match="HTTP 403"):
        await open_channel(room.endpoint(), credentials.context(), Channel.CONTROL, "x")
    again = room.cli("devices", "revoke", "tablet-a2")
    assert again.returncode == 2 and "revoked already" in again.stderr
    await tablet.stop()


async def test_a_resume_token_works_only_on_the_device_it_was_given_to(
    room: RunningRoom,
) -> None:
    """The chair's resume token, copied off the chair's tablet and presented by another
    enrolled device, used to sign that device in as the chair (and the chair out)."""
    chair = await Tablet(room, "tablet-a1", "A1").start()
    await chair.sign_in("chair", "1111")
    token = chair.connection.session.resume_token
    assert token
    thief = room.device("tablet-a3", "A3")
    ws, _ = await open_channel(
        room.endpoint(), thief.context(), Channel.CONTROL, "tablet-a3", resume_token=token
    )
    async with ws:
        for _ in range(50):
            reply = decode(await asyncio.wait_for(ws.recv(), timeout(10)))
            if isinstance(reply, SignedIn | SignedOut):
                break
        assert isinstance(reply, SignedOut), reply
        # Still the chair on the chair's tablet (the resume ran when the thief connected).
        await chair.ok(Announce(chair.op(), "still chairing"))
    assert not chair.of_type(SignedOut)
    await chair.stop()


async def test_revoking_a_device_ends_its_sign_ins(room: RunningRoom) -> None:
    tablet = await Tablet(room, "tablet-a2", "A2").start()
    await tablet.sign_in("d1", "2222")

    def sign_ins() -> list[str]:
        with sqlite3.connect(f"file:{room.state_dir / 'room.sqlite3'}?mode=ro", uri=True) as db:
            return [r[0] for r in db.execute("SELECT client_id FROM sign_ins")]

    assert sign_ins() == ["tablet-a2"]
    result = room.cli("devices", "revoke", "tablet-a2")
    assert result.returncode == 0, result.stderr
    assert sign_ins() == []
    await tablet.stop()


async def test_saying_another_tablets_id_replays_nothing(room: RunningRoom) -> None:
    """The red team's take-over: a second connection that says the victim's client id and
    resends the op id of the victim's sign-in, with a wrong PIN."""
    victim = await Tablet(room, "tablet-a2", "A2").start()
    op = victim.op()
    await victim.ok(SignIn(op, delegate_id="d1", pin="2222"))
    attacker = room.device("tablet-a3", "A3")
    ws, welcome = await open_channel(
        room.endpoint(), attacker.context(), Channel.CONTROL, "tablet-a2"
    )
    assert welcome.device_id == "tablet-a3"  # the certificate decides, not hello
    async with ws:
        await ws.send(encode(SignIn(op, delegate_id="d1", pin="0000")))
        while True:
            reply = decode(await asyncio.wait_for(ws.recv(), timeout(10)))
            if isinstance(reply, ErrorMessage | Ack):
                break
    assert isinstance(reply, ErrorMessage) and reply.code == "wrong_pin", reply
    await asyncio.sleep(0.3)
    assert victim.connection.signed_in is not None
    assert not victim.of_type(SignedOut)
    await victim.stop()


async def test_a_message_to_a_seat_reaches_only_the_member_signed_in_there(
    room: RunningRoom,
) -> None:
    clerk = await Tablet(room, "tablet-clerk").start()
    await clerk.sign_in("clerk", "3333")
    at_a2 = await Tablet(room, "tablet-a2", "A2").start()  # nobody signed in yet
    at_a3 = await Tablet(room, "tablet-a3", "A3").start()
    await at_a3.sign_in("d2", "4444")
    await clerk.refused(MessageSeat(clerk.op(), "A2", "private"), "not_found", "nobody")
    await at_a2.sign_in("d1", "2222")
    await clerk.ok(MessageSeat(clerk.op(), "A2", "your microphone is on"))
    await at_a2.next_of(Announcement, 0, lambda m: m.to_seat == "A2")
    await asyncio.sleep(0.3)
    for other in (at_a3, clerk):
        assert not [m for m in other.of_type(Announcement) if m.to_seat]
    await asyncio.gather(*(t.stop() for t in (clerk, at_a2, at_a3)))


async def fetch(room: RunningRoom, device: DeviceCredentials, sha256: str) -> object:
    ws, _ = await open_channel(room.endpoint(), device.context(), Channel.DOCUMENTS, "x")
    async with ws:
        await ws.send(encode(FetchDocument(sha256)))
        return decode(await asyncio.wait_for(ws.recv(), timeout(10)))


async def test_a_confidential_document_goes_only_to_a_member_signed_in(
    room: RunningRoom,
) -> None:
    tablet = await Tablet(room, "tablet-a2", "A2").start()
    minutes = next(d for d in tablet.meeting.documents if d.confidential)
    public = next(d for d in tablet.meeting.documents if not d.confidential)
    device = room.device("tablet-a2", "A2")
    assert isinstance(await fetch(room, device, public.sha256), DocumentBegin)
    refused = await fetch(room, device, minutes.sha256)
    assert isinstance(refused, ErrorMessage) and refused.code == "forbidden", refused
    observer = await Tablet(room, "tablet-press").start()
    await observer.sign_in("obs", "5555")
    refused = await fetch(room, room.device("tablet-press"), minutes.sha256)
    assert isinstance(refused, ErrorMessage) and refused.code == "forbidden"
    await tablet.sign_in("d1", "2222")
    assert isinstance(await fetch(room, device, minutes.sha256), DocumentBegin)
    await asyncio.gather(tablet.stop(), observer.stop())


async def test_the_room_display_cannot_sign_in(room: RunningRoom) -> None:
    display = room.device("display-1", display=True)
    ws, _ = await open_channel(room.endpoint(), display.context(), Channel.CONTROL, "x")
    async with ws:
        assert isinstance(decode(await ws.recv()), MeetingRoster)
        assert isinstance(decode(await ws.recv()), MeetingState)
        await ws.send(encode(SignIn("op-1", delegate_id="chair", pin="1111")))
        while True:
            reply = decode(await asyncio.wait_for(ws.recv(), timeout(10)))
            if isinstance(reply, ErrorMessage | Ack):
                break
    assert isinstance(reply, ErrorMessage) and reply.code == "forbidden"
    assert "room display" in reply.message


async def test_pairing_code_commands_say_what_is_wrong(room: RunningRoom) -> None:
    for args, text in [
        (("enroll", "--minutes", "0"), "1 to 1440 minutes"),
        (("enroll", "--seat", "A 2"), "not a seat id"),
        (("devices", "revoke", "nobody"), "no device 'nobody'"),
        (("devices", "rename", "nobody", "x"), "no device 'nobody'"),
    ]:
        result = room.cli(*args)
        assert result.returncode == 2, args
        assert text in result.stderr, (args, result.stderr)
    human = room.cli("enroll", "--seat", "A4")
    assert human.returncode == 0 and "A4" in human.stdout
    assert "█" in human.stdout or "▀" in human.stdout  # the QR code


def test_pairing_codes_read_forgivingly() -> None:
    code = PairingCode.parse("k7q2-m9xd 4hrt-pw3a")
    assert str(code) == "K7Q2-M9XD-4HRT-PW3A"
    assert PairingCode.parse("K7Q2M9XD4HRTPW3O").secret.endswith("0")  # O read as zero
    for bad, text in [("K7Q2", "16 characters"), ("K7Q2-M9XD-4HRT-PW3!", "only digits")]:
        with pytest.raises(ProtocolError, match=text):
            PairingCode.parse(bad)
    ca = hashlib.sha256(b"a room CA").hexdigest()
    real = PairingCode.for_room("ABCDEFGH", ca)
    scanned = PairingCode.parse(real.link(ca, "council"))
    assert (str(scanned), scanned.ca_sha256, scanned.room_id) == (str(real), ca, "council")
    assert scanned.matches_ca(ca) and not scanned.matches_ca("0" * 64)
    damaged = real.link(ca, "council").replace(ca, "1" + ca[1:])
    with pytest.raises(ProtocolError, match="damaged"):
        PairingCode.parse(damaged)


def test_every_code_checks_the_room_differently() -> None:
    """The check half is keyed with the code's one-time secret: nothing about a room's
    codes can be precomputed from what the room display shows of earlier ones."""
    ca = hashlib.sha256(b"a room CA").hexdigest()
    one, other = PairingCode.for_room("ABCDEFGH", ca), PairingCode.for_room("ABCDEFGJ", ca)
    assert one.check != other.check
    assert one.matches_ca(ca) and not PairingCode(one.check, other.secret).matches_ca(ca)


def test_a_ca_that_only_matches_the_code_is_not_trusted(tmp_path: Path) -> None:
    """An impostor who made a certificate whose sha256 fits the code (here: given the
    secret) still needs a real self-signed CA: a leaf or a badly signed one is refused
    before the secret is sent."""
    import datetime as dt

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from room_client.enrollment import EnrollFailure, _check_room

    key, other_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Hemicycle room CA r")])
    now = dt.datetime.now(dt.UTC)

    def certificate(is_ca: bool, signer: ec.EllipticCurvePrivateKey) -> str:
        built = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
            .sign(signer, hashes.SHA256())
        )
        return built.public_bytes(serialization.Encoding.PEM).decode()

    for pem in (certificate(False, key), certificate(True, other_key)):
        sha = x509.load_pem_x509_certificate(pem.encode()).fingerprint(hashes.SHA256()).hex()
        with pytest.raises(EnrollError) as refused:
            _check_room(pem, PairingCode.for_room("ABCDEFGH", sha), None)
        assert refused.value.reason is EnrollFailure.UNTRUSTED
        assert "not a valid self-signed CA" in str(refused.value)


async def test_a_new_device_is_recorded_and_the_chair_is_told(
    room: RunningRoom, tmp_path: Path
) -> None:
    """A code seen on the room display could enroll a stranger's device: every
    enrollment is in the audit log and alerts the chair and clerks."""
    clerk = await Tablet(room, "tablet-clerk").start()
    await clerk.sign_in("clerk", "3333")
    device_id = await enroll_at(room, pairing_code(room, "--seat", "A4"), tmp_path / "new")
    alert = await clerk.next_of(Alert, 0, lambda a: a.kind is AlertKind.DEVICE_ENROLLED)
    assert device_id in alert.text and alert.seat_id == "A4"
    with sqlite3.connect(room.state_dir / "room.sqlite3") as conn:
        logged = [
            json.loads(data)
            for (data,) in conn.execute(
                "SELECT data FROM audit_log WHERE kind = 'device.enrolled' ORDER BY seq"
            )
        ]
    assert logged[-1]["device"] == device_id and logged[-1]["seat"] == "A4"
    assert room.cli("audit", "verify").returncode == 0
    await clerk.stop()


def test_one_device_stands_at_a_seat(room: RunningRoom, tmp_path: Path) -> None:
    first = room.cli("devices", "add", "--seat", "A3", "--out", str(tmp_path / "one"))
    assert first.returncode == 0, first.stderr
    second = room.cli("devices", "add", "--seat", "A3", "--out", str(tmp_path / "two"))
    assert second.returncode == 2 and "seat A3 has device" in second.stderr
    assert not (tmp_path / "two").exists()
