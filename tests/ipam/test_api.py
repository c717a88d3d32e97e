"""The IPAM contract (libnet.ipam._api) and the null IPAM driver."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from libnet.errors import InvalidPoolError, PoolNotFoundError
from libnet.ipam import (
    BUILTIN_IPAM_DRIVERS,
    GATEWAY_OPTIONS,
    NULL_POOL_ID,
    DefaultIpam,
    Ipam,
    IpamCallback,
    IpamCapability,
    NullIpam,
    bind_ipam,
    missing_methods,
    register_builtin_ipam_drivers,
)
from libnet.store import MemoryStore


class _Half(Ipam):
    def get_default_address_spaces(self) -> tuple[str, str]:
        return "a", "b"

    def release_pool(self, pool_id: str) -> None:
        pass


class _Duck:
    """A driver that does not subclass Ipam."""

    def get_default_address_spaces(self) -> tuple[str, str]:
        return "a", "b"

    def request_pool(
        self,
        address_space: str,
        pool: str = "",
        sub_pool: str = "",
        options: Mapping[str, str] | None = None,
        v6: bool = False,
    ) -> tuple[str, str, dict[str, str]]:
        return "p", "10.0.0.0/8", {}

    def release_pool(self, pool_id: str) -> None:
        pass

    def request_address(
        self, pool_id: str, address: str | None = None, options: Mapping[str, str] | None = None
    ) -> tuple[str | None, dict[str, str]]:
        return "10.0.0.1/8", {}

    def release_address(self, pool_id: str, address: str) -> None:
        pass


def test_missing_methods_lists_required_methods_not_overridden_in_contract_order() -> None:
    assert missing_methods(_Half()) == ["request_pool", "request_address", "release_address"]
    assert missing_methods(Ipam()) == [
        "get_default_address_spaces",
        "request_pool",
        "release_pool",
        "request_address",
        "release_address",
    ]
    assert missing_methods(_Duck()) == []
    assert missing_methods(object()) == missing_methods(Ipam())
    assert missing_methods(NullIpam()) == []
    assert missing_methods(DefaultIpam()) == []


def test_the_base_class_raises_not_implemented() -> None:
    with pytest.raises(NotImplementedError, match="request_pool"):
        Ipam().request_pool("LocalDefault")


def test_capability_defaults_and_dict() -> None:
    assert IpamCapability().to_dict() == {
        "requires_mac_address": False,
        "requires_request_replay": False,
    }
    assert IpamCapability(requires_mac_address=True).requires_mac_address
    with pytest.raises(ValueError, match="requires_mac_address must be a bool"):
        IpamCapability(requires_mac_address="yes")  # type: ignore[arg-type]


def test_bind_returns_the_driver_itself_unless_it_takes_part_in_transactions() -> None:
    store = MemoryStore()
    duck, null = _Duck(), NullIpam()
    with store.transaction() as tx:
        assert bind_ipam(duck, tx) is duck  # type: ignore[arg-type]
        assert bind_ipam(null, tx) is null
        default = DefaultIpam(store)
        bound = bind_ipam(default, tx)
        assert bound is not default
        assert isinstance(bound, Ipam)
        assert bound.get_default_address_spaces() == ("LocalDefault", "GlobalDefault")


def test_register_builtin_ipam_drivers() -> None:
    seen: dict[str, tuple[Ipam, IpamCapability]] = {}

    class Callback:
        def register_ipam_driver(self, name: str, driver: Ipam, capability: IpamCapability) -> None:
            seen[name] = (driver, capability)

    callback = Callback()
    assert isinstance(callback, IpamCallback)
    store = MemoryStore()
    default = register_builtin_ipam_drivers(callback, store, local_pools=[("10.9.0.0/16", 24)])
    assert set(seen) == BUILTIN_IPAM_DRIVERS == {"default", "null"}
    assert seen["default"][0] is default
    assert default.store is store
    assert isinstance(seen["null"][0], NullIpam)
    assert seen["null"][1] == IpamCapability()
    assert default.request_pool("LocalDefault")[1] == "10.9.0.0/24"


# The null driver, as libnetwork's.


def test_null_ipam_gives_its_one_pool_and_no_address() -> None:
    null = NullIpam()
    assert null.get_default_address_spaces() == ("null", "null")
    assert null.request_pool("null") == (NULL_POOL_ID, "0.0.0.0/0", {})
    assert NULL_POOL_ID == "null/0.0.0.0/0"
    assert null.request_address(NULL_POOL_ID) == (None, {})
    assert null.request_address(NULL_POOL_ID, None, GATEWAY_OPTIONS) == (None, {})
    null.release_address(NULL_POOL_ID, "10.0.0.1")
    null.release_pool(NULL_POOL_ID)
    null.release_pool("anything")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"address_space": "LocalDefault"}, "unknown address space 'LocalDefault'"),
        ({"address_space": "null", "pool": "10.0.0.0/8"}, "specific pool"),
        ({"address_space": "null", "sub_pool": "10.0.0.0/8"}, "sub-pool"),
        ({"address_space": "null", "v6": True}, "IPv6"),
    ],
)
def test_null_ipam_refuses_specific_requests(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidPoolError, match=match):
        NullIpam().request_pool(**kwargs)  # type: ignore[arg-type]


def test_null_ipam_refuses_unknown_pool_ids() -> None:
    with pytest.raises(PoolNotFoundError, match="unknown pool ID 'x'"):
        NullIpam().request_address("x")
    with pytest.raises(PoolNotFoundError):
        NullIpam().release_address("x", "10.0.0.1")
