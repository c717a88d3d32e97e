"""Docker plugins as the last source of a driver resolver (:mod:`libnet._resolver`).

A Docker plugin is found by name only, never listed all at once, and decides about every
name that reaches it: :class:`DockerDrivers` for network drivers (registered by
:class:`~libnet.dockerplugin.plugins.DockerPlugins` itself), :class:`DockerIpams` for
IPAM drivers (activated and registered here). Both consult one :class:`DockerSource`,
which makes the controller's :class:`~libnet.dockerplugin.plugins.DockerPlugins` (and
imports :mod:`libnet.dockerplugin`) only when a Docker plugin is first looked for.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING

from libnet._checks import path_list, positive_seconds
from libnet.errors import PluginNotFoundError
from libnet.registry import DriverInfo, DriverRegistry

if TYPE_CHECKING:
    from libnet.dockerplugin.driver import LostStateFn
    from libnet.dockerplugin.plugins import DockerPlugins
    from libnet.driverapi import Capability, Driver
    from libnet.ipam._api import Ipam, IpamCapability

__all__ = ["DockerDrivers", "DockerIpams", "DockerSource"]


class DockerSource:
    """A controller's Docker plugins, made on first use; the settings are checked now.

    ``dirs`` are the plugin directories (None: ``$LIBNET_PLUGIN_DIRS``, else Docker's, read
    at the first lookup); ``enabled=False`` searches none.
    """

    def __init__(
        self,
        registry: DriverRegistry[Driver, Capability],
        *,
        dirs: Iterable[str | os.PathLike[str]] | None = None,
        timeout: float | None = None,
        timeouts: Mapping[str, float] | None = None,
        on_lost_state: LostStateFn | None = None,
        enabled: bool = True,
    ) -> None:
        self._registry = registry
        self._dirs = () if not enabled else None if dirs is None else path_list(dirs, "plugin_dirs")
        self._timeout = None if timeout is None else positive_seconds(timeout, "plugin_timeout")
        self._timeouts = {
            str(k): positive_seconds(v, f"plugin_timeouts[{k!r}]")
            for k, v in (timeouts or {}).items()
        }
        self._on_lost_state = on_lost_state
        self._plugins: DockerPlugins | None = None
        self._lock = threading.Lock()

    def get(self) -> DockerPlugins:
        """The Docker plugins, made now if need be."""
        with self._lock:
            if self._plugins is None:
                from libnet.dockerplugin.discovery import PluginDirs
                from libnet.dockerplugin.plugins import DockerPlugins

                self._plugins = DockerPlugins(
                    self._registry,
                    dirs=PluginDirs.resolve(self._dirs),
                    timeout=self._timeout,
                    timeouts=self._timeouts,
                    on_lost_state=self._on_lost_state,
                )
            return self._plugins

    def made(self) -> DockerPlugins | None:
        """The Docker plugins if any was looked for yet, else None (nothing is made)."""
        return self._plugins


class _Docker:
    """Docker plugins, the last source: found by name only, never all at once."""

    def __init__(self, docker: DockerSource) -> None:
        self._docker = docker

    def claims(self, name: str) -> bool:
        return True

    def available(self, name: str) -> bool:
        return self._docker.get().available(name)

    def names(self) -> Collection[str]:
        return ()

    def load_all(self) -> None:
        pass


class DockerDrivers(_Docker):
    """Docker network plugins, registered by :class:`DockerPlugins` itself."""

    def resolve(self, name: str) -> bool:
        return self._docker.get().resolve(name)

    def failure_reason(self, name: str) -> str | None:
        plugins = self._docker.made()
        return None if plugins is None else plugins.failure_reason(name)

    def infos(self, shadowed: Collection[str]) -> list[DriverInfo]:
        return self._docker.get().infos(shadowed=shadowed)


class DockerIpams(_Docker):
    """Docker IPAM plugins: activated on first use, registered here; errors propagate."""

    def __init__(
        self, docker: DockerSource, registry: DriverRegistry[Ipam, IpamCapability]
    ) -> None:
        super().__init__(docker)
        self._registry = registry

    def resolve(self, name: str) -> bool:
        try:
            ipam, capability = self._docker.get().ipam(name)
        except PluginNotFoundError:
            return False
        self._registry.add(name, ipam, capability, ipam.origin)
        return True

    def failure_reason(self, name: str) -> str | None:
        return None

    def infos(self, shadowed: Collection[str]) -> list[DriverInfo]:
        return []
