"""Node discovery over the global store: each host registered under a lease, watched by all.

This host's record is ``{prefix}{host ID}`` = ``{"Address": advertise address, "Host": ID}``,
put under a lease kept alive by a thread: when the host stops (``stop`` revokes the lease) or
dies (the lease expires after its TTL) the record goes, and every other host hears of it.

A :class:`NodeDiscovery` lists the prefix, then watches it from the listing's revision, and
tells the global-scope drivers it is given, as libnetwork's node discovery did:
``discover_new(DiscoveryType.NODE, {"Address", "BindAddress", "Self"})`` for each host that
appears (this one included, with ``Self`` true) and ``discover_delete`` with the same data
for each that goes. After a compaction it lists again and reports the difference.
"""

from __future__ import annotations

import enum
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from libnet.driverapi import Driver
from libnet.errors import StoreCompactedError, StoreError
from libnet.store import DriverStore, KVPair, Lease, Store
from libnet.store.hostid import check_host_id
from libnet.store.watch import PUT

__all__ = [
    "DEFAULT_TTL",
    "NODE_PREFIX",
    "DiscoveryType",
    "NodeDiscovery",
    "NodeRecord",
    "registered_node",
]

log = logging.getLogger("libnet")

NODE_PREFIX = "nodes/"
"""Where hosts register, in the global store."""
DEFAULT_TTL = 10
"""Seconds a dead host stays registered."""
_POLL = 0.5


class DiscoveryType(enum.IntEnum):
    """libnetwork's ``driverapi.DiscoveryType`` values."""

    NODE = 1
    DATASTORE = 2
    ENCRYPTION_KEYS_CONFIG = 3
    ENCRYPTION_KEYS_UPDATE = 4


NodeRecord = dict[str, str]
"""A registered host: ``{"Address": ..., "Host": ...}``."""


def _decode(pair: KVPair) -> NodeRecord | None:
    try:
        data = json.loads(pair.value)
        return {"Address": str(data["Address"]), "Host": str(data["Host"])}
    except (ValueError, KeyError, TypeError):
        log.warning("node record %s is not libnet's: ignored", pair.key)
        return None


def registered_node(
    store: Store | DriverStore, host_id: str, *, prefix: str = NODE_PREFIX
) -> NodeRecord | None:
    """Host ``host_id``'s record while it is registered, else None.

    The record lives under its agent's lease: the store removes it when the lease is
    revoked (the agent stopped) or expires (the agent died, after the TTL), so a record
    present is an agent alive within the TTL.
    """
    view = store if isinstance(store, DriverStore) else DriverStore(store, prefix)
    pair = view.find(check_host_id(host_id))
    return None if pair is None else _decode(pair)


class NodeDiscovery:
    """Registers this host (``host_id``, ``address``) and reports hosts to ``drivers``.

    ``drivers`` is the global-scope drivers to tell, or a function giving them (asked at
    each event, so drivers loaded later hear of later hosts). ``on_change`` (optional) is
    called with ``(kind, host ID, record)`` after the drivers were told ("new"/"delete").
    """

    def __init__(
        self,
        store: Store | DriverStore,
        host_id: str,
        address: str,
        drivers: Iterable[Driver] | Callable[[], Iterable[Driver]] = (),
        *,
        ttl: int = DEFAULT_TTL,
        prefix: str = NODE_PREFIX,
        on_change: Callable[[str, str, NodeRecord], None] | None = None,
    ) -> None:
        self.view = store if isinstance(store, DriverStore) else DriverStore(store, prefix)
        self.host_id = check_host_id(host_id)
        self.address = address
        self.ttl = ttl
        self._drivers = drivers
        self._on_change = on_change
        self.nodes: dict[str, NodeRecord] = {}
        """The hosts registered now, by host ID (as last reported to the drivers)."""
        self.revision = 0
        self.lease: Lease | None = None
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._thread: threading.Thread | None = None

    # Registration.

    def register(self) -> Lease:
        """Put this host's record under a new lease (kept alive); the lease."""
        lease = self.view.lease(self.ttl, on_lost=self._lost.set)
        try:
            record = {"Address": self.address, "Host": self.host_id}
            self.view.put(self.host_id, json.dumps(record).encode(), lease=lease)
        except BaseException:
            lease.revoke()
            raise
        self.lease = lease
        self._lost.clear()
        return lease

    def _reregister(self) -> None:
        """After the lease was lost (the store unreachable longer than the TTL)."""
        try:
            self.register()
            log.info("host %s registered again with a new lease", self.host_id)
        except StoreError as e:
            log.warning("host %s cannot register again yet: %s", self.host_id, e)

    # Reports.

    def _drivers_now(self) -> list[Driver]:
        drivers = self._drivers
        return list(drivers() if callable(drivers) else drivers)

    def _data(self, record: NodeRecord) -> dict[str, Any]:
        address = record["Address"]
        return {"Address": address, "BindAddress": address, "Self": record["Host"] == self.host_id}

    def _tell(self, kind: str, host: str, record: NodeRecord) -> None:
        data = self._data(record)
        for driver in self._drivers_now():
            try:
                if kind == "new":
                    driver.discover_new(DiscoveryType.NODE, data)
                else:
                    driver.discover_delete(DiscoveryType.NODE, data)
            except Exception:
                log.exception("driver %r failed on discover_%s of host %s", driver, kind, host)
        log.info(
            "node %s %s at %s%s",
            host,
            "joined" if kind == "new" else "left",
            record["Address"],
            " (this host)" if data["Self"] else "",
        )
        if self._on_change is not None:
            self._on_change(kind, host, record)

    def _apply(self, host: str, record: NodeRecord | None) -> None:
        known = self.nodes.get(host)
        if known == record:
            return
        if known is not None:
            del self.nodes[host]
            self._tell("delete", host, known)
        if record is not None:
            self.nodes[host] = record
            self._tell("new", host, record)

    def sync(self) -> None:
        """List the registered hosts and report the difference from what was known."""
        pairs, revision = self.view.list_revision()
        found = {}
        for pair in pairs:
            record = _decode(pair)
            if record is not None:
                found[pair.key] = record
        for host in sorted(set(self.nodes) - set(found)):
            self._apply(host, None)
        for host in sorted(found):
            self._apply(host, found[host])
        self.revision = revision

    # The watch loop.

    def start(self) -> NodeDiscovery:
        """Register, report the hosts registered now, and watch for changes in a thread."""
        if self.lease is None:
            self.register()
        self.sync()
        self._thread = threading.Thread(target=self._run, name="libnet-nodes", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self.view.watch("", self.revision) as watch:
                    while not self._stop.is_set():
                        if self._lost.is_set():
                            self._reregister()
                        for event in watch.next(_POLL):
                            record = None
                            if event.kind == PUT:
                                record = _decode(KVPair(event.key, event.value, event.revision))
                            self._apply(event.key, record)
                        self.revision = watch.revision
            except StoreCompactedError:
                log.info("node watch fell behind a compaction: listing the hosts again")
            except StoreError as e:
                log.warning("node watch failed: %s; listing the hosts again", e)
                self._stop.wait(_POLL)
            if self._stop.is_set():
                return
            try:
                self.sync()
            except StoreError as e:
                log.warning("cannot list the hosts: %s", e)
                self._stop.wait(_POLL)

    def stop(self, *, revoke: bool = True) -> None:
        """Stop watching; ``revoke`` ends the lease so other hosts drop this one at once
        (else it expires after the TTL, as after a crash)."""
        self._stop.set()
        lease, self.lease = self.lease, None
        if lease is not None:  # first: the other hosts hear of it while this one winds down
            if revoke:
                lease.revoke()
            else:
                lease.release()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def __enter__(self) -> NodeDiscovery:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
