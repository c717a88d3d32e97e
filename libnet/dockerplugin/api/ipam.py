"""The ``IpamDriver`` interface: its methods' requests and replies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from libnet.dockerplugin.api._codec import CIDR, FLAG, POOL, REQUIRED, TEXT_MAP, Message, wire

__all__ = [
    "IPAM_METHODS",
    "AddressSpacesResponse",
    "IpamCapabilitiesResponse",
    "ReleaseAddressRequest",
    "ReleasePoolRequest",
    "RequestAddressRequest",
    "RequestAddressResponse",
    "RequestPoolRequest",
    "RequestPoolResponse",
]

IPAM_METHODS: tuple[str, ...] = (
    "GetCapabilities",
    "GetDefaultAddressSpaces",
    "RequestPool",
    "ReleasePool",
    "RequestAddress",
    "ReleaseAddress",
)
"""Every method of the ``IpamDriver`` interface."""


@dataclass(frozen=True)
class IpamCapabilitiesResponse(Message, what="IpamDriver.GetCapabilities answer"):
    """``IpamDriver.GetCapabilities``."""

    requires_mac_address: bool = wire("RequiresMACAddress", FLAG, default=False)
    requires_request_replay: bool = wire("RequiresRequestReplay", FLAG, default=False)


@dataclass(frozen=True)
class AddressSpacesResponse(Message, what="GetDefaultAddressSpaces answer"):
    """``GetDefaultAddressSpaces``: the local and global default address spaces."""

    local: str = wire("LocalDefaultAddressSpace")
    global_: str = wire("GlobalDefaultAddressSpace")


@dataclass(frozen=True)
class RequestPoolRequest(Message, what="RequestPool request"):
    """``IpamDriver.RequestPool``: an address space, an optional pool and sub-pool."""

    address_space: str = wire("AddressSpace")
    pool: str = wire("Pool", default="")
    sub_pool: str = wire("SubPool", default="")
    options: Mapping[str, str] = wire("Options", TEXT_MAP, default_factory=dict)
    v6: bool = wire("V6", FLAG, default=False)


@dataclass(frozen=True)
class RequestPoolResponse(Message, what="RequestPool answer"):
    """``RequestPool``'s reply: the pool's ID, its CIDR and driver data."""

    pool_id: str = wire("PoolID", REQUIRED)
    pool: str = wire("Pool", POOL)
    data: Mapping[str, str] = wire("Data", TEXT_MAP, default_factory=dict)


@dataclass(frozen=True)
class ReleasePoolRequest(Message, what="ReleasePool request"):
    """``IpamDriver.ReleasePool``."""

    pool_id: str = wire("PoolID", REQUIRED)


@dataclass(frozen=True)
class RequestAddressRequest(Message, what="RequestAddress request"):
    """``IpamDriver.RequestAddress``: a bare address, or ``""`` for any."""

    pool_id: str = wire("PoolID", REQUIRED)
    address: str = wire("Address", default="")
    options: Mapping[str, str] = wire("Options", TEXT_MAP, default_factory=dict)


@dataclass(frozen=True)
class RequestAddressResponse(Message, what="RequestAddress answer"):
    """``RequestAddress``'s reply: the address with prefix length (``""``: none) and data."""

    address: str = wire("Address", CIDR, default="")
    data: Mapping[str, str] = wire("Data", TEXT_MAP, default_factory=dict)


@dataclass(frozen=True)
class ReleaseAddressRequest(Message, what="ReleaseAddress request"):
    """``IpamDriver.ReleaseAddress``."""

    pool_id: str = wire("PoolID", REQUIRED)
    address: str = wire("Address", REQUIRED)
