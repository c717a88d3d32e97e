"""``libnet new-driver NAME [--dir PATH]``: scaffold a driver package that passes the suite."""

from __future__ import annotations

import argparse
from pathlib import Path

from libnet.cli._context import CommandContext


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "new-driver",
        help="create a driver plugin package (pyproject, driver, hook, conformance test)",
        description=(
            "Create a ready driver plugin package for network type NAME: pyproject.toml with "
            "the libnet.drivers entry point, the driver and its libnet_driver_init hook, a "
            "README and tests that run libnet's conformance suite. It installs and passes "
            "its tests as generated."
        ),
    )
    p.add_argument("name", metavar="NAME", help="the network type the driver serves")
    p.add_argument(
        "--dir",
        type=Path,
        metavar="PATH",
        help="directory to create the package in, new or empty (default: ./libnet-NAME)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CommandContext) -> int:
    from libnet.testing._scaffold import Scaffold, new_driver

    written = new_driver(args.name, args.dir)
    root = args.dir if args.dir is not None else Path(Scaffold.for_name(args.name).dist)
    for path in written:
        print(path)
    print(
        f"\nNext: cd {root} && pip install -e '.[test]' && pytest\n"
        f"See docs/writing-drivers.md in libnet for the driver contract."
    )
    return 0
