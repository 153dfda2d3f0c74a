"""The display's texts: its catalogue (hemicycle-display) in use, and the keys it builds.

Completeness, placeholders, plural forms and the code scan for every catalogue are in
tests/room_protocol/test_text.py.
"""

from __future__ import annotations

from datetime import date

import pytest

from kiosk.i18n import long_date, set_language, tr, trn
from room_protocol.notices import NoticeKind
from room_protocol.text import MissingText, UnknownLanguage
from tests.catalogues import texts
from tests.room_protocol.test_text import asked_for

ENGLISH = texts("hemicycle-display", "en")


def test_every_key_is_used() -> None:
    """Every text in the catalogue is asked for by kiosk/ (or built, like the dates)."""
    used = {key for key, _, _ in asked_for("kiosk")}
    built = {k for k in ENGLISH if k.startswith(("date.weekday.", "date.month."))}
    built |= {f"notice.{kind.value}" for kind in NoticeKind}  # room_client.notices
    assert set(ENGLISH) - used - built == set()


def test_plurals() -> None:
    assert trn("vote.progress", 1, eligible=30) == "1 of 30 has voted"
    assert trn("vote.progress", 2, eligible=30) == "2 of 30 have voted"
    assert trn("result.more", 1) == "and 1 more option"
    set_language("vi")
    assert trn("vote.progress", 1, eligible=30) == "1/30 đại biểu đã biểu quyết"
    assert trn("result.more", 3) == "và 3 phương án khác"


def test_long_dates() -> None:
    assert long_date(date(2026, 11, 21)) == "Saturday 21 November 2026"
    set_language("vi")
    assert long_date(date(2026, 11, 21)) == "Thứ Bảy, ngày 21 tháng 11 năm 2026"
    assert tr("speaker.time_up") == "Hết giờ"
    set_language("en")
    with pytest.raises(UnknownLanguage, match="unknown language"):
        set_language("fr")
    with pytest.raises(MissingText):
        tr("no.such.key")
