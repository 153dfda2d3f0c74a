"""Server configuration from a TOML file; every key, default and unit is in
docs/configuration.md. Unknown keys and wrong types are errors that name the key."""

from __future__ import annotations

import ipaddress
import re
import ssl
import stat
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from room_server.rules.annotations import AnnotationLimits
from room_server.rules.signin import FailureLimits

DEFAULT_CONFIG_PATH = Path("/etc/hemicycle/room-server.toml")
DEFAULT_STATE_DIR = Path("/var/lib/hemicycle")
KIND_PUT = "put"
KIND_S3 = "s3"
KIND_PRESIGN = "presign"
_ROOM_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class ConfigError(ValueError):
    """A configuration file that cannot be used, with the file and key in the message."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    # [room]
    room_id: str = "room"
    room_name: str = "Meeting room"
    # [server]
    host: str = ""  # "" = every address, IPv4 and IPv6
    port: int = 8443
    max_connections: int = 5_000  # 2,000 tablets x 2 connections, and room to reconnect
    max_unenrolled_connections: int = 16  # devices without a certificate: they may only enroll
    max_connections_per_address: int = 8  # a tablet uses 2; a room display or a NAT more
    # [mdns]
    mdns_enabled: bool = True
    mdns_interfaces: tuple[str, ...] = ()  # addresses; empty = every interface
    mdns_hostname: str = ""  # "" = this machine's host name
    # [tls]
    tls_hostnames: tuple[str, ...] = ()  # extra DNS names in the server certificate
    tls_addresses: tuple[str, ...] = ()  # extra IP addresses in the server certificate
    # [session]
    inactivity_lock_seconds: int = 300  # a delegate's tablet locks when unused this long; 0: never
    # [sign_in]: failed PINs and unknown badges (room_server.rules.signin)
    sign_in_member_failures: int = 5  # wrong PINs for one member ...
    sign_in_member_window_seconds: int = 600  # ... within this long ...
    sign_in_member_lockout_seconds: int = 300  # ... lock signing in as that member this long
    sign_in_device_failures: int = 10  # failures from one tablet (any member, any badge)
    sign_in_device_window_seconds: int = 600
    sign_in_device_lockout_seconds: int = 900
    sign_in_room_failures: int = 30  # failures anywhere in the room within the window: an alert
    sign_in_room_window_seconds: int = 600
    # [documents]
    chunk_size: int = 256 * 1024  # bytes per binary frame
    # Documents being written at once. Loopback and LAN sockets take megabytes without
    # blocking, so an unbounded set of transfers starves the event loop (and so control
    # messages): bench/fanout.py and bench/distribution.py, docs/performance.md.
    max_transfers: int = 16
    # [limits]
    requests_per_second: float = 10.0  # a tablet's steady request rate (ballots included)
    request_burst: int = 30  # requests a tablet may send at once above that rate
    flood_close_after: int = 300  # requests refused in a row for the rate; then it is closed
    send_buffer_bytes: int = 4 * 1024 * 1024  # unread bytes queued for one tablet at most
    stall_seconds: float = 30.0  # a connection whose send buffer stays full this long is closed
    # [storage]
    state_dir: Path = DEFAULT_STATE_DIR
    store_poll_seconds: float = 0.5  # how often the server looks for imports by other processes
    max_batch: int = 5_000  # jobs (ballots, page changes, ...) committed together at most
    batch_slice_ms: float = 20.0  # the writer stops taking jobs into a batch after this long
    # [audit]
    sign_every_seconds: float = 60.0  # sign the audit chain's head this often while it grows
    # [annotations]: per member and meeting (room_server.rules.annotations)
    annotations_max_per_member: int = 5_000  # operations kept for one member
    annotations_max_bytes_per_member: int = 4 * 1024 * 1024  # bytes of their patches (JSON)
    annotations_ops_per_second: float = 300.0  # the whole room's, before tablets hear busy
    annotations_ops_burst: int = 600
    annotations_batches_per_second: float = 250.0  # the pace asked of tablets (see rules)
    # [archive]: where sealed records are uploaded (room_server.record.outbox)
    archive_url: str = ""  # "" = no archive: records wait in the outbox, state not-configured
    archive_token_file: str = ""  # a file holding the bearer token ("" = none)
    archive_username: str = ""  # HTTP Basic instead (a Nextcloud user) ...
    archive_password_file: str = ""  # ... and a file (0600) holding its (app) password
    archive_client_certificate: str = ""  # PEM client certificate ("" = none) ...
    archive_client_key: str = ""  # ... and its key ("" = in the certificate file)
    archive_ca_file: str = ""  # PEM CA(s) the archive's certificate must chain to ("" = system)
    archive_read_back: bool = True  # GET every uploaded file back and compare its sha256
    archive_keep_days: int = 0  # days a confirmed record stays in the room; 0 = forever
    archive_timeout_seconds: float = 30.0  # one network operation (connect, send, read) at most
    archive_retry_min_seconds: float = 5.0  # first wait after a failed upload ...
    archive_retry_max_seconds: float = 900.0  # ... doubling up to this
    archive_max_kib_per_second: int = 0  # upload bandwidth cap; 0 = none
    archive_allow_insecure_http: bool = False  # allow http:// (token and record in clear)
    # "server": the server uploads; "separate": `room-server record upload --follow`
    # (hemicycle-uploader.service) does, and the server only seals
    archive_uploader: str = "server"
    archive_kind: str = "put"  # "put": HTTP PUT to url; "s3": an S3-compatible store
    archive_endpoint: str = ""  # kind "s3": the store's base URL, e.g. https://s3.example.org
    archive_bucket: str = ""
    archive_region: str = "us-east-1"
    archive_key_prefix: str | None = None  # None = "<room id>/"
    archive_addressing: str = "path"  # "path" (MinIO, Garage, Ceph) or "virtual-host"
    archive_access_key_id: str = ""
    archive_secret_key_file: str = ""  # a file (0600) holding the secret access key
    archive_presign_url: str = ""  # kind "presign": the service that presigns for the room
    source: Path | None = field(default=None, compare=False)

    @property
    def database_path(self) -> Path:
        return self.state_dir / "room.sqlite3"

    @property
    def documents_dir(self) -> Path:
        return self.state_dir / "documents"

    @property
    def tls_dir(self) -> Path:
        return self.state_dir / "tls"

    @property
    def keys_dir(self) -> Path:
        """The room's signing key (``room-signing.key``, 0600) and its public half."""
        return self.state_dir / "keys"

    @property
    def runtime_file(self) -> Path:
        return self.state_dir / "server.json"

    @property
    def archive(self) -> ArchiveConfig:
        def path(value: str) -> Path | None:
            return Path(value) if value else None

        return ArchiveConfig(
            room_id=self.room_id,
            url=self.archive_url.rstrip("/"),
            token_file=path(self.archive_token_file),
            username=self.archive_username,
            password_file=path(self.archive_password_file),
            client_certificate=path(self.archive_client_certificate),
            client_key=path(self.archive_client_key),
            ca_file=path(self.archive_ca_file),
            read_back=self.archive_read_back,
            keep_days=self.archive_keep_days,
            timeout_seconds=self.archive_timeout_seconds,
            retry_min_seconds=self.archive_retry_min_seconds,
            retry_max_seconds=self.archive_retry_max_seconds,
            max_bytes_per_second=self.archive_max_kib_per_second * 1024,
            kind=self.archive_kind,
            endpoint=self.archive_endpoint.rstrip("/"),
            bucket=self.archive_bucket,
            region=self.archive_region,
            key_prefix=(
                f"{self.room_id}/" if self.archive_key_prefix is None else self.archive_key_prefix
            ),
            path_style=self.archive_addressing == "path",
            access_key_id=self.archive_access_key_id,
            secret_key_file=path(self.archive_secret_key_file),
            presign_url=self.archive_presign_url,
            allow_insecure_http=self.archive_allow_insecure_http,
        )


@dataclass(frozen=True, slots=True)
class ArchiveConfig:
    """The ``[archive]`` table as the outbox uses it (paths already resolved)."""

    room_id: str
    url: str = ""  # no trailing slash; "" = not configured
    token_file: Path | None = None
    username: str = ""  # HTTP Basic with the password in password_file
    password_file: Path | None = None
    client_certificate: Path | None = None
    client_key: Path | None = None
    ca_file: Path | None = None
    read_back: bool = True
    keep_days: int = 0
    timeout_seconds: float = 30.0
    retry_min_seconds: float = 5.0
    retry_max_seconds: float = 900.0
    max_bytes_per_second: int = 0  # 0 = no cap
    kind: str = "put"  # "put" or "s3"
    endpoint: str = ""  # kind "s3": no trailing slash
    bucket: str = ""
    region: str = "us-east-1"
    key_prefix: str = ""  # an object's key is key_prefix + meeting id + "/" + its path
    path_style: bool = True  # False: virtual-host addressing (<bucket>.<endpoint host>)
    access_key_id: str = ""
    secret_key_file: Path | None = None
    presign_url: str = ""  # kind "presign"
    allow_insecure_http: bool = False  # a presign service may answer http:// URLs

    @property
    def configured(self) -> bool:
        if self.kind == KIND_S3:
            return bool(self.endpoint)
        return bool(self.presign_url if self.kind == KIND_PRESIGN else self.url)


# TOML table -> {key in that table: ServerConfig field name}
_LAYOUT: dict[str, dict[str, str]] = {
    "room": {"id": "room_id", "name": "room_name"},
    "server": {
        "host": "host",
        "port": "port",
        "max_connections": "max_connections",
        "max_unenrolled_connections": "max_unenrolled_connections",
        "max_connections_per_address": "max_connections_per_address",
    },
    "mdns": {
        "enabled": "mdns_enabled",
        "interfaces": "mdns_interfaces",
        "hostname": "mdns_hostname",
    },
    "tls": {"hostnames": "tls_hostnames", "addresses": "tls_addresses"},
    "session": {"inactivity_lock_seconds": "inactivity_lock_seconds"},
    "sign_in": {
        "member_failures": "sign_in_member_failures",
        "member_window_seconds": "sign_in_member_window_seconds",
        "member_lockout_seconds": "sign_in_member_lockout_seconds",
        "device_failures": "sign_in_device_failures",
        "device_window_seconds": "sign_in_device_window_seconds",
        "device_lockout_seconds": "sign_in_device_lockout_seconds",
        "room_failures": "sign_in_room_failures",
        "room_window_seconds": "sign_in_room_window_seconds",
    },
    "documents": {"chunk_size": "chunk_size", "max_transfers": "max_transfers"},
    "limits": {
        "requests_per_second": "requests_per_second",
        "request_burst": "request_burst",
        "flood_close_after": "flood_close_after",
        "send_buffer_bytes": "send_buffer_bytes",
        "stall_seconds": "stall_seconds",
    },
    "storage": {
        "state_dir": "state_dir",
        "poll_seconds": "store_poll_seconds",
        "max_batch": "max_batch",
        "batch_slice_ms": "batch_slice_ms",
    },
    "audit": {"sign_every_seconds": "sign_every_seconds"},
    "annotations": {
        "max_per_member": "annotations_max_per_member",
        "max_bytes_per_member": "annotations_max_bytes_per_member",
        "ops_per_second": "annotations_ops_per_second",
        "ops_burst": "annotations_ops_burst",
        "batches_per_second": "annotations_batches_per_second",
    },
    "archive": {
        "url": "archive_url",
        "token_file": "archive_token_file",
        "username": "archive_username",
        "password_file": "archive_password_file",
        "client_certificate": "archive_client_certificate",
        "client_key": "archive_client_key",
        "ca_file": "archive_ca_file",
        "read_back": "archive_read_back",
        "keep_days": "archive_keep_days",
        "timeout_seconds": "archive_timeout_seconds",
        "retry_min_seconds": "archive_retry_min_seconds",
        "retry_max_seconds": "archive_retry_max_seconds",
        "max_kib_per_second": "archive_max_kib_per_second",
        "allow_insecure_http": "archive_allow_insecure_http",
        "uploader": "archive_uploader",
        "kind": "archive_kind",
        "endpoint": "archive_endpoint",
        "bucket": "archive_bucket",
        "region": "archive_region",
        "key_prefix": "archive_key_prefix",
        "addressing": "archive_addressing",
        "access_key_id": "archive_access_key_id",
        "secret_key_file": "archive_secret_key_file",
        "presign_url": "archive_presign_url",
    },
}
# [archive] keys naming files: relative to the configuration file's directory
_ARCHIVE_FILES = (
    "token_file",
    "password_file",
    "client_certificate",
    "client_key",
    "ca_file",
    "secret_key_file",
)
_S3_ONLY = ("endpoint", "bucket", "access_key_id", "secret_key_file")
_ADDRESSING = ("path", "virtual-host")
_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")  # S3's bucket naming rules
_REGION_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_ACCESS_KEY_RE = re.compile(r"[A-Za-z0-9+=,.@_-]{3,128}")  # no "/": it separates the scope


def load_config(path: Path | None, *, state_dir: Path | None = None) -> ServerConfig:
    """Read ``path`` (None: built-in defaults); ``state_dir`` overrides the file's."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        values = _flatten(raw, path)
        if "state_dir" in values:
            state = Path(values["state_dir"])
            values["state_dir"] = state if state.is_absolute() else path.parent / state
        for key in _ARCHIVE_FILES:
            name = _LAYOUT["archive"][key]
            if values.get(name):
                file = Path(values[name])
                values[name] = str(file if file.is_absolute() else path.parent / file)
        values["source"] = path
    if state_dir is not None:
        values["state_dir"] = state_dir
    if "state_dir" in values:
        values["state_dir"] = Path(values["state_dir"]).absolute()
    config = ServerConfig(**values)
    _check(config, path)
    return config


def _flatten(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    types = {f.name: f.type for f in fields(ServerConfig)}
    out: dict[str, Any] = {}
    for table, entries in raw.items():
        if not isinstance(entries, dict):
            owner = next((t for t, keys in _LAYOUT.items() if table in keys), None)
            if owner:
                raise ConfigError(f"{path}: {table} is outside any table; put it under [{owner}]")
            raise ConfigError(f"{path}: {table} must be a table ([{table}])")
        if table not in _LAYOUT:
            raise ConfigError(f"{path}: unknown table [{table}]; known: {', '.join(_LAYOUT)}")
        for key, value in entries.items():
            name = _LAYOUT[table].get(key)
            if name is None and table == "archive" and "secret" in key.lower():
                raise ConfigError(
                    f"{path}: archive.{key}: a secret is never written in the configuration;"
                    " put it in a file only the server can read (chmod 600) and name that"
                    " file with archive.secret_key_file"
                )
            if name is None:
                known = ", ".join(_LAYOUT[table])
                raise ConfigError(f"{path}: unknown key {table}.{key}; known: {known}")
            out[name] = _coerce(value, str(types[name]), f"{path}: {table}.{key}")
    return out


def _coerce(value: Any, type_name: str, where: str) -> Any:
    if type_name == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false")
        return value
    if type_name == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number")
        return value
    if type_name == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number")
        return float(value)
    if type_name.startswith("tuple"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings")
        return tuple(value)
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string")
    return value


def _check(config: ServerConfig, path: Path | None) -> None:
    where = f"{path}: " if path else ""
    if not _ROOM_ID_RE.fullmatch(config.room_id):
        raise ConfigError(
            f"{where}room.id {config.room_id!r} must be 1-63 lower-case letters, digits or '-'"
        )
    if not config.room_name.strip() or len(config.room_name) > 200:
        raise ConfigError(f"{where}room.name must be 1-200 characters")
    if not 0 <= config.port <= 65535:
        raise ConfigError(f"{where}server.port must be 0-65535 (0 picks a free port)")
    if config.max_connections < 1:
        raise ConfigError(f"{where}server.max_connections must be at least 1")
    if not 1 <= config.max_unenrolled_connections <= 10_000:
        raise ConfigError(f"{where}server.max_unenrolled_connections must be 1-10000")
    if not 1 <= config.max_connections_per_address <= config.max_connections:
        raise ConfigError(
            f"{where}server.max_connections_per_address must be 1 to server.max_connections"
            f" ({config.max_connections})"
        )
    if not 0.1 <= config.requests_per_second <= 100_000:
        raise ConfigError(f"{where}limits.requests_per_second must be 0.1-100000")
    if not 1 <= config.request_burst <= 100_000:
        raise ConfigError(f"{where}limits.request_burst must be 1-100000")
    if not 1 <= config.flood_close_after <= 1_000_000:
        raise ConfigError(f"{where}limits.flood_close_after must be 1-1000000")
    if not 64 * 1024 <= config.send_buffer_bytes <= 1024 * 1024 * 1024:
        raise ConfigError(f"{where}limits.send_buffer_bytes must be 64 KiB to 1 GiB (in bytes)")
    if not 1 <= config.stall_seconds <= 3_600:
        raise ConfigError(f"{where}limits.stall_seconds must be 1-3600")
    if not 0 <= config.inactivity_lock_seconds <= 24 * 3600:
        raise ConfigError(f"{where}session.inactivity_lock_seconds must be 0-86400")
    for key in _LAYOUT["sign_in"]:
        value = getattr(config, _LAYOUT["sign_in"][key])
        if key.endswith("_failures") and not 1 <= value <= 10_000:
            raise ConfigError(f"{where}sign_in.{key} must be 1-10000")
        if key.endswith("_seconds") and not 1 <= value <= 7 * 24 * 3600:
            raise ConfigError(f"{where}sign_in.{key} must be 1-604800 (seconds)")
    if not 16 * 1024 <= config.chunk_size <= 4 * 1024 * 1024:
        raise ConfigError(f"{where}documents.chunk_size must be 16 KiB to 4 MiB (in bytes)")
    if not 1 <= config.max_transfers <= 1_000:
        raise ConfigError(f"{where}documents.max_transfers must be 1-1000")
    if not 0.05 <= config.store_poll_seconds <= 60:
        raise ConfigError(f"{where}storage.poll_seconds must be 0.05-60")
    if not 1 <= config.max_batch <= 100_000:
        raise ConfigError(f"{where}storage.max_batch must be 1-100000")
    if not 1 <= config.batch_slice_ms <= 1_000:
        raise ConfigError(f"{where}storage.batch_slice_ms must be 1-1000 (milliseconds)")
    if not 1 <= config.sign_every_seconds <= 86_400:
        raise ConfigError(f"{where}audit.sign_every_seconds must be 1-86400 (seconds)")
    if not 1 <= config.annotations_max_per_member <= 10_000_000:
        raise ConfigError(f"{where}annotations.max_per_member must be 1-10000000")
    if not 1024 <= config.annotations_max_bytes_per_member <= 1024 * 1024 * 1024:
        raise ConfigError(
            f"{where}annotations.max_bytes_per_member must be 1 KiB to 1 GiB (in bytes)"
        )
    if not 0.1 <= config.annotations_ops_per_second <= 1_000_000:
        raise ConfigError(f"{where}annotations.ops_per_second must be 0.1-1000000")
    if not 1 <= config.annotations_ops_burst <= 10_000_000:
        raise ConfigError(f"{where}annotations.ops_burst must be 1-10000000")
    if not 1 <= config.annotations_batches_per_second <= 1_000_000:
        raise ConfigError(f"{where}annotations.batches_per_second must be 1-1000000")
    _check_archive(config, where)
    for key, addresses in (
        ("mdns.interfaces", config.mdns_interfaces),
        ("tls.addresses", config.tls_addresses),
    ):
        for address in addresses:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ConfigError(f"{where}{key}: {address!r} is not an IP address") from None
    if config.host:
        try:
            ipaddress.ip_address(config.host)
        except ValueError:
            raise ConfigError(
                f'{where}server.host {config.host!r} must be an IP address, or "" for all'
            ) from None


UPLOADERS = ("server", "separate")


def _check_archive_pem(config: ServerConfig, where: str) -> None:
    """The archive's CA and the room's client certificate are what they say: a wrong file
    is named now, not found at the first upload."""
    if config.archive_ca_file:
        try:
            ssl.create_default_context(cafile=config.archive_ca_file)
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"{where}archive.ca_file: {config.archive_ca_file} holds no CA certificate "
                f"(PEM): {getattr(exc, 'reason', None) or exc}"
            ) from None
    if config.archive_client_certificate:
        try:
            ssl.create_default_context().load_cert_chain(
                config.archive_client_certificate, config.archive_client_key or None
            )
        except (ssl.SSLError, OSError) as exc:
            raise ConfigError(
                f"{where}archive.client_certificate: {config.archive_client_certificate} "
                "(with archive.client_key) is not a certificate and its private key (PEM): "
                f"{getattr(exc, 'reason', None) or exc}"
            ) from None


def _check_archive(config: ServerConfig, where: str) -> None:
    if config.archive_uploader not in UPLOADERS:
        raise ConfigError(
            f'{where}archive.uploader must be "server" or "separate", '
            f"not {config.archive_uploader!r}"
        )
    if not 1 <= config.archive_timeout_seconds <= 600:
        raise ConfigError(f"{where}archive.timeout_seconds must be 1-600 (seconds)")
    if not 0 <= config.archive_keep_days <= 36_500:
        raise ConfigError(f"{where}archive.keep_days must be 0-36500 (days; 0 keeps forever)")
    if not 1 <= config.archive_retry_min_seconds <= 3_600:
        raise ConfigError(f"{where}archive.retry_min_seconds must be 1-3600 (seconds)")
    if not config.archive_retry_min_seconds <= config.archive_retry_max_seconds <= 86_400:
        raise ConfigError(
            f"{where}archive.retry_max_seconds must be archive.retry_min_seconds"
            f" ({config.archive_retry_min_seconds:g}) to 86400 (seconds)"
        )
    if not 0 <= config.archive_max_kib_per_second <= 10_000_000:
        raise ConfigError(f"{where}archive.max_kib_per_second must be 0-10000000 (0: no cap)")
    if config.archive_client_key and not config.archive_client_certificate:
        raise ConfigError(f"{where}archive.client_key needs archive.client_certificate")
    for key in _ARCHIVE_FILES:
        value = getattr(config, _LAYOUT["archive"][key])
        if value and not Path(value).is_file():
            raise ConfigError(f"{where}archive.{key}: no file at {value}")
    _check_archive_pem(config, where)
    if config.archive_kind == KIND_S3:
        if config.archive_presign_url:
            raise ConfigError(f'{where}archive.presign_url is for kind = "presign"; kind is "s3"')
        _check_s3(config, where)
        return
    if config.archive_kind not in (KIND_PUT, KIND_PRESIGN):
        raise ConfigError(
            f'{where}archive.kind {config.archive_kind!r} must be "put" (HTTP PUT to'
            ' archive.url), "s3" (an S3-compatible store at archive.endpoint) or "presign"'
            " (an S3-compatible store by URLs from the service at archive.presign_url)"
        )
    kind = config.archive_kind
    for key in _S3_ONLY:
        if getattr(config, _LAYOUT["archive"][key]):
            raise ConfigError(f'{where}archive.{key} is for kind = "s3"; kind is "{kind}"')
    if kind == KIND_PRESIGN:
        if config.archive_url:
            raise ConfigError(
                f'{where}archive.url is for kind = "put"; with kind = "presign" the service'
                " is archive.presign_url"
            )
        if not config.archive_presign_url:
            raise ConfigError(f'{where}archive.presign_url is needed with kind = "presign"')
    elif config.archive_presign_url:
        raise ConfigError(f'{where}archive.presign_url is for kind = "presign"; kind is "put"')
    if kind == KIND_PRESIGN:
        _check_key_prefix(config, where)
    key = "presign_url" if kind == KIND_PRESIGN else "url"
    url = config.archive_presign_url if kind == KIND_PRESIGN else config.archive_url
    if not url:
        return
    parsed = urlsplit(url)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise ConfigError(
            f"{where}archive.{key} {url!r} must be an https:// URL with a host,"
            " e.g. https://archive.example.org/records"
        )
    if parsed.scheme == "http" and not config.archive_allow_insecure_http:
        raise ConfigError(
            f"{where}archive.{key} {url!r} is plain http://: the token and the record would"
            " cross the network readable and changeable; use https://, or set"
            " archive.allow_insecure_http = true for an archive on this machine or a"
            " network you trust"
        )
    if parsed.username is not None or parsed.password is not None:
        raise ConfigError(
            f"{where}archive.{key} must not carry a user or password: use archive.username"
            " and archive.password_file, archive.token_file or archive.client_certificate"
        )
    if parsed.query or parsed.fragment:
        raise ConfigError(f"{where}archive.{key} must not have a ?query or #fragment")
    try:
        parsed.port  # noqa: B018  # raises for a port out of range
    except ValueError:
        raise ConfigError(f"{where}archive.{key} {url!r} has a bad port") from None
    _check_basic(config, where)
    if not (
        config.archive_token_file or config.archive_client_certificate or config.archive_username
    ):
        raise ConfigError(
            f"{where}archive.{key} needs archive.token_file or archive.client_certificate, or"
            " archive.username with archive.password_file: the archive must know the records"
            " come from this room"
        )


def _check_basic(config: ServerConfig, where: str) -> None:
    """HTTP Basic (a WebDAV folder such as Nextcloud's, with an app password): a user and a
    private password file, together, and not beside a bearer token."""
    if bool(config.archive_username) != bool(config.archive_password_file):
        raise ConfigError(f"{where}archive.username and archive.password_file go together")
    if not config.archive_username:
        return
    if config.archive_token_file:
        raise ConfigError(
            f"{where}archive.token_file and archive.username exclude each other: one way to"
            " sign in to the archive"
        )
    if ":" in config.archive_username or not config.archive_username.isprintable():
        raise ConfigError(f"{where}archive.username must not hold ':' or control characters")
    _check_private(Path(config.archive_password_file), "password_file", where)


def _check_s3(config: ServerConfig, where: str) -> None:
    if config.archive_url:
        raise ConfigError(
            f'{where}archive.url is for kind = "put"; an S3 store is named by archive.endpoint'
            " and archive.bucket"
        )
    for unused in ("token_file", "username", "password_file"):
        if getattr(config, _LAYOUT["archive"][unused]):
            raise ConfigError(
                f'{where}archive.{unused} is not used with kind = "s3": every request is'
                " signed with archive.access_key_id and the secret in archive.secret_key_file"
            )
    for key in ("endpoint", "bucket", "access_key_id", "secret_key_file"):
        if not getattr(config, _LAYOUT["archive"][key]):
            raise ConfigError(f'{where}archive.{key} is needed with kind = "s3"')
    endpoint = config.archive_endpoint
    parsed = urlsplit(endpoint)
    if parsed.scheme not in ("https", "http") or not parsed.hostname:
        raise ConfigError(
            f"{where}archive.endpoint {endpoint!r} must be an https:// URL with a host,"
            " e.g. https://s3.example.org or https://minio.example.org:9000"
        )
    if parsed.scheme == "http" and not config.archive_allow_insecure_http:
        raise ConfigError(
            f"{where}archive.endpoint {endpoint!r} is plain http://: the record would cross"
            " the network readable, and a presigned URL seen on the way can be used again"
            " until it expires; use https://, or set archive.allow_insecure_http = true for"
            " a store on this machine or a network you trust"
        )
    if parsed.username is not None or parsed.password is not None:
        raise ConfigError(f"{where}archive.endpoint must not carry a user or password")
    if parsed.path.strip("/") or parsed.query or parsed.fragment:
        raise ConfigError(
            f"{where}archive.endpoint {endpoint!r} must be the store's address alone (no"
            " path, ?query or #fragment): the bucket is archive.bucket, the folder"
            " archive.key_prefix"
        )
    try:
        parsed.port  # noqa: B018  # raises for a port out of range
    except ValueError:
        raise ConfigError(f"{where}archive.endpoint {endpoint!r} has a bad port") from None
    bucket = config.archive_bucket
    if not _BUCKET_RE.fullmatch(bucket) or ".." in bucket:
        raise ConfigError(
            f"{where}archive.bucket {bucket!r} must be 3-63 lower-case letters, digits, '.'"
            " or '-', starting and ending with a letter or digit"
        )
    if not _REGION_RE.fullmatch(config.archive_region):
        raise ConfigError(
            f"{where}archive.region {config.archive_region!r} must be a region name such as"
            ' "us-east-1" (MinIO and Garage use what they were set up with; often "us-east-1"'
            ' or "garage")'
        )
    if config.archive_addressing not in _ADDRESSING:
        raise ConfigError(
            f'{where}archive.addressing must be "path" (https://endpoint/bucket/key; MinIO,'
            ' Garage, Ceph) or "virtual-host" (https://bucket.endpoint/key)'
        )
    if config.archive_addressing != "path" and _is_address(parsed.hostname or ""):
        raise ConfigError(
            f'{where}archive.addressing = "virtual-host" needs a DNS name in'
            f' archive.endpoint ({parsed.hostname} is an IP address): use "path"'
        )
    if not _ACCESS_KEY_RE.fullmatch(config.archive_access_key_id):
        raise ConfigError(
            f"{where}archive.access_key_id must be 3-128 letters, digits or +=,.@_- (the key"
            " id, not the secret)"
        )
    _check_key_prefix(config, where)
    _check_private(Path(config.archive_secret_key_file), "secret_key_file", where)


def _check_private(secret: Path, key: str, where: str) -> None:
    """A file holding a secret is refused when others may read it."""
    mode = stat.S_IMODE(secret.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"{where}archive.{key} {secret} can be read by others (mode"
            f" {mode:04o}): chmod 600 {secret}"
        )


def _check_key_prefix(config: ServerConfig, where: str) -> None:
    prefix = config.archive_key_prefix
    if prefix is not None:
        segments = prefix.split("/")
        if prefix and (
            not prefix.endswith("/")
            or len(prefix) > 512
            or any(s in ("", ".", "..") for s in segments[:-1])
            or not all(c.isprintable() for c in prefix)
        ):
            raise ConfigError(
                f"{where}archive.key_prefix {prefix!r} must be folder names each followed"
                ' by "/" (e.g. "rooms/council-1/"), or "" for the bucket\'s top; no "."'
                ' or ".." folders, 512 characters at most'
            )


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def failure_limits(config: ServerConfig) -> FailureLimits:
    """The ``[sign_in]`` table as the sign-in word counts with it."""
    return FailureLimits(
        member_failures=config.sign_in_member_failures,
        member_window_s=float(config.sign_in_member_window_seconds),
        member_lockout_s=float(config.sign_in_member_lockout_seconds),
        device_failures=config.sign_in_device_failures,
        device_window_s=float(config.sign_in_device_window_seconds),
        device_lockout_s=float(config.sign_in_device_lockout_seconds),
        room_failures=config.sign_in_room_failures,
        room_window_s=float(config.sign_in_room_window_seconds),
    )


def annotation_limits(config: ServerConfig) -> AnnotationLimits:
    """The ``[annotations]`` table as the annotations word checks with it."""
    return AnnotationLimits(
        max_per_member=config.annotations_max_per_member,
        max_bytes_per_member=config.annotations_max_bytes_per_member,
        ops_per_second=config.annotations_ops_per_second,
        ops_burst=config.annotations_ops_burst,
        batches_per_second=config.annotations_batches_per_second,
    )
