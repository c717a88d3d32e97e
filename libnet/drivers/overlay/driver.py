"""The ``overlay`` driver: VXLAN networks that span hosts sharing a global store.

As libnetwork's overlay driver: one VNI per network, allocated from a bitmap in the store
(or named with ``com.docker.network.driver.overlay.vxlanid_list``); on each host with
endpoints in the network, one bridge and one vxlan device (UDP port 4789 unless configured,
no learning, ARP answered by the device from its neighbour entries), MTU the underlay's
minus 50 unless ``com.docker.network.driver.mtu`` says; a veth pair per local endpoint.
Each endpoint is published in the peer database (:mod:`.peerdb`) with its host's VTEP; other
hosts program it as a peer (:meth:`OverlayDriver.peer_add`, :meth:`OverlayDriver.peer_sync`),
which is what ``libnet agent`` does on the store's watch events. The driver programs what
the store holds when a network's links are first made on a host.

The network is layer 2 only: the bridge has no address and join sets no gateway, so a
sandbox reaches the overlay's subnet and nothing else through it.

**Firewall.** Where a host's bridges call iptables (``br_netfilter``) and its ``FORWARD``
policy is ``DROP`` (a Docker host), the frames the bridge passes between its ports go
through ``FORWARD`` too: while a network has links on a host, that host has the rules of
:mod:`.rules` (an ACCEPT per IP family whose iptables tools are installed), in the owner's
chains of :mod:`libnet.osl.firewall`, marked like the links; they go with the links.

The driver keeps its data in a store (``store``, the global one): without it, creating a
network fails naming the setting.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from libnet.driverapi import (
    Capability,
    Driver,
    DriverCallback,
    InterfaceInfo,
    IPAMData,
    JoinInfo,
    Orphan,
    Scope,
    StoredNetwork,
    mac_from_ip,
)
from libnet.drivers.overlay import netlink, rules
from libnet.drivers.overlay.netlink import Links, OverlayMark, Peer
from libnet.drivers.overlay.peerdb import DEFAULT_PREFIX, PeerDB, PeerRecord
from libnet.drivers.overlay.vni import FIRST, LAST, VniAllocator
from libnet.drivers.wellknown import generic_options, mtu_option
from libnet.errors import (
    EndpointNotFoundError,
    InvalidOptionError,
    KernelError,
    NetworkNotFoundError,
)
from libnet.nodes import DiscoveryType, default_route_address
from libnet.osl import rtnl
from libnet.osl.firewall import Firewall, Rule, Saved
from libnet.store import DriverStore, Store

log = logging.getLogger("libnet")

NAME = "overlay"
VXLANID_LIST = "com.docker.network.driver.overlay.vxlanid_list"
CAPABILITY = Capability(Scope.GLOBAL, Scope.GLOBAL)
NODE_DISCOVERY = DiscoveryType.NODE
"""libnetwork's ``driverapi.NodeDiscovery`` discovery type."""
GLOBAL_STORE_HINT = (
    "give the controller a global store (Controller(global_store=...), --global-store or "
    "LIBNET_GLOBAL_STORE)"
)


@dataclass
class _Network:
    vni: int
    mtu: int | None
    """Asked for with ``com.docker.network.driver.mtu``; else the underlay's minus 50."""
    endpoints: dict[str, PeerRecord] = field(default_factory=dict)
    """This host's endpoints."""
    links: Links | None = None
    """Set while the network's bridge and vxlan device exist on this host."""
    vxlan_index: int = 0


def _names(eid: str) -> tuple[str, str]:
    """Host end (on the bridge) and sandbox end of an endpoint's veth pair."""
    return f"ovh{eid[:12]}", f"ovc{eid[:12]}"


def _vni_option(generic: Mapping[str, Any]) -> int | None:
    value = generic.get(VXLANID_LIST)
    if value in (None, ""):
        return None
    items = [v.strip() for v in str(value).split(",") if v.strip()]
    try:
        vnis = [int(v) for v in items]
    except ValueError:
        vnis = []
    if len(vnis) != 1 or not 1 <= vnis[0] <= LAST:
        raise InvalidOptionError(
            f"option {VXLANID_LIST}={value!r} must name one VNI from 1 to {LAST} (libnet's "
            "overlay networks have one VXLAN per network)"
        )
    return vnis[0]


def default_vtep(netns: str | None = None) -> str | None:
    """The first address of the default route's interface (IPv4), or None."""
    return default_route_address(netns)


class OverlayDriver(Driver):
    """VXLAN overlay networks; thread-safe.

    ``store`` holds the driver's data: network VNIs, the VNI bitmap and the peers. It is a
    :class:`~libnet.store.DriverStore` (the driver's view of the global store), or a Store
    viewed under ``prefix``. ``vtep`` is this host's tunnel endpoint address (the advertise
    address; default: the default route interface's address, or the ``Self`` node of
    :meth:`discover_new`), ``host`` this host's name in peer records. ``port`` is the VXLAN
    UDP port, the same on
    every host. ``netns`` is the namespace file of the "host" (None: this process's).
    """

    def __init__(
        self,
        owner: str | None = None,
        *,
        store: Store | DriverStore | None = None,
        vtep: str | None = None,
        host: str | None = None,
        port: int = netlink.DEFAULT_PORT,
        netns: str | None = None,
        prefix: str = DEFAULT_PREFIX,
        vni_range: tuple[int, int] = (FIRST, LAST),
    ) -> None:
        self.owner = owner or os.urandom(6).hex()
        if len(self.owner) != 12 or any(ch not in "0123456789abcdef" for ch in self.owner):
            raise InvalidOptionError(f"overlay driver owner {self.owner!r} must be 12 hex digits")
        if not 1 <= port <= 65535:
            raise InvalidOptionError(f"overlay VXLAN port {port} must be from 1 to 65535")
        self.port = port
        self.netns = netns
        self.firewall = Firewall(self.owner, netns=netns)
        self.host = host or socket.gethostname()
        self._vtep = vtep
        self.db = PeerDB(store, prefix) if store is not None else None
        self.vnis = (
            VniAllocator(self.db.view, first=vni_range[0], last=vni_range[1])
            if (self.db is not None)
            else None
        )
        self.nodes: dict[str, bool] = {}
        """Addresses of the hosts node discovery announced, and whether each is this one.
        Once discovery has announced any, only peers on announced hosts are programmed."""
        self._lock = threading.RLock()
        self._networks: dict[str, _Network] = {}

    # -- helpers -------------------------------------------------------------------------

    @contextmanager
    def _kernel(self) -> Iterator[Any]:
        with rtnl.rtnl(self.netns) as ipr:
            yield ipr

    def _store(self, nid: str) -> tuple[PeerDB, VniAllocator]:
        if self.db is None or self.vnis is None:
            raise InvalidOptionError(
                f"overlay network {nid[:12]} needs a global store shared by its hosts: "
                + GLOBAL_STORE_HINT
            )
        return self.db, self.vnis

    def vtep_or_none(self) -> str | None:
        """This host's VTEP address, None when it is neither configured nor discoverable."""
        if self._vtep is None:
            self._vtep = default_vtep(self.netns)
        return self._vtep

    @property
    def vtep(self) -> str:
        """This host's VTEP address; KernelError naming the setting when none is known."""
        vtep = self.vtep_or_none()
        if vtep is None:
            raise KernelError(
                "the overlay driver does not know this host's VTEP address (no default "
                "route): set the advertise address (driver config vtep)"
            )
        return vtep

    def _net(self, nid: str) -> _Network:
        net = self._networks.get(nid)
        if net is None:
            raise NetworkNotFoundError(f"overlay driver has no network {nid[:12]}")
        return net

    def _mark(self, nid: str, eid: str | None = None) -> str:
        return str(OverlayMark(self.owner, nid, eid))

    def _links(self, ipr: Any, nid: str, net: _Network) -> Links:
        mtu = net.mtu or netlink.underlay_mtu(ipr, self.vtep) - netlink.VXLAN_OVERHEAD
        return Links(net.vni, self._mark(nid), self.vtep, self.port, mtu)

    def _record(self, address: str, mac: str) -> PeerRecord:
        return PeerRecord(address.split("/")[0], mac, self.vtep, self.host)

    def _ensure_links(
        self, ipr: Any, nid: str, net: _Network, repair: bool = False
    ) -> tuple[Links, int, bool]:
        """The network's bridge, vxlan device and firewall rules on this host, made and
        synced to the peer database if missing (the rules are checked when links are made
        or ``repair`` is asked): (links, bridge index, whether the links were made)."""
        links = self._links(ipr, nid, net)
        made = netlink.lookup(ipr, links.vxlan) is None or netlink.lookup(ipr, links.bridge) is None
        bridge, vxlan = netlink.ensure_network(ipr, links)
        if made or repair:
            try:
                if made and self.db is not None:
                    netlink.sync_peers(ipr, vxlan, self._wanted(self.db.peers(nid).values()))
                self._set_rules(links)
            except BaseException:
                if made:  # the rules are all or nothing: none were written
                    netlink.remove_network(ipr, links)
                raise
        net.links, net.vxlan_index = links, vxlan
        return links, bridge, made

    def _rules(self, links: Links) -> list[Rule]:
        return rules.network_rules(links.bridge, self.firewall.families(), comment=links.mark)

    def _set_rules(self, links: Links) -> None:
        wanted = self._rules(links)
        if wanted:
            self.firewall.set_rules(links.mark, wanted)

    def _remove_links(self, ipr: Any, links: Links) -> None:
        """The network's firewall rules, vxlan device (with its peers) and bridge on this
        host; all or nothing."""
        if self.firewall.families():
            self.firewall.set_rules(links.mark, [])
        try:
            netlink.remove_network(ipr, links)
        except BaseException:
            self._set_rules(links)
            raise

    # -- networks ------------------------------------------------------------------------

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        generic = generic_options(options)
        asked, mtu = _vni_option(generic), mtu_option(generic)
        db, vnis = self._store(nid)
        with self._lock:
            if asked is not None:
                vnis.reserve(asked, f" (asked for by network {nid[:12]})")
                vni = asked
            else:
                vni = vnis.allocate()
            try:
                if db.claim_network(nid, vni) != vni:
                    raise InvalidOptionError(f"overlay network {nid[:12]} exists already")
            except BaseException:
                vnis.release(vni)
                raise
            self._networks[nid] = _Network(vni, mtu)

    def restore_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        """Adopt the network's VNI from the store (another host may have created it); its
        links are adopted or made again when its endpoints are restored."""
        generic = generic_options(options)
        mtu = mtu_option(generic)
        db, vnis = self._store(nid)
        with self._lock:
            known = self._networks.get(nid)
            if known is not None:  # a repair: links, rules and peers as the store says
                if known.endpoints:
                    with self._kernel() as ipr:
                        _, _, made = self._ensure_links(ipr, nid, known, repair=True)
                        if not made:
                            netlink.sync_peers(
                                ipr, known.vxlan_index, self._wanted(db.peers(nid).values())
                            )
                return
            vni = db.network_vni(nid)
            if vni is None:  # the record is gone: take the VNI again
                vni = _vni_option(generic)
                if vni is None:
                    vni = vnis.allocate()
                elif not vnis.allocated(vni):
                    vnis.reserve(vni)
                vni = db.claim_network(nid, vni)
            net = self._networks[nid] = _Network(vni, mtu)
            with self._kernel() as ipr:  # links of this state here: their rules too
                links = self._links_here(ipr, nid, net)
                if links is not None:
                    self._set_rules(links)

    def _links_here(self, ipr: Any, nid: str, net: _Network) -> Links | None:
        """The network's links if its bridge with this state's mark is on this host."""
        index = netlink.lookup(ipr, f"ovbr{net.vni}")
        if index is None or netlink.get_link(ipr, index).get("ifalias") != self._mark(nid):
            return None
        return self._links(ipr, nid, net)

    def delete_network(self, nid: str) -> None:
        db, vnis = self._store(nid)
        with self._lock:
            net = self._net(nid)
            # Another host may have deleted it already: then its VNI is no longer this
            # network's to release (it may be another network's by now), only links are left.
            owned = db.forget_network(nid)
            try:
                if owned:
                    vnis.release(net.vni)
                try:
                    if net.links is not None:  # else no links here (a crash's: reconcile's)
                        with self._kernel() as ipr:
                            self._remove_links(ipr, net.links)
                except BaseException:
                    if owned:
                        vnis.reserve(net.vni)
                    raise
            except BaseException:  # all or nothing: the network keeps its VNI
                if owned:
                    db.claim_network(nid, net.vni)
                raise
            del self._networks[nid]

    # -- endpoints -----------------------------------------------------------------------

    def create_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        with self._lock:
            net = self._net(nid)
            if not iface.address:
                raise InvalidOptionError(
                    f"overlay endpoint {eid[:12]} needs an IPv4 address: the network's peers "
                    "are programmed by address"
                )
            if iface.mac_address is None:
                iface.set_mac_address(mac_from_ip(iface.address))
            assert iface.mac_address is not None
            self._plumb(nid, eid, net, self._record(iface.address, iface.mac_address), False)

    def _plumb(self, nid: str, eid: str, net: _Network, record: PeerRecord, restore: bool) -> None:
        """Links, veth pair and peer record of a local endpoint; all or nothing. ``restore``
        adopts a veth pair that exists (it may be joined to a sandbox)."""
        db, _ = self._store(nid)
        host_name, peer_name = _names(eid)
        mark = self._mark(nid, eid)
        with self._kernel() as ipr:
            links, bridge, made = self._ensure_links(ipr, nid, net)
            try:
                make = netlink.ensure_veth if restore else netlink.create_veth
                created = make(
                    ipr,
                    host_name,
                    peer_name,
                    bridge=bridge,
                    mark=mark,
                    mac_address=record.mac,
                    mtu=links.mtu,
                    isolated=False,
                )
                try:
                    db.publish(nid, eid, record)
                except BaseException:
                    if created is not False:
                        netlink.delete_marked(ipr, host_name, mark)
                    raise
            except BaseException:
                if made and not net.endpoints:
                    self._remove_links(ipr, links)
                    net.links = None
                raise
        net.endpoints[eid] = record

    def restore_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        """Adopt a local endpoint (its links and veth pair made again where missing, its
        record published); another host's endpoint is a peer here, nothing to restore."""
        with self._lock:
            net = self._net(nid)
            if not iface.address or not iface.mac_address:
                return
            published = self._store(nid)[0].peer(nid, eid)
            if published is not None and published.host != self.host:
                return
            self._plumb(nid, eid, net, self._record(iface.address, iface.mac_address), True)

    def delete_endpoint(self, nid: str, eid: str) -> None:
        db, _ = self._store(nid)
        with self._lock:
            net = self._net(nid)
            record = net.endpoints.get(eid)
            if record is None:
                published = db.peer(nid, eid)
                where = f" (it is on host {published.host})" if published else ""
                raise EndpointNotFoundError(
                    f"overlay driver has no endpoint {eid[:12]} on this host{where}"
                )
            host_name, _ = _names(eid)
            with self._kernel() as ipr:
                netlink.delete_marked(ipr, host_name, self._mark(nid, eid))
                try:
                    db.withdraw(nid, eid)
                    if len(net.endpoints) == 1 and net.links is not None:
                        self._remove_links(ipr, net.links)
                        net.links = None
                except BaseException:  # all or nothing: links, veth and record come back
                    self._plumb(nid, eid, net, record, restore=True)
                    raise
            del net.endpoints[eid]

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        with self._lock:
            net = self._net(nid)
            record = net.endpoints.get(eid)
            if record is None:
                raise EndpointNotFoundError(f"overlay driver has no endpoint {eid[:12]}")
            with self._kernel() as ipr:
                links = self._links(ipr, nid, net)
                problems = netlink.network_problems(ipr, links)
                problems += self._endpoint_problems(ipr, nid, eid, links)
        return {
            "vni": net.vni,
            "bridge": links.bridge,
            "vxlan": links.vxlan,
            "vtep": record.vtep,
            "mtu": links.mtu,
            "host_interface": _names(eid)[0],
            "kernel": "ok" if not problems else "; ".join(problems),
        }

    def join(
        self,
        nid: str,
        eid: str,
        sandbox_key: str | None,
        jinfo: JoinInfo,
        options: Mapping[str, Any],
    ) -> None:
        with self._lock:
            if eid not in self._net(nid).endpoints:
                raise EndpointNotFoundError(f"overlay driver has no endpoint {eid[:12]}")
        jinfo.set_names(_names(eid)[1], "eth")

    def leave(self, nid: str, eid: str) -> None:
        with self._lock:
            if eid not in self._net(nid).endpoints:
                raise EndpointNotFoundError(f"overlay driver has no endpoint {eid[:12]}")

    # -- peers and node discovery (what the agent calls) ---------------------------------

    def _vxlan(self, nid: str) -> int | None:
        """The vxlan device index of ``nid`` on this host, None when it has no links here."""
        net = self._networks.get(nid)
        return None if net is None or net.links is None else net.vxlan_index

    def _wanted(self, records: Iterable[PeerRecord]) -> list[Peer]:
        """The kernel peers of ``records``: other hosts' endpoints, on hosts node discovery
        announced (when it announced any)."""
        return sorted(
            r.peer()
            for r in records
            if r.vtep != self.vtep and (not self.nodes or r.vtep in self.nodes)
        )

    def peer_add(self, nid: str, eid: str, record: PeerRecord) -> bool:
        """Program a peer published for ``nid`` (another host's endpoint); True if the
        kernel was changed. Ignored for this host's endpoints and networks without local
        links (they are synced from the store when their links are made)."""
        return self._program(nid, record, netlink.add_peer)

    def peer_delete(self, nid: str, eid: str, record: PeerRecord) -> bool:
        """Remove a peer that left ``nid``; True if there were local links to clean."""
        return self._program(nid, record, netlink.remove_peer)

    def _program(
        self, nid: str, record: PeerRecord, change: Callable[[Any, int, Peer], None]
    ) -> bool:
        with self._lock:
            vxlan = self._vxlan(nid)
            skip = record.vtep == self.vtep or (
                change is netlink.add_peer and not self._wanted([record])
            )
            if vxlan is None or skip:
                return False
            with self._kernel() as ipr:
                change(ipr, vxlan, record.peer())
            return True

    def peer_sync(self, nid: str, records: Sequence[PeerRecord] | None = None) -> tuple[int, int]:
        """Make ``nid``'s vxlan device hold exactly the remote peers of ``records`` (default:
        what the store holds now): after a reconnect. (programmed, removed)."""
        with self._lock:
            vxlan = self._vxlan(nid)
            if vxlan is None:
                return 0, 0
            if records is None:
                records = list(self._store(nid)[0].peers(nid).values())
            peers = self._wanted(records)
            with self._kernel() as ipr:
                return netlink.sync_peers(ipr, vxlan, peers)

    def adopt_endpoint(self, nid: str, eid: str, record: PeerRecord) -> bool:
        """Learn a local endpoint that another process of this host made (``libnet endpoint
        create`` while ``libnet agent`` runs), from its peer record: the network's VNI comes
        from the store, its links from the kernel; nothing is made or published. True when
        the network's links were taken on now (their peers then need a :meth:`peer_sync`)."""
        with self._lock:
            net = self._networks.get(nid)
            if net is None:
                vni = self._store(nid)[0].network_vni(nid)
                if vni is None:
                    return False
                net = self._networks[nid] = _Network(vni, None)
            net.endpoints[eid] = record
            with self._kernel() as ipr:
                index = netlink.lookup(ipr, f"ovvx{net.vni}")
                if index is None:
                    return False
                if net.links is not None and net.vxlan_index == index:
                    return False
                net.links, net.vxlan_index = self._links(ipr, nid, net), index
            return True

    def forget_endpoint(self, nid: str, eid: str) -> None:
        """Drop a local endpoint that another process of this host deleted; with the
        network's last one its links are dropped too (the kernel is not touched: the
        deleting process removed them)."""
        with self._lock:
            net = self._networks.get(nid)
            if net is None or net.endpoints.pop(eid, None) is None:
                return
            if not net.endpoints:
                net.links, net.vxlan_index = None, 0

    def local_networks(self) -> list[str]:
        """IDs of the networks with links (local endpoints) on this host: what to watch."""
        with self._lock:
            return [nid for nid, net in self._networks.items() if net.links is not None]

    def discover_new(self, discovery_type: int, data: Any) -> None:
        """A node appeared (``{"Address": ..., "Self": bool}``); this host's sets the VTEP
        when none was configured."""
        if discovery_type != NODE_DISCOVERY or not isinstance(data, Mapping):
            return
        address = str(data.get("Address") or data.get("BindAddress") or "")
        if not address:
            return
        with self._lock:
            self.nodes[address] = bool(data.get("Self"))
            if data.get("Self") and self._vtep is None:
                self._vtep = str(data.get("BindAddress") or address)

    def discover_delete(self, discovery_type: int, data: Any) -> None:
        """A node went away: its peers are removed from every local vxlan device."""
        if discovery_type != NODE_DISCOVERY or not isinstance(data, Mapping):
            return
        address = str(data.get("Address") or "")
        with self._lock:
            self.nodes.pop(address, None)
            if not address or data.get("Self"):
                return
            with self._kernel() as ipr:
                for net in self._networks.values():
                    if net.links is None:
                        continue
                    fdb, neigh = netlink.kernel_peers(ipr, net.vxlan_index)
                    keep = [
                        Peer(ip, mac, fdb[mac])
                        for ip, mac in neigh.items()
                        if mac in fdb and fdb[mac] != address
                    ]
                    netlink.sync_peers(ipr, net.vxlan_index, keep)

    # -- kernel objects (libnet.driverapi.KernelObjects) ---------------------------------

    def _endpoint_problems(self, ipr: Any, nid: str, eid: str, links: Links) -> list[str]:
        host_name, _ = _names(eid)
        index = netlink.lookup(ipr, host_name)
        if index is None:
            return [f"veth {host_name} is missing"]
        link = netlink.get_link(ipr, index)
        if link.get("ifalias") != self._mark(nid, eid):
            return [f"interface {host_name} does not carry the endpoint's mark"]
        if link.get("master") != netlink.lookup(ipr, links.bridge):
            return [f"veth {host_name} is not attached to bridge {links.bridge}"]
        return []

    def _stored(self, network: StoredNetwork) -> _Network | None:
        """The network as the store describes it, with this host's endpoints (for checks
        made before the network is restored), or None when the store has no VNI for it."""
        if self.db is None:
            return None
        vni = self.db.network_vni(network.id)
        if vni is None:
            return None
        net = _Network(vni, mtu_option(generic_options(network.options)))
        for eid, record in self.db.peers(network.id).items():
            if record.host == self.host and eid in network.endpoints:
                net.endpoints[eid] = record
        return net

    def kernel_check(self, network: StoredNetwork) -> dict[str, list[str]]:
        with self._lock:
            net = self._networks.get(network.id)
            if net is None:
                net = self._stored(network)
                if net is None:
                    return {"": ["the overlay network has no VNI in the global store"]}
            local = [e for e in network.endpoints if e in net.endpoints]
            out: dict[str, list[str]] = {"": []}
            if not local:
                return out
            with self._kernel() as ipr:
                links = self._links(ipr, network.id, net)
                out[""] = netlink.network_problems(ipr, links)
                wanted = self._rules(links)
                out[""] += self.firewall.problems(
                    wanted, links.mark, self.firewall.rules() if wanted else []
                )
                vxlan = netlink.lookup(ipr, links.vxlan)
                if vxlan is not None and self.db is not None:
                    fdb, neigh = netlink.kernel_peers(ipr, vxlan)
                    for peer in self._wanted(self.db.peers(network.id).values()):
                        if fdb.get(peer.mac) != peer.vtep or neigh.get(peer.ip) != peer.mac:
                            out[""].append(f"peer {peer.ip} ({peer.mac} at {peer.vtep}) is missing")
                for eid in local:
                    out[eid] = self._endpoint_problems(ipr, network.id, eid, links)
        return out

    def kernel_orphans(self, networks: Sequence[StoredNetwork]) -> list[Orphan]:
        live = {n.id: set(n.endpoints) for n in networks}
        out: list[Orphan] = []
        with self._kernel() as ipr:
            bridges: set[str] = set()  # networks whose bridge stays on this host
            for mark, index, name in netlink.overlay_links(ipr, self.owner):
                if mark.eid is None and mark.nid not in live:
                    out.append(Orphan("vxlan link", name, f"mark {mark}", (index, name, str(mark))))
                elif mark.eid is not None and mark.eid not in live.get(mark.nid, set()):
                    out.append(Orphan("veth", name, f"mark {mark}", (index, name, str(mark))))
                elif mark.eid is None and name.startswith("ovbr"):
                    bridges.add(mark.nid)
        for saved in self.firewall.rules() if self.firewall.families() else []:
            rule_mark = netlink.parse_mark(saved.comment)
            if rule_mark and rule_mark.owner == self.owner and rule_mark.nid not in bridges:
                detail = f"firewall rule of no overlay bridge here (comment {saved.comment!r})"
                out.append(Orphan("firewall", str(saved), detail, ("firewall", saved)))
        order = {"firewall": 0, "veth": 1}
        out.sort(key=lambda o: (order.get(o.kind, 2), not o.name.startswith("ovvx")))
        return out

    def remove_orphan(self, orphan: Orphan) -> None:
        if orphan.handle[0] == "firewall":
            saved: Saved = orphan.handle[1]
            self.firewall.remove(saved)
            return
        index, name, mark = orphan.handle
        with self._kernel() as ipr:
            if netlink.lookup(ipr, name) == index:
                netlink.delete_marked(ipr, name, mark)


def init(callback: DriverCallback, owner: str | None = None, **config: Any) -> None:
    """Register the ``overlay`` driver (``config``: see :class:`OverlayDriver`)."""
    callback.register_driver(NAME, OverlayDriver(owner, **config), CAPABILITY)
