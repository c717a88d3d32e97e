"""The built-in ``null`` and ``host`` drivers, and the names libnet keeps for itself."""

from __future__ import annotations

import pytest
from _dists import FakeDists
from _drivers import plugin_source

import libnet
from libnet.errors import ForbiddenError

SINGLE = ["null", "host"]


@pytest.fixture
def c() -> libnet.Controller:
    return libnet.Controller(plugins="off")


@pytest.mark.parametrize("network_type", SINGLE)
def test_built_in_drivers_are_listed_with_local_scope(
    c: libnet.Controller, network_type: str
) -> None:
    (row,) = [r for r in c.drivers() if r.name == network_type]
    assert (row.source, row.status) == ("builtin", "ok")
    assert row.capability == libnet.Capability(libnet.Scope.LOCAL, libnet.Scope.LOCAL)


@pytest.mark.parametrize("network_type", SINGLE)
def test_at_most_one_network_of_the_type_exists(c: libnet.Controller, network_type: str) -> None:
    first = c.new_network(network_type, "first")
    with pytest.raises(ForbiddenError, match=f"only one network of type {network_type!r}"):
        c.new_network(network_type, "second")
    assert c.networks() == [first]


@pytest.mark.parametrize("network_type", SINGLE)
def test_another_network_of_the_type_can_be_made_once_the_first_is_deleted(
    c: libnet.Controller, network_type: str
) -> None:
    c.new_network(network_type, "first").delete()
    assert c.new_network(network_type, "second").name == "second"


def test_a_null_and_a_host_network_can_coexist(c: libnet.Controller) -> None:
    c.new_network("null", "none")
    c.new_network("host", "host")
    assert [(n.name, n.type, n.scope) for n in c.networks()] == [
        ("host", "host", "local"),
        ("none", "null", "local"),
    ]


@pytest.mark.parametrize("network_type", SINGLE)
def test_endpoints_get_no_interface_and_no_join_information(
    c: libnet.Controller, network_type: str
) -> None:
    endpoint = c.new_network(network_type, "net").create_endpoint("ep")
    endpoint.join(c.new_sandbox("container-1"))
    info = endpoint.info()
    assert [info[k] for k in ("mac_address", "address", "src_name", "gateway")] == [None] * 4
    assert endpoint.driver_info() == {}


@pytest.mark.parametrize("network_type", SINGLE)
def test_each_controller_has_its_own_built_in_drivers(network_type: str) -> None:
    libnet.Controller(plugins="off").new_network(network_type, "one")
    assert libnet.Controller(plugins="off").new_network(network_type, "two").name == "two"


@pytest.mark.parametrize("name", ["null", "host", "bridge", "remote"])
def test_a_plugin_advertising_a_built_in_name_cannot_take_it(dists: FakeDists, name: str) -> None:
    dists.install(
        "libnet-thief",
        entry_points={name: "libnet_thief"},
        modules={"libnet_thief": plugin_source(name)},
    )
    c = libnet.Controller(plugins="eager")
    (row,) = [r for r in c.drivers() if r.distribution == "libnet-thief"]
    assert row.status == "failed"
    assert f"{name!r} is built into libnet" in (row.error or "")
    registered = c._registry.get(name)
    assert registered is None or registered.origin.source == "builtin"


def test_the_null_network_stays_served_by_libnet_when_a_plugin_advertises_null(
    dists: FakeDists,
) -> None:
    dists.install(
        "libnet-thief",
        entry_points={"null": "libnet_thief"},
        modules={"libnet_thief": plugin_source("null")},
    )
    c = libnet.Controller()
    c.new_network("null", "none")
    assert not dists.imported("libnet_thief")
