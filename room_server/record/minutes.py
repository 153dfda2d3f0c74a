"""The minutes a clerk prints and signs: one A4 PDF per language, from the meeting record.

Laid out with PyMuPDF's Story (HTML and CSS) in Noto Sans from pymupdf-fonts, embedded
and subset, so Vietnamese prints right in any viewer. The texts are in the server's
catalogues (``minutes.*`` keys). The same record gives the same bytes: the PDF's dates
are the meeting's close and its /ID is fixed.
"""

from __future__ import annotations

import html
import io
from datetime import datetime
from typing import Any

import pymupdf as _pymupdf

from room_protocol.voting import ABSTAIN, NO, YES
from room_server.i18n import CATALOGUE
from room_server.record.tables import MeetingRecord

pymupdf: Any = _pymupdf  # PyMuPDF is partly typed: its calls are checked by the tests

LANGUAGES: tuple[str, ...] = ("en", "vi")

A4 = pymupdf.paper_rect("a4")
MARGIN = 56  # points: about 2 cm
FOOTER_HEIGHT = 28
BODY = pymupdf.Rect(MARGIN, MARGIN, A4.width - MARGIN, A4.height - MARGIN - FOOTER_HEIGHT)
FOOTER = pymupdf.Rect(MARGIN, A4.height - MARGIN - 8, A4.width - MARGIN, A4.height - MARGIN + 24)
MAX_PAGES = 2_000  # a bound on the layout loop; a meeting's minutes are far shorter
FONT = "notos"  # Noto Sans (pymupdf-fonts): Latin with every Vietnamese diacritic

CSS = """
* { font-family: minutes; }
body { font-size: 10pt; line-height: 1.3; }
h1 { font-size: 18pt; text-align: center; margin: 0 0 4pt 0; }
p.subtitle { font-size: 13pt; text-align: center; font-weight: bold; margin: 0 0 10pt 0; }
h2 { font-size: 13pt; margin: 14pt 0 4pt 0; border-bottom: 1px solid #444; }
h3 { font-size: 11pt; margin: 10pt 0 2pt 0; }
h4 { font-size: 10pt; margin: 8pt 0 2pt 12pt; }
p { margin: 2pt 0; }
p.sub { margin-left: 12pt; }
p.poll { margin: 4pt 0 0 12pt; }
p.detail { margin: 0 0 0 24pt; font-size: 9pt; }
td { padding: 1pt 12pt 1pt 0; vertical-align: top; }
td.label { font-weight: bold; }
table.signatures { width: 100%; margin-top: 30pt; }
table.signatures td { width: 50%; padding-top: 34pt; }
p.footer { font-size: 8pt; color: #555; text-align: center; }
"""


class _Texts:
    """The minutes' texts in one language, without switching the catalogue's current one."""

    def __init__(self, language: str) -> None:
        self._catalogue = CATALOGUE.translations(language)

    def tr(self, key: str, **kwargs: object) -> str:
        return self._catalogue.gettext(key).format(**kwargs)

    def trn(self, key: str, n: int, **kwargs: object) -> str:
        return self._catalogue.ngettext(key, key, n).format(**{"n": n, **kwargs})


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _time(iso: str | None) -> str:
    """``HH:MM`` of a stored UTC time (the record keeps the full ISO times)."""
    if not iso:
        return "—"
    return datetime.fromisoformat(iso).strftime("%H:%M UTC")


def _duration(t: _Texts, seconds: float | None) -> str:
    whole = round(seconds or 0)
    return t.tr("minutes.duration", minutes=whole // 60, seconds=whole % 60)


def build_minutes(record: MeetingRecord, language: str) -> bytes:
    """The minutes PDF in ``language``: the same record gives the same bytes."""
    t = _Texts(language)
    body = _body_html(record, t)
    archive = pymupdf.Archive()
    css = pymupdf.css_for_pymupdf_font(FONT, CSS=CSS, archive=archive, name="minutes")
    pages = _count_pages(body, css, archive)
    buffer = io.BytesIO()
    writer = pymupdf.DocumentWriter(buffer)
    story = pymupdf.Story(body, user_css=css, archive=archive)
    for number in range(1, pages + 1):
        device = writer.begin_page(A4)
        _more, _ = story.place(BODY)
        story.draw(device)
        footer = pymupdf.Story(
            f'<p class="footer">{_e(record.meeting["title"])} · '
            f"{_e(t.tr('minutes.page', page=number, pages=pages))}</p>",
            user_css=css,
            archive=archive,
        )
        more, _ = footer.place(FOOTER)
        if more:
            raise ValueError("the minutes' footer does not fit its box")
        footer.draw(device)
        writer.end_page()
    writer.close()
    return _finish(buffer.getvalue(), record, t)


def _count_pages(body: str, css: str, archive: Any) -> int:
    story = pymupdf.Story(body, user_css=css, archive=archive)
    for pages in range(1, MAX_PAGES + 1):
        more, _ = story.place(BODY)
        # Only drawing moves the story past what was placed (None: draw nowhere); placing
        # alone would place the first page again and again.
        story.draw(None)
        if not more:
            return pages
    raise ValueError(f"the minutes would be more than {MAX_PAGES} pages")


def _pdf_date(iso: str) -> str:
    moment = datetime.fromisoformat(iso)
    return moment.strftime("D:%Y%m%d%H%M%S") + "Z"


def _finish(data: bytes, record: MeetingRecord, t: _Texts) -> bytes:
    """Fixed metadata, fonts subset, no fresh /ID: the same input gives the same bytes."""
    doc = pymupdf.open(stream=data, filetype="pdf")
    try:
        date = _pdf_date(record.meeting["record_time"])
        doc.set_metadata(
            {
                "title": f"{t.tr('minutes.title')}: {record.meeting['title']}",
                "author": "Hemicycle",
                "subject": record.meeting["id"],
                "creator": "Hemicycle room server",
                "producer": "Hemicycle",
                "creationDate": date,
                "modDate": date,
            }
        )
        doc.subset_fonts()
        return bytes(doc.tobytes(garbage=4, deflate=True, no_new_id=True))
    finally:
        doc.close()


# --- the body ------------------------------------------------------------------------------


def _body_html(record: MeetingRecord, t: _Texts) -> str:
    m = record.meeting
    parts = [
        f"<h1>{_e(t.tr('minutes.title'))}</h1>",
        f'<p class="subtitle">{_e(m["title"])}</p>',
        '<table class="meta">',
        _row(t.tr("minutes.date"), m["date"]),
        _row(t.tr("minutes.place"), m["location"]),
        _row(t.tr("minutes.planned_start"), m["start_time"] or "—"),
        _row(t.tr("minutes.opened"), _time(m["first_check_in_at"])),
        _row(
            t.tr("minutes.closed"),
            _time(m["closed_at"]) if m["closed_at"] else t.tr("minutes.not_closed"),
        ),
        "</table>",
        *_attendance_html(record, t),
        f"<h2>{_e(t.tr('minutes.proceedings'))}</h2>",
    ]
    items = list(record.items())
    known = {item["id"] for item in items}
    for item in items:
        depth = item["number"].count(".")
        tag = "h3" if depth == 0 else "h4"
        parts.append(f"<{tag}>{_e(item['number'])} {_e(item['title'])}</{tag}>")
        parts.extend(_item_html(record, t, item["id"], item))
    orphan_speeches = [s for s in record.speeches if s["item_id"] not in known]
    orphan_polls = [p for p in record.polls if p["item_id"] not in known and _decided(p)]
    if orphan_speeches or orphan_polls:
        parts.append(f"<h3>{_e(t.tr('minutes.other_business'))}</h3>")
        parts.extend(_item_html(record, t, None, None, orphan_speeches, orphan_polls))
    chair = next((mb.name for mb in record.members if mb.role == "chair"), "")
    clerk = next((mb.name for mb in record.members if mb.role == "clerk"), "")
    parts += [
        '<table class="signatures"><tr>',
        _signature(t.tr("minutes.chair"), chair, t),
        _signature(t.tr("minutes.clerk"), clerk, t),
        "</tr></table>",
    ]
    return "<body>" + "\n".join(parts) + "</body>"


def _row(label: str, value: str) -> str:
    return f'<tr><td class="label">{_e(label)}</td><td>{_e(value)}</td></tr>'


def _signature(role: str, name: str, t: _Texts) -> str:
    return (
        f"<td>______________________________<br/><b>{_e(role)}</b><br/>{_e(name)}"
        f"<br/>{_e(t.tr('minutes.signature_date'))}</td>"
    )


def _attendance_html(record: MeetingRecord, t: _Texts) -> list[str]:
    came = [e for e in record.register if e["check_ins"]]
    away = [e for e in record.register if not e["check_ins"]]

    def who(entry: dict[str, Any]) -> str:
        seat = entry["seats"][0] if entry["seats"] else entry["assigned_seat"]
        extra = [t.tr(f"minutes.role.{entry['role']}")] if entry["role"] != "delegate" else []
        if seat:
            extra.append(t.tr("minutes.seat", seat=seat))
        return _e(entry["name"]) + (f" ({_e(', '.join(extra))})" if extra else "")

    none = _e(t.tr("minutes.none"))
    proxies = [
        _e(
            t.tr(
                "minutes.proxy",
                giver=record.name_of(p["giver"]),
                holder=record.name_of(p["holder"]),
            )
        )
        for p in record.proxies
    ]
    return [
        f"<h2>{_e(t.tr('minutes.attendance'))}</h2>",
        f"<p><b>{_e(t.trn('minutes.present', len(came)))}</b> "
        + ("; ".join(who(e) for e in came) or none)
        + "</p>",
        f"<p><b>{_e(t.trn('minutes.absent', len(away)))}</b> "
        + ("; ".join(who(e) for e in away) or none)
        + "</p>",
        f"<p><b>{_e(t.tr('minutes.proxies'))}</b> " + ("; ".join(proxies) or none) + "</p>",
    ]


def _decided(poll: dict[str, Any]) -> bool:
    return bool(poll["state"] != "draft")


def _item_html(
    record: MeetingRecord,
    t: _Texts,
    item_id: str | None,
    item: dict[str, Any] | None,
    speeches: list[dict[str, Any]] | None = None,
    polls: list[dict[str, Any]] | None = None,
) -> list[str]:
    parts = []
    if item is not None:
        spent = _duration(t, item["actual_seconds"])
        text = (
            t.tr("minutes.time_planned", spent=spent, planned=item["planned_minutes"])
            if item["planned_minutes"] is not None
            else t.tr("minutes.time", spent=spent)
        )
        parts.append(f'<p class="sub">{_e(text)}</p>')
    if speeches is None:
        speeches = [s for s in record.speeches if s["item_id"] == item_id]
    if polls is None:
        polls = [p for p in record.polls if p["item_id"] == item_id and _decided(p)]
    if speeches:
        said = []
        for s in speeches:
            name = record.name_of(s["member"])
            if s["kind"] == "point_of_order":
                name = t.tr("minutes.point_of_order", name=name)
            said.append(f"{name} ({_duration(t, s['duration_seconds'])})")
        parts.append(
            f'<p class="sub"><b>{_e(t.tr("minutes.speakers"))}</b> {_e("; ".join(said))}</p>'
        )
    for poll in polls:
        parts.extend(_poll_html(t, poll))
    return parts


def _poll_html(t: _Texts, poll: dict[str, Any]) -> list[str]:
    how = t.tr("minutes.secret_ballot" if poll["secret"] else "minutes.roll_call")
    parts = [
        f'<p class="poll"><b>{_e(t.tr("minutes.decision"))} {_e(poll["title"])}</b> ({_e(how)})</p>'
    ]
    result = poll["result"]
    if result is None:
        parts.append(f'<p class="detail">{_e(t.tr("minutes.poll_not_closed"))}</p>')
        return parts
    counts = {c["option_id"]: c["votes"] for c in result["counts"]}
    labels = {o["id"]: o["label"] for o in poll["spec"]["options"]}
    if poll["spec"]["kind"] == "yes_no":
        line = t.tr(
            "minutes.votes_yes_no",
            yes=counts.get(YES, 0),
            no=counts.get(NO, 0),
            abstain=result["abstentions"],
        )
    else:
        line = (
            "; ".join(f"{labels.get(o, o)}: {counts.get(o, 0)}" for o in labels if o != ABSTAIN)
            + "; "
            + t.tr("minutes.abstentions", abstain=result["abstentions"])
        )
    parts.append(f'<p class="detail">{_e(line)}</p>')
    outcome = t.tr(f"minutes.outcome.{result['outcome']}")
    if result["winners"] and poll["spec"]["kind"] != "yes_no":
        outcome += ": " + ", ".join(labels.get(w, w) for w in result["winners"])
    if poll["state"] != "published":
        outcome += " " + t.tr("minutes.not_published")
    parts.append(f'<p class="detail"><b>{_e(outcome)}</b></p>')
    quorum = poll["quorum_at_opening"]
    if quorum is not None:
        text = t.tr(
            "minutes.quorum",
            present=quorum["represented"],
            members=poll["members_at_close"] or result["members"],
            required=quorum["required"],
        )
        if poll["quorum_override"]:
            text += " " + t.tr("minutes.quorum_override")
        parts.append(f'<p class="detail">{_e(text)}</p>')
    return parts
