"""The follow-during-a-burst bench at a tiny scale, so it keeps working: N = 20, one burst,
"before" being this checkout's HEAD in a worktree of its own."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from bench.follow_burst import REPO, Settings, run, section, summary_table
from tests.rooms import timeout


def _in_git_checkout() -> bool:
    if shutil.which("git") is None:
        return False
    done = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, check=False
    )
    return done.returncode == 0


@pytest.mark.skipif(not _in_git_checkout(), reason="needs git and a git checkout")
def test_follow_burst_bench_runs_both_servers_and_every_ballot_is_acknowledged_once(
    tmp_path: Path,
) -> None:
    settings = Settings(
        tablets=20,
        bursts=1,
        idle_moves=5,
        interval=0.05,
        spread=0.2,
        answer_seconds=20,
        settle=3.0,
        before="HEAD",
        pin=False,
        max_seconds=120,
        workdir=tmp_path / "bench",
    )
    started = time.monotonic()
    runs, facts = asyncio.run(run(settings))
    assert time.monotonic() - started < timeout(60)
    assert [r.server for r in runs] == ["before", "after"]
    for r in runs:
        assert r.failures == 0 and r.voters == 20, r.server
        assert r.idle.moves == 5 and r.idle.missed == 0 and r.idle.wrong_page == 0, r.server
        assert len(r.idle.latencies_ms) == 20 * 5, r.server
        assert 0 < r.idle.p(50) <= r.idle.p(99) <= r.idle.max_ms < 5_000, r.server
        assert r.burst.missed == 0 and r.idle.refused == r.burst.refused == 0, r.server
        (burst,) = r.bursts
        assert burst.moves_in_block > 0 and burst.moves_counted <= burst.moves_in_block
        assert len(burst.ballots) == 20 and len(burst.acked) == 20, r.server
        assert all(b[6] == 1 for b in burst.ballots), "every ballot answered exactly once"
        assert burst.db_ids_match and burst.db["secret_voters"] == 20, (r.server, burst.db)
        assert r.acked == r.sent == r.committed == 20 and r.answered_once and r.ok, r.server
    # The worktree of the "before" code is gone again.
    listed = subprocess.run(
        ["git", "-C", str(REPO), "worktree", "list"], capture_output=True, text=True, check=True
    )
    assert facts["before_checkout"] not in listed.stdout
    assert not Path(facts["before_checkout"]).exists()
    table = summary_table(runs)
    for server in ("before", "after"):
        for phase in ("idle", "burst"):
            assert f"| {server} (" in table and f") | {phase} |" in table
    text = section(runs, facts, settings, "python -m bench.follow_burst --tablets 20")
    assert "burst p99 / idle p99" in text and "--tablets 20" in text


def test_write_doc_replaces_only_its_own_section(tmp_path: Path) -> None:
    from bench.follow_burst import SECTION_BEGIN, SECTION_END, write_doc
    from bench.votes import SECTION_BEGIN as VOTES_BEGIN
    from bench.votes import SECTION_END as VOTES_END

    doc = tmp_path / "performance.md"
    votes = f"# Performance\n\n{VOTES_BEGIN}\nvotes\n{VOTES_END}\n\n### Notes\n\nkept\n"
    doc.write_text(votes)
    write_doc(doc, f"{SECTION_BEGIN}\nrun one\n{SECTION_END}")
    text = doc.read_text()
    assert text.startswith(votes.rstrip()) and "run one" in text
    assert "## Follow-the-chair during a vote burst" in text
    write_doc(doc, f"{SECTION_BEGIN}\nrun two\n{SECTION_END}")
    text = doc.read_text()
    assert "run two" in text and "run one" not in text
    assert text.startswith(votes.rstrip()) and text.count("during a vote burst\n") == 1
