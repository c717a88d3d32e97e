"""``libnet network``: create, list, inspect, remove and prune networks.

``network create`` requires ``-d/--driver``: Docker defaults to ``bridge``, which libnet
does not register yet, and defaulting to anything else now would make that change break
scripts later; a required option can gain a default without breaking anyone.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from libnet.cli._args import add_json, add_options, key_value, short_id, to_dict
from libnet.cli._context import PROG, CommandContext
from libnet.cli._filters import add_filter, matches
from libnet.cli._format import print_json
from libnet.cli._ipam import add_network_options, network_ipam
from libnet.cli._listing import Listing, add_format
from libnet.errors import (
    ActiveEndpointsError,
    InvalidOptionError,
    LibnetError,
    NetworkNotFoundError,
    NotFoundError,
)

if TYPE_CHECKING:
    from libnet.network import Network


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser("network", help="manage networks", description="Manage networks.")
    cmds = group.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)

    p = cmds.add_parser(
        "create",
        help="create a network",
        description="Create a network and print its full ID. There is no default driver "
        "yet (Docker's, bridge, may become it): name one with -d; 'libnet drivers' lists them.",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("-d", "--driver", required=True, help="network type, i.e. the driver serving it")
    add_options(p, "network")
    p.add_argument(
        "--label",
        dest="labels",
        action="append",
        type=key_value,
        metavar="KEY=VALUE",
        help="label of the network (repeatable)",
    )
    p.add_argument("--internal", action="store_true", help="no external connectivity")
    p.add_argument("--ipv6", action="store_true", help="enable IPv6")
    add_network_options(p)
    p.set_defaults(func=_create)

    p = cmds.add_parser("ls", aliases=["list"], help="list networks")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-q", "--quiet", action="store_true", help="print network IDs only")
    add_json(out)
    add_format(out)
    add_filter(p, ["driver", "scope", "label", "name", "id"])
    p.add_argument("--no-trunc", action="store_true", help="print full network IDs")
    p.set_defaults(func=_ls)

    p = cmds.add_parser("inspect", help="print networks as JSON")
    p.add_argument("refs", nargs="+", metavar="NETWORK", help="name, ID or unique ID prefix")
    add_json(p, inspect=True)
    p.set_defaults(func=_inspect)

    p = cmds.add_parser(
        "rm",
        aliases=["remove"],
        help="remove networks",
        description="Remove networks and print their names. A network must have no "
        "endpoints, unless --with-endpoints is given. Every network is tried; the exit "
        "status is 1 if one could not be removed.",
    )
    p.add_argument("refs", nargs="+", metavar="NETWORK", help="name, ID or unique ID prefix")
    p.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="do not report networks that do not exist, as Docker's -f (it removes nothing more)",
    )
    p.add_argument(
        "--with-endpoints",
        action="store_true",
        help="remove the network's endpoints first; endpoints joined to a sandbox are "
        "still refused without --leave-joined",
    )
    p.add_argument(
        "--leave-joined",
        action="store_true",
        help="with --with-endpoints: make joined endpoints leave their sandboxes, then remove them",
    )
    p.add_argument(
        "--forget",
        action="store_true",
        help="remove a network whose driver is no longer installed from the state alone "
        "(its driver is not called; 'libnet doctor' finds what it left in the kernel)",
    )
    p.set_defaults(func=_rm)

    p = cmds.add_parser(
        "prune",
        help="remove networks that have no endpoints",
        description="Remove every network that has no endpoints and print its name. "
        "Networks whose driver is not installed are left alone.",
    )
    p.add_argument("-f", "--force", action="store_true", help="do not ask for confirmation")
    p.set_defaults(func=_prune)


def _create(args: argparse.Namespace, ctx: CommandContext) -> int:
    network = ctx.controller().new_network(
        args.driver,
        args.name,
        options=to_dict(args.options),
        labels=to_dict(args.labels),
        internal=args.internal,
        enable_ipv6=args.ipv6,
        ipam=network_ipam(args),
    )
    print(network.id)
    return 0


def _dicts(networks: list[Network]) -> list[dict[str, Any]]:
    """``to_dict()`` of each network still there (another process may remove one)."""
    out = []
    for network in networks:
        try:
            out.append(network.to_dict())
        except NotFoundError:
            continue
    return out


def _ls(args: argparse.Namespace, ctx: CommandContext) -> int:
    nets = [
        n
        for n in _dicts(ctx.controller(read_only=True).networks())
        if matches({**n, "label": n["labels"]}, args.filters)
    ]
    if args.json:
        print_json(nets)
    elif args.quiet:
        for net in nets:
            print(short_id(net["id"], args.no_trunc))
    else:
        _listing(nets, args.no_trunc).show(args.format)
    return 0


def _listing(nets: list[dict[str, Any]], no_trunc: bool) -> Listing:
    rows = [
        {
            "ID": short_id(n["id"], no_trunc),
            "Name": n["name"],
            "Driver": n["driver"],
            "Scope": n["scope"],
            "Status": n["status"],
            "Internal": str(n["internal"]).lower(),
            "IPv6": str(n["enable_ipv6"]).lower(),
            "CreatedAt": n["created"],
            "Labels": ",".join(f"{k}={v}" for k, v in n["labels"].items()),
        }
        for n in nets
    ]
    return Listing(
        ["ID", "Name", "Driver", "Scope", "Status", "Internal", "IPv6", "CreatedAt", "Labels"],
        [
            ("ID", "NETWORK ID"),
            ("Name", "NAME"),
            ("Driver", "DRIVER"),
            ("Scope", "SCOPE"),
            ("Status", "STATUS"),
        ],
        rows,
        nets,
    )


def _inspect(args: argparse.Namespace, ctx: CommandContext) -> int:
    controller = ctx.controller(read_only=True)
    found: list[dict[str, Any]] = []
    status = ctx.each(args.refs, lambda ref: found.append(controller.network(ref).to_dict()))
    print_json(found)
    return status


def _rm(args: argparse.Namespace, ctx: CommandContext) -> int:
    if args.leave_joined and not args.with_endpoints:
        raise InvalidOptionError(
            "--leave-joined only applies with --with-endpoints: add it to remove the "
            "networks' endpoints"
        )
    controller = ctx.controller()

    def remove(ref: str) -> None:
        try:
            network = controller.network(ref)
            name = network.name
            network.delete(
                endpoints=args.with_endpoints, leave_joined=args.leave_joined, forget=args.forget
            )
        except NetworkNotFoundError:
            if args.force:  # as Docker's ``network rm --force``
                return
            raise
        print(name)

    return ctx.each(args.refs, remove)


def _prune(args: argparse.Namespace, ctx: CommandContext) -> int:
    controller = ctx.controller()  # an unusable state directory is reported before asking
    if not args.force and not _confirm(
        "WARNING! This will remove all networks that have no endpoints.\n"
        "Are you sure you want to continue? [y/N] "
    ):
        print(f"{PROG}: error: network prune cancelled; nothing was removed", file=sys.stderr)
        return 1
    status = 0
    for network in controller.networks():
        try:
            net = network.to_dict()
            if net["endpoints"] or net["status"] != "ok":
                continue
            network.delete()
        except (NotFoundError, ActiveEndpointsError):
            continue  # removed, or given an endpoint, by another process meanwhile
        except LibnetError as exc:
            ctx.report(exc)
            status = 1
            continue
        print(net["name"])
    return status


def _confirm(prompt: str) -> bool:
    """Ask on stderr and read the answer from stdin; only ``y`` or ``yes`` confirm."""
    sys.stderr.write(prompt)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not answer.endswith("\n") or not sys.stdin.isatty():
        sys.stderr.write("\n")  # the answer was not echoed: end the prompt's line
    return answer.strip().lower() in ("y", "yes")
