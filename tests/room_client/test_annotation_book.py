"""The tablet's annotation op log: saved before anything else, merged without loss across a
member's tablets, undone by new operations, and intact after the tablet process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from room_client.annotations import AnnotationBook, AnnotationFileError, Change
from room_protocol.annotations import (
    COLOURS,
    Annotation,
    AnnotationKind,
    AnnotationOps,
    AnnotationPatch,
    OpRecord,
    SharedAnnotations,
    Visibility,
)
from tests.rooms import timeout

DOC = "ab" * 32
OTHER_DOC = "cd" * 32


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def book(path: Path, device: str = "tablet-1", clock: Clock | None = None) -> AnnotationBook:
    return AnnotationBook(path / f"{device}.sqlite3", device, clock=clock or Clock())


def records(b: AnnotationBook, author: str) -> list[OpRecord]:
    """The pending operations as the room would keep and relay them."""
    return [
        OpRecord(
            op.op_id, b.device_id, author, op.annotation_id, op.sha256, op.page, op.stamp, op.patch
        )
        for op in b.pending(author)
    ]


def test_an_edit_is_pending_on_disk_before_it_returns(tmp_path: Path) -> None:
    first = book(tmp_path)
    ink = first.draw("m1", DOC, 2, AnnotationKind.INK, [10, 20, 30, 40], colour=COLOURS[1])
    first.close()  # no goodbye: the file is all there is

    again = book(tmp_path)
    (op,) = again.pending("m1")
    assert (op.annotation_id, op.sha256, op.page) == (ink.annotation_id, DOC, 2)
    assert op.patch.kind is AnnotationKind.INK and op.patch.geometry == (10, 20, 30, 40)
    assert again.annotations("m1", DOC, 2)[0].geometry == (10, 20, 30, 40)


def test_answered_operations_are_no_longer_pending_and_refused_ones_are_undone(
    tmp_path: Path,
) -> None:
    b = book(tmp_path)
    kept = b.draw("m1", DOC, 0, AnnotationKind.NOTE, [5, 5], colour=COLOURS[0], text="keep")
    refused = b.draw("m1", DOC, 0, AnnotationKind.NOTE, [6, 6], colour=COLOURS[0], text="no")
    first, second = b.pending("m1")
    b.answered(first.op_id)
    b.answered(second.op_id, refusal="annotation limit reached: 5,000 annotations")
    assert b.pending("m1") == []
    assert [a.annotation_id for a in b.annotations("m1")] == [kept.annotation_id]
    assert refused.annotation_id not in {a.annotation_id for a in book(tmp_path).annotations("m1")}


def test_two_tablets_of_one_member_converge_whatever_the_order(tmp_path: Path) -> None:
    clock = Clock()
    a = book(tmp_path, "tablet-a", clock)
    b = book(tmp_path, "tablet-b", clock)
    note = a.draw("m1", DOC, 1, AnnotationKind.NOTE, [1, 1], colour=COLOURS[0], text="draft")
    b.from_room(AnnotationOps(tuple(records(a, "m1"))))
    clock.now += 1
    # Offline on both: A edits the text, B the colour and, later, the text too.
    a.change("m1", note.annotation_id, AnnotationPatch(text="from A"))
    clock.now += 1
    b.change("m1", note.annotation_id, AnnotationPatch(colour=COLOURS[2]))
    clock.now += 1
    b.change("m1", note.annotation_id, AnnotationPatch(text="from B, later"))
    ops_a, ops_b = records(a, "m1"), records(b, "m1")
    a.from_room(AnnotationOps(tuple(reversed(ops_b))))
    b.from_room(AnnotationOps(tuple(ops_a)))
    b.from_room(AnnotationOps(tuple(ops_a)))  # a duplicate changes nothing
    (on_a,) = a.annotations("m1")
    (on_b,) = b.annotations("m1")
    assert on_a == on_b
    assert (on_a.text, on_a.colour) == ("from B, later", COLOURS[2])


def test_undo_and_redo_are_new_operations(tmp_path: Path) -> None:
    b = book(tmp_path)
    ink = b.draw("m1", DOC, 0, AnnotationKind.INK, [0, 0, 9, 9], colour=COLOURS[0])
    b.change("m1", ink.annotation_id, AnnotationPatch(colour=COLOURS[3]))
    assert b.undo("m1") is not None
    assert b.annotations("m1")[0].colour == COLOURS[0]
    b.undo("m1")
    assert b.annotations("m1") == []  # undoing the stroke erases it
    b.redo("m1")
    b.redo("m1")
    assert b.annotations("m1")[0].colour == COLOURS[3]
    assert len(b.pending("m1")) == 6
    assert not b.can_redo("m1")


def test_sharing_a_page_search_and_hiding_others(tmp_path: Path) -> None:
    b = book(tmp_path)
    b.draw("m1", DOC, 3, AnnotationKind.NOTE, [1, 1], colour=COLOURS[0], text="Budget line 4")
    b.draw("m1", DOC, 3, AnnotationKind.INK, [1, 1, 2, 2], colour=COLOURS[0])
    b.draw("m1", DOC, 4, AnnotationKind.INK, [1, 1, 2, 2], colour=COLOURS[0])
    shared = b.share_page("m1", DOC, 3, Visibility.EVERYONE)
    assert len(shared) == 2
    assert {a.page for a in b.annotations("m1") if a.visibility is Visibility.EVERYONE} == {3}
    theirs = Annotation(
        "n9",
        "m2",
        DOC,
        3,
        AnnotationKind.NOTE,
        (4.0, 4.0),
        text="see budget",
        visibility=Visibility.EVERYONE,
        author_name="Trần Thị B",
    )
    b.from_room(SharedAnnotations((theirs,), replace=True))
    assert {a.text for a in b.search("m1", "BUDGET")} == {"Budget line 4", "see budget"}
    b.set_hidden("m2", "n9", True)
    assert b.shared(DOC, 3) == [] and len(b.shared(DOC, 3, hidden=True)) == 1
    assert book(tmp_path).is_hidden("m2", "n9")  # kept on the tablet


def test_listeners_hear_every_change(tmp_path: Path) -> None:
    heard: list[Change] = []
    b = AnnotationBook(tmp_path / "b.sqlite3", "tablet-1", clock=Clock(), on_change=heard.append)
    ink = b.draw("m1", DOC, 0, AnnotationKind.INK, [0, 0, 1, 1], colour=COLOURS[0])
    b.change("m1", ink.annotation_id, AnnotationPatch(deleted=True))
    assert [c.annotation.deleted for c in heard] == [False, True]


def test_forgetting_confidential_documents_keeps_what_is_not_sent_yet(tmp_path: Path) -> None:
    b = book(tmp_path)
    b.draw("m1", DOC, 0, AnnotationKind.INK, [0, 0, 1, 1], colour=COLOURS[0])
    b.draw("m1", OTHER_DOC, 0, AnnotationKind.INK, [0, 0, 1, 1], colour=COLOURS[0])
    for op in b.pending("m1"):
        b.answered(op.op_id)
    b.draw("m1", DOC, 1, AnnotationKind.INK, [0, 0, 1, 1], colour=COLOURS[0])
    assert b.forget_documents([DOC]) == 1
    assert sorted((a.sha256, a.page) for a in b.annotations("m1")) == [(DOC, 1), (OTHER_DOC, 0)]
    assert len(b.pending("m1")) == 1


def test_an_operation_on_another_page_of_a_known_annotation_is_left_out(tmp_path: Path) -> None:
    b = book(tmp_path)
    note = b.draw("m1", DOC, 0, AnnotationKind.NOTE, [1, 1], colour=COLOURS[0], text="x")
    forged = OpRecord(
        "x-1", "tablet-9", "m1", note.annotation_id, DOC, 7, 1 << 60, AnnotationPatch(text="moved")
    )
    b.from_room(AnnotationOps((forged,)))
    assert b.annotations("m1")[0].text == "x"


_KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from room_client.annotations import AnnotationBook
    from room_protocol.annotations import AnnotationKind
    book = AnnotationBook(Path(sys.argv[1]), "tablet-k")
    for n in range(int(sys.argv[2])):
        book.draw("m1", "ab" * 32, n, AnnotationKind.INK, [n, n, n + 1, n + 1], colour="#111111")
    print("saved", flush=True)
    time.sleep(600)  # never sends: killed here
    """
)


def test_a_tablet_killed_between_save_and_send_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "annotations.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(path), "25"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip() == "saved", line
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=timeout(30))
    again = AnnotationBook(path, "tablet-k")
    pending = again.pending("m1")
    assert [op.page for op in pending] == list(range(25))
    assert len({op.op_id for op in pending}) == 25


def test_a_bad_file_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "annotations.sqlite3"
    path.write_bytes(b"not a database at all" * 100)
    with pytest.raises(AnnotationFileError, match="annotations file cannot be read"):
        AnnotationBook(path, "tablet-1")
