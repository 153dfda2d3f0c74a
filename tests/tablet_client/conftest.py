"""Real PDFs made with PyMuPDF, a qasync loop for Qt tests, and a started PageRenderer.

Qt tests are plain (sync) test functions: pytest-asyncio's auto mode only takes
``async def`` tests, so these drive their own qasync loop with ``run_async``.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pymupdf
import pytest
import qasync

from tablet_client.i18n import set_language
from tablet_client.render import PageRenderer
from tests.rooms import timeout

T = TypeVar("T")
TabletT = TypeVar("TabletT")

A4 = (595.0, 842.0)  # points
# One distinct, saturated colour per page of the small test document, as 0..255 RGB.
PAGE_COLOURS: tuple[tuple[int, int, int], ...] = (
    (200, 30, 30),
    (30, 150, 40),
    (30, 60, 200),
    (220, 160, 20),
    (140, 40, 160),
)
TIMEOUT_S = 10.0  # stretched by HEMICYCLE_TEST_TIMEOUT_FACTOR (tests.rooms.timeout)
# A whole test body: longer than any wait inside it (those say what they waited for), so
# it only ends a body that hangs; the per-test limit (pyproject.toml) is longer still.
BODY_LIMIT_S = 60.0


def make_colour_pdf(path: Path) -> Path:
    """Five A4 pages, each with its own colour band, a big page number and some text."""
    doc = pymupdf.open()
    for index, colour in enumerate(PAGE_COLOURS):
        page = doc.new_page(width=A4[0], height=A4[1])
        fill = tuple(channel / 255 for channel in colour)
        page.draw_rect(pymupdf.Rect(0, 0, A4[0], A4[1] / 2), color=fill, fill=fill)
        page.insert_text((60, 300), f"Page {index + 1}", fontsize=96, color=(1, 1, 1))
        page.insert_textbox(
            pymupdf.Rect(60, 480, A4[0] - 60, A4[1] - 60),
            f"Motion {index + 1}. The assembly notes the report of the committee. " * 8,
            fontsize=14,
        )
    doc.save(path)
    doc.close()
    return path


def make_long_pdf(path: Path, pages: int = 1000) -> Path:
    doc = pymupdf.open()
    for index in range(pages):
        page = doc.new_page(width=A4[0], height=A4[1])
        page.insert_text((72, 100), f"Congress pack, page {index + 1}", fontsize=28)
    doc.save(path)
    doc.close()
    return path


def make_heavy_pdf(path: Path, paths: int = 20_000, *, seed: int = 7) -> Path:
    """Page 1 is a "plan": ``paths`` random thin two-segment lines, seconds to draw at
    screen width (20,000: ~5 s at 1920 px, ~0.6 s at 100 px on a 2-CPU box); page 2 is
    an ordinary page of text."""
    rnd = random.Random(seed)
    doc = pymupdf.open()
    plan = doc.new_page(width=A4[0], height=A4[1])
    plan.insert_text((72, 72), "Site plan", fontsize=30)
    ops = ["0.2 w"]
    for _ in range(paths):
        x, y = rnd.uniform(0, A4[0]), rnd.uniform(0, A4[1])
        a, b, c, d = (rnd.uniform(-80, 80) for _ in range(4))
        ops.append(f"{x:.1f} {y:.1f} m {x + a:.1f} {y + b:.1f} l {x + c:.1f} {y + d:.1f} l S")
    xref = plan.get_contents()[0]
    doc.update_stream(xref, ("\n".join(ops) + "\n").encode() + doc.xref_stream(xref))
    doc.new_page(width=A4[0], height=A4[1]).insert_text((72, 100), "Notes", fontsize=28)
    doc.save(path, deflate=True)
    doc.close()
    return path


@pytest.fixture(scope="session")
def pdf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pdfs")


@pytest.fixture(scope="session")
def colour_pdf(pdf_dir: Path) -> Path:
    return make_colour_pdf(pdf_dir / "colours.pdf")


@pytest.fixture(scope="session")
def long_pdf(pdf_dir: Path) -> Path:
    return make_long_pdf(pdf_dir / "congress-pack.pdf")


@pytest.fixture(scope="session")
def heavy_pdf(pdf_dir: Path) -> Path:
    return make_heavy_pdf(pdf_dir / "site-plan.pdf")


@pytest.fixture(scope="session")
def corrupt_pdf(pdf_dir: Path) -> Path:
    path = pdf_dir / "corrupt.pdf"
    path.write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog garbage\n")
    return path


@pytest.fixture(scope="session")
def encrypted_pdf(pdf_dir: Path) -> Path:
    path = pdf_dir / "encrypted.pdf"
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Confidential")
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="seat", owner_pw="clerk")
    doc.close()
    return path


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("en")


# --- Qt + qasync ---------------------------------------------------------------------

_to_stop: list[Any] = []  # TabletControllers made by the running test


def stopped_after_the_test(tablet: TabletT) -> TabletT:
    """Stop this TabletController when the test ends, even when it fails: a tablet left
    running keeps its timers, language listener and connection, and raises into every
    later Qt test once its widgets are gone."""
    if tablet not in _to_stop:
        _to_stop.append(tablet)
    return tablet


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> Iterator[None]:
    """Stop the test's tablets before pytest-qt closes their windows (it does that before
    any fixture's teardown), then tear down as usual; a failure to stop is reported after."""
    made = list(_to_stop)
    _to_stop.clear()
    failure: BaseException | None = None
    if made:  # they run on the module's qasync loop (qasync_loop), still current here
        loop = asyncio.get_event_loop_policy().get_event_loop()
        for tablet in made:
            try:
                loop.run_until_complete(asyncio.wait_for(tablet.stop(), timeout(TIMEOUT_S)))
            except Exception as exc:  # reported once the fixtures are down
                failure = failure or exc
    yield
    if failure is not None:
        raise failure


@pytest.fixture
def run_async(
    qasync_loop: qasync.QEventLoop,
) -> Callable[[Coroutine[Any, Any, T]], T]:
    """Run a test body on the qasync loop, failing it after BODY_LIMIT_S (times the factor)."""

    def run(body: Coroutine[Any, Any, T]) -> T:
        result: T = qasync_loop.run_until_complete(asyncio.wait_for(body, timeout(BODY_LIMIT_S)))
        return result

    return run


async def until(condition: Callable[[], bool], what: str, limit_s: float = TIMEOUT_S) -> float:
    """Poll ``condition`` on the running loop for up to ``limit_s`` (times the timeout
    factor); returns the seconds it took."""
    limit_s = timeout(limit_s)
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > limit_s:
            raise AssertionError(f"timed out after {limit_s:g} s waiting for {what}")
        await asyncio.sleep(0.005)
    return time.perf_counter() - start


@pytest.fixture
def wait_until() -> Callable[..., Coroutine[Any, Any, float]]:
    return until


@pytest.fixture(scope="module")
def qt_renderer(qasync_loop: qasync.QEventLoop) -> Iterator[PageRenderer]:
    """A warmed PageRenderer shared by a module's Qt tests (one worker spawn per module)."""
    renderer = PageRenderer(cache_bytes=128 * 1024 * 1024)
    renderer.start()
    yield renderer
    qasync_loop.run_until_complete(renderer.close())


# --- a tablet UI fed by the test (attendance and voting) -------------------------------


@pytest.fixture(scope="session")
def fed_room(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The state directory of a room that never runs: its CA enrolls the fed tablets'
    devices, so they can build a RoomConnection (which never connects)."""
    from tests.rooms import offline_room

    return offline_room(tmp_path_factory.mktemp("fed-room"))


@pytest.fixture
def fed(
    qtbot: Any, tmp_path: Path, fed_room: Path, qasync_loop: qasync.QEventLoop
) -> Iterator[Callable[..., Any]]:
    """Make FedTablets (tests.tablet_client.fed); each is stopped after the test."""
    from tests.tablet_client.fed import FedTablet

    made: list[FedTablet] = []

    def make(name: str = "fed") -> FedTablet:
        from tests.rooms import enroll_device

        tablet = FedTablet(qtbot, tmp_path, enroll_device(fed_room, name), name)
        stopped_after_the_test(tablet.tablet)  # before pytest-qt closes its window
        made.append(tablet)
        return tablet

    yield make
    for tablet in made:
        qasync_loop.run_until_complete(tablet.close())
