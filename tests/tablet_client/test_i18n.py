"""The tablet's texts: its catalogue (hemicycle-tablet) in use, and the keys it builds.

Completeness, placeholders, plural forms and the code scan for every catalogue are in
tests/room_protocol/test_text.py.
"""

from __future__ import annotations

import pytest

from room_protocol.text import MissingText, UnknownLanguage
from tablet_client.i18n import (
    LANGUAGES,
    current_language,
    on_language_changed,
    set_language,
    tr,
    tr_text,
    trn,
)
from tests.catalogues import texts

ENGLISH = texts("hemicycle-tablet", "en")


def test_views_find_their_keys() -> None:
    needed = {
        "app.title",
        "discovery.searching",
        "discovery.none_found",
        "discovery.join",
        "discovery.rooms_heading",
        "discovery.choose",
        "discovery.back_to_rooms",
        "connection.not_connected",
        "connection.connecting",
        "connection.connected",
        "connection.retrying",
        "connection.failed",
        "connection.offline",
        "agenda.title",
        "agenda.documents",
        "agenda.current_item",
        "agenda.duration_minutes",
        "agenda.no_meeting",
        "documents.downloading",
        "documents.downloaded",
        "documents.saved_offline",
        "documents.open",
        "viewer.previous_page",
        "viewer.next_page",
        "viewer.page_of",
        "viewer.fit_width",
        "viewer.fit_page",
        "viewer.thumbnails",
        "viewer.back_to_agenda",
        "viewer.cannot_show",
        "language.label",
        "language.en",
        "language.vi",
    }
    assert needed <= set(ENGLISH)


def test_tr_formats_in_the_current_language() -> None:
    assert current_language() == "en"
    assert tr("viewer.page_of", page=3, pages=12) == "Page 3 of 12"
    assert tr("connection.retrying", seconds=5) == "Connection lost — retrying in 5 s"
    set_language("vi")
    assert current_language() == "vi"
    assert tr("viewer.page_of", page=3, pages=12) == "Trang 3/12"
    assert tr("connection.connected", room="Hội trường A") == "Đã kết nối tới Hội trường A"
    assert tr("discovery.searching") == "Đang tìm phòng họp…"
    assert tr("app.title") == "Hemicycle"


def test_unknown_key_and_missing_argument_raise() -> None:
    with pytest.raises(MissingText, match=r"viewer\.no_such_key"):
        tr("viewer.no_such_key")
    with pytest.raises(KeyError, match="pages"):
        tr("viewer.page_of", page=1)


def test_plurals_in_both_languages() -> None:
    assert trn("results.ballots", 1) == "1 ballot"
    assert trn("results.ballots", 2) == "2 ballots"
    assert trn("documents.pages", 1, size="2 MB") == "1 page · 2 MB"
    assert tr_text(("sign_in.pin_too_short", {"n": 4})) == "A PIN has at least 4 digits"
    assert tr_text(("vote.rule.plurality_election", {"n": 1})) == (
        "The candidate with the most votes is elected"
    )
    set_language("vi")
    assert [trn("results.ballots", n) for n in (1, 2)] == ["1 phiếu", "2 phiếu"]
    assert trn("documents.pages", 1, size="2 MB") == "1 trang · 2 MB"
    assert tr_text(("sign_in.pin_too_short", {"n": 4})) == "Mã PIN có ít nhất 4 chữ số"


def test_set_language_rejects_unknown_codes() -> None:
    with pytest.raises(UnknownLanguage, match="unknown language 'fr'; choose one of: en, vi"):
        set_language("fr")
    assert current_language() == "en"
    assert LANGUAGES == ("en", "vi")


def test_listeners_hear_switches_until_unsubscribed() -> None:
    heard: list[str] = []
    unsubscribe = on_language_changed(heard.append)
    set_language("vi")
    set_language("vi")  # no change, no call
    set_language("en")
    unsubscribe()
    set_language("vi")
    assert heard == ["vi", "en"]


def test_every_key_the_tablet_asks_for_exists() -> None:
    """Keys written out in tr("...") calls, and the ones made from protocol values."""
    import re
    from pathlib import Path

    from room_protocol.live import ServiceKind
    from room_protocol.messages import Role
    from room_protocol.voting import (
        Abstentions,
        Base,
        CheckMethod,
        Majority,
        Outcome,
        PollKind,
        PollState,
        Tie,
    )

    source = Path(__file__).resolve().parents[2] / "tablet_client"
    literal = re.compile(
        r"""\btr\(\s*"([a-z_.]+)"|"((?:sign_in|floor|follow|console|"""
        r"""notice|alert|identity|lock|service|pin|message|strip|vote|results|polls|poll|"""
        r"""attendance|quorum)\.[a-z_.]+)\""""
    )
    used: set[str] = set()
    for path in source.rglob("*.py"):
        for match in literal.finditer(path.read_text(encoding="utf-8")):
            used.add(match.group(1) or match.group(2))
    used |= {f"role.{role.value}" for role in Role}
    used |= {f"service.kind.{kind.value}" for kind in ServiceKind}
    used |= {f"console.move_{move}" for move in ("up", "down", "indent", "outdent")}
    # attendance and voting: keys made from protocol values and column names
    used |= {f"attendance.method.{method.value}" for method in CheckMethod}
    used |= {f"attendance.column_{c}" for c in ("member", "seat", "status", "how", "proxy")}
    used |= {f"poll.kind.{kind.value}" for kind in PollKind}
    used |= {f"poll.state.{state.value}" for state in PollState}
    for prefix, values in (
        ("poll.majority", Majority),
        ("poll.base", Base),
        ("poll.abstentions", Abstentions),
        ("poll.tie", Tie),
    ):
        used |= {f"{prefix}.{value.value}" for value in values}
    fields: tuple[str, ...] = (
        "template",
        "title",
        "kind",
        "options",
        "min",
        "max",
        "seats",
        "majority",
    )
    fields += ("base", "abstentions", "tie", "item")
    used |= {f"polls.field_{name}" for name in fields}
    used |= {f"results.outcome_{outcome.value}" for outcome in Outcome}
    used |= {f"vote.option_{option}" for option in ("yes", "no", "abstain")}
    used |= {f"vote.rule.abstentions_{a.value}" for a in Abstentions}
    used |= {f"vote.rule.tie_{tie.value}" for tie in Tie if tie is not Tie.FAILS}
    used |= {
        f"vote.rule.{majority.value}.{base.value}"
        for majority in Majority
        for base in Base
        if majority is not Majority.PLURALITY
        and (majority is not Majority.ABSOLUTE or base is Base.MEMBERS)
    }
    # message types, and the prefixes of keys made above
    used -= {"floor.state", "poll.state", "poll.cast", "poll.create", "poll.open", "poll.close"}
    used -= {"poll.publish", "poll.progress", "poll.recorded", "poll.receipts"}
    used -= {"attendance.state", "attendance.set_proxy"}
    used -= {"poll.kind", "poll.majority", "poll.base", "poll.abstentions", "poll.tie"}
    missing = sorted(used - set(ENGLISH))
    assert not missing
