"""``libnet sandbox``: the sandboxes (network stacks) of containers."""

from __future__ import annotations

import argparse
from typing import Any

from libnet.cli._args import add_json, short_id
from libnet.cli._context import CommandContext
from libnet.cli._format import print_json, print_table
from libnet.errors import NotFoundError

_SANDBOX_HELP = "container ID, sandbox ID or unique sandbox ID prefix"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "sandbox", help="manage sandboxes", description="Manage the sandboxes of containers."
    )
    cmds = group.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)

    p = cmds.add_parser(
        "create",
        help="create the sandbox of a container",
        description="Create the sandbox of a container and print the sandbox's ID.",
    )
    p.add_argument("container_id", metavar="CONTAINER_ID")
    p.add_argument(
        "--key",
        metavar="PATH",
        help="network namespace path (/proc/PID/ns/net, /run/netns/NAME); "
        "none for a logical sandbox",
    )
    p.set_defaults(func=_create)

    p = cmds.add_parser("ls", aliases=["list"], help="list sandboxes")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-q", "--quiet", action="store_true", help="print sandbox IDs only")
    add_json(out)
    p.add_argument("--no-trunc", action="store_true", help="print full sandbox IDs")
    p.set_defaults(func=_ls)

    p = cmds.add_parser("inspect", help="print sandboxes as JSON")
    p.add_argument("refs", nargs="+", metavar="SANDBOX", help=_SANDBOX_HELP)
    add_json(p, inspect=True)
    p.set_defaults(func=_inspect)

    p = cmds.add_parser(
        "rm",
        aliases=["remove"],
        help="remove sandboxes",
        description="Remove sandboxes, after their endpoints leave them, and print their "
        "container IDs. Every sandbox is tried; the exit status is 1 if one could not be "
        "removed.",
    )
    p.add_argument("refs", nargs="+", metavar="SANDBOX", help=_SANDBOX_HELP)
    p.set_defaults(func=_rm)


def _create(args: argparse.Namespace, ctx: CommandContext) -> int:
    sandbox = ctx.controller().new_sandbox(args.container_id, key=args.key)
    print(sandbox.id)
    return 0


def _ls(args: argparse.Namespace, ctx: CommandContext) -> int:
    boxes: list[dict[str, Any]] = []
    for sandbox in ctx.controller().sandboxes():
        try:
            boxes.append(sandbox.to_dict())
        except NotFoundError:
            continue  # removed by another process meanwhile
    if args.json:
        print_json(boxes)
    elif args.quiet:
        for box in boxes:
            print(short_id(box["id"], args.no_trunc))
    else:
        print_table(
            ["SANDBOX ID", "CONTAINER ID", "KEY", "ENDPOINTS"],
            [
                [
                    short_id(box["id"], args.no_trunc),
                    box["container_id"],
                    box["key"] or "-",
                    str(len(box["endpoints"])),
                ]
                for box in boxes
            ],
        )
    return 0


def _inspect(args: argparse.Namespace, ctx: CommandContext) -> int:
    controller = ctx.controller()
    found: list[dict[str, Any]] = []
    status = ctx.each(args.refs, lambda ref: found.append(controller.sandbox(ref).to_dict()))
    print_json(found)
    return status


def _rm(args: argparse.Namespace, ctx: CommandContext) -> int:
    controller = ctx.controller()

    def remove(ref: str) -> None:
        sandbox = controller.sandbox(ref)
        container_id = sandbox.container_id
        sandbox.delete()
        print(container_id)

    return ctx.each(args.refs, remove)
