"""The demo package: valid, deterministic, realistic enough for screenshots."""

from __future__ import annotations

import ast
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pymupdf
import pytest

import provisioning
from provisioning.cli import main
from provisioning.sample_package import SAMPLE_MEETING_ID, write_sample_package

_mupdf: Any = pymupdf


def test_folder_layout_and_manifest(tmp_path: Path) -> None:
    folder = write_sample_package(tmp_path)
    assert folder == tmp_path / SAMPLE_MEETING_ID
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    manifest = tomllib.loads((folder / "meeting.toml").read_text(encoding="utf-8"))
    assert names == sorted(["meeting.toml", *(d["file"] for d in manifest["documents"])])
    assert manifest["format"] == 1
    assert len(manifest["agenda"]) == 6
    assert manifest["agenda"][2]["items"][2]["items"][1]["id"] == "budget-final-vote"


def test_manifest_has_attendance_proxy_and_draft_polls(tmp_path: Path) -> None:
    folder = write_sample_package(tmp_path)
    manifest = tomllib.loads((folder / "meeting.toml").read_text(encoding="utf-8"))

    def ids(items: list[dict[str, Any]]) -> list[str]:
        return [x for item in items for x in (item["id"], *ids(item.get("items", [])))]

    assert manifest["attendance"]["quorum"] == "majority"
    assert manifest["proxies"] == [{"giver": "d013", "holder": "d010"}]
    templates = {t["id"]: t for t in manifest["poll_templates"]}
    assert (templates["motion"]["kind"], templates["motion"]["majority"]) == ("yes_no", "simple")
    assert templates["motion"]["base"] == "cast"
    election = templates["secret-election"]
    assert (election["kind"], election["majority"], election["secret"]) == (
        "election", "plurality", True,
    )  # fmt: skip
    polls = manifest["polls"]
    assert len(polls) == 3
    assert {p["item"] for p in polls} <= set(ids(manifest["agenda"]))
    assert [p.get("template") for p in polls] == ["motion", None, "secret-election"]
    assert polls[2]["seats"] == 2 and len(polls[2]["options"]) == 4
    people = manifest["delegates"]
    assert not any("weight" in d or "voting" in d for d in people)  # the defaults
    assert [(d["pin"], d["badge"]) for d in people][:3] == [
        ("1001", "DEMO-D001"), ("1002", "DEMO-D002"), ("1003", "DEMO-D003"),
    ]  # fmt: skip


def test_same_bytes_every_run(tmp_path: Path) -> None:
    first = write_sample_package(tmp_path / "one", as_zip=True).read_bytes()
    second = write_sample_package(tmp_path / "two", as_zip=True).read_bytes()
    assert first == second
    with zipfile.ZipFile(tmp_path / "one" / f"{SAMPLE_MEETING_ID}.zip") as archive:
        assert archive.namelist()[0] == "meeting.toml"
        assert {info.date_time for info in archive.infolist()} == {(2026, 11, 1, 9, 0, 0)}


def test_pdfs_are_a4_numbered_and_varied(tmp_path: Path) -> None:
    folder = write_sample_package(tmp_path)
    for path in sorted((folder / "documents").glob("*.pdf")):
        with _mupdf.open(path) as doc:
            assert doc.metadata["creationDate"] == "D:20261101090000Z"
            texts = [page.get_text() for page in doc]
            assert len(set(texts)) == doc.page_count  # every page differs
            for number, (page, text) in enumerate(zip(doc, texts, strict=True), start=1):
                assert round(page.rect.width) == 595 and round(page.rect.height) == 842
                assert (
                    f"{number} of {doc.page_count}" in text or f"{number}/{doc.page_count}" in text
                )


def test_vietnamese_text_is_real_text(tmp_path: Path) -> None:
    folder = write_sample_package(tmp_path)
    with _mupdf.open(folder / "documents" / "bao-cao-kinh-te-xa-hoi-hoi-an.pdf") as doc:
        text = " ".join(page.get_text() for page in doc)
        fonts = {font[3].split("+")[-1] for font in doc.get_page_fonts(0)}
    assert "Báo cáo tình hình kinh tế – xã hội" in text
    assert "Tốc độ tăng GRDP" in text and "Ủy ban nhân dân" in text
    assert "Noto Sans Regular" in fonts


def test_budget_has_drawings(tmp_path: Path) -> None:
    folder = write_sample_package(tmp_path)
    with _mupdf.open(folder / "documents" / "budget-2027.pdf") as doc:
        assert len(doc[4].get_drawings()) > 10  # the bar chart


def test_cli_prints_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample-package", str(tmp_path), "--zip"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / f"{SAMPLE_MEETING_ID}.zip")
    assert main(["sample-package", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / SAMPLE_MEETING_ID)


def test_cli_needs_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "room-provision" in capsys.readouterr().err


def test_room_provision_is_installed_under_its_old_name_too() -> None:
    pyproject = tomllib.loads(
        (Path(provisioning.__file__).parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    )
    scripts = pyproject["project"]["scripts"]
    assert scripts["room-provision"] == scripts["hemicycle-provision"] == "provisioning.cli:main"


def test_provisioning_does_not_import_room_server() -> None:
    root = Path(provisioning.__file__).parent
    for source in root.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            assert not any(m.split(".")[0] in {"room_server", "tablet_client"} for m in modules), (
                f"{source.name} imports {modules}"
            )
