"""The text API (room_protocol.text) and every catalogue the programs ship.

The catalogue checks run over the real ``.po`` files: complete in every language, the
right plural forms, matching placeholders, compiled ``.mo`` files up to date, and every
message id the code asks for present.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from room_protocol.text import (
    Catalogue,
    CatalogueNotCompiled,
    MissingText,
    UnknownLanguage,
    language_from_environment,
)
from tests.catalogues import (
    DOMAINS,
    LANGUAGES,
    PLURAL_FORMS,
    ROOT,
    placeholders,
    plural_ids,
    po_path,
    read,
    texts,
)

# --- the API, on a small catalogue made here ---------------------------------------------

HEADER = (
    'msgid ""\nmsgstr ""\n"Language: {code}\\n"\n'
    '"Content-Type: text/plain; charset=UTF-8\\n"\n"Plural-Forms: {forms}\\n"\n'
)
SMALL = {
    "en": """
msgid "door.open"
msgstr "Open the door, {name}"

msgid "door.only_english"
msgstr "Only in English"

msgid "door.ballots"
msgid_plural "door.ballots"
msgstr[0] "{n} ballot in {room}"
msgstr[1] "{n} ballots in {room}"
""",
    "vi": """
msgid "door.open"
msgstr "Mở cửa đi, {name}"

msgid "door.ballots"
msgid_plural "door.ballots"
msgstr[0] "{n} phiếu ở {room}"
""",
}


@pytest.fixture
def small(tmp_path: Path) -> Catalogue:
    for code, body in SMALL.items():
        count, expression = PLURAL_FORMS[code]
        forms = f"nplurals={count}; plural={expression};"
        po = HEADER.format(code=code, forms=forms) + body
        folder = tmp_path / code / "LC_MESSAGES"
        folder.mkdir(parents=True)
        catalog = read_po(po.splitlines(keepends=True), abort_invalid=True)
        with (folder / "doors.mo").open("wb") as mo:
            write_mo(mo, catalog)
    return Catalogue("doors", tmp_path, ("en", "vi"))


def test_tr_and_trn_in_each_language(small: Catalogue) -> None:
    assert small.current_language() == "en"
    assert small.tr("door.open", name="Lan") == "Open the door, Lan"
    assert small.trn("door.ballots", 1, room="A") == "1 ballot in A"
    assert small.trn("door.ballots", 2, room="A") == "2 ballots in A"
    assert small.trn("door.ballots", 0, room="A") == "0 ballots in A"
    small.set_language("vi")
    assert small.tr("door.open", name="Lan") == "Mở cửa đi, Lan"
    assert [small.trn("door.ballots", n, room="A") for n in (0, 1, 2)] == [
        "0 phiếu ở A",
        "1 phiếu ở A",
        "2 phiếu ở A",
    ]


def test_a_text_missing_from_a_language_falls_back_to_the_default(small: Catalogue) -> None:
    small.set_language("vi")
    assert small.tr("door.only_english") == "Only in English"


def test_unknown_ids_and_missing_arguments_raise(small: Catalogue) -> None:
    for code in ("en", "vi"):
        small.set_language(code)
        with pytest.raises(MissingText, match=r"door\.no_such_text"):
            small.tr("door.no_such_text")
        with pytest.raises(MissingText, match=r"door\.no_such_count"):
            small.trn("door.no_such_count", 2)
        with pytest.raises(KeyError, match="n"):
            small.tr("door.ballots")  # a plural entry asked for as a single text: no {n}
        with pytest.raises(KeyError, match="name"):
            small.tr("door.open")
    assert issubclass(MissingText, KeyError)


def test_unknown_language_is_a_clear_error(small: Catalogue) -> None:
    with pytest.raises(UnknownLanguage, match="unknown language 'fr'; choose one of: en, vi"):
        small.set_language("fr")
    assert small.current_language() == "en"
    assert issubclass(UnknownLanguage, ValueError)
    with pytest.raises(UnknownLanguage, match="unknown language 'fr'; choose one of: en, vi"):
        small.translations("fr")
    with pytest.raises(UnknownLanguage, match="default language 'fr'"):
        Catalogue("doors", Path("/nonexistent"), ("en", "vi"), default="fr")


def test_listeners_hear_switches_until_unsubscribed(small: Catalogue) -> None:
    heard: list[str] = []
    unsubscribe = small.on_language_changed(heard.append)
    small.set_language("vi")
    small.set_language("vi")  # no change, no call
    small.set_language("en")
    unsubscribe()
    unsubscribe()  # twice is harmless
    small.set_language("vi")
    assert heard == ["vi", "en"]


def test_files_are_read_on_first_use_and_a_missing_mo_says_what_to_do(tmp_path: Path) -> None:
    catalogue = Catalogue("doors", tmp_path / "nowhere", ("en", "vi"))  # no I/O yet
    with pytest.raises(CatalogueNotCompiled, match=r"doors\.mo is missing.*make catalogues"):
        catalogue.tr("door.open", name="x")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"LANG": "vi_VN.UTF-8"}, "vi"),
        ({"LANG": "en_GB.UTF-8", "LC_MESSAGES": "vi_VN"}, "vi"),
        ({"LANGUAGE": "fr:vi", "LANG": "en_US.UTF-8"}, "vi"),
        ({"LC_ALL": "C.UTF-8", "LANG": "vi_VN.UTF-8"}, None),  # LC_ALL decides
        ({"LANG": "de_DE.UTF-8"}, None),
    ],
)
def test_language_from_environment(environ: dict[str, str], expected: str | None) -> None:
    assert language_from_environment(environ, ("en", "vi")) == expected


# --- the catalogues the programs ship -----------------------------------------------------

EVERY_PO = [(domain, code) for domain in DOMAINS for code in LANGUAGES]


@pytest.mark.parametrize(("domain", "code"), EVERY_PO)
def test_headers_declare_the_language_and_its_plural_forms(domain: str, code: str) -> None:
    catalog = read(domain, code)
    count, expression = PLURAL_FORMS[code]
    assert str(catalog.locale) == code
    assert (catalog.num_plurals, catalog.plural_expr) == (count, expression)
    text = po_path(domain, code).read_text(encoding="utf-8")
    assert f'"Plural-Forms: nplurals={count}; plural={expression};\\n"' in text
    assert not any(message.fuzzy for message in catalog if message.id)


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_every_language_translates_every_message(domain: str) -> None:
    english = texts(domain, "en")
    plural = plural_ids(domain, "en")
    assert english, domain
    for code in LANGUAGES:
        translated = texts(domain, code)
        assert set(translated) == set(english), (code, set(translated) ^ set(english))
        assert plural_ids(domain, code) == plural, code
        empty = sorted(k for k, forms in translated.items() if not all(f.strip() for f in forms))
        assert not empty, (code, empty)
        count, _ = PLURAL_FORMS[code]
        wrong = sorted(k for k in plural if len(translated[k]) != count)
        assert not wrong, (code, wrong)


@pytest.mark.parametrize("domain", sorted(DOMAINS))
def test_placeholders_match_the_english_text(domain: str) -> None:
    """Every form of a translation has the English text's placeholders (the plural form's,
    for a plural: English may say "one" instead of "{n}" in the singular)."""
    english = texts(domain, "en")
    for key, forms in english.items():
        expected = placeholders(forms[-1])
        assert all(placeholders(form) <= expected for form in forms), key
        if key in plural_ids(domain, "en"):
            assert "n" in expected, key
        for code in LANGUAGES[1:]:
            for form in texts(domain, code)[key]:
                assert placeholders(form) == expected, (code, key, form)


@pytest.mark.parametrize(("domain", "code"), EVERY_PO)
def test_compiled_catalogues_are_up_to_date(domain: str, code: str) -> None:
    """The .mo beside each .po (``make catalogues``) holds exactly the .po's texts."""
    mo_path = po_path(domain, code).with_suffix(".mo")
    assert mo_path.exists(), f"{mo_path} missing: run make catalogues"
    with mo_path.open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    count, _ = PLURAL_FORMS[code]
    plural = plural_ids(domain, code)
    for key, forms in texts(domain, code).items():
        if key in plural:
            # en: 1 -> form 0, 2 -> form 1; vi: one form for every count
            expected = [forms[0], forms[count - 1], forms[count - 1]]
            assert [compiled.ngettext(key, key, n) for n in (1, 2, 0)] == expected, (mo_path, key)
        else:
            assert compiled.gettext(key) == forms[0], (mo_path, key)
    assert compiled.info()["plural-forms"] == f"nplurals={count}; plural={PLURAL_FORMS[code][1]};"


# The domain(s) whose catalogue each package's tr()/trn() calls read.
CODE_DOMAINS = {
    "tablet_client": ("hemicycle-tablet",),
    "kiosk": ("hemicycle-display",),
    "room_client": ("hemicycle-tablet", "hemicycle-display"),
    "room_server": ("room-server",),
    "provisioning": ("room-provision",),
}
KEY = re.compile(r"[a-z_]+(\.[a-z0-9_]+)+")


def is_message_id(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and KEY.fullmatch(node.value) is not None
    )


def asked_for(package: str) -> list[tuple[str, bool, str]]:
    """(msgid, plural?, where) for every literal msgid in ``package``: the first argument
    of a tr()/trn() call, and the key of a ("key", {arguments}) Text."""
    found: list[tuple[str, bool, str]] = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # key = "a.b" if ... else "a.c"; tr(key): a name given message ids in this module
        assigned: dict[str, list[ast.expr]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
                values = [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
                if isinstance(target, ast.Name) and all(map(is_message_id, values)):
                    assigned.setdefault(target.id, []).extend(values)
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in ("tr", "trn") and node.args:
                    first = node.args[0]
                    choices = [first]
                    if isinstance(first, ast.IfExp):  # tr("a.b" if ... else "a.c")
                        choices = [first.body, first.orelse]
                    if isinstance(first, ast.Name):
                        choices = assigned.get(first.id, [])
                    for choice in choices:
                        if isinstance(choice, ast.Constant) and isinstance(choice.value, str):
                            found.append((choice.value, name == "trn", where))
            elif (
                isinstance(node, ast.Tuple)
                and len(node.elts) == 2
                and isinstance(node.elts[0], ast.Constant)
                and isinstance(node.elts[0].value, str)
                and KEY.fullmatch(node.elts[0].value)
                and isinstance(node.elts[1], ast.Dict)
            ):
                names = {k.value for k in node.elts[1].keys if isinstance(k, ast.Constant)}
                found.append((node.elts[0].value, "n" in names, where))
    return found


@pytest.mark.parametrize("package", sorted(CODE_DOMAINS))
def test_every_text_the_code_asks_for_is_in_every_catalogue(package: str) -> None:
    if not (ROOT / package).is_dir():
        pytest.skip(f"no {package}/ in this tree")
    used = asked_for(package)
    if package != "room_client":
        assert used, package  # the scan finds this package's calls
    problems = []
    for domain in CODE_DOMAINS[package]:
        for code in LANGUAGES:
            have = texts(domain, code)
            plural = plural_ids(domain, code)
            for key, wants_plural in ((k, p) for k, p, _ in used):
                if key not in have:
                    problems.append(f"{domain}/{code}: {key} missing")
                elif wants_plural != (key in plural):
                    kind = "a plural (trn)" if wants_plural else "a single text (tr)"
                    problems.append(f"{domain}/{code}: {key} is asked for as {kind}")
    assert not problems, sorted(set(problems))


def test_the_scan_sees_plural_calls_and_texts() -> None:
    used = {(key, plural) for key, plural, _ in asked_for("tablet_client")}
    assert ("results.ballots", True) in used  # trn("results.ballots", n)
    assert ("sign_in.pin_too_short", True) in used  # ("sign_in.pin_too_short", {"n": ...})
    assert ("sign_in.choose_name", False) in used
    assert ("results.present_weighted", True) in used  # trn(a if weighted else b, ...)


@pytest.mark.parametrize(
    ("domain", "key", "one", "two"),
    [
        ("hemicycle-tablet", "results.ballots", "1 ballot", "2 ballots"),
        ("hemicycle-tablet", "results.abstentions", "1 abstention", "2 abstentions"),
        ("hemicycle-display", "result.more", "and 1 more option", "and 2 more options"),
        ("room-server", "count.entries", "1 entry", "2 entries"),
    ],
)
def test_plural_forms_in_english_and_vietnamese(domain: str, key: str, one: str, two: str) -> None:
    catalogue = Catalogue(domain, DOMAINS[domain], LANGUAGES)
    assert (catalogue.trn(key, 1), catalogue.trn(key, 2)) == (one, two)
    catalogue.set_language("vi")
    vi = texts(domain, "vi")[key][0]
    assert catalogue.trn(key, 1) == vi.format(n=1)
    assert catalogue.trn(key, 2) == vi.format(n=2)
