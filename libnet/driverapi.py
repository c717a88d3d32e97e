"""The driver contract: what a network driver implements and what it is handed.

This mirrors libnetwork's ``driverapi`` package with Python names. A driver subclasses
:class:`Driver`, overrides the required methods, and is registered through a
:class:`DriverCallback` with a :class:`Capability`.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from libnet._contract import missing_methods as _missing_methods
from libnet.errors import UnsupportedOperationError

__all__ = [
    "DRIVER_API_REQUIREMENT",
    "DRIVER_API_VERSION",
    "OPTIONAL_METHODS",
    "REQUIRED_METHODS",
    "Capability",
    "Driver",
    "DriverCallback",
    "IPAMData",
    "InterfaceInfo",
    "JoinInfo",
    "KernelObjects",
    "Orphan",
    "RouteType",
    "Scope",
    "StaticRoute",
    "StoredNetwork",
    "kernel_objects",
    "mac_from_ip",
    "missing_methods",
    "normalize_mac",
]

DRIVER_API_VERSION: tuple[int, int] = (0, 1)
"""The version of this contract (and of the hooks), as ``(major, minor)``.

It changes when a driver written for the previous version could break: while libnet is 0.x,
each such change is a new minor version of libnet (0.1 -> 0.2), and from 1.0 on a new major
one. A plugin declares the range it was written for in its dependencies
(:data:`DRIVER_API_REQUIREMENT`), which libnet checks before importing it; a plugin can also
compare ``libnet.DRIVER_API_VERSION`` at run time, in its init hook.
"""

DRIVER_API_REQUIREMENT: str = "libnet>=0.1,<0.2"
"""The dependency a plugin written for this contract declares (``libnet new-driver`` writes
it into ``pyproject.toml``): every libnet version with :data:`DRIVER_API_VERSION`."""

REQUIRED_METHODS: tuple[str, ...] = (
    "create_network",
    "delete_network",
    "create_endpoint",
    "delete_endpoint",
    "endpoint_oper_info",
    "join",
    "leave",
)
"""Methods every driver must implement."""

OPTIONAL_METHODS: tuple[str, ...] = (
    "program_external_connectivity",
    "revoke_external_connectivity",
    "allocate_network",
    "free_network",
    "discover_new",
    "discover_delete",
    "restore_network",
    "restore_endpoint",
    "restore_join",
)
"""Methods with a default in :class:`Driver`, as libnetwork's drivers behave without them."""

_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")


class Scope(str, enum.Enum):
    """Where a driver's data or connectivity is meaningful: one host, or several."""

    LOCAL = "local"
    GLOBAL = "global"

    def __str__(self) -> str:
        return self.value


def _scope(value: Scope | str, what: str) -> Scope:
    try:
        return Scope(value)
    except ValueError:
        raise ValueError(f"{what} must be 'local' or 'global', not {value!r}") from None


@dataclass(frozen=True)
class Capability:
    """What a driver declares about itself when it registers.

    ``data_scope`` says where the driver's network data lives; ``connectivity_scope``
    where its networks reach, and defaults to ``data_scope`` as in libnetwork.
    """

    data_scope: Scope
    connectivity_scope: Scope | None = None

    def __post_init__(self) -> None:
        data = _scope(self.data_scope, "Capability.data_scope")
        conn = data if self.connectivity_scope is None else self.connectivity_scope
        object.__setattr__(self, "data_scope", data)
        object.__setattr__(
            self, "connectivity_scope", _scope(conn, "Capability.connectivity_scope")
        )

    def to_dict(self) -> dict[str, str]:
        """The capability as plain strings, for listings and JSON."""
        return {
            "data_scope": str(self.data_scope),
            "connectivity_scope": str(self.connectivity_scope),
        }


class RouteType(enum.IntEnum):
    """How a static route reaches its destination (values as on Docker's wire)."""

    NEXT_HOP = 0
    CONNECTED = 1


@dataclass(frozen=True)
class StaticRoute:
    """A route a driver asks the controller to add in the sandbox on join."""

    destination: str
    route_type: RouteType = RouteType.NEXT_HOP
    next_hop: str | None = None

    def __post_init__(self) -> None:
        dest = ipaddress.ip_network(self.destination, strict=False)
        object.__setattr__(self, "destination", str(dest))
        object.__setattr__(self, "route_type", RouteType(self.route_type))
        if self.route_type is RouteType.NEXT_HOP:
            if not self.next_hop:
                raise ValueError(f"static route to {dest} needs a next hop")
            hop = ipaddress.ip_address(self.next_hop)
            if hop.version != dest.version:
                raise ValueError(f"static route to {dest} has next hop {hop} of another family")
            object.__setattr__(self, "next_hop", str(hop))
        elif self.next_hop:
            raise ValueError(f"connected static route to {dest} cannot have a next hop")

    def to_dict(self) -> dict[str, Any]:
        """The route as plain values, for listings and JSON."""
        return {
            "destination": self.destination,
            "route_type": int(self.route_type),
            "next_hop": self.next_hop,
        }


@dataclass(frozen=True)
class IPAMData:
    """One address pool of a network, as libnetwork hands it to CreateNetwork."""

    address_space: str
    pool: str
    gateway: str | None = None
    aux_addresses: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The pool as plain values, for listings and JSON."""
        return {
            "address_space": self.address_space,
            "pool": self.pool,
            "gateway": self.gateway,
            "aux_addresses": dict(self.aux_addresses),
        }


def _interface(value: str, version: int, what: str) -> str:
    """Parse ``value`` as an address with prefix length of the given IP version."""
    iface = ipaddress.ip_interface(value)
    if iface.version != version:
        raise ValueError(f"{what} {value!r} is not an IPv{version} address")
    if "/" not in value:
        raise ValueError(f"{what} {value!r} needs a prefix length, such as {value}/24")
    return str(iface)


def normalize_mac(value: str) -> str:
    """Return ``value`` as a lower-case colon-separated MAC address, or raise ValueError."""
    mac = value.strip().lower().replace("-", ":")
    if not _MAC_RE.match(mac):
        raise ValueError(f"{value!r} is not a MAC address such as 02:42:ac:11:00:02")
    return mac


def mac_from_ip(address: str) -> str:
    """The MAC Docker derives from an IPv4 address: ``02:42`` and the address's four bytes."""
    ip = ipaddress.IPv4Address(address.split("/", 1)[0])
    return "02:42:" + ":".join(f"{b:02x}" for b in ip.packed)


class InterfaceInfo:
    """The endpoint's interface: what the controller set, and what the driver may add.

    A driver may fill the MAC address and the IPv4 and IPv6 addresses only where the
    controller left them empty; setting one that is already set raises ``ValueError``.
    Addresses carry a prefix length (``"10.0.0.2/24"``).
    """

    __slots__ = ("_address", "_address_ipv6", "_mac_address", "_set_by_driver")

    def __init__(
        self,
        mac_address: str | None = None,
        address: str | None = None,
        address_ipv6: str | None = None,
    ) -> None:
        self._mac_address = normalize_mac(mac_address) if mac_address else None
        self._address = _interface(address, 4, "IPv4 address") if address else None
        self._address_ipv6 = _interface(address_ipv6, 6, "IPv6 address") if address_ipv6 else None
        self._set_by_driver: set[str] = set()

    @classmethod
    def from_record(cls, fields: Mapping[str, str | None]) -> InterfaceInfo:
        """An interface from values the controller stored (already checked when set)."""
        iface = cls.__new__(cls)
        iface._mac_address = fields.get("mac_address")
        iface._address = fields.get("address")
        iface._address_ipv6 = fields.get("address_ipv6")
        iface._set_by_driver = set()
        return iface

    @property
    def mac_address(self) -> str | None:
        """The MAC address, ``None`` when unset."""
        return self._mac_address

    @property
    def address(self) -> str | None:
        """The IPv4 address with prefix length, ``None`` when unset."""
        return self._address

    @property
    def address_ipv6(self) -> str | None:
        """The IPv6 address with prefix length, ``None`` when unset."""
        return self._address_ipv6

    @property
    def set_by_driver(self) -> frozenset[str]:
        """Which fields the driver filled in (``mac_address``, ``address``, ``address_ipv6``)."""
        return frozenset(self._set_by_driver)

    def set_mac_address(self, mac: str) -> None:
        """Set the MAC address while it is unset; setting the value it holds is a no-op
        (the restore path hands a driver the interface it filled before)."""
        value = normalize_mac(mac)
        if self._mac_address is not None:
            if self._mac_address == value:
                return
            raise ValueError(f"the interface already has MAC address {self._mac_address}")
        self._mac_address = value
        self._set_by_driver.add("mac_address")

    def set_ip_address(self, address: str) -> None:
        """Set an IPv4 or IPv6 address (with prefix length) while it is unset; setting the
        value it holds is a no-op."""
        version = ipaddress.ip_interface(address).version
        if version == 4:
            value = _interface(address, 4, "IPv4 address")
            if self._address is not None:
                if self._address == value:
                    return
                raise ValueError(f"the interface already has IPv4 address {self._address}")
            self._address = value
            self._set_by_driver.add("address")
        else:
            value = _interface(address, 6, "IPv6 address")
            if self._address_ipv6 is not None:
                if self._address_ipv6 == value:
                    return
                raise ValueError(f"the interface already has IPv6 address {self._address_ipv6}")
            self._address_ipv6 = value
            self._set_by_driver.add("address_ipv6")

    def to_dict(self) -> dict[str, str | None]:
        """The interface as plain values, for listings and JSON."""
        return {
            "mac_address": self._mac_address,
            "address": self._address,
            "address_ipv6": self._address_ipv6,
        }

    def __repr__(self) -> str:
        return f"InterfaceInfo({self.to_dict()!r})"


class JoinInfo:
    """What a driver tells the controller on join: interface names, gateways, routes.

    The driver names the interface it created in the host namespace (``src_name``), the
    prefix the sandbox gives it (``dst_prefix``, e.g. ``"eth"``) and optionally an exact
    name in the sandbox (``dst_name``, which Docker ignores and libnet honours).
    """

    __slots__ = (
        "_dst_name",
        "_dst_prefix",
        "_gateway",
        "_gateway_ipv6",
        "_gateway_service_disabled",
        "_routes",
        "_src_name",
        "interface",
    )

    def __init__(self, interface: InterfaceInfo | None = None) -> None:
        self.interface = interface
        self._src_name: str | None = None
        self._dst_prefix: str | None = None
        self._dst_name: str | None = None
        self._gateway: str | None = None
        self._gateway_ipv6: str | None = None
        self._routes: list[StaticRoute] = []
        self._gateway_service_disabled = False

    def set_names(self, src_name: str, dst_prefix: str, dst_name: str | None = None) -> None:
        """Name the host-side interface and how it is named inside the sandbox."""
        for what, value in (("src_name", src_name), ("dst_prefix", dst_prefix)):
            if not value or not isinstance(value, str):
                raise ValueError(f"JoinInfo.set_names needs a non-empty {what}")
        if dst_name is not None and (not isinstance(dst_name, str) or len(dst_name) > 15):
            raise ValueError(f"dst_name {dst_name!r} must be an interface name of 1-15 characters")
        self._src_name, self._dst_prefix, self._dst_name = src_name, dst_prefix, dst_name or None

    def set_gateway(self, address: str) -> None:
        """Set the sandbox's IPv4 default gateway (a bare address)."""
        gw = ipaddress.ip_address(address)
        if gw.version != 4:
            raise ValueError(f"IPv4 gateway {address!r} is not an IPv4 address")
        self._gateway = str(gw)

    def set_gateway_ipv6(self, address: str) -> None:
        """Set the sandbox's IPv6 default gateway (a bare address)."""
        gw = ipaddress.ip_address(address)
        if gw.version != 6:
            raise ValueError(f"IPv6 gateway {address!r} is not an IPv6 address")
        self._gateway_ipv6 = str(gw)

    def add_static_route(
        self,
        destination: str,
        route_type: RouteType | int = RouteType.NEXT_HOP,
        next_hop: str | None = None,
    ) -> None:
        """Ask for a static route inside the sandbox."""
        self._routes.append(StaticRoute(destination, RouteType(route_type), next_hop))

    def disable_gateway_service(self) -> None:
        """Say that this endpoint must not provide the sandbox's default gateway."""
        self._gateway_service_disabled = True

    @property
    def src_name(self) -> str | None:
        return self._src_name

    @property
    def dst_prefix(self) -> str | None:
        return self._dst_prefix

    @property
    def dst_name(self) -> str | None:
        return self._dst_name

    @property
    def gateway(self) -> str | None:
        return self._gateway

    @property
    def gateway_ipv6(self) -> str | None:
        return self._gateway_ipv6

    @property
    def static_routes(self) -> tuple[StaticRoute, ...]:
        return tuple(self._routes)

    @property
    def gateway_service_disabled(self) -> bool:
        return self._gateway_service_disabled

    def to_dict(self) -> dict[str, Any]:
        """The join information as plain values, for listings and JSON."""
        return {
            "src_name": self._src_name,
            "dst_prefix": self._dst_prefix,
            "dst_name": self._dst_name,
            "gateway": self._gateway,
            "gateway_ipv6": self._gateway_ipv6,
            "static_routes": [r.to_dict() for r in self._routes],
            "disable_gateway_service": self._gateway_service_disabled,
        }


class Driver:
    """Base class for network drivers.

    Override every method in :data:`REQUIRED_METHODS`; the registry refuses a driver that
    does not. The optional methods behave as libnetwork's drivers do when they lack them:
    external connectivity and discovery events are accepted and ignored, network
    allocation is not supported, and restoring after a restart re-runs creation.
    """

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        """Create network ``nid``. ``options`` holds the well-known keys of :mod:`libnet.labels`."""
        raise NotImplementedError("create_network")

    def delete_network(self, nid: str) -> None:
        """Delete network ``nid``; its endpoints are already gone."""
        raise NotImplementedError("delete_network")

    def create_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        """Create endpoint ``eid``; fill the empty fields of ``iface`` if the driver picks them."""
        raise NotImplementedError("create_endpoint")

    def delete_endpoint(self, nid: str, eid: str) -> None:
        """Delete endpoint ``eid``; it has left any sandbox already."""
        raise NotImplementedError("delete_endpoint")

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        """Return driver-specific operational data about the endpoint (JSON-able)."""
        raise NotImplementedError("endpoint_oper_info")

    def join(
        self,
        nid: str,
        eid: str,
        sandbox_key: str | None,
        jinfo: JoinInfo,
        options: Mapping[str, Any],
    ) -> None:
        """Attach the endpoint to the sandbox at ``sandbox_key``; describe it through ``jinfo``."""
        raise NotImplementedError("join")

    def leave(self, nid: str, eid: str) -> None:
        """Detach the endpoint from its sandbox."""
        raise NotImplementedError("leave")

    def program_external_connectivity(self, nid: str, eid: str, options: Mapping[str, Any]) -> None:
        """Set up connectivity beyond the network (port mappings); none by default."""

    def revoke_external_connectivity(self, nid: str, eid: str) -> None:
        """Undo :meth:`program_external_connectivity`; nothing by default."""

    def allocate_network(
        self,
        nid: str,
        options: Mapping[str, str],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> dict[str, str]:
        """Allocate global resources for a network (swarm managers); unsupported by default."""
        raise _not_supported("allocate_network")

    def free_network(self, nid: str) -> None:
        """Free what :meth:`allocate_network` allocated; unsupported by default."""
        raise _not_supported("free_network")

    def discover_new(self, discovery_type: int, data: Any) -> None:
        """A node or datastore appeared; ignored by default."""

    def discover_delete(self, discovery_type: int, data: Any) -> None:
        """A node or datastore went away; ignored by default."""

    def restore_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        """Learn again about an existing network after a restart; calls create_network.

        The controller calls it before the first call about a network this process's
        driver has not seen (after a restart, or when another process created it), including
        before deleting it: it must be idempotent, adopt what already exists, and not fail
        because some of the network's resources are gone.
        """
        self.create_network(nid, options, ipv4_data, ipv6_data)

    def restore_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        """Learn again about an existing endpoint after a restart; calls create_endpoint.

        As :meth:`restore_network`, for an endpoint. The endpoint may be joined to a
        sandbox: the next call about it can be ``leave``, which must then succeed.
        :meth:`restore_join` then says whether it is.
        """
        self.create_endpoint(nid, eid, iface, options)

    def restore_join(
        self,
        nid: str,
        eid: str,
        joined: bool,
        sandbox_key: str | None,
        options: Mapping[str, Any],
    ) -> None:
        """Learn whether endpoint ``eid`` is joined, as the store says; nothing by default.

        Called after :meth:`restore_endpoint` for a joined endpoint, and whenever another
        process joined or left the endpoint since this driver last heard of it. ``joined``
        with ``sandbox_key`` and the join ``options`` describe the join; program nothing
        here: record it, so that the next ``leave`` (or ``join``) finds the state it expects.
        """


def _not_supported(method: str) -> Exception:
    return UnsupportedOperationError(f"the driver does not implement {method}")


def missing_methods(driver: object) -> list[str]:
    """Return the required methods ``driver`` does not implement, in contract order.

    A :class:`Driver` subclass must override each one; any other object must have a
    callable attribute of that name.
    """
    return _missing_methods(driver, Driver, REQUIRED_METHODS)


@runtime_checkable
class DriverCallback(Protocol):
    """What a driver plugin is handed to register the drivers it offers."""

    def register_driver(self, name: str, driver: Driver, capability: Capability) -> None:
        """Register ``driver`` to serve network type ``name``."""
        ...


@dataclass(frozen=True)
class StoredNetwork:
    """A stored network as its driver knows it: the arguments of ``restore_network``."""

    id: str
    options: Mapping[str, Any]
    ipv4_data: list[IPAMData]
    ipv6_data: list[IPAMData]
    endpoints: tuple[str, ...] = ()
    joins: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """The join options of each joined endpoint (by ID), as ``restore_join`` gets them."""


@dataclass(frozen=True)
class Orphan:
    """A kernel object with this state's mark that belongs to no stored object."""

    kind: str
    """``bridge``, ``veth``, ``rule``, ``route``, ``namespace`` or a driver's own word."""
    name: str
    detail: str = ""
    handle: Any = field(default=None, compare=False, repr=False)
    """What the driver needs to remove it; opaque to the controller."""


@runtime_checkable
class KernelObjects(Protocol):
    """Optional driver protocol for reconciliation: report and remove its kernel objects.

    None of the methods needs the network restored first, and none changes anything
    except :meth:`remove_orphan`. Repairs go through ``restore_network`` and
    ``restore_endpoint``, which must re-create what is missing.
    """

    def kernel_check(self, network: StoredNetwork) -> dict[str, list[str]]:
        """Problems of the network's kernel objects: ``""`` for the network, then per
        endpoint ID; an empty list (or no key) means healthy."""
        ...

    def kernel_orphans(self, networks: Sequence[StoredNetwork]) -> list[Orphan]:
        """The driver's marked objects that belong to none of ``networks`` (all of this
        driver's stored networks)."""
        ...

    def remove_orphan(self, orphan: Orphan) -> None:
        """Remove one object found by :meth:`kernel_orphans`; gone already is fine."""
        ...


def kernel_objects(driver: object) -> KernelObjects | None:
    """The driver's :class:`KernelObjects` side, looking through a plugin proxy's ``wrapped``."""
    for candidate in (driver, getattr(driver, "wrapped", None)):
        if isinstance(candidate, KernelObjects):
            return candidate
    return None
