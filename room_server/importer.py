"""Load a validated meeting package into the store: documents first, then one transaction.

Nothing is written until :func:`room_server.package.open_package` has accepted the whole
package. Document files are written content-addressed (``documents/ab/<sha256>.pdf``),
fsynced and renamed into place; the database rows follow in a single transaction. If
that transaction fails, the files this import created are removed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from room_protocol.codec import MAX_MESSAGE_BYTES, encode, record_to_json
from room_protocol.messages import MeetingState
from room_protocol.voting import Poll, PollsState, PollState
from room_server.credentials import Credentials, load_or_create_secret
from room_server.package import (
    DOCUMENT,
    MeetingPackage,
    PackageAgendaItem,
    PackageError,
    PackageLimits,
    PreparedPdf,
    Problem,
    SlowPage,
    UnusablePdfError,
    open_package,
    prepare_pdf,
)
from room_server.store import KEY_ACTIVE_MEETING, Store, utc_now

Progress = Callable[[str, int, int], None]  # (what, done, total)
_COPY_BUFFER = 1024 * 1024
_PROXY_SOURCE = "package"  # as opposed to "clerk": given during the session


@dataclass(frozen=True, slots=True)
class ImportReport:
    meeting_id: str
    title: str
    documents: int
    new_documents: int
    agenda_items: int
    delegates: int
    replaced: bool
    revision: int
    # documents stored without their active content: (file, title, ((kind, places), ...))
    stripped: tuple[tuple[str, str, tuple[tuple[str, int], ...]], ...] = ()
    repaired: tuple[tuple[str, str], ...] = ()  # (file, title): stored re-saved
    slow: tuple[tuple[str, str, tuple[SlowPage, ...]], ...] = ()  # (file, title, pages)


def import_package(
    store: Store,
    path: Path,
    *,
    limits: PackageLimits | None = None,
    activate: bool = True,
    progress: Progress | None = None,
    max_state_bytes: int = MAX_MESSAGE_BYTES,
) -> ImportReport:
    """Validate ``path`` completely, then store it; raise PackageError and store nothing."""
    with open_package(path, limits or PackageLimits()) as package:
        created = _store_documents(store, package, progress)
        try:
            return _store_rows(
                store,
                package,
                path,
                activate=activate,
                new_documents=len(created),
                max_state_bytes=max_state_bytes,
            )
        except BaseException:
            for blob in created:
                blob.unlink(missing_ok=True)
            raise


def _store_documents(
    store: Store, package: MeetingPackage, progress: Progress | None
) -> list[Path]:
    created: list[Path] = []
    total = len(package.documents)
    try:
        for done, doc in enumerate(package.documents, start=1):
            target = store.blob_path(doc.sha256)
            if not target.exists():
                _write_blob(doc.source, target, doc.sha256)
                created.append(target)
            if progress:
                progress(doc.file, done, total)
    except BaseException:
        for blob in created:
            blob.unlink(missing_ok=True)
        raise
    return created


def _write_blob(source: Path, target: Path, sha256: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    digest = hashlib.sha256()
    try:
        with source.open("rb") as src, tmp.open("wb") as dst:
            while block := src.read(_COPY_BUFFER):
                digest.update(block)
                dst.write(block)
            dst.flush()
            os.fsync(dst.fileno())
        if digest.hexdigest() != sha256:
            raise OSError(f"{source} changed while it was being imported")
        tmp.replace(target)
        _fsync_dir(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _walk(
    items: tuple[PackageAgendaItem, ...], parent: str | None = None
) -> Iterator[tuple[str | None, PackageAgendaItem]]:
    for item in items:
        yield parent, item
        yield from _walk(item.children, item.id)


def _store_rows(
    store: Store,
    package: MeetingPackage,
    path: Path,
    *,
    activate: bool,
    new_documents: int,
    max_state_bytes: int,
) -> ImportReport:
    mid = package.meeting_id
    agenda = list(_walk(package.agenda))
    with store.transaction() as db:
        replaced = store.conn.execute(
            "SELECT current_item_id FROM meetings WHERE id = ?", (mid,)
        ).fetchone()
        _check_no_polls_opened(store, package, path)
        item_ids = {item.id for _parent, item in agenda}
        current = replaced[0] if replaced and replaced[0] in item_ids else None
        # A re-imported package is an amended agenda: replace the meeting's rows wholesale,
        # keeping what the session already did to the items that are still there.
        progress_kept = store.conn.execute(
            "SELECT done, actual_seconds, id FROM agenda_items WHERE meeting_id = ?", (mid,)
        ).fetchall()
        started = store.conn.execute(
            "SELECT current_started_ts FROM meetings WHERE id = ?", (mid,)
        ).fetchone()
        db.execute("DELETE FROM meetings WHERE id = ?", [mid])
        # Not cascaded: the package's proxies, templates and (draft) polls are replaced too.
        # Attendance events, ballots and the audit log of the session are kept.
        for table in ("proxies", "poll_templates", "polls"):  # fixed names, not input
            db.execute(f"DELETE FROM {table} WHERE meeting_id = ?", [mid])  # noqa: S608
        now = utc_now()
        db.table("blobs").insert_all(
            (
                {"sha256": d.sha256, "size": d.size, "pages": d.pages, "stored_at": now}
                for d in package.documents
            ),
            ignore=True,
        )
        db.table("meetings").insert(
            {
                "id": mid,
                "title": package.title,
                "date": package.date,
                "location": package.location,
                "start_time": package.start_time,
                "manifest_name": package.manifest_name,
                "imported_at": now,
                "current_item_id": current,
                "attendance": _attendance_json(package),
            }
        )
        db.table("documents").insert_all(
            {
                "meeting_id": mid,
                "id": d.id,
                "position": i,
                "sha256": d.sha256,
                "title": d.title,
                "filename": Path(d.file).name,
                "confidential": int(d.confidential),
                "readers": (
                    json.dumps({"members": list(d.members), "roles": list(d.roles)})
                    if d.members or d.roles
                    else None
                ),
            }
            for i, d in enumerate(package.documents)
        )
        db.table("agenda_items").insert_all(
            {
                "meeting_id": mid,
                "id": item.id,
                "parent_id": parent,
                "position": i,
                "number": item.number,
                "title": item.title,
                "planned_minutes": item.planned_minutes,
            }
            for i, (parent, item) in enumerate(agenda)
        )
        store.conn.executemany(
            "UPDATE agenda_items SET done = ?, actual_seconds = ? WHERE meeting_id = ? AND id = ?",
            [(done, actual, mid, item_id) for done, actual, item_id in progress_kept],
        )
        if current is not None and started is not None:
            store.conn.execute(
                "UPDATE meetings SET current_started_ts = ? WHERE id = ?", (started[0], mid)
            )
        db.table("agenda_documents").insert_all(
            {"meeting_id": mid, "item_id": item.id, "document_id": doc_id, "position": i}
            for _parent, item in agenda
            for i, doc_id in enumerate(item.documents)
        )
        db.table("seats").insert_all(
            {"meeting_id": mid, "id": s.id, "label": s.label, "position": i}
            for i, s in enumerate(package.seats)
        )
        credentials = Credentials(load_or_create_secret(store.secret_file))
        db.table("delegates").insert_all(
            {
                "meeting_id": mid,
                "id": p.id,
                "name": p.name,
                "role": p.role,
                "seat_id": p.seat,
                "group_name": p.group,
                "position": i,
                "pin_hash": credentials.pin_hash(mid, p.id, p.pin) if p.pin else None,
                "badge_hash": credentials.badge_hash(mid, p.badge) if p.badge else None,
                "voting": int(p.voting),
                "weight": p.weight,
            }
            for i, p in enumerate(package.delegates)
        )
        # A re-imported meeting keeps its members' keys: their tablets' caches stay readable.
        db.table("cache_keys").insert_all(
            (
                {"meeting_id": mid, "delegate_id": p.id, "key": secrets.token_bytes(32)}
                for p in package.delegates
            ),
            ignore=True,
        )
        db.table("proxies").insert_all(
            {
                "meeting_id": mid,
                "giver_id": proxy.giver,
                "holder_id": proxy.holder,
                "source": _PROXY_SOURCE,
                "granted_at": now,
            }
            for proxy in package.proxies
        )
        db.table("poll_templates").insert_all(
            {"meeting_id": mid, "id": t.id, "spec": record_to_json(t.spec), "position": i}
            for i, t in enumerate(package.poll_templates)
        )
        db.table("polls").insert_all(
            {
                "meeting_id": mid,
                "id": poll.id,
                "position": i,
                "spec": record_to_json(poll.spec),
                "state": PollState.DRAFT.value,
                "created_by": None,
            }
            for i, poll in enumerate(package.polls)
        )
        if activate:
            store.set_meta(KEY_ACTIVE_MEETING, mid)
        revision = store.bump_revision()
        if activate:
            _check_fits_one_message(store, package, path, max_state_bytes)
    return ImportReport(
        meeting_id=mid,
        title=package.title,
        documents=len(package.documents),
        new_documents=new_documents,
        agenda_items=len(agenda),
        delegates=len(package.delegates),
        replaced=replaced is not None,
        revision=revision,
        stripped=tuple((d.file, d.title, d.removed) for d in package.documents if d.removed),
        repaired=tuple((d.file, d.title) for d in package.documents if d.repaired),
        slow=tuple((d.file, d.title, d.slow_pages) for d in package.documents if d.slow_pages),
    )


def in_session(store: Store) -> tuple[str, str] | None:
    """The current meeting while it is in session: its id and title. In session = current,
    not closed, and begun: a member checked in, an agenda item started, a poll opened or a
    speech given. None when no meeting is (a meeting only prepared may be replaced)."""
    meeting_id = store.active_meeting_id()
    if meeting_id is None:
        return None
    row = store.conn.execute(
        "SELECT title, closed_at, current_started_ts FROM meetings WHERE id = ?", (meeting_id,)
    ).fetchone()
    if row is None or row[1] is not None:
        return None
    begun = row[2] is not None or any(
        store.conn.execute(sql, (meeting_id,)).fetchone() is not None
        for sql in (
            "SELECT 1 FROM attendance_events WHERE meeting_id = ? LIMIT 1",
            "SELECT 1 FROM polls WHERE meeting_id = ? AND state != 'draft' LIMIT 1",
            "SELECT 1 FROM speeches WHERE meeting_id = ? LIMIT 1",
        )
    )
    return (meeting_id, str(row[0])) if begun else None


class NotActivated(ValueError):
    """A meeting that cannot be made current, and why."""


def activate_meeting(
    store: Store, meeting_id: str, *, force: bool = False, max_state_bytes: int = MAX_MESSAGE_BYTES
) -> int:
    """Make an imported meeting the current one (a running server picks it up); the new
    revision. Refused while another meeting is in session, unless ``force``."""
    with store.transaction():
        if (
            store.conn.execute("SELECT 1 FROM meetings WHERE id = ?", (meeting_id,)).fetchone()
            is None
        ):
            raise NotActivated(
                f"no meeting {meeting_id!r} in this room (room-server status lists them)"
            )
        session = in_session(store)
        if session is not None and session[0] != meeting_id and not force:
            raise NotActivated(
                f"meeting {session[0]!r} ({session[1]}) is in session: close it first, or "
                "use --force to switch the room's tablets to another meeting now"
            )
        store.set_meta(KEY_ACTIVE_MEETING, meeting_id)
        size = len(encode(MeetingState(store.snapshot())).encode("utf-8"))
        if size > max_state_bytes:
            raise NotActivated(
                f"meeting {meeting_id!r} is too large for tablets: its state is {size} bytes, "
                f"more than {max_state_bytes}"
            )
        return store.bump_revision()


def remove_orphan_tempfiles(documents_dir: Path) -> int:
    """Temp files left by an import that was killed mid-copy; safe to delete at start."""
    removed = 0
    if documents_dir.is_dir():
        for tmp in documents_dir.glob("*/.*.tmp"):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


__all__ = [
    "ImportReport",
    "LateDocument",
    "NotActivated",
    "activate_meeting",
    "add_document",
    "import_package",
    "in_session",
    "remove_orphan_tempfiles",
]


def _check_fits_one_message(store: Store, package: MeetingPackage, path: Path, limit: int) -> None:
    """Tablets receive the meeting, and its polls, as one message each: refuse a package
    too large for that."""
    size = len(encode(MeetingState(store.snapshot())).encode("utf-8"))
    polls = PollsState(
        polls=tuple(Poll(p.id, p.spec, PollState.DRAFT) for p in package.polls),
        templates=tuple(t.id for t in package.poll_templates),
    )
    polls_size = len(encode(polls).encode("utf-8"))
    problems = []
    if size > limit:
        problems.append(
            Problem(
                package.manifest_name,
                f"the agenda and document list take {size} bytes, more than the "
                f"{limit} bytes a tablet accepts in one message; "
                "split the meeting or shorten titles",
            )
        )
    if polls_size > limit:
        problems.append(
            Problem(
                package.manifest_name,
                f"the polls take {polls_size} bytes, more than the {limit} bytes a tablet "
                "accepts in one message; prepare fewer polls or shorten titles and options",
            )
        )
    if problems:
        raise PackageError(path, problems)


def _check_no_polls_opened(store: Store, package: MeetingPackage, path: Path) -> None:
    """A meeting whose polls were opened has ballots and results tied to its roster and
    polls: replacing them would falsify the record. So would replacing a closed meeting."""
    closed = store.conn.execute(
        "SELECT closed_at FROM meetings WHERE id = ? AND closed_at IS NOT NULL",
        (package.meeting_id,),
    ).fetchone()
    if closed:
        raise PackageError(
            path,
            [
                Problem(
                    package.manifest_name,
                    f'meeting "{package.meeting_id}" was closed at {closed[0]}; '
                    "import it under a new meeting id",
                )
            ],
        )
    opened = store.conn.execute(
        "SELECT count(*) FROM polls WHERE meeting_id = ? AND state != ?",
        (package.meeting_id, PollState.DRAFT.value),
    ).fetchone()[0]
    if opened:
        raise PackageError(
            path,
            [
                Problem(
                    package.manifest_name,
                    f'meeting "{package.meeting_id}" already has polls that were opened; '
                    "import it under a new meeting id",
                )
            ],
        )


def _attendance_json(package: MeetingPackage) -> str:
    rules = package.attendance
    return json.dumps(
        {
            "seating": rules.seating.value,
            "quorum": rules.quorum.value,
            "quorum_count": rules.quorum_count,
            "proxies_count": rules.proxies_count,
            "max_proxies": rules.max_proxies,
            "badge_and_pin": rules.badge_and_pin,
        },
        separators=(",", ":"),
    )


@dataclass(frozen=True, slots=True)
class LateDocument:
    sha256: str
    title: str
    pages: int
    item_number: str
    revision: int
    removed: tuple[tuple[str, int], ...] = ()  # active content stripped: (kind, places)
    repaired: bool = False  # its cross-reference table was rebuilt; stored re-saved
    slow_pages: tuple[SlowPage, ...] = ()


def _check_late_document(
    store: Store, pdf: Path, item_id: str, limits: PackageLimits, scratch: Path
) -> tuple[list[Problem], PreparedPdf | None]:
    """Every problem with adding ``pdf`` now, and the PDF as it would be stored."""
    problems: list[Problem] = []
    prepared = None
    try:
        size = pdf.stat().st_size
    except OSError as exc:
        problems.append(Problem(pdf.name, f"cannot be read: {exc.strerror}"))
        size = None
    if size is not None and (size == 0 or size > limits.max_document_bytes):
        problems.append(
            Problem(
                pdf.name,
                f"is {size} bytes; documents must be 1 byte to {limits.max_document_bytes} bytes",
            )
        )
    elif size is not None:
        try:
            prepared = prepare_pdf(pdf, scratch / "clean.pdf", limits)
        except UnusablePdfError as exc:
            problems.append(Problem(pdf.name, str(exc)))
        except OSError as exc:
            problems.append(Problem(pdf.name, f"cannot be read: {exc.strerror or exc}"))
    meeting_id = store.active_meeting_id()
    if meeting_id is None:
        problems.append(Problem(pdf.name, "no meeting is loaded in this room"))
        return problems, prepared
    if (
        store.row("SELECT 1 FROM agenda_items WHERE meeting_id = ? AND id = ?", meeting_id, item_id)
        is None
    ):
        problems.append(Problem(pdf.name, f"agenda item {item_id!r} is not in the meeting"))
    closed = store.row("SELECT closed_at FROM meetings WHERE id = ?", meeting_id)
    if closed is not None and closed["closed_at"] is not None:
        problems.append(Problem(pdf.name, "the meeting is closed: it takes no more documents"))
    return problems, prepared


def add_document(
    store: Store,
    pdf: Path,
    *,
    item_id: str,
    title: str | None = None,
    confidential: bool = False,
    limits: PackageLimits | None = None,
) -> LateDocument:
    """Add a late document to the current meeting and attach it to ``item_id``; tablets
    see it at once with a notice. The PDF is checked as strictly as in a package."""
    limits = limits or PackageLimits()
    with tempfile.TemporaryDirectory(prefix="hemicycle-document-") as scratch:
        problems, prepared = _check_late_document(store, pdf, item_id, limits, Path(scratch))
        meeting_id = store.active_meeting_id()
        item = (
            store.row(
                "SELECT number, title FROM agenda_items WHERE meeting_id = ? AND id = ?",
                meeting_id,
                item_id,
            )
            if meeting_id is not None
            else None
        )
        if problems or prepared is None or meeting_id is None or item is None:
            raise PackageError(pdf, problems, what=DOCUMENT)
        digest, size, pages = prepared.sha256, prepared.size, prepared.pages
        target = store.blob_path(digest)
        created = not target.exists()
        if created:
            _write_blob(prepared.source, target, digest)
    title = title or pdf.stem
    try:
        with store.transaction() as db:
            db.table("blobs").insert(
                {"sha256": digest, "size": size, "pages": pages, "stored_at": utc_now()},
                ignore=True,
            )
            doc_id = "late-" + digest[:12]
            db.execute(
                "INSERT OR IGNORE INTO documents (meeting_id, id, position, sha256, title, "
                "filename, confidential) VALUES (?, ?, (SELECT coalesce(max(position), -1) + 1 "
                "FROM documents WHERE meeting_id = ?), ?, ?, ?, ?)",
                [meeting_id, doc_id, meeting_id, digest, title, pdf.name, int(confidential)],
            )
            db.execute(
                "INSERT OR IGNORE INTO agenda_documents (meeting_id, item_id, document_id, "
                "position) VALUES (?, ?, ?, (SELECT coalesce(max(position), -1) + 1 FROM "
                "agenda_documents WHERE meeting_id = ? AND item_id = ?))",
                [meeting_id, item_id, doc_id, meeting_id, item_id],
            )
            db.execute(
                "INSERT INTO notices (meeting_id, id, text, at, sha256, item_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    meeting_id,
                    "n-" + digest[:8] + "-" + secrets.token_hex(4),  # the same PDF may come twice
                    f"New document: {title} (item {item['number']} {item['title']})",
                    utc_now(),
                    digest,
                    item_id,
                ],
            )
            revision = store.bump_revision()
    except BaseException:
        if created:
            target.unlink(missing_ok=True)
        raise
    return LateDocument(
        digest,
        title,
        pages,
        item["number"],
        revision,
        prepared.removed,
        prepared.repaired,
        prepared.slow_pages,
    )
