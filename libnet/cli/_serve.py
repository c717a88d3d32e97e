"""``libnet serve``: serve a libnet driver (and IPAM driver) to Docker as a plugin."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from libnet.cli._context import PROG, CommandContext

if TYPE_CHECKING:
    from libnet.dockerplugin.server import PluginServer, ServerTLS


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
        "--tcp",
        type=_tcp,
        metavar="HOST:PORT",
        help="listen on TCP (with TLS, or --insecure-tcp) and write the plugin's spec file",
    )
    p.add_argument(
        "--spec-dir",
        metavar="DIR",
        help="where the spec goes with --tcp: NAME.json with TLS, NAME.spec without "
        "(default: /etc/docker/plugins)",
    )
    tls = p.add_argument_group(
        "TLS on TCP",
        "Docker authenticates to a plugin only by a client certificate: without --tls-ca, "
        "anyone who can reach the port can drive the driver.",
    )
    tls.add_argument("--tls-cert", metavar="FILE", help="the plugin's certificate (PEM)")
    tls.add_argument("--tls-key", metavar="FILE", help="the plugin's private key (PEM)")
    tls.add_argument(
        "--tls-ca",
        metavar="FILE",
        help="accept only clients presenting a certificate signed by a CA in FILE (mutual TLS)",
    )
    tls.add_argument(
        "--spec-cert",
        metavar="FILE",
        help="the client certificate Docker presents, written to NAME.json (CertFile)",
    )
    tls.add_argument("--spec-key", metavar="FILE", help="its private key (KeyFile)")
    tls.add_argument(
        "--spec-ca",
        metavar="FILE",
        help="the CA Docker checks the plugin's certificate with, written to NAME.json "
        "(CAFile; default: --tls-ca, else --tls-cert itself, for a self-signed certificate)",
    )
    tls.add_argument(
        "--insecure-tcp",
        action="store_true",
        help="serve plain TCP without TLS: no encryption and no authentication",
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
    tls = _tls(args)
    if isinstance(tls, str):
        print(f"{PROG} serve: error: {tls}", file=sys.stderr)
        return 2
    server = PluginServer(
        args.driver,
        name=args.name,
        socket=args.socket,
        tcp=args.tcp,
        spec_dir=args.spec_dir,
        tls=tls,
        insecure_tcp=args.insecure_tcp,
        ipam=args.ipam,
        group=args.group,
        state_dir=ctx.state_dir,
    )
    server.serve_forever(ready=_announce)
    return 0


def _tls(args: argparse.Namespace) -> ServerTLS | str | None:
    """The TLS settings the options give, None without TLS, or what is wrong with them."""
    from libnet.dockerplugin.server import ServerTLS

    given = [
        f"--{name.replace('_', '-')}"
        for name in ("tls_cert", "tls_key", "tls_ca", "spec_cert", "spec_key", "spec_ca")
        if getattr(args, name) is not None
    ]
    if not given:
        return None
    if args.tcp is None:
        return f"{', '.join(given)}: TLS is only used with --tcp"
    if args.tls_cert is None or args.tls_key is None:
        return "TLS needs the plugin's certificate and key: give --tls-cert and --tls-key"
    return ServerTLS(
        args.tls_cert,
        args.tls_key,
        client_ca=args.tls_ca,
        spec_cert=args.spec_cert,
        spec_key=args.spec_key,
        spec_ca=args.spec_ca,
    )


def _announce(server: PluginServer) -> None:
    print(
        f"{PROG}: serving Docker plugin {server.name!r} ({', '.join(server.manifest)}) "
        f"at {server.address}",
        flush=True,
    )
