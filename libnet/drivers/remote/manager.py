"""The built-in remote driver: dynamic drivers from ``libnet.drivers`` entry points.

Given the controller's :class:`~libnet.registry.DriverRegistry` as DriverCallback, it
enumerates the entry points once, loads a plugin when one of its network types is first
used (or all at once), and registers each driver the plugin offers wrapped in a
:class:`~libnet.drivers.remote.proxy.RemoteDriver`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from libnet.driverapi import Capability
from libnet.drivers.remote.entrypoints import (
    Discovery,
    PluginFilter,
    PluginLoader,
    PluginSpec,
    discover,
)
from libnet.drivers.remote.proxy import RemoteDriver
from libnet.errors import DriverRegistrationError
from libnet.registry import DriverInfo, DriverOrigin, DriverRegistry, check_driver_methods

__all__ = ["DRIVER_GROUP", "RemoteManager"]

DRIVER_GROUP = "libnet.drivers"


class RemoteManager:
    """Finds, loads and registers dynamic network drivers for one controller."""

    def __init__(
        self,
        registry: DriverRegistry,
        *,
        config: Mapping[str, Mapping[str, Any]],
        plugin_filter: PluginFilter,
        strict: bool,
        enabled: bool = True,
        group: str = DRIVER_GROUP,
    ) -> None:
        self._registry = registry
        found = discover(group, plugin_filter) if enabled else None
        self.loader = PluginLoader(
            found or Discovery((), (), ()),
            hook="libnet_driver_init",
            callback_method="register_driver",
            register=self._register,
            unregister=registry.remove,
            config=config,
            reserved=registry.builtin_names,
            registration_error=DriverRegistrationError,
            strict=strict,
        )

    def _register(self, spec: PluginSpec, name: str, driver: Any, capability: Any) -> None:
        origin = DriverOrigin("entrypoint", spec.name, spec.distribution, spec.version)
        check_driver_methods(name, driver)  # the proxy wrapping it implements them all
        self._registry.add(name, RemoteDriver(name, driver, origin), capability, origin)

    def resolve(self, network_type: str) -> bool:
        """Load the plugin advertising ``network_type``; True if the type is now registered."""
        return self.loader.load(network_type)

    def load_all(self) -> None:
        """Load every enabled plugin now (eager loading)."""
        self.loader.load_all()

    def failure_reason(self, network_type: str) -> str | None:
        """Why the plugin for ``network_type`` failed or is disabled, or None."""
        failure = self.loader.failure(network_type)
        if failure is not None:
            return failure.message()
        for spec in self.loader.disabled:
            if spec.name == network_type:
                return (
                    f"{spec.describe()} is disabled by LIBNET_PLUGINS / LIBNET_DISABLE_PLUGINS "
                    "(or the controller's plugins_allow / plugins_deny)"
                )
        return None

    def infos(self) -> Iterable[DriverInfo]:
        """One row per entry point: loaded, not loaded, failed or disabled."""
        rows: list[DriverInfo] = []
        for spec in self.loader.specs.values():
            registered = self._registry.get(spec.name)
            failure = self.loader.failure(spec.name)
            rows.append(
                _row(
                    spec,
                    self.loader.status(spec.name),
                    registered.capability if registered else None,
                    failure.error if failure else None,
                    failure.traceback if failure else None,
                )
            )
        rows.extend(
            _row(failure.spec, "failed", None, failure.error, None)
            for failure in self.loader.conflicts
        )
        rows.extend(_row(spec, "disabled", None, None, None) for spec in self.loader.disabled)
        return rows


def _row(
    spec: PluginSpec,
    status: str,
    capability: Capability | None,
    error: str | None,
    tb: str | None,
) -> DriverInfo:
    return DriverInfo(
        name=spec.name,
        source="entrypoint",
        status=status,
        capability=capability,
        entry_point=spec.value,
        distribution=spec.distribution,
        version=spec.version,
        error=error,
        traceback=tb,
    )
