"""The test infrastructure itself: the private engine and the busybox image (no libnet)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from ._engine import DockerEngine, import_busybox
from .conftest import free_subnet, link_exists

Docker = Callable[..., subprocess.CompletedProcess[str]]


def test_busybox_image_runs_the_applets_the_tests_use(docker: Docker, busybox_image: str) -> None:
    out = docker(
        "run", "--rm", "--network", "none", busybox_image, "sh", "-c", "ip addr; ping -c1 127.0.0.1"
    ).stdout
    assert "127.0.0.1/8" in out
    assert "1 packets received" in out


def test_docker_bridge_driver_works_without_the_default_bridge(
    docker: Docker, busybox_image: str
) -> None:
    """--bridge=none only drops docker0: Docker's own bridge driver still makes networks."""
    net = free_subnet()
    nid = docker("network", "create", "-d", "bridge", "--subnet", str(net), "lbtest-dockerbr")
    nid_text = nid.stdout.strip()
    try:
        out = docker("run", "--rm", "--network", "lbtest-dockerbr", busybox_image, "ip", "addr")
        assert str(net[2]) in out.stdout
    finally:
        docker("network", "rm", "lbtest-dockerbr")
    assert not link_exists(f"br-{nid_text[:12]}")


def test_stopping_an_engine_leaves_nothing_behind(docker_engine: DockerEngine) -> None:
    """Containers still running and a bridge network: stop removes processes, mounts, links.

    (A second engine, next to the session's ``docker_engine``, which only skips this test
    where no engine can run.)
    """
    net = free_subnet()
    engine = DockerEngine()
    with engine:
        image = import_busybox(engine)
        nid = engine.docker("network", "create", "-d", "bridge", "--subnet", str(net), "n1")
        bridge = f"br-{nid.stdout.strip()[:12]}"
        engine.docker("run", "-d", "--network", "n1", image, "sleep", "600")
        assert link_exists(bridge)
        assert engine.leftovers()  # running: its processes and mounts
    assert engine.leftovers() == []
    assert not link_exists(bridge)
    assert not engine.running()
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(engine.root) not in ps
