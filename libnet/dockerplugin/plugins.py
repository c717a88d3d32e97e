"""Docker plugins, client side: found by name, activated on first use, registered as drivers.

:class:`DockerPlugins` is the part of the remote driver that reaches out-of-process
plugins speaking Docker's plugin protocol. A network type found neither among libnet's
drivers nor among entry points is looked up in the plugin directories
(:mod:`~libnet.dockerplugin.discovery`); a plugin found there is activated
(``/Plugin.Activate`` must list ``NetworkDriver``), asked for its capabilities, and
registered through the controller's driver callback as a
:class:`~libnet.dockerplugin.driver.DockerDriver` with origin
``DriverOrigin("docker-plugin", address=URL)``. A plugin that is not found is never
contacted, so an unknown network type fails at once.

The HTTP machinery (:mod:`~libnet.dockerplugin.client`) is imported only when a
plugin is found. Public names: :class:`DockerPlugins`, and loaded on first use
:class:`DockerDriver`, :class:`DockerIpam`, :class:`DockerPlugin` and :class:`PluginClient`;
the ``Plugin*Error`` classes come from :mod:`libnet.errors`.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from libnet._checks import positive_seconds
from libnet.dockerplugin.discovery import PluginAddress, PluginDirs
from libnet.errors import (
    DriverRegistrationError,
    LibnetError,
    PluginCallError,
    PluginError,
    PluginNotFoundError,
    PluginProtocolError,
    PluginSpecError,
    PluginTimeoutError,
    PluginUnavailableError,
)
from libnet.registry import DriverInfo, DriverRegistry, check_driver_name

if TYPE_CHECKING:
    from libnet.dockerplugin.client import DEFAULT_TIMEOUT, RETRY_BUDGET, DockerPlugin, PluginClient
    from libnet.dockerplugin.driver import DockerDriver, LostStateFn
    from libnet.dockerplugin.ipam import DockerIpam
    from libnet.driverapi import Capability
    from libnet.ipam._api import IpamCapability

__all__ = [
    "DEFAULT_TIMEOUT",
    "RETRY_BUDGET",
    "DockerDriver",
    "DockerIpam",
    "DockerPlugin",
    "DockerPlugins",
    "PluginAddress",
    "PluginCallError",
    "PluginClient",
    "PluginDirs",
    "PluginError",
    "PluginNotFoundError",
    "PluginProtocolError",
    "PluginSpecError",
    "PluginTimeoutError",
    "PluginUnavailableError",
]

log = logging.getLogger("libnet.plugins")

_LAZY = {
    "DEFAULT_TIMEOUT": "client",
    "RETRY_BUDGET": "client",
    "DockerPlugin": "client",
    "PluginClient": "client",
    "DockerDriver": "driver",
    "DockerIpam": "ipam",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"libnet.dockerplugin.{module}"), name)
    globals()[name] = value
    return value


_DEFAULT_TIMEOUT = 30.0


class DockerPlugins:
    """Finds, activates and registers Docker network plugins for one controller.

    ``dirs`` are the plugin directories; ``timeout`` bounds every call to a plugin and
    ``timeouts`` sets it per plugin name. ``on_lost_state(network_type, nid, eid)`` is
    called when a plugin restarted or lost its networks (see
    :mod:`~libnet.dockerplugin.driver`).
    """

    def __init__(
        self,
        registry: DriverRegistry,
        *,
        dirs: PluginDirs | None = None,
        timeout: float | None = None,
        timeouts: Mapping[str, float] | None = None,
        on_lost_state: LostStateFn | None = None,
    ) -> None:
        self._registry = registry
        self.dirs = dirs if dirs is not None else PluginDirs.resolve()
        self.timeout = positive_seconds(
            _DEFAULT_TIMEOUT if timeout is None else timeout, "plugin_timeout"
        )
        self.timeouts = {
            str(k): positive_seconds(v, f"plugin_timeouts[{k!r}]")
            for k, v in (timeouts or {}).items()
        }
        self.on_lost_state = on_lost_state
        self._plugins: dict[str, DockerPlugin] = {}
        self._failures: dict[str, str] = {}
        self._lock = threading.RLock()

    @property
    def enabled(self) -> bool:
        """Whether any directory is searched."""
        return self.dirs.enabled

    def plugins(self) -> dict[str, DockerPlugin]:
        """The plugins contacted so far, by name."""
        with self._lock:
            return dict(self._plugins)

    def lookup(self, name: str) -> PluginAddress | None:
        """Where plugin ``name`` listens, without contacting it; None if not found.

        Raises PluginSpecError for a spec file that cannot be used.
        """
        if not self.enabled:
            return None
        try:
            check_driver_name(name)
        except DriverRegistrationError:
            return None
        return self.dirs.find(name)

    def _plugin(self, address: PluginAddress, interface: str) -> DockerPlugin:
        """The plugin at ``address``, activated, implementing ``interface``."""
        from libnet.dockerplugin.client import DockerPlugin

        plugin = self._plugins.get(address.name)
        if plugin is None or plugin.address != address:
            timeout = self.timeouts.get(address.name, self.timeout)
            plugin = DockerPlugin(address, timeout=timeout)
            self._plugins[address.name] = plugin
        if not plugin.activations or plugin.restarted():
            plugin.activate()
        plugin.require(interface)
        return plugin

    def activate(self, name: str, interface: str) -> DockerPlugin:
        """Look up plugin ``name`` and activate it; PluginNotFoundError if there is none."""
        with self._lock:
            address = self.lookup(name)
            if address is None:
                raise PluginNotFoundError(
                    f"Docker plugin {name!r} not found (looked for {name}.sock, {name}.spec "
                    f"and {name}.json in the plugin directories)"
                )
            return self._plugin(address, interface)

    def resolve(self, network_type: str) -> bool:
        """Activate and register the Docker plugin named ``network_type``, if there is one.

        True if the type is now registered. A failure is remembered for
        :meth:`failure_reason` and tried again on the next use.
        """
        if not self.enabled:
            return False
        with self._lock:
            if self._registry.get(network_type) is not None:
                return True
            try:
                address = self.lookup(network_type)
            except PluginSpecError as exc:
                self._failures[network_type] = str(exc)
                return False
            if address is None:
                self._failures.pop(network_type, None)
                return False
            from libnet.dockerplugin.api import NETWORK_DRIVER
            from libnet.dockerplugin.driver import DockerDriver, read_capabilities

            try:
                plugin = self._plugin(address, NETWORK_DRIVER)
                driver = DockerDriver(
                    plugin,
                    read_capabilities(plugin),
                    on_lost_state=self.on_lost_state,
                    on_capability=self._capability_changed,
                )
                self._registry.register_driver(network_type, driver, driver.capability)
            except LibnetError as exc:
                self._failures[network_type] = str(exc)
                # Not a warning: the reason is in the error of whoever asked for the type
                # (failure_reason), and in `libnet drivers`; logging it too printed it twice.
                log.debug("Docker plugin %s cannot be used: %s", network_type, exc)
                return False
            self._failures.pop(network_type, None)
            return True

    def _capability_changed(self, network_type: str, capability: Capability) -> None:
        """Re-register a plugin's driver with the capabilities it declares now."""
        with self._lock:
            reg = self._registry.get(network_type)
            if reg is None:
                return
            self._registry.remove(network_type)
            self._registry.add(network_type, reg.driver, capability, reg.origin)

    def ipam(self, name: str) -> tuple[DockerIpam, IpamCapability]:
        """The Docker IPAM plugin ``name`` as an Ipam with its capabilities.

        Raises PluginNotFoundError, PluginSpecError, or PluginError (not answering, or
        "Plugin does not implement the requested driver").
        """
        from libnet.dockerplugin.api import IPAM_DRIVER
        from libnet.dockerplugin.ipam import DockerIpam

        ipam = DockerIpam(self.activate(name, IPAM_DRIVER))
        return ipam, ipam.capability()

    def available(self, network_type: str) -> bool:
        """Whether a plugin of that name is found and (for a unix socket) accepts connections."""
        try:
            address = self.lookup(network_type)
        except PluginSpecError:
            return False
        if address is None:
            return False
        path = address.socket_path
        if path is None:
            return True
        import socket

        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        probe.settimeout(0.5)
        try:
            probe.connect(str(path))
        except OSError:
            return False
        finally:
            probe.close()
        return True

    def failure_reason(self, network_type: str) -> str | None:
        """Why the plugin named ``network_type`` could not be used the last time, or None."""
        return self._failures.get(network_type)

    def infos(self, shadowed: Collection[str] = ()) -> list[DriverInfo]:
        """One row per plugin a scan of the directories finds, not yet registered.

        Registered plugins are listed by the controller from its registry. ``shadowed``
        names network types served otherwise (entry points), which take precedence.
        """
        rows: list[DriverInfo] = []
        if not self.enabled:
            return rows
        for name in self.dirs.names():
            reg = self._registry.get(name)
            if reg is not None and reg.origin.source == "docker-plugin":
                continue
            try:
                address = self.dirs.find(name)
            except PluginSpecError as exc:
                rows.append(
                    DriverInfo(name=name, source="docker-plugin", status="failed", error=str(exc))
                )
                continue
            if address is None:
                continue
            status, error = "not-loaded", self._failures.get(name)
            if reg is not None or name in shadowed:
                served = reg.origin.describe() if reg is not None else "an entry point"
                status, error = "shadowed", f"network type {name!r} is served by {served}"
            elif error is not None:
                status = "failed"
            rows.append(
                DriverInfo(
                    name=name,
                    source="docker-plugin",
                    status=status,
                    address=address.url,
                    error=error,
                )
            )
        return rows
