"""What is wrong with a package: one ``Problem`` per finding, all raised together.

Validation adds to a ``Report`` as it goes and never stops at the first problem, so IT staff
can fix a package in one pass; ``PackageError`` carries the whole list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Problem:
    file: str  # path inside the package, or the package path itself
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}"


PACKAGE = "meeting package"
DOCUMENT = "document"  # one PDF added to the meeting on its own (room-server add-document)


class PackageError(Exception):
    """Carries every problem found, not just the first; ``what`` was rejected: PACKAGE or
    DOCUMENT."""

    def __init__(self, path: Path, problems: Sequence[Problem], *, what: str = PACKAGE) -> None:
        self.path = path
        self.problems: tuple[Problem, ...] = tuple(problems)
        self.what = what
        super().__init__(str(path), self.problems)

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{self.what} {self.path} rejected; problems found: {count}"
        return "\n".join([head, *(f"  {problem}" for problem in self.problems)])


@dataclass(slots=True)
class Report:
    package: str
    problems: list[Problem] = field(default_factory=list)

    def add(self, file: str, message: str) -> None:
        self.problems.append(Problem(file, message))
