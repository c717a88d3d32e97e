"""IP address management in the command: ``libnet ipam ls``, and ``network create``'s pools.

:func:`pool_configs` turns ``network create``'s ``--subnet``, ``--ip-range``, ``--gateway``
and ``--aux-address`` into the pool list of ``new_network(..., ipam={"config": [...]})``
the way ``docker network create`` does: each ip-range, gateway and auxiliary address
belongs to the subnet that contains it, whatever the order of the options.
"""

from __future__ import annotations

import argparse
import ipaddress
from collections.abc import Sequence
from typing import Any

from libnet.cli._args import key_value
from libnet.cli._context import CommandContext
from libnet.cli._driver_rows import driver_listing, filterable
from libnet.cli._filters import add_filter, matches
from libnet.cli._format import distribution_cell, print_failures, print_json, print_table
from libnet.cli._listing import add_format
from libnet.errors import InvalidAddressError, InvalidPoolError
from libnet.ipam import IpamCapability

Subnet = ipaddress.IPv4Network | ipaddress.IPv6Network


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "ipam",
        help="IP address management drivers",
        description="IP address management (IPAM) drivers: the built-in ones and those of "
        "installed plugins (libnet.ipam entry points).",
    )
    cmds = group.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)
    p = cmds.add_parser(
        "ls",
        aliases=["list"],
        help="list IPAM drivers, failed plugins included",
        description="List every IPAM driver: built in, loaded from a plugin, failed or "
        "disabled. Plugins are loaded to check them; no state is read.",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_format(out)
    add_filter(p, ["name", "source", "status"])
    p.add_argument(
        "--traceback", action="store_true", help="include the traceback of failed plugins"
    )
    p.set_defaults(func=_ls)


def _requires(capability: Any) -> str:
    """What an IPAM driver's capability asks of the controller, for the table."""
    if not isinstance(capability, IpamCapability):
        return "-"
    needs = [
        name
        for name, flag in (
            ("mac-address", capability.requires_mac_address),
            ("request-replay", capability.requires_request_replay),
        )
        if flag
    ]
    return ",".join(needs) or "-"


def _ls(args: argparse.Namespace, ctx: CommandContext) -> int:
    rows = [
        row
        for row in ctx.controller(plugins="eager", stateless=True).ipam_drivers()
        if matches(filterable(row), args.filters)
    ]
    if args.format is not None:
        column = ("Requires", "REQUIRES", lambda row: _requires(row.capability))
        driver_listing(rows, args.traceback, column).show(args.format)
        return 0
    if args.json:
        print_json([row.to_dict(traceback=args.traceback) for row in rows])
        return 0
    print_table(
        ["NAME", "SOURCE", "STATUS", "REQUIRES", "DISTRIBUTION"],
        [
            [
                row.name,
                row.source,
                row.status,
                _requires(row.capability),
                distribution_cell(row),
            ]
            for row in rows
        ],
    )
    print_failures(rows, args.traceback)
    return 0


def add_network_options(parser: argparse.ArgumentParser) -> None:
    """Add ``network create``'s IPAM options."""
    ipam = parser.add_argument_group(
        "IP address management",
        "Each --ip-range, --gateway and --aux-address goes to the --subnet containing it. "
        "Without --subnet a pool is taken from the default pools (and an IPv6 one with "
        "--ipv6).",
    )
    ipam.add_argument(
        "--subnet",
        dest="subnets",
        action="append",
        default=[],
        metavar="CIDR",
        help="subnet of the network, IPv4 or IPv6 (repeatable)",
    )
    ipam.add_argument(
        "--ip-range",
        dest="ip_ranges",
        action="append",
        default=[],
        metavar="CIDR",
        help="hand out addresses from this part of its subnet only (repeatable)",
    )
    ipam.add_argument(
        "--gateway",
        dest="gateways",
        action="append",
        default=[],
        metavar="IP",
        help="gateway of its subnet (repeatable; default: the first address)",
    )
    ipam.add_argument(
        "--aux-address",
        dest="aux_addresses",
        action="append",
        default=[],
        type=key_value,
        metavar="NAME=IP",
        help="address of its subnet never handed out to endpoints (repeatable)",
    )
    ipam.add_argument(
        "--ipam-driver",
        metavar="NAME",
        help="IPAM driver ('libnet ipam ls' lists them; default: default, but null for "
        "null and host networks given no --subnet)",
    )
    ipam.add_argument(
        "--ipam-opt",
        dest="ipam_options",
        action="append",
        default=[],
        type=key_value,
        metavar="KEY=VALUE",
        help="option of the IPAM driver (repeatable)",
    )


def network_ipam(args: argparse.Namespace) -> dict[str, Any] | None:
    """The ``ipam`` argument of new_network from the options, None if none was given."""
    ipam: dict[str, Any] = {}
    if args.ipam_driver:
        ipam["driver"] = args.ipam_driver
    if args.ipam_options:
        ipam["options"] = dict(args.ipam_options)
    pools = pool_configs(args.subnets, args.ip_ranges, args.gateways, args.aux_addresses)
    if pools:
        ipam["config"] = pools
    return ipam or None


def pool_configs(
    subnets: Sequence[str],
    ip_ranges: Sequence[str] = (),
    gateways: Sequence[str] = (),
    aux_addresses: Sequence[tuple[str, str]] = (),
) -> list[dict[str, Any]]:
    """One pool per subnet, with the ip-range, gateway and auxiliary addresses inside it.

    As ``docker network create``: there may be no more ip-ranges or gateways than
    subnets; subnets may not overlap; each ip-range, gateway and auxiliary address must
    lie in a subnet, and a subnet takes at most one ip-range and one gateway. Whether an
    address may be used (not the network address, say) is the controller's check.
    Raises InvalidPoolError or InvalidAddressError.
    """
    from libnet.ipam._config import parse_subnet  # network create only

    if len(ip_ranges) > len(subnets) or len(gateways) > len(subnets):
        raise InvalidPoolError(
            f"every --ip-range and --gateway needs a --subnet it belongs to: got "
            f"{_count(len(subnets), 'subnet')}, {_count(len(ip_ranges), 'ip-range')} and "
            f"{_count(len(gateways), 'gateway')}"
        )
    nets: list[Subnet] = []
    for text in subnets:
        net = parse_subnet(text, "subnet")
        for other in nets:
            if net.version == other.version and net.overlaps(other):
                raise InvalidPoolError(
                    f"subnets {other} and {net} overlap: give each range of addresses once"
                )
        nets.append(net)
    pools: list[dict[str, Any]] = [
        {"subnet": str(net), "ip_range": None, "gateway": None, "aux_addresses": {}} for net in nets
    ]
    for text in ip_ranges:
        rng = parse_subnet(text, "ip-range")
        pool = pools[_home(nets, rng.network_address, f"ip-range {rng}", InvalidPoolError)]
        if pool["ip_range"]:
            raise InvalidPoolError(
                f"subnet {pool['subnet']} has two ip-ranges, {pool['ip_range']} and {rng}; "
                "give at most one per subnet"
            )
        pool["ip_range"] = str(rng)
    for text in gateways:
        addr = _address(text, "gateway")
        pool = pools[_home(nets, addr, f"gateway {addr}", InvalidAddressError)]
        if pool["gateway"]:
            raise InvalidAddressError(
                f"subnet {pool['subnet']} has two gateways, {pool['gateway']} and {addr}; "
                "give at most one per subnet"
            )
        pool["gateway"] = str(addr)
    for name, text in aux_addresses:
        addr = _address(text, f"auxiliary address {name}=")
        label = f"auxiliary address {name}={addr}"
        pool = pools[_home(nets, addr, label, InvalidAddressError)]
        if name in pool["aux_addresses"]:
            raise InvalidAddressError(
                f"auxiliary address name {name!r} is given twice for subnet {pool['subnet']}"
            )
        pool["aux_addresses"][name] = str(addr)
    return pools


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def _address(text: str, what: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        hint = " (give it without a prefix length)" if "/" in text else ""
        sep = "" if what.endswith("=") else " "
        raise InvalidAddressError(f"{what}{sep}{text!r} is not an IP address{hint}") from None


def _home(
    nets: list[Subnet],
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address,
    label: str,
    error: type[InvalidPoolError] | type[InvalidAddressError],
) -> int:
    """The index of the subnet containing ``addr``; ``error`` naming ``label`` if none."""
    for index, net in enumerate(nets):
        if addr.version == net.version and addr in net:
            return index
    if not nets:
        raise error(f"{label} needs the --subnet it belongs to")
    listed = ", ".join(str(n) for n in nets)
    raise error(f"{label} is in none of the subnets ({listed})")
