"""DockerDriver: a network driver served by a Docker plugin, spoken to over HTTP.

It is libnetwork's remote driver for one plugin: every method of the driver contract
becomes a ``NetworkDriver.*`` call, with the engine's rollbacks (a CreateEndpoint answer
that conflicts with the interface or cannot be parsed is undone with DeleteEndpoint; a
Join answer that cannot be applied, with Leave).

Unlike the engine, it notices a plugin that restarted and lost what it knew:

- before each call, through :meth:`DockerPlugin.restarted` (a new socket file, or for
  TCP a connection that failed and then succeeded);
- when a call about an existing network or endpoint is answered with an error saying
  that a network or endpoint is unknown (the message names "network" or "endpoint" and
  says "not found", "no such", "does not exist", "unknown", "could not find"...).

Then the plugin is activated again, its capabilities read again, and ``on_lost_state``
(the controller) forgets which networks and endpoints the plugin knows, so the
controller's restore path replays them from its store as CreateNetwork and
CreateEndpoint, starting with the ones the current call is about; the call is then made
once more. A restore answered with "already exists" counts as done.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from libnet.dockerplugin import api
from libnet.dockerplugin.client import DockerPlugin
from libnet.driverapi import Capability, Driver, InterfaceInfo, IPAMData, JoinInfo
from libnet.errors import DriverError, PluginCallError, PluginError, PluginProtocolError

__all__ = [
    "CapabilityFn",
    "DockerDriver",
    "LostStateFn",
    "already_exists",
    "lost_state",
    "read_capabilities",
]

log = logging.getLogger("libnet.plugins")

LostStateFn = Callable[[str, "str | None", "str | None"], None]
"""``(network_type, network_id, endpoint_id)``: the plugin lost its state; replay it,
starting with this network and endpoint (when not None)."""

CapabilityFn = Callable[[str, Capability], None]
"""``(network_type, capability)``: the plugin declared other capabilities after a restart."""

_LOST = re.compile(
    r"not found|no such|not exist|n't exist|unknown|could not find|cannot find|can't find|"
    r"not known",
    re.IGNORECASE,
)
_OBJECT = re.compile(r"network|endpoint", re.IGNORECASE)
_EXISTS = re.compile(r"\balready\b|\bexists\b", re.IGNORECASE)


def lost_state(message: str) -> bool:
    """Whether an error message says that a network or endpoint is unknown to the plugin."""
    return bool(_LOST.search(message) and _OBJECT.search(message))


def already_exists(message: str) -> bool:
    """Whether an error message says that the object exists already."""
    return bool(_EXISTS.search(message)) and not _LOST.search(message)


def read_capabilities(plugin: DockerPlugin) -> Capability:
    """Ask the plugin for its capabilities (``NetworkDriver.GetCapabilities``)."""
    reply = plugin.call(f"{api.NETWORK_DRIVER}.GetCapabilities")
    try:
        return api.CapabilitiesResponse.from_json(reply).capability()
    except api.WireError as exc:
        raise PluginProtocolError(
            plugin.name, f"Docker plugin {plugin.name!r} at {plugin.address.url}: {exc}"
        ) from exc


class DockerDriver(Driver):
    """The driver the controller sees for a Docker plugin's network type."""

    def __init__(
        self,
        plugin: DockerPlugin,
        capability: Capability,
        *,
        on_lost_state: LostStateFn | None = None,
        on_capability: CapabilityFn | None = None,
    ) -> None:
        self.plugin = plugin
        self.network_type = plugin.name
        self.origin = plugin.origin
        self.capability = capability
        self.on_lost_state = on_lost_state
        self._on_capability = on_capability

    def __repr__(self) -> str:
        return f"<DockerDriver {self.network_type!r} at {self.plugin.address.url}>"

    # -- plugin lifecycle -----------------------------------------------------------

    def reactivate(self) -> None:
        """Activate the plugin again and read its capabilities again."""
        self.plugin.activate()
        self.plugin.require(api.NETWORK_DRIVER)
        capability = read_capabilities(self.plugin)
        if capability != self.capability:
            log.warning(
                "Docker plugin %s now declares %s (was %s)",
                self.network_type,
                capability,
                self.capability,
            )
            self.capability = capability
            if self._on_capability is not None:
                self._on_capability(self.network_type, capability)

    def _recover(self, nid: str | None, eid: str | None) -> None:
        self.reactivate()
        if self.on_lost_state is not None:
            self.on_lost_state(self.network_type, nid, eid)

    def _call(
        self,
        method: str,
        request: Any,
        *,
        nid: str | None = None,
        eid: str | None = None,
        ok_404: bool = False,
        replay: bool = True,
    ) -> Any:
        """Call ``NetworkDriver.<method>``; recover a restarted plugin (see the module)."""
        path = f"{api.NETWORK_DRIVER}.{method}"
        body = request.to_json()
        if self.plugin.restarted():
            log.warning(
                "Docker plugin %s restarted: activating it again and replaying its state",
                self.network_type,
            )
            self._recover(nid if replay else None, eid if replay else None)
        try:
            return self.plugin.call(path, body, ok_404=ok_404)
        except PluginCallError as exc:
            if not (replay and nid is not None and lost_state(exc.message)):
                raise
            log.warning(
                "Docker plugin %s answered %s with %r: activating it again, replaying its "
                "state, and calling once more",
                self.network_type,
                method,
                exc.message,
            )
        self._recover(nid, eid)
        return self.plugin.call(path, body, ok_404=ok_404)

    def _rollback(self, method: str, request: Any) -> str:
        """Undo with ``method``; returns a phrase for the error message."""
        try:
            self.plugin.call(f"{api.NETWORK_DRIVER}.{method}", request.to_json())
        except PluginError as exc:
            log.warning("rollback of Docker plugin %s failed: %s", self.network_type, exc)
            return f"undoing it with {method} failed too: {exc}"
        return f"it was undone with {method}"

    # -- networks -------------------------------------------------------------------

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        self._call("CreateNetwork", api.CreateNetworkRequest(nid, options, ipv4_data, ipv6_data))

    def delete_network(self, nid: str) -> None:
        self._call("DeleteNetwork", api.NetworkRequest(nid), nid=nid)

    def allocate_network(
        self,
        nid: str,
        options: Mapping[str, str],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> dict[str, str]:
        reply = self._call(
            "AllocateNetwork", api.AllocateNetworkRequest(nid, options, ipv4_data, ipv6_data)
        )
        try:
            return dict(api.AllocateNetworkResponse.from_json(reply).options)
        except api.WireError as exc:
            raise self._bad_answer("AllocateNetwork", exc) from exc

    def free_network(self, nid: str) -> None:
        self._call("FreeNetwork", api.NetworkRequest(nid))

    def restore_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        """CreateNetwork again; an "already exists" answer means the plugin has it."""
        request = api.CreateNetworkRequest(nid, options, ipv4_data, ipv6_data)
        try:
            self._call("CreateNetwork", request, replay=False)
        except PluginCallError as exc:
            if not already_exists(exc.message):
                raise
            log.debug("Docker plugin %s has network %s already", self.network_type, nid[:12])

    # -- endpoints ------------------------------------------------------------------

    def _bad_answer(self, method: str, exc: Exception, undone: str = "") -> DriverError:
        return DriverError(
            f"Docker plugin {self.network_type!r} ({self.plugin.address.url}) answered "
            f"{method} with something libnet cannot use: {exc}" + (f"; {undone}" if undone else "")
        )

    def create_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        request = api.CreateEndpointRequest(nid, eid, api.WireInterface.of(iface), options)
        reply = self._call("CreateEndpoint", request, nid=nid)
        try:
            api.CreateEndpointResponse.from_json(reply).interface.apply_to(iface)
        except (api.WireError, ValueError) as exc:
            undone = self._rollback("DeleteEndpoint", api.EndpointRequest(nid, eid))
            raise self._bad_answer("CreateEndpoint", exc, undone) from exc

    def restore_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        """CreateEndpoint again with the stored interface; "already exists" means done."""
        request = api.CreateEndpointRequest(nid, eid, api.WireInterface.of(iface), options)
        try:
            self._call("CreateEndpoint", request, replay=False)
        except PluginCallError as exc:
            if not already_exists(exc.message):
                raise
            log.debug("Docker plugin %s has endpoint %s already", self.network_type, eid[:12])

    def delete_endpoint(self, nid: str, eid: str) -> None:
        self._call("DeleteEndpoint", api.EndpointRequest(nid, eid), nid=nid, eid=eid)

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        reply = self._call("EndpointOperInfo", api.EndpointRequest(nid, eid), nid=nid, eid=eid)
        try:
            return dict(api.EndpointOperInfoResponse.from_json(reply).value)
        except api.WireError as exc:
            raise self._bad_answer("EndpointOperInfo", exc) from exc

    def join(
        self,
        nid: str,
        eid: str,
        sandbox_key: str | None,
        jinfo: JoinInfo,
        options: Mapping[str, Any],
    ) -> None:
        request = api.JoinRequest(nid, eid, sandbox_key, options)
        reply = self._call("Join", request, nid=nid, eid=eid)
        try:
            api.JoinResponse.from_json(reply).apply_to(jinfo)
        except (api.WireError, ValueError) as exc:
            undone = self._rollback("Leave", api.EndpointRequest(nid, eid))
            raise self._bad_answer("Join", exc, undone) from exc

    def leave(self, nid: str, eid: str) -> None:
        self._call("Leave", api.EndpointRequest(nid, eid), nid=nid, eid=eid)

    def program_external_connectivity(self, nid: str, eid: str, options: Mapping[str, Any]) -> None:
        self._call(
            "ProgramExternalConnectivity",
            api.ProgramExternalConnectivityRequest(nid, eid, options),
            nid=nid,
            eid=eid,
            ok_404=True,
        )

    def revoke_external_connectivity(self, nid: str, eid: str) -> None:
        self._call(
            "RevokeExternalConnectivity",
            api.EndpointRequest(nid, eid),
            nid=nid,
            eid=eid,
            ok_404=True,
        )

    def discover_new(self, discovery_type: int, data: Any) -> None:
        self._call("DiscoverNew", api.DiscoveryRequest(discovery_type, data))

    def discover_delete(self, discovery_type: int, data: Any) -> None:
        self._call("DiscoverDelete", api.DiscoveryRequest(discovery_type, data))
