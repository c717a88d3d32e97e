"""The built-in remote driver: dynamic drivers from entry points and Docker plugins.

:class:`RemoteManager` finds the network drivers the controller's registry lacks: first
among the ``libnet.drivers`` entry points (a :class:`~libnet.drivers.remote.group.PluginGroup`
registering each driver a plugin offers wrapped in a
:class:`~libnet.drivers.remote.proxy.RemoteDriver`), then among Docker plugins
(:class:`~libnet.dockerplugin.plugins.DockerPlugins`, made when one is first looked for).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from libnet._resolver import _Drivers
from libnet.driverapi import Capability, Driver
from libnet.drivers.remote.entrypoints import PluginFilter, PluginLoader
from libnet.drivers.remote.group import PluginGroup
from libnet.drivers.remote.index import Installed
from libnet.drivers.remote.proxy import RemoteDriver
from libnet.drivers.remote.sources import DockerDrivers, DockerSource
from libnet.registry import DriverRegistry

if TYPE_CHECKING:
    from libnet.dockerplugin.driver import LostStateFn

__all__ = ["DRIVER_GROUP", "RemoteManager"]

DRIVER_GROUP = "libnet.drivers"


class RemoteManager(_Drivers[Driver, Capability]):
    """Network drivers of one controller: registered, from entry points, Docker plugins."""

    def __init__(
        self,
        registry: DriverRegistry[Driver, Capability],
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
        installed: Installed | None = None,
    ) -> None:
        self.docker = DockerSource(
            registry,
            dirs=plugin_dirs,
            timeout=plugin_timeout,
            timeouts=plugin_timeouts,
            on_lost_state=on_lost_state,
            enabled=enabled,
        )
        self.entry_points = PluginGroup(
            registry,
            group=group,
            hook="libnet_driver_init",
            config=config,
            plugin_filter=plugin_filter,
            strict=strict,
            enabled=enabled,
            installed=installed,
            wrap=RemoteDriver,
        )
        super().__init__(
            registry,
            (self.entry_points, DockerDrivers(self.docker)),
            unavailable="network type {name!r} is not available: {reason}; run "
            "'libnet drivers' for details",
            unknown="no driver serves network type {name!r} (available: {known}); install "
            "a plugin package that provides it, then run 'libnet drivers'",
        )

    @property
    def loader(self) -> PluginLoader:
        """The entry points' loader."""
        return self.entry_points.loader
