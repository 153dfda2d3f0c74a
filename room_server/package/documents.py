"""The package's files against its ``[[documents]]``: nothing missing, nothing extra,
every listed file a readable PDF within the limits."""

from __future__ import annotations

import hashlib
from pathlib import Path

from room_server.package.contents import PackageDocument
from room_server.package.limits import PackageLimits, too_big_document
from room_server.package.manifest import Manifest
from room_server.package.names import MANIFEST_NAMES, is_junk
from room_server.package.pdf import UnusablePdfError, count_pdf_pages, strip_active_content
from room_server.package.problems import Report
from room_server.package.sources import Entry, Source


def check_files(
    source: Source, manifest: Manifest, limits: PackageLimits, report: Report, scratch: Path
) -> tuple[PackageDocument, ...] | None:
    """``scratch``: a private directory for documents rewritten without active content."""
    expected = {doc.file for doc in manifest.documents} | set(MANIFEST_NAMES)
    lowered = {name.lower(): name for name in source.entries}
    for name, listed in source.entries.items():
        if listed.readable and name not in expected and not is_junk(name):
            report.add(
                name,
                "is not listed in [[documents]]; remove it or add a document entry for it",
            )
    documents: list[PackageDocument] = []
    ok = True
    for index, doc in enumerate(manifest.documents):
        entry = source.entries.get(doc.file)
        if entry is None:
            close = lowered.get(doc.file.lower())
            hint = f' (there is "{close}"; names are case-sensitive)' if close else ""
            report.add(doc.file, f"is listed for {doc.where} but is not in the package{hint}")
            ok = False
            continue
        checked = _check_document(source, entry, index, limits, report)
        if checked is None:
            ok = False
            continue
        path, digest, size, pages = checked
        try:
            stripped = strip_pdf(path, scratch / f"{index:04d}.stripped.pdf")
        except UnusablePdfError as exc:
            report.add(entry.name, str(exc))
            ok = False
            continue
        if stripped is not None:
            path, digest, size, removed = stripped
        else:
            removed = ()
        documents.append(
            PackageDocument(
                doc.id,
                doc.title,
                doc.file,
                doc.confidential,
                digest,
                size,
                pages,
                path,
                removed,
                doc.members,
                doc.roles,
            )
        )
    return tuple(documents) if ok else None


def _check_document(
    source: Source, entry: Entry, index: int, limits: PackageLimits, report: Report
) -> tuple[Path, str, int, int] | None:
    if not entry.readable:
        return None
    if entry.size == 0:
        report.add(entry.name, "is empty (0 bytes)")
        return None
    if entry.size > limits.max_document_bytes:
        report.add(entry.name, too_big_document(entry.size, limits))
        return None
    materialised = source.materialise(entry, index)
    if materialised is None:
        return None
    path, digest, size = materialised
    if size == 0:
        report.add(entry.name, "is empty (0 bytes)")
        return None
    try:
        pages = count_pdf_pages(path)
    except UnusablePdfError as exc:
        report.add(entry.name, str(exc).replace(str(path), entry.name))
        return None
    if pages < 1:
        report.add(entry.name, "has no pages")
        return None
    if pages > limits.max_pages:
        report.add(entry.name, f"has {pages} pages, more than the limit of {limits.max_pages}")
        return None
    return path, digest, size, pages


def strip_pdf(path: Path, out: Path) -> tuple[Path, str, int, tuple[tuple[str, int], ...]] | None:
    """None for a PDF without active content (its bytes are stored as they are); else the
    rewritten file's path, sha256 and size, and what was removed (kind, places)."""
    found = strip_active_content(path, out)
    if not found:
        return None
    digest = hashlib.sha256()
    with out.open("rb") as stream:
        while block := stream.read(1024 * 1024):
            digest.update(block)
    return out, digest.hexdigest(), out.stat().st_size, tuple(sorted(found.items()))
