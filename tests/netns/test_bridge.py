"""The bridge driver and real sandboxes, end to end, in a throwaway namespace per test.

Reachability is probed with ICMP echo from a raw socket in a child process that entered the
source sandbox's namespace (see ``_kernel.reaches``); no ping binary is needed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import libnet
from libnet.drivers.bridge import netlink
from libnet.osl import NETNS_DIR, Namespace, create_namespace, rtnl

from ._kernel import ip, joined, link_names, reaches, snapshot

N1 = {"config": [{"subnet": "10.1.0.0/24"}]}
N2 = {"config": [{"subnet": "10.2.0.0/24"}]}
N3 = {"config": [{"subnet": "10.3.0.0/24"}]}
NO_ICC = {"com.docker.network.bridge.enable_icc": "false"}


def routes(key: str) -> list[tuple[str, str | None]]:
    with rtnl.rtnl(key) as ipr:
        return sorted(
            (f"{r.get('dst') or '0.0.0.0'}/{r['dst_len']}", r.get("gateway"))
            for r in ipr.get_routes(family=2, table=254)
        )


def forwarding(on: bool) -> None:
    """IP forwarding of the test's namespace (as on a Docker host); the host's is untouched."""
    Path("/proc/sys/net/ipv4/ip_forward").write_text("1\n" if on else "0\n")


def test_two_sandboxes_on_one_bridge_network_reach_each_other() -> None:
    with libnet.Controller() as c:
        network = c.new_network("bridge", "n1", ipam=N1)
        key_a, a = joined(c, network, "a")
        key_b, b = joined(c, network, "b")

        assert key_a.startswith(f"{NETNS_DIR}/libnet-{c.owner}-")
        eth0 = Namespace(key_a).interface_state("eth0")
        assert eth0 is not None
        assert (eth0["up"], eth0["mac_address"]) == (True, a.info()["mac_address"])
        assert a.info()["address"] in eth0["addresses"]
        assert sorted(Namespace(key_a).interfaces()) == ["eth0", "lo"]
        assert routes(key_a) == [("0.0.0.0/0", "10.1.0.1"), ("10.1.0.0/24", None)]

        assert reaches(key_a, ip(b))
        assert reaches(key_b, ip(a))
        assert reaches(key_a, "10.1.0.1")  # the gateway, on the bridge
        assert network.to_dict()["kernel"] == {"status": "ok", "problems": []}
        info = a.driver_info()
        assert (info["bridge"], info["kernel"]) == (f"br-{network.id[:12]}", "ok")


def test_internal_network_has_no_default_route() -> None:
    with libnet.Controller() as c:
        network = c.new_network("bridge", "inside", internal=True, ipam=N1)
        key_a, a = joined(c, network, "a")
        _, b = joined(c, network, "b")
        assert a.info()["gateway"] is None
        assert routes(key_a) == [("10.1.0.0/24", None)]
        assert reaches(key_a, ip(b))  # its members still reach each other


@pytest.mark.parametrize("firewall", [False, True])
def test_two_bridge_networks_are_isolated_even_with_forwarding_on(firewall: bool) -> None:
    """The isolation routes keep two networks apart; with the firewall on, its rules do too
    (a connection entering a bridge that was not DNATed is dropped)."""
    forwarding(True)
    options = {"io.libnet.bridge.firewall": str(firewall).lower()}
    with libnet.Controller() as c:
        n1 = c.new_network("bridge", "n1", ipam=N1, options=options)
        n2 = c.new_network("bridge", "n2", ipam=N2, options=options)
        key_a, a = joined(c, n1, "a")
        key_b, b = joined(c, n2, "b")
        assert not reaches(key_a, ip(b))
        assert not reaches(key_b, ip(a))

        # Without the isolation routes the kernel forwards, unless the firewall stops it.
        table = netlink.owner_table(c.owner)
        with rtnl.rtnl() as ipr:
            for rule in netlink.isolation_rules(ipr, table):
                netlink.remove_rule(ipr, rule, table)
        assert reaches(key_a, ip(b)) is not firewall
        assert n1.to_dict()["kernel"]["status"] == "degraded"

        # doctor puts them back
        report = c.reconcile(repair=True)
        assert report.ok and report.findings
        assert not reaches(key_a, ip(b))
        assert n1.to_dict()["kernel"]["status"] == "ok"


def test_internal_network_forwards_nowhere() -> None:
    forwarding(True)
    with libnet.Controller() as c:
        outside = c.new_network("bridge", "outside", ipam=N1)
        inside = c.new_network("bridge", "inside", internal=True, ipam=N3)
        _, a = joined(c, outside, "a")
        key_i, _ = joined(c, inside, "i")
        with rtnl.rtnl(key_i) as ipr:  # a default route set by hand does not help
            index = ipr.link_lookup(ifname="eth0")[0]
            ipr.route("add", dst="0.0.0.0/0", gateway="10.3.0.1", oif=index)
        assert not reaches(key_i, ip(a))
        assert reaches(key_i, "10.3.0.1")


def test_icc_off_isolates_endpoints_of_one_bridge_but_not_from_the_gateway() -> None:
    with libnet.Controller() as c:
        network = c.new_network("bridge", "quiet", options=NO_ICC, ipam=N1)
        key_a, a = joined(c, network, "a")
        key_b, b = joined(c, network, "b")
        assert not reaches(key_a, ip(b))
        assert not reaches(key_b, ip(a))
        assert reaches(key_a, "10.1.0.1")
        assert a.driver_info()["icc"] is False


def test_mtu_and_bridge_name_options() -> None:
    options = {"com.docker.network.driver.mtu": "1400", "com.docker.network.bridge.name": "lnbr0"}
    with libnet.Controller() as c:
        network = c.new_network("bridge", "small", options=options, ipam=N1)
        key, _ = joined(c, network, "a")
        eth0 = Namespace(key).interface_state("eth0")
        assert eth0 is not None and eth0["mtu"] == 1400
        with rtnl.rtnl() as ipr:
            bridge = ipr.get_links(ipr.link_lookup(ifname="lnbr0")[0])[0]
        assert bridge.get("mtu") == 1400
        assert bridge.get("ifalias") == f"libnet:{c.owner}:net:{network.id}"


def test_interfaces_are_numbered_per_sandbox_and_names_come_back() -> None:
    with libnet.Controller() as c:
        n1 = c.new_network("bridge", "n1", ipam=N1)
        n2 = c.new_network("bridge", "n2", ipam=N2)
        sandbox = c.new_sandbox("c1", create=True)
        one, two = n1.create_endpoint("one"), n2.create_endpoint("two")
        one.join(sandbox)
        two.join(sandbox)
        key = sandbox.key
        assert key is not None
        assert Namespace(key).interfaces() == ["eth0", "eth1", "lo"]
        assert ("0.0.0.0/0", "10.1.0.1") in routes(key)
        one.leave(sandbox)
        assert Namespace(key).interfaces() == ["eth1", "lo"]
        assert ("0.0.0.0/0", "10.2.0.1") in routes(key)  # the gateway moved to eth1
        assert one.info()["sandbox"] is None
        one.join(sandbox)
        assert Namespace(key).interfaces() == ["eth0", "eth1", "lo"]


def test_sandbox_on_an_existing_namespace_leaves_the_namespace_alone() -> None:
    key = create_namespace("elsewhere")
    with libnet.Controller() as c:
        network = c.new_network("bridge", "n1", ipam=N1)
        sandbox = c.new_sandbox("c1", key=key)
        endpoint = network.create_endpoint("e1")
        endpoint.join(sandbox)
        assert "eth0" in Namespace(key).interfaces()
        sandbox.delete()  # the endpoint leaves: its interface comes back out
        assert Namespace(key).interfaces() == ["lo"]
        assert os.path.exists(key)
        endpoint.delete()
        network.delete()
    assert link_names() == ["lo"]


def test_removing_everything_leaves_no_bridge_veth_rule_or_namespace() -> None:
    forwarding(True)
    before = snapshot()
    with libnet.Controller() as c:
        n1 = c.new_network("bridge", "n1", ipam=N1)
        n2 = c.new_network("bridge", "n2", internal=True, options=NO_ICC, ipam=N2)
        _, a = joined(c, n1, "a")
        _, b = joined(c, n2, "b")
        sandbox = c.sandbox("b")
        extra = n1.create_endpoint("extra")
        extra.join(sandbox)
        assert len(link_names()) > 1
        assert len(os.listdir(NETNS_DIR)) == 2

        a.leave(c.sandbox("a"))
        a.delete()
        c.sandbox("a").delete()
        sandbox.delete()  # leaves b and extra
        b.delete()
        extra.delete()
        n2.delete()
        n1.delete()
        assert c.reconcile(repair=False).findings == []
    assert link_names() == ["lo"]
    assert os.listdir(NETNS_DIR) == []
    assert snapshot() == before


def test_network_delete_with_force_removes_joined_endpoints() -> None:
    before = snapshot()
    with libnet.Controller() as c:
        network = c.new_network("bridge", "n1", ipam=N1)
        joined(c, network, "a")
        joined(c, network, "b")
        network.delete(force=True)
        for sandbox in c.sandboxes():
            assert sandbox.endpoints() == []
            assert sandbox.key is not None
            assert Namespace(sandbox.key).interfaces() == ["lo"]
            sandbox.delete()
    assert snapshot() == before


def test_a_second_controller_adopts_the_kernel_objects(tmp_path: Path) -> None:
    with libnet.Controller(state_dir=tmp_path) as c:
        network = c.new_network("bridge", "n1", ipam=N1)
        key_a, _ = joined(c, network, "a")
        joined(c, network, "b")
    links = link_names()
    with libnet.Controller(state_dir=tmp_path) as c:
        assert c.reconcile(repair=False).findings == []
        network = c.network("n1")
        assert network.to_dict()["kernel"]["status"] == "ok"
        assert link_names() == links
        assert reaches(key_a, ip(network.endpoint("b")))
        network.endpoint("a").leave(c.sandbox("a"))
        network.delete(force=True)
        for sandbox in c.sandboxes():
            sandbox.delete()
    assert link_names() == ["lo"]
    assert os.listdir(NETNS_DIR) == []
