"""Node discovery: this host's advertise address and registration, and the hosts' comings
and goings reported to global-scope drivers (``discover_new`` / ``discover_delete``)."""

from libnet.nodes._address import ENV_ADVERTISE_ADDR, advertise_address, default_route_address
from libnet.nodes._discovery import (
    DEFAULT_TTL,
    NODE_PREFIX,
    DiscoveryType,
    NodeDiscovery,
    NodeRecord,
    registered_node,
)

__all__ = [
    "DEFAULT_TTL",
    "ENV_ADVERTISE_ADDR",
    "NODE_PREFIX",
    "DiscoveryType",
    "NodeDiscovery",
    "NodeRecord",
    "advertise_address",
    "default_route_address",
    "registered_node",
]
