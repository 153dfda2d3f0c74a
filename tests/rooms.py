"""Test support: small real meeting packages and real room-server processes.

Every server here listens on 127.0.0.1 and advertises (if at all) only on 127.0.0.1 or
on an address inside a network namespace the test made itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymupdf

from room_client.connection import RoomEndpoint
from room_client.enrollment import DeviceCredentials
from room_protocol import PROTOCOL_VERSION
from room_protocol.discovery import RoomAnnouncement
from room_server import devices
from room_server.repo import devices as devices_repo
from room_server.store import Store
from room_server.tls import ensure_certificates
from tests import packages

TIMEOUT_FACTOR = float(os.environ.get("HEMICYCLE_TEST_TIMEOUT_FACTOR", "1"))


def timeout(seconds: float) -> float:
    """A test timeout, stretched on slow machines by HEMICYCLE_TEST_TIMEOUT_FACTOR."""
    return seconds * TIMEOUT_FACTOR


def write_pdf(path: Path, pages: int, label: str, *, pad_bytes: int = 0) -> Path:
    """A real PDF whose pages say ``label page N``; ``pad_bytes`` of incompressible data
    (a stream object of its own: import keeps it, unlike an embedded file) make it large
    for transfer tests."""
    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 100), f"{label} — page {i + 1}", fontsize=24)
        page.draw_rect(pymupdf.Rect(72, 140, 72 + 40 * (i % 10 + 1), 180), fill=(0.2, 0.4, 0.8))
    if pad_bytes:
        padding = doc.get_new_xref()
        doc.update_object(padding, "<<>>")
        doc.update_stream(padding, hashlib.shake_256(label.encode()).digest(pad_bytes))
    doc.set_metadata({"title": label})  # no dates: the same bytes every time
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(path, no_new_id=True)
    doc.close()
    return path


def write_package(
    root: Path,
    *,
    meeting_id: str = "council-test",
    title: str = "Test council",
    big_document_bytes: int = 0,
    extra_item: str | None = None,
    voting: bool = False,
    more_delegates: int = 0,
    attendance: dict[str, Any] | None = None,
    confidential: Sequence[str] = (),
    delegates: dict[str, dict[str, Any]] | None = None,
    documents: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """A small valid package: two agenda items (one with a sub-item), three PDFs.

    ``voting`` adds what attendance and voting need (:data:`VOTING_EXTRAS`): two more
    voting members (d4 without a tablet, d5 who gave d1 their proxy), weights, a majority
    quorum, two poll templates and four draft polls. ``more_delegates`` adds voting
    members m0001... (PIN "1" + the number, seat S0001...) for load tests. ``delegates``
    changes delegates' keys by id (``{"d1": {"pin": "246810"}}``), ``documents`` the
    documents' (``{"minutes": {"members": ["d1"]}}``)."""
    files = {
        "docs/agenda.pdf": write_pdf(root / "docs" / "agenda.pdf", 2, "Agenda"),
        "docs/budget.pdf": write_pdf(
            root / "docs" / "budget.pdf", 6, "Budget", pad_bytes=big_document_bytes
        ),
        "docs/minutes.pdf": write_pdf(root / "docs" / "minutes.pdf", 3, "Minutes"),
    }
    agenda: list[dict[str, Any]] = [
        {"id": "opening", "title": "Opening", "planned_minutes": 5, "documents": ["agenda"]},
        {
            "id": "budget",
            "title": "Budget",
            "planned_minutes": 45,
            "documents": ["budget"],
            "items": [
                {
                    "id": "budget-debate",
                    "title": "Debate",
                    "planned_minutes": 30,
                    "documents": ["minutes"],
                },
            ],
        },
    ]
    if extra_item:
        agenda.append({"id": "late", "title": extra_item, "planned_minutes": 5})
    manifest: dict[str, Any] = {
        "format": 1,
        "meeting": {"id": meeting_id, "title": title, "date": "2026-11-21", "location": "Chamber"},
        "documents": [
            {"id": "agenda", "file": "docs/agenda.pdf", "title": "Agenda"},
            {"id": "budget", "file": "docs/budget.pdf", "title": "Budget 2027"},
            {"id": "minutes", "file": "docs/minutes.pdf", "title": "Minutes of the last meeting"},
        ],
        "agenda": agenda,
        "seats": [{"id": "A1"}, {"id": "A2"}, {"id": "A3"}, {"id": "A4"}],
        "delegates": [
            {"id": "chair", "name": "Chair Person", "role": "chair", "seat": "A1", "pin": "1111"},
            {"id": "clerk", "name": "Clerk Person", "role": "clerk", "pin": "3333"},
            {
                "id": "d1",
                "name": "Nguyễn Văn An",
                "role": "delegate",
                "seat": "A2",
                "pin": "2222",
                "badge": "04A1B2C3",
            },
            {
                "id": "d2",
                "name": "Beatrix Delegate",
                "role": "delegate",
                "seat": "A3",
                "pin": "4444",
            },
            {"id": "d3", "name": "Trần Thị Bình", "role": "delegate", "seat": "A4", "pin": "6666"},
            {"id": "obs", "name": "Press Observer", "role": "observer", "pin": "5555"},
        ],
    }
    for document in manifest["documents"]:
        if document["id"] in confidential:
            document["confidential"] = True
        document.update((documents or {}).get(document["id"], {}))
    if voting:
        for key, value in VOTING_EXTRAS.items():
            if key in ("seats", "delegates"):
                manifest[key] = [*manifest[key], *value]
            else:
                manifest[key] = value
        if attendance is not None:
            manifest["attendance"] = {**manifest["attendance"], **attendance}
        weights = {"d1": 3, "d4": 2}
        for delegate in manifest["delegates"]:
            if delegate["id"] in weights:
                delegate["weight"] = weights[delegate["id"]]
    for delegate in manifest["delegates"]:
        delegate.update((delegates or {}).get(delegate["id"], {}))
    for i in range(more_delegates):
        seat = f"S{i:04d}"
        manifest["seats"].append({"id": seat})
        manifest["delegates"].append(
            {"id": f"m{i:04d}", "name": f"Member {i:04d}", "seat": seat, "pin": f"1{i:04d}"}
        )
    return packages.write_package(root, manifest, files)


VOTING_EXTRAS: dict[str, Any] = {
    "seats": [{"id": "A5"}],
    "delegates": [
        {"id": "d4", "name": "Lê Văn Cường", "seat": "A5", "pin": "7777"},
        {"id": "d5", "name": "Eva Absent", "pin": "8888"},
    ],
    "attendance": {"seating": "assigned", "quorum": "majority", "max_proxies": 1},
    "proxies": [{"giver": "d5", "holder": "d1"}],
    "poll_templates": [
        {"id": "motion", "title": "Motion", "kind": "yes_no", "allow_change": True},
        {
            "id": "secret-election",
            "title": "Secret election",
            "kind": "election",
            "majority": "plurality",
            "secret": True,
            "tie": "lot",
        },
    ],
    "polls": [
        {
            "id": "p-budget",
            "title": "Adopt the budget 2027",
            "item": "budget",
            "template": "motion",
        },
        {"id": "p-secret", "title": "Motion of no confidence", "kind": "yes_no", "secret": True},
        {
            "id": "p-board",
            "title": "Elect two board members",
            "template": "secret-election",
            "seats": 2,
            "options": [
                {"id": "c-lan", "label": "Lan"},
                {"id": "c-minh", "label": "Minh"},
                {"id": "c-hoa", "label": "Hoa"},
            ],
        },
        {
            "id": "p-weighted",
            "title": "Weighted motion, two thirds of those present",
            "kind": "yes_no",
            "weighted": True,
            "majority": "two_thirds",
            "base": "present",
            "tie": "chair",
        },
    ],
}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class RunningRoom:
    process: subprocess.Popen[bytes]
    config: Path
    state_dir: Path
    port: int
    hostname: str
    room_id: str
    room_name: str
    fingerprint: str

    @property
    def ca_file(self) -> Path:
        return self.state_dir / "tls" / "ca.pem"

    def device(
        self, device_id: str, seat_id: str | None = None, *, display: bool = False
    ) -> DeviceCredentials:
        """The credentials of an enrolled device with this id (enrolled now if needed, as
        ``room-server devices add`` does; a device asked for at another seat is moved)."""
        return enroll_device(self.state_dir, device_id, seat_id, display=display)

    def endpoint(self, address: str = "127.0.0.1") -> RoomEndpoint:
        return RoomEndpoint(self.hostname, self.port, address, self.room_name)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return room_cli(self.config, *args)

    def stop(self, sig: int = signal.SIGTERM, wait: float = 15) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout(wait))


_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before any fork, never in a child


def _die_with_the_tests() -> None:
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def die_with_the_tests() -> Callable[[], None] | None:
    """A ``preexec_fn`` for a test's child process: SIGKILL when the test run ends, even when
    it ends without tearing down (pytest-timeout's thread method ends it with os._exit).
    The kernel sends it when the forking *thread* ends, so only the main thread asks."""
    if threading.current_thread() is threading.main_thread():
        return _die_with_the_tests
    return None


def offline_room(directory: Path) -> Path:
    """A room's state directory with its CA and database, for enrolling devices of a room
    that never runs (tablet tests that feed messages)."""
    state = directory / "state"
    ensure_certificates(
        state / "tls", room_id="offline", room_name="Offline", hostnames=("x.local",), addresses=()
    )
    Store(state / "room.sqlite3", state / "documents").close()
    return state


def enroll_device(
    state_dir: Path, device_id: str, seat_id: str | None = None, *, display: bool = False
) -> DeviceCredentials:
    """Enroll ``device_id`` in the room whose state is ``state_dir`` (its server must have
    run once, to make the CA), with the room server's own code; its credentials live in
    ``state_dir/../devices/ID``."""
    credentials = DeviceCredentials(state_dir.parent / "devices" / device_id)
    with Store(state_dir / "room.sqlite3", state_dir / "documents") as store:
        holder = devices_repo.at_seat(store, seat_id) if seat_id else None
        if holder is not None and holder != device_id:
            # One device per seat: as IT staff would, move the one standing there away.
            with store.transaction():
                devices.set_seat(store, holder, None)
        known = devices_repo.by_id(store, device_id)
        if known is not None and credentials.enrolled:
            if known["seat_id"] != seat_id:
                with store.transaction():
                    devices.set_seat(store, device_id, seat_id)
            return credentials
        devices.provision_files(
            store,
            devices.Authority.in_dir(state_dir / "tls"),
            credentials.directory,
            kind=devices.DeviceKind.DISPLAY if display else devices.DeviceKind.TABLET,
            seat_id=seat_id,
            name=device_id,
            device_id=device_id,
        )
    return credentials


def with_umask(umask: int | None) -> Callable[[], None] | None:
    """A ``preexec_fn``: :func:`die_with_the_tests`, and ``umask`` (as a shell run by hand
    would have it) when given."""
    die = die_with_the_tests()
    if umask is None:
        return die

    def setup() -> None:
        os.umask(umask)
        if die is not None:
            die()

    return setup


def room_cli(
    config: Path, *args: str, umask: int | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "room_server", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout(120),
        check=False,
        preexec_fn=with_umask(umask),
    )


def write_config(
    directory: Path,
    *,
    room_id: str,
    room_name: str,
    host: str = "127.0.0.1",
    mdns: bool = True,
    interfaces: Sequence[str] = ("127.0.0.1",),
    hostname: str = "hemicycle-test",
    chunk_size: int = 64 * 1024,
    max_transfers: int | None = None,
    port: int = 0,
    max_batch: int | None = None,
    max_unenrolled: int | None = None,
    max_connections_per_address: int = 5_000,
    limits: dict[str, int | float] | None = None,
    extra: str = "",
) -> Path:
    """Every test tablet connects from 127.0.0.1: the per-address cap is lifted unless a
    test sets it. ``limits`` are keys of the ``[limits]`` table; ``extra`` is TOML added at
    the end (more tables)."""
    config = directory / "room-server.toml"
    batch = "" if max_batch is None else f"max_batch = {max_batch}\n"
    unenrolled = (
        "" if max_unenrolled is None else f"max_unenrolled_connections = {max_unenrolled}\n"
    )
    transfers = "" if max_transfers is None else f"max_transfers = {max_transfers}\n"
    limit_lines = "".join(f"{key} = {value!r}\n" for key, value in (limits or {}).items())
    config.write_text(
        f"""[room]
id = "{room_id}"
name = "{room_name}"
[server]
host = "{host}"
port = {port}
{unenrolled}max_connections_per_address = {max_connections_per_address}
[limits]
{limit_lines}[mdns]
enabled = {"true" if mdns else "false"}
interfaces = {json.dumps(list(interfaces))}
hostname = "{hostname}"
[documents]
chunk_size = {chunk_size}
{transfers}[storage]
state_dir = "state"
poll_seconds = 0.1
{batch}{extra}""",
        encoding="utf-8",
    )
    return config


def start_room(
    directory: Path,
    *,
    package: Path | None = None,
    command_prefix: Sequence[str] = (),
    server_args: Sequence[str] = (),
    umask: int | None = None,
    env: Mapping[str, str] | None = None,
    **config_args: object,
) -> RunningRoom:
    """Import ``package`` (if given) with the real CLI, then start a server process;
    ``server_args`` go before the command (``-v``), ``umask`` is the processes' umask."""
    directory.mkdir(parents=True, exist_ok=True)
    room_id = str(
        config_args.pop(
            "room_id", "test-" + hashlib.sha256(str(directory).encode()).hexdigest()[:8]
        )
    )
    room_name = str(config_args.pop("room_name", f"Test room {room_id[-4:]}"))
    config = write_config(directory, room_id=room_id, room_name=room_name, **config_args)  # type: ignore[arg-type]
    if package is not None:
        result = room_cli(config, "import", str(package), umask=umask)
        assert result.returncode == 0, result.stderr
    runtime = directory / "state" / "server.json"
    log = (directory / "server.log").open("wb")
    process = subprocess.Popen(
        [
            *command_prefix,
            sys.executable,
            "-m",
            "room_server",
            "--config",
            str(config),
            *server_args,
            "run",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=with_umask(umask),
        env=None if env is None else {**os.environ, **env},
    )
    deadline = time.monotonic() + timeout(30)
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"room server exited with {process.returncode}:\n"
                + (directory / "server.log").read_text(errors="replace")
            )
        with contextlib.suppress(OSError, ValueError):
            info = json.loads(runtime.read_text())
            if info["pid"] != process.pid and not command_prefix:
                raise ValueError("server.json left by an earlier (killed) server")
            return RunningRoom(
                process=process,
                config=config,
                state_dir=directory / "state",
                port=int(info["port"]),
                hostname=str(info["hostname"]),
                room_id=room_id,
                room_name=room_name,
                fingerprint=str(info["fingerprint"]),
            )
        time.sleep(0.05)
    process.kill()
    raise TimeoutError("room server did not start:\n" + (directory / "server.log").read_text())


@contextlib.contextmanager
def running_room(directory: Path, **kwargs: object) -> Iterator[RunningRoom]:
    room = start_room(directory, **kwargs)  # type: ignore[arg-type]
    try:
        yield room
    finally:
        if room.process.poll() is None:
            room.process.kill()
            room.process.wait()


def announcement_of(room: RunningRoom) -> RoomAnnouncement:
    return RoomAnnouncement(room.room_id, room.room_name, PROTOCOL_VERSION, room.fingerprint[:16])
