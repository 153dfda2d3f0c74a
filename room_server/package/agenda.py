"""The ``[[agenda]]``: items nested at most ``MAX_AGENDA_DEPTH`` deep, unique ids and
numbers, and references only to listed documents."""

from __future__ import annotations

from collections import Counter
from typing import Any

from room_server.package.contents import PackageAgendaItem
from room_server.package.fields import MISSING, FieldReader, Missing, describe_entry, show

MAX_AGENDA_DEPTH = 4
MAX_PLANNED_MINUTES = 1440  # one day
_AGENDA_KEYS = ("id", "title", "number", "planned_minutes", "documents", "items")


def read_agenda(
    reader: FieldReader, data: dict[str, Any], documents: set[str]
) -> tuple[PackageAgendaItem, ...]:
    numbers: dict[str, str] = {}
    items = _agenda_level(reader, data, "agenda", "", 1, "", documents, numbers)
    return items if items is not None else ()


def _agenda_level(
    reader: FieldReader,
    container: dict[str, Any],
    key: str,
    parent_where: str,
    depth: int,
    parent_number: str,
    documents: set[str],
    numbers: dict[str, str],
) -> tuple[PackageAgendaItem, ...] | None:
    tables = reader.array(container, key, parent_where)
    if tables and depth > MAX_AGENDA_DEPTH:
        reader.problem(
            parent_where,
            f"has sub-items {depth} levels deep; at most {MAX_AGENDA_DEPTH} levels are allowed",
        )
        return None
    ok = True
    items: list[PackageAgendaItem] = []
    for index, table in tables:
        where = describe_entry("agenda item", table, index, parent_where)
        reader.keys(table, where, _AGENDA_KEYS)
        item_id = reader.ident(table, where, "agenda item")
        title = reader.text(table, "title", where, max_len=500)
        generated = f"{parent_number}.{index + 1}" if parent_number else str(index + 1)
        number = reader.text(table, "number", where, max_len=20, default=generated)
        if number is not None:
            if number in numbers:
                reader.problem(where, f'number "{number}" is already used by {numbers[number]}')
            else:
                numbers[number] = where
        minutes = reader.integer(table, "planned_minutes", where, 0, MAX_PLANNED_MINUTES)
        refs = _references(reader, table, where, documents)
        children = _agenda_level(
            reader, table, "items", where, depth + 1, number or generated, documents, numbers
        )
        if None in (item_id, title, number, refs, children) or minutes is MISSING:
            ok = False
            continue
        assert item_id is not None and title is not None and number is not None
        assert refs is not None and children is not None
        assert not isinstance(minutes, Missing)
        items.append(PackageAgendaItem(item_id, number, title, minutes, refs, children))
    return tuple(items) if ok else None


def _references(
    reader: FieldReader, table: dict[str, Any], where: str, documents: set[str]
) -> tuple[str, ...] | None:
    value = table.get("documents", [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        reader.problem(where, f'"documents" must be a list of document ids, not {show(value)}')
        return None
    ok = True
    for doc_id in value:
        if doc_id not in documents:
            reader.problem(where, f'refers to document "{doc_id}", which is not in [[documents]]')
            ok = False
    for doc_id, count in Counter(value).items():
        if count > 1:
            reader.problem(where, f'lists document "{doc_id}" {count} times')
            ok = False
    return tuple(value) if ok else None
