"""Kernel objects of the bridge driver, through pyroute2: bridges, veth pairs, marks, rules.

**Marks.** Every link the driver creates carries a mark in its alias (``IFLA_IFALIAS``):
``libnet:<owner>:net:<network id>`` on bridges and ``libnet:<owner>:ep:<network id>:<endpoint
id>`` on the host end of veth pairs. ``owner`` names the state the objects belong to (12 hex
digits derived from the state directory), so reconciliation of one state directory never
touches the objects of another.

**Isolation between networks.** Bridges of one owner must not forward to each other, even
on a host with IP forwarding on, and internal networks must not forward at all. As
libnetwork's isolation chains do with iptables, this is done with policy routing:

* the owner's table (``TABLE_BASE | owner[:4]``) holds a ``prohibit`` route for the subnet
  of each of its networks;
* each bridge gets a rule ``iif BRIDGE lookup TABLE`` at priority ``ISOLATION_PRIORITY``,
  so traffic entering from a bridge to another network's subnet is refused, while local
  addresses (the local table is consulted first) and other destinations are not;
* an internal network's bridge also gets ``iif BRIDGE prohibit`` at ``INTERNAL_PRIORITY``:
  nothing entering from it is forwarded.

Every function that makes several kernel changes undoes the ones it made if a later one
fails; every ``ensure_*`` function completes what is missing and is idempotent.
"""

from __future__ import annotations

import errno
import hashlib
import ipaddress
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from libnet.osl.rtnl import KernelError, netlink_error_code

log = logging.getLogger("libnet")

MARK = "libnet:"
ISOLATION_PRIORITY = 27758
INTERNAL_PRIORITY = 27759
TABLE_BASE = 0x6C6E0000
IFF_UP = 1
AF_INET = 2
AF_INET6 = 10

__all__ = [
    "AF_INET",
    "AF_INET6",
    "INTERNAL_PRIORITY",
    "ISOLATION_PRIORITY",
    "MARK",
    "KernelError",
    "Mark",
    "NetlinkError",
]

NetlinkError = KernelError
"""Kept for callers of the first version of this module."""


@dataclass(frozen=True)
class Mark:
    """A parsed link alias of libnet."""

    owner: str
    kind: str  # "net" or "ep"
    nid: str
    eid: str | None = None

    def __str__(self) -> str:
        tail = f":{self.eid}" if self.eid else ""
        return f"{MARK}{self.owner}:{self.kind}:{self.nid}{tail}"


def network_mark(owner: str, nid: str) -> str:
    return str(Mark(owner, "net", nid))


def endpoint_mark(owner: str, nid: str, eid: str) -> str:
    return str(Mark(owner, "ep", nid, eid))


def parse_mark(text: object) -> Mark | None:
    """The mark in a link alias, or None if it is not libnet's."""
    if not isinstance(text, str) or not text.startswith(MARK):
        return None
    parts = text[len(MARK) :].split(":")
    if len(parts) == 3 and parts[1] == "net":
        return Mark(parts[0], "net", parts[2])
    if len(parts) == 4 and parts[1] == "ep":
        return Mark(parts[0], "ep", parts[2], parts[3])
    return None


def other_drivers_mark(text: object, owner: str) -> bool:
    """Whether ``text`` is a mark of ``owner`` that another driver made (its kind is neither
    ``net`` nor ``ep``: the overlay driver's, for one)."""
    prefix = f"{MARK}{owner}:"
    if not isinstance(text, str) or not text.startswith(prefix):
        return False
    return text[len(prefix) :].split(":")[0] not in ("net", "ep")


def owner_table(owner: str) -> int:
    """The routing table of ``owner``'s isolation routes."""
    return TABLE_BASE | int(owner[:4], 16)


def stable_mac(seed: str) -> str:
    """A locally administered unicast MAC derived from ``seed`` (the same after a re-creation)."""
    raw = bytearray(hashlib.sha256(seed.encode()).digest()[:6])
    raw[0] = (raw[0] & 0xFE) | 0x02
    return ":".join(f"{b:02x}" for b in raw)


def _ignore(exc: BaseException, *codes: int) -> bool:
    return netlink_error_code(exc) in codes


# -- links ---------------------------------------------------------------------------------


def lookup(ipr: Any, name: str) -> int | None:
    found = ipr.link_lookup(ifname=name)
    return int(found[0]) if found else None


def get_link(ipr: Any, index: int) -> Any:
    return ipr.get_links(index)[0]


def alias(ipr: Any, index: int) -> str | None:
    value = get_link(ipr, index).get("ifalias")
    return str(value) if value else None


def marked_links(ipr: Any) -> list[tuple[Mark, int, str, int | None]]:
    """Every link with a libnet mark: (mark, index, name, master index)."""
    out: list[tuple[Mark, int, str, int | None]] = []
    for link in ipr.get_links():
        mark = parse_mark(link.get("ifalias"))
        if mark is not None:
            master = link.get("master")
            out.append((mark, int(link["index"]), str(link.get("ifname")), master))
    return out


def create_bridge(ipr: Any, name: str, mark: str, mtu: int | None, addresses: Iterable[str]) -> int:
    """Create bridge ``name`` with ``mark``, a stable MAC, MTU and addresses, up."""
    if lookup(ipr, name) is not None:
        raise KernelError(
            f"interface {name!r} already exists; choose another bridge name with option "
            "com.docker.network.bridge.name"
        )
    ipr.link("add", ifname=name, kind="bridge")
    index = lookup(ipr, name)
    if index is None:  # pragma: no cover - the kernel just created it
        raise KernelError(f"bridge {name!r} vanished right after it was created")
    try:
        _complete_bridge(ipr, index, mark, mtu, addresses)
    except BaseException:
        _delete_quietly(ipr, index)
        raise
    return index


def _complete_bridge(
    ipr: Any, index: int, mark: str, mtu: int | None, addresses: Iterable[str]
) -> None:
    link = get_link(ipr, index)
    attrs: dict[str, Any] = {}
    if link.get("ifalias") != mark:
        attrs["ifalias"] = mark
    mac = stable_mac(mark)
    if str(link.get("address")).lower() != mac:
        attrs["address"] = mac
    if mtu and link.get("mtu") != mtu:
        attrs["mtu"] = mtu
    if attrs:
        ipr.link("set", index=index, **attrs)
    have = {(str(a.get("address")), int(a["prefixlen"])) for a in ipr.get_addr(index=index)}
    for cidr in addresses:
        iface = ipaddress.ip_interface(cidr)
        if (str(iface.ip), iface.network.prefixlen) not in have:
            ipr.addr("add", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen)
    if not int(link["flags"]) & IFF_UP:
        ipr.link("set", index=index, state="up")


def ensure_bridge(ipr: Any, name: str, mark: str, mtu: int | None, addresses: Iterable[str]) -> int:
    """Adopt bridge ``name`` (completing what is missing), or create it if it is gone."""
    index = lookup(ipr, name)
    if index is None:
        return create_bridge(ipr, name, mark, mtu, addresses)
    current = alias(ipr, index)
    if current != mark:
        raise KernelError(
            f"interface {name!r} exists but is not this network's bridge (its mark is "
            f"{current!r}); remove it or choose another bridge name"
        )
    _complete_bridge(ipr, index, mark, mtu, addresses)
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
    """Create a veth pair, attach its host end to ``bridge``, mark it, bring it up."""
    peer: dict[str, Any] = {"ifname": peer_name}
    if mac_address:
        peer["address"] = mac_address
    if mtu:
        peer["mtu"] = mtu
    host: dict[str, Any] = {"address": stable_mac(mark)}
    if mtu:
        host["mtu"] = mtu
    ipr.link("add", ifname=host_name, kind="veth", peer=peer, **host)
    index = lookup(ipr, host_name)
    if index is None:  # pragma: no cover
        raise KernelError(f"veth {host_name!r} vanished right after it was created")
    try:
        _complete_veth(ipr, index, bridge, mark, isolated)
    except BaseException:
        _delete_quietly(ipr, index)
        raise


def _complete_veth(ipr: Any, index: int, bridge: int, mark: str, isolated: bool) -> None:
    link = get_link(ipr, index)
    attrs: dict[str, Any] = {}
    if link.get("ifalias") != mark:
        attrs["ifalias"] = mark
    if link.get("master") != bridge:
        attrs["master"] = bridge
    if attrs:
        ipr.link("set", index=index, **attrs)
    if isolated:
        ipr.brport("set", index=index, isolated=1)
    if not int(link["flags"]) & IFF_UP:
        ipr.link("set", index=index, state="up")


def ensure_veth(
    ipr: Any,
    host_name: str,
    peer_name: str,
    *,
    bridge: int,
    mark: str,
    mac_address: str | None,
    mtu: int | None,
    isolated: bool,
) -> bool:
    """Adopt the veth pair (re-attaching it), or create it again; True if it was created."""
    index = lookup(ipr, host_name)
    if index is None:
        create_veth(
            ipr,
            host_name,
            peer_name,
            bridge=bridge,
            mark=mark,
            mac_address=mac_address,
            mtu=mtu,
            isolated=isolated,
        )
        return True
    current = alias(ipr, index)
    if current != mark:
        raise KernelError(
            f"interface {host_name!r} exists but is not this endpoint's veth (its mark is "
            f"{current!r})"
        )
    _complete_veth(ipr, index, bridge, mark, isolated)
    return False


def _delete_quietly(ipr: Any, index: int) -> None:
    try:
        ipr.link("del", index=index)
    except Exception as exc:
        if not _ignore(exc, errno.ENODEV):
            raise


def delete_link(ipr: Any, name: str, mark: str) -> None:
    """Delete link ``name`` if it exists and carries ``mark`` (a veth's peer goes with it).

    A link of that name without the mark is someone else's (it took the name after ours
    went): it is left alone.
    """
    index = lookup(ipr, name)
    if index is None:
        return
    current = alias(ipr, index)
    if current != mark:
        log.warning(
            "interface %s is not libnet's (its mark is %r, not %r); leaving it alone",
            name,
            current,
            mark,
        )
        return
    _delete_quietly(ipr, index)


def link_mac(ipr: Any, name: str) -> str | None:
    index = lookup(ipr, name)
    if index is None:
        return None
    value = get_link(ipr, index).get("address")
    return str(value) if value else None


# -- isolation -----------------------------------------------------------------------------


def _family(cidr: str) -> int:
    return AF_INET6 if ipaddress.ip_network(cidr, strict=False).version == 6 else AF_INET


def _subnet(cidr: str) -> str:
    return str(ipaddress.ip_network(cidr, strict=False))


def add_isolation(
    ipr: Any, bridge: str, table: int, subnets: Iterable[str], internal: bool
) -> None:
    """Rules and routes isolating ``bridge`` (idempotent; all or nothing)."""
    subnets = [_subnet(s) for s in subnets]
    families = sorted({AF_INET, *(_family(s) for s in subnets)})
    done: list[tuple[str, dict[str, Any]]] = []
    try:
        for subnet in subnets:
            spec = {"dst": subnet, "table": table, "type": "prohibit", "family": _family(subnet)}
            if _add(ipr.route, spec):
                done.append(("route", spec))
        for family in families:
            spec = {
                "table": table,
                "priority": ISOLATION_PRIORITY,
                "iifname": bridge,
                "family": family,
            }
            if _add(ipr.rule, spec):
                done.append(("rule", spec))
            if internal:
                spec = {
                    "action": "FR_ACT_PROHIBIT",
                    "priority": INTERNAL_PRIORITY,
                    "iifname": bridge,
                    "family": family,
                }
                if _add(ipr.rule, spec):
                    done.append(("rule", spec))
    except BaseException:
        for kind, spec in reversed(done):
            _del(ipr.route if kind == "route" else ipr.rule, spec)
        raise


def _add(call: Any, spec: dict[str, Any]) -> bool:
    """Add a route or rule; False if it was there already."""
    try:
        call("add", **spec)
    except Exception as exc:
        if _ignore(exc, errno.EEXIST):
            return False
        raise
    return True


def _del(call: Any, spec: dict[str, Any]) -> None:
    try:
        call("del", **spec)
    except Exception as exc:
        if not _ignore(exc, errno.ENOENT, errno.ESRCH):
            raise


def remove_isolation(ipr: Any, bridge: str, table: int, subnets: Iterable[str]) -> None:
    """Remove the rules of ``bridge`` (internal first) and its subnets' routes; idempotent."""
    for priority in (INTERNAL_PRIORITY, ISOLATION_PRIORITY):
        for rule in isolation_rules(ipr, table):
            if rule[1] == priority and rule[2] == bridge:
                remove_rule(ipr, rule, table)
    for subnet in subnets:
        s = _subnet(subnet)
        _del(ipr.route, {"dst": s, "table": table, "type": "prohibit", "family": _family(s)})


def isolation_rules(ipr: Any, table: int) -> list[tuple[int, int, str]]:
    """(family, priority, bridge) of every isolation rule of the owner of ``table``.

    An ``INTERNAL_PRIORITY`` rule counts as the owner's when the same bridge has the
    owner's ``ISOLATION_PRIORITY`` rule (the two are made and removed in that order).
    """
    found: list[tuple[int, int, str]] = []
    internal: list[tuple[int, int, str]] = []
    for family in (AF_INET, AF_INET6):
        for rule in ipr.get_rules(family=family):
            priority, iif = rule.get("priority"), rule.get("iifname")
            if not iif:
                continue
            if priority == ISOLATION_PRIORITY and rule.get("table") == table:
                found.append((family, priority, str(iif)))
            elif priority == INTERNAL_PRIORITY:
                internal.append((family, priority, str(iif)))
    owned = {(f, b) for f, _, b in found}
    found.extend(r for r in internal if (r[0], r[2]) in owned)
    return found


def remove_rule(ipr: Any, rule: tuple[int, int, str], table: int) -> None:
    family, priority, bridge = rule
    spec: dict[str, Any] = {"priority": priority, "iifname": bridge, "family": family}
    if priority == ISOLATION_PRIORITY:
        spec["table"] = table
    else:
        spec["action"] = "FR_ACT_PROHIBIT"
    _del(ipr.rule, spec)


def table_routes(ipr: Any, table: int) -> list[str]:
    """The destinations of the routes in ``table`` (isolation routes of one owner)."""
    out: list[str] = []
    for family in (AF_INET, AF_INET6):
        for route in ipr.get_routes(family=family, table=table):
            if route.get("table") != table:
                continue
            dst = route.get("dst") or ("::" if family == AF_INET6 else "0.0.0.0")
            out.append(f"{dst}/{route['dst_len']}")
    return out


def remove_table_route(ipr: Any, table: int, subnet: str) -> None:
    _del(ipr.route, {"dst": subnet, "table": table, "type": "prohibit", "family": _family(subnet)})
