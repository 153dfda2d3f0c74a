"""Meeting package validation: good packages open, every kind of bad one is named."""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioning.sample_package import write_sample_package
from room_server.package import (
    MeetingPackage,
    PackageError,
    PackageLimits,
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
    assert text[0] == f"meeting package {path} rejected: 6 problem(s)"
    assert text[1:] == [f"  {problem}" for problem in error.problems]
    assert problems(path) == [str(p) for p in error.problems]  # deterministic
    assert str(Problem("x.pdf", "is bad")) == "x.pdf: is bad"


# --- robustness ------------------------------------------------------------------------

_KEYS = [
    *("format", "meeting", "documents", "agenda", "seats", "delegates", "id", "title", "date"),
    *("file", "items", "number", "seat", "role", "planned_minutes", "label", "name"),
]
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["1", "A1", "chair", "2026-11-21", "09:00", "documents/x.pdf", "", "../x"]),
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
