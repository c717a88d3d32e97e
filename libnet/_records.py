"""The controller's state: plain records of networks, endpoints and sandboxes.

Records are what the controller keeps (and what a store persists); the public
``Network``, ``Endpoint`` and ``Sandbox`` objects are handles that read them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from libnet import labels
from libnet.errors import InvalidNameError, InvalidOptionError

MAX_NAME = 64
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_CONTAINER_ID = 128
MAX_IFNAME = 15


def new_id() -> str:
    """A random 64-hex-character ID, as Docker makes them."""
    return os.urandom(32).hex()


def now() -> str:
    """The current UTC time in ISO 8601, as Docker prints it."""
    return datetime.now(timezone.utc).isoformat()


def check_name(kind: str, name: object) -> str:
    """Return ``name`` if it is a valid object name, else raise InvalidNameError."""
    if not isinstance(name, str) or not name:
        raise InvalidNameError(f"{kind} name must be a non-empty string, not {name!r}")
    if len(name) > MAX_NAME:
        raise InvalidNameError(
            f"{kind} name {name[:20]!r}... is {len(name)} characters long; the limit is {MAX_NAME}"
        )
    if not _NAME_RE.fullmatch(name):
        raise InvalidNameError(
            f"{kind} name {name!r} is not valid: use letters, digits, '_', '.' and '-', "
            "starting with a letter or digit"
        )
    return name


def check_container_id(container_id: object) -> str:
    """Return ``container_id`` if Docker would accept it as a container name or ID.

    Letters, digits, '_', '.' and '-', starting with a letter or digit, at most 128
    characters: nothing that could forge a row of a listing or reach a terminal as a
    control sequence.
    """
    if not isinstance(container_id, str) or not container_id:
        raise InvalidNameError(f"container ID must be a non-empty string, not {container_id!r}")
    if len(container_id) > MAX_CONTAINER_ID:
        raise InvalidNameError(
            f"container ID {container_id[:20]!r}... is {len(container_id)} characters long; "
            f"the limit is {MAX_CONTAINER_ID}"
        )
    if not _NAME_RE.fullmatch(container_id):
        raise InvalidNameError(
            f"container ID {container_id!r} is not valid: use letters, digits, '_', '.' and "
            "'-', starting with a letter or digit, as Docker does"
        )
    return container_id


def check_ifname(name: object) -> str:
    """Return ``name`` if the kernel accepts it as an interface name, else InvalidNameError."""
    if (
        not isinstance(name, str)
        or not 0 < len(name.encode()) <= MAX_IFNAME
        or name in (".", "..")
        or any(ch in name for ch in "/:")
        or any(ch.isspace() for ch in name)
        or not name.isprintable()
    ):
        raise InvalidNameError(
            f"interface name {name!r} is not valid: use 1 to {MAX_IFNAME} characters, "
            "no '/', ':' or white space"
        )
    return name


def check_mapping(kind: str, value: object) -> dict[str, Any]:
    """Copy an options or labels mapping, checking that its keys are non-empty strings."""
    if value is None:
        return {}
    if not hasattr(value, "items"):
        raise InvalidOptionError(f"{kind} must be a mapping of strings, not {type(value).__name__}")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            raise InvalidOptionError(f"{kind} key {key!r} must be a non-empty string")
        out[key] = item
    return out


@dataclass
class EndpointRecord:
    id: str
    name: str
    network_id: str
    options: dict[str, Any]
    interface: dict[str, str | None]
    created: str
    sandbox_id: str | None = None
    join: dict[str, Any] | None = None
    join_options: dict[str, Any] = field(default_factory=dict)
    allocations: list[list[str]] = field(default_factory=list)
    """(IPAM pool ID, address) of each address IPAM gave the endpoint."""
    host: str | None = None
    """The host that owns the endpoint (endpoints of global networks only)."""


@dataclass
class NetworkRecord:
    id: str
    name: str
    type: str
    scope: str
    options: dict[str, Any]
    labels: dict[str, str]
    internal: bool
    enable_ipv6: bool
    created: str
    ipam: dict[str, Any] = field(default_factory=dict)
    """IPAM driver, options and the pools it gave (see libnet._addressing)."""

    @property
    def mtu(self) -> int | None:
        """The MTU asked for in option ``com.docker.network.driver.mtu``, or None."""
        value = self.options.get(labels.MTU)
        return int(value) if isinstance(value, (int, str)) and str(value).isdigit() else None

    def driver_options(self) -> dict[str, Any]:
        """The options mapping handed to the driver's create_network, as libnetwork builds it."""
        return {
            labels.GENERIC: dict(self.options),
            labels.ENABLE_IPV6: self.enable_ipv6,
            labels.INTERNAL: self.internal,
            labels.NETWORK_LABELS: dict(self.labels),
        }


@dataclass
class SandboxRecord:
    id: str
    container_id: str
    key: str | None
    created: str
    endpoints: list[tuple[str, str]] = field(default_factory=list)
    """(network ID, endpoint ID) of each joined endpoint, in join order."""
    owns_key: bool = False
    """Whether libnet created the namespace at ``key`` (and removes it with the sandbox)."""


def to_interface_kwargs(interface: dict[str, str | None]) -> dict[str, str | None]:
    """The stored interface fields as keyword arguments of InterfaceInfo."""
    return {k: interface.get(k) for k in ("mac_address", "address", "address_ipv6")}
