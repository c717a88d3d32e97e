"""Two libnet states (state directories) on one machine, both with overlay networks.

The kernel allows one VXLAN device per VNI and UDP port in a network namespace, whatever its
name or local address, so two states that want one VNI in one namespace cannot both have it:
the second gets an error naming the first state's owner mark, and is left as it was.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import libnet
from libnet.errors import KernelError
from libnet.store import MemoryStore

from ._kernel import snapshot, store_dump
from .test_overlay import SUBNET, _underlay_here

VTEP = "192.168.88.1"
IPAM = {"config": [{"subnet": SUBNET}]}


@pytest.mark.parametrize("shared", [False, True], ids=["own-global-stores", "one-global-store"])
def test_a_second_state_wanting_the_same_vni_gets_an_error_naming_the_first(
    shared: bool, tmp_path: Path
) -> None:
    _underlay_here(VTEP)
    first_store = MemoryStore()
    second_store = first_store if shared else MemoryStore()
    with (
        libnet.Controller(
            state_dir=tmp_path / "one", global_store=first_store, advertise_addr=VTEP
        ) as one,
        libnet.Controller(
            state_dir=tmp_path / "two", global_store=second_store, advertise_addr=VTEP
        ) as two,
    ):
        assert one.owner != two.owner
        net1 = one.new_network("overlay", "ov1", ipam=IPAM)
        net1.create_endpoint("e1")
        net2 = two.network("ov1") if shared else two.new_network("overlay", "ov1", ipam=IPAM)
        kernel, records = snapshot(), store_dump(two)
        with pytest.raises(KernelError) as info:
            net2.create_endpoint("e2")
        message = str(info.value)
        assert f"another libnet state on this host (owner {one.owner}" in message
        assert "network namespace of its own" in message
        assert snapshot() == kernel and store_dump(two) == records
        assert net1.to_dict()["kernel"]["status"] == "ok"


def test_a_foreign_vxlan_device_with_the_vni_is_named() -> None:
    _underlay_here(VTEP)
    with libnet.Controller(global_store=MemoryStore(), advertise_addr=VTEP) as c:
        network = c.new_network(
            "overlay",
            "ov1",
            ipam=IPAM,
            options={"com.docker.network.driver.overlay.vxlanid_list": "4242"},
        )
        subprocess.run(
            ["ip", "link", "add", "vxother", "type", "vxlan", "id", "4242", "dstport", "4789"],
            check=True,
        )
        kernel = snapshot()
        with pytest.raises(KernelError, match="the VXLAN device 'vxother' has that VNI"):
            network.create_endpoint("e1")
        assert snapshot() == kernel


@pytest.mark.parametrize("how", ["driver_config", "environment"])
def test_the_configured_vxlan_port_is_the_devices_udp_port(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _underlay_here(VTEP)
    config = {}
    if how == "driver_config":
        config = {"overlay": {"vxlan_port": 4790}}
    else:
        monkeypatch.setenv("LIBNET_VXLAN_PORT", "4790")
    with libnet.Controller(
        global_store=MemoryStore(), advertise_addr=VTEP, driver_config=config
    ) as c:
        network = c.new_network("overlay", "ov1", ipam=IPAM)
        network.create_endpoint("e1")
        shown = subprocess.run(
            ["ip", "-d", "-j", "link", "show", "type", "vxlan"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        ports = [link["linkinfo"]["info_data"]["port"] for link in json.loads(shown)]
        assert ports == [4790]
        network.delete(endpoints=True)
