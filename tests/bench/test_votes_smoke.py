"""The vote-burst bench at a tiny scale, so it keeps working: N = 20, both poll kinds."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.votes import Settings, run, section, summary_table
from tests.rooms import timeout


def test_vote_bench_runs_and_every_ballot_is_acknowledged_and_stored(tmp_path: Path) -> None:
    settings = Settings(
        tablets=[20],
        polls=["secret", "named"],
        spread=0.5,
        answer_seconds=timeout(20),
        publish_seconds=timeout(10),
        repeat=1,
        pin=False,
        max_seconds=timeout(90),  # ends before pytest-timeout (120 s) ends the run
        workdir=tmp_path / "bench",
    )
    started = time.monotonic()
    rows, facts = asyncio.run(run(settings))
    assert time.monotonic() - started < timeout(60)
    (row,) = rows
    assert row.n == 20 and row.failures == 0
    assert [(b.server, b.kind) for b in row.bursts] == [
        ("hemicycle", "secret"),
        ("baseline", "secret"),
        ("hemicycle", "named"),
        ("baseline", "named"),
    ]
    for b in row.bursts:
        where = f"{b.server} {b.kind}"
        assert b.ballots == 20 and b.failures == 0 and b.acked == 20, where
        assert 0 < b.p(50) <= b.p(99) <= b.max_ms < timeout(5_000), where
        assert b.db_matches, (where, b.db)
        stored = b.db["secret_voters" if b.kind == "secret" else "named_votes"]
        assert stored == b.db["ballot_ids"] == 20, where
        assert b.db["secret_ballots"] == (20 if b.kind == "secret" else 0), where
        assert b.commits and sum(n for n, _ms in b.commits) == 20, where
        assert b.published_missing == 0 and 0 < b.published_max_ms < timeout(10_000), where
        assert b.result_said == [("published", 20, b.result_said[0][2], 20)], where
        assert b.ok, where
    # The baseline writes one ballot per commit.
    assert all(n == 1 for b in row.bursts if b.server == "baseline" for n, _ in b.commits)
    text = section(rows, facts, settings, "python -m bench.votes --tablets 20")
    assert "| 20 | secret |" in summary_table(rows, settings.polls) and "--tablets 20" in text


def test_write_doc_replaces_only_its_own_section(tmp_path: Path) -> None:
    from bench.fanout import SECTION_BEGIN as FANOUT_BEGIN
    from bench.fanout import SECTION_END as FANOUT_END
    from bench.votes import SECTION_BEGIN, SECTION_END, write_doc

    doc = tmp_path / "performance.md"
    fanout = f"# Performance\n\n{FANOUT_BEGIN}\nfan-out\n{FANOUT_END}\n\n### Notes\n\nkept\n"
    doc.write_text(fanout)
    write_doc(doc, f"{SECTION_BEGIN}\nrun one\n{SECTION_END}")
    text = doc.read_text()
    assert text.startswith(fanout.rstrip()) and "## Vote burst" in text and "run one" in text
    write_doc(doc, f"{SECTION_BEGIN}\nrun two\n{SECTION_END}")
    text = doc.read_text()
    assert "run two" in text and "run one" not in text
    assert text.startswith(fanout.rstrip()) and text.count("## Vote burst") == 1
