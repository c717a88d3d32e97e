"""The ledger driver called directly, as the controller would call it."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import libnet
import libnet.labels
import pytest
from libnet.errors import (
    ActiveContainerError,
    ActiveEndpointsError,
    EndpointExistsError,
    EndpointInSandboxError,
    EndpointNotFoundError,
    ForbiddenError,
    InvalidOptionError,
    NetworkExistsError,
    NetworkNotFoundError,
)

from libnet_ledger import ADDRESS_OPTION, LedgerDriver

NID = "n" * 64
EID = "e0123456789" + "a" * 53


def net_options(
    generic: dict[str, Any] | None = None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """The options mapping a controller hands to create_network."""
    return {
        libnet.labels.GENERIC: generic or {},
        libnet.labels.NETWORK_LABELS: labels or {},
    }


@pytest.fixture
def driver() -> LedgerDriver:
    d = LedgerDriver()
    d.create_network(NID, net_options(), [], [])
    return d


def add_endpoint(
    d: LedgerDriver, eid: str = EID, options: dict[str, Any] | None = None, **iface: str
) -> libnet.InterfaceInfo:
    info = libnet.InterfaceInfo(**iface)
    d.create_endpoint(NID, eid, info, options or {})
    return info


def join(d: LedgerDriver, eid: str = EID, key: str | None = "/run/netns/c1") -> libnet.JoinInfo:
    jinfo = libnet.JoinInfo()
    d.join(NID, eid, key, jinfo, {})
    return jinfo


def test_create_network_records_generic_options_and_labels() -> None:
    d = LedgerDriver()
    d.create_network(NID, net_options({"color": "blue"}, {"team": "red"}), [], [])
    entry = d.networks()[NID]
    assert entry["options"] == {"color": "blue"}
    assert entry["labels"] == {"team": "red"}


def test_create_network_records_address_pools() -> None:
    d = LedgerDriver()
    pool = libnet.IPAMData("default", "10.1.0.0/16", "10.1.0.1/16")
    d.create_network(NID, net_options(), [pool], [])
    assert d.networks()[NID]["ipv4_pools"] == ["10.1.0.0/16"]


def test_create_network_twice_is_refused(driver: LedgerDriver) -> None:
    with pytest.raises(NetworkExistsError, match="already has network"):
        driver.create_network(NID, net_options(), [], [])


def test_delete_network_forgets_it(driver: LedgerDriver) -> None:
    driver.delete_network(NID)
    assert driver.networks() == {}


def test_delete_network_with_endpoints_is_refused(driver: LedgerDriver) -> None:
    add_endpoint(driver)
    with pytest.raises(ActiveEndpointsError, match="delete them first"):
        driver.delete_network(NID)


def test_create_endpoint_sets_a_deterministic_locally_administered_mac(
    driver: LedgerDriver,
) -> None:
    info = add_endpoint(driver)
    assert info.mac_address == driver.mac_for(EID)
    assert info.mac_address.startswith("02:1e:")
    assert info.set_by_driver == {"mac_address"}
    assert LedgerDriver().mac_for(EID) == info.mac_address


def test_create_endpoint_keeps_the_mac_the_controller_set(driver: LedgerDriver) -> None:
    info = add_endpoint(driver, mac_address="02:42:ac:11:00:02")
    assert info.mac_address == "02:42:ac:11:00:02"
    assert info.set_by_driver == frozenset()


def test_create_endpoint_twice_is_refused(driver: LedgerDriver) -> None:
    add_endpoint(driver)
    with pytest.raises(EndpointExistsError, match="already has endpoint"):
        add_endpoint(driver)


def test_mac_prefix_config_sets_the_leading_octets() -> None:
    d = LedgerDriver({"mac_prefix": "0A:BC:DE"})
    assert d.mac_for(EID).startswith("0a:bc:de:")


def test_clashing_macs_are_replaced_by_free_ones() -> None:
    d = LedgerDriver({"mac_prefix": "02:00:00:00:00"})
    d.create_network(NID, net_options(), [], [])
    macs = {add_endpoint(d, eid=f"{i:064x}").mac_address for i in range(40)}
    assert len(macs) == 40


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [
        ("01:00", "locally administered unicast"),
        ("00:1e", "locally administered unicast"),
        ("02:1e:zz", "hex octets"),
        ("02:00:00:00:00:00", "one to five"),
        (2, "must be a string"),
    ],
)
def test_invalid_mac_prefix_is_refused(prefix: object, reason: str) -> None:
    with pytest.raises(InvalidOptionError, match=reason):
        LedgerDriver({"mac_prefix": prefix})


def test_unknown_config_key_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="mac_perfix"):
        LedgerDriver({"mac_perfix": "02"})


def test_address_option_fills_the_empty_ipv4_address(driver: LedgerDriver) -> None:
    info = add_endpoint(driver, options={ADDRESS_OPTION: "10.0.0.2/24"})
    assert info.address == "10.0.0.2/24"
    assert "address" in info.set_by_driver


def test_address_option_fills_the_empty_ipv6_address(driver: LedgerDriver) -> None:
    info = add_endpoint(driver, options={ADDRESS_OPTION: "fd00::2/64"})
    assert info.address_ipv6 == "fd00::2/64"
    assert info.address is None


def test_address_option_never_replaces_an_address_already_set(driver: LedgerDriver) -> None:
    info = add_endpoint(driver, options={ADDRESS_OPTION: "10.0.0.2/24"}, address="10.9.9.9/8")
    assert info.address == "10.9.9.9/8"
    assert driver.endpoints(NID)[EID]["address"] == "10.9.9.9/8"


@pytest.mark.parametrize("value", ["10.0.0.2", "not-an-address", 42])
def test_bad_address_option_is_refused_and_records_nothing(
    driver: LedgerDriver, value: object
) -> None:
    with pytest.raises(InvalidOptionError, match=re.escape(ADDRESS_OPTION)):
        add_endpoint(driver, options={ADDRESS_OPTION: value})
    assert driver.endpoints(NID) == {}


def test_join_names_the_interface_after_the_endpoint(driver: LedgerDriver) -> None:
    add_endpoint(driver)
    jinfo = join(driver)
    assert (jinfo.src_name, jinfo.dst_prefix) == ("ledger-e012345", "eth")


def test_join_records_the_sandbox_key_and_counts_joins(driver: LedgerDriver) -> None:
    add_endpoint(driver)
    join(driver, key="/run/netns/c1")
    driver.leave(NID, EID)
    join(driver, key="/run/netns/c2")
    info = driver.endpoint_oper_info(NID, EID)
    assert (info["sandbox_key"], info["joined"], info["join_count"]) == ("/run/netns/c2", True, 2)


def test_join_twice_is_refused(driver: LedgerDriver) -> None:
    add_endpoint(driver)
    join(driver)
    with pytest.raises(EndpointInSandboxError, match="already joined"):
        join(driver)


def test_leave_clears_the_sandbox(driver: LedgerDriver) -> None:
    add_endpoint(driver)
    join(driver)
    driver.leave(NID, EID)
    info = driver.endpoint_oper_info(NID, EID)
    assert (info["sandbox_key"], info["joined"], info["src_name"]) == (None, False, None)


def test_leave_without_join_is_refused(driver: LedgerDriver) -> None:
    add_endpoint(driver)
    with pytest.raises(ForbiddenError, match="not joined"):
        driver.leave(NID, EID)


def test_restore_join_takes_the_stores_join_state(driver: LedgerDriver) -> None:
    add_endpoint(driver)
    driver.restore_join(NID, EID, True, "/run/netns/c9", {})  # another process joined it
    info = driver.endpoint_oper_info(NID, EID)
    assert (info["sandbox_key"], info["joined"]) == ("/run/netns/c9", True)
    driver.leave(NID, EID)
    join(driver)
    driver.restore_join(NID, EID, False, None, {})  # and another process left it
    assert driver.endpoint_oper_info(NID, EID)["joined"] is False
    join(driver)


def test_delete_of_a_joined_endpoint_is_refused(driver: LedgerDriver) -> None:
    add_endpoint(driver)
    join(driver)
    with pytest.raises(ActiveContainerError, match="leave first"):
        driver.delete_endpoint(NID, EID)


def test_delete_endpoint_forgets_it(driver: LedgerDriver) -> None:
    add_endpoint(driver)
    driver.delete_endpoint(NID, EID)
    assert driver.endpoints(NID) == {}


def test_oper_info_is_the_ledger_entry(driver: LedgerDriver) -> None:
    info = add_endpoint(driver, options={"x": "y"})
    assert driver.endpoint_oper_info(NID, EID) == {
        "network": NID,
        "endpoint": EID,
        "mac_address": info.mac_address,
        "address": None,
        "address_ipv6": None,
        "options": {"x": "y"},
        "restored": False,
        "sandbox_key": None,
        "joined": False,
        "join_count": 0,
        "src_name": None,
        "network_labels": {},
    }


UNKNOWN = "f" * 64

NETWORK_CALLS: list[Callable[[LedgerDriver], object]] = [
    lambda d: d.delete_network(UNKNOWN),
    lambda d: d.create_endpoint(UNKNOWN, EID, libnet.InterfaceInfo(), {}),
    lambda d: d.delete_endpoint(UNKNOWN, EID),
    lambda d: d.endpoint_oper_info(UNKNOWN, EID),
    lambda d: d.join(UNKNOWN, EID, None, libnet.JoinInfo(), {}),
    lambda d: d.leave(UNKNOWN, EID),
    lambda d: d.restore_endpoint(UNKNOWN, EID, libnet.InterfaceInfo(), {}),
    lambda d: d.endpoints(UNKNOWN),
]


@pytest.mark.parametrize("call", NETWORK_CALLS)
def test_unknown_network_raises_network_not_found(
    driver: LedgerDriver, call: Callable[[LedgerDriver], object]
) -> None:
    with pytest.raises(NetworkNotFoundError, match="has no network 'ffffffffffff'"):
        call(driver)


ENDPOINT_CALLS: list[Callable[[LedgerDriver], object]] = [
    lambda d: d.delete_endpoint(NID, UNKNOWN),
    lambda d: d.endpoint_oper_info(NID, UNKNOWN),
    lambda d: d.join(NID, UNKNOWN, None, libnet.JoinInfo(), {}),
    lambda d: d.leave(NID, UNKNOWN),
]


@pytest.mark.parametrize("call", ENDPOINT_CALLS)
def test_unknown_endpoint_raises_endpoint_not_found(
    driver: LedgerDriver, call: Callable[[LedgerDriver], object]
) -> None:
    with pytest.raises(EndpointNotFoundError, match="has no endpoint 'ffffffffffff'"):
        call(driver)


def test_restore_network_recreates_the_entry_after_a_restart() -> None:
    fresh = LedgerDriver()
    fresh.restore_network(NID, net_options({"color": "blue"}, {"team": "red"}), [], [])
    entry = fresh.networks()[NID]
    assert (entry["options"], entry["labels"], entry["restored"]) == (
        {"color": "blue"},
        {"team": "red"},
        True,
    )


def test_restore_network_keeps_the_endpoints_already_known(driver: LedgerDriver) -> None:
    add_endpoint(driver)
    driver.restore_network(NID, net_options(), [], [])
    assert list(driver.endpoints(NID)) == [EID]


def test_restore_endpoint_keeps_what_the_controller_recorded() -> None:
    fresh = LedgerDriver()
    fresh.restore_network(NID, net_options(), [], [])
    info = libnet.InterfaceInfo(mac_address="02:42:00:00:00:07", address="10.0.0.7/24")
    fresh.restore_endpoint(NID, EID, info, {ADDRESS_OPTION: "10.0.0.8/24"})
    entry = fresh.endpoints(NID)[EID]
    assert (entry["mac_address"], entry["address"]) == ("02:42:00:00:00:07", "10.0.0.7/24")
    assert (entry["restored"], entry["joined"]) == (True, None)
    assert info.set_by_driver == frozenset()


def test_restored_endpoint_of_unknown_join_state_can_leave_or_join() -> None:
    fresh = LedgerDriver()
    fresh.restore_network(NID, net_options(), [], [])
    fresh.restore_endpoint(NID, EID, libnet.InterfaceInfo(), {})
    fresh.leave(NID, EID)
    fresh.restore_endpoint(NID, EID, libnet.InterfaceInfo(), {})
    join(fresh)
    assert fresh.endpoint_oper_info(NID, EID)["joined"] is True


def test_restore_endpoint_keeps_the_join_state_already_known(driver: LedgerDriver) -> None:
    add_endpoint(driver)
    join(driver, key="/run/netns/c1")
    driver.restore_endpoint(NID, EID, libnet.InterfaceInfo(), {})
    entry = driver.endpoints(NID)[EID]
    assert (entry["joined"], entry["sandbox_key"], entry["restored"]) == (
        True,
        "/run/netns/c1",
        True,
    )


def test_restore_endpoint_without_a_mac_derives_the_same_mac_again(driver: LedgerDriver) -> None:
    first = add_endpoint(driver).mac_address
    fresh = LedgerDriver()
    fresh.restore_network(NID, net_options(), [], [])
    info = libnet.InterfaceInfo()
    fresh.restore_endpoint(NID, EID, info, {})
    assert info.mac_address == first


def test_events_list_the_calls_in_order(driver: LedgerDriver) -> None:
    add_endpoint(driver)
    join(driver)
    driver.leave(NID, EID)
    driver.delete_endpoint(NID, EID)
    driver.delete_network(NID)
    assert [method for method, _, _ in driver.events()] == [
        "create_network",
        "create_endpoint",
        "join",
        "leave",
        "delete_endpoint",
        "delete_network",
    ]


def test_concurrent_endpoint_calls_keep_the_ledger_consistent(driver: LedgerDriver) -> None:
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(25):
                eid = f"{n:02d}{i:062x}"
                add_endpoint(driver, eid=eid)
                join(driver, eid=eid)
                driver.leave(NID, eid)
                if i % 2:
                    driver.delete_endpoint(NID, eid)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    entries = driver.endpoints(NID)
    assert len(entries) == 8 * 13
    assert len({e["mac_address"] for e in entries.values()}) == len(entries)
    assert all(e["join_count"] == 1 and not e["joined"] for e in entries.values())
