"""Search in the open document, or in every document the tablet holds, and go to a hit.

The words are found by the renderer's workers (PyMuPDF never runs in the GUI process);
a hit's boxes are drawn over the page by the annotation layer, so they follow zoom and
rotation. Going to a hit opens its page (or its document, through ``MeetingDocuments``)
and marks that hit stronger than the page's other hits.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import shiboken6
from PySide6.QtCore import QObject, Signal

from tablet_client.document_controller import DocumentController
from tablet_client.i18n import follow_language, tr
from tablet_client.render import PageRenderer, RenderError, SearchHit, SearchResult
from tablet_client.views.document_view import DocumentView

__all__ = ["HeldDocument", "MeetingDocuments", "SearchController"]


@dataclass(frozen=True, slots=True)
class HeldDocument:
    """A document the tablet holds: ``key`` opens a confidential (sealed) one."""

    sha256: str
    title: str
    path: Path
    key: bytes | None = None


class MeetingDocuments(Protocol):
    """What searching the whole meeting needs from the tablet."""

    def held_documents(self) -> list[HeldDocument]: ...

    async def open_document(self, sha: str, page: int = 0, *, show: bool = True) -> None: ...


@dataclass(frozen=True, slots=True)
class _Row:
    """One row of the hit list: a document's heading (``hit`` None) or one hit."""

    document: HeldDocument | None
    path: Path
    title: str
    hit: SearchHit | None


class SearchController(QObject):
    """Runs searches asked for in the reader's search panel and shows their hits."""

    went_to_hit = Signal()  # the reader chose where to read: they stop following the chair

    def __init__(
        self,
        view: DocumentView,
        reader: DocumentController,
        renderer: PageRenderer,
        meeting: MeetingDocuments | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._view = view
        self._reader = reader
        self._renderer = renderer
        self._meeting = meeting
        self._rows: list[_Row] = []
        self._results: list[tuple[str, SearchResult]] = []  # (title, result) last shown
        self._current: int | None = None  # row gone to
        self._status: tuple[str, dict[str, object]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._opening: asyncio.Task[None] | None = None
        panel = view.search_panel
        panel.set_meeting_scope_available(meeting is not None)
        panel.search_requested.connect(self.search)
        panel.row_chosen.connect(self.go_to_row)
        panel.step_requested.connect(self.step)
        reader.page_shown.connect(self._page_shown)
        reader.page_changed.connect(self._page_changed)
        self._unsubscribe_language = follow_language(view, lambda _code: self._retranslate())

    # what a test (or the tablet) may ask

    @property
    def rows(self) -> list[tuple[str, SearchHit | None]]:
        """(document title, hit or None for the heading) for every row listed."""
        return [(row.title, row.hit) for row in self._rows]

    @property
    def current_hit(self) -> SearchHit | None:
        return None if self._current is None else self._rows[self._current].hit

    @property
    def searching(self) -> bool:
        return self._task is not None and not self._task.done()

    async def wait(self) -> None:
        """Until the search (and the hit's document, if one is opening) is done."""
        for task in (self._task, self._opening):
            if task is not None:
                await asyncio.wait([task])

    # commands

    def search(self, words: str, scope: str = "document") -> None:
        """Search ``words`` in the open document, or ("meeting") every held document."""
        if scope not in ("document", "meeting"):
            raise ValueError(f"scope must be document or meeting, not {scope!r}")
        if self._task is not None:
            self._task.cancel()
        if not " ".join(words.split()):
            self._show_results([], ("search.type_words", {}))
            return
        if scope == "meeting" and self._meeting is not None:
            documents = self._meeting.held_documents()
        else:
            path = self._reader.path
            if path is None:
                self._show_results([], ("search.no_document", {}))
                return
            documents = [HeldDocument("", self._view.title, path)]
        self._set_status(("search.searching", {}))
        self._task = asyncio.ensure_future(self._search(words, documents, scope == "meeting"))

    def go_to_row(self, row: int) -> None:
        """Go to the hit listed at ``row`` (its document opened first if another)."""
        if not 0 <= row < len(self._rows) or self._rows[row].hit is None:
            return
        self._current = row
        self._view.search_panel.set_current_row(row)
        target = self._rows[row]
        assert target.hit is not None
        self.went_to_hit.emit()
        if target.path == self._reader.path:
            if self._reader.current_page == target.hit.page_index:
                self._mark(target.hit.page_index)
            else:
                self._reader.go_to(target.hit.page_index)
            return
        if target.document is not None and self._meeting is not None:
            self._opening = asyncio.ensure_future(
                self._meeting.open_document(target.document.sha256, target.hit.page_index)
            )

    def step(self, step: int) -> None:
        """Go to the next (+1) or previous (-1) hit, round the end of the list."""
        hits = [i for i, row in enumerate(self._rows) if row.hit is not None]
        if not hits:
            return
        if self._current is None or self._current not in hits:
            row = hits[0] if step > 0 else hits[-1]
        else:
            row = hits[(hits.index(self._current) + step) % len(hits)]
        self.go_to_row(row)

    def clear(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._show_results([], None)

    def forget(self) -> None:
        """Another member (or nobody) reads now: the words typed and every hit listed
        (lines of confidential documents among them) leave the screen."""
        self.clear()
        self._results = []
        self._view.search_panel.field.clear()

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if shiboken6.isValid(self._view):  # the window may have gone first
            self._show_results([], None)
        self._unsubscribe_language()

    # searching

    async def _search(self, words: str, documents: list[HeldDocument], grouped: bool) -> None:
        results: list[tuple[str, SearchResult]] = []
        problems = 0
        for document in documents:
            try:
                result = await self._renderer.search(document.path, words, key=document.key)
            except ValueError as exc:
                self._show_results([], ("search.refused", {"reason": str(exc)}))
                return
            except RenderError:
                problems += 1
                continue
            results.append((document.title, result))
        rows: list[_Row] = []
        for (title, result), document in zip(results, documents, strict=False):
            if grouped and result.hits:
                rows.append(_Row(document, result.path, title, None))
            rows.extend(_Row(document, result.path, title, hit) for hit in result.hits)
        hits = sum(len(result.hits) for _title, result in results)
        incomplete = any(not result.complete for _title, result in results)
        status: tuple[str, dict[str, object]]
        if hits == 0:
            status = ("search.no_matches", {"words": words})
        elif incomplete:
            status = ("search.some_matches", {"count": hits})
        else:
            status = ("search.matches", {"count": hits})
        if problems:
            status = (status[0] + "_unread", {**status[1], "unread": problems})
        self._results = results
        self._show_results(rows, status)
        if not grouped and rows:
            self.go_to_row(0)

    def _show_results(self, rows: list[_Row], status: tuple[str, dict[str, object]] | None) -> None:
        self._rows = rows
        self._current = None
        self._view.search_panel.set_rows([(self._row_text(row), row.hit is None) for row in rows])
        self._set_status(status)
        self._mark(self._reader.current_page)

    def _row_text(self, row: _Row) -> str:
        if row.hit is None:
            return row.title
        page = tr("search.page", page=row.hit.page_index + 1)
        return f"{page} — {row.hit.snippet}"

    def _set_status(self, status: tuple[str, dict[str, object]] | None) -> None:
        self._status = status
        self._view.search_panel.set_status("" if status is None else tr(status[0], **status[1]))

    # the hits over the page

    def _page_changed(self, _index: int) -> None:
        self._view.annotation_layer.set_search_hits([])

    def _page_shown(self, index: int) -> None:
        self._mark(index)

    def _mark(self, index: int) -> None:
        """Draw this page's hits (of the open document) over it; the one gone to stronger."""
        layer = self._view.annotation_layer
        path = self._reader.path
        here = [
            (i, row.hit)
            for i, row in enumerate(self._rows)
            if row.hit is not None and row.path == path and row.hit.page_index == index
        ]
        if not here:
            layer.set_search_hits([])
            return
        first = here[0][1]
        if not layer.ready:  # the annotation controller may not have said the page's shape
            layer.set_page(first.rotation, first.size)
        rects: list[tuple[float, float, float, float]] = []
        current: range = range(0)
        for row, hit in here:
            if row == self._current:
                current = range(len(rects), len(rects) + len(hit.rects))
            rects.extend(hit.rects)
        layer.set_search_hits(rects, current)

    def _retranslate(self) -> None:
        panel = self._view.search_panel
        panel.set_rows([(self._row_text(row), row.hit is None) for row in self._rows])
        if self._current is not None:
            panel.set_current_row(self._current)
        self._set_status(self._status)
