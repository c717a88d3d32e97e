"""The discovery index: the result of the last scan, trusted while ``stat`` says it holds.

:func:`installed` gives every libnet entry point of the installed distributions. It looks
first in a small JSON file in the cache directory (:func:`cache_dir`), named after a hash
of what decides what is installed: the interpreter, its version and the absolute
``sys.path`` (so ``PYTHONPATH``, a virtual environment, a ``.pth`` file or a working
directory on the path each have their own file). The file is trusted only if every path
entry and every metadata file the scan used still has the stamp the scan recorded
(``stat``: type, inode, device, mtime, size) and no stamp is *racy*, that is younger than
:data:`RACY_NS` before the scan began (a change within the file system's clock tick
would not show in the stamp). pip installing, upgrading or removing a distribution
changes the folder that holds it, so the stamp of that path entry.

The index is never worse than no index: a file that is missing, corrupt, unreadable,
written by another interpreter, or not owned by this user (or root), or writable by
others, is ignored and replaced; writes are atomic (a new file renamed over the old), so
two processes writing at once leave one complete file. ``LIBNET_NO_INDEX=1`` turns it off.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from libnet.drivers.remote.installed import (
    InstalledEntryPoint,
    Scan,
    other_finders,
    scan,
    scan_with_importlib,
    stamp,
)

__all__ = [
    "CACHE_DIR_ENV",
    "NO_INDEX_ENV",
    "RACY_NS",
    "SYSTEM_CACHE_DIR",
    "Installed",
    "cache_dir",
    "index_file",
    "installed",
]

NO_INDEX_ENV = "LIBNET_NO_INDEX"
"""Set to 1 to scan the installed distributions at every start, without an index."""

CACHE_DIR_ENV = "LIBNET_CACHE_DIR"
"""Names the cache directory, before the default (:func:`cache_dir`)."""

SYSTEM_CACHE_DIR = Path("/var/cache/libnet")
"""The cache directory of root, beside the state in /var/lib/libnet."""

FORMAT = 1
"""The layout of the index file; part of its key."""

RACY_NS = 2_000_000_000
"""A stamp this close to the scan (or later) may hide a change made in the same clock
tick: the index is not trusted, and the next start scans again."""

_MAX_AGE = 30 * 24 * 3600
"""Index files of other keys older than this are removed when an index is written."""

_MAX_FILES = 64
"""At most this many index files of other keys are kept."""


@dataclass(frozen=True)
class Installed:
    """The libnet entry points installed, and where they came from (``index``, ``scan``,
    ``importlib`` when a custom finder made the index unusable)."""

    entry_points: tuple[InstalledEntryPoint, ...]
    source: str

    def group(self, group: str) -> tuple[InstalledEntryPoint, ...]:
        """The entry points of one group, in the order found."""
        return tuple(ep for ep in self.entry_points if ep.group == group)


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$LIBNET_CACHE_DIR``, else ``$XDG_CACHE_HOME/libnet`` (when absolute), else
    ``/var/cache/libnet`` for root and ``~/.cache/libnet`` for other users."""
    env = os.environ if env is None else env
    if env.get(CACHE_DIR_ENV):
        return Path(env[CACHE_DIR_ENV])
    xdg = env.get("XDG_CACHE_HOME", "")
    if xdg and os.path.isabs(xdg):
        return Path(xdg) / "libnet"
    if os.geteuid() == 0:
        return SYSTEM_CACHE_DIR
    return Path(env.get("HOME") or str(Path.home())) / ".cache" / "libnet"


def _enabled() -> bool:
    return os.environ.get(NO_INDEX_ENV, "").strip().lower() not in {"1", "true", "yes", "on"}


def _key() -> dict[str, Any]:
    return {
        "format": FORMAT,
        "executable": sys.executable,
        "version": sys.version,
        "path": [os.path.abspath(entry or os.curdir) for entry in sys.path],
    }


def index_file(key: Mapping[str, Any] | None = None) -> Path:
    """The index file for ``key`` (this interpreter and ``sys.path`` by default)."""
    blob = json.dumps(_key() if key is None else key, sort_keys=True).encode()
    # The file holds its key, checked at every read: a clash of names costs a scan, never
    # a wrong answer, so a checksum (no hashlib, whose import costs more) names it.
    return cache_dir() / f"discovery-{zlib.crc32(blob):08x}{zlib.adler32(blob):08x}.json"


def installed(*, refresh: bool = False) -> Installed:
    """Every libnet entry point installed: from the index when it holds, else scanned.

    ``refresh`` scans even when the index holds (``libnet drivers --refresh``). A scan
    writes the index; failing to write it is not an error.
    """
    if other_finders():  # only importlib.metadata knows what such finders add
        return Installed(scan_with_importlib(), "importlib")
    key = _key()
    use_index = _enabled()
    file = index_file(key) if use_index else None
    if file is not None and not refresh:
        found = _load(file, key)
        if found is not None:
            return Installed(found, "index")
    started = time.time_ns()
    result = scan(key["path"])
    if file is not None:
        _save(file, key, started, result)
    return Installed(result.entry_points, "scan")


def _load(file: Path, key: Mapping[str, Any]) -> tuple[InstalledEntryPoint, ...] | None:
    """The entry points of a valid, current index file, else None (never raises)."""
    try:
        with open(file, "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_uid not in (0, os.geteuid()) or st.st_mode & 0o022:
                return None  # someone else could have chosen what gets imported
            data = json.loads(f.read())
        if data["key"] != key:
            return None
        racy = int(data["scanned_at"]) - RACY_NS
        for path, recorded in [*data["paths"], *data["files"]]:
            now = stamp(path)  # compared as JSON gives it back: a list, or None
            if (None if now is None else list(now)) != recorded:
                return None
            if now is not None and now[3] >= racy:
                return None
        return tuple(
            InstalledEntryPoint(g, n, v, d, ver, tuple(req))
            for g, n, v, d, ver, req in data["entry_points"]
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save(file: Path, key: Mapping[str, Any], started: int, result: Scan) -> None:
    """Write the index atomically: a new file, renamed over the old one."""
    data = {
        "key": key,
        "scanned_at": started,
        "paths": result.paths,
        "files": result.files,
        "entry_points": [
            (ep.group, ep.name, ep.value, ep.distribution, ep.version, ep.requires)
            for ep in result.entry_points
        ],
    }
    tmp = file.with_name(f".{file.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps(data, separators=(",", ":")))  # dump() encodes in Python
        os.replace(tmp, file)
        _prune(file)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def _prune(keep: Path) -> None:
    """Remove the files of other keys (stray temporary files too) older than a month, and
    the oldest beyond :data:`_MAX_FILES` (each working directory of ``python -c`` is a key)."""
    limit = time.time() - _MAX_AGE
    others: list[tuple[float, Path]] = []
    for other in keep.parent.glob("*discovery-*"):
        with contextlib.suppress(OSError):
            if other != keep:
                others.append((other.stat().st_mtime, other))
    others.sort(reverse=True)
    for n, (mtime, other) in enumerate(others):
        if mtime < limit or n >= _MAX_FILES:
            with contextlib.suppress(OSError):
                other.unlink()
