"""How a client words a ``room.notice`` (what the room did on its own: a USB stick's
result): a message id and its arguments, looked up in the client's own catalogue (the
tablet's or the display's; both carry the ``notice.*`` keys)."""

from __future__ import annotations

from room_protocol.notices import NoticeKind, RoomNotice

_PLURAL = frozenset(
    {NoticeKind.PACKAGE_IMPORTED, NoticeKind.PACKAGE_STORED, NoticeKind.RECORDS_EXPORTED}
)


def notice_text(notice: RoomNotice) -> tuple[str, dict[str, object]]:
    """``(msgid, arguments)``; an ``n`` argument means the entry is a plural."""
    arguments: dict[str, object] = {"title": notice.title, "detail": notice.detail}
    if notice.kind in _PLURAL:
        arguments["n"] = notice.count
    return f"notice.{notice.kind.value}", arguments
