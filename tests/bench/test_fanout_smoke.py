"""The fan-out bench at a tiny scale, so it keeps working: N = 20, 5 page changes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.fanout import Settings, run, section, summary_table
from tests.rooms import timeout


def test_fanout_bench_runs_and_every_follower_gets_every_move(tmp_path: Path) -> None:
    settings = Settings(
        tablets=[20],
        moves=5,
        interval=0.05,
        settle=timeout(3.0),
        grace=timeout(0.3),
        document_mib=1,
        download_warmup=0.3,
        pin=False,
        max_seconds=timeout(90),  # ends before pytest-timeout (120 s) ends the run
        workdir=tmp_path / "bench",
    )
    started = time.monotonic()
    rows, facts = asyncio.run(run(settings))
    assert time.monotonic() - started < timeout(20)
    (row,) = rows
    assert row.n == 20 and row.followers == 19 and row.connect_failures == 0
    assert set(row.blocks) == {"baseline", "hemicycle", "downloads"}
    for block in row.blocks.values():
        assert block.missed == 0, block.name
        assert block.wrong_page == 0, block.name
        assert len(block.latencies_ms) == 19 * 5, block.name
        assert 0 < block.p(50) <= block.p(99) <= block.max_ms < timeout(5_000), block.name
    assert row.rss_mb > 0 and row.download_mb_s > 0 and row.download_errors == 0
    text = section(rows, facts, settings, "python -m bench.fanout --tablets 20 --moves 5")
    assert "| 20 |" in summary_table(rows) and "--tablets 20" in text


def test_write_doc_replaces_only_its_own_section(tmp_path: Path) -> None:
    from bench.fanout import SECTION_BEGIN, SECTION_END, write_doc

    doc = tmp_path / "performance.md"
    write_doc(doc, f"{SECTION_BEGIN}\nrun one\n{SECTION_END}")
    doc.write_text(doc.read_text() + "\n## Vote burst\n\nkept\n")
    write_doc(doc, f"{SECTION_BEGIN}\nrun two\n{SECTION_END}")
    text = doc.read_text()
    assert "run two" in text and "run one" not in text and "kept" in text
    assert text.startswith("# Performance")
