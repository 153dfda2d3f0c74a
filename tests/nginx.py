"""Debian's nginx on 127.0.0.1 with TLS: the tests' archive (:mod:`tests.archive`) and the
distribution bench's baseline (:mod:`bench.distribution`) both run it from here.

nginx runs as one process (``master_process off``): it gets the caller's death signal, so
it never outlives a test run or a bench, and it runs as the caller's user. It is installed
with ``tests/tools/ensure-command.sh`` when it is missing (as root, with apt-get).
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

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.rooms import die_with_the_tests, timeout

ENSURE_COMMAND = Path(__file__).resolve().parent / "tools" / "ensure-command.sh"
_PLACES = ("/usr/sbin/nginx", "/sbin/nginx")


class NginxMissing(RuntimeError):
    """nginx is not installed and could not be (the reason is the message)."""


def ensure_nginx() -> str:
    """The nginx binary, installed from Debian first if missing and we may."""

    def found() -> str | None:
        return shutil.which("nginx") or next((p for p in _PLACES if os.access(p, os.X_OK)), None)

    binary = found()
    if binary:
        return binary
    result = subprocess.run(
        ["sh", str(ENSURE_COMMAND), "nginx", "nginx"],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    binary = found()
    if result.returncode != 0 or binary is None:
        raise NginxMissing((result.stdout + result.stderr).strip() or "nginx is not installed")
    return binary


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_tls(directory: Path) -> Path:
    """A CA and a certificate for 127.0.0.1 signed by it (``server.pem``, ``server.key``);
    returns the CA file (``ca.pem``)."""
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


class Nginx:
    """One nginx process serving ``server`` (the lines inside its ``server { }`` block
    after ``listen``) over TLS with ``certificate`` = (PEM, key) at
    https://127.0.0.1:PORT; its files (config, logs, pid, temporary files) in
    ``directory``. ``http`` is more lines for the ``http { }`` block (default: an
    access log in ``directory``)."""

    def __init__(
        self,
        directory: Path,
        server: str,
        certificate: tuple[Path, Path],
        *,
        port: int | None = None,
        http: str | None = None,
        connections: int = 64,
    ) -> None:
        self.binary = ensure_nginx()
        self.directory = directory
        self.port = port or free_port()
        (directory / "temp").mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        d = directory
        pem, key = certificate
        (d / "nginx.conf").write_text(
            f"""master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log info;
worker_rlimit_nofile {max(1024, 2 * connections)};
events {{ worker_connections {connections}; }}
http {{
    {f"access_log {d}/access.log;" if http is None else http}
    client_body_temp_path {d}/temp/body;
    proxy_temp_path {d}/temp/proxy;
    fastcgi_temp_path {d}/temp/fastcgi;
    uwsgi_temp_path {d}/temp/uwsgi;
    scgi_temp_path {d}/temp/scgi;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        ssl_certificate {pem};
        ssl_certificate_key {key};
        {server}
    }}
}}
""",
            encoding="utf-8",
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> Nginx:
        log = (self.directory / "nginx.out").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
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
