"""The result of ADD in the spec's shape, for each spec version this plugin speaks."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Attachment:
    """What one ADD set up: the container's interface, the host's, addresses and routes."""

    ifname: str
    netns: str
    mac: str | None
    addresses: Sequence[str]
    """Addresses with prefix length, IPv4 first."""
    gateway: str | None = None
    gateway_ipv6: str | None = None
    routes: Sequence[Mapping[str, Any]] = ()
    """Static routes of the join (``destination``, ``next_hop``)."""
    host_interfaces: Sequence[tuple[str, str | None]] = ()
    """(name, MAC) of the host-side interfaces (a bridge, the host end of a veth pair)."""
    dns: Mapping[str, Any] = field(default_factory=dict)


def build(att: Attachment, version: str, prev: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The result: ``prev``'s interfaces, IPs, routes and DNS, followed by this attachment's."""
    base = dict(prev or {})
    interfaces = list(base.get("interfaces") or [])
    ips = list(base.get("ips") or [])
    routes = list(base.get("routes") or [])
    for name, mac in att.host_interfaces:
        interfaces.append(_interface(name, mac, None))
    index = len(interfaces)
    interfaces.append(_interface(att.ifname, att.mac, att.netns))
    for cidr in att.addresses:
        ip: dict[str, Any] = {"interface": index, "address": cidr}
        family = ipaddress.ip_interface(cidr).version
        gateway = att.gateway if family == 4 else att.gateway_ipv6
        if gateway:
            ip["gateway"] = gateway
        if version.startswith("0.3."):
            ip["version"] = str(family)
        ips.append(ip)
    for gateway, default in ((att.gateway, "0.0.0.0/0"), (att.gateway_ipv6, "::/0")):
        if gateway and not any(r.get("dst") == default for r in routes):
            routes.append({"dst": default, "gw": gateway})
    for route in att.routes:
        entry = {"dst": str(route["destination"])}
        if route.get("next_hop"):
            entry["gw"] = str(route["next_hop"])
        routes.append(entry)
    out: dict[str, Any] = {"cniVersion": version, "interfaces": interfaces, "ips": ips}
    if routes:
        out["routes"] = routes
    out["dns"] = dict(base.get("dns") or att.dns or {})
    return out


def _interface(name: str, mac: str | None, sandbox: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name}
    if mac:
        entry["mac"] = mac
    if sandbox:
        entry["sandbox"] = sandbox
    return entry


def container_ips(result: Mapping[str, Any], ifname: str, netns: str) -> list[str]:
    """The addresses a result gives interface ``ifname`` in ``netns`` (for CHECK)."""
    interfaces = result.get("interfaces") or []
    wanted = {
        i
        for i, entry in enumerate(interfaces)
        if isinstance(entry, dict)
        and entry.get("name") == ifname
        and entry.get("sandbox") in (netns, None, "")
    }
    return sorted(
        str(ip["address"])
        for ip in result.get("ips") or []
        if isinstance(ip, dict) and ip.get("interface") in wanted and ip.get("address")
    )
