"""``libnet agent``: this host's long-running agent for global-scope networks."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from libnet.cli._context import CommandContext


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "agent",
        help="keep this host's lease in the global store and program overlay peers",
        description="Run until SIGTERM or SIGINT: register this host in the global store "
        "(--global-store) under a lease, tell global-scope drivers of hosts coming and "
        "going, and program the overlay peers of every network with endpoints here. On "
        "SIGTERM the lease is revoked, so the other hosts drop this host's peers at once.",
    )
    p.add_argument("--ttl", type=int, default=None, metavar="SECONDS", help="the node lease's TTL")
    p.set_defaults(func=_agent)


def _agent(args: argparse.Namespace, ctx: CommandContext) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    logging.getLogger("libnet").setLevel(logging.DEBUG if ctx.debug else logging.INFO)
    agent = ctx.controller().agent(ttl=args.ttl)

    def stop(signum: int, frame: FrameType | None) -> None:
        agent.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    agent.run()
    return 0
