"""One pass over the installed distributions for every libnet entry-point group.

:func:`scan` walks ``sys.path`` as ``importlib.metadata`` does (directories' ``*.dist-info``
and ``*.egg-info`` folders, the first distribution of a name wins) but reads only each
distribution's ``entry_points.txt``, and the head of ``METADATA`` only for those that
advertise a ``libnet.*`` group. It imports nothing, ``importlib.metadata`` included, except
for the rare path entries that are not directories (zip files) and for import systems with
distribution finders of their own.

What it read is recorded as :class:`Stamp` values (cheap ``stat`` results of the path
entries and of the distributions used), so that :mod:`libnet.drivers.remote.index` can tell
later, without reading any file again, whether the result still holds.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "GROUP_PREFIX",
    "InstalledEntryPoint",
    "Scan",
    "Stamp",
    "load_target",
    "normalize_dist_name",
    "on_libnet",
    "other_finders",
    "scan",
    "scan_with_importlib",
    "stamp",
]

GROUP_PREFIX = "libnet."
"""Every entry-point group of libnet starts so: ``libnet.drivers``, ``libnet.ipam``, ..."""


_SEPARATORS = re.compile(r"[-_.]+")


def normalize_dist_name(name: str) -> str:
    """Normalise a distribution name as PEP 503 does (``My_Pkg`` -> ``my-pkg``)."""
    return _SEPARATORS.sub("-", name).lower()


@dataclass(frozen=True)
class InstalledEntryPoint:
    """One entry point of a libnet group, with what is known of its distribution."""

    group: str
    name: str
    value: str
    distribution: str | None
    version: str | None
    requires: tuple[str, ...]
    """The distribution's ``Requires-Dist`` entries on libnet, unparsed."""


Stamp = tuple[int, int, int, int, int] | None
"""What ``stat`` says of a file or folder: type and mode, inode, device, mtime in ns, size;
None if it does not exist."""


def stamp(path: str) -> Stamp:
    """The :data:`Stamp` of ``path`` (never follows nothing else than ``stat`` does)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mode, st.st_ino, st.st_dev, st.st_mtime_ns, st.st_size)


@dataclass(frozen=True)
class Scan:
    """The entry points found, and the stamps that say whether they still hold."""

    entry_points: tuple[InstalledEntryPoint, ...]
    paths: tuple[tuple[str, Stamp], ...]
    """Every ``sys.path`` entry (absolute) and its stamp."""
    files: tuple[tuple[str, Stamp], ...]
    """The metadata folders and files read for the entry points found, with their stamps."""


_TARGET = r"(?P<module>[\w.]+)\s*(?::\s*(?P<attr>[\w.]+)\s*)?(?:\[.*\]\s*)?$"
"""An entry point's target (compiled at the first load, not at every start)."""


def load_target(value: str) -> object:
    """Import what an entry point's ``value`` (``module`` or ``module:attr.attr``) names."""
    match = re.match(_TARGET, value)
    if match is None:
        raise ValueError(f"entry point target {value!r} is not 'module' or 'module:attribute'")
    import importlib

    obj: object = importlib.import_module(match["module"])
    for attr in (match["attr"] or "").split("."):
        if attr:
            obj = getattr(obj, attr)
    return obj


_PATH_FINDERS = (
    "importlib_metadata",
    "importlib.metadata",
    "importlib._bootstrap_external",
    "_frozen_importlib_external",
)
"""Modules whose distribution finders walk ``sys.path`` as :func:`scan` does (the
``importlib_metadata`` backport puts its own on ``sys.meta_path`` when imported)."""


def other_finders() -> list[str]:
    """Finders on ``sys.meta_path`` that find distributions, other than path finders.

    With any of them, only ``importlib.metadata`` itself knows what is installed.
    """
    found = []
    for finder in sys.meta_path:
        if not hasattr(finder, "find_distributions"):
            continue
        cls = finder if isinstance(finder, type) else type(finder)
        if not cls.__module__.startswith(_PATH_FINDERS):
            found.append(f"{cls.__module__}.{cls.__qualname__}")
    return found


def scan(path: Sequence[str]) -> Scan:
    """The libnet entry points of the distributions found on ``path`` (absolute entries)."""
    seen: set[str] = set()
    found: list[InstalledEntryPoint] = []
    paths: list[tuple[str, Stamp]] = []
    files: list[tuple[str, Stamp]] = []
    for entry in path:
        entry_stamp = stamp(entry)
        paths.append((entry, entry_stamp))
        if entry_stamp is None:
            continue
        if not os.path.isdir(entry):
            found.extend(_from_importlib(entry, seen))
            continue
        for key, folder in _metadata_folders(entry):
            if key in seen:
                continue  # an earlier path entry holds this distribution: it wins
            seen.add(key)
            eps = _read(os.path.join(folder, "entry_points.txt"))
            if eps is None or "[" + GROUP_PREFIX not in eps:
                continue
            meta_file = os.path.join(folder, "METADATA")
            meta = _read(meta_file, head=True)
            if meta is None:
                meta_file = os.path.join(folder, "PKG-INFO")
                meta = _read(meta_file, head=True) or ""
            name, version, requires = _head(meta)
            for group, ep_name, value in _sections(eps):
                found.append(InstalledEntryPoint(group, ep_name, value, name, version, requires))
            for file in (folder, os.path.join(folder, "entry_points.txt"), meta_file):
                files.append((file, stamp(file)))
    return Scan(tuple(found), tuple(paths), tuple(files))


def _metadata_folders(entry: str) -> Iterator[tuple[str, str]]:
    """(normalised name, folder) of each distribution's metadata in directory ``entry``."""
    try:
        with os.scandir(entry) as it:  # the entry types come with the listing: no stat each
            children = sorted((child.name, child.is_dir()) for child in it)
    except OSError:
        return
    base = os.path.basename(entry.rstrip(os.sep))
    if base.lower().endswith(".egg"):  # an egg on the path: its EGG-INFO
        for name, _ in children:
            if name.lower() == "egg-info":
                yield _key(base.rpartition(".")[0]), os.path.join(entry, name)
    for name, is_dir in children:
        if is_dir and name.lower().endswith((".dist-info", ".egg-info")):
            yield _key(os.path.splitext(name)[0]), os.path.join(entry, name)


def _key(stem: str) -> str:
    """The name part of a ``NAME-VERSION`` stem, normalised as importlib.metadata does."""
    return normalize_dist_name(stem.partition("-")[0]).replace("-", "_")


def _read(file: str, head: bool = False) -> str | None:
    """The text of ``file`` (with ``head``, at least its header: up to its first blank
    line, so a long description is not read), or None if it cannot be read."""
    try:
        with open(file, encoding="utf-8", errors="replace") as f:
            if not head:
                return f.read()
            text = f.read(8192)
            while "\n\n" not in text:
                more = f.read(65536)
                if not more:
                    break
                text += more
            return text
    except OSError:
        return None


def _sections(text: str) -> Iterator[tuple[str, str, str]]:
    """(group, name, value) of each entry point in a libnet group of ``entry_points.txt``."""
    group = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1].strip()
            continue
        if group.startswith(GROUP_PREFIX):
            name, sep, value = line.partition("=")
            if sep:
                yield group, name.strip(), value.strip()


_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def on_libnet(requirements: Iterable[str]) -> tuple[str, ...]:
    """The requirements that name libnet (parsed only when a plugin is loaded)."""
    out = []
    for req in requirements:
        match = _REQUIREMENT_NAME.match(req)
        if match and normalize_dist_name(match.group(1)) == "libnet":
            out.append(req.strip())
    return tuple(out)


def _head(text: str) -> tuple[str | None, str | None, tuple[str, ...]]:
    """Name, version and ``Requires-Dist`` on libnet, from the header lines of METADATA.

    The header is several times cheaper to read than a full parse with the email parser.
    """
    fields: dict[str, str] = {}
    requires: list[str] = []
    for line in text.splitlines():
        if not line:
            break
        key, sep, value = line.partition(":")
        if sep and key == "Requires-Dist":
            requires.append(value.strip())
        elif sep and key in ("Name", "Version") and key not in fields:
            fields[key] = value.strip()
    return fields.get("Name"), fields.get("Version"), on_libnet(requires)


def _from_importlib(entry: str, seen: set[str]) -> list[InstalledEntryPoint]:
    """The libnet entry points of a path entry that is no directory (a zip file)."""
    return _via_importlib(importlib_metadata().distributions(path=[entry]), seen)


def _via_importlib(dists: Iterable[Any], seen: set[str]) -> list[InstalledEntryPoint]:
    """The libnet entry points of ``importlib.metadata`` distributions; first name wins."""
    found: list[InstalledEntryPoint] = []
    for dist in dists:
        meta = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
        name, version, requires = _head(meta)
        key = _key(normalize_dist_name(name or ""))
        if not name or key in seen:
            continue
        seen.add(key)
        found.extend(
            InstalledEntryPoint(ep.group, ep.name, ep.value, name, version, requires)
            for ep in dist.entry_points
            if ep.group.startswith(GROUP_PREFIX)
        )
    return found


def importlib_metadata() -> Any:
    """``importlib.metadata`` of this interpreter (the backport before Python 3.12)."""
    if sys.version_info >= (3, 12):  # pragma: no cover - depends on the interpreter
        from importlib import metadata
    else:  # pragma: no cover
        import importlib_metadata as metadata
    return metadata


def scan_with_importlib() -> tuple[InstalledEntryPoint, ...]:
    """Every libnet entry point as ``importlib.metadata`` sees it, custom finders included."""
    return tuple(_via_importlib(importlib_metadata().distributions(), set()))
