"""What the room display may show of the chair's view, and the presenter ink it keeps
(kiosk.presentation: plain values, no Qt)."""

from __future__ import annotations

from kiosk.presentation import InkMark, PresenterInk, marks_on_page, may_show
from room_protocol.annotations import (
    Annotation,
    AnnotationKind,
    SharedAnnotations,
    Visibility,
)
from room_protocol.messages import DocumentInfo

DOC = "ab" * 32
OTHER = "cd" * 32


def ink(
    annotation_id: str,
    *,
    sha256: str = DOC,
    page: int = 0,
    kind: AnnotationKind = AnnotationKind.INK,
    geometry: tuple[float, ...] = (10.0, 20.0, 30.0, 40.0),
    visibility: Visibility = Visibility.PRESENTER,
    deleted: bool = False,
    stamp: int = 1,
) -> Annotation:
    return Annotation(
        annotation_id,
        "chair",
        sha256,
        page,
        kind=kind,
        geometry=geometry,
        visibility=visibility,
        deleted=deleted,
        stamp=stamp,
    )


def test_may_show_never_a_confidential_or_unknown_document() -> None:
    public = DocumentInfo(DOC, "Budget", "budget.pdf", 100, 3)
    secret = DocumentInfo(OTHER, "Minutes", "minutes.pdf", 100, 3, confidential=True)
    assert may_show(public)
    assert not may_show(secret)
    assert may_show(secret, display_allowed=True)  # only by the chair's explicit permission
    assert not may_show(None)
    assert not may_show(None, display_allowed=True)


def test_presenter_ink_is_replaced_changed_and_deleted() -> None:
    kept = PresenterInk()
    kept.receive(SharedAnnotations((ink("a", stamp=2), ink("b", stamp=1)), replace=True))
    assert [a.annotation_id for a in kept.on_page(DOC, 0)] == ["b", "a"]  # oldest first
    kept.receive(SharedAnnotations((ink("a", deleted=True),)))
    assert [a.annotation_id for a in kept.on_page(DOC, 0)] == ["b"]
    kept.receive(SharedAnnotations((ink("c", page=1), ink("d", sha256=OTHER))))
    assert [a.annotation_id for a in kept.on_page(DOC, 1)] == ["c"]
    assert [a.annotation_id for a in kept.on_page(OTHER, 0)] == ["d"]
    kept.receive(SharedAnnotations((ink("e"),), replace=True))
    assert len(kept) == 1 and [a.annotation_id for a in kept.on_page(DOC, 0)] == ["e"]
    kept.receive(SharedAnnotations((), replace=True))
    assert len(kept) == 0


def test_only_presenter_ink_is_kept() -> None:
    """Anything else the room might send the display (a member's shared note, a private
    one by mistake) is not for the wall; an annotation no longer presenter ink leaves."""
    kept = PresenterInk()
    kept.receive(
        SharedAnnotations(
            (
                ink("everyone", visibility=Visibility.EVERYONE),
                ink("chair-only", visibility=Visibility.CHAIR),
                ink("private", visibility=Visibility.PRIVATE),
                ink("shown"),
            )
        )
    )
    assert [a.annotation_id for a in kept.on_page(DOC, 0)] == ["shown"]
    kept.receive(SharedAnnotations((ink("shown", visibility=Visibility.EVERYONE),)))
    assert kept.on_page(DOC, 0) == []


def test_marks_follow_the_page_rotation_and_skip_bad_geometry() -> None:
    annotations = [
        ink("line"),
        ink("odd", geometry=(1.0, 2.0, 3.0)),
        ink("dot", geometry=(1.0, 2.0)),  # one point is no line
        ink("hl", kind=AnnotationKind.HIGHLIGHT, geometry=(0.0, 0.0, 50.0, 10.0)),
        ink("hl-odd", kind=AnnotationKind.HIGHLIGHT, geometry=(0.0, 0.0, 50.0, 10.0, 1.0, 1.0)),
        ink("note", kind=AnnotationKind.NOTE, geometry=(5.0, 6.0)),
        ink("note-2", kind=AnnotationKind.NOTE, geometry=(5.0, 6.0, 7.0, 8.0)),
    ]
    marks = marks_on_page(annotations)
    assert [(m.kind, m.points) for m in marks] == [
        (AnnotationKind.INK, ((10.0, 20.0), (30.0, 40.0))),
        (AnnotationKind.HIGHLIGHT, ((0.0, 0.0), (50.0, 10.0))),
        (AnnotationKind.NOTE, ((5.0, 6.0),)),
    ]
    # A page of 595 x 842 points turned 90° clockwise (/Rotate 90) is 842 wide as shown:
    # PyMuPDF's rotation matrix for it maps (x, y) to (842 - y, x).
    turned = marks_on_page([ink("line")], (0.0, 1.0, -1.0, 0.0, 842.0, 0.0))
    assert turned == [InkMark(AnnotationKind.INK, ((822.0, 10.0), (802.0, 30.0)), "#d62828", 2.0)]
