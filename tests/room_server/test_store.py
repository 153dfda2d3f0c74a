from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from room_server.store import MIGRATIONS, Store, StoreError, connect


def test_every_connection_is_durable(tmp_path: Path) -> None:
    conn = connect(tmp_path / "room.sqlite3")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    conn.close()


def test_migrations_run_once_and_record_the_version(tmp_path: Path) -> None:
    with Store(tmp_path / "room.sqlite3", tmp_path / "docs") as store:
        assert store.schema_version() == len(MIGRATIONS)
        assert store.snapshot() is None
        assert store.revision() == 0
    with Store(tmp_path / "room.sqlite3", tmp_path / "docs") as store:  # reopening is a no-op
        assert store.schema_version() == len(MIGRATIONS)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "room.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this room server understands"):
        Store(path, tmp_path / "docs")


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "room.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot"):
        Store(path, tmp_path / "docs")


def test_failed_transaction_leaves_nothing(tmp_path: Path) -> None:
    with Store(tmp_path / "room.sqlite3", tmp_path / "docs") as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.set_meta("active_meeting", "x")
            store.bump_revision()
            raise RuntimeError("power cut")
        assert store.active_meeting_id() is None
        assert store.revision() == 0
