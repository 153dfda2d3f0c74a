"""Translated text: gettext catalogues, plural forms, a current language and its listeners.

It lives in ``room_protocol`` because that is the one layer the tablet, the room display
and the server's command line all share (``room_server`` may import nothing else of
ours), and it needs only the standard library's ``gettext``. Each program makes its own
``Catalogue`` over its own domain and switches language on its own.

Catalogues are ``.po`` files compiled to ``.mo`` at build time (``make catalogues``, or
the wheel build). Message ids are hierarchical keys (``screen.thing``) and the English
catalogue carries the English text. Texts are ``str.format`` templates: ``{name}``
placeholders are filled from the keyword arguments, and a plural text gets its count as
``{n}``. A key missing from the current language falls back to the default language's
text; a key missing from that too raises ``MissingText``, so a typo fails loudly.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable, Iterable, Mapping
from importlib.resources.abc import Traversable

__all__ = [
    "Catalogue",
    "CatalogueNotCompiled",
    "MissingText",
    "UnknownLanguage",
    "language_from_environment",
]


class UnknownLanguage(ValueError):
    """A language code for which the program has no catalogue."""


class MissingText(KeyError):
    """A message id that is in neither the current nor the default language's catalogue."""


class CatalogueNotCompiled(FileNotFoundError):
    """The ``.mo`` file of a catalogue is missing: the ``.po`` files were not compiled."""


class _Missing(gettext.NullTranslations):
    """The end of every fallback chain: an unknown id raises instead of showing the id."""

    def gettext(self, message: str) -> str:
        raise MissingText(message)

    def ngettext(self, msgid1: str, msgid2: str, n: int) -> str:
        raise MissingText(msgid1)


class Catalogue:
    """The texts of one program (one gettext domain) in its languages, one of them current.

    ``localedir`` holds ``{language}/LC_MESSAGES/{domain}.mo``. Files are read on first
    use, not when the catalogue is made, so importing a program's text module does no I/O.
    """

    def __init__(
        self,
        domain: str,
        localedir: Traversable,
        languages: Iterable[str],
        *,
        default: str = "en",
    ) -> None:
        self.domain = domain
        self.localedir = localedir
        self.languages: tuple[str, ...] = tuple(languages)
        if default not in self.languages:
            raise UnknownLanguage(f"default language {default!r} is not in {self.languages}")
        self.default = default
        self._current = default
        self._listeners: list[Callable[[str], None]] = []
        self._loaded: dict[str, gettext.NullTranslations] = {}

    def set_language(self, code: str) -> None:
        """Switch every later ``tr``/``trn`` call to ``code`` and tell the listeners."""
        self._check(code)
        if code == self._current:
            return
        self._current = code
        for listener in list(self._listeners):
            listener(code)

    def current_language(self) -> str:
        return self._current

    def on_language_changed(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call ``listener(code)`` after each language switch; returns the unsubscribe call."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def tr(self, msgid: str, **kwargs: object) -> str:
        """The text for ``msgid`` in the current language, formatted with ``kwargs``."""
        return self.translations(self._current).gettext(msgid).format(**kwargs)

    def trn(self, msgid: str, n: int, **kwargs: object) -> str:
        """The plural form of ``msgid`` for the count ``n``, formatted with ``n`` and ``kwargs``.

        The catalogue entry has a ``msgid_plural`` (the same key) and one ``msgstr[i]`` per
        plural form of the language; with keys as ids, the plural id would only repeat the
        key, so it is not a parameter here.
        """
        text = self.translations(self._current).ngettext(msgid, msgid, n)
        return text.format(**{"n": n, **kwargs})

    def translations(self, code: str) -> gettext.NullTranslations:
        """The compiled catalogue of ``code``, falling back to the default language's."""
        self._check(code)
        loaded = self._loaded.get(code)
        if loaded is None:
            loaded = self._read(code)
            loaded.add_fallback(
                self.translations(self.default) if code != self.default else _Missing()
            )
            self._loaded[code] = loaded
        return loaded

    def _check(self, code: str) -> None:
        if code not in self.languages:
            choices = ", ".join(sorted(self.languages))
            raise UnknownLanguage(f"unknown language {code!r}; choose one of: {choices}")

    def _read(self, code: str) -> gettext.GNUTranslations:
        path = self.localedir / code / "LC_MESSAGES" / f"{self.domain}.mo"
        try:
            with path.open("rb") as mo:
                return gettext.GNUTranslations(mo)
        except FileNotFoundError:
            raise CatalogueNotCompiled(
                f"{path} is missing: compile the catalogues first (make catalogues)"
            ) from None


_LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's order


def language_from_environment(environ: Mapping[str, str], languages: Iterable[str]) -> str | None:
    """The first of ``languages`` that the locale variables ask for (``vi_VN.UTF-8`` → vi),
    or None: what a command-line program shows its messages in."""
    choices = set(languages)
    for variable in _LOCALE_VARIABLES:
        value = environ.get(variable, "")
        if not value:
            continue
        for wanted in value.split(":"):
            code = wanted.split(".")[0].split("@")[0].split("_")[0].lower()
            if code in choices:
                return code
        if variable != "LANGUAGE":
            return None  # the first locale variable that is set decides, as in gettext
    return None
