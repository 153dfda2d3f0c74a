"""A realistic demo meeting package: a council session with four generated PDFs.

The manifest is written as TOML text by hand (``tomllib`` only reads), so IT staff see the
friendly format. Output is byte-for-byte the same on every run.
"""

from __future__ import annotations

import functools
import json
import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymupdf

_mupdf: Any = pymupdf  # PyMuPDF is only partly typed; under --strict each call is "untyped"

__all__ = ["SAMPLE_MEETING_ID", "write_sample_package"]

SAMPLE_MEETING_ID = "riverside-council-2026-11-21"
_PDF_DATE = "D:20261101090000Z"  # fixed so the bytes never change
_ZIP_DATE = (2026, 11, 1, 9, 0, 0)
_A4 = _mupdf.paper_rect("a4")  # 595 x 842 pt
_MARGIN = 64.0
_INK = (0.13, 0.15, 0.2)
_MUTED = (0.42, 0.45, 0.5)
_ACCENT = (0.11, 0.33, 0.58)
_PALETTE = [(0.11, 0.33, 0.58), (0.2, 0.55, 0.45), (0.85, 0.55, 0.15), (0.7, 0.25, 0.3)]


def write_sample_package(dest: Path, *, as_zip: bool = False) -> Path:
    """Write the demo package into ``dest`` and return its path (a folder or a .zip)."""
    dest.mkdir(parents=True, exist_ok=True)
    files = _package_files()
    if as_zip:
        target = dest / f"{SAMPLE_MEETING_ID}.zip"
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, data in files:
                info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                archive.writestr(info, data)
        return target
    folder = dest / SAMPLE_MEETING_ID
    for name, data in files:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return folder


@functools.cache  # building the PDFs takes a second or two; the bytes never change
def _package_files() -> tuple[tuple[str, bytes], ...]:
    manifest = ("meeting.toml", _manifest_toml().encode("utf-8"))
    return (manifest, *((doc.file, doc.build()) for doc in _DOCUMENTS))


# --- the meeting -----------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    id: str
    title: str
    minutes: int
    documents: tuple[str, ...] = ()
    items: tuple[_Item, ...] = ()


_AGENDA = (
    _Item(
        "opening",
        "Opening of the session",
        5,
        items=(
            _Item("roll-call", "Roll call and quorum", 2),
            _Item("agenda-adoption", "Adoption of the agenda", 3),
        ),
    ),
    _Item("previous-minutes", "Approval of the minutes of 17 October 2026", 10, ("minutes",)),
    _Item(
        "budget",
        "Draft budget 2027",
        60,
        ("budget",),
        (
            _Item("budget-presentation", "Presentation by the Director of Finance", 20),
            _Item("budget-debate", "General debate", 30),
            _Item(
                "budget-vote",
                "Decision on the draft budget",
                10,
                items=(
                    _Item("budget-amendments", "Amendments", 6),
                    _Item("budget-final-vote", "Final vote", 4),
                ),
            ),
        ),
    ),
    _Item(
        "zoning",
        "Zoning proposal: Riverside North mixed-use district",
        40,
        ("zoning",),
        (
            _Item("zoning-report", "Report of the Planning Committee", 15),
            _Item("zoning-consultation", "Summary of the public consultation", 10),
            _Item("zoning-vote", "Vote on the zoning proposal", 15),
        ),
    ),
    _Item(
        "sister-city",
        "Sister-city partnership with Hội An: economic report",
        20,
        ("hoi-an-report",),
    ),
    _Item(
        "closing",
        "Any other business and closing",
        10,
        items=(
            _Item("other-business", "Any other business", 6),
            _Item("next-session", "Date of the next session", 2),
            _Item("close", "Closing of the session", 2),
        ),
    ),
)

_SEATS = tuple(f"{row}{n}" for row in "ABC" for n in range(1, 7))
_ROW_NAMES = {"A": "Row A", "B": "Row B", "C": "Row C"}

# (id, name, role, seat, group)
_ROSTER = (
    ("d001", "Margaret Ellison", "chair", "A1", "Riverside Forward"),
    ("d002", "Daniel Okafor", "clerk", "A2", ""),
    ("d003", "Nguyễn Văn An", "delegate", "A3", "Riverside Forward"),
    ("d004", "Sarah Whitfield", "delegate", "A4", "Green Riverside"),
    ("d005", "Trần Thị Bích Ngọc", "delegate", "A5", "Green Riverside"),
    ("d006", "James O'Connor", "delegate", "A6", "Riverside Forward"),
    ("d007", "Lê Hoàng Minh", "delegate", "B1", "Independent"),
    ("d008", "Priya Raman", "delegate", "B2", "Riverside Forward"),
    ("d009", "Phạm Thu Hương", "delegate", "B3", "Green Riverside"),
    ("d010", "Thomas Becker", "delegate", "B4", "Independent"),
    ("d011", "Võ Quốc Bảo", "delegate", "B5", "Riverside Forward"),
    ("d012", "Emily Carter", "delegate", "B6", "Green Riverside"),
    ("d013", "Đặng Thị Mai", "delegate", "C1", "Independent"),
    ("d014", "Robert Lindqvist", "delegate", "C2", "Riverside Forward"),
    ("d015", "Hồ Thanh Tâm", "observer", "C6", "Riverside Courier (press)"),
)

# The twelve delegates vote (the chair, clerk and press do not); seven make the quorum.
_ATTENDANCE = {"seating": "assigned", "quorum": "majority", "proxies_count": True, "max_proxies": 1}
_PROXIES = (("d013", "d010"),)  # (giver, holder): Đặng Thị Mai is away; Thomas Becker votes
_POLL_TEMPLATES: tuple[dict[str, object], ...] = (
    {
        "id": "motion",
        "title": "Motion",
        "kind": "yes_no",
        "majority": "simple",
        "base": "cast",
        "abstentions": "excluded",
        "tie": "fails",
    },
    {
        "id": "secret-election",
        "title": "Secret election",
        "kind": "election",
        "majority": "plurality",
        "tie": "lot",
        "secret": True,
    },
)
_POLLS: tuple[dict[str, object], ...] = (
    {
        "id": "p-budget",
        "title": "Adopt the draft budget 2027",
        "item": "budget-final-vote",
        "template": "motion",
    },
    {
        "id": "p-zoning-height",
        "title": "Maximum height of the mixed-use blocks in Riverside North",
        "item": "zoning-vote",
        "kind": "single",
        "majority": "simple",
        "options": (
            "8 floors, as proposed",
            "6 floors",
            "Refer the question back to the Planning Committee",
        ),
    },
    {
        "id": "p-hoi-an-committee",
        "title": "Election of two council members to the Hội An partnership committee",
        "item": "sister-city",
        "template": "secret-election",
        "seats": 2,
        "options": tuple(
            {"id": delegate_id, "label": name}
            for delegate_id, name, *_rest in _ROSTER
            if delegate_id in ("d004", "d007", "d009", "d011")
        ),
    },
)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid TOML
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key} = {_toml(v)}" for key, v in value.items()) + "}"
    if isinstance(value, tuple | list):
        one_line = "[" + ", ".join(_toml(v) for v in value) + "]"
        if len(one_line) <= 80 and not any(isinstance(v, dict) for v in value):
            return one_line
        return "[\n" + "".join(f"  {_toml(v)},\n" for v in value) + "]"  # one entry a line
    raise TypeError(f"no TOML form for {value!r}")


def _manifest_toml() -> str:
    lines = [
        "# Hemicycle meeting package (format 1). See docs/meeting-package.md.",
        "format = 1",
        "",
        "[meeting]",
        f"id = {_toml(SAMPLE_MEETING_ID)}",
        'title = "City Council of Riverside — regular session"',
        'date = "2026-11-21"',
        'location = "Council chamber, Riverside City Hall"',
        'start_time = "09:00"',
    ]
    for doc in _DOCUMENTS:
        lines += ["", "[[documents]]", f"id = {_toml(doc.id)}", f"file = {_toml(doc.file)}"]
        lines += [f"title = {_toml(doc.title)}", f"confidential = {_toml(doc.confidential)}"]

    def item(it: _Item, depth: int) -> None:
        lines.extend(["", "  " * depth + "[[" + ".".join(["agenda"] + ["items"] * depth) + "]]"])
        pad = "  " * depth
        lines.append(f"{pad}id = {_toml(it.id)}")
        lines.append(f"{pad}title = {_toml(it.title)}")
        lines.append(f"{pad}planned_minutes = {it.minutes}")
        if it.documents:
            lines.append(f"{pad}documents = {_toml(it.documents)}")
        for child in it.items:
            item(child, depth + 1)

    for top in _AGENDA:
        item(top, 0)
    for seat in _SEATS:
        label = f"{_ROW_NAMES[seat[0]]}, seat {seat[1:]}"
        lines += ["", "[[seats]]", f"id = {_toml(seat)}", f"label = {_toml(label)}"]
    for delegate_id, name, role, seat, group in _ROSTER:
        lines += ["", "[[delegates]]", f"id = {_toml(delegate_id)}", f"name = {_toml(name)}"]
        lines += [f"role = {_toml(role)}", f"seat = {_toml(seat)}"]
        if group:
            lines.append(f"group = {_toml(group)}")
        lines += [
            f"pin = {_toml(demo_pin(delegate_id))}",
            f"badge = {_toml(demo_badge(delegate_id))}",
        ]
    lines += ["", "[attendance]", *(f"{key} = {_toml(v)}" for key, v in _ATTENDANCE.items())]
    for giver, holder in _PROXIES:
        lines += ["", "[[proxies]]", f"giver = {_toml(giver)}", f"holder = {_toml(holder)}"]
    for header, tables in (("poll_templates", _POLL_TEMPLATES), ("polls", _POLLS)):
        for table in tables:
            lines += ["", f"[[{header}]]", *(f"{key} = {_toml(v)}" for key, v in table.items())]
    return "\n".join(lines) + "\n"


def demo_pin(delegate_id: str) -> str:
    """The sample's PINs are public (d003 signs in with 1003): a demo, not a real roster."""
    return "1" + delegate_id[1:].rjust(3, "0")


def demo_badge(delegate_id: str) -> str:
    return f"DEMO-{delegate_id.upper()}"


# --- a tiny page-layout engine ---------------------------------------------------------


class _Font:
    """A pymupdf-fonts face with cached advances: ``Font.text_length`` is slow per call."""

    def __init__(self, name: str) -> None:
        self.face: Any = _mupdf.Font(name)
        self.buffer: bytes = self.face.buffer
        self._advance: dict[str, float] = {}

    def width(self, text: str, fontsize: float) -> float:
        total = 0.0
        for char in text:
            advance = self._advance.get(char)
            if advance is None:
                advance = self._advance[char] = float(self.face.glyph_advance(ord(char)))
            total += advance
        return total * fontsize


class _Pdf:
    """A4 pages with Noto Sans (covers Vietnamese), a running head and numbered footers."""

    def __init__(
        self, title: str, head: str, footer: str = "Page {n} of {total}", *, comma: bool = False
    ) -> None:
        self.doc: Any = _mupdf.open()
        self.comma = comma  # Vietnamese writes 1.234,5 where English writes 1,234.5
        self.title = title
        self.head = head
        self.footer = footer
        self.regular = _Font("notos")
        self.bold = _Font("notosbo")
        self.italic = _Font("notosit")

    def number(self, value: float) -> str:
        text = f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
        return text.translate(str.maketrans(",.", ".,")) if self.comma else text

    def page(self) -> _Page:
        page = self.doc.new_page(width=_A4.width, height=_A4.height)
        for name, font in (("notos", self.regular), ("notosbo", self.bold)):
            page.insert_font(fontname=name, fontbuffer=font.buffer)
        page.insert_font(fontname="notosit", fontbuffer=self.italic.buffer)
        return _Page(self, page)

    def build(self) -> bytes:
        total = self.doc.page_count
        for number, page in enumerate(self.doc, start=1):
            if number > 1:
                page.insert_text(
                    (_MARGIN, 40), self.head, fontname="notos", fontsize=8, color=_MUTED
                )
            page.draw_line((_MARGIN, 800), (_A4.width - _MARGIN, 800), color=_MUTED, width=0.5)
            text = self.footer.format(n=number, total=total)
            width = self.regular.width(text, fontsize=9)
            page.insert_text(
                (_A4.width - _MARGIN - width, 816), text, fontname="notos", fontsize=9, color=_MUTED
            )
            page.insert_text((_MARGIN, 816), self.title, fontname="notos", fontsize=9, color=_MUTED)
        self.doc.set_metadata(
            {
                "title": self.title,
                "author": "City of Riverside",
                "subject": self.head,
                "keywords": "",
                "creator": "Hemicycle sample generator",
                "producer": "Hemicycle sample generator",
                "creationDate": _PDF_DATE,
                "modDate": _PDF_DATE,
            }
        )
        self.doc.subset_fonts()
        data: bytes = self.doc.tobytes(garbage=3, deflate=True, no_new_id=True)
        self.doc.close()
        return data


@dataclass
class _Page:
    pdf: _Pdf
    page: Any
    y: float = 80.0

    @property
    def width(self) -> float:
        return float(_A4.width - 2 * _MARGIN)

    def _font(self, style: str) -> _Font:
        return {"notos": self.pdf.regular, "notosbo": self.pdf.bold}.get(style, self.pdf.italic)

    def lines(self, text: str, size: float, style: str = "notos", width: float = 0.0) -> list[str]:
        font, limit = self._font(style), width or self.width
        out: list[str] = []
        current = ""
        for word in text.split():
            trial = f"{current} {word}".strip()
            if current and font.width(trial, fontsize=size) > limit:
                out.append(current)
                current = word
            else:
                current = trial
        return [*out, current] if current else out

    def text(
        self,
        text: str,
        size: float = 10.5,
        style: str = "notos",
        color: tuple[float, float, float] = _INK,
        gap: float = 8.0,
        x: float = _MARGIN,
        width: float = 0.0,
    ) -> None:
        leading = size * 1.45
        for line in self.lines(text, size, style, width):
            self.y += leading
            self.page.insert_text((x, self.y), line, fontname=style, fontsize=size, color=color)
        self.y += gap

    def heading(self, text: str, level: int = 1) -> None:
        size = {0: 26.0, 1: 16.0, 2: 12.5}[level]
        self.y += 6 if level else 0
        self.text(text, size, "notosbo", _ACCENT if level < 2 else _INK, gap=4 if level else 10)
        if level == 1:
            self.y += 2
            self.page.draw_line((_MARGIN, self.y), (_MARGIN + 60, self.y), color=_ACCENT, width=2)
            self.y += 10

    def bullets(self, items: Sequence[str], marker: str = "•") -> None:
        for number, item in enumerate(items, start=1):
            mark = f"{number}." if marker == "1." else marker
            self.page.insert_text(
                (_MARGIN + 4, self.y + 10.5 * 1.45), mark, fontname="notos", fontsize=10.5
            )
            self.text(item, x=_MARGIN + 22, width=self.width - 22, gap=3)
        self.y += 6

    def table(self, rows: Sequence[Sequence[str]], widths: Sequence[float]) -> None:
        scale = self.width / sum(widths)
        row_height = 19.0
        for index, row in enumerate(rows):
            top = self.y
            rect = _mupdf.Rect(_MARGIN, top, _MARGIN + self.width, top + row_height)
            if index == 0:
                self.page.draw_rect(rect, color=None, fill=_ACCENT)
            elif index % 2 == 0:
                self.page.draw_rect(rect, color=None, fill=(0.94, 0.95, 0.97))
            x = _MARGIN
            for column, cell in enumerate(row):
                cell_width = widths[column] * scale
                style = "notosbo" if index == 0 else "notos"
                size = 9.0
                font = self._font(style)
                right = column > 0 and any(ch.isdigit() for ch in cell) and index > 0
                offset = cell_width - 6 - font.width(cell, fontsize=size) if right else 6
                self.page.insert_text(
                    (x + offset, top + 13.2),
                    cell,
                    fontname=style,
                    fontsize=size,
                    color=(1, 1, 1) if index == 0 else _INK,
                )
                x += cell_width
            self.y += row_height
        self.page.draw_line(
            (_MARGIN, self.y), (_MARGIN + self.width, self.y), color=_ACCENT, width=1
        )
        self.y += 14

    def bar_chart(
        self, title: str, bars: Sequence[tuple[str, float]], unit: str, height: float = 220
    ) -> None:
        self.text(title, 11, "notosbo", gap=4)
        top, left = self.y + 6, _MARGIN + 40
        bottom, right = top + height, _MARGIN + self.width
        top_value = max(value for _, value in bars) * 1.15
        step = 10 ** math.floor(math.log10(top_value / 4))
        tick = math.ceil(top_value / 4 / step) * step
        value = 0.0
        while value <= top_value:
            y = bottom - value / top_value * height
            self.page.draw_line((left, y), (right, y), color=(0.85, 0.86, 0.88), width=0.5)
            label = self.pdf.number(value)
            width = self.pdf.regular.width(label, fontsize=7.5)
            self.page.insert_text((left - 4 - width, y + 3), label, fontname="notos", fontsize=7.5)
            value += tick
        slot = (right - left) / len(bars)
        for index, (label, amount) in enumerate(bars):
            x0 = left + index * slot + slot * 0.18
            y0 = bottom - amount / top_value * height
            colour = _PALETTE[index % len(_PALETTE)]
            self.page.draw_rect(
                _mupdf.Rect(x0, y0, x0 + slot * 0.64, bottom), color=None, fill=colour
            )
            text = self.pdf.number(amount)
            width = self.pdf.regular.width(text, fontsize=7.5)
            self.page.insert_text(
                (x0 + slot * 0.32 - width / 2, y0 - 3), text, fontname="notos", fontsize=7.5
            )
            words = self.lines(label, 7.5, width=slot - 4)
            for line_no, line in enumerate(words):
                width = self.pdf.regular.width(line, fontsize=7.5)
                self.page.insert_text(
                    (x0 + slot * 0.32 - width / 2, bottom + 11 + 9 * line_no),
                    line,
                    fontname="notos",
                    fontsize=7.5,
                )
        self.page.draw_line((left, bottom), (right, bottom), color=_INK, width=0.8)
        self.page.insert_text((_MARGIN, top - 2), unit, fontname="notosit", fontsize=7.5)
        self.y = bottom + 40

    def figures(self, boxes: Sequence[tuple[str, str]]) -> None:
        width = (self.width - 12 * (len(boxes) - 1)) / len(boxes)
        for index, (value, label) in enumerate(boxes):
            x = _MARGIN + index * (width + 12)
            rect = _mupdf.Rect(x, self.y, x + width, self.y + 70)
            self.page.draw_rect(rect, color=None, fill=(0.93, 0.95, 0.98), radius=0.08)
            colour = _PALETTE[index % len(_PALETTE)]
            self.page.insert_text(
                (x + 12, self.y + 32), value, fontname="notosbo", fontsize=18, color=colour
            )
            self.page.insert_text(
                (x + 12, self.y + 52), label, fontname="notos", fontsize=8.5, color=_MUTED
            )
        self.y += 88


# --- the documents ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Document:
    id: str
    file: str
    title: str
    confidential: bool
    pages: int
    writer: Any = field(compare=False)

    def build(self) -> bytes:
        data: bytes = self.writer()
        return data


_LOREM_BUDGET = (
    "The draft budget keeps the city's core services at their present level while absorbing "
    "higher energy and wage costs. It relies on a modest rise in the property tax rate, "
    "savings in procurement and the first full year of the shared back-office service with "
    "the neighbouring municipalities. The Finance Department recommends that the Council "
    "adopt the budget with the amendments listed in the annex."
)


def _budget_pdf() -> bytes:
    pdf = _Pdf("Draft budget 2027", "City of Riverside · Draft budget 2027 · Finance Department")
    cover = pdf.page()
    cover.page.draw_rect(_mupdf.Rect(0, 0, _A4.width, 300), color=None, fill=_ACCENT)
    cover.y = 150
    cover.text("City of Riverside", 14, "notosbo", (1, 1, 1), gap=2)
    cover.text("Draft budget 2027", 34, "notosbo", (1, 1, 1), gap=2)
    cover.text("Submitted to the City Council, session of 21 November 2026", 12, color=(1, 1, 1))
    cover.y = 360
    cover.text("Prepared by the Finance Department", 12, "notosbo")
    cover.text(
        "This document is a draft for decision. Figures are in thousands of dollars unless "
        "stated otherwise.",
        10.5,
        "notosit",
        _MUTED,
    )

    contents = pdf.page()
    contents.heading("Contents")
    chapters = [
        "Summary",
        "Revenue",
        "Expenditure by department",
        "Expenditure table",
        "Capital investment programme",
        "Staffing",
        "Debt and reserves",
        "Risks",
        "Proposed resolution",
        "Annex: fee schedule",
    ]
    for number, chapter in enumerate(chapters, start=1):
        contents.text(f"{number}.  {chapter}", 11, gap=2)
        contents.page.insert_text(
            (_A4.width - _MARGIN - 12, contents.y - 2),
            str(number + 2),
            fontname="notos",
            fontsize=11,
        )

    summary = pdf.page()
    summary.heading("1. Summary")
    summary.text(_LOREM_BUDGET)
    summary.figures(
        [
            ("$184.6 m", "total operating budget"),
            ("+3.1 %", "change from 2026"),
            ("$41.2 m", "capital investment"),
        ]
    )
    summary.heading("Main choices", 2)
    summary.bullets(
        [
            "Property tax rate rises from 0.92 % to 0.95 % of assessed value.",
            "Library opening hours are kept; two branches share one manager.",
            "The bus fleet renewal is spread over three years instead of two.",
            "A new climate adaptation reserve of $1.5 m is created.",
        ]
    )
    summary.text(
        "The budget is balanced: operating revenue covers operating expenditure and the "
        "scheduled debt repayment, and the general reserve stays above the 8 % floor set by "
        "the Council's financial policy."
    )

    revenue = pdf.page()
    revenue.heading("2. Revenue")
    revenue.text(
        "Operating revenue is expected to reach $184.6 million. Property tax remains the "
        "largest source; state grants fall slightly after the end of the pandemic recovery "
        "programme."
    )
    revenue.table(
        [
            ("Source", "Adopted 2026", "Draft 2027", "Change"),
            ("Property tax", "92,410", "96,880", "+4.8 %"),
            ("State grants", "38,200", "37,150", "−2.7 %"),
            ("Fees and charges", "21,760", "22,940", "+5.4 %"),
            ("Utility dividends", "12,300", "12,900", "+4.9 %"),
            ("Parking", "6,420", "6,610", "+3.0 %"),
            ("Interest and other", "8,010", "8,120", "+1.4 %"),
            ("Total", "179,100", "184,600", "+3.1 %"),
        ],
        [3, 2, 2, 1.4],
    )
    revenue.text(
        "Fees and charges are indexed to the consumer price index except where the Council "
        "has decided otherwise; the annex lists every fee that changes by more than 5 %."
    )

    chart = pdf.page()
    chart.heading("3. Expenditure by department")
    chart.text("Operating expenditure in the draft 2027 budget, by department.")
    chart.bar_chart(
        "Operating expenditure 2027",
        [
            ("Public works", 46.2),
            ("Education", 38.9),
            ("Social services", 31.4),
            ("Public safety", 27.8),
            ("Culture and libraries", 12.1),
            ("Administration", 16.5),
            ("Parks", 11.7),
        ],
        "$ million",
        260,
    )
    chart.text(
        "Public works grows the most, mainly because of road resurfacing deferred from 2025 "
        "and higher street-lighting energy prices."
    )

    table = pdf.page()
    table.heading("4. Expenditure table")
    table.table(
        [
            ("Department", "Staff", "Operating", "Capital", "Total"),
            ("Public works", "212", "46,200", "18,400", "64,600"),
            ("Education", "340", "38,900", "9,800", "48,700"),
            ("Social services", "185", "31,400", "1,200", "32,600"),
            ("Public safety", "160", "27,800", "3,600", "31,400"),
            ("Culture and libraries", "74", "12,100", "2,900", "15,000"),
            ("Administration", "131", "16,500", "1,100", "17,600"),
            ("Parks", "58", "11,700", "4,200", "15,900"),
            ("Total", "1,160", "184,600", "41,200", "225,800"),
        ],
        [3, 1, 1.6, 1.6, 1.6],
    )
    table.text(
        "Staff numbers are full-time equivalents at 1 January 2027. Capital figures include "
        "projects carried over from 2026."
    )

    capital = pdf.page()
    capital.heading("5. Capital investment programme")
    capital.table(
        [
            ("Project", "2027", "2028", "2029"),
            ("River Street bridge repair", "6,800", "4,100", "—"),
            ("Northside primary school extension", "7,200", "5,300", "1,100"),
            ("Electric buses (12)", "5,400", "5,400", "5,400"),
            ("Flood barriers, east bank", "4,900", "3,000", "—"),
            ("Library roof, Main Branch", "1,700", "—", "—"),
            ("Cycle lanes, phase 2", "2,300", "2,300", "1,900"),
        ],
        [4, 1.3, 1.3, 1.3],
    )
    capital.text(
        "Projects are ranked by the criteria adopted in 2024: safety first, legal obligations "
        "second, then the return on investment. The flood barriers are co-financed by the "
        "state resilience fund at 40 %."
    )

    staffing = pdf.page()
    staffing.heading("6. Staffing")
    staffing.text(
        "The number of positions stays flat. Eleven posts freed by retirements are "
        "redeployed to building inspection and to the customer service centre, where waiting "
        "times rose in 2026."
    )
    staffing.bar_chart(
        "Positions by year (full-time equivalents)",
        [("2023", 1121), ("2024", 1138), ("2025", 1152), ("2026", 1160), ("2027", 1160)],
        "FTE",
        180,
    )

    debt = pdf.page()
    debt.heading("7. Debt and reserves")
    debt.text(
        "Outstanding debt falls for the fourth year in a row. The general reserve stays at "
        "9.4 % of operating expenditure, above the 8 % floor."
    )
    top, left, width, height = debt.y + 10, _MARGIN + 30, debt.width - 40, 200
    values = [148.0, 141.5, 136.2, 129.8, 124.0, 118.9, 112.4]
    years = range(2021, 2028)
    points = [
        _mupdf.Point(left + i * width / 6, top + height - (v - 100) / 60 * height)
        for i, v in enumerate(values)
    ]
    debt.page.draw_rect(_mupdf.Rect(left, top, left + width, top + height), color=_MUTED, width=0.5)
    debt.page.draw_polyline(points, color=_PALETTE[3], width=2.2)
    for point, value, year in zip(points, values, years, strict=True):
        debt.page.draw_circle(point, 3, color=_PALETTE[3], fill=(1, 1, 1), width=1.5)
        debt.page.insert_text(
            (point.x - 10, point.y - 8), f"{value:.0f}", fontname="notos", fontsize=8
        )
        debt.page.insert_text(
            (point.x - 10, top + height + 14), str(year), fontname="notos", fontsize=8
        )
    debt.y = top + height + 40
    debt.text("Outstanding debt at year end, $ million (2027 projected).", 9, "notosit", _MUTED)

    risks = pdf.page()
    risks.heading("8. Risks")
    risks.bullets(
        [
            "Energy prices: a 10 % rise above the forecast would cost $0.9 m.",
            "Wage agreement: the regional negotiation ends in March; each 0.5 % above the "
            "assumed 3 % costs $0.6 m.",
            "State grants: the education grant formula is under review.",
            "Interest rates: 80 % of the debt is at fixed rates until 2029.",
            "Flooding: the new climate adaptation reserve covers a first response.",
        ]
    )
    risks.text(
        "The Finance Department will report on these risks to the Finance Committee every "
        "quarter and propose a supplementary budget if two or more materialise."
    )

    resolution = pdf.page()
    resolution.heading("9. Proposed resolution")
    resolution.text("The City Council of Riverside,", 11, "notosit")
    resolution.bullets(
        [
            "adopts the operating budget for 2027 at $184.6 million in revenue and expenditure;",
            "adopts the capital investment programme 2027–2029 as set out in section 5;",
            "sets the property tax rate at 0.95 % of assessed value;",
            "creates a climate adaptation reserve of $1.5 million;",
            "instructs the City Manager to report quarterly on the risks in section 8.",
        ],
        marker="1.",
    )

    annex = pdf.page()
    annex.heading("10. Annex: fee schedule")
    annex.table(
        [
            ("Fee", "2026", "2027", "Change"),
            ("Building permit, per m²", "4.20", "4.45", "+6.0 %"),
            ("Parking, hourly, centre", "2.50", "2.80", "+12.0 %"),
            ("Swimming pool, adult", "6.00", "6.40", "+6.7 %"),
            ("Waste collection, household", "212.00", "224.00", "+5.7 %"),
            ("Library card, non-resident", "30.00", "32.00", "+6.7 %"),
            ("Market stall, per day", "18.00", "19.00", "+5.6 %"),
        ],
        [4, 1.3, 1.3, 1.3],
    )
    return pdf.build()


_MINUTES_ITEMS = (
    (
        "1. Opening",
        "The Mayor, Margaret Ellison, opened the session at 09:02 and noted that 13 of 14 "
        "members were present, so the quorum was reached. Councillor Becker had sent apologies.",
        None,
    ),
    (
        "2. Minutes of 19 September 2026",
        "The minutes were approved without amendment.",
        (11, 0, 2),
    ),
    (
        "3. Public transport contract",
        "The Director of Mobility presented the tender results for the bus network. Councillors "
        "Whitfield and Nguyễn asked about the electric fleet and the night lines. The Director "
        "confirmed that night lines N1 and N3 are kept and that charging depots are included.",
        (9, 3, 1),
    ),
    (
        "4. River Street bridge",
        "The City Engineer reported on the inspection of the River Street bridge. Load limits "
        "of 12 tonnes apply until repairs are complete. Councillor Lindqvist asked whether "
        "emergency vehicles are affected; they are not.",
        (13, 0, 0),
    ),
    (
        "5. Youth council",
        "Councillor Trần presented the proposal to create a youth council of 15 members aged "
        "14 to 20, elected in schools. The debate centred on the budget and on how members "
        "would be chosen in schools without a student union.",
        (8, 4, 1),
    ),
    (
        "6. Questions from the public; any other business",
        "Three residents spoke: on street lighting in Northside, on the opening hours of the "
        "East library and on noise from the river festival. The Mayor promised written answers "
        "within 30 days. The clerk reminded members that declarations of interest for 2027 are "
        "due by 15 December. The session closed at 12:47.",
        None,
    ),
)


def _minutes_pdf() -> bytes:
    pdf = _Pdf(
        "Minutes, 17 October 2026", "City Council of Riverside · Minutes of the regular session"
    )
    first = pdf.page()
    first.heading("Minutes of the regular session", 0)
    first.text("City Council of Riverside · 17 October 2026 · Council chamber", 11, color=_MUTED)
    first.heading("Present", 2)
    present = [name for _, name, role, _, _ in _ROSTER if role in ("chair", "delegate")]
    first.text(", ".join(n for n in present if n != "Thomas Becker") + ".")
    first.heading("Apologies", 2)
    first.text("Thomas Becker.")
    first.heading("Clerk", 2)
    first.text("Daniel Okafor.")
    first.heading("Agenda", 2)
    first.bullets([title for title, _, _ in _MINUTES_ITEMS])
    for title, body, vote in _MINUTES_ITEMS:
        page = pdf.page()
        page.heading(title)
        page.text(body)
        page.text(
            "The discussion is summarised; the full speaker log is attached to the sealed "
            "meeting record.",
            9.5,
            "notosit",
            _MUTED,
        )
        if vote is None:
            page.text("No vote was taken on this item.", 10.5, "notosbo")
            continue
        yes, no, abstain = vote
        outcome = "adopted" if yes > no else "rejected"
        page.heading("Decision", 2)
        page.table(
            [("For", "Against", "Abstain", "Result"), (str(yes), str(no), str(abstain), outcome)],
            [1, 1, 1, 1.5],
        )
        total = yes + no + abstain
        page.bar_chart(
            "Votes cast",
            [("For", float(yes)), ("Against", float(no)), ("Abstain", float(abstain))],
            f"{total} votes",
            120,
        )
    signature = pdf.page().page
    for x, role, name in ((_MARGIN, "Mayor", "Margaret Ellison"), (330, "Clerk", "Daniel Okafor")):
        signature.draw_line((x, 300), (x + 180, 300), color=_INK, width=0.6)
        signature.insert_text((x, 316), f"{name}, {role}", fontname="notos", fontsize=10)
    signature.insert_text(
        (_MARGIN, 150),
        "Approved by the Council on ...................",
        fontname="notos",
        fontsize=11,
    )
    return pdf.build()


def _zoning_pdf() -> bytes:
    pdf = _Pdf(
        "Zoning proposal: Riverside North",
        "Planning Department · Riverside North mixed-use district",
    )
    cover = pdf.page()
    cover.heading("Riverside North mixed-use district", 0)
    cover.text(
        "Zoning proposal for decision · Planning Department · November 2026", 11, color=_MUTED
    )
    cover.text(
        "The proposal rezones 38 hectares of former rail yards and warehouses north of the "
        "river into a mixed-use district with about 1,400 homes, a primary school, a riverside "
        "park and space for small businesses. It replaces the industrial zoning of 1978."
    )
    cover.figures([("38 ha", "area rezoned"), ("1,400", "new homes"), ("30 %", "affordable")])
    cover.heading("Why now", 2)
    cover.bullets(
        [
            "The rail operator released the yards in 2025.",
            "The regional plan designates the area for housing near the new tram stop.",
            "Flood protection on the north bank is funded (see the draft budget, section 5).",
        ]
    )

    site = pdf.page()
    site.heading("1. Site plan")
    frame = _mupdf.Rect(_MARGIN, site.y + 6, _A4.width - _MARGIN, site.y + 406)
    site.page.draw_rect(frame, color=_MUTED, fill=(0.96, 0.96, 0.93), width=0.6)
    river = [
        _mupdf.Point(frame.x0, frame.y1 - 60),
        _mupdf.Point(frame.x0 + 150, frame.y1 - 110),
        _mupdf.Point(frame.x0 + 300, frame.y1 - 40),
        _mupdf.Point(frame.x1, frame.y1 - 90),
    ]
    shape = site.page.new_shape()
    shape.draw_bezier(*river)
    shape.finish(color=(0.45, 0.65, 0.85), width=26, closePath=False)
    shape.commit()
    zones = [
        (_mupdf.Rect(frame.x0 + 20, frame.y0 + 20, frame.x0 + 170, frame.y0 + 150), 0, "Housing"),
        (
            _mupdf.Rect(frame.x0 + 190, frame.y0 + 20, frame.x0 + 300, frame.y0 + 110),
            2,
            "Mixed use",
        ),
        (_mupdf.Rect(frame.x0 + 320, frame.y0 + 20, frame.x1 - 20, frame.y0 + 150), 0, "Housing"),
        (_mupdf.Rect(frame.x0 + 190, frame.y0 + 130, frame.x0 + 300, frame.y0 + 230), 3, "School"),
        (
            _mupdf.Rect(frame.x0 + 20, frame.y0 + 170, frame.x0 + 170, frame.y0 + 250),
            2,
            "Mixed use",
        ),
        (_mupdf.Rect(frame.x0 + 320, frame.y0 + 170, frame.x1 - 20, frame.y0 + 250), 1, "Park"),
    ]
    for rect, colour, label in zones:
        base = _PALETTE[colour]
        fill = tuple(0.55 + 0.45 * c for c in base)
        site.page.draw_rect(rect, color=base, fill=fill, width=0.8)
        site.page.insert_text((rect.x0 + 6, rect.y0 + 14), label, fontname="notosbo", fontsize=9)
    for y in (frame.y0 + 160, frame.y0 + 260):
        site.page.draw_line((frame.x0, y), (frame.x1, y), color=(0.6, 0.6, 0.6), width=5)
    site.page.draw_line(
        (frame.x0 + 180, frame.y0), (frame.x0 + 180, frame.y1 - 80), color=(0.6, 0.6, 0.6), width=5
    )
    site.page.draw_circle((frame.x0 + 310, frame.y0 + 160), 7, color=_INK, fill=(1, 0.85, 0.2))
    site.page.insert_text(
        (frame.x0 + 320, frame.y0 + 290), "Tram stop", fontname="notos", fontsize=8
    )
    site.page.insert_text(
        (frame.x1 - 70, frame.y1 - 12),
        "River Wyn",
        fontname="notosit",
        fontsize=9,
        color=(0.1, 0.3, 0.6),
    )
    nx, ny = frame.x1 - 30, frame.y0 + 40
    site.page.draw_polyline(
        [(nx - 8, ny + 12), (nx, ny - 14), (nx + 8, ny + 12), (nx - 8, ny + 12)],
        color=_INK,
        fill=_INK,
    )
    site.page.insert_text((nx - 4, ny + 26), "N", fontname="notosbo", fontsize=10)
    site.y = frame.y1 + 16
    site.text(
        "Figure 1. Proposed zones. Streets in grey; the river in blue. Not to scale.",
        9,
        "notosit",
        _MUTED,
    )

    uses = pdf.page()
    uses.heading("2. Land use and building heights")
    uses.table(
        [
            ("Zone", "Area (ha)", "Max. height", "Homes", "Floor area for business"),
            ("Housing", "14.2", "6 floors", "980", "—"),
            ("Mixed use", "9.1", "8 floors", "420", "31,000 m²"),
            ("School", "2.4", "3 floors", "—", "—"),
            ("Park and riverbank", "9.8", "—", "—", "—"),
            ("Streets", "2.5", "—", "—", "—"),
        ],
        [2.4, 1.4, 1.5, 1.1, 2.4],
    )
    uses.text(
        "Heights step down towards the river so that the park keeps its afternoon sun. "
        "Ground floors on the two main streets must be active frontages: shops, workshops, "
        "cafés or community uses."
    )

    housing = pdf.page()
    housing.heading("3. Affordable housing and mobility")
    housing.text(
        "At least 30 % of homes are affordable, half of them social rent. Parking is capped "
        "at 0.6 spaces per home, in shared garages at the edge of the district; the interior "
        "streets are limited to 20 km/h."
    )
    housing.bar_chart(
        "Homes by type",
        [("Market rate", 980), ("Affordable purchase", 210), ("Social rent", 210)],
        "homes",
        170,
    )

    timeline = pdf.page()
    timeline.heading("4. Timeline")
    steps = [
        ("2026 Q4", "Council decision"),
        ("2027 Q2", "Detailed plans"),
        ("2027 Q4", "Flood barriers done"),
        ("2028", "First homes started"),
        ("2031", "District complete"),
    ]
    y = timeline.y + 40
    timeline.page.draw_line((_MARGIN, y), (_A4.width - _MARGIN, y), color=_ACCENT, width=3)
    gap = (timeline.width - 20) / (len(steps) - 1)
    for index, (when, what) in enumerate(steps):
        x = _MARGIN + 10 + index * gap
        timeline.page.draw_circle((x, y), 7, color=_ACCENT, fill=(1, 1, 1), width=2)
        timeline.page.insert_text((x - 18, y - 16), when, fontname="notosbo", fontsize=9)
        for line_no, line in enumerate(timeline.lines(what, 8.5, width=gap - 8)):
            timeline.page.insert_text(
                (x - 18, y + 24 + 11 * line_no), line, fontname="notos", fontsize=8.5
            )
    timeline.y = y + 70
    timeline.text(
        "The public consultation ran from 1 September to 15 October 2026: 412 written "
        "responses and three public meetings. The main concerns were traffic on North Road, "
        "the height of the mixed-use blocks and the loss of the old goods shed, which the "
        "revised proposal now keeps as a market hall."
    )

    decision = pdf.page()
    decision.heading("5. Proposed decision")
    decision.text("The City Council of Riverside,", 11, "notosit")
    decision.bullets(
        [
            "adopts the zoning plan for Riverside North as shown in Figure 1;",
            "sets the affordable housing share at 30 %, half of it social rent;",
            "instructs the Planning Department to prepare the detailed plans by June 2027.",
        ],
        marker="1.",
    )
    return pdf.build()


def _hoi_an_pdf() -> bytes:
    pdf = _Pdf(
        "Báo cáo kinh tế – xã hội quý III/2026",
        "Ủy ban nhân dân thành phố Hội An · Báo cáo gửi thành phố kết nghĩa Riverside",
        "Trang {n}/{total}",
        comma=True,
    )
    cover = pdf.page()
    cover.text("ỦY BAN NHÂN DÂN THÀNH PHỐ HỘI AN", 11, "notosbo", gap=2)
    cover.text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM · Độc lập – Tự do – Hạnh phúc", 10, "notosit")
    cover.y += 60
    cover.heading("Báo cáo tình hình kinh tế – xã hội quý III năm 2026", 0)
    cover.text(
        "và phương hướng, nhiệm vụ trọng tâm quý IV năm 2026 (bản gửi Hội đồng thành phố "
        "kết nghĩa Riverside)",
        12,
        color=_MUTED,
    )
    cover.figures(
        [
            ("7,8 %", "tăng trưởng GRDP"),
            ("3,1 triệu", "lượt khách du lịch"),
            ("98,6 %", "hộ dùng nước sạch"),
        ]
    )
    cover.text(
        "Trong quý III năm 2026, tình hình kinh tế – xã hội của thành phố tiếp tục phục hồi "
        "và phát triển. Ngành du lịch, dịch vụ tăng trưởng khá; sản xuất nông nghiệp ổn định; "
        "công tác bảo tồn di sản văn hóa thế giới Đô thị cổ Hội An được chú trọng."
    )

    economy = pdf.page()
    economy.heading("I. Tình hình kinh tế")
    economy.text(
        "Tổng sản phẩm trên địa bàn (GRDP) ước tăng 7,8 % so với cùng kỳ năm trước. Doanh thu "
        "du lịch đạt 4.250 tỷ đồng, tăng 12,4 %. Tổng vốn đầu tư phát triển toàn xã hội ước "
        "đạt 1.980 tỷ đồng."
    )
    economy.table(
        [
            ("Chỉ tiêu", "Quý III/2025", "Quý III/2026", "Tăng, giảm"),
            ("GRDP (tỷ đồng)", "3.612", "3.894", "+7,8 %"),
            ("Doanh thu du lịch (tỷ đồng)", "3.781", "4.250", "+12,4 %"),
            ("Lượt khách lưu trú (nghìn)", "1.120", "1.265", "+12,9 %"),
            ("Thu ngân sách (tỷ đồng)", "642", "701", "+9,2 %"),
            ("Kim ngạch xuất khẩu (triệu USD)", "38,5", "41,2", "+7,0 %"),
        ],
        [3.4, 1.5, 1.5, 1.3],
    )
    economy.text(
        "Ngành thủ công mỹ nghệ – đặc biệt là đèn lồng, gốm Thanh Hà và mộc Kim Bồng – tiếp "
        "tục là điểm nhấn, gắn sản xuất với trải nghiệm du lịch."
    )

    growth = pdf.page()
    growth.heading("II. Tăng trưởng theo quý")
    growth.bar_chart(
        "Tốc độ tăng GRDP theo quý (%)",
        [
            ("Quý I/2025", 6.1),
            ("Quý II/2025", 6.8),
            ("Quý III/2025", 7.2),
            ("Quý I/2026", 7.0),
            ("Quý II/2026", 7.5),
            ("Quý III/2026", 7.8),
        ],
        "phần trăm",
        240,
    )
    growth.text(
        "Tăng trưởng được duy trì đều qua các quý nhờ mùa du lịch kéo dài và các sự kiện "
        "văn hóa như Đêm phố cổ, Lễ hội đèn lồng rằm tháng Tám."
    )

    society = pdf.page()
    society.heading("III. Văn hóa – xã hội")
    society.bullets(
        [
            "Giáo dục: tỷ lệ học sinh tốt nghiệp trung học phổ thông đạt 99,2 %.",
            "Y tế: hoàn thành tiêm chủng mở rộng; trạm y tế xã Cẩm Thanh được nâng cấp.",
            "Môi trường: thu gom 100 % rác thải sinh hoạt khu phố cổ; "
            "trồng mới 2,5 ha rừng dừa nước.",
            "An sinh xã hội: hỗ trợ 1.240 hộ nghèo và cận nghèo sửa chữa nhà ở trước mùa mưa bão.",
            "Hợp tác quốc tế: trao đổi đoàn học sinh với thành phố kết nghĩa Riverside.",
        ]
    )
    society.text(
        "Công tác phòng, chống thiên tai được triển khai sớm; phương án sơ tán dân vùng ven "
        "sông Thu Bồn đã được diễn tập tại 9 phường, xã."
    )

    tasks = pdf.page()
    tasks.heading("IV. Nhiệm vụ trọng tâm quý IV năm 2026")
    tasks.bullets(
        [
            "Chuẩn bị phương án ứng phó mưa lũ, bảo đảm an toàn cho người dân và du khách.",
            "Đẩy nhanh tiến độ giải ngân vốn đầu tư công, phấn đấu đạt trên 95 % kế hoạch.",
            "Tổ chức Tuần lễ văn hóa Riverside – Hội An tại phố cổ vào tháng 12.",
            "Hoàn thiện đề án chuyển đổi số trong quản lý di sản.",
        ],
        marker="1.",
    )
    tasks.heading("V. Kiến nghị", 2)
    tasks.text(
        "Ủy ban nhân dân thành phố Hội An kính đề nghị Hội đồng thành phố Riverside xem xét "
        "mở rộng chương trình trao đổi chuyên gia về quản lý lũ và bảo tồn đô thị di sản "
        "trong giai đoạn 2027–2029."
    )
    tasks.y += 30
    tasks.text("TM. ỦY BAN NHÂN DÂN · CHỦ TỊCH", 10.5, "notosbo", x=330, width=200)
    return pdf.build()


_DOCUMENTS = (
    _Document("budget", "documents/budget-2027.pdf", "Draft budget 2027", False, 12, _budget_pdf),
    _Document(
        "minutes",
        "documents/minutes-2026-10-17.pdf",
        "Minutes of the regular session of 17 October 2026",
        False,
        8,
        _minutes_pdf,
    ),
    _Document(
        "zoning",
        "documents/zoning-riverside-north.pdf",
        "Zoning proposal: Riverside North mixed-use district",
        True,
        6,
        _zoning_pdf,
    ),
    _Document(
        "hoi-an-report",
        "documents/bao-cao-kinh-te-xa-hoi-hoi-an.pdf",
        "Báo cáo tình hình kinh tế – xã hội quý III/2026 (Hội An)",
        False,
        5,
        _hoi_an_pdf,
    ),
)
