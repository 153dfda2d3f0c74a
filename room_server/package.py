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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import pymupdf

__all__ = [
    "MANIFEST_NAMES",
    "ROLES",
    "MeetingPackage",
    "PackageAgendaItem",
    "PackageDelegate",
    "PackageDocument",
    "PackageError",
    "PackageLimits",
    "PackageSeat",
    "Problem",
    "open_package",
]

MANIFEST_NAMES = ("meeting.toml", "meeting.json")
FORMAT_VERSION = 1
ROLES = ("chair", "clerk", "delegate", "observer")
MAX_AGENDA_DEPTH = 4
MAX_PLANNED_MINUTES = 1440  # one day
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
        head = f"meeting package {self.path} rejected: {count} problem(s)"
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


_TOP_KEYS = ("format", "meeting", "documents", "agenda", "seats", "delegates")
_MEETING_KEYS = ("id", "title", "date", "location", "start_time")
_DOCUMENT_KEYS = ("id", "file", "title", "confidential")
_AGENDA_KEYS = ("id", "title", "number", "planned_minutes", "documents", "items")
_SEAT_KEYS = ("id", "label")
_DELEGATE_KEYS = ("id", "name", "role", "seat", "group", "pin", "badge")


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


class _Missing:
    pass


_MISSING = _Missing()


class _ManifestReader:
    """Checks the parsed manifest against the schema, reporting problems as it goes."""

    def __init__(self, name: str, report: _Report) -> None:
        self.name = name
        self.report = report
        self.ids: dict[str, dict[str, str]] = {}  # kind -> id -> where first seen

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
            if None not in (delegate_id, name, role, group, seat, pin, badge):
                assert delegate_id is not None and name is not None and role is not None
                assert group is not None
                delegates.append(
                    PackageDelegate(
                        delegate_id, name, role, seat or None, group, pin or None, badge or None
                    )
                )
        return tuple(delegates)

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

    def flag(self, table: dict[str, Any], key: str, where: str) -> bool | None:
        value = table.get(key, False)
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
