"""IPAM drivers from ``libnet.ipam`` entry points, loaded by the same machinery as drivers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from libnet.drivers.remote.entrypoints import (
    Discovery,
    PluginFilter,
    PluginLoader,
    PluginSpec,
    discover,
)
from libnet.errors import DriverRegistrationError
from libnet.ipam._registry import IpamRegistry
from libnet.registry import DriverInfo, DriverOrigin

IPAM_GROUP = "libnet.ipam"


class IpamPlugins:
    """Finds and loads IPAM plugins lazily, registering their drivers in an IpamRegistry."""

    def __init__(
        self,
        registry: IpamRegistry,
        *,
        config: Mapping[str, Mapping[str, Any]],
        plugin_filter: PluginFilter,
        strict: bool,
        enabled: bool = True,
    ) -> None:
        self._registry = registry
        found = discover(IPAM_GROUP, plugin_filter, "IPAM driver") if enabled else None
        self.loader = PluginLoader(
            found or Discovery((), (), ()),
            hook="libnet_ipam_init",
            callback_method="register_ipam_driver",
            register=self._register,
            unregister=registry.remove,
            config=config,
            reserved=registry.builtin_names,
            registration_error=DriverRegistrationError,
            strict=strict,
        )

    def _register(self, spec: PluginSpec, name: str, driver: Any, capability: Any) -> None:
        origin = DriverOrigin("entrypoint", spec.name, spec.distribution, spec.version)
        self._registry.add(name, driver, capability, origin)

    def resolve(self, name: str) -> bool:
        """Load the plugin advertising IPAM driver ``name``; True if it is now registered."""
        return self.loader.load(name)

    def infos(self) -> list[DriverInfo]:
        """One row per ``libnet.ipam`` entry point."""
        return self.loader.infos(self._capability)

    def _capability(self, name: str) -> Any:
        registered = self._registry.get(name)
        return registered.capability if registered else None
