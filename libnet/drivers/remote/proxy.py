"""RemoteDriver: the driver the controller sees for one network type of a dynamic driver.

As libnetwork's remote driver registers one ``driver`` per plugin type, libnet registers one
:class:`RemoteDriver` per network type a plugin offers. It forwards each call, turns any
exception into :class:`~libnet.errors.DriverError` naming the network type and where the
driver came from, and checks what the driver handed back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from libnet._calls import FAILURES, driver_error
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

    def _fail(self, method: str, exc: BaseException) -> NoReturn:
        context = f"driver for network type {self.network_type!r} ({self.origin.describe()})"
        raise driver_error(f"{context} failed in {method}", exc) from exc

    def _call(self, method: str, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)``, any failure (SystemExit included) a DriverError naming the type."""
        try:
            return fn(*args)
        except FAILURES as exc:
            self._fail(method, exc)

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        self._call("create_network", self._d.create_network, nid, options, ipv4_data, ipv6_data)

    def delete_network(self, nid: str) -> None:
        self._call("delete_network", self._d.delete_network, nid)

    def create_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        self._call("create_endpoint", self._d.create_endpoint, nid, eid, iface, options)

    def delete_endpoint(self, nid: str, eid: str) -> None:
        self._call("delete_endpoint", self._d.delete_endpoint, nid, eid)

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        info = self._call("endpoint_oper_info", self._d.endpoint_oper_info, nid, eid)
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
        self._call("join", self._d.join, nid, eid, sandbox_key, jinfo, options)

    def leave(self, nid: str, eid: str) -> None:
        self._call("leave", self._d.leave, nid, eid)

    def program_external_connectivity(self, nid: str, eid: str, options: Mapping[str, Any]) -> None:
        method = getattr(self._d, "program_external_connectivity", None)
        if method is None:
            return
        self._call("program_external_connectivity", method, nid, eid, options)

    def revoke_external_connectivity(self, nid: str, eid: str) -> None:
        method = getattr(self._d, "revoke_external_connectivity", None)
        if method is None:
            return
        self._call("revoke_external_connectivity", method, nid, eid)

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
        except FAILURES as exc:
            self._fail("allocate_network", exc)

    def free_network(self, nid: str) -> None:
        method = getattr(self._d, "free_network", None)
        if method is None:
            return super().free_network(nid)
        self._call("free_network", method, nid)

    def discover_new(self, discovery_type: int, data: Any) -> None:
        method = getattr(self._d, "discover_new", None)
        if method is not None:
            self._call("discover_new", method, discovery_type, data)

    def discover_delete(self, discovery_type: int, data: Any) -> None:
        method = getattr(self._d, "discover_delete", None)
        if method is not None:
            self._call("discover_delete", method, discovery_type, data)

    def restore_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        method = getattr(self._d, "restore_network", None) or self._d.create_network
        self._call("restore_network", method, nid, options, ipv4_data, ipv6_data)

    def restore_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        method = getattr(self._d, "restore_endpoint", None) or self._d.create_endpoint
        self._call("restore_endpoint", method, nid, eid, iface, options)

    def restore_join(
        self,
        nid: str,
        eid: str,
        joined: bool,
        sandbox_key: str | None,
        options: Mapping[str, Any],
    ) -> None:
        method = getattr(self._d, "restore_join", None)
        if method is not None:
            self._call("restore_join", method, nid, eid, joined, sandbox_key, options)
