"""The annotations bench at a tiny scale, so it keeps working: N = 6 tablets in two
load-generator processes, one round, short phases."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.annotations import (
    SECTION_BEGIN,
    SECTION_END,
    Database,
    Settings,
    ok,
    run,
    section,
    write_doc,
)
from bench.loadgen import InkBatches
from room_protocol.annotations import AnnotationBatch, AnnotationKind
from room_protocol.codec import decode
from tests.rooms import timeout

SHA = "ab" * 32


def test_annotations_bench_runs_and_every_acknowledged_op_is_on_disk(tmp_path: Path) -> None:
    settings = Settings(
        tablets=6,
        rounds=1,
        moves=4,
        interval=0.05,
        stream_seconds=1.0,
        flood_seconds=1.0,
        flood_window=2,
        answer_seconds=20,
        settle=3.0,
        per_worker=3,
        pin=False,
        max_seconds=120,
        workdir=tmp_path / "bench",
    )
    started = time.monotonic()
    results, facts = asyncio.run(run(settings))
    assert time.monotonic() - started < timeout(60)
    assert facts["workers"] == 2 and facts["failures"] == 0
    assert [r.name for r in results] == ["idle", "streaming", "flood"]
    idle, streaming, flood = results
    assert idle.follow.moves == 4 and len(idle.follow.latencies_ms) == 6 * 4
    assert 0 < idle.follow.p(50) <= idle.follow.p(99) < timeout(5_000)
    assert idle.ops.sent == 0
    for drawn in (streaming, flood):
        assert drawn.ok, (drawn.name, drawn.ops.refusals)
        assert drawn.follow.moves > 0 and drawn.follow.missed == 0, drawn.name
        # every stroke kept once, a busy batch sent again after a wait
        assert drawn.ops.acked == drawn.ops.sent and drawn.ops.unanswered == 0, drawn.name
        assert drawn.ops.answered_twice == 0 and drawn.ops.refused == 0, drawn.name
        assert 0 < drawn.ops.batches <= drawn.ops.sent + drawn.ops.deferred, drawn.name
        assert 0 < drawn.ops.batch_p(50) <= drawn.ops.batch_p(99), drawn.name
        assert drawn.ops.acked > 0 and drawn.ops.per_second > 0, drawn.name
        assert 0 < drawn.ops.p(50) <= drawn.ops.p(99), drawn.name
        assert drawn.rss_mb > 0
    # About 2 strokes a second for 1 s from each of the 6 tablets: within the budget.
    assert streaming.ops.deferred == 0
    assert 6 <= streaming.ops.sent <= 6 * 3
    db = Database(**facts["database"])
    assert db.exact and db.acked == streaming.ops.acked + flood.ops.acked
    assert ok(results, facts)
    text = section(results, facts, settings, "python -m bench.annotations --tablets 6")
    assert "| flood | 6 |" in text and "on disk: **yes**" in text
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## Vote burst\n\nkept\n")
    write_doc(doc, text)
    assert "## Follow-the-chair while tablets annotate" in doc.read_text()
    write_doc(doc, f"{SECTION_BEGIN}\nrun two\n{SECTION_END}")
    assert "run two" in doc.read_text() and "| flood |" not in doc.read_text()
    assert "kept" in doc.read_text()


def test_ink_batches_are_the_batches_the_real_codec_reads() -> None:
    ink = InkBatches(SHA, points=3)
    strokes = [("s1.bench-v0001.7", 5, 123456789), ("s1.bench-v0001.8", 0, 123456790)]
    batch = decode(ink.frame("s1.bench-v0001.b0", strokes))
    assert isinstance(batch, AnnotationBatch) and batch.op_id == "s1.bench-v0001.b0"
    assert [(o.op_id, o.annotation_id, o.sha256, o.page, o.stamp) for o in batch.ops] == [
        (op_id, op_id, SHA, page, stamp) for op_id, page, stamp in strokes
    ]
    for op in batch.ops:
        assert op.patch.kind is AnnotationKind.INK and op.patch.geometry is not None
        assert len(op.patch.geometry) == 6
    ink.check("s1.bench-v0001.b1", strokes)  # raises if a made frame is not the one meant


def test_a_database_missing_an_acknowledged_op_is_not_exact() -> None:
    assert Database(acked=3, stored=3).exact
    assert not Database(acked=3, stored=2, missing=1).exact
    assert not Database(acked=3, stored=4, extra=1).exact
    assert not Database(acked=3).exact  # could not be read
