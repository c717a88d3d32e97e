"""IP address management: the IPAM contract, the ``default`` and ``null`` drivers.

Mirrors libnetwork's ``ipamapi`` with Python names; see :mod:`libnet.ipam._api`.
"""

from typing import TYPE_CHECKING, Any

from libnet._lazy import Exports

if TYPE_CHECKING:
    from libnet.ipam._api import (
        ALLOC_SERIAL,
        DEFAULT_IPAM,
        GATEWAY_ADDRESS_TYPE,
        GATEWAY_OPTIONS,
        GLOBAL_DEFAULT,
        LOCAL_DEFAULT,
        MAC_ADDRESS_OPTION,
        NETWORK_NAME_OPTION,
        NULL_IPAM,
        OPTIONAL_METHODS,
        REQUEST_ADDRESS_TYPE,
        REQUIRED_METHODS,
        Ipam,
        IpamCallback,
        IpamCapability,
        bind_ipam,
        missing_methods,
    )
    from libnet.ipam._builtin import (
        BUILTIN_IPAM_DRIVERS,
        defer_builtin_ipam_drivers,
        register_builtin_ipam_drivers,
    )
    from libnet.ipam._config import (
        DEFAULT_GLOBAL_POOLS,
        DEFAULT_LOCAL_POOLS,
        PoolConfig,
        PoolSpec,
        validate_pool_config,
    )
    from libnet.ipam._registry import IpamRegistry
    from libnet.ipam.default import DefaultIpam, PoolInfo
    from libnet.ipam.null import NULL_POOL_ID, NullIpam

__all__ = [
    "ALLOC_SERIAL",
    "BUILTIN_IPAM_DRIVERS",
    "DEFAULT_GLOBAL_POOLS",
    "DEFAULT_IPAM",
    "DEFAULT_LOCAL_POOLS",
    "GATEWAY_ADDRESS_TYPE",
    "GATEWAY_OPTIONS",
    "GLOBAL_DEFAULT",
    "LOCAL_DEFAULT",
    "MAC_ADDRESS_OPTION",
    "NETWORK_NAME_OPTION",
    "NULL_IPAM",
    "NULL_POOL_ID",
    "OPTIONAL_METHODS",
    "REQUEST_ADDRESS_TYPE",
    "REQUIRED_METHODS",
    "DefaultIpam",
    "Ipam",
    "IpamCallback",
    "IpamCapability",
    "IpamRegistry",
    "NullIpam",
    "PoolConfig",
    "PoolInfo",
    "PoolSpec",
    "bind_ipam",
    "defer_builtin_ipam_drivers",
    "missing_methods",
    "register_builtin_ipam_drivers",
    "validate_pool_config",
]

_exports = Exports(
    __name__,
    {
        "libnet.ipam._api": (
            "ALLOC_SERIAL",
            "DEFAULT_IPAM",
            "GATEWAY_ADDRESS_TYPE",
            "GATEWAY_OPTIONS",
            "GLOBAL_DEFAULT",
            "LOCAL_DEFAULT",
            "MAC_ADDRESS_OPTION",
            "NETWORK_NAME_OPTION",
            "NULL_IPAM",
            "OPTIONAL_METHODS",
            "REQUEST_ADDRESS_TYPE",
            "REQUIRED_METHODS",
            "Ipam",
            "IpamCallback",
            "IpamCapability",
            "bind_ipam",
            "missing_methods",
        ),
        "libnet.ipam._builtin": (
            "BUILTIN_IPAM_DRIVERS",
            "defer_builtin_ipam_drivers",
            "register_builtin_ipam_drivers",
        ),
        "libnet.ipam._config": (
            "DEFAULT_GLOBAL_POOLS",
            "DEFAULT_LOCAL_POOLS",
            "PoolConfig",
            "PoolSpec",
            "validate_pool_config",
        ),
        "libnet.ipam._registry": ("IpamRegistry",),
        "libnet.ipam.default": ("DefaultIpam", "PoolInfo"),
        "libnet.ipam.null": ("NULL_POOL_ID", "NullIpam"),
    },
)
"""Every name is imported on first use: the pool configuration only when pools are
configured, the allocators only when addresses are allocated."""


def __getattr__(name: str) -> Any:
    return _exports.load(name)
