"""Parse the command line, run one command, and report errors as one line."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from libnet import __version__
from libnet.cli import (
    _agent,
    _completion,
    _doctor,
    _drivers,
    _endpoint,
    _info,
    _ipam,
    _network,
    _new_driver,
    _sandbox,
    _serve,
)
from libnet.cli._context import PROG, STATE_DIR_ENV, CommandContext, resolve_state_dir
from libnet.errors import LibnetError


def _directory(text: str) -> str:
    if not text:
        raise argparse.ArgumentTypeError("the state directory cannot be empty")
    return text


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def _add_globals(parser: argparse.ArgumentParser, subcommand: bool) -> None:
    """The global options, before a subcommand or (``subcommand``) after it.

    After a subcommand the defaults are suppressed, so that a subcommand's parser does not
    overwrite the value given before the subcommand (``libnet --debug network ls``).
    """
    group = parser.add_argument_group("global options")

    def option(flag: str, default: object = None, **kwargs: Any) -> None:
        group.add_argument(flag, default=argparse.SUPPRESS if subcommand else default, **kwargs)

    option(
        "--state-dir",
        type=_directory,
        metavar="DIR",
        help=f"directory of the state file state.db (default: ${STATE_DIR_ENV}, else "
        "/var/lib/libnet for root, else $XDG_STATE_HOME/libnet or ~/.local/state/libnet)",
    )
    option("--debug", False, action="store_true", help="log debug messages and show tracebacks")
    option(
        "--global-store",
        metavar="URL",
        help="etcd store shared by the hosts, for global-scope networks: "
        "etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (default: $LIBNET_GLOBAL_STORE)",
    )
    option(
        "--host-id",
        metavar="ID",
        help="this host's ID among the hosts sharing the global store (default: the one "
        "made in the state directory on first use)",
    )
    option(
        "--advertise-addr",
        metavar="IP",
        help="this host's address for the other hosts (overlay tunnels; default: "
        "$LIBNET_ADVERTISE_ADDR, else the default route's)",
    )
    option(
        "--plugin-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="seconds a Docker plugin has for a whole call (default: $LIBNET_PLUGIN_TIMEOUT, "
        "else 30)",
    )


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers of ``parser``'s subcommands, each once (aliases share a parser)."""
    found: dict[int, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found.setdefault(id(child), child)
    return list(found.values())


def _print_help(
    parser: argparse.ArgumentParser,
) -> Callable[[argparse.Namespace, CommandContext], int]:
    """A command that prints ``parser``'s help and succeeds, as a bare ``docker network``."""

    def run(args: argparse.Namespace, ctx: CommandContext) -> int:
        parser.print_help()
        return 0

    return run


def _finish(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand the global options, and every bare group its help."""
    for child in _subparsers(parser):
        _add_globals(child, subcommand=True)
        for action in child._actions:
            if isinstance(action, argparse._SubParsersAction):
                action.required = False
                child.set_defaults(func=_print_help(child))
        _finish(child)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Manage libnet networks, endpoints and sandboxes.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_globals(parser, subcommand=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _network.add_parser(sub)
    _endpoint.add_parser(sub)
    _sandbox.add_parser(sub)
    _drivers.add_parser(sub)
    _doctor.add_parser(sub)
    _info.add_parser(sub)
    _ipam.add_parser(sub)
    _new_driver.add_parser(sub)
    _serve.add_parser(sub)
    _agent.add_parser(sub)
    _completion.add_parser(sub, parser)
    _finish(parser)
    parser.set_defaults(func=_print_help(parser))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status (0 ok, 1 error, 2 usage error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format=f"{PROG}: %(levelname)s: %(message)s")
    if args.debug:  # libnet's own debug messages, not those of the libraries it uses
        logging.getLogger("libnet").setLevel(logging.DEBUG)
    elif args.command not in ("serve", "agent"):
        # A command reports each plugin failure itself, once: in the rows of `libnet
        # drivers` / `ipam ls`, or in the error of the command that needed the plugin.
        # A long-running server has no such reader and keeps the warnings.
        logging.getLogger("libnet.plugins").setLevel(logging.ERROR)
    if sys.stderr.isatty():  # a person is waiting: say what a slow plugin call waits for
        logging.getLogger("libnet.plugins.wait").setLevel(logging.INFO)
    ctx = CommandContext(
        state_dir=resolve_state_dir(args.state_dir),
        debug=args.debug,
        plugin_timeout=args.plugin_timeout,
        global_store=args.global_store,
        host_id=args.host_id,
        advertise_addr=args.advertise_addr,
    )
    try:
        status: int = args.func(args, ctx)
        return status
    except LibnetError as exc:
        ctx.report(exc)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``libnet drivers | head``): stop quietly.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:
        ctx.close()
