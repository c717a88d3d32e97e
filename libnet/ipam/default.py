"""The built-in ``default`` IPAM driver: Docker's default pools, state in libnet's Store.

Address spaces ``LocalDefault`` and ``GlobalDefault`` each hold pools that never overlap.
A pool request without a CIDR gets the first subnet of the configured default pool list
that overlaps no pool of its address space. Addresses are handed out lowest first (or
round-robin with option :data:`~libnet.ipam.ALLOC_SERIAL`); with a sub-pool (ip-range)
dynamic addresses come from the sub-pool only, while a requested address, the gateway and
auxiliary addresses may be anywhere in the pool, as in Docker.

Store layout (``P`` is the key prefix, ``ipam/default`` unless configured; ``SPACE`` the
address space, ``CIDR`` the pool such as ``172.17.0.0/16``):

- ``P/pools/SPACE/CIDR``: the pool's record, compact JSON (ID, sub-pool, owner...);
- ``P/heads/SPACE/CIDR``: a token unique to one write, plus the round-robin cursor;
- ``P/bits/SPACE/CIDR/N``: chunk ``N`` (hex) of the pool's allocation bitmap, 1024
  addresses (128 bytes) per chunk, absent when none of them is allocated;
- ``P/ula``: the IPv6 ULA /48 generated for the default IPv6 pools.

Every call runs in one store transaction and reads the pool's head inside it, so
processes sharing a SQLite state directory never hand out the same address. Each driver
keeps an in-process copy of the pools it used; a copy is trusted only if it wrote the
stored head itself and the head is unchanged. Then an allocation or release writes just
one chunk, whatever the pool's size, and an IPv6 /64 costs what is allocated in it. Any
other copy reads the pool again and writes a fresh head before changing it; in a
caller's transaction (:meth:`DefaultIpam.bind`) every change writes a fresh head, as
the caller may still roll back. Copies are read and changed only inside transactions of
the driver's store, which never overlap, so a driver can serve several threads.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import os
from _socket import AF_INET, AF_INET6, inet_ntop, inet_pton  # socket's C part: lighter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
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
    StoreCorruptError,
)
from libnet.ipam._api import (
    ALLOC_SERIAL,
    GATEWAY_ADDRESS_TYPE,
    GLOBAL_DEFAULT,
    LOCAL_DEFAULT,
    NETWORK_NAME_OPTION,
    REQUEST_ADDRESS_TYPE,
    Ipam,
)
from libnet.ipam._bitmap import CHUNK_BYTES, CHUNK_MASK, CHUNK_SHIFT, AddressSet, decode_chunk
from libnet.ipam._config import (
    DEFAULT_GLOBAL_POOLS,
    DEFAULT_LOCAL_POOLS,
    PoolSpec,
    host_range,
    parse_subnet,
)
from libnet.store import KVOps, MemoryStore, Store

__all__ = ["KEY_PREFIX", "DefaultIpam", "PoolInfo"]

KEY_PREFIX = "ipam/default"
"""Where the default IPAM keeps its state in the store, unless told otherwise."""

_SPACES = (LOCAL_DEFAULT, GLOBAL_DEFAULT)
_ULA_PREFIX = 48
_ULA_SIZE = 64
_ENCODER = json.JSONEncoder(separators=(",", ":"), sort_keys=True)
_urandom = os.urandom

PoolSpecLike = PoolSpec | Mapping[str, Any] | tuple[str, int]


@dataclass(frozen=True)
class PoolInfo:
    """A pool held by the default IPAM, for listings."""

    id: str
    address_space: str
    pool: str
    sub_pool: str
    v6: bool
    owner: str | None
    serial: bool
    allocated: int

    def to_dict(self) -> dict[str, Any]:
        """The pool as plain values, for listings and JSON."""
        return dict(vars(self))


def _truthy(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower() == "true"


class _Pool:
    """The in-process copy of one pool, valid while the stored head equals ``head``."""

    __slots__ = (
        "addrs",
        "base",
        "bits_prefix",
        "cursor",
        "dhi",
        "dlo",
        "head",
        "head_key",
        "hi",
        "hint",
        "id",
        "keys",
        "lo",
        "owned",
        "owner",
        "pool",
        "serial",
        "size",
        "space",
        "sub_pool",
        "suffix",
        "v6",
    )

    def __init__(
        self, prefix: str, rec: Mapping[str, Any], head: bytes, chunks: AddressSet
    ) -> None:
        self.id: str = rec["id"]
        self.space: str = rec["space"]
        self.pool: str = rec["pool"]
        self.sub_pool: str = rec["sub_pool"]
        self.owner: str | None = rec["owner"]
        self.serial: bool = rec["serial"]
        net = ipaddress.ip_network(self.pool)
        self.v6 = net.version == 6
        self.base = int(net.network_address)
        self.size = net.num_addresses
        self.suffix = f"/{net.prefixlen}"
        self.lo, self.hi = host_range(self.v6, net.prefixlen)
        if self.sub_pool:
            sub = ipaddress.ip_network(self.sub_pool)
            start = int(sub.network_address) - self.base
            self.dlo = max(self.lo, start)
            self.dhi = min(self.hi, start + sub.num_addresses - 1)
        else:
            self.dlo, self.dhi = self.lo, self.hi
        self.hint = self.dlo  # every offset in [dlo, hint) is allocated
        self.head = head
        self.owned = False  # whether this copy wrote the stored head itself
        self.cursor = _head_cursor(head)
        self.head_key = f"{prefix}/heads/{self.space}/{self.pool}"
        self.bits_prefix = f"{prefix}/bits/{self.space}/{self.pool}/"
        self.addrs = chunks
        self.keys: dict[int, str] = {}  # chunk index -> store key, for chunks written

    def where(self) -> str:
        """The pool, its sub-pool and its network, for messages."""
        text = f"pool {self.pool}"
        if self.sub_pool:
            text += f" (ip-range {self.sub_pool})"
        if self.owner:
            text += f" of network {self.owner!r}"
        return text

    def address(self, offset: int) -> str:
        value = self.base + offset
        if self.v6:
            return str(ipaddress.IPv6Address(value)) + self.suffix
        return inet_ntop(AF_INET, value.to_bytes(4, "big")) + self.suffix

    def offset(self, text: object, what: str) -> int:
        """The offset of address ``text`` (bare or with a prefix length) in this pool."""
        family = AF_INET6 if self.v6 else AF_INET
        bare = text
        if isinstance(text, str) and text.endswith(self.suffix):
            bare = text[: -len(self.suffix)]
        try:
            packed = inet_pton(family, bare)  # type: ignore[arg-type]
        except (OSError, TypeError, ValueError):
            packed = self._parse_slow(text, what)
        offset = int.from_bytes(packed, "big") - self.base
        if not self.lo <= offset <= self.hi:
            if 0 <= offset < self.size:
                which = "network" if offset < self.lo else "broadcast"
                raise InvalidAddressError(
                    f"{what} {text} is the {which} address of {self.where()}, which is "
                    "never handed out"
                )
            raise InvalidAddressError(f"{what} {text} is not in {self.where()}")
        return offset

    def _parse_slow(self, text: object, what: str) -> bytes:
        if isinstance(text, str) and "/" in text:
            try:
                addr = ipaddress.ip_interface(text).ip
            except ValueError:
                addr = None
            if addr is not None and (addr.version == 6) == self.v6:
                raise InvalidAddressError(
                    f"{what} {text} has another prefix length than {self.where()}; give "
                    f"the address alone or with {self.suffix}"
                )
        elif isinstance(text, str):
            try:
                addr = ipaddress.ip_address(text)
            except ValueError:
                addr = None
        else:
            addr = None
        if addr is None:
            raise InvalidAddressError(f"{what} {text!r} is not an IP address")
        if (addr.version == 6) != self.v6:
            raise InvalidAddressError(
                f"{what} {text} is an IPv{addr.version} address, but {self.where()} is "
                f"IPv{6 if self.v6 else 4}"
            )
        return addr.packed


class _Tokens:
    """Head tokens no other write produces: a random per-process prefix and a counter.

    A forked child draws a new prefix, so parent and child never share a token.
    """

    prefix = b""
    counter = itertools.count()

    @classmethod
    def reset(cls) -> None:
        cls.prefix = _urandom(8).hex().encode()
        cls.counter = itertools.count()


_Tokens.reset()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_Tokens.reset)


def _new_head(cursor: int) -> bytes:
    """A head value: a fresh token and the round-robin cursor."""
    return b"%s%x %x" % (_Tokens.prefix, next(_Tokens.counter), cursor)


def _head_cursor(head: bytes) -> int:
    try:
        return int(head.split(b" ", 1)[1], 16)
    except (IndexError, ValueError):
        return 0


class DefaultIpam(Ipam):
    """libnet's built-in IPAM driver, keeping its state in ``store``.

    ``local_pools`` and ``global_pools`` are the default pool lists of the two address
    spaces, as PoolSpecs, ``{"base", "size"}`` mappings or ``(base, size)`` pairs (IPv4
    and IPv6 mixed); None gives Docker's. A list without an IPv6 entry gets one: a ULA
    /48 generated once and kept in the store, split into /64s, as recent Docker does.

    Each method runs in a transaction of its own; :meth:`bind` gives a view that runs in
    the caller's transaction instead. Releasing a pool frees every address left in it.
    """

    def __init__(
        self,
        store: Store | None = None,
        *,
        local_pools: Iterable[PoolSpecLike] | None = None,
        global_pools: Iterable[PoolSpecLike] | None = None,
        key_prefix: str = KEY_PREFIX,
    ) -> None:
        self._store: Store = MemoryStore() if store is None else store
        self._defaults = {
            LOCAL_DEFAULT: DEFAULT_LOCAL_POOLS
            if local_pools is None
            else PoolSpec.many(local_pools),
            GLOBAL_DEFAULT: (
                DEFAULT_GLOBAL_POOLS if global_pools is None else PoolSpec.many(global_pools)
            ),
        }
        self._prefix = key_prefix.rstrip("/")
        self._cache: dict[str, _Pool] = {}

    @property
    def store(self) -> Store:
        """The store holding the allocation state."""
        return self._store

    def default_pools(self, address_space: str) -> tuple[PoolSpec, ...]:
        """The configured default pool list of an address space (without the ULA)."""
        return self._defaults[self._check_space(address_space)]

    # The Ipam contract, each call in its own transaction.

    def get_default_address_spaces(self) -> tuple[str, str]:
        return LOCAL_DEFAULT, GLOBAL_DEFAULT

    def request_pool(
        self,
        address_space: str,
        pool: str = "",
        sub_pool: str = "",
        options: Mapping[str, str] | None = None,
        v6: bool = False,
    ) -> tuple[str, str, dict[str, str]]:
        with self._store.transaction() as tx:
            return self._request_pool(tx, address_space, pool, sub_pool, options, v6)

    def release_pool(self, pool_id: str) -> None:
        with self._store.transaction() as tx:
            self._release_pool(tx, pool_id)

    def request_address(
        self,
        pool_id: str,
        address: str | None = None,
        options: Mapping[str, str] | None = None,
    ) -> tuple[str | None, dict[str, str]]:
        entry: _Pool | None = None
        try:
            with self._store.transaction() as tx:
                entry, change = self._plan_request(tx, pool_id, address, options)
                offset = _apply(entry, change, _write(tx, entry, change, False))
        except BaseException:
            if entry is not None:
                entry.head = b""  # the change may not be committed: read the pool again
            raise
        return entry.address(offset), {}

    def release_address(self, pool_id: str, address: str) -> None:
        entry: _Pool | None = None
        try:
            with self._store.transaction() as tx:
                entry, change = self._plan_release(tx, pool_id, address)
                _apply(entry, change, _write(tx, entry, change, False))
        except BaseException:
            if entry is not None:
                entry.head = b""  # the change may not be committed: read the pool again
            raise

    def bind(self, kv: KVOps) -> Ipam:
        """A view of this driver whose calls read and write through transaction ``kv``.

        ``kv`` must be a transaction of this driver's store (or the store itself when
        nothing else uses it concurrently); the view's changes commit or roll back with it.
        """
        return _BoundDefaultIpam(self, kv)

    # Introspection.

    def pools(self, address_space: str | None = None) -> list[PoolInfo]:
        """The pools held, sorted by address space and pool."""
        with self._store.transaction() as tx:
            return self._pools(tx, address_space)

    def addresses(self, pool_id: str) -> list[str]:
        """The addresses allocated in a pool, in increasing order, with prefix length."""
        with self._store.transaction() as tx:
            return self._addresses(tx, pool_id)

    # The implementation, on any KVOps.

    def _check_space(self, space: object) -> str:
        if space not in _SPACES:
            raise InvalidPoolError(
                f"unknown address space {space!r}: the default IPAM driver serves "
                f"{LOCAL_DEFAULT} and {GLOBAL_DEFAULT}"
            )
        return str(space)

    def _rec_key(self, space: str, cidr: str) -> str:
        return f"{self._prefix}/pools/{space}/{cidr}"

    def _records(self, kv: KVOps, space: str) -> list[dict[str, Any]]:
        return [_decode(p.key, p.value) for p in kv.list(f"{self._prefix}/pools/{space}/")]

    def _request_pool(
        self,
        kv: KVOps,
        address_space: str,
        pool: str,
        sub_pool: str,
        options: Mapping[str, str] | None,
        v6: bool,
    ) -> tuple[str, str, dict[str, str]]:
        space = self._check_space(address_space)
        v6 = bool(v6)
        opts = dict(options or {})
        owner = opts.get(NETWORK_NAME_OPTION) or None
        if sub_pool and not pool:
            raise InvalidPoolError(f"sub-pool {sub_pool} needs a pool to be inside of")
        records = [r for r in self._records(kv, space) if r["v6"] == v6]
        if pool:
            net = parse_subnet(pool, "pool", v6)
            start, end = int(net.network_address), int(net.broadcast_address)
            for rec in records:
                other = ipaddress.ip_network(rec["pool"])
                if int(other.network_address) <= end and start <= int(other.broadcast_address):
                    whose = f" of network {rec['owner']!r}" if rec["owner"] else ""
                    raise PoolOverlapError(
                        f"pool {net} overlaps pool {other}{whose} in address space {space}: "
                        "choose a subnet that overlaps no other network's, or remove that "
                        "network first"
                    )
        else:
            net = self._pick_default(kv, space, v6, records)
        cidr = str(net)
        sub = ""
        if sub_pool:
            rng = parse_subnet(sub_pool, "sub-pool", v6)
            if not rng.subnet_of(net):  # type: ignore[arg-type]
                raise InvalidPoolError(f"sub-pool {rng} is not inside pool {net}")
            lo, hi = host_range(v6, net.prefixlen)
            first = int(rng.network_address) - int(net.network_address)
            if first + rng.num_addresses - 1 < lo or first > hi:
                raise InvalidPoolError(
                    f"sub-pool {rng} holds no address of pool {net} that can be handed out"
                )
            sub = str(rng)
        pool_id = f"{space}/{cidr}/{sub}" if sub else f"{space}/{cidr}"
        rec = {
            "id": pool_id,
            "space": space,
            "pool": cidr,
            "sub_pool": sub,
            "v6": v6,
            "owner": owner,
            "serial": _truthy(opts.get(ALLOC_SERIAL)),
        }
        head = _new_head(0)
        kv.put(self._rec_key(space, cidr), _ENCODER.encode(rec).encode())
        entry = _Pool(self._prefix, rec, head, AddressSet())
        kv.put(entry.head_key, head)
        entry.owned = True
        self._cache[pool_id] = entry
        return pool_id, cidr, {}

    def _pick_default(
        self, kv: KVOps, space: str, v6: bool, records: list[dict[str, Any]]
    ) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        specs = [s for s in self._defaults[space] if s.v6 == v6]
        if v6 and not specs:
            specs = [PoolSpec(self._ula(kv), _ULA_SIZE)]
        taken = sorted(
            (int(n.network_address), int(n.broadcast_address))
            for n in (ipaddress.ip_network(r["pool"]) for r in records)
        )
        for spec in specs:
            base = spec.network
            found = _first_free_subnet(
                int(base.network_address),
                int(base.broadcast_address),
                1 << (base.max_prefixlen - spec.size),
                taken,
            )
            if found is not None:
                return ipaddress.ip_network((found, spec.size))
        listed = ", ".join(f"{s.base} in /{s.size}s" for s in specs[:4])
        if len(specs) > 4:
            listed += f" and {len(specs) - 4} more"
        raise PoolExhaustedError(
            f"all default {'IPv6' if v6 else 'IPv4'} address pools of address space {space} "
            f"are in use ({listed or 'none configured'}): give the network a subnet, remove "
            "unused networks or configure more default address pools"
        )

    def _ula(self, kv: KVOps) -> str:
        key = f"{self._prefix}/ula"
        try:
            return kv.get(key).value.decode()
        except KeyNotFoundError:
            pass
        global_id = int.from_bytes(_urandom(5), "big")
        net = ipaddress.IPv6Network(((0xFD << 120) | (global_id << 80), _ULA_PREFIX))
        kv.put(key, str(net).encode())
        return str(net)

    def _load(self, kv: KVOps, pool_id: str) -> _Pool:
        """The pool with ID ``pool_id``: the cached copy if it is still exact, else read.

        A cached copy is exact only if it wrote the stored head itself: the copy that
        wrote the head may change the pool without rewriting it, so any other copy
        reads the pool again (and writes a fresh head before changing it).
        """
        entry = self._cache.get(pool_id)
        if entry is not None:
            try:
                if entry.owned and kv.get(entry.head_key).value == entry.head:
                    return entry
            except KeyNotFoundError:
                pass
            del self._cache[pool_id]
        parts = pool_id.split("/") if isinstance(pool_id, str) else []
        if len(parts) not in (3, 5) or parts[0] not in _SPACES:
            raise PoolNotFoundError(f"no pool has ID {pool_id!r} in the default IPAM driver")
        space, cidr = parts[0], f"{parts[1]}/{parts[2]}"
        try:
            pair = kv.get(self._rec_key(space, cidr))
            rec = _decode(pair.key, pair.value)
            head = kv.get(f"{self._prefix}/heads/{space}/{cidr}").value
        except KeyNotFoundError:
            rec = None
        if rec is None or rec.get("id") != pool_id:
            raise PoolNotFoundError(
                f"no pool has ID {pool_id!r}: it was never requested or was released"
            )
        bits = f"{self._prefix}/bits/{space}/{cidr}/"
        chunks = {int(p.key[len(bits) :], 16): decode_chunk(p.value) for p in kv.list(bits)}
        entry = _Pool(self._prefix, rec, head, AddressSet(chunks))
        self._cache[pool_id] = entry
        return entry

    def _release_pool(self, kv: KVOps, pool_id: str) -> None:
        entry = self._load(kv, pool_id)
        for pair in kv.list(entry.bits_prefix):
            kv.delete(pair.key)
        kv.delete(entry.head_key)
        kv.delete(self._rec_key(entry.space, entry.pool))
        self._cache.pop(pool_id, None)

    def _plan_request(
        self,
        kv: KVOps,
        pool_id: str,
        address: str | None,
        options: Mapping[str, str] | None,
    ) -> tuple[_Pool, _Change]:
        """Pick the address to allocate and compute the change, writing nothing yet."""
        entry = self._load(kv, pool_id)
        addrs = entry.addrs
        cursor = entry.cursor
        lowest = False
        if address:
            offset = entry.offset(address, "address")
            if offset in addrs:
                raise AddressInUseError(f"address {address} is already in use in {entry.where()}")
        elif options and options.get(REQUEST_ADDRESS_TYPE) == GATEWAY_ADDRESS_TYPE:
            found = addrs.first_free(entry.lo, entry.hi)
            if found is None:
                raise PoolExhaustedError(f"no free address left for the gateway in {entry.where()}")
            offset = found
        else:
            if entry.serial:
                start = max(cursor, entry.dlo)
                found = addrs.first_free(start, entry.dhi)
                if found is None:
                    found = addrs.first_free(entry.dlo, min(start, entry.dhi + 1) - 1)
                if found is not None:
                    cursor = found + 1
            else:
                found = addrs.first_free(entry.hint, entry.dhi)
                lowest = True
            if found is None:
                raise PoolExhaustedError(
                    f"no free address left in {entry.where()}: all "
                    f"{entry.dhi - entry.dlo + 1} addresses are in use; release some or "
                    "use a bigger subnet"
                )
            offset = found
        index = offset >> CHUNK_SHIFT
        word = addrs.chunks.get(index, 0) | (1 << (offset & CHUNK_MASK))
        return entry, (offset, index, word, 1, cursor, lowest)

    def _plan_release(self, kv: KVOps, pool_id: str, address: str) -> tuple[_Pool, _Change]:
        """Check that the address is allocated and compute the change, writing nothing yet."""
        entry = self._load(kv, pool_id)
        offset = entry.offset(address, "address")
        if offset not in entry.addrs:
            raise AddressNotAllocatedError(
                f"address {address} is not allocated in {entry.where()}: it was released "
                "already or never handed out"
            )
        index = offset >> CHUNK_SHIFT
        word = entry.addrs.chunks[index] & ~(1 << (offset & CHUNK_MASK))
        return entry, (offset, index, word, -1, entry.cursor, False)

    def _pools(self, kv: KVOps, address_space: str | None) -> list[PoolInfo]:
        spaces = _SPACES if address_space is None else (self._check_space(address_space),)
        out = []
        for space in spaces:
            for rec in self._records(kv, space):
                entry = self._load(kv, rec["id"])
                out.append(
                    PoolInfo(
                        entry.id,
                        space,
                        entry.pool,
                        entry.sub_pool,
                        entry.v6,
                        entry.owner,
                        entry.serial,
                        len(entry.addrs),
                    )
                )
        return out

    def _addresses(self, kv: KVOps, pool_id: str) -> list[str]:
        entry = self._load(kv, pool_id)
        return [entry.address(offset) for offset in entry.addrs]


class _BoundDefaultIpam(Ipam):
    """A DefaultIpam working inside one caller's transaction (see DefaultIpam.bind)."""

    __slots__ = ("_ipam", "_kv")

    def __init__(self, ipam: DefaultIpam, kv: KVOps) -> None:
        self._ipam = ipam
        self._kv = kv

    def get_default_address_spaces(self) -> tuple[str, str]:
        return self._ipam.get_default_address_spaces()

    def request_pool(
        self,
        address_space: str,
        pool: str = "",
        sub_pool: str = "",
        options: Mapping[str, str] | None = None,
        v6: bool = False,
    ) -> tuple[str, str, dict[str, str]]:
        return self._ipam._request_pool(self._kv, address_space, pool, sub_pool, options, v6)

    def release_pool(self, pool_id: str) -> None:
        self._ipam._release_pool(self._kv, pool_id)

    def request_address(
        self,
        pool_id: str,
        address: str | None = None,
        options: Mapping[str, str] | None = None,
    ) -> tuple[str | None, dict[str, str]]:
        entry, change = self._ipam._plan_request(self._kv, pool_id, address, options)
        return entry.address(_apply(entry, change, _write(self._kv, entry, change, True))), {}

    def release_address(self, pool_id: str, address: str) -> None:
        entry, change = self._ipam._plan_release(self._kv, pool_id, address)
        _apply(entry, change, _write(self._kv, entry, change, True))

    def bind(self, kv: KVOps) -> Ipam:
        return self._ipam.bind(kv)

    def pools(self, address_space: str | None = None) -> list[PoolInfo]:
        """As DefaultIpam.pools, in the bound transaction."""
        return self._ipam._pools(self._kv, address_space)

    def addresses(self, pool_id: str) -> list[str]:
        """As DefaultIpam.addresses, in the bound transaction."""
        return self._ipam._addresses(self._kv, pool_id)


_Change = tuple[int, int, int, int, int, bool]
"""(offset, chunk index, new chunk, +1 or -1, new cursor, whether it was the lowest free)."""


def _write(kv: KVOps, entry: _Pool, change: _Change, fresh_head: bool) -> bytes:
    """Write a change to the store; return the head the cached copy will have after it.

    The head gets a fresh token when the caller's transaction may still roll back after
    this call (``fresh_head``), when this copy did not write the stored head, or when
    the cursor moves; otherwise the head stays. The copy is marked stale until
    :func:`_apply`, in case a write fails.
    """
    _, index, word, _, cursor, _ = change
    head = entry.head
    entry.head = b""
    key = entry.keys.get(index)
    if key is None:
        key = entry.keys[index] = f"{entry.bits_prefix}{index:x}"
    if word:
        kv.put(key, word.to_bytes(CHUNK_BYTES, "little"))
    else:
        kv.delete(key)
        del entry.keys[index]
    if fresh_head or not entry.owned or cursor != entry.cursor:
        head = _new_head(cursor)
        kv.put(entry.head_key, head)
    return head


def _apply(entry: _Pool, change: _Change, head: bytes) -> int:
    """Apply a written change to the cached copy; return the offset concerned."""
    offset, index, word, delta, cursor, lowest = change
    addrs = entry.addrs
    if word:
        addrs.chunks[index] = word
    else:
        addrs.chunks.pop(index, None)
    addrs.count += delta
    entry.head = head
    entry.owned = True
    entry.cursor = cursor
    if delta > 0:
        if lowest or offset == entry.hint:
            entry.hint = offset + 1  # every dynamic offset below it is allocated
    elif entry.dlo <= offset < entry.hint:
        entry.hint = offset
    return offset


def _decode(key: str, value: bytes) -> dict[str, Any]:
    try:
        rec = json.loads(value)
        if not isinstance(rec, dict) or not isinstance(rec.get("pool"), str):
            raise ValueError("not a pool record")
        ipaddress.ip_network(rec["pool"])
        missing = {"id", "space", "sub_pool", "v6", "owner", "serial"} - rec.keys()
        if missing:
            raise ValueError(f"missing {', '.join(sorted(missing))}")
    except ValueError as exc:
        raise StoreCorruptError(
            f"IPAM record {key!r} cannot be read ({exc}); it was left unchanged"
        ) from exc
    return rec


def _first_free_subnet(
    start: int, end: int, block: int, taken: list[tuple[int, int]]
) -> int | None:
    """The first ``block``-aligned block in [start, end] overlapping no range of ``taken``.

    ``taken`` holds disjoint (first, last) ranges sorted by first; ``start`` is aligned.
    """
    candidate = start
    for first, last in taken:
        if last < candidate:
            continue
        if first > candidate + block - 1:
            break
        candidate = start + ((last + 1 - start + block - 1) // block) * block
        if candidate > end:
            return None
    return candidate if candidate + block - 1 <= end else None
