"""Docker's plugin protocol on the wire: JSON codecs used by the client and the server.

Each request and reply of the ``NetworkDriver`` and ``IpamDriver`` interfaces is a frozen
dataclass with ``to_json()`` (plain values ready for :func:`encode`) and ``from_json()``
(which accepts what Docker's Go code produces and accepts). Decoding follows Go's
``encoding/json``: keys match case-insensitively (an exact match wins), unknown keys are
ignored, and ``null`` or an absent key gives the empty value. A value of the wrong JSON
type raises :class:`WireError`. Encoding sends ``null`` for absent maps and lists, and
``""`` for unset strings, as Go does for nil maps, nil slices and empty strings.

Conversions to libnet's types: ``IPAMData`` (pool, gateway and auxiliary addresses as
CIDR strings) <-> :class:`~libnet.driverapi.IPAMData`; ``Interface`` <->
:class:`~libnet.driverapi.InterfaceInfo`; the Join reply <->
:class:`~libnet.driverapi.JoinInfo` (gateways as bare addresses); capabilities <->
:class:`~libnet.driverapi.Capability`.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from libnet import labels
from libnet.driverapi import Capability, InterfaceInfo, IPAMData, JoinInfo, RouteType, Scope
from libnet.errors import BadRequestError

__all__ = [
    "ACCEPT",
    "ACTIVATE",
    "CONTENT_TYPE",
    "IPAM_DRIVER",
    "IPAM_METHODS",
    "NETWORK_DRIVER",
    "NETWORK_METHODS",
    "ActivateResponse",
    "AddressSpacesResponse",
    "AllocateNetworkRequest",
    "AllocateNetworkResponse",
    "CapabilitiesResponse",
    "CreateEndpointRequest",
    "CreateEndpointResponse",
    "CreateNetworkRequest",
    "DiscoveryRequest",
    "EndpointOperInfoResponse",
    "EndpointRequest",
    "Fields",
    "IpamCapabilitiesResponse",
    "JoinRequest",
    "JoinResponse",
    "NetworkRequest",
    "ProgramExternalConnectivityRequest",
    "ReleaseAddressRequest",
    "ReleasePoolRequest",
    "RequestAddressRequest",
    "RequestAddressResponse",
    "RequestPoolRequest",
    "RequestPoolResponse",
    "WireError",
    "WireInterface",
    "decode",
    "encode",
    "error_body",
    "error_message",
]

ACTIVATE = "/Plugin.Activate"
"""The activation path; answered with the manifest for any HTTP method."""

NETWORK_DRIVER = "NetworkDriver"
"""The interface name of network drivers in the manifest and in method paths."""

IPAM_DRIVER = "IpamDriver"
"""The interface name of IPAM drivers in the manifest and in method paths."""

ACCEPT = "application/vnd.docker.plugins.v1.2+json"
"""What the engine sends as ``Accept``."""

CONTENT_TYPE = "application/vnd.docker.plugins.v1+json"
"""What a plugin answers as ``Content-Type`` (the engine does not check it)."""

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

IPAM_METHODS: tuple[str, ...] = (
    "GetCapabilities",
    "GetDefaultAddressSpaces",
    "RequestPool",
    "ReleasePool",
    "RequestAddress",
    "ReleaseAddress",
)
"""Every method of the ``IpamDriver`` interface."""


class WireError(BadRequestError):
    """A request or reply does not have the shape the plugin protocol gives it."""


_ENCODER = json.JSONEncoder(separators=(",", ":"), default=lambda o: _jsonable(o))


def _jsonable(value: object) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} value {value!r} cannot be sent as JSON")


def encode(value: Any) -> bytes:
    """``value`` as compact JSON followed by a newline, as Go's ``json.Encoder`` writes it."""
    try:
        return (_ENCODER.encode(value) + "\n").encode()
    except (TypeError, ValueError) as exc:
        raise WireError(f"cannot encode the message as JSON: {exc}") from None


def decode(data: bytes, what: str = "message") -> Any:
    """Parse a JSON body; WireError naming ``what`` if it is not JSON."""
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise WireError(f"{what} is not JSON: {exc}") from None


def error_body(message: str) -> dict[str, str]:
    """The body of an error answer: ``{"Err": message}``."""
    return {"Err": message}


def error_message(body: object) -> str | None:
    """The non-empty ``Err`` (or IPAM's ``Error``) of an answer, else None."""
    if not isinstance(body, Mapping):
        return None
    fields = Fields(body, "answer")
    for key in ("Err", "Error"):
        value = fields.get(key)
        if isinstance(value, str) and value:
            return value
    return None


class Fields:
    """Case-insensitive, typed access to a JSON object, as Go's decoder matches struct fields.

    An exact key wins over a case-insensitive match; ``null`` and absent keys read as the
    empty value of the asked type; a value of another JSON type raises WireError naming
    ``what`` and the key.
    """

    __slots__ = ("_data", "_folded", "what")

    def __init__(self, data: object, what: str) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise WireError(f"{what} must be a JSON object, not {_kind(data)}")
        self._data: Mapping[str, Any] = data
        self._folded: dict[str, str] | None = None
        self.what = what

    def get(self, key: str) -> Any:
        """The value at ``key`` (any case), or None."""
        if key in self._data:
            return self._data[key]
        if self._folded is None:
            folded: dict[str, str] = {}
            for each in self._data:
                if isinstance(each, str):
                    folded.setdefault(each.lower(), each)
            self._folded = folded
        found = self._folded.get(key.lower())
        return None if found is None else self._data[found]

    def _bad(self, key: str, expected: str, value: object) -> WireError:
        return WireError(f"{self.what}: {key} must be {expected}, not {_kind(value)}")

    def text(self, key: str) -> str:
        """A string field; ``""`` when null or absent."""
        value = self.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self._bad(key, "a string", value)
        return value

    def flag(self, key: str) -> bool:
        """A boolean field; False when null or absent."""
        value = self.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise self._bad(key, "true or false", value)
        return value

    def number(self, key: str) -> int:
        """An integer field; 0 when null or absent."""
        value = self.get(key)
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._bad(key, "an integer", value)
        if isinstance(value, float) and not value.is_integer():
            raise self._bad(key, "an integer", value)
        return int(value)

    def mapping(self, key: str) -> dict[str, Any]:
        """An object field as a dict; ``{}`` when null or absent."""
        value = self.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self._bad(key, "an object", value)
        return dict(value)

    def text_map(self, key: str) -> dict[str, str]:
        """An object of strings (Go's ``map[string]string``); ``{}`` when null or absent."""
        out = self.mapping(key)
        for name, value in out.items():
            if not isinstance(value, str):
                raise self._bad(f"{key}[{name!r}]", "a string", value)
        return out

    def items(self, key: str) -> list[Any]:
        """An array field as a list; ``[]`` when null or absent."""
        value = self.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self._bad(key, "an array", value)
        return value

    def obj(self, key: str) -> Fields | None:
        """An object field as Fields; None when null or absent."""
        value = self.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self._bad(key, "an object", value)
        return Fields(value, f"{self.what}: {key}")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        return f"{value[:40]!r} (a string)"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, Mapping) else type(value).__name__


def _nullable(value: Mapping[str, Any] | list[Any] | None) -> Any:
    """Go sends nil maps and slices as null: empty ones go out as null too."""
    if not value:
        return None
    return dict(value) if isinstance(value, Mapping) else list(value)


def _cidr(fields: Fields, key: str) -> str | None:
    value = fields.text(key)
    if not value:
        return None
    try:
        if "/" not in value:
            raise ValueError("it has no prefix length")
        return str(ipaddress.ip_interface(value))
    except ValueError as exc:
        raise WireError(f"{fields.what}: {key} {value!r} is not an address/length: {exc}") from None


def _ids(fields: Fields, *keys: str) -> tuple[str, ...]:
    """Required ID fields: non-empty strings without '/'."""
    out = []
    for key in keys:
        value = fields.text(key)
        if not value or "/" in value:
            raise WireError(f"{fields.what}: {key} must be a non-empty ID, not {value!r}")
        out.append(value)
    return tuple(out)


# -- activation and capabilities --------------------------------------------------------


@dataclass(frozen=True)
class ActivateResponse:
    """``/Plugin.Activate``'s manifest: the interfaces the plugin implements."""

    implements: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"Implements": list(self.implements)}

    @classmethod
    def from_json(cls, body: object) -> ActivateResponse:
        fields = Fields(body, "Plugin.Activate answer")
        items = fields.items("Implements")
        if not all(isinstance(i, str) for i in items):
            raise WireError("Plugin.Activate answer: Implements must be an array of strings")
        return cls(tuple(items))


@dataclass(frozen=True)
class CapabilitiesResponse:
    """``NetworkDriver.GetCapabilities``: the driver's data and connectivity scopes."""

    scope: str
    connectivity_scope: str = ""

    @classmethod
    def of(cls, capability: Capability) -> CapabilitiesResponse:
        return cls(str(capability.data_scope), str(capability.connectivity_scope))

    def to_json(self) -> dict[str, Any]:
        return {"Scope": self.scope, "ConnectivityScope": self.connectivity_scope}

    @classmethod
    def from_json(cls, body: object) -> CapabilitiesResponse:
        fields = Fields(body, "GetCapabilities answer")
        return cls(fields.text("Scope"), fields.text("ConnectivityScope"))

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
            "AuxAddresses": _nullable(d.aux_addresses),
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
        out.append(IPAMData(f.text("AddressSpace"), pool, _cidr(f, "Gateway"), aux))
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
            raise WireError(f"{what}: Options[{key!r}] must be an object, not {_kind(value)}")
    for key in (labels.ENABLE_IPV6, labels.INTERNAL):
        value = out.get(key)
        if value is None:
            out[key] = False
        elif isinstance(value, str) and value.lower() in ("true", "false"):
            out[key] = value.lower() == "true"
        elif not isinstance(value, bool):
            raise WireError(f"{what}: Options[{key!r}] must be true or false, not {_kind(value)}")
    return out


@dataclass(frozen=True)
class CreateNetworkRequest:
    """``NetworkDriver.CreateNetwork`` (the reply is ``{}``)."""

    network_id: str
    options: Mapping[str, Any]
    ipv4_data: list[IPAMData] = field(default_factory=list)
    ipv6_data: list[IPAMData] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "NetworkID": self.network_id,
            "Options": encode_network_options(self.options),
            "IPv4Data": encode_ipam_data(self.ipv4_data),
            "IPv6Data": encode_ipam_data(self.ipv6_data),
        }

    @classmethod
    def from_json(cls, body: object) -> CreateNetworkRequest:
        f = Fields(body, "CreateNetwork request")
        (nid,) = _ids(f, "NetworkID")
        return cls(
            nid,
            decode_network_options(f.mapping("Options"), f.what),
            decode_ipam_data(f, "IPv4Data"),
            decode_ipam_data(f, "IPv6Data"),
        )


@dataclass(frozen=True)
class NetworkRequest:
    """A request naming one network: ``DeleteNetwork`` and ``FreeNetwork``."""

    network_id: str

    def to_json(self) -> dict[str, Any]:
        return {"NetworkID": self.network_id}

    @classmethod
    def from_json(cls, body: object, method: str = "network") -> NetworkRequest:
        (nid,) = _ids(Fields(body, f"{method} request"), "NetworkID")
        return cls(nid)


@dataclass(frozen=True)
class AllocateNetworkRequest:
    """``NetworkDriver.AllocateNetwork`` (swarm managers): options are strings."""

    network_id: str
    options: Mapping[str, str]
    ipv4_data: list[IPAMData] = field(default_factory=list)
    ipv6_data: list[IPAMData] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "NetworkID": self.network_id,
            "Options": _nullable(self.options),
            "IPv4Data": encode_ipam_data(self.ipv4_data),
            "IPv6Data": encode_ipam_data(self.ipv6_data),
        }

    @classmethod
    def from_json(cls, body: object) -> AllocateNetworkRequest:
        f = Fields(body, "AllocateNetwork request")
        (nid,) = _ids(f, "NetworkID")
        return cls(
            nid,
            f.text_map("Options"),
            decode_ipam_data(f, "IPv4Data"),
            decode_ipam_data(f, "IPv6Data"),
        )


@dataclass(frozen=True)
class AllocateNetworkResponse:
    """``AllocateNetwork``'s reply: options for the network's other nodes."""

    options: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"Options": _nullable(self.options)}

    @classmethod
    def from_json(cls, body: object) -> AllocateNetworkResponse:
        return cls(Fields(body, "AllocateNetwork answer").text_map("Options"))


# -- endpoints --------------------------------------------------------------------------


@dataclass(frozen=True)
class WireInterface:
    """The ``Interface`` object: CIDR addresses and a MAC, None where unset (``""`` on the wire)."""

    address: str | None = None
    address_ipv6: str | None = None
    mac_address: str | None = None

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

    def to_json(self) -> dict[str, str]:
        return {
            "Address": self.address or "",
            "AddressIPv6": self.address_ipv6 or "",
            "MacAddress": self.mac_address or "",
        }

    @classmethod
    def from_json(cls, fields: Fields) -> WireInterface:
        return cls(
            fields.text("Address") or None,
            fields.text("AddressIPv6") or None,
            fields.text("MacAddress") or None,
        )

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
class CreateEndpointRequest:
    """``NetworkDriver.CreateEndpoint``: the interface always goes, ``""`` for unset fields."""

    network_id: str
    endpoint_id: str
    interface: WireInterface
    options: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "NetworkID": self.network_id,
            "EndpointID": self.endpoint_id,
            "Interface": self.interface.to_json(),
            "Options": _nullable(self.options),
        }

    @classmethod
    def from_json(cls, body: object) -> CreateEndpointRequest:
        f = Fields(body, "CreateEndpoint request")
        nid, eid = _ids(f, "NetworkID", "EndpointID")
        iface = f.obj("Interface")
        wire = WireInterface.from_json(iface) if iface is not None else WireInterface()
        return cls(nid, eid, wire, f.mapping("Options"))


@dataclass(frozen=True)
class CreateEndpointResponse:
    """``CreateEndpoint``'s reply: the fields the driver chose (``Interface`` null if none)."""

    interface: WireInterface = field(default_factory=WireInterface)

    def to_json(self) -> dict[str, Any]:
        return {"Interface": self.interface.to_json() if self.interface else None}

    @classmethod
    def from_json(cls, body: object) -> CreateEndpointResponse:
        iface = Fields(body, "CreateEndpoint answer").obj("Interface")
        return cls(WireInterface.from_json(iface) if iface is not None else WireInterface())


@dataclass(frozen=True)
class EndpointRequest:
    """A request naming one endpoint: DeleteEndpoint, EndpointOperInfo, Leave, Revoke..."""

    network_id: str
    endpoint_id: str

    def to_json(self) -> dict[str, Any]:
        return {"NetworkID": self.network_id, "EndpointID": self.endpoint_id}

    @classmethod
    def from_json(cls, body: object, method: str = "endpoint") -> EndpointRequest:
        nid, eid = _ids(Fields(body, f"{method} request"), "NetworkID", "EndpointID")
        return cls(nid, eid)


@dataclass(frozen=True)
class EndpointOperInfoResponse:
    """``EndpointOperInfo``'s reply: driver-specific data under ``Value``."""

    value: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"Value": _nullable(self.value)}

    @classmethod
    def from_json(cls, body: object) -> EndpointOperInfoResponse:
        return cls(Fields(body, "EndpointOperInfo answer").mapping("Value"))


@dataclass(frozen=True)
class JoinRequest:
    """``NetworkDriver.Join``: the sandbox is a network namespace path."""

    network_id: str
    endpoint_id: str
    sandbox_key: str | None
    options: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "NetworkID": self.network_id,
            "EndpointID": self.endpoint_id,
            "SandboxKey": self.sandbox_key or "",
            "Options": _nullable(self.options),
        }

    @classmethod
    def from_json(cls, body: object) -> JoinRequest:
        f = Fields(body, "Join request")
        nid, eid = _ids(f, "NetworkID", "EndpointID")
        return cls(nid, eid, f.text("SandboxKey") or None, f.mapping("Options"))


@dataclass(frozen=True)
class WireRoute:
    """One of ``StaticRoutes``: RouteType 0 is via NextHop, 1 is connected."""

    destination: str
    route_type: int
    next_hop: str

    def to_json(self) -> dict[str, Any]:
        return {
            "Destination": self.destination,
            "RouteType": self.route_type,
            "NextHop": self.next_hop,
        }


@dataclass(frozen=True)
class JoinResponse:
    """``Join``'s reply: interface names, bare gateway addresses, static routes."""

    src_name: str = ""
    dst_prefix: str = ""
    dst_name: str = ""
    gateway: str = ""
    gateway_ipv6: str = ""
    static_routes: tuple[WireRoute, ...] = ()
    disable_gateway_service: bool = False
    has_interface_name: bool = False

    @classmethod
    def of(cls, jinfo: JoinInfo) -> JoinResponse:
        """What a driver put in ``jinfo``."""
        return cls(
            jinfo.src_name or "",
            jinfo.dst_prefix or "",
            jinfo.dst_name or "",
            jinfo.gateway or "",
            jinfo.gateway_ipv6 or "",
            tuple(
                WireRoute(r.destination, int(r.route_type), r.next_hop or "")
                for r in jinfo.static_routes
            ),
            jinfo.gateway_service_disabled,
            jinfo.src_name is not None,
        )

    def to_json(self) -> dict[str, Any]:
        name = None
        if self.has_interface_name:
            name = {"SrcName": self.src_name, "DstPrefix": self.dst_prefix}
            if self.dst_name:
                name["DstName"] = self.dst_name
        return {
            "InterfaceName": name,
            "Gateway": self.gateway,
            "GatewayIPv6": self.gateway_ipv6,
            "StaticRoutes": [r.to_json() for r in self.static_routes] or None,
            "DisableGatewayService": self.disable_gateway_service,
        }

    @classmethod
    def from_json(cls, body: object) -> JoinResponse:
        f = Fields(body, "Join answer")
        name = f.obj("InterfaceName")
        routes = []
        for n, item in enumerate(f.items("StaticRoutes")):
            r = Fields(item, f"{f.what}: StaticRoutes[{n}]")
            routes.append(
                WireRoute(r.text("Destination"), r.number("RouteType"), r.text("NextHop"))
            )
        return cls(
            name.text("SrcName") if name else "",
            name.text("DstPrefix") if name else "",
            name.text("DstName") if name else "",
            f.text("Gateway"),
            f.text("GatewayIPv6"),
            tuple(routes),
            f.flag("DisableGatewayService"),
            name is not None,
        )

    def apply_to(self, jinfo: JoinInfo) -> None:
        """Give ``jinfo`` what the reply says; ValueError if something cannot be applied."""
        if self.has_interface_name and (self.src_name or self.dst_prefix):
            jinfo.set_names(self.src_name, self.dst_prefix, self.dst_name or None)
        if self.gateway:
            jinfo.set_gateway(self.gateway)
        if self.gateway_ipv6:
            jinfo.set_gateway_ipv6(self.gateway_ipv6)
        for route in self.static_routes:
            if route.route_type not in (RouteType.NEXT_HOP, RouteType.CONNECTED):
                raise ValueError(
                    f"static route to {route.destination} has RouteType {route.route_type}"
                )
            jinfo.add_static_route(route.destination, route.route_type, route.next_hop or None)
        if self.disable_gateway_service:
            jinfo.disable_gateway_service()


@dataclass(frozen=True)
class ProgramExternalConnectivityRequest:
    """``NetworkDriver.ProgramExternalConnectivity``: port mappings travel in Options."""

    network_id: str
    endpoint_id: str
    options: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "NetworkID": self.network_id,
            "EndpointID": self.endpoint_id,
            "Options": _nullable(self.options),
        }

    @classmethod
    def from_json(cls, body: object) -> ProgramExternalConnectivityRequest:
        f = Fields(body, "ProgramExternalConnectivity request")
        nid, eid = _ids(f, "NetworkID", "EndpointID")
        return cls(nid, eid, f.mapping("Options"))


@dataclass(frozen=True)
class DiscoveryRequest:
    """``DiscoverNew``/``DiscoverDelete``: a discovery type and its data."""

    discovery_type: int
    data: Any

    def to_json(self) -> dict[str, Any]:
        return {"DiscoveryType": self.discovery_type, "DiscoveryData": self.data}

    @classmethod
    def from_json(cls, body: object, method: str = "Discover") -> DiscoveryRequest:
        f = Fields(body, f"{method} request")
        return cls(f.number("DiscoveryType"), f.get("DiscoveryData"))


# -- IPAM -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IpamCapabilitiesResponse:
    """``IpamDriver.GetCapabilities``."""

    requires_mac_address: bool = False
    requires_request_replay: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "RequiresMACAddress": self.requires_mac_address,
            "RequiresRequestReplay": self.requires_request_replay,
        }

    @classmethod
    def from_json(cls, body: object) -> IpamCapabilitiesResponse:
        f = Fields(body, "IpamDriver.GetCapabilities answer")
        return cls(f.flag("RequiresMACAddress"), f.flag("RequiresRequestReplay"))


@dataclass(frozen=True)
class AddressSpacesResponse:
    """``GetDefaultAddressSpaces``: the local and global default address spaces."""

    local: str
    global_: str

    def to_json(self) -> dict[str, Any]:
        return {"LocalDefaultAddressSpace": self.local, "GlobalDefaultAddressSpace": self.global_}

    @classmethod
    def from_json(cls, body: object) -> AddressSpacesResponse:
        f = Fields(body, "GetDefaultAddressSpaces answer")
        return cls(f.text("LocalDefaultAddressSpace"), f.text("GlobalDefaultAddressSpace"))


@dataclass(frozen=True)
class RequestPoolRequest:
    """``IpamDriver.RequestPool``: an address space, an optional pool and sub-pool."""

    address_space: str
    pool: str = ""
    sub_pool: str = ""
    options: Mapping[str, str] = field(default_factory=dict)
    v6: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "AddressSpace": self.address_space,
            "Pool": self.pool,
            "SubPool": self.sub_pool,
            "Options": _nullable(self.options),
            "V6": self.v6,
        }

    @classmethod
    def from_json(cls, body: object) -> RequestPoolRequest:
        f = Fields(body, "RequestPool request")
        return cls(
            f.text("AddressSpace"),
            f.text("Pool"),
            f.text("SubPool"),
            f.text_map("Options"),
            f.flag("V6"),
        )


@dataclass(frozen=True)
class RequestPoolResponse:
    """``RequestPool``'s reply: the pool's ID, its CIDR and driver data."""

    pool_id: str
    pool: str
    data: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"PoolID": self.pool_id, "Pool": self.pool, "Data": _nullable(self.data)}

    @classmethod
    def from_json(cls, body: object) -> RequestPoolResponse:
        f = Fields(body, "RequestPool answer")
        pool = f.text("Pool")
        try:
            ipaddress.ip_network(pool, strict=False)
        except ValueError as exc:
            raise WireError(f"{f.what}: Pool {pool!r} is not a CIDR: {exc}") from None
        if not f.text("PoolID"):
            raise WireError(f"{f.what}: PoolID is empty")
        return cls(f.text("PoolID"), pool, f.text_map("Data"))


@dataclass(frozen=True)
class ReleasePoolRequest:
    """``IpamDriver.ReleasePool``."""

    pool_id: str

    def to_json(self) -> dict[str, Any]:
        return {"PoolID": self.pool_id}

    @classmethod
    def from_json(cls, body: object) -> ReleasePoolRequest:
        f = Fields(body, "ReleasePool request")
        if not f.text("PoolID"):
            raise WireError(f"{f.what}: PoolID is empty")
        return cls(f.text("PoolID"))


@dataclass(frozen=True)
class RequestAddressRequest:
    """``IpamDriver.RequestAddress``: a bare address, or ``""`` for any."""

    pool_id: str
    address: str = ""
    options: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"PoolID": self.pool_id, "Address": self.address, "Options": _nullable(self.options)}

    @classmethod
    def from_json(cls, body: object) -> RequestAddressRequest:
        f = Fields(body, "RequestAddress request")
        if not f.text("PoolID"):
            raise WireError(f"{f.what}: PoolID is empty")
        return cls(f.text("PoolID"), f.text("Address"), f.text_map("Options"))


@dataclass(frozen=True)
class RequestAddressResponse:
    """``RequestAddress``'s reply: the address with prefix length (``""``: none) and data."""

    address: str = ""
    data: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"Address": self.address, "Data": _nullable(self.data)}

    @classmethod
    def from_json(cls, body: object) -> RequestAddressResponse:
        f = Fields(body, "RequestAddress answer")
        address = _cidr(f, "Address") or ""
        return cls(address, f.text_map("Data"))


@dataclass(frozen=True)
class ReleaseAddressRequest:
    """``IpamDriver.ReleaseAddress``."""

    pool_id: str
    address: str

    def to_json(self) -> dict[str, Any]:
        return {"PoolID": self.pool_id, "Address": self.address}

    @classmethod
    def from_json(cls, body: object) -> ReleaseAddressRequest:
        f = Fields(body, "ReleaseAddress request")
        if not f.text("PoolID") or not f.text("Address"):
            raise WireError(f"{f.what}: PoolID and Address must be non-empty")
        return cls(f.text("PoolID"), f.text("Address"))
