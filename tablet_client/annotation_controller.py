"""Wires the annotation tools of the reader to the member's AnnotationBook.

The book (room_client.annotations) is the one source of truth: every gesture becomes a
call on it (saved on the tablet before it returns), and the screen is redrawn from what
it holds: the member's own annotations and the shared ones not hidden, on the page shown.
Gestures come in PDF points of the unrotated page (AnnotationLayer); what they mean is
decided here with the pure rules of tablet_client.annotation_geometry.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal

from room_client.annotations import AnnotationBook, Change
from room_protocol.annotations import (
    COLOURS,
    HIGHLIGHT_COLOUR,
    MAX_NOTE_TEXT,
    Annotation,
    AnnotationKind,
    AnnotationPatch,
    Visibility,
)
from tablet_client.annotation_geometry import (
    drag_highlight,
    erased,
    ink_geometry,
    snap_to_text,
)
from tablet_client.document_controller import DocumentController
from tablet_client.i18n import follow_language, tr
from tablet_client.render import PageRenderer, PageText, RenderError
from tablet_client.views.annotation_view import TOOLS, LayerItem, ListEntry
from tablet_client.views.document_view import DocumentView

__all__ = ["AnnotationController"]

PEN_WIDTH = 2.0  # points
TOUCH_TOLERANCE_PX = 14.0  # logical px around a finger that count as touched
_SHARE_TO = {
    "chair": Visibility.CHAIR,
    "everyone": Visibility.EVERYONE,
    "private": Visibility.PRIVATE,
}
_KIND_TEXT = {
    AnnotationKind.INK: "annotate.kind_ink",
    AnnotationKind.HIGHLIGHT: "annotate.kind_highlight",
    AnnotationKind.NOTE: "annotate.kind_note",
}
_VISIBILITY_TEXT = {
    Visibility.CHAIR: "annotate.shared_chair",
    Visibility.EVERYONE: "annotate.shared_everyone",
    Visibility.PRESENTER: "annotate.presenter_ink",
}
Key = tuple[str, str]  # (author id, annotation id)


class AnnotationController(QObject):
    """The member's tools, the page's annotations, the list and the note editor."""

    document_requested = Signal(str, int)  # sha256, zero-based page: a list entry elsewhere
    page_ready = Signal(int)  # the page's annotations are on screen (its words are known)

    def __init__(
        self,
        view: DocumentView,
        reader: DocumentController,
        renderer: PageRenderer,
        book: AnnotationBook | Path,
        author: Callable[[], str | None],
        *,
        device_id: str = "",
        titles: Callable[[str], str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        """``book``: the tablet's AnnotationBook, or the file to keep one in (then opened
        here for ``device_id`` and closed by :meth:`close`). ``author``: the member signed
        in (None: nobody, and the tools are off)."""
        super().__init__(parent)
        self._view = view
        self._reader = reader
        self._renderer = renderer
        self._owns_book = isinstance(book, Path)
        if isinstance(book, Path):
            if not device_id:
                raise ValueError("a device id is needed to open an annotations file")
            book = AnnotationBook(book, device_id)
        self.book = book
        self._author = author
        self._titles = titles or (lambda sha: sha[:12])
        self._sha: str | None = None
        self._page: int | None = None  # whose words and rotation the layer has
        self._text: PageText | None = None
        self._text_task: asyncio.Task[None] | None = None
        self._tool = "read"
        self._colours = {
            "pen": COLOURS[0],
            "highlighter": HIGHLIGHT_COLOUR,
            "note": HIGHLIGHT_COLOUR,
            "eraser": COLOURS[0],
            "read": COLOURS[0],
        }
        self._selected: Key | None = None
        self._presenting = False
        self._note_at: tuple[float, float] | None = None  # a new note's point
        self._note_key: Key | None = None  # the note in the editor
        self._scope = "document"
        self._search = ""

        self._chained = book.on_change  # whoever else listens (the room sync)
        book.on_change = self._changed
        self._edited = False  # an own edit this session: the bar says where the edits are
        self._chained_answered = book.on_answered
        book.on_answered = self._answered
        self._sync_timer = QTimer(self)
        self._sync_timer.setSingleShot(True)
        self._sync_timer.setInterval(0)  # a batch's answers update the bar once
        self._sync_timer.timeout.connect(self._refresh_sync)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)

        layer, bar = view.annotation_layer, view.annotation_bar
        layer.stroke_finished.connect(self._stroke)
        layer.highlight_dragged.connect(self._highlight)
        layer.highlight_moved.connect(
            lambda *drag: layer.set_preview(self._highlight_geometry(*drag))
        )
        layer.note_placed.connect(self._place_note)
        layer.note_tapped.connect(self._open_note)
        layer.erase_path.connect(self._erase)
        layer.page_tapped.connect(self._select_at)
        bar.tool_chosen.connect(self.set_tool)
        bar.colour_chosen.connect(self.set_colour)
        bar.undo_requested.connect(self.undo)
        bar.redo_requested.connect(self.redo)
        bar.share_requested.connect(self.share)
        bar.presenter_toggled.connect(self._set_presenting)
        bar.list_toggled.connect(lambda _shown: self._refresh_list())
        view.note_editor.saved.connect(self._save_note)
        view.note_editor.deleted.connect(self._delete_note)
        view.note_editor.cancelled.connect(self._close_note)
        view.annotation_list.scope_changed.connect(self._set_scope)
        view.annotation_list.search_changed.connect(self._set_search)
        view.annotation_list.entry_chosen.connect(self._go_to_entry)
        view.annotation_list.hide_toggled.connect(self._toggle_hidden)
        reader.page_changed.connect(self._page_changed)
        reader.page_shown.connect(self._page_shown)
        self._unsubscribe_language = follow_language(view, lambda _code: self.refresh())
        view.set_annotating(True)
        self.set_tool("read")

    # --- state ----------------------------------------------------------------------------

    @property
    def tool(self) -> str:
        return self._tool

    @property
    def colour(self) -> str:
        return self._colours[self._tool]

    @property
    def selected(self) -> Key | None:
        return self._selected

    @property
    def document(self) -> str | None:
        return self._sha

    def show_document(self, sha256: str | None) -> None:
        """The reader shows (or is about to show) the document ``sha256``."""
        if sha256 != self._sha:
            self._sha = sha256
            self._page, self._text, self._selected = None, None, None
            self._view.annotation_layer.set_page(None)
            self._close_note()
            self.refresh()
            if self._reader.path is not None and self._view.displayed_pixmap_size.isValid():
                self._page_shown(self._reader.current_page)  # already on screen

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"tool must be one of {', '.join(TOOLS)}, not {tool!r}")
        self._tool = tool
        self._view.annotation_bar.set_tool(tool)
        self._view.annotation_bar.set_colour(self._colours[tool])
        self._view.annotation_layer.set_tool(tool, self._colours[tool])

    def set_colour(self, colour: str) -> None:
        if colour not in COLOURS:
            raise ValueError(f"colour must be one of {', '.join(COLOURS)}, not {colour!r}")
        self._colours[self._tool] = colour
        self._view.annotation_bar.set_colour(colour)
        self._view.annotation_layer.set_tool(self._tool, colour)
        if self._tool == "read" and self._selected is not None and self._own(self._selected):
            self._change(self._selected, AnnotationPatch(colour=colour))  # recolour it

    def set_presenter_available(self, available: bool) -> None:
        """The chair presents (the followed page is theirs): offer presenter ink."""
        self._view.annotation_bar.set_presenter_available(available)
        if not available:
            self._presenting = False

    def close(self) -> None:
        if self._text_task is not None:
            self._text_task.cancel()
        self._refresh_timer.stop()
        self._sync_timer.stop()
        self._unsubscribe_language()
        self.book.on_change = self._chained
        self.book.on_answered = self._chained_answered
        if shiboken6.isValid(self._view):  # the window may have gone first
            self._view.set_annotating(False)
        if self._owns_book:
            self.book.close()

    # --- commands (each a call on the book, then a redraw) ----------------------------------

    def undo(self) -> None:
        author = self._author()
        if author is not None and self.book.undo(author) is not None:
            self.refresh()

    def redo(self) -> None:
        author = self._author()
        if author is not None and self.book.redo(author) is not None:
            self.refresh()

    def share(self, scope: str, to: str) -> None:
        """Share the selected annotation (``scope`` "one") or all the member's on this page
        ("page") with the chair or everyone, or make them private again."""
        author, visibility = self._author(), _SHARE_TO.get(to)
        if author is None or visibility is None or scope not in ("one", "page"):
            raise ValueError(f"cannot share {scope!r} with {to!r}")
        if scope == "one":
            if self._selected is not None and self._own(self._selected):
                self._change(self._selected, AnnotationPatch(visibility=visibility))
        elif self._sha is not None:
            self.book.share_page(author, self._sha, self._reader.current_page, visibility)
            self.refresh()

    def select(self, key: Key | None) -> None:
        self._selected = key
        self.refresh()

    # --- gestures ---------------------------------------------------------------------------

    def _draw(
        self, kind: AnnotationKind, geometry: tuple[float, ...], **fields: object
    ) -> Annotation | None:
        author = self._author()
        if author is None or self._sha is None:
            return None
        visibility = Visibility.PRESENTER if self._presenting else Visibility.PRIVATE
        drawn = self.book.draw(
            author,
            self._sha,
            self._reader.current_page,
            kind,
            geometry,
            colour=self._colours[self._tool],
            visibility=visibility,
            **fields,  # type: ignore[arg-type]
        )
        self._selected = (drawn.author_id, drawn.annotation_id)
        self.refresh()
        return drawn

    def _stroke(self, points: tuple[float, ...]) -> None:
        pairs = [(points[i], points[i + 1]) for i in range(0, len(points) - 1, 2)]
        if pairs:
            self._draw(AnnotationKind.INK, ink_geometry(pairs), width=PEN_WIDTH)

    def _highlight_geometry(
        self, x0: float, y0: float, x1: float, y1: float
    ) -> tuple[float, ...] | None:
        """The text lines a drag selects, or its rectangle where it starts off the text."""
        tolerance = TOUCH_TOLERANCE_PX * self._view.annotation_layer.points_per_pixel() / 2
        words = self._text.words if self._text is not None else ()
        geometry = snap_to_text(words, (x0, y0), (x1, y1), tolerance) if words else None
        return geometry if geometry is not None else drag_highlight((x0, y0), (x1, y1))

    def _highlight(self, x0: float, y0: float, x1: float, y1: float) -> None:
        geometry = self._highlight_geometry(x0, y0, x1, y1)
        if geometry:
            self._draw(AnnotationKind.HIGHLIGHT, geometry, width=1.0)

    def _place_note(self, x: float, y: float) -> None:
        if self._author() is None or self._sha is None:
            return
        self._note_at, self._note_key = (round(x, 2), round(y, 2)), None
        self._view.open_note_editor(
            "",
            heading=("annotate.note_new", {}),
            editable=True,
            deletable=False,
            at=self._note_at,
        )

    def _open_note(self, key: Key) -> None:
        note = self._find(key)
        if note is None:
            return
        self._selected = key
        self._note_at, self._note_key = None, key
        own = self._own(key)
        heading: tuple[str, dict[str, object]] = ("annotate.note_edit", {})
        if not own:
            heading = ("annotate.note_by", {"name": note.author_name or note.author_id})
        at = (note.geometry[0], note.geometry[1]) if len(note.geometry) >= 2 else None
        self._view.open_note_editor(note.text, heading=heading, editable=own, deletable=own, at=at)
        self.refresh()

    def _save_note(self, text: str) -> None:
        text = text.strip()
        if len(text) > MAX_NOTE_TEXT:
            self._view.note_editor.show_error(
                tr("annotate.note_too_long", count=MAX_NOTE_TEXT, length=len(text))
            )
            return
        if self._note_key is not None:
            if self._own(self._note_key):
                if text:
                    self._change(self._note_key, AnnotationPatch(text=text))
                else:  # emptied: the member removed what the note said
                    self._change(self._note_key, AnnotationPatch(deleted=True))
        elif self._note_at is not None and text:
            self._draw(AnnotationKind.NOTE, self._note_at, text=text, width=1.0)
        self._close_note()

    def _delete_note(self) -> None:
        if self._note_key is not None and self._own(self._note_key):
            self._change(self._note_key, AnnotationPatch(deleted=True))
        self._close_note()

    def _close_note(self) -> None:
        self._note_at, self._note_key = None, None
        self._view.note_editor.hide()

    def _erase(self, path: tuple[float, ...]) -> None:
        author = self._author()
        if author is None or self._sha is None:
            return
        tolerance = TOUCH_TOLERANCE_PX * self._view.annotation_layer.points_per_pixel()
        mine = self.book.annotations(author, self._sha, self._reader.current_page)
        for annotation in erased(mine, path, tolerance):
            self.book.change(author, annotation.annotation_id, AnnotationPatch(deleted=True))
        self.refresh()

    def _select_at(self, x: float, y: float) -> None:
        """A tap in reading mode selects the annotation under it (to share or recolour)."""
        if self._sha is None or self._page is None:
            return
        author = self._author()
        tolerance = TOUCH_TOLERANCE_PX * self._view.annotation_layer.points_per_pixel()
        own = self.book.annotations(author, self._sha, self._page) if author else []
        touched = erased([*own, *self.book.shared(self._sha, self._page)], (x, y), tolerance)
        key = (touched[-1].author_id, touched[-1].annotation_id) if touched else None
        if key != self._selected:
            self.select(key)

    def _set_presenting(self, presenting: bool) -> None:
        self._presenting = presenting

    # --- the list -----------------------------------------------------------------------------

    def _set_scope(self, scope: str) -> None:
        self._scope = scope
        self._refresh_list()

    def _set_search(self, words: str) -> None:
        self._search = words
        self._refresh_list()

    def _go_to_entry(self, entry: ListEntry) -> None:
        self._selected = entry.key
        if entry.sha256 == self._sha:
            self._reader.go_to(entry.page)
            self.refresh()
        else:
            self.document_requested.emit(entry.sha256, entry.page)

    def _toggle_hidden(self, entry: ListEntry) -> None:
        author_id, annotation_id = entry.key
        self.book.set_hidden(author_id, annotation_id, not entry.hidden)
        self.refresh()

    def list_entries(self) -> list[ListEntry]:
        """What the list shows: the scope's annotations (or the notes the search finds),
        by document and page."""
        author = self._author()
        sha = self._sha if self._scope == "document" else None
        if self._search.strip():
            found = self.book.search(author, self._search) if author else self.book.shared()
            if not author:
                found = [a for a in found if self._search.casefold() in a.text.casefold()]
            annotations = [a for a in found if sha is None or a.sha256 == sha]
        else:
            own = self.book.annotations(author, sha) if author else []
            annotations = [*own, *self.book.shared(sha, hidden=True)]
        annotations.sort(key=lambda a: (self._titles(a.sha256), a.page, a.stamp))
        return [
            ListEntry(
                (a.author_id, a.annotation_id),
                a.sha256,
                a.page,
                a.text,
                hideable=a.author_id != author,
                hidden=self.book.is_hidden(a.author_id, a.annotation_id),
            )
            for a in annotations
        ]

    def _entry_text(self, entry: ListEntry) -> str:
        annotation = self._find(entry.key)
        if annotation is None:
            return ""
        where = tr("annotate.entry_page", page=entry.page + 1)
        if self._scope == "meeting":
            where = f"{self._titles(entry.sha256)} · {where}"
        parts = [where, tr(_KIND_TEXT[annotation.kind])]
        if entry.hideable:
            parts.append(tr("annotate.by", name=annotation.author_name or annotation.author_id))
        elif annotation.visibility in _VISIBILITY_TEXT:
            parts.append(tr(_VISIBILITY_TEXT[annotation.visibility]))
        if entry.hidden:
            parts.append(tr("annotate.hidden"))
        line = " · ".join(parts)
        return f"{line}\n{annotation.text}" if annotation.text else line

    def _refresh_list(self) -> None:
        panel = self._view.annotation_list
        if not panel.isVisible():
            return
        entries = self.list_entries()
        if self._search.strip():
            empty = tr("annotate.no_match", words=self._search.strip())
        else:
            empty = tr("annotate.empty")
        panel.set_entries(entries, [self._entry_text(e) for e in entries], empty)

    # --- the page -------------------------------------------------------------------------------

    def _page_changed(self, index: int) -> None:
        if self._page != index:
            self._page, self._text = None, None
            self._view.annotation_layer.set_page(None)
            self._close_note()

    def _page_shown(self, index: int) -> None:
        path = self._reader.path
        if path is None:
            return
        if self._text is not None and self._text.page_index == index:
            self._page = index  # same page again (a resize): geometry is unchanged
            self.refresh()
            self.page_ready.emit(index)
            return
        if self._text_task is not None:
            self._text_task.cancel()
        self._text_task = asyncio.ensure_future(self._load_page(path, index))

    async def _load_page(self, path: Path, index: int) -> None:
        try:
            text = await self._renderer.page_text(path, index)
        except RenderError:
            return  # the reader already says why the page cannot be shown
        if self._reader.path != path or self._reader.current_page != index:
            return
        self._page, self._text = index, text
        self._view.annotation_layer.set_page(text.rotation, text.size)
        self.refresh()
        self.page_ready.emit(index)

    def refresh(self) -> None:
        """Redraw the page's annotations, the tools' state and the list from the book."""
        self._refresh_timer.stop()
        author = self._author()
        items: list[LayerItem] = []
        page = self._page
        if self._sha is not None and page is not None:
            own = self.book.annotations(author, self._sha, page) if author else []
            for a in [*own, *self.book.shared(self._sha, page)]:
                key = (a.author_id, a.annotation_id)
                label = "" if a.author_id == author else (a.author_name or a.author_id)
                items.append(
                    LayerItem(
                        key,
                        a.kind.value,
                        a.geometry,
                        a.colour,
                        a.width,
                        a.text,
                        label,
                        selected=key == self._selected,
                    )
                )
        if self._selected is not None and self._find(self._selected) is None:
            self._selected = None
        self._view.annotation_layer.set_items(items)
        bar = self._view.annotation_bar
        bar.set_history(
            author is not None and self.book.can_undo(author),
            author is not None and self.book.can_redo(author),
        )
        own_selected = self._selected is not None and self._own(self._selected)
        page_has_own = bool(
            author
            and self._sha
            and page is not None
            and self.book.annotations(author, self._sha, page)
        )
        bar.set_share_enabled(own_selected, page_has_own)
        for tool, button in bar.tools.items():
            button.setEnabled(tool == "read" or author is not None)
        self._refresh_list()
        self._refresh_sync()

    def _refresh_sync(self) -> None:
        self._sync_timer.stop()
        self._view.annotation_bar.set_sync(self.book.pending_count(), self._edited)

    # --- helpers ----------------------------------------------------------------------------------

    def _answered(self) -> None:
        if self._chained_answered is not None:
            self._chained_answered()
        self._sync_timer.start()

    def _changed(self, change: Change) -> None:
        if self._chained is not None:
            self._chained(change)
        if change.own:
            self._edited = True
        self._refresh_timer.start()  # a burst from the room redraws once

    def _own(self, key: Key) -> bool:
        return key[0] == self._author()

    def _find(self, key: Key) -> Annotation | None:
        author_id, annotation_id = key
        if author_id == self._author():
            return next(
                (a for a in self.book.annotations(author_id) if a.annotation_id == annotation_id),
                None,
            )
        return next(
            (a for a in self.book.shared(hidden=True) if (a.author_id, a.annotation_id) == key),
            None,
        )

    def _change(self, key: Key, patch: AnnotationPatch) -> None:
        with contextlib.suppress(KeyError):  # gone meanwhile (erased on another tablet)
            self.book.change(key[0], key[1], patch)
        self.refresh()
