"""The per-host agent: node lease, node discovery, and peers programmed from the store's watch.

:class:`Agent` runs on every host that has overlay endpoints. At start it registers the host
(:class:`~libnet.nodes.NodeDiscovery`, under a lease kept alive by a thread) and reconciles
the kernel: it lists the peer database at a revision, takes on this host's endpoints that
other processes made (``OverlayDriver.adopt_endpoint``) and makes every local vxlan device
hold exactly the live remote peers (``peer_sync``). Then it watches the peers from that
revision: a PUT of another host's endpoint is ``peer_add``, a DELETE ``peer_delete``; this
host's own endpoints are adopted or forgotten. After a compaction or a lost watch it lists
again, syncs every local network and resumes from the new revision. A host that appears is
a reason to sync too (its peers were skipped while it was unknown); one that goes is removed
by the driver's ``discover_delete``. ``stop`` revokes the lease, so the other hosts drop this
one's peers at once; a killed agent's lease expires after its TTL. Each change is one log
line at info level.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from types import TracebackType

from libnet.driverapi import Driver
from libnet.drivers.overlay import OverlayDriver, PeerDB, PeerRecord, parse_peer_key
from libnet.errors import InvalidOptionError, LibnetError, StoreCompactedError, StoreError
from libnet.nodes import DEFAULT_TTL, NODE_PREFIX, NodeDiscovery, NodeRecord
from libnet.store import Store
from libnet.store.watch import PUT, WatchEvent

__all__ = ["Agent"]

log = logging.getLogger("libnet")

_POLL = 0.5


class Agent:
    """Keeps this host's overlay peers in step with the global store (module docstring).

    ``store`` is the global store; ``driver`` the overlay driver on it (its ``host`` must be
    ``host_id``, the host ID of peer records); ``advertise_addr`` this host's address.
    ``drivers`` names further global-scope drivers to tell about hosts (or a function giving
    them). ``ttl`` is the node lease's, in seconds.
    """

    def __init__(
        self,
        store: Store,
        driver: OverlayDriver,
        host_id: str,
        advertise_addr: str,
        *,
        ttl: int = DEFAULT_TTL,
        drivers: Iterable[Driver] | Callable[[], Iterable[Driver]] = (),
        node_prefix: str = NODE_PREFIX,
    ) -> None:
        if driver.db is None:
            raise InvalidOptionError(
                "the overlay driver given to the agent has no global store: create it with "
                "store= (the global store)"
            )
        if driver.host != host_id:
            raise InvalidOptionError(
                f"the overlay driver's host {driver.host!r} is not the agent's host ID "
                f"{host_id!r}: create the driver with host=<host ID>"
            )
        self.driver = driver
        self.db: PeerDB = driver.db
        self.host_id = host_id
        others = drivers

        def everyone() -> list[Driver]:
            extra = others() if callable(others) else others
            return [driver, *(d for d in extra if d is not driver)]

        self.nodes = NodeDiscovery(
            store,
            host_id,
            advertise_addr,
            everyone,
            ttl=ttl,
            prefix=node_prefix,
            on_change=self._node_changed,
        )
        self.revision = 0
        self._records: dict[tuple[str, str], PeerRecord] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._mutex = threading.RLock()  # the peer records: the watch and node threads
        self._running = False
        self._revoke = True
        self.resyncs = 0
        """How many times the peers were listed again (a compaction or a lost watch)."""

    # Start, run and stop.

    def start(self) -> Agent:
        """Register, reconcile the kernel, and watch in a thread; returns at once."""
        self.nodes.start()
        try:
            self.reconcile()
        except BaseException:
            self.nodes.stop()
            raise
        self._thread = threading.Thread(target=self._run, name="libnet-agent", daemon=True)
        self._thread.start()
        log.info(
            "agent of host %s at %s started: %d peers, %d local networks",
            self.host_id,
            self.nodes.address,
            len(self._records),
            len(self.driver.local_networks()),
        )
        return self

    def run(self) -> None:
        """Start, then block until :meth:`stop` (from another thread or a signal handler)."""
        if self._thread is None:
            self.start()
        self._running = True
        try:
            self._stop.wait()
        finally:
            self._running = False
            self._shutdown()

    def stop(self, *, revoke: bool = True) -> None:
        """Stop watching and end the lease (``revoke``: at once, so peers go now; else it
        expires after the TTL, as after a crash). Safe from a signal handler."""
        self._revoke = revoke
        self._stop.set()
        if not self._running:
            self._shutdown()

    def _shutdown(self) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self.nodes.stop(revoke=self._revoke)  # first, so the other hosts drop ours now
            thread.join(5)
            log.info(
                "agent of host %s stopped%s",
                self.host_id,
                "" if self._revoke else " (its lease left to expire)",
            )

    def __enter__(self) -> Agent:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # Reconciling.

    def reconcile(self) -> None:
        """List every peer at a revision, take on this host's endpoints, and make each local
        vxlan device hold exactly the live remote peers; watching resumes after it."""
        with self._mutex:
            self._reconcile()

    def _reconcile(self) -> None:
        pairs, revision = self.db.view.list_revision(self.db.peers_prefix())
        records: dict[tuple[str, str], PeerRecord] = {}
        for pair in pairs:
            parsed = self._parse(pair.key, pair.value)
            if parsed is not None:
                records[parsed[0]] = parsed[1]
        for (nid, eid), record in sorted(self._records.items()):
            if (nid, eid) not in records and record.host == self.host_id:
                self.driver.forget_endpoint(nid, eid)
        for (nid, eid), record in sorted(records.items()):
            if record.host == self.host_id:
                self._adopt(nid, eid, record)
        self._records = records
        self.revision = revision
        self._sync_all()

    def _sync_all(self) -> None:
        by_network: dict[str, list[PeerRecord]] = {}
        with self._mutex:
            for (nid, _), record in self._records.items():
                by_network.setdefault(nid, []).append(record)
        for nid in self.driver.local_networks():
            added, removed = self.driver.peer_sync(nid, by_network.get(nid, []))
            if added or removed:
                log.info("network %s synced: %d peers programmed, %d removed", nid[:12], added,
                         removed)  # fmt: skip

    def _adopt(self, nid: str, eid: str, record: PeerRecord) -> None:
        if self.driver.adopt_endpoint(nid, eid, record):
            log.info("network %s has local endpoints: programming its peers", nid[:12])
            peers = [r for (n, _), r in self._records.items() if n == nid]
            self.driver.peer_sync(nid, peers)

    def _node_changed(self, kind: str, host: str, record: NodeRecord) -> None:
        if kind == "new" and host != self.host_id and self._thread is not None:
            self._sync_all()  # peers on a host not known until now were skipped

    # Watching.

    def _parse(self, key: str, value: bytes) -> tuple[tuple[str, str], PeerRecord] | None:
        ids = parse_peer_key(key, "")
        if ids is None:
            return None
        try:
            return ids, PeerRecord.decode(value)
        except (ValueError, KeyError, TypeError):
            log.warning("peer record %s is not the overlay driver's: ignored", key)
            return None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with self.db.view.watch(self.db.peers_prefix(), self.revision) as watch:
                    while not self._stop.is_set():
                        for event in watch.next(_POLL):
                            self._event(event)
                        self.revision = watch.revision
            except StoreCompactedError:
                log.info("peer watch fell behind a compaction: listing the peers again")
            except StoreError as e:
                log.warning("peer watch failed: %s; listing the peers again", e)
                self._stop.wait(_POLL)
            while not self._stop.is_set():
                try:
                    self.resyncs += 1
                    self.reconcile()
                    break
                except LibnetError as e:
                    log.warning("cannot list the peers: %s", e)
                    self._stop.wait(_POLL)

    def _event(self, event: WatchEvent) -> None:
        ids = parse_peer_key(event.key, "")
        if ids is None:
            return
        nid, eid = ids
        try:
            with self._mutex:
                if event.kind == PUT:
                    parsed = self._parse(event.key, event.value)
                    if parsed is not None:
                        self._put(nid, eid, parsed[1])
                else:
                    self._delete(nid, eid, event)
        except LibnetError as e:  # a kernel hiccup: the next sync repairs it
            log.warning("peer %s of network %s not programmed: %s", eid[:12], nid[:12], e)

    def _put(self, nid: str, eid: str, record: PeerRecord) -> None:
        self._records[(nid, eid)] = record
        if record.host == self.host_id:
            self._adopt(nid, eid, record)
        elif self.driver.peer_add(nid, eid, record):
            log.info(
                "peer %s (%s %s) of network %s added at %s",
                eid[:12],
                record.ip,
                record.mac,
                nid[:12],
                record.vtep,
            )

    def _delete(self, nid: str, eid: str, event: WatchEvent) -> None:
        record = self._records.pop((nid, eid), None)
        if record is None and event.prev_value:
            parsed = self._parse(event.key, event.prev_value)
            record = None if parsed is None else parsed[1]
        if record is None:
            return
        if record.host == self.host_id:
            self.driver.forget_endpoint(nid, eid)
        elif self.driver.peer_delete(nid, eid, record):
            log.info(
                "peer %s (%s) of network %s removed from %s",
                eid[:12],
                record.ip,
                nid[:12],
                record.vtep,
            )
