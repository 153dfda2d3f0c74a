"""Test support: a real archive, nginx with WebDAV PUT over TLS on 127.0.0.1.

nginx comes from Debian and runs as :mod:`tests.nginx` starts it (installed when the
tests run as root and it is missing); :func:`nginx_or_skip` says why a test cannot run
otherwise. The archive checks a bearer token and has three places: ``/records/`` stores
what is PUT and serves it back, ``/broken/`` answers 500 to everything, and ``/short/``
stores what is PUT but serves GET and HEAD from another folder (``other``), so the room
reads back something else.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.nginx import Nginx, NginxMissing, ensure_nginx, free_port, write_tls

TOKEN = "archive-token-7c1e2b"  # a test archive's token

_write_tls = write_tls  # its name before tests/nginx.py, still imported by other test helpers

__all__ = ["TOKEN", "NginxArchive", "files_of", "free_port", "nginx_or_skip", "write_tls"]


def nginx_or_skip() -> str:
    """The nginx binary, installed from Debian if missing and we may; else skip the test."""
    try:
        return ensure_nginx()
    except NginxMissing as exc:
        pytest.skip(f"nginx is not installed and cannot be: {exc}")


def files_of(root: Path) -> dict[str, bytes]:
    """Every file under ``root``: its path relative to ``root`` -> its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


class NginxArchive:
    """nginx serving ``directory/store`` as the archive at https://127.0.0.1:PORT."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        nginx_or_skip()
        self.directory = directory
        self.store = directory / "store"
        self.other = directory / "other"
        for folder in (self.store, self.other, directory / "temp"):
            folder.mkdir(parents=True, exist_ok=True)
        self.ca_file = write_tls(directory)
        self.token_file = directory / "token"
        self.token_file.write_text(TOKEN + "\n", encoding="utf-8")
        dav = "dav_methods PUT; create_full_put_path on; dav_access user:rw;"
        self.server = Nginx(
            directory,
            f"""if ($http_authorization != "Bearer {TOKEN}") {{ return 401; }}
        location /records/ {{ root {self.store}; {dav} }}
        location /broken/ {{ return 500; }}
        location /short/ {{
            root {self.store}; {dav}
            if ($request_method != PUT) {{ root {self.other}; }}
        }}""",
            (directory / "server.pem", directory / "server.key"),
            port=port,
            http=f"access_log {directory}/access.log;\n    client_max_body_size 0;",
        )
        self.port = self.server.port

    def url(self, place: str = "records") -> str:
        return f"https://127.0.0.1:{self.port}/{place}"

    def config_table(self, **more: object) -> str:
        """The room's ``[archive]`` table for this archive (retries after 1 to 2 s), ``more`` keys
        added."""
        lines = [
            "[archive]",
            f'url = "{self.url()}"',
            f'token_file = "{self.token_file}"',
            f'ca_file = "{self.ca_file}"',
            "retry_min_seconds = 1",
            "retry_max_seconds = 2",
            *(f"{key} = {json.dumps(value)}" for key, value in more.items()),
        ]
        return "\n".join(lines) + "\n"

    def start(self) -> NginxArchive:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def stored(self, place: str, room_id: str) -> dict[str, bytes]:
        """What the archive holds for ``room_id`` under ``place``: path -> bytes."""
        return files_of(self.store / place / room_id)

    def uploads_in_flight(self) -> list[Path]:
        """Request bodies nginx is receiving now (its temporary files)."""
        body = self.directory / "temp" / "body"
        return [p for p in body.rglob("*") if p.is_file()] if body.is_dir() else []
