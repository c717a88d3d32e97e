"""Drivers and plugin sources the tests share.

:class:`RecordingDriver` records every call, keeps the state a real driver would keep and
fails on demand; plugin modules written by :mod:`_dists` import it from here and append
to :data:`EVENTS` when they are imported and initialised, which the tests read to prove
what was (and was not) imported.
"""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from _dists import FakeDists

import libnet
from libnet.driverapi import IPAMData

EVENTS: list[str] = []
"""``"import MODULE"`` and ``"init MODULE"`` lines appended by plugin modules."""

LOCAL = libnet.Capability(libnet.Scope.LOCAL)


class RecordingDriver(libnet.Driver):
    """A driver that records each call and fails on demand.

    ``fail_on`` holds method names, or ``(method, endpoint ID)`` pairs to fail a method for
    one endpoint only. A call is recorded before it can fail; the driver's own state
    (``networks``, ``endpoints``, ``joined``, ``programmed``) changes only on success. On
    join it names the interface, sets a gateway and a route, and asks for the sandbox
    interface name given as join option ``dst_name``.
    """

    def __init__(
        self, config: Mapping[str, Any] | None = None, fail_on: Iterable[Any] = ()
    ) -> None:
        self.config = dict(config or {})
        self.fail_on = set(fail_on)
        self.calls: list[tuple[Any, ...]] = []
        self.networks: dict[str, Mapping[str, Any]] = {}
        self.endpoints: dict[str, Mapping[str, Any]] = {}
        self.joined: set[str] = set()
        self.programmed: set[str] = set()
        self._lock = threading.Lock()
        self._count = 0

    def methods(self) -> list[str]:
        """The names of the methods called, in order."""
        return [call[0] for call in self.calls]

    def _call(self, method: str, *args: Any) -> None:
        with self._lock:
            self.calls.append((method, *args))
        eid = args[1] if len(args) > 1 and isinstance(args[1], str) else None
        if method in self.fail_on or (method, eid) in self.fail_on:
            raise RuntimeError(f"{method} failed on purpose")

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        self._call("create_network", nid, options)
        self.networks[nid] = options

    def delete_network(self, nid: str) -> None:
        self._call("delete_network", nid)
        del self.networks[nid]

    def create_endpoint(
        self, nid: str, eid: str, iface: libnet.InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        self._call("create_endpoint", nid, eid, options)
        with self._lock:
            self._count += 1
            n = self._count
        if iface.address is None:  # fill only what the controller left empty
            iface.set_ip_address(f"10.0.{n // 250}.{n % 250 + 2}/16")
        if iface.mac_address is None:
            iface.set_mac_address(f"02:42:0a:00:{n // 250:02x}:{n % 250 + 2:02x}")
        self.endpoints[eid] = options

    def delete_endpoint(self, nid: str, eid: str) -> None:
        self._call("delete_endpoint", nid, eid)
        del self.endpoints[eid]

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        self._call("endpoint_oper_info", nid, eid)
        return {"endpoint": eid, "joined": eid in self.joined}

    def join(
        self,
        nid: str,
        eid: str,
        sandbox_key: str | None,
        jinfo: libnet.JoinInfo,
        options: Mapping[str, Any],
    ) -> None:
        self._call("join", nid, eid, sandbox_key, options)
        jinfo.set_names(f"veth{eid[:8]}", "eth", options.get("dst_name"))
        jinfo.set_gateway("10.0.0.1")
        jinfo.add_static_route("192.168.7.0/24", next_hop="10.0.0.1")
        self.joined.add(eid)

    def leave(self, nid: str, eid: str) -> None:
        self._call("leave", nid, eid)
        self.joined.remove(eid)

    def program_external_connectivity(self, nid: str, eid: str, options: Mapping[str, Any]) -> None:
        self._call("program_external_connectivity", nid, eid, options)
        self.programmed.add(eid)

    def revoke_external_connectivity(self, nid: str, eid: str) -> None:
        self._call("revoke_external_connectivity", nid, eid)
        self.programmed.discard(eid)


def plugin_source(*types: str, fail_on: Iterable[str] = (), body: str = "") -> str:
    """Source of a plugin module whose init hook registers a RecordingDriver per type.

    The module records ``import NAME`` and ``init NAME`` in :data:`EVENTS`, keeps its
    drivers in ``DRIVERS`` and the configs it was given in ``CONFIGS``; ``body`` is extra
    code run at the end of the init hook (indented into it).
    """
    extra = textwrap.indent(textwrap.dedent(body), " " * 4)
    return (
        textwrap.dedent(
            f"""\
        import libnet
        import _drivers

        _drivers.EVENTS.append("import " + __name__)
        DRIVERS = {{}}
        CONFIGS = []


        @libnet.hookimpl
        def libnet_driver_init(callback, config):
            _drivers.EVENTS.append("init " + __name__)
            CONFIGS.append(config)
            for name in {types!r}:
                DRIVERS[name] = _drivers.RecordingDriver(config, fail_on={tuple(fail_on)!r})
                callback.register_driver(name, DRIVERS[name], _drivers.LOCAL)
        """
        )
        + extra
    )


def install_plugin(
    dists: FakeDists,
    distribution: str,
    *types: str,
    version: str = "1.0",
    site: str = "site-packages",
    fail_on: Iterable[str] = (),
    body: str = "",
    requires: tuple[str, ...] = (),
) -> str:
    """Install a distribution whose entry points (one per type) name one plugin module.

    The module is named after the distribution (``libnet-vlan`` -> ``libnet_vlan``) and
    built by :func:`plugin_source`; its name is returned.
    """
    module = distribution.replace("-", "_").replace(".", "_").lower()
    dists.install(
        distribution,
        version,
        entry_points={t: module for t in types},
        modules={module: plugin_source(*types, fail_on=fail_on, body=body)},
        site=site,
        requires=requires,
    )
    return module
