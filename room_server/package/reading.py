"""``open_package``: the one way in. Reads a folder or zip, checks the manifest and every
file, and yields a ``MeetingPackage`` or raises ``PackageError`` listing every problem."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from room_server.package.contents import MeetingPackage
from room_server.package.documents import check_files
from room_server.package.limits import PackageLimits
from room_server.package.manifest import check_manifest, find_manifest, parse_manifest
from room_server.package.problems import PackageError, Report
from room_server.package.sources import FolderSource, Source, ZipSource

_LIMITS = PackageLimits()  # frozen, so one shared default is safe


@contextmanager
def open_package(path: Path, limits: PackageLimits = _LIMITS) -> Iterator[MeetingPackage]:
    """Read and validate everything; raise PackageError listing every problem.

    For a zip, every entry is checked first (absolute paths, ``..`` components, backslashes
    and drive letters, symlinks, duplicate names, sizes, compression ratio, count); then
    only the referenced files are extracted, with sizes enforced while streaming, into a
    temporary directory that is removed on exit. For a folder, symlinks and anything
    outside the folder are rejected. Nothing is written outside the temporary directory.
    """
    report = Report(str(path))
    if path.is_dir():
        with tempfile.TemporaryDirectory(prefix="hemicycle-package-") as tmp:
            package = _read(FolderSource(path, limits, report), limits, report, Path(tmp))
            if report.problems or package is None:
                raise PackageError(path, report.problems)
            yield package
    elif path.is_file() and zipfile.is_zipfile(path):
        with (
            tempfile.TemporaryDirectory(prefix="hemicycle-package-") as tmp,
            ZipSource(path, Path(tmp), limits, report) as source,
        ):
            package = _read(source, limits, report, Path(tmp)) if source.opened else None
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


def _read(
    source: Source, limits: PackageLimits, report: Report, scratch: Path
) -> MeetingPackage | None:
    manifest_entry = find_manifest(source, report)
    if manifest_entry is None or not manifest_entry.readable:
        return None
    manifest_name = manifest_entry.name
    raw = source.read_manifest(manifest_entry)
    if raw is None:
        return None
    data = parse_manifest(manifest_name, raw, report)
    if data is None:
        return None
    manifest = check_manifest(manifest_name, data, report)
    documents = check_files(source, manifest, limits, report, scratch)
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
