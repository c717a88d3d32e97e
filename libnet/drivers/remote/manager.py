"""The built-in remote driver: dynamic drivers from entry points and Docker plugins.

Given the controller's :class:`~libnet.registry.DriverRegistry` as DriverCallback, it
enumerates the ``libnet.drivers`` entry points once, loads a plugin when one of its network
types is first used (or all at once), and registers each driver the plugin offers wrapped
in a :class:`~libnet.drivers.remote.proxy.RemoteDriver`. A network type no entry point
names is looked up among Docker plugins (:class:`~libnet.dockerplugin.plugins.DockerPlugins`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from libnet.dockerplugin.discovery import PluginDirs
from libnet.dockerplugin.plugins import DockerPlugins
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

if TYPE_CHECKING:
    from libnet.dockerplugin.driver import LostStateFn

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
        plugin_dirs: Iterable[str | os.PathLike[str]] | None = None,
        plugin_timeout: float | None = None,
        plugin_timeouts: Mapping[str, float] | None = None,
        on_lost_state: LostStateFn | None = None,
    ) -> None:
        self._registry = registry
        self.docker = DockerPlugins(
            registry,
            dirs=PluginDirs.resolve(plugin_dirs) if enabled else PluginDirs((), ()),
            timeout=plugin_timeout,
            timeouts=plugin_timeouts,
            on_lost_state=on_lost_state,
        )
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
        """Load the plugin serving ``network_type``; True if the type is now registered.

        An entry point naming the type wins; otherwise a Docker plugin of that name is
        looked for, and activated if found.
        """
        if self.loader.load(network_type):
            return True
        if self.loader.advertises(network_type):
            return False
        return self.docker.resolve(network_type)

    def available(self, network_type: str) -> bool:
        """Whether an entry point or a reachable Docker plugin could serve the type."""
        if network_type in self.loader.specs:
            return self.loader.status(network_type) != "failed"
        return not self.loader.advertises(network_type) and self.docker.available(network_type)

    def load_all(self) -> None:
        """Load every enabled plugin now (eager loading)."""
        self.loader.load_all()

    def failure_reason(self, network_type: str) -> str | None:
        """Why the plugin for ``network_type`` failed or is disabled, or None."""
        reason = self.loader.failure_reason(network_type)
        return reason if reason is not None else self.docker.failure_reason(network_type)

    def infos(self) -> Iterable[DriverInfo]:
        """One row per entry point (loaded, not loaded, failed, disabled) and Docker plugin."""
        rows = self.loader.infos(self._capability)
        rows.extend(self.docker.infos(shadowed=self.loader.specs))
        return rows

    def _capability(self, name: str) -> Capability | None:
        registered = self._registry.get(name)
        return registered.capability if registered else None
