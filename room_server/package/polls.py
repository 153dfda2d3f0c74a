"""``[[poll_templates]]`` and ``[[polls]]``: settings checked one by one, templates
applied, and every spec normalised and checked by ``room_protocol.voting``."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import Any

from room_protocol.voting import (
    MAX_OPTIONS,
    Abstentions,
    Base,
    Majority,
    PollKind,
    PollOption,
    PollRule,
    PollSpec,
    Tie,
    normalised,
    spec_problems,
)
from room_server.package.contents import PackagePoll, PackagePollTemplate
from room_server.package.fields import (
    ID_RE,
    MISSING,
    FieldReader,
    Missing,
    describe_entry,
    did_you_mean,
    show,
)

MAX_POLLS = 2_000  # what one PollsState message carries
MAX_POLL_TEMPLATES = 200  # likewise
_ENUM_SETTINGS: tuple[tuple[str, type[StrEnum]], ...] = (
    ("kind", PollKind),
    ("majority", Majority),
    ("base", Base),
    ("abstentions", Abstentions),
    ("tie", Tie),
)
_FLAG_SETTINGS = ("secret", "allow_change", "weighted")
_COUNT_SETTINGS = (("min_choices", 0), ("max_choices", 1), ("seats", 1))  # (key, lowest)
_POLL_SETTINGS = (
    *(key for key, _enum in _ENUM_SETTINGS),
    *_FLAG_SETTINGS,
    *(key for key, _low in _COUNT_SETTINGS),
)
_TEMPLATE_KEYS = ("id", "title", *_POLL_SETTINGS)
_POLL_KEYS = ("id", "title", "item", "template", "options", *_POLL_SETTINGS)
_OPTION_KEYS = ("id", "label")
# Settings that mean something only for some kinds of poll.
_APPLIES_TO: dict[str, tuple[tuple[PollKind, ...], str]] = {
    "min_choices": ((PollKind.MULTIPLE, PollKind.ELECTION), "multiple-choice polls and elections"),
    "max_choices": ((PollKind.MULTIPLE,), "multiple-choice polls"),
    "seats": ((PollKind.ELECTION,), "elections"),
    "options": (
        (PollKind.SINGLE, PollKind.MULTIPLE, PollKind.ELECTION),
        'single, multiple and election polls (a yes_no poll always offers "yes", "no" '
        'and "abstain")',
    ),
}
# Templates by id: the checked template (None if it has problems) and its settings.
_Templates = dict[str, tuple[PackagePollTemplate | None, dict[str, Any]]]


def read_polls(
    reader: FieldReader, data: dict[str, Any]
) -> tuple[tuple[PackagePollTemplate, ...], tuple[PackagePoll, ...]]:
    """The poll templates without problems, and the polls with their templates applied."""
    templates, templates_complete = _poll_templates(reader, data)
    polls = _polls(reader, data, templates, templates_complete)
    return tuple(t for t, _settings in templates.values() if t is not None), polls


def _poll_templates(reader: FieldReader, data: dict[str, Any]) -> tuple[_Templates, bool]:
    """Templates by id, and whether every template has a readable id."""
    tables = reader.array(data, "poll_templates")
    written = data.get("poll_templates", [])
    templates_complete = (
        isinstance(written, list)
        and len(tables) == len(written)
        and all(isinstance(t.get("id"), str) and ID_RE.fullmatch(t["id"]) for _i, t in tables)
    )
    if len(tables) > MAX_POLL_TEMPLATES:
        reader.problem(
            "",
            f"has {len(tables)} [[poll_templates]]; at most {MAX_POLL_TEMPLATES} are allowed",
        )
    templates: _Templates = {}
    for index, table in tables:
        where = describe_entry("poll template", table, index)
        reader.keys(table, where, _TEMPLATE_KEYS)
        template_id = reader.ident(table, where, "poll template")
        title = reader.text(table, "title", where, max_len=500, default=template_id or "")
        settings = _poll_settings(reader, table, where)
        spec = None
        if settings is not None and "kind" not in settings:
            reader.problem(where, 'required key "kind" is missing')
        elif settings is not None:
            # A template has no options: check its rule with stand-ins that fit any count.
            stand_ins = max(2, settings.get("max_choices", 1), settings.get("seats", 1) + 1)
            placeholder = tuple(PollOption(f"o{n}", f"Option {n}") for n in range(1, stand_ins + 1))
            label = title or template_id or "template"
            spec = _spec(reader, table, where, settings, label, placeholder, None)
        if template_id is None:
            continue
        if title is None or settings is None or spec is None:
            templates[template_id] = (None, {})  # polls using it are not checked further
            continue
        if spec.kind is not PollKind.YES_NO:
            spec = replace(spec, options=())
        templates[template_id] = (PackagePollTemplate(template_id, spec), settings)
    return templates, templates_complete


def _polls(
    reader: FieldReader, data: dict[str, Any], templates: _Templates, templates_complete: bool
) -> tuple[PackagePoll, ...]:
    tables = reader.array(data, "polls")
    if len(tables) > MAX_POLLS:
        reader.problem("", f"has {len(tables)} [[polls]]; at most {MAX_POLLS} are allowed")
    items = reader.ids.get("agenda item", {})
    polls: list[PackagePoll] = []
    for index, table in tables:
        where = describe_entry("poll", table, index)
        reader.keys(table, where, _POLL_KEYS)
        poll_id = reader.ident(table, where, "poll")
        title = reader.text(table, "title", where, max_len=500)
        item = reader.text(table, "item", where, max_len=64, default="")
        if item and item not in items:
            hint = did_you_mean(item, items)
            reader.problem(where, f'item "{item}" is not an agenda item in [[agenda]]{hint}')
            item = None
        template_id = reader.text(table, "template", where, max_len=64, default="")
        inherited: dict[str, Any] | None = {}
        if template_id:
            template = templates.get(template_id)
            if template is None:
                if templates_complete:  # else the template may be the broken one
                    hint = did_you_mean(template_id, templates)
                    reader.problem(
                        where, f'template "{template_id}" is not in [[poll_templates]]{hint}'
                    )
                inherited = None
            elif template[0] is None:
                inherited = None  # its problems are reported at the template
            else:
                inherited = template[1]
        settings = _poll_settings(reader, table, where)
        options = _options(reader, table, where)
        if inherited is None or settings is None or options is None:
            continue
        merged = {**inherited, **settings}
        if "kind" not in merged:
            reader.problem(
                where,
                'required key "kind" is missing (give it here or in the poll\'s template)',
            )
            continue
        # Checked even when the id or title is wrong, so every problem shows at once.
        spec = _spec(reader, table, where, merged, title or "poll", options, item or None)
        if None not in (poll_id, title, item, template_id, spec):
            assert poll_id is not None and spec is not None
            polls.append(PackagePoll(poll_id, spec, template_id or None))
    return tuple(polls)


def _options(
    reader: FieldReader, table: dict[str, Any], where: str
) -> tuple[PollOption, ...] | None:
    value = table.get("options", MISSING)
    if isinstance(value, Missing):
        return ()
    if not isinstance(value, list):
        reader.problem(
            where,
            '"options" must be a list of labels (["Option A", "Option B"]) or of tables '
            f"with id and label, not {show(value)}",
        )
        return None
    if len(value) > MAX_OPTIONS:
        reader.problem(where, f"has {len(value)} options; the limit is {MAX_OPTIONS}")
        return None
    options: list[PollOption] = []
    ok = True
    for number, entry in enumerate(value, start=1):
        here = f"{where}, option #{number}"
        if isinstance(entry, str):
            option_id: str | None = f"o{number}"
            label = reader.text({"label": entry}, "label", here, max_len=500)
        elif isinstance(entry, dict):
            reader.keys(entry, here, _OPTION_KEYS)
            option_id = reader.ident(entry, here, None)
            label = reader.text(entry, "label", here, max_len=500)
        else:
            reader.problem(
                here, f"an option is a label or a table with id and label, not {show(entry)}"
            )
            ok = False
            continue
        if option_id is None or label is None:
            ok = False
            continue
        options.append(PollOption(option_id, label))
    return tuple(options) if ok else None


def _poll_settings(reader: FieldReader, table: dict[str, Any], where: str) -> dict[str, Any] | None:
    """The poll settings ``table`` gives, checked one by one (None if any is wrong)."""
    settings: dict[str, Any] = {}
    ok = True
    for key, enum in _ENUM_SETTINGS:
        if key in table:
            choice = reader.choice(table, key, where, enum)
            if isinstance(choice, StrEnum):
                settings[key] = choice
            else:
                ok = False
    for key in _FLAG_SETTINGS:
        if key in table:
            flag = reader.flag(table, key, where)
            if flag is None:
                ok = False
            else:
                settings[key] = flag
    for key, low in _COUNT_SETTINGS:
        count = reader.integer(table, key, where, low, MAX_OPTIONS)
        if isinstance(count, Missing):
            ok = False
        elif count is not None:
            settings[key] = count
    return settings if ok else None


def _spec(
    reader: FieldReader,
    table: dict[str, Any],
    where: str,
    settings: dict[str, Any],
    title: str,
    options: tuple[PollOption, ...],
    item_id: str | None,
) -> PollSpec | None:
    """Build, normalise and check a poll spec; ``table`` is what was written here
    (settings may also come from a template)."""
    kind: PollKind = settings["kind"]
    ok = True
    for key, (kinds, what) in _APPLIES_TO.items():
        if key in table and kind not in kinds:
            reader.problem(
                where, f'"{key}" applies only to {what}; remove it from this {kind} poll'
            )
            ok = False
    base = settings.get("base")
    if settings.get("majority") is Majority.ABSOLUTE and base not in (None, Base.MEMBERS):
        reader.problem(
            where,
            f'absolute majority is of all members, but base is "{base}"; '
            'leave base out or set it to "members"',
        )
        ok = False
    # Settings that do not apply to this kind (from a template, or reported above) fall
    # back to the defaults, and the rest is checked too.
    applies = {
        key: value
        for key, value in settings.items()
        if key not in _APPLIES_TO or kind in _APPLIES_TO[key][0]
    }
    rule = PollRule(
        majority=applies.get("majority", Majority.SIMPLE),
        base=applies.get("base", Base.CAST),
        abstentions=applies.get("abstentions", Abstentions.EXCLUDED),
        tie=applies.get("tie", Tie.FAILS),
    )
    spec = normalised(
        PollSpec(
            title=title,
            kind=kind,
            options=options,
            min_choices=applies.get("min_choices", 0),
            max_choices=applies.get("max_choices", 1),
            seats=applies.get("seats", 1),
            secret=applies.get("secret", False),
            allow_change=applies.get("allow_change", False),
            weighted=applies.get("weighted", False),
            rule=rule,
            item_id=item_id,
        )
    )
    problems = spec_problems(spec)
    for problem in problems:
        reader.problem(where, problem)
    return spec if ok and not problems else None
