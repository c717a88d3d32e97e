"""The driver contract: Capability, InterfaceInfo, JoinInfo, StaticRoute and Driver defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

import libnet
from libnet.driverapi import (
    REQUIRED_METHODS,
    Capability,
    Driver,
    InterfaceInfo,
    JoinInfo,
    RouteType,
    Scope,
    StaticRoute,
    missing_methods,
)
from libnet.errors import UnsupportedOperationError

# Capability


@pytest.mark.parametrize("scope", [Scope.LOCAL, Scope.GLOBAL])
def test_capability_connectivity_scope_defaults_to_data_scope(scope: Scope) -> None:
    assert Capability(scope).connectivity_scope is scope


def test_capability_keeps_an_explicit_connectivity_scope() -> None:
    cap = Capability(Scope.LOCAL, Scope.GLOBAL)
    assert (cap.data_scope, cap.connectivity_scope) == (Scope.LOCAL, Scope.GLOBAL)


def test_capability_accepts_scope_names_as_strings() -> None:
    cap = Capability("global", "local")  # type: ignore[arg-type]
    assert (cap.data_scope, cap.connectivity_scope) == (Scope.GLOBAL, Scope.LOCAL)


@pytest.mark.parametrize("bad", ["", "host", "LOCAL", None, 1])
def test_capability_rejects_a_bad_data_scope(bad: Any) -> None:
    with pytest.raises(ValueError, match="data_scope must be 'local' or 'global'"):
        Capability(bad)


@pytest.mark.parametrize("bad", ["", "swarm", 0])
def test_capability_rejects_a_bad_connectivity_scope(bad: Any) -> None:
    with pytest.raises(ValueError, match="connectivity_scope must be 'local' or 'global'"):
        Capability(Scope.LOCAL, bad)


def test_capability_to_dict_gives_plain_strings() -> None:
    assert Capability(Scope.GLOBAL).to_dict() == {
        "data_scope": "global",
        "connectivity_scope": "global",
    }


# InterfaceInfo


def test_interface_info_holds_what_the_controller_set() -> None:
    iface = InterfaceInfo("02:42:AC:11:00:02", "172.17.0.2/16", "fd00::2/64")
    assert iface.to_dict() == {
        "mac_address": "02:42:ac:11:00:02",
        "address": "172.17.0.2/16",
        "address_ipv6": "fd00::2/64",
    }
    assert iface.set_by_driver == frozenset()


def test_driver_may_set_an_empty_mac_address_which_is_normalised() -> None:
    iface = InterfaceInfo()
    iface.set_mac_address("02-42-AC-11-00-09")
    assert iface.mac_address == "02:42:ac:11:00:09"


def test_driver_may_set_empty_ipv4_and_ipv6_addresses() -> None:
    iface = InterfaceInfo()
    iface.set_ip_address("10.1.0.5/24")
    iface.set_ip_address("fd00:1::5/64")
    assert (iface.address, iface.address_ipv6) == ("10.1.0.5/24", "fd00:1::5/64")


def test_set_by_driver_names_only_the_fields_the_driver_filled() -> None:
    iface = InterfaceInfo(address="10.1.0.5/24")
    iface.set_mac_address("02:42:ac:11:00:09")
    assert iface.set_by_driver == {"mac_address"}


@pytest.mark.parametrize(
    ("preset", "setter", "value"),
    [
        ({"mac_address": "02:42:ac:11:00:02"}, "set_mac_address", "02:42:ac:11:00:03"),
        ({"address": "10.0.0.2/24"}, "set_ip_address", "10.0.0.3/24"),
        ({"address_ipv6": "fd00::2/64"}, "set_ip_address", "fd00::3/64"),
    ],
    ids=["mac", "ipv4", "ipv6"],
)
def test_driver_cannot_overwrite_a_field_the_controller_set(
    preset: dict[str, str], setter: str, value: str
) -> None:
    iface = InterfaceInfo(**preset)
    with pytest.raises(ValueError, match="already has"):
        getattr(iface, setter)(value)
    assert {k: v for k, v in iface.to_dict().items() if v} == preset
    assert iface.set_by_driver == frozenset()


@pytest.mark.parametrize(
    ("setter", "first", "second"),
    [
        ("set_mac_address", "02:42:ac:11:00:02", "02:42:ac:11:00:03"),
        ("set_ip_address", "10.0.0.2/24", "10.0.0.3/24"),
        ("set_ip_address", "fd00::2/64", "fd00::3/64"),
    ],
    ids=["mac", "ipv4", "ipv6"],
)
def test_driver_cannot_overwrite_a_field_it_set_itself(
    setter: str, first: str, second: str
) -> None:
    iface = InterfaceInfo()
    getattr(iface, setter)(first)
    with pytest.raises(ValueError, match="already has"):
        getattr(iface, setter)(second)
    assert first in iface.to_dict().values()


def test_setting_an_ipv4_address_leaves_an_empty_ipv6_address_settable() -> None:
    iface = InterfaceInfo(address="10.0.0.2/24")
    iface.set_ip_address("fd00::2/64")
    assert iface.address_ipv6 == "fd00::2/64"


@pytest.mark.parametrize("bad", ["10.0.0.2", "fd00::2"])
def test_interface_addresses_need_a_prefix_length(bad: str) -> None:
    with pytest.raises(ValueError, match="needs a prefix length"):
        InterfaceInfo().set_ip_address(bad)


@pytest.mark.parametrize("kwargs", [{"address": "fd00::2/64"}, {"address_ipv6": "10.0.0.2/24"}])
def test_interface_addresses_must_be_of_their_family(kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="is not an IPv"):
        InterfaceInfo(**kwargs)


@pytest.mark.parametrize("bad", ["02:42:ac:11:00", "zz:42:ac:11:00:02", "0242ac110002"])
def test_interface_rejects_a_malformed_mac_address(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a MAC address"):
        InterfaceInfo().set_mac_address(bad)


# JoinInfo and StaticRoute


def test_join_info_accepts_gateways_of_the_right_family() -> None:
    jinfo = JoinInfo()
    jinfo.set_gateway("10.0.0.1")
    jinfo.set_gateway_ipv6("fd00::1")
    assert (jinfo.gateway, jinfo.gateway_ipv6) == ("10.0.0.1", "fd00::1")


def test_ipv4_gateway_must_be_an_ipv4_address() -> None:
    with pytest.raises(ValueError, match="not an IPv4 address"):
        JoinInfo().set_gateway("fd00::1")


def test_ipv6_gateway_must_be_an_ipv6_address() -> None:
    with pytest.raises(ValueError, match="not an IPv6 address"):
        JoinInfo().set_gateway_ipv6("10.0.0.1")


def test_gateway_is_a_bare_address_without_prefix_length() -> None:
    with pytest.raises(ValueError):
        JoinInfo().set_gateway("10.0.0.1/24")


def test_static_routes_are_kept_in_order_with_normalised_destinations() -> None:
    jinfo = JoinInfo()
    jinfo.add_static_route("10.9.8.7/16", RouteType.NEXT_HOP, "10.0.0.1")
    jinfo.add_static_route("fd00:9::/64", RouteType.CONNECTED)
    assert jinfo.static_routes == (
        StaticRoute("10.9.0.0/16", RouteType.NEXT_HOP, "10.0.0.1"),
        StaticRoute("fd00:9::/64", RouteType.CONNECTED),
    )


def test_next_hop_route_needs_a_next_hop() -> None:
    with pytest.raises(ValueError, match="needs a next hop"):
        JoinInfo().add_static_route("10.9.0.0/16", RouteType.NEXT_HOP)


def test_next_hop_must_be_of_the_destination_family() -> None:
    with pytest.raises(ValueError, match="of another family"):
        JoinInfo().add_static_route("10.9.0.0/16", RouteType.NEXT_HOP, "fd00::1")


def test_connected_route_cannot_have_a_next_hop() -> None:
    with pytest.raises(ValueError, match="cannot have a next hop"):
        JoinInfo().add_static_route("10.9.0.0/16", RouteType.CONNECTED, "10.0.0.1")


@pytest.mark.parametrize("bad", ["10.9.0.0/33", "not-a-network"])
def test_static_route_destination_must_be_a_network(bad: str) -> None:
    with pytest.raises(ValueError):
        JoinInfo().add_static_route(bad, RouteType.CONNECTED)


def test_rejected_static_route_is_not_added() -> None:
    jinfo = JoinInfo()
    with pytest.raises(ValueError):
        jinfo.add_static_route("10.9.0.0/16", RouteType.NEXT_HOP)
    assert jinfo.static_routes == ()


def test_route_type_accepts_the_wire_integers() -> None:
    jinfo = JoinInfo()
    jinfo.add_static_route("10.9.0.0/16", 1)
    assert jinfo.static_routes[0].route_type is RouteType.CONNECTED


@pytest.mark.parametrize(("src", "prefix"), [("", "eth"), ("veth0", ""), (None, "eth")])
def test_set_names_needs_a_source_name_and_a_prefix(src: Any, prefix: str) -> None:
    with pytest.raises(ValueError, match="needs a non-empty"):
        JoinInfo().set_names(src, prefix)


def test_dst_name_longer_than_an_interface_name_is_refused() -> None:
    with pytest.raises(ValueError, match="1-15 characters"):
        JoinInfo().set_names("veth0", "eth", "a" * 16)


def test_join_info_to_dict_reports_everything_the_driver_set() -> None:
    jinfo = JoinInfo()
    jinfo.set_names("veth0", "eth", "eth7")
    jinfo.set_gateway("10.0.0.1")
    jinfo.add_static_route("10.9.0.0/16", RouteType.CONNECTED)
    jinfo.disable_gateway_service()
    assert jinfo.to_dict() == {
        "src_name": "veth0",
        "dst_prefix": "eth",
        "dst_name": "eth7",
        "gateway": "10.0.0.1",
        "gateway_ipv6": None,
        "static_routes": [{"destination": "10.9.0.0/16", "route_type": 1, "next_hop": None}],
        "disable_gateway_service": True,
    }


# Driver


class _Creating(Driver):
    """A driver that only implements the two create methods, recording them."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def create_network(
        self, nid: str, options: Mapping[str, Any], ipv4_data: list[Any], ipv6_data: list[Any]
    ) -> None:
        self.calls.append(("create_network", nid, options, ipv4_data, ipv6_data))

    def create_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        self.calls.append(("create_endpoint", nid, eid, iface, options))


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("allocate_network", ("n1", {}, [], [])),
        ("free_network", ("n1",)),
    ],
)
def test_network_allocation_is_unsupported_by_default(method: str, args: tuple[Any, ...]) -> None:
    with pytest.raises(UnsupportedOperationError, match=method):
        getattr(Driver(), method)(*args)


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("program_external_connectivity", ("n1", "e1", {})),
        ("revoke_external_connectivity", ("n1", "e1")),
        ("discover_new", (1, {"node": "10.0.0.9"})),
        ("discover_delete", (1, {"node": "10.0.0.9"})),
    ],
)
def test_connectivity_and_discovery_events_are_accepted_and_ignored_by_default(
    method: str, args: tuple[Any, ...]
) -> None:
    assert getattr(Driver(), method)(*args) is None


def test_restore_network_calls_create_network_by_default() -> None:
    driver = _Creating()
    driver.restore_network("n1", {"k": "v"}, [], [])
    assert driver.calls == [("create_network", "n1", {"k": "v"}, [], [])]


def test_restore_endpoint_calls_create_endpoint_by_default() -> None:
    driver = _Creating()
    iface = InterfaceInfo()
    driver.restore_endpoint("n1", "e1", iface, {"k": "v"})
    assert driver.calls == [("create_endpoint", "n1", "e1", iface, {"k": "v"})]


@pytest.mark.parametrize("method", REQUIRED_METHODS)
def test_required_methods_of_the_base_class_raise_not_implemented(method: str) -> None:
    args = {
        "create_network": ("n1", {}, [], []),
        "delete_network": ("n1",),
        "create_endpoint": ("n1", "e1", InterfaceInfo(), {}),
        "delete_endpoint": ("n1", "e1"),
        "endpoint_oper_info": ("n1", "e1"),
        "join": ("n1", "e1", None, JoinInfo(), {}),
        "leave": ("n1", "e1"),
    }[method]
    with pytest.raises(NotImplementedError, match=method):
        getattr(Driver(), method)(*args)


def test_missing_methods_lists_the_required_methods_not_overridden_in_contract_order() -> None:
    assert missing_methods(_Creating()) == [
        "delete_network",
        "delete_endpoint",
        "endpoint_oper_info",
        "join",
        "leave",
    ]


def test_missing_methods_of_a_plain_object_lists_absent_or_uncallable_attributes() -> None:
    class Duck:
        create_network = delete_network = create_endpoint = delete_endpoint = print
        endpoint_oper_info = join = print
        leave = "not callable"

    assert missing_methods(Duck()) == ["leave"]


def test_driver_and_friends_are_public_names_of_libnet() -> None:
    for name in ("Driver", "Capability", "Scope", "InterfaceInfo", "JoinInfo", "hookimpl"):
        assert hasattr(libnet, name), name


def test_setting_an_interface_field_to_the_value_it_holds_is_no_error() -> None:
    iface = InterfaceInfo(
        mac_address="02:42:0a:00:00:02", address="10.0.0.2/24", address_ipv6="fd00::2/64"
    )
    iface.set_mac_address("02:42:0A:00:00:02")
    iface.set_ip_address("10.0.0.2/24")
    iface.set_ip_address("fd00:0::2/64")
    assert iface.set_by_driver == frozenset()
    for setter, other in (
        (iface.set_mac_address, "02:42:0a:00:00:03"),
        (iface.set_ip_address, "10.0.0.3/24"),
        (iface.set_ip_address, "10.0.0.2/25"),
        (iface.set_ip_address, "fd00::3/64"),
    ):
        with pytest.raises(ValueError, match="already has"):
            setter(other)
