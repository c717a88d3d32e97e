"""``libnet serve``: serve a libnet driver (and IPAM driver) to Docker as a plugin."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from libnet.cli._context import PROG, CommandContext

if TYPE_CHECKING:
    from libnet.dockerplugin.server import PluginServer


def _tcp(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT, such as 127.0.0.1:9000")
    return host, int(port)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a libnet driver to Docker as a network (and IPAM) plugin",
        description="Serve network driver DRIVER (built in or from an installed plugin) and "
        "optionally an IPAM driver as one Docker plugin, until SIGTERM or SIGINT. What "
        "Docker creates is kept in the state directory and replayed when it starts again.",
    )
    p.add_argument(
        "driver",
        nargs="?",
        metavar="DRIVER",
        help="the network driver to serve (may be left out with --ipam)",
    )
    p.add_argument("--name", help="the plugin's name, used by docker -d NAME (default: DRIVER)")
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--socket", metavar="PATH", help="unix socket (default: /run/docker/plugins/NAME.sock)"
    )
    where.add_argument(
        "--tcp", type=_tcp, metavar="HOST:PORT", help="listen on TCP and write NAME.spec"
    )
    p.add_argument(
        "--spec-dir",
        metavar="DIR",
        help="where NAME.spec goes with --tcp (default: /etc/docker/plugins)",
    )
    p.add_argument("--ipam", metavar="IPAM_DRIVER", help="also serve this IPAM driver")
    p.add_argument("--group", help="group owning the socket (default: root)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: CommandContext) -> int:
    from libnet.dockerplugin.server import (
        PluginServer,  # the HTTP server loads only for this command
    )

    if args.driver is None and args.ipam is None:
        print(f"{PROG} serve: error: name a DRIVER, an --ipam driver, or both", file=sys.stderr)
        return 2
    if args.spec_dir is not None and args.tcp is None:
        print(f"{PROG} serve: error: --spec-dir is only used with --tcp", file=sys.stderr)
        return 2
    server = PluginServer(
        args.driver,
        name=args.name,
        socket=args.socket,
        tcp=args.tcp,
        spec_dir=args.spec_dir,
        ipam=args.ipam,
        group=args.group,
        state_dir=ctx.state_dir,
    )
    server.serve_forever(ready=_announce)
    return 0


def _announce(server: PluginServer) -> None:
    print(
        f"{PROG}: serving Docker plugin {server.name!r} ({', '.join(server.manifest)}) "
        f"at {server.address}",
        flush=True,
    )
