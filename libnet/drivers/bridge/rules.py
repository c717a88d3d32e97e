"""The iptables rules of one bridge network (see :mod:`libnet.osl.firewall` for where they go).

Per IP family of the network's subnets (IPv4 when it has none):

* not internal: ACCEPT what leaves the bridge for another interface (but first, where Docker
  runs, through Docker's ``DOCKER-ISOLATION-STAGE-2``, which drops what goes on to one of
  Docker's bridges), and what comes back to it as part of a connection
  (``RELATED,ESTABLISHED``); DROP new connections that enter the bridge from another
  interface unless they were DNATed (a published port), so neither Docker's bridges, other
  libnet networks nor routed outside traffic reach the containers, whatever the host's
  policy;
* internal: DROP what leaves the bridge for another interface and what enters it from one;
* between the bridge's own ports: ACCEPT, or DROP when ICC is off (the ports are isolated
  in the bridge as well);
* MASQUERADE of each subnet to any other interface, unless the network is internal or
  ``com.docker.network.bridge.enable_ip_masquerade`` is false.

Isolation between libnet's networks stays with the policy routes of
:mod:`libnet.drivers.bridge.netlink`; these rules only let through what must pass.
Published ports: :func:`port_rules`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from libnet.errors import InvalidOptionError
from libnet.osl.firewall import DNAT, DOCKER_ISOLATION, FILTER, NAT, Rule, Ruleset
from libnet.portmap import PROTOCOLS, PortBinding

ESTABLISHED = ("-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED")
UNSOLICITED = ("-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT")
"""Neither part of a connection nor DNATed: a new connection nobody published."""


def network_rules(
    bridge: str,
    subnets: Sequence[str],
    *,
    comment: str,
    internal: bool,
    icc: bool,
    masquerade: bool,
) -> list[Rule]:
    """Every rule of the network whose bridge is ``bridge``, marked with ``comment``."""
    versions = {ipaddress.ip_network(s, strict=False).version for s in subnets} or {4}
    out: list[Rule] = []
    for family in sorted(versions):

        def rule(table: str, target: str, *matches: str, family: int = family) -> Rule:
            return Rule(family, table, matches, target, comment)

        if internal:
            out.append(rule(FILTER, "DROP", "-i", bridge, "!", "-o", bridge))
            out.append(rule(FILTER, "DROP", "!", "-i", bridge, "-o", bridge))
        else:
            out.append(rule(FILTER, "DROP", "!", "-i", bridge, "-o", bridge, *UNSOLICITED))
            leaving = ("-i", bridge, "!", "-o", bridge)
            out.append(
                Rule(family, FILTER, leaving, DOCKER_ISOLATION, comment, needs=DOCKER_ISOLATION)
            )
            out.append(rule(FILTER, "ACCEPT", *leaving))
            out.append(rule(FILTER, "ACCEPT", "-o", bridge, *ESTABLISHED))
        out.append(rule(FILTER, "ACCEPT" if icc else "DROP", "-i", bridge, "-o", bridge))
        if masquerade and not internal:
            for subnet in subnets:
                net = ipaddress.ip_network(subnet, strict=False)
                if net.version == family:
                    out.append(rule(NAT, "MASQUERADE", "-s", str(net), "!", "-o", bridge))
    return out


def port_rules(bridge: str, bindings: Sequence[PortBinding], *, comment: str) -> list[Rule]:
    """The rules of an endpoint's published ports, marked with ``comment``.

    Each binding is one made binding (:func:`libnet.portmap.resolved`: one host port, a
    host address of one family, the endpoint's address of that family). Per binding:

    * DNAT of connections to the host port on a local address, unless they come from the
      network's own bridge (the chain is jumped to from ``PREROUTING``, for other hosts, and
      from ``OUTPUT``, for the host itself reaching one of its own non-loopback addresses:
      the "hairpin", whose answers come back through the bridge and the NAT without any
      masquerade, since the host's address is the source);
    * ACCEPT of those connections in ``FORWARD`` when they come from another interface.

    The network's own endpoints reach the port at the endpoint's address: traffic routed
    from a bridge back into its own subnet is refused by the isolation routes (as Docker's
    bridge leaves it to its userland proxy).
    """
    out: list[Rule] = []
    for b in bindings:
        container = ipaddress.ip_address(b.container_ip)
        family = container.version
        host = ipaddress.ip_address(b.host_ip) if b.host_ip else None
        proto = ("-p", b.protocol, "-m", b.protocol)
        dst = ("-d", f"{host}/{host.max_prefixlen}") if host and not host.is_unspecified else ()
        to = (
            f"[{container}]:{b.container_port}"
            if family == 6
            else f"{container}:{b.container_port}"
        )
        out.append(
            Rule(
                family,
                NAT,
                (*dst, "!", "-i", bridge, *proto, "--dport", str(b.host_port)),
                "DNAT",
                comment,
                ("--to-destination", to),
                DNAT,
            )
        )
        to_container = ("-d", f"{container}/{container.max_prefixlen}")
        port = (*proto, "--dport", str(b.container_port))
        out.append(
            Rule(
                family,
                FILTER,
                (*to_container, "!", "-i", bridge, "-o", bridge, *port),
                "ACCEPT",
                comment,
            )
        )
    return out


def published(state: Ruleset, family: int) -> list[tuple[PortBinding, str]]:
    """Every port published by any libnet state (every owner's ``LIBNET-DNAT-*`` chain) in
    an ``iptables-save`` of ``family``: each made binding with its rule's comment."""
    out: list[tuple[PortBinding, str]] = []
    for (table, chain), rules in state.rules.items():
        if table != NAT or not chain.startswith("LIBNET-DNAT-"):
            continue
        for words in rules:
            binding = _binding(words, family)
            if binding is not None:
                out.append((binding, _value(words, "--comment") or ""))
    return out


def _value(words: Sequence[str], name: str) -> str | None:
    for i, word in enumerate(words[:-1]):
        if word == name:
            return words[i + 1]
    return None


def _binding(words: Sequence[str], family: int) -> PortBinding | None:
    """The binding a DNAT rule of :func:`port_rules` makes, or None for another rule."""
    proto, port, to = (
        _value(words, "-p"),
        _value(words, "--dport"),
        _value(words, "--to-destination"),
    )
    if proto not in PROTOCOLS or not port or not to or not port.isdigit():
        return None
    address, _, container_port = to.rpartition(":")
    dst = _value(words, "-d")
    host = dst.split("/")[0] if dst else ("0.0.0.0" if family == 4 else "::")
    try:
        return PortBinding(int(container_port), int(port), proto, host, 0, address.strip("[]"))
    except (ValueError, InvalidOptionError):
        return None
