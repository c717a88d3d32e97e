"""Shared base of the ``null`` and ``host`` drivers: at most one network, nothing to program."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from libnet.driverapi import Driver, InterfaceInfo, IPAMData, JoinInfo
from libnet.errors import EndpointNotFoundError, ForbiddenError, NetworkNotFoundError


class SingleNetworkDriver(Driver):
    """A driver that allows one network and keeps no per-endpoint state in the kernel.

    It still knows which network and endpoints it holds, so a call naming others fails
    with a NotFound error as the driver contract asks.
    """

    network_type = ""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._network: str | None = None
        self._endpoints: set[str] = set()

    def _check(self, nid: str, eid: str | None = None) -> None:
        """Raise NotFound unless ``nid`` (and ``eid`` on it) is held; call with the lock."""
        if nid != self._network:
            raise NetworkNotFoundError(
                f"{self.network_type} driver has no network {nid[:12]}; create it first"
            )
        if eid is not None and eid not in self._endpoints:
            raise EndpointNotFoundError(
                f"{self.network_type} driver has no endpoint {eid[:12]} on network {nid[:12]}"
            )

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        with self._lock:
            if self._network is not None and self._network != nid:
                raise ForbiddenError(
                    f"only one network of type {self.network_type!r} is allowed and "
                    f"{self._network[:12]} exists; use that network"
                )
            self._network = nid

    def delete_network(self, nid: str) -> None:
        with self._lock:
            self._check(nid)
            self._network = None
            self._endpoints.clear()

    def create_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        with self._lock:
            self._check(nid)
            self._endpoints.add(eid)

    def delete_endpoint(self, nid: str, eid: str) -> None:
        with self._lock:
            self._check(nid, eid)
            self._endpoints.discard(eid)

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        with self._lock:
            self._check(nid, eid)
        return {}

    def join(
        self,
        nid: str,
        eid: str,
        sandbox_key: str | None,
        jinfo: JoinInfo,
        options: Mapping[str, Any],
    ) -> None:
        with self._lock:
            self._check(nid, eid)

    def leave(self, nid: str, eid: str) -> None:
        with self._lock:
            self._check(nid, eid)
