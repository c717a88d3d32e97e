"""Well-known option and label keys, as libnetwork names them (``com.docker.network.*``)."""

from __future__ import annotations

PREFIX = "com.docker.network"

GENERIC = f"{PREFIX}.generic"
"""Network options: the user's ``-o KEY=VALUE`` options, as a mapping."""

ENABLE_IPV6 = f"{PREFIX}.enable_ipv6"
"""Network options: whether the network has IPv6 (bool)."""

INTERNAL = f"{PREFIX}.internal"
"""Network options: whether the network is cut off from outside (bool)."""

NETWORK_LABELS = "io.libnet.network.labels"
"""Network options: the network's labels, a mapping. Docker never passes labels to drivers
(moby/libnetwork#1490); libnet does, under this key of its own."""

MAC_ADDRESS = f"{PREFIX}.endpoint.macaddress"
"""Endpoint options: a MAC address asked for by the user."""

EXPOSED_PORTS = f"{PREFIX}.endpoint.exposedports"
"""Join options: the ports a container exposes."""

PORT_MAP = f"{PREFIX}.portmap"
"""Join options: the port mappings asked for."""

BRIDGE_NAME = f"{PREFIX}.bridge.name"
"""Bridge driver option: the name of the Linux bridge."""

MTU = f"{PREFIX}.driver.mtu"
"""Network option: the MTU of the network's interfaces."""

ENABLE_ICC = f"{PREFIX}.bridge.enable_icc"
"""Bridge driver option: whether endpoints of the network may talk to each other."""

ENABLE_IP_MASQUERADE = f"{PREFIX}.bridge.enable_ip_masquerade"
"""Bridge driver option: whether traffic from the network's subnets to outside is masqueraded."""

BRIDGE_FIREWALL = "io.libnet.bridge.firewall"
"""Bridge driver option (libnet's own): whether the driver programs iptables for the network
(default true); false on a host without iptables, where nothing else needs it."""
