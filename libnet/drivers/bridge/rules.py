"""The iptables rules of one bridge network (see :mod:`libnet.osl.firewall` for where they go).

Per IP family of the network's subnets (IPv4 when it has none):

* not internal: ACCEPT what leaves the bridge for another interface, and what comes back to
  it as part of a connection (``RELATED,ESTABLISHED``); new connections from outside are
  left to the host's policy (Docker's ``DROP``), as for Docker's own bridges;
* internal: DROP what leaves the bridge for another interface and what enters it from one;
* between the bridge's own ports: ACCEPT, or DROP when ICC is off (the ports are isolated
  in the bridge as well);
* MASQUERADE of each subnet to any other interface, unless the network is internal or
  ``com.docker.network.bridge.enable_ip_masquerade`` is false.

Isolation between libnet's networks stays with the policy routes of
:mod:`libnet.drivers.bridge.netlink`; these rules only let through what must pass.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from libnet.osl.firewall import FILTER, NAT, Rule

ESTABLISHED = ("-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED")


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
            out.append(rule(FILTER, "ACCEPT", "-i", bridge, "!", "-o", bridge))
            out.append(rule(FILTER, "ACCEPT", "-o", bridge, *ESTABLISHED))
        out.append(rule(FILTER, "ACCEPT" if icc else "DROP", "-i", bridge, "-o", bridge))
        if masquerade and not internal:
            for subnet in subnets:
                net = ipaddress.ip_network(subnet, strict=False)
                if net.version == family:
                    out.append(rule(NAT, "MASQUERADE", "-s", str(net), "!", "-o", bridge))
    return out
