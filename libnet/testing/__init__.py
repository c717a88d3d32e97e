"""libnet.testing: a pytest plugin for driver authors (PYTEST_DONT_REWRITE).

Activate it with ``pytest -p libnet.testing`` or ``pytest_plugins = ["libnet.testing"]`` in
a conftest. It provides the fixtures ``libnet_controller``, ``make_controller``,
``install_plugin`` and ``broken_distribution``, and ``pytest -p libnet.testing
--libnet-driver NAME`` runs the conformance suite against an installed driver. The suite
itself is :class:`DriverConformance`, a test class to subclass; :class:`DriverStoreConformance`
is the same for a global store's watches, leases and DriverStore.

This module stays cheap to import (pytest imports it to reach the option module): the
public names load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from libnet.testing._contract import ConformanceWarning, ContractViolation
    from libnet.testing._install import (
        BROKEN_KINDS,
        BrokenKind,
        InstalledPlugin,
        PluginInstaller,
    )
    from libnet.testing._store_suite import DriverStoreConformance
    from libnet.testing._subject import ConformanceSubject
    from libnet.testing._suite import DriverConformance

pytest_plugins = ["libnet.testing._plugin"]

__all__ = [
    "BROKEN_KINDS",
    "BrokenKind",
    "ConformanceSubject",
    "ConformanceWarning",
    "ContractViolation",
    "DriverConformance",
    "DriverStoreConformance",
    "InstalledPlugin",
    "PluginInstaller",
]

_HOME = {
    "BROKEN_KINDS": "libnet.testing._install",
    "BrokenKind": "libnet.testing._install",
    "ConformanceSubject": "libnet.testing._subject",
    "ConformanceWarning": "libnet.testing._contract",
    "ContractViolation": "libnet.testing._contract",
    "DriverConformance": "libnet.testing._suite",
    "DriverStoreConformance": "libnet.testing._store_suite",
    "InstalledPlugin": "libnet.testing._install",
    "PluginInstaller": "libnet.testing._install",
}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
