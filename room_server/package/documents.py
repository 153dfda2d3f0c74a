"""The package's files against its ``[[documents]]``: nothing missing, nothing extra,
every listed file a readable PDF within the limits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from room_server.package.contents import PackageDocument, SlowPage
from room_server.package.drawing import UNJUDGED, draw_pages
from room_server.package.limits import PackageLimits, too_big_document
from room_server.package.manifest import Manifest
from room_server.package.names import MANIFEST_NAMES, is_junk
from room_server.package.pdf import UnusablePdfError, page_list, read_pdf, strip_active_content
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
        checked = _check_document(source, entry, index, limits, report, scratch)
        if checked is None:
            ok = False
            continue
        documents.append(
            PackageDocument(
                doc.id,
                doc.title,
                doc.file,
                doc.confidential,
                checked.sha256,
                checked.size,
                checked.pages,
                checked.source,
                checked.removed,
                doc.members,
                doc.roles,
                checked.repaired,
                checked.slow_pages,
            )
        )
    return tuple(documents) if ok else None


def _check_document(
    source: Source, entry: Entry, index: int, limits: PackageLimits, report: Report, scratch: Path
) -> PreparedPdf | None:
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
        return prepare_pdf(path, scratch / f"{index:04d}.clean.pdf", limits, digest)
    except UnusablePdfError as exc:
        report.add(entry.name, str(exc).replace(str(path), entry.name))
        return None


@dataclass(frozen=True, slots=True)
class PreparedPdf:
    """A PDF as it will be stored: its own bytes, or rewritten (repaired, stripped)."""

    source: Path
    sha256: str
    size: int
    pages: int
    removed: tuple[tuple[str, int], ...] = ()  # active content stripped: (kind, places)
    repaired: bool = False  # its cross-reference table was rebuilt; stored re-saved
    slow_pages: tuple[SlowPage, ...] = ()


def prepare_pdf(
    path: Path, out: Path, limits: PackageLimits, sha256: str | None = None
) -> PreparedPdf:
    """Check ``path`` as strictly as a tablet needs and say how it will be stored: as it
    is, or rewritten into ``out`` (repaired, active content removed). Raise
    UnusablePdfError naming every reason it cannot be; ``sha256``: of ``path``, if known."""
    facts = read_pdf(path)
    if facts.pages > limits.max_pages:
        raise UnusablePdfError(
            f"has {facts.pages} pages, more than the limit of {limits.max_pages}"
        )
    drawn = draw_pages(path, facts.unproven, facts.heavy, limits.page_draw_limit_seconds)
    failed = [d for d in drawn.values() if d.failed and d.failed not in UNJUDGED]
    if failed:
        raise UnusablePdfError(
            f"cannot be drawn: {page_list([d.page for d in failed])} fail ({failed[0].failed})"
        )
    lost = sorted({*facts.lost, *(page for page in facts.unproven if drawn[page].blank)})
    if lost:
        raise UnusablePdfError(
            "is damaged (its cross-reference table was broken) and the repair lost content: "
            f"nothing shows on {page_list(lost)}, which had text or images; "
            "export it again from the program that made it"
        )
    slow = tuple(
        SlowPage(d.page, d.seconds, d.overran)
        for d in sorted(drawn.values(), key=lambda d: d.page)
        if d.overran or (d.page in facts.heavy and d.seconds >= limits.slow_page_seconds)
    )
    found = strip_active_content(path, out, resave=facts.repaired)
    if not found and not facts.repaired:
        if sha256 is None:
            sha256 = _sha256(path)
        return PreparedPdf(path, sha256, path.stat().st_size, facts.pages, slow_pages=slow)
    return PreparedPdf(
        out,
        _sha256(out),
        out.stat().st_size,
        facts.pages,
        tuple(sorted(found.items())),
        facts.repaired,
        slow,
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
