"""RemoteDriver: the driver the controller sees for one network type of a dynamic driver.

As libnetwork's remote driver registers one ``driver`` per plugin type, libnet registers one
:class:`RemoteDriver` per network type a plugin offers. It forwards each call, turns any
exception into :class:`~libnet.errors.DriverError` naming the network type and where the
driver came from, and checks what the driver handed back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from libnet._calls import driver_error
from libnet.driverapi import Driver, InterfaceInfo, IPAMData, JoinInfo
from libnet.registry import DriverOrigin

__all__ = ["RemoteDriver"]


class RemoteDriver(Driver):
    """Forwards the driver contract to a plugin's driver object for one network type."""

    __slots__ = ("_d", "network_type", "origin")

    def __init__(self, network_type: str, driver: Any, origin: DriverOrigin) -> None:
        self.network_type = network_type
        self.origin = origin
        self._d = driver

    @property
    def wrapped(self) -> Any:
        """The plugin's own driver object."""
        return self._d

    def _fail(self, method: str, exc: Exception) -> NoReturn:
        context = f"driver for network type {self.network_type!r} ({self.origin.describe()})"
        raise driver_error(f"{context} failed in {method}", exc) from exc

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        try:
            self._d.create_network(nid, options, ipv4_data, ipv6_data)
        except Exception as exc:
            self._fail("create_network", exc)

    def delete_network(self, nid: str) -> None:
        try:
            self._d.delete_network(nid)
        except Exception as exc:
            self._fail("delete_network", exc)

    def create_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        try:
            self._d.create_endpoint(nid, eid, iface, options)
        except Exception as exc:
            self._fail("create_endpoint", exc)

    def delete_endpoint(self, nid: str, eid: str) -> None:
        try:
            self._d.delete_endpoint(nid, eid)
        except Exception as exc:
            self._fail("delete_endpoint", exc)

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        try:
            info = self._d.endpoint_oper_info(nid, eid)
        except Exception as exc:
            self._fail("endpoint_oper_info", exc)
        if type(info) is dict:  # the common case, checked cheaply
            return info.copy()
        if info is None:
            return {}
        if not isinstance(info, Mapping):
            self._fail(
                "endpoint_oper_info",
                TypeError(f"it returned {type(info).__name__}; the contract asks for a dict"),
            )
        return dict(info)

    def join(
        self,
        nid: str,
        eid: str,
        sandbox_key: str | None,
        jinfo: JoinInfo,
        options: Mapping[str, Any],
    ) -> None:
        try:
            self._d.join(nid, eid, sandbox_key, jinfo, options)
        except Exception as exc:
            self._fail("join", exc)

    def leave(self, nid: str, eid: str) -> None:
        try:
            self._d.leave(nid, eid)
        except Exception as exc:
            self._fail("leave", exc)

    def program_external_connectivity(self, nid: str, eid: str, options: Mapping[str, Any]) -> None:
        method = getattr(self._d, "program_external_connectivity", None)
        if method is None:
            return
        try:
            method(nid, eid, options)
        except Exception as exc:
            self._fail("program_external_connectivity", exc)

    def revoke_external_connectivity(self, nid: str, eid: str) -> None:
        method = getattr(self._d, "revoke_external_connectivity", None)
        if method is None:
            return
        try:
            method(nid, eid)
        except Exception as exc:
            self._fail("revoke_external_connectivity", exc)

    def allocate_network(
        self,
        nid: str,
        options: Mapping[str, str],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> dict[str, str]:
        method = getattr(self._d, "allocate_network", None)
        if method is None:
            return super().allocate_network(nid, options, ipv4_data, ipv6_data)
        try:
            return dict(method(nid, options, ipv4_data, ipv6_data) or {})
        except Exception as exc:
            self._fail("allocate_network", exc)

    def free_network(self, nid: str) -> None:
        method = getattr(self._d, "free_network", None)
        if method is None:
            return super().free_network(nid)
        try:
            method(nid)
        except Exception as exc:
            self._fail("free_network", exc)

    def discover_new(self, discovery_type: int, data: Any) -> None:
        method = getattr(self._d, "discover_new", None)
        if method is not None:
            try:
                method(discovery_type, data)
            except Exception as exc:
                self._fail("discover_new", exc)

    def discover_delete(self, discovery_type: int, data: Any) -> None:
        method = getattr(self._d, "discover_delete", None)
        if method is not None:
            try:
                method(discovery_type, data)
            except Exception as exc:
                self._fail("discover_delete", exc)

    def restore_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        method = getattr(self._d, "restore_network", None) or self._d.create_network
        try:
            method(nid, options, ipv4_data, ipv6_data)
        except Exception as exc:
            self._fail("restore_network", exc)

    def restore_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        method = getattr(self._d, "restore_endpoint", None) or self._d.create_endpoint
        try:
            method(nid, eid, iface, options)
        except Exception as exc:
            self._fail("restore_endpoint", exc)
