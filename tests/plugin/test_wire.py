"""The JSON codecs both sides share: what Docker's Go code sends and accepts."""

from __future__ import annotations

from typing import Any

import pytest

import libnet
from libnet import labels
from libnet.driverapi import InterfaceInfo, IPAMData, JoinInfo
from libnet.plugin import wire


def test_keys_match_case_insensitively_and_an_exact_match_wins() -> None:
    f = wire.Fields({"networkid": "a", "NetworkID": "b", "OPTIONS": {"x": 1}}, "req")
    assert f.text("NetworkID") == "b"
    assert f.mapping("Options") == {"x": 1}
    assert wire.NetworkRequest.from_json({"networkid": "n1"}).network_id == "n1"


def test_unknown_keys_are_ignored_and_null_reads_as_empty() -> None:
    req = wire.CreateEndpointRequest.from_json(
        {"NetworkID": "n", "EndpointID": "e", "Interface": None, "Options": None, "Extra": [1]}
    )
    assert req.interface == wire.WireInterface()
    assert req.options == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"NetworkID": 5}, "NetworkID must be a string"),
        ({"NetworkID": ""}, "NetworkID must be a non-empty ID"),
        ({"NetworkID": "a/b"}, "non-empty ID"),
        ([1, 2], "must be a JSON object"),
        ({"NetworkID": "n", "Options": []}, "Options must be an object"),
        ({"NetworkID": "n", "IPv4Data": {}}, "IPv4Data must be an array"),
        ({"NetworkID": "n", "IPv4Data": [{"Pool": "nonsense"}]}, "is not a CIDR"),
        ({"NetworkID": "n", "Options": {labels.ENABLE_IPV6: 3}}, "must be true or false"),
    ],
)
def test_wrong_types_raise_wire_error(body: Any, message: str) -> None:
    with pytest.raises(wire.WireError, match=message):
        wire.CreateNetworkRequest.from_json(body)


def test_create_network_round_trips_with_ipam_data_and_options() -> None:
    v4 = [IPAMData("LocalDefault", "10.1.0.0/16", "10.1.0.1/16", {"dns": "10.1.0.2/16"})]
    options = {
        labels.GENERIC: {"mtu": "1400"},
        labels.ENABLE_IPV6: False,
        labels.INTERNAL: False,
        labels.NETWORK_LABELS: {"team": "blue"},
    }
    body = wire.CreateNetworkRequest("n1", options, v4, []).to_json()
    assert body["IPv4Data"] == [
        {
            "AddressSpace": "LocalDefault",
            "Pool": "10.1.0.0/16",
            "Gateway": "10.1.0.1/16",
            "AuxAddresses": {"dns": "10.1.0.2/16"},
        }
    ]
    assert body["IPv6Data"] is None  # Go's nil slice
    assert labels.INTERNAL not in body["Options"]  # Docker sends it only when set
    assert body["Options"][labels.NETWORK_LABELS] == {"team": "blue"}
    back = wire.CreateNetworkRequest.from_json(wire.decode(wire.encode(body)))
    assert back.ipv4_data == v4
    assert back.options == options


def test_docker_network_options_get_every_well_known_key() -> None:
    req = wire.CreateNetworkRequest.from_json(
        {
            "NetworkID": "n",
            "Options": {labels.GENERIC: None, labels.ENABLE_IPV6: "true", "other": 1},
            "IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": "10.2.0.0/24", "Gateway": ""}],
        }
    )
    assert req.options == {
        labels.GENERIC: {},
        labels.ENABLE_IPV6: True,
        labels.INTERNAL: False,
        labels.NETWORK_LABELS: {},
        "other": 1,
    }
    assert req.ipv4_data[0].gateway is None


def test_interface_fields_are_empty_strings_when_unset() -> None:
    iface = InterfaceInfo(address="10.0.0.2/24")
    assert wire.WireInterface.of(iface).to_json() == {
        "Address": "10.0.0.2/24",
        "AddressIPv6": "",
        "MacAddress": "",
    }


def test_interface_reply_fills_the_empty_fields() -> None:
    iface = InterfaceInfo(address="10.0.0.2/24")
    reply = wire.CreateEndpointResponse.from_json(
        {"interface": {"Address": "10.0.0.2/24", "MacAddress": "02:42:AC:11:00:02"}}
    )
    reply.interface.apply_to(iface)  # the same address back is no conflict
    assert iface.mac_address == "02:42:ac:11:00:02"
    assert wire.CreateEndpointResponse.from_json({}).interface == wire.WireInterface()


def test_interface_reply_that_changes_what_is_set_is_a_conflict() -> None:
    iface = InterfaceInfo(address="10.0.0.2/24")
    with pytest.raises(ValueError, match="already has"):
        wire.WireInterface(address="10.0.0.3/24").apply_to(iface)


def test_join_reply_round_trips_through_join_info() -> None:
    jinfo = JoinInfo()
    jinfo.set_names("veth1", "eth", "net7")
    jinfo.set_gateway("10.0.0.1")
    jinfo.set_gateway_ipv6("fd00::1")
    jinfo.add_static_route("10.5.0.0/16", libnet.RouteType.NEXT_HOP, "10.0.0.1")
    jinfo.add_static_route("10.6.0.0/16", libnet.RouteType.CONNECTED)
    jinfo.disable_gateway_service()
    body = wire.JoinResponse.of(jinfo).to_json()
    assert body["InterfaceName"] == {"SrcName": "veth1", "DstPrefix": "eth", "DstName": "net7"}
    assert body["Gateway"] == "10.0.0.1"  # a bare address, not CIDR
    assert body["StaticRoutes"][1] == {"Destination": "10.6.0.0/16", "RouteType": 1, "NextHop": ""}
    again = JoinInfo()
    wire.JoinResponse.from_json(wire.decode(wire.encode(body))).apply_to(again)
    assert again.to_dict() == jinfo.to_dict()


def test_join_reply_without_names_sends_null() -> None:
    assert wire.JoinResponse.of(JoinInfo()).to_json()["InterfaceName"] is None
    assert wire.JoinResponse.of(JoinInfo()).to_json()["StaticRoutes"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"Gateway": "10.0.0.1/24"},
        {"Gateway": "fd00::1"},
        {"InterfaceName": {"SrcName": "veth0", "DstPrefix": ""}},
        {"StaticRoutes": [{"Destination": "10.1.0.0/16", "RouteType": 0}]},
        {"StaticRoutes": [{"Destination": "10.1.0.0/16", "RouteType": 1, "NextHop": "nowhere"}]},
    ],
)
def test_join_reply_that_cannot_be_applied_raises_value_error(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        wire.JoinResponse.from_json(body).apply_to(JoinInfo())


@pytest.mark.parametrize("route_type", [1, 7])
def test_a_connected_route_with_a_next_hop_is_accepted_and_the_hop_dropped(
    route_type: int,
) -> None:
    """As libnetwork's Join: any RouteType but 0 is connected, and its NextHop is ignored."""
    route = {"Destination": "10.1.0.0/16", "RouteType": route_type, "NextHop": "10.0.0.1"}
    jinfo = JoinInfo()
    wire.JoinResponse.from_json({"StaticRoutes": [route]}).apply_to(jinfo)
    assert [(r.destination, r.route_type, r.next_hop) for r in jinfo.static_routes] == [
        ("10.1.0.0/16", libnet.RouteType.CONNECTED, None)
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"Scope": "local"}, ("local", "local")),
        ({"Scope": "global", "ConnectivityScope": "local"}, ("global", "local")),
        ({"scope": "local", "ConnectivityScope": "", "GwAllocChecker": True}, ("local", "local")),
    ],
)
def test_capabilities_take_scope_for_an_empty_connectivity_scope(
    body: dict[str, Any], expected: tuple[str, str]
) -> None:
    cap = wire.CapabilitiesResponse.from_json(body).capability()
    assert (str(cap.data_scope), str(cap.connectivity_scope)) == expected


@pytest.mark.parametrize(
    "body", [{"Scope": "swarm"}, {}, {"Scope": "local", "ConnectivityScope": "x"}]
)
def test_capabilities_with_another_scope_are_an_error(body: dict[str, Any]) -> None:
    with pytest.raises(wire.WireError, match="expecting 'local' or 'global'"):
        wire.CapabilitiesResponse.from_json(body).capability()


def test_error_message_reads_err_and_ipam_error() -> None:
    assert wire.error_message({"Err": "boom"}) == "boom"
    assert wire.error_message({"Error": "ipam boom"}) == "ipam boom"
    assert wire.error_message({"err": ""}) is None
    assert wire.error_message(None) is None


def test_encoded_bodies_end_in_a_newline_and_accept_read_only_mappings() -> None:
    from types import MappingProxyType

    assert wire.encode({"Options": MappingProxyType({"a": 1})}) == b'{"Options":{"a":1}}\n'
    with pytest.raises(wire.WireError, match="cannot encode"):
        wire.encode({"x": object()})


def test_ipam_messages_round_trip() -> None:
    req = wire.RequestPoolRequest("LocalDefault", "10.3.0.0/16", "10.3.1.0/24", {"a": "b"}, True)
    assert wire.RequestPoolRequest.from_json(req.to_json()) == req
    reply = wire.RequestAddressResponse.from_json({"Address": "10.3.1.5/16", "Data": None})
    assert reply.address == "10.3.1.5/16"
    with pytest.raises(wire.WireError, match="address/length"):
        wire.RequestAddressResponse.from_json({"Address": "10.3.1.5"})
    with pytest.raises(wire.WireError, match="must be a string"):
        wire.RequestPoolRequest.from_json({"Options": {"a": 1}})
