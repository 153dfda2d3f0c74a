"""User-interface strings of the tablet in English and Vietnamese.

Keys are hierarchical (``screen.thing``). ``tr`` raises KeyError for a key that is in
no catalogue, so a typo fails loudly in tests; a key present in English but missing
from another language falls back to the English text (the tests keep both complete).
Language names are written in their own language in every catalogue, as switchers do.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = [
    "LANGUAGES",
    "current_language",
    "on_language_changed",
    "set_language",
    "tr",
]

ENGLISH: dict[str, str] = {
    "app.title": "Hemicycle",
    # discovery
    "discovery.searching": "Looking for meeting rooms…",
    "discovery.none_found": "No room found yet",
    "discovery.join": "Join",
    "discovery.rooms_heading": "Rooms on this network",
    "discovery.room_row": "{name} — protocol {version}",
    # connection
    "connection.not_connected": "Not connected",
    "connection.connecting": "Connecting to {room}…",
    "connection.connected": "Connected to {room}",
    "connection.retrying": "Connection lost — retrying in {seconds} s",
    "connection.failed": "Cannot connect: {reason}",
    "connection.offline": "Offline — showing saved documents",
    # agenda
    "agenda.title": "Agenda",
    "agenda.documents": "Documents",
    "agenda.current_item": "Current item",
    "agenda.duration_minutes": "{minutes} min",
    "agenda.no_meeting": "No meeting loaded",
    "agenda.meeting_line": "{date} · {location}",
    "agenda.no_documents": "No documents for this item",
    "agenda.choose_item": "Choose an agenda item to see its documents",
    "documents.pages": "{pages} pages · {size}",
    "documents.waiting": "Not downloaded yet",
    "documents.failed": "Download failed: {reason}",
    "documents.confidential": "Confidential",
    # documents
    "documents.downloading": "Downloading {title}… {percent}%",
    "documents.downloaded": "Downloaded",
    "documents.saved_offline": "Saved on this tablet",
    "documents.open": "Open",
    # document viewer
    "viewer.previous_page": "Previous page",
    "viewer.next_page": "Next page",
    "viewer.page_of": "Page {page} of {pages}",
    "viewer.fit_width": "Fit width",
    "viewer.fit_page": "Fit page",
    "viewer.thumbnails": "Thumbnails",
    "viewer.back_to_agenda": "Back to agenda",
    "viewer.cannot_show": "This document cannot be shown: {reason}",
    # language switch
    "language.label": "Language",
    "language.en": "English",
    "language.vi": "Tiếng Việt",
}

VIETNAMESE: dict[str, str] = {
    "app.title": "Hemicycle",
    "discovery.searching": "Đang tìm phòng họp…",
    "discovery.none_found": "Chưa tìm thấy phòng họp nào",
    "discovery.join": "Tham gia",
    "discovery.rooms_heading": "Các phòng họp trong mạng này",
    "discovery.room_row": "{name} — giao thức {version}",
    "connection.not_connected": "Chưa kết nối",
    "connection.connecting": "Đang kết nối tới {room}…",
    "connection.connected": "Đã kết nối tới {room}",
    "connection.retrying": "Mất kết nối — thử lại sau {seconds} giây",
    "connection.failed": "Không thể kết nối: {reason}",
    "connection.offline": "Ngoại tuyến — đang hiển thị tài liệu đã lưu",
    "agenda.title": "Chương trình nghị sự",
    "agenda.documents": "Tài liệu",
    "agenda.current_item": "Mục hiện tại",
    "agenda.duration_minutes": "{minutes} phút",
    "agenda.no_meeting": "Chưa có cuộc họp nào được tải",
    "agenda.meeting_line": "{date} · {location}",
    "agenda.no_documents": "Mục này không có tài liệu",
    "agenda.choose_item": "Chọn một mục trong chương trình để xem tài liệu",
    "documents.pages": "{pages} trang · {size}",
    "documents.waiting": "Chưa tải về",
    "documents.failed": "Tải về thất bại: {reason}",
    "documents.confidential": "Mật",
    "documents.downloading": "Đang tải {title}… {percent}%",
    "documents.downloaded": "Đã tải xong",
    "documents.saved_offline": "Đã lưu trên máy tính bảng này",
    "documents.open": "Mở",
    "viewer.previous_page": "Trang trước",
    "viewer.next_page": "Trang sau",
    "viewer.page_of": "Trang {page}/{pages}",
    "viewer.fit_width": "Vừa chiều rộng",
    "viewer.fit_page": "Vừa trang",
    "viewer.thumbnails": "Hình thu nhỏ",
    "viewer.back_to_agenda": "Về chương trình",
    "viewer.cannot_show": "Không thể hiển thị tài liệu này: {reason}",
    "language.label": "Ngôn ngữ",
    "language.en": "English",
    "language.vi": "Tiếng Việt",
}

LANGUAGES: dict[str, dict[str, str]] = {"en": ENGLISH, "vi": VIETNAMESE}

_current = "en"
_listeners: list[Callable[[str], None]] = []


def set_language(code: str) -> None:
    """Switch every later ``tr`` call to ``code`` and tell the listeners."""
    global _current
    if code not in LANGUAGES:
        choices = ", ".join(sorted(LANGUAGES))
        raise ValueError(f"unknown language {code!r}; choose one of: {choices}")
    if code == _current:
        return
    _current = code
    for listener in list(_listeners):
        listener(code)


def current_language() -> str:
    return _current


def on_language_changed(listener: Callable[[str], None]) -> Callable[[], None]:
    """Call ``listener(code)`` after each language switch; returns the unsubscribe call."""
    _listeners.append(listener)

    def unsubscribe() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return unsubscribe


def tr(key: str, **kwargs: object) -> str:
    """The text for ``key`` in the current language, formatted with ``kwargs``."""
    text = LANGUAGES[_current].get(key)
    if text is None:
        text = ENGLISH[key]  # KeyError for a key no catalogue knows
    return text.format(**kwargs)
