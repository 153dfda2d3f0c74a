"""The manifest, ``meeting.toml`` or ``meeting.json``: find it, parse it, check it.

Parses TOML or strict JSON (no duplicate keys, no NaN), then checks the format version,
``[meeting]`` and ``[[documents]]`` here and each other section in its own module.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from room_server.package.agenda import read_agenda
from room_server.package.attendance import read_attendance, read_proxies
from room_server.package.contents import (
    PackageAgendaItem,
    PackageAttendance,
    PackageDelegate,
    PackagePoll,
    PackagePollTemplate,
    PackageProxy,
    PackageSeat,
)
from room_server.package.fields import (
    ID_RE,
    MISSING,
    FieldReader,
    Missing,
    describe_entry,
    did_you_mean,
    show,
)
from room_server.package.names import MANIFEST_NAMES
from room_server.package.polls import read_polls
from room_server.package.problems import Report
from room_server.package.roster import read_delegates, read_seats
from room_server.package.sources import Entry, Source

FORMAT_VERSION = 1
_TOP_KEYS = (
    *("format", "meeting", "documents", "agenda", "seats", "delegates"),
    *("attendance", "proxies", "poll_templates", "polls"),
)
_MEETING_KEYS = ("id", "title", "date", "location", "start_time")
_DOCUMENT_KEYS = ("id", "file", "title", "confidential", "members", "roles")
# Roles that may be named as readers of a confidential document: the members of the
# meeting (an observer reads one only when named by id in "members").
READER_ROLES = ("chair", "clerk", "delegate")


@dataclass(frozen=True, slots=True)
class DocumentEntry:
    id: str
    title: str
    file: str
    confidential: bool
    where: str
    members: tuple[str, ...] = ()  # delegate ids who may read it (confidential only)
    roles: tuple[str, ...] = ()  # roles whose members may read it (confidential only)


@dataclass(slots=True)
class Manifest:
    meeting: tuple[str, str, str, str, str | None] | None = None
    documents: list[DocumentEntry] = field(default_factory=list)
    agenda: tuple[PackageAgendaItem, ...] = ()
    seats: tuple[PackageSeat, ...] = ()
    delegates: tuple[PackageDelegate, ...] = ()
    attendance: PackageAttendance = field(default_factory=PackageAttendance)
    proxies: tuple[PackageProxy, ...] = ()
    poll_templates: tuple[PackagePollTemplate, ...] = ()
    polls: tuple[PackagePoll, ...] = ()


def find_manifest(source: Source, report: Report) -> Entry | None:
    found = [source.entries[name] for name in MANIFEST_NAMES if name in source.entries]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        report.add(
            report.package,
            "has both meeting.toml and meeting.json at its top level; keep exactly one",
        )
        return None
    hint = ""
    nested = sorted(n for n in source.entries if PurePosixPath(n).name.lower() in MANIFEST_NAMES)
    if nested and "/" in nested[0]:
        hint = f" (found {nested[0]}: zip the contents of the folder, not the folder itself)"
    elif nested:
        hint = f" (found {nested[0]}: the name must be lower-case)"
    report.add(report.package, f"has no meeting.toml or meeting.json at its top level{hint}")
    return None


def parse_manifest(name: str, raw: bytes, report: Report) -> dict[str, Any] | None:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.add(name, f"is not UTF-8 text (byte {exc.start}); save it as UTF-8")
        return None
    try:
        if name.endswith(".toml"):
            return tomllib.loads(text)
        data = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant)
    except tomllib.TOMLDecodeError as exc:
        report.add(name, f"is not valid TOML: {exc}")
        return None
    except json.JSONDecodeError as exc:
        report.add(name, f"is not valid JSON: {exc.msg} (at line {exc.lineno}, column {exc.colno})")
        return None
    except ValueError as exc:
        report.add(name, f"is not valid JSON: {exc}")
        return None
    except RecursionError:
        report.add(name, "is nested too deeply to read")
        return None
    if not isinstance(data, dict):
        report.add(name, "must contain a JSON object at the top level")
        return None
    return data


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"key {key!r} appears twice in one object")
        result[key] = value
    return result


def _reject_constant(constant: str) -> None:
    raise ValueError(f"{constant} is not allowed")


def check_manifest(name: str, data: dict[str, Any], report: Report) -> Manifest:
    """Check the parsed manifest against the schema, section by section, reporting every
    problem; the sections that passed are in the result."""
    reader = FieldReader(name, report)
    result = Manifest()
    reader.keys(data, "", _TOP_KEYS)
    fmt = data.get("format", MISSING)
    if isinstance(fmt, Missing):
        reader.problem("", f'required key "format" is missing; add format = {FORMAT_VERSION}')
    elif type(fmt) is not int:
        reader.problem("", f"format must be the number {FORMAT_VERSION}, not {show(fmt)}")
    elif fmt != FORMAT_VERSION:
        reader.problem(
            "",
            f"format {fmt} is not supported by this room server (it reads format "
            f"{FORMAT_VERSION}); update the room server or export in format {FORMAT_VERSION}",
        )
    meeting = reader.table(data, "meeting", "", required=True)
    if meeting is not None:
        reader.keys(meeting, "meeting", _MEETING_KEYS)
        meeting_id = reader.ident(meeting, "meeting", None)
        title = reader.text(meeting, "title", "meeting", max_len=500)
        date = reader.date(meeting, "meeting")
        location = reader.text(meeting, "location", "meeting", max_len=500, default="")
        start_time = reader.time(meeting, "meeting")
        if None not in (meeting_id, title, date, location) and start_time is not MISSING:
            assert meeting_id is not None and title is not None and date is not None
            assert location is not None and not isinstance(start_time, Missing)
            result.meeting = (meeting_id, title, date, location, start_time)
    result.documents = _documents(reader, data)
    known_documents = {doc.id for doc in result.documents}
    result.agenda = read_agenda(reader, data, known_documents)
    result.seats = read_seats(reader, data)
    result.delegates, members = read_delegates(reader, data, {seat.id for seat in result.seats})
    result.attendance, proxy_limit = read_attendance(reader, data, members)
    if result.attendance.badge_and_pin:
        for delegate in result.delegates:
            missing = [
                what
                for what, value in (("badge", delegate.badge), ("pin", delegate.pin))
                if value is None
            ]
            if delegate.voting and missing:
                reader.problem(
                    f'delegate "{delegate.id}"',
                    f"has no {' and no '.join(missing)}; with badge_and_pin = true in "
                    "[attendance] every voting member needs a badge and a pin",
                )
    result.proxies = read_proxies(reader, data, members, proxy_limit)
    for doc in result.documents:
        unknown = [d for d in doc.members if d not in members]
        for delegate_id in unknown:
            reader.problem(
                doc.where,
                f'members: "{delegate_id}" is not in [[delegates]]'
                f"{did_you_mean(delegate_id, members)}",
            )
        named = set(doc.members) | {d.id for d in result.delegates if d.role in doc.roles}
        if (doc.members or doc.roles) and not unknown and not named:
            reader.problem(
                doc.where,
                f"no delegate has the role {' or '.join(doc.roles)}, so nobody could read "
                "this document; name its readers in members",
            )
    result.poll_templates, result.polls = read_polls(reader, data)
    return result


def _documents(reader: FieldReader, data: dict[str, Any]) -> list[DocumentEntry]:
    found: list[DocumentEntry] = []
    files: dict[str, str] = {}
    for index, table in reader.array(data, "documents"):
        where = describe_entry("document", table, index)
        reader.keys(table, where, _DOCUMENT_KEYS)
        doc_id = reader.ident(table, where, "document")
        title = reader.text(table, "title", where, max_len=500)
        file = reader.path(table, where)
        confidential = reader.flag(table, "confidential", where)
        readers = _readers(reader, table, where, confidential)
        if file is not None:
            if file in files:
                reader.problem(where, f'file "{file}" is already used by {files[file]}')
                file = None
            else:
                files[file] = where
        if None not in (doc_id, title, file, confidential, readers):
            assert doc_id is not None and title is not None and file is not None
            assert confidential is not None and readers is not None
            found.append(DocumentEntry(doc_id, title, file, confidential, where, *readers))
    return found


def _readers(
    reader: FieldReader, table: dict[str, Any], where: str, confidential: bool | None
) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """The ``members`` and ``roles`` allowed to read a confidential document (both empty:
    every member of the meeting); None after a problem. Members are checked against the
    roster once it is read."""
    given = [key for key in ("members", "roles") if key in table]
    if not given:
        return (), ()
    if confidential is False:
        reader.problem(
            where,
            f"{' and '.join(given)} name who may read a confidential document; "
            "add confidential = true or remove them",
        )
        return None
    found: dict[str, tuple[str, ...]] = {}
    ok = True
    for key in given:
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            reader.problem(
                where, f'"{key}" must be a list of texts, like ["d1", "d2"], not {show(value)}'
            )
            ok = False
            continue
        if len(set(value)) != len(value):
            twice = sorted({v for v in value if value.count(v) > 1})
            reader.problem(where, f'{key}: "{twice[0]}" is listed twice')
            ok = False
            continue
        for item in value:
            if key == "members" and not ID_RE.fullmatch(item):
                reader.problem(where, f'members: "{item}" is not a delegate id')
                ok = False
            elif key == "roles" and item not in READER_ROLES:
                reader.problem(
                    where,
                    f'roles: "{item}" is not one of {", ".join(READER_ROLES)}'
                    f"{did_you_mean(item, READER_ROLES)} (name an observer in members)",
                )
                ok = False
        found[key] = tuple(value)
    if not ok:
        return None
    members, roles = found.get("members", ()), found.get("roles", ())
    if not members and not roles:
        reader.problem(
            where,
            "members and roles are empty, so nobody could read this document; "
            "name its readers or leave both out (every member of the meeting reads it)",
        )
        return None
    return members, roles
