"""Fake *installed* distributions for the core tests, on libnet.testing's installer.

:class:`FakeDists` writes ``NAME-VERSION.dist-info/`` (``METADATA``, ``entry_points.txt``,
``RECORD``) and the plugin modules' source into a site directory on ``sys.path`` through
:class:`libnet.testing.PluginInstaller`, so ``importlib.metadata`` finds the distribution
exactly as it finds one that pip installed. This module only adds the names the core tests
use: exact entry points and module sources, and checks of what was imported.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from libnet.testing import PluginInstaller

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

    Each site directory is put first on ``sys.path`` when first used, so a site made later
    comes earlier (and wins, as pip's would, when both hold one distribution).
    """

    def __init__(self, root: Path) -> None:
        self._installer = PluginInstaller(root)
        self._names: set[str] = set()

    @property
    def names(self) -> frozenset[str]:
        """The names of the distributions installed so far."""
        return frozenset(self._names)

    def site(self, name: str = "site-packages") -> Path:
        """The site directory ``name``: created and put first on ``sys.path`` at first use."""
        return self._installer.site(name)

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
        installed = self._installer.install_distribution(
            name,
            version,
            entry_points=entry_points or {},
            modules=modules,
            group=group,
            requires=requires,
            site=site,
        )
        self._names.add(name)
        return FakeDist(name, version, installed.site, installed.dist_info, tuple(modules or ()))

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
        """Take the sites off ``sys.path`` and forget their modules, for the next test."""
        self._installer.close()
