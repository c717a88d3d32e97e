"""Kernel objects of the overlay driver, through pyroute2: a bridge and a vxlan device per
network and host, a veth pair per local endpoint, and peers.

**Where.** Everything lives in the host's namespace (the namespace ``ipr`` is connected
to): see ARCHITECTURE.md for why. The bridge carries no address, so the host never routes
into an overlay and two overlays may use the same subnet.

**Marks.** Links carry ``libnet:<owner>:overlay:<network id>`` (bridge and vxlan device) or
``libnet:<owner>:overlay:<network id>:<endpoint id>`` (host end of a veth pair) in their
alias. The bridge driver's marks say ``net`` or ``ep`` there, so neither driver's
reconciliation mistakes the other's links for its orphans.

**Peers.** A remote endpoint is a permanent FDB entry on the vxlan device (its MAC to its
host's VTEP, ``NTF_SELF``: without it the kernel writes the bridge's table) and a permanent
neighbour entry on the same device (its IP to its MAC), which the vxlan device's ARP proxy
answers from, so no ARP crosses the underlay. Adding and removing are idempotent;
:func:`sync_peers` makes the device hold exactly a given set.

Every function that makes several changes undoes them if a later one fails.
"""

from __future__ import annotations

import errno
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from libnet.drivers.bridge.netlink import (
    IFF_UP,
    MARK,
    create_veth,
    ensure_veth,
    get_link,
    lookup,
    stable_mac,
)
from libnet.osl.rtnl import KernelError, netlink_error_code

__all__ = [
    "DEFAULT_PORT",
    "KIND",
    "VXLAN_OVERHEAD",
    "Links",
    "OverlayMark",
    "Peer",
    "add_peer",
    "create_veth",
    "delete_marked",
    "ensure_network",
    "ensure_veth",
    "get_link",
    "kernel_peers",
    "lookup",
    "network_problems",
    "overlay_links",
    "parse_mark",
    "remove_network",
    "remove_peer",
    "sync_peers",
    "underlay_mtu",
]

KIND = "overlay"
DEFAULT_PORT = 4789
VXLAN_OVERHEAD = 50
"""Bytes VXLAN adds over IPv4: outer IP 20, UDP 8, VXLAN 8, inner Ethernet 14."""

NUD_NOARP = 0x40
NUD_PERMANENT = 0x80
NTF_SELF = 0x02
AF_INET = 2
AF_INET6 = 10
AF_BRIDGE = 7
_ZERO_MAC = "00:00:00:00:00:00"


@dataclass(frozen=True)
class OverlayMark:
    """A parsed overlay link alias: a network's (``eid`` None) or an endpoint's."""

    owner: str
    nid: str
    eid: str | None = None

    def __str__(self) -> str:
        tail = f":{self.eid}" if self.eid else ""
        return f"{MARK}{self.owner}:{KIND}:{self.nid}{tail}"


def parse_mark(text: object) -> OverlayMark | None:
    """The overlay mark in a link alias, or None if it is not one."""
    if not isinstance(text, str) or not text.startswith(MARK):
        return None
    parts = text[len(MARK) :].split(":")
    if len(parts) in (3, 4) and parts[1] == KIND:
        return OverlayMark(parts[0], parts[2], parts[3] if len(parts) == 4 else None)
    return None


@dataclass(frozen=True)
class Links:
    """The names and settings of one network's links on one host."""

    vni: int
    mark: str
    vtep: str
    port: int
    mtu: int

    @property
    def bridge(self) -> str:
        return f"ovbr{self.vni}"

    @property
    def vxlan(self) -> str:
        return f"ovvx{self.vni}"


@dataclass(frozen=True, order=True)
class Peer:
    """A remote endpoint as the kernel holds it: its IP (bare), MAC and host's VTEP."""

    ip: str
    mac: str
    vtep: str


def _ignore(exc: BaseException, *codes: int) -> bool:
    return netlink_error_code(exc) in codes


def _delete(ipr: Any, index: int) -> None:
    try:
        ipr.link("del", index=index)
    except Exception as exc:
        if not _ignore(exc, errno.ENODEV):
            raise


def _family(address: str) -> int:
    return AF_INET6 if ipaddress.ip_address(address).version == 6 else AF_INET


def underlay_mtu(ipr: Any, vtep: str) -> int:
    """The MTU of the link that carries address ``vtep``; KernelError if none does."""
    for addr in ipr.get_addr(family=_family(vtep)):
        if addr.get("address") == vtep:
            return int(get_link(ipr, int(addr["index"])).get("mtu"))
    raise KernelError(
        f"no interface of this host has the VTEP address {vtep}; set the overlay driver's "
        "vtep (the host's advertise address) to one of the host's addresses"
    )


def _vtep_link(ipr: Any, vtep: str) -> int:
    for addr in ipr.get_addr(family=_family(vtep)):
        if addr.get("address") == vtep:
            return int(addr["index"])
    raise KernelError(f"no interface of this host has the VTEP address {vtep}")


ONE_PER_VNI = (
    "the kernel allows one VXLAN device per VNI and UDP port in a network namespace: run "
    "each libnet state that uses this VNI in a network namespace of its own"
)


def _owned(ipr: Any, name: str, mark: str) -> int | None:
    """The index of link ``name`` if it carries ``mark``; KernelError if it is someone else's
    (naming the other libnet state, the owner of its mark, where it is one)."""
    index = lookup(ipr, name)
    if index is None:
        return None
    current = get_link(ipr, index).get("ifalias")
    if current != mark:
        ours = parse_mark(mark)
        theirs = parse_mark(current)
        if ours is not None and theirs is not None and theirs.owner != ours.owner:
            raise KernelError(
                f"interface {name!r} belongs to another libnet state on this host (owner "
                f"{theirs.owner}, its overlay network {theirs.nid[:12]}), which uses the same "
                f"VNI; {ONE_PER_VNI}"
            )
        raise KernelError(
            f"interface {name!r} exists but is not this overlay network's (its mark is "
            f"{current!r}); remove it, or use another VNI"
        )
    return index


def _vni_holder(ipr: Any, vni: int, port: int) -> str:
    """Which link holds VXLAN ``vni`` on UDP ``port`` here, for an error message."""
    for link in ipr.get_links():
        if link.get(("linkinfo", "kind")) != "vxlan":
            continue
        data = link.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA")
        if data is None or data.get("IFLA_VXLAN_ID") != vni:
            continue
        if data.get("IFLA_VXLAN_PORT") != port:
            continue
        name = link.get("ifname")
        mark = parse_mark(link.get("ifalias"))
        if mark is not None:
            return f"{name!r} of another libnet state (owner {mark.owner})"
        return f"{name!r}"
    return "another device"


def _make_bridge(ipr: Any, links: Links) -> int:
    ipr.link("add", ifname=links.bridge, kind="bridge")
    index = lookup(ipr, links.bridge)
    if index is None:  # pragma: no cover - the kernel just created it
        raise KernelError(f"bridge {links.bridge!r} vanished right after it was created")
    try:
        ipr.link(
            "set", index=index, ifalias=links.mark, address=stable_mac(links.mark), mtu=links.mtu
        )
    except BaseException:
        _delete(ipr, index)
        raise
    return index


def _make_vxlan(ipr: Any, links: Links, bridge: int) -> int:
    spec: dict[str, Any] = {
        "ifname": links.vxlan,
        "kind": "vxlan",
        "vxlan_id": links.vni,
        "vxlan_port": links.port,
        "vxlan_learning": 0,
        "vxlan_proxy": 1,
        "vxlan_link": _vtep_link(ipr, links.vtep),
        "address": stable_mac(f"{links.mark}:{links.vxlan}"),  # the same when made again
    }
    spec["vxlan_local6" if _family(links.vtep) == AF_INET6 else "vxlan_local"] = links.vtep
    try:
        ipr.link("add", **spec)
    except Exception as exc:
        if not _ignore(exc, errno.EEXIST):
            raise
        raise KernelError(
            f"cannot make vxlan device {links.vxlan!r} for VNI {links.vni}: the VXLAN device "
            f"{_vni_holder(ipr, links.vni, links.port)} has that VNI and UDP port "
            f"{links.port}; {ONE_PER_VNI}"
        ) from exc
    index = lookup(ipr, links.vxlan)
    if index is None:  # pragma: no cover
        raise KernelError(f"vxlan device {links.vxlan!r} vanished right after it was created")
    try:
        ipr.link("set", index=index, ifalias=links.mark, mtu=links.mtu, master=bridge)
    except BaseException:
        _delete(ipr, index)
        raise
    return index


def _up(ipr: Any, index: int) -> None:
    if not int(get_link(ipr, index)["flags"]) & IFF_UP:
        ipr.link("set", index=index, state="up")


def ensure_network(ipr: Any, links: Links) -> tuple[int, int]:
    """The network's bridge and vxlan device, up, created where missing; their indexes.

    Adopts links that carry the network's mark; what this call created is removed again if
    a later step fails.
    """
    made: list[int] = []
    try:
        bridge = _owned(ipr, links.bridge, links.mark)
        if bridge is None:
            bridge = _make_bridge(ipr, links)
            made.append(bridge)
        vxlan = _owned(ipr, links.vxlan, links.mark)
        if vxlan is None:
            vxlan = _make_vxlan(ipr, links, bridge)
            made.append(vxlan)
        elif get_link(ipr, vxlan).get("master") != bridge:
            ipr.link("set", index=vxlan, master=bridge)
        _up(ipr, vxlan)
        _up(ipr, bridge)
    except BaseException:
        for index in reversed(made):
            _delete(ipr, index)
        raise
    return bridge, vxlan


def remove_network(ipr: Any, links: Links) -> None:
    """Remove the network's vxlan device (its FDB and neighbour entries go with it) and
    bridge, where they exist and carry the mark; idempotent."""
    for name in (links.vxlan, links.bridge):
        index = lookup(ipr, name)
        if index is not None and get_link(ipr, index).get("ifalias") == links.mark:
            _delete(ipr, index)


def delete_marked(ipr: Any, name: str, mark: str) -> None:
    """Delete link ``name`` if it carries ``mark``; gone already is fine."""
    index = lookup(ipr, name)
    if index is not None and get_link(ipr, index).get("ifalias") == mark:
        _delete(ipr, index)


def overlay_links(ipr: Any, owner: str) -> list[tuple[OverlayMark, int, str]]:
    """Every link with an overlay mark of ``owner``: (mark, index, name)."""
    out: list[tuple[OverlayMark, int, str]] = []
    for link in ipr.get_links():
        mark = parse_mark(link.get("ifalias"))
        if mark is not None and mark.owner == owner:
            out.append((mark, int(link["index"]), str(link.get("ifname"))))
    return out


def network_problems(ipr: Any, links: Links) -> list[str]:
    """What is wrong with the network's bridge and vxlan device on this host."""
    problems: list[str] = []
    bridge = lookup(ipr, links.bridge)
    indexes: dict[str, Any] = {}
    for name, what in ((links.bridge, "bridge"), (links.vxlan, "vxlan device")):
        index = lookup(ipr, name)
        if index is None:
            problems.append(f"{what} {name} is missing")
            continue
        link = get_link(ipr, index)
        indexes[name] = link
        if link.get("ifalias") != links.mark:
            problems.append(f"interface {name} does not carry the network's mark")
        elif not int(link["flags"]) & IFF_UP:
            problems.append(f"{what} {name} is down")
    vx = indexes.get(links.vxlan)
    if vx is not None and vx.get("ifalias") == links.mark:
        if bridge is None or vx.get("master") != bridge:
            problems.append(f"vxlan device {links.vxlan} is not attached to bridge {links.bridge}")
        data = vx.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA")
        if data is not None:
            vni, port = data.get("IFLA_VXLAN_ID"), data.get("IFLA_VXLAN_PORT")
            if vni != links.vni:
                problems.append(f"vxlan device {links.vxlan} has VNI {vni}, not {links.vni}")
            if port != links.port:
                problems.append(
                    f"vxlan device {links.vxlan} uses UDP port {port}, not {links.port}"
                )
    return problems


# -- peers ---------------------------------------------------------------------------------


def _fdb(ipr: Any, command: str, vxlan: int, mac: str, vtep: str | None) -> None:
    spec: dict[str, Any] = {
        "ifindex": vxlan,
        "lladdr": mac,
        "state": NUD_PERMANENT | NUD_NOARP,
        "flags": NTF_SELF,
    }
    if vtep is not None:
        spec["dst"] = vtep
    ipr.fdb(command, **spec)


def add_peer(ipr: Any, vxlan: int, peer: Peer) -> None:
    """Program ``peer`` on the vxlan device (FDB, then neighbour entry); idempotent, and a
    changed MAC or VTEP replaces the old one. All or nothing."""
    _fdb(ipr, "replace", vxlan, peer.mac, peer.vtep)
    try:
        ipr.neigh(
            "replace",
            ifindex=vxlan,
            dst=peer.ip,
            lladdr=peer.mac,
            state=NUD_PERMANENT,
            family=_family(peer.ip),
        )
    except BaseException:
        _remove_fdb(ipr, vxlan, peer.mac)
        raise


def _remove_fdb(ipr: Any, vxlan: int, mac: str) -> None:
    try:
        _fdb(ipr, "del", vxlan, mac, None)
    except Exception as exc:
        if not _ignore(exc, errno.ENOENT, errno.ENODEV):
            raise


def _remove_neigh(ipr: Any, vxlan: int, ip: str) -> None:
    try:
        ipr.neigh("del", ifindex=vxlan, dst=ip, family=_family(ip))
    except Exception as exc:
        if not _ignore(exc, errno.ENOENT, errno.ENODEV):
            raise


def remove_peer(ipr: Any, vxlan: int, peer: Peer) -> None:
    """Remove ``peer``'s neighbour and FDB entries from the vxlan device; idempotent."""
    _remove_neigh(ipr, vxlan, peer.ip)
    _remove_fdb(ipr, vxlan, peer.mac)


def _fdb_entries(ipr: Any, vxlan: int) -> dict[str, str]:
    """MAC -> VTEP of the vxlan device's own permanent FDB entries (the all-zero one aside)."""
    out: dict[str, str] = {}
    for entry in ipr.fdb("dump", ifindex=vxlan):
        if entry.get("ifindex") != vxlan or not entry.get("flags", 0) & NTF_SELF:
            continue
        mac, dst = entry.get("NDA_LLADDR"), entry.get("NDA_DST")
        if mac and dst and mac != _ZERO_MAC and entry.get("state", 0) & NUD_PERMANENT:
            out[str(mac)] = str(dst)
    return out


def _neigh_entries(ipr: Any, vxlan: int) -> dict[str, str]:
    """IP -> MAC of the permanent neighbour entries on the vxlan device."""
    out: dict[str, str] = {}
    for family in (AF_INET, AF_INET6):
        for entry in ipr.neigh("dump", ifindex=vxlan, family=family):
            if entry.get("ifindex") != vxlan or not entry.get("state", 0) & NUD_PERMANENT:
                continue
            ip, mac = entry.get("NDA_DST"), entry.get("NDA_LLADDR")
            if ip and mac:
                out[str(ip)] = str(mac)
    return out


def kernel_peers(ipr: Any, vxlan: int) -> tuple[dict[str, str], dict[str, str]]:
    """The device's FDB (MAC -> VTEP) and neighbour (IP -> MAC) entries."""
    return _fdb_entries(ipr, vxlan), _neigh_entries(ipr, vxlan)


def sync_peers(ipr: Any, vxlan: int, peers: Iterable[Peer]) -> tuple[int, int]:
    """Make the device hold exactly ``peers``: add what is missing or different, remove
    every other FDB and neighbour entry. Returns (programmed, removed)."""
    wanted = {p.ip: p for p in peers}
    macs = {p.mac: p.vtep for p in wanted.values()}
    fdb, neigh = kernel_peers(ipr, vxlan)
    removed = 0
    for ip, mac in neigh.items():
        peer = wanted.get(ip)
        if peer is None or peer.mac != mac:
            _remove_neigh(ipr, vxlan, ip)
            removed += 1
    for mac in fdb:
        if mac not in macs:
            _remove_fdb(ipr, vxlan, mac)
            removed += 1
    added = 0
    for peer in wanted.values():
        if fdb.get(peer.mac) != peer.vtep or neigh.get(peer.ip) != peer.mac:
            add_peer(ipr, vxlan, peer)
            added += 1
    return added, removed
