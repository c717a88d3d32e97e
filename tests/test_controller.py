"""The Controller's north side: networks, endpoints, sandboxes, and what drivers receive."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from _dists import FakeDists
from _drivers import LOCAL, RecordingDriver, install_plugin

import libnet
from libnet import labels
from libnet.errors import (
    ActiveContainerError,
    ActiveEndpointsError,
    DriverError,
    EndpointExistsError,
    EndpointInSandboxError,
    EndpointNotFoundError,
    ForbiddenError,
    InvalidNameError,
    NetworkExistsError,
    NetworkNotFoundError,
    SandboxExistsError,
    UnknownDriverError,
)

HEX64 = re.compile(r"[0-9a-f]{64}")
KEY = "/proc/self/ns/net"
"""An existing network namespace path: sandbox keys must exist."""


def _pick(data: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The items of ``data`` under the keys of ``expected`` (listings may gain other fields)."""
    return {k: data.get(k, "<missing>") for k in expected}


@pytest.fixture
def c() -> Iterator[libnet.Controller]:
    with libnet.Controller(plugins="off") as controller:
        yield controller


@pytest.fixture
def driver(c: libnet.Controller) -> RecordingDriver:
    """An application driver registered as network type ``rec``."""
    d = RecordingDriver()
    c.register_driver("rec", d, LOCAL)
    return d


def _lifecycle(c: libnet.Controller, network_type: str) -> None:
    network = c.new_network(network_type, "net")
    endpoint = network.create_endpoint("ep")
    sandbox = c.new_sandbox("container-1")
    endpoint.join(sandbox)
    assert endpoint.sandbox_id == sandbox.id
    assert sandbox.endpoints() == [endpoint]
    endpoint.leave(sandbox)
    assert endpoint.sandbox_id is None
    assert sandbox.endpoints() == []
    sandbox.delete()
    endpoint.delete()
    network.delete()
    assert (c.networks(), c.sandboxes()) == ([], [])


@pytest.mark.parametrize("network_type", ["null", "host"])
def test_full_lifecycle_through_a_built_in_driver(c: libnet.Controller, network_type: str) -> None:
    _lifecycle(c, network_type)


def test_full_lifecycle_through_an_application_driver(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    _lifecycle(c, "rec")
    assert driver.methods() == [
        "create_network",
        "create_endpoint",
        "join",
        "program_external_connectivity",
        "revoke_external_connectivity",
        "leave",
        "delete_endpoint",
        "delete_network",
    ]
    assert (driver.networks, driver.endpoints, driver.joined) == ({}, {}, set())


def test_full_lifecycle_through_an_entry_point_plugin(dists: FakeDists) -> None:
    module = install_plugin(dists, "libnet-vlan", "vlan")
    with libnet.Controller() as c:
        _lifecycle(c, "vlan")
    plugin_driver = dists.module(module).DRIVERS["vlan"]
    assert plugin_driver.methods() == [
        "create_network",
        "create_endpoint",
        "join",
        "program_external_connectivity",
        "revoke_external_connectivity",
        "leave",
        "delete_endpoint",
        "delete_network",
    ]


class _Unnamed(RecordingDriver):
    """Joins without naming an interface, so libnet programs nothing in the namespace."""

    def join(self, nid: str, eid: str, sandbox_key: str | None, jinfo: Any, options: Any) -> None:
        self._call("join", nid, eid, sandbox_key, options)


def test_the_driver_gets_the_ids_and_the_sandbox_key_the_controller_reports(
    c: libnet.Controller,
) -> None:
    driver = _Unnamed()
    c.register_driver("unnamed", driver, LOCAL)
    network = c.new_network("unnamed", "net")
    endpoint = network.create_endpoint("ep")
    endpoint.join(c.new_sandbox("container-1", key=KEY))
    join = next(call for call in driver.calls if call[0] == "join")
    assert join[1:4] == (network.id, endpoint.id, KEY)


# Names and IDs


def test_network_names_are_unique_across_types(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    c.new_network("rec", "net")
    with pytest.raises(NetworkExistsError, match="'net' already exists"):
        c.new_network("null", "net")
    assert [n.type for n in c.networks()] == ["rec"]
    assert driver.methods() == ["create_network"]


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("", id="empty"),
        pytest.param("n" * 65, id="65-chars"),
        pytest.param("my net", id="space"),
        pytest.param("my/net", id="slash"),
        pytest.param("-net", id="starts-with-dash"),
        pytest.param(".net", id="starts-with-dot"),
        pytest.param("net\n", id="trailing-newline"),
        pytest.param("nét", id="non-ascii"),
        pytest.param(None, id="none"),
    ],
)
def test_invalid_network_names_are_refused(
    c: libnet.Controller, driver: RecordingDriver, name: Any
) -> None:
    with pytest.raises(InvalidNameError):
        c.new_network("rec", name)
    assert (c.networks(), driver.calls) == ([], [])


@pytest.mark.parametrize("name", ["n", "N_1.a-b", "0net", "n" * 64])
def test_valid_network_names_are_accepted(c: libnet.Controller, name: str) -> None:
    assert c.new_network("null", name).name == name


@pytest.mark.parametrize("name", ["", "e" * 65, "my ep", "_ep"])
def test_invalid_endpoint_names_are_refused(
    c: libnet.Controller, driver: RecordingDriver, name: str
) -> None:
    network = c.new_network("rec", "net")
    with pytest.raises(InvalidNameError):
        network.create_endpoint(name)
    assert network.endpoints() == []


def test_endpoint_names_are_unique_within_a_network(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    first, second = c.new_network("rec", "one"), c.new_network("rec", "two")
    first.create_endpoint("ep")
    with pytest.raises(EndpointExistsError, match="'ep' already exists on network 'one'"):
        first.create_endpoint("ep")
    second.create_endpoint("ep")
    assert [e.name for e in first.endpoints()] == ["ep"]


def test_a_container_has_at_most_one_sandbox(c: libnet.Controller) -> None:
    c.new_sandbox("container-1")
    with pytest.raises(SandboxExistsError):
        c.new_sandbox("container-1")
    assert len(c.sandboxes()) == 1


def test_ids_are_64_hex_characters_and_distinct(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    networks = [c.new_network("rec", f"net{i}") for i in range(3)]
    endpoints = [n.create_endpoint("ep") for n in networks]
    sandboxes = [c.new_sandbox(f"container-{i}") for i in range(3)]
    ids = [o.id for o in [*networks, *endpoints, *sandboxes]]
    assert all(HEX64.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_lookups_by_name_and_id(c: libnet.Controller, driver: RecordingDriver) -> None:
    network = c.new_network("rec", "net")
    endpoint = network.create_endpoint("ep")
    sandbox = c.new_sandbox("container-1")
    assert c.network_by_name("net") == network
    assert c.network_by_id(network.id) == network
    assert network.endpoint_by_name("ep") == endpoint
    assert network.endpoint_by_id(endpoint.id) == endpoint
    assert c.sandbox_by_id(sandbox.id) == sandbox


@pytest.mark.parametrize(
    ("lookup", "error"),
    [
        (lambda c, n: c.network_by_name("nope"), NetworkNotFoundError),
        (lambda c, n: c.network_by_id("0" * 64), NetworkNotFoundError),
        (lambda c, n: n.endpoint_by_name("nope"), EndpointNotFoundError),
        (lambda c, n: n.endpoint_by_id("0" * 64), EndpointNotFoundError),
    ],
    ids=["network-name", "network-id", "endpoint-name", "endpoint-id"],
)
def test_lookups_of_missing_objects_raise_not_found(
    c: libnet.Controller, lookup: Any, error: type[Exception]
) -> None:
    network = c.new_network("null", "net")
    with pytest.raises(error):
        lookup(c, network)


def test_an_unknown_network_type_creates_nothing(c: libnet.Controller) -> None:
    with pytest.raises(UnknownDriverError, match="'vlan'"):
        c.new_network("vlan", "net")
    assert c.networks() == []


# Deletion rules


def test_a_network_with_endpoints_cannot_be_deleted(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    network = c.new_network("rec", "net")
    network.create_endpoint("b")
    network.create_endpoint("a")
    with pytest.raises(ActiveEndpointsError, match=r"'net' has active endpoints \(a, b\)"):
        network.delete()
    assert c.networks() == [network]
    assert "delete_network" not in driver.methods()


def test_a_joined_endpoint_cannot_be_deleted(c: libnet.Controller, driver: RecordingDriver) -> None:
    endpoint = c.new_network("rec", "net").create_endpoint("ep")
    sandbox = c.new_sandbox("container-1")
    endpoint.join(sandbox)
    with pytest.raises(ActiveContainerError, match="leave it first or delete with force"):
        endpoint.delete()
    assert endpoint.sandbox_id == sandbox.id
    assert "delete_endpoint" not in driver.methods()


def test_deleting_a_joined_endpoint_with_force_leaves_first(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    network = c.new_network("rec", "net")
    endpoint = network.create_endpoint("ep")
    sandbox = c.new_sandbox("container-1")
    endpoint.join(sandbox)
    del driver.calls[:]
    endpoint.delete(force=True)
    assert driver.methods() == ["revoke_external_connectivity", "leave", "delete_endpoint"]
    assert (network.endpoints(), sandbox.endpoints()) == ([], [])


def test_an_endpoint_is_in_at_most_one_sandbox(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    endpoint = c.new_network("rec", "net").create_endpoint("ep")
    first, second = c.new_sandbox("container-1"), c.new_sandbox("container-2")
    endpoint.join(first)
    for sandbox in (second, first):
        with pytest.raises(EndpointInSandboxError, match="already joined"):
            endpoint.join(sandbox)
    assert (first.endpoints(), second.endpoints()) == ([endpoint], [])
    assert driver.methods().count("join") == 1


def test_leaving_a_sandbox_the_endpoint_is_not_in_is_refused(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    endpoint = c.new_network("rec", "net").create_endpoint("ep")
    first, second = c.new_sandbox("container-1"), c.new_sandbox("container-2")
    with pytest.raises(ForbiddenError, match="not joined"):
        endpoint.leave(first)
    endpoint.join(first)
    with pytest.raises(ForbiddenError, match="not joined"):
        endpoint.leave(second)
    assert endpoint.sandbox_id == first.id
    assert "leave" not in driver.methods()


def test_deleting_a_sandbox_makes_its_endpoints_leave_newest_first(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    network = c.new_network("rec", "net")
    older, newer = network.create_endpoint("older"), network.create_endpoint("newer")
    sandbox = c.new_sandbox("container-1")
    older.join(sandbox)
    newer.join(sandbox)
    del driver.calls[:]
    sandbox.delete()
    assert [(call[0], call[2]) for call in driver.calls if call[0] == "leave"] == [
        ("leave", newer.id),
        ("leave", older.id),
    ]
    assert (older.sandbox_id, newer.sandbox_id, c.sandboxes()) == (None, None, [])


# What drivers receive


def test_labels_reach_the_driver_under_the_network_labels_key(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    c.new_network("rec", "net", labels={"com.example.team": "blue"})
    assert driver.calls[0][2][labels.NETWORK_LABELS] == {"com.example.team": "blue"}


def test_options_reach_the_driver_under_the_generic_key(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    c.new_network("rec", "net", options={"mtu": "1400"}, internal=True, enable_ipv6=True)
    options = driver.calls[0][2]
    assert options == {
        labels.GENERIC: {"mtu": "1400"},
        labels.ENABLE_IPV6: True,
        labels.INTERNAL: True,
        labels.NETWORK_LABELS: {},
    }


def test_the_driver_cannot_change_the_options_it_is_given(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    c.new_network("rec", "net", options={"mtu": "1400"})
    options = driver.calls[0][2]
    assert isinstance(options, MappingProxyType)
    with pytest.raises(TypeError):
        options["extra"] = 1  # type: ignore[index]


def test_endpoint_and_join_options_reach_the_driver(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    endpoint = c.new_network("rec", "net").create_endpoint("ep", options={"vlan": 7})
    endpoint.join(c.new_sandbox("container-1"), options={labels.EXPOSED_PORTS: [80]})
    by_method = {call[0]: call for call in driver.calls}
    assert by_method["create_endpoint"][3] == {"vlan": 7}
    assert by_method["join"][4] == {labels.EXPOSED_PORTS: [80]}
    assert by_method["program_external_connectivity"][3] == {labels.EXPOSED_PORTS: [80]}


def test_driver_config_reaches_the_init_hook(dists: FakeDists) -> None:
    module = install_plugin(dists, "libnet-vlan", "vlan")
    c = libnet.Controller(driver_config={"vlan": {"parent": "eth0", "mtu": 9000}})
    c.new_network("vlan", "v")
    assert dists.module(module).CONFIGS == [{"parent": "eth0", "mtu": 9000}]


def test_the_init_hook_config_is_empty_by_default(dists: FakeDists) -> None:
    module = install_plugin(dists, "libnet-vlan", "vlan")
    with pytest.warns(UserWarning, match="network type 'other'"):
        c = libnet.Controller(driver_config={"other": {"parent": "eth0"}})
    c.new_network("vlan", "v")
    assert dists.module(module).CONFIGS == [{}]


def test_the_init_hook_config_is_read_only(dists: FakeDists) -> None:
    module = install_plugin(dists, "libnet-vlan", "vlan")
    libnet.Controller(plugins="eager", driver_config={"vlan": {"parent": "eth0"}})
    (config,) = dists.module(module).CONFIGS
    with pytest.raises(TypeError):
        config["parent"] = "eth1"


# Listings


def test_drivers_lists_built_in_application_and_plugin_drivers(dists: FakeDists) -> None:
    install_plugin(dists, "libnet-vlan", "vlan", version="1.2")
    c = libnet.Controller()
    c.register_driver("rec", RecordingDriver(), libnet.Capability(libnet.Scope.GLOBAL))
    rows = {r.name: r for r in c.drivers()}
    expected = {
        "name": "null",
        "source": "builtin",
        "status": "ok",
        "entry_point": None,
        "distribution": None,
        "version": None,
        "capability": {"data_scope": "local", "connectivity_scope": "local"},
        "error": None,
    }
    assert _pick(rows["null"].to_dict(), expected) == expected
    assert (rows["host"].source, rows["host"].status) == ("builtin", "ok")
    assert (rows["rec"].source, rows["rec"].status) == ("application", "ok")
    assert rows["rec"].capability == libnet.Capability(libnet.Scope.GLOBAL)
    vlan = rows["vlan"]
    assert (vlan.source, vlan.status, vlan.entry_point, vlan.distribution, vlan.version) == (
        "entrypoint",
        "not-loaded",
        "libnet_vlan",
        "libnet-vlan",
        "1.2",
    )


def test_network_to_dict_describes_the_network_and_its_endpoints(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    network = c.new_network(
        "rec", "net", options={"mtu": "1400"}, labels={"team": "blue"}, internal=True
    )
    endpoint = network.create_endpoint("ep")
    data = network.to_dict()
    assert data["id"] == network.id
    assert (data["name"], data["driver"], data["scope"]) == ("net", "rec", "local")
    assert (data["internal"], data["enable_ipv6"]) == (True, False)
    assert (data["options"], data["labels"]) == ({"mtu": "1400"}, {"team": "blue"})
    assert data["created"] == network.created
    assert data["endpoints"] == {endpoint.id: endpoint.info()}


def test_endpoint_info_reports_what_the_driver_set_on_create_and_join(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    network = c.new_network("rec", "net", ipam={"driver": "null"})  # the driver sets addresses
    endpoint = network.create_endpoint("ep")
    assert endpoint.info()["address"] == "10.0.0.3/16"
    sandbox = c.new_sandbox("container-1")
    endpoint.join(sandbox, options={"dst_name": "eth3"})
    expected = {
        "id": endpoint.id,
        "name": "ep",
        "network": network.id,
        "mac_address": "02:42:0a:00:00:03",
        "address": "10.0.0.3/16",
        "address_ipv6": None,
        "sandbox": sandbox.id,
        "src_name": f"veth{endpoint.id[:8]}",
        "dst_prefix": "eth",
        "dst_name": "eth3",
        "gateway": "10.0.0.1",
        "gateway_ipv6": None,
        "static_routes": [
            {"destination": "192.168.7.0/24", "route_type": 0, "next_hop": "10.0.0.1"}
        ],
        "disable_gateway_service": False,
    }
    assert _pick(endpoint.info(), expected) == expected


def test_leaving_clears_the_join_information(c: libnet.Controller, driver: RecordingDriver) -> None:
    endpoint = c.new_network("rec", "net", ipam={"driver": "null"}).create_endpoint("ep")
    sandbox = c.new_sandbox("container-1")
    endpoint.join(sandbox)
    endpoint.leave(sandbox)
    info = endpoint.info()
    assert (info["sandbox"], info["src_name"], info["gateway"], info["static_routes"]) == (
        None,
        None,
        None,
        [],
    )
    assert info["address"] == "10.0.0.3/16"


def test_endpoint_to_dict_adds_its_options(c: libnet.Controller, driver: RecordingDriver) -> None:
    endpoint = c.new_network("rec", "net").create_endpoint("ep", options={"vlan": 7})
    assert endpoint.to_dict() == {**endpoint.info(), "options": {"vlan": 7}}


def test_sandbox_to_dict_lists_its_endpoints_in_join_order(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    network = c.new_network("rec", "net")
    first, second = network.create_endpoint("z-first"), network.create_endpoint("a-second")
    sandbox = c.new_sandbox("container-1")
    first.join(sandbox)
    second.join(sandbox)
    expected = {
        "id": sandbox.id,
        "container_id": "container-1",
        "key": None,
        "created": sandbox.created,
        "endpoints": [
            {"network": network.id, "endpoint": first.id},
            {"network": network.id, "endpoint": second.id},
        ],
    }
    assert _pick(sandbox.to_dict(), expected) == expected


def test_driver_info_returns_the_drivers_operational_data(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    endpoint = c.new_network("rec", "net").create_endpoint("ep")
    assert endpoint.driver_info() == {"endpoint": endpoint.id, "joined": False}


def test_driver_info_returning_a_non_dict_is_a_driver_error(c: libnet.Controller) -> None:
    class Listing(RecordingDriver):
        def endpoint_oper_info(self, nid: str, eid: str) -> Any:
            return [nid, eid]

    c.register_driver("listing", Listing(), LOCAL)
    endpoint = c.new_network("listing", "net").create_endpoint("ep")
    with pytest.raises(DriverError, match="returned list from endpoint_oper_info"):
        endpoint.driver_info()


def test_networks_are_listed_by_name(c: libnet.Controller, driver: RecordingDriver) -> None:
    for name in ("b", "c", "a"):
        c.new_network("rec", name)
    assert [n.name for n in c.networks()] == ["a", "b", "c"]


def test_walk_networks_stops_when_fn_returns_true(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    for name in ("d", "b", "c", "a"):
        c.new_network("rec", name)
    seen: list[str] = []

    def visit(network: libnet.Network) -> bool:
        seen.append(network.name)
        return network.name == "b"

    c.walk_networks(visit)
    assert seen == ["a", "b"]


def test_walk_networks_visits_all_when_fn_never_returns_true(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    for name in ("b", "a"):
        c.new_network("rec", name)
    seen: list[str] = []
    c.walk_networks(lambda n: seen.append(n.name))
    assert seen == ["a", "b"]


# Threads


def test_concurrent_endpoint_lifecycles_on_one_network_leave_a_consistent_state(
    c: libnet.Controller, driver: RecordingDriver
) -> None:
    network = c.new_network("rec", "net")
    threads, rounds = 8, 50
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        sandbox = c.new_sandbox(f"container-{i}")
        barrier.wait()
        try:
            for j in range(rounds):
                endpoint = network.create_endpoint(f"ep-{i}-{j}")
                endpoint.join(sandbox)
                assert sandbox.endpoints() == [endpoint]
                endpoint.leave(sandbox)
                endpoint.delete()
        except BaseException as exc:
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert errors == []
    assert network.endpoints() == []
    assert all(s.endpoints() == [] for s in c.sandboxes())
    assert (driver.endpoints, driver.joined, driver.programmed) == ({}, set(), set())
    methods = driver.methods()
    for method in ("create_endpoint", "join", "leave", "delete_endpoint"):
        assert methods.count(method) == threads * rounds, method


@pytest.mark.parametrize(
    "container_id", ["", "a\nb", "\x1b[31mred", "-leading-dash", "with space", "x" * 129, "a/b"]
)
def test_a_container_id_docker_would_refuse_is_refused(container_id: str) -> None:
    c = libnet.Controller()
    with pytest.raises(libnet.InvalidNameError, match="container ID"):
        c.new_sandbox(container_id)
    assert c.sandboxes() == []


def test_container_ids_as_docker_makes_them_are_accepted() -> None:
    c = libnet.Controller()
    for container_id in ("a" * 64, "web_1.blue-2", "x" * 128):
        assert c.new_sandbox(container_id).container_id == container_id


def test_a_relative_sandbox_key_is_stored_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "ns").write_text("")
    monkeypatch.chdir(tmp_path)
    c = libnet.Controller()
    sandbox = c.new_sandbox("c1", key="ns")
    assert sandbox.key == str(tmp_path / "ns")


class _JoinAware(RecordingDriver):
    """Learns joins made elsewhere through the restore path, as a driver should."""

    def restore_join(
        self, nid: str, eid: str, joined: bool, sandbox_key: str | None, options: Any
    ) -> None:
        self._call("restore_join", nid, eid, joined, sandbox_key)
        if joined:
            self.joined.add(eid)
        else:
            self.joined.discard(eid)


def test_a_join_made_by_another_controller_reaches_this_ones_driver(tmp_path: Path) -> None:
    first, second = _JoinAware(), _JoinAware()
    with libnet.Controller(state_dir=tmp_path) as a, libnet.Controller(state_dir=tmp_path) as b:
        a.register_driver("aware", first, LOCAL)
        b.register_driver("aware", second, LOCAL)
        endpoint = a.new_network("aware", "n1").create_endpoint("e1")
        assert b.network("n1").endpoint("e1").driver_info() == {"endpoint": endpoint.id,
                                                               "joined": False}  # fmt: skip
        sandbox = a.new_sandbox("c1")
        endpoint.join(sandbox)
        # b's driver heard of e1 before the join: it is told now, before it must leave
        b.sandbox("c1").delete()
        assert ("restore_join", endpoint.network.id, endpoint.id, True, None) in second.calls
        assert second.joined == set()
        assert a.network("n1").endpoint("e1").sandbox_id is None
        # and the other way round: a's driver learns that e1 left
        endpoint.delete()
        assert ("restore_join", endpoint.network.id, endpoint.id, False, None) in first.calls


def test_join_names_the_interface_as_asked_and_refuses_a_name_in_use(
    c: libnet.Controller,
) -> None:
    net = c.new_network("null", "ifn")
    sandbox = c.new_sandbox("ifname-box")
    first = net.create_endpoint("a")
    first.join(sandbox, ifname="net7")
    assert first.to_dict()["dst_name"] == "net7"
    other = c.new_network("host", "ifn2")
    second = other.create_endpoint("b")
    with pytest.raises(libnet.EndpointInSandboxError, match="net7"):
        second.join(sandbox, ifname="net7")
    with pytest.raises(libnet.InvalidNameError):
        second.join(sandbox, ifname="x" * 16)
    assert second.sandbox_id is None
