from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from room_server.importer import import_package
from room_server.store import MIGRATIONS, Store, StoreError, connect
from tests.rooms import sha256_file, write_package


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


def test_the_servers_read_only_store_serves_what_the_active_meeting_lists_now(
    tmp_path: Path,
) -> None:
    """The server's read-only connection keeps its answers about servable documents until
    another connection commits: a document the amended meeting no longer lists, or one of
    a meeting no longer active, is refused at the next fetch; a new one is served."""
    state = tmp_path / "state"
    with Store(state / "room.sqlite3", state / "documents") as writer:
        first = write_package(tmp_path / "v1", big_document_bytes=1000)
        import_package(writer, first)
        server = Store(state / "room.sqlite3", state / "documents")
        server.read_only()
        budget = sha256_file(first / "docs" / "budget.pdf")
        for _ in range(2):  # asked, then answered from what it kept
            served = server.servable_document(budget)
            assert served is not None and served.path == server.blob_path(budget)
            assert served.size == (first / "docs" / "budget.pdf").stat().st_size
        assert server.servable_document("0" * 64) is None
        # the same meeting amended: its budget replaced by another edition
        amended = write_package(tmp_path / "v2", big_document_bytes=2000)
        import_package(writer, amended)
        new_budget = sha256_file(amended / "docs" / "budget.pdf")
        assert new_budget != budget
        assert server.servable_document(budget) is None
        assert server.servable_document(new_budget) is not None
        # another meeting made the active one: the first one's documents go
        other = write_package(tmp_path / "other", meeting_id="council-b", big_document_bytes=3)
        import_package(writer, other)
        assert server.servable_document(new_budget) is None
        assert server.servable_document(sha256_file(other / "docs" / "budget.pdf")) is not None
        # the writer's own connection answers from SQLite every time
        assert writer.servable_document(new_budget) is None
        server.close()
