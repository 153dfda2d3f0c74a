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
    # sign-in
    "sign_in.heading": "Sign in",
    "sign_in.at_seat": "Seat {seat}",
    "sign_in.who": "Who are you?",
    "sign_in.member_with_seat": "{name} — seat {seat}",
    "sign_in.member_role": "{name} — {role}",
    "sign_in.pin": "Your PIN",
    "sign_in.submit": "Sign in",
    "sign_in.badge_hint": "Or hold your badge to the reader",
    "sign_in.choose_name": "Choose your name first",
    "sign_in.pin_too_short": "A PIN has at least {digits} digits",
    "sign_in.wrong_pin": "Wrong PIN — please try again",
    "sign_in.seat_locked": (
        "Too many wrong PINs: this seat is locked for a while. Please ask the clerk for help."
    ),
    "sign_in.seat_locked_for": (
        "Too many wrong PINs: this seat is locked for {seconds} s. Please ask the clerk for help."
    ),
    "sign_in.no_pin": "No PIN is set for you — please ask the clerk",
    "sign_in.unknown_badge": "This badge is not registered for this meeting",
    "sign_in.not_connected": "Not connected to the room — try again in a moment",
    "sign_in.signed_in_elsewhere": "You were signed out: you signed in on another tablet",
    "sign_in.ended": "Your sign-in has ended — please sign in again",
    "sign_in.signed_out": "You were signed out",
    "pin.prompt": "Type your PIN",
    "pin.clear": "Clear",
    "pin.backspace": "Delete the last digit",
    # who is signed in
    "identity.with_seat": "{name} · {role} · seat {seat}",
    "identity.no_seat": "{name} · {role}",
    "identity.sign_in": "Sign in",
    "identity.sign_out": "Sign out",
    "identity.wrong_seat": (
        "You are not at your assigned seat: this is seat {seat}, yours is {assigned}"
    ),
    "role.chair": "Chair",
    "role.clerk": "Clerk",
    "role.delegate": "Delegate",
    "role.observer": "Observer",
    # follow the chair
    "follow.following": "Following the chair",
    "follow.leave": "Browse freely",
    "follow.browsing": "Browsing freely — tap to follow the chair again",
    "follow.rejoin": "Follow the chair",
    "follow.me_on": "Follow me is on — following tablets show this page",
    "follow.me_off": "Follow me is off — delegates do not see your pages",
    "follow.me_turn_on": "Turn on",
    "follow.me_turn_off": "Turn off",
    # speaker queue
    "floor.request_speak": "Request to speak",
    "floor.point_of_order": "Point of order",
    "floor.withdraw": "Withdraw",
    "floor.nobody_speaking": "Nobody has the floor",
    "floor.speaking": "Speaking: {name}",
    "floor.you_speak": "You have the floor",
    "floor.position": "You are number {position} of {count} in the queue",
    "floor.position_point_of_order": "Point of order: you are number {position} of {count}",
    "floor.waiting": "{count} waiting to speak",
    "floor.kind_point_of_order": "point of order",
    # messages
    "message.announcement": "Announcement from {sender} at {time}: {text}",
    "message.to_seat": "Message for your seat from {sender} at {time}: {text}",
    "strip.dismiss": "Dismiss",
    "notice.late_document": "New document: {title} (added to {items})",
    "notice.generic": "Notice: {text}",
    # service
    "service.call": "Call for service",
    "service.heading": "Call for service",
    "service.explain": "What do you need? The clerk will come to your seat.",
    "service.kind.water": "Water",
    "service.kind.microphone": "Microphone problem",
    "service.kind.technical": "Technical problem",
    "service.kind.other": "Something else",
    "service.note": "Note (optional)",
    "service.note_placeholder": "e.g. still water, please",
    "service.send": "Send request",
    "service.cancel": "Cancel",
    "service.sending": "Sending…",
    "service.sent": "Your request ({kind}) was sent to the clerk",
    # screen locks
    "lock.by_chair": "The chair has locked the screens",
    "lock.by_chair_detail": "Your screen opens again when the chair unlocks it.",
    "lock.inactive": "Screen locked",
    "lock.inactive_detail": "This screen locked itself after a while without use. Type your PIN.",
    "lock.unlock": "Unlock",
    "error.refused": "The room refused: {reason}",
    # chair console
    "console.heading": "Chair console",
    "console.follow_me_on": "Follow me: on",
    "console.follow_me_off": "Follow me: off",
    "console.screens_locked": "Screens locked",
    "console.current": "Current item: {number} {title}",
    "console.no_current": "No current item",
    "console.timer": "{spent} of {planned}",
    "console.timer_unplanned": "{spent} (no time planned)",
    "console.meeting_end": "Estimated end: {time}",
    "console.column_number": "No.",
    "console.column_title": "Item",
    "console.column_planned": "Planned",
    "console.column_spent": "Spent",
    "console.column_done": "Done",
    "console.previous": "◀ Previous",
    "console.next": "Next ▶",
    "console.make_current": "Make current",
    "console.mark_done": "Mark done",
    "console.mark_not_done": "Mark not done",
    "console.move_up": "Move up",
    "console.move_down": "Move down",
    "console.move_indent": "Indent",
    "console.move_outdent": "Outdent",
    "console.new_item_title": "Title of a new item",
    "console.minutes_suffix": " min",
    "console.add_item": "Add after selected",
    "console.title_needed": "Type a title for the new item first",
    "console.tab_speakers": "Speakers ({count})",
    "console.tab_messages": "Messages",
    "console.tab_service": "Service ({count})",
    "console.tab_alerts": "Alerts ({count})",
    "console.tab_documents": "Documents",
    "console.end_speech": "End speech",
    "console.queue": "Speaker queue",
    "console.queue_entry": "{number}. {name}",
    "console.at_seat": "seat {seat}",
    "console.grant": "Give the floor",
    "console.queue_up": "Up",
    "console.queue_down": "Down",
    "console.speaking_limit": "Speaking time limit",
    "console.seconds_suffix": " s",
    "console.no_limit": "No limit",
    "console.announce_label": "Announcement to all tablets",
    "console.announce": "Announce",
    "console.announced": "Announcement sent",
    "console.seat_label": "Message to one seat",
    "console.seat_choice": "{seat} — {name}",
    "console.send_to_seat": "Send to seat",
    "console.message_sent": "Message sent to seat {seat}",
    "console.screens_label": "Delegates' screens",
    "console.lock": "Lock all screens",
    "console.unlock": "Unlock all screens",
    "console.someone": "(unknown)",
    "console.resolve": "Mark resolved",
    "console.clear_alerts": "Clear",
    "console.item_documents": "Documents of the selected item",
    "console.attach_label": "Attach a document of the meeting to the selected item",
    "console.attach": "Attach",
    "alert.seat_locked": "Seat {seat} locked after repeated wrong PINs ({time})",
    "alert.wrong_seat": "Someone signed in at seat {seat}, which is not theirs ({time})",
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
    "sign_in.heading": "Đăng nhập",
    "sign_in.at_seat": "Ghế {seat}",
    "sign_in.who": "Bạn là ai?",
    "sign_in.member_with_seat": "{name} — ghế {seat}",
    "sign_in.member_role": "{name} — {role}",
    "sign_in.pin": "Mã PIN của bạn",
    "sign_in.submit": "Đăng nhập",
    "sign_in.badge_hint": "Hoặc quẹt thẻ của bạn vào đầu đọc",
    "sign_in.choose_name": "Hãy chọn tên của bạn trước",
    "sign_in.pin_too_short": "Mã PIN có ít nhất {digits} chữ số",
    "sign_in.wrong_pin": "Sai mã PIN — vui lòng thử lại",
    "sign_in.seat_locked": (
        "Nhập sai mã PIN quá nhiều lần: ghế này tạm thời bị khóa. Vui lòng nhờ thư ký hỗ trợ."
    ),
    "sign_in.seat_locked_for": (
        "Nhập sai mã PIN quá nhiều lần: ghế này bị khóa trong {seconds} giây."
        " Vui lòng nhờ thư ký hỗ trợ."
    ),
    "sign_in.no_pin": "Bạn chưa có mã PIN — vui lòng liên hệ thư ký",
    "sign_in.unknown_badge": "Thẻ này không được đăng ký cho cuộc họp này",
    "sign_in.not_connected": "Chưa kết nối với phòng họp — vui lòng thử lại sau giây lát",
    "sign_in.signed_in_elsewhere": "Bạn đã bị đăng xuất: bạn đã đăng nhập trên máy tính bảng khác",
    "sign_in.ended": "Phiên đăng nhập của bạn đã kết thúc — vui lòng đăng nhập lại",
    "sign_in.signed_out": "Bạn đã bị đăng xuất",
    "pin.prompt": "Nhập mã PIN",
    "pin.clear": "Xóa hết",
    "pin.backspace": "Xóa chữ số cuối",
    "identity.with_seat": "{name} · {role} · ghế {seat}",
    "identity.no_seat": "{name} · {role}",
    "identity.sign_in": "Đăng nhập",
    "identity.sign_out": "Đăng xuất",
    "identity.wrong_seat": (
        "Bạn không ngồi đúng ghế được xếp: đây là ghế {seat}, ghế của bạn là {assigned}"
    ),
    "role.chair": "Chủ tọa",
    "role.clerk": "Thư ký",
    "role.delegate": "Đại biểu",
    "role.observer": "Quan sát viên",
    "follow.following": "Đang theo chủ tọa",
    "follow.leave": "Xem tự do",
    "follow.browsing": "Đang xem tự do — chạm để theo chủ tọa trở lại",
    "follow.rejoin": "Theo chủ tọa",
    "follow.me_on": "Đang bật “Theo tôi” — các máy đang theo hiển thị trang này",
    "follow.me_off": "Đã tắt “Theo tôi” — đại biểu không thấy trang bạn đang xem",
    "follow.me_turn_on": "Bật",
    "follow.me_turn_off": "Tắt",
    "floor.request_speak": "Đăng ký phát biểu",
    "floor.point_of_order": "Kiến nghị thủ tục",
    "floor.withdraw": "Rút đăng ký",
    "floor.nobody_speaking": "Chưa có ai phát biểu",
    "floor.speaking": "Đang phát biểu: {name}",
    "floor.you_speak": "Bạn đang phát biểu",
    "floor.position": "Bạn đứng thứ {position}/{count} trong danh sách chờ",
    "floor.position_point_of_order": "Kiến nghị thủ tục: bạn đứng thứ {position}/{count}",
    "floor.waiting": "{count} người đang chờ phát biểu",
    "floor.kind_point_of_order": "kiến nghị thủ tục",
    "message.announcement": "Thông báo từ {sender} lúc {time}: {text}",
    "message.to_seat": "Tin nhắn cho ghế của bạn từ {sender} lúc {time}: {text}",
    "strip.dismiss": "Đóng",
    "notice.late_document": "Tài liệu mới: {title} (đã thêm vào {items})",
    "notice.generic": "Thông báo: {text}",
    "service.call": "Yêu cầu hỗ trợ",
    "service.heading": "Yêu cầu hỗ trợ",
    "service.explain": "Bạn cần gì? Thư ký sẽ đến tận ghế của bạn.",
    "service.kind.water": "Nước uống",
    "service.kind.microphone": "Sự cố micrô",
    "service.kind.technical": "Sự cố kỹ thuật",
    "service.kind.other": "Việc khác",
    "service.note": "Ghi chú (không bắt buộc)",
    "service.note_placeholder": "ví dụ: cho tôi xin nước lọc",
    "service.send": "Gửi yêu cầu",
    "service.cancel": "Hủy",
    "service.sending": "Đang gửi…",
    "service.sent": "Yêu cầu của bạn ({kind}) đã được gửi tới thư ký",
    "lock.by_chair": "Chủ tọa đã khóa màn hình",
    "lock.by_chair_detail": "Màn hình sẽ mở lại khi chủ tọa mở khóa.",
    "lock.inactive": "Màn hình đã khóa",
    "lock.inactive_detail": "Màn hình tự khóa sau một thời gian không dùng. Hãy nhập mã PIN.",
    "lock.unlock": "Mở khóa",
    "error.refused": "Phòng họp từ chối: {reason}",
    "console.heading": "Bảng điều khiển chủ tọa",
    "console.follow_me_on": "Theo tôi: bật",
    "console.follow_me_off": "Theo tôi: tắt",
    "console.screens_locked": "Màn hình đang khóa",
    "console.current": "Mục hiện tại: {number} {title}",
    "console.no_current": "Chưa có mục hiện tại",
    "console.timer": "{spent} / {planned}",
    "console.timer_unplanned": "{spent} (không dự kiến thời gian)",
    "console.meeting_end": "Dự kiến kết thúc: {time}",
    "console.column_number": "STT",
    "console.column_title": "Mục",
    "console.column_planned": "Dự kiến",
    "console.column_spent": "Đã dùng",
    "console.column_done": "Xong",
    "console.previous": "◀ Mục trước",
    "console.next": "Mục sau ▶",
    "console.make_current": "Đặt làm hiện tại",
    "console.mark_done": "Đánh dấu xong",
    "console.mark_not_done": "Bỏ đánh dấu xong",
    "console.move_up": "Chuyển lên",
    "console.move_down": "Chuyển xuống",
    "console.move_indent": "Thụt vào",
    "console.move_outdent": "Lùi ra",
    "console.new_item_title": "Tiêu đề mục mới",
    "console.minutes_suffix": " phút",
    "console.add_item": "Thêm sau mục đã chọn",
    "console.title_needed": "Hãy nhập tiêu đề cho mục mới trước",
    "console.tab_speakers": "Phát biểu ({count})",
    "console.tab_messages": "Tin nhắn",
    "console.tab_service": "Hỗ trợ ({count})",
    "console.tab_alerts": "Cảnh báo ({count})",
    "console.tab_documents": "Tài liệu",
    "console.end_speech": "Kết thúc phát biểu",
    "console.queue": "Danh sách chờ phát biểu",
    "console.queue_entry": "{number}. {name}",
    "console.at_seat": "ghế {seat}",
    "console.grant": "Mời phát biểu",
    "console.queue_up": "Lên",
    "console.queue_down": "Xuống",
    "console.speaking_limit": "Giới hạn thời gian phát biểu",
    "console.seconds_suffix": " giây",
    "console.no_limit": "Không giới hạn",
    "console.announce_label": "Thông báo tới mọi máy tính bảng",
    "console.announce": "Gửi thông báo",
    "console.announced": "Đã gửi thông báo",
    "console.seat_label": "Tin nhắn tới một ghế",
    "console.seat_choice": "{seat} — {name}",
    "console.send_to_seat": "Gửi tới ghế",
    "console.message_sent": "Đã gửi tin nhắn tới ghế {seat}",
    "console.screens_label": "Màn hình của đại biểu",
    "console.lock": "Khóa mọi màn hình",
    "console.unlock": "Mở khóa mọi màn hình",
    "console.someone": "(không rõ)",
    "console.resolve": "Đánh dấu đã xử lý",
    "console.clear_alerts": "Xóa hết",
    "console.item_documents": "Tài liệu của mục đã chọn",
    "console.attach_label": "Gắn một tài liệu của cuộc họp vào mục đã chọn",
    "console.attach": "Gắn tài liệu",
    "alert.seat_locked": "Ghế {seat} bị khóa do nhập sai mã PIN nhiều lần ({time})",
    "alert.wrong_seat": "Có người đăng nhập tại ghế {seat} không phải ghế của họ ({time})",
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
