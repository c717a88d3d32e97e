"""``libnet drivers``: every driver, where it comes from, and whether it works."""

from __future__ import annotations

import argparse

from libnet.cli._context import CommandContext
from libnet.cli._format import distribution_cell, print_failures, print_json, print_table


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("drivers", help="list network drivers, failed plugins included")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--traceback", action="store_true", help="include the traceback of failed plugins"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CommandContext) -> int:
    controller = ctx.controller(plugins="eager", stateless=True)
    rows = controller.drivers()
    if args.json:
        print_json([row.to_dict(traceback=args.traceback) for row in rows])
    else:
        addresses = any(row.address for row in rows)  # Docker plugins: show where they are
        print_table(
            ["NAME", "SOURCE", "STATUS", "SCOPE", "DISTRIBUTION"] + ["ADDRESS"] * addresses,
            [
                [
                    row.name,
                    row.source,
                    row.status,
                    str(row.capability.data_scope) if row.capability else "-",
                    distribution_cell(row),
                ]
                + [row.address or "-"] * addresses
                for row in rows
            ],
        )
        print_failures(rows, args.traceback)
    return 0
