"""Meeting package validation: good packages open, every kind of bad one is named."""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioning.sample_package import write_sample_package
from room_protocol.voting import (
    Abstentions,
    Base,
    Majority,
    PollKind,
    PollOption,
    PollRule,
    QuorumRule,
    Seating,
    Tie,
    yes_no_options,
)
from room_server.package import (
    MeetingPackage,
    PackageAttendance,
    PackageError,
    PackageLimits,
    PackageProxy,
    Problem,
    open_package,
)
from tests.packages import (
    make_encrypted_pdf,
    make_pdf,
    minimal_manifest,
    pdf_bytes,
    toml_text,
    write_package,
    zip_package,
)

MiB = 1024 * 1024


DEFAULT_LIMITS = PackageLimits()


def problems(path: Path, limits: PackageLimits = DEFAULT_LIMITS) -> list[str]:
    with pytest.raises(PackageError) as caught, open_package(path, limits):
        pass
    return [str(problem) for problem in caught.value.problems]


def assert_reported(found: list[str], file: str, *fragments: str) -> None:
    for line in found:
        if line.startswith(f"{file}: ") and all(fragment in line for fragment in fragments):
            return
    raise AssertionError(f"no problem for {file} with {fragments}; got:\n" + "\n".join(found))


def walk(items: tuple[Any, ...]) -> list[Any]:
    return [x for item in items for x in (item, *walk(item.children))]


# --- good packages ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_package(tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="module")
def sample_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_package(tmp_path_factory.mktemp("sample-zip"), as_zip=True)


def check_sample(package: MeetingPackage) -> None:
    assert package.manifest_name == "meeting.toml"
    assert package.title == "City Council of Riverside — regular session"
    assert (package.date, package.start_time) == ("2026-11-21", "09:00")
    assert [(d.id, d.pages) for d in package.documents] == [
        ("budget", 12),
        ("minutes", 8),
        ("zoning", 6),
        ("hoi-an-report", 5),
    ]
    assert [d.confidential for d in package.documents] == [False, False, True, False]
    for doc in package.documents:
        data = doc.source.read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (doc.size, doc.sha256)
    items = walk(package.agenda)
    assert len(package.agenda) == 6
    assert [i.number for i in items if i.id.startswith("budget")] == [
        "3", "3.1", "3.2", "3.3", "3.3.1", "3.3.2",
    ]  # fmt: skip
    assert all(i.planned_minutes for i in items)
    assert len(package.seats) == 18
    assert package.seats[0].label == "Row A, seat 1"
    roles = [d.role for d in package.delegates]
    assert (roles.count("chair"), roles.count("clerk"), roles.count("observer")) == (1, 1, 1)
    assert roles.count("delegate") == 12
    assert any(d.name == "Nguyễn Văn An" for d in package.delegates)
    assert [d.id for d in package.delegates if d.voting] == [f"d{n:03d}" for n in range(3, 15)]
    assert {d.weight for d in package.delegates} == {1}
    assert package.attendance == PackageAttendance(quorum=QuorumRule.MAJORITY)
    assert package.proxies == (PackageProxy("d013", "d010"),)
    assert [t.id for t in package.poll_templates] == ["motion", "secret-election"]
    polls = {p.id: p for p in package.polls}
    assert list(polls) == ["p-budget", "p-zoning-height", "p-hoi-an-committee"]
    assert polls["p-budget"].spec.kind is PollKind.YES_NO
    assert polls["p-budget"].spec.item_id == "budget-final-vote"
    assert polls["p-zoning-height"].spec.kind is PollKind.SINGLE
    election = polls["p-hoi-an-committee"].spec
    assert (election.kind, election.seats, election.secret) == (PollKind.ELECTION, 2, True)
    assert [o.id for o in election.options] == ["d004", "d007", "d009", "d011"]


def test_sample_folder_validates(sample_dir: Path) -> None:
    with open_package(sample_dir) as package:
        check_sample(package)
        assert all(doc.source.is_relative_to(sample_dir) for doc in package.documents)


def test_sample_zip_validates_and_cleans_up(sample_zip: Path) -> None:
    with open_package(sample_zip) as package:
        check_sample(package)
        sources = [doc.source for doc in package.documents]
    assert not any(source.exists() for source in sources)


def test_zip_and_folder_agree(sample_dir: Path, sample_zip: Path) -> None:
    with open_package(sample_dir) as folder, open_package(sample_zip) as archive:
        assert [d.sha256 for d in folder.documents] == [d.sha256 for d in archive.documents]


def test_json_manifest_with_generated_numbers(tmp_path: Path) -> None:
    manifest = minimal_manifest()
    manifest["agenda"][1]["items"] = [{"id": "sub-a", "title": "A"}, {"id": "sub-b", "title": "B"}]
    path = write_package(tmp_path / "p", manifest, manifest_format="json")
    with open_package(path) as package:
        assert package.manifest_name == "meeting.json"
        assert [i.number for i in walk(package.agenda)] == ["1", "2", "2.1", "2.2"]
        assert package.location == "" and package.start_time is None
        assert package.seats[0].label == "A1"
        assert package.delegates[1].role == "delegate"
        assert package.documents[0].pages == 2


def test_native_toml_date_and_time_are_accepted(tmp_path: Path) -> None:
    path = write_package(tmp_path / "p", minimal_manifest())
    text = (path / "meeting.toml").read_text(encoding="utf-8")
    text = text.replace('"date" = "2026-11-21"', '"date" = 2026-11-21\n"start_time" = 09:30:00')
    (path / "meeting.toml").write_text(text, encoding="utf-8")
    with open_package(path) as package:
        assert (package.date, package.start_time) == ("2026-11-21", "09:30")


def test_explicit_numbers_are_kept(tmp_path: Path) -> None:
    manifest = minimal_manifest()
    manifest["agenda"][0]["number"] = "I"
    manifest["agenda"][1]["items"] = [{"id": "sub", "title": "Sub"}]
    with open_package(write_package(tmp_path / "p", manifest)) as package:
        assert [i.number for i in walk(package.agenda)] == ["I", "2", "2.1"]


def test_os_junk_is_ignored(tmp_path: Path) -> None:
    junk = {".DS_Store": b"\0", "documents/Thumbs.db": b"x", "desktop.ini": b"x",
            "__MACOSX/documents/._agenda.pdf": b"x", "documents/._agenda.pdf": b"x"}  # fmt: skip
    path = write_package(tmp_path / "p", minimal_manifest())
    for name, data in junk.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    with open_package(path) as package:
        assert len(package.documents) == 1
    with open_package(zip_package(path, tmp_path / "p.zip")) as package:
        assert len(package.documents) == 1


# --- manifest problems -----------------------------------------------------------------


def test_malformed_toml_names_the_line(tmp_path: Path) -> None:
    path = write_package(tmp_path / "p", None, {})
    (path / "meeting.toml").write_text('format = 1\n[meeting]\ntitle = "x\n', encoding="utf-8")
    assert_reported(problems(path), "meeting.toml", "is not valid TOML", "line 3")


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    path = write_package(tmp_path / "p", None, {})
    (path / "meeting.json").write_text('{\n  "format": 1,\n}\n', encoding="utf-8")
    assert_reported(problems(path), "meeting.json", "is not valid JSON", "line 3")


def test_json_duplicate_keys_are_rejected(tmp_path: Path) -> None:
    path = write_package(tmp_path / "p", None, {})
    (path / "meeting.json").write_text('{"format": 1, "format": 1}', encoding="utf-8")
    assert_reported(problems(path), "meeting.json", "appears twice")


def test_non_utf8_manifest(tmp_path: Path) -> None:
    path = write_package(tmp_path / "p", None, {})
    (path / "meeting.toml").write_bytes(b'format = 1\ntitle = "\xe9"\n')
    assert_reported(problems(path), "meeting.toml", "is not UTF-8")


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: object) -> Mutation:
    def mutate(manifest: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = manifest
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(manifest: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = manifest
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        del target[last]

    return mutate


def _deep_agenda(manifest: dict[str, Any]) -> None:
    item: dict[str, Any] = manifest["agenda"][0]
    for level in range(2, 6):
        child: dict[str, Any] = {"id": f"level-{level}", "title": f"Level {level}"}
        item["items"] = [child]
        item = child


def _duplicate_document(manifest: dict[str, Any]) -> None:
    manifest["documents"].append({"id": "agenda-doc", "file": "other.pdf", "title": "x"})


def _duplicate_agenda_in_subtree(manifest: dict[str, Any]) -> None:
    manifest["agenda"][1]["items"] = [{"id": "opening", "title": "Again"}]


MANIFEST_CASES: dict[str, tuple[Mutation, tuple[str, ...]]] = {
    "missing title": (_delete("meeting.title"), ("meeting:", 'required key "title" is missing')),
    "missing format": (_delete("format"), ('required key "format" is missing',)),
    "unsupported format": (_set("format", 2), ("format 2 is not supported",)),
    "unknown key": (
        _set("documents.0.confidental", True),
        ('document "agenda-doc"', 'unknown key "confidental"', 'did you mean "confidential"'),
    ),
    "unknown top-level key": (_set("seat", []), ('unknown key "seat"', 'did you mean "seats"')),
    "wrong type": (_set("meeting.title", 5), ('"title" must be text in quotes, not a number 5',)),
    "wrong bool": (
        _set("documents.0.confidential", "no"),
        ('"confidential" must be true or false',),
    ),
    "bad date": (_set("meeting.date", "2026-02-30"), ('date "2026-02-30" is not a real date',)),
    "date format": (_set("meeting.date", "21.11.2026"), ("YYYY-MM-DD",)),
    "bad time": (_set("meeting.start_time", "9am"), ('start_time must be a 24-hour time "HH:MM"',)),
    "bad id": (_set("meeting.id", "has space"), ('id "has space" may only contain',)),
    "duplicate document id": (_duplicate_document, ('id "agenda-doc" is already used by',)),
    "duplicate agenda id in tree": (
        _duplicate_agenda_in_subtree,
        ('id "opening" is already used by agenda item "opening"',),
    ),
    "unknown document on agenda": (
        _set("agenda.0.documents", ["nope"]),
        ('agenda item "opening"', 'refers to document "nope"'),
    ),
    "unknown seat": (_set("delegates.1.seat", "Z9"), ('delegate "d1"', 'seat "Z9" is not in')),
    "seat twice": (
        _set("delegates.1.seat", "A1"),
        ('delegate "d1"', 'seat "A1" is already assigned to delegate "chair"'),
    ),
    "bad role": (_set("delegates.1.role", "king"), ('role "king" is not one of',)),
    "depth over four": (_deep_agenda, ('agenda item "level-4"', "5 levels deep", "at most 4")),
    "minutes out of range": (
        _set("agenda.0.planned_minutes", 2000),
        ('"planned_minutes" must be a whole number from 0 to 1440',),
    ),
    "escaping file path": (_set("documents.0.file", "../agenda.pdf"), ("'..' component",)),
    "empty title": (_set("meeting.title", "  "), ('"title" must not be empty',)),
    "documents not a list": (_set("documents", "x"), ('"documents" must be a list of tables',)),
}


@pytest.mark.parametrize("case", MANIFEST_CASES)
def test_manifest_problem_is_named(tmp_path: Path, case: str) -> None:
    mutate, fragments = MANIFEST_CASES[case]
    manifest = minimal_manifest()
    files = {"documents/agenda.pdf": pdf_bytes(1)}
    mutate(manifest)
    assert_reported(
        problems(write_package(tmp_path / "p", manifest, files)), "meeting.toml", *fragments
    )


# --- attendance and voting ------------------------------------------------------------


def voting_manifest() -> dict[str, Any]:
    """minimal_manifest plus every attendance and voting key, all valid."""
    manifest = minimal_manifest()
    manifest["agenda"][1]["items"] = [{"id": "main-vote", "title": "Vote"}]
    manifest["seats"] = [{"id": f"A{n}"} for n in range(1, 7)]
    manifest["delegates"] = [
        {"id": "chair", "name": "Chair Person", "role": "chair", "seat": "A1", "voting": True},
        {"id": "clerk", "name": "Clerk Person", "role": "clerk"},
        {"id": "d1", "name": "Nguyễn Văn An", "seat": "A2", "weight": 3},
        {"id": "d2", "name": "Beatrix Member", "seat": "A3", "voting": True, "weight": 1},
        {"id": "d3", "name": "Trần Thị Bình", "seat": "A4"},
        {"id": "d4", "name": "Dieter Member", "seat": "A5"},
        {"id": "obs", "name": "Press Observer", "role": "observer", "voting": False},
    ]
    manifest["attendance"] = {
        "seating": "free",
        "quorum": "fixed",
        "quorum_count": 3,
        "proxies_count": False,
        "max_proxies": 2,
    }
    manifest["proxies"] = [{"giver": "d3", "holder": "d1"}, {"giver": "d4", "holder": "d1"}]
    manifest["poll_templates"] = [
        {
            "id": "motion",
            "title": "Motion",
            "kind": "yes_no",
            "majority": "two_thirds",
            "base": "present",
            "abstentions": "counted",
            "weighted": True,
            "allow_change": True,
        },
        {
            "id": "ballot",
            "kind": "election",
            "majority": "plurality",
            "tie": "lot",
            "secret": True,
            "seats": 2,
            "min_choices": 1,
        },
    ]
    manifest["polls"] = [
        {
            "id": "p-motion",
            "title": "Adopt the budget",
            "item": "main-vote",
            "template": "motion",
            "abstentions": "excluded",
        },
        {
            "id": "p-choice",
            "title": "Date of the next session",
            "kind": "single",
            "majority": "plurality",
            "tie": "chair",
            "options": ["Monday", "Tuesday"],
        },
        {
            "id": "p-multi",
            "title": "Topics for the retreat",
            "item": "opening",
            "kind": "multiple",
            "majority": "absolute",
            "min_choices": 1,
            "max_choices": 2,
            "options": [
                {"id": "parks", "label": "Parks"},
                {"id": "roads", "label": "Roads"},
                {"id": "schools", "label": "Schools"},
            ],
        },
        {
            "id": "p-elect",
            "title": "Elect two",
            "template": "ballot",
            "options": ["Ann", "Bo", "Cy"],
        },
    ]
    return manifest


@pytest.mark.parametrize("manifest_format", ["toml", "json"])
def test_every_voting_key_is_read(tmp_path: Path, manifest_format: str) -> None:
    path = write_package(tmp_path / "p", voting_manifest(), manifest_format=manifest_format)
    with open_package(path) as package:
        people = {d.id: (d.voting, d.weight) for d in package.delegates}
        assert people == {
            "chair": (True, 1), "clerk": (False, 1), "d1": (True, 3), "d2": (True, 1),
            "d3": (True, 1), "d4": (True, 1), "obs": (False, 1),
        }  # fmt: skip
        assert package.attendance == PackageAttendance(
            Seating.FREE, QuorumRule.FIXED, 3, proxies_count=False, max_proxies=2
        )
        assert package.proxies == (PackageProxy("d3", "d1"), PackageProxy("d4", "d1"))
        motion, ballot = package.poll_templates
        assert (motion.id, motion.spec.title, motion.spec.options) == (
            "motion", "Motion", yes_no_options(),
        )  # fmt: skip
        assert motion.spec.rule == PollRule(
            Majority.TWO_THIRDS, Base.PRESENT, Abstentions.COUNTED, Tie.FAILS
        )
        assert (motion.spec.weighted, motion.spec.allow_change, motion.spec.secret) == (
            True, True, False,
        )  # fmt: skip
        assert (ballot.spec.title, ballot.spec.options) == ("ballot", ())  # title defaults to id
        assert (ballot.spec.seats, ballot.spec.max_choices, ballot.spec.min_choices) == (2, 2, 1)
        assert ballot.spec.rule == PollRule(Majority.PLURALITY, tie=Tie.LOT)
        polls = {p.id: p for p in package.polls}
        assert list(polls) == ["p-motion", "p-choice", "p-multi", "p-elect"]
        adopt = polls["p-motion"]
        assert (adopt.template, adopt.spec.title, adopt.spec.item_id) == (
            "motion", "Adopt the budget", "main-vote",
        )  # fmt: skip
        # the template's settings, with the poll's own override
        assert adopt.spec.rule == PollRule(
            Majority.TWO_THIRDS, Base.PRESENT, Abstentions.EXCLUDED, Tie.FAILS
        )
        assert (adopt.spec.weighted, adopt.spec.allow_change) == (True, True)
        assert adopt.spec.options == yes_no_options()
        choice = polls["p-choice"].spec
        assert choice.options == (PollOption("o1", "Monday"), PollOption("o2", "Tuesday"))
        assert choice.rule == PollRule(Majority.PLURALITY, tie=Tie.CHAIR)
        assert (choice.item_id, polls["p-choice"].template) == (None, None)
        multi = polls["p-multi"].spec
        assert [o.id for o in multi.options] == ["parks", "roads", "schools"]
        assert (multi.min_choices, multi.max_choices) == (1, 2)
        assert multi.rule.base is Base.MEMBERS  # absolute is always of all members
        elect = polls["p-elect"].spec
        assert [o.label for o in elect.options] == ["Ann", "Bo", "Cy"]
        assert (elect.seats, elect.max_choices, elect.min_choices, elect.secret) == (2, 2, 1, True)
        assert elect.title == "Elect two"


def test_voting_keys_are_optional(tmp_path: Path) -> None:
    with open_package(write_package(tmp_path / "p", minimal_manifest())) as package:
        assert package.attendance == PackageAttendance(
            Seating.ASSIGNED, QuorumRule.NONE, None, proxies_count=True, max_proxies=1
        )
        # a delegate votes by default, a chair does not unless the package says so
        assert [(d.id, d.voting, d.weight) for d in package.delegates] == [
            ("chair", False, 1),
            ("d1", True, 1),
        ]
        assert (package.proxies, package.poll_templates, package.polls) == ((), (), ())


def test_template_settings_that_do_not_apply_fall_back(tmp_path: Path) -> None:
    manifest = voting_manifest()
    manifest["polls"] = [
        # the ballot template is an election of 2 with min_choices 1: as a single-choice
        # poll, seats and min_choices do not apply; the rule and secrecy still do
        {"id": "p", "title": "Chair of the committee", "template": "ballot", "kind": "single",
         "options": ["Ann", "Bo"]},
    ]  # fmt: skip
    with open_package(write_package(tmp_path / "p", manifest)) as package:
        (poll,) = package.polls
        assert poll.spec.kind is PollKind.SINGLE
        assert (poll.spec.seats, poll.spec.min_choices, poll.spec.max_choices) == (1, 0, 1)
        assert poll.spec.secret and poll.spec.rule == PollRule(Majority.PLURALITY, tie=Tie.LOT)


def _append(path: str, value: object) -> Mutation:
    def mutate(manifest: dict[str, Any]) -> None:
        target: Any = manifest
        for key in path.split("."):
            target = target[int(key)] if key.isdigit() else target[key]
        target.append(value)

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(manifest: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(manifest)

    return mutate


VOTING_CASES: dict[str, tuple[Mutation, tuple[str, ...]]] = {
    # roster
    "voting not a flag": (
        _set("delegates.2.voting", 1),
        ('delegate "d1"', '"voting" must be true or false, not a number 1'),
    ),
    "observer voting": (
        _set("delegates.6.voting", True),
        ('delegate "obs"', "an observer cannot be a voting member"),
    ),
    "weight zero": (
        _set("delegates.2.weight", 0),
        ('delegate "d1"', '"weight" must be a whole number from 1 to 1000000, not a number 0'),
    ),
    "weight fraction": (_set("delegates.2.weight", 1.5), ('"weight" must be a whole number',)),
    # attendance
    "attendance not a table": (
        _set("attendance", "free"),
        ('"attendance" must be a table of keys, not text "free"',),
    ),
    "unknown attendance key": (
        _set("attendance.quorom", "none"),
        ("attendance:", 'unknown key "quorom"', 'did you mean "quorum"'),
    ),
    "bad seating": (
        _set("attendance.seating", "fixed"),
        ("attendance:", 'seating "fixed" is not one of assigned, free'),
    ),
    "bad quorum": (
        _set("attendance.quorum", "half"),
        ('quorum "half" is not one of none, majority, two_thirds, fixed',),
    ),
    "quorum not text": (_set("attendance.quorum", 7), ('"quorum" must be text in quotes',)),
    "fixed quorum without count": (
        _delete("attendance.quorum_count"),
        ('quorum = "fixed" needs quorum_count',),
    ),
    "count without fixed quorum": (
        _set("attendance.quorum", "majority"),
        ('quorum_count is used only with quorum = "fixed" (here quorum is "majority")',),
    ),
    "count over the members": (
        _set("attendance.quorum_count", 6),
        ("quorum_count 6 is more than the 5 voting members",),
    ),
    "count zero": (
        _set("attendance.quorum_count", 0),
        ('"quorum_count" must be a whole number from 1',),
    ),
    "proxies_count not a flag": (
        _set("attendance.proxies_count", "yes"),
        ('"proxies_count" must be true or false',),
    ),
    "max_proxies negative": (
        _set("attendance.max_proxies", -1),
        ('"max_proxies" must be a whole number from 0',),
    ),
    # proxies
    "proxies not a list": (_set("proxies", "d3"), ('"proxies" must be a list of tables',)),
    "unknown proxy key": (
        _set("proxies.0.holdr", "d2"),
        ("proxy #1", 'unknown key "holdr"', 'did you mean "holder"'),
    ),
    "proxy without holder": (_delete("proxies.0.holder"), ("proxy #1", 'required key "holder"')),
    "proxy to oneself": (
        _set("proxies.0.holder", "d3"),
        ("proxy #1", '"d3" cannot hold their own proxy'),
    ),
    "proxy chain": (
        _append("proxies", {"giver": "d1", "holder": "d2"}),
        (
            "proxy #1",
            'holder "d1" gives their own proxy to "d2" in proxy #3',
            "cannot be passed on",
        ),
    ),
    "proxy from a non-voting member": (
        _set("proxies.0.giver", "clerk"),
        ("proxy #1", 'giver "clerk" is not a voting member (role "clerk")'),
    ),
    "proxy to an observer": (
        _set("proxies.0.holder", "obs"),
        ("proxy #1", 'holder "obs" is not a voting member (role "observer")'),
    ),
    "proxy to a chair who does not vote": (
        _both(_delete("delegates.0.voting"), _set("proxies.0.holder", "chair")),
        ("proxy #1", 'holder "chair" is not a voting member (role "chair")'),
    ),
    "proxy to someone unknown": (
        _set("proxies.0.holder", "d11"),
        ("proxy #1", 'holder "d11" is not in [[delegates]] (did you mean "d1"?)'),
    ),
    "over max_proxies": (
        _set("attendance.max_proxies", 1),
        ("proxy #2", 'holder "d1" would hold 2 proxies; max_proxies in [attendance] allows 1'),
    ),
    "proxies not allowed": (
        _set("attendance.max_proxies", 0),
        ("proxy #1", "proxies are not allowed: max_proxies is 0 in [attendance]"),
    ),
    "giver twice": (
        _append("proxies", {"giver": "d3", "holder": "d2"}),
        ("proxy #3", 'giver "d3" already gave a proxy to "d1" in proxy #1'),
    ),
    # templates
    "templates not a list": (
        _set("poll_templates", "motion"),
        ('"poll_templates" must be a list of tables',),
    ),
    "unknown template key": (
        _set("poll_templates.0.secert", True),
        ('poll template "motion"', 'unknown key "secert"', 'did you mean "secret"'),
    ),
    "options in a template": (
        _set("poll_templates.1.options", ["Ann", "Bo"]),
        ('poll template "ballot"', 'unknown key "options"'),
    ),
    "template without kind": (
        _delete("poll_templates.0.kind"),
        ('poll template "motion"', 'required key "kind" is missing'),
    ),
    "duplicate template id": (
        _set("poll_templates.1.id", "motion"),
        ('id "motion" is already used by poll template "motion"',),
    ),
    "secret template that allows changes": (
        _set("poll_templates.0.secret", True),
        ('poll template "motion"', "a secret poll cannot let members change their vote"),
    ),
    "template absolute with a base": (
        _set("poll_templates.0.majority", "absolute"),
        (
            'poll template "motion"',
            'absolute majority is of all members, but base is "present"',
            'leave base out or set it to "members"',
        ),
    ),
    "template min over seats": (
        _set("poll_templates.1.min_choices", 3),
        ('poll template "ballot"', "min_choices (3) is more than seats (2)"),
    ),
    "template lot on yes_no": (
        _set("poll_templates.0.tie", "lot"),
        ('poll template "motion"', "drawing lots breaks ties only"),
    ),
    # polls
    "polls not a list": (_set("polls", {"id": "x"}), ('"polls" must be a list of tables',)),
    "unknown poll key": (
        _set("polls.0.majoirty", "simple"),
        ('poll "p-motion"', 'unknown key "majoirty"', 'did you mean "majority"'),
    ),
    "poll without title": (
        _delete("polls.1.title"),
        ('poll "p-choice"', 'required key "title" is missing'),
    ),
    "poll title too long": (
        _set("polls.1.title", "x" * 501),
        ('poll "p-choice"', '"title" is 501 characters long; the limit is 500'),
    ),
    "duplicate poll id": (
        _set("polls.1.id", "p-motion"),
        ('id "p-motion" is already used by poll "p-motion"',),
    ),
    "bad poll id": (_set("polls.1.id", "p 2"), ("poll #2", 'id "p 2" may only contain')),
    "poll without kind": (
        _delete("polls.1.kind"),
        ('poll "p-choice"', 'required key "kind" is missing (give it here or in the poll\'s'),
    ),
    "unknown template": (
        _set("polls.0.template", "motoin"),
        (
            'poll "p-motion"',
            'template "motoin" is not in [[poll_templates]]',
            'did you mean "motion"',
        ),
    ),
    "unknown agenda item": (
        _set("polls.0.item", "main-vot"),
        ('poll "p-motion"', 'item "main-vot" is not an agenda item', 'did you mean "main-vote"'),
    ),
    "bad kind": (
        _set("polls.1.kind", "ranked"),
        ('poll "p-choice"', 'kind "ranked" is not one of yes_no, single, multiple, election'),
    ),
    "bad majority": (
        _set("polls.1.majority", "simpel"),
        (
            'majority "simpel" is not one of plurality, simple, absolute, two_thirds, '
            "three_quarters",
            'did you mean "simple"',
        ),
    ),
    "bad base": (
        _set("polls.1.base", "all"),
        ('base "all" is not one of cast, present, members',),
    ),
    "bad abstentions": (
        _set("polls.1.abstentions", "ignored"),
        ('abstentions "ignored" is not one of excluded, counted',),
    ),
    "bad tie": (_set("polls.1.tie", "coin"), ('tie "coin" is not one of fails, chair, lot',)),
    "secret not a flag": (_set("polls.1.secret", "no"), ('"secret" must be true or false',)),
    "min_choices negative": (
        _set("polls.2.min_choices", -1),
        ('"min_choices" must be a whole number from 0 to 200',),
    ),
    "seats zero": (_set("polls.3.seats", 0), ('"seats" must be a whole number from 1 to 200',)),
    "options on yes_no": (
        _set("polls.0.options", ["For", "Against"]),
        ('poll "p-motion"', '"options" applies only to single, multiple and election polls'),
    ),
    "seats on a multiple poll": (
        _set("polls.2.seats", 2),
        ('poll "p-multi"', '"seats" applies only to elections'),
    ),
    "max_choices on a single poll": (
        _set("polls.1.max_choices", 2),
        ('poll "p-choice"', '"max_choices" applies only to multiple-choice polls'),
    ),
    "min_choices on a single poll": (
        _set("polls.1.min_choices", 1),
        ('poll "p-choice"', '"min_choices" applies only to multiple-choice polls and elections'),
    ),
    "options not a list": (
        _set("polls.1.options", "Monday, Tuesday"),
        ('poll "p-choice"', '"options" must be a list of labels'),
    ),
    "one option": (
        _set("polls.1.options", ["Monday"]),
        ('poll "p-choice"', "a single poll needs at least two options"),
    ),
    "option neither label nor table": (
        _set("polls.1.options", ["Monday", 5]),
        ('poll "p-choice", option #2', "an option is a label or a table with id and label"),
    ),
    "empty option label": (
        _set("polls.1.options", ["", "Tuesday"]),
        ('poll "p-choice", option #1', '"label" must not be empty'),
    ),
    "option without label": (
        _delete("polls.2.options.1.label"),
        ('poll "p-multi", option #2', 'required key "label" is missing'),
    ),
    "unknown option key": (
        _set("polls.2.options.0.colour", "green"),
        ('poll "p-multi", option #1', 'unknown key "colour"'),
    ),
    "bad option id": (
        _set("polls.2.options.0.id", "green parks"),
        ('poll "p-multi", option #1', 'id "green parks" may only contain'),
    ),
    "duplicate option ids": (
        _set("polls.2.options.1.id", "parks"),
        ('poll "p-multi"', "option ids must be unique"),
    ),
    "reserved option id": (
        _set("polls.2.options.2.id", "abstain"),
        ('poll "p-multi"', '"abstain" is a reserved option id'),
    ),
    "too many options": (
        _set("polls.1.options", [f"Option {n}" for n in range(201)]),
        ('poll "p-choice"', "has 201 options; the limit is 200"),
    ),
    "plurality on yes_no": (
        _set("polls.0.majority", "plurality"),
        ('poll "p-motion"', "plurality (the most votes) decides only single-choice polls"),
    ),
    "lot on a multiple poll": (
        _set("polls.2.tie", "lot"),
        ('poll "p-multi"', "drawing lots breaks ties only in single-choice polls and elections"),
    ),
    "secret poll that allows changes": (
        _both(_set("polls.1.secret", True), _set("polls.1.allow_change", True)),
        ('poll "p-choice"', "a secret poll cannot let members change their vote"),
    ),
    "absolute with a base": (
        _set("polls.2.base", "cast"),
        (
            'poll "p-multi"',
            "absolute majority is of all members",
            'leave base out or set it to "members"',
        ),
    ),
    "absolute with a base from the template": (
        _set("polls.0.majority", "absolute"),
        ('poll "p-motion"', 'absolute majority is of all members, but base is "present"'),
    ),
    "max_choices over the options": (
        _set("polls.2.max_choices", 4),
        ('poll "p-multi"', "max_choices (4) is more than the 3 options"),
    ),
    "min_choices over max_choices": (
        _set("polls.2.min_choices", 3),
        ('poll "p-multi"', "min_choices (3) is more than max_choices (2)"),
    ),
    "election without enough candidates": (
        _set("polls.3.seats", 3),
        ('poll "p-elect"', "an election of 3 needs more than 3 candidates"),
    ),
}


def test_voting_manifest_is_valid(tmp_path: Path) -> None:
    with open_package(write_package(tmp_path / "p", voting_manifest())) as package:
        assert len(package.polls) == 4


@pytest.mark.parametrize("case", VOTING_CASES)
def test_voting_problem_is_named(tmp_path: Path, case: str) -> None:
    mutate, fragments = VOTING_CASES[case]
    manifest = voting_manifest()
    mutate(manifest)
    assert_reported(problems(write_package(tmp_path / "p", manifest)), "meeting.toml", *fragments)


def test_every_voting_problem_is_reported_at_once(tmp_path: Path) -> None:
    manifest = voting_manifest()
    for mutate in (
        _set("attendance.quorum", "half"),
        _set("proxies.0.holder", "d3"),
        _set("poll_templates.0.tie", "lot"),
        _set("polls.1.kind", "ranked"),
        _set("polls.2.max_choices", 4),
        _set("polls.2.tie", "lot"),
    ):
        mutate(manifest)
    found = problems(write_package(tmp_path / "p", manifest))
    assert [line.split(": ")[1] for line in found] == [
        "attendance", "proxy #1", 'poll template "motion"', 'poll "p-choice"', 'poll "p-multi"',
        'poll "p-multi"',
    ]  # fmt: skip


def test_complete_example_in_the_docs_is_valid(tmp_path: Path) -> None:
    text = (Path(__file__).parents[2] / "docs" / "meeting-package.md").read_text("utf-8")
    section = text[text.index("## A complete example") : text.index("## Zip rules")]
    read = []
    for kind in ("toml", "json"):
        start = section.index(f"```{kind}\n") + len(kind) + 4
        manifest = section[start : section.index("```", start)]
        folder = write_package(tmp_path / kind, None, {})
        (folder / f"meeting.{kind}").write_text(manifest, encoding="utf-8")
        parsed = tomllib.loads(manifest) if kind == "toml" else json.loads(manifest)
        for doc in parsed["documents"]:
            (folder / doc["file"]).parent.mkdir(parents=True, exist_ok=True)
            (folder / doc["file"]).write_bytes(pdf_bytes(2, doc["id"]))
        with open_package(folder) as package:
            read.append(
                (package.delegates, package.attendance, package.proxies, package.poll_templates,
                 package.polls, [i.number for i in walk(package.agenda)])
            )  # fmt: skip
    assert read[0] == read[1]
    delegates, attendance, proxies, _templates, polls, numbers = read[0]
    assert numbers == ["1", "1.1", "2", "2.1", "2.1.a", "2.2", "3"]
    assert [d.id for d in delegates if d.voting] == ["d001", "d003", "d005"]
    assert (attendance.quorum, proxies) == (QuorumRule.MAJORITY, (PackageProxy("d005", "d003"),))
    assert [p.spec.rule.base for p in polls] == [Base.CAST, Base.CAST, Base.MEMBERS, Base.CAST]


# --- file problems ---------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = write_package(tmp_path / "p", minimal_manifest(), {"documents/Agenda.pdf": pdf_bytes()})
    found = problems(path)
    assert_reported(found, "documents/agenda.pdf", 'listed for document "agenda-doc"', "not in")
    assert_reported(found, "documents/agenda.pdf", 'there is "documents/Agenda.pdf"')


def test_extra_file(tmp_path: Path) -> None:
    files = {"documents/agenda.pdf": pdf_bytes(), "notes/draft.docx": b"PK"}
    found = problems(write_package(tmp_path / "p", minimal_manifest(), files))
    assert found == ["notes/draft.docx: is not listed in [[documents]]; remove it or add a "
                     "document entry for it"]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"%PDF-1.7\nthis is not really a pdf\n" * 20, "is not a readable PDF"),
        (b"Dear council, please find the budget attached." * 10, "is not a readable PDF"),
        (pdf_bytes(3)[:700], "is not a readable PDF"),
        (pdf_bytes(40, "x" * 80)[:-2000], "is damaged"),
        (b"", "is empty (0 bytes)"),
    ],
    ids=["fake-header", "text", "truncated", "truncated-tail", "empty"],
)
def test_broken_pdf(tmp_path: Path, content: bytes, fragment: str) -> None:
    path = write_package(tmp_path / "p", minimal_manifest(), {"documents/agenda.pdf": content})
    assert_reported(problems(path), "documents/agenda.pdf", fragment)


def test_image_named_pdf(tmp_path: Path) -> None:
    png = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489")
    png += bytes.fromhex(
        "0000000d4944415478da63f8cfc0f01f0005000201a0e3b1d10000000049454e44ae426082"
    )
    path = write_package(tmp_path / "p", minimal_manifest(), {"documents/agenda.pdf": png})
    assert_reported(problems(path), "documents/agenda.pdf", "is not a")


def test_encrypted_pdf(tmp_path: Path) -> None:
    pdf = make_encrypted_pdf(tmp_path / "secret.pdf")
    path = write_package(tmp_path / "p", minimal_manifest(), {"documents/agenda.pdf": pdf})
    assert_reported(problems(path), "documents/agenda.pdf", "is encrypted; remove the password")


def test_oversized_document_and_too_many_pages(tmp_path: Path) -> None:
    pdf = make_pdf(tmp_path / "big.pdf", pages=5, text="x" * 60)
    path = write_package(tmp_path / "p", minimal_manifest(), {"documents/agenda.pdf": pdf})
    small = PackageLimits(max_document_bytes=100)
    assert_reported(problems(path, small), "documents/agenda.pdf", "larger than the 100 bytes")
    few = PackageLimits(max_pages=4)
    assert_reported(problems(path, few), "documents/agenda.pdf", "has 5 pages", "limit of 4")
    tiny = PackageLimits(max_package_bytes=100)
    assert_reported(problems(path, tiny), str(path), "more than the 100 bytes limit")


def test_folder_symlink_pointing_outside(tmp_path: Path) -> None:
    outside = make_pdf(tmp_path / "outside.pdf")
    path = write_package(tmp_path / "p", minimal_manifest(), {})
    (path / "documents").mkdir()
    (path / "documents" / "agenda.pdf").symlink_to(outside)
    (path / "escape").symlink_to(tmp_path)
    found = problems(path)
    assert_reported(found, "documents/agenda.pdf", "symbolic link pointing outside the package")
    assert_reported(found, "escape", "symbolic link pointing outside the package")
    assert not any("not in the package" in line for line in found)


def test_two_manifests(tmp_path: Path) -> None:
    path = write_package(tmp_path / "p", minimal_manifest())
    (path / "meeting.json").write_text(json.dumps(minimal_manifest()), encoding="utf-8")
    assert_reported(problems(path), str(path), "both meeting.toml and meeting.json")


def test_no_manifest(tmp_path: Path) -> None:
    path = write_package(tmp_path / "p", None, {"documents/agenda.pdf": pdf_bytes()})
    assert_reported(problems(path), str(path), "has no meeting.toml or meeting.json")


def test_not_a_package(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    assert_reported(problems(tmp_path / "notes.txt"), str(tmp_path / "notes.txt"), "neither")
    assert_reported(
        problems(tmp_path / "broken.zip"), str(tmp_path / "broken.zip"), "not a readable zip"
    )
    assert_reported(problems(tmp_path / "absent"), str(tmp_path / "absent"), "does not exist")


# --- zip problems ----------------------------------------------------------------------


@pytest.fixture
def good_folder(tmp_path: Path) -> Path:
    return write_package(tmp_path / "good", minimal_manifest())


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ("/etc/evil.pdf", "has an absolute path"),
        ("../evil.pdf", "'..' component"),
        ("documents/../../evil.pdf", "'..' component"),
        ("documents\\evil.pdf", "backslash"),
        ("C:/evil.pdf", "drive letter"),
    ],
)
def test_zip_path_tricks(tmp_path: Path, good_folder: Path, entry: str, fragment: str) -> None:
    archive = zip_package(good_folder, tmp_path / "p.zip", [(entry, b"x")])
    assert_reported(problems(archive), entry, fragment, "not extracted")
    assert not (tmp_path / "evil.pdf").exists()


def test_zip_symlink_entry(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("documents/agenda.pdf")
    link.external_attr = 0o120777 << 16
    archive = zip_package(
        None,
        tmp_path / "p.zip",
        [("meeting.toml", toml_text(minimal_manifest()).encode()), (link, b"/etc/passwd")],
    )
    found = problems(archive)
    assert found == ["documents/agenda.pdf: is a symbolic link; packages must contain real files"]


def test_zip_duplicate_names(tmp_path: Path, good_folder: Path) -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        archive = zip_package(good_folder, tmp_path / "p.zip", [("documents/agenda.pdf", b"x")])
    assert_reported(problems(archive), "documents/agenda.pdf", "appears 2 times")


def test_zip_bomb(tmp_path: Path, good_folder: Path) -> None:
    (good_folder / "documents" / "agenda.pdf").write_bytes(bytes(8 * MiB))
    archive = zip_package(good_folder, tmp_path / "p.zip")
    found = problems(archive, PackageLimits(max_document_bytes=1 * MiB))
    assert_reported(found, "documents/agenda.pdf", "larger than the 1.0 MiB limit")
    assert_reported(found, "documents/agenda.pdf", "zip bomb")


def test_zip_entry_lying_about_its_size(tmp_path: Path) -> None:
    manifest = toml_text(minimal_manifest()).encode()
    archive = zip_package(
        None,
        tmp_path / "p.zip",
        [("meeting.toml", manifest), ("documents/agenda.pdf", bytes(4 * MiB))],
    )
    data = bytearray(archive.read_bytes())
    local = data.index(
        b"PK\x03\x04documents/agenda.pdf"[:4], data.index(b"documents/agenda.pdf") - 30
    )
    central = data.rindex(b"PK\x01\x02")
    data[local + 22 : local + 26] = (1000).to_bytes(4, "little")
    data[central + 24 : central + 28] = (1000).to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    assert_reported(problems(archive), "documents/agenda.pdf", "cannot be read from the zip")


def test_zip_with_folder_inside_gets_a_hint(tmp_path: Path, good_folder: Path) -> None:
    archive = tmp_path / "p.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(good_folder.rglob("*")):
            if path.is_file():
                out.write(path, f"council/{path.relative_to(good_folder).as_posix()}")
    assert_reported(problems(archive), str(archive), "found council/meeting.toml", "not the folder")


def test_zip_too_many_entries(tmp_path: Path, good_folder: Path) -> None:
    extra = [(f"__MACOSX/junk{i}", b"") for i in range(10)]
    archive = zip_package(good_folder, tmp_path / "p.zip", extra)
    assert_reported(
        problems(archive, PackageLimits(max_files=5)), str(archive), "more than the limit of 5"
    )


def test_zip_errors_leave_no_temporary_files(
    tmp_path: Path, good_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    archive = zip_package(good_folder, tmp_path / "p.zip", [("stray.txt", b"x")])
    problems(archive)
    with open_package(zip_package(good_folder, tmp_path / "ok.zip")):
        assert len(list(scratch.iterdir())) == 1
    assert list(scratch.iterdir()) == []


# --- all problems at once --------------------------------------------------------------


def test_every_problem_is_reported_in_order(tmp_path: Path) -> None:
    manifest = minimal_manifest({"a": "documents/a.pdf", "b": "documents/b.pdf", "c": "c.pdf"})
    manifest["meeting"]["colour"] = "blue"
    manifest["delegates"][1]["seat"] = "A9"
    files: dict[str, bytes | Path] = {
        "documents/a.pdf": make_encrypted_pdf(tmp_path / "enc.pdf"),
        "documents/b.pdf": b"not a pdf",
        "stray.txt": b"x",
    }
    path = write_package(tmp_path / "p", manifest, files)
    with pytest.raises(PackageError) as caught, open_package(path):
        pass
    error = caught.value
    assert [p.file for p in error.problems] == [
        "meeting.toml", "meeting.toml", "stray.txt", "documents/a.pdf", "documents/b.pdf", "c.pdf",
    ]  # fmt: skip
    text = str(error).splitlines()
    assert text[0] == f"meeting package {path} rejected; problems found: 6"
    assert text[1:] == [f"  {problem}" for problem in error.problems]
    assert problems(path) == [str(p) for p in error.problems]  # deterministic
    assert str(Problem("x.pdf", "is bad")) == "x.pdf: is bad"


# --- robustness ------------------------------------------------------------------------

_KEYS = [
    *("format", "meeting", "documents", "agenda", "seats", "delegates", "id", "title", "date"),
    *("file", "items", "number", "seat", "role", "planned_minutes", "label", "name"),
    *("attendance", "proxies", "poll_templates", "polls", "voting", "weight", "quorum"),
    *("quorum_count", "max_proxies", "giver", "holder", "kind", "majority", "base"),
    *("template", "item", "options", "seats", "max_choices", "secret", "allow_change"),
]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["1", "A1", "chair", "2026-11-21", "09:00", "documents/x.pdf", "", "../x"]),
    st.sampled_from(["d1", "yes_no", "single", "election", "absolute", "fixed", "opening"]),
    st.text(max_size=8),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=25,
)


def _manifests() -> st.SearchStrategy[dict[str, Any]]:
    base = minimal_manifest()

    def merge(changes: dict[str, Any]) -> dict[str, Any]:
        manifest = copy.deepcopy(base)
        manifest.update(changes)
        return manifest

    random_top = st.dictionaries(st.sampled_from(_KEYS), _values, max_size=6)
    return random_top | random_top.map(merge)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(manifest=_manifests(), as_toml=st.booleans())
def test_random_manifests_only_raise_package_error(manifest: dict[str, Any], as_toml: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if as_toml:
            try:
                text = toml_text(manifest)
            except TypeError:  # None has no TOML form
                return
            (folder / "meeting.toml").write_text(text, encoding="utf-8")
        else:
            (folder / "meeting.json").write_text(json.dumps(manifest), encoding="utf-8")
        try:
            with open_package(folder):
                pass
        except PackageError as error:
            assert error.problems


@settings(max_examples=60, deadline=None)
@given(raw=st.binary(max_size=200))
def test_random_manifest_bytes_only_raise_package_error(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "meeting.toml").write_bytes(raw)
        with pytest.raises(PackageError), open_package(Path(tmp)):
            pass
