"""The example macvlan plugin's driver uses the same sandbox layer as the bridge driver.

The plugin is imported from its source tree (``example_plugins/libnet-macvlan/src``) when it
is not installed, and registered as an application driver: the OS layer does the rest.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

import libnet
from libnet.osl import Namespace, rtnl

from ._kernel import link_names, reaches

SRC = Path(__file__).resolve().parents[2] / "example_plugins" / "libnet-macvlan" / "src"
N1 = {"config": [{"subnet": "10.5.0.0/24"}]}


def macvlan_driver() -> Any:
    try:
        module = importlib.import_module("libnet_macvlan")
    except ImportError:
        sys.path.insert(0, str(SRC))
        module = importlib.import_module("libnet_macvlan")
    return module.MacvlanDriver()


def parent() -> str:
    """A parent interface: one end of a veth pair, up (its peer up too)."""
    with rtnl.rtnl() as ipr:
        ipr.link("add", ifname="lnparent0", kind="veth", peer="lnparent0p")
        for name in ("lnparent0", "lnparent0p"):
            ipr.link("set", index=ipr.link_lookup(ifname=name)[0], state="up")
        try:
            ipr.link(
                "add",
                ifname="lnprobe0",
                kind="macvlan",
                link=ipr.link_lookup(ifname="lnparent0")[0],
            )
        except Exception as exc:
            pytest.skip(f"this kernel cannot create macvlan links: {exc}")
        ipr.link("del", ifname="lnprobe0")
    return "lnparent0"


def test_macvlan_endpoint_joins_a_created_namespace_as_eth0() -> None:
    with libnet.Controller(plugins="off") as c:
        c.register_driver("macvlan", macvlan_driver(), libnet.Capability(libnet.Scope.LOCAL))
        network = c.new_network("macvlan", "lan", options={"parent": parent()}, ipam=N1)
        one, two = network.create_endpoint("one"), network.create_endpoint("two")
        box1, box2 = c.new_sandbox("c1", create=True), c.new_sandbox("c2", create=True)
        one.join(box1)
        two.join(box2)
        assert box1.key is not None and box2.key is not None

        eth0 = Namespace(box1.key).interface_state("eth0")
        assert eth0 is not None
        assert eth0["up"] and one.info()["address"] in eth0["addresses"]
        assert eth0["mac_address"] == one.info()["mac_address"]
        assert Namespace(box1.key).interfaces() == ["eth0", "lo"]
        # macvlan links of one parent in bridge mode reach each other
        assert reaches(box1.key, str(two.info()["address"]).split("/")[0])

        one.leave(box1)
        assert Namespace(box1.key).interfaces() == ["lo"]
        assert one.driver_info()["present"] is True  # back in the driver's namespace
        box1.delete()
        box2.delete()  # two leaves with it
        one.delete()
        two.delete()
        network.delete()
    assert link_names() == ["lnparent0", "lnparent0p", "lo"]
