"""Making an endpoint's port bindings: host ports picked and checked before any rule is written.

A binding asked for (:class:`~libnet.portmap.PortBinding`) becomes one made binding per IP
family the endpoint has an address in (both when the host IP is unset, as Docker publishes
on ``0.0.0.0`` and ``::``): one host port on one family's address, to the endpoint's address.

A host port is refused when another binding already takes it on an overlapping address
(any libnet state's published ports, read from the kernel's ``LIBNET-DNAT-*`` chains), or
when a process of the host listens on it (a test ``bind``; the DNAT would hide that process
from other hosts). Host port 0 picks a free port of the kernel's ephemeral range
(``ip_local_port_range``), as Docker does; a range picks the first free port of the range.
Loopback host addresses are refused: libnet publishes through DNAT, and the kernel does not
route loopback-sourced packets to a bridge. A binding on ``0.0.0.0`` or ``::`` for a family
the endpoint has no address in is left out, as Docker leaves it (it may ask for both).
"""

from __future__ import annotations

import errno
import ipaddress
import random
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from libnet.errors import AddressInUseError, InvalidOptionError
from libnet.portmap import PortBinding, resolved

__all__ = ["Holder", "make_bindings"]

EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")
_SOCKET_TYPES = {"tcp": socket.SOCK_STREAM, "udp": socket.SOCK_DGRAM, "sctp": socket.SOCK_STREAM}
_PROTOCOL_NUMBERS = {"tcp": 0, "udp": 0, "sctp": socket.IPPROTO_SCTP}

Holder = Callable[[str], str]
"""Names the holder of a published port from its rule's comment (for error messages)."""


def _unspecified(family: int) -> str:
    return "0.0.0.0" if family == 4 else "::"


def _ephemeral() -> range:
    try:
        low, high = (int(x) for x in EPHEMERAL.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def _candidates(binding: PortBinding) -> list[int]:
    if binding.host_port == 0:
        ports = list(_ephemeral())
        start = random.randrange(len(ports))
        return ports[start:] + ports[:start]
    return list(range(binding.host_port, binding.last_port + 1))


def _listener(binding: PortBinding) -> bool:
    """Whether a process of this host holds the binding's port (a test bind fails)."""
    family = (
        socket.AF_INET if ipaddress.ip_address(binding.host_ip).version == 4 else socket.AF_INET6
    )
    try:
        sock = socket.socket(
            family, _SOCKET_TYPES[binding.protocol], _PROTOCOL_NUMBERS[binding.protocol]
        )
    except OSError:
        return False  # the host cannot make such sockets (no IPv6, no SCTP): nothing listens
    with sock:
        if binding.protocol != "udp":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is no use
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((binding.host_ip, binding.host_port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            if exc.errno == errno.EADDRNOTAVAIL:
                raise InvalidOptionError(
                    f"published port {binding}: {binding.host_ip} is not an address of this "
                    "host; give one of its addresses, or none for all of them"
                ) from None
    return False


def _check_host_ip(binding: PortBinding, addresses: Mapping[int, str]) -> list[int]:
    families = [f for f in binding.families() if f in addresses]
    if binding.host_ip:
        host = ipaddress.ip_address(binding.host_ip)
        if host.is_unspecified:  # "all of the family's addresses": none to make, as Docker
            return families
        if host.is_loopback:
            raise InvalidOptionError(
                f"published port {binding}: libnet publishes ports through DNAT, which cannot "
                "lead loopback addresses to a bridge; publish on the host's address or on all "
                "of them (no host IP)"
            )
        if not families:
            raise InvalidOptionError(
                f"published port {binding}: the endpoint has no IPv{host.version} address for "
                f"host IP {host}"
            )
    if not families:
        raise InvalidOptionError(f"published port {binding}: the endpoint has no IP address")
    return families


def make_bindings(
    wanted: Sequence[PortBinding],
    addresses: Mapping[int, str],
    taken: Iterable[tuple[PortBinding, str]],
    holder: Holder,
) -> list[PortBinding]:
    """The made bindings for ``wanted`` (see module); ``addresses`` are the endpoint's (by
    family), ``taken`` the bindings made already with their rules' comments.

    Raises AddressInUseError naming the holder, InvalidOptionError for a binding that
    cannot be made here.
    """
    made: list[PortBinding] = []
    others = list(taken)
    for binding in wanted:
        families = _check_host_ip(binding, addresses)
        if not families:
            continue
        refusal = ""
        ports = _candidates(binding)
        for port in ports:
            trial = [
                resolved(binding, port, binding.host_ip or _unspecified(f), addresses[f])
                for f in families
            ]
            refusal = _refusal(trial, others, made, holder)
            if not refusal:
                made.extend(trial)
                break
            if binding.fixed:
                raise AddressInUseError(f"{refusal}; choose another host port")
        else:
            raise AddressInUseError(
                f"published port {binding}: no free host port in "
                f"{min(ports)}-{max(ports)} (the last: {refusal})"
            )
    return made


def _refusal(
    trial: Sequence[PortBinding],
    others: Sequence[tuple[PortBinding, str]],
    made: Sequence[PortBinding],
    holder: Holder,
) -> str:
    """Why the host port of ``trial`` cannot be taken, or "" if it can."""
    for b in trial:
        where = f"host port {b.host_port}/{b.protocol} on {b.host_ip}"
        for other, comment in others:
            if b.clashes(other):
                return f"{where} is already published by {holder(comment)}"
        if any(b.clashes(m) for m in made):
            return f"{where} is asked for twice"
        if _listener(b):
            return f"{where} is in use by a process of the host"
    return ""
