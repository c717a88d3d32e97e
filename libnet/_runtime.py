"""The narrow interface between the controller's machinery and the layers that use it.

Handles (``Network``, ``Endpoint``, ``Sandbox``), reconciliation and the plugin server
never reach into a ``Controller``: they get a :class:`Runtime`. It opens operations
(:class:`Op`: object locks, an intent, a journal of writes committed in one short
transaction, its undo steps and the driver cache) and reads, and its
:class:`DriverCache` finds drivers and keeps the one restore path: before this process's
first call about a stored network or endpoint, the driver is told about it through
``restore_network`` / ``restore_endpoint``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Set
from contextlib import contextmanager
from types import MappingProxyType
from typing import Any, Protocol

from libnet._addressing import (
    CLAIMS,
    ipam_data,
    release_claim,
    release_endpoint,
    release_network,
)
from libnet._calls import call_driver, undo
from libnet._intents import Intent, intents
from libnet._journal import Journal
from libnet._operation import Operation
from libnet._output import plugin_code
from libnet._records import EndpointRecord, NetworkRecord, new_id
from libnet._state import RecordCache, State
from libnet.driverapi import Driver, InterfaceInfo, IPAMData
from libnet.errors import (
    EndpointNotFoundError,
    LibnetError,
    OSLayerError,
    SandboxNotFoundError,
)
from libnet.ipam import Ipam, bind_ipam
from libnet.registry import Registered
from libnet.store import ALL, Held, KVOps, Store, this_process

__all__ = [
    "DriverCache",
    "DriverSource",
    "Op",
    "ReservedError",
    "Runtime",
    "network_lock",
    "sandbox_lock",
]

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

    __slots__ = ("_endpoints", "_networks", "find", "ipams", "networks")

    def __init__(self, networks: DriverSource, ipams: DriverSource) -> None:
        self.networks = networks
        """Network drivers by network type."""
        self.ipams = ipams
        """IPAM drivers by name."""
        self.find: Callable[[str], NetworkRecord | None] = lambda _: None
        """The stored network of an ID, or None (the runtime's reads; set by Runtime)."""
        self._networks: dict[str, str] = {}  # network ID -> network type
        self._endpoints: dict[str, str | None] = {}  # endpoint ID -> sandbox the driver knows

    def network_driver(self, net: NetworkRecord) -> Driver:
        """The network's driver, told about the network first if it never was (after
        forgetting the networks of its type that are no longer stored)."""
        driver: Driver = self.networks.get(net.type).driver
        if net.id not in self._networks:
            self.forget_missing(net.type)
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

    def forget_gone(self, nid: str, eid: str | None = None) -> None:
        """Network ``nid`` (or only its endpoint ``eid``) is no longer stored: another
        process deleted it. If this process's driver still holds it, its
        ``delete_network`` (``delete_endpoint``) lets it forget; an error there (the other
        process already removed what it had) is only logged."""
        network_type = self._networks.get(nid)
        if network_type is None or (eid is not None and eid not in self._endpoints):
            return
        reg = self.networks.loaded(network_type)
        if eid is not None:
            del self._endpoints[eid]
            if reg is not None:
                _forget(network_type, reg.driver.delete_endpoint, nid, eid)
            return
        del self._networks[nid]
        if reg is not None:
            _forget(network_type, reg.driver.delete_network, nid)

    def forget_type(self, network_type: str, st: State) -> None:
        """Forget every network of ``network_type`` and its endpoints: their driver lost
        them (a Docker plugin restarted), so the restore path replays them."""
        for net in st.networks():
            if net.type == network_type:
                self._networks.pop(net.id, None)
                for ep in st.endpoints(net):
                    self._endpoints.pop(ep.id, None)

    def known(self) -> list[str]:
        """The networks this process's drivers were told about."""
        return list(self._networks)

    def forget_missing(
        self, network_type: str | None = None, listed: Set[str] = frozenset()
    ) -> None:
        """Let the drivers forget the networks (of ``network_type``) whose records are gone.

        Another process or host deleted them; this process's driver still holds them (a
        ``null`` driver would refuse a new network, a kernel driver would keep its state).
        A network in ``listed`` is stored; any other is looked up, and kept when the store
        cannot say (the global store unreachable). The driver's ``delete_network`` lets it
        forget; an error there (the other process already removed what it had) is only
        logged.
        """
        for nid, kind in list(self._networks.items()):
            if nid in listed or network_type not in (None, kind):
                continue
            try:
                gone = self.find(nid) is None
            except LibnetError as exc:
                log.debug("network %s kept in its driver: %s", nid[:12], exc)
                continue
            if gone:
                self.forget_gone(nid)


def _forget(network_type: str, method: Callable[..., Any], *ids: str) -> None:
    """Let a driver forget an object another process deleted; its errors are only logged."""
    try:
        with plugin_code():
            method(*ids)
    except Exception:
        log.debug("driver %r forgetting deleted %s", network_type, ids[-1][:12], exc_info=True)


LockSpec = Callable[[State], Mapping[str, str]]
"""Which object locks an operation needs, given the state: lock name -> the object as
error messages name it. Called before the locks are taken and again once they are held;
the second answer must be covered by the first (else the locks are taken again). The
state's records are the kept ones, not copies: read them, never change them."""

LOCK_TIMEOUT = 10.0
"""Seconds an operation waits for another one's object lock before giving up."""


def network_lock(nid: str, scope: str = "local") -> str:
    """The lock of network ``nid``; a global network's is in the global store."""
    return f"global/network-{nid}" if scope == "global" else f"network-{nid}"


def sandbox_lock(sid: str) -> str:
    return f"sandbox-{sid}"


class Op(Operation):
    """One all-or-nothing operation: its state (reads from the store, writes kept for the
    commit), its undo and after-commit steps (:class:`~libnet._operation.Operation`), its
    intent, and the drivers.

    In a store that is not durable (``Store.durable``) the intent is stored only to
    reserve a name: no crash can leave it for recovery, so its steps are not saved. The
    undo steps of a failure run all the same."""

    __slots__ = (
        "_at_commit",
        "_durable",
        "_saved",
        "_store",
        "discard",
        "drivers",
        "intent",
        "state",
    )

    def __init__(
        self,
        state: State,
        drivers: DriverCache,
        store: Store,
        intent: Intent,
        durable: bool = True,
    ) -> None:
        super().__init__()
        self.state = state
        self.drivers = drivers
        self.intent = intent
        self.discard: set[str] = set()
        """Locks whose object this operation deletes (their files go with them)."""
        self._store = store
        self._durable = durable
        self._at_commit: list[Callable[[KVOps], None]] = []
        self._saved = False  # whether the intent is in the store

    def _save(self, kv: KVOps) -> None:
        if self._durable or self.intent.reserve is not None:
            self.intent.save(kv)
            self._saved = True

    def note(self, step: list[Any]) -> None:
        """Add a step to the intent, stored with its next save (:meth:`intend`, or the
        transaction of an IPAM request), which must come before the step is done."""
        self.intent.undo.append(step)

    def intend(self, step: list[Any] | None = None) -> None:
        """Record in the intent, durably and before doing it, a step to undo after a crash
        (or, without ``step``, the steps noted so far)."""
        if step is not None:
            self.intent.undo.append(step)
        self._save(self._store)

    def at_commit(self, fn: Callable[[KVOps], None]) -> None:
        self._at_commit.append(fn)

    @contextmanager
    def ipam(
        self, name: str, driver: Ipam, scope: str = "local"
    ) -> Iterator[tuple[Ipam, Callable[..., None]]]:
        """IPAM requests of one step (see :class:`~libnet._addressing.IpamSteps`)."""
        steps: list[list[Any]] = []
        # A driver keeping its own state (a plugin) is not bound to a transaction.
        direct = bind_ipam(driver, self._store) is driver

        def record(method: str, *args: Any) -> None:
            steps.append(["ipam", name, method, *args])
            if direct:  # done outside any transaction: undo it whatever comes next
                self.on_failure(f"IPAM {method} {args[-1]}", getattr(driver, method), *args)
                self.intend(steps[-1])

        if direct:
            yield driver, record
            return
        if scope == "global":
            with self._claim() as claim, self._store.transaction() as tx:
                yield bind_ipam(driver, tx), record
                claim(tx, steps)
            return
        with self._store.transaction() as tx:  # the allocations and their record, together
            yield bind_ipam(driver, tx), record
            self.intent.undo.extend(steps)
            self._save(tx)
        for _, _, method, *args in steps:
            self.on_failure(f"IPAM {method} {args[-1]}", getattr(driver, method), *args)

    @contextmanager
    def _claim(self) -> Iterator[Callable[[KVOps, list[list[Any]]], None]]:
        """A claim for allocations committing in the global store.

        The intent is local, so one transaction cannot hold both: a crash between the
        global commit and the local one would leak the allocations. So the intent names the
        claim first, durably; the allocations' transaction writes the claim (their
        releases) beside them, and the intent's copy of the steps. A failed operation, or
        recovery after a crash, releases what the claim lists in one transaction that
        deletes it (nothing if it never committed); the operation's commit deletes it.
        """
        key = f"{CLAIMS}{self.intent.id}.{len(self.intent.undo)}"
        at = len(self.intent.undo)
        self.intend(["claim", key])
        self.on_failure(f"IPAM allocations ({key})", self.release_claim, key)

        def claim(tx: KVOps, steps: list[list[Any]]) -> None:
            tx.put(key, json.dumps(steps, separators=(",", ":")).encode())
            self.intent.undo[at] = ["claim", key, steps]
            self._save(tx)

        yield claim
        self.at_commit(lambda tx: tx.delete(key) if tx.exists(key) else None)

    def release_claim(self, key: str) -> None:
        """Release what claim ``key`` lists (see :func:`~libnet._addressing.release_claim`)."""
        release_claim(self._store, lambda name: self.drivers.ipams.get(name).driver, key)

    def release_addresses(self, net: NetworkRecord, ep: EndpointRecord | None = None) -> None:
        """Give back the endpoint's addresses, or (without ``ep``) the network's pools."""
        if not net.ipam:
            return
        driver = self.drivers.ipams.get(net.ipam["driver"]).driver
        if ep is not None:
            what = f"endpoint {ep.name!r} on network {net.name!r}"
            release_endpoint(driver, self, ep.allocations, what)
        else:
            release_network(driver, self, net.ipam)

    def commit(self, journal: Journal) -> dict[str, int]:
        def finish(tx: KVOps) -> None:
            for fn in self._at_commit:
                fn(tx)
            if self._saved:
                tx.delete(self.intent.key)

        return journal.commit(finish)


class Runtime:
    """Operations, reads and drivers of one controller: what its handles may use."""

    __slots__ = (
        "_cache",
        "_current",
        "_durable",
        "_store",
        "drivers",
        "host",
        "lock",
        "lock_timeout",
        "owner",
    )

    def __init__(self, store: Store, drivers: DriverCache, owner: str) -> None:
        self._store = store
        self._durable = store.durable
        self._cache = RecordCache()
        self._current: State | None = None
        self.drivers = drivers
        self.owner = owner
        """Names this state in the marks of the kernel objects it owns."""
        self.host: str | None = None
        """This host's ID, written in the endpoint records of global networks."""
        self.lock = threading.RLock()
        """Serialises this controller's operations and driver calls between threads."""
        self.lock_timeout: float = getattr(store, "timeout", LOCK_TIMEOUT)
        """Seconds to wait for another operation's object lock (the store's timeout)."""
        drivers.find = lambda nid: self.current().find_network(nid)

    def networks(self) -> list[NetworkRecord]:
        """Every stored network; this process's drivers forget the others they hold
        (another host or process deleted them)."""
        recs = self.read().networks()
        listed = {rec.id for rec in recs}
        if not listed.issuperset(self.drivers.known()):
            with self.lock:
                self.drivers.forget_missing(listed=listed)
        return recs

    @contextmanager
    def operation(
        self,
        what: str = "operation",
        *,
        locks: LockSpec | None = None,
        reserve: tuple[str, str] | None = None,
        check: Callable[[State], None] | None = None,
        exclusive: bool = False,
        recheck: bool = True,
    ) -> Iterator[Op]:
        """One all-or-nothing operation, holding the object locks ``locks`` names.

        Dead processes' intents are rolled back first. The intent is recorded in a short
        transaction that also runs ``check`` and reserves ``reserve`` (kind, name); if
        another operation holds that reservation (a create of that name in progress) this
        one waits for it to end and checks again. Drivers run outside any
        store transaction; the records are written when the block ends, in one short
        transaction that deletes the intent. On error the undo steps run newest first and
        the intent is deleted. ``exclusive`` takes the ``all`` lock exclusively: no other
        operation runs meanwhile (reconciliation). ``recheck=False`` says that the locks
        ``locks`` names do not depend on the state (they are not asked for again).
        """
        with self.lock:
            self.recover()
            held, names, journal = self._take_locks(locks, exclusive, recheck)
            op: Op | None = None
            try:
                intent = Intent(new_id(), what, os.getpid(), this_process().command, names)
                op = Op(
                    State(journal, self._cache), self.drivers, self._store, intent, self._durable
                )
                if reserve is not None:
                    intent.reserve = list(reserve)
                    while True:
                        try:
                            self._prepare(op, check)
                            break
                        except ReservedError as exc:
                            self._wait_for(exc.intent)
                self._current = op.state
                try:
                    yield op
                    indices = op.commit(journal)
                except BaseException:
                    op.rollback()
                    if op._saved:
                        self._drop_intent(intent)
                    raise
                finally:
                    self._current = None
                op.state.commit_cache(indices)
                op.committed()
            finally:
                held.release(frozenset(op.discard) if op is not None else frozenset())

    def _take_locks(
        self, locks: LockSpec | None, exclusive: bool, recheck: bool
    ) -> tuple[Held, dict[str, bool], Journal]:
        """Take the locks ``locks`` asks for, again with more if the answer grew; the
        journal for the operation holds what the check made under the locks read.

        With ``recheck``, the first answer is read through a journal: if what it read is
        unchanged once the locks are held, it stands (and the journal serves the
        operation) without asking ``locks`` again."""
        first = Journal(self._store) if locks is not None and recheck else None
        wanted: dict[str, str] = (
            dict(locks(State(first or self._store, self._cache, shared=True)))
            if locks is not None
            else {}
        )
        store_locks = self._store.locks()
        while True:
            names = {ALL: exclusive, **{name: True for name in wanted}}
            held = store_locks.acquire(names, wanted, self.lock_timeout)
            if first is not None:
                try:
                    if first.unchanged():
                        return held, names, first
                except BaseException:
                    held.release()
                    raise
                first = None
            journal = Journal(self._store)
            if locks is None or not recheck:
                return held, names, journal
            try:
                again = locks(State(journal, self._cache, shared=True))
            except BaseException:
                held.release()
                raise
            if again.keys() <= wanted.keys():
                return held, names, journal
            held.release()
            wanted.update(again)

    def _prepare(self, op: Op, check: Callable[[State], None] | None) -> None:
        """Reserve the intent's name: refused if ``check`` fails or a live intent has it."""
        with self._store.transaction() as tx:
            if check is not None:
                check(State(tx))
            for other in intents(tx):
                if other.reserve == op.intent.reserve:
                    raise ReservedError(other)
            op._save(tx)

    def _wait_for(self, other: Intent) -> None:
        """Wait (up to the lock timeout) until the operation that reserved the name this
        one wants is done, so that the check is made again on its outcome; roll it back
        if its process died."""
        names = {name: True for name in other.locks if name != ALL}
        kind, name = other.reserve or ("object", other.what)
        what = dict.fromkeys(names, f"{kind} {name!r}")
        with self._store.locks().acquire(names, what, self.lock_timeout):
            if self._store.exists(other.key):  # its locks are free: its process died
                self._roll_back(other)

    def _drop_intent(self, intent: Intent) -> None:
        try:
            with self._store.transaction() as tx:
                if tx.exists(intent.key):
                    tx.delete(intent.key)
        except Exception:
            log.warning(
                "could not remove the intent of a failed %s; the next operation rolls it back",
                intent.what,
                exc_info=True,
            )

    def recover(self) -> None:
        """Roll back the intents of processes that died mid-operation.

        An intent whose locks can all be taken now has no live owner (the owner holds them
        until its intent is gone). What recovery does per step is in ARCHITECTURE.md,
        "Locks and intents": IPAM allocations are released, networks and endpoints the
        driver may have made are restored into it and deleted; the store's records were
        never written. A store that is not durable has none to roll back.
        """
        if not self._durable:
            return
        with self.lock:
            for intent in intents(self._store):
                held = self._store.locks().try_acquire(intent.locks)
                if held is None:
                    continue
                with held:
                    if self._store.exists(intent.key):
                        self._roll_back(intent)

    def _roll_back(self, intent: Intent) -> None:
        log.warning(
            "rolling back %s, left unfinished by process %d (%s)",
            intent.what,
            intent.pid,
            intent.command,
        )
        st = self.read()
        for step in reversed(intent.undo):
            kind, *args = step
            undo(f"{intent.what} ({kind})", self._undo_step, st, kind, args, intent)
        with self._store.transaction() as tx:
            if tx.exists(intent.key):
                tx.delete(intent.key)

    def _undo_step(self, st: State, kind: str, args: list[Any], intent: Intent) -> None:
        if kind == "ipam":
            name, method, *rest = args
            getattr(self.drivers.ipams.get(name).driver, method)(*rest)
        elif kind == "claim":
            release_claim(self._store, lambda name: self.drivers.ipams.get(name).driver, args[0])
        elif kind == "network":
            network_type, nid, options, ipv4, ipv6 = args
            driver = self.drivers.networks.get(network_type).driver
            if st.find_network(nid) is None:  # never committed: the driver adopts, then drops it
                driver.restore_network(
                    nid, MappingProxyType(options), _ipam_list(ipv4), _ipam_list(ipv6)
                )
                self.drivers.forget_network(nid)
                driver.delete_network(nid)
        elif kind == "namespace":
            from libnet.osl import NETNS_DIR, delete_namespace

            (name,) = args
            if not any(sbox.key and sbox.key.endswith("/" + name) for sbox in st.sandboxes()):
                with contextlib.suppress(OSLayerError):
                    delete_namespace(str(NETNS_DIR / name))
        elif kind == "endpoint":
            nid, eid, iface, options = args
            net = st.find_network(nid)
            if net is None:
                return
            try:
                st.endpoint(net, eid)
                return  # committed after all
            except EndpointNotFoundError:
                pass
            driver = self.drivers.network_driver(net)
            driver.restore_endpoint(nid, eid, _interface(iface, intent), MappingProxyType(options))
            self.drivers.forget_endpoint(eid)
            driver.delete_endpoint(nid, eid)

    def read(self) -> State:
        """Reads outside a transaction (one consistent read per call)."""
        return State(self._store, self._cache)

    def current(self) -> State:
        """The state of the operation in progress in this controller, else a fresh read."""
        return self._current or self.read()


class ReservedError(Exception):
    """A name being created by another operation (the runtime waits for it)."""

    def __init__(self, intent: Intent) -> None:
        super().__init__(intent.what)
        self.intent = intent


def _interface(iface: dict[str, Any] | None, intent: Intent) -> InterfaceInfo:
    """The endpoint's interface as recorded, else its addresses from the intent's IPAM
    steps (the driver picked the rest)."""
    if iface is not None:
        return InterfaceInfo.from_record(iface)
    found: dict[int, str] = {}
    steps = [step for step in intent.undo if step[0] == "ipam"]
    for step in intent.undo:
        if step[0] == "claim" and len(step) > 2:
            steps.extend(step[2])
    for _, _, method, *args in steps:
        if method == "release_address":
            address = str(args[-1])
            found.setdefault(6 if ":" in address else 4, address)
    return InterfaceInfo(address=found.get(4), address_ipv6=found.get(6))


def _ipam_list(items: list[dict[str, Any]]) -> list[IPAMData]:
    return [IPAMData(**item) for item in items]
