"""Docker plugins as the last source of a driver resolver (:mod:`libnet._resolver`).

A Docker plugin is found by name only, never listed all at once, and decides about every
name that reaches it: :class:`DockerDrivers` for network drivers (registered by
:class:`~libnet.dockerplugin.plugins.DockerPlugins` itself), :class:`DockerIpams` for
IPAM drivers (activated and registered here).
"""

from __future__ import annotations

from collections.abc import Collection

from libnet.dockerplugin.plugins import DockerPlugins
from libnet.errors import PluginNotFoundError
from libnet.ipam._api import Ipam, IpamCapability
from libnet.registry import DriverInfo, DriverRegistry

__all__ = ["DockerDrivers", "DockerIpams"]


class _Docker:
    """Docker plugins, the last source: found by name only, never all at once."""

    def __init__(self, docker: DockerPlugins) -> None:
        self._docker = docker

    def claims(self, name: str) -> bool:
        return True

    def available(self, name: str) -> bool:
        return self._docker.available(name)

    def names(self) -> Collection[str]:
        return ()

    def load_all(self) -> None:
        pass


class DockerDrivers(_Docker):
    """Docker network plugins, registered by :class:`DockerPlugins` itself."""

    def resolve(self, name: str) -> bool:
        return self._docker.resolve(name)

    def failure_reason(self, name: str) -> str | None:
        return self._docker.failure_reason(name)

    def infos(self, shadowed: Collection[str]) -> list[DriverInfo]:
        return self._docker.infos(shadowed=shadowed)


class DockerIpams(_Docker):
    """Docker IPAM plugins: activated on first use, registered here; errors propagate."""

    def __init__(
        self, docker: DockerPlugins, registry: DriverRegistry[Ipam, IpamCapability]
    ) -> None:
        super().__init__(docker)
        self._registry = registry

    def resolve(self, name: str) -> bool:
        try:
            ipam, capability = self._docker.ipam(name)
        except PluginNotFoundError:
            return False
        self._registry.add(name, ipam, capability, ipam.origin)
        return True

    def failure_reason(self, name: str) -> str | None:
        return None

    def infos(self, shadowed: Collection[str]) -> list[DriverInfo]:
        return []
