"""A host's advertise address: given, from ``LIBNET_ADVERTISE_ADDR``, or the default route's.

The advertise address is where other hosts reach this one (the overlay's VTEP). Without one
given, it is the first IPv4 address of the interface that holds the default route.
"""

from __future__ import annotations

import ipaddress
import os
import socket

from libnet.errors import InvalidOptionError
from libnet.osl import rtnl

__all__ = ["ENV_ADVERTISE_ADDR", "advertise_address", "default_route_address"]

ENV_ADVERTISE_ADDR = "LIBNET_ADVERTISE_ADDR"


def default_route_address(netns: str | None = None) -> str | None:
    """The first IPv4 address of the default route's interface in ``netns``, or None."""
    with rtnl.rtnl(netns) as ipr:
        for route in ipr.get_default_routes(family=socket.AF_INET, table=254):
            for addr in ipr.get_addr(family=socket.AF_INET, index=route.get("oif")):
                return str(addr.get("address"))
    return None


def advertise_address(given: str | None = None, netns: str | None = None) -> str:
    """``given``, else ``LIBNET_ADVERTISE_ADDR``, else the default route's address; an
    InvalidOptionError naming the settings when it is not an IP address or none is found."""
    value = given or os.environ.get(ENV_ADVERTISE_ADDR) or default_route_address(netns)
    if not value:
        raise InvalidOptionError(
            "this host has no default route, so libnet cannot tell its advertise address: "
            f"give --advertise-addr or set {ENV_ADVERTISE_ADDR}"
        )
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        where = "--advertise-addr" if given else ENV_ADVERTISE_ADDR
        raise InvalidOptionError(
            f"advertise address {value!r} ({where}) is not an IP address: give this host's "
            "address on the network that joins the hosts"
        ) from None
