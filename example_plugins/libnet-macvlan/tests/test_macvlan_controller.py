"""The macvlan driver as a host application meets it: through an installed entry point."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyroute2", reason="pyroute2 is not installed")

import libnet
from libnet.errors import DriverError, InvalidOptionError

from libnet_macvlan import link_name


@pytest.fixture(scope="module", autouse=True)
def _installed() -> None:
    if not entry_points(group="libnet.drivers", name="macvlan"):
        pytest.fail(
            "libnet-macvlan is not installed, so no controller can find it: "
            "pip install ./example_plugins/libnet-macvlan first"
        )


@pytest.fixture
def controller(netns: str) -> Iterator[libnet.Controller]:
    """A controller whose macvlan driver works in the test's namespace."""
    with libnet.Controller(driver_config={"macvlan": {"netns": netns}}) as c:
        yield c


def find(kernel: Any, name: str) -> Any:
    links = kernel.get_links(ifname=name)
    return links[0] if links else None


def test_macvlan_is_listed_as_an_installed_driver() -> None:
    with libnet.Controller(plugins="eager") as c:
        (row,) = [r for r in c.drivers() if r.name == "macvlan"]
    assert (row.source, row.status, row.distribution) == ("entrypoint", "ok", "libnet-macvlan")


def test_network_without_parent_fails_and_is_not_recorded() -> None:
    with libnet.Controller() as c:
        with pytest.raises(DriverError, match=r"needs option parent=<host interface>") as caught:
            c.new_network("macvlan", "noparent")
        assert isinstance(caught.value.__cause__, InvalidOptionError)
        assert c.networks() == []


def test_network_on_a_missing_parent_fails_and_is_not_recorded(
    controller: libnet.Controller,
) -> None:
    with pytest.raises(DriverError, match="parent interface 'nosuch0' does not exist"):
        controller.new_network("macvlan", "ghost", options={"parent": "nosuch0"})
    assert controller.networks() == []


def test_full_lifecycle_programs_the_kernel(
    controller: libnet.Controller, parent: str, kernel: Any
) -> None:
    network = controller.new_network("macvlan", "lan", options={"parent": parent})
    endpoint = network.create_endpoint("web")
    name = link_name(endpoint.id)
    mv = find(kernel, name)
    assert mv.get("address") == endpoint.info()["mac_address"]
    assert mv.get("link") == kernel.link_lookup(ifname=parent)[0]

    sandbox = controller.new_sandbox("container-1")
    endpoint.join(sandbox)
    assert (endpoint.info()["src_name"], endpoint.info()["dst_prefix"]) == (name, "eth")
    endpoint.leave(sandbox)
    assert find(kernel, name) is not None

    endpoint.delete()
    assert find(kernel, name) is None
    network.delete()
    assert controller.networks() == []


def test_driver_info_reports_the_kernel_view(
    controller: libnet.Controller, parent: str, kernel: Any
) -> None:
    network = controller.new_network("macvlan", "lan", options={"parent": parent, "mode": "vepa"})
    endpoint = network.create_endpoint("web")
    info = endpoint.driver_info()
    assert info["ifindex"] == find(kernel, link_name(endpoint.id))["index"]
    assert (info["parent"], info["mode"], info["mac_address"]) == (
        parent,
        "vepa",
        endpoint.info()["mac_address"],
    )


def test_gateway_option_becomes_the_sandbox_gateway(
    controller: libnet.Controller, parent: str
) -> None:
    network = controller.new_network(
        "macvlan", "lan", options={"parent": parent, "gateway": "192.0.2.1"}
    )
    endpoint = network.create_endpoint("web")
    endpoint.join(controller.new_sandbox("container-1"))
    assert endpoint.info()["gateway"] == "192.0.2.1"


def test_failed_endpoint_creation_leaves_no_link_and_no_endpoint(
    controller: libnet.Controller, parent: str, kernel: Any
) -> None:
    network = controller.new_network("macvlan", "lan", options={"parent": parent})
    kernel.link("del", ifname=parent)
    with pytest.raises(DriverError, match=f"parent interface '{parent}' does not exist"):
        network.create_endpoint("web")
    assert network.endpoints() == []
    assert [link.get("ifname") for link in kernel.get_links()] == ["lo"]


def test_two_endpoints_get_two_links_on_the_same_parent(
    controller: libnet.Controller, parent: str, kernel: Any
) -> None:
    network = controller.new_network("macvlan", "lan", options={"parent": parent})
    one, two = network.create_endpoint("one"), network.create_endpoint("two")
    index = kernel.link_lookup(ifname=parent)[0]
    assert find(kernel, link_name(one.id)).get("link") == index
    assert find(kernel, link_name(two.id)).get("link") == index
    assert one.info()["mac_address"] != two.info()["mac_address"]


def test_a_restarted_controller_adopts_the_links_it_left(
    netns: str, parent: str, kernel: Any, tmp_path: Path
) -> None:
    config = {"macvlan": {"netns": netns}}
    with libnet.Controller(state_dir=tmp_path, driver_config=config) as before:
        endpoint = before.new_network("macvlan", "lan", options={"parent": parent}).create_endpoint(
            "web"
        )
        name, index = link_name(endpoint.id), find(kernel, link_name(endpoint.id))["index"]
    with libnet.Controller(state_dir=tmp_path, driver_config=config) as after:
        network = after.network_by_name("lan")
        endpoint = network.endpoint_by_name("web")
        info = endpoint.driver_info()
        assert (info["restored"], info["present"], info["ifindex"]) == (True, True, index)
        endpoint.delete()
        assert find(kernel, name) is None
        network.delete()
