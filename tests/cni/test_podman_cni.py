"""Real Podman (CNI backend) running containers on a libnet network through libnet-cni."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from _cni import LIBNET_CNI, add_netns, del_netns, links, unique
from _podman import IMAGE, RUN_FLAGS, Podman, unavailable

from libnet import Controller


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    name = unique("cnipod-")
    netns = add_netns(name)
    root = tmp_path_factory.mktemp("podman")
    engine = Podman(root, netns)
    (engine.plugins / "libnet-cni").symlink_to(LIBNET_CNI)
    engine.network(
        "lnet",
        [
            {
                "type": "libnet-cni",
                "driver": "bridge",
                "subnet": "10.90.0.0/24",
                "stateDir": str(root / "libnet"),
            }
        ],
    )
    try:
        engine.import_busybox()
        yield engine
    finally:
        engine.close()
        del_netns(name)


def run(podman: Podman, name: str) -> None:
    podman("run", "-d", "--name", name, "--network", "lnet", *RUN_FLAGS, IMAGE, "sleep", "600")


def test_podman_network_commands_see_the_network(podman: Podman) -> None:
    assert "lnet" in podman.text("network", "ls", "--format", "{{.Name}}").split()
    assert '"driver": "libnet-cni"' in podman.text("network", "inspect", "lnet")


def test_two_containers_on_a_libnet_network_ping_each_other(podman: Podman) -> None:
    run(podman, "ping1")
    run(podman, "ping2")
    try:
        other = podman.ip("ping2", "lnet")
        assert other.startswith("10.90.0.")
        assert (
            podman("exec", "ping1", "ping", "-c", "1", "-W", "2", other, check=False).returncode
            == 0
        )
        assert "inet " + other in podman.text("exec", "ping2", "ip", "addr", "show", "eth0")
    finally:
        podman("rm", "--force", "--time", "0", "ping1", "ping2", check=False)


def test_podman_rm_leaves_no_link_namespace_or_endpoint(podman: Podman) -> None:
    run(podman, "warmup")  # the network's bridge exists from here on
    podman("rm", "--force", "--time", "0", "warmup")
    host_links, namespaces = set(links(podman.netns)), set(os.listdir("/run/netns"))
    run(podman, "gone")
    assert len(links(podman.netns)) > len(host_links)
    podman("rm", "--force", "--time", "0", "gone")
    assert set(links(podman.netns)) == host_links
    assert set(os.listdir("/run/netns")) == namespaces
    with Controller(state_dir=Path(podman.root / "libnet"), plugins="off") as c:
        assert [ep.name for ep in c.network_by_name("lnet").endpoints()] == []
        assert c.sandboxes() == []
