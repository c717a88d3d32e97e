"""Published ports: :class:`PortBinding`, read from ``-p`` specs and from Docker's wire form.

A binding says: connections to ``host_port`` (or a free one of ``host_port``..
``host_port_end``; 0 for any free ephemeral port) on ``host_ip`` (empty: every address of the
host) go to ``container_port`` of the endpoint. Docker passes bindings in the
``com.docker.network.portmap`` option (:data:`libnet.labels.PORT_MAP`) as
``{"Proto": 6, "IP": "", "Port": 80, "HostIP": "", "HostPort": 8080, "HostPortEnd": 8080}``;
``IP`` is the container's address once the binding is made.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from libnet.errors import InvalidOptionError

__all__ = ["PROTOCOLS", "PortBinding", "from_wire", "parse_publish", "resolved", "to_wire"]

PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132}
"""Protocol names and their IP protocol numbers (Docker's ``Proto``)."""
_NAMES = {number: name for name, number in PROTOCOLS.items()}

SPEC_HELP = (
    "write [HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp|sctp] (e.g. 8080:80, "
    "192.0.2.10:8080:80/udp, [2001:db8::1]:8080:80), HOST_PORT_A-HOST_PORT_B:CONTAINER_PORT "
    "for one free port of a range, or CONTAINER_PORT alone (or HOST_PORT 0) for any free port"
)
_PORTS = re.compile(r"(\d+)(?:-(\d+))?")


@dataclass(frozen=True)
class PortBinding:
    """One published port. ``host_port`` 0 asks for a free ephemeral port; a range
    (``host_port_end`` above ``host_port``) for a free one in it."""

    container_port: int
    host_port: int = 0
    protocol: str = "tcp"
    host_ip: str = ""
    host_port_end: int = 0
    container_ip: str = ""
    """The endpoint's address the port leads to; set once the binding is made."""

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise InvalidOptionError(
                f"port binding protocol {self.protocol!r} is not one of tcp, udp, sctp"
            )
        if not 1 <= self.container_port <= 65535:
            raise InvalidOptionError(
                f"port binding container port {self.container_port} must be 1 to 65535"
            )
        if not 0 <= self.host_port <= 65535 or not 0 <= self.host_port_end <= 65535:
            raise InvalidOptionError(
                f"port binding host port {self.host_port or self.host_port_end} must be "
                "0 (any free port) or 1 to 65535"
            )
        if self.host_port_end and self.host_port_end < self.host_port:
            raise InvalidOptionError(
                f"port binding host port range {self.host_port}-{self.host_port_end} ends "
                "before it starts"
            )
        for what, value in (("host IP", self.host_ip), ("container IP", self.container_ip)):
            if value:
                try:
                    ipaddress.ip_address(value)
                except ValueError:
                    raise InvalidOptionError(
                        f"port binding {what} {value!r} is not an IP address"
                    ) from None

    @property
    def last_port(self) -> int:
        """The last host port this binding may use (``host_port`` unless a range)."""
        return max(self.host_port, self.host_port_end)

    @property
    def fixed(self) -> bool:
        """Whether the host port is one given port (no range, not 0)."""
        return self.host_port != 0 and self.last_port == self.host_port

    def families(self) -> tuple[int, ...]:
        """The IP families the binding listens on: its host IP's, or both when unset."""
        if not self.host_ip:
            return (4, 6)
        return (ipaddress.ip_address(self.host_ip).version,)

    def clashes(self, other: PortBinding) -> bool:
        """Whether both could take the same host port on the same address and protocol."""
        if self.protocol != other.protocol:
            return False
        if self.last_port < other.host_port or other.last_port < self.host_port:
            return False
        if self.host_port == 0 or other.host_port == 0:
            return False  # an ephemeral port is picked free of the others
        if not set(self.families()) & set(other.families()):
            return False
        mine, theirs = _address(self.host_ip), _address(other.host_ip)
        return mine is None or theirs is None or mine == theirs

    def to_wire(self) -> dict[str, Any]:
        """Docker's form (``com.docker.network.portmap`` items)."""
        return {
            "Proto": PROTOCOLS[self.protocol],
            "IP": self.container_ip,
            "Port": self.container_port,
            "HostIP": self.host_ip,
            "HostPort": self.host_port,
            "HostPortEnd": self.host_port_end,
        }

    def __str__(self) -> str:
        """Docker's ``docker port`` form: ``0.0.0.0:8080->80/tcp``."""
        host = self.host_ip or "*"
        if ":" in host:
            host = f"[{host}]"
        ports = str(self.host_port)
        if self.host_port_end and self.host_port_end != self.host_port:
            ports += f"-{self.host_port_end}"
        return f"{host}:{ports}->{self.container_port}/{self.protocol}"


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address, or None for an unset or unspecified one (every address)."""
    if not text:
        return None
    address = ipaddress.ip_address(text)
    return None if address.is_unspecified else address


def parse_publish(spec: PortBinding | str) -> PortBinding:
    """A binding from ``[HOST_IP:]HOST_PORT:CONTAINER_PORT[/PROTO]`` (see :data:`SPEC_HELP`)."""
    if isinstance(spec, PortBinding):
        return spec
    if not isinstance(spec, str):
        raise InvalidOptionError(
            f"published port {spec!r} is neither a string nor a libnet.PortBinding; {SPEC_HELP}"
        )
    text, _, proto = spec.strip().partition("/")
    ip = ""
    if text.startswith("["):  # an IPv6 host address
        ip, bracket, text = text[1:].partition("]")
        if not bracket or not text.startswith(":"):
            raise InvalidOptionError(f"published port {spec!r} is not understood; {SPEC_HELP}")
        text = text[1:]
        parts = text.split(":")
        if len(parts) == 1:
            parts = ["", *parts]
    else:
        parts = text.split(":")
        if len(parts) == 3:
            ip = parts.pop(0)
    if len(parts) == 1:
        parts = ["", *parts]
    host, port = parts if len(parts) == 2 else ("x", "x")
    host_match = _PORTS.fullmatch(host or "0")
    if host_match is None or not port.isdigit():
        raise InvalidOptionError(f"published port {spec!r} is not understood; {SPEC_HELP}")
    try:
        return PortBinding(
            container_port=int(port),
            host_port=int(host_match[1]),
            protocol=(proto or "tcp").lower(),
            host_ip=ip,
            host_port_end=int(host_match[2] or 0),
        )
    except InvalidOptionError as exc:
        raise InvalidOptionError(f"published port {spec!r}: {exc}; {SPEC_HELP}") from None


def from_wire(items: object, what: str = "option com.docker.network.portmap") -> list[PortBinding]:
    """Bindings from Docker's list of ``{"Proto", "IP", "Port", "HostIP", ...}`` (None: none)."""
    if items is None:
        return []
    if not isinstance(items, list | tuple):
        raise InvalidOptionError(f"{what} must be a list of port bindings, not {items!r}")
    out = []
    for item in items:
        if isinstance(item, PortBinding):
            out.append(item)
            continue
        if not isinstance(item, Mapping):
            raise InvalidOptionError(f"{what}: {item!r} is not a port binding object")
        fields = {str(k).lower(): v for k, v in item.items()}  # Go's JSON: any case
        try:
            proto = int(fields.get("proto", 6))
            if proto not in _NAMES:
                raise InvalidOptionError(f"protocol {proto} is not TCP (6), UDP (17) or SCTP (132)")
            out.append(
                PortBinding(
                    container_port=int(fields.get("port") or 0),
                    host_port=int(fields.get("hostport") or 0),
                    protocol=_NAMES[proto],
                    host_ip=str(fields.get("hostip") or ""),
                    host_port_end=int(fields.get("hostportend") or 0),
                    container_ip=str(fields.get("ip") or ""),
                )
            )
        except InvalidOptionError as exc:
            raise InvalidOptionError(f"{what}: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise InvalidOptionError(f"{what}: bad port binding {dict(item)!r}: {exc}") from None
    return out


def to_wire(bindings: Iterable[PortBinding]) -> list[dict[str, Any]]:
    """Docker's form of ``bindings``."""
    return [b.to_wire() for b in bindings]


def resolved(binding: PortBinding, host_port: int, host_ip: str, container_ip: str) -> PortBinding:
    """The binding as made: one host port on one family's address, to ``container_ip``."""
    return replace(
        binding, host_port=host_port, host_port_end=0, host_ip=host_ip, container_ip=container_ip
    )
