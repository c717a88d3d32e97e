"""validate_pool_config and PoolSpec: bad input is refused with a message naming it."""

from __future__ import annotations

import re

import pytest

from libnet.errors import BadRequestError, InvalidAddressError, InvalidPoolError
from libnet.ipam import DEFAULT_GLOBAL_POOLS, DEFAULT_LOCAL_POOLS, PoolConfig, PoolSpec
from libnet.ipam import validate_pool_config as validate
from libnet.ipam._config import host_range


def test_a_full_ipv4_configuration_is_normalised() -> None:
    cfg = validate(
        "10.1.0.0/16",
        ip_range="10.1.4.0/24",
        gateway="10.1.0.1",
        aux_addresses={"router": "10.1.0.2", "dns": "10.1.0.3"},
    )
    assert cfg == PoolConfig(
        "10.1.0.0/16", "10.1.4.0/24", "10.1.0.1", {"router": "10.1.0.2", "dns": "10.1.0.3"}
    )
    assert cfg.to_dict() == {
        "subnet": "10.1.0.0/16",
        "ip_range": "10.1.4.0/24",
        "gateway": "10.1.0.1",
        "aux_addresses": {"router": "10.1.0.2", "dns": "10.1.0.3"},
        "v6": False,
    }


def test_ipv6_configuration_is_normalised() -> None:
    cfg = validate("2001:DB8::/64", "2001:db8::0:0/80", "2001:db8:0::1", {"a": "2001:db8::a"}, True)
    assert cfg == PoolConfig(
        "2001:db8::/64", "2001:db8::/80", "2001:db8::1", {"a": "2001:db8::a"}, True
    )


def test_nothing_given_means_a_default_pool() -> None:
    assert validate() == PoolConfig()
    assert validate("", "", None, {}, v6=True) == PoolConfig(v6=True)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"subnet": "10.0.0.0"}, InvalidPoolError, "'10.0.0.0' is not a CIDR"),
        ({"subnet": "10.0.0.0/33"}, InvalidPoolError, "is not a CIDR"),
        ({"subnet": "banana/8"}, InvalidPoolError, "is not a CIDR"),
        ({"subnet": "10.0.0.5/24"}, InvalidPoolError, "host bits set; it should be 10.0.0.0/24"),
        ({"subnet": "2001:db8::/64"}, InvalidPoolError, "IPv6 subnets need IPv6 enabled"),
        ({"subnet": "10.0.0.0/8", "v6": True}, InvalidPoolError, "where an IPv6 one is expected"),
        (
            {"ip_range": "10.0.0.0/24"},
            InvalidPoolError,
            "the IPv4 pool has an ip-range but no subnet: give the IPv4 subnet too",
        ),
        ({"gateway": "10.0.0.1"}, InvalidPoolError, "the IPv4 pool has a gateway but no subnet"),
        (
            {"aux_addresses": {"a": "10.0.0.1"}},
            InvalidPoolError,
            "the IPv4 pool has auxiliary addresses but no subnet",
        ),
        (
            {"subnet": "10.0.0.0/24", "ip_range": "10.0.1.0/25"},
            InvalidPoolError,
            "ip-range 10.0.1.0/25 is not inside subnet 10.0.0.0/24",
        ),
        ({"subnet": "10.0.0.0/24", "ip_range": "10.0.0.0/16"}, InvalidPoolError, "not inside"),
        (
            {"subnet": "10.0.0.0/24", "ip_range": "10.0.0.0/32"},
            InvalidPoolError,
            "holds no address",
        ),
        ({"subnet": "10.0.0.0/24", "ip_range": "10.0.0.1/24"}, InvalidPoolError, "host bits"),
        (
            {"subnet": "10.0.0.0/24", "ip_range": "2001:db8::/64"},
            InvalidPoolError,
            "IPv6 network where an IPv4",
        ),
        (
            {"subnet": "10.0.0.0/24", "gateway": "10.0.1.1"},
            InvalidAddressError,
            "gateway 10.0.1.1 is not in subnet 10.0.0.0/24",
        ),
        (
            {"subnet": "10.0.0.0/24", "gateway": "10.0.0.0"},
            InvalidAddressError,
            "gateway 10.0.0.0 is the network address",
        ),
        (
            {"subnet": "10.0.0.0/24", "gateway": "10.0.0.255"},
            InvalidAddressError,
            "broadcast address",
        ),
        (
            {"subnet": "10.0.0.0/24", "gateway": "10.0.0.1/24"},
            InvalidAddressError,
            "without a prefix length",
        ),
        (
            {"subnet": "10.0.0.0/24", "gateway": "nope"},
            InvalidAddressError,
            "'nope' is not an IP address",
        ),
        (
            {"subnet": "10.0.0.0/24", "gateway": "2001:db8::1"},
            InvalidAddressError,
            "IPv6 address, but the subnet 10.0.0.0/24 is IPv4",
        ),
        (
            {"subnet": "2001:db8::/64", "gateway": "2001:db8::", "v6": True},
            InvalidAddressError,
            "network address",
        ),
        (
            {"subnet": "10.0.0.0/24", "aux_addresses": {"r": "10.0.9.1"}},
            InvalidAddressError,
            "auxiliary address r=10.0.9.1 is not in subnet",
        ),
        (
            {"subnet": "10.0.0.0/24", "aux_addresses": {"r": "x"}},
            InvalidAddressError,
            "auxiliary address 'r': 'x' is not an IP address",
        ),
        (
            {"subnet": "10.0.0.0/24", "aux_addresses": {"": "10.0.0.3"}},
            InvalidPoolError,
            "name '' must be",
        ),
        (
            {"subnet": "10.0.0.0/24", "gateway": "10.0.0.3", "aux_addresses": {"r": "10.0.0.3"}},
            InvalidAddressError,
            "r=10.0.0.3 is also the gateway",
        ),
        (
            {"subnet": "10.0.0.0/24", "aux_addresses": {"a": "10.0.0.3", "b": "10.0.0.3"}},
            InvalidAddressError,
            "b=10.0.0.3 is also auxiliary address 'a'",
        ),
    ],
)
def test_bad_configurations_are_refused(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=re.escape(match)) as info:
        validate(**kwargs)  # type: ignore[arg-type]
    assert isinstance(info.value, BadRequestError)


def test_gateway_may_be_outside_the_ip_range() -> None:
    cfg = validate("10.0.0.0/16", "10.0.5.0/24", "10.0.0.1", {"x": "10.0.200.1"})
    assert cfg.gateway == "10.0.0.1"


@pytest.mark.parametrize(
    ("v6", "prefix", "expected"),
    [
        (False, 24, (1, 254)),
        (False, 30, (1, 2)),
        (False, 31, (0, 1)),
        (False, 32, (0, 0)),
        (True, 64, (1, 2**64 - 1)),
        (True, 126, (1, 3)),
        (True, 127, (0, 1)),
        (True, 128, (0, 0)),
    ],
)
def test_host_range(v6: bool, prefix: int, expected: tuple[int, int]) -> None:
    assert host_range(v6, prefix) == expected


def test_point_to_point_subnets_accept_every_address_as_gateway() -> None:
    assert validate("10.0.0.0/31", gateway="10.0.0.0").gateway == "10.0.0.0"
    assert validate("10.0.0.4/32", gateway="10.0.0.4").gateway == "10.0.0.4"


# Default pool lists.


def test_docker_default_pools() -> None:
    assert [p.base for p in DEFAULT_LOCAL_POOLS[:2]] == ["172.17.0.0/16", "172.18.0.0/16"]
    assert DEFAULT_LOCAL_POOLS[-2] == PoolSpec("172.31.0.0/16", 16)
    assert DEFAULT_LOCAL_POOLS[-1] == PoolSpec("192.168.0.0/16", 20)
    assert len(DEFAULT_LOCAL_POOLS) == 16
    assert DEFAULT_GLOBAL_POOLS[0] == PoolSpec("10.0.0.0/8", 24)
    assert len(DEFAULT_GLOBAL_POOLS) == 1


def test_pool_spec_forms() -> None:
    spec = PoolSpec("10.0.0.0/8", 24)
    assert PoolSpec.of(spec) is spec
    assert PoolSpec.of({"base": "10.0.0.0/8", "size": 24}) == spec
    assert PoolSpec.of(("10.0.0.0/8", 24)) == spec
    assert PoolSpec.many([("fd00::/48", 64)])[0].v6
    assert not spec.v6


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (("10.0.0.0/8", 7), "does not fit base 10.0.0.0/8"),
        (("10.0.0.0/8", 33), "does not fit"),
        (("10.0.0.1/8", 24), "host bits"),
        (("10.0.0.0/8", "24"), "must be a prefix length"),
        ({"base": "10.0.0.0/8"}, "exactly the keys"),
        ({"base": "10.0.0.0/8", "size": 24, "x": 1}, "exactly the keys"),
        ("10.0.0.0/8", "must be a PoolSpec"),
    ],
)
def test_bad_pool_specs(value: object, match: str) -> None:
    with pytest.raises(InvalidPoolError, match=re.escape(match)):
        PoolSpec.of(value)  # type: ignore[arg-type]
