"""The static driver called directly, as the controller calls it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from libnet.errors import (
    AddressInUseError,
    AddressNotAllocatedError,
    InvalidAddressError,
    InvalidPoolError,
    PoolExhaustedError,
    PoolNotFoundError,
    PoolOverlapError,
)
from libnet.ipam import (
    GATEWAY_OPTIONS,
    MAC_ADDRESS_OPTION,
    NETWORK_NAME_OPTION,
    Ipam,
    missing_methods,
)
from libnet.store import MemoryStore, SqliteStore

from libnet_static_ipam import ADDRESS_SPACE, StaticIpam, Table

WEB_MAC = "02:42:0a:09:00:0a"
DB_MAC = "02:42:0a:09:00:0b"
OTHER_MAC = "02:42:0a:09:00:99"
NET = {NETWORK_NAME_OPTION: "lan"}


def mac(value: str) -> dict[str, str]:
    return {MAC_ADDRESS_OPTION: value}


@pytest.fixture
def ipam(table: Table) -> StaticIpam:
    return StaticIpam(table)


@pytest.fixture
def lan(ipam: StaticIpam) -> str:
    """The pool ID of 10.9.0.0/24, its gateway taken as the controller takes it."""
    pool_id, _, _ = ipam.request_pool(ADDRESS_SPACE, "10.9.0.0/24", "", NET)
    ipam.request_address(pool_id, None, GATEWAY_OPTIONS)
    return pool_id


def test_the_driver_implements_the_whole_contract(ipam: StaticIpam) -> None:
    assert missing_methods(ipam) == []
    assert missing_methods(ipam.bind(MemoryStore())) == []
    assert ipam.get_default_address_spaces() == (ADDRESS_SPACE, ADDRESS_SPACE)


def test_a_listed_pool_is_handed_out_with_the_files_gateway(ipam: StaticIpam) -> None:
    pool_id, pool, data = ipam.request_pool(ADDRESS_SPACE, "10.9.0.0/24", "", NET)
    assert (pool_id, pool, data) == ("static/10.9.0.0/24", "10.9.0.0/24", {})
    assert ipam.request_address(pool_id, None, GATEWAY_OPTIONS) == ("10.9.0.1/24", {})


def test_a_given_gateway_wins_over_the_files(ipam: StaticIpam) -> None:
    pool_id, _, _ = ipam.request_pool(ADDRESS_SPACE, "10.9.0.0/24", "", NET)
    assert ipam.request_address(pool_id, "10.9.0.254", GATEWAY_OPTIONS)[0] == "10.9.0.254/24"


def test_without_a_gateway_in_the_file_the_first_free_address_is(ipam: StaticIpam) -> None:
    pool_id, _, _ = ipam.request_pool(ADDRESS_SPACE, "10.9.1.0/29", "", NET)
    assert ipam.request_address(pool_id, None, GATEWAY_OPTIONS)[0] == "10.9.1.1/29"


def test_a_pool_request_without_a_subnet_takes_the_first_free_listed_pool(
    ipam: StaticIpam,
) -> None:
    assert ipam.request_pool(ADDRESS_SPACE)[1] == "10.9.0.0/24"
    assert ipam.request_pool(ADDRESS_SPACE)[1] == "10.9.1.0/29"
    with pytest.raises(PoolExhaustedError, match=r"every IPv4 pool of .* is in use"):
        ipam.request_pool(ADDRESS_SPACE)
    assert ipam.request_pool(ADDRESS_SPACE, v6=True)[1] == "fd00:9::/64"


def test_pools_not_in_the_file_and_pools_in_use_are_refused(ipam: StaticIpam) -> None:
    with pytest.raises(InvalidPoolError, match=r"10\.8\.0\.0/24 is not listed in .*\.json"):
        ipam.request_pool(ADDRESS_SPACE, "10.8.0.0/24")
    with pytest.raises(InvalidPoolError, match=re.escape("10.9.0.0/25 is not listed")):
        ipam.request_pool(ADDRESS_SPACE, "10.9.0.0/25")
    ipam.request_pool(ADDRESS_SPACE, "10.9.0.0/24", "", NET)
    with pytest.raises(PoolOverlapError, match="already used by network 'lan'"):
        ipam.request_pool(ADDRESS_SPACE, "10.9.0.0/24")
    with pytest.raises(InvalidPoolError, match="unknown address space"):
        ipam.request_pool("LocalDefault", "10.9.1.0/29")
    with pytest.raises(InvalidPoolError, match="not an IPv6 network"):
        ipam.request_pool(ADDRESS_SPACE, "10.9.1.0/29", v6=True)


def test_each_listed_mac_gets_its_address(ipam: StaticIpam, lan: str) -> None:
    assert ipam.request_address(lan, None, mac(DB_MAC))[0] == "10.9.0.11/24"
    assert ipam.request_address(lan, None, mac(WEB_MAC.upper()))[0] == "10.9.0.10/24"


def test_other_macs_get_the_next_free_address_of_the_ip_range(ipam: StaticIpam, lan: str) -> None:
    got = [ipam.request_address(lan, None, mac(OTHER_MAC))[0] for _ in range(3)]
    assert got == ["10.9.0.128/24", "10.9.0.129/24", "10.9.0.130/24"]
    assert ipam.request_address(lan)[0] == "10.9.0.131/24"  # no MAC at all


def test_addresses_of_the_file_are_never_handed_out_to_others(ipam: StaticIpam) -> None:
    # An ip-range given by the network replaces the file's; this one covers the assignments.
    pool_id, _, _ = ipam.request_pool(ADDRESS_SPACE, "10.9.0.0/24", "10.9.0.8/29", NET)
    got = [ipam.request_address(pool_id)[0] for _ in range(4)]
    assert got == ["10.9.0.8/24", "10.9.0.9/24", "10.9.0.12/24", "10.9.0.13/24"]
    with pytest.raises(AddressInUseError, match=f"assigned to MAC {WEB_MAC}"):
        ipam.request_address(pool_id, "10.9.0.10")
    assert ipam.request_address(pool_id, "10.9.0.10", mac(WEB_MAC))[0] == "10.9.0.10/24"


def test_an_exhausted_pool_names_the_network_and_the_pool(ipam: StaticIpam) -> None:
    pool_id, _, _ = ipam.request_pool(ADDRESS_SPACE, "10.9.1.0/29", "", NET)
    got = [ipam.request_address(pool_id)[0] for _ in range(6)]
    assert got[0] == "10.9.1.1/29" and got[-1] == "10.9.1.6/29"
    with pytest.raises(PoolExhaustedError, match=re.escape("pool 10.9.1.0/29 of network 'lan'")):
        ipam.request_address(pool_id)
    ipam.release_address(pool_id, "10.9.1.4/29")
    assert ipam.request_address(pool_id)[0] == "10.9.1.4/29"


def test_an_address_in_use_and_bad_addresses_are_refused(ipam: StaticIpam, lan: str) -> None:
    ipam.request_address(lan, None, mac(WEB_MAC))
    with pytest.raises(AddressInUseError, match=re.escape("10.9.0.10 is already in use")):
        ipam.request_address(lan, None, mac(WEB_MAC))  # the same MAC twice
    with pytest.raises(AddressInUseError, match=re.escape("10.9.0.1 is already in use")):
        ipam.request_address(lan, "10.9.0.1")
    with pytest.raises(InvalidAddressError, match=re.escape("not in pool 10.9.0.0/24")):
        ipam.request_address(lan, "10.9.2.1")
    with pytest.raises(InvalidAddressError, match="not in pool"):
        ipam.request_address(lan, "10.9.0.0")
    with pytest.raises(InvalidAddressError, match="another prefix length"):
        ipam.request_address(lan, "10.9.0.5/16")
    with pytest.raises(InvalidAddressError, match="is not an IP address"):
        ipam.request_address(lan, "ten")


def test_ipv6_assignments_and_fallback(ipam: StaticIpam) -> None:
    pool_id, _, _ = ipam.request_pool(ADDRESS_SPACE, "fd00:9::/64", "", NET, True)
    assert ipam.request_address(pool_id, None, GATEWAY_OPTIONS)[0] == "fd00:9::1/64"
    assert ipam.request_address(pool_id, None, mac(WEB_MAC))[0] == "fd00:9::10/64"
    assert ipam.request_address(pool_id, None, mac(DB_MAC))[0] == "fd00:9::2/64"


def test_releases(ipam: StaticIpam, lan: str) -> None:
    address, _ = ipam.request_address(lan, None, mac(WEB_MAC))
    assert address is not None
    ipam.release_address(lan, address)
    with pytest.raises(AddressNotAllocatedError, match="released already or never"):
        ipam.release_address(lan, address)
    ipam.request_address(lan, None, mac(WEB_MAC))
    ipam.release_pool(lan)  # frees everything left in it
    with pytest.raises(PoolNotFoundError):
        ipam.release_pool(lan)
    with pytest.raises(PoolNotFoundError):
        ipam.request_address(lan)
    pool_id, _, _ = ipam.request_pool(ADDRESS_SPACE, "10.9.0.0/24")
    assert ipam.addresses(pool_id) == []


def test_bound_to_a_transaction_a_request_rolls_back_with_it(table: Table, tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "state") as store:
        driver = StaticIpam(table)
        with store.transaction() as tx:
            view: Ipam = driver.bind(tx)
            pool_id, _, _ = view.request_pool(ADDRESS_SPACE, "10.9.0.0/24", "", NET)
        with pytest.raises(RuntimeError), store.transaction() as tx:
            driver.bind(tx).request_address(pool_id, None, mac(WEB_MAC))
            raise RuntimeError("the operation failed after the request")
        with store.transaction() as tx:
            assert driver.bind(tx).request_address(pool_id, None, mac(WEB_MAC))[0] == (
                "10.9.0.10/24"
            )
    # The state is in the store: a new driver (a restart, another process) sees it.
    with SqliteStore(tmp_path / "state") as store, store.transaction() as tx:
        view = StaticIpam(table).bind(tx)
        with pytest.raises(PoolOverlapError):
            view.request_pool(ADDRESS_SPACE, "10.9.0.0/24")
        with pytest.raises(AddressInUseError):
            view.request_address(pool_id, None, mac(WEB_MAC))
