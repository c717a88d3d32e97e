"""The narrow interface between the controller's machinery and the layers that use it.

Handles (``Network``, ``Endpoint``, ``Sandbox``), reconciliation and the plugin server
never reach into a ``Controller``: they get a :class:`Runtime`. It opens operations
(:class:`Op`: a store transaction, its undo steps and the driver cache) and reads, and its
:class:`DriverCache` finds drivers and keeps the one restore path: before this process's
first call about a stored network or endpoint, the driver is told about it through
``restore_network`` / ``restore_endpoint``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import MappingProxyType
from typing import Protocol

from libnet._addressing import ipam_data, release_endpoint, release_network
from libnet._calls import call_driver
from libnet._operation import Operation
from libnet._records import EndpointRecord, NetworkRecord
from libnet._state import RecordCache, State
from libnet.driverapi import Driver, InterfaceInfo
from libnet.errors import SandboxNotFoundError
from libnet.registry import Registered
from libnet.store import Store

__all__ = ["DriverCache", "DriverSource", "Op", "Runtime"]

log = logging.getLogger("libnet")


class DriverSource(Protocol):
    """Where the runtime finds the drivers of one kind (network or IPAM)."""

    def get(self, name: str) -> Registered:
        """The driver ``name``, loading its plugin if need be; UnknownDriverError if none."""
        ...

    def loaded(self, name: str) -> Registered | None:
        """The driver ``name`` if it is registered already; never loads anything."""
        ...

    def loaded_all(self) -> list[Registered]:
        """Every registered driver, sorted by name."""
        ...

    def available(self, name: str) -> bool:
        """Whether ``name`` is registered or could be loaded, without loading it."""
        ...


class DriverCache:
    """The drivers of one controller and which stored objects they know in this process.

    Drivers keep their state in memory: after a restart, or for objects another process
    made, a driver must be told about a network or endpoint before it is asked anything
    about it. :meth:`network_driver` and :meth:`endpoint_driver` do that through
    :meth:`restore_network`, :meth:`restore_endpoint` and :meth:`restore_join`, the one
    restore path. The cache also remembers which sandbox each endpoint's driver believes it
    is joined to, so a join or leave made by another process reaches the driver before its
    next call about the endpoint.
    """

    __slots__ = ("_endpoints", "_networks", "ipams", "networks")

    def __init__(self, networks: DriverSource, ipams: DriverSource) -> None:
        self.networks = networks
        """Network drivers by network type."""
        self.ipams = ipams
        """IPAM drivers by name."""
        self._networks: dict[str, str] = {}  # network ID -> network type
        self._endpoints: dict[str, str | None] = {}  # endpoint ID -> sandbox the driver knows

    def network_driver(self, net: NetworkRecord) -> Driver:
        """The network's driver, told about the network first if it never was."""
        driver: Driver = self.networks.get(net.type).driver
        if net.id not in self._networks:
            self.restore_network(driver, net)
        return driver

    def endpoint_driver(self, net: NetworkRecord, ep: EndpointRecord, st: State) -> Driver:
        """The endpoint's driver, told about network, endpoint and join first if need be."""
        driver = self.network_driver(net)
        if ep.id not in self._endpoints:
            self.restore_endpoint(driver, net, ep)
        if self._endpoints[ep.id] != ep.sandbox_id:
            self.restore_join(driver, net, ep, st)
        return driver

    def restore_network(self, driver: Driver, net: NetworkRecord) -> None:
        """Tell ``driver`` about stored network ``net`` (it re-creates what is missing)."""
        call_driver(
            f"network {net.name!r}",
            driver.restore_network,
            net.id,
            MappingProxyType(net.driver_options()),
            ipam_data(net.ipam, "ipv4"),
            ipam_data(net.ipam, "ipv6"),
        )
        self._networks[net.id] = net.type

    def restore_endpoint(self, driver: Driver, net: NetworkRecord, ep: EndpointRecord) -> None:
        """Tell ``driver`` about stored endpoint ``ep`` of ``net``."""
        call_driver(
            f"endpoint {ep.name!r} on network {net.name!r}",
            driver.restore_endpoint,
            net.id,
            ep.id,
            InterfaceInfo.from_record(ep.interface),
            MappingProxyType(ep.options),
        )
        self._endpoints[ep.id] = None

    def restore_join(
        self, driver: Driver, net: NetworkRecord, ep: EndpointRecord, st: State
    ) -> None:
        """Tell ``driver`` whether ``ep`` is joined, and where, as the store says."""
        key = None
        if ep.sandbox_id is not None:
            with contextlib.suppress(SandboxNotFoundError):
                key = st.sandbox(ep.sandbox_id).key
        call_driver(
            f"endpoint {ep.name!r} on network {net.name!r}",
            driver.restore_join,
            net.id,
            ep.id,
            ep.sandbox_id is not None,
            key,
            MappingProxyType(ep.join_options),
        )
        self._endpoints[ep.id] = ep.sandbox_id

    def learn_network(self, nid: str, network_type: str) -> None:
        """Record that this process's driver made network ``nid`` (no restore needed)."""
        self._networks[nid] = network_type

    def learn_endpoint(self, eid: str, sandbox_id: str | None = None) -> None:
        """Record that this process's driver made endpoint ``eid``, or joined it to
        ``sandbox_id`` (None: it left)."""
        self._endpoints[eid] = sandbox_id

    def forget_network(self, nid: str) -> None:
        self._networks.pop(nid, None)

    def forget_endpoint(self, eid: str) -> None:
        self._endpoints.pop(eid, None)

    def forget_type(self, network_type: str, st: State) -> None:
        """Forget every network of ``network_type`` and its endpoints: their driver lost
        them (a Docker plugin restarted), so the restore path replays them."""
        for net in st.networks():
            if net.type == network_type:
                self._networks.pop(net.id, None)
                for ep in st.endpoints(net):
                    self._endpoints.pop(ep.id, None)

    def forget_deleted(self, driver: Driver, network_type: str, stored: set[str]) -> None:
        """Tell ``driver`` that networks it knows, but the store no longer has, are gone.

        Another process deleted them; this process's driver still holds them (a ``null``
        driver would refuse a new network). Its ``delete_network`` lets it forget; an error
        there (the other process already removed what it had) is only logged.
        """
        gone = [
            nid
            for nid, kind in self._networks.items()
            if kind == network_type and nid not in stored
        ]
        for nid in gone:
            del self._networks[nid]
            try:
                driver.delete_network(nid)
            except Exception:
                log.debug(
                    "driver %r forgetting deleted network %s", network_type, nid[:12], exc_info=True
                )


class Op(Operation):
    """One all-or-nothing operation: its state (in a store transaction), its undo steps
    and after-commit steps (:class:`~libnet._operation.Operation`), and the drivers."""

    __slots__ = ("drivers", "state")

    def __init__(self, state: State, drivers: DriverCache) -> None:
        super().__init__()
        self.state = state
        self.drivers = drivers

    def release_addresses(self, net: NetworkRecord, ep: EndpointRecord | None = None) -> None:
        """Give back the endpoint's addresses, or (without ``ep``) the network's pools."""
        if not net.ipam:
            return
        driver = self.drivers.ipams.get(net.ipam["driver"]).driver
        if ep is not None:
            what = f"endpoint {ep.name!r} on network {net.name!r}"
            release_endpoint(driver, self.state.kv, self, ep.allocations, what)
        else:
            release_network(driver, self.state.kv, self, net.ipam)


class Runtime:
    """Operations, reads and drivers of one controller: what its handles may use."""

    __slots__ = ("_cache", "_current", "_store", "drivers", "lock", "owner")

    def __init__(self, store: Store, drivers: DriverCache, owner: str) -> None:
        self._store = store
        self._cache = RecordCache()
        self._current: State | None = None
        self.drivers = drivers
        self.owner = owner
        """Names this state in the marks of the kernel objects it owns."""
        self.lock = threading.RLock()
        """Serialises this controller's operations and driver calls between threads."""

    @contextmanager
    def operation(self) -> Iterator[Op]:
        """One all-or-nothing operation: a transaction, undone with its driver steps on error."""
        with self.lock:
            op: Op | None = None
            try:
                with self._store.transaction() as tx:
                    op = Op(State(tx, self._cache), self.drivers)
                    self._current = op.state
                    try:
                        yield op
                    finally:
                        self._current = None
            except BaseException:
                if op is not None:
                    op.rollback()
                raise
            op.state.commit_cache()
            op.committed()

    def read(self) -> State:
        """Reads outside a transaction (one consistent read per call)."""
        return State(self._store, self._cache)

    def current(self) -> State:
        """The state of the operation in progress in this controller, else a fresh read."""
        return self._current or self.read()
