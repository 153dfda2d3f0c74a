"""Wheels without a network: the project's from its checkout, and any installed
distribution's packed back into the wheel it was installed from.

``room-provision bundle`` uses these so that a machine that runs Hemicycle can write an
offline install stick from what it has (``--from-env``), and a checkout can make the
project's wheel without fetching its build backend. Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata as metadata
import io
import json
import re
import sys
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

PROJECT = "hemicycle"
# Files of the checkout installed beside the packages (pyproject's data-files): the install
# finds the units there when it runs from an installed venv without a bundle.
SHARE = "share/hemicycle"
SYSTEM_FILES = "systemd"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can say: the same input, the same wheel
_SKIP_DIST_INFO = {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}
_EXTRA = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


class WheelError(RuntimeError):
    """A wheel that cannot be made here; the message says why."""


def normalise(name: str) -> str:
    """A project name as wheel file names and comparisons spell it (PEP 503, with ``_``)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def checkout_of(package_file: str) -> Path | None:
    """The Hemicycle checkout a module was imported from, or None (an installed copy)."""
    root = Path(package_file).resolve().parents[1]
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        name = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["name"]
    except (OSError, ValueError, KeyError):
        return None
    return root if name == PROJECT else None


def project_wheel_from_checkout(root: Path, dest: Path) -> Path:
    """The project's pure-Python wheel from the checkout ``root``: its packages with their
    compiled catalogues, the metadata and scripts ``pyproject.toml`` declares, and the unit
    files as data (``share/hemicycle/systemd``)."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name, version = project["name"], project["version"]
    stem = f"{normalise(name)}-{version}"
    files: dict[str, bytes] = {}
    for package in _top_level_packages(root):
        for path in sorted((root / package).rglob("*")):
            relative = path.relative_to(root).as_posix()
            if path.is_dir() or "__pycache__" in path.parts or path.suffix in (".pyc", ".mo"):
                continue
            files[relative] = path.read_bytes()
            if path.suffix == ".po":
                files[relative[:-3] + ".mo"] = _compiled_catalogue(path)
    for path in sorted((root / SYSTEM_FILES).iterdir()):
        if path.is_file():
            files[f"{stem}.data/data/{SHARE}/{SYSTEM_FILES}/{path.name}"] = path.read_bytes()
    info = f"{stem}.dist-info"
    files[f"{info}/METADATA"] = _metadata(project, root).encode()
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: hemicycle-provisioning\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n"
    )
    scripts = project.get("scripts", {})
    files[f"{info}/entry_points.txt"] = (
        "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items())
    ).encode()
    return _write_wheel(dest / f"{stem}-py3-none-any.whl", info, files, {})


def pack_installed(name: str, dest: Path) -> Path:
    """The wheel the installed distribution ``name`` came from, rebuilt from its files
    (``RECORD``) and its own ``WHEEL`` tags; an editable install from its source folder."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise WheelError(f"{name} is not installed in {sys.prefix}") from None
    dist_name, version = dist.metadata["Name"], dist.version
    wheel_text = dist.read_text("WHEEL") or ""
    tags = [
        line.split(":", 1)[1].strip() for line in wheel_text.splitlines() if line.startswith("Tag:")
    ]
    if not tags:
        raise WheelError(f"{dist_name} {version} was not installed from a wheel (no WHEEL tags)")
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    if direct.get("dir_info", {}).get("editable"):
        source = Path(unquote(urlparse(direct["url"]).path))
        checkout = checkout_of(str(source / "provisioning" / "__init__.py"))
        if normalise(dist_name) == PROJECT and checkout is not None:
            return project_wheel_from_checkout(checkout, dest)
        raise WheelError(f"{dist_name} is an editable install of {source}: build its wheel there")
    site = Path(str(dist.locate_file("")))
    info = next(
        (e.parts[0] for e in dist.files or [] if e.parts[0].endswith(".dist-info")),
        f"{normalise(dist_name)}-{version}.dist-info",
    )
    stem = info.removesuffix(".dist-info")
    scripts = {
        ep.name for ep in dist.entry_points if ep.group in ("console_scripts", "gui_scripts")
    }
    files: dict[str, bytes] = {}
    modes: dict[str, int] = {}
    for entry in dist.files or []:
        path = (site / entry).resolve()
        relative = entry.as_posix()
        if "__pycache__" in entry.parts or entry.suffix == ".pyc":
            continue
        if relative.startswith(".."):  # a script or data outside site-packages
            if path.name in scripts or not path.is_file():
                continue  # pip writes entry-point scripts itself
            target = _data_path(path, stem)
            if target is None:
                continue
            files[target] = (
                _portable_script(path.read_bytes()) if "/scripts/" in target else path.read_bytes()
            )
            modes[target] = path.stat().st_mode
            continue
        if relative.startswith(f"{info}/") and entry.name in _SKIP_DIST_INFO:
            continue
        if not path.is_file():
            raise WheelError(f"{dist_name}: {path} is listed in its RECORD but missing")
        files[relative] = path.read_bytes()
        modes[relative] = path.stat().st_mode
    wheel_name = f"{normalise(dist_name)}-{version}-{_compressed_tags(tags)}.whl"
    return _write_wheel(dest / wheel_name, info, files, modes)


def installed_closure(name: str, extras: Iterable[str]) -> list[str]:
    """The installed distributions ``name[extras]`` needs, itself first. A requirement is
    followed when it is installed here and its marker's ``extra`` (if any) is asked for;
    other marker conditions are not evaluated: what is installed here is what this
    platform needed."""
    wanted = [(name, frozenset(extras))]
    seen: dict[str, str] = {}
    followed: set[tuple[str, frozenset[str]]] = set()
    while wanted:
        current, asked = wanted.pop()
        try:
            dist = metadata.distribution(current)
        except metadata.PackageNotFoundError:
            continue
        key = normalise(dist.metadata["Name"])
        if (key, asked) in followed:
            continue
        followed.add((key, asked))
        seen.setdefault(key, dist.metadata["Name"])
        for requirement in dist.requires or []:
            spec, _, marker = requirement.partition(";")
            extra = _EXTRA.search(marker)
            if extra is not None and extra.group(1) not in asked:
                continue
            found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?", spec)
            if found is None:
                continue
            sub_extras = frozenset(
                e.strip() for e in (found.group(2) or "").split(",") if e.strip()
            )
            wanted.append((found.group(1), sub_extras))
    return list(seen.values())


def sha256_sums(folder: Path) -> str:
    """``sha256sum``'s format for every file under ``folder`` (``sha256sum -c`` checks it)."""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        lines.append(f"{digest.hexdigest()}  {path.relative_to(folder).as_posix()}\n")
    return "".join(lines)


def check_sums(folder: Path, sums: str) -> list[str]:
    """What differs between ``folder`` and its ``sha256sum`` listing ``sums``: files
    missing, changed or not listed (the listing itself aside); empty when all is well."""
    listed: dict[str, str] = {}
    for line in sums.splitlines():
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            return [f"not a sha256sum listing: {line[:80]!r}"]
        listed[name] = digest
    actual = {
        line.partition("  ")[2]: line.partition("  ")[0]
        for line in sha256_sums(folder).splitlines()
    }
    problems = [f"{name}: missing" for name in sorted(listed.keys() - actual.keys())]
    problems += [
        f"{name}: changed"
        for name in sorted(listed.keys() & actual.keys())
        if listed[name] != actual[name]
    ]
    problems += [
        f"{name}: not listed"
        for name in sorted(actual.keys() - listed.keys())
        if name != "SHA256SUMS"
    ]
    return problems


def _top_level_packages(root: Path) -> Iterator[str]:
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["packages"]["find"]["include"]
    for pattern in patterns:
        package = pattern.rstrip("*")
        if (root / package / "__init__.py").is_file():
            yield package


def _compiled_catalogue(po: Path) -> bytes:
    """The ``.mo`` of ``po``: Babel's when installed (as the wheel build does), else the
    compiled file beside it if it is up to date (``make catalogues``)."""
    try:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
    except ImportError:
        mo = po.with_suffix(".mo")
        if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
            return mo.read_bytes()
        raise WheelError(f"{po} is not compiled: run `make catalogues` or install Babel") from None
    with po.open("rb") as source:
        catalog = read_po(source, abort_invalid=True)
    out = io.BytesIO()
    write_mo(out, catalog)
    return out.getvalue()


def _metadata(project: dict[str, object], root: Path) -> str:
    """Core metadata 2.1 for the ``[project]`` table: what pip needs to resolve extras."""
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project.get('description', '')}",
        f"Requires-Python: {project.get('requires-python', '')}",
    ]
    for requirement in _strings(project.get("dependencies", [])):
        lines.append(f"Requires-Dist: {requirement}")
    optional = project.get("optional-dependencies", {})
    assert isinstance(optional, dict)
    for extra, requirements in optional.items():
        lines.append(f"Provides-Extra: {extra}")
        for requirement in _strings(requirements):
            spec, _, marker = requirement.partition(";")
            condition = f'extra == "{extra}"'
            if marker.strip():
                condition = f"({marker.strip()}) and {condition}"
            lines.append(f"Requires-Dist: {spec.strip()}; {condition}")
    readme = root / str(project.get("readme", "README.md"))
    body = readme.read_text(encoding="utf-8") if readme.is_file() else ""
    return "\n".join(lines) + "\nDescription-Content-Type: text/markdown\n\n" + body


def _strings(value: object) -> list[str]:
    assert isinstance(value, list)
    return [str(v) for v in value]


def _data_path(path: Path, stem: str) -> str | None:
    """Where a file installed outside site-packages goes in the wheel (``.data``)."""
    prefix = Path(sys.prefix).resolve()
    try:
        relative = path.relative_to(prefix)
    except ValueError:
        return None
    if relative.parts[0] == "bin":
        return f"{stem}.data/scripts/{relative.name}"
    return f"{stem}.data/data/{relative.as_posix()}"


def _portable_script(content: bytes) -> bytes:
    """A script's ``#!…/python`` back to ``#!python``, as wheels carry it."""
    first, newline, rest = content.partition(b"\n")
    if first.startswith(b"#!") and b"python" in first:
        return b"#!python" + newline + rest
    return content


def _compressed_tags(tags: list[str]) -> str:
    """``cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64`` from the expanded tags."""
    parts: list[list[str]] = [[], [], []]
    for tag in tags:
        for i, part in enumerate(tag.split("-")):
            if part not in parts[i]:
                parts[i].append(part)
    return "-".join(".".join(p) for p in parts)


def _write_wheel(target: Path, info: str, files: dict[str, bytes], modes: dict[str, int]) -> Path:
    """A wheel of ``files`` with its ``RECORD`` last, written whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    record = []
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as wheel:
        for name in sorted(files, key=lambda n: (n.startswith(info), n)):
            data = files[name]
            entry = zipfile.ZipInfo(name, _ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = ((modes.get(name, 0o644) & 0o777) | 0o100000) << 16
            wheel.writestr(entry, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append(f"{name},sha256={digest.decode()},{len(data)}\n")
        record.append(f"{info}/RECORD,,\n")
        entry = zipfile.ZipInfo(f"{info}/RECORD", _ZIP_DATE)
        entry.external_attr = 0o100644 << 16
        wheel.writestr(entry, "".join(record))
    tmp.replace(target)
    return target
