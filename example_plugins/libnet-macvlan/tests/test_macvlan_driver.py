"""The macvlan driver called directly, against a throwaway network namespace."""

from __future__ import annotations

import os
import re
import secrets
from typing import Any

import pytest

pytest.importorskip("pyroute2", reason="pyroute2 is not installed")

import libnet
import libnet.labels
from libnet.errors import (
    ActiveEndpointsError,
    DriverError,
    EndpointNotFoundError,
    ForbiddenError,
    InvalidOptionError,
    NetworkNotFoundError,
)

from libnet_macvlan import MacvlanDriver, link_name

NID = "n" * 64
EID = "e0123456789abcdef" + "0" * 47
LINK = link_name(EID)


def net_options(**generic: Any) -> dict[str, Any]:
    """The options mapping a controller hands to create_network."""
    return {libnet.labels.GENERIC: generic, libnet.labels.NETWORK_LABELS: {}}


def find(kernel: Any, name: str) -> Any:
    """The kernel's record of link ``name``, or None."""
    links = kernel.get_links(ifname=name)
    return links[0] if links else None


@pytest.fixture
def driver(netns: str, parent: str) -> MacvlanDriver:
    d = MacvlanDriver({"netns": netns})
    d.create_network(NID, net_options(parent=parent, gateway="192.0.2.1"), [], [])
    return d


def add_endpoint(
    d: MacvlanDriver, eid: str = EID, options: dict[str, Any] | None = None, **iface: str
) -> libnet.InterfaceInfo:
    info = libnet.InterfaceInfo(**iface)
    d.create_endpoint(NID, eid, info, options or {})
    return info


def test_link_name_fits_in_an_interface_name() -> None:
    assert link_name(EID) == "mve0123456789"
    assert len(link_name(EID)) <= 15


def test_missing_parent_option_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="needs option parent=<host interface>"):
        MacvlanDriver().create_network(NID, net_options(), [], [])


def test_unknown_network_option_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="'parnet'"):
        MacvlanDriver().create_network(NID, net_options(parnet="eth0"), [], [])


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="mode 'bridged' is not known"):
        MacvlanDriver().create_network(NID, net_options(parent="eth0", mode="bridged"), [], [])


@pytest.mark.parametrize(
    ("option", "value"), [("gateway", "fd00::1"), ("gateway", "nope"), ("gateway_ipv6", "10.0.0.1")]
)
def test_gateway_of_the_wrong_family_is_refused(option: str, value: str) -> None:
    with pytest.raises(InvalidOptionError, match=option):
        MacvlanDriver().create_network(NID, net_options(parent="eth0", **{option: value}), [], [])


def test_unknown_config_key_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="'namespace'"):
        MacvlanDriver({"namespace": "x"})


def test_missing_netns_is_reported_and_never_created() -> None:
    name = f"libnet-mv-absent-{secrets.token_hex(4)}"
    d = MacvlanDriver({"netns": name})
    with pytest.raises(InvalidOptionError, match=f"namespace '{name}' does not exist"):
        d.create_network(NID, net_options(parent="eth0"), [], [])
    assert not os.path.exists(f"/run/netns/{name}")


def test_parent_that_does_not_exist_is_refused(netns: str) -> None:
    d = MacvlanDriver({"netns": netns})
    with pytest.raises(InvalidOptionError, match="parent interface 'nosuch0' does not exist"):
        d.create_network(NID, net_options(parent="nosuch0"), [], [])
    with pytest.raises(NetworkNotFoundError):
        d.delete_network(NID)


def test_second_network_on_the_same_parent_is_refused(driver: MacvlanDriver, parent: str) -> None:
    with pytest.raises(ForbiddenError, match=f"already uses parent interface '{parent}'"):
        driver.create_network("m" * 64, net_options(parent=parent), [], [])


def test_create_endpoint_creates_a_macvlan_link_on_the_parent(
    driver: MacvlanDriver, kernel: Any, parent: str
) -> None:
    add_endpoint(driver)
    mv = find(kernel, LINK)
    assert mv.get(("linkinfo", "kind")) == "macvlan"
    assert mv.get("link") == kernel.link_lookup(ifname=parent)[0]
    assert mv.get(("linkinfo", "data", "macvlan_mode")) == "bridge"


def test_create_endpoint_gives_the_interface_the_kernel_mac(
    driver: MacvlanDriver, kernel: Any
) -> None:
    info = add_endpoint(driver)
    assert info.mac_address == find(kernel, LINK).get("address")
    assert info.set_by_driver == {"mac_address"}


def test_create_endpoint_uses_the_mac_already_set(driver: MacvlanDriver, kernel: Any) -> None:
    info = add_endpoint(driver, mac_address="02:42:0a:00:00:09")
    assert find(kernel, LINK).get("address") == "02:42:0a:00:00:09"
    assert info.set_by_driver == frozenset()


def test_mac_address_endpoint_option_is_used(driver: MacvlanDriver, kernel: Any) -> None:
    info = add_endpoint(driver, options={libnet.labels.MAC_ADDRESS: "02:42:0A:00:00:0A"})
    assert info.mac_address == "02:42:0a:00:00:0a"
    assert find(kernel, LINK).get("address") == "02:42:0a:00:00:0a"


def test_bad_mac_address_endpoint_option_is_refused_and_creates_no_link(
    driver: MacvlanDriver, kernel: Any
) -> None:
    with pytest.raises(InvalidOptionError, match=re.escape(libnet.labels.MAC_ADDRESS)):
        add_endpoint(driver, options={libnet.labels.MAC_ADDRESS: "not-a-mac"})
    assert find(kernel, LINK) is None


def test_mode_option_reaches_the_kernel(netns: str, parent: str, kernel: Any) -> None:
    d = MacvlanDriver({"netns": netns})
    d.create_network(NID, net_options(parent=parent, mode="private"), [], [])
    add_endpoint(d)
    assert find(kernel, LINK).get(("linkinfo", "data", "macvlan_mode")) == "private"


def test_stale_link_of_the_same_name_fails_endpoint_creation_clearly(
    driver: MacvlanDriver, kernel: Any, parent: str
) -> None:
    kernel.link("add", ifname=LINK, kind="veth", peer="stalepeer")
    with pytest.raises(DriverError, match="a stale link of an earlier endpoint"):
        add_endpoint(driver)
    with pytest.raises(EndpointNotFoundError):
        driver.endpoint_oper_info(NID, EID)


def test_delete_endpoint_removes_the_link(driver: MacvlanDriver, kernel: Any) -> None:
    add_endpoint(driver)
    driver.delete_endpoint(NID, EID)
    assert find(kernel, LINK) is None
    with pytest.raises(EndpointNotFoundError):
        driver.endpoint_oper_info(NID, EID)


def test_delete_endpoint_tolerates_a_link_already_gone(driver: MacvlanDriver, kernel: Any) -> None:
    add_endpoint(driver)
    kernel.link("del", ifname=LINK)
    driver.delete_endpoint(NID, EID)
    with pytest.raises(EndpointNotFoundError):
        driver.endpoint_oper_info(NID, EID)


def test_delete_network_with_endpoints_is_refused(driver: MacvlanDriver) -> None:
    add_endpoint(driver)
    with pytest.raises(ActiveEndpointsError, match="delete them first"):
        driver.delete_network(NID)


def test_oper_info_reads_the_link_back_from_the_kernel(
    driver: MacvlanDriver, kernel: Any, parent: str
) -> None:
    info = add_endpoint(driver)
    oper = driver.endpoint_oper_info(NID, EID)
    assert oper["present"] is True
    assert oper["ifindex"] == find(kernel, LINK)["index"]
    assert (oper["link"], oper["mac_address"], oper["parent"], oper["mode"]) == (
        LINK,
        info.mac_address,
        parent,
        "bridge",
    )


def test_oper_info_says_when_the_link_is_not_in_the_namespace(
    driver: MacvlanDriver, kernel: Any, parent: str
) -> None:
    add_endpoint(driver)
    kernel.link("del", ifname=LINK)
    oper = driver.endpoint_oper_info(NID, EID)
    assert (oper["present"], oper["ifindex"], oper["parent"]) == (False, None, parent)


def test_join_names_the_link_and_sets_the_gateway(driver: MacvlanDriver) -> None:
    add_endpoint(driver)
    jinfo = libnet.JoinInfo()
    driver.join(NID, EID, "/run/netns/c1", jinfo, {})
    assert (jinfo.src_name, jinfo.dst_prefix, jinfo.gateway) == (LINK, "eth", "192.0.2.1")
    assert driver.endpoint_oper_info(NID, EID)["sandbox_key"] == "/run/netns/c1"


def test_gateway_comes_from_the_address_pool_when_no_option_is_given(
    netns: str, parent: str
) -> None:
    d = MacvlanDriver({"netns": netns})
    pool = libnet.IPAMData("default", "10.7.0.0/16", "10.7.0.1/16")
    d.create_network(NID, net_options(parent=parent), [pool], [])
    add_endpoint(d)
    jinfo = libnet.JoinInfo()
    d.join(NID, EID, None, jinfo, {})
    assert jinfo.gateway == "10.7.0.1"


def test_leave_leaves_the_link_alone(driver: MacvlanDriver, kernel: Any) -> None:
    add_endpoint(driver)
    driver.join(NID, EID, None, libnet.JoinInfo(), {})
    driver.leave(NID, EID)
    assert find(kernel, LINK) is not None
    assert driver.endpoint_oper_info(NID, EID)["joined"] is False


def test_restore_endpoint_adopts_the_link_left_by_an_earlier_driver(
    driver: MacvlanDriver, netns: str, parent: str, kernel: Any
) -> None:
    mac = add_endpoint(driver).mac_address
    index = find(kernel, LINK)["index"]
    fresh = MacvlanDriver({"netns": netns})
    fresh.restore_network(NID, net_options(parent=parent), [], [])
    info = libnet.InterfaceInfo()
    fresh.restore_endpoint(NID, EID, info, {})
    assert info.mac_address == mac
    assert find(kernel, LINK)["index"] == index
    assert fresh.endpoint_oper_info(NID, EID)["restored"] is True


def test_restore_endpoint_recreates_a_missing_link(netns: str, parent: str, kernel: Any) -> None:
    d = MacvlanDriver({"netns": netns})
    d.restore_network(NID, net_options(parent=parent), [], [])
    d.restore_endpoint(NID, EID, libnet.InterfaceInfo(mac_address="02:42:00:00:00:05"), {})
    assert find(kernel, LINK).get("address") == "02:42:00:00:00:05"


@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.create_endpoint("f" * 64, EID, libnet.InterfaceInfo(), {}),
        lambda d: d.delete_endpoint("f" * 64, EID),
        lambda d: d.join("f" * 64, EID, None, libnet.JoinInfo(), {}),
        lambda d: d.delete_network("f" * 64),
    ],
)
def test_unknown_network_raises_network_not_found(call: Any) -> None:
    with pytest.raises(NetworkNotFoundError, match="has no network 'ffffffffffff'"):
        call(MacvlanDriver())


def test_unknown_endpoint_raises_endpoint_not_found(driver: MacvlanDriver) -> None:
    with pytest.raises(EndpointNotFoundError, match="has no endpoint 'ffffffffffff'"):
        driver.leave(NID, "f" * 64)


def test_restore_network_accepts_a_parent_that_is_gone_so_it_can_be_deleted(
    netns: str,
) -> None:
    d = MacvlanDriver({"netns": netns})
    d.restore_network(NID, net_options(parent="gone0"), [], [])
    d.delete_network(NID)


def test_restore_endpoint_without_its_parent_still_lets_it_be_deleted(
    netns: str, kernel: Any
) -> None:
    d = MacvlanDriver({"netns": netns})
    d.restore_network(NID, net_options(parent="gone0"), [], [])
    d.restore_endpoint(NID, EID, libnet.InterfaceInfo(), {})
    assert d.endpoint_oper_info(NID, EID)["present"] is False
    d.delete_endpoint(NID, EID)
    d.delete_network(NID)
