"""The bridge driver touches only libnet's own kernel objects, and takes only names it can own."""

from __future__ import annotations

import subprocess

import pytest

import libnet
from libnet.drivers.bridge import netlink
from libnet.errors import InvalidOptionError
from libnet.osl import rtnl

N1 = {"config": [{"subnet": "10.1.0.0/24"}]}


def links() -> set[str]:
    with rtnl.rtnl(None) as ipr:
        return {link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}


def test_a_foreign_interface_that_took_the_bridges_name_is_left_alone() -> None:
    with libnet.Controller() as c:
        network = c.new_network("bridge", "n1", ipam=N1, options={
            "com.docker.network.bridge.name": "fb0",
        })  # fmt: skip
        subprocess.run(["ip", "link", "del", "fb0"], check=True)  # someone removes it
        foreign = ["ip", "link", "add", "fb0", "type", "veth", "peer", "name", "fb0p"]
        subprocess.run(foreign, check=True)  # and another tool takes the name
        network.delete()
        assert "fb0" in links()
        assert c.networks() == []
        with rtnl.rtnl(None) as ipr:
            index = netlink.lookup(ipr, "fb0")
            assert index is not None and netlink.alias(ipr, index) is None


@pytest.mark.parametrize(
    "name", ["adv%d", "a\x00b", "a/b", "sixteen-chars-xx", " ", "..", "a b", "é0"]
)
def test_a_bridge_name_that_is_not_an_interface_name_is_refused_and_leaves_nothing(
    name: str,
) -> None:
    before = links()
    with libnet.Controller() as c:
        options = {"com.docker.network.bridge.name": name}
        with pytest.raises(InvalidOptionError, match="is not an interface name"):
            c.new_network("bridge", "n1", ipam=N1, options=options)
        assert c.networks() == []
    assert links() == before
