"""Addresses from the command line: ``network create``'s pools, ``endpoint create --ip``,
``libnet ipam ls``, and bad input reported on one line with nothing changed."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest
from _dists import FakeDists
from _drivers import LOCAL, RecordingDriver

from libnet.cli._ipam import pool_configs
from libnet.errors import InvalidAddressError, InvalidPoolError, LibnetError

from .conftest import Libnet, Result, clean_env, run

pytestmark = pytest.mark.slow

DUAL = (
    "--ipv6",
    "--subnet", "10.1.0.0/24", "--subnet", "fd00:1::/64",
    "--gateway", "fd00:1::fe", "--gateway", "10.1.0.254",  # matched by subnet, not by order
    "--ip-range", "10.1.0.128/25",
    "--aux-address", "router=10.1.0.2", "--aux-address", "router6=fd00:1::2",
)  # fmt: skip


def inspect(libnet: Libnet, network: str) -> dict[str, Any]:
    (net,) = libnet("network", "inspect", network).json()
    assert isinstance(net, dict)
    return net


def test_network_create_with_pools_as_docker_takes_them(libnet: Libnet) -> None:
    libnet("network", "create", "-d", "null", *DUAL, "lan").ok()
    net = inspect(libnet, "lan")
    assert net["enable_ipv6"] is True
    assert net["ipam"] == {
        "driver": "default",  # giving pools to a null network implies the default driver
        "options": {},
        "config": [
            {
                "subnet": "10.1.0.0/24",
                "ip_range": "10.1.0.128/25",
                "gateway": "10.1.0.254",
                "aux_addresses": {"router": "10.1.0.2"},
            },
            {
                "subnet": "fd00:1::/64",
                "ip_range": None,
                "gateway": "fd00:1::fe",
                "aux_addresses": {"router6": "fd00:1::2"},
            },
        ],
    }
    header, row = libnet("network", "ls").lines()  # unchanged by addresses
    assert header.split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE", "STATUS"]
    assert row.split()[1:] == ["lan", "null", "local", "ok"]


def test_endpoint_create_takes_the_next_or_the_given_addresses(libnet: Libnet) -> None:
    libnet("network", "create", "-d", "null", *DUAL, "lan").ok()
    (web_id,) = libnet("endpoint", "create", "lan", "web").lines()
    (db_id,) = libnet(
        "endpoint", "create", "lan", "db",
        "--ip", "10.1.0.10", "--ip6", "fd00:1::10", "--mac-address", "02:00:00:00:00:10",
    ).lines()  # fmt: skip
    web, db = libnet("endpoint", "inspect", "lan", "web", "db").json()
    assert (web["address"], web["address_ipv6"], web["mac_address"]) == (
        "10.1.0.128/24",  # the first address of the ip-range
        "fd00:1::1/64",
        "02:42:0a:01:00:80",  # Docker's MAC, from the IPv4 address
    )
    assert (db["address"], db["address_ipv6"], db["mac_address"]) == (
        "10.1.0.10/24",
        "fd00:1::10/64",
        "02:00:00:00:00:10",
    )
    endpoints = inspect(libnet, "lan")["endpoints"]
    assert {e["name"]: e["address"] for e in endpoints.values()} == {
        "web": "10.1.0.128/24",
        "db": "10.1.0.10/24",
    }
    assert set(endpoints) == {web_id, db_id}
    libnet("endpoint", "rm", "lan", "web").ok()
    libnet("endpoint", "create", "lan", "again").ok()
    (again,) = libnet("endpoint", "inspect", "lan", "again").json()
    assert again["address"] == "10.1.0.128/24"


def test_ipam_driver_and_options_reach_the_driver(libnet: Libnet) -> None:
    libnet(
        "network", "create", "-d", "host", "--ipam-driver", "default",
        "--ipam-opt", "com.docker.network.ipam.serial=true", "serial",
    ).ok()  # fmt: skip
    ipam = inspect(libnet, "serial")["ipam"]
    assert ipam["driver"] == "default"
    assert ipam["options"] == {"com.docker.network.ipam.serial": "true"}
    subnet = ipam["config"][0]["subnet"]
    assert subnet == "172.17.0.0/16"  # the first default pool
    for name in ("a", "b"):
        libnet("endpoint", "create", "serial", name).ok()
    libnet("endpoint", "rm", "serial", "a").ok()
    libnet("endpoint", "create", "serial", "c").ok()
    (c,) = libnet("endpoint", "inspect", "serial", "c").json()
    assert c["address"] == "172.17.0.4/16"  # round-robin: not the address a gave back


def test_null_and_host_networks_take_no_addresses_unless_asked(libnet: Libnet) -> None:
    libnet("network", "create", "-d", "null", "none").ok()
    assert inspect(libnet, "none")["ipam"]["driver"] == "null"
    libnet("endpoint", "create", "none", "ep").ok()
    (ep,) = libnet("endpoint", "inspect", "none", "ep").json()
    assert (ep["address"], ep["mac_address"]) == (None, None)


# -- bad input ----------------------------------------------------------------------------

BAD_NETWORKS = {
    "invalid-cidr": (("--subnet", "10.5.0.0/33"), "subnet '10.5.0.0/33' is not a CIDR"),
    "host-bits": (("--subnet", "10.5.0.1/24"), "it has host bits set; it should be 10.5.0.0/24"),
    "gateway-outside": (
        ("--subnet", "10.5.0.0/24", "--gateway", "10.6.0.1"),
        "gateway 10.6.0.1 is in none of the subnets (10.5.0.0/24)",
    ),
    "gateway-is-network-address": (
        ("--subnet", "10.5.0.0/24", "--gateway", "10.5.0.0"),
        "gateway 10.5.0.0 is the network address of subnet 10.5.0.0/24",
    ),
    "ip-range-outside": (
        ("--subnet", "10.5.0.0/24", "--ip-range", "10.6.0.0/25"),
        "ip-range 10.6.0.0/25 is in none of the subnets (10.5.0.0/24)",
    ),
    "ip-range-too-big": (
        ("--subnet", "10.5.0.0/24", "--ip-range", "10.5.0.0/16"),
        "ip-range 10.5.0.0/16 is not inside subnet 10.5.0.0/24",
    ),
    "aux-outside": (
        ("--subnet", "10.5.0.0/24", "--aux-address", "printer=10.6.0.9"),
        "auxiliary address printer=10.6.0.9 is in none of the subnets (10.5.0.0/24)",
    ),
    "aux-without-subnet": (
        (
            "--aux-address",
            "printer=10.6.0.9",
        ),
        "auxiliary address printer=10.6.0.9 needs the --subnet it belongs to",
    ),
    "more-gateways-than-subnets": (
        ("--subnet", "10.5.0.0/24", "--gateway", "10.5.0.1", "--gateway", "10.5.0.2"),
        "every --ip-range and --gateway needs a --subnet it belongs to: got 1 subnet, "
        "0 ip-ranges and 2 gateways",
    ),
    "two-gateways-in-one-subnet": (
        (
            "--subnet",
            "10.5.0.0/24",
            "--subnet",
            "10.8.0.0/24",
            "--gateway",
            "10.5.0.1",
            "--gateway",
            "10.5.0.2",
        ),
        "subnet 10.5.0.0/24 has two gateways, 10.5.0.1 and 10.5.0.2",
    ),
    "overlapping-subnets": (
        ("--subnet", "10.5.0.0/24", "--subnet", "10.5.0.0/16"),
        "subnets 10.5.0.0/24 and 10.5.0.0/16 overlap",
    ),
    "overlaps-another-network": (
        ("--subnet", "10.1.0.0/16"),
        "pool 10.1.0.0/16 overlaps pool 10.1.0.0/24 of network 'taken'",
    ),
    "ipv6-without-ipv6": (
        ("--subnet", "fd00:5::/64"),
        "has IPv6 pool fd00:5::/64 but IPv6 is not enabled; enable it (--ipv6)",
    ),
    "gateway-with-prefix": (
        ("--subnet", "10.5.0.0/24", "--gateway", "10.5.0.1/24"),
        "gateway '10.5.0.1/24' is not an IP address (give it without a prefix length)",
    ),
    "unknown-ipam-driver": (
        ("--ipam-driver", "nope"),
        "no IPAM driver named 'nope' (available: default, null)",
    ),
}


@pytest.fixture
def taken(libnet: Libnet) -> dict[str, Any]:
    """A null network ``taken`` on 10.1.0.0/24 with one endpoint; what inspect shows."""
    libnet("network", "create", "-d", "null", "--subnet", "10.1.0.0/24", "taken").ok()
    libnet("endpoint", "create", "taken", "ep").ok()
    return inspect(libnet, "taken")


def unchanged(libnet: Libnet, taken: dict[str, Any]) -> None:
    assert libnet("network", "ls", "--json").json() == [taken]


@pytest.mark.parametrize("case", sorted(BAD_NETWORKS))
def test_bad_pools_are_one_line_errors_and_change_nothing(
    libnet: Libnet, taken: dict[str, Any], case: str
) -> None:
    args, fragment = BAD_NETWORKS[case]
    libnet("network", "create", "-d", "host", *args, "bad").error(fragment)
    unchanged(libnet, taken)


def test_a_bad_aux_address_argument_is_a_usage_error(libnet: Libnet) -> None:
    libnet("network", "create", "-d", "host", "--aux-address", "10.5.0.9", "x").usage_error(
        "'10.5.0.9' is not KEY=VALUE"
    )


BAD_ENDPOINTS = {
    "address-in-use": (("--ip", "10.1.0.2"), "address 10.1.0.2 is already in use"),
    "gateway-in-use": (("--ip", "10.1.0.1"), "asks for 10.1.0.1, which is the network's gateway"),
    "outside-the-pool": (("--ip", "10.9.0.9"), "address 10.9.0.9 is not in pool 10.1.0.0/24"),
    "not-an-address": (("--ip", "ten"), "'ten' is not an IP address"),
    "ipv6-on-ipv4-network": (("--ip6", "fd00::9"), "asks for fd00::9 but its network has no ipv6"),
    "bad-mac": (("--mac-address", "02:00"), "'02:00' is not a MAC address"),
}


@pytest.mark.parametrize("case", sorted(BAD_ENDPOINTS))
def test_bad_endpoint_addresses_are_one_line_errors_and_change_nothing(
    libnet: Libnet, taken: dict[str, Any], case: str
) -> None:
    args, fragment = BAD_ENDPOINTS[case]
    libnet("endpoint", "create", "taken", "bad", *args).error(fragment)
    unchanged(libnet, taken)


def test_an_exhausted_pool_names_network_and_pool(libnet: Libnet) -> None:
    libnet("network", "create", "-d", "host", "--subnet", "10.7.0.0/30", "tiny").ok()
    libnet("endpoint", "create", "tiny", "only").ok()
    before = inspect(libnet, "tiny")
    libnet("endpoint", "create", "tiny", "more").error(
        "endpoint 'more' on network 'tiny'", "no free address left in pool 10.7.0.0/30"
    )
    assert inspect(libnet, "tiny") == before


def test_exhausted_default_pools_are_one_line_errors(libnet: Libnet) -> None:
    with libnet.api() as controller:  # two networks covering Docker's default local pools
        controller.register_driver("filler", RecordingDriver(), LOCAL)
        for name, cidr in (("fill-a", "172.16.0.0/12"), ("fill-b", "192.168.0.0/16")):
            controller.new_network("filler", name, ipam={"config": [{"subnet": cidr}]})
    before = libnet("network", "ls", "--json").json()
    libnet("network", "create", "-d", "null", "--ipam-driver", "default", "x").error(
        "all default IPv4 address pools of address space LocalDefault are in use"
    )
    assert libnet("network", "ls", "--json").json() == before
    libnet("network", "create", "-d", "null", "--subnet", "10.9.0.0/24", "x").ok()


# -- libnet ipam ls -------------------------------------------------------------------------


def test_ipam_ls_lists_the_built_in_drivers(libnet: Libnet) -> None:
    header, *rows = libnet("ipam", "ls").lines()
    assert header.split() == ["NAME", "SOURCE", "STATUS", "REQUIRES", "DISTRIBUTION"]
    assert [row.split() for row in rows] == [
        ["default", "builtin", "ok", "-", "-"],
        ["null", "builtin", "ok", "-", "-"],
    ]
    listed = libnet("ipam", "list", "--json").json()
    assert [(r["name"], r["source"], r["status"]) for r in listed] == [
        ("default", "builtin", "ok"),
        ("null", "builtin", "ok"),
    ]
    assert listed[0]["capability"] == {
        "requires_mac_address": False,
        "requires_request_replay": False,
    }
    assert not libnet.state_dir.exists()  # stateless, as libnet drivers


PLUGIN = """\
import libnet
from libnet.ipam import IpamCapability, NullIpam


@libnet.hookimpl
def libnet_ipam_init(callback, config):
    %s
    callback.register_ipam_driver(%r, NullIpam(), IpamCapability(requires_mac_address=True))
"""


def test_ipam_ls_lists_plugins_failed_ones_included(libnet: Libnet, dists: FakeDists) -> None:
    for dist, name, body in (
        ("libnet-fixed", "fixed", "pass"),
        ("libnet-broken", "broken", "raise RuntimeError('no address plan')"),
    ):
        module = dist.replace("-", "_")
        dists.install(
            dist,
            "2.0",
            entry_points={name: module},
            modules={module: textwrap.dedent(PLUGIN % (body, name))},
            group="libnet.ipam",
        )
    env = clean_env(PYTHONPATH=str(dists.site()))

    def cli(*args: str) -> Result:
        return run("--state-dir", str(libnet.state_dir), *args, env=env, cwd=libnet.cwd)

    listing = cli("ipam", "ls")
    assert listing.returncode == 0, listing
    rows = {line.split()[0]: line.split() for line in listing.stdout.splitlines()[1:]}
    assert rows["fixed"] == ["fixed", "entrypoint", "ok", "mac-address", "libnet-fixed", "2.0"]
    assert rows["broken"][:3] == ["broken", "entrypoint", "failed"]
    assert listing.stderr.splitlines()[-1] == "broken: RuntimeError: no address plan"
    listed = {r["name"]: r for r in json.loads(cli("ipam", "ls", "--json").stdout)}
    assert listed["broken"]["error"] == "RuntimeError: no address plan"
    assert listed["fixed"]["capability"]["requires_mac_address"] is True
    cli("network", "create", "-d", "null", "--ipam-driver", "fixed", "n").ok()
    failed = cli("network", "create", "-d", "host", "--ipam-driver", "broken", "h")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    (error,) = failed.stderr.splitlines()  # once: not logged as a warning as well
    assert error.startswith("libnet: error: IPAM driver 'broken' is not available")
    assert error.endswith("RuntimeError: no address plan")
    assert [n["name"] for n in cli("network", "ls", "--json").json()] == ["n"]


# -- the option matching itself, in process --------------------------------------------


def test_pool_configs_match_each_value_to_the_subnet_containing_it() -> None:
    pools = pool_configs(
        ["fd00:1::/64", "10.1.0.0/16", "10.2.0.0/24"],
        ["10.1.5.0/24"],
        ["10.2.0.9", "fd00:1::1"],
        [("a", "10.1.9.9"), ("b", "10.2.0.7"), ("c", "10.1.9.8")],
    )
    assert pools == [
        {"subnet": "fd00:1::/64", "ip_range": None, "gateway": "fd00:1::1", "aux_addresses": {}},
        {
            "subnet": "10.1.0.0/16",
            "ip_range": "10.1.5.0/24",
            "gateway": None,
            "aux_addresses": {"a": "10.1.9.9", "c": "10.1.9.8"},
        },
        {
            "subnet": "10.2.0.0/24",
            "ip_range": None,
            "gateway": "10.2.0.9",
            "aux_addresses": {"b": "10.2.0.7"},
        },
    ]
    assert pool_configs([]) == []


@pytest.mark.parametrize(
    ("args", "error", "fragment"),
    [
        ((["10.1.0.0/24"], ["10.1.0.0/25", "10.1.0.128/25"]), InvalidPoolError, "every"),
        (
            (["10.1.0.0/24", "10.2.0.0/24"], ["10.1.0.0/25", "10.1.0.128/25"]),
            InvalidPoolError,
            "has two ip-ranges",
        ),
        (
            (["10.1.0.0/24"], [], [], [("a", "10.1.0.5"), ("a", "10.1.0.6")]),
            InvalidAddressError,
            "given twice",
        ),
        ((["10.1.0.0/24"], [], [], [("a", "x")]), InvalidAddressError, "a='x' is not an IP"),
        ((["10.1.0.0/24"], ["fd00::/64"]), InvalidPoolError, "in none of the subnets"),
    ],
)
def test_pool_configs_refuse(
    args: tuple[Any, ...], error: type[LibnetError], fragment: str
) -> None:
    with pytest.raises(error) as info:
        pool_configs(*args)
    assert fragment in str(info.value)
