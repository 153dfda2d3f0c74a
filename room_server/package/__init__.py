"""Meeting packages: read a folder or zip (manifest + PDFs) and validate all of it.

Pure logic plus one PyMuPDF check (``pdf``, and ``drawing``, which draws the few pages
import must see in a child process with a time limit); nothing is stored here. Every problem is
collected and raised together as a ``PackageError``, so IT staff can fix a package in one
pass. May import the standard library, ``room_protocol`` and, in ``pdf`` and ``drawing``
only, PyMuPDF;
callers import from here, not from the modules.

``reading`` (``open_package``) ties the steps together: ``sources`` reads the folder or
zip safely, ``manifest`` parses and checks the manifest with ``fields``, section by
section (``agenda``, ``roster``, ``attendance``, ``polls``), and ``documents`` checks the
files against it. ``contents`` is what a valid package holds.
"""

from room_server.package.contents import (
    MeetingPackage,
    PackageAgendaItem,
    PackageAttendance,
    PackageDelegate,
    PackageDocument,
    PackagePoll,
    PackagePollTemplate,
    PackageProxy,
    PackageSeat,
    SlowPage,
)
from room_server.package.documents import PreparedPdf, prepare_pdf
from room_server.package.limits import PackageLimits
from room_server.package.names import MANIFEST_NAMES
from room_server.package.pdf import UnusablePdfError, count_pdf_pages
from room_server.package.problems import DOCUMENT, PACKAGE, PackageError, Problem
from room_server.package.reading import open_package
from room_server.package.roster import ROLES

__all__ = [
    "DOCUMENT",
    "MANIFEST_NAMES",
    "PACKAGE",
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
    "PreparedPdf",
    "Problem",
    "SlowPage",
    "UnusablePdfError",
    "count_pdf_pages",
    "open_package",
    "prepare_pdf",
]
