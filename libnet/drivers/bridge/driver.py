"""The ``bridge`` driver: a Linux bridge per network, a veth pair per endpoint.

As libnetwork's bridge driver: the bridge carries the network's gateway addresses, the host
end of each endpoint's veth pair is attached to it, and Join names the other end for the
sandbox (prefix ``eth``) and gives the gateway, unless the network is internal.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from libnet import labels
from libnet.driverapi import (
    Capability,
    Driver,
    DriverCallback,
    InterfaceInfo,
    IPAMData,
    JoinInfo,
    Scope,
)
from libnet.drivers.bridge import netlink
from libnet.errors import EndpointNotFoundError, InvalidOptionError, NetworkNotFoundError

NAME = "bridge"
MTU = labels.MTU
ENABLE_ICC = labels.ENABLE_ICC


@dataclass
class _Network:
    bridge: str
    gateways: list[str]
    mtu: int | None
    icc: bool
    internal: bool


@dataclass
class _Endpoint:
    host_name: str
    peer_name: str


def _flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise InvalidOptionError(f"option {what}={value!r} must be true or false")


def _mtu(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        mtu = int(value)
    except (TypeError, ValueError):
        mtu = 0
    if not 68 <= mtu <= 65535:
        raise InvalidOptionError(f"option {MTU}={value!r} must be an MTU from 68 to 65535")
    return mtu


def _random_mac() -> str:
    raw = bytearray(os.urandom(6))
    raw[0] = (raw[0] & 0xFE) | 0x02  # unicast, locally administered
    return ":".join(f"{b:02x}" for b in raw)


class BridgeDriver(Driver):
    """Linux bridges and veth pairs; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._networks: dict[str, _Network] = {}
        self._endpoints: dict[tuple[str, str], _Endpoint] = {}

    def _net(self, nid: str) -> _Network:
        net = self._networks.get(nid)
        if net is None:
            raise NetworkNotFoundError(f"bridge driver has no network {nid[:12]}")
        return net

    def _ep(self, nid: str, eid: str) -> _Endpoint:
        self._net(nid)
        ep = self._endpoints.get((nid, eid))
        if ep is None:
            raise EndpointNotFoundError(f"bridge driver has no endpoint {eid[:12]}")
        return ep

    @staticmethod
    def _config(
        nid: str, options: Mapping[str, Any], ipv4: list[IPAMData], ipv6: list[IPAMData]
    ) -> _Network:
        generic = dict(options.get(labels.GENERIC) or {})
        name = str(generic.get(labels.BRIDGE_NAME) or f"br-{nid[:12]}")
        if not 1 <= len(name) <= 15 or "/" in name or " " in name:
            raise InvalidOptionError(
                f"bridge name {name!r} must be an interface name of 1 to 15 characters"
            )
        return _Network(
            bridge=name,
            gateways=[d.gateway for d in (*ipv4, *ipv6) if d.gateway],
            mtu=_mtu(generic.get(MTU)),
            icc=_flag(generic.get(ENABLE_ICC, True), ENABLE_ICC),
            internal=bool(options.get(labels.INTERNAL, False)),
        )

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        net = self._config(nid, options, ipv4_data, ipv6_data)
        with self._lock:
            for other in self._networks.values():
                if other.bridge == net.bridge:
                    raise InvalidOptionError(
                        f"bridge {net.bridge!r} already serves another network; choose another "
                        "name with option com.docker.network.bridge.name"
                    )
            with netlink.netlink() as ipr:
                netlink.create_bridge(
                    ipr, net.bridge, netlink.network_mark(nid), net.mtu, net.gateways
                )
            self._networks[nid] = net

    def restore_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        """Adopt the network's bridge if it is there, else create it again."""
        net = self._config(nid, options, ipv4_data, ipv6_data)
        with self._lock, netlink.netlink() as ipr:
            index = netlink.lookup(ipr, net.bridge)
            if index is None:
                netlink.create_bridge(
                    ipr, net.bridge, netlink.network_mark(nid), net.mtu, net.gateways
                )
            self._networks[nid] = net

    def delete_network(self, nid: str) -> None:
        with self._lock:
            net = self._net(nid)
            with netlink.netlink() as ipr:
                netlink.delete_link(ipr, net.bridge)
            del self._networks[nid]

    def create_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        with self._lock:
            net = self._net(nid)
            if iface.mac_address is None:
                iface.set_mac_address(_random_mac())
            ep = _Endpoint(host_name=f"veth{eid[:11]}", peer_name=f"vc{eid[:13]}")
            with netlink.netlink() as ipr:
                self._create_veth(ipr, nid, eid, net, ep, iface.mac_address)
            self._endpoints[(nid, eid)] = ep

    @staticmethod
    def _create_veth(
        ipr: Any, nid: str, eid: str, net: _Network, ep: _Endpoint, mac: str | None
    ) -> None:
        bridge = netlink.lookup(ipr, net.bridge)
        if bridge is None:
            raise NetworkNotFoundError(
                f"bridge {net.bridge!r} of network {nid[:12]} is missing; run 'libnet doctor'"
            )
        netlink.create_veth(
            ipr,
            ep.host_name,
            ep.peer_name,
            bridge=bridge,
            mark=netlink.endpoint_mark(nid, eid),
            mac_address=mac,
            mtu=net.mtu,
            isolated=not net.icc,
        )

    def restore_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        """Adopt the endpoint's veth pair if it is there, else create it again."""
        with self._lock:
            net = self._net(nid)
            ep = _Endpoint(host_name=f"veth{eid[:11]}", peer_name=f"vc{eid[:13]}")
            with netlink.netlink() as ipr:
                if netlink.lookup(ipr, ep.host_name) is None:
                    self._create_veth(ipr, nid, eid, net, ep, iface.mac_address)
            self._endpoints[(nid, eid)] = ep

    def delete_endpoint(self, nid: str, eid: str) -> None:
        with self._lock:
            ep = self._ep(nid, eid)
            with netlink.netlink() as ipr:
                netlink.delete_link(ipr, ep.host_name)
            del self._endpoints[(nid, eid)]

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        with self._lock:
            net = self._net(nid)
            ep = self._ep(nid, eid)
        return {
            "bridge": net.bridge,
            "host_interface": ep.host_name,
            "mtu": net.mtu,
            "icc": net.icc,
        }

    def join(
        self,
        nid: str,
        eid: str,
        sandbox_key: str | None,
        jinfo: JoinInfo,
        options: Mapping[str, Any],
    ) -> None:
        with self._lock:
            net = self._net(nid)
            ep = self._ep(nid, eid)
        jinfo.set_names(ep.peer_name, "eth")
        if net.internal:
            return
        for cidr in net.gateways:
            ip = cidr.split("/", 1)[0]
            if ":" in ip:
                jinfo.set_gateway_ipv6(ip)
            else:
                jinfo.set_gateway(ip)

    def leave(self, nid: str, eid: str) -> None:
        with self._lock:
            self._ep(nid, eid)


def init(callback: DriverCallback) -> None:
    """Register the ``bridge`` driver."""
    callback.register_driver(NAME, BridgeDriver(), Capability(Scope.LOCAL))
