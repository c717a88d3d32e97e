"""The built-in IPAM drivers, ready for a controller to register."""

from __future__ import annotations

from collections.abc import Iterable

from libnet.ipam._api import DEFAULT_IPAM, NULL_IPAM, IpamCallback, IpamCapability
from libnet.ipam.default import DefaultIpam, PoolSpecLike
from libnet.ipam.null import NullIpam
from libnet.store import Store

__all__ = ["BUILTIN_IPAM_DRIVERS", "register_builtin_ipam_drivers"]

BUILTIN_IPAM_DRIVERS = frozenset({DEFAULT_IPAM, NULL_IPAM})
"""Names plugins may not register."""


def register_builtin_ipam_drivers(
    callback: IpamCallback,
    store: Store,
    *,
    local_pools: Iterable[PoolSpecLike] | None = None,
    global_pools: Iterable[PoolSpecLike] | None = None,
) -> DefaultIpam:
    """Register ``default`` (on ``store``) and ``null``; return the default driver."""
    default = DefaultIpam(store, local_pools=local_pools, global_pools=global_pools)
    callback.register_ipam_driver(DEFAULT_IPAM, default, IpamCapability())
    callback.register_ipam_driver(NULL_IPAM, NullIpam(), IpamCapability())
    return default
