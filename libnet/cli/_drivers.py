"""``libnet drivers``: every driver, where it comes from, and whether it works."""

from __future__ import annotations

import argparse

from libnet.cli._context import CommandContext
from libnet.cli._driver_rows import DRIVER_FILTERS, driver_listing, filterable, scope_cell
from libnet.cli._filters import add_filter, matches
from libnet.cli._format import distribution_cell, print_failures, print_json, print_table
from libnet.cli._listing import add_format


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("drivers", help="list network drivers, failed plugins included")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON instead of a table")
    add_format(out)
    add_filter(p, DRIVER_FILTERS)
    p.add_argument(
        "--traceback", action="store_true", help="include the traceback of failed plugins"
    )
    p.add_argument(
        "--refresh",
        action="store_true",
        help="scan the installed distributions again and rewrite the discovery index",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CommandContext) -> int:
    if args.refresh:
        from libnet.drivers.remote.index import installed

        installed(refresh=True)
    controller = ctx.controller(plugins="eager", stateless=True)
    rows = [row for row in controller.drivers() if matches(filterable(row), args.filters)]
    if args.format is not None:
        driver_listing(rows, args.traceback).show(args.format)
        if args.format.strip() != "json":  # JSON lines carry the error already
            print_failures(rows, args.traceback)
    elif args.json:
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
                    scope_cell(row),
                    distribution_cell(row),
                ]
                + [row.address or "-"] * addresses
                for row in rows
            ],
        )
        print_failures(rows, args.traceback)
    return 0
