"""Real-world PDFs at import: what MuPDF repairs intact is stored re-saved clean, what
lost content, dynamic XFA forms and empty files are refused with a reason, a page slow
to draw is named, and nothing ends in a traceback."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from room_server.importer import add_document, import_package
from room_server.package import (
    PackageError,
    PackageLimits,
    SlowPage,
    open_package,
)
from room_server.package.drawing import OUT_OF_TIME, draw_pages
from room_server.package.pdf import UnusablePdfError, read_pdf, strip_active_content
from room_server.store import Store
from tests import damaged_pdfs, packages
from tests.room_server.test_import import fingerprint, open_store
from tests.rooms import room_cli, write_config

# A limit far below the heavy page's ~20 s at tablet size and far above a text page's
# tens of milliseconds, whatever else the machine is doing.
QUICK = PackageLimits(slow_page_seconds=0.5, page_draw_limit_seconds=1.0)

REPAIRABLE = {
    "broken-xref-offsets": damaged_pdfs.broken_xref_offsets,
    "truncated-tail": damaged_pdfs.truncated_tail,
    "missing-startxref": damaged_pdfs.missing_startxref,
}


def package_with(root: Path, files: dict[str, bytes]) -> Path:
    manifest = packages.minimal_manifest({name: f"documents/{name}.pdf" for name in files})
    return packages.write_package(
        root, manifest, {f"documents/{name}.pdf": data for name, data in files.items()}
    )


def stored(store_root: Path, sha256: str) -> Path:
    return store_root / "documents" / sha256[:2] / f"{sha256}.pdf"


@pytest.mark.parametrize("kind", sorted(REPAIRABLE))
def test_a_repairable_pdf_is_stored_re_saved_clean_and_alike_every_time(
    tmp_path: Path, kind: str
) -> None:
    data = REPAIRABLE[kind]()
    assert pymupdf.open(stream=data, filetype="pdf").is_repaired  # type: ignore[no-untyped-call]
    hashes = []
    for attempt in ("first", "second"):
        root = tmp_path / attempt
        with open_store(root / "state") as store:
            report = import_package(store, package_with(root / "pkg", {"minutes": data}))
            (doc,) = store.snapshot().documents  # type: ignore[union-attr]
        assert report.repaired == (("documents/minutes.pdf", "Document minutes"),)
        blob = stored(root / "state", doc.sha256)
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == doc.sha256
        assert blob.read_bytes() != data
        with pymupdf.open(blob) as clean:  # type: ignore[no-untyped-call]
            assert not clean.is_repaired
            assert clean.page_count == doc.pages == 3
            assert "damaged-file test, page 3" in clean[2].get_text()
        hashes.append(doc.sha256)
    assert hashes[0] == hashes[1]  # same file, same stored bytes: the same document


@pytest.mark.parametrize(
    "data", [damaged_pdfs.crlf_mangled(), damaged_pdfs.lost_images()], ids=["crlf", "images"]
)
def test_a_repair_that_lost_content_is_refused_naming_the_pages(
    tmp_path: Path, data: bytes
) -> None:
    path = package_with(tmp_path / "pkg", {"minutes": data})
    with pytest.raises(PackageError) as caught, open_package(path):
        pass
    (problem,) = caught.value.problems
    assert problem.file == "documents/minutes.pdf"
    assert "the repair lost content: nothing shows on pages 1, 2, which had text or images" in (
        problem.message
    )


def test_a_repaired_scan_whose_images_survived_is_accepted(tmp_path: Path) -> None:
    path = package_with(tmp_path / "pkg", {"scan": damaged_pdfs.scanned_truncated_tail()})
    with open_package(path) as package:
        (doc,) = package.documents
    assert (doc.repaired, doc.pages, doc.slow_pages) == (True, 2, ())


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (damaged_pdfs.dynamic_xfa(), "is a dynamic XFA form"),
        (damaged_pdfs.dynamic_xfa(needs_rendering=False), "is a dynamic XFA form"),
        (damaged_pdfs.zero_pages(), "has no pages"),
        (damaged_pdfs.bad_page_count(), "its page tree is broken"),
        (damaged_pdfs.page_tree_cycle(), "page 1 (code=7: cycle in page tree) cannot be read"),
    ],
    ids=["xfa-needs-rendering", "xfa-placeholder-only", "zero-pages", "bad-count", "cycle"],
)
def test_an_unusable_pdf_is_refused_with_its_reason(
    tmp_path: Path, data: bytes, reason: str
) -> None:
    path = package_with(tmp_path / "pkg", {"form": data})
    with pytest.raises(PackageError) as caught, open_package(path):
        pass
    assert [p.file for p in caught.value.problems] == ["documents/form.pdf"]
    assert reason in caught.value.problems[0].message
    if "XFA" in reason:
        assert "open it in Adobe Reader and print it to PDF, then import that" in str(caught.value)


def test_a_heavy_page_is_named_slow_without_holding_up_the_import(tmp_path: Path) -> None:
    path = package_with(tmp_path / "pkg", {"plan": damaged_pdfs.heavy_vector_page()})
    with open_package(path, QUICK) as package:
        (doc,) = package.documents
    assert doc.slow_pages == (SlowPage(2, 1.0, overran=True),)
    assert doc.source.read_bytes() == (tmp_path / "pkg/documents/plan.pdf").read_bytes()


def test_every_problem_of_every_file_is_listed_and_nothing_is_stored(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with open_store(state) as store:
        import_package(store, package_with(tmp_path / "existing", {"a": packages.pdf_bytes()}))
    before = fingerprint(state)
    files = {
        "lost": damaged_pdfs.crlf_mangled(),
        "count": damaged_pdfs.bad_page_count(),
        "cycle": damaged_pdfs.page_tree_cycle(),
        "empty": damaged_pdfs.zero_pages(),
        "xfa": damaged_pdfs.dynamic_xfa(),
        "fine": damaged_pdfs.truncated_tail(),
    }
    with open_store(state) as store, pytest.raises(PackageError) as caught:
        import_package(store, package_with(tmp_path / "bad", files))
    assert [p.file for p in caught.value.problems] == [
        f"documents/{name}.pdf" for name in ("lost", "count", "cycle", "empty", "xfa")
    ]
    assert fingerprint(state) == before


def test_cli_import_lists_every_problem_and_warns_of_repairs_without_a_traceback(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, room_id="cli-room", room_name="CLI room", mdns=False)
    bad = package_with(
        tmp_path / "bad",
        {"count": damaged_pdfs.bad_page_count(), "lost": damaged_pdfs.crlf_mangled()},
    )
    result = room_cli(config, "import", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "documents/count.pdf: is not a readable PDF: its page tree is broken" in result.stderr
    assert "documents/lost.pdf: is damaged" in result.stderr
    assert "meeting package" in result.stderr and "2 problems" in result.stderr
    good = package_with(tmp_path / "good", {"minutes": damaged_pdfs.broken_xref_offsets()})
    result = room_cli(config, "import", str(good))
    assert result.returncode == 0, result.stderr
    assert (
        "documents/minutes.pdf (Document minutes): repaired: its cross-reference table was "
        "broken; stored re-saved" in result.stdout
    )
    as_json = room_cli(config, "import", "--json", str(good))
    assert json.loads(as_json.stdout)["imported"]["warnings"] == [
        "documents/minutes.pdf: repaired: its cross-reference table was broken; stored re-saved"
    ]


def test_add_document_repairs_refuses_and_says_document(tmp_path: Path) -> None:
    config = write_config(tmp_path, room_id="cli-room", room_name="CLI room", mdns=False)
    with open_store(tmp_path / "state") as store:  # the room the configuration names
        import_package(store, package_with(tmp_path / "pkg", {"a": packages.pdf_bytes()}))
        repairable = tmp_path / "late.pdf"
        repairable.write_bytes(damaged_pdfs.missing_startxref())
        late = add_document(store, repairable, item_id="main")
    assert late.repaired and late.pages == 3
    blob = stored(tmp_path / "state", late.sha256)
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == late.sha256
    xfa = tmp_path / "form.pdf"
    xfa.write_bytes(damaged_pdfs.dynamic_xfa())
    refused = room_cli(config, "add-document", str(xfa), "--item", "nope")
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    assert f"document {xfa} rejected: 2 problems" in refused.stderr
    assert "meeting package" not in refused.stderr
    assert "form.pdf: is a dynamic XFA form" in refused.stderr
    assert "agenda item 'nope' is not in the meeting" in refused.stderr
    assert "nothing was added" in refused.stderr


def test_add_document_in_process_names_a_slow_page(tmp_path: Path) -> None:
    with Store(tmp_path / "room.sqlite3", tmp_path / "documents") as store:
        import_package(store, package_with(tmp_path / "pkg", {"a": packages.pdf_bytes()}))
        plan = tmp_path / "plan.pdf"
        plan.write_bytes(damaged_pdfs.heavy_vector_page())
        late = add_document(store, plan, item_id="main", limits=QUICK)
    assert late.slow_pages == (SlowPage(2, 1.0, overran=True),)
    assert late.pages == 3


def test_an_atlas_of_heavy_pages_is_drawn_within_the_document_budget(tmp_path: Path) -> None:
    plan = tmp_path / "plan.pdf"
    plan.write_bytes(damaged_pdfs.heavy_vector_page())
    drawn = draw_pages(plan, [], [1, 2, 3], limit_seconds=1.0, document_seconds=0.5)
    assert drawn[2].overran or drawn[2].failed == OUT_OF_TIME  # ~20 s: never waited for
    assert drawn[3].failed == OUT_OF_TIME  # the budget was gone before it
    assert not drawn[3].overran


_SEED_PDF = damaged_pdfs.text_pdf(2)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(
    cut=st.integers(min_value=1, max_value=len(_SEED_PDF)),
    edits=st.lists(
        st.tuples(st.integers(min_value=0, max_value=len(_SEED_PDF) - 1), st.binary(max_size=4)),
        max_size=6,
    ),
)
def test_a_damaged_pdf_is_read_or_refused_never_raised(
    cut: int, edits: list[tuple[int, bytes]]
) -> None:
    """Cut and overwritten anywhere, a PDF is read (and rewritten) or refused with a reason:
    MuPDF's own exceptions never escape the reading."""
    data = bytearray(_SEED_PDF[:cut])
    for at, replacement in edits:
        data[at : at + len(replacement)] = replacement
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "damaged.pdf"
        path.write_bytes(bytes(data))
        try:
            facts = read_pdf(path)
            strip_active_content(path, Path(tmp) / "clean.pdf", resave=facts.repaired)
        except UnusablePdfError as refused:
            assert str(refused)


def test_a_password_to_open_is_refused_and_permissions_alone_are_not(tmp_path: Path) -> None:
    locked = packages.make_encrypted_pdf(tmp_path / "locked.pdf").read_bytes()
    doc: Any = pymupdf.open()
    doc.new_page().insert_text((72, 96), "print only")
    doc.save(
        str(tmp_path / "permissions.pdf"),
        encryption=pymupdf.PDF_ENCRYPT_AES_256,
        owner_pw="owner",  # a test file's password
        permissions=pymupdf.PDF_PERM_PRINT,
    )
    doc.close()
    permissions = (tmp_path / "permissions.pdf").read_bytes()
    path = package_with(tmp_path / "pkg", {"locked": locked, "permissions": permissions})
    with pytest.raises(PackageError) as caught, open_package(path):
        pass
    assert [str(p) for p in caught.value.problems] == [
        "documents/locked.pdf: is encrypted; remove the password before packaging"
    ]
