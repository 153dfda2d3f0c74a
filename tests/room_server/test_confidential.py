"""Confidential documents on the server: who may read one (package), each reader's own
watermarked copy (document.fetch through a real room), refusals, and the room display."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from room_server.importer import import_package
from room_server.package import PackageError
from room_server.store import Store
from tests.packages import minimal_manifest, write_package


def open_store(root: Path) -> Store:
    return Store(root / "room.sqlite3", root / "documents")


def confidential_manifest(**document: Any) -> dict[str, Any]:
    """minimal_manifest with a second, confidential document and a third member."""
    manifest = minimal_manifest({"agenda-doc": "agenda.pdf", "secret": "secret.pdf"})
    manifest["documents"][1].update({"confidential": True, **document})
    manifest["seats"].append({"id": "A3"})
    manifest["delegates"].append({"id": "d2", "name": "Trần Thị Bình", "seat": "A3"})
    return manifest


# --- the package --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "readers"),
    [
        ({}, ()),
        ({"members": ["d1"]}, ("d1",)),
        ({"roles": ["chair"]}, ("chair",)),
        ({"members": ["d2"], "roles": ["chair"]}, ("chair", "d2")),
        ({"roles": ["delegate"]}, ("d1", "d2")),
    ],
)
def test_a_confidential_document_names_its_readers(
    tmp_path: Path, document: dict[str, Any], readers: tuple[str, ...]
) -> None:
    package = write_package(tmp_path / "pkg", confidential_manifest(**document))
    with open_store(tmp_path / "state") as store:
        import_package(store, package)
        snapshot = store.snapshot()
        keys = store.rows("SELECT delegate_id, key FROM cache_keys ORDER BY delegate_id")
    assert snapshot is not None
    public, secret = snapshot.documents
    assert (public.confidential, public.readers) == (False, ())
    assert (secret.confidential, secret.readers) == (True, readers)
    # every member has their own random 256-bit key for their tablet's cache
    assert [k["delegate_id"] for k in keys] == ["chair", "d1", "d2"]
    assert len({bytes(k["key"]) for k in keys}) == 3
    assert all(len(k["key"]) == 32 for k in keys)


def test_a_reimport_keeps_the_members_keys(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg", confidential_manifest())
    with open_store(tmp_path / "state") as store:
        import_package(store, package)
        before = store.cache_key("test-meeting", "d1")
        import_package(store, package)
        assert before is not None and store.cache_key("test-meeting", "d1") == before


BAD_READERS: dict[str, tuple[dict[str, Any], str]] = {
    "readers of a public document": (
        {"confidential": False, "members": ["d1"]},
        "members name who may read a confidential document; add confidential = true",
    ),
    "unknown member": ({"members": ["d9"]}, 'members: "d9" is not in [[delegates]]'),
    "misspelt member": ({"members": ["d 1"]}, 'members: "d 1" is not a delegate id'),
    "members not a list": ({"members": "d1"}, '"members" must be a list of texts'),
    "a number in roles": ({"roles": [1]}, '"roles" must be a list of texts'),
    "unknown role": ({"roles": ["chiar"]}, 'roles: "chiar" is not one of chair, clerk, delegate'),
    "observer role": ({"roles": ["observer"]}, "name an observer in members"),
    "member twice": ({"members": ["d1", "d1"]}, 'members: "d1" is listed twice'),
    "nobody": ({"members": [], "roles": []}, "nobody could read this document"),
    "a role nobody has": ({"roles": ["clerk"]}, "no delegate has the role clerk"),
}


@pytest.mark.parametrize("case", BAD_READERS)
def test_bad_readers_are_named_and_nothing_is_imported(tmp_path: Path, case: str) -> None:
    document, fragment = BAD_READERS[case]
    package = write_package(tmp_path / "pkg", confidential_manifest(**document))
    with open_store(tmp_path / "state") as store:
        with pytest.raises(PackageError) as caught:
            import_package(store, package)
        assert store.snapshot() is None
        assert store.rows("SELECT * FROM documents") == []
        assert store.rows("SELECT * FROM cache_keys") == []
    found = [str(p) for p in caught.value.problems]
    assert any(
        line.startswith('meeting.toml: document "secret": ') and fragment in line for line in found
    ), found
