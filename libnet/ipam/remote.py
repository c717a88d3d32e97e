"""IPAM drivers from ``libnet.ipam`` entry points and Docker IPAM plugins, found by the
same machinery as network drivers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from libnet._resolver import _Drivers
from libnet.drivers.remote.entrypoints import PluginFilter, PluginLoader
from libnet.drivers.remote.group import PluginGroup
from libnet.drivers.remote.index import Installed
from libnet.drivers.remote.sources import DockerIpams, DockerSource
from libnet.ipam._api import Ipam, IpamCapability
from libnet.registry import DriverRegistry

__all__ = ["IPAM_GROUP", "IpamPlugins"]

IPAM_GROUP = "libnet.ipam"


class IpamPlugins(_Drivers[Ipam, IpamCapability]):
    """IPAM drivers of one controller: registered, from entry points, Docker plugins.

    Without ``docker`` only the ``libnet.ipam`` entry points are looked at.
    """

    def __init__(
        self,
        registry: DriverRegistry[Ipam, IpamCapability],
        *,
        config: Mapping[str, Mapping[str, Any]],
        plugin_filter: PluginFilter,
        strict: bool,
        enabled: bool = True,
        docker: DockerSource | None = None,
        installed: Installed | None = None,
    ) -> None:
        self.entry_points = PluginGroup(
            registry,
            group=IPAM_GROUP,
            hook="libnet_ipam_init",
            config=config,
            plugin_filter=plugin_filter,
            strict=strict,
            enabled=enabled,
            installed=installed,
        )
        super().__init__(
            registry,
            (self.entry_points,)
            if docker is None
            else (self.entry_points, DockerIpams(docker, registry)),
            unavailable="IPAM driver {name!r} is not available: {reason}",
            unknown="no IPAM driver named {name!r} (available: {known}); install a plugin "
            "package that provides it, then run 'libnet ipam ls'",
        )

    @property
    def loader(self) -> PluginLoader:
        """The entry points' loader."""
        return self.entry_points.loader
