"""The ``static`` IPAM driver: the file's pools, a fixed address per MAC, the rest in order.

State (which pools are in use, which addresses are handed out) is kept in libnet's store,
through :meth:`StaticIpam.bind`: the controller binds the driver to each operation's
transaction, so a request commits or rolls back with the operation, survives restarts and
is shared by every process using the same state directory. Keys, under ``ipam/static``:

- ``pools/CIDR``: the pool's record (JSON: ID, ip-range, network name);
- ``addresses/CIDR/OFFSET``: one per address handed out (OFFSET in hex from the pool's
  network address), holding the MAC it was requested for, if any.

Called without :meth:`~StaticIpam.bind`, the driver runs each call in a transaction of
its own store (a private memory store unless given one).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any

from libnet.errors import (
    AddressInUseError,
    AddressNotAllocatedError,
    InvalidAddressError,
    InvalidPoolError,
    KeyNotFoundError,
    PoolExhaustedError,
    PoolNotFoundError,
    PoolOverlapError,
)
from libnet.ipam import (
    GATEWAY_ADDRESS_TYPE,
    MAC_ADDRESS_OPTION,
    NETWORK_NAME_OPTION,
    REQUEST_ADDRESS_TYPE,
    Ipam,
)
from libnet.store import KVOps, MemoryStore, Store

from libnet_static_ipam._table import (
    Address,
    Network,
    PoolPlan,
    Table,
    host_range,
    normalize_mac,
)

__all__ = ["ADDRESS_SPACE", "KEY_PREFIX", "StaticIpam"]

ADDRESS_SPACE = "static"
"""The driver's only address space (its local and global default)."""

KEY_PREFIX = "ipam/static"
"""Where the driver keeps its state in libnet's store."""


class StaticIpam(Ipam):
    """Hands out the pools of ``table`` and, to each MAC it lists, that MAC's address."""

    def __init__(self, table: Table, store: Store | None = None) -> None:
        self._table = table
        self._store: Store = MemoryStore() if store is None else store

    @property
    def table(self) -> Table:
        """The assignments file, as read when the driver was made."""
        return self._table

    def bind(self, kv: KVOps) -> Ipam:
        """This driver reading and writing its state through transaction ``kv``."""
        return _View(self._table, kv)

    def get_default_address_spaces(self) -> tuple[str, str]:
        return ADDRESS_SPACE, ADDRESS_SPACE

    def request_pool(
        self,
        address_space: str,
        pool: str = "",
        sub_pool: str = "",
        options: Mapping[str, str] | None = None,
        v6: bool = False,
    ) -> tuple[str, str, dict[str, str]]:
        with self._store.transaction() as tx:
            return self.bind(tx).request_pool(address_space, pool, sub_pool, options, v6)

    def release_pool(self, pool_id: str) -> None:
        with self._store.transaction() as tx:
            self.bind(tx).release_pool(pool_id)

    def request_address(
        self,
        pool_id: str,
        address: str | None = None,
        options: Mapping[str, str] | None = None,
    ) -> tuple[str | None, dict[str, str]]:
        with self._store.transaction() as tx:
            return self.bind(tx).request_address(pool_id, address, options)

    def release_address(self, pool_id: str, address: str) -> None:
        with self._store.transaction() as tx:
            self.bind(tx).release_address(pool_id, address)

    def addresses(self, pool_id: str) -> list[str]:
        """The addresses handed out from a pool, in increasing order, with prefix length."""
        with self._store.transaction() as tx:
            return _View(self._table, tx).addresses(pool_id)


class _Held:
    """A pool in use, read from the store."""

    __slots__ = ("id", "ip_range", "net", "owner", "plan")

    def __init__(self, record: Mapping[str, Any], plan: PoolPlan) -> None:
        self.id: str = record["id"]
        self.net: Network = ipaddress.ip_network(record["pool"])
        self.ip_range: Network | None = (
            ipaddress.ip_network(record["ip_range"]) if record["ip_range"] else None
        )
        self.owner: str | None = record.get("owner")
        self.plan = plan

    def where(self) -> str:
        text = f"pool {self.net}"
        if self.ip_range is not None:
            text += f" (ip-range {self.ip_range})"
        if self.owner:
            text += f" of network {self.owner!r}"
        return text


class _View(Ipam):
    """The driver working in one transaction."""

    __slots__ = ("_kv", "_table")

    def __init__(self, table: Table, kv: KVOps) -> None:
        self._table = table
        self._kv = kv

    def bind(self, kv: KVOps) -> Ipam:
        return _View(self._table, kv)

    def get_default_address_spaces(self) -> tuple[str, str]:
        return ADDRESS_SPACE, ADDRESS_SPACE

    # Pools.

    def request_pool(
        self,
        address_space: str,
        pool: str = "",
        sub_pool: str = "",
        options: Mapping[str, str] | None = None,
        v6: bool = False,
    ) -> tuple[str, str, dict[str, str]]:
        if address_space != ADDRESS_SPACE:
            raise InvalidPoolError(
                f"unknown address space {address_space!r}: the static IPAM driver has only "
                f"{ADDRESS_SPACE!r}"
            )
        family = "IPv6" if v6 else "IPv4"
        if pool:
            plan = self._table.plan(_cidr(pool, "pool", v6))
            if plan is None:
                raise InvalidPoolError(
                    f"pool {pool} is not listed in {self._table.source}, which lists "
                    f"{self._table.listed(v6)}; the static IPAM driver serves only those"
                )
            held = self._record(plan.pool)
            if held is not None:
                raise PoolOverlapError(
                    f"pool {plan.pool} is already used by network {held.get('owner')!r}: "
                    "each pool of the file serves one network at a time"
                )
        else:
            free = [p for p in self._table.pools if p.v6 == v6 and self._record(p.pool) is None]
            if not free:
                if not any(p.v6 == v6 for p in self._table.pools):
                    raise InvalidPoolError(f"{self._table.source} lists no {family} pool")
                raise PoolExhaustedError(
                    f"every {family} pool of {self._table.source} is in use "
                    f"({self._table.listed(v6)}): remove a network or list more pools"
                )
            plan = free[0]
        ip_range = plan.ip_range
        if sub_pool:
            ip_range = _cidr(sub_pool, "ip-range", v6)
            if not ip_range.subnet_of(plan.pool):  # type: ignore[arg-type]
                raise InvalidPoolError(f"ip-range {ip_range} is not inside pool {plan.pool}")
        pool_id = f"{ADDRESS_SPACE}/{plan.pool}"
        record = {
            "id": pool_id,
            "pool": str(plan.pool),
            "ip_range": str(ip_range) if ip_range else "",
            "owner": (options or {}).get(NETWORK_NAME_OPTION) or None,
        }
        self._kv.put(_pool_key(plan.pool), json.dumps(record, sort_keys=True).encode())
        return pool_id, str(plan.pool), {}

    def release_pool(self, pool_id: str) -> None:
        held = self._held(pool_id)
        for pair in self._kv.list(_addresses_prefix(held.net)):
            self._kv.delete(pair.key)
        self._kv.delete(_pool_key(held.net))

    # Addresses.

    def request_address(
        self,
        pool_id: str,
        address: str | None = None,
        options: Mapping[str, str] | None = None,
    ) -> tuple[str | None, dict[str, str]]:
        held = self._held(pool_id)
        opts = options or {}
        mac = normalize_mac(opts.get(MAC_ADDRESS_OPTION))
        used = self._used(held.net)
        base = int(held.net.network_address)
        if address:
            wanted = _address_in(held, address)
            owner = held.plan.owner_of(wanted)
            if owner is not None and owner != mac:
                raise AddressInUseError(
                    f"address {wanted} of {held.where()} is assigned to MAC {owner} in "
                    f"{self._table.source}"
                )
            offset = int(wanted) - base
        elif opts.get(REQUEST_ADDRESS_TYPE) == GATEWAY_ADDRESS_TYPE:
            gateway = held.plan.gateway
            offset = (
                int(gateway) - base
                if gateway is not None
                else self._first_free(held, used, whole_pool=True)
            )
        elif mac is not None and mac in held.plan.assignments:
            offset = int(held.plan.assignments[mac]) - base
        else:
            offset = self._first_free(held, used, whole_pool=False)
        if offset in used:
            raise AddressInUseError(
                f"address {held.net.network_address + offset} is already in use in {held.where()}"
            )
        self._kv.put(_address_key(held.net, offset), (mac or "").encode())
        return f"{held.net.network_address + offset}/{held.net.prefixlen}", {}

    def release_address(self, pool_id: str, address: str) -> None:
        held = self._held(pool_id)
        offset = int(_address_in(held, address)) - int(held.net.network_address)
        try:
            self._kv.delete(_address_key(held.net, offset))
        except KeyNotFoundError:
            raise AddressNotAllocatedError(
                f"address {address} is not allocated in {held.where()}: it was released "
                "already or never handed out"
            ) from None

    def addresses(self, pool_id: str) -> list[str]:
        held = self._held(pool_id)
        suffix = f"/{held.net.prefixlen}"
        return [f"{held.net.network_address + o}{suffix}" for o in sorted(self._used(held.net))]

    # Helpers.

    def _record(self, net: Network) -> dict[str, Any] | None:
        try:
            record: dict[str, Any] = json.loads(self._kv.get(_pool_key(net)).value)
        except KeyNotFoundError:
            return None
        return record

    def _held(self, pool_id: str) -> _Held:
        space, _, cidr = str(pool_id).partition("/")
        try:
            net = ipaddress.ip_network(cidr) if space == ADDRESS_SPACE else None
        except ValueError:
            net = None
        record = self._record(net) if net is not None else None
        if net is None or record is None:
            raise PoolNotFoundError(
                f"the static IPAM driver holds no pool with ID {pool_id!r}: it was never "
                "requested or was released"
            )
        plan = self._table.plan(net) or PoolPlan(net)  # the file may have changed since
        return _Held(record, plan)

    def _used(self, net: Network) -> set[int]:
        prefix = _addresses_prefix(net)
        return {int(pair.key[len(prefix) :], 16) for pair in self._kv.list(prefix)}

    def _first_free(self, held: _Held, used: set[int], whole_pool: bool) -> int:
        """The lowest offset neither used nor reserved by the file, in the ip-range."""
        lo, hi = host_range(held.net)
        if held.ip_range is not None and not whole_pool:
            start = int(held.ip_range.network_address) - int(held.net.network_address)
            lo, hi = max(lo, start), min(hi, start + held.ip_range.num_addresses - 1)
        reserved = held.plan.reserved()
        offset = lo
        while offset <= hi:  # at most len(used) + len(reserved) steps past the first
            if offset not in used and offset not in reserved:
                return offset
            offset += 1
        raise PoolExhaustedError(
            f"no free address left in {held.where()}: every address is in use or assigned "
            f"to a MAC in {self._table.source}; release some or use a bigger pool"
        )


def _cidr(text: str, what: str, v6: bool) -> Network:
    try:
        net = ipaddress.ip_network(text)
    except ValueError:
        raise InvalidPoolError(f"{what} {text!r} is not a network such as 10.9.0.0/24") from None
    if (net.version == 6) != v6:
        raise InvalidPoolError(f"{what} {net} is not an IPv{6 if v6 else 4} network")
    return net


def _address_in(held: _Held, text: str) -> Address:
    """Address ``text`` (bare, or with the pool's prefix length) of the pool."""
    bare, _, length = str(text).partition("/")
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        raise InvalidAddressError(f"address {text!r} is not an IP address") from None
    if length and length != str(held.net.prefixlen):
        raise InvalidAddressError(f"address {text} has another prefix length than {held.where()}")
    lo, hi = host_range(held.net)
    offset = int(address) - int(held.net.network_address)
    if address.version != held.net.version or not lo <= offset <= hi:
        raise InvalidAddressError(f"address {address} is not in {held.where()}")
    return address


def _pool_key(net: Network) -> str:
    return f"{KEY_PREFIX}/pools/{net}"


def _addresses_prefix(net: Network) -> str:
    return f"{KEY_PREFIX}/addresses/{net}/"


def _address_key(net: Network, offset: int) -> str:
    return f"{_addresses_prefix(net)}{offset:x}"
