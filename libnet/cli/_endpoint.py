"""``libnet endpoint``: endpoints of a network, and joining them to sandboxes."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from libnet import labels
from libnet.cli._args import add_json, add_options, short_id, to_dict
from libnet.cli._context import CommandContext
from libnet.cli._filters import add_filter, matches
from libnet.cli._format import print_json
from libnet.cli._listing import Listing, add_format
from libnet.errors import LibnetError, NotFoundError

_NETWORK_HELP = "network name, ID or unique ID prefix"
_ENDPOINT_HELP = "endpoint name, ID or unique ID prefix"
_SANDBOX_HELP = "container ID, sandbox ID or unique sandbox ID prefix"

if TYPE_CHECKING:
    from libnet.network import Endpoint


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "endpoint", help="manage endpoints", description="Manage the endpoints of networks."
    )
    cmds = group.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)

    p = cmds.add_parser(
        "create", help="create an endpoint", description="Create an endpoint; print its ID."
    )
    p.add_argument("network", metavar="NETWORK", help=_NETWORK_HELP)
    p.add_argument("name", metavar="NAME")
    add_options(p, "endpoint")
    p.add_argument("--ip", metavar="IP", help="IPv4 address to take (default: the next free one)")
    p.add_argument(
        "--ip6",
        metavar="IP",
        help="IPv6 address to take, on an IPv6 network (default: the next free one)",
    )
    p.add_argument(
        "--mac-address",
        metavar="MAC",
        help=f"MAC address of the interface (sets the option {labels.MAC_ADDRESS})",
    )
    p.set_defaults(func=_create)

    p = cmds.add_parser("ls", aliases=["list"], help="list endpoints")
    p.add_argument(
        "network", metavar="NETWORK", nargs="?", help=f"only this network ({_NETWORK_HELP})"
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("-q", "--quiet", action="store_true", help="print endpoint IDs only")
    add_json(out)
    add_format(out)
    add_filter(p, ["name", "id", "network", "sandbox"])
    p.add_argument("--no-trunc", action="store_true", help="print full IDs")
    p.set_defaults(func=_ls)

    p = cmds.add_parser(
        "inspect",
        help="print endpoints as JSON",
        description="Print endpoints as JSON: what the state records (addresses, MAC, "
        "interface names, sandbox, options) and, under driver_info, what the driver reports "
        "(its endpoint_oper_info; the bridge driver's has a kernel field). When the driver "
        "cannot answer, driver_info is null and driver_info_error says why.",
    )
    p.add_argument("network", metavar="NETWORK", help=_NETWORK_HELP)
    p.add_argument("refs", nargs="+", metavar="ENDPOINT", help=_ENDPOINT_HELP)
    add_json(p, inspect=True)
    p.set_defaults(func=_inspect)

    p = cmds.add_parser(
        "rm",
        aliases=["remove"],
        help="remove endpoints",
        description="Remove endpoints and print their names. Every endpoint is tried; the "
        "exit status is 1 if one could not be removed.",
    )
    p.add_argument("network", metavar="NETWORK", help=_NETWORK_HELP)
    p.add_argument("refs", nargs="+", metavar="ENDPOINT", help=_ENDPOINT_HELP)
    p.add_argument("-f", "--force", action="store_true", help="leave the joined sandbox first")
    p.set_defaults(func=_rm)

    p = cmds.add_parser("join", help="join an endpoint to a sandbox")
    p.add_argument("network", metavar="NETWORK", help=_NETWORK_HELP)
    p.add_argument("endpoint", metavar="ENDPOINT", help=_ENDPOINT_HELP)
    p.add_argument("sandbox", metavar="SANDBOX", help=_SANDBOX_HELP)
    add_options(p, "join")
    p.add_argument(
        "-p",
        "--publish",
        action="append",
        default=[],
        metavar="[HOST_IP:]HOST_PORT:CONTAINER_PORT[/tcp|udp]",
        help="publish a port of the endpoint on the host (repeatable; HOST_PORT 0 or none: "
        "any free port; A-B: a free one of a range)",
    )
    p.add_argument(
        "--ifname",
        metavar="NAME",
        help="name of the interface in the sandbox (default: the driver's choice, such as eth0)",
    )
    p.set_defaults(func=_join)

    p = cmds.add_parser("leave", help="make an endpoint leave its sandbox")
    p.add_argument("network", metavar="NETWORK", help=_NETWORK_HELP)
    p.add_argument("endpoint", metavar="ENDPOINT", help=_ENDPOINT_HELP)
    p.add_argument("sandbox", metavar="SANDBOX", help=_SANDBOX_HELP)
    p.set_defaults(func=_leave)


def _create(args: argparse.Namespace, ctx: CommandContext) -> int:
    network = ctx.controller().network(args.network)
    options: dict[str, Any] = to_dict(args.options)
    if args.mac_address is not None:
        options[labels.MAC_ADDRESS] = args.mac_address
    endpoint = network.create_endpoint(
        args.name, options=options, ipv4_address=args.ip, ipv6_address=args.ip6
    )
    print(endpoint.id)
    return 0


def _ls(args: argparse.Namespace, ctx: CommandContext) -> int:
    controller = ctx.controller()
    networks = [controller.network(args.network)] if args.network else controller.networks()
    rows: list[tuple[str, dict[str, Any]]] = []
    for network in networks:
        try:
            name = network.name
            rows.extend((name, endpoint.to_dict()) for endpoint in network.endpoints())
        except NotFoundError:
            if args.network:
                raise
            continue  # removed by another process meanwhile
    rows = [
        (net, ep)
        for net, ep in rows
        if matches({**ep, "network": net, "sandbox": ep["sandbox"] or ""}, args.filters)
    ]
    if args.json:
        print_json([ep for _, ep in rows])
    elif args.quiet:
        for _, ep in rows:
            print(short_id(ep["id"], args.no_trunc))
    else:
        _listing(rows, args.no_trunc).show(args.format)
    return 0


def _listing(rows: list[tuple[str, dict[str, Any]]], no_trunc: bool) -> Listing:
    cells = [
        {
            "ID": short_id(ep["id"], no_trunc),
            "Name": ep["name"],
            "Network": net_name,
            "Sandbox": short_id(ep["sandbox"], no_trunc) if ep["sandbox"] else "-",
            "IPv4Address": ep["address"] or "",
            "IPv6Address": ep["address_ipv6"] or "",
            "MacAddress": ep["mac_address"] or "",
        }
        for net_name, ep in rows
    ]
    return Listing(
        ["ID", "Name", "Network", "Sandbox", "IPv4Address", "IPv6Address", "MacAddress"],
        [("ID", "ENDPOINT ID"), ("Name", "NAME"), ("Network", "NETWORK"), ("Sandbox", "SANDBOX")],
        cells,
        [ep for _, ep in rows],
    )


def _inspect(args: argparse.Namespace, ctx: CommandContext) -> int:
    network = ctx.controller().network(args.network)
    found: list[dict[str, Any]] = []
    status = ctx.each(args.refs, lambda ref: found.append(_inspected(network.endpoint(ref))))
    print_json(found)
    return status


def _inspected(endpoint: Endpoint) -> dict[str, Any]:
    """The endpoint with its driver's data; a driver failure is said, not fatal."""
    out = endpoint.to_dict()
    try:
        out["driver_info"] = endpoint.driver_info()
    except NotFoundError:
        raise  # the endpoint itself went away meanwhile
    except LibnetError as exc:
        out["driver_info"] = None
        out["driver_info_error"] = str(exc)
    return out


def _rm(args: argparse.Namespace, ctx: CommandContext) -> int:
    network = ctx.controller().network(args.network)

    def remove(ref: str) -> None:
        endpoint = network.endpoint(ref)
        name = endpoint.name
        endpoint.delete(force=args.force)
        print(name)

    return ctx.each(args.refs, remove)


def _join(args: argparse.Namespace, ctx: CommandContext) -> int:
    controller = ctx.controller()
    endpoint = controller.network(args.network).endpoint(args.endpoint)
    endpoint.join(
        controller.sandbox(args.sandbox),
        options=to_dict(args.options),
        publish=args.publish,
        ifname=args.ifname,
    )
    return 0


def _leave(args: argparse.Namespace, ctx: CommandContext) -> int:
    controller = ctx.controller()
    endpoint = controller.network(args.network).endpoint(args.endpoint)
    endpoint.leave(controller.sandbox(args.sandbox))
    return 0
