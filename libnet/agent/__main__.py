"""``python -m libnet.agent``: the agent as a process (what ``libnet agent`` runs).

    python -m libnet.agent --global-store etcd://10.0.0.5:2379/libnet/ \\
        --state-dir /var/lib/libnet [--advertise-addr 10.0.0.7] [--ttl 10]

The host ID is the state directory's (``host-id``); the advertise address defaults to
``LIBNET_ADVERTISE_ADDR``, then the default route's. SIGTERM and SIGINT stop it and revoke
the lease (the other hosts drop this host's peers at once). It logs one line per change.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from libnet.agent._agent import Agent
from libnet.drivers.overlay import OverlayDriver
from libnet.errors import LibnetError
from libnet.nodes import DEFAULT_TTL, advertise_address
from libnet.store import EtcdStore
from libnet.store.hostid import check_host_id, host_id

__all__ = ["main", "parser"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="libnet agent",
        description="Keep this host's lease in the global store and program overlay peers.",
    )
    p.add_argument(
        "--global-store",
        default=os.environ.get("LIBNET_GLOBAL_STORE"),
        help="etcd://HOST:PORT[,HOST:PORT...]/PREFIX (default: LIBNET_GLOBAL_STORE)",
    )
    p.add_argument(
        "--state-dir",
        default=os.environ.get("LIBNET_STATE_DIR", "/var/lib/libnet"),
        help="the host's state directory, which holds its host ID",
    )
    p.add_argument("--advertise-addr", help="this host's address (default: the default route's)")
    p.add_argument("--host-id", help="this host's ID (default: the state directory's)")
    p.add_argument("--ttl", type=int, default=DEFAULT_TTL, help="node lease TTL in seconds")
    p.add_argument("--vxlan-port", type=int, default=4789, help="VXLAN UDP port")
    p.add_argument("--owner", help="owner mark of the overlay links (12 hex digits)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    log = logging.getLogger("libnet")
    if not args.global_store:
        log.error("libnet agent needs a global store: give --global-store or LIBNET_GLOBAL_STORE")
        return 2
    try:
        address = advertise_address(args.advertise_addr)
        host = check_host_id(args.host_id) if args.host_id else host_id(args.state_dir)
        store = EtcdStore(args.global_store)
        driver = OverlayDriver(
            args.owner, store=store, vtep=address, host=host, port=args.vxlan_port
        )
        agent = Agent(store, driver, host, address, ttl=args.ttl)
    except LibnetError as e:
        log.error("%s", e)
        return 1

    def stop(signum: int, frame: FrameType | None) -> None:
        agent.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        agent.run()
    except LibnetError as e:
        log.error("%s", e)
        return 1
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
