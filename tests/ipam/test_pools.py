"""The default IPAM driver's pools: defaults, user pools, sub-pools, overlaps, release."""

from __future__ import annotations

import ipaddress
import re

import pytest

from libnet.errors import (
    ForbiddenError,
    InvalidPoolError,
    NotFoundError,
    PoolExhaustedError,
    PoolNotFoundError,
    PoolOverlapError,
)
from libnet.ipam import NETWORK_NAME_OPTION, DefaultIpam, PoolInfo, PoolSpec
from libnet.store import MemoryStore, Store

LOCAL, GLOBAL = "LocalDefault", "GlobalDefault"


def _named(name: str) -> dict[str, str]:
    return {NETWORK_NAME_OPTION: name}


def test_default_address_spaces(ipam: DefaultIpam) -> None:
    assert ipam.get_default_address_spaces() == (LOCAL, GLOBAL)


def test_default_local_pools_come_in_dockers_order(ipam: DefaultIpam) -> None:
    got = [ipam.request_pool(LOCAL)[:2] for _ in range(3)]
    assert got == [
        ("LocalDefault/172.17.0.0/16", "172.17.0.0/16"),
        ("LocalDefault/172.18.0.0/16", "172.18.0.0/16"),
        ("LocalDefault/172.19.0.0/16", "172.19.0.0/16"),
    ]


def test_after_the_172_pools_come_192_168_slash_20s() -> None:
    ipam = DefaultIpam()
    for _ in range(15):
        ipam.request_pool(LOCAL)
    assert ipam.request_pool(LOCAL)[1] == "192.168.0.0/20"
    assert ipam.request_pool(LOCAL)[1] == "192.168.16.0/20"


def test_default_global_pools_are_slash_24s_of_10_slash_8(ipam: DefaultIpam) -> None:
    assert ipam.request_pool(GLOBAL)[:3] == ("GlobalDefault/10.0.0.0/24", "10.0.0.0/24", {})
    assert ipam.request_pool(GLOBAL)[1] == "10.0.1.0/24"


def test_address_spaces_are_independent(ipam: DefaultIpam) -> None:
    ipam.request_pool(LOCAL, "10.0.0.0/8")
    assert ipam.request_pool(GLOBAL)[1] == "10.0.0.0/24"
    ipam.request_pool(GLOBAL, "172.17.0.0/16")
    assert ipam.request_pool(LOCAL)[1] == "172.17.0.0/16"


def test_a_default_pool_skips_what_user_pools_overlap(ipam: DefaultIpam) -> None:
    ipam.request_pool(LOCAL, "172.17.5.0/24")
    ipam.request_pool(LOCAL, "172.19.0.0/17")
    assert ipam.request_pool(LOCAL)[1] == "172.18.0.0/16"
    assert ipam.request_pool(LOCAL)[1] == "172.20.0.0/16"


def test_a_user_pool_covering_all_172_defaults_moves_defaults_to_192_168(
    ipam: DefaultIpam,
) -> None:
    ipam.request_pool(LOCAL, "172.16.0.0/12")
    assert ipam.request_pool(LOCAL)[1] == "192.168.0.0/20"


def test_a_user_pool_overlapping_a_pool_is_refused_naming_both_and_the_network(
    ipam: DefaultIpam,
) -> None:
    ipam.request_pool(LOCAL, "172.20.0.0/16", options=_named("web"))
    for pool in ("172.20.0.0/16", "172.20.3.0/24", "172.16.0.0/12", "172.20.255.255/32"):
        with pytest.raises(PoolOverlapError) as info:
            ipam.request_pool(LOCAL, pool, options=_named("db"))
        message = str(info.value)
        assert f"pool {pool} overlaps pool 172.20.0.0/16 of network 'web'" in message
        assert "LocalDefault" in message
        assert isinstance(info.value, ForbiddenError)
    assert [p.pool for p in ipam.pools()] == ["172.20.0.0/16"]


def test_overlap_message_without_an_owner(ipam: DefaultIpam) -> None:
    ipam.request_pool(LOCAL, "10.1.0.0/16")
    with pytest.raises(
        PoolOverlapError, match=r"pool 10\.1\.2\.0/24 overlaps pool 10\.1\.0\.0/16 in"
    ):
        ipam.request_pool(LOCAL, "10.1.2.0/24")


def test_ipv4_and_ipv6_pools_never_conflict(ipam: DefaultIpam) -> None:
    ipam.request_pool(LOCAL, "::/0", v6=True)
    assert ipam.request_pool(LOCAL, "0.0.0.0/0")[1] == "0.0.0.0/0"


def test_a_pool_covering_every_default_leaves_none(ipam: DefaultIpam) -> None:
    ipam.request_pool(LOCAL, "0.0.0.0/0", options=_named("all"))
    with pytest.raises(PoolExhaustedError, match="all default IPv4 address pools"):
        ipam.request_pool(LOCAL)


def test_an_exhausted_default_pool_list_is_a_clear_error_until_one_is_released() -> None:
    ipam = DefaultIpam(local_pools=[("10.10.0.0/23", 24), {"base": "10.20.0.0/24", "size": 24}])
    ids = [ipam.request_pool(LOCAL)[0] for _ in range(3)]
    assert ids == [
        "LocalDefault/10.10.0.0/24",
        "LocalDefault/10.10.1.0/24",
        "LocalDefault/10.20.0.0/24",
    ]
    with pytest.raises(PoolExhaustedError) as info:
        ipam.request_pool(LOCAL)
    message = str(info.value)
    assert "all default IPv4 address pools of address space LocalDefault are in use" in message
    assert "10.10.0.0/23 in /24s, 10.20.0.0/24 in /24s" in message
    assert "give the network a subnet" in message
    ipam.release_pool(ids[1])
    assert ipam.request_pool(LOCAL)[0] == ids[1]


def test_default_pools_with_an_empty_list() -> None:
    ipam = DefaultIpam(local_pools=[], global_pools=[])
    with pytest.raises(PoolExhaustedError, match="none configured"):
        ipam.request_pool(LOCAL)
    assert ipam.default_pools(LOCAL) == ()


def test_default_ipv6_pools_are_slash_64s_of_one_ula_slash_48(backend: Store) -> None:
    ipam = DefaultIpam(backend)
    first = ipaddress.ip_network(ipam.request_pool(LOCAL, v6=True)[1])
    second = ipaddress.ip_network(ipam.request_pool(LOCAL, v6=True)[1])
    assert first.prefixlen == second.prefixlen == 64
    ula = first.supernet(new_prefix=48)
    assert ula.subnet_of(ipaddress.IPv6Network("fd00::/8"))
    assert first.network_address == ula.network_address
    assert second == next(x for i, x in enumerate(ula.subnets(new_prefix=64)) if i == 1)
    # The ULA prefix is kept in the store: another driver on it uses the same one.
    third = DefaultIpam(backend).request_pool(GLOBAL, v6=True)[1]
    assert ipaddress.ip_network(third).supernet(new_prefix=48) == ula


def test_configured_ipv6_default_pools_replace_the_ula() -> None:
    ipam = DefaultIpam(local_pools=[("10.0.0.0/8", 16), ("2001:db8::/56", 64)])
    assert ipam.request_pool(LOCAL, v6=True)[1] == "2001:db8::/64"
    assert ipam.request_pool(LOCAL)[1] == "10.0.0.0/16"


def test_sub_pool(ipam: DefaultIpam) -> None:
    pool_id, pool, data = ipam.request_pool(LOCAL, "10.5.0.0/16", "10.5.4.0/22")
    assert (pool_id, pool, data) == ("LocalDefault/10.5.0.0/16/10.5.4.0/22", "10.5.0.0/16", {})
    info = ipam.pools()[0]
    assert (info.pool, info.sub_pool) == ("10.5.0.0/16", "10.5.4.0/22")


@pytest.mark.parametrize(
    ("pool", "sub_pool", "v6", "match"),
    [
        (
            "10.0.0.0/24",
            "10.0.1.0/25",
            False,
            "sub-pool 10.0.1.0/25 is not inside pool 10.0.0.0/24",
        ),
        ("", "10.0.1.0/25", False, "sub-pool 10.0.1.0/25 needs a pool"),
        ("10.0.0.0/24", "10.0.0.0/32", False, "holds no address"),
        ("10.0.0.0/24", "10.0.0.7/24", False, "host bits set"),
        ("10.0.0.1/24", "", False, "invalid pool 10.0.0.1/24: it has host bits set; it should be"),
        ("10.0.0.0", "", False, "is not a CIDR"),
        ("2001:db8::/64", "", False, "IPv6 network where an IPv4 one is expected"),
        ("10.0.0.0/24", "", True, "IPv4 network where an IPv6 one is expected"),
    ],
)
def test_bad_pool_requests(
    ipam: DefaultIpam, pool: str, sub_pool: str, v6: bool, match: str
) -> None:
    with pytest.raises(InvalidPoolError, match=re.escape(match)):
        ipam.request_pool(LOCAL, pool, sub_pool, v6=v6)
    assert ipam.pools() == []


def test_unknown_address_space(ipam: DefaultIpam) -> None:
    with pytest.raises(
        InvalidPoolError, match=r"unknown address space 'Mine': .* serves LocalDefault"
    ):
        ipam.request_pool("Mine")


def test_release_pool_frees_it_and_every_address_in_it(ipam: DefaultIpam) -> None:
    pool_id, _, _ = ipam.request_pool(LOCAL, "10.0.0.0/24")
    for _ in range(10):
        ipam.request_address(pool_id)
    ipam.release_pool(pool_id)
    assert ipam.pools() == []
    with pytest.raises(PoolNotFoundError, match="was never requested or was released"):
        ipam.release_pool(pool_id)
    with pytest.raises(PoolNotFoundError):
        ipam.request_address(pool_id)
    again, _, _ = ipam.request_pool(LOCAL, "10.0.0.0/24")
    assert again == pool_id
    assert ipam.request_address(pool_id)[0] == "10.0.0.1/24"
    assert [k.key for k in ipam.store.list("ipam/default/bits/")] == [
        "ipam/default/bits/LocalDefault/10.0.0.0/24/0"
    ]


def test_a_stale_pool_id_is_not_found(ipam: DefaultIpam) -> None:
    old, _, _ = ipam.request_pool(LOCAL, "10.0.0.0/16", "10.0.1.0/24")
    ipam.release_pool(old)
    new, _, _ = ipam.request_pool(LOCAL, "10.0.0.0/16")
    with pytest.raises(PoolNotFoundError):
        ipam.request_address(old)
    assert ipam.request_address(new)[0] == "10.0.0.1/16"


@pytest.mark.parametrize(
    "pool_id", ["", "x", "LocalDefault/10.0.0.0", "Other/10.0.0.0/8", "LocalDefault/10.0.0.0/8/x"]
)
def test_unknown_pool_ids(ipam: DefaultIpam, pool_id: str) -> None:
    with pytest.raises(PoolNotFoundError) as info:
        ipam.request_address(pool_id)
    assert isinstance(info.value, NotFoundError)
    assert repr(pool_id) in str(info.value)


def test_pools_lists_owner_and_count(ipam: DefaultIpam) -> None:
    a, _, _ = ipam.request_pool(LOCAL, "10.0.0.0/24", options=_named("a"))
    ipam.request_pool(GLOBAL, options={"com.docker.network.ipam.serial": "true"})
    ipam.request_address(a)
    assert ipam.pools() == [
        PoolInfo(a, LOCAL, "10.0.0.0/24", "", False, "a", False, 1),
        PoolInfo("GlobalDefault/10.0.0.0/24", GLOBAL, "10.0.0.0/24", "", False, None, True, 0),
    ]
    assert ipam.pools(GLOBAL)[0].to_dict()["serial"] is True


def test_store_layout(backend: Store) -> None:
    ipam = DefaultIpam(backend)
    pool_id, _, _ = ipam.request_pool(LOCAL, "10.0.0.0/16", options=_named("web"))
    for _ in range(1500):
        ipam.request_address(pool_id)
    keys = [p.key for p in backend.list("ipam/")]
    assert keys == [
        "ipam/default/bits/LocalDefault/10.0.0.0/16/0",
        "ipam/default/bits/LocalDefault/10.0.0.0/16/1",
        "ipam/default/heads/LocalDefault/10.0.0.0/16",
        "ipam/default/pools/LocalDefault/10.0.0.0/16",
    ]
    assert len(backend.get(keys[0]).value) == 128  # one bit per address
    record = backend.get(keys[-1]).value
    assert b'"owner":"web"' in record
    assert b'"id":"LocalDefault/10.0.0.0/16"' in record


def test_key_prefix_is_configurable() -> None:
    store = MemoryStore()
    ipam = DefaultIpam(store, key_prefix="x/ipam/")
    ipam.request_pool(LOCAL)
    assert {p.key.split("/")[2] for p in store.list("")} == {"heads", "pools"}
    assert all(p.key.startswith("x/ipam/") for p in store.list(""))


def test_default_pool_choice_with_many_pools_allocated() -> None:
    ipam = DefaultIpam(global_pools=[PoolSpec("10.0.0.0/16", 24)])
    got = {ipam.request_pool(GLOBAL)[1] for _ in range(256)}
    assert len(got) == 256
    with pytest.raises(PoolExhaustedError):
        ipam.request_pool(GLOBAL)
