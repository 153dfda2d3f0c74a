"""The one PyMuPDF check: can a tablet open this PDF, and how many pages has it; and
the one place that strips what a meeting document may not carry (scripts, launch
actions, embedded files) before it is stored."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymupdf


class UnusablePdfError(Exception):
    pass


# Drawing instructions (page and form streams, decoded) from which a page may take seconds
# to draw: a plan or a map. Such pages are drawn once at import, with a time limit.
HEAVY_PAGE_BYTES = 256 * 1024
# Operators that show text (Tj, TJ) or images (Do, BI, sh). A page drawing only paths
# (a white background) may be blank on purpose.
_SHOWS = re.compile(rb"(?<![A-Za-z])(Tj|TJ|Do|BI|sh)(?![A-Za-z])")
_PLACEHOLDER = "please wait"  # the page XFA tools write for viewers without XFA
XFA_ADVICE = (
    'is a dynamic XFA form: tablets would show only its "Please wait..." page; '
    "open it in Adobe Reader and print it to PDF, then import that"
)


@dataclass(frozen=True, slots=True)
class PdfFacts:
    """What import learns by reading a PDF without drawing it."""

    pages: int
    repaired: bool  # MuPDF rebuilt its cross-reference table to read it
    # After a repair, 1-based pages whose instructions show text or images but which
    # have no text: drawn once to see whether the repair kept them.
    unproven: tuple[int, ...] = ()
    heavy: tuple[int, ...] = ()  # 1-based pages with at least HEAVY_PAGE_BYTES to draw
    # After a repair, 1-based pages whose stored instructions no longer decode (e.g. line
    # ends rewritten inside compressed streams): their content is lost.
    lost: tuple[int, ...] = ()


def _open(path: Path) -> Any:
    # MuPDF's own messages about the damage would bury the one line import prints for it
    pymupdf.TOOLS.mupdf_display_errors(False)  # type: ignore[no-untyped-call]
    try:
        return pymupdf.open(path)  # type: ignore[no-untyped-call]  # PyMuPDF is partly typed
    except Exception as exc:  # MuPDF raises FileDataError, RuntimeError, ValueError, ...
        reason = "it is damaged, truncated or not a PDF" if "Failed to open" in str(exc) else exc
        raise UnusablePdfError(f"is not a readable PDF: {reason}") from exc


def read_pdf(path: Path) -> PdfFacts:
    """Read every page of ``path`` as a tablet will; raise UnusablePdfError saying what
    is wrong. Nothing from MuPDF escapes as another exception: the file is untrusted."""
    doc = _open(path)
    with doc:
        try:
            return _read(doc)
        except UnusablePdfError:
            raise
        except Exception as exc:  # a broken object found on the way: reported, not raised
            raise UnusablePdfError(f"is not a readable PDF: {exc}") from exc


def _read(doc: Any) -> PdfFacts:
    if not doc.is_pdf:
        raise UnusablePdfError("is not a PDF (MuPDF reads it as another file type)")
    if doc.needs_pass or doc.is_encrypted:
        raise UnusablePdfError("is encrypted; remove the password before packaging")
    try:
        pages = int(doc.page_count)
    except Exception as exc:  # a page tree with a nonsense count
        raise UnusablePdfError(f"is not a readable PDF: its page tree is broken ({exc})") from exc
    if pages < 1:
        raise UnusablePdfError("has no pages")
    catalog = doc.pdf_catalog()
    xfa = doc.xref_get_key(catalog, "AcroForm/XFA")[0] != "null"
    if xfa and doc.xref_get_key(catalog, "NeedsRendering")[1] == "true":
        raise UnusablePdfError(XFA_ADVICE)
    unreadable: list[str] = []
    undecodable: list[int] = []  # stored instructions that decode to nothing
    showing: list[int] = []  # pages whose instructions show text or images
    heavy: list[int] = []
    placeholders = 0
    for index in range(pages):
        try:
            page = doc.load_page(index)
            raw = b"".join(doc.xref_stream_raw(x) or b"" for x in page.get_contents()).strip()
            decoded = page.read_contents()
            if raw and not decoded.strip():
                undecodable.append(index + 1)
            if _SHOWS.search(decoded):
                showing.append(index + 1)
            if _drawing_bytes(doc, page) >= HEAVY_PAGE_BYTES:
                heavy.append(index + 1)
            if xfa and _PLACEHOLDER in page.get_text().lower():
                placeholders += 1
        except Exception as exc:  # each page's own reason
            unreadable.append(f"{index + 1} ({exc})")
    if unreadable:
        raise UnusablePdfError(
            f"is not a readable PDF: {_pages(len(unreadable))} "
            f"{', '.join(unreadable[:5])}{' ...' if len(unreadable) > 5 else ''} cannot be read"
        )
    if xfa and placeholders == pages:
        raise UnusablePdfError(XFA_ADVICE)
    repaired = bool(doc.is_repaired)  # also set by a repair while the pages were read
    if not repaired:
        return PdfFacts(pages, repaired, heavy=tuple(heavy))
    unproven = tuple(n for n in showing if not doc.load_page(n - 1).get_text().strip())
    return PdfFacts(pages, repaired, unproven, tuple(heavy), tuple(undecodable))


def _drawing_bytes(doc: Any, page: Any) -> int:
    """Decoded size of the page's drawing instructions and of the forms it draws."""
    size = len(page.read_contents())
    for xref, *_rest in page.get_xobjects():
        if doc.xref_get_key(xref, "Subtype")[1] == "/Form":
            size += len(doc.xref_stream(xref) or b"")
    return int(size)


def _pages(count: int) -> str:
    return "page" if count == 1 else "pages"


def page_list(numbers: Sequence[int]) -> str:
    """ "page 3" or "pages 2, 5, 7" (at most ten named)."""
    named = ", ".join(str(n) for n in numbers[:10]) + (" ..." if len(numbers) > 10 else "")
    return f"{_pages(len(numbers))} {named}"


def count_pdf_pages(path: Path) -> int:
    """Page count of a readable, unencrypted PDF with at least one page."""
    return read_pdf(path).pages


# What a meeting document may not carry onto the tablets: scripts, programs to start,
# files inside it. Each kind is named in the import result (room_server.cli translates it).
JAVASCRIPT = "javascript"
LAUNCH = "launch"
EMBEDDED_FILE = "embedded_file"
FILE_ATTACHMENT = "file_attachment"
XFA = "xfa"
ACTIVE_CONTENT_KINDS = (JAVASCRIPT, LAUNCH, EMBEDDED_FILE, FILE_ATTACHMENT, XFA)

_ACTION_KEYS = ("A", "OpenAction", "Next", "AA")  # where actions hang: links, widgets, pages
_BAD_ACTION = re.compile(r"/S\s*/(JavaScript|Launch)\b|/JS\b")
_REFERENCE = re.compile(r"\b(\d+)\s+0\s+R\b")
_FILE_ATTACHMENT_ANNOT = 17  # PDF_ANNOT_FILE_ATTACHMENT


def strip_active_content(path: Path, out: Path, *, resave: bool = False) -> dict[str, int]:
    """What active content ``path`` has (kind: how many places), and with any, ``out``
    written without it: same pages and visible content. A PDF with none is not touched,
    so its bytes (and sha256) stay as they are, unless ``resave`` (a repaired file):
    then ``out`` is written anyway, with a sound cross-reference table. The same input
    always gives the same bytes out (no new /ID, no dates)."""
    doc = _open(path)
    try:
        with doc:
            found = _remove_active_content(doc)
            if not found and not resave:
                return {}
            pages = doc.page_count
            # garbage=3 drops the objects nothing refers to any more (the scripts, the files)
            doc.save(out, garbage=3, deflate=True, no_new_id=True)
    except Exception as exc:  # a broken object met on the way: the file is untrusted
        raise UnusablePdfError(_not_rewritten(resave, str(exc))) from exc
    check = _open(out)
    with check:
        try:
            left = _remove_active_content(check)
            sound = check.page_count == pages and not check.is_repaired
        except Exception as exc:
            raise UnusablePdfError(_not_rewritten(resave, str(exc))) from exc
    if left:
        raise UnusablePdfError(
            f"has active content ({', '.join(sorted(found))}) that could not be removed"
        )
    if not sound:
        raise UnusablePdfError(_not_rewritten(resave, "the rewritten file reads differently"))
    return found


def _not_rewritten(repairing: bool, reason: str) -> str:
    if repairing:
        return (
            "is damaged (truncated or badly edited: its cross-reference table is broken) and "
            f"could not be repaired ({reason}); export it again from the program that made it"
        )
    return f"cannot be rewritten without its active content ({reason})"


def _remove_active_content(doc: Any) -> dict[str, int]:
    """Remove JavaScript and Launch actions, embedded files, file attachment annotations
    and XFA forms from the open ``doc``; count each kind removed."""
    found: dict[str, int] = {}

    def count(kind: str, n: int = 1) -> None:
        found[kind] = found.get(kind, 0) + n

    for page in doc:
        for annot in list(page.annots(types=[_FILE_ATTACHMENT_ANNOT])):
            page.delete_annot(annot)
            count(FILE_ATTACHMENT)
    names = doc.embfile_names()
    for name in names:
        doc.embfile_del(name)
    if names:
        count(EMBEDDED_FILE, len(names))
    catalog = doc.pdf_catalog()
    for key, kind in (("Names/JavaScript", JAVASCRIPT), ("AcroForm/XFA", XFA)):
        if doc.xref_get_key(catalog, key)[0] != "null":
            doc.xref_set_key(catalog, key, "null")
            count(kind)
    if found and doc.xref_get_key(catalog, "PageMode")[1] == "/UseAttachments":
        doc.xref_set_key(catalog, "PageMode", "/UseNone")  # no attachments panel to open
    # Actions are dicts of their own (an xref) or written inside the link, widget, page
    # or catalog that triggers them: find both, and cut every reference to one.
    bad: dict[int, str] = {}
    for xref in range(1, doc.xref_length()):
        action = doc.xref_get_key(xref, "S")[1]
        if action == "/Launch":
            bad[xref] = LAUNCH
        elif action == "/JavaScript" or doc.xref_get_key(xref, "JS")[0] != "null":
            bad[xref] = JAVASCRIPT
    for xref in range(1, doc.xref_length()):
        for key in _ACTION_KEYS:
            kind_of_value, value = doc.xref_get_key(xref, key)
            if kind_of_value == "null":
                continue
            if kind_of_value == "xref" and key == "AA":  # a dict of triggers elsewhere
                value = doc.xref_object(int(value.split()[0]), compressed=True)
            kind = _action_kind(value, bad)
            if kind:
                doc.xref_set_key(xref, key, "null")
                count(kind)
        if doc.xref_get_key(xref, "EF")[0] != "null":  # a file specification with the file
            doc.xref_set_key(xref, "EF", "null")
            count(EMBEDDED_FILE)
    for xref in bad:  # nothing may reach the script or the command line any more
        doc.update_object(xref, "<<>>")
    return found


def _action_kind(text: str, bad: dict[int, str]) -> str:
    """JAVASCRIPT or LAUNCH if ``text`` (an object's source) is or refers to such an
    action, else ''."""
    match = _BAD_ACTION.search(text)
    if match:
        return LAUNCH if match.group(1) == "Launch" else JAVASCRIPT
    for ref in _REFERENCE.finditer(text):
        if int(ref.group(1)) in bad:
            return bad[int(ref.group(1))]
    return ""
