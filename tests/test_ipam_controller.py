"""Addresses through the Controller: endpoints, pools, bad input, rollbacks and IPAM plugins.

The ``default`` IPAM driver keeps its state in the controller's store, so every test of it
runs on memory and SQLite state. IPAM plugins are fake installed distributions (see
:mod:`_dists`) whose ``KeepingIpam`` keeps its own state (no ``bind``) and records every
call, so the tests can see that a failed operation gives back what it took.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _dists import FakeDists
from _drivers import LOCAL, RecordingDriver

import libnet
from libnet import labels
from libnet.driverapi import IPAMData
from libnet.errors import (
    AddressInUseError,
    DriverError,
    InvalidAddressError,
    InvalidOptionError,
    InvalidPoolError,
    LibnetError,
    PoolExhaustedError,
    PoolOverlapError,
    UnknownDriverError,
)
from libnet.ipam import MAC_ADDRESS_OPTION, DefaultIpam
from libnet.store import MemoryStore

GLOBAL = libnet.Capability(libnet.Scope.GLOBAL)
IPAM_GROUP = "libnet.ipam"


def subnet(cidr: str, **more: Any) -> dict[str, Any]:
    """``ipam=`` with one pool of the default driver."""
    return {"driver": "default", "config": [{"subnet": cidr, **more}]}


def address(endpoint: libnet.Endpoint) -> str | None:
    value: str | None = endpoint.info()["address"]
    return value


class PoolsDriver(RecordingDriver):
    """A RecordingDriver that also records the pools create_network and restore get."""

    def __init__(self) -> None:
        super().__init__()
        self.pools: list[tuple[str, list[IPAMData], list[IPAMData]]] = []

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        self.pools.append((nid, list(ipv4_data), list(ipv6_data)))
        super().create_network(nid, options, ipv4_data, ipv6_data)


@dataclass
class Env:
    """A controller with network type ``rec`` served by a RecordingDriver (any number of
    networks, fails on demand)."""

    c: libnet.Controller
    driver: PoolsDriver
    state_dir: Path | None

    def state(self) -> dict[str, Any]:
        return {
            "networks": [n.to_dict() for n in self.c.networks()],
            "sandboxes": [s.to_dict() for s in self.c.sandboxes()],
        }

    def held(self) -> dict[str, list[str]]:
        """Every address the default IPAM driver holds, by pool."""
        ipam = self.c.resolve_ipam("default").driver
        assert isinstance(ipam, DefaultIpam)
        return {p.pool: ipam.addresses(p.id) for p in ipam.pools()}

    def fail(self, *steps: Any) -> None:
        self.driver.fail_on = set(steps)


def _env(c: libnet.Controller, state_dir: Path | None) -> Env:
    driver = PoolsDriver()
    c.register_driver("rec", driver, LOCAL)
    return Env(c, driver, state_dir)


@pytest.fixture(params=["memory", "sqlite"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    state_dir = None if request.param == "memory" else tmp_path / "state"
    with libnet.Controller(state_dir=state_dir, plugins="off") as c:
        yield _env(c, state_dir)


# -- addresses of endpoints ------------------------------------------------------------


def test_endpoints_get_the_next_addresses(env: Env) -> None:
    net = env.c.new_network("rec", "net", ipam=subnet("10.1.0.0/24"))
    got = [address(net.create_endpoint(f"ep{i}")) for i in range(3)]
    assert got == ["10.1.0.2/24", "10.1.0.3/24", "10.1.0.4/24"]  # 10.1.0.1 is the gateway
    assert env.held() == {"10.1.0.0/24": ["10.1.0.1/24", *got]}


def test_a_network_without_pools_gets_the_first_default_pool(env: Env) -> None:
    net = env.c.new_network("rec", "net")
    assert net.to_dict()["ipam"]["config"] == [
        {"subnet": "172.17.0.0/16", "ip_range": None, "gateway": "172.17.0.1", "aux_addresses": {}}
    ]
    assert address(net.create_endpoint("ep")) == "172.17.0.2/16"
    assert env.c.new_network("rec", "net2").to_dict()["ipam"]["config"][0]["subnet"] == (
        "172.18.0.0/16"
    )


def test_requested_addresses(env: Env) -> None:
    net = env.c.new_network("rec", "net", enable_ipv6=True, ipam=subnet("10.1.0.0/24"))
    pinned = net.create_endpoint("pinned", ipv4_address="10.1.0.50", ipv6_address=None)
    assert address(pinned) == "10.1.0.50/24"
    assert address(net.create_endpoint("next")) == "10.1.0.2/24"
    with_prefix = net.create_endpoint("with-prefix", ipv4_address="10.1.0.60/24")
    assert address(with_prefix) == "10.1.0.60/24"
    before = env.state()
    with pytest.raises(InvalidAddressError, match=re.escape("10.2.0.5 is not in pool 10.1.0.0/24")):
        net.create_endpoint("outside", ipv4_address="10.2.0.5")
    assert env.state() == before


def test_requested_ipv6_address_on_an_ipv6_pool(env: Env) -> None:
    net = env.c.new_network(
        "rec",
        "net",
        enable_ipv6=True,
        ipam={"config": [{"subnet": "10.1.0.0/24"}, {"subnet": "fd00:1::/64"}]},
    )
    ep = net.create_endpoint("ep", ipv6_address="fd00:1::60")
    assert (ep.info()["address"], ep.info()["address_ipv6"]) == ("10.1.0.2/24", "fd00:1::60/64")
    assert net.create_endpoint("next").info()["address_ipv6"] == "fd00:1::2/64"


def test_mac_is_derived_from_the_ipv4_address_when_the_driver_sets_none(env: Env) -> None:
    net = env.c.new_network("null", "none", ipam=subnet("10.1.2.0/24"))
    info = net.create_endpoint("ep", ipv4_address="10.1.2.200").info()
    assert info["mac_address"] == "02:42:0a:01:02:c8"


def test_a_mac_asked_for_is_used_and_a_bad_one_refused(env: Env) -> None:
    net = env.c.new_network("null", "none", ipam=subnet("10.1.2.0/24"))
    ep = net.create_endpoint("ep", options={labels.MAC_ADDRESS: "02-00-00-AA-BB-CC"})
    assert ep.info()["mac_address"] == "02:00:00:aa:bb:cc"
    before = env.state()
    with pytest.raises(InvalidOptionError, match="is not a MAC address"):
        net.create_endpoint("bad", options={labels.MAC_ADDRESS: "zz"})
    assert env.state() == before
    assert address(net.create_endpoint("next")) == "10.1.2.3/24"


def test_gateway_and_auxiliary_addresses_are_reserved(env: Env) -> None:
    aux = {"router": "10.1.0.1", "printer": "10.1.0.3"}
    net = env.c.new_network(
        "rec", "net", ipam=subnet("10.1.0.0/29", gateway="10.1.0.6", aux_addresses=aux)
    )
    got = [address(net.create_endpoint(f"ep{i}")) for i in range(3)]
    assert got == ["10.1.0.2/29", "10.1.0.4/29", "10.1.0.5/29"]
    with pytest.raises(AddressInUseError, match="is the network's gateway"):
        net.create_endpoint("more", ipv4_address="10.1.0.6")
    for taken in ("10.1.0.1", "10.1.0.3"):
        with pytest.raises(AddressInUseError, match=f"{taken} is already in use"):
            net.create_endpoint("more", ipv4_address=taken)
    assert net.to_dict()["ipam"]["config"][0]["aux_addresses"] == aux


def test_ip_range_limits_dynamic_addresses_only(env: Env) -> None:
    net = env.c.new_network("rec", "net", ipam=subnet("10.1.0.0/24", ip_range="10.1.0.128/25"))
    assert address(net.create_endpoint("a")) == "10.1.0.128/24"
    assert address(net.create_endpoint("b", ipv4_address="10.1.0.9")) == "10.1.0.9/24"


def test_ipv6_endpoints_with_enable_ipv6(env: Env) -> None:
    net = env.c.new_network("rec", "net", enable_ipv6=True, ipam=subnet("10.1.0.0/24"))
    (v6,) = [p for p in net.to_dict()["ipam"]["config"] if ":" in p["subnet"]]
    pool = ipaddress.IPv6Network(v6["subnet"])
    assert pool.prefixlen == 64 and pool.subnet_of(ipaddress.IPv6Network("fd00::/8"))
    assert v6["gateway"] == str(pool.network_address + 1)
    infos = [net.create_endpoint(f"ep{i}").info() for i in range(2)]
    assert [i["address"] for i in infos] == ["10.1.0.2/24", "10.1.0.3/24"]
    assert [i["address_ipv6"] for i in infos] == [
        f"{pool.network_address + 2}/64",
        f"{pool.network_address + 3}/64",
    ]


def test_an_ipv6_address_on_a_network_without_ipv6_is_refused(env: Env) -> None:
    net = env.c.new_network("rec", "net", ipam=subnet("10.1.0.0/24"))
    before = env.state()
    with pytest.raises(InvalidOptionError, match="has no ipv6 pool"):
        net.create_endpoint("ep", ipv6_address="fd00::5")
    assert env.state() == before


def test_exhausting_a_24_then_deleting_one_frees_exactly_that_address(env: Env) -> None:
    net = env.c.new_network("rec", "net", ipam=subnet("10.1.0.0/24"))
    eps = [net.create_endpoint(f"ep{i}") for i in range(253)]
    assert [address(e) for e in eps] == [f"10.1.0.{i}/24" for i in range(2, 255)]
    before = env.state()
    with pytest.raises(PoolExhaustedError) as info:
        net.create_endpoint("one-too-many")
    assert "network 'net'" in str(info.value) and "10.1.0.0/24" in str(info.value)
    assert env.state() == before
    eps[98].delete()  # 10.1.0.100
    assert address(net.create_endpoint("again")) == "10.1.0.100/24"
    with pytest.raises(PoolExhaustedError):
        net.create_endpoint("one-too-many")


def test_a_new_controller_on_the_state_dir_continues_after_the_last_address(
    tmp_path: Path,
) -> None:
    with libnet.Controller(state_dir=tmp_path, plugins="off") as c:
        net = c.new_network("null", "none", ipam=subnet("10.1.0.0/24"))
        for name in ("a", "b", "c"):
            net.create_endpoint(name)
    with libnet.Controller(state_dir=tmp_path, plugins="off") as c:
        net = c.network("none")
        assert address(net.create_endpoint("d")) == "10.1.0.5/24"
        net.endpoint("b").delete()
        assert address(net.create_endpoint("e")) == "10.1.0.3/24"
        with pytest.raises(AddressInUseError):
            net.create_endpoint("f", ipv4_address="10.1.0.2")
        assert net.to_dict()["ipam"]["config"][0]["gateway"] == "10.1.0.1"


# -- bad input: a clear error, and nothing changed -------------------------------------


BAD_POOLS = [
    ({"config": [{"subnet": "10.1.0.0/33"}]}, InvalidPoolError, "is not a CIDR"),
    ({"config": [{"subnet": "10.1.0.7/24"}]}, InvalidPoolError, "host bits set"),
    ({"config": [{"subnet": "nonsense"}]}, InvalidPoolError, "is not a CIDR"),
    (
        {"config": [{"subnet": "10.5.0.0/24", "gateway": "10.6.0.1"}]},
        InvalidAddressError,
        "gateway 10.6.0.1 is not in subnet 10.5.0.0/24",
    ),
    (
        {"config": [{"subnet": "10.5.0.0/24", "ip_range": "10.6.0.0/25"}]},
        InvalidPoolError,
        "ip-range 10.6.0.0/25 is not inside subnet 10.5.0.0/24",
    ),
    (
        {"config": [{"subnet": "10.5.0.0/24", "aux_addresses": {"r": "10.6.0.1"}}]},
        InvalidAddressError,
        "auxiliary address r=10.6.0.1 is not in subnet 10.5.0.0/24",
    ),
    (
        {"config": [{"subnet": "10.5.0.0/24", "gateway": "10.5.0.255"}]},
        InvalidAddressError,
        "broadcast address",
    ),
    ({"config": [{"subnet": "10.1.0.0/16"}]}, PoolOverlapError, "overlaps pool 10.1.0.0/24"),
    ({"config": [{"subnet": "fd00:5::/64"}]}, InvalidOptionError, "IPv6 is not enabled"),
    ({"config": [{"subnett": "10.5.0.0/24"}]}, InvalidOptionError, "unknown keys ['subnett']"),
    ({"driver": "nope"}, UnknownDriverError, "no IPAM driver named 'nope'"),
]


@pytest.mark.parametrize(("ipam", "error", "fragment"), BAD_POOLS, ids=[b[2] for b in BAD_POOLS])
def test_bad_pools_are_refused_and_change_nothing(
    env: Env, ipam: dict[str, Any], error: type[LibnetError], fragment: str
) -> None:
    env.c.new_network("rec", "taken", ipam=subnet("10.1.0.0/24"))
    before, held = env.state(), env.held()
    with pytest.raises(error) as info:
        env.c.new_network("rec", "bad", ipam=ipam)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)
    assert (env.state(), env.held()) == (before, held)
    assert env.driver.networks.keys() == {env.c.network("taken").id}
    # Every pool the failed network might have taken is free again.
    env.c.new_network("rec", "good", ipam=subnet("10.5.0.0/24", gateway="10.5.0.254"))


def test_an_exhausted_pool_names_network_and_pool_and_changes_nothing(env: Env) -> None:
    net = env.c.new_network("rec", "tiny", ipam=subnet("10.7.0.0/30"))
    net.create_endpoint("only")
    before, held = env.state(), env.held()
    with pytest.raises(PoolExhaustedError) as info:
        net.create_endpoint("more")
    message = str(info.value)
    assert "endpoint 'more' on network 'tiny'" in message and "pool 10.7.0.0/30" in message
    assert (env.state(), env.held()) == (before, held)


def test_an_address_in_use_changes_nothing(env: Env) -> None:
    net = env.c.new_network("rec", "net", enable_ipv6=True, ipam=subnet("10.1.0.0/24"))
    ep = net.create_endpoint("ep")
    before, held = env.state(), env.held()
    with pytest.raises(AddressInUseError, match=re.escape("10.1.0.2 is already in use")):
        net.create_endpoint("dup", ipv4_address="10.1.0.2")
    with pytest.raises(AddressInUseError):  # the IPv4 address is taken first, then given back
        net.create_endpoint("dup", ipv6_address=ep.info()["address_ipv6"].split("/")[0])
    assert (env.state(), env.held()) == (before, held)
    assert address(net.create_endpoint("next")) == "10.1.0.3/24"


def test_an_exhausted_default_pool_list_changes_nothing(tmp_path: Path) -> None:
    tiny = [{"base": "10.50.0.0/24", "size": 25}]
    with libnet.Controller(state_dir=tmp_path, plugins="off", local_address_pools=tiny) as c:
        env = _env(c, tmp_path)
        first = c.new_network("rec", "a")
        second = c.new_network("rec", "b")
        pools = [n.to_dict()["ipam"]["config"][0]["subnet"] for n in (first, second)]
        assert pools == ["10.50.0.0/25", "10.50.0.128/25"]
        before, held = env.state(), env.held()
        with pytest.raises(PoolExhaustedError, match="all default IPv4 address pools"):
            c.new_network("rec", "c")
        assert (env.state(), env.held()) == (before, held)
        second.delete()
        assert c.new_network("rec", "c").to_dict()["ipam"]["config"][0]["subnet"] == pools[1]


# -- rollbacks with the default IPAM driver ---------------------------------------------


def test_failing_create_network_frees_the_pool(env: Env) -> None:
    env.fail("create_network")
    aux = {"aux_addresses": {"r": "10.1.0.9"}}
    with pytest.raises(DriverError, match="create_network"):
        env.c.new_network("rec", "net", ipam=subnet("10.1.0.0/24", **aux))
    assert (env.state()["networks"], env.held()) == ([], {})
    env.fail()
    net = env.c.new_network("rec", "net", ipam=subnet("10.1.0.0/24", **aux))
    assert env.held() == {"10.1.0.0/24": ["10.1.0.1/24", "10.1.0.9/24"]}
    assert address(net.create_endpoint("ep")) == "10.1.0.2/24"


def test_failing_create_endpoint_frees_its_addresses(env: Env) -> None:
    net = env.c.new_network("rec", "net", enable_ipv6=True, ipam=subnet("10.1.0.0/24"))
    held = env.held()
    env.fail("create_endpoint")
    with pytest.raises(DriverError, match="create_endpoint"):
        net.create_endpoint("ep", ipv4_address="10.1.0.7")
    with pytest.raises(DriverError, match="create_endpoint"):
        net.create_endpoint("ep")
    assert env.held() == held
    env.fail()
    assert address(net.create_endpoint("ep")) == "10.1.0.2/24"
    assert address(net.create_endpoint("ep2", ipv4_address="10.1.0.7")) == "10.1.0.7/24"


def test_a_failing_join_does_not_touch_addresses(env: Env) -> None:
    net = env.c.new_network("rec", "net", ipam=subnet("10.1.0.0/24"))
    ep = net.create_endpoint("ep")
    sandbox = env.c.new_sandbox("container-1")
    before, held = env.state(), env.held()
    env.fail("program_external_connectivity")
    with pytest.raises(DriverError):
        ep.join(sandbox)
    assert (env.state(), env.held()) == (before, held)


def test_failing_deletes_keep_the_addresses(env: Env) -> None:
    net = env.c.new_network("rec", "net", ipam=subnet("10.1.0.0/24"))
    first, second = net.create_endpoint("first"), net.create_endpoint("second")
    before, held = env.state(), env.held()
    env.fail("delete_endpoint")
    with pytest.raises(DriverError):
        first.delete()
    assert (env.state(), env.held()) == (before, held)
    env.fail(("delete_endpoint", second.id))  # the first goes, then the second fails
    with pytest.raises(DriverError):
        net.delete(force=True)
    assert env.held() == held
    assert [e.name for e in net.endpoints()] == ["first", "second"]
    env.fail("delete_network")
    second.delete()
    first.delete()
    held = env.held()
    with pytest.raises(DriverError):
        net.delete()
    assert env.held() == held
    with pytest.raises(PoolOverlapError):
        env.c.new_network("rec", "other", ipam=subnet("10.1.0.0/24"))


# -- what network drivers receive -----------------------------------------------------


def test_drivers_receive_the_pools_as_ipam_data(env: Env) -> None:
    net = env.c.new_network(
        "rec",
        "net",
        enable_ipv6=True,
        ipam={
            "config": [
                {"subnet": "10.1.0.0/24", "aux_addresses": {"router": "10.1.0.2"}},
                {"subnet": "fd00:1::/64", "gateway": "fd00:1::fe"},
            ]
        },
    )
    assert env.driver.pools == [
        (
            net.id,
            [IPAMData("LocalDefault", "10.1.0.0/24", "10.1.0.1/24", {"router": "10.1.0.2/24"})],
            [IPAMData("LocalDefault", "fd00:1::/64", "fd00:1::fe/64", {})],
        )
    ]
    assert isinstance(env.driver.pools[0][1][0], libnet.IPAMData)


def test_a_global_driver_gets_pools_of_the_global_address_space(tmp_path: Path) -> None:
    driver = PoolsDriver()
    with libnet.Controller(state_dir=tmp_path, global_store=MemoryStore()) as c:
        c.register_driver("overlayish", driver, GLOBAL)
        net = c.new_network("overlayish", "ov")
    assert driver.pools == [(net.id, [IPAMData("GlobalDefault", "10.0.0.0/24", "10.0.0.1/24")], [])]


def test_a_restored_network_gets_the_same_pools(tmp_path: Path) -> None:
    ipam = subnet("10.1.0.0/24", aux_addresses={"r": "10.1.0.3"})
    with libnet.Controller(state_dir=tmp_path, plugins="off") as c:
        created = _env(c, tmp_path)
        created.c.new_network("rec", "net", ipam=ipam)
    with libnet.Controller(state_dir=tmp_path, plugins="off") as c:
        restored = _env(c, tmp_path)
        c.network("net").create_endpoint("ep")  # the driver restores the network first
    assert restored.driver.methods()[:2] == ["create_network", "create_endpoint"]
    assert restored.driver.pools[0][1:] == created.driver.pools[0][1:]


# -- IPAM plugins ----------------------------------------------------------------------

KEEPING_IPAM = """\
import ipaddress

import libnet
from libnet.errors import (
    AddressInUseError,
    AddressNotAllocatedError,
    PoolNotFoundError,
    PoolOverlapError,
)
from libnet.ipam import REQUEST_ADDRESS_TYPE, Ipam, IpamCapability

DRIVERS = {}
CONFIGS = []
NAMES = %(names)r


class KeepingIpam(Ipam):
    \"\"\"Keeps its own state (no bind), records every call, fails on demand.

    ``fail_on`` holds method names, ``request_gateway`` (gateway requests only) or
    ``request_ipv6`` (address requests in IPv6 pools only).
    \"\"\"

    def __init__(self):
        self.calls = []
        self.fail_on = set()
        self.pools = {}

    def _call(self, method, *args, kind=None):
        self.calls.append((method, *args))
        if method in self.fail_on or kind in self.fail_on:
            raise RuntimeError(f"{kind or method} failed on purpose")

    def held(self):
        return {p: sorted(str(a) for a in used) for p, (_, used) in self.pools.items()}

    def get_default_address_spaces(self):
        return "keep-local", "keep-global"

    def request_pool(self, address_space, pool="", sub_pool="", options=None, v6=False):
        self._call("request_pool", address_space, pool)
        net = ipaddress.ip_network(pool or ("fd77::/64" if v6 else "10.77.0.0/24"))
        pool_id = f"{address_space}/{net}"
        if pool_id in self.pools:
            raise PoolOverlapError(f"pool {net} is in use")
        self.pools[pool_id] = (net, set())
        return pool_id, str(net), {}

    def release_pool(self, pool_id):
        self._call("release_pool", pool_id)
        if self.pools.pop(pool_id, None) is None:
            raise PoolNotFoundError(pool_id)

    def request_address(self, pool_id, address=None, options=None):
        options = dict(options or {})
        net, used = self.pools[pool_id]
        kind = "request_gateway" if options.get(REQUEST_ADDRESS_TYPE) else None
        if net.version == 6 and kind is None:
            kind = "request_ipv6"
        self._call("request_address", pool_id, address, options, kind=kind)
        if address:
            ip = ipaddress.ip_address(address)
            if ip in used:
                raise AddressInUseError(f"address {ip} is in use")
        else:
            ip = next(h for h in net.hosts() if h not in used)
        used.add(ip)
        return f"{ip}/{net.prefixlen}", {}

    def release_address(self, pool_id, address):
        self._call("release_address", pool_id, address)
        ip = ipaddress.ip_interface(address).ip
        used = self.pools[pool_id][1]
        if ip not in used:
            raise AddressNotAllocatedError(f"address {ip} is not allocated")
        used.remove(ip)


@libnet.hookimpl
def libnet_ipam_init(callback, config):
    CONFIGS.append(dict(config))
    %(body)s
    for name in NAMES:
        DRIVERS[name] = KeepingIpam()
        capability = IpamCapability(requires_mac_address=config.get("mac") == "yes")
        callback.register_ipam_driver(name, DRIVERS[name], capability)
"""


def install_ipam_plugin(
    dists: FakeDists, distribution: str, *names: str, body: str = "pass"
) -> str:
    """Install a distribution with one ``libnet.ipam`` entry point per name; its module."""
    module = distribution.replace("-", "_")
    dists.install(
        distribution,
        entry_points={name: module for name in names},
        modules={module: KEEPING_IPAM % {"names": names, "body": body}},
        group=IPAM_GROUP,
    )
    return module


@dataclass
class Keeping:
    env: Env
    ipam: Any  # the plugin's KeepingIpam

    def calls(self) -> list[tuple[Any, ...]]:
        calls: list[tuple[Any, ...]] = self.ipam.calls
        return calls

    def methods(self) -> list[str]:
        return [c[0] for c in self.calls()]

    def reset(self, *fail_on: str) -> None:
        self.ipam.fail_on = set(fail_on)
        del self.ipam.calls[:]


KEEP = {"driver": "keep"}


@pytest.fixture
def keep(dists: FakeDists) -> Iterator[Keeping]:
    module = install_ipam_plugin(dists, "libnet-keep", "keep")
    with libnet.Controller(plugins="eager", ipam_config={"keep": {"mac": "yes"}}) as c:
        yield Keeping(_env(c, None), dists.module(module).DRIVERS["keep"])


def test_a_plugin_gets_its_configuration(keep: Keeping, dists: FakeDists) -> None:
    assert dists.module("libnet_keep").CONFIGS == [{"mac": "yes"}]


def test_plugin_failing_create_network_releases_pool_gateway_and_aux(keep: Keeping) -> None:
    keep.env.fail("create_network")
    ipam = {**KEEP, "config": [{"subnet": "10.77.0.0/24", "aux_addresses": {"r": "10.77.0.9"}}]}
    with pytest.raises(DriverError, match="create_network"):
        keep.env.c.new_network("rec", "net", ipam=ipam)
    pool = "keep-local/10.77.0.0/24"
    assert keep.calls()[-3:] == [
        ("release_address", pool, "10.77.0.9/24"),
        ("release_address", pool, "10.77.0.1/24"),
        ("release_pool", pool),
    ]
    assert keep.ipam.held() == {}
    keep.env.fail()
    keep.env.c.new_network("rec", "net", ipam=ipam)
    assert keep.ipam.held() == {pool: ["10.77.0.1", "10.77.0.9"]}


def test_plugin_failing_gateway_request_releases_the_pool(keep: Keeping) -> None:
    keep.reset("request_gateway")
    with pytest.raises(DriverError, match="request_gateway failed on purpose"):
        keep.env.c.new_network("rec", "net", ipam=KEEP)
    assert keep.methods() == ["request_pool", "request_address", "release_pool"]
    assert keep.ipam.held() == {} and keep.env.c.networks() == []


def test_plugin_failing_create_endpoint_releases_its_addresses(keep: Keeping) -> None:
    net = keep.env.c.new_network("rec", "net", enable_ipv6=True, ipam=KEEP)
    held = keep.ipam.held()
    keep.reset()
    keep.env.fail("create_endpoint")
    with pytest.raises(DriverError, match="create_endpoint"):
        net.create_endpoint("ep")
    assert keep.methods() == ["request_address"] * 2 + ["release_address"] * 2
    assert keep.ipam.held() == held


def test_plugin_failing_ipv6_request_releases_the_ipv4_address(keep: Keeping) -> None:
    net = keep.env.c.new_network("rec", "net", enable_ipv6=True, ipam=KEEP)
    held = keep.ipam.held()
    keep.reset("request_ipv6")
    with pytest.raises(DriverError, match="request_ipv6 failed on purpose"):
        net.create_endpoint("ep")
    assert keep.calls()[-1] == ("release_address", "keep-local/10.77.0.0/24", "10.77.0.2/24")
    assert keep.ipam.held() == held and net.endpoints() == []


def test_plugin_join_failure_makes_no_ipam_call(keep: Keeping) -> None:
    ep = keep.env.c.new_network("rec", "net", ipam=KEEP).create_endpoint("ep")
    sandbox = keep.env.c.new_sandbox("container-1")
    held = keep.ipam.held()
    keep.reset()
    keep.env.fail("join")
    with pytest.raises(DriverError):
        ep.join(sandbox)
    assert keep.calls() == [] and keep.ipam.held() == held


def test_plugin_delete_failures_release_nothing(keep: Keeping) -> None:
    net = keep.env.c.new_network("rec", "net", ipam=KEEP)
    first, second = net.create_endpoint("first"), net.create_endpoint("second")
    held = keep.ipam.held()
    keep.reset()
    keep.env.fail("delete_endpoint")
    with pytest.raises(DriverError):
        first.delete()
    keep.env.fail(("delete_endpoint", second.id))  # the first goes, then the second fails
    with pytest.raises(DriverError):
        net.delete(force=True)
    keep.env.fail("delete_network")
    with pytest.raises(DriverError):
        keep.env.c.new_network(
            "rec", "empty", ipam={"driver": "keep", "config": [{"subnet": "10.78.0.0/24"}]}
        ).delete()
    assert [c for c in keep.calls() if c[0].startswith("release")] == []
    assert keep.ipam.held()["keep-local/10.77.0.0/24"] == held["keep-local/10.77.0.0/24"]
    assert [e.name for e in net.endpoints()] == ["first", "second"]


def test_plugin_releases_after_successful_deletes(keep: Keeping) -> None:
    net = keep.env.c.new_network("rec", "net", ipam=KEEP)
    ep = net.create_endpoint("ep")
    keep.reset()
    ep.delete()
    assert keep.calls() == [("release_address", "keep-local/10.77.0.0/24", "10.77.0.2/24")]
    net.delete()
    assert keep.methods()[1:] == ["release_address", "release_pool"]
    assert keep.ipam.held() == {}


def test_a_plugin_raising_a_foreign_error_is_a_driver_error(keep: Keeping) -> None:
    keep.reset("request_pool")
    with pytest.raises(DriverError, match="request_pool failed on purpose"):
        keep.env.c.new_network("rec", "net", ipam=KEEP)
    assert keep.env.c.networks() == []


def test_a_plugin_requiring_mac_addresses_gets_the_endpoints_mac(keep: Keeping) -> None:
    net = keep.env.c.new_network("rec", "net", ipam=KEEP)
    keep.reset()
    given = net.create_endpoint("given", options={labels.MAC_ADDRESS: "02:00:00:00:00:07"})
    picked = net.create_endpoint("picked")
    macs = [c[3][MAC_ADDRESS_OPTION] for c in keep.calls()]
    assert macs[0] == given.info()["mac_address"] == "02:00:00:00:00:07"
    assert macs[1] == picked.info()["mac_address"]
    assert int(macs[1].split(":")[0], 16) & 0b11 == 0b10  # locally administered unicast


def test_without_the_capability_no_mac_is_passed(dists: FakeDists) -> None:
    module = install_ipam_plugin(dists, "libnet-keep", "keep")
    with libnet.Controller() as c:
        net = c.new_network("null", "none", ipam=KEEP)
        mac = net.create_endpoint("ep").info()["mac_address"]
        calls = dists.module(module).DRIVERS["keep"].calls
    assert calls[-1] == ("request_address", "keep-local/10.77.0.0/24", None, {})
    assert mac == "02:42:0a:4d:00:02"  # derived from 10.77.0.2


def rows(c: libnet.Controller, name: str) -> list[libnet.DriverInfo]:
    return [r for r in c.ipam_drivers() if r.name == name]


def test_a_plugin_is_loaded_lazily_on_first_use(dists: FakeDists) -> None:
    module = install_ipam_plugin(dists, "libnet-keep", "keep")
    with libnet.Controller() as c:
        (row,) = rows(c, "keep")
        assert (row.source, row.status, row.distribution) == (
            "entrypoint",
            "not-loaded",
            "libnet-keep",
        )
        assert not dists.imported(module)
        c.new_network("null", "none")  # the null IPAM driver: the plugin stays unloaded
        assert not dists.imported(module)
        c.network("none").delete()
        net = c.new_network("null", "none", ipam=KEEP)
        assert dists.imported(module)
        (row,) = rows(c, "keep")
        assert row.status == "ok"
        assert row.to_dict()["capability"] == {
            "requires_mac_address": False,
            "requires_request_replay": False,
        }
        assert net.to_dict()["ipam"]["driver"] == "keep"
        assert [(r.name, r.source) for r in c.ipam_drivers()] == [
            ("default", "builtin"),
            ("keep", "entrypoint"),
            ("null", "builtin"),
        ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("raise RuntimeError('cannot read the address plan')", "cannot read the address plan"),
        (
            "callback.register_ipam_driver('default', KeepingIpam(), IpamCapability())",
            "'default', which is built into libnet",
        ),
        ("callback.register_ipam_driver('broken', KeepingIpam(), 'no')", "IpamCapability"),
    ],
    ids=["init-raises", "takes-a-built-in-name", "bad-capability"],
)
def test_a_broken_plugin_is_reported_and_using_it_says_why(
    dists: FakeDists, body: str, reason: str
) -> None:
    install_ipam_plugin(dists, "libnet-broken", "broken", body=body)
    with libnet.Controller() as c:
        with pytest.raises(UnknownDriverError) as info:
            c.new_network("null", "none", ipam={"driver": "broken"})
        message = str(info.value)
        assert "IPAM driver 'broken' is not available" in message and reason in message
        assert c.networks() == []
        (row,) = rows(c, "broken")
        assert row.status == "failed" and reason in (row.error or "")
        assert c._ipam_registry.get("broken") is None and c._ipam_registry.get("other") is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"plugins_deny": ["keep"]},
        {"plugins_deny": ["libnet_keep"]},  # the distribution, normalised
        {"plugins_allow": ["something-else"]},
    ],
    ids=["deny-entry-point", "deny-distribution", "not-allowed"],
)
def test_allow_and_deny_lists_apply_to_ipam_plugins(
    dists: FakeDists, kwargs: dict[str, Any]
) -> None:
    module = install_ipam_plugin(dists, "libnet-keep", "keep")
    with libnet.Controller(**kwargs) as c:
        (row,) = rows(c, "keep")
        assert row.status == "disabled"
        with pytest.raises(UnknownDriverError, match="is disabled"):
            c.new_network("null", "none", ipam=KEEP)
        assert not dists.imported(module) and c.networks() == []


def test_the_environment_lists_apply_to_ipam_plugins(
    dists: FakeDists, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_ipam_plugin(dists, "libnet-keep", "keep")
    monkeypatch.setenv("LIBNET_DISABLE_PLUGINS", "libnet-keep")
    with libnet.Controller() as c:
        assert [r.status for r in rows(c, "keep")] == ["disabled"]


def test_plugins_off_finds_no_ipam_plugin(dists: FakeDists) -> None:
    install_ipam_plugin(dists, "libnet-keep", "keep")
    with libnet.Controller(plugins="off") as c:
        assert rows(c, "keep") == []
        with pytest.raises(UnknownDriverError, match="no IPAM driver named 'keep'"):
            c.new_network("null", "none", ipam=KEEP)


# -- two processes on one state directory ----------------------------------------------

_ALLOCATOR = """
import json, sys, time
from pathlib import Path
import libnet

state, name, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
with libnet.Controller(state_dir=state, plugins="off") as c:
    net = c.network("shared")
    (state.parent / f"ready-{name}").touch()
    while not (state.parent / "go").exists():
        time.sleep(0.001)
    got = {}
    for i in range(count):
        got[f"{name}-{i}"] = net.create_endpoint(f"{name}-{i}").info()["address"]
        if i % 10 == 9:  # give one back now and then, for the other process to take
            net.endpoint(f"{name}-{i - 5}").delete()
            del got[f"{name}-{i - 5}"]
(state.parent / f"got-{name}.json").write_text(json.dumps(sorted(got.values())))
"""


@pytest.mark.slow
def test_two_processes_never_give_two_endpoints_one_address(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with libnet.Controller(state_dir=state, plugins="off") as c:
        c.new_network("null", "shared", ipam=subnet("10.30.0.0/22"))
    names = ("a", "b")
    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(_ALLOCATOR), str(state), n, "60"])
        for n in names
    ]
    try:
        deadline = time.monotonic() + 60
        while not all((tmp_path / f"ready-{n}").exists() for n in names):
            assert time.monotonic() < deadline, "the subprocesses did not start"
            assert all(p.poll() is None for p in procs), "a subprocess failed"
            time.sleep(0.01)
        (tmp_path / "go").touch()
        assert [p.wait(120) for p in procs] == [0, 0]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    got = [json.loads((tmp_path / f"got-{n}.json").read_text()) for n in names]
    union = set(got[0]) | set(got[1])
    assert len(union) == len(got[0]) + len(got[1]) == 108, "an address was given twice"
    with libnet.Controller(state_dir=state, plugins="off") as c:
        recorded = {e.info()["address"] for e in c.network("shared").endpoints()}
        env = _env(c, state)
        held = set(env.held()["10.30.0.0/22"])
    assert recorded == union
    assert held == union | {"10.30.0.1/22"}
