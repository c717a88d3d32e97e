"""libnet drivers served to a real Docker Engine with ``libnet serve`` (Docker plugin protocol).

Each test serves libnet's ``bridge`` driver (and, for IPAM, libnet's ``default`` IPAM) as a
legacy Docker plugin with a unique name, then drives it with the docker client against the
private engine; the plugin's DEBUG log shows the calls Docker made.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from collections.abc import Callable
from typing import Any

from ._engine import DockerEngine
from .conftest import ServedPlugin

Docker = Callable[..., subprocess.CompletedProcess[str]]
Serve = Callable[..., ServedPlugin]


def _inspect(docker: Docker, *args: str) -> dict[str, Any]:
    data = json.loads(docker(*args).stdout)
    assert isinstance(data, list) and len(data) == 1, data
    item = data[0]
    assert isinstance(item, dict)
    return item


def _container_ip(docker: Docker, container: str, network: str) -> str:
    info = _inspect(docker, "container", "inspect", container)
    return str(info["NetworkSettings"]["Networks"][network]["IPAddress"])


def _container_endpoint(docker: Docker, container: str, network: str) -> str:
    info = _inspect(docker, "container", "inspect", container)
    return str(info["NetworkSettings"]["Networks"][network]["EndpointID"])


def _inet(ip_addr_output: str, ifname: str = "eth0") -> list[str]:
    """The IPv4 addresses (CIDR) of ``ifname`` in busybox ``ip addr`` output."""
    found: list[str] = []
    current = None
    for line in ip_addr_output.splitlines():
        head = re.match(r"^\d+: ([^:@]+)[:@]", line)
        if head:
            current = head.group(1)
            continue
        m = re.match(r"^\s+inet (\S+)", line)
        if m and current == ifname:
            found.append(m.group(1))
    return found


def test_network_create_inspect_rm_reach_the_served_driver(
    docker_engine: DockerEngine, docker: Docker, serve: Serve, subnet: ipaddress.IPv4Network
) -> None:
    plugin = serve("bridge")
    gateway = str(subnet[1])
    bridge = "lbt" + plugin.name[-8:]
    create = ["network", "create", "-d", plugin.name, "--subnet", str(subnet)]
    create += ["--gateway", gateway, "-o", f"com.docker.network.bridge.name={bridge}"]
    nid = docker(*create, f"{plugin.name}-net").stdout.strip()

    info = _inspect(docker, "network", "inspect", f"{plugin.name}-net")
    assert info["Id"] == nid
    assert info["Driver"] == plugin.name
    assert info["IPAM"]["Config"][0]["Subnet"] == str(subnet)
    assert info["Options"]["com.docker.network.bridge.name"] == bridge

    calls = plugin.calls()
    assert calls.count("Plugin.Activate") == 2  # the fixture's readiness probe, then Docker
    assert calls.count("NetworkDriver.GetCapabilities") == 1
    assert calls.count("NetworkDriver.CreateNetwork") == 1
    # What Docker sent: its network ID, the pool and gateway its IPAM chose, the -o option.
    [request] = plugin.requests("NetworkDriver.CreateNetwork")
    assert request["NetworkID"] == nid
    assert request["IPv4Data"][0]["Pool"] == str(subnet)
    assert request["IPv4Data"][0]["Gateway"] == f"{gateway}/{subnet.prefixlen}"
    assert request["Options"]["com.docker.network.generic"] == {
        "com.docker.network.bridge.name": bridge
    }
    # libnet's bridge driver made the Linux bridge with the gateway address.
    assert docker_engine.link_exists(bridge)  # in the daemon's namespace
    addrs = docker_engine.netns_run("ip", "-o", "-4", "addr", "show", "dev", bridge).stdout
    assert f"{gateway}/{subnet.prefixlen}" in addrs

    docker("network", "rm", f"{plugin.name}-net")
    assert plugin.count("NetworkDriver.DeleteNetwork") == 1
    assert not docker_engine.link_exists(bridge)
    ls = docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    assert f"{plugin.name}-net" not in ls
    assert all(status == 200 for _, status in plugin.answered()), plugin.answered()
    # SIGTERM: a clean exit that takes the socket away.
    assert plugin.stop() == 0
    assert not plugin.socket.exists()


def test_a_container_on_a_served_network_gets_its_interface(
    docker: Docker, serve: Serve, busybox_image: str, subnet: ipaddress.IPv4Network
) -> None:
    plugin = serve("bridge")
    net = f"{plugin.name}-net"
    docker("network", "create", "-d", plugin.name, "--subnet", str(subnet), net)

    out = docker("run", "--rm", "--network", net, busybox_image, "ip", "addr").stdout
    inet = _inet(out)
    assert len(inet) == 1, out
    assert ipaddress.IPv4Interface(inet[0]).network == subnet, out
    # The route to the gateway the driver's Join gave.
    routes = docker("run", "--rm", "--network", net, busybox_image, "ip", "route").stdout
    assert f"default via {subnet[1]}" in routes, routes

    calls = plugin.calls()
    for method in ("CreateEndpoint", "Join", "Leave", "DeleteEndpoint"):
        assert calls.count(f"NetworkDriver.{method}") == 2, (method, calls)
    docker("network", "rm", net)


def test_two_containers_on_a_served_bridge_ping_each_other_and_nothing_is_left(
    docker_engine: DockerEngine,
    docker: Docker,
    serve: Serve,
    busybox_image: str,
    subnet: ipaddress.IPv4Network,
) -> None:
    plugin = serve("bridge")
    net = f"{plugin.name}-net"
    nid = docker("network", "create", "-d", plugin.name, "--subnet", str(subnet), net)
    nid_text = nid.stdout.strip()
    bridge = f"br-{nid_text[:12]}"  # libnet's default bridge name, as Docker's
    c1, c2 = f"{plugin.name}-c1", f"{plugin.name}-c2"
    docker("run", "-d", "--name", c1, "--network", net, busybox_image, "sleep", "600")
    docker("run", "-d", "--name", c2, "--network", net, busybox_image, "sleep", "600")
    ip1, ip2 = _container_ip(docker, c1, net), _container_ip(docker, c2, net)
    eids = [_container_endpoint(docker, c, net) for c in (c1, c2)]
    assert ipaddress.IPv4Address(ip1) in subnet and ipaddress.IPv4Address(ip2) in subnet
    assert ip1 != ip2
    assert docker_engine.link_exists(bridge)
    for eid in eids:
        assert docker_engine.link_exists(f"veth{eid[:11]}")  # the host ends, on the bridge

    # Each way, by IP; then the host reaches them through the bridge's gateway address.
    out = docker("exec", c1, "ping", "-c", "1", "-W", "3", ip2).stdout
    assert "1 packets received" in out, out
    out = docker("exec", c2, "ping", "-c", "1", "-W", "3", ip1).stdout
    assert "1 packets received" in out, out
    docker_engine.netns_run("ping", "-c", "1", "-W", "3", ip1)

    docker("rm", "-f", c1, c2)
    docker("network", "rm", net)
    after = docker_engine.links()
    assert nid_text not in after  # neither a bridge nor a veth marked with the network's ID
    assert not docker_engine.link_exists(bridge)
    for eid in eids:
        assert not docker_engine.link_exists(f"veth{eid[:11]}")
        assert eid not in after
    assert plugin.count("NetworkDriver.DeleteEndpoint") == 2
    assert plugin.count("NetworkDriver.DeleteNetwork") == 1


def _libnet_ipam(plugin: ServedPlugin) -> dict[str, list[str]]:
    """What the served plugin's IPAM holds, read from its state: pool CIDR -> addresses."""
    from libnet.ipam import DefaultIpam
    from libnet.store import SqliteStore

    store = SqliteStore(plugin.state_dir)
    try:
        ipam = DefaultIpam(store)
        return {pool.pool: sorted(ipam.addresses(pool.id)) for pool in ipam.pools()}
    finally:
        store.close()


def test_a_container_gets_the_address_libnet_ipam_allocated(
    docker: Docker, serve: Serve, busybox_image: str
) -> None:
    plugin = serve("bridge", ipam="default")
    net = f"{plugin.name}-net"
    # No --subnet: the pool is libnet's choice (Docker may refuse one that overlaps a route
    # of the host, and release it), and so is the gateway.
    docker("network", "create", "-d", plugin.name, "--ipam-driver", plugin.name, net)
    info = _inspect(docker, "network", "inspect", net)
    assert info["IPAM"]["Driver"] == plugin.name
    [config] = info["IPAM"]["Config"]
    subnet = ipaddress.IPv4Network(config["Subnet"])
    gateway = f"{config['Gateway']}/{subnet.prefixlen}"
    assert _libnet_ipam(plugin) == {str(subnet): [gateway]}
    [gw_request] = plugin.requests("IpamDriver.RequestAddress")
    assert gw_request["Options"] == {"RequestAddressType": "com.docker.network.gateway"}
    pool_id = gw_request["PoolID"]

    c1 = f"{plugin.name}-c1"
    docker("run", "-d", "--name", c1, "--network", net, busybox_image, "sleep", "600")
    inside = _inet(docker("exec", c1, "ip", "addr").stdout)
    inspected = _inspect(docker, "container", "inspect", c1)["NetworkSettings"]["Networks"][net]
    assert inside == [f"{inspected['IPAddress']}/{inspected['IPPrefixLen']}"]
    # The one address libnet handed out besides the gateway is the container's.
    assert _libnet_ipam(plugin) == {str(subnet): sorted([gateway, inside[0]])}
    requests = plugin.requests("IpamDriver.RequestAddress")
    assert [r["PoolID"] for r in requests] == [pool_id, pool_id]
    # And the driver was told that address for the endpoint.
    [endpoint] = plugin.requests("NetworkDriver.CreateEndpoint")
    assert endpoint["Interface"]["Address"] == inside[0]

    docker("rm", "-f", c1)
    assert _libnet_ipam(plugin) == {str(subnet): [gateway]}
    docker("network", "rm", net)
    assert _libnet_ipam(plugin) == {}
    assert {"PoolID": pool_id} in plugin.requests("IpamDriver.ReleasePool")
    assert all(status == 200 for method, status in plugin.answered() if "Release" in method)
