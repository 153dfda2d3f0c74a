"""The one PyMuPDF check: can a tablet open this PDF, and how many pages has it."""

from __future__ import annotations

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
