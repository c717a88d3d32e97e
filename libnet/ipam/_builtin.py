"""The built-in IPAM drivers, ready for a controller to register."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from libnet.ipam._api import DEFAULT_IPAM, NULL_IPAM, Ipam, IpamCallback, IpamCapability
from libnet.ipam._registry import IpamRegistry

if TYPE_CHECKING:
    from libnet.ipam._config import PoolSpec
    from libnet.ipam.default import DefaultIpam, PoolSpecLike
    from libnet.store import Store

__all__ = ["BUILTIN_IPAM_DRIVERS", "defer_builtin_ipam_drivers", "register_builtin_ipam_drivers"]

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
    from libnet.ipam.default import DefaultIpam
    from libnet.ipam.null import NullIpam

    default = DefaultIpam(store, local_pools=local_pools, global_pools=global_pools)
    callback.register_ipam_driver(DEFAULT_IPAM, default, IpamCapability())
    callback.register_ipam_driver(NULL_IPAM, NullIpam(), IpamCapability())
    return default


def defer_builtin_ipam_drivers(
    registry: IpamRegistry,
    store: Store,
    *,
    local_pools: Iterable[PoolSpecLike] | None = None,
    global_pools: Iterable[PoolSpecLike] | None = None,
) -> None:
    """Register ``default`` and ``null`` in ``registry``, each made (and its module
    imported) at its first use; the pools are checked now."""
    local, global_ = _checked(local_pools), _checked(global_pools)

    def default() -> Ipam:
        from libnet.ipam.default import DefaultIpam

        return DefaultIpam(store, local_pools=local, global_pools=global_)

    def null() -> Ipam:
        from libnet.ipam.null import NullIpam

        return NullIpam()

    registry.add_builtin(DEFAULT_IPAM, default, IpamCapability())
    registry.add_builtin(NULL_IPAM, null, IpamCapability())


def _checked(pools: Iterable[PoolSpecLike] | None) -> tuple[PoolSpec, ...] | None:
    """The pools given, checked (their module imported only then); None if none given."""
    if pools is None:
        return None
    from libnet.ipam._config import PoolSpec

    return PoolSpec.many(pools)
