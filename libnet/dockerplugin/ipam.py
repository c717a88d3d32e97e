"""DockerIpam: an IPAM driver served by a Docker plugin (``IpamDriver``), over HTTP.

Errors come as ``Err`` or, as IPAM plugins name it, ``Error``; both are accepted. A legacy
plugin that answers ``GetCapabilities`` with 404 has no capabilities. A plugin that
restarted (see :meth:`DockerPlugin.restarted`) is activated again before the next call.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from libnet.dockerplugin import api
from libnet.dockerplugin.client import DockerPlugin
from libnet.errors import PluginProtocolError
from libnet.ipam._api import Ipam, IpamCapability

__all__ = ["DockerIpam"]

log = logging.getLogger("libnet.plugins")


class DockerIpam(Ipam):
    """The IPAM contract forwarded to a Docker IPAM plugin."""

    def __init__(self, plugin: DockerPlugin) -> None:
        self.plugin = plugin
        self.origin = plugin.origin

    def __repr__(self) -> str:
        return f"<DockerIpam {self.plugin.name!r} at {self.plugin.address.url}>"

    def _call(self, method: str, request: Any = None, *, ok_404: bool = False) -> Any:
        if self.plugin.restarted():
            log.warning("Docker IPAM plugin %s restarted: activating it again", self.plugin.name)
            self.plugin.activate()
            self.plugin.require(api.IPAM_DRIVER)
        body = None if request is None else request.to_json()
        return self.plugin.call(f"{api.IPAM_DRIVER}.{method}", body, ok_404=ok_404)

    def _parse(self, method: str, parse: Any, reply: Any) -> Any:
        try:
            return parse(reply)
        except api.WireError as exc:
            raise PluginProtocolError(
                self.plugin.name, f"Docker IPAM plugin {self.plugin.name!r}: {method}: {exc}"
            ) from exc

    def capability(self) -> IpamCapability:
        """The plugin's capabilities; none for a legacy plugin without GetCapabilities."""
        reply = self._call("GetCapabilities", ok_404=True)
        if reply is None:
            return IpamCapability()
        caps = self._parse("GetCapabilities", api.IpamCapabilitiesResponse.from_json, reply)
        return IpamCapability(caps.requires_mac_address, caps.requires_request_replay)

    def get_default_address_spaces(self) -> tuple[str, str]:
        reply = self._call("GetDefaultAddressSpaces")
        spaces = self._parse("GetDefaultAddressSpaces", api.AddressSpacesResponse.from_json, reply)
        return spaces.local, spaces.global_

    def request_pool(
        self,
        address_space: str,
        pool: str = "",
        sub_pool: str = "",
        options: Mapping[str, str] | None = None,
        v6: bool = False,
    ) -> tuple[str, str, dict[str, str]]:
        request = api.RequestPoolRequest(address_space, pool, sub_pool, dict(options or {}), v6)
        reply = self._parse(
            "RequestPool", api.RequestPoolResponse.from_json, self._call("RequestPool", request)
        )
        return reply.pool_id, reply.pool, dict(reply.data)

    def release_pool(self, pool_id: str) -> None:
        self._call("ReleasePool", api.ReleasePoolRequest(pool_id))

    def request_address(
        self,
        pool_id: str,
        address: str | None = None,
        options: Mapping[str, str] | None = None,
    ) -> tuple[str | None, dict[str, str]]:
        request = api.RequestAddressRequest(pool_id, address or "", dict(options or {}))
        reply = self._parse(
            "RequestAddress",
            api.RequestAddressResponse.from_json,
            self._call("RequestAddress", request),
        )
        return reply.address or None, dict(reply.data)

    def release_address(self, pool_id: str, address: str) -> None:
        self._call("ReleaseAddress", api.ReleaseAddressRequest(pool_id, address))
