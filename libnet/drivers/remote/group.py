"""One entry-point group of driver plugins, for any kind of driver.

A :class:`PluginGroup` finds the entry points of its group (``libnet.drivers``,
``libnet.ipam``) without importing them, loads a plugin when one of its names is first
needed (or all at once), and registers what the plugin offers in the group's
:class:`~libnet.registry.DriverRegistry`, optionally wrapped first (network drivers go
behind a :class:`~libnet.drivers.remote.proxy.RemoteDriver`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, Generic

from libnet.drivers.remote.entrypoints import (
    Discovery,
    PluginFilter,
    PluginLoader,
    PluginSpec,
    discover,
)
from libnet.drivers.remote.index import Installed
from libnet.errors import DriverRegistrationError
from libnet.registry import (
    C,
    D,
    DriverInfo,
    DriverOrigin,
    DriverRegistry,
    check_driver_methods,
)

__all__ = ["PluginGroup"]


class PluginGroup(Generic[D, C]):
    """Finds, loads and registers the plugins of entry-point ``group`` in ``registry``.

    ``hook`` is the init hook a plugin implements; the callback it receives offers the
    registry kind's callback method. ``wrap(name, driver, origin)``, if given, is what gets
    registered in place of each driver, once the driver has all the required methods.
    ``installed`` is what one pass found for every group (else the group looks itself).
    """

    def __init__(
        self,
        registry: DriverRegistry[D, C],
        *,
        group: str,
        hook: str,
        config: Mapping[str, Mapping[str, Any]],
        plugin_filter: PluginFilter,
        strict: bool,
        enabled: bool = True,
        wrap: Callable[[str, D, DriverOrigin], D] | None = None,
        installed: Installed | None = None,
    ) -> None:
        self._registry = registry
        self._wrap = wrap
        kind = registry.kind
        found = discover(group, plugin_filter, kind.label, installed) if enabled else None
        self.loader = PluginLoader(
            found or Discovery((), (), ()),
            hook=hook,
            callback_method=kind.callback_method,
            register=self._register,
            unregister=registry.remove,
            config=config,
            reserved=registry.builtin_names,
            registration_error=DriverRegistrationError,
            strict=strict,
        )

    def _register(self, spec: PluginSpec, name: str, driver: Any, capability: Any) -> None:
        origin = DriverOrigin("entrypoint", spec.name, spec.distribution, spec.version)
        if self._wrap is not None:
            kind = self._registry.kind
            # The wrapper implements every method: check the plugin's driver first.
            check_driver_methods(name, driver, kind.missing_methods, kind.base_name)
            driver = self._wrap(name, driver, origin)
        self._registry.add(name, driver, capability, origin)

    def names(self) -> Collection[str]:
        """The names the group's usable entry points advertise."""
        return self.loader.specs.keys()

    def resolve(self, name: str) -> bool:
        """Load the plugin advertising ``name``; True if ``name`` is now registered."""
        return self.loader.load(name)

    def claims(self, name: str) -> bool:
        """Whether an entry point names ``name``: usable, disabled or lost in a conflict."""
        return self.loader.advertises(name)

    def available(self, name: str) -> bool:
        """Whether a usable entry point names ``name`` and has not failed to load."""
        return name in self.loader.specs and self.loader.status(name) != "failed"

    def load_all(self) -> None:
        """Load every enabled plugin now (eager loading)."""
        self.loader.load_all()

    def failure_reason(self, name: str) -> str | None:
        """Why the plugin advertising ``name`` failed or is disabled, or None."""
        return self.loader.failure_reason(name)

    def infos(self, shadowed: Collection[str] = ()) -> list[DriverInfo]:
        """One row per entry point: loaded, not loaded, failed or disabled.

        Entry points take precedence over later sources, so ``shadowed`` is ignored.
        """
        return self.loader.infos(self._capability)

    def _capability(self, name: str) -> C | None:
        registered = self._registry.get(name)
        return registered.capability if registered else None
