"""The ``bridge`` driver: a Linux bridge per network, a veth pair per endpoint.

As libnetwork's bridge driver: the bridge carries the network's gateway addresses, the host
end of each endpoint's veth pair is attached to it, and Join names the other end for the
sandbox (prefix ``eth``) and gives the gateway, unless the network is internal.

Options (``-o`` / ``options=``): ``com.docker.network.bridge.name`` (default
``br-<network ID[:12]>``), ``com.docker.network.driver.mtu``,
``com.docker.network.bridge.enable_icc`` (default true; false isolates the endpoints'
bridge ports from each other, so they reach the gateway but not one another). Bridges of
different networks never forward to each other, and an internal network's bridge forwards
nowhere (see :mod:`libnet.drivers.bridge.netlink`).

**Firewall.** Each network gets iptables rules (:mod:`libnet.drivers.bridge.rules`, written
through :mod:`libnet.osl.firewall`) so that it works on a host whose ``FORWARD`` policy is
``DROP`` (a Docker host): forwarding in and out of the bridge, masquerade of its subnets
(``com.docker.network.bridge.enable_ip_masquerade``, default true; never for internal
networks), internal networks cut off both ways. ``io.libnet.bridge.firewall=false`` turns
the rules off for one network; the environment variable ``LIBNET_BRIDGE_FIREWALL=false``
(or ``BridgeDriver(firewall=False)``) for every network that does not say, and must then be
set for every process of the state. Where iptables is not installed, a plain network (not
internal, ICC on, masquerade not asked for by name) is created without rules, with a
warning; one that needs rules, or asks for them with ``io.libnet.bridge.firewall=true``,
fails with :class:`InvalidOptionError` naming the missing tool and the option.

**Published ports.** ``program_external_connectivity`` takes Docker's
``com.docker.network.portmap`` (``com.docker.network.endpoint.exposedports`` needs nothing:
exposing alone publishes nothing) and makes each binding (:mod:`.ports`: host ports picked
and checked) with DNAT and forwarding rules
(:func:`libnet.drivers.bridge.rules.port_rules`) marked with the endpoint's mark;
``endpoint_oper_info`` reports the bindings made under the same key, as libnetwork's bridge
driver does. ``revoke_external_connectivity`` removes them.

Kernel objects carry marks with the driver's ``owner`` (the state they belong to); the
driver implements :class:`libnet.reconcile.KernelObjects` to report and remove them.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from libnet import labels
from libnet.driverapi import (
    Capability,
    Driver,
    DriverCallback,
    InterfaceInfo,
    IPAMData,
    JoinInfo,
    Orphan,
    Scope,
    StoredNetwork,
    mac_from_ip,
)
from libnet.drivers.bridge import netlink, ports, rules
from libnet.drivers.wellknown import generic_options, internal_option, mtu_option
from libnet.errors import EndpointNotFoundError, InvalidOptionError, NetworkNotFoundError
from libnet.osl import rtnl
from libnet.osl.firewall import Firewall, Rule, Saved
from libnet.portmap import PortBinding, from_wire, resolved, to_wire

log = logging.getLogger("libnet")

_IFNAME = re.compile(r"[A-Za-z0-9_.-]{1,15}")
"""A bridge name libnet accepts: no '%' (the kernel would number it), no NUL or '/'."""

NAME = "bridge"
ENABLE_ICC = labels.ENABLE_ICC
FIREWALL_ENV = "LIBNET_BRIDGE_FIREWALL"
_UNSPECIFIED = {4: "0.0.0.0", 6: "::"}


@dataclass
class _Network:
    bridge: str
    gateways: list[str]
    subnets: list[str]
    mtu: int | None
    icc: bool
    internal: bool
    masquerade: bool
    firewall: bool


@dataclass
class _Endpoint:
    host_name: str
    peer_name: str
    addresses: dict[int, str] = field(default_factory=dict)
    """The endpoint's address (no prefix length) of each IP family."""


def _flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise InvalidOptionError(f"option {what}={value!r} must be true or false")


def _names(eid: str, iface: InterfaceInfo | None = None) -> _Endpoint:
    ep = _Endpoint(host_name=f"veth{eid[:11]}", peer_name=f"vc{eid[:13]}")
    for address in (iface.address, iface.address_ipv6) if iface else ():
        if address:
            ip = ipaddress.ip_interface(address).ip
            ep.addresses[ip.version] = str(ip)
    return ep


def _families(bindings: Sequence[PortBinding] | None) -> set[int]:
    """The IP families of made bindings (their container addresses')."""
    return {ipaddress.ip_address(b.container_ip).version for b in bindings or ()}


def _owner() -> str:
    return os.urandom(6).hex()


class BridgeDriver(Driver):
    """Linux bridges and veth pairs; thread-safe.

    ``owner`` (12 hex digits) goes into every mark; the controller passes one derived from
    its state directory.
    """

    def __init__(self, owner: str | None = None, firewall: bool | None = None) -> None:
        self.owner = owner or _owner()
        env = os.environ.get(FIREWALL_ENV)
        self.firewall_default: bool | None = (
            firewall if firewall is not None else _flag(env, FIREWALL_ENV) if env else None
        )
        """Whether networks get iptables rules when their options do not say; None: when
        iptables is installed (see module)."""
        if len(self.owner) != 12 or any(ch not in "0123456789abcdef" for ch in self.owner):
            raise InvalidOptionError(f"bridge driver owner {self.owner!r} must be 12 hex digits")
        self.table = netlink.owner_table(self.owner)
        self.firewall = Firewall(self.owner)
        self._lock = threading.RLock()
        self._networks: dict[str, _Network] = {}
        self._endpoints: dict[tuple[str, str], _Endpoint] = {}
        self._published: dict[tuple[str, str], list[PortBinding]] = {}
        """Each endpoint's made port bindings, where this process knows them."""

    # -- helpers -------------------------------------------------------------------------

    @staticmethod
    @contextmanager
    def _kernel() -> Iterator[Any]:
        with rtnl.rtnl() as ipr:
            yield ipr

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

    def _config(
        self,
        options: Mapping[str, Any],
        ipv4: Sequence[IPAMData],
        ipv6: Sequence[IPAMData],
        nid: str,
    ) -> _Network:
        generic = generic_options(options)
        name = str(generic.get(labels.BRIDGE_NAME) or f"br-{nid[:12]}")
        if not _IFNAME.fullmatch(name) or name in (".", ".."):
            raise InvalidOptionError(
                f"bridge name {name!r} (option {labels.BRIDGE_NAME}) is not an interface name: "
                "use 1 to 15 letters, digits, '_', '.' and '-'"
            )
        pools = (*ipv4, *ipv6)
        net = _Network(
            bridge=name,
            gateways=[d.gateway for d in pools if d.gateway],
            subnets=[str(ipaddress.ip_network(d.pool, strict=False)) for d in pools if d.pool],
            mtu=mtu_option(generic),
            icc=_flag(generic.get(ENABLE_ICC, True), ENABLE_ICC),
            internal=internal_option(options),
            masquerade=_flag(
                generic.get(labels.ENABLE_IP_MASQUERADE, True), labels.ENABLE_IP_MASQUERADE
            ),
            firewall=True,
        )
        asked = generic.get(labels.BRIDGE_FIREWALL)
        if asked is not None:
            net.firewall = _flag(asked, labels.BRIDGE_FIREWALL)
        elif self.firewall_default is not None:
            net.firewall = self.firewall_default
        elif self._plain(net, generic) and Firewall.missing_tool(
            r.family for r in self._rules(nid, net)
        ):
            log.warning(
                "iptables is not installed: bridge network %s gets no firewall rules (no "
                "masquerade, no forwarding rules); install iptables for them",
                nid[:12],
            )
            net.firewall = False
        return net

    @staticmethod
    def _plain(net: _Network, generic: Mapping[str, Any]) -> bool:
        """Whether the network asks for nothing only firewall rules give (internal, ICC
        off, masquerade asked for by name): such a network works without iptables."""
        return not net.internal and net.icc and labels.ENABLE_IP_MASQUERADE not in generic

    def _rules(self, nid: str, net: _Network) -> list[Rule]:
        if not net.firewall:
            return []
        return rules.network_rules(
            net.bridge,
            net.subnets,
            comment=netlink.network_mark(self.owner, nid),
            internal=net.internal,
            icc=net.icc,
            masquerade=net.masquerade,
        )

    def _check_tools(self, nid: str, net: _Network) -> None:
        """InvalidOptionError naming the missing iptables tool, if the network needs one."""
        wanted = self._rules(nid, net)
        missing = Firewall.missing_tool(r.family for r in wanted)
        if missing:
            raise InvalidOptionError(
                f"bridge network {nid[:12]} needs iptables rules (forwarding, masquerade, "
                f"internal isolation) but {missing} is not installed; install iptables, or "
                f"create the network with option {labels.BRIDGE_FIREWALL}=false"
            )

    def _set_rules(self, nid: str, net: _Network) -> None:
        if net.firewall:
            self._check_tools(nid, net)
            self.firewall.set_rules(netlink.network_mark(self.owner, nid), self._rules(nid, net))

    def _ensure_network(self, ipr: Any, nid: str, net: _Network) -> None:
        netlink.ensure_bridge(
            ipr, net.bridge, netlink.network_mark(self.owner, nid), net.mtu, net.gateways
        )
        netlink.add_isolation(ipr, net.bridge, self.table, net.subnets, net.internal)
        self._set_rules(nid, net)

    # -- networks ------------------------------------------------------------------------

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        net = self._config(options, ipv4_data, ipv6_data, nid)
        self._check_tools(nid, net)
        with self._lock:
            for other in self._networks.values():
                if other.bridge == net.bridge:
                    raise InvalidOptionError(
                        f"bridge {net.bridge!r} already serves another network; choose another "
                        "name with option com.docker.network.bridge.name"
                    )
            with self._kernel() as ipr:
                netlink.create_bridge(
                    ipr, net.bridge, netlink.network_mark(self.owner, nid), net.mtu, net.gateways
                )
                try:
                    netlink.add_isolation(ipr, net.bridge, self.table, net.subnets, net.internal)
                    try:
                        self._set_rules(nid, net)
                    except BaseException:
                        netlink.remove_isolation(ipr, net.bridge, self.table, net.subnets)
                        raise
                except BaseException:
                    netlink.delete_link(ipr, net.bridge, netlink.network_mark(self.owner, nid))
                    raise
            self._networks[nid] = net

    def restore_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[IPAMData],
        ipv6_data: list[IPAMData],
    ) -> None:
        """Adopt the network's bridge and rules, re-creating what is missing."""
        net = self._config(options, ipv4_data, ipv6_data, nid)
        with self._lock, self._kernel() as ipr:
            self._ensure_network(ipr, nid, net)
            self._networks[nid] = net

    def delete_network(self, nid: str) -> None:
        with self._lock:
            net = self._net(nid)
            with self._kernel() as ipr:
                try:
                    if net.firewall:
                        self.firewall.set_rules(netlink.network_mark(self.owner, nid), [])
                    netlink.remove_isolation(ipr, net.bridge, self.table, net.subnets)
                    netlink.delete_link(ipr, net.bridge, netlink.network_mark(self.owner, nid))
                except BaseException:  # all or nothing: put back what was removed
                    try:
                        self._ensure_network(ipr, nid, net)
                    except Exception:
                        log.warning("cannot restore network %s after a failure", nid[:12])
                    raise
            del self._networks[nid]

    # -- endpoints -----------------------------------------------------------------------

    def create_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        with self._lock:
            net = self._net(nid)
            if iface.mac_address is None:  # as Docker: derived from the IPv4 address
                iface.set_mac_address(
                    mac_from_ip(iface.address.split("/")[0])
                    if iface.address
                    else netlink.stable_mac(eid)
                )
            self._veth(netlink.create_veth, nid, eid, net, iface)
            self._published[(nid, eid)] = []

    def _veth(
        self, make: Callable[..., object], nid: str, eid: str, net: _Network, iface: InterfaceInfo
    ) -> None:
        """Create (or adopt, with ``ensure_veth``) the endpoint's veth pair; call with the lock."""
        ep = _names(eid, iface)
        with self._kernel() as ipr:
            make(
                ipr,
                ep.host_name,
                ep.peer_name,
                bridge=self._bridge_index(ipr, nid, net),
                mark=netlink.endpoint_mark(self.owner, nid, eid),
                mac_address=iface.mac_address,
                mtu=net.mtu,
                isolated=not net.icc,
            )
        self._endpoints[(nid, eid)] = ep

    @staticmethod
    def _bridge_index(ipr: Any, nid: str, net: _Network) -> int:
        bridge = netlink.lookup(ipr, net.bridge)
        if bridge is None:
            raise NetworkNotFoundError(
                f"bridge {net.bridge!r} of network {nid[:12]} is missing; run "
                "'libnet doctor --repair'"
            )
        return bridge

    def restore_endpoint(
        self, nid: str, eid: str, iface: InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        """Adopt the endpoint's veth pair (re-attaching it), or create it again."""
        with self._lock:
            self._veth(netlink.ensure_veth, nid, eid, self._net(nid), iface)

    def delete_endpoint(self, nid: str, eid: str) -> None:
        with self._lock:
            ep = self._ep(nid, eid)
            with self._kernel() as ipr:
                netlink.delete_link(ipr, ep.host_name, netlink.endpoint_mark(self.owner, nid, eid))
            del self._endpoints[(nid, eid)]
            self._published.pop((nid, eid), None)

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        with self._lock:
            net = self._net(nid)
            ep = self._ep(nid, eid)
        with self._kernel() as ipr:
            problems = self._endpoint_problems(ipr, nid, eid, net.bridge)
        return {
            "bridge": net.bridge,
            "host_interface": ep.host_name,
            "mtu": net.mtu,
            "icc": net.icc,
            "internal": net.internal,
            "kernel": "ok" if not problems else "; ".join(problems),
            labels.PORT_MAP: to_wire(self._published.get((nid, eid), [])),
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

    # -- published ports -----------------------------------------------------------------

    def program_external_connectivity(self, nid: str, eid: str, options: Mapping[str, Any]) -> None:
        """Publish the ports of option ``com.docker.network.portmap``; all or nothing."""
        wanted = from_wire(options.get(labels.PORT_MAP))
        with self._lock:
            net = self._net(nid)
            ep = self._ep(nid, eid)
            if not wanted:
                if self._published.get((nid, eid)):  # programmed again, now without ports
                    self.revoke_external_connectivity(nid, eid)
                self._published[(nid, eid)] = []
                return
            self._check_publish(nid, net)
            mark = netlink.endpoint_mark(self.owner, nid, eid)
            current = {f: self.firewall.read(f) for f in self.firewall.families()}
            taken = [
                (binding, comment)
                for family, state in current.items()
                for binding, comment in rules.published(state, family)
                if comment != mark  # a program again replaces the endpoint's own
            ]
            made = ports.make_bindings(wanted, ep.addresses, taken, self._holder)
            before = self._published.get((nid, eid))
            self.firewall.set_rules(
                mark,
                rules.port_rules(net.bridge, made, comment=mark),
                families=None if before is None else _families(before),
                current=current,
            )
            self._published[(nid, eid)] = made

    def _check_publish(self, nid: str, net: _Network) -> None:
        if net.internal:
            raise InvalidOptionError(
                f"bridge network {nid[:12]} is internal: it cannot publish ports; use a "
                "network that is not internal"
            )
        if not net.firewall:
            raise InvalidOptionError(
                f"bridge network {nid[:12]} has no firewall rules "
                f"({labels.BRIDGE_FIREWALL}=false, or iptables is not installed), and ports "
                "are published through them; install iptables, or create the network with "
                f"{labels.BRIDGE_FIREWALL}=true"
            )
        self._check_tools(nid, net)

    def _holder(self, comment: str) -> str:
        mark = netlink.parse_mark(comment)
        if mark is None or mark.eid is None:
            return f"a rule with comment {comment!r}"
        if mark.owner != self.owner:
            return f"another libnet state (owner {mark.owner})"
        return f"endpoint {mark.eid[:12]} of network {mark.nid[:12]}"

    def revoke_external_connectivity(self, nid: str, eid: str) -> None:
        """Remove the endpoint's published ports (all of its marked rules, where this
        process does not know whether it has any: after a restart of a served plugin)."""
        with self._lock:
            net = self._net(nid)
            self._ep(nid, eid)
            known = (nid, eid) in self._published
            made = self._published.get((nid, eid))
            if made or (not known and net.firewall and not self._missing_tool()):
                mark = netlink.endpoint_mark(self.owner, nid, eid)
                self.firewall.set_rules(mark, [], families=_families(made) if known else None)
            self._published[(nid, eid)] = []

    @staticmethod
    def _missing_tool() -> str | None:
        return Firewall.missing_tool([4])

    def restore_join(
        self,
        nid: str,
        eid: str,
        joined: bool,
        sandbox_key: str | None,
        options: Mapping[str, Any],
    ) -> None:
        """Learn the endpoint's made port bindings (the stored join's ``portmap``) and put
        back their rules where they are missing."""
        with self._lock:
            net = self._net(nid)
            ep = self._ep(nid, eid)
            made = self._made(ep, from_wire(options.get(labels.PORT_MAP))) if joined else []
            if made and net.firewall and not self._missing_tool():
                mark = netlink.endpoint_mark(self.owner, nid, eid)
                self.firewall.set_rules(mark, rules.port_rules(net.bridge, made, comment=mark))
            self._published[(nid, eid)] = made

    @staticmethod
    def _made(ep: _Endpoint, bindings: Sequence[PortBinding]) -> list[PortBinding]:
        """Stored made bindings, with the endpoint's address where one lacks it (an unmade
        binding, with no fixed host port, has nothing to put back)."""
        out = []
        for b in bindings:
            if b.container_ip and b.fixed:
                out.append(b)
            elif b.fixed:
                out.extend(
                    resolved(b, b.host_port, b.host_ip or _UNSPECIFIED[f], ep.addresses[f])
                    for f in b.families()
                    if f in ep.addresses
                )
        return out

    # -- kernel objects (libnet.reconcile.KernelObjects) ---------------------------------

    def _endpoint_problems(self, ipr: Any, nid: str, eid: str, bridge: str) -> list[str]:
        host = _names(eid).host_name
        index = netlink.lookup(ipr, host)
        if index is None:
            return [f"veth {host} is missing"]
        link = netlink.get_link(ipr, index)
        if link.get("ifalias") != netlink.endpoint_mark(self.owner, nid, eid):
            return [f"interface {host} does not carry the endpoint's mark"]
        problems = []
        bridge_index = netlink.lookup(ipr, bridge)
        if bridge_index is None or link.get("master") != bridge_index:
            problems.append(f"veth {host} is not attached to bridge {bridge}")
        if not int(link["flags"]) & netlink.IFF_UP:
            problems.append(f"veth {host} is down")
        return problems

    def kernel_check(self, network: StoredNetwork) -> dict[str, list[str]]:
        net = self._config(network.options, network.ipv4_data, network.ipv6_data, network.id)
        out: dict[str, list[str]] = {}
        with self._kernel() as ipr:
            problems: list[str] = []
            index = netlink.lookup(ipr, net.bridge)
            if index is None:
                problems.append(f"bridge {net.bridge} is missing")
            else:
                link = netlink.get_link(ipr, index)
                if link.get("ifalias") != netlink.network_mark(self.owner, network.id):
                    problems.append(f"interface {net.bridge} is not this network's bridge")
                if not int(link["flags"]) & netlink.IFF_UP:
                    problems.append(f"bridge {net.bridge} is down")
                have = {f"{a.get('address')}/{a['prefixlen']}" for a in ipr.get_addr(index=index)}
                for gw in net.gateways:
                    iface = ipaddress.ip_interface(gw)
                    if f"{iface.ip}/{iface.network.prefixlen}" not in have:
                        problems.append(f"bridge {net.bridge} lacks gateway address {gw}")
            isolation = {(p, b) for _, p, b in netlink.isolation_rules(ipr, self.table)}
            if (netlink.ISOLATION_PRIORITY, net.bridge) not in isolation:
                problems.append(f"isolation rule of bridge {net.bridge} is missing")
            if net.internal and (netlink.INTERNAL_PRIORITY, net.bridge) not in isolation:
                problems.append(f"internal-network rule of bridge {net.bridge} is missing")
            routes = set(netlink.table_routes(ipr, self.table))
            for subnet in net.subnets:
                if subnet not in routes:
                    problems.append(f"isolation route of subnet {subnet} is missing")
            saved = self.firewall.rules() if net.firewall and not self._missing_tool() else []
            mark = netlink.network_mark(self.owner, network.id)
            wanted = self._rules(network.id, net)
            if wanted and not self._missing_tool():
                wanted = self.firewall.applicable(wanted)
            problems.extend(self._firewall_problems(wanted, mark, saved))
            out[""] = problems
            for eid in network.endpoints:
                out[eid] = self._endpoint_problems(ipr, network.id, eid, net.bridge)
                made = self._made(
                    _names(eid), from_wire(network.joins.get(eid, {}).get(labels.PORT_MAP))
                )
                if made and net.firewall:
                    mark = netlink.endpoint_mark(self.owner, network.id, eid)
                    wanted = rules.port_rules(net.bridge, made, comment=mark)
                    out[eid] += self._firewall_problems(wanted, mark, saved, jumps=False)
        return out

    def _firewall_problems(
        self, wanted: Sequence[Rule], mark: str, saved: Sequence[Saved], jumps: bool = True
    ) -> list[str]:
        """What differs between the rules marked ``mark`` in ``saved`` and ``wanted``."""
        return self.firewall.problems(wanted, mark, saved, jumps)

    def kernel_orphans(self, networks: Sequence[StoredNetwork]) -> list[Orphan]:
        live = {n.id: set(n.endpoints) for n in networks}
        publishing = {
            (n.id, eid)
            for n in networks
            for eid, options in n.joins.items()
            if options.get(labels.PORT_MAP)
        }
        bridges: set[str] = set()
        subnets: set[str] = set()
        for n in networks:
            try:
                cfg = self._config(n.options, n.ipv4_data, n.ipv6_data, n.id)
            except InvalidOptionError:
                continue
            bridges.add(cfg.bridge)
            subnets.update(cfg.subnets)
        out: list[Orphan] = []
        with self._kernel() as ipr:
            for mark, index, name, _master in netlink.marked_links(ipr):
                if mark.owner != self.owner:
                    continue
                if mark.kind == "net" and mark.nid not in live:
                    out.append(
                        Orphan("bridge", name, f"mark {mark}", ("link", index, name, str(mark)))
                    )
                elif mark.kind == "ep" and (mark.eid not in live.get(mark.nid, set())):
                    out.append(
                        Orphan("veth", name, f"mark {mark}", ("link", index, name, str(mark)))
                    )
            for rule in netlink.isolation_rules(ipr, self.table):
                family, priority, bridge = rule
                if bridge not in bridges:
                    out.append(
                        Orphan(
                            "rule",
                            f"iif {bridge} priority {priority}",
                            f"isolation rule (family {family}) of a bridge of no stored network",
                            ("rule", rule),
                        )
                    )
            for dst in netlink.table_routes(ipr, self.table):
                if dst not in subnets:
                    out.append(
                        Orphan(
                            "route",
                            f"prohibit {dst} table {self.table}",
                            "isolation route of no stored network's subnet",
                            ("route", dst),
                        )
                    )
            for saved in self.firewall.rules():
                if netlink.other_drivers_mark(saved.comment, self.owner):
                    continue  # the owner's chains are shared with this state's other drivers
                rule_mark = netlink.parse_mark(saved.comment)
                if rule_mark is None or rule_mark.owner != self.owner or rule_mark.nid not in live:
                    detail = f"firewall rule of no stored network (comment {saved.comment!r})"
                    out.append(Orphan("firewall", str(saved), detail, ("firewall", saved)))
                elif rule_mark.eid is not None and (rule_mark.nid, rule_mark.eid) not in publishing:
                    detail = (
                        "published-port rule of no stored endpoint publishing ports "
                        f"(comment {saved.comment!r})"
                    )
                    out.append(Orphan("firewall", str(saved), detail, ("firewall", saved)))
        # internal rules before the rules that make them ours; links last
        order = {"rule": 0, "route": 1, "firewall": 2, "veth": 3, "bridge": 4}
        out.sort(key=lambda o: (order.get(o.kind, 9), -_priority(o)))
        return out

    def remove_orphan(self, orphan: Orphan) -> None:
        kind = orphan.handle[0]
        with self._kernel() as ipr:
            if kind == "link":
                _, index, name, mark = orphan.handle
                if netlink.lookup(ipr, name) == index:
                    netlink.delete_link(ipr, name, mark)
            elif kind == "rule":
                netlink.remove_rule(ipr, orphan.handle[1], self.table)
            elif kind == "route":
                netlink.remove_table_route(ipr, self.table, orphan.handle[1])
            elif kind == "firewall":
                self.firewall.remove(orphan.handle[1])


def _priority(orphan: Orphan) -> int:
    if orphan.handle and orphan.handle[0] == "rule":
        return int(orphan.handle[1][1])
    return 0


def init(callback: DriverCallback, owner: str | None = None) -> None:
    """Register the ``bridge`` driver (``owner``: see :class:`BridgeDriver`)."""
    callback.register_driver(NAME, BridgeDriver(owner), Capability(Scope.LOCAL))
