"""Meeting packages: read a folder or zip (manifest + PDFs) and validate all of it.

Pure logic plus one PyMuPDF check; nothing is stored here. Every problem is collected and
raised together as a ``PackageError``, so IT staff can fix a package in one pass.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import os
import re
import stat
import tempfile
import tomllib
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar

import pymupdf

from room_protocol.voting import (
    MAX_MEMBERS,
    MAX_OPTIONS,
    Abstentions,
    Base,
    Majority,
    PollKind,
    PollOption,
    PollRule,
    PollSpec,
    QuorumRule,
    Seating,
    Tie,
    normalised,
    spec_problems,
)

__all__ = [
    "MANIFEST_NAMES",
    "ROLES",
    "MeetingPackage",
    "PackageAgendaItem",
    "PackageAttendance",
    "PackageDelegate",
    "PackageDocument",
    "PackageError",
    "PackageLimits",
    "PackagePoll",
    "PackagePollTemplate",
    "PackageProxy",
    "PackageSeat",
    "Problem",
    "open_package",
]

MANIFEST_NAMES = ("meeting.toml", "meeting.json")
FORMAT_VERSION = 1
ROLES = ("chair", "clerk", "delegate", "observer")
MAX_AGENDA_DEPTH = 4
MAX_PLANNED_MINUTES = 1440  # one day
MAX_WEIGHT = 1_000_000  # votes of one member in a weighted poll (shares, delegation size)
MAX_POLLS = 2_000  # what one PollsState message carries
MAX_POLL_TEMPLATES = 200  # likewise
MAX_MANIFEST_BYTES = 8 * 1024 * 1024  # a 2,000-delegate roster is well under 1 MiB
RATIO_FLOOR_BYTES = 1024 * 1024  # compression ratios of smaller entries say nothing
_CHUNK = 1024 * 1024
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_TIME_RE = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE_RE = re.compile(r"[A-Za-z]:")
_JUNK_NAMES = frozenset({".ds_store", "thumbs.db", "desktop.ini"})
_S_IFLNK = 0o120000


@dataclass(frozen=True, slots=True)
class PackageLimits:
    max_document_bytes: int = 512 * 1024 * 1024
    max_package_bytes: int = 4 * 1024 * 1024 * 1024  # total uncompressed
    max_files: int = 5_000
    max_pages: int = 20_000  # per document
    max_compression_ratio: int = 200  # zip-bomb guard, per entry


@dataclass(frozen=True, slots=True)
class Problem:
    file: str  # path inside the package, or the package path itself
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


class PackageError(Exception):
    """Carries every problem found, not just the first."""

    def __init__(self, path: Path, problems: Sequence[Problem]) -> None:
        self.path = path
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__(str(path), self.problems)

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"meeting package {self.path} rejected; problems found: {count}"
        return "\n".join([head, *(f"  {problem}" for problem in self.problems)])


@dataclass(frozen=True, slots=True)
class PackageDocument:
    id: str
    title: str
    file: str
    confidential: bool
    sha256: str
    size: int  # bytes
    pages: int
    source: Path  # readable file with the bytes: in the folder, or in the extraction dir


@dataclass(frozen=True, slots=True)
class PackageAgendaItem:
    id: str
    number: str
    title: str
    planned_minutes: int | None
    documents: tuple[str, ...]  # document ids
    children: tuple[PackageAgendaItem, ...]


@dataclass(frozen=True, slots=True)
class PackageSeat:
    id: str
    label: str


@dataclass(frozen=True, slots=True)
class PackageDelegate:
    id: str
    name: str
    role: str
    seat: str | None
    group: str
    pin: str | None = None  # 4-12 digits; stored only as a salted hash
    badge: str | None = None  # what the badge reader types
    voting: bool = False  # the reader fills it: by default true for role "delegate"
    weight: int = 1  # votes in a weighted poll


@dataclass(frozen=True, slots=True)
class PackageAttendance:
    seating: Seating = Seating.ASSIGNED
    quorum: QuorumRule = QuorumRule.NONE
    quorum_count: int | None = None  # with QuorumRule.FIXED only
    proxies_count: bool = True  # members represented by a proxy count toward the quorum
    max_proxies: int = 1  # proxies one member may hold; 0: no proxies


@dataclass(frozen=True, slots=True)
class PackageProxy:
    giver: str  # the absent member's delegate id
    holder: str  # the member who votes for them


@dataclass(frozen=True, slots=True)
class PackagePollTemplate:
    id: str
    spec: PollSpec  # normalised; title is the template's label; no options unless yes/no


@dataclass(frozen=True, slots=True)
class PackagePoll:
    id: str
    spec: PollSpec  # normalised, template applied
    template: str | None


@dataclass(frozen=True, slots=True)
class MeetingPackage:
    meeting_id: str
    title: str
    date: str  # YYYY-MM-DD
    location: str
    start_time: str | None  # HH:MM
    documents: tuple[PackageDocument, ...]
    agenda: tuple[PackageAgendaItem, ...]
    seats: tuple[PackageSeat, ...]
    delegates: tuple[PackageDelegate, ...]
    manifest_name: str
    attendance: PackageAttendance = PackageAttendance()
    proxies: tuple[PackageProxy, ...] = ()
    poll_templates: tuple[PackagePollTemplate, ...] = ()
    polls: tuple[PackagePoll, ...] = ()


@contextmanager
def open_package(path: Path, limits: PackageLimits = PackageLimits()) -> Iterator[MeetingPackage]:
    """Read and validate everything; raise PackageError listing every problem.

    For a zip, every entry is checked first (absolute paths, ``..`` components, backslashes
    and drive letters, symlinks, duplicate names, sizes, compression ratio, count); then
    only the referenced files are extracted, with sizes enforced while streaming, into a
    temporary directory that is removed on exit. For a folder, symlinks and anything
    outside the folder are rejected. Nothing is written outside the temporary directory.
    """
    report = _Report(str(path))
    if path.is_dir():
        package = _read(_FolderSource(path, limits, report), limits, report)
        if report.problems or package is None:
            raise PackageError(path, report.problems)
        yield package
    elif path.is_file() and zipfile.is_zipfile(path):
        with (
            tempfile.TemporaryDirectory(prefix="hemicycle-package-") as tmp,
            _ZipSource(path, Path(tmp), limits, report) as source,
        ):
            package = _read(source, limits, report) if source.opened else None
            if report.problems or package is None:
                raise PackageError(path, report.problems)
            yield package
    else:
        if not path.exists():
            what = "does not exist"
        elif path.suffix.lower() == ".zip":
            what = "is not a readable zip file (damaged or incomplete copy?)"
        else:
            what = "is neither a folder nor a zip file"
        report.add(str(path), f"{what}; a meeting package is a folder or a .zip")
        raise PackageError(path, report.problems)


# --- problems -------------------------------------------------------------------------


@dataclass(slots=True)
class _Report:
    package: str
    problems: list[Problem] = field(default_factory=list)

    def add(self, file: str, message: str) -> None:
        self.problems.append(Problem(file, message))


# --- sources: what files the package holds, and how to get their bytes -----------------


@dataclass(frozen=True, slots=True)
class _Entry:
    name: str  # POSIX path inside the package, NFC
    size: int  # bytes; declared size for zip entries
    readable: bool  # passed the safety checks, may be read


class _Source:
    entries: dict[str, _Entry]
    report: _Report

    def read_manifest(self, entry: _Entry) -> bytes | None:
        raise NotImplementedError

    def materialise(self, entry: _Entry, index: int) -> tuple[Path, str, int] | None:
        """Path, sha256 and size of the entry's bytes, or None after reporting why not."""
        raise NotImplementedError


class _FolderSource(_Source):
    def __init__(self, root: Path, limits: PackageLimits, report: _Report) -> None:
        self.root = root.resolve()
        self.limits = limits
        self.report = report
        self.entries = {}
        self._paths: dict[str, Path] = {}
        self._scan()

    def _scan(self) -> None:
        total = 0
        for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
            here = Path(dirpath)
            dirnames.sort()
            for name in sorted([*dirnames, *filenames]):
                full = here / name
                rel = _nfc(full.relative_to(self.root).as_posix())
                info = full.lstat()
                if stat.S_ISDIR(info.st_mode):
                    continue
                if stat.S_ISLNK(info.st_mode):
                    problem = _symlink_message(full, self.root)
                elif not stat.S_ISREG(info.st_mode):
                    problem = "is not a regular file (device, pipe or socket)"
                elif not full.resolve().is_relative_to(self.root):
                    problem = "resolves outside the package folder"
                else:
                    problem = ""
                if problem:
                    self.report.add(rel, problem)
                    self.entries[rel] = _Entry(rel, 0, readable=False)
                    continue
                if len(self.entries) >= self.limits.max_files:
                    self.report.add(
                        self.report.package,
                        f"holds more than {self.limits.max_files} files; split the meeting "
                        "or remove files that are not documents",
                    )
                    return
                total += info.st_size
                self.entries[rel] = _Entry(rel, info.st_size, readable=True)
                self._paths[rel] = full
        if total > self.limits.max_package_bytes:
            self.report.add(self.report.package, _too_big_package(total, self.limits))

    def read_manifest(self, entry: _Entry) -> bytes | None:
        try:
            with _open_no_follow(self._paths[entry.name]) as stream:
                return _read_capped(stream, entry.name, self.report)
        except OSError as exc:
            self.report.add(entry.name, f"cannot be read: {exc.strerror}")
            return None

    def materialise(self, entry: _Entry, index: int) -> tuple[Path, str, int] | None:
        source = self._paths[entry.name]
        try:
            with _open_no_follow(source) as stream:
                digest, size = _hash_stream(stream, None, self.limits.max_document_bytes)
        except OSError as exc:
            self.report.add(entry.name, f"cannot be read: {exc.strerror}")
            return None
        if size > self.limits.max_document_bytes:
            self.report.add(entry.name, _too_big_document(size, self.limits))
            return None
        return source, digest, size


def _open_no_follow(path: Path) -> IO[bytes]:
    # a symlink swapped in after the scan must not be followed
    return open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NOFOLLOW))


class _ZipSource(_Source):
    def __init__(self, path: Path, tmp: Path, limits: PackageLimits, report: _Report) -> None:
        self.path = path
        self.tmp = tmp
        self.limits = limits
        self.report = report
        self.entries = {}
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._zip: zipfile.ZipFile | None = None
        self._extracted = 0

    @property
    def opened(self) -> bool:
        return self._zip is not None

    def __enter__(self) -> _ZipSource:
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            self.report.add(self.report.package, f"is not a readable zip file: {exc}")
            return self
        self._scan(self._zip.infolist())
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._zip is not None:
            self._zip.close()

    def _scan(self, infos: list[zipfile.ZipInfo]) -> None:
        limits, report = self.limits, self.report
        if len(infos) > limits.max_files:
            report.add(
                report.package,
                f"holds {len(infos)} entries, more than the limit of {limits.max_files}",
            )
            return
        seen: Counter[str] = Counter(_nfc(info.filename) for info in infos)
        total = 0
        for info in infos:
            name = _nfc(info.filename)
            unsafe = _unsafe_zip_name(info.filename)
            if unsafe:
                report.add(name, f"{unsafe}; the zip entry was not extracted")
                continue
            if info.is_dir():
                continue
            if (info.external_attr >> 16) & 0o170000 == _S_IFLNK:
                report.add(name, "is a symbolic link; packages must contain real files")
                self.entries.setdefault(name, _Entry(name, 0, readable=False))
                continue
            total += info.file_size
            readable = True
            if seen[name] > 1:
                if name not in self.entries:
                    report.add(name, f"appears {seen[name]} times in the zip; names must be unique")
                readable = False
            if info.flag_bits & 0x1:
                report.add(name, "is password-protected in the zip; zip it without a password")
                readable = False
            if info.file_size > limits.max_document_bytes and not _is_junk(name):
                report.add(name, _too_big_document(info.file_size, limits))
                readable = False
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_compression_ratio:
                report.add(
                    name,
                    f"expands {ratio:.0f}-fold when unzipped (limit "
                    f"{limits.max_compression_ratio}); this looks like a zip bomb",
                )
                readable = False
            if name not in self.entries:
                self.entries[name] = _Entry(name, info.file_size, readable)
                self._infos[name] = info
        if total > limits.max_package_bytes:
            report.add(report.package, _too_big_package(total, limits))

    def read_manifest(self, entry: _Entry) -> bytes | None:
        if self._zip is None or not entry.readable:
            return None
        try:
            with self._zip.open(self._infos[entry.name]) as stream:
                return _read_capped(stream, entry.name, self.report)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
            self.report.add(entry.name, f"cannot be read from the zip: {exc}")
            return None

    def materialise(self, entry: _Entry, index: int) -> tuple[Path, str, int] | None:
        if self._zip is None or not entry.readable:
            return None
        limits = self.limits
        cap = min(limits.max_document_bytes, limits.max_package_bytes - self._extracted)
        target = self.tmp / f"{index:04d}.pdf"
        try:
            with self._zip.open(self._infos[entry.name]) as stream, target.open("xb") as out:
                digest, size = _hash_stream(stream, out, cap)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
            self.report.add(entry.name, f"cannot be read from the zip (damaged?): {exc}")
            return None
        self._extracted += size
        if size > cap:
            target.unlink()
            self.report.add(entry.name, "unzips to more bytes than allowed; extraction stopped")
            return None
        return target, digest, size


def _read_capped(stream: IO[bytes], name: str, report: _Report) -> bytes | None:
    data = stream.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        report.add(name, f"is larger than {_mib(MAX_MANIFEST_BYTES)}; is it really a manifest?")
        return None
    return data


def _hash_stream(stream: IO[bytes], out: IO[bytes] | None, cap: int) -> tuple[str, int]:
    """sha256 and byte count; stops once more than ``cap`` bytes were read."""
    digest = hashlib.sha256()
    size = 0
    while size <= cap and (chunk := stream.read(_CHUNK)):
        size += len(chunk)
        digest.update(chunk)
        if out is not None and size <= cap:
            out.write(chunk)
    return digest.hexdigest(), size


def _unsafe_zip_name(raw: str) -> str:
    """Why a zip entry name is unsafe to extract, or '' if it is fine."""
    if "\x00" in raw or _CONTROL_RE.search(raw):
        return "has control characters in its name"
    if "\\" in raw:
        return "has a backslash in its name (Windows path); use '/' between folders"
    if raw.startswith("/"):
        return "has an absolute path"
    if _DRIVE_RE.match(raw):
        return "starts with a drive letter"
    if ".." in raw.split("/"):
        return "has a '..' component that would point outside the package"
    return ""


def _symlink_message(link: Path, root: Path) -> str:
    try:
        target = link.resolve()
    except (OSError, RuntimeError):
        return "is a broken or looping symbolic link; packages must contain real files"
    if not target.is_relative_to(root):
        return "is a symbolic link pointing outside the package; copy the real file in"
    return "is a symbolic link; packages must contain real files"


def _too_big_document(size: int, limits: PackageLimits) -> str:
    return (
        f"is {_mib(size)}, larger than the {_mib(limits.max_document_bytes)} limit "
        "for one document; split it or reduce image resolution"
    )


def _too_big_package(total: int, limits: PackageLimits) -> str:
    return f"holds {_mib(total)} in all, more than the {_mib(limits.max_package_bytes)} limit"


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB" if size >= 1024 * 1024 else f"{size} bytes"


def _nfc(name: str) -> str:
    # macOS zips often store names decomposed (NFD); manifests are usually NFC
    return unicodedata.normalize("NFC", name)


def _is_junk(name: str) -> bool:
    parts = name.split("/")
    base = parts[-1]
    return "__MACOSX" in parts[:-1] or base.lower() in _JUNK_NAMES or base.startswith("._")


# --- reading ---------------------------------------------------------------------------


def _read(source: _Source, limits: PackageLimits, report: _Report) -> MeetingPackage | None:
    manifest_entry = _find_manifest(source, report)
    if manifest_entry is None or not manifest_entry.readable:
        return None
    manifest_name = manifest_entry.name
    raw = source.read_manifest(manifest_entry)
    if raw is None:
        return None
    data = _parse_manifest(manifest_name, raw, report)
    if data is None:
        return None
    manifest = _ManifestReader(manifest_name, report).meeting(data)
    documents = _check_files(source, manifest, limits, report)
    if manifest.meeting is None or documents is None:
        return None
    meeting_id, title, date, location, start_time = manifest.meeting
    return MeetingPackage(
        meeting_id=meeting_id,
        title=title,
        date=date,
        location=location,
        start_time=start_time,
        documents=documents,
        agenda=manifest.agenda,
        seats=manifest.seats,
        delegates=manifest.delegates,
        manifest_name=manifest_name,
        attendance=manifest.attendance,
        proxies=manifest.proxies,
        poll_templates=manifest.poll_templates,
        polls=manifest.polls,
    )


def _find_manifest(source: _Source, report: _Report) -> _Entry | None:
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


def _parse_manifest(name: str, raw: bytes, report: _Report) -> dict[str, Any] | None:
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


# --- manifest schema -------------------------------------------------------------------


_TOP_KEYS = (
    *("format", "meeting", "documents", "agenda", "seats", "delegates"),
    *("attendance", "proxies", "poll_templates", "polls"),
)
_MEETING_KEYS = ("id", "title", "date", "location", "start_time")
_DOCUMENT_KEYS = ("id", "file", "title", "confidential")
_AGENDA_KEYS = ("id", "title", "number", "planned_minutes", "documents", "items")
_SEAT_KEYS = ("id", "label")
_DELEGATE_KEYS = ("id", "name", "role", "seat", "group", "pin", "badge", "voting", "weight")
_ATTENDANCE_KEYS = ("seating", "quorum", "quorum_count", "proxies_count", "max_proxies")
_PROXY_KEYS = ("giver", "holder")
_ENUM_SETTINGS: tuple[tuple[str, type[StrEnum]], ...] = (
    ("kind", PollKind),
    ("majority", Majority),
    ("base", Base),
    ("abstentions", Abstentions),
    ("tie", Tie),
)
_FLAG_SETTINGS = ("secret", "allow_change", "weighted")
_COUNT_SETTINGS = (("min_choices", 0), ("max_choices", 1), ("seats", 1))  # (key, lowest)
_POLL_SETTINGS = (
    *(key for key, _enum in _ENUM_SETTINGS),
    *_FLAG_SETTINGS,
    *(key for key, _low in _COUNT_SETTINGS),
)
_TEMPLATE_KEYS = ("id", "title", *_POLL_SETTINGS)
_POLL_KEYS = ("id", "title", "item", "template", "options", *_POLL_SETTINGS)
_OPTION_KEYS = ("id", "label")
# Settings that mean something only for some kinds of poll.
_APPLIES_TO: dict[str, tuple[tuple[PollKind, ...], str]] = {
    "min_choices": ((PollKind.MULTIPLE, PollKind.ELECTION), "multiple-choice polls and elections"),
    "max_choices": ((PollKind.MULTIPLE,), "multiple-choice polls"),
    "seats": ((PollKind.ELECTION,), "elections"),
    "options": (
        (PollKind.SINGLE, PollKind.MULTIPLE, PollKind.ELECTION),
        'single, multiple and election polls (a yes_no poll always offers "yes", "no" '
        'and "abstain")',
    ),
}
_E = TypeVar("_E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class _DocumentEntry:
    id: str
    title: str
    file: str
    confidential: bool
    where: str


@dataclass(slots=True)
class _Manifest:
    meeting: tuple[str, str, str, str, str | None] | None = None
    documents: list[_DocumentEntry] = field(default_factory=list)
    agenda: tuple[PackageAgendaItem, ...] = ()
    seats: tuple[PackageSeat, ...] = ()
    delegates: tuple[PackageDelegate, ...] = ()
    attendance: PackageAttendance = PackageAttendance()
    proxies: tuple[PackageProxy, ...] = ()
    poll_templates: tuple[PackagePollTemplate, ...] = ()
    polls: tuple[PackagePoll, ...] = ()


@dataclass(frozen=True, slots=True)
class _Member:
    role: str | None  # None: the role itself was wrong
    voting: bool | None  # None: the voting flag itself was wrong


class _Missing:
    pass


_MISSING = _Missing()


class _ManifestReader:
    """Checks the parsed manifest against the schema, reporting problems as it goes."""

    def __init__(self, name: str, report: _Report) -> None:
        self.name = name
        self.report = report
        self.ids: dict[str, dict[str, str]] = {}  # kind -> id -> where first seen
        self.members: dict[str, _Member] = {}  # every delegate id, even one with problems
        self.proxy_limit: int | None = PackageAttendance().max_proxies  # None: not known
        self.templates_complete = True  # every template has a readable id

    def problem(self, where: str, message: str) -> None:
        self.report.add(self.name, f"{where}: {message}" if where else message)

    def meeting(self, data: dict[str, Any]) -> _Manifest:
        result = _Manifest()
        self.keys(data, "", _TOP_KEYS)
        fmt = data.get("format", _MISSING)
        if isinstance(fmt, _Missing):
            self.problem("", f'required key "format" is missing; add format = {FORMAT_VERSION}')
        elif type(fmt) is not int:
            self.problem("", f"format must be the number {FORMAT_VERSION}, not {_show(fmt)}")
        elif fmt != FORMAT_VERSION:
            self.problem(
                "",
                f"format {fmt} is not supported by this room server (it reads format "
                f"{FORMAT_VERSION}); update the room server or export in format {FORMAT_VERSION}",
            )
        meeting = self.table(data, "meeting", "", required=True)
        if meeting is not None:
            self.keys(meeting, "meeting", _MEETING_KEYS)
            meeting_id = self.ident(meeting, "meeting", None)
            title = self.text(meeting, "title", "meeting", max_len=500)
            date = self.date(meeting, "meeting")
            location = self.text(meeting, "location", "meeting", max_len=500, default="")
            start_time = self.time(meeting, "meeting")
            if None not in (meeting_id, title, date, location) and start_time is not _MISSING:
                assert meeting_id is not None and title is not None and date is not None
                assert location is not None and not isinstance(start_time, _Missing)
                result.meeting = (meeting_id, title, date, location, start_time)
        result.documents = self.documents(data)
        known_documents = {doc.id for doc in result.documents}
        result.agenda = self.agenda(data, known_documents)
        result.seats = self.seats(data)
        result.delegates = self.delegates(data, {seat.id for seat in result.seats})
        result.attendance = self.attendance(data)
        result.proxies = self.proxies(data, self.proxy_limit)
        templates = self.poll_templates(data)
        result.poll_templates = tuple(t for t, _settings in templates.values() if t is not None)
        result.polls = self.polls(data, templates)
        return result

    # sections

    def documents(self, data: dict[str, Any]) -> list[_DocumentEntry]:
        found: list[_DocumentEntry] = []
        files: dict[str, str] = {}
        for index, table in self.array(data, "documents"):
            where = _label("document", table, index)
            self.keys(table, where, _DOCUMENT_KEYS)
            doc_id = self.ident(table, where, "document")
            title = self.text(table, "title", where, max_len=500)
            file = self.path(table, where)
            confidential = self.flag(table, "confidential", where)
            if file is not None:
                if file in files:
                    self.problem(where, f'file "{file}" is already used by {files[file]}')
                    file = None
                else:
                    files[file] = where
            if None not in (doc_id, title, file, confidential):
                assert doc_id is not None and title is not None and file is not None
                assert confidential is not None
                found.append(_DocumentEntry(doc_id, title, file, confidential, where))
        return found

    def agenda(self, data: dict[str, Any], documents: set[str]) -> tuple[PackageAgendaItem, ...]:
        numbers: dict[str, str] = {}
        items = self.agenda_level(data, "agenda", "", 1, "", documents, numbers)
        return items if items is not None else ()

    def agenda_level(
        self,
        container: dict[str, Any],
        key: str,
        parent_where: str,
        depth: int,
        parent_number: str,
        documents: set[str],
        numbers: dict[str, str],
    ) -> tuple[PackageAgendaItem, ...] | None:
        tables = self.array(container, key, parent_where)
        if tables and depth > MAX_AGENDA_DEPTH:
            self.problem(
                parent_where,
                f"has sub-items {depth} levels deep; at most {MAX_AGENDA_DEPTH} levels are allowed",
            )
            return None
        ok = True
        items: list[PackageAgendaItem] = []
        for index, table in tables:
            where = _label("agenda item", table, index, parent_where)
            self.keys(table, where, _AGENDA_KEYS)
            item_id = self.ident(table, where, "agenda item")
            title = self.text(table, "title", where, max_len=500)
            generated = f"{parent_number}.{index + 1}" if parent_number else str(index + 1)
            number = self.text(table, "number", where, max_len=20, default=generated)
            if number is not None:
                if number in numbers:
                    self.problem(where, f'number "{number}" is already used by {numbers[number]}')
                else:
                    numbers[number] = where
            minutes = self.integer(table, "planned_minutes", where, 0, MAX_PLANNED_MINUTES)
            refs = self.references(table, where, documents)
            children = self.agenda_level(
                table, "items", where, depth + 1, number or generated, documents, numbers
            )
            if None in (item_id, title, number, refs, children) or minutes is _MISSING:
                ok = False
                continue
            assert item_id is not None and title is not None and number is not None
            assert refs is not None and children is not None
            assert not isinstance(minutes, _Missing)
            items.append(PackageAgendaItem(item_id, number, title, minutes, refs, children))
        return tuple(items) if ok else None

    def references(
        self, table: dict[str, Any], where: str, documents: set[str]
    ) -> tuple[str, ...] | None:
        value = table.get("documents", [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(where, f'"documents" must be a list of document ids, not {_show(value)}')
            return None
        ok = True
        for doc_id in value:
            if doc_id not in documents:
                self.problem(where, f'refers to document "{doc_id}", which is not in [[documents]]')
                ok = False
        for doc_id, count in Counter(value).items():
            if count > 1:
                self.problem(where, f'lists document "{doc_id}" {count} times')
                ok = False
        return tuple(value) if ok else None

    def seats(self, data: dict[str, Any]) -> tuple[PackageSeat, ...]:
        seats: list[PackageSeat] = []
        for index, table in self.array(data, "seats"):
            where = _label("seat", table, index)
            self.keys(table, where, _SEAT_KEYS)
            seat_id = self.ident(table, where, "seat")
            label = self.text(table, "label", where, max_len=200, default=seat_id or "")
            if seat_id is not None and label is not None:
                seats.append(PackageSeat(seat_id, label))
        return tuple(seats)

    def delegates(self, data: dict[str, Any], seats: set[str]) -> tuple[PackageDelegate, ...]:
        delegates: list[PackageDelegate] = []
        taken: dict[str, str] = {}
        badges: dict[str, str] = {}
        for index, table in self.array(data, "delegates"):
            where = _label("delegate", table, index)
            self.keys(table, where, _DELEGATE_KEYS)
            delegate_id = self.ident(table, where, "delegate")
            name = self.text(table, "name", where, max_len=200)
            role = self.text(table, "role", where, max_len=20, default="delegate")
            if role is not None and role not in ROLES:
                self.problem(where, f'role "{role}" is not one of {", ".join(ROLES)}')
                role = None
            group = self.text(table, "group", where, max_len=200, default="")
            seat = self.text(table, "seat", where, max_len=64, default="")
            if seat:
                if seat not in seats:
                    self.problem(where, f'seat "{seat}" is not in [[seats]]')
                    seat = None
                elif seat in taken:
                    self.problem(where, f'seat "{seat}" is already assigned to {taken[seat]}')
                    seat = None
                else:
                    taken[seat] = where
            pin = self.text(table, "pin", where, max_len=12, default="")
            if pin and not re.fullmatch(r"[0-9]{4,12}", pin):
                self.problem(where, 'pin must be 4 to 12 digits, written as a string ("0421")')
                pin = None
            badge = self.text(table, "badge", where, max_len=64, default="")
            if badge and not re.fullmatch(r"[A-Za-z0-9:_-]{1,64}", badge):
                self.problem(where, "badge may only contain letters, digits, ':', '_' and '-'")
                badge = None
            elif badge and badge in badges:
                self.problem(where, f'badge "{badge}" is already given to {badges[badge]}')
                badge = None
            elif badge:
                badges[badge] = where
            voting = self.flag(table, "voting", where, default=role == "delegate")
            if voting and role == "observer":
                self.problem(
                    where,
                    'an observer cannot be a voting member; make the role "delegate" '
                    "(or chair or clerk) or leave voting out",
                )
                voting = None
            weight = self.integer(table, "weight", where, 1, MAX_WEIGHT)
            if delegate_id is not None:
                self.members[delegate_id] = _Member(role, voting)
            if None not in (delegate_id, name, role, group, seat, pin, badge, voting) and not (
                isinstance(weight, _Missing)
            ):
                assert delegate_id is not None and name is not None and role is not None
                assert group is not None and voting is not None
                delegates.append(
                    PackageDelegate(
                        delegate_id,
                        name,
                        role,
                        seat or None,
                        group,
                        pin or None,
                        badge or None,
                        voting,
                        1 if weight is None else weight,
                    )
                )
        return tuple(delegates)

    def attendance(self, data: dict[str, Any]) -> PackageAttendance:
        where = "attendance"
        table = self.table(data, "attendance", "", required=False)
        if table is None:
            if "attendance" in data:
                self.proxy_limit = None
            return PackageAttendance()
        self.keys(table, where, _ATTENDANCE_KEYS)
        seating = self.choice(table, "seating", where, Seating)
        quorum = self.choice(table, "quorum", where, QuorumRule)
        count = self.integer(table, "quorum_count", where, 1, MAX_MEMBERS)
        voters = sum(1 for member in self.members.values() if member.voting)
        if quorum is QuorumRule.FIXED:
            if count is None:
                self.problem(
                    where,
                    'quorum = "fixed" needs quorum_count, the number of voting members '
                    "that makes the quorum",
                )
            elif isinstance(count, int) and count > voters:
                self.problem(
                    where,
                    f"quorum_count {count} is more than the {voters} voting members "
                    "in [[delegates]]; the quorum could never be met",
                )
        elif isinstance(count, int) and isinstance(quorum, QuorumRule | None):
            rule = (quorum or QuorumRule.NONE).value
            self.problem(
                where,
                f'quorum_count is used only with quorum = "fixed" (here quorum is "{rule}"); '
                'remove quorum_count or set quorum = "fixed"',
            )
        proxies_count = self.flag(table, "proxies_count", where, default=True)
        max_proxies = self.integer(table, "max_proxies", where, 0, MAX_MEMBERS)
        if isinstance(max_proxies, _Missing):
            self.proxy_limit = None
        elif max_proxies is not None:
            self.proxy_limit = max_proxies
        return PackageAttendance(
            seating=seating if isinstance(seating, Seating) else Seating.ASSIGNED,
            quorum=quorum if isinstance(quorum, QuorumRule) else QuorumRule.NONE,
            quorum_count=count if isinstance(count, int) else None,
            proxies_count=proxies_count is not False,
            max_proxies=max_proxies if isinstance(max_proxies, int) else 1,
        )

    def proxies(self, data: dict[str, Any], limit: int | None) -> tuple[PackageProxy, ...]:
        """``limit``: max_proxies, None when [attendance] has a problem that hides it."""
        found: list[tuple[PackageProxy, str]] = []
        givers: dict[str, tuple[str, str]] = {}  # giver -> (holder, where)
        held: Counter[str] = Counter()
        for index, table in self.array(data, "proxies"):
            where = f"proxy #{index + 1}"
            self.keys(table, where, _PROXY_KEYS)
            giver = self.member(table, "giver", where)
            holder = self.member(table, "holder", where)
            if giver is None or holder is None:
                continue
            if giver == holder:
                self.problem(where, f'"{giver}" cannot hold their own proxy')
                continue
            if giver in givers:
                earlier_holder, earlier = givers[giver]
                self.problem(
                    where,
                    f'giver "{giver}" already gave a proxy to "{earlier_holder}" in {earlier}; '
                    "a member gives at most one proxy",
                )
                continue
            givers[giver] = (holder, where)
            held[holder] += 1
            if limit == 0:
                self.problem(
                    where,
                    "proxies are not allowed: max_proxies is 0 in [attendance]; "
                    "remove the proxy or raise max_proxies",
                )
                continue
            if limit is not None and held[holder] > limit:
                self.problem(
                    where,
                    f'holder "{holder}" would hold {held[holder]} proxies; max_proxies in '
                    f"[attendance] allows {limit}",
                )
                continue
            found.append((PackageProxy(giver, holder), where))
        proxies: list[PackageProxy] = []
        for proxy, where in found:
            if proxy.holder in givers:
                onward, given_in = givers[proxy.holder]
                self.problem(
                    where,
                    f'holder "{proxy.holder}" gives their own proxy to "{onward}" in '
                    f"{given_in}; a proxy cannot be passed on: give it to a member who is "
                    "present",
                )
                continue
            proxies.append(proxy)
        return tuple(proxies)

    def member(self, table: dict[str, Any], key: str, where: str) -> str | None:
        """A voting member's delegate id, from ``table[key]``."""
        value = self.text(table, key, where, max_len=64)
        if value is None:
            return None
        member = self.members.get(value)
        if member is None:
            hint = _did_you_mean(value, self.members)
            self.problem(where, f'{key} "{value}" is not in [[delegates]]{hint}')
            return None
        if member.voting is False:
            self.problem(
                where,
                f'{key} "{value}" is not a voting member (role "{member.role}"); only voting '
                "members give or hold proxies",
            )
            return None
        return value if member.voting else None

    def poll_templates(
        self, data: dict[str, Any]
    ) -> dict[str, tuple[PackagePollTemplate | None, dict[str, Any]]]:
        """Templates by id: the checked template (None if it has problems) and its settings."""
        tables = self.array(data, "poll_templates")
        written = data.get("poll_templates", [])
        self.templates_complete = (
            isinstance(written, list)
            and len(tables) == len(written)
            and all(isinstance(t.get("id"), str) and _ID_RE.fullmatch(t["id"]) for _i, t in tables)
        )
        if len(tables) > MAX_POLL_TEMPLATES:
            self.problem(
                "",
                f"has {len(tables)} [[poll_templates]]; at most {MAX_POLL_TEMPLATES} are allowed",
            )
        templates: dict[str, tuple[PackagePollTemplate | None, dict[str, Any]]] = {}
        for index, table in tables:
            where = _label("poll template", table, index)
            self.keys(table, where, _TEMPLATE_KEYS)
            template_id = self.ident(table, where, "poll template")
            title = self.text(table, "title", where, max_len=500, default=template_id or "")
            settings = self.poll_settings(table, where)
            spec = None
            if settings is not None and "kind" not in settings:
                self.problem(where, 'required key "kind" is missing')
            elif settings is not None:
                # A template has no options: check its rule with stand-ins that fit any count.
                stand_ins = max(2, settings.get("max_choices", 1), settings.get("seats", 1) + 1)
                placeholder = tuple(
                    PollOption(f"o{n}", f"Option {n}") for n in range(1, stand_ins + 1)
                )
                label = title or template_id or "template"
                spec = self.spec(table, where, settings, label, placeholder, None)
            if template_id is None:
                continue
            if title is None or settings is None or spec is None:
                templates[template_id] = (None, {})  # polls using it are not checked further
                continue
            if spec.kind is not PollKind.YES_NO:
                spec = replace(spec, options=())
            templates[template_id] = (PackagePollTemplate(template_id, spec), settings)
        return templates

    def polls(
        self,
        data: dict[str, Any],
        templates: dict[str, tuple[PackagePollTemplate | None, dict[str, Any]]],
    ) -> tuple[PackagePoll, ...]:
        tables = self.array(data, "polls")
        if len(tables) > MAX_POLLS:
            self.problem("", f"has {len(tables)} [[polls]]; at most {MAX_POLLS} are allowed")
        items = self.ids.get("agenda item", {})
        polls: list[PackagePoll] = []
        for index, table in tables:
            where = _label("poll", table, index)
            self.keys(table, where, _POLL_KEYS)
            poll_id = self.ident(table, where, "poll")
            title = self.text(table, "title", where, max_len=500)
            item = self.text(table, "item", where, max_len=64, default="")
            if item and item not in items:
                hint = _did_you_mean(item, items)
                self.problem(where, f'item "{item}" is not an agenda item in [[agenda]]{hint}')
                item = None
            template_id = self.text(table, "template", where, max_len=64, default="")
            inherited: dict[str, Any] | None = {}
            if template_id:
                template = templates.get(template_id)
                if template is None:
                    if self.templates_complete:  # else the template may be the broken one
                        hint = _did_you_mean(template_id, templates)
                        self.problem(
                            where, f'template "{template_id}" is not in [[poll_templates]]{hint}'
                        )
                    inherited = None
                elif template[0] is None:
                    inherited = None  # its problems are reported at the template
                else:
                    inherited = template[1]
            settings = self.poll_settings(table, where)
            options = self.options(table, where)
            if inherited is None or settings is None or options is None:
                continue
            merged = {**inherited, **settings}
            if "kind" not in merged:
                self.problem(
                    where,
                    'required key "kind" is missing (give it here or in the poll\'s template)',
                )
                continue
            # Checked even when the id or title is wrong, so every problem shows at once.
            spec = self.spec(table, where, merged, title or "poll", options, item or None)
            if None not in (poll_id, title, item, template_id, spec):
                assert poll_id is not None and spec is not None
                polls.append(PackagePoll(poll_id, spec, template_id or None))
        return tuple(polls)

    def options(self, table: dict[str, Any], where: str) -> tuple[PollOption, ...] | None:
        value = table.get("options", _MISSING)
        if isinstance(value, _Missing):
            return ()
        if not isinstance(value, list):
            self.problem(
                where,
                '"options" must be a list of labels (["Option A", "Option B"]) or of tables '
                f"with id and label, not {_show(value)}",
            )
            return None
        if len(value) > MAX_OPTIONS:
            self.problem(where, f"has {len(value)} options; the limit is {MAX_OPTIONS}")
            return None
        options: list[PollOption] = []
        ok = True
        for number, entry in enumerate(value, start=1):
            here = f"{where}, option #{number}"
            if isinstance(entry, str):
                option_id: str | None = f"o{number}"
                label = self.text({"label": entry}, "label", here, max_len=500)
            elif isinstance(entry, dict):
                self.keys(entry, here, _OPTION_KEYS)
                option_id = self.ident(entry, here, None)
                label = self.text(entry, "label", here, max_len=500)
            else:
                self.problem(
                    here, f"an option is a label or a table with id and label, not {_show(entry)}"
                )
                ok = False
                continue
            if option_id is None or label is None:
                ok = False
                continue
            options.append(PollOption(option_id, label))
        return tuple(options) if ok else None

    def poll_settings(self, table: dict[str, Any], where: str) -> dict[str, Any] | None:
        """The poll settings ``table`` gives, checked one by one (None if any is wrong)."""
        settings: dict[str, Any] = {}
        ok = True
        for key, enum in _ENUM_SETTINGS:
            if key in table:
                choice = self.choice(table, key, where, enum)
                if isinstance(choice, StrEnum):
                    settings[key] = choice
                else:
                    ok = False
        for key in _FLAG_SETTINGS:
            if key in table:
                flag = self.flag(table, key, where)
                if flag is None:
                    ok = False
                else:
                    settings[key] = flag
        for key, low in _COUNT_SETTINGS:
            count = self.integer(table, key, where, low, MAX_OPTIONS)
            if isinstance(count, _Missing):
                ok = False
            elif count is not None:
                settings[key] = count
        return settings if ok else None

    def spec(
        self,
        table: dict[str, Any],
        where: str,
        settings: dict[str, Any],
        title: str,
        options: tuple[PollOption, ...],
        item_id: str | None,
    ) -> PollSpec | None:
        """Build, normalise and check a poll spec; ``table`` is what was written here
        (settings may also come from a template)."""
        kind: PollKind = settings["kind"]
        ok = True
        for key, (kinds, what) in _APPLIES_TO.items():
            if key in table and kind not in kinds:
                self.problem(
                    where, f'"{key}" applies only to {what}; remove it from this {kind} poll'
                )
                ok = False
        base = settings.get("base")
        if settings.get("majority") is Majority.ABSOLUTE and base not in (None, Base.MEMBERS):
            self.problem(
                where,
                f'absolute majority is of all members, but base is "{base}"; '
                'leave base out or set it to "members"',
            )
            ok = False
        # Settings that do not apply to this kind (from a template, or reported above) fall
        # back to the defaults, and the rest is checked too.
        applies = {
            key: value
            for key, value in settings.items()
            if key not in _APPLIES_TO or kind in _APPLIES_TO[key][0]
        }
        rule = PollRule(
            majority=applies.get("majority", Majority.SIMPLE),
            base=applies.get("base", Base.CAST),
            abstentions=applies.get("abstentions", Abstentions.EXCLUDED),
            tie=applies.get("tie", Tie.FAILS),
        )
        spec = normalised(
            PollSpec(
                title=title,
                kind=kind,
                options=options,
                min_choices=applies.get("min_choices", 0),
                max_choices=applies.get("max_choices", 1),
                seats=applies.get("seats", 1),
                secret=applies.get("secret", False),
                allow_change=applies.get("allow_change", False),
                weighted=applies.get("weighted", False),
                rule=rule,
                item_id=item_id,
            )
        )
        problems = spec_problems(spec)
        for problem in problems:
            self.problem(where, problem)
        return spec if ok and not problems else None

    # fields

    def keys(self, table: dict[str, Any], where: str, allowed: Sequence[str]) -> None:
        for key in table:
            if key in allowed:
                continue
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            self.problem(where, f'unknown key "{key}"{hint}; allowed keys are {", ".join(allowed)}')

    def table(
        self, data: dict[str, Any], key: str, where: str, *, required: bool
    ) -> dict[str, Any] | None:
        value = data.get(key, _MISSING)
        if isinstance(value, _Missing):
            if required:
                self.problem(where, f'required section "[{key}]" is missing')
            return None
        if not isinstance(value, dict):
            self.problem(where, f'"{key}" must be a table of keys, not {_show(value)}')
            return None
        return value

    def array(
        self, data: dict[str, Any], key: str, where: str = ""
    ) -> list[tuple[int, dict[str, Any]]]:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.problem(where, f'"{key}" must be a list of tables ([[{key}]]), not {_show(value)}')
            return []
        tables: list[tuple[int, dict[str, Any]]] = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                tables.append((index, item))
            else:
                self.problem(
                    where, f'entry #{index + 1} of "{key}" must be a table, not {_show(item)}'
                )
        return tables

    def text(
        self,
        table: dict[str, Any],
        key: str,
        where: str,
        *,
        max_len: int,
        default: str | None = None,
    ) -> str | None:
        value = table.get(key, _MISSING)
        if isinstance(value, _Missing):
            if default is None:
                self.problem(where, f'required key "{key}" is missing')
            return default
        if not isinstance(value, str):
            self.problem(where, f'"{key}" must be text in quotes, not {_show(value)}')
            return None
        if default is None and not value.strip():
            self.problem(where, f'"{key}" must not be empty')
            return None
        if len(value) > max_len:
            self.problem(where, f'"{key}" is {len(value)} characters long; the limit is {max_len}')
            return None
        if _CONTROL_RE.search(value):
            self.problem(where, f'"{key}" contains control characters (tab, newline, ...)')
            return None
        return value

    def ident(self, table: dict[str, Any], where: str, kind: str | None) -> str | None:
        value = self.text(table, "id", where, max_len=64)
        if value is None:
            return None
        if not _ID_RE.fullmatch(value):
            self.problem(
                where,
                f'id "{value}" may only contain letters A-Z, digits, ".", "_" and "-", '
                "must start with a letter or digit and be at most 64 characters",
            )
            return None
        if kind is not None:
            seen = self.ids.setdefault(kind, {})
            if value in seen:
                self.problem(where, f'id "{value}" is already used by {seen[value]}')
                return None
            seen[value] = where
        return value

    def date(self, table: dict[str, Any], where: str) -> str | None:
        value = table.get("date", _MISSING)
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value.isoformat()  # an unquoted TOML date
        text = self.text(table, "date", where, max_len=10)
        if text is None:
            return None
        try:
            if not _DATE_RE.fullmatch(text):
                raise ValueError
            dt.date.fromisoformat(text)
        except ValueError:
            self.problem(where, f'date "{text}" is not a real date written as YYYY-MM-DD')
            return None
        return text

    def time(self, table: dict[str, Any], where: str) -> str | _Missing | None:
        value = table.get("start_time", _MISSING)
        if isinstance(value, _Missing):
            return None
        if isinstance(value, dt.time) and value.second == 0 and value.tzinfo is None:
            return value.strftime("%H:%M")  # an unquoted TOML time
        if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
            self.problem(where, f'start_time must be a 24-hour time "HH:MM", not {_show(value)}')
            return _MISSING
        return value

    def integer(
        self, table: dict[str, Any], key: str, where: str, low: int, high: int
    ) -> int | _Missing | None:
        value = table.get(key, _MISSING)
        if isinstance(value, _Missing):
            return None
        if type(value) is not int or not low <= value <= high:
            self.problem(
                where, f'"{key}" must be a whole number from {low} to {high}, not {_show(value)}'
            )
            return _MISSING
        return value

    def choice(
        self, table: dict[str, Any], key: str, where: str, allowed: type[_E]
    ) -> _E | _Missing | None:
        """One of an enum's values; None when absent, _MISSING after a problem."""
        if key not in table:
            return None
        value = self.text(table, key, where, max_len=64)
        if value is None:
            return _MISSING
        try:
            return allowed(value)
        except ValueError:
            names = [member.value for member in allowed]
            hint = _did_you_mean(value, names)
            self.problem(where, f'{key} "{value}" is not one of {", ".join(names)}{hint}')
            return _MISSING

    def flag(
        self, table: dict[str, Any], key: str, where: str, *, default: bool = False
    ) -> bool | None:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem(where, f'"{key}" must be true or false, not {_show(value)}')
            return None
        return value

    def path(self, table: dict[str, Any], where: str) -> str | None:
        value = self.text(table, "file", where, max_len=1000)
        if value is None:
            return None
        reason = _unsafe_zip_name(value)
        parts = value.split("/")
        if not reason and (value.startswith("./") or "" in parts or "." in parts):
            reason = "has empty or '.' folder names"
        if not reason and value in MANIFEST_NAMES:
            reason = "is the manifest"
        if reason:
            self.problem(
                where,
                f'file "{value}" {reason}; write a path relative to the package top level, '
                'like "documents/budget.pdf"',
            )
            return None
        return _nfc(value)


def _label(kind: str, table: dict[str, Any], index: int, parent: str = "") -> str:
    value = table.get("id")
    if isinstance(value, str) and _ID_RE.fullmatch(value):
        return f'{kind} "{value}"'
    position = f"{parent.rsplit('#', 1)[-1]}.{index + 1}" if "#" in parent else str(index + 1)
    return f"{kind} #{position}"


def _did_you_mean(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def _show(value: object) -> str:
    kinds = {bool: "a true/false value", int: "a number", float: "a number", str: "text"}
    kind = kinds.get(type(value))
    if kind is not None:
        shown = json.dumps(value, ensure_ascii=False)
        if len(shown) > 40:
            shown = shown[:37] + "..."
        return f"{kind} {shown}" if kind != "a true/false value" else shown
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


# --- files and PDFs --------------------------------------------------------------------


def _check_files(
    source: _Source, manifest: _Manifest, limits: PackageLimits, report: _Report
) -> tuple[PackageDocument, ...] | None:
    expected = {doc.file for doc in manifest.documents} | set(MANIFEST_NAMES)
    lowered = {name.lower(): name for name in source.entries}
    for name, listed in source.entries.items():
        if listed.readable and name not in expected and not _is_junk(name):
            report.add(
                name,
                "is not listed in [[documents]]; remove it or add a document entry for it",
            )
    documents: list[PackageDocument] = []
    ok = True
    for index, doc in enumerate(manifest.documents):
        entry = source.entries.get(doc.file)
        if entry is None:
            close = lowered.get(doc.file.lower())
            hint = f' (there is "{close}"; names are case-sensitive)' if close else ""
            report.add(doc.file, f"is listed for {doc.where} but is not in the package{hint}")
            ok = False
            continue
        checked = _check_document(source, entry, index, limits, report)
        if checked is None:
            ok = False
            continue
        path, digest, size, pages = checked
        documents.append(
            PackageDocument(
                doc.id, doc.title, doc.file, doc.confidential, digest, size, pages, path
            )
        )
    return tuple(documents) if ok else None


def _check_document(
    source: _Source, entry: _Entry, index: int, limits: PackageLimits, report: _Report
) -> tuple[Path, str, int, int] | None:
    if not entry.readable:
        return None
    if entry.size == 0:
        report.add(entry.name, "is empty (0 bytes)")
        return None
    if entry.size > limits.max_document_bytes:
        report.add(entry.name, _too_big_document(entry.size, limits))
        return None
    materialised = source.materialise(entry, index)
    if materialised is None:
        return None
    path, digest, size = materialised
    if size == 0:
        report.add(entry.name, "is empty (0 bytes)")
        return None
    try:
        pages = count_pdf_pages(path)
    except UnusablePdfError as exc:
        report.add(entry.name, str(exc).replace(str(path), entry.name))
        return None
    if pages < 1:
        report.add(entry.name, "has no pages")
        return None
    if pages > limits.max_pages:
        report.add(entry.name, f"has {pages} pages, more than the limit of {limits.max_pages}")
        return None
    return path, digest, size, pages


class UnusablePdfError(Exception):
    pass


def count_pdf_pages(path: Path) -> int:
    """Page count of a readable, unencrypted PDF whose first page loads."""
    try:
        doc: Any = pymupdf.open(path)  # type: ignore[no-untyped-call]  # PyMuPDF is partly typed
    except Exception as exc:  # MuPDF raises FileDataError, RuntimeError, ValueError, ...
        reason = "it is damaged, truncated or not a PDF" if "Failed to open" in str(exc) else exc
        raise UnusablePdfError(f"is not a readable PDF: {reason}") from exc
    with doc:
        if not doc.is_pdf:
            raise UnusablePdfError("is not a PDF (MuPDF reads it as another file type)")
        if doc.needs_pass or doc.is_encrypted:
            raise UnusablePdfError("is encrypted; remove the password before packaging")
        if doc.is_repaired:  # every tablet would rescan the whole file on each open
            raise UnusablePdfError(
                "is damaged (truncated or badly edited: its cross-reference table is broken); "
                "export it again from the program that made it"
            )
        pages = int(doc.page_count)
        if pages >= 1:
            try:
                doc.load_page(0)
            except Exception as exc:  # a broken page tree surfaces only here
                raise UnusablePdfError(
                    f"is not a readable PDF: first page fails to load: {exc}"
                ) from exc
        return pages
