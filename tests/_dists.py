"""Fake *installed* distributions: real ``.dist-info`` directories on ``sys.path``.

:class:`FakeDists` writes ``NAME-VERSION.dist-info/`` (``METADATA``, ``entry_points.txt``,
``RECORD``) and the plugin modules' source into a site directory and prepends that directory
to ``sys.path``, so ``importlib.metadata`` finds the distribution exactly as it finds one
that pip installed, and the entry points load through the ordinary import system.
:meth:`FakeDists.close` forgets the plugin modules again (``sys.modules`` and import caches);
the ``sys.path`` change is undone by the ``MonkeyPatch`` that made it.
"""

from __future__ import annotations

import importlib
import re
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

__all__ = ["DRIVER_GROUP", "FakeDist", "FakeDists"]

DRIVER_GROUP = "libnet.drivers"


@dataclass(frozen=True)
class FakeDist:
    """One distribution written by :meth:`FakeDists.install`."""

    name: str
    version: str
    site: Path
    dist_info: Path
    modules: tuple[str, ...]


class FakeDists:
    """Installs fake distributions into site directories under ``root``.

    Each site directory is prepended to ``sys.path`` when first used, so a site made later
    comes earlier on ``sys.path`` (and wins, as pip's would, when both hold one distribution).
    """

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self._root = root
        self._monkeypatch = monkeypatch
        self._sites: dict[str, Path] = {}
        self._modules: set[str] = set()
        self._names: set[str] = set()

    @property
    def names(self) -> frozenset[str]:
        """The names of the distributions installed so far."""
        return frozenset(self._names)

    def site(self, name: str = "site-packages") -> Path:
        """The site directory ``name``: created and put first on ``sys.path`` at first use."""
        path = self._sites.get(name)
        if path is None:
            path = self._root / name
            path.mkdir(parents=True)
            self._monkeypatch.syspath_prepend(str(path))
            self._sites[name] = path
        return path

    def install(
        self,
        name: str,
        version: str = "1.0",
        *,
        entry_points: Mapping[str, str] | None = None,
        modules: Mapping[str, str] | None = None,
        group: str = DRIVER_GROUP,
        requires: tuple[str, ...] = (),
        site: str = "site-packages",
    ) -> FakeDist:
        """Install distribution ``name``: ``entry_points`` maps entry-point names to targets
        (``"module"`` or ``"module:attr"``) in ``group``; ``modules`` maps dotted module names
        to their source, which is dedented."""
        root = self.site(site)
        written: list[Path] = []
        for module, source in (modules or {}).items():
            written.extend(self._write_module(root, module, source))
        dist_info = root / f"{_wheel_name(name)}-{version}.dist-info"
        dist_info.mkdir()
        metadata = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
        metadata += [f"Requires-Dist: {req}" for req in requires]
        _write(dist_info / "METADATA", "\n".join(metadata) + "\n", written)
        lines = [f"[{group}]"] + [f"{ep} = {target}" for ep, target in (entry_points or {}).items()]
        _write(dist_info / "entry_points.txt", "\n".join(lines) + "\n", written)
        record = [f"{p.relative_to(root).as_posix()},," for p in written]
        record.append(f"{dist_info.name}/RECORD,,")
        (dist_info / "RECORD").write_text("\n".join(record) + "\n")
        importlib.invalidate_caches()
        self._names.add(name)
        return FakeDist(name, version, root, dist_info, tuple(modules or ()))

    def _write_module(self, root: Path, module: str, source: str) -> list[Path]:
        parts = module.split(".")
        written: list[Path] = []
        for depth in range(1, len(parts)):
            init = root.joinpath(*parts[:depth], "__init__.py")
            if not init.exists():
                init.parent.mkdir(parents=True, exist_ok=True)
                _write(init, "", written)
        path = root.joinpath(*parts[:-1], f"{parts[-1]}.py")
        path.parent.mkdir(parents=True, exist_ok=True)
        _write(path, textwrap.dedent(source), written)
        self._modules.add(parts[0])
        return written

    @staticmethod
    def imported(module: str) -> bool:
        """Whether ``module`` has been imported (its import side effects have run)."""
        return module in sys.modules

    @staticmethod
    def module(module: str) -> ModuleType:
        """An imported plugin module; fails the test if it was never imported."""
        assert module in sys.modules, f"plugin module {module!r} was never imported"
        return sys.modules[module]

    def close(self) -> None:
        """Forget every plugin module written here, so the next test imports afresh."""
        for name in list(sys.modules):
            if name.partition(".")[0] in self._modules:
                del sys.modules[name]
        importlib.invalidate_caches()


def _wheel_name(name: str) -> str:
    """The distribution name as it appears in a ``.dist-info`` directory name."""
    return re.sub(r"[-_.]+", "_", name)


def _write(path: Path, text: str, written: list[Path]) -> None:
    path.write_text(text)
    written.append(path)
