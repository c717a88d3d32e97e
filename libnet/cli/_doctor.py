"""``libnet doctor``: compare the kernel with the state, and repair with ``--repair``."""

from __future__ import annotations

import argparse
import sys

from libnet.cli._context import PROG, CommandContext
from libnet.cli._format import print_json, print_table


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "doctor",
        help="check the kernel against the state, and repair",
        description="Check the kernel objects of the state (bridges, veth pairs, isolation "
        "rules, network namespaces, interfaces in sandboxes) against the stored networks, "
        "endpoints and sandboxes. Objects carrying this state's marks that no stored object "
        "owns are orphans (left by a crash); stored objects whose kernel objects vanished are "
        "missing. With --repair orphans are removed and missing objects re-created. Overlay "
        "endpoints on this host while its agent is not running are reported too: start "
        "'libnet agent'. The exit status is 0 when nothing is left to repair, else 1.",
    )
    p.add_argument(
        "--repair", action="store_true", help="remove orphans, re-create what is missing"
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CommandContext) -> int:
    report = ctx.controller().reconcile(repair=args.repair)
    if args.json:
        print_json(report.to_dict())
    elif report.findings:
        print_table(
            ["KIND", "OBJECT", "ACTION", "DETAIL"],
            [[f.kind, f.object, f.action, f.detail] for f in report.findings],
        )
    if report.unchecked and not args.json:
        print(
            f"not checked (their drivers cannot report kernel objects): "
            f"{', '.join(sorted(report.unchecked))}",
            file=sys.stderr,
        )
    if report.ok:
        if not args.json:
            print("no problems found" if not report.findings else "all repaired")
        return 0
    if not args.json:
        left = [f for f in report.findings if f.action not in ("removed", "repaired")]
        repairable = any(f.repairable for f in left)
        hint = "; run 'libnet doctor --repair'" if repairable and not args.repair else ""
        print(f"{PROG}: {len(left)} problem(s) left{hint}", file=sys.stderr)
    return 1
