"""libnet's bridge served to a Docker Engine with its default settings: firewall, NAT, ports.

The engine is the session's (``docker_engine``): iptables on, ``FORWARD`` policy ``DROP``,
``docker0``, in a namespace of its own whose uplink leads to a "world" namespace
(:data:`WORLD_ADDRESS`); the host is :data:`UPLINK_ADDRESS` to the world. ``libnet serve
bridge`` runs in the daemon's namespace with its firewall rules on, as for any user.
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from ._engine import UPLINK_ADDRESS, WORLD_ADDRESS, DockerEngine
from .conftest import ServedPlugin, free_subnet

Docker = Callable[..., subprocess.CompletedProcess[str]]
Serve = Callable[..., ServedPlugin]

WAIT = 20.0
"""Seconds to wait for a server in a container to answer."""

# A TCP server for the world namespace: says "ready", accepts one connection, greets it and
# prints the peer's address (what masquerade made of the container's).
_RECORDER = """
import socket, sys
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((sys.argv[1], 0))
srv.listen(1)
srv.settimeout(60)
print(srv.getsockname()[1], flush=True)
conn, peer = srv.accept()
conn.sendall(b"hello from the world\\n")
conn.close()
print(peer[0], flush=True)
"""

# A client for the world namespace: GET / from HOST:PORT until it answers; prints the body.
_FETCH = """
import socket, sys, time
host, port, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
deadline = time.monotonic() + wait
while True:
    try:
        with socket.create_connection((host, port), timeout=3) as s:
            s.sendall(b"GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        if data:
            sys.stdout.write(data.decode(errors="replace"))
            break
    except OSError as exc:
        last = exc
    if time.monotonic() > deadline:
        sys.exit(f"no answer from {host}:{port} within {wait} s: {last}")
    time.sleep(0.2)
"""


def _name() -> str:
    return f"lbfw-{secrets.token_hex(3)}"


def _ip(docker: Docker, container: str, network: str) -> str:
    info = json.loads(docker("container", "inspect", container).stdout)[0]
    return str(info["NetworkSettings"]["Networks"][network]["IPAddress"])


def _pings(docker: Docker, container: str, address: str) -> bool:
    out = docker("exec", container, "ping", "-c", "1", "-W", "2", address, check=False)
    return "1 packets received" in out.stdout


def _libnet_rules(engine: DockerEngine) -> list[str]:
    return [line for line in engine.firewall().splitlines() if "LIBNET" in line]


@contextmanager
def _world_recorder(engine: DockerEngine) -> Iterator[tuple[int, Callable[[], str]]]:
    """A TCP server in the world namespace: (its port, a call returning the peer's address)."""
    proc = subprocess.Popen(
        engine.in_world(sys.executable, "-c", _RECORDER, WORLD_ADDRESS),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())

        def peer() -> str:
            out, err = proc.communicate(timeout=WAIT)
            assert proc.returncode == 0, err
            return out.strip()

        yield port, peer
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _fetch_from_world(
    engine: DockerEngine, port: int, wait: float = WAIT
) -> subprocess.CompletedProcess[str]:
    """GET / from the host's uplink address and ``port``, in the world namespace."""
    return subprocess.run(
        engine.in_world(sys.executable, "-c", _FETCH, UPLINK_ADDRESS, str(port), str(wait)),
        capture_output=True,
        text=True,
        timeout=wait + 10,
        check=False,
    )


def _free_port() -> int:
    """A TCP port no listener of this namespace has (the daemon's namespace is private)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served_net(
    docker_engine: DockerEngine, docker: Docker, serve: Serve
) -> Iterator[tuple[ServedPlugin, str, ipaddress.IPv4Network]]:
    """A network of libnet's bridge served to the engine: (plugin, name, subnet)."""
    plugin = serve("bridge")
    subnet = free_subnet()
    net = f"{plugin.name}-net"
    docker("network", "create", "-d", plugin.name, "--subnet", str(subnet), net)
    yield plugin, net, subnet


def test_the_served_bridge_passes_forward_drop_and_leaves_no_rule(
    docker_engine: DockerEngine, docker: Docker, serve: Serve, busybox_image: str
) -> None:
    """Two containers ping each other on a host whose FORWARD policy is DROP (they did not
    before libnet had firewall rules); removing the network leaves the namespace's iptables
    exactly as before it, and no link."""
    before = docker_engine.firewall()
    plugin = serve("bridge")
    subnet = free_subnet()
    net = f"{plugin.name}-net"
    nid = docker("network", "create", "-d", plugin.name, "--subnet", str(subnet), net)
    nid_text = nid.stdout.strip()
    rules = _libnet_rules(docker_engine)
    assert any(r.startswith("-A DOCKER-USER") and "-j LIBNET-FWD-" in r for r in rules), rules
    assert any(r.startswith("-A POSTROUTING") and "-j LIBNET-NAT-" in r for r in rules), rules
    assert any(f"-s {subnet}" in r and "MASQUERADE" in r for r in rules), rules

    c1, c2 = _name(), _name()
    for c in (c1, c2):
        docker("run", "-d", "--name", c, "--network", net, busybox_image, "sleep", "600")
    ip1, ip2 = _ip(docker, c1, net), _ip(docker, c2, net)
    assert _pings(docker, c1, ip2)
    assert _pings(docker, c2, ip1)
    eids = [
        json.loads(docker("container", "inspect", c).stdout)[0]["NetworkSettings"]["Networks"][net][
            "EndpointID"
        ]
        for c in (c1, c2)
    ]

    docker("rm", "-f", c1, c2)
    docker("network", "rm", net)
    assert docker_engine.firewall() == before
    links = docker_engine.links()
    assert nid_text not in links and not any(eid in links for eid in eids), links
    assert not docker_engine.link_exists(f"br-{nid_text[:12]}")


@pytest.mark.parametrize("bridge_nf", ["1", "0"], ids=["br_netfilter", "no_br_netfilter"])
def test_containers_ping_whether_or_not_bridged_traffic_passes_iptables(
    docker_engine: DockerEngine,
    docker: Docker,
    served_net: tuple[ServedPlugin, str, ipaddress.IPv4Network],
    busybox_image: str,
    bridge_nf: str,
) -> None:
    """With br_netfilter FORWARD sees traffic inside a bridge; without, it does not."""
    if docker_engine.sysctl("net.bridge.bridge-nf-call-iptables") is None:
        pytest.skip(docker_engine.bridge_netfilter() or "no br_netfilter")
    _, net, _ = served_net
    key = "/proc/sys/net/bridge/bridge-nf-call-iptables"
    docker_engine.netns_run("sh", "-c", f"echo {bridge_nf} > {key}")
    try:
        c1, c2 = _name(), _name()
        for c in (c1, c2):
            docker("run", "-d", "--name", c, "--network", net, busybox_image, "sleep", "600")
        assert _pings(docker, c1, _ip(docker, c2, net))
    finally:
        docker_engine.netns_run("sh", "-c", f"echo 1 > {key}")


def test_a_container_reaches_the_world_through_libnets_masquerade(
    docker_engine: DockerEngine,
    docker: Docker,
    served_net: tuple[ServedPlugin, str, ipaddress.IPv4Network],
    busybox_image: str,
) -> None:
    _, net, subnet = served_net
    with _world_recorder(docker_engine) as (port, peer):
        out = docker(
            "run", "--rm", "--network", net, busybox_image,
            "sh", "-c", f"ip -4 addr show eth0; nc -w 5 {WORLD_ADDRESS} {port} </dev/null",
        ).stdout  # fmt: skip
        assert "hello from the world" in out, out
        [address] = re.findall(r"inet (\S+)/", out)
        assert ipaddress.IPv4Address(address) in subnet
        # The world saw the host's uplink address, not the container's.
        assert peer() == UPLINK_ADDRESS


def test_a_published_port_is_reachable_from_the_world(
    docker_engine: DockerEngine,
    docker: Docker,
    served_net: tuple[ServedPlugin, str, ipaddress.IPv4Network],
    busybox_image: str,
) -> None:
    """``docker run -p HOST_PORT:80`` on the served network: Docker hands the bindings to
    the driver (``com.docker.network.portmap``), which must forward the host's port."""
    plugin, net, _ = served_net
    host_port = _free_port()
    web = _name()
    script = "mkdir -p /www && echo served-by-libnet > /www/index.html && httpd -f -p 80 -h /www"
    docker(
        "run", "-d", "--name", web, "--network", net, "-p", f"{host_port}:80",
        busybox_image, "sh", "-c", script,
    )  # fmt: skip
    [request] = [
        r
        for r in plugin.requests("NetworkDriver.ProgramExternalConnectivity")
        if r.get("Options", {}).get("com.docker.network.portmap")
    ]
    [binding] = request["Options"]["com.docker.network.portmap"]
    assert (binding["HostPort"], binding["Port"]) == (host_port, 80), binding

    fetched = _fetch_from_world(docker_engine, host_port)
    assert fetched.returncode == 0, fetched.stderr + "\n" + plugin.log()[-3000:]
    assert "served-by-libnet" in fetched.stdout

    docker("rm", "-f", web)
    assert f"--dport {host_port}" not in docker_engine.firewall()
    assert _fetch_from_world(docker_engine, host_port, wait=1).returncode != 0


@pytest.fixture
def docker_nets(
    docker: Docker,
    served_net: tuple[ServedPlugin, str, ipaddress.IPv4Network],
    busybox_image: str,
) -> Iterator[dict[str, tuple[str, str]]]:
    """One running container on each of: the served libnet network (``libnet``), Docker's
    default bridge ``docker0`` (``docker0``), a user-defined network of Docker's ``bridge``
    driver (``docker``). Name -> (container, its address)."""
    dnet = _name()
    docker("network", "create", "--subnet", str(free_subnet()), dnet)
    out: dict[str, tuple[str, str]] = {}
    try:
        for key, net in (("libnet", served_net[1]), ("docker0", "bridge"), ("docker", dnet)):
            c = _name()
            docker("run", "-d", "--name", c, "--network", net, busybox_image, "sleep", "600")
            out[key] = (c, _ip(docker, c, net))
        yield out
    finally:
        if out:
            docker("rm", "-f", *(c for c, _ in out.values()), check=False)
        docker("network", "rm", dnet, check=False)


def test_dockers_own_networks_still_work_beside_libnets(
    docker_engine: DockerEngine,
    docker: Docker,
    docker_nets: dict[str, tuple[str, str]],
    busybox_image: str,
) -> None:
    """With libnet's chains hooked into DOCKER-USER: Docker's bridges reach the world (its
    masquerade), publish ports, and stay isolated from each other, as Docker guarantees."""
    (d0, d0_ip), (dc, dc_ip) = docker_nets["docker0"], docker_nets["docker"]
    assert any("LIBNET-FWD-" in r for r in _libnet_rules(docker_engine))
    other, web = _name(), _name()
    try:
        docker("run", "-d", "--name", other, busybox_image, "sleep", "600")
        assert _pings(docker, other, d0_ip)  # inside docker0
        with _world_recorder(docker_engine) as (port, peer):
            docker("exec", d0, "sh", "-c", f"nc -w 5 {WORLD_ADDRESS} {port} </dev/null")
            assert peer() == UPLINK_ADDRESS
        assert not _pings(docker, d0, dc_ip)
        assert not _pings(docker, dc, d0_ip)

        host_port = _free_port()
        script = "mkdir -p /www && echo served-by-docker > /www/index.html; httpd -f -p 80 -h /www"
        docker(
            "run", "-d", "--name", web, "-p", f"{host_port}:80", busybox_image, "sh", "-c", script
        )
        fetched = _fetch_from_world(docker_engine, host_port)
        assert "served-by-docker" in fetched.stdout, fetched.stderr
    finally:
        docker("rm", "-f", other, web, check=False)


@pytest.mark.parametrize("docker_net", ["docker0", "docker"])
def test_dockers_bridges_and_the_served_network_are_isolated_both_ways(
    docker: Docker, docker_nets: dict[str, tuple[str, str]], docker_net: str
) -> None:
    """Docker guarantees that containers of two different bridge networks cannot reach
    each other, either way (its DOCKER-ISOLATION chains); to a user the served network is one
    more Docker network, so the same must hold between it and Docker's bridges."""
    (lc, lc_ip), (dc, dc_ip) = docker_nets["libnet"], docker_nets[docker_net]
    reached = {
        f"{docker_net} -> libnet": _pings(docker, dc, lc_ip),
        f"libnet -> {docker_net}": _pings(docker, lc, dc_ip),
    }
    assert not any(reached.values()), reached
