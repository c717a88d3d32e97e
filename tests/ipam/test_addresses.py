"""The default IPAM driver's addresses: gateway, aux, preferred, exhaustion, release."""

from __future__ import annotations

import re

import pytest

from libnet.errors import (
    AddressInUseError,
    AddressNotAllocatedError,
    BadRequestError,
    ForbiddenError,
    InvalidAddressError,
    NotFoundError,
    PoolExhaustedError,
)
from libnet.ipam import (
    ALLOC_SERIAL,
    GATEWAY_OPTIONS,
    NETWORK_NAME_OPTION,
    DefaultIpam,
    validate_pool_config,
)
from libnet.store import Store

LOCAL = "LocalDefault"


def _pool(ipam: DefaultIpam, pool: str, sub_pool: str = "", name: str = "net1") -> str:
    v6 = ":" in pool
    return ipam.request_pool(LOCAL, pool, sub_pool, {NETWORK_NAME_OPTION: name}, v6)[0]


def _addr(ipam: DefaultIpam, pool_id: str, address: str | None = None) -> str:
    got, data = ipam.request_address(pool_id, address)
    assert got is not None
    assert data == {}
    return got


def test_gateway_is_the_first_host_address_then_dynamic_addresses_follow(ipam: DefaultIpam) -> None:
    pool_id = _pool(ipam, "10.0.0.0/24")
    assert ipam.request_address(pool_id, None, GATEWAY_OPTIONS) == ("10.0.0.1/24", {})
    assert [_addr(ipam, pool_id) for _ in range(3)] == ["10.0.0.2/24", "10.0.0.3/24", "10.0.0.4/24"]


def test_a_given_gateway_and_aux_addresses_are_reserved(ipam: DefaultIpam) -> None:
    cfg = validate_pool_config("10.0.0.0/24", "", "10.0.0.254", {"a": "10.0.0.1", "b": "10.0.0.3"})
    pool_id = _pool(ipam, cfg.subnet, cfg.ip_range)
    assert ipam.request_address(pool_id, cfg.gateway, GATEWAY_OPTIONS)[0] == "10.0.0.254/24"
    for aux in cfg.aux_addresses.values():
        ipam.request_address(pool_id, aux)
    assert [_addr(ipam, pool_id) for _ in range(3)] == ["10.0.0.2/24", "10.0.0.4/24", "10.0.0.5/24"]
    with pytest.raises(AddressInUseError, match=r"address 10\.0\.0\.254 is already in use"):
        ipam.request_address(pool_id, "10.0.0.254")


def test_gateway_of_a_pool_with_an_ip_range_is_still_the_first_host_address(
    ipam: DefaultIpam,
) -> None:
    pool_id = _pool(ipam, "10.0.0.0/16", "10.0.5.0/24")
    assert ipam.request_address(pool_id, None, GATEWAY_OPTIONS)[0] == "10.0.0.1/16"
    assert _addr(ipam, pool_id) == "10.0.5.0/16"  # the range's own network address is usable


def test_gateway_request_when_the_first_address_is_taken_gets_the_next(ipam: DefaultIpam) -> None:
    pool_id = _pool(ipam, "10.0.0.0/24")
    _addr(ipam, pool_id, "10.0.0.1")
    assert ipam.request_address(pool_id, None, GATEWAY_OPTIONS)[0] == "10.0.0.2/24"


def test_sub_pool_bounds_dynamic_addresses_but_not_requested_ones(ipam: DefaultIpam) -> None:
    pool_id = _pool(ipam, "10.0.0.0/24", "10.0.0.64/30", name="ranged")
    got = [_addr(ipam, pool_id) for _ in range(4)]
    assert got == ["10.0.0.64/24", "10.0.0.65/24", "10.0.0.66/24", "10.0.0.67/24"]
    with pytest.raises(PoolExhaustedError) as info:
        ipam.request_address(pool_id)
    assert "pool 10.0.0.0/24 (ip-range 10.0.0.64/30) of network 'ranged'" in str(info.value)
    assert "all 4 addresses are in use" in str(info.value)
    assert _addr(ipam, pool_id, "10.0.0.200") == "10.0.0.200/24"
    ipam.release_address(pool_id, "10.0.0.65/24")
    assert _addr(ipam, pool_id) == "10.0.0.65/24"


def test_sub_pool_at_the_edges_excludes_network_and_broadcast(ipam: DefaultIpam) -> None:
    pool_id = _pool(ipam, "10.0.0.0/24", "10.0.0.0/24")
    got = {_addr(ipam, pool_id) for _ in range(254)}
    assert "10.0.0.0/24" not in got
    assert "10.0.0.255/24" not in got
    with pytest.raises(PoolExhaustedError):
        ipam.request_address(pool_id)


def test_preferred_address(ipam: DefaultIpam) -> None:
    pool_id = _pool(ipam, "10.0.0.0/24")
    assert _addr(ipam, pool_id, "10.0.0.77") == "10.0.0.77/24"
    assert _addr(ipam, pool_id, "10.0.0.78/24") == "10.0.0.78/24"
    assert _addr(ipam, pool_id) == "10.0.0.1/24"
    with pytest.raises(AddressInUseError) as info:
        ipam.request_address(pool_id, "10.0.0.77")
    assert str(info.value).startswith(
        "address 10.0.0.77 is already in use in pool 10.0.0.0/24 of network 'net1'"
    )
    assert isinstance(info.value, ForbiddenError)


@pytest.mark.parametrize(
    ("address", "match"),
    [
        ("10.0.1.1", "address 10.0.1.1 is not in pool 10.0.0.0/24 of network 'net1'"),
        ("10.0.0.0", "is the network address of pool 10.0.0.0/24"),
        ("10.0.0.255", "is the broadcast address of pool"),
        ("10.0.0.300", "'10.0.0.300' is not an IP address"),
        (
            "10.0.0.5/16",
            "has another prefix length than pool 10.0.0.0/24 of network 'net1'; give the "
            "address alone or with /24",
        ),
        ("2001:db8::1", "is an IPv6 address, but pool 10.0.0.0/24 of network 'net1' is IPv4"),
        ("010.0.0.5", "is not an IP address"),
    ],
)
def test_bad_preferred_addresses(ipam: DefaultIpam, address: str, match: str) -> None:
    pool_id = _pool(ipam, "10.0.0.0/24")
    with pytest.raises(InvalidAddressError, match=re.escape(match)) as info:
        ipam.request_address(pool_id, address)
    assert isinstance(info.value, BadRequestError)
    with pytest.raises(InvalidAddressError, match=re.escape(match)):
        ipam.release_address(pool_id, address)
    assert ipam.addresses(pool_id) == []


def test_releasing_twice_or_never_allocated_is_a_clear_error(ipam: DefaultIpam) -> None:
    pool_id = _pool(ipam, "10.0.0.0/24")
    address = _addr(ipam, pool_id)
    ipam.release_address(pool_id, address)
    with pytest.raises(AddressNotAllocatedError) as info:
        ipam.release_address(pool_id, address)
    assert str(info.value) == (
        "address 10.0.0.1/24 is not allocated in pool 10.0.0.0/24 of network 'net1': it was "
        "released already or never handed out"
    )
    assert isinstance(info.value, NotFoundError)
    with pytest.raises(AddressNotAllocatedError, match=r"10\.0\.0\.9 is not allocated"):
        ipam.release_address(pool_id, "10.0.0.9")


def test_exhausting_a_slash_24(ipam: DefaultIpam) -> None:
    pool_id = _pool(ipam, "10.0.0.0/24", name="small")
    got = [_addr(ipam, pool_id) for _ in range(254)]
    assert got == [f"10.0.0.{i}/24" for i in range(1, 255)]
    with pytest.raises(PoolExhaustedError) as info:
        ipam.request_address(pool_id)
    assert str(info.value) == (
        "no free address left in pool 10.0.0.0/24 of network 'small': all 254 addresses are "
        "in use; release some or use a bigger subnet"
    )
    with pytest.raises(PoolExhaustedError, match="for the gateway"):
        ipam.request_address(pool_id, None, GATEWAY_OPTIONS)
    ipam.release_address(pool_id, "10.0.0.100")
    assert _addr(ipam, pool_id) == "10.0.0.100/24"
    with pytest.raises(PoolExhaustedError):
        ipam.request_address(pool_id)


def _exhaust_slash_16(ipam: DefaultIpam, pool_id: str) -> None:
    got = [_addr(ipam, pool_id) for _ in range(65534)]
    assert len(set(got)) == 65534
    assert got[0] == "10.9.0.1/16"
    assert got[-1] == "10.9.255.254/16"
    with pytest.raises(PoolExhaustedError, match="all 65534 addresses are in use"):
        ipam.request_address(pool_id)
    for released in ("10.9.128.0", "10.9.0.255", "10.9.255.254"):
        ipam.release_address(pool_id, released)
        assert _addr(ipam, pool_id) == f"{released}/16"
        with pytest.raises(PoolExhaustedError):
            ipam.request_address(pool_id)


def test_exhausting_a_slash_16_in_memory() -> None:
    ipam = DefaultIpam()
    _exhaust_slash_16(ipam, _pool(ipam, "10.9.0.0/16"))


def test_exhausting_a_slash_16_on_sqlite_in_one_transaction(backend: Store) -> None:
    ipam = DefaultIpam(backend)
    pool_id = _pool(ipam, "10.9.0.0/16")
    with backend.transaction() as tx:
        bound = ipam.bind(tx)
        _exhaust_slash_16(bound, pool_id)  # type: ignore[arg-type]
    assert len(ipam.addresses(pool_id)) == 65534
    assert len(backend.list("ipam/default/bits/")) == 64


def test_releasing_makes_exactly_that_address_available(ipam: DefaultIpam) -> None:
    pool_id = _pool(ipam, "10.0.0.0/28")
    got = [_addr(ipam, pool_id) for _ in range(14)]
    for address in (got[9], got[3], got[12]):
        ipam.release_address(pool_id, address)
    assert sorted([_addr(ipam, pool_id) for _ in range(3)]) == sorted([got[3], got[9], got[12]])
    with pytest.raises(PoolExhaustedError):
        ipam.request_address(pool_id)


@pytest.mark.parametrize(
    ("pool", "expected"),
    [
        ("10.0.0.0/31", ["10.0.0.0/31", "10.0.0.1/31"]),
        ("10.0.0.7/32", ["10.0.0.7/32"]),
        ("10.0.0.4/30", ["10.0.0.5/30", "10.0.0.6/30"]),
        ("2001:db8::/127", ["2001:db8::/127", "2001:db8::1/127"]),
        ("2001:db8::5/128", ["2001:db8::5/128"]),
        ("2001:db8::/126", ["2001:db8::1/126", "2001:db8::2/126", "2001:db8::3/126"]),
    ],
)
def test_tiny_subnets(ipam: DefaultIpam, pool: str, expected: list[str]) -> None:
    pool_id = _pool(ipam, pool)
    assert [_addr(ipam, pool_id) for _ in expected] == expected
    with pytest.raises(PoolExhaustedError):
        ipam.request_address(pool_id)


def test_ipv6_pool(ipam: DefaultIpam) -> None:
    pool_id = _pool(ipam, "2001:db8:1::/64", name="six")
    assert ipam.request_address(pool_id, None, GATEWAY_OPTIONS)[0] == "2001:db8:1::1/64"
    assert _addr(ipam, pool_id) == "2001:db8:1::2/64"
    top = "2001:db8:1:0:ffff:ffff:ffff:ffff"
    assert _addr(ipam, pool_id, top) == f"{top}/64"  # no broadcast address in IPv6
    assert _addr(ipam, pool_id, "2001:DB8:1:0::abcd") == "2001:db8:1::abcd/64"
    with pytest.raises(AddressInUseError):
        ipam.request_address(pool_id, "2001:db8:1::abcd")
    with pytest.raises(InvalidAddressError, match="network address"):
        ipam.request_address(pool_id, "2001:db8:1::")
    with pytest.raises(InvalidAddressError, match="is an IPv4 address, but pool"):
        ipam.request_address(pool_id, "10.0.0.1")
    ipam.release_address(pool_id, f"{top}/64")
    assert ipam.addresses(pool_id) == [
        "2001:db8:1::1/64",
        "2001:db8:1::2/64",
        "2001:db8:1::abcd/64",
    ]


def test_ipv6_slash_64_stores_only_what_is_allocated(backend: Store) -> None:
    ipam = DefaultIpam(backend)
    pool_id = _pool(ipam, "fd00:1::/64")
    for i in range(1, 51):
        _addr(ipam, pool_id, f"fd00:1::{i:x}:0:0:1")  # 50 addresses far apart
    for _ in range(2000):
        _addr(ipam, pool_id)
    chunks = backend.list("ipam/default/bits/")
    assert len(chunks) == 2 + 50  # 2000 low addresses in two chunks, one chunk each else
    assert sum(len(c.value) for c in chunks) <= 52 * 128


def test_serial_allocation_goes_round_robin(ipam: DefaultIpam) -> None:
    pool_id = ipam.request_pool(LOCAL, "10.0.0.0/29", options={ALLOC_SERIAL: "true"})[0]
    got = [_addr(ipam, pool_id) for _ in range(3)]
    assert got == ["10.0.0.1/29", "10.0.0.2/29", "10.0.0.3/29"]
    ipam.release_address(pool_id, "10.0.0.2")
    assert _addr(ipam, pool_id) == "10.0.0.4/29"  # not the lowest free
    assert [_addr(ipam, pool_id) for _ in range(2)] == ["10.0.0.5/29", "10.0.0.6/29"]
    assert _addr(ipam, pool_id) == "10.0.0.2/29"  # wrapped around
    with pytest.raises(PoolExhaustedError):
        ipam.request_address(pool_id)
    # The cursor is kept in the store: a new driver continues after it.
    ipam.release_address(pool_id, "10.0.0.1")
    ipam.release_address(pool_id, "10.0.0.5")
    assert _addr(DefaultIpam(ipam.store), pool_id) == "10.0.0.5/29"
