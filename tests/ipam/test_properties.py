"""Property-based tests: random request/release sequences checked against a simple model.

The model is a dict of pools, each with the set of its allocated addresses. Whatever the
sequence, the default IPAM driver must agree with it: no address is handed out twice,
a dynamic request gets the lowest free address of the (sub-)pool, a released address can
be handed out again, and pools never overlap. Steps alternate at random between two
drivers on one store, restart a driver, and run inside transactions that roll back.
"""

from __future__ import annotations

import ipaddress
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
)

from libnet.errors import (
    AddressInUseError,
    AddressNotAllocatedError,
    InvalidAddressError,
    PoolExhaustedError,
    PoolNotFoundError,
    PoolOverlapError,
)
from libnet.ipam import GATEWAY_OPTIONS, DefaultIpam
from libnet.ipam._config import host_range
from libnet.store import MemoryStore, SqliteStore, Store

SPACE = "LocalDefault"
DEFAULTS = [("10.1.0.0/26", 28), ("10.2.0.0/30", 30)]
Net = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class _Model:
    net: Net
    sub: Net | None
    used: set[int] = field(default_factory=set)

    def first_last(self, dynamic: bool) -> tuple[int, int]:
        lo, hi = host_range(self.net.version == 6, self.net.prefixlen)
        base = int(self.net.network_address)
        first, last = base + lo, base + hi
        if dynamic and self.sub is not None:
            first = max(first, int(self.sub.network_address))
            last = min(last, int(self.sub.broadcast_address))
        return first, last

    def lowest_free(self, dynamic: bool) -> int | None:
        first, last = self.first_last(dynamic)
        return next((a for a in range(first, last + 1) if a not in self.used), None)


def _as_int(address: str) -> int:
    return int(ipaddress.ip_interface(address).ip)


subnets = st.builds(
    lambda third, fourth, prefix: ipaddress.ip_network(
        f"10.0.{third}.{fourth}/{prefix}", strict=False
    ),
    st.integers(0, 3),
    st.integers(0, 255),
    st.integers(23, 32),
)
subnets6 = st.builds(
    lambda word, prefix: ipaddress.ip_network(f"fd00::{word:x}:0/{prefix}", strict=False),
    st.integers(0, 7),
    st.sampled_from([64, 112, 120, 126, 127, 128]),
)


class IpamMachine(RuleBasedStateMachine):
    pools = Bundle("pools")

    def __init__(self) -> None:
        super().__init__()
        self.store = self.make_store()
        self.drivers = [self.new_driver(), self.new_driver()]
        self.model: dict[str, _Model] = {}

    def make_store(self) -> Store:
        return MemoryStore()

    def new_driver(self) -> DefaultIpam:
        return DefaultIpam(self.store, local_pools=DEFAULTS)

    def teardown(self) -> None:
        self.store.close()

    # Pools.

    def _overlaps(self, net: Net) -> bool:
        return any(
            m.net.version == net.version and m.net.overlaps(net) for m in self.model.values()
        )  # type: ignore[arg-type]

    def _request_pool(self, which: int, pool: str, sub_pool: str, v6: bool) -> str | None:
        driver = self.drivers[which]
        try:
            pool_id, got, data = driver.request_pool(SPACE, pool, sub_pool, None, v6)
        except PoolOverlapError:
            assert pool and self._overlaps(ipaddress.ip_network(pool))
            return None
        except PoolExhaustedError:
            assert not pool
            candidates = [
                n
                for base, size in DEFAULTS
                for n in ipaddress.ip_network(base).subnets(new_prefix=size)
            ]
            assert all(self._overlaps(n) for n in candidates)
            return None
        net = ipaddress.ip_network(got)
        assert not self._overlaps(net)
        if pool:
            assert got == pool
        else:  # the first default subnet that is free
            first = next(
                n
                for base, size in DEFAULTS
                for n in ipaddress.ip_network(base).subnets(new_prefix=size)
                if not self._overlaps(n)
            )
            assert net == first
        assert data == {}
        assert pool_id not in self.model
        self.model[pool_id] = _Model(net, ipaddress.ip_network(sub_pool) if sub_pool else None)
        return pool_id

    @rule(target=pools, which=st.integers(0, 1), net=subnets, sub_shift=st.integers(0, 3))
    def request_user_pool(self, which: int, net: Net, sub_shift: int) -> str | None:
        sub = ""
        if sub_shift and net.prefixlen + sub_shift <= 30:
            sub = str(next(iter(net.subnets(prefixlen_diff=sub_shift))))
        return self._request_pool(which, str(net), sub, False)

    @rule(target=pools, which=st.integers(0, 1), net=subnets6)
    def request_ipv6_pool(self, which: int, net: Net) -> str | None:
        return self._request_pool(which, str(net), "", True)

    @rule(target=pools, which=st.integers(0, 1))
    def request_default_pool(self, which: int) -> str | None:
        return self._request_pool(which, "", "", False)

    @rule(which=st.integers(0, 1), pool_id=consumes(pools))
    def release_pool(self, which: int, pool_id: str | None) -> None:
        if pool_id is None:
            return
        self.drivers[which].release_pool(pool_id)
        del self.model[pool_id]
        with pytest.raises(PoolNotFoundError):
            self.drivers[1 - which].release_pool(pool_id)

    # Addresses.

    @rule(which=st.integers(0, 1), pool_id=pools, gateway=st.booleans())
    def request_address(self, which: int, pool_id: str | None, gateway: bool) -> None:
        if pool_id is None:
            return
        model = self.model[pool_id]
        expected = model.lowest_free(dynamic=not gateway)
        try:
            got, _ = self.drivers[which].request_address(
                pool_id, None, GATEWAY_OPTIONS if gateway else None
            )
        except PoolExhaustedError:
            assert expected is None
            return
        assert got is not None
        assert got.endswith(f"/{model.net.prefixlen}")
        value = _as_int(got)
        assert value not in model.used
        assert value == expected
        model.used.add(value)

    @rule(which=st.integers(0, 1), pool_id=pools, offset=st.integers(0, 2**16))
    def request_preferred_address(self, which: int, pool_id: str | None, offset: int) -> None:
        if pool_id is None:
            return
        model = self.model[pool_id]
        value = int(model.net.network_address) + offset % model.net.num_addresses
        address = str(ipaddress.ip_address(value))
        first, last = model.first_last(dynamic=False)
        try:
            got, _ = self.drivers[which].request_address(pool_id, address)
        except InvalidAddressError:
            assert not first <= value <= last
            return
        except AddressInUseError:
            assert value in model.used
            return
        assert got == f"{address}/{model.net.prefixlen}"
        assert value not in model.used
        model.used.add(value)

    @rule(which=st.integers(0, 1), pool_id=pools, pick=st.integers(0, 2**16), again=st.booleans())
    def release_address(self, which: int, pool_id: str | None, pick: int, again: bool) -> None:
        if pool_id is None:
            return
        model = self.model[pool_id]
        driver = self.drivers[which]
        if not model.used:
            value = int(model.net.network_address) + pick % model.net.num_addresses
            first, last = model.first_last(dynamic=False)
            error = AddressNotAllocatedError if first <= value <= last else InvalidAddressError
            with pytest.raises(error):
                driver.release_address(pool_id, str(ipaddress.ip_address(value)))
            return
        value = sorted(model.used)[pick % len(model.used)]
        address = f"{ipaddress.ip_address(value)}/{model.net.prefixlen}"
        driver.release_address(pool_id, address)
        model.used.discard(value)
        with pytest.raises(AddressNotAllocatedError):
            self.drivers[1 - which].release_address(pool_id, address)
        if again:  # a released address can be handed out again at once
            assert self.drivers[1 - which].request_address(pool_id, address)[0] == address
            model.used.add(value)

    # Restarts and transactions that roll back.

    @rule(which=st.integers(0, 1))
    def restart(self, which: int) -> None:
        self.drivers[which] = self.new_driver()

    @rule(which=st.integers(0, 1), pool_id=pools, count=st.integers(1, 5))
    def rolled_back_transaction(self, which: int, pool_id: str | None, count: int) -> None:
        if pool_id is None:
            return
        try:
            with self.store.transaction() as tx:
                bound = self.drivers[which].bind(tx)
                for _ in range(count):
                    bound.request_address(pool_id)
                bound.request_pool(SPACE, "", "", None, False)
                raise _Rollback
        except (_Rollback, PoolExhaustedError):
            pass

    @invariant()
    def agrees_with_the_model(self) -> None:
        driver = self.drivers[0]
        pools = driver.pools()
        assert sorted(p.id for p in pools) == sorted(self.model)
        nets = [ipaddress.ip_network(p.pool) for p in pools]
        for i, a in enumerate(nets):
            for b in nets[i + 1 :]:
                assert a.version != b.version or not a.overlaps(b)  # type: ignore[arg-type]
        for info in pools:
            model = self.model[info.id]
            assert info.allocated == len(model.used)
            listed = self.drivers[1].addresses(info.id)
            assert [_as_int(a) for a in listed] == sorted(model.used)


class _Rollback(Exception):
    pass


class SqliteIpamMachine(IpamMachine):
    def make_store(self) -> Store:
        self._dir = tempfile.TemporaryDirectory()
        return SqliteStore(Path(self._dir.name))

    def teardown(self) -> None:
        super().teardown()
        self._dir.cleanup()


_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow],
    "stateful_step_count": 40,
}
IpamMachine.TestCase.settings = settings(max_examples=150, **_SETTINGS)
SqliteIpamMachine.TestCase.settings = settings(max_examples=30, **_SETTINGS)
TestIpamInMemory = IpamMachine.TestCase
TestIpamOnSqlite = SqliteIpamMachine.TestCase


def test_the_model_agrees_with_host_range() -> None:
    model = _Model(ipaddress.ip_network("10.0.0.0/30"), None)
    assert model.lowest_free(dynamic=True) == int(ipaddress.ip_address("10.0.0.1"))
