"""Published ports of the bridge driver, in a throwaway namespace per test.

The test's namespace plays the host (``192.0.2.1`` towards "outside", forwarding on, a
``FORWARD`` policy of ``DROP``); a small server in a sandbox answers with the address it
saw its client come from, so the tests see the NAT as well as the reachability.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import libnet
from libnet.drivers.bridge.rules import port_rules
from libnet.errors import AddressInUseError, InvalidOptionError
from libnet.osl.firewall import Firewall

from ._firewall import (
    DUAL,
    HOST,
    N1,
    N2,
    OUTSIDE,
    answers,
    fetch,
    host_like,
    ipt,
    needs_iptables,
    outside,
    serving,
)
from ._kernel import iptables, joined

EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def test_a_published_port_is_reachable_from_outside_the_host_and_the_network() -> None:
    needs_iptables()
    host_like()
    out = outside()
    before = iptables()
    with libnet.Controller() as c:
        network = c.new_network("bridge", "n1", ipam=N1)
        sandbox = c.new_sandbox("web", create=True)
        web = network.create_endpoint("web")
        web.join(sandbox, publish=["18080:8080", libnet.PortBinding(8081, 18081, "udp")])
        assert web.info()["ports"] == ["0.0.0.0:18080->8080/tcp", "0.0.0.0:18081->8081/udp"]
        key_b, _ = joined(c, network, "b")
        assert sandbox.key is not None
        with serving(sandbox.key, 8080, 8081):
            # Other hosts, through the host's address: the client's address is kept.
            assert answers(out, HOST, 18080) == f"tcp {OUTSIDE}"
            assert answers(out, HOST, 18081, udp=True) == f"udp {OUTSIDE}"
            # The host itself, through its own non-loopback address.
            assert fetch(HOST, 18080) == f"tcp {HOST}"
            # Another endpoint of the network, at the endpoint's address.
            assert answers(key_b, "10.1.0.2", 8080) == "tcp 10.1.0.3"
            assert answers(out, HOST, 18082) is None  # nothing else is published
            web.leave(sandbox)
            assert answers(out, HOST, 18080) is None
            assert fetch(HOST, 18080) is None
        for sb in c.sandboxes():
            sb.delete()
        network.delete(force=True)
    assert iptables() == before  # no rule left


def test_host_port_zero_picks_a_free_ephemeral_port_and_says_which() -> None:
    needs_iptables()
    host_like()
    out = outside()
    low, high = (int(x) for x in EPHEMERAL.read_text().split())
    with libnet.Controller() as c:
        network = c.new_network("bridge", "n1", ipam=N1)
        sandbox = c.new_sandbox("web", create=True)
        web = network.create_endpoint("web")
        web.join(sandbox, publish=["8080", "18090-18091:8080"])
        first, second = web.info()["ports"]
        port = int(first.split(":")[1].split("-")[0])
        assert low <= port <= high
        assert second == "0.0.0.0:18090->8080/tcp"
        made = web.driver_info()["com.docker.network.portmap"]
        assert [m["HostPort"] for m in made] == [port, 18090]
        assert sandbox.key is not None
        with serving(sandbox.key, 8080):
            assert answers(out, HOST, port) == f"tcp {OUTSIDE}"
        # The range gives the next free port of it; a full range is a clear error.
        other_box = c.new_sandbox("other", create=True)
        other = network.create_endpoint("other")
        other.join(other_box, publish=["18090-18091:80"])
        assert other.info()["ports"] == ["0.0.0.0:18091->80/tcp"]
        third = network.create_endpoint("third")
        with pytest.raises(AddressInUseError, match="no free host port in 18090-18091"):
            third.join(c.new_sandbox("third", create=True), publish=["18090-18091:80"])


def test_a_port_clash_names_the_endpoint_holding_it_and_changes_nothing() -> None:
    needs_iptables()
    with libnet.Controller() as c:
        one = c.new_network("bridge", "front", ipam=N1)
        holder = one.create_endpoint("web")
        holder.join(c.new_sandbox("web", create=True), publish=["18080:80"])
        two = c.new_network("bridge", "back", ipam=N2)
        late = two.create_endpoint("late")
        box = c.new_sandbox("late", create=True)
        before = iptables()
        with pytest.raises(AddressInUseError) as info:
            late.join(box, publish=["192.0.2.1:18080:81"])
        assert "endpoint 'web' on network 'front'" in str(info.value)
        assert "choose another host port" in str(info.value)
        assert late.sandbox_id is None
        assert iptables() == before
        # Another protocol is another port.
        late.join(box, publish=["18080:81/udp"])
        late.leave(box)
        # A process of the host listening on the port holds it too.
        with socket.socket() as listener:
            listener.bind(("0.0.0.0", 18095))
            listener.listen(1)
            with pytest.raises(AddressInUseError, match="in use by a process of the host"):
                late.join(box, publish=["18095:80"])
        # So does another libnet state on the same host (the kernel's rules say it).
        with libnet.Controller() as stranger:
            net = stranger.new_network("bridge", "s", ipam={"config": [{"subnet": "10.3.0.0/24"}]})
            ep = net.create_endpoint("s")
            with pytest.raises(AddressInUseError, match="another libnet state"):
                ep.join(stranger.new_sandbox("s", create=True), publish=["18080:80"])
            net.delete(force=True)
        # Two bindings of one join on the same port clash with each other.
        with pytest.raises(AddressInUseError, match="asked for twice"):
            late.join(box, publish=["18096:80", "18096:81"])
        assert iptables() == before


def test_bad_publish_specs_say_what_to_write() -> None:
    with libnet.Controller() as c:
        network = c.new_network(
            "bridge", "n1", ipam=N1, options={"io.libnet.bridge.firewall": "false"}
        )
        ep = network.create_endpoint("e")
        box = c.new_sandbox("e")
        for spec in ("80:http", "1:2:3:4", "99999:80", "80/icmp"):
            with pytest.raises(InvalidOptionError, match=r"write \[HOST_IP:\]HOST_PORT"):
                ep.join(box, publish=[spec])
        with pytest.raises(InvalidOptionError, match="has no firewall rules"):
            ep.join(box, publish=["18080:80"])
        inside = c.new_network("bridge", "in", ipam=N2, internal=True)
        with pytest.raises(InvalidOptionError, match="internal"):
            inside.create_endpoint("i").join(box, publish=["18080:80"])
        assert ep.sandbox_id is None


def test_doctor_repairs_missing_port_rules_and_removes_orphaned_ones(tmp_path: Path) -> None:
    needs_iptables()
    with libnet.Controller(state_dir=tmp_path) as c:
        network = c.new_network("bridge", "n1", ipam=N1)
        web = network.create_endpoint("web")
        web.join(c.new_sandbox("web", create=True), publish=["8080"])
        good = iptables()
        ipt("-w", "-t", "nat", "-F", f"LIBNET-DNAT-{c.owner}")  # as a firewall reload might
        report = c.reconcile(repair=False)
        missing = [f for f in report.findings if f.object == "endpoint 'web' on network 'n1'"]
        assert missing and "firewall rule is missing" in missing[0].detail, report
        assert c.reconcile(repair=True).ok
        assert iptables() == good  # the same ephemeral port as before

        mark = f"libnet:{c.owner}:ep:{network.id}:{'f' * 64}"  # an endpoint long gone
        orphan = libnet.PortBinding(80, 18099, "tcp", "0.0.0.0", container_ip="10.1.0.9")
        Firewall(c.owner).set_rules(mark, port_rules("br-x", [orphan], comment=mark))
        report = c.reconcile(repair=False)
        orphans = [f for f in report.findings if f.kind == "orphan"]
        assert len(orphans) == 2 and all("published-port rule" in f.detail for f in orphans)
        assert c.reconcile(repair=True).ok
        assert iptables() == good
        assert c.reconcile(repair=False).findings == []


def test_the_served_plugin_takes_dockers_portmap_and_reports_what_it_made(tmp_path: Path) -> None:
    """Docker's ProgramExternalConnectivity, as libnetwork's remote driver sends it, through
    ``libnet serve``'s service: the ports are published, EndpointOperInfo says which, and a
    revoke after a restart of the plugin (which forgot them) still removes them."""
    needs_iptables()
    from libnet.dockerplugin.server._service import PluginService
    from libnet.dockerplugin.server._state import PluginState
    from libnet.driverapi import Capability, Scope
    from libnet.drivers.bridge import BridgeDriver
    from libnet.store import SqliteStore

    before = iptables()
    nid, eid = "a" * 64, "b" * 64
    store = SqliteStore(tmp_path / "plugin.db")

    def service() -> PluginService:
        driver = BridgeDriver("0123456789ab")
        return PluginService(
            PluginState(store, "bridge"), driver=driver, capability=Capability(Scope.LOCAL)
        )

    plugin = service()
    ipv4 = [{"AddressSpace": "", "Pool": "10.1.0.0/24", "Gateway": "10.1.0.1/24"}]
    plugin.call(
        "NetworkDriver.CreateNetwork",
        {"NetworkID": nid, "Options": {"com.docker.network.generic": {}}, "IPv4Data": ipv4},
    )
    plugin.call(
        "NetworkDriver.CreateEndpoint",
        {
            "NetworkID": nid,
            "EndpointID": eid,
            "Interface": {"Address": "10.1.0.2/24", "AddressIPv6": "", "MacAddress": ""},
            "Options": {},
        },
    )
    options = {
        "com.docker.network.endpoint.exposedports": [{"Proto": 6, "Port": 80}],
        "com.docker.network.portmap": [
            {"Proto": 6, "IP": "", "Port": 80, "HostIP": "", "HostPort": 18080, "HostPortEnd": 0},
            {"Proto": 17, "IP": "", "Port": 53, "HostIP": "", "HostPort": 0, "HostPortEnd": 0},
            # Docker may ask for "::" too: the endpoint has no IPv6 address, so it is left out.
            {"Proto": 6, "IP": "", "Port": 80, "HostIP": "::", "HostPort": 18080},
        ],
    }
    reply = plugin.call(
        "NetworkDriver.ProgramExternalConnectivity",
        {"NetworkID": nid, "EndpointID": eid, "Options": options},
    )
    assert reply == {}
    info = plugin.call("NetworkDriver.EndpointOperInfo", {"NetworkID": nid, "EndpointID": eid})
    made = info["Value"]["com.docker.network.portmap"]
    assert [(m["Proto"], m["HostIP"], m["IP"]) for m in made] == [
        (6, "0.0.0.0", "10.1.0.2"),
        (17, "0.0.0.0", "10.1.0.2"),
    ]
    assert made[0]["HostPort"] == 18080 and made[1]["HostPort"] > 0
    assert "--dport 18080" in " ".join(iptables()["iptables-save"])

    plugin.close()
    plugin = service()  # a restarted plugin: its driver no longer knows the ports
    plugin.restore()
    revoke = {"NetworkID": nid, "EndpointID": eid}
    assert plugin.call("NetworkDriver.RevokeExternalConnectivity", revoke) == {}
    assert "--dport 18080" not in " ".join(iptables()["iptables-save"])
    plugin.call("NetworkDriver.DeleteEndpoint", revoke)
    plugin.call("NetworkDriver.DeleteNetwork", {"NetworkID": nid})
    assert iptables() == before


def test_a_dual_stack_endpoint_publishes_on_both_families() -> None:
    needs_iptables()
    with libnet.Controller() as c:
        network = c.new_network("bridge", "n1", ipam=DUAL, enable_ipv6=True)
        web = network.create_endpoint("web")
        web.join(c.new_sandbox("web", create=True), publish=["18080:80", "10.1.0.1:18081:81"])
        assert web.info()["ports"] == [
            "0.0.0.0:18080->80/tcp",
            "[::]:18080->80/tcp",
            "10.1.0.1:18081->81/tcp",
        ]
        six = " ".join(iptables()["ip6tables-save"])
        address = web.info()["address_ipv6"].split("/")[0]
        assert "--dport 18080 -m comment" in six and f"[{address}]:80" in six
        with pytest.raises(InvalidOptionError, match="not an address of this host"):
            other = network.create_endpoint("other")
            other.join(c.new_sandbox("other", create=True), publish=["192.0.2.99:18082:80"])
        with pytest.raises(InvalidOptionError, match="loopback"):
            other.join(c.new_sandbox("third", create=True), publish=["127.0.0.1:18082:80"])
