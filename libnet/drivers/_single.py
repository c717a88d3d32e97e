"""Shared base of the ``null`` and ``host`` drivers: at most one network, nothing to program."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from libnet.driverapi import Driver, InterfaceInfo, IPAMData, JoinInfo
from libnet.errors import ForbiddenError


class SingleNetworkDriver(Driver):
    """A driver that allows one network and keeps no per-endpoint state in the kernel."""

    network_type = ""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._network: str | None = None

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
            if self._network == nid:
                self._network = None

    def create_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        return None

    def delete_endpoint(self, nid: str, eid: str) -> None:
        return None

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        return {}

    def join(
        self,
        nid: str,
        eid: str,
        sandbox_key: str | None,
        jinfo: JoinInfo,
        options: Mapping[str, Any],
    ) -> None:
        return None

    def leave(self, nid: str, eid: str) -> None:
        return None
