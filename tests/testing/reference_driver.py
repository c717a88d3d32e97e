"""A driver that keeps the whole contract; the broken drivers of the tests subclass it.

The tests copy this file into pytest sub-sessions, so it imports nothing but libnet.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import libnet
from libnet.errors import (
    ActiveEndpointsError,
    EndpointExistsError,
    EndpointInSandboxError,
    EndpointNotFoundError,
    ForbiddenError,
    NetworkExistsError,
    NetworkNotFoundError,
)


class ReferenceDriver(libnet.Driver):
    """Holds networks and endpoints in memory, gives each endpoint a MAC, names interfaces."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config = dict(config or {})
        self.lock = threading.Lock()
        self.networks: dict[str, dict[str, bool]] = {}  # nid -> {eid: joined}
        self.macs: dict[str, str] = {}
        self.next_mac = 1

    def endpoints(self, nid: str) -> dict[str, bool]:
        """The endpoints of ``nid``; call with the lock held."""
        try:
            return self.networks[nid]
        except KeyError:
            raise NetworkNotFoundError(f"no network {nid[:12]}") from None

    def check(self, nid: str, eid: str) -> dict[str, bool]:
        endpoints = self.endpoints(nid)
        if eid not in endpoints:
            raise EndpointNotFoundError(f"no endpoint {eid[:12]}")
        return endpoints

    def pick_mac(self) -> str:
        """A MAC no endpoint has; call with the lock held."""
        n, self.next_mac = self.next_mac, self.next_mac + 1
        return "02:52:" + ":".join(f"{(n >> s) & 0xFF:02x}" for s in (24, 16, 8, 0))

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[libnet.IPAMData],
        ipv6_data: list[libnet.IPAMData],
    ) -> None:
        with self.lock:
            if nid in self.networks:
                raise NetworkExistsError(f"network {nid[:12]} exists")
            self.networks[nid] = {}

    def restore_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[libnet.IPAMData],
        ipv6_data: list[libnet.IPAMData],
    ) -> None:
        with self.lock:
            self.networks.setdefault(nid, {})

    def delete_network(self, nid: str) -> None:
        with self.lock:
            if self.endpoints(nid):
                raise ActiveEndpointsError(f"network {nid[:12]} has endpoints")
            del self.networks[nid]

    def create_endpoint(
        self, nid: str, eid: str, iface: libnet.InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        with self.lock:
            endpoints = self.endpoints(nid)
            if eid in endpoints:
                raise EndpointExistsError(f"endpoint {eid[:12]} exists")
            if iface.mac_address is None:
                iface.set_mac_address(self.pick_mac())
            endpoints[eid] = False

    def restore_endpoint(
        self, nid: str, eid: str, iface: libnet.InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        with self.lock:
            self.endpoints(nid)[eid] = False

    def delete_endpoint(self, nid: str, eid: str) -> None:
        with self.lock:
            endpoints = self.check(nid, eid)
            if endpoints[eid]:
                raise ForbiddenError(f"endpoint {eid[:12]} is joined")
            del endpoints[eid]

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        with self.lock:
            return {"joined": self.check(nid, eid)[eid]}

    def join(
        self,
        nid: str,
        eid: str,
        sandbox_key: str | None,
        jinfo: libnet.JoinInfo,
        options: Mapping[str, Any],
    ) -> None:
        with self.lock:
            endpoints = self.check(nid, eid)
            if endpoints[eid]:
                raise EndpointInSandboxError(f"endpoint {eid[:12]} is joined")
            jinfo.set_names("ref-" + eid[:8], "eth")
            endpoints[eid] = True

    def leave(self, nid: str, eid: str) -> None:
        with self.lock:
            self.check(nid, eid)[eid] = False
