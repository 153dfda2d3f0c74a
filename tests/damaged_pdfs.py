"""Damaged and awkward PDFs as real-world files come: made with PyMuPDF, then edited byte
by byte the way a bad export, a cut-off copy or an FTP transfer in text mode edits them.

Every builder returns the bytes of one file and is deterministic (same bytes every call).
"""

from __future__ import annotations

import random
import re
import zlib
from typing import Any

import pymupdf

_mupdf: Any = pymupdf  # partly typed: under --strict each call would be "untyped"

PLACEHOLDER = (
    "Please wait... If this message is not eventually replaced by the proper contents of "
    "the document, your PDF viewer may not be able to display this type of document."
)


def _save(doc: Any, *, deflate: bool = True) -> bytes:
    data: bytes = doc.tobytes(garbage=3, deflate=deflate, no_new_id=True)
    doc.close()
    return data


def text_pdf(pages: int = 3, text: str = "Hemicycle damaged-file test") -> bytes:
    """A clean PDF: every page shows text and a filled square."""
    doc = _mupdf.open()
    for number in range(1, pages + 1):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 96), f"{text}, page {number}", fontsize=14)
        page.draw_rect(_mupdf.Rect(72, 200, 272, 400), color=(0, 0, 0), fill=(0.2, 0.3, 0.8))
    return _save(doc)


def broken_xref_offsets(pages: int = 3) -> bytes:
    """Every cross-reference entry points 300 bytes past its object (a file edited by a
    tool that did not rewrite the table)."""
    data = text_pdf(pages)
    start = data.rindex(b"\nxref\n") + 1
    table = re.sub(
        rb"(\d{10}) 00000 n",
        lambda m: b"%010d 00000 n" % (int(m.group(1)) + 300),
        data[start:],
    )
    return data[:start] + table


def truncated_tail(pages: int = 3) -> bytes:
    """Cut off inside the cross-reference table: every page's objects are still there
    (an interrupted copy)."""
    data = text_pdf(pages)
    return data[: data.rindex(b"\nxref\n") + 20]


def missing_startxref(pages: int = 3) -> bytes:
    data = text_pdf(pages)
    return data[: data.rindex(b"startxref")] + b"%%EOF\n"


def crlf_mangled(pages: int = 2) -> bytes:
    """Sent through FTP in text mode: every LF became CR LF, inside the compressed content
    streams too, which then decode to nothing. The cross-reference table is broken as
    well, so MuPDF repairs the file, and every page comes out blank."""
    doc = _mupdf.open()
    for number in range(1, pages + 1):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 96), "placeholder", fontsize=14)  # adds the font as /helv
        (xref,) = page.get_contents()
        # Drawing instructions whose compressed form, once mangled, decodes to nothing
        # that draws (deterministic: the first such salt).
        for salt in range(100_000):
            content = (
                f"% {salt}\nBT /helv 14 Tf 72 746 Td (Lost page {number}) Tj ET\n"
                "0.2 0.3 0.8 rg 72 442 200 200 re f\n"
            ).encode()
            packed = zlib.compress(content, 9)
            if not _draws(_inflate_until_error(packed.replace(b"\n", b"\r\n"))):
                break
        doc.update_stream(xref, packed, compress=False)
        doc.xref_set_key(xref, "Filter", "/FlateDecode")
    return _save(doc, deflate=False).replace(b"\n", b"\r\n")


def _inflate_until_error(data: bytes) -> bytes:
    """What a tolerant reader (MuPDF) gets from a damaged zlib stream: the bytes before the
    first error."""
    inflater = zlib.decompressobj()
    out = b""
    for i in range(len(data)):
        try:
            out += inflater.decompress(data[i : i + 1])
        except zlib.error:
            break
    return out


def _draws(content: bytes) -> bool:
    return b"Tj" in content or b" re" in content


def scanned(pages: int = 2) -> bytes:
    """Pages that are only an image each (a scan): no text to read on them."""
    doc = _mupdf.open()
    pixmap = _mupdf.Pixmap(_mupdf.csRGB, _mupdf.IRect(0, 0, 64, 64), False)
    pixmap.set_rect(pixmap.irect, (40, 60, 160))
    for _number in range(pages):
        page = doc.new_page(width=595, height=842)
        page.insert_image(_mupdf.Rect(72, 72, 523, 523), pixmap=pixmap)
    return _save(doc)


def scanned_truncated_tail(pages: int = 2) -> bytes:
    """A scan cut off inside its cross-reference table: the images are all there."""
    data = scanned(pages)
    return data[: data.rindex(b"\nxref\n") + 20]


def lost_images(pages: int = 2) -> bytes:
    """A scan whose image object was overwritten: the pages still say to draw it; MuPDF
    repairs the file and has nothing to draw."""
    data = scanned(pages)
    with _mupdf.open(stream=data, filetype="pdf") as saved:
        image = saved[0].get_images()[0][0]
    header = b"\n%d 0 obj" % image
    assert data.count(header) == 1
    return data.replace(header, b"\n" + b" " * (len(header) - 1))


def zero_pages() -> bytes:
    """A well-formed PDF whose page tree is empty (PyMuPDF will not write one)."""
    return _hand_written(
        [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]
    )


def bad_page_count() -> bytes:
    """A page tree claiming -5 pages: reading the page count itself fails in MuPDF."""
    return _hand_written(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count -5 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
        ]
    )


def page_tree_cycle() -> bytes:
    """A page tree that contains itself: the first page never loads."""
    return _hand_written(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>",
        ]
    )


def dynamic_xfa(*, needs_rendering: bool = True) -> bytes:
    """A dynamic XFA form as LiveCycle Designer writes it: the real form lives in the XFA
    stream; the one PDF page is the placeholder other viewers show."""
    doc = _mupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_textbox(_mupdf.Rect(36, 36, 576, 200), PLACEHOLDER, fontsize=12)
    xfa = doc.get_new_xref()
    doc.update_object(xfa, "<<>>")
    doc.update_stream(xfa, b'<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template/></xdp:xdp>')
    catalog = doc.pdf_catalog()
    doc.xref_set_key(catalog, "AcroForm", f"<< /Fields [] /XFA {xfa} 0 R >>")
    if needs_rendering:
        doc.xref_set_key(catalog, "NeedsRendering", "true")
    return _save(doc)


def heavy_vector_page(lines: int = 20_000) -> bytes:
    """Page 2 of 3 is a plan: ``lines`` thin strokes across the whole page. 20,000 take
    about 20 s to draw at tablet size (and 0.02 s to read its text)."""
    doc = _mupdf.open()
    rnd = random.Random(20261207)
    for number in range(1, 4):
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 96), f"Site plan, sheet {number}", fontsize=14)
        if number == 2:
            strokes = ["0.1 w"]
            for _ in range(lines):
                x1, y1 = rnd.uniform(0, 595), rnd.uniform(0, 842)
                x2, y2 = rnd.uniform(0, 595), rnd.uniform(0, 842)
                strokes.append(f"{x1:.1f} {y1:.1f} m {x2:.1f} {y2:.1f} l S")
            (xref,) = page.get_contents()
            doc.update_stream(xref, doc.xref_stream(xref) + "\n".join(strokes).encode())
    return _save(doc)


def _hand_written(objects: list[bytes]) -> bytes:
    """A PDF from its objects (1, 2, ...; object 1 the catalog) with a correct table."""
    out = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        table,
    )
    return out
