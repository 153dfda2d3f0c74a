"""The room display against real room-server processes: a qasync loop for the Qt tests
(the same approach as tests/tablet_client), screenshots and a not-blank check."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import qasync
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget

from kiosk.i18n import set_language
from tests.rooms import timeout
from tests.tablet_client.conftest import until

__all__ = ["SHOTS", "Run", "shot", "until"]

T = TypeVar("T")
Run = Callable[[Coroutine[Any, Any, T]], T]
SHOTS = Path("/tmp/hemicycle-shots")
BODY_TIMEOUT_S = 25.0  # a whole flow with a server restart, not one wait


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    set_language("en")
    yield
    set_language("en")


@pytest.fixture
def run_async(qasync_loop: qasync.QEventLoop) -> Run[Any]:
    """Run a test body on the qasync loop, failing it after BODY_TIMEOUT_S."""

    def run(body: Coroutine[Any, Any, T]) -> T:
        result: T = qasync_loop.run_until_complete(asyncio.wait_for(body, timeout(BODY_TIMEOUT_S)))
        return result

    return run


def not_blank(image: QImage, name: str) -> None:
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 9) for y in range(0, image.height(), 9)
    }
    assert len(colours) > 20, f"{name}: only {len(colours)} colours, the screen looks blank"


async def shot(widget: QWidget, name: str) -> QImage:
    """Save ``widget`` as /tmp/hemicycle-shots/NAME.png and check it is not blank."""
    await asyncio.sleep(0.05)  # let Qt lay out and paint (processEvents here would re-enter)
    pixmap = widget.grab()
    SHOTS.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240  a local directory, once
    assert pixmap.save(str(SHOTS / f"{name}.png"))
    image = pixmap.toImage()
    not_blank(image, name)
    return image
