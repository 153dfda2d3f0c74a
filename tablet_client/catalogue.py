"""A catalogue of UI strings in several languages, with one current language.

Qt-free; the tablet (``tablet_client.i18n``) and the room display (``kiosk.i18n``) each
keep their own catalogue and switch language independently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping


class Catalogue:
    """``tr`` raises KeyError for a key no language has; a key missing from the current
    language falls back to ``fallback``'s text (tests keep the languages complete)."""

    def __init__(self, languages: Mapping[str, Mapping[str, str]], fallback: str = "en") -> None:
        self.languages = languages
        self.fallback = fallback
        self._current = fallback
        self._listeners: list[Callable[[str], None]] = []

    def set_language(self, code: str) -> None:
        """Switch every later ``tr`` call to ``code`` and tell the listeners."""
        if code not in self.languages:
            choices = ", ".join(sorted(self.languages))
            raise ValueError(f"unknown language {code!r}; choose one of: {choices}")
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

    def tr(self, key: str, **kwargs: object) -> str:
        """The text for ``key`` in the current language, formatted with ``kwargs``."""
        text = self.languages[self._current].get(key)
        if text is None:
            text = self.languages[self.fallback][key]
        return text.format(**kwargs)
