"""Importing packages into a real store; a bad package changes nothing at all."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from provisioning.sample_package import SAMPLE_MEETING_ID, write_sample_package
from room_protocol.codec import record_from_json
from room_protocol.voting import Base, Majority, PollKind, PollSpec, yes_no_options
from room_server.importer import import_package
from room_server.package import PackageError, open_package
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


# --- attendance and voting ---------------------------------------------------------------


def voting_manifest(meeting_id: str = "vote-test") -> dict[str, Any]:
    manifest = packages.minimal_manifest()
    manifest["meeting"]["id"] = meeting_id
    manifest["delegates"] = [
        {"id": "chair", "name": "Chair Person", "role": "chair", "seat": "A1", "voting": True},
        {"id": "d1", "name": "Nguyễn Văn An", "seat": "A2", "weight": 5},
        {"id": "d2", "name": "Beatrix Member"},
        {"id": "d3", "name": "Trần Thị Bình"},
        {"id": "obs", "name": "Press Observer", "role": "observer"},
    ]
    manifest["attendance"] = {"seating": "free", "quorum": "fixed", "quorum_count": 2}
    manifest["proxies"] = [{"giver": "d3", "holder": "d1"}]
    manifest["poll_templates"] = [
        {"id": "motion", "title": "Motion", "kind": "yes_no", "base": "cast"},
        {"id": "ballot", "kind": "election", "majority": "plurality", "secret": True},
    ]
    manifest["polls"] = [
        {"id": "p-adopt", "title": "Adopt it", "item": "main", "template": "motion",
         "majority": "absolute", "base": "members"},
        {"id": "p-elect", "title": "Elect one", "template": "ballot", "options": ["Ann", "Bo"]},
    ]  # fmt: skip
    return manifest


def test_attendance_and_polls_are_stored(tmp_path: Path) -> None:
    path = packages.write_package(tmp_path / "pkg", voting_manifest())
    with open_package(path) as package:
        expected = {p.id: p.spec for p in package.polls}
    with open_store(tmp_path / "state") as store:
        before = store.rows("SELECT * FROM audit_log")
        import_package(store, path)
        meeting = store.row("SELECT attendance FROM meetings WHERE id = 'vote-test'")
        people = store.rows("SELECT id, voting, weight FROM delegates ORDER BY position")
        proxies = store.rows("SELECT * FROM proxies")
        templates = store.rows("SELECT * FROM poll_templates ORDER BY position")
        polls = store.rows("SELECT * FROM polls ORDER BY position")
        snapshot = store.snapshot()
        assert store.rows("SELECT * FROM audit_log") == before
    assert meeting is not None
    assert json.loads(meeting["attendance"]) == {
        "seating": "free", "quorum": "fixed", "quorum_count": 2, "proxies_count": True,
        "max_proxies": 1, "badge_and_pin": False,
    }  # fmt: skip
    assert [(p["id"], p["voting"], p["weight"]) for p in people] == [
        ("chair", 1, 1), ("d1", 1, 5), ("d2", 1, 1), ("d3", 1, 1), ("obs", 0, 1),
    ]  # fmt: skip
    assert snapshot is not None
    assert [(r.delegate_id, r.voting, r.weight) for r in snapshot.roster][:2] == [
        ("chair", True, 1),
        ("d1", True, 5),
    ]
    (proxy,) = proxies
    assert (proxy["meeting_id"], proxy["giver_id"], proxy["holder_id"], proxy["source"]) == (
        "vote-test", "d3", "d1", "package",
    )  # fmt: skip
    assert proxy["granted_at"].endswith("+00:00")
    assert [(t["id"], t["position"]) for t in templates] == [("motion", 0), ("ballot", 1)]
    motion = record_from_json(PollSpec, templates[0]["spec"])
    assert (motion.title, motion.kind, motion.options) == (
        "Motion",
        PollKind.YES_NO,
        yes_no_options(),
    )
    ballot = record_from_json(PollSpec, templates[1]["spec"])
    assert (ballot.title, ballot.kind, ballot.options, ballot.secret) == (
        "ballot", PollKind.ELECTION, (), True,
    )  # fmt: skip
    assert [(p["id"], p["position"], p["state"]) for p in polls] == [
        ("p-adopt", 0, "draft"),
        ("p-elect", 1, "draft"),
    ]
    for poll in polls:
        spec = record_from_json(PollSpec, poll["spec"])
        assert spec == expected[poll["id"]]
        assert poll["created_by"] is None and poll["result"] is None
        assert (poll["opened_at"], poll["closed_at"], poll["published_at"]) == (None, None, None)
        assert (poll["quorum_override"], poll["present"], poll["members"]) == (0, None, None)
    adopt = record_from_json(PollSpec, polls[0]["spec"])
    assert (adopt.title, adopt.item_id, adopt.rule.majority, adopt.rule.base) == (
        "Adopt it", "main", Majority.ABSOLUTE, Base.MEMBERS,
    )  # fmt: skip


def test_package_without_voting_keys_gets_the_defaults(tmp_path: Path) -> None:
    with open_store(tmp_path / "state") as store:
        import_package(store, write_package(tmp_path / "pkg"))
        meeting = store.row("SELECT attendance FROM meetings")
        people = store.rows("SELECT id, voting, weight FROM delegates ORDER BY position")
        counts = [
            store.rows("SELECT * FROM proxies"),
            store.rows("SELECT * FROM poll_templates"),
            store.rows("SELECT * FROM polls"),
        ]
    assert meeting is not None
    assert json.loads(meeting["attendance"]) == {
        "seating": "assigned", "quorum": "none", "quorum_count": None, "proxies_count": True,
        "max_proxies": 1, "badge_and_pin": False,
    }  # fmt: skip
    assert [(p["id"], p["voting"]) for p in people] == [
        ("chair", 0), ("clerk", 0), ("d1", 1), ("d2", 1), ("d3", 1), ("obs", 0),
    ]  # fmt: skip
    assert {p["weight"] for p in people} == {1}
    assert counts == [[], [], []]


def test_reimport_replaces_proxies_templates_and_draft_polls(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with open_store(state) as store:
        import_package(store, packages.write_package(tmp_path / "v1", voting_manifest()))
        with store.transaction() as db:  # what the session did meanwhile
            db.execute(
                "INSERT INTO attendance_events (meeting_id, delegate_id, event, method, at) "
                "VALUES ('vote-test', 'd1', 'check_in', 'pin', '2026-11-21T09:00:00+00:00')"
            )
            db.execute(
                "INSERT INTO audit_log (at, meeting_id, kind, data, prev, hash) VALUES "
                "('2026-11-21T09:00:00+00:00', 'vote-test', 'check_in', '{}', '', 'h1')"
            )
        amended = voting_manifest()
        amended["proxies"] = [{"giver": "d2", "holder": "chair"}]
        amended["poll_templates"] = amended["poll_templates"][:1]
        amended["polls"] = [{"id": "p-late", "title": "Late motion", "template": "motion"}]
        report = import_package(store, packages.write_package(tmp_path / "v2", amended))
        proxies = store.rows("SELECT giver_id, holder_id FROM proxies")
        templates = store.rows("SELECT id FROM poll_templates")
        polls = store.rows("SELECT id, position FROM polls")
        kept = [
            store.rows("SELECT * FROM attendance_events"),
            store.rows("SELECT * FROM audit_log"),
        ]
    assert report.replaced
    assert proxies == [{"giver_id": "d2", "holder_id": "chair"}]
    assert templates == [{"id": "motion"}]
    assert polls == [{"id": "p-late", "position": 0}]
    assert [len(rows) for rows in kept] == [1, 1]


@pytest.mark.parametrize("state", ["open", "closed", "published"])
def test_reimport_after_a_poll_was_opened_is_refused(tmp_path: Path, state: str) -> None:
    root = tmp_path / "state"
    with open_store(root) as store:
        import_package(store, packages.write_package(tmp_path / "v1", voting_manifest()))
        with store.transaction() as db:
            db.execute("UPDATE polls SET state = ? WHERE id = 'p-elect'", [state])
    before = fingerprint(root)
    amended = packages.write_package(tmp_path / "v2", voting_manifest(), {
        "documents/agenda.pdf": packages.pdf_bytes(4, "amended"),
    })  # fmt: skip
    with open_store(root) as store, pytest.raises(PackageError) as caught:
        import_package(store, amended)
    assert str(caught.value).splitlines()[1:] == [
        '  meeting.toml: meeting "vote-test" already has polls that were opened; '
        "import it under a new meeting id"
    ]
    assert fingerprint(root) == before  # not even the new document's file
    renamed = packages.write_package(tmp_path / "v3", voting_manifest("vote-test-2"))
    with open_store(root) as store:
        assert import_package(store, renamed).meeting_id == "vote-test-2"


def bad_voting_manifests() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    chain = voting_manifest()
    chain["proxies"].append({"giver": "d1", "holder": "d2"})
    out["proxy chain"] = chain
    unknown_item = voting_manifest()
    unknown_item["polls"][0]["item"] = "nowhere"
    out["unknown item"] = unknown_item
    bad_rule = voting_manifest()
    bad_rule["poll_templates"][0]["majority"] = "plurality"
    out["plurality motion"] = bad_rule
    bad_quorum = voting_manifest()
    bad_quorum["attendance"]["quorum_count"] = 9
    out["quorum over members"] = bad_quorum
    return out


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("proxy chain", "a proxy cannot be passed on"),
        ("unknown item", 'item "nowhere" is not an agenda item'),
        ("plurality motion", "plurality (the most votes) decides only"),
        ("quorum over members", "quorum_count 9 is more than the 4 voting members"),
    ],
)
def test_bad_voting_package_changes_nothing(tmp_path: Path, kind: str, message: str) -> None:
    state = tmp_path / "state"
    with open_store(state) as store:
        import_package(store, packages.write_package(tmp_path / "v1", voting_manifest()))
    before = fingerprint(state)
    bad = packages.write_package(tmp_path / "bad", bad_voting_manifests()[kind])
    with open_store(state) as store, pytest.raises(PackageError) as caught:
        import_package(store, bad)
    assert message in str(caught.value)
    assert fingerprint(state) == before


def test_polls_too_large_for_one_message_are_refused(tmp_path: Path) -> None:
    manifest = voting_manifest()
    manifest["polls"][1]["options"] = [f"Candidate {n} " + "x" * 400 for n in range(200)]
    state = tmp_path / "state"
    with open_store(state) as store:
        import_package(store, write_package(tmp_path / "existing"))
    before = fingerprint(state)
    with open_store(state) as store, pytest.raises(PackageError) as caught:
        import_package(
            store, packages.write_package(tmp_path / "big", manifest), max_state_bytes=60_000
        )
    assert "the polls take" in str(caught.value)
    assert "more than the 60000 bytes a tablet accepts" in str(caught.value)
    assert fingerprint(state) == before


def test_sample_package_imports_with_its_polls_and_proxy(tmp_path: Path) -> None:
    with open_store(tmp_path / "state") as store:
        report = import_package(store, write_sample_package(tmp_path / "sample", as_zip=True))
        meeting = store.row("SELECT attendance FROM meetings")
        voters = store.rows("SELECT id FROM delegates WHERE voting = 1 ORDER BY position")
        proxies = store.rows("SELECT giver_id, holder_id, source FROM proxies")
        templates = store.rows("SELECT id FROM poll_templates ORDER BY position")
        polls = store.rows("SELECT id, spec, state FROM polls ORDER BY position")
    assert report.meeting_id == SAMPLE_MEETING_ID
    assert meeting is not None and json.loads(meeting["attendance"])["quorum"] == "majority"
    assert len(voters) == 12
    assert proxies == [{"giver_id": "d013", "holder_id": "d010", "source": "package"}]
    assert [t["id"] for t in templates] == ["motion", "secret-election"]
    assert [p["id"] for p in polls] == ["p-budget", "p-zoning-height", "p-hoi-an-committee"]
    assert {p["state"] for p in polls} == {"draft"}
    specs = [record_from_json(PollSpec, p["spec"]) for p in polls]
    assert [s.kind for s in specs] == [PollKind.YES_NO, PollKind.SINGLE, PollKind.ELECTION]
    assert [s.item_id for s in specs] == ["budget-final-vote", "zoning-vote", "sister-city"]
    assert (specs[2].seats, specs[2].secret, len(specs[2].options)) == (2, True, 4)
