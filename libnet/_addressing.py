"""The controller's use of IPAM: pools for networks, addresses for endpoints.

libnetwork's order is kept: a network requests its pools, then each pool's gateway and
auxiliary addresses, before the network driver creates it; an endpoint gets its addresses
before its driver creates it. No request runs inside the operation's commit: with the
``default`` IPAM driver (which keeps its state in the store) the requests of one step run
in a short transaction of their own that also records their release in the operation's
intent (for a global network, whose allocations commit in the global store and the intent
in the local one, in a *claim* in the global store that the intent names beforehand: see
:func:`release_claim`); a driver that keeps its own state (a plugin) is called outside any
transaction and each release is recorded just after. Either way a failed operation
releases them, and a crashed one's intent does (``Runtime.recover``). Releases wait for the
commit: the ``default`` driver's run in the commit's own transaction, a plugin's once it
committed (a failed delete keeps every address).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from libnet._calls import call_driver
from libnet.driverapi import IPAMData
from libnet.errors import (
    AddressInUseError,
    InvalidAddressError,
    InvalidOptionError,
    KeyNotFoundError,
    PoolExhaustedError,
)
from libnet.ipam import GATEWAY_OPTIONS, NETWORK_NAME_OPTION, Ipam, bind_ipam

if TYPE_CHECKING:
    from libnet.ipam import PoolConfig
    from libnet.store import KVOps, Store

Record = Callable[..., None]
"""``record(method, *args)``: the release of what an IPAM request just gave."""


class IpamSteps(Protocol):
    """What the operation offers IPAM requests and releases (``Op`` in ``_runtime``)."""

    def ipam(
        self, name: str, driver: Ipam, scope: str
    ) -> AbstractContextManager[tuple[Ipam, Record]]:
        """The driver to request through (bound to a short transaction when it keeps its
        state in the store) and the function recording each release to undo; ``scope``
        is the network's (a global one's allocations commit in the global store)."""
        ...

    def at_commit(self, fn: Callable[[KVOps], None]) -> None:
        """Run ``fn(tx)`` inside the transaction committing the operation."""
        ...

    def on_success(self, fn: Callable[..., Any], *args: Any) -> None: ...


log = logging.getLogger("libnet")

DEFAULT_DRIVER = "default"
_POOL_KEYS = {"subnet", "ip_range", "gateway", "aux_addresses"}


@dataclass(frozen=True)
class IpamRequest:
    """What ``new_network(..., ipam=...)`` asked for, validated."""

    driver: str
    options: dict[str, str]
    v4: list[PoolConfig]
    v6: list[PoolConfig]


def parse_ipam(
    ipam: Mapping[str, Any] | None,
    enable_ipv6: bool,
    network: str,
    default_driver: str = DEFAULT_DRIVER,
) -> IpamRequest:
    """Validate ``ipam`` (Docker's IPAM shape) before anything is allocated.

    ``ipam`` is ``{"driver": NAME, "options": {...}, "config": [POOL, ...]}`` where each
    POOL is ``{"subnet", "ip_range", "gateway", "aux_addresses": {NAME: IP}}`` (all
    optional); a pool's family comes from its subnet (or gateway), IPv4 when neither is
    given. Without IPv4 pools one is taken from the default pools; with ``enable_ipv6`` and
    no IPv6 pool, likewise. The driver defaults to ``default_driver``.
    """
    ipam = dict(ipam or {})
    unknown = set(ipam) - {"driver", "options", "config"}
    if unknown:
        raise InvalidOptionError(
            f"IPAM settings of network {network!r} have unknown keys {sorted(unknown)}; "
            "use driver, options and config"
        )
    from libnet.ipam import validate_pool_config  # with the pool configuration's module

    driver = ipam.get("driver") or default_driver
    options = {str(k): str(v) for k, v in dict(ipam.get("options") or {}).items()}
    v4: list[PoolConfig] = []
    v6: list[PoolConfig] = []
    for pool in ipam.get("config") or []:
        pool = dict(pool)
        bad = set(pool) - _POOL_KEYS
        if bad:
            raise InvalidOptionError(
                f"IPAM pool {pool!r} of network {network!r} has unknown keys {sorted(bad)}; "
                f"use {', '.join(sorted(_POOL_KEYS))}"
            )
        is_v6 = _family(pool) == 6
        if is_v6 and not enable_ipv6:
            raise InvalidOptionError(
                f"network {network!r} has IPv6 pool {pool.get('subnet') or pool.get('gateway')} "
                "but IPv6 is not enabled; enable it (--ipv6)"
            )
        (v6 if is_v6 else v4).append(
            validate_pool_config(
                pool.get("subnet"),
                pool.get("ip_range"),
                pool.get("gateway"),
                pool.get("aux_addresses"),
                v6=is_v6,
            )
        )
    if not v4:
        v4.append(validate_pool_config(v6=False))
    if enable_ipv6 and not v6 and driver != "null":
        v6.append(validate_pool_config(v6=True))
    return IpamRequest(str(driver), options, v4, v6)


def _family(pool: Mapping[str, Any]) -> int:
    for key in ("subnet", "gateway", "ip_range"):
        value = pool.get(key)
        if value:
            try:
                return ipaddress.ip_network(str(value), strict=False).version
            except ValueError:
                return 4  # validate_pool_config names the bad value
    return 4


def allocate_pools(
    driver: Ipam,
    op: IpamSteps,
    request: IpamRequest,
    scope: str,
    network: str,
) -> dict[str, Any]:
    """Request every pool with its gateway and auxiliary addresses; return the record."""
    what = f"IPAM of network {network!r}"
    record: dict[str, Any] = {"driver": request.driver, "options": request.options}
    with op.ipam(request.driver, driver, scope) as (drv, undo):
        local_space, global_space = call_driver(what, drv.get_default_address_spaces)
        space = global_space if scope == "global" else local_space
        options = {**request.options, NETWORK_NAME_OPTION: network}
        for family, configs in (("ipv4", request.v4), ("ipv6", request.v6)):
            pools = []
            for cfg in configs:
                pool_id, pool, data = call_driver(
                    what,
                    drv.request_pool,
                    space,
                    cfg.subnet,
                    cfg.ip_range,
                    options,
                    family == "ipv6",
                )
                undo("release_pool", pool_id)
                gateway, _ = call_driver(
                    what, drv.request_address, pool_id, cfg.gateway, GATEWAY_OPTIONS
                )
                if gateway:
                    undo("release_address", pool_id, gateway)
                aux = {}
                for name, ip in cfg.aux_addresses.items():
                    address, _ = call_driver(what, drv.request_address, pool_id, ip, None)
                    if address:
                        undo("release_address", pool_id, address)
                    aux[name] = address or ip
                pools.append(
                    {
                        "pool_id": pool_id,
                        "address_space": space,
                        "pool": pool,
                        "ip_range": cfg.ip_range,
                        "gateway": gateway,
                        "aux_addresses": aux,
                        "data": dict(data or {}),
                    }
                )
            record[family] = pools
    return record


def ipam_data(record: Mapping[str, Any], family: str) -> list[IPAMData]:
    """The network's pools of one family, as drivers receive them."""
    return [
        IPAMData(p["address_space"], p["pool"], p["gateway"], dict(p["aux_addresses"]))
        for p in record.get(family, [])
    ]


def allocate_endpoint(
    driver: Ipam,
    op: IpamSteps,
    record: Mapping[str, Any],
    ipv4_address: str | None,
    ipv6_address: str | None,
    what: str,
    options: Mapping[str, str] | None = None,
    scope: str = "local",
) -> tuple[str | None, str | None, list[list[str]]]:
    """An IPv4 (and IPv6 when the network has it) address for an endpoint.

    Pools are tried in order, moving on when one is exhausted or does not contain the
    requested address, as Docker does. ``options`` go to every request_address (the
    endpoint's MAC for drivers requiring it); ``scope`` is the network's. Returns the
    addresses and (pool ID, address) pairs.
    """
    allocations: list[list[str]] = []
    found: dict[str, str | None] = {}
    for family, wanted in (("ipv4", ipv4_address), ("ipv6", ipv6_address)):
        pools = record.get(family, [])
        if wanted and not pools:
            raise InvalidOptionError(
                f"{what} asks for {wanted} but its network has no {family} pool"
            )
        if wanted:
            _refuse_gateway(pools, wanted, what)
    with op.ipam(record["driver"], driver, scope) as (drv, undo):
        for family, wanted in (("ipv4", ipv4_address), ("ipv6", ipv6_address)):
            found[family] = None
            last: Exception | None = None
            for pool in record.get(family, []):
                try:
                    address, _ = call_driver(
                        what, drv.request_address, pool["pool_id"], wanted, options
                    )
                except (PoolExhaustedError, InvalidAddressError) as exc:
                    last = exc
                    continue
                if address:
                    undo("release_address", pool["pool_id"], address)
                    allocations.append([pool["pool_id"], address])
                found[family] = address
                break
            else:
                if last is not None:
                    raise type(last)(f"{what}: {last}") from last
    return found["ipv4"], found["ipv6"], allocations


def _refuse_gateway(pools: list[Mapping[str, Any]], wanted: str, what: str) -> None:
    """A requested address that is a pool's gateway is refused, saying so."""
    try:
        address = ipaddress.ip_interface(wanted).ip
    except ValueError:
        return  # the IPAM driver words the error about a malformed address
    for pool in pools:
        gateway = pool.get("gateway")
        if gateway and ipaddress.ip_interface(gateway).ip == address:
            raise AddressInUseError(
                f"{what} asks for {wanted}, which is the network's gateway; choose "
                "another address, or leave it out to get the next free one"
            )


def release_endpoint(driver: Ipam, op: IpamSteps, allocations: list[list[str]], what: str) -> None:
    """Give back an endpoint's addresses (see :func:`_release` for when)."""
    for pool_id, address in allocations:
        _release(op, driver, f"address {address} of {what}", "release_address", pool_id, address)


def release_network(driver: Ipam, op: IpamSteps, record: Mapping[str, Any]) -> None:
    """Give back a network's gateways, auxiliary addresses and pools (see :func:`_release`)."""
    for family in ("ipv4", "ipv6"):
        for pool in record.get(family, []):
            for address in (pool["gateway"], *pool["aux_addresses"].values()):
                if address:
                    _release(
                        op,
                        driver,
                        f"address {address}",
                        "release_address",
                        pool["pool_id"],
                        address,
                    )
            _release(op, driver, f"pool {pool['pool']}", "release_pool", pool["pool_id"])


def _release(op: IpamSteps, driver: Ipam, what: str, method: str, *args: Any) -> None:
    """Release once the operation commits: a driver keeping its state in the store in the
    commit's own transaction, any other (a plugin, which could not take a release back if
    the operation failed later) just after; a failure then is logged (the address stays
    held), never raised over a done operation."""

    def release(tx: KVOps) -> None:
        bound = bind_ipam(driver, tx)
        if bound is driver:
            op.on_success(_release_later, what, getattr(driver, method), *args)
        else:
            getattr(bound, method)(*args)

    op.at_commit(release)


def _release_later(what: str, method: Callable[..., Any], *args: Any) -> None:
    try:
        method(*args)
    except Exception:
        log.warning("IPAM driver failed to release %s; it stays held", what, exc_info=True)


CLAIMS = "global/claim/"
"""Where the releases of a global network's allocations wait until its operation ends."""


def release_claim(kv: Store, ipam: Callable[[str], Ipam], key: str) -> None:
    """Release the allocations that claim ``key`` lists and delete it, in one transaction;
    nothing if it is not stored (they never committed, or were released or kept already).

    ``ipam(name)`` is the IPAM driver of that name (one keeping its state in the store).
    """
    with kv.transaction() as tx:
        try:
            steps = json.loads(tx.get(key).value)
        except KeyNotFoundError:
            return
        for _, name, method, *args in reversed(steps):  # newest first: addresses, then pools
            getattr(bind_ipam(ipam(name), tx), method)(*args)
        tx.delete(key)


def random_mac() -> str:
    """A random locally administered unicast MAC, for endpoints whose IPAM needs one."""
    octets = bytearray(os.urandom(6))
    octets[0] = (octets[0] & 0xFE) | 0x02
    return ":".join(f"{b:02x}" for b in octets)


def ipam_summary(record: Mapping[str, Any]) -> dict[str, Any]:
    """The network's IPAM settings and pools as ``network inspect`` shows them (Docker's shape)."""
    if not record:
        return {}
    return {
        "driver": record["driver"],
        "options": dict(record.get("options", {})),
        "config": [
            {
                "subnet": p["pool"],
                "ip_range": p["ip_range"] or None,
                "gateway": p["gateway"].split("/", 1)[0] if p["gateway"] else None,
                "aux_addresses": {k: v.split("/", 1)[0] for k, v in p["aux_addresses"].items()},
            }
            for family in ("ipv4", "ipv6")
            for p in record.get(family, [])
        ],
    }
