"""``libnet info``: this host's ID, its two stores and their health, and counts, as
``docker info`` gives them, with its warnings (overlay endpoints here and no agent)."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import TYPE_CHECKING, Any

from libnet.cli._context import CommandContext
from libnet.cli._format import print_json
from libnet.errors import LibnetError
from libnet.store import Store

if TYPE_CHECKING:  # imported by the command when it runs (every command builds the parser)
    from libnet.controller import Controller


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "info",
        help="show this host's ID, its stores and their health, and counts",
        description="Show the host ID, the local store and the global store (shared by the "
        "hosts, for global-scope networks) with their health, and how many networks, "
        "sandboxes and drivers there are.",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _health(store: Store, key: str) -> str:
    """``healthy`` if a read of ``store`` answers, else why not."""
    try:
        store.exists(key)
    except LibnetError as exc:
        return f"unhealthy: {exc}"
    return "healthy"


def _describe(store: Store) -> str:
    path = getattr(store, "path", None)
    return f"SQLite {path}" if path is not None else type(store).__name__


def _warnings(controller: Controller) -> list[str]:
    """What the user should fix; a global store that does not answer is shown unhealthy."""
    from libnet.reconcile import agent_warning

    try:
        names = controller.networks_without_agent()
    except LibnetError:
        return []
    return [agent_warning(names)] if names else []


def info(ctx: CommandContext) -> dict[str, Any]:
    """What ``libnet info`` shows, as a dict."""
    controller = ctx.controller()  # makes the state directory and host ID, as a first use
    gstore = controller.global_store
    scopes = Counter(n.scope for n in controller.networks())
    drivers = controller.drivers()
    return {
        "host_id": controller.host_id,
        "state_dir": str(ctx.state_dir),
        "local_store": {
            "store": _describe(controller.local_store),
            "health": _health(controller.local_store, "local/health"),
        },
        "global_store": None
        if gstore is None
        else {"store": repr(gstore), "health": _health(gstore, "global/health")},
        "networks": {"total": sum(scopes.values()), **dict(sorted(scopes.items()))},
        "sandboxes": len(controller.sandboxes()),
        "drivers": {
            "total": len(drivers),
            **dict(sorted(Counter(d.status for d in drivers).items())),
        },
        "network_drivers": sorted(d.name for d in drivers if d.status == "ok"),
        "ipam_drivers": sorted(d.name for d in controller.ipam_drivers()),
        "warnings": _warnings(controller),
    }


def run(args: argparse.Namespace, ctx: CommandContext) -> int:
    data = info(ctx)
    if args.json:
        print_json(data)
        return 0
    print(f"Host ID: {data['host_id']}")
    print(f"State directory: {data['state_dir']}")
    local = data["local_store"]
    print(f"Local store: {local['store']} ({local['health']})")
    gstore = data["global_store"]
    if gstore is None:
        print("Global store: none (give --global-store or LIBNET_GLOBAL_STORE)")
    else:
        print(f"Global store: {gstore['store']} ({gstore['health']})")
    nets = data["networks"]
    by_scope = ", ".join(f"{k} {v}" for k, v in nets.items() if k != "total")
    print(f"Networks: {nets['total']}" + (f" ({by_scope})" if by_scope else ""))
    print(f"Sandboxes: {data['sandboxes']}")
    drv = data["drivers"]
    by_status = ", ".join(f"{k} {v}" for k, v in drv.items() if k != "total")
    print(f"Drivers: {drv['total']} ({by_status})")
    print(f" Network: {' '.join(data['network_drivers'])}")
    print(f" IPAM: {' '.join(data['ipam_drivers'])}")
    for warning in data["warnings"]:
        print(f"WARNING: {warning}", file=sys.stderr)  # as docker info prints its own
    return 0
