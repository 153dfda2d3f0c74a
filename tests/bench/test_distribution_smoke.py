"""The distribution bench at a tiny scale, so it keeps working: three tablets, a pack of
six small PDFs and a confidential one, one run against nginx with every tablet's
connection cut once mid-document (it resumes from the bytes it holds), a second meeting."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bench.distribution import (
    SECTION_BEGIN,
    SECTION_END,
    Settings,
    main,
    ok,
    ratios,
    run,
    section,
    write_doc,
)
from tests.archive import nginx_or_skip
from tests.rooms import timeout


def test_distribution_bench_fetches_everything_verified_and_writes_its_section(
    tmp_path: Path,
) -> None:
    nginx_or_skip()
    settings = Settings(
        tablets=3,
        runs=1,
        pack_mb=1.0,
        documents=6,
        confidential_pages=2,
        changed=2,
        phase_seconds=30,
        lead_seconds=0.3,
        drop_at=100_000,  # every tablet's connection drops once mid-document, and resumes
        per_worker=2,
        pin=False,
        max_seconds=120,
        workdir=tmp_path / "bench",
    )
    started = time.monotonic()
    phases, facts = asyncio.run(run(settings))
    assert time.monotonic() - started < timeout(60)
    assert facts["workers"] == 2 and facts["failures"] == 0
    assert [p.name for p in phases] == ["hemicycle", "nginx", "confidential", "meeting 2"]
    room, nginx, secret, second = phases
    pack = facts["pack"]
    for served in (room, nginx):
        assert served.ok, served.error_samples
        # every tablet holds every public document, each verified against its sha256
        assert served.fetched == 3 * pack["documents"] and served.skipped == 0
        assert served.resumed == 3
        assert served.bytes == 3 * pack["public_bytes"]
        assert served.seconds > 0 and served.server_cpu_s >= 0 and served.rss_peak_mb > 0
    assert room.bytes == nginx.bytes  # the same files to the same clients
    # each member got their own watermarked copy, made by the watermarking worker
    assert secret.ok and secret.fetched == 3 and secret.watermark_cpu_s > 0
    assert facts["watermark_worker_rss_mb"] > 0
    # the second meeting moved only what changed, to every tablet
    m2 = facts["meeting_2"]
    assert m2["new_documents"] == 2 and 0 < m2["new_bytes"] < m2["bytes"]
    assert second.ok and second.bytes == 3 * m2["new_bytes"]
    assert second.fetched == 3 * 2 and second.skipped == 3 * (m2["documents"] - 2)
    assert ok(phases, facts)
    [(run_no, throughput, cpu)] = ratios(phases)
    # nginx may use less than one clock tick on so small a pack: no CPU ratio then
    assert run_no == 1 and throughput > 0 and not cpu <= 0
    text = section(phases, facts, settings, "python -m bench.distribution --tablets 3")
    assert "| 1 | room server | 3 |" in text and "| 1 | nginx | 3 |" in text
    assert "Second meeting: 6 documents" in text
    assert "The last tablet held everything" in text
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\n## Other\n\nkept\n", encoding="utf-8")
    write_doc(doc, text)
    write_doc(doc, text)  # a second run replaces its own section only
    written = doc.read_text(encoding="utf-8")
    assert written.count(SECTION_BEGIN) == written.count(SECTION_END) == 1
    assert "kept" in written


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--tablets", "0"], "--tablets must be 1..9999"),
        (["--runs", "0"], "must be positive"),
        (["--documents", "3", "--changed", "4"], "--changed 0..--documents"),
        (["--chunk-size", "1000"], "--chunk-size must be 16 KiB to 4 MiB"),
    ],
)
def test_bad_options_are_refused_before_anything_starts(
    args: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "bench"
    with pytest.raises(SystemExit) as exit_:
        main([*args, "--workdir", str(workdir)])
    assert exit_.value.code == 2
    assert says in capsys.readouterr().err
    assert not workdir.exists()  # nothing made, nothing started


def test_a_used_workdir_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "kept.txt").write_text("someone's file", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["--tablets", "3", "--workdir", str(tmp_path)])
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]
