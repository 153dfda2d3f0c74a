"""What files a package holds, and how to get their bytes safely: a folder or a zip.

Each entry is checked before anything is read: path tricks (absolute, ``..``, backslashes,
drive letters), symlinks, devices, duplicates, passwords, sizes and zip bombs. Zip entries
are extracted only on request, with sizes enforced while streaming, into a given directory.
"""

from __future__ import annotations

import hashlib
import os
import stat
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from room_server.package.limits import (
    MAX_MANIFEST_BYTES,
    RATIO_FLOOR_BYTES,
    PackageLimits,
    mib,
    too_big_document,
    too_big_package,
)
from room_server.package.names import is_junk, nfc, unsafe_zip_name
from room_server.package.problems import Report

_CHUNK = 1024 * 1024
_S_IFLNK = 0o120000


@dataclass(frozen=True, slots=True)
class Entry:
    name: str  # POSIX path inside the package, NFC
    size: int  # bytes; declared size for zip entries
    readable: bool  # passed the safety checks, may be read


class Source:
    entries: dict[str, Entry]
    report: Report

    def read_manifest(self, entry: Entry) -> bytes | None:
        raise NotImplementedError

    def materialise(self, entry: Entry, index: int) -> tuple[Path, str, int] | None:
        """Path, sha256 and size of the entry's bytes, or None after reporting why not."""
        raise NotImplementedError


class FolderSource(Source):
    def __init__(self, root: Path, limits: PackageLimits, report: Report) -> None:
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
                rel = nfc(full.relative_to(self.root).as_posix())
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
                    self.entries[rel] = Entry(rel, 0, readable=False)
                    continue
                if len(self.entries) >= self.limits.max_files:
                    self.report.add(
                        self.report.package,
                        f"holds more than {self.limits.max_files} files; split the meeting "
                        "or remove files that are not documents",
                    )
                    return
                total += info.st_size
                self.entries[rel] = Entry(rel, info.st_size, readable=True)
                self._paths[rel] = full
        if total > self.limits.max_package_bytes:
            self.report.add(self.report.package, too_big_package(total, self.limits))

    def read_manifest(self, entry: Entry) -> bytes | None:
        try:
            with _open_no_follow(self._paths[entry.name]) as stream:
                return _read_capped(stream, entry.name, self.report)
        except OSError as exc:
            self.report.add(entry.name, f"cannot be read: {exc.strerror}")
            return None

    def materialise(self, entry: Entry, index: int) -> tuple[Path, str, int] | None:
        source = self._paths[entry.name]
        try:
            with _open_no_follow(source) as stream:
                digest, size = _hash_stream(stream, None, self.limits.max_document_bytes)
        except OSError as exc:
            self.report.add(entry.name, f"cannot be read: {exc.strerror}")
            return None
        if size > self.limits.max_document_bytes:
            self.report.add(entry.name, too_big_document(size, self.limits))
            return None
        return source, digest, size


def _open_no_follow(path: Path) -> IO[bytes]:
    # a symlink swapped in after the scan must not be followed
    return open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NOFOLLOW))


class ZipSource(Source):
    def __init__(self, path: Path, tmp: Path, limits: PackageLimits, report: Report) -> None:
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

    def __enter__(self) -> ZipSource:
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
        seen: Counter[str] = Counter(nfc(info.filename) for info in infos)
        total = 0
        for info in infos:
            name = nfc(info.filename)
            unsafe = unsafe_zip_name(info.filename)
            if unsafe:
                report.add(name, f"{unsafe}; the zip entry was not extracted")
                continue
            if info.is_dir():
                continue
            if (info.external_attr >> 16) & 0o170000 == _S_IFLNK:
                report.add(name, "is a symbolic link; packages must contain real files")
                self.entries.setdefault(name, Entry(name, 0, readable=False))
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
            if info.file_size > limits.max_document_bytes and not is_junk(name):
                report.add(name, too_big_document(info.file_size, limits))
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
                self.entries[name] = Entry(name, info.file_size, readable)
                self._infos[name] = info
        if total > limits.max_package_bytes:
            report.add(report.package, too_big_package(total, limits))

    def read_manifest(self, entry: Entry) -> bytes | None:
        if self._zip is None or not entry.readable:
            return None
        try:
            with self._zip.open(self._infos[entry.name]) as stream:
                return _read_capped(stream, entry.name, self.report)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
            self.report.add(entry.name, f"cannot be read from the zip: {exc}")
            return None

    def materialise(self, entry: Entry, index: int) -> tuple[Path, str, int] | None:
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


def _read_capped(stream: IO[bytes], name: str, report: Report) -> bytes | None:
    data = stream.read(MAX_MANIFEST_BYTES + 1)
    if len(data) > MAX_MANIFEST_BYTES:
        report.add(name, f"is larger than {mib(MAX_MANIFEST_BYTES)}; is it really a manifest?")
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


def _symlink_message(link: Path, root: Path) -> str:
    try:
        target = link.resolve()
    except (OSError, RuntimeError):
        return "is a broken or looping symbolic link; packages must contain real files"
    if not target.is_relative_to(root):
        return "is a symbolic link pointing outside the package; copy the real file in"
    return "is a symbolic link; packages must contain real files"
