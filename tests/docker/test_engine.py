"""The test infrastructure itself: the private engine, its namespaces and busybox (no libnet)."""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Callable

from ._engine import UPLINK_ADDRESS, WORLD_ADDRESS, DockerEngine, host_firewall, import_busybox
from .conftest import free_subnet

Docker = Callable[..., subprocess.CompletedProcess[str]]


def test_busybox_image_runs_the_applets_the_tests_use(docker: Docker, busybox_image: str) -> None:
    out = docker(
        "run", "--rm", "--network", "none", busybox_image, "sh", "-c", "ip addr; ping -c1 127.0.0.1"
    ).stdout
    assert "127.0.0.1/8" in out
    assert "1 packets received" in out


def test_the_engine_runs_with_dockers_default_settings(docker_engine: DockerEngine) -> None:
    """What a Docker host has: docker0, FORWARD policy DROP, Docker's chains, forwarding on.

    All of it in the daemon's namespace only; bridged traffic passes iptables there when
    br_netfilter is available, which a sandbox may not allow (a warning says so).
    """
    rules = docker_engine.firewall().splitlines()
    assert ":FORWARD DROP" in rules
    assert "-A FORWARD -j DOCKER-USER" in rules
    assert "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE" in rules
    assert docker_engine.link_exists("docker0")
    assert docker_engine.sysctl("net.ipv4.ip_forward") == "1"
    flags = " ".join(docker_engine.flags)
    for switch in ("iptables", "bridge", "ip-forward", "ip-masq", "userland-proxy"):
        assert f"--{switch}" not in flags
    reason = docker_engine.bridge_netfilter()
    if reason:
        warnings.warn(f"Docker tests: {reason}", stacklevel=1)


def test_the_uplink_reaches_the_world(docker_engine: DockerEngine) -> None:
    docker_engine.netns_run("ping", "-c", "1", "-W", "3", WORLD_ADDRESS)
    route = docker_engine.netns_run("ip", "route", "show", "default").stdout
    assert f"via {WORLD_ADDRESS}" in route
    world = subprocess.run(
        docker_engine.in_world("ip", "-o", "-4", "addr"), capture_output=True, text=True
    ).stdout
    assert f"{WORLD_ADDRESS}/" in world and UPLINK_ADDRESS not in world


def test_docker_bridge_networks_work(docker_engine: DockerEngine, busybox_image: str) -> None:
    docker = docker_engine.docker
    net = free_subnet()
    nid = docker("network", "create", "-d", "bridge", "--subnet", str(net), "lbtest-dockerbr")
    nid_text = nid.stdout.strip()
    try:
        out = docker("run", "--rm", "--network", "lbtest-dockerbr", busybox_image, "ip", "addr")
        assert str(net[2]) in out.stdout
        out = docker("run", "--rm", busybox_image, "ping", "-c", "1", "-W", "3", WORLD_ADDRESS)
        assert "1 packets received" in out.stdout  # docker0, through Docker's masquerade
    finally:
        docker("network", "rm", "lbtest-dockerbr")
    assert not docker_engine.link_exists(f"br-{nid_text[:12]}")


def test_stopping_an_engine_leaves_nothing_behind_and_the_host_as_it_was(
    docker_engine: DockerEngine,
) -> None:
    """Containers still running, a bridge network, a published port: stop removes processes,
    mounts, namespaces and links; the host's iptables never change.

    (A second engine, next to the session's ``docker_engine``, which only skips this test
    where no engine can run.)
    """
    firewall = host_firewall()
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        forwarding = f.read()
    net = free_subnet()
    engine = DockerEngine()
    with engine:
        image = import_busybox(engine)
        nid = engine.docker("network", "create", "-d", "bridge", "--subnet", str(net), "n1")
        bridge = f"br-{nid.stdout.strip()[:12]}"
        engine.docker("run", "-d", "--network", "n1", image, "sleep", "600")
        engine.docker("run", "-d", "-p", "18080:80", image, "httpd", "-f", "-p", "80")
        assert engine.link_exists(bridge)
        assert "--dport 18080" in engine.firewall()  # Docker's DNAT, in its namespace
        assert engine.leftovers()  # running: its processes, mounts and namespaces
        assert host_firewall() == firewall
        netns = engine.netns
    assert engine.leftovers() == []
    assert not engine.running()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(engine.root) not in ps
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert netns not in listed and engine.world not in listed
    assert host_firewall() == firewall
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read() == forwarding
