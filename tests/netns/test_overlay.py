"""The overlay driver's kernel side: three hosts (namespaces) on an underlay bridge.

Each host has its own driver on one shared store (the global store); peers are programmed
from the peer database through the driver's ``peer_sync`` (what ``libnet agent`` will drive
from the store's watch), so no etcd is involved here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

import libnet
from libnet.driverapi import InterfaceInfo, JoinInfo, StoredNetwork
from libnet.drivers.overlay import CAPABILITY, VXLANID_LIST, OverlayDriver, PeerDB, PeerRecord
from libnet.drivers.overlay.netlink import Peer
from libnet.errors import EndpointNotFoundError, InvalidOptionError, StoreError
from libnet.osl import rtnl
from libnet.store import KVPair, MemoryStore

from ._kernel import joined
from ._overlay import (
    SUBNET,
    Cluster,
    Host,
    cluster,
    endpoint,
    fdb_macs,
    ipam,
    kernel_state,
    needs_vxlan,
    pings,
    plumb,
)
from .test_faults import Injector, _Proxy

NID = "a" * 64
NID2 = "b" * 64


def overlay_links(host: Host) -> list[str]:
    return [link[0] for link in kernel_state(host.key)["links"] if link[0].startswith("ov")]


def three_sandboxes(c: Cluster, nid: str = NID, subnet_prefix: str = "10.200.0") -> list[str]:
    """Network ``nid`` on every host, one endpoint per host joined to a sandbox, peers synced."""
    c.hosts[0].driver.create_network(nid, {}, ipam(f"{subnet_prefix}.0/24"), [])
    for host in c.hosts[1:]:
        host.driver.restore_network(nid, {}, ipam(f"{subnet_prefix}.0/24"), [])
    keys = []
    for n, host in enumerate(c.hosts, start=2):
        eid = f"{nid[:4]}{n:060x}"
        iface = endpoint(host, nid, eid, f"{subnet_prefix}.{n}/24")
        keys.append(plumb(host, nid, eid, iface, f"sb-{nid[:4]}-{n}"))
    for host in c.hosts:
        host.driver.peer_sync(nid)
    return keys


def test_sandboxes_on_three_hosts_reach_each_other() -> None:
    c = cluster()
    keys = three_sandboxes(c)
    for i, key in enumerate(keys):
        for j in range(len(keys)):
            if i != j:
                assert pings(key, f"10.200.0.{j + 2}"), f"sandbox {i} cannot reach sandbox {j}"


def test_each_host_programs_the_other_hosts_peers_only() -> None:
    c = cluster()
    three_sandboxes(c)
    for n, host in enumerate(c.hosts, start=2):
        state = kernel_state(host.key)
        vteps = {dst for _, _, dst in state["fdb"]}
        assert vteps == {h.vtep for h in c.hosts} - {host.vtep}
        ips = {ip for _, ip, _ in state["neigh"]}
        assert ips == {f"10.200.0.{m}" for m in (2, 3, 4)} - {f"10.200.0.{n}"}


def test_dont_fragment_ping_fits_the_overlay_mtu_and_one_byte_more_does_not() -> None:
    c = cluster(mtu=1500)
    keys = three_sandboxes(c)
    info = c.hosts[0].driver.endpoint_oper_info(NID, "aaaa" + f"{2:060x}")
    assert info["mtu"] == 1450
    assert pings(keys[0], "10.200.0.3", 1450 - 28)
    assert not pings(keys[0], "10.200.0.3", 1450 - 28 + 1)


def test_the_overlay_mtu_follows_the_underlay() -> None:
    c = cluster(mtu=1400)
    keys = three_sandboxes(c)
    assert pings(keys[1], "10.200.0.4", 1350 - 28)
    assert not pings(keys[1], "10.200.0.4", 1350 - 28 + 1)


def test_an_endpoint_removed_on_host_2_leaves_hosts_1_and_3_after_sync() -> None:
    c = cluster()
    keys = three_sandboxes(c)
    gone = "aaaa" + f"{3:060x}"
    assert c.hosts[1].driver.endpoint_oper_info(NID, gone)["kernel"] == "ok"
    record = PeerDB(c.store).peer(NID, gone)
    assert record is not None
    assert record.mac in fdb_macs(c.hosts[0]) and record.mac in fdb_macs(c.hosts[2])
    c.hosts[1].driver.delete_endpoint(NID, gone)
    for host in (c.hosts[0], c.hosts[2]):
        assert host.driver.peer_sync(NID) == (0, 2)  # its FDB and its neighbour entry
        assert record.mac not in fdb_macs(host)
        assert "10.200.0.3" not in {ip for _, ip, _ in kernel_state(host.key)["neigh"]}
    assert pings(keys[0], "10.200.0.4")
    assert not pings(keys[0], "10.200.0.3")


def test_sync_is_idempotent_and_puts_back_a_peer_removed_behind_its_back() -> None:
    c = cluster()
    three_sandboxes(c)
    host = c.hosts[0]
    assert host.driver.peer_sync(NID) == (0, 0)
    record = PeerDB(c.store).peer(NID, "aaaa" + f"{4:060x}")
    assert record is not None
    with rtnl.rtnl(host.key) as ipr:
        vxlan = ipr.link_lookup(ifname=f"ovvx{host.driver._net(NID).vni}")[0]
        ipr.fdb("del", ifindex=vxlan, lladdr=record.mac)
    assert host.driver.peer_sync(NID) == (1, 0)
    assert record.mac in fdb_macs(host)


def test_peer_add_and_delete_are_idempotent() -> None:
    c = cluster(count=2)
    c.hosts[0].driver.create_network(NID, {}, ipam(), [])
    endpoint(c.hosts[0], NID, "e" * 64, "10.200.0.2/24")
    record = PeerDB(c.store).peer(NID, "e" * 64)
    assert record is not None
    remote = PeerRecord("10.200.0.9", "02:42:0a:c8:00:09", "192.168.77.2", "host2")
    driver = c.hosts[0].driver
    assert driver.peer_add(NID, "f" * 64, remote) and driver.peer_add(NID, "f" * 64, remote)
    assert (
        kernel_state(c.hosts[0].key)["fdb"].count(
            (f"ovvx{driver._net(NID).vni}", remote.mac, remote.vtep)
        )
        == 1
    )
    moved = PeerRecord(remote.ip, remote.mac, "192.168.77.3", "host3")
    driver.peer_add(NID, "f" * 64, moved)
    assert {(m, d) for _, m, d in kernel_state(c.hosts[0].key)["fdb"]} == {(remote.mac, moved.vtep)}
    assert not driver.peer_add(NID, "e" * 64, record)  # this host's own endpoint
    assert driver.peer_delete(NID, "f" * 64, moved) and driver.peer_delete(NID, "f" * 64, moved)
    assert kernel_state(c.hosts[0].key)["fdb"] == []


def test_two_networks_with_one_subnet_on_different_vnis_are_isolated() -> None:
    c = cluster()
    one = three_sandboxes(c, NID)
    two = three_sandboxes(c, NID2)
    vnis = {h.driver._net(NID).vni for h in c.hosts} | {h.driver._net(NID2).vni for h in c.hosts}
    assert len(vnis) == 2
    assert pings(one[0], "10.200.0.3") and pings(two[0], "10.200.0.3")
    # Same addresses on both: take network two's sandbox on host 2 away; network one's
    # sandbox with that address must not answer network two's sandboxes.
    c.hosts[1].driver.delete_endpoint(NID2, "bbbb" + f"{3:060x}")
    for host in c.hosts:
        host.driver.peer_sync(NID2)
    assert not pings(two[0], "10.200.0.3")
    assert not pings(two[2], "10.200.0.3")
    assert pings(one[0], "10.200.0.3")


def test_deleting_the_network_removes_every_kernel_object_on_every_host() -> None:
    c = cluster()
    before = {h.name: kernel_state(h.key) for h in c.hosts}
    three_sandboxes(c)
    for h in c.hosts:
        assert kernel_state(h.key)["fdb"], f"{h.name} has no peers programmed"
    for n, host in enumerate(c.hosts, start=2):
        host.driver.delete_endpoint(NID, "aaaa" + f"{n:060x}")
    c.hosts[0].driver.delete_network(NID)  # once, on one host; the others have no links left
    assert {h.name: kernel_state(h.key) for h in c.hosts} == before
    assert list(c.store.list("overlay/")) == []


def test_deleting_the_network_with_links_left_removes_them() -> None:
    c = cluster(count=2)
    before = kernel_state(c.hosts[0].key)
    driver = c.hosts[0].driver
    driver.create_network(NID, {}, ipam(), [])
    endpoint(c.hosts[0], NID, "e" * 64, "10.200.0.2/24")
    remote = PeerRecord("10.200.0.3", "02:42:0a:c8:00:03", "192.168.77.2", "host2")
    assert driver.peer_add(NID, "f" * 64, remote)
    driver.delete_network(NID)  # the controller deletes endpoints first; here one is left
    after = kernel_state(c.hosts[0].key)
    assert [n for n in overlay_links(c.hosts[0]) if n.startswith(("ovbr", "ovvx"))] == []
    assert after["fdb"] == before["fdb"] and after["neigh"] == before["neigh"]


def test_a_network_asking_for_a_vni_gets_it_and_a_second_one_is_refused() -> None:
    c = cluster(count=1)
    d = c.hosts[0].driver
    option = {"com.docker.network.generic": {VXLANID_LIST: "4242"}}
    d.create_network(NID, option, ipam(), [])
    endpoint(c.hosts[0], NID, "e" * 64, "10.200.0.2/24")
    assert d.endpoint_oper_info(NID, "e" * 64)["vxlan"] == "ovvx4242"
    with pytest.raises(InvalidOptionError, match="VNI 4242 is in use"):
        d.create_network(NID2, option, ipam(), [])


def test_without_a_store_creating_a_network_names_the_setting() -> None:
    with pytest.raises(InvalidOptionError, match="LIBNET_GLOBAL_STORE"):
        OverlayDriver("0" * 12).create_network(NID, {}, ipam(), [])


def test_reconcile_reports_and_removes_orphan_links() -> None:
    c = cluster(count=1)
    d = c.hosts[0].driver
    d.create_network(NID, {}, ipam(), [])
    endpoint(c.hosts[0], NID, "e" * 64, "10.200.0.2/24")
    stored = StoredNetwork(NID, {}, ipam(), [], ("e" * 64,))
    assert d.kernel_check(stored) == {"": [], "e" * 64: []}
    assert d.kernel_orphans([stored]) == []
    orphans = d.kernel_orphans([])
    kinds = sorted(o.kind for o in orphans)
    assert [k for k in kinds if k != "firewall"] == ["veth", "vxlan link", "vxlan link"]
    assert kinds.count("firewall") == len(d.firewall.families())  # its rule of each family
    fresh = OverlayDriver(d.owner, store=c.store, vtep=c.hosts[0].vtep, netns=c.hosts[0].key)
    for orphan in orphans:
        fresh.remove_orphan(orphan)
    assert overlay_links(c.hosts[0]) == []
    other = OverlayDriver("1" * 12, store=c.store, vtep=c.hosts[0].vtep, netns=c.hosts[0].key)
    assert other.kernel_orphans([]) == []


def test_kernel_check_names_a_missing_vxlan_device_and_a_missing_peer() -> None:
    c = cluster(count=2)
    for host in c.hosts:
        host.driver.restore_network(NID, {}, ipam(), [])
    endpoint(c.hosts[0], NID, "e" * 64, "10.200.0.2/24")
    endpoint(c.hosts[1], NID, "f" * 64, "10.200.0.3/24")
    stored = StoredNetwork(NID, {}, ipam(), [], ("e" * 64, "f" * 64))
    problems = c.hosts[0].driver.kernel_check(stored)[""]
    assert any("peer 10.200.0.3" in p for p in problems)
    c.hosts[0].driver.peer_sync(NID)
    assert c.hosts[0].driver.kernel_check(stored)[""] == []
    vni = c.hosts[0].driver._net(NID).vni
    with rtnl.rtnl(c.hosts[0].key) as ipr:
        ipr.link("del", index=ipr.link_lookup(ifname=f"ovvx{vni}")[0])
    assert f"vxlan device ovvx{vni} is missing" in c.hosts[0].driver.kernel_check(stored)[""]


# -- failures injected mid-way -------------------------------------------------------------


class FaultyStore(MemoryStore):
    """A memory store whose writes are steps too."""

    faults: Injector | None = None

    def _step(self) -> None:
        if self.faults is not None:
            try:
                self.faults.step("store")
            except Exception as exc:
                raise StoreError(str(exc)) from None

    def atomic_put(self, key: str, value: bytes, previous: KVPair | None) -> KVPair:
        self._step()
        return super().atomic_put(key, value, previous)

    def atomic_delete(self, key: str, previous: KVPair) -> None:
        self._step()
        super().atomic_delete(key, previous)

    def delete(self, key: str) -> None:
        self._step()
        super().delete(key)


@contextmanager
def faults(store: FaultyStore, fail_at: int) -> Iterator[Injector]:
    f = Injector(fail_at)
    real = rtnl.connect
    store.faults = f
    with mock.patch.object(rtnl, "connect", lambda netns=None: _Proxy(real(netns), f)):
        try:
            yield f
        finally:
            store.faults = None


def _state(c: Cluster) -> tuple[Any, ...]:
    return (
        tuple(kernel_state(h.key) for h in c.hosts),
        tuple((p.key, p.value) for p in c.store.list("")),
    )


def _each_step(c: Cluster, action: Any) -> int:
    """Fail each step of ``action`` in turn, checking nothing is left; the steps counted."""
    assert isinstance(c.store, FaultyStore)
    before = _state(c)
    step = 1
    while True:
        with faults(c.store, step) as f:
            try:
                action()
            except Exception:
                if f.fired is None:
                    raise
                assert _state(c) == before, f"step {step} left something behind"
                step += 1
                continue
        assert f.fired is None
        return step - 1


def test_a_failure_at_any_step_of_create_endpoint_leaves_nothing() -> None:
    c = cluster(count=2, store=FaultyStore())
    c.hosts[0].driver.create_network(NID, {}, ipam(), [])
    c.hosts[1].driver.restore_network(NID, {}, ipam(), [])
    endpoint(c.hosts[1], NID, "f" * 64, "10.200.0.3/24")
    steps = _each_step(c, lambda: endpoint(c.hosts[0], NID, "e" * 64, "10.200.0.2/24"))
    assert steps >= 6
    assert "e" * 64 in c.hosts[0].driver._net(NID).endpoints


def test_a_failure_at_any_step_of_create_and_delete_network_leaves_nothing() -> None:
    c = cluster(count=1, store=FaultyStore())
    d = c.hosts[0].driver
    assert _each_step(c, lambda: d.create_network(NID, {}, ipam(), [])) >= 2
    endpoint(c.hosts[0], NID, "e" * 64, "10.200.0.2/24")
    assert _each_step(c, lambda: d.delete_endpoint(NID, "e" * 64)) >= 3
    assert _each_step(c, lambda: d.delete_network(NID)) >= 2


def test_join_changes_nothing_and_a_failed_peer_leaves_no_half_entry() -> None:
    c = cluster(count=2, store=FaultyStore())
    for host in c.hosts:
        host.driver.restore_network(NID, {}, ipam(), [])
    ifaces = [
        endpoint(h, NID, f"{n:064x}", f"10.200.0.{n}/24") for n, h in enumerate(c.hosts, start=2)
    ]
    join = c.hosts[0].driver.join
    assert _each_step(c, lambda: join(NID, f"{2:064x}", None, JoinInfo(ifaces[0]), {})) == 0
    peer = Peer("10.200.0.3", str(ifaces[1].mac_address), c.hosts[1].vtep)
    driver = c.hosts[0].driver
    with faults(c.store, 2) as f, pytest.raises(Exception, match="injected"):
        driver.peer_sync(NID)
    assert f.fired is not None
    assert peer.mac not in fdb_macs(c.hosts[0])  # the FDB entry went with its neighbour's failure


def rtnl_here() -> str:
    return f"/proc/{os.getpid()}/ns/net"


# -- through the controller (the driver registered by the application) ---------------------


def _underlay_here(address: str) -> None:
    """A link with the VTEP address in the test's own namespace (the "host")."""
    with rtnl.rtnl() as ipr:
        needs_vxlan(ipr)
        ipr.link("add", ifname="under0", kind="veth", mtu=1500, peer={"ifname": "under1"})
        index = ipr.link_lookup(ifname="under0")[0]
        ipr.addr("add", index=index, address=address, prefixlen=24)
        ipr.link("set", index=index, state="up")


def test_through_the_controller_a_sandbox_joins_and_doctor_finds_everything_in_order(
    tmp_path: Path,
) -> None:
    _underlay_here("192.168.88.1")
    global_store = MemoryStore()
    before = kernel_state(rtnl_here())
    with libnet.Controller(
        state_dir=tmp_path / "state", global_store=global_store, advertise_addr="192.168.88.1"
    ) as c:
        # its own owner: the built-in "overlay" driver reconciles c.owner's marks
        driver = OverlayDriver("0123456789ab", store=global_store, vtep="192.168.88.1")
        c.register_driver("ovl", driver, CAPABILITY)  # "overlay" is the built-in one
        network = c.new_network("ovl", "ov1", ipam={"config": [{"subnet": SUBNET}]})
        key, ep = joined(c, network, "a")
        with rtnl.rtnl(key) as ipr:
            (eth,) = [x for x in ipr.get_links() if x.get("ifname") == "eth0"]
            assert eth.get("mtu") == 1450
        info = ep.driver_info()
        assert info["kernel"] == "ok" and info["vxlan"] == f"ovvx{driver._net(network.id).vni}"
        assert c.reconcile(repair=False).ok
        assert PeerDB(global_store).peers(network.id)[ep.id].host == driver.host
        ep.leave(c.sandboxes()[0])
        ep.delete()
        network.delete()
        c.sandboxes()[0].delete()
        assert global_store.list("overlay/") == []  # the driver's data (the controller's
        # own global records share the store, which it closes with itself)
    assert kernel_state(rtnl_here()) == before


def test_a_restarted_driver_adopts_a_joined_endpoint_and_leaves_other_hosts_endpoints_alone() -> (
    None
):
    c = cluster()
    keys = three_sandboxes(c)
    h1 = c.hosts[0]
    fresh = OverlayDriver(h1.driver.owner, store=c.store, vtep=h1.vtep, host=h1.name, netns=h1.key)
    stored = StoredNetwork(NID, {}, ipam(), [], tuple(f"aaaa{n:060x}" for n in (2, 3, 4)))
    assert fresh.kernel_check(stored)[""] == []  # checked before any restore
    before = kernel_state(h1.key)
    fresh.restore_network(NID, {}, ipam(), [])
    for n in (2, 3, 4):
        mac = PeerDB(c.store).peer(NID, f"aaaa{n:060x}")
        assert mac is not None
        iface = InterfaceInfo(mac_address=mac.mac, address=f"10.200.0.{n}/24")
        fresh.restore_endpoint(NID, f"aaaa{n:060x}", iface, {})
    assert kernel_state(h1.key) == before  # nothing re-created, nothing made for hosts 2 and 3
    assert list(fresh._net(NID).endpoints) == [f"aaaa{2:060x}"]
    assert pings(keys[0], "10.200.0.4")
    with pytest.raises(EndpointNotFoundError, match="on host host2"):
        fresh.delete_endpoint(NID, f"aaaa{3:060x}")


def test_a_host_that_went_away_loses_its_peers_on_the_others_at_once() -> None:
    c = cluster()
    keys = three_sandboxes(c)
    h1, h2, h3 = c.hosts
    h1.driver.discover_delete(1, {"Address": h3.vtep, "Self": False})
    state = kernel_state(h1.key)
    assert {dst for _, _, dst in state["fdb"]} == {h2.vtep}
    assert {ip for _, ip, _ in state["neigh"]} == {"10.200.0.3"}
    assert pings(keys[0], "10.200.0.3")
    assert not pings(keys[0], "10.200.0.4")


def test_doctor_repairs_a_removed_vxlan_device_and_veth_through_the_restore_path(
    tmp_path: Path,
) -> None:
    _underlay_here("192.168.88.1")
    global_store = MemoryStore()
    with libnet.Controller(
        state_dir=tmp_path / "state", global_store=global_store, advertise_addr="192.168.88.1"
    ) as c:
        # its own owner: the built-in "overlay" driver reconciles c.owner's marks
        driver = OverlayDriver("0123456789ab", store=global_store, vtep="192.168.88.1")
        c.register_driver("ovl", driver, CAPABILITY)  # "overlay" is the built-in one
        network = c.new_network("ovl", "ov1", ipam={"config": [{"subnet": SUBNET}]})
        key, ep = joined(c, network, "a")
        remote = PeerRecord("10.200.0.9", "02:42:0a:c8:00:09", "192.168.88.2", "elsewhere")
        PeerDB(global_store).publish(network.id, "r" * 64, remote)
        driver.peer_sync(network.id)
        vni = driver._net(network.id).vni
        with rtnl.rtnl() as ipr:
            ipr.link("del", index=ipr.link_lookup(ifname=f"ovvx{vni}")[0])
            ipr.link("del", index=ipr.link_lookup(ifname=f"ovh{ep.id[:12]}")[0])
        assert not c.reconcile(repair=False).ok
        assert ep.driver_info()["kernel"] != "ok"
        c.reconcile(repair=True)
        assert c.reconcile(repair=False).ok
        assert ep.driver_info()["kernel"] == "ok"
        assert (f"ovvx{vni}", remote.mac, remote.vtep) in kernel_state(rtnl_here())["fdb"]
        with rtnl.rtnl(key) as ipr:
            assert ipr.link_lookup(ifname="eth0")


def test_the_default_vtep_is_the_address_of_the_default_routes_interface() -> None:
    assert OverlayDriver("0" * 12, store=MemoryStore()).vtep_or_none() is None
    _underlay_here("192.168.88.1")
    with rtnl.rtnl() as ipr:
        ipr.route("add", dst="0.0.0.0/0", gateway="192.168.88.254")
    assert OverlayDriver("0" * 12, store=MemoryStore()).vtep == "192.168.88.1"


def test_with_node_discovery_only_peers_on_announced_hosts_are_programmed() -> None:
    c = cluster()
    keys = three_sandboxes(c)
    h1, h2, h3 = c.hosts
    for host in (h1, h2, h3):
        h1.driver.discover_new(1, {"Address": host.vtep, "Self": host is h1})
    h1.driver.discover_delete(1, {"Address": h3.vtep, "Self": False})
    assert h1.driver.peer_sync(NID) == (0, 0)  # the store still has host 3's peer
    assert {dst for _, _, dst in kernel_state(h1.key)["fdb"]} == {h2.vtep}
    record = PeerDB(c.store).peer(NID, "aaaa" + f"{4:060x}")
    assert record is not None and not h1.driver.peer_add(NID, "x", record)
    h1.driver.discover_new(1, {"Address": h3.vtep, "Self": False})  # host 3 is back
    assert h1.driver.peer_sync(NID) == (1, 0)
    assert pings(keys[0], "10.200.0.4")
