"""The drills' two forms and their seeded randomness."""

from __future__ import annotations

import os
import random
import secrets
from typing import TypeVar

import pytest

from tests.rooms import timeout

LONG = os.environ.get("HEMICYCLE_DRILLS", "short").strip().lower() == "long"

T = TypeVar("T")


def sized(short: T, long: T) -> T:
    """``short`` in ``make test``, ``long`` when HEMICYCLE_DRILLS=long."""
    return long if LONG else short


def seeded(drill: str) -> random.Random:
    """A random generator whose seed is printed (shown by pytest when the drill fails);
    HEMICYCLE_DRILL_SEED replays a run."""
    given = os.environ.get("HEMICYCLE_DRILL_SEED")
    seed = int(given) if given else secrets.randbits(32)
    form = "long" if LONG else "short"
    print(f"{drill}: seed {seed} (HEMICYCLE_DRILL_SEED={seed} replays it), {form} form")
    return random.Random(seed)


def drill_marks() -> list[pytest.MarkDecorator]:
    """A drill module's marks: ``drill``, and in the long form a limit of its own (the
    suite's 120 s per test is for the short form)."""
    marks = [pytest.mark.drill]
    if LONG:
        marks.append(pytest.mark.timeout(timeout(1_800)))
    return marks
