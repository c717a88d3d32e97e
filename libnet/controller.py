"""The Controller: the one object host applications use to manage networks and sandboxes."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, Literal

from libnet._addressing import IpamRequest, allocate_pools, ipam_data, parse_ipam
from libnet._calls import call_driver
from libnet._records import (
    NetworkRecord,
    SandboxRecord,
    check_container_id,
    check_mapping,
    check_name,
    new_id,
    now,
)
from libnet._resolver import _check_config
from libnet._runtime import DriverCache, Op, Runtime, network_lock, sandbox_lock
from libnet._sandboxes import namespace_name
from libnet._state import State
from libnet.driverapi import Capability, Driver, Scope
from libnet.drivers import host, null
from libnet.drivers.remote import RemoteManager
from libnet.drivers.remote.entrypoints import PluginFilter
from libnet.drivers.remote.index import installed
from libnet.errors import (
    AmbiguousIDError,
    InvalidOptionError,
    NetworkExistsError,
    NetworkNotFoundError,
    SandboxExistsError,
    SandboxNotFoundError,
    StaleVersionError,
)
from libnet.ipam import BUILTIN_IPAM_DRIVERS, IpamRegistry, defer_builtin_ipam_drivers
from libnet.ipam.remote import IpamPlugins
from libnet.network import Network
from libnet.registry import DriverInfo, DriverOrigin, DriverRegistry, Registered
from libnet.sandbox import Sandbox
from libnet.store import MemoryStore, Store

if TYPE_CHECKING:
    from libnet.agent import Agent
    from libnet.reconcile import Report

__all__ = ["BUILTIN_DRIVERS", "Controller"]

log = logging.getLogger("libnet")

_RETRIES = 5
"""Attempts at creating a global network whose commit met another host's writes."""

BUILTIN_DRIVERS = frozenset({"null", "host", "bridge", "cni", "overlay", "remote"})
"""Network types reserved for libnet's own drivers; plugins cannot take them."""

PluginMode = Literal["lazy", "eager", "off"]


def _bridge_driver(owner: str) -> Driver:
    """The built-in ``bridge`` driver (its module, and pyroute2, imported only now)."""
    from libnet.drivers.bridge import BridgeDriver

    return BridgeDriver(owner)


def _cni_driver(results_dir: Path | None) -> Driver:
    """The built-in ``cni`` driver (its module imported only now)."""
    from libnet.drivers.cni import CniDriver

    return CniDriver(results_dir)


def _overlay_driver(
    owner: str, store: Store | None, host: str | None, advertise: str | None, port: int | None
) -> Driver:
    """The built-in ``overlay`` driver (its module, and pyroute2, imported only now); its
    VTEP is this host's advertise address when there is a global store."""
    from libnet.drivers.overlay import OverlayDriver

    vtep = None
    if store is not None:
        from libnet.nodes import advertise_address

        vtep = advertise_address(advertise)
    if port is None:
        return OverlayDriver(owner, store=store, host=host, vtep=vtep)
    return OverlayDriver(owner, store=store, host=host, vtep=vtep, port=port)


VXLAN_PORT_SETTING = "driver_config={'overlay': {'vxlan_port': N}}, or LIBNET_VXLAN_PORT"


def _vxlan_port(config: Mapping[str, Mapping[str, Any]]) -> int | None:
    """The overlay's VXLAN UDP port as configured (the same on every host), else None."""
    value: Any = config.get("overlay", {}).get("vxlan_port")
    if value is None:
        value = os.environ.get("LIBNET_VXLAN_PORT", "").strip() or None
    if value is None:
        return None
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if isinstance(value, bool) or not 1 <= port <= 65535:
        raise InvalidOptionError(
            f"overlay VXLAN port {value!r} must be a number from 1 to 65535 ({VXLAN_PORT_SETTING})"
        )
    return port


GLOBAL_STORE_SETTING = "global_store= (libnet --global-store URL, or LIBNET_GLOBAL_STORE)"


def _global_store(value: Store | str | None) -> Store | None:
    """The global store given, else the one ``LIBNET_GLOBAL_STORE`` names, else None."""
    if value is None:
        value = os.environ.get("LIBNET_GLOBAL_STORE", "").strip() or None
    if value is None or isinstance(value, Store):
        return value
    if not isinstance(value, str):
        raise InvalidOptionError(f"global_store={value!r} must be an etcd:// URL or a Store object")
    from libnet.store.etcd import EtcdStore

    return EtcdStore(value)


def _sqlite_store(state_dir: Path) -> Store:
    """The SQLite store of a state directory (SQLite imported only now)."""
    from libnet.store.sqlite import SqliteStore

    return SqliteStore(state_dir)


def _host_id(value: str | None, state_dir: str | os.PathLike[str] | None) -> str:
    """The host ID given (checked), else the state directory's, else a random one."""
    from libnet.store.hostid import check_host_id, host_id

    if value is not None:
        return check_host_id(value)
    if state_dir is not None:
        return host_id(state_dir)
    return os.urandom(16).hex()


def _env_list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    return None if value is None else [v for v in value.split(",") if v.strip()]


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _env_seconds(name: str) -> float | None:
    """A positive number of seconds from variable ``name``, or None if it is unset."""
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not seconds > 0 or seconds == float("inf"):
        raise InvalidOptionError(f"{name}={value!r} must be a positive number of seconds")
    return seconds


class Controller:
    """Creates and tracks networks, endpoints and sandboxes through pluggable drivers.

    State lives in a :class:`~libnet.store.Store`: in memory by default, or in the SQLite
    file ``state.db`` under ``state_dir``, where controllers in several processes share it.

    ``plugins`` chooses how drivers from ``libnet.drivers`` entry points are loaded:
    ``"lazy"`` (default) imports a plugin on the first use of one of its network types,
    ``"eager"`` loads all at start, ``"off"`` does not look for them. ``plugins_allow`` and
    ``plugins_deny`` (else ``LIBNET_PLUGINS`` and ``LIBNET_DISABLE_PLUGINS``) name entry
    points or distributions to allow or refuse before anything is imported.
    ``strict_plugins`` (else ``LIBNET_STRICT_PLUGINS=1``) turns the first plugin failure
    into :class:`~libnet.errors.PluginLoadError`. ``driver_config`` maps a network type to
    the configuration its plugin's init hook receives.

    A network type served by no built-in driver nor entry point is looked up among Docker
    plugins (sockets and spec files) in ``plugin_dirs`` (else ``LIBNET_PLUGIN_DIRS``,
    colon-separated, else Docker's directories; ``[]`` turns the lookup off, as does
    ``plugins="off"``). Every call to such a plugin times out after ``plugin_timeout``
    seconds (else ``LIBNET_PLUGIN_TIMEOUT``, else 30) for the whole call, or
    ``plugin_timeouts[name]`` for plugin ``name``.

    Addresses come from IPAM drivers: the built-in ``default`` allocator (its pools
    ``local_address_pools`` / ``global_address_pools``, else Docker's), ``null``, and
    plugins from ``libnet.ipam`` entry points, configured by ``ipam_config``.

    Every operation is all-or-nothing and the controller is safe to share between threads.
    """

    def __init__(
        self,
        *,
        state_dir: str | os.PathLike[str] | None = None,
        store: Store | None = None,
        driver_config: Mapping[str, Mapping[str, Any]] | None = None,
        plugins: PluginMode = "lazy",
        plugins_allow: Iterable[str] | None = None,
        plugins_deny: Iterable[str] | None = None,
        strict_plugins: bool | None = None,
        plugin_dirs: Iterable[str | os.PathLike[str]] | None = None,
        plugin_timeout: float | None = None,
        plugin_timeouts: Mapping[str, float] | None = None,
        ipam_config: Mapping[str, Mapping[str, Any]] | None = None,
        local_address_pools: Iterable[Any] | None = None,
        global_address_pools: Iterable[Any] | None = None,
        global_store: Store | str | None = None,
        host_id: str | None = None,
        advertise_addr: str | None = None,
    ) -> None:
        if plugins not in ("lazy", "eager", "off"):
            raise InvalidOptionError(
                f"plugins={plugins!r} is not a loading mode: use 'lazy', 'eager' or 'off'"
            )
        if store is not None and state_dir is not None:
            raise InvalidOptionError("give the controller a state_dir or a store, not both")
        driver_configs = _check_config(driver_config, "driver_config", "network type")
        ipam_configs = _check_config(ipam_config, "ipam_config", "IPAM driver")
        self._registry = DriverRegistry(BUILTIN_DRIVERS)
        null.init(self._registry)
        host.init(self._registry)
        state_path = _state_path(state_dir, store)
        self.owner = _owner(state_path)
        """Names this state in the marks of the kernel objects it owns (see reconcile)."""
        self.global_store = _global_store(global_store)
        """The store shared with other hosts (global-scope networks), or None."""
        self._host_id = host_id if host_id is None else _host_id(host_id, None)
        self._state_path = state_path
        hid = self.host_id if self.global_store is not None else None
        if sys.platform == "linux":
            owner, gstore = self.owner, self.global_store
            port = _vxlan_port(driver_configs)
            self._advertise_addr = advertise_addr
            self._registry.add_builtin(
                "bridge", lambda: _bridge_driver(owner), Capability(Scope.LOCAL)
            )
            self._registry.add_builtin(
                "overlay",
                lambda: _overlay_driver(owner, gstore, hid, advertise_addr, port),
                Capability(Scope.GLOBAL, Scope.GLOBAL),
            )
            cni_dir = None if state_path is None else Path(state_path) / "cni"
            self._registry.add_builtin("cni", lambda: _cni_driver(cni_dir), Capability(Scope.LOCAL))
        allow = plugins_allow if plugins_allow is not None else _env_list("LIBNET_PLUGINS")
        deny = plugins_deny if plugins_deny is not None else _env_list("LIBNET_DISABLE_PLUGINS")
        strict = _env_flag("LIBNET_STRICT_PLUGINS") if strict_plugins is None else strict_plugins
        found = installed() if plugins != "off" else None  # one pass for every group
        self._remote = RemoteManager(
            self._registry,
            config=driver_configs,
            plugin_filter=PluginFilter.from_values(allow, deny),
            strict=strict,
            enabled=plugins != "off",
            plugin_dirs=plugin_dirs,
            plugin_timeout=(
                plugin_timeout
                if plugin_timeout is not None
                else _env_seconds("LIBNET_PLUGIN_TIMEOUT")
            ),
            plugin_timeouts=plugin_timeouts,
            on_lost_state=self._plugin_lost_state,
            installed=found,
        )
        self._remote.warn_unknown(driver_configs, "driver_config")
        if plugins == "eager":
            self._remote.load_all()
        if store is None:
            store = _sqlite_store(Path(state_dir)) if state_dir is not None else MemoryStore()
        self.local_store = store
        """The store of this host's own state (local networks, sandboxes, intents)."""
        if self.global_store is not None:
            from libnet.store.scoped import ScopedStore

            store = ScopedStore(store, self.global_store)
        self._store = store
        self.state_dir = None if state_dir is None else Path(state_dir)
        self._ipam_registry = IpamRegistry(BUILTIN_IPAM_DRIVERS)
        defer_builtin_ipam_drivers(
            self._ipam_registry,
            store,
            local_pools=local_address_pools,
            global_pools=global_address_pools,
        )
        self._ipam_plugins = IpamPlugins(
            self._ipam_registry,
            config=ipam_configs,
            plugin_filter=PluginFilter.from_values(allow, deny),
            strict=strict,
            enabled=plugins != "off",
            docker=self._remote.docker,
            installed=found,
        )
        self._ipam_plugins.warn_unknown(ipam_configs, "ipam_config")
        if plugins == "eager":
            self._ipam_plugins.load_all()
        self._rt = Runtime(store, DriverCache(self._remote, self._ipam_plugins), self.owner)
        self._rt.host = hid
        self._lock = self._rt.lock

    @property
    def host_id(self) -> str:
        """This host's ID among the hosts sharing the global store: given, else the state
        directory's (made on first use), else random."""
        if self._host_id is None:
            self._host_id = _host_id(None, self._state_path)
        return self._host_id

    def agent(self, *, ttl: int | None = None) -> Agent:
        """This host's agent (a context manager; :meth:`Agent.run` blocks until
        :meth:`Agent.stop`): it keeps the host's lease in the global store, tells the
        global-scope drivers of hosts coming and going, and programs overlay peers.

        Only one agent should run per host; ``libnet agent`` is the same as a process.
        """
        if self.global_store is None:
            raise InvalidOptionError(
                f"the agent needs a global store: give the controller {GLOBAL_STORE_SETTING}"
            )
        from libnet.agent import Agent
        from libnet.drivers.overlay import OverlayDriver
        from libnet.nodes import DEFAULT_TTL, advertise_address

        overlay = self.resolve_driver("overlay").driver
        if not isinstance(overlay, OverlayDriver):
            raise InvalidOptionError("the agent needs libnet's built-in overlay driver")
        return Agent(
            self.global_store,
            overlay,
            self.host_id,
            advertise_address(self._advertise_addr),
            ttl=DEFAULT_TTL if ttl is None else ttl,
        )

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
        """Release the state store; networks stay as they are. Idempotent."""
        self._store.close()

    @property
    def store(self) -> Store:
        """The store holding this controller's state (both scopes, with a global store)."""
        return self._store

    # -- drivers ---------------------------------------------------------------------

    def register_driver(self, name: str, driver: Driver, capability: Capability) -> None:
        """Register an in-process driver of the host application for network type ``name``."""
        self._registry.add(name, driver, capability, DriverOrigin("application"))

    def load_plugins(self) -> None:
        """Load every enabled driver and IPAM plugin now instead of on first use."""
        with self._lock:
            self._remote.load_all()
            self._ipam_plugins.load_all()

    def ipam_drivers(self) -> list[DriverInfo]:
        """One record per IPAM driver, as :meth:`drivers` gives for network drivers."""
        return self._ipam_plugins.infos()

    def drivers(self) -> list[DriverInfo]:
        """One record per driver: registered, not loaded yet, failed or disabled."""
        return self._remote.infos()

    def driver_available(self, network_type: str) -> bool:
        """Whether ``network_type`` is registered or could be loaded, without loading it."""
        return self._remote.available(network_type)

    def resolve_driver(self, network_type: str) -> Registered:
        """The registry entry serving ``network_type``, loading its plugin now if need be.

        Raises UnknownDriverError, naming the plugin's failure, when none can serve it.
        """
        return self._remote.get(network_type)

    def resolve_ipam(self, name: str) -> Registered:
        """The registry entry of IPAM driver ``name``, loading its plugin now if need be."""
        return self._ipam_plugins.get(name)

    def plugin_failure(self, network_type: str) -> str | None:
        """Why the plugin that would serve ``network_type`` failed or is disabled, or None."""
        return self._remote.failure_reason(network_type)

    def _plugin_lost_state(self, network_type: str, nid: str | None, eid: str | None) -> None:
        """A Docker plugin serving ``network_type`` restarted or lost its networks.

        Its networks and endpoints are marked unknown, so the restore path replays them
        (as CreateNetwork and CreateEndpoint) before the next call about each; network
        ``nid`` and endpoint ``eid``, which the call in progress is about, are replayed now.
        """
        with self._lock:
            st = self._rt.current()
            self._rt.drivers.forget_type(network_type, st)
            rec = st.find_network(nid) if nid is not None else None
            if rec is None or rec.type != network_type:
                return
            self._rt.drivers.network_driver(rec)
            if eid is not None:
                self._rt.drivers.endpoint_driver(rec, st.endpoint(rec, eid), st)

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
        ipam: Mapping[str, Any] | None = None,
    ) -> Network:
        """Create a network of ``network_type`` named ``name``; its driver creates it first.

        ``ipam`` takes Docker's IPAM shape: ``{"driver": "default", "options": {...},
        "config": [{"subnet": "10.1.0.0/24", "ip_range": ..., "gateway": ...,
        "aux_addresses": {NAME: IP}}, ...]}``; every key is optional. Without an IPv4 pool
        one is taken from the default pools, and with ``enable_ipv6`` an IPv6 one too. The
        ``null`` and ``host`` network types use the ``null`` IPAM driver unless told otherwise
        (an IPAM driver named, or pools configured: then ``default``).
        """
        check_name("network", name)
        opts = check_mapping(f"options of network {name!r}", options)
        lbls = check_mapping(f"labels of network {name!r}", labels)
        # As in Docker, the host and null networks take no addresses unless asked to
        # (naming an IPAM driver, or giving pools: the null IPAM driver would refuse them).
        wants_pools = bool((ipam or {}).get("config"))
        default_ipam = "null" if network_type in ("null", "host") and not wants_pools else "default"
        request = parse_ipam(ipam, bool(enable_ipv6), name, default_ipam)
        scope = str(self._remote.get(network_type).capability.data_scope)
        if scope == "global" and self.global_store is None:
            raise InvalidOptionError(
                f"network {name!r} of type {network_type!r} is global-scope: it needs a "
                f"global store shared by the hosts; give one with {GLOBAL_STORE_SETTING}"
            )
        for attempt in range(_RETRIES if scope == "global" else 1):
            try:
                return self._new_network(
                    network_type, name, scope, opts, lbls, request, internal, enable_ipv6
                )
            except StaleVersionError:
                # Another host committed to the same global keys (a default pool's
                # allocation state) meanwhile; everything was undone: try again.
                if attempt == _RETRIES - 1:
                    raise
                log.info("network %r: global store changed meanwhile, retrying", name)
        raise AssertionError("unreachable")

    def _new_network(
        self,
        network_type: str,
        name: str,
        scope: str,
        opts: dict[str, Any],
        lbls: dict[str, Any],
        request: IpamRequest,
        internal: bool,
        enable_ipv6: bool,
    ) -> Network:
        nid = new_id()

        def unique(st: State) -> None:
            _name_free(st.networks(), name)

        with self._rt.operation(
            f"creation of network {name!r}",
            locks=lambda _: {network_lock(nid, scope): f"network {name!r}"},
            recheck=False,
            reserve=("network", name),
            check=unique,
        ) as op:
            rec = self._create_network(
                op, nid, network_type, name, opts, lbls, request, internal, enable_ipv6
            )
        return Network(self._rt, rec.id)

    def _create_network(
        self,
        op: Op,
        nid: str,
        network_type: str,
        name: str,
        opts: dict[str, Any],
        lbls: dict[str, Any],
        request: IpamRequest,
        internal: bool = False,
        enable_ipv6: bool = False,
    ) -> NetworkRecord:
        st, drivers = op.state, op.drivers
        existing = st.networks()
        # Checked again: another host may have committed the name since the intent was
        # made, and its network must not reach this host's driver as a rival first.
        _name_free(existing, name)
        reg = drivers.networks.get(network_type)
        # The driver checks the new network against its others: it must know them all,
        # and forget those another process deleted.
        drivers.forget_missing(network_type, {other.id for other in existing})
        for other in existing:
            if other.type == network_type:
                drivers.network_driver(other)
        rec = NetworkRecord(
            id=nid,
            name=name,
            type=network_type,
            scope=str(reg.capability.data_scope),
            options=opts,
            labels={str(k): str(v) for k, v in lbls.items()},
            internal=bool(internal),
            enable_ipv6=bool(enable_ipv6),
            created=now(),
        )
        ipam_driver = drivers.ipams.get(request.driver).driver
        rec.ipam = allocate_pools(ipam_driver, op, request, rec.scope, name)
        ipv4, ipv6 = ipam_data(rec.ipam, "ipv4"), ipam_data(rec.ipam, "ipv6")
        options = rec.driver_options()
        op.intend(
            ["network", network_type, rec.id, options]
            + [[d.to_dict() for d in data] for data in (ipv4, ipv6)]
        )
        call_driver(
            f"network {name!r}",
            reg.driver.create_network,
            rec.id,
            MappingProxyType(options),
            ipv4,
            ipv6,
        )
        op.on_failure(f"creation of network {name!r}", reg.driver.delete_network, rec.id)
        op.on_success(drivers.learn_network, rec.id, network_type)
        st.put_network(rec)
        return rec

    def networks(self) -> list[Network]:
        """Every network, sorted by name."""
        recs = sorted(self._rt.networks(), key=lambda r: r.name)
        return [Network(self._rt, r.id) for r in recs]

    def network_by_name(self, name: str) -> Network:
        """The network named ``name``; NetworkNotFoundError if there is none."""
        for rec in self._rt.networks():
            if rec.name == name:
                return Network(self._rt, rec.id)
        raise NetworkNotFoundError(f"network {name!r} not found")

    def network_by_id(self, network_id: str) -> Network:
        """The network with this full ID; NetworkNotFoundError if there is none."""
        if self._rt.read().find_network(network_id) is None:
            with self._lock:  # another host or process deleted it: the driver forgets it
                self._rt.drivers.forget_gone(network_id)
            raise NetworkNotFoundError(f"network with ID {network_id!r} not found")
        return Network(self._rt, network_id)

    def network(self, ref: str) -> Network:
        """The network named ``ref``, or with ID or unique ID prefix ``ref`` (as Docker does)."""
        recs = self._rt.networks()
        for rec in recs:
            if rec.name == ref or rec.id == ref:
                return Network(self._rt, rec.id)
        return Network(self._rt, _by_prefix("network", ref, [r.id for r in recs]))

    def walk_networks(self, fn: Callable[[Network], bool | None]) -> None:
        """Call ``fn`` on each network in name order until it returns True."""
        for network in self.networks():
            if fn(network):
                return

    # -- sandboxes -------------------------------------------------------------------

    def new_sandbox(
        self, container_id: str, *, key: str | None = None, create: bool = False
    ) -> Sandbox:
        """Create the sandbox of container ``container_id``.

        ``key`` is the path of an existing network namespace (``/proc/PID/ns/net``,
        ``/run/netns/NAME``); with ``create=True`` libnet creates one under /run/netns and
        removes it with the sandbox. Without either the sandbox is logical: joins reach the
        drivers but nothing is programmed in the kernel.
        """
        check_container_id(container_id)
        if key is not None:
            if create:
                raise InvalidOptionError("give a sandbox key or create=True, not both")
            if not isinstance(key, str) or not key:
                raise InvalidOptionError(f"sandbox key {key!r} must be a non-empty path")
            # Stored absolute, so the key means the same from any working directory.
            key = os.path.abspath(key)
            from libnet.osl import check_key

            check_key(key)

        def unique(st: State) -> None:
            for rec in st.sandboxes():
                if rec.container_id == container_id:
                    raise SandboxExistsError(
                        f"container {container_id!r} already has sandbox {rec.id[:12]}; "
                        "use it or delete it first"
                    )

        sandbox = SandboxRecord(new_id(), container_id, key, now())
        with self._rt.operation(
            f"creation of the sandbox of container {container_id!r}",
            locks=lambda _: {sandbox_lock(sandbox.id): f"sandbox {sandbox.id[:12]}"},
            recheck=False,
            reserve=("sandbox", container_id),
            check=unique,
        ) as op:
            if create:
                from libnet.osl import create_namespace, delete_namespace

                op.intend(["namespace", namespace_name(self.owner, sandbox.id)])
                sandbox.key = create_namespace(namespace_name(self.owner, sandbox.id))
                sandbox.owns_key = True
                op.on_failure("namespace of a new sandbox", delete_namespace, sandbox.key)
            op.state.put_sandbox(sandbox)
        return Sandbox(self._rt, sandbox.id)

    def reconcile(self, repair: bool = True) -> Report:
        """Compare the kernel with the store; with ``repair``, remove the kernel objects of
        this state that no stored object owns and re-create stored ones that vanished.

        Runs as one operation (other processes' operations wait); see :mod:`libnet.reconcile`.
        ``Controller()`` never runs it by itself: ``libnet doctor`` does. Overlay endpoints
        on this host while its agent is not registered are a finding repair cannot fix
        (see :meth:`networks_without_agent`).
        """
        from libnet.reconcile import reconcile

        return reconcile(self._rt, repair, self.global_store)

    def networks_without_agent(self) -> list[str]:
        """Names of the overlay networks with endpoints on this host while no agent runs for
        it (``libnet agent`` or :meth:`agent`: its node record in the global store is
        absent, its lease revoked or expired); ``[]`` when the agent runs or none is needed.
        Their peers on other hosts are not programmed meanwhile."""
        from libnet.reconcile import networks_without_agent

        return networks_without_agent(self._rt.read(), self.global_store, self._rt.host)

    def sandboxes(self) -> list[Sandbox]:
        """Every sandbox, in creation order."""
        recs = sorted(self._rt.read().sandboxes(), key=lambda r: (r.created, r.id))
        return [Sandbox(self._rt, r.id) for r in recs]

    def sandbox_by_id(self, sandbox_id: str) -> Sandbox:
        """The sandbox with this full ID; SandboxNotFoundError if there is none."""
        self._rt.read().sandbox(sandbox_id)
        return Sandbox(self._rt, sandbox_id)

    def sandbox(self, ref: str) -> Sandbox:
        """The sandbox of container ``ref``, or with ID or unique ID prefix ``ref``."""
        recs = self._rt.read().sandboxes()
        for rec in recs:
            if ref in (rec.id, rec.container_id):
                return Sandbox(self._rt, rec.id)
        return Sandbox(self._rt, _by_prefix("sandbox", ref, [r.id for r in recs]))


def _state_path(
    state_dir: str | os.PathLike[str] | None, store: Store | None
) -> str | os.PathLike[str] | None:
    """The state directory, given or that of a store's file; None for a memory store."""
    if state_dir is None and store is not None:
        path = getattr(store, "path", None)
        return None if path is None else Path(path).parent
    return state_dir


def _owner(path: str | os.PathLike[str] | None) -> str:
    """12 hex digits naming the state: from the state directory's real path (the same for
    every process using it), else random (the state lives and dies with this controller)."""
    if path is None:
        return os.urandom(6).hex()
    import hashlib

    return hashlib.sha256(os.fsencode(os.path.realpath(path))).hexdigest()[:12]


def _by_prefix(kind: str, prefix: str, ids: list[str]) -> str:
    """The one ID starting with ``prefix``; NotFound or AmbiguousIDError otherwise."""
    matches = [i for i in ids if prefix and i.startswith(prefix)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        error = NetworkNotFoundError if kind == "network" else SandboxNotFoundError
        raise error(f"{kind} {prefix!r} not found")
    raise AmbiguousIDError(
        f"{kind} ID prefix {prefix!r} matches {len(matches)} {kind}s; give more characters"
    )


def _name_free(networks: Iterable[NetworkRecord], name: str) -> None:
    """NetworkExistsError if one of ``networks`` is called ``name``."""
    if any(rec.name == name for rec in networks):
        raise NetworkExistsError(
            f"network {name!r} already exists; choose another name or remove it first"
        )
