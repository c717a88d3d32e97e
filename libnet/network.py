"""Network and Endpoint: handles on the controller's records, and the operations on them."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from libnet._calls import call_driver, undo
from libnet._records import EndpointRecord, NetworkRecord, check_mapping, check_name, new_id, now
from libnet.driverapi import InterfaceInfo, JoinInfo
from libnet.errors import (
    ActiveContainerError,
    ActiveEndpointsError,
    DriverError,
    EndpointExistsError,
    EndpointInSandboxError,
    EndpointNotFoundError,
    ForbiddenError,
)

if TYPE_CHECKING:
    from libnet.controller import Controller
    from libnet.sandbox import Sandbox

__all__ = ["Endpoint", "Network"]


class Network:
    """A network of the controller. The object is a handle: it reads the current state."""

    __slots__ = ("_c", "id")

    def __init__(self, controller: Controller, network_id: str) -> None:
        self._c = controller
        self.id = network_id

    def _rec(self) -> NetworkRecord:
        return self._c._network_record(self.id)

    @property
    def name(self) -> str:
        return self._rec().name

    @property
    def type(self) -> str:
        """The network type, i.e. the name of the driver serving it."""
        return self._rec().type

    @property
    def scope(self) -> str:
        """The driver's data scope, ``local`` or ``global``."""
        return self._rec().scope

    @property
    def options(self) -> Mapping[str, Any]:
        return MappingProxyType(self._rec().options)

    @property
    def labels(self) -> Mapping[str, str]:
        return MappingProxyType(self._rec().labels)

    @property
    def internal(self) -> bool:
        return self._rec().internal

    @property
    def enable_ipv6(self) -> bool:
        return self._rec().enable_ipv6

    @property
    def created(self) -> str:
        """Creation time, ISO 8601 in UTC."""
        return self._rec().created

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Network) and other.id == self.id and other._c is self._c

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<Network {self.id[:12]}>"

    def create_endpoint(self, name: str, *, options: Mapping[str, Any] | None = None) -> Endpoint:
        """Create an endpoint named ``name``; the driver creates it before it is recorded."""
        check_name("endpoint", name)
        opts = check_mapping(f"options of endpoint {name!r}", options)
        with self._c._lock:
            net = self._rec()
            if any(ep.name == name for ep in net.endpoints.values()):
                raise EndpointExistsError(
                    f"endpoint {name!r} already exists on network {net.name!r}; "
                    "choose another name"
                )
            driver = self._c._driver(net.type).driver
            iface = InterfaceInfo()
            ep = EndpointRecord(new_id(), name, net.id, opts, {}, now())
            call_driver(
                f"endpoint {name!r} on network {net.name!r}",
                driver.create_endpoint,
                net.id,
                ep.id,
                iface,
                MappingProxyType(opts),
            )
            ep.interface = iface.to_dict()
            net.endpoints[ep.id] = ep
            return Endpoint(self, ep.id)

    def endpoints(self) -> list[Endpoint]:
        """The network's endpoints, sorted by name."""
        with self._c._lock:
            eps = sorted(self._rec().endpoints.values(), key=lambda e: e.name)
            return [Endpoint(self, e.id) for e in eps]

    def endpoint_by_name(self, name: str) -> Endpoint:
        """The endpoint named ``name``; EndpointNotFoundError if there is none."""
        with self._c._lock:
            net = self._rec()
            for ep in net.endpoints.values():
                if ep.name == name:
                    return Endpoint(self, ep.id)
            raise EndpointNotFoundError(f"endpoint {name!r} not found on network {net.name!r}")

    def endpoint_by_id(self, endpoint_id: str) -> Endpoint:
        """The endpoint with this full ID; EndpointNotFoundError if there is none."""
        with self._c._lock:
            net = self._rec()
            if endpoint_id not in net.endpoints:
                raise EndpointNotFoundError(
                    f"endpoint with ID {endpoint_id!r} not found on network {net.name!r}"
                )
            return Endpoint(self, endpoint_id)

    def delete(self) -> None:
        """Delete the network; it must have no endpoints (ActiveEndpointsError)."""
        with self._c._lock:
            net = self._rec()
            if net.endpoints:
                names = ", ".join(sorted(e.name for e in net.endpoints.values()))
                raise ActiveEndpointsError(
                    f"network {net.name!r} has active endpoints ({names}); delete them first"
                )
            driver = self._c._driver(net.type).driver
            call_driver(f"network {net.name!r}", driver.delete_network, net.id)
            del self._c._networks[net.id]

    def to_dict(self) -> dict[str, Any]:
        """The network as plain values, as ``libnet network inspect`` prints it."""
        with self._c._lock:
            net = self._rec()
            return {
                "id": net.id,
                "name": net.name,
                "driver": net.type,
                "scope": net.scope,
                "created": net.created,
                "internal": net.internal,
                "enable_ipv6": net.enable_ipv6,
                "options": dict(net.options),
                "labels": dict(net.labels),
                "endpoints": {
                    ep.id: Endpoint(self, ep.id).info() for ep in net.endpoints.values()
                },
            }


class Endpoint:
    """An endpoint of a network. The object is a handle: it reads the current state."""

    __slots__ = ("id", "network")

    def __init__(self, network: Network, endpoint_id: str) -> None:
        self.network = network
        self.id = endpoint_id

    def _rec(self) -> EndpointRecord:
        net = self.network._rec()
        ep = net.endpoints.get(self.id)
        if ep is None:
            raise EndpointNotFoundError(
                f"endpoint {self.id[:12]} no longer exists on network {net.name!r}"
            )
        return ep

    @property
    def name(self) -> str:
        return self._rec().name

    @property
    def options(self) -> Mapping[str, Any]:
        return MappingProxyType(self._rec().options)

    @property
    def sandbox_id(self) -> str | None:
        """The ID of the sandbox the endpoint is joined to, or None."""
        return self._rec().sandbox_id

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Endpoint) and other.id == self.id and other.network == self.network

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<Endpoint {self.id[:12]} on network {self.network.id[:12]}>"

    def _what(self, ep: EndpointRecord) -> str:
        return f"endpoint {ep.name!r} on network {self.network._rec().name!r}"

    def join(self, sandbox: Sandbox, *, options: Mapping[str, Any] | None = None) -> None:
        """Join the endpoint to ``sandbox``; an endpoint is in at most one sandbox."""
        opts = check_mapping("join options", options)
        c = self.network._c
        with c._lock:
            ep = self._rec()
            sbox = c._sandbox_record(sandbox.id)
            if ep.sandbox_id is not None:
                raise EndpointInSandboxError(
                    f"{self._what(ep)} is already joined to sandbox {ep.sandbox_id[:12]}; "
                    "leave it first"
                )
            net = self.network._rec()
            driver = c._driver(net.type).driver
            iface = InterfaceInfo(**ep.interface)
            jinfo = JoinInfo(iface)
            what = self._what(ep)
            call_driver(what, driver.join, net.id, ep.id, sbox.key, jinfo, MappingProxyType(opts))
            try:
                _check_applicable(what, jinfo, c._joined(sbox))
                call_driver(
                    what,
                    driver.program_external_connectivity,
                    net.id,
                    ep.id,
                    MappingProxyType(opts),
                )
            except BaseException:
                undo(f"join of {what}", driver.leave, net.id, ep.id)
                raise
            ep.sandbox_id = sbox.id
            ep.join = jinfo.to_dict()
            ep.join_options = opts
            sbox.endpoints.append((net.id, ep.id))

    def leave(self, sandbox: Sandbox) -> None:
        """Leave ``sandbox``; the endpoint must be joined to it."""
        c = self.network._c
        with c._lock:
            ep = self._rec()
            if ep.sandbox_id != sandbox.id:
                raise ForbiddenError(
                    f"{self._what(ep)} is not joined to sandbox {sandbox.id[:12]}; nothing to leave"
                )
            self._leave(ep)

    def _leave(self, ep: EndpointRecord) -> None:
        """Leave the joined sandbox through the driver, then forget the join."""
        c = self.network._c
        net = self.network._rec()
        driver = c._driver(net.type).driver
        what = self._what(ep)
        call_driver(what, driver.revoke_external_connectivity, net.id, ep.id)
        try:
            call_driver(what, driver.leave, net.id, ep.id)
        except BaseException:
            undo(
                f"revoke of {what}",
                driver.program_external_connectivity,
                net.id,
                ep.id,
                MappingProxyType(ep.join_options),
            )
            raise
        sbox = c._sandboxes.get(ep.sandbox_id or "")
        if sbox is not None:
            sbox.endpoints.remove((net.id, ep.id))
        ep.sandbox_id = None
        ep.join = None
        ep.join_options = {}

    def delete(self, force: bool = False) -> None:
        """Delete the endpoint; a joined one needs ``force=True`` (it then leaves first)."""
        c = self.network._c
        with c._lock:
            ep = self._rec()
            if ep.sandbox_id is not None:
                if not force:
                    raise ActiveContainerError(
                        f"{self._what(ep)} is joined to sandbox {ep.sandbox_id[:12]}; leave it "
                        "first or delete with force"
                    )
                self._leave(ep)
            net = self.network._rec()
            driver = c._driver(net.type).driver
            call_driver(self._what(ep), driver.delete_endpoint, net.id, ep.id)
            del net.endpoints[ep.id]

    def info(self) -> dict[str, Any]:
        """Addresses, MAC, gateways, static routes, interface names and sandbox."""
        with self.network._c._lock:
            ep = self._rec()
            join = ep.join or {}
            return {
                "id": ep.id,
                "name": ep.name,
                "network": ep.network_id,
                **ep.interface,
                "sandbox": ep.sandbox_id,
                "src_name": join.get("src_name"),
                "dst_prefix": join.get("dst_prefix"),
                "dst_name": join.get("dst_name"),
                "gateway": join.get("gateway"),
                "gateway_ipv6": join.get("gateway_ipv6"),
                "static_routes": list(join.get("static_routes", [])),
                "disable_gateway_service": bool(join.get("disable_gateway_service", False)),
            }

    def driver_info(self) -> dict[str, Any]:
        """What the driver reports about the endpoint (its ``endpoint_oper_info``)."""
        c = self.network._c
        with c._lock:
            ep = self._rec()
            net = self.network._rec()
            driver = c._driver(net.type).driver
            info = call_driver(self._what(ep), driver.endpoint_oper_info, net.id, ep.id)
            if not isinstance(info, Mapping):
                raise DriverError(
                    f"driver {net.type!r} returned {type(info).__name__} from endpoint_oper_info "
                    f"for {self._what(ep)}; the contract asks for a dict"
                )
            return dict(info)

    def to_dict(self) -> dict[str, Any]:
        """The endpoint as plain values, as ``libnet endpoint inspect`` prints it."""
        return {**self.info(), "options": dict(self.options)}


def _check_applicable(what: str, jinfo: JoinInfo, others: list[EndpointRecord]) -> None:
    """Refuse join information the controller could not apply next to ``others``."""
    if jinfo.dst_name is None:
        return
    for other in others:
        if other.join and other.join.get("dst_name") == jinfo.dst_name:
            raise DriverError(
                f"join of {what} asks for interface name {jinfo.dst_name!r} in the sandbox, "
                f"which endpoint {other.name!r} already uses; the driver must pick another "
                "dst_name"
            )
