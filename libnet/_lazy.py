"""Lazy re-exports (PEP 562): a package's public names, each imported on its first use.

A package's ``__init__`` names where each public name lives, imports them all under
``if TYPE_CHECKING:`` for type checkers, and hands attribute lookups to :class:`Exports`::

    _exports = Exports(__name__, {"libnet.store._api": ("Store", "KVOps")})

    def __getattr__(name: str) -> Any:
        return _exports.load(name)

so that importing the package, or one of its light modules, does not import its heavy ones.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["Exports"]


class Exports:
    """The public names of ``package`` and the module each is imported from."""

    def __init__(self, package: str, homes: Mapping[str, Iterable[str]]) -> None:
        self._package = package
        self.home = {name: module for module, names in homes.items() for name in names}

    def load(self, name: str) -> Any:
        """Import ``name`` from its module, keep it in the package, and return it."""
        module = self.home.get(name)
        if module is None:
            raise AttributeError(f"module {self._package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[self._package], name, value)
        return value
