"""Test support: a real archive, nginx with WebDAV PUT over TLS on 127.0.0.1.

nginx comes from Debian (``apt-get install nginx`` when the tests run as root and it is
missing); :func:`nginx_or_skip` says why a test cannot run otherwise. The archive checks a
bearer token and has three places: ``/records/`` stores what is PUT and serves it back,
``/broken/`` answers 500 to everything, and ``/short/`` stores what is PUT but serves
GET and HEAD from another folder (``other``), so the room reads back something else.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.rooms import die_with_the_tests, timeout

TOKEN = "archive-token-7c1e2b"  # a test archive's token


def nginx_or_skip() -> str:
    """The nginx binary, installed from Debian if missing and we may; else skip the test."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip("nginx is not installed and cannot be (needs root and apt-get)")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "nginx"]
    result = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, check=False)
        result = subprocess.run(install, capture_output=True, text=True, env=env, check=False)
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if result.returncode != 0 or found is None:
        pytest.skip(f"nginx could not be installed: {result.stderr[-500:]}")
    return found


def files_of(root: Path) -> dict[str, bytes]:
    """Every file under ``root``: its path relative to ``root`` -> its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _write_tls(directory: Path) -> Path:
    """A CA and a certificate for 127.0.0.1 signed by it; returns the CA file."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test archive CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (directory / "ca.pem").write_bytes(ca.public_bytes(pem))
    (directory / "server.pem").write_bytes(leaf.public_bytes(pem))
    (directory / "server.key").write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return directory / "ca.pem"


class NginxArchive:
    """nginx serving ``directory/store`` as the archive at https://127.0.0.1:PORT."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.nginx = nginx_or_skip()
        self.directory = directory
        self.port = port or free_port()
        self.store = directory / "store"
        self.other = directory / "other"
        for folder in (self.store, self.other, directory / "temp"):
            folder.mkdir(parents=True, exist_ok=True)
        self.ca_file = _write_tls(directory)
        self.token_file = directory / "token"
        self.token_file.write_text(TOKEN + "\n", encoding="utf-8")
        self.process: subprocess.Popen[bytes] | None = None
        self._write_config()

    def url(self, place: str = "records") -> str:
        return f"https://127.0.0.1:{self.port}/{place}"

    def _write_config(self) -> None:
        d = self.directory
        dav = "dav_methods PUT; create_full_put_path on; dav_access user:rw;"
        (d / "nginx.conf").write_text(
            # One process (no master and workers): it gets the tests' death signal, so no
            # worker outlives a test run, and it runs as the tests' user.
            f"""master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/temp/body;
    proxy_temp_path {d}/temp/proxy;
    fastcgi_temp_path {d}/temp/fastcgi;
    uwsgi_temp_path {d}/temp/uwsgi;
    scgi_temp_path {d}/temp/scgi;
    client_max_body_size 0;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        if ($http_authorization != "Bearer {TOKEN}") {{ return 401; }}
        location /records/ {{ root {self.store}; {dav} }}
        location /broken/ {{ return 500; }}
        location /short/ {{
            root {self.store}; {dav}
            if ($request_method != PUT) {{ root {self.other}; }}
        }}
    }}
}}
""",
            encoding="utf-8",
        )

    def start(self) -> NginxArchive:
        log = (self.directory / "nginx.out").open("ab")
        self.process = subprocess.Popen(
            [
                self.nginx,
                "-p",
                str(self.directory),
                "-c",
                str(self.directory / "nginx.conf"),
                "-e",
                str(self.directory / "error.log"),
                "-g",
                "daemon off;",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_the_tests(),
        )
        deadline = time.monotonic() + timeout(20)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    "nginx exited:\n" + (self.directory / "error.log").read_text(errors="replace")
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError("nginx did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout(15))
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stored(self, place: str, room_id: str) -> dict[str, bytes]:
        """What the archive holds for ``room_id`` under ``place``: path -> bytes."""
        return files_of(self.store / place / room_id)

    def uploads_in_flight(self) -> list[Path]:
        """Request bodies nginx is receiving now (its temporary files)."""
        body = self.directory / "temp" / "body"
        return [p for p in body.rglob("*") if p.is_file()] if body.is_dir() else []
