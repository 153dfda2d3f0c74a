"""The one PyMuPDF check: can a tablet open this PDF, and how many pages has it; and
the one place that strips what a meeting document may not carry (scripts, launch
actions, embedded files) before it is stored."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pymupdf


class UnusablePdfError(Exception):
    pass


def count_pdf_pages(path: Path) -> int:
    """Page count of a readable, unencrypted PDF whose first page loads."""
    try:
        doc: Any = pymupdf.open(path)  # type: ignore[no-untyped-call]  # PyMuPDF is partly typed
    except Exception as exc:  # MuPDF raises FileDataError, RuntimeError, ValueError, ...
        reason = "it is damaged, truncated or not a PDF" if "Failed to open" in str(exc) else exc
        raise UnusablePdfError(f"is not a readable PDF: {reason}") from exc
    with doc:
        if not doc.is_pdf:
            raise UnusablePdfError("is not a PDF (MuPDF reads it as another file type)")
        if doc.needs_pass or doc.is_encrypted:
            raise UnusablePdfError("is encrypted; remove the password before packaging")
        if doc.is_repaired:  # every tablet would rescan the whole file on each open
            raise UnusablePdfError(
                "is damaged (truncated or badly edited: its cross-reference table is broken); "
                "export it again from the program that made it"
            )
        pages = int(doc.page_count)
        if pages >= 1:
            try:
                doc.load_page(0)
            except Exception as exc:  # a broken page tree surfaces only here
                raise UnusablePdfError(
                    f"is not a readable PDF: first page fails to load: {exc}"
                ) from exc
        return pages


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


def strip_active_content(path: Path, out: Path) -> dict[str, int]:
    """What active content ``path`` has (kind: how many places), and with any, ``out``
    written without it: same pages and visible content. A PDF with none is not touched,
    so its bytes (and sha256) stay as they are."""
    with pymupdf.open(path) as doc:  # type: ignore[no-untyped-call]
        found = _remove_active_content(doc)
        if not found:
            return {}
        pages = doc.page_count
        # garbage=3 drops the objects nothing refers to any more (the scripts, the files);
        # no new /ID and no dates, so the same PDF is always stripped to the same bytes.
        doc.save(out, garbage=3, deflate=True, no_new_id=True)
    with pymupdf.open(out) as check:  # type: ignore[no-untyped-call]
        left = _remove_active_content(check)
        if left or check.page_count != pages:
            raise UnusablePdfError(
                f"has active content ({', '.join(sorted(found))}) that could not be removed"
            )
    return found


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
