"""IP address management: the IPAM contract, the ``default`` and ``null`` drivers.

Mirrors libnetwork's ``ipamapi`` with Python names; see :mod:`libnet.ipam._api`.
"""

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
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

_LAZY = {
    "DefaultIpam": "libnet.ipam.default",
    "PoolInfo": "libnet.ipam.default",
    "NULL_POOL_ID": "libnet.ipam.null",
    "NullIpam": "libnet.ipam.null",
}
"""The allocators, imported on first use: a process that allocates nothing never loads them."""


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
