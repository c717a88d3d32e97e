"""The ``NetworkDriver`` interface: its methods' requests and replies.

Conversions to libnet's types: ``IPAMData`` (pool, gateway and auxiliary addresses as
CIDR strings) <-> :class:`~libnet.driverapi.IPAMData`; ``Interface`` <->
:class:`~libnet.driverapi.InterfaceInfo`; the Join reply <->
:class:`~libnet.driverapi.JoinInfo` (gateways as bare addresses); capabilities <->
:class:`~libnet.driverapi.Capability`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from libnet import labels
from libnet.dockerplugin.api._codec import (
    ANY,
    FLAG,
    ID,
    MAP,
    NUMBER,
    OPTIONAL_TEXT,
    TEXT_MAP,
    Fields,
    Kind,
    Message,
    cidr,
    decode_fields,
    kind_of,
    nested,
    nested_list,
    nullable,
    wire,
)
from libnet.driverapi import Capability, InterfaceInfo, IPAMData, JoinInfo, RouteType, Scope
from libnet.errors import WireError

__all__ = [
    "NETWORK_METHODS",
    "AllocateNetworkRequest",
    "AllocateNetworkResponse",
    "CapabilitiesResponse",
    "CreateEndpointRequest",
    "CreateEndpointResponse",
    "CreateNetworkRequest",
    "DiscoveryRequest",
    "EndpointOperInfoResponse",
    "EndpointRequest",
    "InterfaceName",
    "JoinRequest",
    "JoinResponse",
    "NetworkRequest",
    "ProgramExternalConnectivityRequest",
    "WireInterface",
    "WireRoute",
    "decode_ipam_data",
    "decode_network_options",
    "encode_ipam_data",
    "encode_network_options",
]

NETWORK_METHODS: tuple[str, ...] = (
    "GetCapabilities",
    "CreateNetwork",
    "DeleteNetwork",
    "AllocateNetwork",
    "FreeNetwork",
    "CreateEndpoint",
    "EndpointOperInfo",
    "DeleteEndpoint",
    "Join",
    "Leave",
    "ProgramExternalConnectivity",
    "RevokeExternalConnectivity",
    "DiscoverNew",
    "DiscoverDelete",
)
"""Every method of the ``NetworkDriver`` interface."""


# -- capabilities -----------------------------------------------------------------------


@dataclass(frozen=True)
class CapabilitiesResponse(Message, what="GetCapabilities answer"):
    """``NetworkDriver.GetCapabilities``: the driver's data and connectivity scopes."""

    scope: str = wire("Scope")
    connectivity_scope: str = wire("ConnectivityScope", default="")

    @classmethod
    def of(cls, capability: Capability) -> CapabilitiesResponse:
        return cls(str(capability.data_scope), str(capability.connectivity_scope))

    def capability(self) -> Capability:
        """As a Capability: Scope must be local or global; an empty ConnectivityScope takes it."""
        scopes = {s.value for s in Scope}
        if self.scope not in scopes:
            raise WireError(
                f"invalid capability: expecting 'local' or 'global' as Scope, got {self.scope!r}"
            )
        conn = self.connectivity_scope or self.scope
        if conn not in scopes:
            raise WireError(
                "invalid capability: expecting 'local' or 'global' as ConnectivityScope, "
                f"got {conn!r}"
            )
        return Capability(Scope(self.scope), Scope(conn))


# -- networks ---------------------------------------------------------------------------


def encode_ipam_data(data: Iterable[IPAMData]) -> list[dict[str, Any]] | None:
    """A network's pools as the ``IPv4Data``/``IPv6Data`` arrays (null when empty)."""
    out = [
        {
            "AddressSpace": d.address_space,
            "Pool": d.pool,
            "Gateway": d.gateway or "",
            "AuxAddresses": nullable(d.aux_addresses),
        }
        for d in data
    ]
    return out or None


def decode_ipam_data(fields: Fields, key: str) -> list[IPAMData]:
    """The ``IPv4Data``/``IPv6Data`` array at ``key`` as IPAMData."""
    out = []
    for n, item in enumerate(fields.items(key)):
        f = Fields(item, f"{fields.what}: {key}[{n}]")
        pool = f.text("Pool")
        try:
            pool = str(ipaddress.ip_network(pool, strict=False)) if pool else ""
        except ValueError as exc:
            raise WireError(f"{f.what}: Pool {pool!r} is not a CIDR: {exc}") from None
        aux = {}
        for name, value in f.text_map("AuxAddresses").items():
            try:
                aux[name] = str(ipaddress.ip_interface(value))
            except ValueError as exc:
                raise WireError(f"{f.what}: AuxAddresses[{name!r}]: {exc}") from None
        out.append(IPAMData(f.text("AddressSpace"), pool, cidr(f, "Gateway"), aux))
    return out


def encode_network_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """libnet's CreateNetwork options as Docker sends them.

    The generic options and IPv6 flag always go; ``internal`` only when set and the labels
    only when there are some, as Docker leaves them out; other keys pass through.
    """
    out = dict(options)
    out[labels.GENERIC] = dict(options.get(labels.GENERIC) or {})
    out[labels.ENABLE_IPV6] = bool(options.get(labels.ENABLE_IPV6, False))
    if not options.get(labels.INTERNAL):
        out.pop(labels.INTERNAL, None)
    if not options.get(labels.NETWORK_LABELS):
        out.pop(labels.NETWORK_LABELS, None)
    return out


def decode_network_options(options: Mapping[str, Any], what: str) -> dict[str, Any]:
    """CreateNetwork options as libnet drivers receive them: every well-known key present.

    The generic options and the labels are mappings (``{}`` when absent or null); the IPv6
    and internal flags are booleans (Docker's strings ``"true"``/``"false"`` accepted).
    """
    out = dict(options)
    for key in (labels.GENERIC, labels.NETWORK_LABELS):
        value = out.get(key)
        if value is None:
            out[key] = {}
        elif not isinstance(value, Mapping):
            raise WireError(f"{what}: Options[{key!r}] must be an object, not {kind_of(value)}")
    for key in (labels.ENABLE_IPV6, labels.INTERNAL):
        value = out.get(key)
        if value is None:
            out[key] = False
        elif isinstance(value, str) and value.lower() in ("true", "false"):
            out[key] = value.lower() == "true"
        elif not isinstance(value, bool):
            raise WireError(f"{what}: Options[{key!r}] must be true or false, not {kind_of(value)}")
    return out


IPAM_DATA = Kind(decode_ipam_data, encode_ipam_data)
"""``IPv4Data``/``IPv6Data``: a list of IPAMData."""

NETWORK_OPTIONS = Kind(
    lambda f, k: decode_network_options(f.mapping(k), f.what), encode_network_options
)
"""CreateNetwork's ``Options``, with every well-known key."""


@dataclass(frozen=True)
class CreateNetworkRequest(Message, what="CreateNetwork request"):
    """``NetworkDriver.CreateNetwork`` (the reply is ``{}``)."""

    network_id: str = wire("NetworkID", ID)
    options: Mapping[str, Any] = wire("Options", NETWORK_OPTIONS)
    ipv4_data: list[IPAMData] = wire("IPv4Data", IPAM_DATA, default_factory=list)
    ipv6_data: list[IPAMData] = wire("IPv6Data", IPAM_DATA, default_factory=list)


@dataclass(frozen=True)
class NetworkRequest(Message, what="network request"):
    """A request naming one network: ``DeleteNetwork`` and ``FreeNetwork``."""

    network_id: str = wire("NetworkID", ID)

    @classmethod
    def from_json(cls, body: object, method: str = "network") -> NetworkRequest:
        return decode_fields(cls, body, f"{method} request")


@dataclass(frozen=True)
class AllocateNetworkRequest(Message, what="AllocateNetwork request"):
    """``NetworkDriver.AllocateNetwork`` (swarm managers): options are strings."""

    network_id: str = wire("NetworkID", ID)
    options: Mapping[str, str] = wire("Options", TEXT_MAP)
    ipv4_data: list[IPAMData] = wire("IPv4Data", IPAM_DATA, default_factory=list)
    ipv6_data: list[IPAMData] = wire("IPv6Data", IPAM_DATA, default_factory=list)


@dataclass(frozen=True)
class AllocateNetworkResponse(Message, what="AllocateNetwork answer"):
    """``AllocateNetwork``'s reply: options for the network's other nodes."""

    options: Mapping[str, str] = wire("Options", TEXT_MAP)


# -- endpoints --------------------------------------------------------------------------


@dataclass(frozen=True)
class WireInterface(Message, what="Interface"):
    """The ``Interface`` object: CIDR addresses and a MAC, None where unset (``""`` on the wire)."""

    address: str | None = wire("Address", OPTIONAL_TEXT, default=None)
    address_ipv6: str | None = wire("AddressIPv6", OPTIONAL_TEXT, default=None)
    mac_address: str | None = wire("MacAddress", OPTIONAL_TEXT, default=None)

    @classmethod
    def of(cls, iface: InterfaceInfo, only: Iterable[str] | None = None) -> WireInterface:
        """The fields of ``iface`` (only those named in ``only``, if given)."""
        keep = set(only) if only is not None else {"address", "address_ipv6", "mac_address"}
        return cls(
            iface.address if "address" in keep else None,
            iface.address_ipv6 if "address_ipv6" in keep else None,
            iface.mac_address if "mac_address" in keep else None,
        )

    def __bool__(self) -> bool:
        return bool(self.address or self.address_ipv6 or self.mac_address)

    def info(self) -> InterfaceInfo:
        """As a new InterfaceInfo; WireError if an address or the MAC is malformed."""
        try:
            return InterfaceInfo(self.mac_address, self.address, self.address_ipv6)
        except ValueError as exc:
            raise WireError(f"Interface: {exc}") from None

    def apply_to(self, iface: InterfaceInfo) -> None:
        """Fill ``iface`` with the fields set here.

        A field ``iface`` already holds must come back unchanged: another value is a
        conflict (ValueError), as the engine refuses a plugin that changes what it set.
        """
        for name, value, setter in (
            ("address", self.address, iface.set_ip_address),
            ("address_ipv6", self.address_ipv6, iface.set_ip_address),
            ("mac_address", self.mac_address, iface.set_mac_address),
        ):
            if not value:
                continue
            current = getattr(iface, name)
            if current is None:
                setter(value)
                continue
            probe = InterfaceInfo(**{name: value})
            if getattr(probe, name) != current:
                raise ValueError(
                    f"the plugin returned {name} {value!r}, but the endpoint already has "
                    f"{current!r}"
                )


@dataclass(frozen=True)
class CreateEndpointRequest(Message, what="CreateEndpoint request"):
    """``NetworkDriver.CreateEndpoint``: the interface always goes, ``""`` for unset fields."""

    network_id: str = wire("NetworkID", ID)
    endpoint_id: str = wire("EndpointID", ID)
    interface: WireInterface = wire("Interface", nested(WireInterface, WireInterface))
    options: Mapping[str, Any] = wire("Options", MAP)


@dataclass(frozen=True)
class CreateEndpointResponse(Message, what="CreateEndpoint answer"):
    """``CreateEndpoint``'s reply: the fields the driver chose (``Interface`` null if none)."""

    interface: WireInterface = wire(
        "Interface",
        nested(WireInterface, WireInterface, null_when_empty=True),
        default_factory=WireInterface,
    )


@dataclass(frozen=True)
class EndpointRequest(Message, what="endpoint request"):
    """A request naming one endpoint: DeleteEndpoint, EndpointOperInfo, Leave, Revoke..."""

    network_id: str = wire("NetworkID", ID)
    endpoint_id: str = wire("EndpointID", ID)

    @classmethod
    def from_json(cls, body: object, method: str = "endpoint") -> EndpointRequest:
        return decode_fields(cls, body, f"{method} request")


@dataclass(frozen=True)
class EndpointOperInfoResponse(Message, what="EndpointOperInfo answer"):
    """``EndpointOperInfo``'s reply: driver-specific data under ``Value``."""

    value: Mapping[str, Any] = wire("Value", MAP)


@dataclass(frozen=True)
class JoinRequest(Message, what="Join request"):
    """``NetworkDriver.Join``: the sandbox is a network namespace path."""

    network_id: str = wire("NetworkID", ID)
    endpoint_id: str = wire("EndpointID", ID)
    sandbox_key: str | None = wire("SandboxKey", OPTIONAL_TEXT)
    options: Mapping[str, Any] = wire("Options", MAP)


@dataclass(frozen=True)
class WireRoute(Message, what="StaticRoute"):
    """One of ``StaticRoutes``: RouteType 0 is via NextHop, any other is connected."""

    destination: str = wire("Destination")
    route_type: int = wire("RouteType", NUMBER)
    next_hop: str = wire("NextHop")

    def apply_to(self, jinfo: JoinInfo) -> None:
        """Add the route as libnetwork's Join does: RouteType 0 goes via ``NextHop``; any
        other type is a connected route, whose ``NextHop`` libnetwork drops, and so do we
        (an unreadable one is refused, as libnetwork refuses it)."""
        if self.next_hop:
            ipaddress.ip_address(self.next_hop)
        if self.route_type == RouteType.NEXT_HOP:
            jinfo.add_static_route(self.destination, RouteType.NEXT_HOP, self.next_hop or None)
        else:
            jinfo.add_static_route(self.destination, RouteType.CONNECTED)


@dataclass(frozen=True)
class InterfaceName(Message, what="InterfaceName"):
    """The Join reply's ``InterfaceName``: the interface to move and how to name it."""

    src_name: str = wire("SrcName", default="")
    dst_prefix: str = wire("DstPrefix", default="")
    dst_name: str = wire("DstName", default="", omitempty=True)


@dataclass(frozen=True)
class JoinResponse(Message, what="Join answer"):
    """``Join``'s reply: interface names, bare gateway addresses, static routes."""

    interface_name: InterfaceName | None = wire(
        "InterfaceName", nested(InterfaceName, lambda: None, null_when_empty=True), default=None
    )
    gateway: str = wire("Gateway", default="")
    gateway_ipv6: str = wire("GatewayIPv6", default="")
    static_routes: tuple[WireRoute, ...] = wire("StaticRoutes", nested_list(WireRoute), default=())
    disable_gateway_service: bool = wire("DisableGatewayService", FLAG, default=False)

    @classmethod
    def of(cls, jinfo: JoinInfo) -> JoinResponse:
        """What a driver put in ``jinfo``."""
        name = None
        if jinfo.src_name is not None:
            name = InterfaceName(jinfo.src_name, jinfo.dst_prefix or "", jinfo.dst_name or "")
        return cls(
            name,
            jinfo.gateway or "",
            jinfo.gateway_ipv6 or "",
            tuple(
                WireRoute(r.destination, int(r.route_type), r.next_hop or "")
                for r in jinfo.static_routes
            ),
            jinfo.gateway_service_disabled,
        )

    def apply_to(self, jinfo: JoinInfo) -> None:
        """Give ``jinfo`` what the reply says; ValueError if something cannot be applied."""
        name = self.interface_name
        if name is not None and (name.src_name or name.dst_prefix):
            jinfo.set_names(name.src_name, name.dst_prefix, name.dst_name or None)
        if self.gateway:
            jinfo.set_gateway(self.gateway)
        if self.gateway_ipv6:
            jinfo.set_gateway_ipv6(self.gateway_ipv6)
        for route in self.static_routes:
            route.apply_to(jinfo)
        if self.disable_gateway_service:
            jinfo.disable_gateway_service()


@dataclass(frozen=True)
class ProgramExternalConnectivityRequest(Message, what="ProgramExternalConnectivity request"):
    """``NetworkDriver.ProgramExternalConnectivity``: port mappings travel in Options."""

    network_id: str = wire("NetworkID", ID)
    endpoint_id: str = wire("EndpointID", ID)
    options: Mapping[str, Any] = wire("Options", MAP)


@dataclass(frozen=True)
class DiscoveryRequest(Message, what="Discover request"):
    """``DiscoverNew``/``DiscoverDelete``: a discovery type and its data."""

    discovery_type: int = wire("DiscoveryType", NUMBER)
    data: Any = wire("DiscoveryData", ANY)

    @classmethod
    def from_json(cls, body: object, method: str = "Discover") -> DiscoveryRequest:
        return decode_fields(cls, body, f"{method} request")
