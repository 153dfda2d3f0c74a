"""The watermarking bench at a tiny scale, so it keeps working: 20 pages, two members."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.watermark import SECTION_BEGIN, SECTION_END, run, section, write_doc
from tests.rooms import timeout


def test_watermark_bench_measures_each_member_and_writes_its_section(tmp_path: Path) -> None:
    result = asyncio.run(run(20, 2, tmp_path / "bench", timeout(120)))
    assert [f.who for f in result.members] == ["d1", "d2"]
    for f in result.members:
        assert 0 < f.first_byte_s <= f.whole_s <= f.first_page_s < timeout(60)
        assert f.server_cpu_s > 0 and f.size > result.original_size
    assert result.again is not None and result.public is not None
    # The kept copy is the same bytes, served without being made again.
    assert result.again.size == result.members[0].size
    assert result.again.server_cpu_s < result.members[0].server_cpu_s
    text = section(result, "python -m bench.watermark --pages 20", "0 0 0", "0 0 0")
    assert "| d1 |" in text and "| d1 again (kept copy) |" in text and "20-page" in text
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## Other\n\nkept\n", encoding="utf-8")
    write_doc(doc, text)
    write_doc(doc, text)  # a second run replaces its own section only
    written = doc.read_text(encoding="utf-8")
    assert written.count(SECTION_BEGIN) == written.count(SECTION_END) == 1
    assert "kept" in written
