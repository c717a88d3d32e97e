"""LedgerDriver: a portable driver that keeps a ledger of networks and endpoints in memory."""

from __future__ import annotations

import hashlib
import ipaddress
import re
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import libnet
import libnet.labels
from libnet.errors import (
    ActiveContainerError,
    ActiveEndpointsError,
    EndpointExistsError,
    EndpointInSandboxError,
    EndpointNotFoundError,
    ForbiddenError,
    InvalidOptionError,
    NetworkExistsError,
    NetworkNotFoundError,
)

__all__ = ["ADDRESS_OPTION", "DEFAULT_MAC_PREFIX", "LedgerDriver"]

ADDRESS_OPTION = "ledger.address"
"""Endpoint option: an IPv4 or IPv6 address with prefix length for the interface."""

DEFAULT_MAC_PREFIX = "02:1e"
"""Leading octets of the MACs the ledger makes: locally administered, unicast."""

_OCTET_RE = re.compile(r"^[0-9a-f]{2}$")
_MAX_MAC_ATTEMPTS = 4096
_MAX_EVENTS = 10_000


def parse_mac_prefix(value: object) -> tuple[int, ...]:
    """Parse a MAC prefix of one to five octets (``"02:1e"``); it must be locally administered."""
    if not isinstance(value, str):
        raise InvalidOptionError(
            f"ledger mac_prefix must be a string such as {DEFAULT_MAC_PREFIX!r}, not {value!r}"
        )
    parts = value.strip().lower().replace("-", ":").split(":")
    if not 1 <= len(parts) <= 5 or not all(_OCTET_RE.match(p) for p in parts):
        raise InvalidOptionError(
            f"ledger mac_prefix {value!r} must be one to five hex octets such as "
            f"{DEFAULT_MAC_PREFIX!r}"
        )
    octets = tuple(int(p, 16) for p in parts)
    if octets[0] & 0b11 != 0b10:
        raise InvalidOptionError(
            f"ledger mac_prefix {value!r} must start with a locally administered unicast "
            "octet (second-lowest bit set, lowest bit clear), such as 02, 06, 0a or 0e"
        )
    return octets


@dataclass
class EndpointEntry:
    """What the ledger knows about one endpoint."""

    nid: str
    eid: str
    mac_address: str | None
    address: str | None
    address_ipv6: str | None
    options: dict[str, Any]
    restored: bool = False
    sandbox_key: str | None = None
    joined: bool | None = False
    """True or False; None after a restore, which does not say whether it was joined."""
    join_count: int = 0
    src_name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.nid,
            "endpoint": self.eid,
            "mac_address": self.mac_address,
            "address": self.address,
            "address_ipv6": self.address_ipv6,
            "options": dict(self.options),
            "restored": self.restored,
            "sandbox_key": self.sandbox_key,
            "joined": self.joined,
            "join_count": self.join_count,
            "src_name": self.src_name,
        }


@dataclass
class NetworkEntry:
    """What the ledger knows about one network."""

    nid: str
    options: dict[str, Any]
    labels: dict[str, str]
    ipv4_pools: list[str]
    ipv6_pools: list[str]
    restored: bool = False
    endpoints: dict[str, EndpointEntry] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "network": self.nid,
            "options": dict(self.options),
            "labels": dict(self.labels),
            "ipv4_pools": list(self.ipv4_pools),
            "ipv6_pools": list(self.ipv6_pools),
            "restored": self.restored,
            "endpoints": sorted(self.endpoints),
        }


class LedgerDriver(libnet.Driver):
    """Records every network and endpoint it is asked to manage; programs nothing.

    ``config`` may set ``mac_prefix`` (one to five octets, locally administered), the
    leading octets of the MAC addresses it derives from endpoint IDs.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        config = config or {}
        unknown = sorted(set(config) - {"mac_prefix"})
        if unknown:
            raise InvalidOptionError(
                f"unknown ledger driver configuration {', '.join(map(repr, unknown))}; "
                "the ledger knows only 'mac_prefix'"
            )
        self._mac_prefix = parse_mac_prefix(config.get("mac_prefix", DEFAULT_MAC_PREFIX))
        self._lock = threading.Lock()
        self._networks: dict[str, NetworkEntry] = {}
        self._events: deque[tuple[str, str, str | None]] = deque(maxlen=_MAX_EVENTS)

    # -- reading the ledger ----------------------------------------------------------

    def networks(self) -> dict[str, dict[str, Any]]:
        """A snapshot of every network entry, keyed by network ID."""
        with self._lock:
            return {nid: net.to_dict() for nid, net in self._networks.items()}

    def endpoints(self, nid: str) -> dict[str, dict[str, Any]]:
        """A snapshot of the endpoint entries of network ``nid``, keyed by endpoint ID."""
        with self._lock:
            net = self._network(nid)
            return {eid: ep.to_dict() for eid, ep in net.endpoints.items()}

    def events(self) -> list[tuple[str, str, str | None]]:
        """The calls that changed the ledger, oldest first (the last 10,000): (method, nid, eid)."""
        with self._lock:
            return list(self._events)

    def mac_for(self, eid: str, attempt: int = 0) -> str:
        """The MAC address derived from endpoint ID ``eid`` (``attempt`` > 0 after a clash)."""
        seed = eid if attempt == 0 else f"{eid}/{attempt}"
        digest = hashlib.sha256(seed.encode()).digest()
        octets = self._mac_prefix + tuple(digest[: 6 - len(self._mac_prefix)])
        return ":".join(f"{o:02x}" for o in octets)

    # -- lookups ---------------------------------------------------------------------

    def _network(self, nid: str) -> NetworkEntry:
        net = self._networks.get(nid)
        if net is None:
            raise NetworkNotFoundError(
                f"ledger driver has no network {nid[:12]!r}; create the network first"
            )
        return net

    def _endpoint(self, nid: str, eid: str) -> EndpointEntry:
        net = self._network(nid)
        ep = net.endpoints.get(eid)
        if ep is None:
            raise EndpointNotFoundError(
                f"ledger driver has no endpoint {eid[:12]!r} on network {nid[:12]!r}; "
                "create the endpoint first"
            )
        return ep

    # -- networks --------------------------------------------------------------------

    def create_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[libnet.IPAMData],
        ipv6_data: list[libnet.IPAMData],
    ) -> None:
        """Record network ``nid`` with its generic options, labels and pools."""
        entry = _network_entry(nid, options, ipv4_data, ipv6_data)
        with self._lock:
            if nid in self._networks:
                raise NetworkExistsError(f"ledger driver already has network {nid[:12]!r}")
            self._networks[nid] = entry
            self._events.append(("create_network", nid, None))

    def restore_network(
        self,
        nid: str,
        options: Mapping[str, Any],
        ipv4_data: list[libnet.IPAMData],
        ipv6_data: list[libnet.IPAMData],
    ) -> None:
        """Re-create the entry of an existing network after a restart; keeps known endpoints."""
        entry = _network_entry(nid, options, ipv4_data, ipv6_data)
        entry.restored = True
        with self._lock:
            current = self._networks.get(nid)
            if current is not None:
                entry.endpoints = current.endpoints
            self._networks[nid] = entry
            self._events.append(("restore_network", nid, None))

    def delete_network(self, nid: str) -> None:
        """Forget network ``nid``; it must have no endpoints left."""
        with self._lock:
            net = self._network(nid)
            if net.endpoints:
                raise ActiveEndpointsError(
                    f"ledger driver still has {len(net.endpoints)} endpoint(s) on network "
                    f"{nid[:12]!r}; delete them first"
                )
            del self._networks[nid]
            self._events.append(("delete_network", nid, None))

    # -- endpoints -------------------------------------------------------------------

    def create_endpoint(
        self, nid: str, eid: str, iface: libnet.InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        """Record endpoint ``eid``, giving the interface a MAC and the ``ledger.address``."""
        address = _address_option(options)
        with self._lock:
            net = self._network(nid)
            if eid in net.endpoints:
                raise EndpointExistsError(
                    f"ledger driver already has endpoint {eid[:12]!r} on network {nid[:12]!r}"
                )
            self._fill_interface(iface, eid, address)
            net.endpoints[eid] = _endpoint_entry(nid, eid, iface, options)
            self._events.append(("create_endpoint", nid, eid))

    def restore_endpoint(
        self, nid: str, eid: str, iface: libnet.InterfaceInfo, options: Mapping[str, Any]
    ) -> None:
        """Re-create an endpoint's entry from the interface the controller kept.

        The controller does not say whether the endpoint is joined, so a new entry's join
        state is unknown (``joined`` is None) until the next join or leave.
        """
        address = _address_option(options)
        with self._lock:
            net = self._network(nid)
            self._fill_interface(iface, eid, address)
            entry = _endpoint_entry(nid, eid, iface, options)
            entry.restored, entry.joined = True, None
            current = net.endpoints.get(eid)
            if current is not None:
                entry.sandbox_key, entry.joined = current.sandbox_key, current.joined
                entry.join_count, entry.src_name = current.join_count, current.src_name
            net.endpoints[eid] = entry
            self._events.append(("restore_endpoint", nid, eid))

    def restore_join(
        self,
        nid: str,
        eid: str,
        joined: bool,
        sandbox_key: str | None,
        options: Mapping[str, Any],
    ) -> None:
        """Take the join state the store has: another process may have joined or left."""
        with self._lock:
            ep = self._endpoint(nid, eid)
            ep.joined, ep.sandbox_key = joined, sandbox_key if joined else None
            if joined and ep.src_name is None:
                ep.src_name = "ledger-" + eid[:7]
            if not joined:
                ep.src_name = None
            self._events.append(("restore_join", nid, eid))

    def _fill_interface(self, iface: libnet.InterfaceInfo, eid: str, address: str | None) -> None:
        """Give ``iface`` the ledger's MAC and ``address`` where the controller left them empty."""
        if iface.mac_address is None:
            taken = {
                ep.mac_address
                for net in self._networks.values()
                for ep in net.endpoints.values()
                if ep.eid != eid
            }
            for attempt in range(_MAX_MAC_ATTEMPTS):
                mac = self.mac_for(eid, attempt)
                if mac not in taken:
                    break
            else:
                raise ForbiddenError(
                    f"ledger driver found no free MAC address for endpoint {eid[:12]!r} "
                    "with its mac_prefix; configure a shorter mac_prefix"
                )
            iface.set_mac_address(mac)
        if address is not None:
            version = ipaddress.ip_interface(address).version
            current = iface.address if version == 4 else iface.address_ipv6
            if current is None:
                iface.set_ip_address(address)

    def delete_endpoint(self, nid: str, eid: str) -> None:
        """Forget endpoint ``eid``; it must have left its sandbox."""
        with self._lock:
            ep = self._endpoint(nid, eid)
            if ep.joined is True:
                raise ActiveContainerError(
                    f"ledger driver: endpoint {eid[:12]!r} is still joined to "
                    f"{ep.sandbox_key!r}; leave first"
                )
            del self._networks[nid].endpoints[eid]
            self._events.append(("delete_endpoint", nid, eid))

    def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
        """The ledger entry of the endpoint, with its network's labels."""
        with self._lock:
            ep = self._endpoint(nid, eid)
            return {**ep.to_dict(), "network_labels": dict(self._networks[nid].labels)}

    # -- sandboxes -------------------------------------------------------------------

    def join(
        self,
        nid: str,
        eid: str,
        sandbox_key: str | None,
        jinfo: libnet.JoinInfo,
        options: Mapping[str, Any],
    ) -> None:
        """Record the sandbox and name the interface ``ledger-<eid[:7]>`` with prefix ``eth``."""
        with self._lock:
            ep = self._endpoint(nid, eid)
            if ep.joined is True:
                raise EndpointInSandboxError(
                    f"ledger driver: endpoint {eid[:12]!r} is already joined to "
                    f"{ep.sandbox_key!r}; leave first"
                )
            src_name = "ledger-" + eid[:7]
            jinfo.set_names(src_name, "eth")
            ep.sandbox_key, ep.joined, ep.src_name = sandbox_key, True, src_name
            ep.join_count += 1
            self._events.append(("join", nid, eid))

    def leave(self, nid: str, eid: str) -> None:
        """Clear the endpoint's sandbox; it must be joined (or restored, join state unknown)."""
        with self._lock:
            ep = self._endpoint(nid, eid)
            if ep.joined is False:
                raise ForbiddenError(
                    f"ledger driver: endpoint {eid[:12]!r} is not joined to any sandbox"
                )
            ep.sandbox_key, ep.joined, ep.src_name = None, False, None
            self._events.append(("leave", nid, eid))


def _network_entry(
    nid: str,
    options: Mapping[str, Any],
    ipv4_data: list[libnet.IPAMData],
    ipv6_data: list[libnet.IPAMData],
) -> NetworkEntry:
    generic = options.get(libnet.labels.GENERIC) or {}
    labels = options.get(libnet.labels.NETWORK_LABELS) or {}
    return NetworkEntry(
        nid=nid,
        options=dict(generic),
        labels={str(k): str(v) for k, v in labels.items()},
        ipv4_pools=[d.pool for d in ipv4_data],
        ipv6_pools=[d.pool for d in ipv6_data],
    )


def _endpoint_entry(
    nid: str, eid: str, iface: libnet.InterfaceInfo, options: Mapping[str, Any]
) -> EndpointEntry:
    return EndpointEntry(
        nid=nid,
        eid=eid,
        mac_address=iface.mac_address,
        address=iface.address,
        address_ipv6=iface.address_ipv6,
        options=dict(options),
    )


def _address_option(options: Mapping[str, Any]) -> str | None:
    """The validated ``ledger.address`` endpoint option, or None."""
    value = options.get(ADDRESS_OPTION)
    if value is None:
        return None
    try:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError(value)
        return str(ipaddress.ip_interface(value))
    except ValueError:
        raise InvalidOptionError(
            f"endpoint option {ADDRESS_OPTION}={value!r} must be an address with prefix "
            "length, such as 10.0.0.2/24 or fd00::2/64"
        ) from None
