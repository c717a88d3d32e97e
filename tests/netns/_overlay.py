"""Several "hosts" on one underlay, for the overlay driver: namespaces, each with a driver.

The underlay is a bridge in a namespace of its own (``underlay``); each host is a namespace
(``host1``...) joined to it by a veth pair whose host end (``eth0``, MTU 1500) has the host's
VTEP address ``192.168.77.N/24``. Sandboxes are namespaces too; an endpoint's sandbox end is
moved into one by :func:`plumb`. All the drivers share one store: the "global store".
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from dataclasses import dataclass, field
from typing import Any

import pytest

from libnet.driverapi import InterfaceInfo, IPAMData, JoinInfo
from libnet.drivers.overlay import OverlayDriver
from libnet.drivers.overlay.netlink import NTF_SELF, NUD_PERMANENT
from libnet.osl import create_namespace, rtnl
from libnet.osl.rtnl import netlink_error_code
from libnet.store import MemoryStore, Store

from ._kernel import _checksum, in_namespace

UNDERLAY = "192.168.77"
SUBNET = "10.200.0.0/24"


def ipam(subnet: str = SUBNET) -> list[IPAMData]:
    return [IPAMData("GlobalDefault", subnet, subnet.replace("0/24", "1/24"))]


@dataclass
class Host:
    name: str
    key: str
    vtep: str
    driver: OverlayDriver


@dataclass
class Cluster:
    store: Store
    underlay: str
    hosts: list[Host] = field(default_factory=list)


def cluster(count: int = 3, mtu: int = 1500, store: Store | None = None) -> Cluster:
    """``count`` hosts on a fresh underlay, each with an overlay driver on ``store``."""
    store = store if store is not None else MemoryStore()
    underlay = create_namespace("underlay")
    with rtnl.rtnl(underlay) as ipr:
        needs_vxlan(ipr)
        ipr.link("add", ifname="ubr", kind="bridge")
        ubr = ipr.link_lookup(ifname="ubr")[0]
        ipr.link("set", index=ubr, state="up")
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
    out = Cluster(store, underlay)
    for n in range(1, count + 1):
        key = create_namespace(f"host{n}")
        vtep = f"{UNDERLAY}.{n}"
        fd = os.open(key, os.O_RDONLY)
        try:
            with rtnl.rtnl(underlay) as ipr:
                ipr.link(
                    "add",
                    ifname=f"u{n}",
                    kind="veth",
                    mtu=mtu,
                    peer={"ifname": f"e{n}", "mtu": mtu},
                )
                ipr.link("set", index=ipr.link_lookup(ifname=f"u{n}")[0], master=ubr, state="up")
                ipr.link("set", index=ipr.link_lookup(ifname=f"e{n}")[0], net_ns_fd=fd)
        finally:
            os.close(fd)
        with rtnl.rtnl(key) as ipr:
            eth = ipr.link_lookup(ifname=f"e{n}")[0]
            ipr.link("set", index=eth, ifname="eth0")
            ipr.addr("add", index=eth, address=vtep, prefixlen=24)
            ipr.link("set", index=eth, state="up")
            ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
        driver = OverlayDriver(f"{n:012x}", store=store, vtep=vtep, host=f"host{n}", netns=key)
        out.hosts.append(Host(f"host{n}", key, vtep, driver))
    return out


def needs_vxlan(ipr: Any) -> None:
    """Skip the test where the kernel has no VXLAN (a missing module)."""
    try:
        ipr.link("add", ifname="vxprobe", kind="vxlan", vxlan_id=1, vxlan_port=4789)
    except Exception as exc:
        if netlink_error_code(exc) == errno.EOPNOTSUPP:
            pytest.skip("this kernel has no VXLAN support (module vxlan)")
        raise
    ipr.link("del", index=ipr.link_lookup(ifname="vxprobe")[0])


def endpoint(host: Host, nid: str, eid: str, address: str) -> InterfaceInfo:
    iface = InterfaceInfo(address=address)
    host.driver.create_endpoint(nid, eid, iface, {})
    return iface


def plumb(host: Host, nid: str, eid: str, iface: InterfaceInfo, sandbox: str) -> str:
    """Join ``eid`` and move its sandbox end into a new namespace ``sandbox``, as ``eth0``
    with the endpoint's address; the namespace's path."""
    jinfo = JoinInfo(iface)
    host.driver.join(nid, eid, None, jinfo, {})
    key = create_namespace(sandbox)
    fd = os.open(key, os.O_RDONLY)
    try:
        with rtnl.rtnl(host.key) as ipr:
            index = ipr.link_lookup(ifname=jinfo.src_name)[0]
            ipr.link("set", index=index, net_ns_fd=fd)
    finally:
        os.close(fd)
    assert iface.address is not None
    address, prefix = iface.address.split("/")
    with rtnl.rtnl(key) as ipr:
        index = ipr.link_lookup(ifname=jinfo.src_name)[0]
        ipr.link("set", index=index, ifname="eth0")
        ipr.addr("add", index=index, address=address, prefixlen=int(prefix))
        ipr.link("set", index=index, state="up")
        ipr.link("set", index=ipr.link_lookup(ifname="lo")[0], state="up")
    return key


def kernel_state(key: str) -> dict[str, Any]:
    """Links (name, kind, alias, master), FDB entries of the vxlan devices' own tables and
    permanent neighbour entries in namespace ``key``."""
    with rtnl.rtnl(key) as ipr:
        names = {int(link["index"]): str(link.get("ifname")) for link in ipr.get_links()}
        links = sorted(
            (
                str(link.get("ifname")),
                str(link.get(("linkinfo", "kind"))),
                str(link.get("ifalias")),
                names.get(link.get("master") or -1),
            )
            for link in ipr.get_links()
        )
        fdb = sorted(
            (names.get(e.get("ifindex"), "?"), str(e.get("NDA_LLADDR")), str(e.get("NDA_DST")))
            for e in ipr.fdb("dump")
            if e.get("flags", 0) & NTF_SELF and e.get("NDA_DST")
        )
        neigh = sorted(
            (names.get(e.get("ifindex"), "?"), str(e.get("NDA_DST")), str(e.get("NDA_LLADDR")))
            for e in ipr.neigh("dump")
            if e.get("state", 0) & NUD_PERMANENT
        )
    return {"links": links, "fdb": fdb, "neigh": neigh}


def fdb_macs(host: Host) -> set[str]:
    return {mac for _, mac, _ in kernel_state(host.key)["fdb"]}


IP_MTU_DISCOVER = 10
IP_PMTUDISC_DO = 2


def echo(target: str, size: int, timeout: float = 1.0) -> bool:
    """One ICMP echo with ``size`` bytes of payload and don't-fragment set; whether a reply
    came. Payload plus 28 bytes of headers is the packet's size on the wire."""
    ident = os.getpid() & 0xFFFF
    payload = bytes(size)
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 7)
    packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, 7) + payload
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
        sock.settimeout(timeout)
        try:
            sock.sendto(packet, (target, 0))
        except OSError:
            return False  # too big for the interface's MTU, or unreachable
        while True:
            try:
                data, (source, _) = sock.recvfrom(65536)
            except OSError:
                return False
            ihl = (data[0] & 0x0F) * 4
            kind, _, _, rid, _ = struct.unpack("!BBHHH", data[ihl : ihl + 8])
            if source == target and kind == 0 and rid == ident:
                return True


def pings(key: str, target: str, size: int = 56) -> bool:
    """Whether namespace ``key`` gets a reply to a don't-fragment echo of ``size`` bytes."""
    return in_namespace(key, lambda: echo(target, size), 6)
