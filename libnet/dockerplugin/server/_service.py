"""The plugin's methods: decode a request, call the libnet driver, encode the answer.

:class:`PluginService` knows nothing of HTTP. It serialises calls (libnet drivers are
called one at a time, as the controller calls them), keeps what Docker created in a
:class:`~libnet.dockerplugin.server._state.PluginState`, and replays it to the driver at start and
before the first call about an object the driver has not been told about yet.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from libnet._calls import FAILURES, reason
from libnet.dockerplugin import api
from libnet.dockerplugin.server._state import PluginState
from libnet.driverapi import Capability, Driver, InterfaceInfo, JoinInfo
from libnet.errors import DriverFailure, LibnetError, ServiceClosedError, UnknownMethodError
from libnet.ipam import Ipam, IpamCapability

__all__ = ["DriverFailure", "PluginService", "ServiceClosedError", "UnknownMethodError"]

log = logging.getLogger("libnet.plugin")

Handler = Callable[[object], Any]


class PluginService:
    """Answers the ``NetworkDriver`` and ``IpamDriver`` methods of one served plugin.

    ``driver`` (with its ``capability``) serves the network methods and ``ipam`` (with
    ``ipam_capability``) the IPAM methods; either may be None, and the manifest lists
    what is there.
    """

    def __init__(
        self,
        state: PluginState,
        *,
        driver: Driver | None = None,
        capability: Capability | None = None,
        ipam: Ipam | None = None,
        ipam_capability: IpamCapability | None = None,
    ) -> None:
        if driver is None and ipam is None:
            raise ValueError("a plugin serves a network driver, an IPAM driver, or both")
        self._state = state
        self._driver = driver
        self._capability = capability
        self._ipam = ipam
        self._ipam_capability = ipam_capability or IpamCapability()
        self._lock = threading.RLock()
        self._closed = False
        self._known_networks: set[str] = set()
        self._known_endpoints: set[str] = set()
        self._handlers: dict[str, Handler] = {}
        implements = []
        if driver is not None:
            implements.append(api.NETWORK_DRIVER)
            for method in api.NETWORK_METHODS:
                name = "_net_" + method
                self._handlers[f"{api.NETWORK_DRIVER}.{method}"] = getattr(self, name)
        if ipam is not None:
            implements.append(api.IPAM_DRIVER)
            for method in api.IPAM_METHODS:
                name = "_ipam_" + method
                self._handlers[f"{api.IPAM_DRIVER}.{method}"] = getattr(self, name)
        self.manifest = api.ActivateResponse(tuple(implements))

    # -- entry points ---------------------------------------------------------------

    def knows(self, method: str) -> bool:
        """Whether ``method`` (``"NetworkDriver.Join"``) is one this plugin answers."""
        return method in self._handlers

    def call(self, method: str, body: object) -> Any:
        """Answer ``method`` (``"NetworkDriver.Join"``) for the decoded JSON ``body``.

        Raises UnknownMethodError, WireError for a malformed request, DriverFailure when
        the driver fails, ServiceClosedError once closed.
        """
        handler = self._handlers.get(method)
        if handler is None:
            raise UnknownMethodError(
                f"plugin does not implement {method!r} (it implements "
                f"{', '.join(self.manifest.implements)})"
            )
        with self._lock:
            if self._closed:
                raise ServiceClosedError("the plugin is shutting down")
            return handler(body)

    def restore(self) -> None:
        """Tell the driver about every stored network and endpoint (at start).

        A failure is logged and retried before the next call about that object.
        """
        if self._driver is None:
            return
        with self._lock:
            for nid, _ in self._state.networks():
                try:
                    self._ensure_network(nid)
                except LibnetError as exc:
                    log.warning("could not restore network %s: %s", nid[:12], exc)
                    continue
                for eid, _ in self._state.endpoints(nid):
                    try:
                        self._ensure_endpoint(nid, eid)
                    except LibnetError as exc:
                        log.warning("could not restore endpoint %s: %s", eid[:12], exc)

    def close(self) -> None:
        """Refuse further calls; waits for a call in progress to finish."""
        with self._lock:
            self._closed = True

    # -- helpers --------------------------------------------------------------------

    def _drive(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            return fn(*args)
        except FAILURES as exc:
            log.debug("driver call %s failed", getattr(fn, "__name__", fn), exc_info=True)
            raise DriverFailure(reason(exc)) from exc

    @property
    def _net(self) -> Driver:
        assert self._driver is not None
        return self._driver

    @property
    def _ipd(self) -> Ipam:
        assert self._ipam is not None
        return self._ipam

    def _ensure_network(self, nid: str) -> None:
        """Restore ``nid`` to the driver if it is stored and the driver was not told yet."""
        if nid in self._known_networks:
            return
        body = self._state.network(nid)
        if body is None:
            return
        req = api.CreateNetworkRequest.from_json(body)
        self._drive(
            self._net.restore_network,
            nid,
            MappingProxyType(req.options),
            req.ipv4_data,
            req.ipv6_data,
        )
        self._known_networks.add(nid)

    def _ensure_endpoint(self, nid: str, eid: str) -> None:
        self._ensure_network(nid)
        if eid in self._known_endpoints:
            return
        record = self._state.endpoint(nid, eid)
        if record is None:
            return
        req = api.CreateEndpointRequest.from_json(record.get("Request"))
        iface = api.decode_fields(api.WireInterface, record.get("Interface"), "record")
        self._drive(
            self._net.restore_endpoint, nid, eid, iface.info(), MappingProxyType(dict(req.options))
        )
        self._known_endpoints.add(eid)

    def _stored_interface(self, nid: str, eid: str) -> InterfaceInfo:
        record = self._state.endpoint(nid, eid)
        if record is None:
            return InterfaceInfo()
        return api.decode_fields(api.WireInterface, record.get("Interface"), "record").info()

    def _persist(self, what: str, write: Callable[[], None], undo: Callable[[], None]) -> None:
        """Write a record after the driver acted; undo the driver's work if the write fails."""
        try:
            write()
        except Exception as exc:
            try:
                undo()
            except Exception:
                log.warning("undoing %s after a failed write also failed", what, exc_info=True)
            raise DriverFailure(f"could not record {what}: {reason(exc)}") from exc

    # -- NetworkDriver --------------------------------------------------------------

    def _net_GetCapabilities(self, body: object) -> Any:
        assert self._capability is not None
        return api.CapabilitiesResponse.of(self._capability).to_json()

    def _net_CreateNetwork(self, body: object) -> Any:
        req = api.CreateNetworkRequest.from_json(body)
        nid = req.network_id
        stored = self._state.network(nid)
        if stored is not None:
            if api.CreateNetworkRequest.from_json(stored) != req:
                raise DriverFailure(f"network {nid[:12]} already exists with other options")
            self._ensure_network(nid)  # a replay of what the plugin has: nothing to do
            return {}
        options = MappingProxyType(req.options)
        self._drive(self._net.create_network, nid, options, req.ipv4_data, req.ipv6_data)
        assert isinstance(body, Mapping)
        self._persist(
            f"network {nid[:12]}",
            lambda: self._state.put_network(nid, dict(body)),
            lambda: self._net.delete_network(nid),
        )
        self._known_networks.add(nid)
        return {}

    def _net_DeleteNetwork(self, body: object) -> Any:
        nid = api.NetworkRequest.from_json(body, "DeleteNetwork").network_id
        self._ensure_network(nid)
        self._drive(self._net.delete_network, nid)
        for eid, _ in self._state.endpoints(nid):
            self._known_endpoints.discard(eid)
        self._known_networks.discard(nid)
        self._drive(self._state.delete_network, nid)
        return {}

    def _net_AllocateNetwork(self, body: object) -> Any:
        req = api.AllocateNetworkRequest.from_json(body)
        options = self._drive(
            self._net.allocate_network,
            req.network_id,
            MappingProxyType(dict(req.options)),
            req.ipv4_data,
            req.ipv6_data,
        )
        return api.AllocateNetworkResponse(
            {str(k): str(v) for k, v in (options or {}).items()}
        ).to_json()

    def _net_FreeNetwork(self, body: object) -> Any:
        req = api.NetworkRequest.from_json(body, "FreeNetwork")
        self._drive(self._net.free_network, req.network_id)
        return {}

    def _net_CreateEndpoint(self, body: object) -> Any:
        req = api.CreateEndpointRequest.from_json(body)
        nid, eid = req.network_id, req.endpoint_id
        iface = req.interface.info()
        stored = self._state.endpoint(nid, eid)
        if stored is not None:
            if api.CreateEndpointRequest.from_json(stored.get("Request")) != req:
                raise DriverFailure(f"endpoint {eid[:12]} already exists with other settings")
            self._ensure_endpoint(nid, eid)
            return stored.get("Reply") or {}
        self._ensure_network(nid)
        self._drive(self._net.create_endpoint, nid, eid, iface, MappingProxyType(dict(req.options)))
        reply = api.CreateEndpointResponse(api.WireInterface.of(iface, iface.set_by_driver))
        record = {
            "Request": body,
            "Interface": api.WireInterface.of(iface).to_json(),
            "Reply": reply.to_json(),
        }
        self._persist(
            f"endpoint {eid[:12]}",
            lambda: self._state.put_endpoint(nid, eid, record),
            lambda: self._net.delete_endpoint(nid, eid),
        )
        self._known_endpoints.add(eid)
        return reply.to_json()

    def _net_EndpointOperInfo(self, body: object) -> Any:
        req = api.EndpointRequest.from_json(body, "EndpointOperInfo")
        self._ensure_endpoint(req.network_id, req.endpoint_id)
        info = self._drive(self._net.endpoint_oper_info, req.network_id, req.endpoint_id)
        if info is not None and not isinstance(info, Mapping):
            raise DriverFailure(
                f"driver returned {type(info).__name__} from endpoint_oper_info; "
                "the contract asks for a dict"
            )
        return api.EndpointOperInfoResponse(dict(info or {})).to_json()

    def _net_DeleteEndpoint(self, body: object) -> Any:
        req = api.EndpointRequest.from_json(body, "DeleteEndpoint")
        self._ensure_endpoint(req.network_id, req.endpoint_id)
        self._drive(self._net.delete_endpoint, req.network_id, req.endpoint_id)
        self._known_endpoints.discard(req.endpoint_id)
        self._drive(self._state.delete_endpoint, req.network_id, req.endpoint_id)
        return {}

    def _net_Join(self, body: object) -> Any:
        req = api.JoinRequest.from_json(body)
        nid, eid = req.network_id, req.endpoint_id
        self._ensure_endpoint(nid, eid)
        jinfo = JoinInfo(self._stored_interface(nid, eid))
        options = MappingProxyType(dict(req.options))
        self._drive(self._net.join, nid, eid, req.sandbox_key, jinfo, options)
        return api.JoinResponse.of(jinfo).to_json()

    def _net_Leave(self, body: object) -> Any:
        req = api.EndpointRequest.from_json(body, "Leave")
        self._ensure_endpoint(req.network_id, req.endpoint_id)
        self._drive(self._net.leave, req.network_id, req.endpoint_id)
        return {}

    def _net_ProgramExternalConnectivity(self, body: object) -> Any:
        req = api.ProgramExternalConnectivityRequest.from_json(body)
        self._ensure_endpoint(req.network_id, req.endpoint_id)
        self._drive(
            self._net.program_external_connectivity,
            req.network_id,
            req.endpoint_id,
            MappingProxyType(dict(req.options)),
        )
        return {}

    def _net_RevokeExternalConnectivity(self, body: object) -> Any:
        req = api.EndpointRequest.from_json(body, "RevokeExternalConnectivity")
        self._ensure_endpoint(req.network_id, req.endpoint_id)
        self._drive(self._net.revoke_external_connectivity, req.network_id, req.endpoint_id)
        return {}

    def _net_DiscoverNew(self, body: object) -> Any:
        req = api.DiscoveryRequest.from_json(body, "DiscoverNew")
        self._drive(self._net.discover_new, req.discovery_type, req.data)
        return {}

    def _net_DiscoverDelete(self, body: object) -> Any:
        req = api.DiscoveryRequest.from_json(body, "DiscoverDelete")
        self._drive(self._net.discover_delete, req.discovery_type, req.data)
        return {}

    # -- IpamDriver -----------------------------------------------------------------

    def _ipam_GetCapabilities(self, body: object) -> Any:
        cap = self._ipam_capability
        return api.IpamCapabilitiesResponse(
            cap.requires_mac_address, cap.requires_request_replay
        ).to_json()

    def _ipam_GetDefaultAddressSpaces(self, body: object) -> Any:
        local, global_ = self._drive(self._ipd.get_default_address_spaces)
        return api.AddressSpacesResponse(local, global_).to_json()

    def _ipam_RequestPool(self, body: object) -> Any:
        req = api.RequestPoolRequest.from_json(body)
        pool_id, pool, data = self._drive(
            self._ipd.request_pool,
            req.address_space,
            req.pool,
            req.sub_pool,
            MappingProxyType(dict(req.options)),
            req.v6,
        )
        return api.RequestPoolResponse(pool_id, pool, dict(data or {})).to_json()

    def _ipam_ReleasePool(self, body: object) -> Any:
        req = api.ReleasePoolRequest.from_json(body)
        self._drive(self._ipd.release_pool, req.pool_id)
        return {}

    def _ipam_RequestAddress(self, body: object) -> Any:
        req = api.RequestAddressRequest.from_json(body)
        address, data = self._drive(
            self._ipd.request_address,
            req.pool_id,
            req.address or None,
            MappingProxyType(dict(req.options)),
        )
        return api.RequestAddressResponse(address or "", dict(data or {})).to_json()

    def _ipam_ReleaseAddress(self, body: object) -> Any:
        req = api.ReleaseAddressRequest.from_json(body)
        self._drive(self._ipd.release_address, req.pool_id, req.address)
        return {}
