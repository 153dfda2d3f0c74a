"""Reading a parsed manifest one field at a time.

``FieldReader`` has a typed getter per kind of value (text, id, date, number, choice, flag,
file path, table, list of tables); each reports what is wrong in the manifest's words and
returns None (or ``MISSING``), so the section readers can go on and find every problem.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Iterable, Sequence
from enum import StrEnum
from typing import Any, TypeVar

from room_server.package.names import CONTROL_RE, MANIFEST_NAMES, nfc, unsafe_zip_name
from room_server.package.problems import Report

ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_TIME_RE = re.compile(r"([01][0-9]|2[0-3]):[0-5][0-9]")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_E = TypeVar("_E", bound=StrEnum)


class Missing:
    pass


MISSING = Missing()


class FieldReader:
    """Checks values of the parsed manifest, reporting problems as it goes."""

    def __init__(self, name: str, report: Report) -> None:
        self.name = name
        self.report = report
        self.ids: dict[str, dict[str, str]] = {}  # kind -> id -> where first seen

    def problem(self, where: str, message: str) -> None:
        self.report.add(self.name, f"{where}: {message}" if where else message)

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
        value = data.get(key, MISSING)
        if isinstance(value, Missing):
            if required:
                self.problem(where, f'required section "[{key}]" is missing')
            return None
        if not isinstance(value, dict):
            self.problem(where, f'"{key}" must be a table of keys, not {show(value)}')
            return None
        return value

    def array(
        self, data: dict[str, Any], key: str, where: str = ""
    ) -> list[tuple[int, dict[str, Any]]]:
        value = data.get(key, [])
        if not isinstance(value, list):
            self.problem(where, f'"{key}" must be a list of tables ([[{key}]]), not {show(value)}')
            return []
        tables: list[tuple[int, dict[str, Any]]] = []
        for index, item in enumerate(value):
            if isinstance(item, dict):
                tables.append((index, item))
            else:
                self.problem(
                    where, f'entry #{index + 1} of "{key}" must be a table, not {show(item)}'
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
        value = table.get(key, MISSING)
        if isinstance(value, Missing):
            if default is None:
                self.problem(where, f'required key "{key}" is missing')
            return default
        if not isinstance(value, str):
            self.problem(where, f'"{key}" must be text in quotes, not {show(value)}')
            return None
        if default is None and not value.strip():
            self.problem(where, f'"{key}" must not be empty')
            return None
        if len(value) > max_len:
            self.problem(where, f'"{key}" is {len(value)} characters long; the limit is {max_len}')
            return None
        if CONTROL_RE.search(value):
            self.problem(where, f'"{key}" contains control characters (tab, newline, ...)')
            return None
        return value

    def ident(self, table: dict[str, Any], where: str, kind: str | None) -> str | None:
        value = self.text(table, "id", where, max_len=64)
        if value is None:
            return None
        if not ID_RE.fullmatch(value):
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
        value = table.get("date", MISSING)
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

    def time(self, table: dict[str, Any], where: str) -> str | Missing | None:
        value = table.get("start_time", MISSING)
        if isinstance(value, Missing):
            return None
        if isinstance(value, dt.time) and value.second == 0 and value.tzinfo is None:
            return value.strftime("%H:%M")  # an unquoted TOML time
        if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
            self.problem(where, f'start_time must be a 24-hour time "HH:MM", not {show(value)}')
            return MISSING
        return value

    def integer(
        self, table: dict[str, Any], key: str, where: str, low: int, high: int
    ) -> int | Missing | None:
        value = table.get(key, MISSING)
        if isinstance(value, Missing):
            return None
        if type(value) is not int or not low <= value <= high:
            self.problem(
                where, f'"{key}" must be a whole number from {low} to {high}, not {show(value)}'
            )
            return MISSING
        return value

    def choice(
        self, table: dict[str, Any], key: str, where: str, allowed: type[_E]
    ) -> _E | Missing | None:
        """One of an enum's values; None when absent, MISSING after a problem."""
        if key not in table:
            return None
        value = self.text(table, key, where, max_len=64)
        if value is None:
            return MISSING
        try:
            return allowed(value)
        except ValueError:
            names = [member.value for member in allowed]
            hint = did_you_mean(value, names)
            self.problem(where, f'{key} "{value}" is not one of {", ".join(names)}{hint}')
            return MISSING

    def flag(
        self, table: dict[str, Any], key: str, where: str, *, default: bool = False
    ) -> bool | None:
        value = table.get(key, default)
        if not isinstance(value, bool):
            self.problem(where, f'"{key}" must be true or false, not {show(value)}')
            return None
        return value

    def path(self, table: dict[str, Any], where: str) -> str | None:
        value = self.text(table, "file", where, max_len=1000)
        if value is None:
            return None
        reason = unsafe_zip_name(value)
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
        return nfc(value)


def describe_entry(kind: str, table: dict[str, Any], index: int, parent: str = "") -> str:
    """Where an entry is, for messages: 'delegate "d1"' by its id, or 'delegate #3' (a
    sub-item: 'agenda item #2.1') when the id is missing or unusable."""
    value = table.get("id")
    if isinstance(value, str) and ID_RE.fullmatch(value):
        return f'{kind} "{value}"'
    position = f"{parent.rsplit('#', 1)[-1]}.{index + 1}" if "#" in parent else str(index + 1)
    return f"{kind} #{position}"


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(choices), n=1)
    return f' (did you mean "{close[0]}"?)' if close else ""


def show(value: object) -> str:
    """A wrong value as a message names it: its kind and a short excerpt."""
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
