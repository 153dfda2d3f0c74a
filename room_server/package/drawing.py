"""Draw a few pages of an imported PDF in a child process, each within a time limit.

Import draws a page only to learn something it cannot read: whether a repaired page
still shows anything, and how long a heavy page (a plan, a map) takes at tablet size.
MuPDF cannot be interrupted from Python, so the drawing runs in a process of its own
(``python -m room_server.package.drawing``) that is killed when a page overruns; the
page is then reported as slow and the other pages are drawn in a new process.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TABLET_SIZE = (1920, 1200)  # the largest seat tablet's screen, landscape
PREVIEW_SCALE = 0.25  # enough to see whether a page shows anything
START_SECONDS = 60.0  # for the child to start Python and MuPDF on a busy room server
DOCUMENT_SECONDS = 60.0  # all the drawing one document may take at import
# Pages left unjudged: neither blank nor slow, as if they had not been drawn.
NOT_STARTED = "the drawing process did not start"
OUT_OF_TIME = "not drawn: the document's drawing time at import was used up"
UNJUDGED = (NOT_STARTED, OUT_OF_TIME)


@dataclass(frozen=True, slots=True)
class Drawn:
    page: int  # 1-based
    seconds: float  # how long drawing took, or the limit it overran
    blank: bool  # one colour all over (meaningless when overran)
    overran: bool = False
    failed: str = ""  # MuPDF's error, or why the drawing process ended


def draw_pages(
    path: Path,
    previews: Iterable[int],
    full: Iterable[int],
    limit_seconds: float,
    document_seconds: float = DOCUMENT_SECONDS,
) -> dict[int, Drawn]:
    """Draw ``previews`` small and ``full`` at tablet size (1-based page numbers), each
    page given at most ``limit_seconds`` and all of them about ``document_seconds`` (an
    atlas of heavy pages must not hold an import for hours); one ``Drawn`` per page."""
    jobs = {page: PREVIEW_SCALE for page in previews} | {page: 0.0 for page in full}
    todo = sorted(jobs)
    results: dict[int, Drawn] = {}
    end = time.monotonic() + document_seconds
    while todo and time.monotonic() < end:
        for drawn in _draw_in_child(path, [(p, jobs[p]) for p in todo], limit_seconds, end):
            results[drawn.page] = drawn
        todo = [p for p in todo if p not in results]
    for page in todo:
        results[page] = Drawn(page, 0.0, False, failed=OUT_OF_TIME)
    return results


def _draw_in_child(
    path: Path, jobs: list[tuple[int, float]], limit_seconds: float, end: float
) -> list[Drawn]:
    """Draw in order until done, until a page overruns or the child dies (that page is
    the last result, so the caller goes on with the rest), or until ``end``."""
    child = subprocess.Popen(  # our own module, with this Python
        [sys.executable, "-m", "room_server.package.drawing", str(path), json.dumps(jobs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # MuPDF's warnings about the damage: said by import
        env=os.environ.copy(),
    )
    assert child.stdout is not None
    results: list[Drawn] = []
    selector = selectors.DefaultSelector()
    selector.register(child.stdout, selectors.EVENT_READ)
    buffer = b""
    deadline = time.monotonic() + START_SECONDS
    pending = [page for page, _scale in jobs]
    started = False
    try:
        while pending and (not started or time.monotonic() < end):
            wait = deadline - time.monotonic()
            block = os.read(child.stdout.fileno(), 65536) if selector.select(max(wait, 0)) else None
            if block is None and started:  # this page overran: the rest in a new child
                return [*results, Drawn(pending[0], limit_seconds, False, overran=True)]
            if not started and not block:  # no Python to draw with: leave them unjudged
                return [Drawn(p, 0.0, False, failed=NOT_STARTED) for p in pending]
            if not block:  # the child died (MuPDF crashed, out of memory) on this page
                failed = f"the drawing process ended (exit code {child.wait()})"
                return [*results, Drawn(pending[0], 0.0, False, failed=failed)]
            buffer += block
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                try:
                    message = json.loads(line)
                    drawn = None if message == "ready" else Drawn(**message)
                except (ValueError, TypeError):  # not our child speaking: judge nothing
                    return [*results, *(Drawn(p, 0.0, False, failed=NOT_STARTED) for p in pending)]
                if drawn is None:
                    started = True
                else:
                    results.append(drawn)
                    pending.remove(drawn.page)
                deadline = time.monotonic() + limit_seconds
        return results
    finally:
        selector.close()
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()


def _child(path: str, jobs_json: str) -> None:
    """In the child: draw each page, one JSON line per page on stdout."""
    import pymupdf

    mupdf: Any = pymupdf  # partly typed
    mupdf.TOOLS.mupdf_display_errors(False)
    doc = mupdf.open(path)
    out = sys.stdout
    out.write('"ready"\n')
    out.flush()
    for page_number, scale in json.loads(jobs_json):
        start = time.perf_counter()
        failed = ""
        blank = False
        try:
            page = doc.load_page(page_number - 1)
            if not scale:  # fit the page into the tablet's screen
                rect = page.rect
                scale = min(TABLET_SIZE[0] / rect.width, TABLET_SIZE[1] / rect.height)
            pixmap = page.get_pixmap(matrix=mupdf.Matrix(scale, scale), alpha=False)
            blank = bool(pixmap.is_unicolor)
        except Exception as exc:  # reported to the parent, who names the page
            failed = str(exc) or type(exc).__name__
        seconds = round(time.perf_counter() - start, 3)
        message = {"page": page_number, "seconds": seconds, "blank": blank, "failed": failed}
        out.write(json.dumps(message) + "\n")
        out.flush()


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
