"""Each reader's own copy of a confidential document, watermarked on every page.

A copy carries the reader's name, seat and the time it was made, as real text (a light
diagonal mark across the page and a footer line), so a leaked page names its reader and
``page.get_text()`` finds it. Copies are made by PyMuPDF in a worker process (it holds
the GIL while it works; the event loop must not wait on it), once per member and
document, and kept under ``<state>/confidential/<meeting>/<member>/``: the PDF and a
small JSON file with its sha256 and size, written after the PDF, so a copy cut short by
a crash is made again. Closing the meeting removes the meeting's copies.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import math
import os
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from room_protocol.worker_pool import worker_pool

log = logging.getLogger(__name__)

FONT = "notos"  # Noto Sans (pymupdf-fonts): every Vietnamese diacritic
MARK_GREY = (0.55, 0.55, 0.55)
MARK_OPACITY = 0.18  # the diagonal mark: visible, and the page stays readable
FOOTER_OPACITY = 0.7
_HASH_BUFFER = 1024 * 1024


@dataclass(frozen=True, slots=True)
class MemberCopy:
    path: Path
    sha256: str  # of the copy's bytes, as document.begin's delivered_sha256
    size: int  # bytes
    made_at: str | None = None  # set when this ask made it (ISO 8601, UTC); None: kept


@dataclass(frozen=True, slots=True)
class Reader:
    """Whom a copy is for: the signed-in member, from the server's own records."""

    meeting_id: str
    delegate_id: str
    name: str
    seat: str | None


def mark_text(name: str, seat: str | None, at: datetime) -> str:
    """The watermark's words: English only, as the page's other marks are printed."""
    where = f"seat {seat}" if seat else "no seat"
    return f"CONFIDENTIAL · {name} · {where} · {at:%Y-%m-%d %H:%M} UTC"


def watermark(source: str, target: str, text: str) -> tuple[str, int]:
    """Write ``source`` with ``text`` on every page to ``target`` (fsynced); return the
    copy's sha256 and size. Runs in a worker process.

    The mark is drawn once per page geometry, as a form XObject (``show_pdf_page``), and
    every other page of that geometry only refers to it: one shared stream draws it, and
    the page's own contents are wrapped in q/Q so they cannot move it. Drawing the text
    on each page instead cost 25x more CPU (bench.watermark, a 1,000-page pack: 20 s a
    member instead of 0.8 s).
    """
    pymupdf = _mupdf()
    pymupdf.TOOLS.mupdf_display_errors(False)
    pymupdf.TOOLS.mupdf_display_warnings(False)
    font = pymupdf.Font(FONT)
    doc = pymupdf.open(source)
    try:
        push, pop = _stream(doc, b"q\n"), _stream(doc, b"\nQ\n")
        stamps: dict[tuple[Any, ...], tuple[str, int, int]] = {}  # (name, form, stream)
        for page in doc:
            geometry = (tuple(page.mediabox), tuple(page.cropbox), page.rotation)
            if page.rotation:
                _mark_page(pymupdf, page, font, text)  # rare: drawn on the page itself
                continue
            known = stamps.get(geometry)
            if known is not None and _refer(doc, page, known, push, pop):
                continue
            stamp = pymupdf.open()
            _mark_page(
                pymupdf, stamp.new_page(width=page.rect.width, height=page.rect.height), font, text
            )
            form = page.show_pdf_page(page.rect, stamp, 0, overlay=True)
            stamp.close()
            drawn = page.get_contents()[-1]
            found = _DO.search(doc.xref_stream(drawn) or b"")
            if known is None and found is not None:
                stamps[geometry] = (found[1].decode("ascii"), form, drawn)
        doc.save(target, garbage=0, deflate=True)
    finally:
        doc.close()
    digest = hashlib.sha256()
    with Path(target).open("rb") as written:
        while block := written.read(_HASH_BUFFER):
            digest.update(block)
        os.fsync(written.fileno())
    return digest.hexdigest(), Path(target).stat().st_size


_DO = re.compile(rb"/([A-Za-z0-9_.-]+) Do")


def _stream(doc: Any, data: bytes) -> int:
    xref = int(doc.get_new_xref())
    doc.update_object(xref, "<<>>")
    doc.update_stream(xref, data)
    return xref


def _refer(doc: Any, page: Any, stamp: tuple[str, int, int], push: int, pop: int) -> bool:
    """Make ``page`` draw an already made stamp; False if its resources are not plain
    enough to add one (inherited, say), and the caller draws the stamp anew."""
    name, form, drawn = stamp
    kind, value = doc.xref_get_key(page.xref, "Resources")
    if kind == "xref":
        owner, path = int(value.split()[0]), "XObject"
    elif kind == "dict":
        owner, path = page.xref, "Resources/XObject"
    else:
        return False
    inner_kind, inner = doc.xref_get_key(owner, path)
    if inner_kind == "xref":
        owner, path = int(inner.split()[0]), ""
    elif inner_kind not in ("dict", "null"):
        return False
    doc.xref_set_key(owner, f"{path}/{name}" if path else name, f"{form} 0 R")
    contents_kind, contents = doc.xref_get_key(page.xref, "Contents")
    if contents_kind == "array":
        original = contents.strip("[]")
    elif contents_kind == "xref":
        original = contents
    else:
        original = ""
    doc.xref_set_key(page.xref, "Contents", f"[{push} 0 R {original} {pop} 0 R {drawn} 0 R]")
    return True


def _mark_page(pymupdf: Any, page: Any, font: Any, text: str) -> None:
    # Text is placed in unrotated page space; derotate so the mark reads across the page
    # as shown, whatever the page's /Rotate.
    shown = page.rect
    to_page = page.derotation_matrix
    width, height = shown.width, shown.height
    diagonal = (width**2 + height**2) ** 0.5
    size = max(8.0, min(40.0, 0.8 * diagonal / max(font.text_length(text, 1), 1)))
    angle = math.degrees(math.atan2(height, width))  # bottom left to top right
    centre = pymupdf.Point(width / 2, height / 2) * to_page
    start = pymupdf.Point(centre.x - font.text_length(text, size) / 2, centre.y + size / 3)
    writer = pymupdf.TextWriter(page.rect, opacity=MARK_OPACITY, color=MARK_GREY)
    writer.append(start, text, font=font, fontsize=size)
    writer.write_text(page, morph=(centre, pymupdf.Matrix(angle + page.rotation)))
    footer = pymupdf.TextWriter(page.rect, opacity=FOOTER_OPACITY, color=MARK_GREY)
    small = max(5.0, min(8.0, height / 80))
    where = pymupdf.Point(width / 2 - font.text_length(text, small) / 2, height - small)
    footer.append(where * to_page, text, font=font, fontsize=small)
    footer.write_text(page, morph=(where * to_page, pymupdf.Matrix(page.rotation)))


def _mupdf() -> Any:
    """PyMuPDF, imported in the worker only; its own annotations are incomplete."""
    import pymupdf

    return pymupdf


def _warm() -> int:
    _mupdf().Font(FONT)
    return os.getpid()


class MemberCopies:
    """Makes and keeps the members' copies; one worker pool for the whole room."""

    def __init__(self, root: Path, *, workers: int = 1) -> None:
        self.root = root
        self.workers = workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._making: dict[tuple[str, str, str], asyncio.Future[MemberCopy]] = {}

    def _require_pool(self) -> concurrent.futures.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = worker_pool(self.workers)
            self._pool.submit(_warm)
        return self._pool

    def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def remove_leftovers(self) -> int:
        """Copies a killed server left half made (at start, before any is being made)."""
        removed = 0
        for tmp in self.root.glob("*/*/.*.tmp"):
            tmp.unlink(missing_ok=True)
            removed += 1
        return removed

    def folder(self, meeting_id: str, delegate_id: str | None = None) -> Path:
        # Meeting and delegate ids match ID_RE: no separators, no "..".
        folder = self.root / meeting_id
        return folder / delegate_id if delegate_id is not None else folder

    def kept(self, reader: Reader, sha256: str) -> MemberCopy | None:
        folder = self.folder(reader.meeting_id, reader.delegate_id)
        try:
            info = json.loads((folder / f"{sha256}.json").read_text(encoding="utf-8"))
            path = folder / f"{sha256}.pdf"
            if path.stat().st_size != info["size"]:
                return None
            return MemberCopy(path, info["sha256"], info["size"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    async def copy_for(
        self, reader: Reader, sha256: str, source: Path, *, now: datetime | None = None
    ) -> MemberCopy:
        """The reader's copy of document ``sha256`` (its original at ``source``), made
        now if it was not made before; concurrent asks share one making."""
        kept = self.kept(reader, sha256)
        if kept is not None:
            return kept
        key = (reader.meeting_id, reader.delegate_id, sha256)
        making = self._making.get(key)
        if making is None:
            making = asyncio.ensure_future(self._make(reader, sha256, source, now))
            self._making[key] = making
            making.add_done_callback(lambda _done: self._making.pop(key, None))
        return await asyncio.shield(making)

    async def _make(
        self, reader: Reader, sha256: str, source: Path, now: datetime | None
    ) -> MemberCopy:
        folder = self.folder(reader.meeting_id, reader.delegate_id)
        await asyncio.to_thread(folder.mkdir, mode=0o700, parents=True, exist_ok=True)
        target = folder / f"{sha256}.pdf"
        tmp = folder / f".{sha256}.{os.getpid()}.tmp"
        when = now or datetime.now(UTC)
        text = mark_text(reader.name, reader.seat, when)
        loop = asyncio.get_running_loop()
        try:
            digest, size = await loop.run_in_executor(
                self._require_pool(), watermark, str(source), str(tmp), text
            )
            await asyncio.to_thread(_keep, tmp, target, folder / f"{sha256}.json", digest, size)
        finally:
            await asyncio.to_thread(tmp.unlink, missing_ok=True)
        log.info("made %s's copy of %s (%d bytes)", reader.delegate_id, sha256[:12], size)
        return MemberCopy(target, digest, size, when.isoformat(timespec="seconds"))

    async def forget_meeting(self, meeting_id: str) -> None:
        """Remove every copy made for the meeting (it was closed)."""
        folder = self.folder(meeting_id)
        await asyncio.to_thread(shutil.rmtree, folder, ignore_errors=True)


def _keep(tmp: Path, target: Path, info: Path, digest: str, size: int) -> None:
    tmp.replace(target)
    info_tmp = info.with_suffix(".tmp")
    with info_tmp.open("w", encoding="utf-8") as out:
        json.dump({"sha256": digest, "size": size}, out)
        out.flush()
        os.fsync(out.fileno())
    info_tmp.replace(info)
    fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
