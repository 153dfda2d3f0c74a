"""Builders for meeting packages in tests: real PDFs, manifests, folders and zips.

Reusable by any test that needs a good or deliberately broken package.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pymupdf

_mupdf: Any = pymupdf  # partly typed: under --strict each call would be "untyped"

FileContent = bytes | Path


def make_pdf(path: Path, pages: int = 3, text: str = "Hemicycle test document") -> Path:
    """Write a real PDF with ``pages`` A4 pages, each showing ``text`` and its number."""
    doc = _mupdf.open()
    for number in range(1, pages + 1):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 96), text, fontsize=14)
        page.insert_text((72, 800), f"page {number} of {pages}", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(doc.tobytes(garbage=3, deflate=True, no_new_id=True))
    doc.close()
    return path


def pdf_bytes(pages: int = 3, text: str = "Hemicycle test document") -> bytes:
    doc = _mupdf.open()
    for number in range(1, pages + 1):
        doc.new_page(width=595, height=842).insert_text((72, 96), f"{text} {number}")
    data: bytes = doc.tobytes(garbage=3, deflate=True, no_new_id=True)
    doc.close()
    return data


def make_encrypted_pdf(path: Path, password: str = "secret") -> Path:  # noqa: S107
    """A PDF that needs a user password to open (AES-256)."""
    doc = _mupdf.open()
    doc.new_page().insert_text((72, 96), "confidential")
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path), encryption=_mupdf.PDF_ENCRYPT_AES_256, user_pw=password, owner_pw=password)
    doc.close()
    return path


def minimal_manifest(documents: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A valid manifest dict; ``documents`` maps document id to file path."""
    documents = {"agenda-doc": "documents/agenda.pdf"} if documents is None else documents
    return {
        "format": 1,
        "meeting": {"id": "test-meeting", "title": "Test meeting", "date": "2026-11-21"},
        "documents": [
            {"id": doc_id, "file": file, "title": f"Document {doc_id}"}
            for doc_id, file in documents.items()
        ],
        "agenda": [
            {"id": "opening", "title": "Opening"},
            {"id": "main", "title": "Main item", "documents": list(documents)},
        ],
        "seats": [{"id": "A1"}, {"id": "A2"}],
        "delegates": [
            {"id": "chair", "name": "Chair Person", "role": "chair", "seat": "A1"},
            {"id": "d1", "name": "Nguyễn Văn An", "seat": "A2"},
        ],
    }


def toml_text(manifest: Mapping[str, Any]) -> str:
    """TOML for a manifest-shaped dict (tables, arrays of tables, scalars, lists)."""
    lines: list[str] = []
    _toml_table(manifest, [], lines)
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(f"no TOML form for {value!r}")


def _is_table_array(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _toml_table(table: Mapping[str, Any], path: list[str], lines: list[str]) -> None:
    nested = []
    for key, value in table.items():
        if isinstance(value, dict) or _is_table_array(value):
            nested.append((key, value))
        else:
            lines.append(f"{json.dumps(key)} = {_toml_value(value)}")
    for key, value in nested:
        sub = [*path, json.dumps(key)]
        if isinstance(value, dict):
            lines.extend(["", f"[{'.'.join(sub)}]"])
            _toml_table(value, sub, lines)
        else:
            for item in value:
                lines.extend(["", f"[[{'.'.join(sub)}]]"])
                _toml_table(item, sub, lines)


def write_package(
    directory: Path,
    manifest: Mapping[str, Any] | None,
    files: Mapping[str, FileContent] | None = None,
    *,
    manifest_format: str = "toml",
) -> Path:
    """A package folder: ``meeting.toml`` (or ``.json``) plus ``files`` (bytes or a path to copy).

    With ``files=None``, every document in the manifest gets a real 2-page PDF. With
    ``manifest=None`` no manifest is written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if manifest is not None:
        if manifest_format == "toml":
            (directory / "meeting.toml").write_text(toml_text(manifest), encoding="utf-8")
        else:
            text = json.dumps(manifest, ensure_ascii=False, indent=2)
            (directory / "meeting.json").write_text(text, encoding="utf-8")
    if files is None:
        documents = manifest.get("documents", []) if manifest is not None else []
        files = {doc["file"]: pdf_bytes(2, doc["id"]) for doc in documents}
    for name, content in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.read_bytes())
    return directory


def zip_package(
    folder: Path | None,
    zip_path: Path,
    extra_entries: Iterable[tuple[str | zipfile.ZipInfo, bytes]] = (),
) -> Path:
    """Zip a package folder's contents (not the folder itself), then add ``extra_entries``."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        if folder is not None:
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(folder).as_posix())
        for name, data in extra_entries:
            archive.writestr(name, data)
    return zip_path
