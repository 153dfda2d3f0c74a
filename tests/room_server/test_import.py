"""Importing packages into a real store; a bad package changes nothing at all."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import pytest

from room_server.importer import import_package
from room_server.package import PackageError
from room_server.store import Store
from tests import packages
from tests.rooms import room_cli, sha256_file, write_config, write_package


def open_store(root: Path) -> Store:
    return Store(root / "room.sqlite3", root / "documents")


def fingerprint(root: Path) -> tuple[list[str], dict[str, str]]:
    """Everything in the store: a full SQL dump and every file with its hash."""
    with open_store(root) as store:
        dump = list(store.conn.iterdump())
    files = {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }
    return dump, files


def test_good_package_is_stored_content_addressed(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg")
    with open_store(tmp_path / "state") as store:
        report = import_package(store, package)
        snapshot = store.snapshot()
    assert report.meeting_id == "council-test"
    assert (report.documents, report.new_documents, report.agenda_items) == (3, 3, 3)
    assert snapshot is not None
    assert snapshot.revision == 1
    assert [item.id for _, item in snapshot.walk()] == ["opening", "budget", "budget-debate"]
    assert snapshot.agenda[1].planned_minutes == 45
    for doc in snapshot.documents:
        blob = tmp_path / "state" / "documents" / doc.sha256[:2] / f"{doc.sha256}.pdf"
        assert sha256_file(blob) == doc.sha256
        assert blob.stat().st_size == doc.size
    budget = next(d for d in snapshot.documents if d.title == "Budget 2027")
    assert (budget.pages, budget.filename) == (6, "budget.pdf")


def test_reimport_amends_the_meeting_and_reuses_documents(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with open_store(state) as store:
        import_package(store, write_package(tmp_path / "v1"))
        report = import_package(store, write_package(tmp_path / "v2", extra_item="Late motion"))
        snapshot = store.snapshot()
    assert report.replaced
    assert report.new_documents == 0  # same bytes, same hashes
    assert snapshot is not None and snapshot.revision == 2
    assert snapshot.agenda[-1].title == "Late motion"
    assert len(list((state / "documents").rglob("*.pdf"))) == 3


def bad_packages(tmp_path: Path) -> dict[str, Path]:
    manifest = packages.minimal_manifest()
    out: dict[str, Path] = {}
    out["missing file"] = packages.write_package(tmp_path / "missing", manifest, {})
    out["corrupt pdf"] = packages.write_package(
        tmp_path / "corrupt", manifest, {"documents/agenda.pdf": b"%PDF-1.7 not really"}
    )
    encrypted = packages.make_encrypted_pdf(tmp_path / "enc.pdf")
    out["encrypted pdf"] = packages.write_package(
        tmp_path / "encrypted", manifest, {"documents/agenda.pdf": encrypted}
    )
    broken = packages.minimal_manifest()
    broken["agenda"][1]["documents"] = ["no-such-document"]
    out["unknown document"] = packages.write_package(tmp_path / "unknown", broken)
    good = packages.write_package(tmp_path / "good", packages.minimal_manifest())
    out["zip slip"] = packages.zip_package(
        good, tmp_path / "slip.zip", [("../../etc/cron.d/evil", b"* * * * * root rm -rf /")]
    )
    absolute = packages.zip_package(good, tmp_path / "abs.zip", [("/tmp/evil.pdf", b"x")])
    out["absolute zip path"] = absolute
    return out


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing file", "documents/agenda.pdf"),
        ("corrupt pdf", "documents/agenda.pdf"),
        ("encrypted pdf", "encrypted"),
        ("unknown document", "no-such-document"),
        ("zip slip", ".."),
        ("absolute zip path", "/tmp/evil.pdf"),
    ],
)
def test_bad_package_changes_nothing(tmp_path: Path, kind: str, message: str) -> None:
    state = tmp_path / "state"
    with open_store(state) as store:
        import_package(store, write_package(tmp_path / "existing"))
    before = fingerprint(state)
    bad = bad_packages(tmp_path / "bad")[kind]
    with open_store(state) as store, pytest.raises(PackageError) as caught:
        import_package(store, bad)
    assert message in str(caught.value)
    assert fingerprint(state) == before
    assert not (tmp_path / "etc").exists()


def test_cli_import_reports_problems_and_exit_code(tmp_path: Path) -> None:
    config = write_config(tmp_path, room_id="cli-room", room_name="CLI room", mdns=False)
    bad = packages.write_package(
        tmp_path / "bad", packages.minimal_manifest(), {"documents/agenda.pdf": b"not a pdf"}
    )
    result = room_cli(config, "import", str(bad))
    assert result.returncode == 2
    assert "documents/agenda.pdf" in result.stderr
    assert "nothing was imported" in result.stderr
    good = room_cli(config, "import", str(write_package(tmp_path / "good")))
    assert good.returncode == 0, good.stderr
    assert "imported meeting 'council-test'" in good.stdout
    assert "[3/3]" in good.stdout  # progress, one line per document


def test_zip_package_imports_like_a_folder(tmp_path: Path) -> None:
    folder = write_package(tmp_path / "pkg")
    archive = tmp_path / "pkg.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in folder.rglob("*"):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    with open_store(tmp_path / "state") as store:
        report = import_package(store, archive)
    assert report.documents == 3


def test_meeting_too_large_for_one_message_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with open_store(state) as store:
        import_package(store, write_package(tmp_path / "existing"))
    before = fingerprint(state)
    with open_store(state) as store, pytest.raises(PackageError) as caught:
        import_package(store, write_package(tmp_path / "v2", meeting_id="big"), max_state_bytes=500)
    assert "more than the 500 bytes a tablet accepts" in str(caught.value)
    assert fingerprint(state) == before
