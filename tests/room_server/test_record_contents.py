"""The record's contents and minutes, from a meeting run through real clients against a real
room-server process (real TLS, the real SQLite file)."""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymupdf
import pytest

from room_protocol.voting import (
    ABSTAIN,
    NO,
    YES,
)
from room_server.record.contents import DocumentDamaged, write_contents
from room_server.record.minutes import build_minutes
from room_server.record.tables import MeetingNotFound, read_meeting, read_only
from tests.rooms import RunningRoom, running_room, sha256_file
from tests.scripted_meeting import CONTENTS, MEETING, NAMES, run_meeting


@dataclass
class Built:
    room: RunningRoom
    out: Path
    again: Path
    files: list[Path]
    progress: list[tuple[int, int, str]]

    def json(self, name: str) -> Any:
        return json.loads((self.out / name).read_text(encoding="utf-8"))

    def csv(self, name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO((self.out / name).read_text(encoding="utf-8"))))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, voting_package_dir: Path) -> Iterator[Built]:
    base = tmp_path_factory.mktemp("record")
    with running_room(base / "room", package=voting_package_dir, mdns=False) as room:
        asyncio.run(run_meeting(room))
        progress: list[tuple[int, int, str]] = []
        db = room.state_dir / "room.sqlite3"
        # built while the server runs (as the record builder does), then again after
        files = write_contents(db, room.state_dir, MEETING, base / "out", _record(progress))
        room.stop()
        write_contents(db, room.state_dir, MEETING, base / "again", lambda *_: None)
        yield Built(room, base / "out", base / "again", files, progress)


def _record(progress: list[tuple[int, int, str]]) -> Any:
    return lambda done, total, what: progress.append((done, total, what))


def _ignore(done: int, total: int, what: str) -> None:
    pass


def _relative(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _pdf_text(path: Path) -> str:
    with pymupdf.open(path) as doc:
        text = "".join(page.get_text() for page in doc)
    return " ".join(unicodedata.normalize("NFC", text).split())


# --- the files -----------------------------------------------------------------------------


def test_every_content_file_is_written_with_progress(built: Built) -> None:
    assert _relative(built.out) == CONTENTS
    assert {str(p.relative_to(built.out)) for p in built.files} == CONTENTS
    total = built.progress[0][1]
    assert [p[0] for p in built.progress] == list(range(total + 1))
    assert {p[1] for p in built.progress} == {total}
    assert built.progress[-1] == (total, total, "")


def test_the_same_database_gives_the_same_bytes(built: Built) -> None:
    assert _relative(built.again) == CONTENTS
    for name in sorted(CONTENTS):
        assert (built.out / name).read_bytes() == (built.again / name).read_bytes(), name
    for name in ("meeting.json", "polls.json", "attendance.csv"):
        data = (built.out / name).read_bytes()
        assert data.endswith(b"\n") and b"\r" not in data, name


def test_meeting_and_agenda_with_planned_and_actual_times(built: Built) -> None:
    meeting = built.json("meeting.json")
    assert meeting["meeting"]["id"] == MEETING and meeting["meeting"]["title"] == "Test council"
    assert meeting["meeting"]["first_check_in_at"]
    agenda = meeting["agenda"]
    assert [(i["id"], i["number"], i["planned_minutes"]) for i in agenda] == [
        ("opening", "1", 5),
        ("budget", "2", 45),
    ]
    opening, budget = agenda
    assert opening["done"] and opening["actual_seconds"] > 0
    assert budget["current"] and budget["items"][0]["id"] == "budget-debate"
    assert meeting["meeting"]["current_item_id"] == "budget"
    assert [d["id"] for d in meeting["documents"]] == ["agenda", "budget", "minutes"]


def test_documents_are_the_imported_originals(built: Built) -> None:
    meeting = built.json("meeting.json")
    for doc in meeting["documents"]:
        assert sha256_file(built.out / doc["file"]) == doc["sha256"]


def test_attendance_register_with_methods_times_and_proxies(built: Built) -> None:
    attendance = built.json("attendance.json")
    register = {e["member"]: e for e in attendance["register"]}
    assert list(register) == ["chair", "clerk", "d1", "d2", "d3", "obs", "d4", "d5"]
    assert register["d1"]["methods"] == ["pin"] and register["d1"]["seats"] == ["A2"]
    assert register["d4"]["methods"] == ["clerk"] and register["d4"]["check_ins"]
    assert register["d3"]["check_outs"] and not register["d3"]["present_at_close"]
    assert register["d1"]["present_at_close"] and not register["d5"]["check_ins"]
    assert register["d5"]["proxy_holder"] == "d1" and register["d5"]["proxy_source"] == "package"
    assert register["d3"]["proxy_holder"] == "d2" and register["d3"]["proxy_source"] == "clerk"
    assert register["d2"]["proxies_held"] == ["d3"]
    assert [(p["giver"], p["holder"], p["source"]) for p in attendance["proxies"]] == [
        ("d5", "d1", "package"),
        ("d3", "d2", "clerk"),
    ]
    assert [(e["kind"], e["giver"]) for e in attendance["proxy_events"]] == [
        ("proxy_granted", "d3")
    ]
    assert ("d3", "check_out", "sign_out") in {
        (e["member"], e["event"], e["method"]) for e in attendance["events"]
    }
    rows = {r["member"]: r for r in built.csv("attendance.csv")}
    assert rows["d1"]["name"] == NAMES["d1"] and rows["d1"]["present_at_close"] == "yes"
    assert rows["d5"]["proxy_holder"] == "d1" and rows["d5"]["check_ins"] == ""


def test_polls_with_rules_quorum_and_the_named_roll_call(built: Built) -> None:
    polls = {p["id"]: p for p in built.json("polls.json")["polls"]}
    assert set(polls) == {"p-budget", "p-secret", "p-board", "p-weighted"}
    named = polls["p-budget"]
    assert named["state"] == "published" and named["item_id"] == "budget"
    assert named["spec"]["rule"]["majority"] == "simple" and not named["quorum_override"]
    assert named["quorum_at_opening"] == {
        "present": 4,
        "represented": 5,
        "required": 3,
        "quorum_met": True,
    }
    assert named["opened_at"] and named["closed_at"] and named["published_at"]
    assert [(v["member"], v["choices"], v["cast_by"]) for v in named["roll_call"]] == [
        ("d1", [YES], None),
        ("d2", [YES], None),
        ("d3", [NO], None),
        ("d5", [NO], "d1"),
    ]
    assert named["result"]["outcome"] == "rejected"  # yes 2 : no 2
    assert polls["p-board"]["state"] == "draft" and polls["p-board"]["result"] is None
    results = [r for r in built.csv("results.csv") if r["poll"] == "p-budget"]
    assert [(r["option"], r["votes"]) for r in results] == [(YES, "2"), (NO, "2"), (ABSTAIN, "0")]
    assert {r["outcome"] for r in results} == {"rejected"}


def test_a_secret_poll_gives_totals_only(built: Built) -> None:
    secret = next(p for p in built.json("polls.json")["polls"] if p["id"] == "p-secret")
    assert secret["secret"] and "roll_call" not in secret and "named" not in secret["result"]
    counts = {c["option_id"]: c["votes"] for c in secret["result"]["counts"]}
    assert counts == {YES: 2, NO: 1, ABSTAIN: 1}
    # who took part, as a sorted list with nothing beside it
    assert secret["voters"] == ["d1", "d2", "d3", "d5"]
    rest = json.dumps({k: v for k, v in secret.items() if k != "voters"}, ensure_ascii=False)
    for member, name in NAMES.items():
        assert f'"{member}"' not in rest and name not in rest, member
    times = {secret["opened_at"], secret["closed_at"], secret["published_at"]}
    found = {s for s in rest.split('"') if s.startswith("20") and s.endswith("+00:00")}
    assert found <= times  # no per-ballot time
    for row in (r for r in built.csv("results.csv") if r["poll"] == "p-secret"):
        cells = " ".join(row.values())
        assert not any(m in cells.split() or n in cells for m, n in NAMES.items()), row
    with pymupdf.open(built.out / "minutes-en.pdf") as doc:
        text = " ".join("".join(p.get_text() for p in doc).split())
    section = text[text.index("Motion of no confidence") :]
    section = section[: section.find("Chair Person")]  # up to the signatures
    assert not any(name in section for name in NAMES.values()), section


def test_speakers_and_messages(built: Built) -> None:
    speakers = built.csv("speakers.csv")
    # a point of order goes first
    assert [(s["member"], s["kind"], s["item"]) for s in speakers] == [
        ("d2", "point_of_order", "budget"),
        ("d1", "speak", "budget"),
    ]
    assert all(s["ended_at"] and float(s["duration_seconds"]) >= 0 for s in speakers)
    assert speakers[1]["name"] == NAMES["d1"]
    messages = built.json("messages.json")
    assert [m["text"] for m in messages["announcements"]] == ["Chào mừng: the session is open"]
    assert [(m["to_seat"], m["text"]) for m in messages["to_seats"]] == [
        ("A3", "Your microphone is on")
    ]
    [call] = messages["service_calls"]
    assert (call["kind"], call["member"], call["seat"]) == ("water", "d1", "A2")
    assert call["resolved_at"] and call["text"] == "nước lọc, please"
    assert messages["late_documents"] == []


# --- the minutes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["Minutes", "Attendance", "Proceedings", "Adopted", "Not adopted", "page 1 of"]),
        ("vi", ["Biên bản", "Thành phần tham dự", "Được thông qua", "Không được thông qua"]),
    ],
)
def test_the_minutes_name_every_item_decision_and_attendee(
    built: Built, language: str, words: list[str]
) -> None:
    path = built.out / f"minutes-{language}.pdf"
    text = _pdf_text(path)
    for word in [
        *words,
        "Test council",
        "1 Opening",
        "2 Budget",
        "2.1 Debate",
        "Adopt the budget 2027",
        "Motion of no confidence",
        *NAMES.values(),
    ]:
        assert word in text, (language, word)
    with pymupdf.open(path) as doc:
        page = doc[0]
        assert (round(page.rect.width), round(page.rect.height)) == (595, 842)  # A4
        fonts = {f[3].split("+")[-1]: f[1] for f in page.get_fonts()}
        assert fonts and all(ext == "ttf" for ext in fonts.values()), fonts  # embedded
        assert doc.metadata["creationDate"] == doc.metadata["modDate"] != ""
        pages = doc.page_count
        page.get_pixmap(dpi=72).save(f"/tmp/minutes-{language}-page1.png")
    assert f"{pages}" in text


def test_minutes_longer_than_a_page_are_laid_out_to_the_end(built: Built) -> None:
    """A congress: the attendance list alone fills pages. The minutes of the real meeting's
    record with its register repeated 60 times run over several pages and end with the
    signatures (found by bench.session: only one-page minutes were built)."""
    with read_only(built.room.state_dir / "room.sqlite3") as conn:
        record = read_meeting(conn, MEETING)
    long = dataclasses.replace(record, register=record.register * 60)
    path = built.out.parent / "long-minutes-en.pdf"
    path.write_bytes(build_minutes(long, "en"))
    with pymupdf.open(path) as doc:
        pages = doc.page_count
        last = " ".join(doc[-1].get_text().split())
    assert pages > 2
    assert "Clerk Person" in last and f"page {pages} of {pages}" in last


def test_the_vietnamese_minutes_keep_their_diacritics(built: Built) -> None:
    text = _pdf_text(built.out / "minutes-vi.pdf")
    for word in ("Biên bản", "Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Chủ tọa", "Thư ký"):
        assert word in text, word
    assert "trang 1/" in text


# --- bad input -----------------------------------------------------------------------------


def test_an_unknown_meeting_or_a_damaged_document_is_refused(built: Built, tmp_path: Path) -> None:
    db = built.room.state_dir / "room.sqlite3"
    with pytest.raises(MeetingNotFound, match="no meeting 'nope'"):
        write_contents(db, built.room.state_dir, "nope", tmp_path / "x", lambda *_: None)
    assert not (tmp_path / "x").exists()
    with pytest.raises(FileNotFoundError, match="no room database"):
        write_contents(
            tmp_path / "none.sqlite3", tmp_path, MEETING, tmp_path / "y", lambda *_: None
        )
    # a stored original whose bytes changed is not copied into the record
    state = tmp_path / "state"
    for doc in built.json("meeting.json")["documents"]:
        target = state / "documents" / doc["sha256"][:2] / f"{doc['sha256']}.pdf"
        target.parent.mkdir(parents=True, exist_ok=True)
        data = (built.out / doc["file"]).read_bytes()
        target.write_bytes(data[:-2] + b"%\n" if doc["id"] == "budget" else data)
    with pytest.raises(DocumentDamaged, match="document 'budget'"):
        write_contents(db, state, MEETING, tmp_path / "z", lambda *_: None)
    assert not (tmp_path / "z" / "documents" / "budget.pdf").exists()
    assert not list((tmp_path / "z").rglob("*.part"))
