"""What the room display shows of the chair's view: whether a document may be shown at
all, and the chair's presenter ink on the page. Qt-free.

The display follows the chair (``follow.state``) like every following tablet. The one
rule that keeps a confidential page off the wall is :func:`may_show`: everything the
display fetches or draws passes through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from room_protocol.annotations import (
    Annotation,
    AnnotationKind,
    SharedAnnotations,
    Visibility,
)
from room_protocol.messages import DocumentInfo

__all__ = [
    "IDENTITY",
    "InkMark",
    "Matrix",
    "PresenterInk",
    "Shown",
    "marks_on_page",
    "may_show",
]

Matrix = tuple[float, float, float, float, float, float]  # a, b, c, d, e, f as in PDF
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


class Shown(Enum):
    """What the page area of the display holds."""

    NOTHING = "nothing"  # the chair shows no document: the normal screen
    LOADING = "loading"  # fetching or rendering the page
    PAGE = "page"
    CONFIDENTIAL = "confidential"  # never the page: a panel saying why
    UNAVAILABLE = "unavailable"  # not in the meeting, refused or unreadable


def may_show(doc: DocumentInfo | None, *, display_allowed: bool = False) -> bool:
    """Whether the room display may fetch and show ``doc``. A confidential document only
    with the chair's explicit permission (``display_allowed``); a document the meeting
    does not list (``None``) never, since nothing says it is not confidential."""
    if doc is None:
        return False
    return not doc.confidential or display_allowed


@dataclass(frozen=True, slots=True)
class InkMark:
    """One presenter annotation ready to draw, in points of the page as it is shown
    (rotation applied, origin top left, y down)."""

    kind: AnnotationKind
    points: tuple[tuple[float, float], ...]  # ink: the polyline; highlight: corners, 2 a rect
    colour: str  # #rrggbb
    width: float  # the ink's width in points
    text: str = ""  # a note's text (the display shows only its marker)


class PresenterInk:
    """The chair's presenter ink the room sent (``annotation.shared``), kept in memory.

    Only annotations with visibility ``presenter`` are kept: the display is nobody's
    tablet, and anything else sent to it is not for the wall.
    """

    def __init__(self) -> None:
        self._by_id: dict[tuple[str, str], Annotation] = {}

    def receive(self, message: SharedAnnotations) -> None:
        if message.replace:
            self._by_id.clear()
        for annotation in message.annotations:
            key = (annotation.author_id, annotation.annotation_id)
            if annotation.deleted or annotation.visibility is not Visibility.PRESENTER:
                self._by_id.pop(key, None)
            else:
                self._by_id[key] = annotation

    def clear(self) -> None:
        self._by_id.clear()

    def on_page(self, sha256: str, page: int) -> list[Annotation]:
        """The ink on one page, oldest first (so newer strokes are drawn on top)."""
        found = [a for a in self._by_id.values() if (a.sha256, a.page) == (sha256, page)]
        return sorted(found, key=lambda a: (a.stamp, a.author_id, a.annotation_id))

    def __len__(self) -> int:
        return len(self._by_id)


def _apply(matrix: Matrix, x: float, y: float) -> tuple[float, float]:
    a, b, c, d, e, f = matrix
    return (a * x + c * y + e, b * x + d * y + f)


def marks_on_page(annotations: list[Annotation], rotation: Matrix = IDENTITY) -> list[InkMark]:
    """Annotations (points of the unrotated page) as marks on the page as shown;
    ``rotation`` maps the one to the other (PyMuPDF's ``page.rotation_matrix``).
    Geometry that does not make a mark (an odd count, a one-point line) is skipped."""
    marks: list[InkMark] = []
    for a in annotations:
        g = a.geometry
        if len(g) % 2:
            continue
        points = tuple(_apply(rotation, g[i], g[i + 1]) for i in range(0, len(g), 2))
        if a.kind is AnnotationKind.INK and len(points) < 2:
            continue
        if a.kind is AnnotationKind.HIGHLIGHT and (not points or len(points) % 2):
            continue
        if a.kind is AnnotationKind.NOTE and len(points) != 1:
            continue
        marks.append(InkMark(a.kind, points, a.colour, a.width, a.text))
    return marks
