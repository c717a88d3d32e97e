"""``libnet sandbox``: the sandboxes (network stacks) of containers."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from libnet.cli._args import add_json, short_id
from libnet.cli._context import CommandContext
from libnet.cli._filters import add_filter, matches
from libnet.cli._format import print_json
from libnet.cli._listing import Listing, add_format
from libnet.errors import InvalidOptionError, NotFoundError

_SANDBOX_HELP = "container ID, sandbox ID or unique sandbox ID prefix"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "sandbox", help="manage sandboxes", description="Manage the sandboxes of containers."
    )
    cmds = group.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)

    p = cmds.add_parser(
        "create",
        help="create the sandbox of a container",
        description="Create the sandbox of a container and print the sandbox's ID. Without "
        "--netns, --key or --create the sandbox is logical: joins reach the drivers but "
        "nothing is programmed in the kernel.",
    )
    p.add_argument("container_id", metavar="CONTAINER_ID")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--netns",
        metavar="NAME|PATH",
        help="use an existing network namespace: NAME means /run/netns/NAME (as 'ip netns' "
        "names them), a path such as /proc/PID/ns/net is used as it is",
    )
    where.add_argument(
        "--key",
        metavar="PATH",
        help="network namespace path (/proc/PID/ns/net, /run/netns/NAME), as Docker's sandbox key",
    )
    where.add_argument(
        "--create",
        action="store_true",
        help="create a network namespace for the sandbox under /run/netns; it is removed "
        "with the sandbox",
    )
    p.set_defaults(func=_create)

    p = cmds.add_parser(
        "exec",
        help="run a command in a sandbox's network namespace",
        description="Run COMMAND in the network namespace of the sandbox, and exit with its "
        "exit status (128+N if signal N killed it).",
    )
    p.add_argument("ref", metavar="SANDBOX", help=_SANDBOX_HELP)
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND...")
    p.set_defaults(func=_exec)

    p = cmds.add_parser("ls", aliases=["list"], help="list sandboxes")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-q", "--quiet", action="store_true", help="print sandbox IDs only")
    add_json(out)
    add_format(out)
    add_filter(p, ["id", "name"])
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


def _netns_path(value: str) -> str:
    """``--netns NAME`` is /run/netns/NAME; anything with a slash is a path."""
    if "/" in value:
        return value
    if value in ("", ".", ".."):
        raise InvalidOptionError(f"--netns {value!r} is not a namespace name or path")
    from libnet.osl import NETNS_DIR

    return str(NETNS_DIR / value)


def _create(args: argparse.Namespace, ctx: CommandContext) -> int:
    key = _netns_path(args.netns) if args.netns is not None else args.key
    sandbox = ctx.controller().new_sandbox(args.container_id, key=key, create=args.create)
    print(sandbox.id)
    return 0


def _exec(args: argparse.Namespace, ctx: CommandContext) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise InvalidOptionError("no command given: libnet sandbox exec SANDBOX -- COMMAND...")
    sandbox = ctx.controller(read_only=True).sandbox(args.ref)
    key = sandbox.key
    if key is None:
        raise InvalidOptionError(
            f"sandbox {sandbox.id[:12]} (container {sandbox.container_id!r}) is logical: it "
            "has no network namespace to run a command in"
        )
    ctx.close()  # the command may run long: hold no state file open meanwhile
    sys.stdout.flush()
    from libnet.osl import run_in_namespace

    return run_in_namespace(key, command)


def _ls(args: argparse.Namespace, ctx: CommandContext) -> int:
    boxes: list[dict[str, Any]] = []
    for sandbox in ctx.controller(read_only=True).sandboxes():
        try:
            boxes.append(sandbox.to_dict())
        except NotFoundError:
            continue  # removed by another process meanwhile
    boxes = [b for b in boxes if matches({**b, "name": b["container_id"]}, args.filters)]
    if args.json:
        print_json(boxes)
    elif args.quiet:
        for box in boxes:
            print(short_id(box["id"], args.no_trunc))
    else:
        rows = [
            {
                "ID": short_id(box["id"], args.no_trunc),
                "ContainerID": box["container_id"],
                "Key": box["key"] or "-",
                "Endpoints": str(len(box["endpoints"])),
            }
            for box in boxes
        ]
        columns = [("ID", "SANDBOX ID"), ("ContainerID", "CONTAINER ID"), ("Key", "KEY")]
        Listing(
            [f for f, _ in columns] + ["Endpoints"],
            [*columns, ("Endpoints", "ENDPOINTS")],
            rows,
            boxes,
        ).show(args.format)
    return 0


def _inspect(args: argparse.Namespace, ctx: CommandContext) -> int:
    controller = ctx.controller(read_only=True)
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
