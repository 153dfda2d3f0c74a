"""The annotations bench at a tiny scale, so it keeps working: N = 4, 4 page changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.annotations import SECTION_BEGIN, SECTION_END, Settings, run, section, write_doc
from tests.rooms import timeout


def test_annotations_bench_runs_and_every_acknowledged_op_is_kept(tmp_path: Path) -> None:
    settings = Settings(
        tablets=4,
        moves=4,
        interval=0.05,
        flood_seconds=1.0,
        flood_window=2,
        pin=False,
        max_seconds=timeout(60),
        workdir=tmp_path / "bench",
    )
    results, facts = asyncio.run(run(settings))
    assert [r.name for r in results] == ["idle", "streaming", "flood"]
    idle, streaming, flood = results
    for moved in (idle, streaming):
        assert moved.missed == 0 and len(moved.latencies_ms) == 4 * 4
        assert 0 < moved.p(50) <= moved.p(99) < timeout(5_000)
    assert streaming.ops_acked > 0 and streaming.ops_refused == 0
    assert flood.ops_acked > 0 and flood.ops_refused == 0 and flood.ops_per_second > 0
    assert facts["ops_in_database"] == facts["ops_acked"] > 0
    text = section(results, facts, settings, "python -m bench.annotations --tablets 4")
    assert "| flood | 4 |" in text and "every one" in text
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## Vote burst\n\nkept\n")
    write_doc(doc, text)
    write_doc(doc, f"{SECTION_BEGIN}\nrun two\n{SECTION_END}")
    assert "run two" in doc.read_text() and "| flood |" not in doc.read_text()
    assert "kept" in doc.read_text()
