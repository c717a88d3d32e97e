"""The iptables rules of one overlay network on one host (see :mod:`libnet.osl.firewall` for
where they go: the owner's ``LIBNET-FWD-<owner>`` chain, jumped to from ``DOCKER-USER``
where it exists, else from ``FORWARD``).

Where the kernel's bridge netfilter is on (``bridge-nf-call-iptables=1``, as on a Docker
host), frames the network's bridge passes between its own ports (a local endpoint's veth and
the vxlan device) go through iptables' ``FORWARD`` as if routed, in and out of the bridge;
with Docker's ``FORWARD`` policy ``DROP`` they are dropped and the overlay carries nothing.
One ACCEPT per IP family lets them through; it matches nothing but the bridge's own traffic
(the bridge has no address: the host never routes into an overlay).
"""

from __future__ import annotations

from collections.abc import Iterable

from libnet.osl.firewall import FILTER, Rule

__all__ = ["network_rules"]


def network_rules(bridge: str, families: Iterable[int], *, comment: str) -> list[Rule]:
    """The rules of the network whose bridge is ``bridge``, marked with ``comment``."""
    return [
        Rule(family, FILTER, ("-i", bridge, "-o", bridge), "ACCEPT", comment)
        for family in sorted(set(families))
    ]
