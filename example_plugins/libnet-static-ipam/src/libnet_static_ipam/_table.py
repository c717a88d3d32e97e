"""The assignments file: the pools the driver serves and the fixed address of each MAC.

The file is JSON::

    {
      "pools": {
        "10.9.0.0/24": {
          "gateway": "10.9.0.1",
          "ip_range": "10.9.0.128/25",
          "assignments": {"02:42:0a:09:00:0a": "10.9.0.10"}
        },
        "fd00:9::/64": {"assignments": {"02:42:0a:09:00:0a": "fd00:9::10"}}
      }
    }

Every key of a pool is optional. ``gateway`` is the pool's gateway unless the network is
given another; ``ip_range`` is where addresses without an assignment come from (default:
the whole pool); ``assignments`` maps MAC addresses to addresses of the pool. Everything
is checked when the file is read, and any mistake is an error naming the file.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from libnet.errors import InvalidOptionError

__all__ = [
    "FILE_ENV",
    "Address",
    "Network",
    "PoolPlan",
    "Table",
    "TableError",
    "host_range",
    "load_table",
    "normalize_mac",
    "parse_table",
    "table_path",
]

FILE_ENV = "LIBNET_STATIC_IPAM_FILE"
"""Environment variable naming the assignments file when the configuration does not."""

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_POOL_KEYS = frozenset({"gateway", "ip_range", "assignments"})


class TableError(InvalidOptionError):
    """The assignments file, or the configuration naming it, is not usable."""


def normalize_mac(value: object) -> str | None:
    """``value`` as a lower-case, colon-separated MAC address, or None if it is not one."""
    if not isinstance(value, str):
        return None
    mac = value.strip().lower().replace("-", ":")
    return mac if _MAC_RE.match(mac) else None


def host_range(net: Network) -> tuple[int, int]:
    """Offsets (from the network address) of the first and last address handed out.

    The network address is never handed out, nor an IPv4 broadcast address; every
    address of an IPv4 /31 or /32 and an IPv6 /127 or /128 is (point-to-point links).
    """
    size = net.num_addresses
    if size <= 2:
        return 0, size - 1
    return 1, size - (1 if net.version == 6 else 2)


@dataclass(frozen=True)
class PoolPlan:
    """One pool of the file."""

    pool: Network
    gateway: Address | None = None
    ip_range: Network | None = None
    assignments: Mapping[str, Address] = field(default_factory=dict)
    """Normalised MAC address -> address."""

    @property
    def v6(self) -> bool:
        return self.pool.version == 6

    def owner_of(self, address: Address) -> str | None:
        """The MAC the address is assigned to, or None."""
        for mac, assigned in self.assignments.items():
            if assigned == address:
                return mac
        return None

    def reserved(self) -> frozenset[int]:
        """Offsets never handed out to a request without an assignment: assigned ones and
        the gateway."""
        base = int(self.pool.network_address)
        taken = {int(a) - base for a in self.assignments.values()}
        if self.gateway is not None:
            taken.add(int(self.gateway) - base)
        return frozenset(taken)


@dataclass(frozen=True)
class Table:
    """The whole file: its pools in file order."""

    source: str
    pools: tuple[PoolPlan, ...]

    def plan(self, pool: Network) -> PoolPlan | None:
        """The file's entry for exactly ``pool``, or None."""
        for plan in self.pools:
            if plan.pool == pool:
                return plan
        return None

    def listed(self, v6: bool | None = None) -> str:
        """The pools of the file (of one family), for messages."""
        pools = [str(p.pool) for p in self.pools if v6 is None or p.v6 == v6]
        return ", ".join(pools) or "none"


def table_path(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Path:
    """The file named by ``config["file"]``, else by $LIBNET_STATIC_IPAM_FILE."""
    environ = os.environ if environ is None else environ
    unknown = set(config) - {"file"}
    if unknown:
        raise TableError(
            f"unknown configuration keys {sorted(unknown)} for the static IPAM driver; "
            "the only key is 'file'"
        )
    value = config.get("file") or environ.get(FILE_ENV)
    if not value or not isinstance(value, (str, os.PathLike)):
        raise TableError(
            "the static IPAM driver needs its assignments file: set "
            f"Controller(ipam_config={{'static': {{'file': PATH}}}}) or ${FILE_ENV}"
        )
    return Path(value)


def load_table(path: str | os.PathLike[str]) -> Table:
    """Read and check the assignments file at ``path``."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise TableError(f"cannot read the assignments file {source}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise TableError(f"{source} is not valid JSON: {exc}") from None
    return parse_table(data, source)


def parse_table(data: object, source: str = "the assignments") -> Table:
    """Check the decoded file; TableError naming ``source`` and the entry at fault."""
    if not isinstance(data, dict) or set(data) != {"pools"}:
        raise TableError(f'{source}: the file must be an object with one key, "pools"')
    pools = data["pools"]
    if not isinstance(pools, dict) or not pools:
        raise TableError(f'{source}: "pools" must be a non-empty object of CIDR -> pool')
    plans: list[PoolPlan] = []
    for cidr, entry in pools.items():
        plan = _pool(source, cidr, entry)
        for other in plans:
            if plan.v6 == other.v6 and plan.pool.overlaps(other.pool):
                raise TableError(f"{source}: pools {other.pool} and {plan.pool} overlap")
        plans.append(plan)
    return Table(source, tuple(plans))


def _pool(source: str, cidr: object, entry: object) -> PoolPlan:
    where = f"{source}: pool {cidr!r}"
    net = _network(where, "pool", cidr)
    if not isinstance(entry, dict):
        raise TableError(f"{where} must be an object (use {{}} for a pool with no settings)")
    unknown = set(entry) - _POOL_KEYS
    if unknown:
        raise TableError(
            f"{where} has unknown keys {sorted(unknown)}; use {', '.join(sorted(_POOL_KEYS))}"
        )
    gateway = None
    if entry.get("gateway") is not None:
        gateway = _host(where, "gateway", entry["gateway"], net)
    ip_range = None
    if entry.get("ip_range") is not None:
        ip_range = _network(where, "ip_range", entry["ip_range"])
        if ip_range.version != net.version or not ip_range.subnet_of(net):  # type: ignore[arg-type]
            raise TableError(f"{where}: ip_range {ip_range} is not inside the pool")
    assignments: dict[str, Address] = {}
    given = entry.get("assignments", {})
    if not isinstance(given, dict):
        raise TableError(f"{where}: assignments must be an object of MAC -> address")
    for key, value in given.items():
        mac = normalize_mac(key)
        if mac is None:
            raise TableError(
                f"{where}: assignment key {key!r} is not a MAC address such as 02:42:0a:09:00:0a"
            )
        if mac in assignments:
            raise TableError(f"{where}: MAC {mac} is assigned twice")
        address = _host(where, f"the address of {mac}", value, net)
        if address == gateway:
            raise TableError(f"{where}: {address} is both the gateway and the address of {mac}")
        for other, assigned in assignments.items():
            if assigned == address:
                raise TableError(f"{where}: {address} is assigned to both {other} and {mac}")
        assignments[mac] = address
    return PoolPlan(net, gateway, ip_range, assignments)


def _network(where: str, what: str, value: object) -> Network:
    try:
        net = ipaddress.ip_network(value if isinstance(value, str) and "/" in value else "x")
    except ValueError:
        message = f"{where}: {what} {value!r} is not a network such as 10.9.0.0/24"
        if isinstance(value, str) and "/" in value:
            with contextlib.suppress(ValueError):
                message += f" (did you mean {ipaddress.ip_network(value, strict=False)}?)"
        raise TableError(message) from None
    return net


def _host(where: str, what: str, value: object, net: Network) -> Address:
    try:
        address = ipaddress.ip_address(value if isinstance(value, str) else "x")
    except ValueError:
        raise TableError(f"{where}: {what} {value!r} is not an IP address") from None
    lo, hi = host_range(net)
    offset = int(address) - int(net.network_address)
    if address.version != net.version or not lo <= offset <= hi:
        raise TableError(f"{where}: {what} {address} is not an address of the pool to hand out")
    return address
