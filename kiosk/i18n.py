"""Strings of the room display in English and Vietnamese.

Same rules as the tablet's catalogue: keys are hierarchical (``panel.thing``); ``tr``
raises KeyError for a key that is in no catalogue, so a typo fails loudly in tests; a key
missing from another language falls back to English (the tests keep both complete).
"""

from __future__ import annotations

from datetime import date

from tablet_client.catalogue import Catalogue

__all__ = [
    "LANGUAGES",
    "current_language",
    "long_date",
    "on_language_changed",
    "set_language",
    "tr",
]

ENGLISH: dict[str, str] = {
    "app.title": "Hemicycle room display",
    # idle
    "idle.no_meeting": "No meeting in progress",
    "idle.waiting": "Waiting for the room…",
    # meeting header
    "meeting.line": "{date} · {location}",
    # current agenda item
    "item.heading": "Current agenda item",
    "item.none": "No current item",
    "item.timer": "{elapsed} / {planned}",
    "item.left": "{left} left",
    "item.over": "{over} over time",
    "item.no_plan": "no planned time",
    # current speaker
    "speaker.heading": "Speaking",
    "speaker.none": "Nobody has the floor",
    "speaker.seat": "Seat {seat}",
    "speaker.time_left": "Time left",
    "speaker.time_up": "Time is up",
    "speaker.no_limit": "Speaking for",
    # speaker queue
    "queue.heading": "Next speakers",
    "queue.empty": "Nobody is waiting to speak",
    "queue.more": "and {count} more",
    "queue.point_of_order": "Point of order",
    # announcements
    "announcement.heading": "Announcement",
    "announcement.meta": "{sender} · {time}",
    # connection line
    "connection.searching": "Looking for room {room}…",
    "connection.connecting": "Connecting to {room}…",
    "connection.connected": "Connected to {room}",
    "connection.reconnecting": "Connection to {room} lost — reconnecting…",
    "connection.last_update": "last update {time}",
    "connection.stopped": "Not connected",
    # dates
    "date.long": "{weekday} {day} {month} {year}",
    "date.weekday.0": "Monday",
    "date.weekday.1": "Tuesday",
    "date.weekday.2": "Wednesday",
    "date.weekday.3": "Thursday",
    "date.weekday.4": "Friday",
    "date.weekday.5": "Saturday",
    "date.weekday.6": "Sunday",
    "date.month.1": "January",
    "date.month.2": "February",
    "date.month.3": "March",
    "date.month.4": "April",
    "date.month.5": "May",
    "date.month.6": "June",
    "date.month.7": "July",
    "date.month.8": "August",
    "date.month.9": "September",
    "date.month.10": "October",
    "date.month.11": "November",
    "date.month.12": "December",
}

VIETNAMESE: dict[str, str] = {
    "app.title": "Hemicycle — màn hình phòng họp",
    "idle.no_meeting": "Không có cuộc họp nào đang diễn ra",
    "idle.waiting": "Đang chờ phòng họp…",
    "meeting.line": "{date} · {location}",
    "item.heading": "Nội dung đang thảo luận",
    "item.none": "Chưa có nội dung nào đang thảo luận",
    "item.timer": "{elapsed} / {planned}",
    "item.left": "còn {left}",
    "item.over": "quá giờ {over}",
    "item.no_plan": "không định trước thời gian",
    "speaker.heading": "Đang phát biểu",
    "speaker.none": "Chưa có ai phát biểu",
    "speaker.seat": "Ghế {seat}",
    "speaker.time_left": "Thời gian còn lại",
    "speaker.time_up": "Hết giờ",
    "speaker.no_limit": "Đã phát biểu",
    "queue.heading": "Đăng ký phát biểu tiếp theo",
    "queue.empty": "Chưa có ai đăng ký phát biểu",
    "queue.more": "và {count} người khác",
    "queue.point_of_order": "Kiến nghị thủ tục",
    "announcement.heading": "Thông báo",
    "announcement.meta": "{sender} · {time}",
    "connection.searching": "Đang tìm phòng họp {room}…",
    "connection.connecting": "Đang kết nối tới {room}…",
    "connection.connected": "Đã kết nối tới {room}",
    "connection.reconnecting": "Mất kết nối tới {room} — đang kết nối lại…",
    "connection.last_update": "cập nhật lần cuối {time}",
    "connection.stopped": "Chưa kết nối",
    "date.long": "{weekday}, ngày {day} {month} năm {year}",
    "date.weekday.0": "Thứ Hai",
    "date.weekday.1": "Thứ Ba",
    "date.weekday.2": "Thứ Tư",
    "date.weekday.3": "Thứ Năm",
    "date.weekday.4": "Thứ Sáu",
    "date.weekday.5": "Thứ Bảy",
    "date.weekday.6": "Chủ Nhật",
    "date.month.1": "tháng 1",
    "date.month.2": "tháng 2",
    "date.month.3": "tháng 3",
    "date.month.4": "tháng 4",
    "date.month.5": "tháng 5",
    "date.month.6": "tháng 6",
    "date.month.7": "tháng 7",
    "date.month.8": "tháng 8",
    "date.month.9": "tháng 9",
    "date.month.10": "tháng 10",
    "date.month.11": "tháng 11",
    "date.month.12": "tháng 12",
}

LANGUAGES: dict[str, dict[str, str]] = {"en": ENGLISH, "vi": VIETNAMESE}

_CATALOGUE = Catalogue(LANGUAGES, fallback="en")
set_language = _CATALOGUE.set_language
current_language = _CATALOGUE.current_language
on_language_changed = _CATALOGUE.on_language_changed
tr = _CATALOGUE.tr


def long_date(day: date) -> str:
    """A meeting date as people write it in the current language."""
    return tr(
        "date.long",
        weekday=tr(f"date.weekday.{day.weekday()}"),
        day=day.day,
        month=tr(f"date.month.{day.month}"),
        year=day.year,
    )
