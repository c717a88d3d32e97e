"""Pool configurations: parsing CIDRs and addresses, default pool lists, and validation.

:func:`validate_pool_config` is what the controller runs on a network's ``--subnet``,
``--ip-range``, ``--gateway`` and ``--aux-address`` before asking an IPAM driver for
anything, so that bad input fails with a clear message and changes nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from libnet.errors import InvalidAddressError, InvalidPoolError

__all__ = [
    "DEFAULT_GLOBAL_POOLS",
    "DEFAULT_LOCAL_POOLS",
    "PoolConfig",
    "PoolSpec",
    "host_range",
    "parse_subnet",
    "validate_pool_config",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _family(v6: bool) -> str:
    return "IPv6" if v6 else "IPv4"


def parse_subnet(text: object, what: str = "subnet", v6: bool | None = None) -> Network:
    """Parse a CIDR that must be a network address (no host bits) of the given family.

    Raises InvalidPoolError naming ``what`` (``"subnet"``, ``"ip-range"``, ``"pool"``...).
    """
    if not isinstance(text, str) or "/" not in text:
        raise InvalidPoolError(f"{what} {text!r} is not a CIDR such as 10.1.0.0/16")
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise InvalidPoolError(f"{what} {text!r} is not a CIDR such as 10.1.0.0/16") from None
    if net.network_address != ipaddress.ip_interface(text).ip:
        raise InvalidPoolError(f"invalid {what} {text}: it has host bits set; it should be {net}")
    if v6 is not None and (net.version == 6) != v6:
        raise InvalidPoolError(
            f"{what} {text} is an IPv{net.version} network where an {_family(v6)} one is "
            "expected" + ("; IPv6 subnets need IPv6 enabled on the network" if not v6 else "")
        )
    return net


def _parse_address(text: object, what: str, net: Network) -> Address:
    if not isinstance(text, str) or not text:
        raise InvalidAddressError(f"{what} {text!r} is not an IP address")
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        hint = " (give it without a prefix length)" if "/" in text else ""
        raise InvalidAddressError(f"{what} {text!r} is not an IP address{hint}") from None
    if addr.version != net.version:
        raise InvalidAddressError(
            f"{what} {text} is an IPv{addr.version} address, but the subnet {net} is "
            f"IPv{net.version}"
        )
    return addr


def host_range(v6: bool, prefixlen: int) -> tuple[int, int]:
    """Offsets (from the network address) of the first and last address ever handed out.

    The network address is never handed out, nor the IPv4 broadcast address (for IPv6
    the first address is kept back too, as Docker does, so gateways end in ``::1``).
    Point-to-point subnets are the exception: every address of an IPv4 /31 or /32 and of
    an IPv6 /127 or /128 is usable (RFC 3021, RFC 6164).
    """
    size = 1 << ((128 if v6 else 32) - prefixlen)
    if size <= 2:
        return 0, size - 1
    return 1, size - 1 if v6 else size - 2


def _check_host(addr: Address, net: Network, label: str) -> None:
    """Raise InvalidAddressError unless ``addr`` is a usable address of ``net``."""
    offset = int(addr) - int(net.network_address)
    if not 0 <= offset < net.num_addresses:
        raise InvalidAddressError(f"{label} is not in subnet {net}")
    lo, hi = host_range(net.version == 6, net.prefixlen)
    if not lo <= offset <= hi:
        which = "network" if offset < lo else "broadcast"
        raise InvalidAddressError(
            f"{label} is the {which} address of subnet {net}, which is never handed out"
        )


@dataclass(frozen=True)
class PoolSpec:
    """One entry of a default pool list: ``base`` split into subnets of prefix ``size``.

    As Docker's ``default-address-pools`` entries (``{"base": ..., "size": ...}``).
    """

    base: str
    size: int

    def __post_init__(self) -> None:
        net = parse_subnet(self.base, "default pool base")
        size = self.size
        if not isinstance(size, int) or isinstance(size, bool):
            raise InvalidPoolError(f"default pool size {size!r} must be a prefix length")
        if not net.prefixlen <= size <= net.max_prefixlen:
            raise InvalidPoolError(
                f"default pool size /{size} does not fit base {net}: it must be between "
                f"/{net.prefixlen} and /{net.max_prefixlen}"
            )
        object.__setattr__(self, "base", str(net))

    @property
    def network(self) -> Network:
        """The base as an ``ipaddress`` network."""
        return ipaddress.ip_network(self.base)

    @property
    def v6(self) -> bool:
        """Whether the base is an IPv6 network."""
        return ":" in self.base

    @classmethod
    def of(cls, value: PoolSpec | Mapping[str, Any] | tuple[str, int]) -> PoolSpec:
        """A PoolSpec from itself, a ``{"base", "size"}`` mapping or a ``(base, size)`` pair."""
        if isinstance(value, PoolSpec):
            return value
        if isinstance(value, Mapping):
            unknown = set(value) - {"base", "size"}
            if unknown or "base" not in value or "size" not in value:
                raise InvalidPoolError(
                    f"default pool {dict(value)!r} must have exactly the keys 'base' and 'size'"
                )
            return cls(value["base"], value["size"])
        if isinstance(value, tuple) and len(value) == 2:
            return cls(value[0], value[1])
        raise InvalidPoolError(
            f"default pool {value!r} must be a PoolSpec, a {{'base', 'size'}} mapping or a "
            "(base, size) pair"
        )

    @classmethod
    def many(
        cls, values: Iterable[PoolSpec | Mapping[str, Any] | tuple[str, int]]
    ) -> tuple[PoolSpec, ...]:
        """PoolSpecs from a list of anything :meth:`of` accepts."""
        return tuple(cls.of(v) for v in values)


DEFAULT_LOCAL_POOLS: tuple[PoolSpec, ...] = (
    *(PoolSpec(f"172.{n}.0.0/16", 16) for n in range(17, 32)),
    PoolSpec("192.168.0.0/16", 20),
)
"""Docker's default pools for local networks: 172.17-31.0.0/16, then 192.168.0.0/16 in /20s."""

DEFAULT_GLOBAL_POOLS: tuple[PoolSpec, ...] = (PoolSpec("10.0.0.0/8", 24),)
"""Docker's default pools for global networks: 10.0.0.0/8 in /24s."""


@dataclass(frozen=True)
class PoolConfig:
    """One validated pool configuration of a network (for one IP version).

    ``subnet`` and ``ip_range`` are normalised CIDRs, ``""`` when not given: pass them as
    request_pool's ``pool`` and ``sub_pool``. ``gateway`` is a bare address or None (the
    IPAM driver picks): pass it as request_address's ``address`` with the gateway options.
    ``aux_addresses`` maps names to bare addresses, each to reserve with request_address.
    """

    subnet: str = ""
    ip_range: str = ""
    gateway: str | None = None
    aux_addresses: Mapping[str, str] = field(default_factory=dict)
    v6: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The configuration as plain values, for records and JSON."""
        return {
            "subnet": self.subnet,
            "ip_range": self.ip_range,
            "gateway": self.gateway,
            "aux_addresses": dict(self.aux_addresses),
            "v6": self.v6,
        }


def validate_pool_config(
    subnet: str | None = None,
    ip_range: str | None = None,
    gateway: str | None = None,
    aux_addresses: Mapping[str, str] | None = None,
    v6: bool = False,
) -> PoolConfig:
    """Check one pool configuration and return it normalised; nothing is allocated.

    The subnet must be a network address of the right family; the ip-range a network
    inside it; the gateway and each auxiliary address a usable address of the subnet
    (not its network or broadcast address), all distinct. An ip-range, gateway or
    auxiliary address needs a subnet. Raises InvalidPoolError or InvalidAddressError.
    """
    fam = _family(v6)
    if not subnet:
        given = [
            name
            for name, value in (
                ("an ip-range", ip_range),
                ("a gateway", gateway),
                ("auxiliary addresses", aux_addresses),
            )
            if value
        ]
        if given:
            raise InvalidPoolError(
                f"the {fam} pool has {' and '.join(given)} but no subnet: give the {fam} subnet too"
            )
        return PoolConfig(v6=v6)
    net = parse_subnet(subnet, f"{fam} subnet", v6)
    sub = ""
    if ip_range:
        rng = parse_subnet(ip_range, f"{fam} ip-range", v6)
        if not rng.subnet_of(net):  # type: ignore[arg-type]
            raise InvalidPoolError(f"ip-range {rng} is not inside subnet {net}")
        lo, hi = host_range(v6, net.prefixlen)
        start = int(rng.network_address) - int(net.network_address)
        if start + rng.num_addresses - 1 < lo or start > hi:
            raise InvalidPoolError(
                f"ip-range {rng} holds no address of subnet {net} that can be handed out"
            )
        sub = str(rng)
    taken: dict[Address, str] = {}
    gw: str | None = None
    if gateway:
        addr = _parse_address(gateway, f"{fam} gateway", net)
        _check_host(addr, net, f"gateway {addr}")
        taken[addr] = "the gateway"
        gw = str(addr)
    aux: dict[str, str] = {}
    if aux_addresses:
        if not isinstance(aux_addresses, Mapping):
            raise InvalidPoolError("auxiliary addresses must be a mapping of names to addresses")
        for name, value in aux_addresses.items():
            if not isinstance(name, str) or not name:
                raise InvalidPoolError(
                    f"auxiliary address name {name!r} must be a non-empty string"
                )
            addr = _parse_address(value, f"auxiliary address {name!r}:", net)
            _check_host(addr, net, f"auxiliary address {name}={addr}")
            if addr in taken:
                raise InvalidAddressError(
                    f"auxiliary address {name}={addr} is also {taken[addr]}; give each address once"
                )
            taken[addr] = f"auxiliary address {name!r}"
            aux[name] = str(addr)
    return PoolConfig(str(net), sub, gw, MappingProxyType(aux), v6)
