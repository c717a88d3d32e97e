"""The IPAM contract: what an IPAM driver implements, after libnetwork's ``ipamapi``.

An IPAM driver hands out address pools (one per network and IP version) and addresses in
them. A driver subclasses :class:`Ipam` (or provides the same methods) and is registered
through an :class:`IpamCallback` with an :class:`IpamCapability`.

Addresses go in bare (``"10.0.0.2"``) and come back with the pool's prefix length
(``"10.0.0.2/24"``). Options are string mappings, as on Docker's wire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol, runtime_checkable

from libnet._contract import missing_methods as _missing_methods
from libnet.store import KVOps

__all__ = [
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
]

DEFAULT_IPAM = "default"
"""Name of the built-in IPAM driver (libnetwork's ``ipamapi.DefaultIPAM``)."""

NULL_IPAM = "null"
"""Name of the built-in IPAM driver that hands out no addresses."""

LOCAL_DEFAULT = "LocalDefault"
"""The default IPAM's address space for networks of locally scoped drivers."""

GLOBAL_DEFAULT = "GlobalDefault"
"""The default IPAM's address space for networks of globally scoped drivers."""

REQUEST_ADDRESS_TYPE = "RequestAddressType"
"""request_address option key saying what the address is for (libnetwork's name)."""

GATEWAY_ADDRESS_TYPE = "com.docker.network.gateway"
"""Value of :data:`REQUEST_ADDRESS_TYPE` when the controller asks for a network's gateway."""

GATEWAY_OPTIONS: Mapping[str, str] = MappingProxyType({REQUEST_ADDRESS_TYPE: GATEWAY_ADDRESS_TYPE})
"""The options of a gateway request, ready to pass to request_address."""

ALLOC_SERIAL = "com.docker.network.ipam.serial"
"""request_pool option: ``"true"`` hands the pool's addresses out round-robin, not lowest
first, so a released address is reused as late as possible."""

MAC_ADDRESS_OPTION = "com.docker.network.endpoint.macaddress"
"""request_address option carrying the endpoint's MAC, for drivers requiring it."""

NETWORK_NAME_OPTION = "io.libnet.network.name"
"""request_pool option naming the network the pool is for; used in error messages."""

REQUIRED_METHODS: tuple[str, ...] = (
    "get_default_address_spaces",
    "request_pool",
    "release_pool",
    "request_address",
    "release_address",
)
"""Methods every IPAM driver must implement."""

OPTIONAL_METHODS: tuple[str, ...] = ("bind",)
"""Methods with a default in :class:`Ipam`."""


@dataclass(frozen=True)
class IpamCapability:
    """What an IPAM driver declares when it registers (libnetwork's ``ipamapi.Capability``).

    ``requires_mac_address``: request_address wants the endpoint's MAC in its options
    (:data:`MAC_ADDRESS_OPTION`). ``requires_request_replay``: after a restart the
    controller must request again every pool and address it holds.
    """

    requires_mac_address: bool = False
    requires_request_replay: bool = False

    def __post_init__(self) -> None:
        for name in ("requires_mac_address", "requires_request_replay"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"IpamCapability.{name} must be a bool")

    def to_dict(self) -> dict[str, bool]:
        """The capability as plain values, for listings and JSON."""
        return {
            "requires_mac_address": self.requires_mac_address,
            "requires_request_replay": self.requires_request_replay,
        }


class Ipam:
    """Base class for IPAM drivers; override every method in :data:`REQUIRED_METHODS`.

    Errors are libnet errors: ``InvalidPoolError``/``InvalidAddressError`` for bad input,
    ``PoolOverlapError``, ``PoolExhaustedError``, ``AddressInUseError`` when the state
    forbids the request, ``PoolNotFoundError``/``AddressNotAllocatedError`` for releases
    of what is not held.
    """

    def get_default_address_spaces(self) -> tuple[str, str]:
        """The driver's default address spaces: (local, global)."""
        raise NotImplementedError("get_default_address_spaces")

    def request_pool(
        self,
        address_space: str,
        pool: str = "",
        sub_pool: str = "",
        options: Mapping[str, str] | None = None,
        v6: bool = False,
    ) -> tuple[str, str, dict[str, str]]:
        """Allocate a pool: ``pool`` (a CIDR) or, when empty, one the driver picks.

        ``sub_pool`` (a CIDR inside ``pool``) restricts dynamic allocation to that range.
        Returns the pool ID, the pool's CIDR and driver data.
        """
        raise NotImplementedError("request_pool")

    def release_pool(self, pool_id: str) -> None:
        """Release a pool and every address still allocated in it."""
        raise NotImplementedError("release_pool")

    def request_address(
        self,
        pool_id: str,
        address: str | None = None,
        options: Mapping[str, str] | None = None,
    ) -> tuple[str | None, dict[str, str]]:
        """Allocate ``address`` or, when None, one the driver picks.

        Returns the address with the pool's prefix length (``"10.0.0.2/24"``), or None
        when the driver gives none (the null IPAM), and driver data.
        """
        raise NotImplementedError("request_address")

    def release_address(self, pool_id: str, address: str) -> None:
        """Release an address (bare, or with a prefix length) allocated from the pool."""
        raise NotImplementedError("release_address")

    def bind(self, kv: KVOps) -> Ipam:
        """This driver working inside the caller's store transaction ``kv``.

        A driver keeping its state in libnet's store returns a view whose calls read and
        write through ``kv``, so they commit or roll back with the caller's operation. The
        default returns ``self``: the driver does not use the store, and the caller must
        release what it took if its operation fails.
        """
        return self


def missing_methods(driver: object) -> list[str]:
    """The required methods ``driver`` does not implement, in contract order.

    An :class:`Ipam` subclass must override each one; any other object must have a
    callable attribute of that name.
    """
    return _missing_methods(driver, Ipam, REQUIRED_METHODS)


def bind_ipam(driver: Ipam, kv: KVOps) -> Ipam:
    """``driver.bind(kv)`` if the driver has ``bind``, else the driver itself.

    Works for duck-typed drivers too. The result ``is driver`` exactly when the driver
    does not take part in the store transaction: then the caller must release what it
    requested if its operation fails.
    """
    bind = getattr(driver, "bind", None)
    if not callable(bind):
        return driver
    bound: Ipam = bind(kv)
    return bound


@runtime_checkable
class IpamCallback(Protocol):
    """What an IPAM plugin is handed to register the IPAM drivers it offers."""

    def register_ipam_driver(self, name: str, driver: Ipam, capability: IpamCapability) -> None:
        """Register ``driver`` as IPAM driver ``name``."""
        ...
