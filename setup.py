"""The build as pyproject.toml describes it, plus one step: compile the .po catalogues.

The ``.mo`` files are generated, never committed: this hook writes them next to their
``.po`` before the usual ``build_py``, so a wheel (and an editable install) carries them
as package data. ``make catalogues`` does the same for a working tree.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CATALOGUE_DIRS = ("room_client/locale", "room_server/locale", "provisioning/locale")


def compile_catalogues(root: Path) -> list[Path]:
    """Compile every ``.po`` under the catalogue folders whose ``.mo`` is missing or older."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for folder in CATALOGUE_DIRS:
        for po in sorted((root / folder).glob("*/LC_MESSAGES/*.po")):
            mo = po.with_suffix(".mo")
            if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
                continue
            with po.open("rb") as source:
                catalog = read_po(source, abort_invalid=True)
            with mo.open("wb") as target:
                write_mo(target, catalog)
            written.append(mo)
    return written


class BuildWithCatalogues(build_py):
    def run(self) -> None:
        compile_catalogues(Path(__file__).resolve().parent)
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogues})
