"""The Controller: the one object host applications use to manage networks and sandboxes."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, Literal

from libnet._calls import call_driver
from libnet._records import (
    EndpointRecord,
    NetworkRecord,
    SandboxRecord,
    check_mapping,
    check_name,
    new_id,
    now,
)
from libnet.driverapi import Capability, Driver
from libnet.drivers import host, null
from libnet.drivers.remote import RemoteManager
from libnet.drivers.remote.entrypoints import PluginFilter
from libnet.errors import (
    InvalidOptionError,
    NetworkExistsError,
    NetworkNotFoundError,
    SandboxExistsError,
    SandboxNotFoundError,
    UnknownDriverError,
)
from libnet.network import Network
from libnet.registry import DriverInfo, DriverOrigin, DriverRegistry, Registered
from libnet.sandbox import Sandbox

__all__ = ["BUILTIN_DRIVERS", "Controller"]

BUILTIN_DRIVERS = frozenset({"null", "host", "bridge", "remote"})
"""Network types reserved for libnet's own drivers; plugins cannot take them."""

PluginMode = Literal["lazy", "eager", "off"]


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    return None if value is None else [v for v in value.split(",") if v.strip()]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


class Controller:
    """Creates and tracks networks, endpoints and sandboxes through pluggable drivers.

    ``plugins`` chooses how drivers from ``libnet.drivers`` entry points are loaded:
    ``"lazy"`` (default) imports a plugin on the first use of one of its network types,
    ``"eager"`` loads all at start, ``"off"`` does not look for them. ``plugins_allow`` and
    ``plugins_deny`` (else ``LIBNET_PLUGINS`` and ``LIBNET_DISABLE_PLUGINS``) name entry
    points or distributions to allow or refuse before anything is imported.
    ``strict_plugins`` (else ``LIBNET_STRICT_PLUGINS=1``) turns the first plugin failure
    into :class:`~libnet.errors.PluginLoadError`. ``driver_config`` maps a network type to
    the configuration its plugin's init hook receives.

    Every operation is all-or-nothing and the controller is safe to share between threads.
    """

    def __init__(
        self,
        *,
        driver_config: Mapping[str, Mapping[str, Any]] | None = None,
        plugins: PluginMode = "lazy",
        plugins_allow: Iterable[str] | None = None,
        plugins_deny: Iterable[str] | None = None,
        strict_plugins: bool | None = None,
    ) -> None:
        if plugins not in ("lazy", "eager", "off"):
            raise InvalidOptionError(
                f"plugins={plugins!r} is not a loading mode: use 'lazy', 'eager' or 'off'"
            )
        self._lock = threading.RLock()
        self._closed = False
        self._networks: dict[str, NetworkRecord] = {}
        self._sandboxes: dict[str, SandboxRecord] = {}
        self._registry = DriverRegistry(BUILTIN_DRIVERS)
        null.init(self._registry)
        host.init(self._registry)
        allow = plugins_allow if plugins_allow is not None else _env_list("LIBNET_PLUGINS")
        deny = plugins_deny if plugins_deny is not None else _env_list("LIBNET_DISABLE_PLUGINS")
        strict = _env_flag("LIBNET_STRICT_PLUGINS") if strict_plugins is None else strict_plugins
        self._remote = RemoteManager(
            self._registry,
            config={k: MappingProxyType(dict(v)) for k, v in (driver_config or {}).items()},
            plugin_filter=PluginFilter.from_values(allow, deny),
            strict=strict,
            enabled=plugins != "off",
        )
        if plugins == "eager":
            self._remote.load_all()

    # -- lifecycle -------------------------------------------------------------------

    def __enter__(self) -> Controller:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the controller's resources; networks stay as they are."""
        self._closed = True

    # -- drivers ---------------------------------------------------------------------

    def register_driver(self, name: str, driver: Driver, capability: Capability) -> None:
        """Register an in-process driver of the host application for network type ``name``."""
        self._registry.add(name, driver, capability, DriverOrigin("application"))

    def load_plugins(self) -> None:
        """Load every enabled driver plugin now instead of on first use."""
        with self._lock:
            self._remote.load_all()

    def drivers(self) -> list[DriverInfo]:
        """One record per driver: registered, not loaded yet, failed or disabled."""
        rows: dict[tuple[str, str], DriverInfo] = {}
        for row in self._remote.infos():
            rows[(row.name, row.status if row.status != "failed" else row.distribution or "")] = row
        for reg in self._registry.all():
            if reg.origin.source == "entrypoint":
                continue
            rows[(reg.name, "")] = DriverInfo(
                name=reg.name,
                source=reg.origin.source,
                status="ok",
                capability=reg.capability,
                address=reg.origin.address,
            )
        return sorted(rows.values(), key=lambda r: (r.name, r.source, r.distribution or ""))

    def _driver(self, network_type: str) -> Registered:
        """The registered driver for a network type, loading its plugin if needed."""
        reg = self._registry.get(network_type)
        if reg is None and self._remote.resolve(network_type):
            reg = self._registry.get(network_type)
        if reg is not None:
            return reg
        reason = self._remote.failure_reason(network_type)
        if reason is not None:
            raise UnknownDriverError(
                f"network type {network_type!r} is not available: {reason}; run "
                "'libnet drivers' for details"
            )
        known = sorted(
            {r.name for r in self._registry.all()} | set(self._remote.loader.specs)
        )
        raise UnknownDriverError(
            f"no driver serves network type {network_type!r} (available: {', '.join(known)}); "
            "install a plugin package that provides it, then run 'libnet drivers'"
        )

    # -- networks --------------------------------------------------------------------

    def new_network(
        self,
        network_type: str,
        name: str,
        *,
        options: Mapping[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        internal: bool = False,
        enable_ipv6: bool = False,
    ) -> Network:
        """Create a network of ``network_type`` named ``name``; its driver creates it first."""
        check_name("network", name)
        opts = check_mapping(f"options of network {name!r}", options)
        lbls = check_mapping(f"labels of network {name!r}", labels)
        with self._lock:
            if self._find_name(name) is not None:
                raise NetworkExistsError(
                    f"network {name!r} already exists; choose another name or remove it first"
                )
            reg = self._driver(network_type)
            rec = NetworkRecord(
                id=new_id(),
                name=name,
                type=network_type,
                scope=str(reg.capability.data_scope),
                options=opts,
                labels={str(k): str(v) for k, v in lbls.items()},
                internal=bool(internal),
                enable_ipv6=bool(enable_ipv6),
                created=now(),
            )
            call_driver(
                f"network {name!r}",
                reg.driver.create_network,
                rec.id,
                MappingProxyType(rec.driver_options()),
                [],
                [],
            )
            self._networks[rec.id] = rec
            return Network(self, rec.id)

    def _find_name(self, name: str) -> NetworkRecord | None:
        for rec in self._networks.values():
            if rec.name == name:
                return rec
        return None

    def networks(self) -> list[Network]:
        """Every network, sorted by name."""
        with self._lock:
            recs = sorted(self._networks.values(), key=lambda r: r.name)
            return [Network(self, r.id) for r in recs]

    def network_by_name(self, name: str) -> Network:
        """The network named ``name``; NetworkNotFoundError if there is none."""
        with self._lock:
            rec = self._find_name(name)
            if rec is None:
                raise NetworkNotFoundError(f"network {name!r} not found")
            return Network(self, rec.id)

    def network_by_id(self, network_id: str) -> Network:
        """The network with this full ID; NetworkNotFoundError if there is none."""
        with self._lock:
            if network_id not in self._networks:
                raise NetworkNotFoundError(f"network with ID {network_id!r} not found")
            return Network(self, network_id)

    def walk_networks(self, fn: Callable[[Network], bool | None]) -> None:
        """Call ``fn`` on each network in name order until it returns True."""
        for network in self.networks():
            if fn(network):
                return

    def _network_record(self, network_id: str) -> NetworkRecord:
        rec = self._networks.get(network_id)
        if rec is None:
            raise NetworkNotFoundError(f"network {network_id[:12]} no longer exists")
        return rec

    # -- sandboxes -------------------------------------------------------------------

    def new_sandbox(self, container_id: str, *, key: str | None = None) -> Sandbox:
        """Create the sandbox of container ``container_id``; ``key`` is its namespace path."""
        if not isinstance(container_id, str) or not container_id or len(container_id) > 128:
            raise InvalidOptionError(
                f"container ID {container_id!r} must be a non-empty string of at most 128 "
                "characters"
            )
        if key is not None and (not isinstance(key, str) or not key):
            raise InvalidOptionError(f"sandbox key {key!r} must be a non-empty path")
        with self._lock:
            for rec in self._sandboxes.values():
                if rec.container_id == container_id:
                    raise SandboxExistsError(
                        f"container {container_id!r} already has sandbox {rec.id[:12]}; "
                        "use it or delete it first"
                    )
            sandbox = SandboxRecord(new_id(), container_id, key, now())
            self._sandboxes[sandbox.id] = sandbox
            return Sandbox(self, sandbox.id)

    def sandboxes(self) -> list[Sandbox]:
        """Every sandbox, in creation order."""
        with self._lock:
            return [Sandbox(self, sid) for sid in self._sandboxes]

    def sandbox_by_id(self, sandbox_id: str) -> Sandbox:
        """The sandbox with this full ID; SandboxNotFoundError if there is none."""
        with self._lock:
            if sandbox_id not in self._sandboxes:
                raise SandboxNotFoundError(f"sandbox with ID {sandbox_id!r} not found")
            return Sandbox(self, sandbox_id)

    def _joined(self, sandbox: SandboxRecord) -> list[EndpointRecord]:
        """The records of the endpoints joined to ``sandbox``, in join order."""
        return [self._networks[nid].endpoints[eid] for nid, eid in sandbox.endpoints]

    def _sandbox_record(self, sandbox_id: str) -> SandboxRecord:
        rec = self._sandboxes.get(sandbox_id)
        if rec is None:
            raise SandboxNotFoundError(f"sandbox {sandbox_id[:12]} no longer exists")
        return rec

