"""The tablet reader bench at a tiny scale, so it keeps working: 10 text pages, 2 scans."""

from __future__ import annotations

import math
from pathlib import Path

from bench.tablet import SECTION_BEGIN, SECTION_END, run, run_qt, section, write_doc
from tests.rooms import timeout


def test_tablet_bench_measures_both_packs_and_writes_its_section(tmp_path: Path) -> None:
    packs = run_qt(run(tmp_path, pages=10, scans=2, flips=2, rounds=1))
    assert [p.pages for p in packs] == [10, 2]
    for pack in packs:
        assert pack.width_px > 1000  # fit width in a 1920 px window
        assert len(pack.page_s) == len(pack.page_inproc_s) == 2
        assert all(0 < t < timeout(30) for t in [*pack.first_s, *pack.page_s, *pack.flip_s])
        assert pack.page_cpu_s > 0 and pack.page_inproc_cpu_s > 0
        assert 0 <= pack.stall_s < timeout(30) and pack.gui_rss_mb > 0
        assert pack.workers_rss_mb > 0 and not math.isnan(pack.workers_pss_mb)
    assert packs[0].flip_s and packs[0].prefetched_s  # (2 scans: both cached by then)
    text = section(packs, "python -m bench.tablet --pages 10", 2, "0 0 0", "0 0 0")
    assert "| text pack, 10 pages | first page" in text and "| scanned pack, 2 pages |" in text
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## Other\n\nkept\n", encoding="utf-8")
    write_doc(doc, text)
    write_doc(doc, text)  # a second run replaces its own section only
    written = doc.read_text(encoding="utf-8")
    assert written.count(SECTION_BEGIN) == written.count(SECTION_END) == 1
    assert "kept" in written
