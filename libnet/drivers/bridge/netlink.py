"""Kernel objects of the bridge driver, through pyroute2: bridges, veth pairs, marks.

Every link libnet creates carries a mark in its alias (``IFLA_IFALIAS``):
``libnet:net:<network id>`` on bridges and ``libnet:ep:<network id>:<endpoint id>`` on the
host end of veth pairs. Reconciliation uses the marks to find what belongs to no stored object.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from libnet.errors import InternalError

MARK = "libnet:"


class NetlinkError(InternalError):
    """A kernel operation of the bridge driver failed."""


def network_mark(nid: str) -> str:
    return f"{MARK}net:{nid}"


def endpoint_mark(nid: str, eid: str) -> str:
    return f"{MARK}ep:{nid}:{eid}"


@contextmanager
def netlink() -> Iterator[Any]:
    """An IPRoute socket on the current namespace, closed afterwards."""
    try:
        from pyroute2 import IPRoute
    except ImportError as exc:  # pragma: no cover - a dependency on Linux
        raise NetlinkError("the bridge driver needs pyroute2: pip install 'pyroute2>=0.9'") from exc
    ipr = IPRoute()
    try:
        yield ipr
    finally:
        ipr.close()


def lookup(ipr: Any, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def alias(ipr: Any, index: int) -> str | None:
    links = ipr.get_links(index)
    value = links[0].get("IFLA_IFALIAS") if links else None
    return str(value) if value else None


def marked_links(ipr: Any) -> dict[str, tuple[int, str]]:
    """Every link with a libnet mark: mark -> (index, name)."""
    out: dict[str, tuple[int, str]] = {}
    for link in ipr.get_links():
        mark = link.get("IFLA_IFALIAS")
        if mark and str(mark).startswith(MARK):
            out[str(mark)] = (int(link["index"]), str(link.get("ifname")))
    return out


def create_bridge(ipr: Any, name: str, mark: str, mtu: int | None, addresses: list[str]) -> int:
    """Create bridge ``name`` with ``mark``, MTU and gateway addresses, and bring it up."""
    if lookup(ipr, name) is not None:
        raise NetlinkError(
            f"interface {name!r} already exists; choose another bridge name with option "
            "com.docker.network.bridge.name"
        )
    ipr.link("add", ifname=name, kind="bridge")
    index = lookup(ipr, name)
    if index is None:  # pragma: no cover - the kernel just created it
        raise NetlinkError(f"bridge {name!r} vanished right after it was created")
    try:
        attrs: dict[str, Any] = {"ifalias": mark}
        if mtu:
            attrs["mtu"] = mtu
        ipr.link("set", index=index, **attrs)
        for cidr in addresses:
            iface = ipaddress.ip_interface(cidr)
            ipr.addr("add", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)
        ipr.link("set", index=index, state="up")
    except Exception:
        ipr.link("del", index=index)
        raise
    return index


def create_veth(
    ipr: Any,
    host_name: str,
    peer_name: str,
    *,
    bridge: int,
    mark: str,
    mac_address: str | None,
    mtu: int | None,
    isolated: bool,
) -> None:
    """Create a veth pair, attach its host end to ``bridge`` and mark it."""
    peer: dict[str, Any] = {"ifname": peer_name}
    if mac_address:
        peer["address"] = mac_address
    if mtu:
        peer["mtu"] = mtu
    ipr.link("add", ifname=host_name, kind="veth", peer=peer)
    index = lookup(ipr, host_name)
    if index is None:  # pragma: no cover
        raise NetlinkError(f"veth {host_name!r} vanished right after it was created")
    try:
        attrs: dict[str, Any] = {"master": bridge, "ifalias": mark, "state": "up"}
        if mtu:
            attrs["mtu"] = mtu
        ipr.link("set", index=index, **attrs)
        if isolated:
            ipr.brport("set", index=index, isolated=1)
    except Exception:
        ipr.link("del", index=index)
        raise


def delete_link(ipr: Any, name: str) -> None:
    """Delete link ``name`` if it exists (a veth's peer goes with it)."""
    index = lookup(ipr, name)
    if index is not None:
        ipr.link("del", index=index)


def link_mac(ipr: Any, name: str) -> str | None:
    index = lookup(ipr, name)
    if index is None:
        return None
    value = ipr.get_links(index)[0].get("IFLA_ADDRESS")
    return str(value) if value else None
