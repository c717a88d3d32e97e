"""The overlay driver's data in a Store: networks' VNIs and the peer database.

Key layout, under the driver's prefix (``overlay/`` by default)::

    {prefix}network/{nid}          {"vni": 4096}
    {prefix}peer/{nid}/{eid}       {"ip": "10.200.0.2", "mac": "02:42:...", "vtep": "192.0.2.1",
                                    "host": "host-a"}
    {prefix}vni/{block}            the VNI bitmap, one key per 4096 VNIs (see vni.py)

Each value is small JSON, every write is a single-key put or compare-and-swap, and a peer
is one key, so a prefix watch on ``{prefix}peer/`` (etcd) gives one event per endpoint
appearing or going: :func:`parse_peer_key` and :meth:`PeerRecord.decode` read such events.
Nothing here needs a transaction, so it works on every Store (memory, SQLite, etcd).
All access goes through the public :class:`~libnet.store.DriverStore` view, as a
third-party multi-host driver's would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from libnet.drivers.overlay.netlink import Peer
from libnet.errors import InvalidOptionError, StaleVersionError
from libnet.store import DriverStore, Store

__all__ = ["DEFAULT_PREFIX", "PeerDB", "PeerRecord", "parse_peer_key"]

DEFAULT_PREFIX = "overlay/"
_RETRIES = 16


@dataclass(frozen=True)
class PeerRecord:
    """One endpoint of an overlay network: its address, MAC, host and the host's VTEP."""

    ip: str
    mac: str
    vtep: str
    host: str

    def encode(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def decode(cls, value: bytes) -> PeerRecord:
        data = json.loads(value)
        return cls(str(data["ip"]), str(data["mac"]), str(data["vtep"]), str(data["host"]))

    def peer(self) -> Peer:
        """What the kernel is programmed with for this endpoint."""
        return Peer(self.ip, self.mac, self.vtep)


def parse_peer_key(key: str, prefix: str = DEFAULT_PREFIX) -> tuple[str, str] | None:
    """(network ID, endpoint ID) of a peer key (full, or relative with ``prefix=""``), or
    None if ``key`` is not one."""
    head = prefix + "peer/"
    if not key.startswith(head):
        return None
    parts = key[len(head) :].split("/")
    return (parts[0], parts[1]) if len(parts) == 2 and all(parts) else None


def _check_id(value: str, what: str) -> None:
    if not value or "/" in value:
        raise InvalidOptionError(f"overlay {what} {value!r} must be non-empty, without '/'")


def driver_store(store: Store | DriverStore, prefix: str = DEFAULT_PREFIX) -> DriverStore:
    """``store`` itself if it is a view already, else its view under ``prefix``."""
    if isinstance(store, DriverStore):
        return store
    if not prefix.endswith("/"):
        raise InvalidOptionError(f"overlay store prefix {prefix!r} must end with '/'")
    return DriverStore(store, prefix)


class PeerDB:
    """Network VNIs and peers of one overlay driver in its view of the global store
    (``store``: a DriverStore, or a Store to view under ``prefix``)."""

    def __init__(self, store: Store | DriverStore, prefix: str = DEFAULT_PREFIX) -> None:
        self.view = driver_store(store, prefix)
        self.prefix = self.view.prefix

    def network_key(self, nid: str) -> str:
        """Relative to the view, as every key below."""
        return f"network/{nid}"

    def peer_key(self, nid: str, eid: str) -> str:
        return f"peer/{nid}/{eid}"

    def peers_prefix(self, nid: str | None = None) -> str:
        """The prefix to list or watch: every peer, or ``nid``'s."""
        return "peer/" + (f"{nid}/" if nid else "")

    # -- networks ------------------------------------------------------------------------

    def network_vni(self, nid: str) -> int | None:
        """The VNI stored for network ``nid``, or None."""
        pair = self.view.find(self.network_key(nid))
        return None if pair is None else int(json.loads(pair.value)["vni"])

    def claim_network(self, nid: str, vni: int) -> int:
        """Record ``vni`` for ``nid`` unless a VNI is recorded already; the recorded VNI."""
        _check_id(nid, "network ID")
        key = self.network_key(nid)
        try:
            self.view.create(key, json.dumps({"vni": vni}).encode())
        except StaleVersionError:
            found = self.network_vni(nid)
            if found is None:
                raise
            return found
        return vni

    def forget_network(self, nid: str) -> bool:
        """Remove the network's record; False if it was gone already."""
        return self.view.delete(self.network_key(nid))

    def networks(self) -> dict[str, int]:
        """Every recorded network ID and its VNI."""
        head = "network/"
        return {p.key[len(head) :]: int(json.loads(p.value)["vni"]) for p in self.view.list(head)}

    # -- peers ---------------------------------------------------------------------------

    def publish(self, nid: str, eid: str, record: PeerRecord) -> None:
        """Store (or replace) endpoint ``eid``'s peer record; idempotent."""
        _check_id(nid, "network ID")
        _check_id(eid, "endpoint ID")
        key, value = self.peer_key(nid, eid), record.encode()
        for _ in range(_RETRIES):
            previous = self.view.find(key)
            if previous is not None and previous.value == value:
                return
            try:
                self.view.compare_and_swap(key, value, previous)
                return
            except StaleVersionError:
                continue
        raise StaleVersionError(key, f"changed {_RETRIES} times while it was published")

    def withdraw(self, nid: str, eid: str) -> PeerRecord | None:
        """Remove endpoint ``eid``'s peer record; the record removed, None if there was none."""
        pair = self.view.find(self.peer_key(nid, eid))
        if pair is None:
            return None
        self.view.delete(pair.key)
        return PeerRecord.decode(pair.value)

    def peer(self, nid: str, eid: str) -> PeerRecord | None:
        pair = self.view.find(self.peer_key(nid, eid))
        return None if pair is None else PeerRecord.decode(pair.value)

    def peers(self, nid: str) -> dict[str, PeerRecord]:
        """Endpoint ID -> peer record of every endpoint of ``nid``, on every host."""
        out: dict[str, PeerRecord] = {}
        for pair in self.view.list(self.peers_prefix(nid)):
            ids = parse_peer_key(pair.key, "")
            if ids is not None:
                out[ids[1]] = PeerRecord.decode(pair.value)
        return out

    def remote_peers(self, nid: str, local_vtep: str) -> list[Peer]:
        """What a host with VTEP ``local_vtep`` programs for ``nid``: the other hosts' peers."""
        return remote(self.peers(nid).values(), local_vtep)

    def host_peers(self, host: str) -> list[tuple[str, str]]:
        """(network ID, endpoint ID) of every peer published by ``host``."""
        out: list[tuple[str, str]] = []
        for pair in self.view.list(self.peers_prefix()):
            ids = parse_peer_key(pair.key, "")
            if ids is not None and PeerRecord.decode(pair.value).host == host:
                out.append(ids)
        return out


def remote(records: Iterable[PeerRecord], local_vtep: str) -> list[Peer]:
    """The kernel peers of ``records`` not on the host with VTEP ``local_vtep``."""
    return sorted(r.peer() for r in records if r.vtep != local_vtep)


def describe(record: PeerRecord) -> dict[str, Any]:
    """The record as plain values, for listings and JSON."""
    return asdict(record)
