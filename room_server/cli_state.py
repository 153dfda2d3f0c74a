"""``room-server init``, ``backup`` and ``inspect``: the state directory for IT staff.

``init`` makes what a room needs (database, room CA and server certificate, signing key,
PIN secret) and keeps what exists; ``rotate`` replaces the server certificate, or the room
CA with it (revoking every device the old CA enrolled); ``backup`` copies the state
directory consistently while the server runs; ``inspect`` reports the facts
``room-provision doctor`` judges.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from room_protocol.private_files import make_private
from room_protocol.voting import fingerprint
from room_server.config import ServerConfig
from room_server.i18n import tr

if TYPE_CHECKING:
    from room_server.tls import RoomCertificates

EXIT_BAD_INPUT = 2
EXIT_RUNNING = 4
ROTATE_CHOICES = ("server-certificate", "ca")
SECRET_FILE = "room-secret.key"  # noqa: S105  # a file name, not a secret
BACKUP_MANIFEST = "backup.json"
BACKUP_FORMAT = 1
# Never part of a backup: the live database files (copied with SQLite's backup API
# instead), the running server's address, and temporary files.
_NOT_COPIED = frozenset({"room.sqlite3", "room.sqlite3-wal", "room.sqlite3-shm", "server.json"})
# Copied before the database: a head in audit-heads.log must be in the database copy
# (the database may hold a head the log does not: that is allowed, docs/configuration.md).
_BEFORE_DATABASE = ("tls", "keys", SECRET_FILE)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = sub.add_parser(
        "init",
        help="create the database, room CA, server certificate, signing key and PIN secret "
        "(keeps what exists)",
    )
    init.add_argument(
        "--force",
        action="store_true",
        help="replace the keys and certificates (every tablet must enroll again)",
    )
    rotate = sub.add_parser(
        "rotate",
        help="replace the server certificate (tablets keep trusting the room), or the room "
        "CA (every tablet and room display enrolls again); the server must be stopped",
    )
    rotate.add_argument(
        "what",
        choices=ROTATE_CHOICES,
        help="server-certificate: a new one from the same room CA; ca: a new room CA and "
        "server certificate, every enrolled device revoked and every open pairing code voided",
    )
    backup = sub.add_parser(
        "backup",
        help="copy the state directory, keys included, consistently while the server runs",
    )
    backup.add_argument(
        "dest", type=Path, help="a new folder, or a file ending in .tar (must not exist)"
    )
    sub.add_parser("inspect", help="the room's state as JSON (for room-provision doctor)")


def run(config: ServerConfig, args: argparse.Namespace, running: dict[str, Any] | None) -> int:
    if args.command == "init":
        return _init(config, force=args.force, running=running)
    if args.command == "rotate":
        return _rotate(config, new_ca=args.what == "ca", running=running)
    if args.command == "backup":
        return _backup(config, args.dest)
    print(json.dumps(inspect(config, running), indent=2, ensure_ascii=False))
    return 0


# --- init ----------------------------------------------------------------------------


def _sha256_of(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


def _cert_sha256(path: Path) -> str | None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    if not path.exists():
        return None
    return x509.load_pem_x509_certificate(path.read_bytes()).fingerprint(hashes.SHA256()).hex()


def _public_key_sha256(path: Path) -> str | None:
    """sha256 of the raw Ed25519 public key, from the private key file."""
    from cryptography.hazmat.primitives import serialization

    from room_server.signing import SigningKeyError, ensure_signing_key

    if not path.exists():
        return None
    try:
        key = ensure_signing_key(path.parent)
    except SigningKeyError:
        return None
    raw = key.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def _say_certificates(
    certs: RoomCertificates, ca_before: str | None, server_before: str | None
) -> str | None:
    """Print what became of the room CA and the server certificate (made, kept, replaced);
    returns the CA's SHA-256 now."""
    ca_after, server_after = _cert_sha256(certs.ca_cert), _cert_sha256(certs.server_cert)
    print(
        tr(
            "init.ca",
            state=_state_word(ca_before, ca_after),
            path=certs.ca_cert,
            sha256=ca_after,
            until=_not_after(certs.ca_cert),
        )
    )
    print(
        tr(
            "init.server_cert",
            state=_state_word(server_before, server_after),
            path=certs.server_cert,
            fingerprint=fingerprint(server_after or ""),
            until=_not_after(certs.server_cert),
        )
    )
    return ca_after


def _state_word(before: str | None, after: str | None) -> str:
    if before is None:
        return tr("init.made")
    return tr("init.kept") if before == after else tr("init.replaced")


def _init(config: ServerConfig, *, force: bool, running: dict[str, Any] | None) -> int:
    from room_server import devices
    from room_server.credentials import load_or_create_secret
    from room_server.signing import KEY_FILE, PUBLIC_FILE, SigningKeyError, ensure_signing_key
    from room_server.store import Store, StoreError
    from room_server.tls import RoomCertificates, ensure_certificates

    if force and running:
        print(tr("init.running", pid=running["pid"]), file=sys.stderr)
        return EXIT_RUNNING
    make_private(config.state_dir)
    print(tr("init.room", room=config.room_id, name=config.room_name, state_dir=config.state_dir))
    try:
        before = _schema_version(config.database_path)
        with Store(config.database_path, config.documents_dir) as store:
            version = store.schema_version()
    except StoreError as exc:
        print(f"room-server: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    word = (
        tr("init.made")
        if before is None
        else tr("init.kept")
        if before == version
        else tr("init.upgraded")
    )
    print(tr("init.database", state=word, path=config.database_path, version=version))

    certs = RoomCertificates.in_dir(config.tls_dir)
    ca_before, server_before = _cert_sha256(certs.ca_cert), _cert_sha256(certs.server_cert)
    if force:
        for path in (certs.ca_cert, certs.ca_key, certs.server_cert, certs.server_key):
            path.unlink(missing_ok=True)
    hostnames, addresses = _certificate_names(config)
    ensure_certificates(
        config.tls_dir,
        room_id=config.room_id,
        room_name=config.room_name,
        hostnames=hostnames,
        addresses=addresses,
    )
    ca_after = _say_certificates(certs, ca_before, server_before)
    if force and ca_before is not None and ca_before != ca_after:
        # The devices of the old CA go with it: their seats are free for them to enroll again.
        with Store(config.database_path, config.documents_dir) as store, store.transaction():
            revoked, voided = devices.ca_replaced(store, ca_before, ca_after or "")
        _say_revoked(revoked, voided)

    key_file = config.keys_dir / KEY_FILE
    key_before = _public_key_sha256(key_file)
    if force and key_before is not None:
        # Heads signed before stay verifiable with the old public key, kept beside the new.
        old_public = config.keys_dir / f"room-signing-{key_before[:16]}.pub"
        shutil.copy2(config.keys_dir / PUBLIC_FILE, old_public)
        key_file.unlink()
        print(tr("init.old_public_key", path=old_public))
    try:
        ensure_signing_key(config.keys_dir)
    except SigningKeyError as exc:
        print(f"room-server: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    key_after = _public_key_sha256(key_file)
    print(
        tr(
            "init.signing_key",
            state=_state_word(key_before, key_after),
            path=key_file,
            fingerprint=fingerprint(key_after or ""),
        )
    )

    secret = config.state_dir / SECRET_FILE
    secret_before = _sha256_of(secret)
    if force and secret_before is not None:
        secret.unlink()
    load_or_create_secret(secret)
    print(tr("init.secret", state=_state_word(secret_before, _sha256_of(secret)), path=secret))
    if force and secret_before is not None:
        print(tr("init.reimport"))
    return 0


def _certificate_names(config: ServerConfig) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The host names and addresses the server certificate names."""
    from room_server.mdns import host_addresses
    from room_server.tls import room_hostname

    hostnames = (room_hostname(config.mdns_hostname), *config.tls_hostnames)
    return hostnames, (*(config.mdns_interfaces or host_addresses()), *config.tls_addresses)


def _say_revoked(revoked: list[str], voided: int) -> None:
    print(tr("rotate.revoked", count=len(revoked), ids=", ".join(revoked) or "-"))
    print(tr("rotate.voided", count=voided))
    print(tr("init.reenroll"))


# --- rotate --------------------------------------------------------------------------


def _rotate(config: ServerConfig, *, new_ca: bool, running: dict[str, Any] | None) -> int:
    """A running server keeps the certificates it loaded: it is stopped first. A new CA's
    devices are revoked before its files are put in place (their seats free for them to
    enroll again); interrupted, running this again finishes it."""
    from room_server import devices
    from room_server.store import Store, StoreError
    from room_server.tls import RoomCertificates, put_in_place, replacement_certificates

    if running:
        print(tr("rotate.running", pid=running["pid"]), file=sys.stderr)
        return EXIT_RUNNING
    certs = RoomCertificates.in_dir(config.tls_dir)
    if not (certs.exist() and config.database_path.is_file()):
        print(tr("rotate.no_room", state_dir=config.state_dir), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(tr("init.room", room=config.room_id, name=config.room_name, state_dir=config.state_dir))
    ca_before, server_before = _cert_sha256(certs.ca_cert), _cert_sha256(certs.server_cert)
    hostnames, addresses = _certificate_names(config)
    revoked: list[str] = []
    voided = 0
    try:
        with (
            Store(config.database_path, config.documents_dir) as store,
            replacement_certificates(
                config.tls_dir,
                new_ca=new_ca,
                room_id=config.room_id,
                room_name=config.room_name,
                hostnames=hostnames,
                addresses=addresses,
            ) as made,
        ):
            if new_ca:
                with store.transaction():
                    new_sha256 = _cert_sha256(made.ca_cert) or ""
                    revoked, voided = devices.ca_replaced(store, ca_before, new_sha256)
            put_in_place(made, config.tls_dir)
    except (StoreError, OSError) as exc:
        print(f"room-server: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    _say_certificates(certs, ca_before, server_before)
    if new_ca:
        _say_revoked(revoked, voided)
    print(tr("rotate.ca_done" if new_ca else "rotate.server_done"))
    return 0


def _schema_version(database: Path) -> int | None:
    """The schema version of an existing database (None: there is none; the Store says
    what is wrong with one that cannot be read)."""
    if not database.exists():
        return None
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError:
        return -1
    finally:
        conn.close()


def _not_after(path: Path) -> str:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.not_valid_after_utc.date().isoformat()


# --- backup --------------------------------------------------------------------------


class BackupError(RuntimeError):
    """A backup that could not be made; nothing was left at the destination."""


def _backup(config: ServerConfig, dest: Path) -> int:
    try:
        manifest = backup_state(config, dest)
    except BackupError as exc:
        print(tr("backup.failed", error=exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    print(
        tr(
            "backup.done",
            dest=dest,
            room=manifest["room_id"],
            files=len(manifest["files"]),
            version=manifest["schema_version"],
        )
    )
    return 0


def backup_state(config: ServerConfig, dest: Path) -> dict[str, Any]:
    """Copy the state directory into ``dest`` (a new folder, or a ``.tar`` file) with a
    ``backup.json`` listing every file's sha256; the database through SQLite's backup API,
    so a running server's database is copied as of one commit."""
    state = config.state_dir
    dest = dest.absolute()
    if not config.database_path.exists():
        raise BackupError(f"no room database at {config.database_path}")
    if dest.exists():
        raise BackupError(f"{dest} exists: name a new folder or .tar file")
    if dest == state or state in dest.parents:
        raise BackupError(f"{dest} is inside the state directory {state}")
    if not dest.parent.is_dir():
        raise BackupError(f"no folder {dest.parent}")
    stage = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        for name in _BEFORE_DATABASE:
            _copy(state, stage, name)
        version = _copy_database(config.database_path, stage / config.database_path.name)
        for entry in sorted(state.iterdir()):
            if entry.name not in (*_BEFORE_DATABASE, *_NOT_COPIED):
                _copy(state, stage, entry.name)
        files = {
            path.relative_to(stage).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(stage.rglob("*"))
            if path.is_file()
        }
        manifest = {
            "format": BACKUP_FORMAT,
            "room_id": config.room_id,
            "room_name": config.room_name,
            "made_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "ca_sha256": _cert_sha256(config.tls_dir / "ca.pem"),
            "schema_version": version,
            "files": files,
        }
        (stage / BACKUP_MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8"
        )
        if dest.suffix == ".tar":
            partial = dest.with_name(f".{dest.name}.partial")
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w") as tar:
                for path in sorted(stage.rglob("*")):
                    tar.add(path, arcname=path.relative_to(stage).as_posix(), recursive=False)
                raw.flush()
                os.fsync(raw.fileno())
            partial.replace(dest)
        else:
            stage.replace(dest)
    except OSError as exc:
        raise BackupError(f"{exc.filename or dest}: {exc.strerror}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return manifest


def _copy(state: Path, stage: Path, name: str) -> None:
    source = state / name
    if source.is_dir():
        shutil.copytree(
            source,
            stage / name,
            symlinks=True,
            ignore=shutil.ignore_patterns("*.tmp", "*.partial"),
        )
    elif source.is_file() and not name.endswith((".tmp", ".partial")):
        shutil.copy2(source, stage / name)


def _copy_database(source: Path, target: Path) -> int:
    """One consistent copy (a read transaction over the whole copy), checked; its schema
    version."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")  # one file; the server makes it WAL again
        problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise BackupError(f"{source}: integrity check failed: {'; '.join(problems[:5])}")
        return int(dst.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source}: cannot copy the database: {exc}") from None
    finally:
        dst.close()
        src.close()


# --- inspect -------------------------------------------------------------------------


def inspect(config: ServerConfig, running: dict[str, Any] | None) -> dict[str, Any]:
    """What ``room-provision doctor`` checks, as plain values: the configuration the room
    runs with, its files, its certificates' dates, and what the database says."""
    from room_server.mdns import host_addresses
    from room_server.signing import KEY_FILE, PUBLIC_FILE
    from room_server.tls import RoomCertificates

    certs = RoomCertificates.in_dir(config.tls_dir)
    return {
        "room_id": config.room_id,
        "room_name": config.room_name,
        "config": str(config.source) if config.source else None,
        "state_dir": str(config.state_dir),
        "host": config.host,
        "port": config.port,
        "mdns_enabled": config.mdns_enabled,
        "mdns_interfaces": list(config.mdns_interfaces),
        "addresses": host_addresses(),
        "running": running,
        "certificates": {
            "ca": _certificate_facts(certs.ca_cert),
            "server": _certificate_facts(certs.server_cert),
        },
        "keys": {
            "ca_key": str(certs.ca_key),
            "server_key": str(certs.server_key),
            "signing_key": str(config.keys_dir / KEY_FILE),
            "signing_public": str(config.keys_dir / PUBLIC_FILE),
            "room_secret": str(config.state_dir / SECRET_FILE),
        },
        "private_dirs": [str(config.state_dir), str(config.tls_dir), str(config.keys_dir)],
        "database": _database_facts(config.database_path),
    }


def _certificate_facts(path: Path) -> dict[str, Any]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    facts: dict[str, Any] = {"path": str(path), "exists": path.exists()}
    if not path.exists():
        return facts
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except ValueError as exc:
        facts["error"] = f"not a PEM certificate: {exc}"
        return facts
    facts["sha256"] = cert.fingerprint(hashes.SHA256()).hex()
    facts["not_before"] = cert.not_valid_before_utc.isoformat()
    facts["not_after"] = cert.not_valid_after_utc.isoformat()
    return facts


def _database_facts(path: Path) -> dict[str, Any]:
    facts: dict[str, Any] = {"path": str(path), "exists": path.exists()}
    if not path.exists():
        return facts
    # Read-only: looking must not change (or "repair") what is looked at.
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        facts["schema_version"] = int(conn.execute("PRAGMA user_version").fetchone()[0])
        facts["integrity"] = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")][:20]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        newest = [
            conn.execute(f"SELECT max(at) FROM {table}").fetchone()[0]  # noqa: S608  # fixed names
            for table in ("audit_log", "audit_heads")
            if table in tables
        ]
        facts["newest_entry_at"] = max((n for n in newest if n), default=None)
        if "devices" in tables:
            enrolled, revoked = conn.execute(
                "SELECT count(*), count(revoked_at) FROM devices"
            ).fetchone()
            facts["devices"] = {"enrolled": enrolled - revoked, "revoked": revoked}
    except sqlite3.DatabaseError as exc:
        facts["integrity"] = [f"cannot read the database: {exc}"]
    finally:
        conn.close()
    return facts
