"""Test support: a WebDAV folder as Nextcloud's is, served by WsgiDAV over TLS on 127.0.0.1.

Nextcloud (SabreDAV) and Apache mod_dav take a PUT only into a folder that exists (409
Conflict otherwise: the client makes folders with MKCOL) and sign in with HTTP Basic (a
user and an app password). WsgiDAV, a WebDAV server of its own, behaves the same way, so
the room's uploader is tested against that behaviour rather than against nginx, which
makes the folders itself (``create_full_put_path``).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.nginx import free_port, write_tls
from tests.rooms import die_with_the_tests, timeout

USER, PASSWORD = "hemicycle-room", "app-password-3d9a"
BASE = "/remote.php/dav/files/hemicycle-room"  # where Nextcloud puts a user's files


class WebDavFolder:
    """WsgiDAV serving ``directory/files`` at https://127.0.0.1:PORT{BASE}."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.files = directory / "files"
        self.files.mkdir(parents=True, exist_ok=True)
        self.ca_file = write_tls(directory)
        self.password_file = directory / "password"
        self.password_file.write_text(PASSWORD + "\n", encoding="utf-8")
        self.password_file.chmod(0o600)
        self.port = free_port()
        # JSON is YAML: WsgiDAV reads its configuration file as YAML.
        config = {
            "host": "127.0.0.1",
            "port": self.port,
            "server": "cheroot",
            "ssl_certificate": str(directory / "server.pem"),
            "ssl_private_key": str(directory / "server.key"),
            "provider_mapping": {BASE: str(self.files)},
            "http_authenticator": {
                "accept_basic": True,
                "accept_digest": False,
                "default_to_digest": False,
            },
            "simple_dc": {"user_mapping": {"*": {USER: {"password": PASSWORD}}}},
            "lock_storage": True,
            "verbose": 3,
            "logging": {"enable_loggers": []},
        }
        self.config = directory / "wsgidav.yaml"
        self.config.write_text(json.dumps(config), encoding="utf-8")
        self.log = directory / "wsgidav.log"
        self.process: subprocess.Popen[bytes] | None = None

    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}{BASE}"

    def start(self) -> WebDavFolder:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "wsgidav.server.server_cli", "--config", str(self.config)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_the_tests(),
        )
        deadline = time.monotonic() + timeout(30)
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text(errors="replace")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return self
            time.sleep(0.05)
        raise TimeoutError("WsgiDAV did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout(15))
            self.process = None

    def requests(self) -> str:
        """What WsgiDAV logged (one line per request at this verbosity)."""
        return self.log.read_text(errors="replace")
