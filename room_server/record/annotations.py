"""Each member's annotations in the record: as JSON, and as annotated copies of the PDFs.

The state of every annotation is folded again from the room's operation log
(``annotation_ops``) by the same last-writer-wins rule the tablets use
(:class:`room_protocol.annotations.AnnotationSet`), so the record holds what the room
acknowledged, whatever a table derived from the log says. Deleted annotations are left
out. An annotated copy carries real PDF annotations (ink, highlight, text note) made with
PyMuPDF, which any PDF viewer shows and lists with the author's name; they are dated at
their last change, and the file at the record's time, so the same log gives the same bytes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pymupdf as _pymupdf

from room_protocol.annotations import (
    Annotation,
    AnnotationKind,
    AnnotationPatch,
    AnnotationSet,
    OpRecord,
    stamp_ms,
)
from room_protocol.codec import record_from_json
from room_server.record.contents import json_bytes
from room_server.record.durable import write_file
from room_server.record.tables import MeetingRecord, read_meeting, read_only

__all__ = ["folded_annotations", "write_annotations"]

pymupdf: Any = _pymupdf  # PyMuPDF is partly typed: its calls are checked by the tests

Progress = Callable[[int, int, str], None]

HIGHLIGHT_OPACITY = 0.4
NOTE_ICON = "Note"


def folded_annotations(conn: Any, meeting_id: str) -> dict[str, list[Annotation]]:
    """Every member's annotations of the meeting (not deleted), folded from the log."""
    if not conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'annotation_ops'"
    ).fetchone():
        return {}
    folded = AnnotationSet()
    rows = conn.execute(
        "SELECT op_id, device_id, author_id, annotation_id, sha256, page, stamp, patch "
        "FROM annotation_ops WHERE meeting_id = ? ORDER BY seq",
        (meeting_id,),
    )
    for row in rows:
        patch = record_from_json(AnnotationPatch, row[7], f"annotation op {row[0]}")
        folded.apply(OpRecord(row[0], row[1], row[2], row[3], row[4], row[5], row[6], patch))
    by_author: dict[str, list[Annotation]] = defaultdict(list)
    for annotation in folded.annotations():
        if not annotation.deleted:
            by_author[annotation.author_id].append(annotation)
    return dict(sorted(by_author.items()))


def write_annotations(
    db_path: Path, state_dir: Path, meeting_id: str, out: Path, progress: Progress
) -> list[Path]:
    """Write ``annotations/<member>.json`` and ``annotations/<member>/<doc-id>.pdf``."""
    with read_only(db_path) as conn:
        record = read_meeting(conn, meeting_id)
        by_author = folded_annotations(conn, meeting_id)
    documents = {d["sha256"]: d for d in record.documents}
    names = {m.id: m.name for m in record.members}
    steps: list[tuple[str, Callable[[], Path]]] = []
    for author, own in by_author.items():
        name = names.get(author) or author
        steps.append(
            (
                f"annotations/{author}.json",
                partial(_json, out, record, author, name, own, documents),
            )
        )
        on_document: dict[str, list[Annotation]] = defaultdict(list)
        for annotation in own:
            on_document[annotation.sha256].append(annotation)
        for sha256, marks in sorted(on_document.items(), key=lambda i: documents[i[0]]["id"]):
            doc = documents[sha256]
            steps.append(
                (
                    f"annotations/{author}/{doc['id']}.pdf",
                    partial(_annotated_copy, state_dir, out, record, author, name, doc, marks),
                )
            )
    written = []
    for done, (what, step) in enumerate(steps):
        progress(done, len(steps), what)
        written.append(step())
    progress(len(steps), len(steps), "")
    return written


def _iso(stamp: int) -> str:
    return datetime.fromtimestamp(stamp_ms(stamp) / 1000, UTC).isoformat(timespec="milliseconds")


def _json(
    out: Path,
    record: MeetingRecord,
    author: str,
    name: str,
    annotations: Iterable[Annotation],
    documents: dict[str, dict[str, Any]],
) -> Path:
    path = out / "annotations" / f"{author}.json"
    entries = [
        {
            "id": a.annotation_id,
            "document": documents[a.sha256]["id"],
            "sha256": a.sha256,
            "page": a.page + 1,
            "kind": a.kind.value,
            "geometry": list(a.geometry),
            "colour": a.colour,
            "width": a.width,
            "text": a.text,
            "visibility": a.visibility.value,
            "changed_at": _iso(a.stamp),
        }
        for a in sorted(
            annotations,
            key=lambda a: (documents[a.sha256]["id"], a.page, a.stamp, a.annotation_id),
        )
    ]
    body = {
        "meeting_id": record.meeting["id"],
        "member": {"id": author, "name": name},
        "coordinates": "PDF points of the unrotated page, origin top left, y down",
        "annotations": entries,
    }
    write_file(path, json_bytes(body))
    return path


def _pdf_date(iso: str) -> str:
    moment = datetime.fromisoformat(iso).astimezone(UTC)
    return moment.strftime("D:%Y%m%d%H%M%S") + "Z"


def _rgb(colour: str) -> tuple[float, float, float]:
    return tuple(int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))  # type: ignore[return-value]


def _annotated_copy(
    state_dir: Path,
    out: Path,
    record: MeetingRecord,
    author: str,
    name: str,
    doc: dict[str, Any],
    marks: list[Annotation],
) -> Path:
    sha = doc["sha256"]
    pdf = pymupdf.open(state_dir / "documents" / sha[:2] / f"{sha}.pdf")
    try:
        for mark in sorted(marks, key=lambda a: (a.page, a.stamp, a.annotation_id)):
            if mark.page >= pdf.page_count:
                continue  # the room checks pages; a log from an older import is skipped
            _annotate(pdf[mark.page], mark, name)
        date = _pdf_date(record.meeting["record_time"])
        metadata = dict(pdf.metadata or {})
        metadata.update({"modDate": date, "producer": "Hemicycle (annotated copy)"})
        metadata.setdefault("creationDate", date)
        pdf.set_metadata({k: v for k, v in metadata.items() if k != "format" and v is not None})
        data = pdf.tobytes(garbage=3, deflate=True, no_new_id=True)
    finally:
        pdf.close()
    path = out / "annotations" / author / f"{doc['id']}.pdf"
    write_file(path, bytes(data))
    return path


def _annotate(page: Any, mark: Annotation, name: str) -> None:
    points = list(zip(mark.geometry[0::2], mark.geometry[1::2], strict=False))
    colour = _rgb(mark.colour)
    if mark.kind is AnnotationKind.INK:
        if len(points) < 2:
            points = points * 2
        annot = page.add_ink_annot([points])
        annot.set_border(width=mark.width)
        annot.set_colors(stroke=colour)
    elif mark.kind is AnnotationKind.HIGHLIGHT:
        g = mark.geometry
        rects = [pymupdf.Rect(g[i : i + 4]) for i in range(0, len(g) - 3, 4)]
        if not rects:
            return
        annot = page.add_highlight_annot(rects)
        annot.set_colors(stroke=colour)
        annot.set_opacity(HIGHLIGHT_OPACITY)
    else:
        if not points:
            return
        annot = page.add_text_annot(pymupdf.Point(points[0]), mark.text, icon=NOTE_ICON)
        annot.set_colors(stroke=colour)
    date = _pdf_date(_iso(mark.stamp))
    annot.set_info(
        title=name,
        content=mark.text,
        subject=f"{mark.kind.value} · {mark.visibility.value}",
        creationDate=date,
        modDate=date,
    )
    annot.update()
