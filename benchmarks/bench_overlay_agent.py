"""``libnet agent``: how fast a published endpoint reaches another host's FDB, and how fast
a dead host's peers go.

Three "hosts" (namespaces) on an underlay bridge, one etcd member on the underlay and an
agent process per host (the set-up of ``tests/netns/_agents.py``, lease TTL 3 s). Measured
in the same run:

* **propagation**: ``--endpoints`` endpoints created one after the other on host 1; for each,
  from the start of ``create_endpoint`` to (a) a watch in this process seeing its peer record
  (the store's own propagation: the baseline) and (b) its FDB entry on host 2 (what the
  agent adds: the watch in another process, the decode, netlink); p50 and p99;
* **dead host**: with those peers programmed on host 2, host 1's agent is stopped with
  SIGTERM (lease revoked) and, after a restart, with SIGKILL (lease left to expire): the time
  until host 2's FDB holds none of them, against the TTL.

Runs in a throwaway network and mount namespace it makes at start; needs root and etcd.
Figures are printed, never asserted: ``python benchmarks/bench_overlay_agent.py``
(``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bench_bridge import enter_throwaway_namespaces  # noqa: E402

NID = "d" * 64


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000


def fdb_macs(ipr: Any) -> set[str]:
    from libnet.drivers.overlay.netlink import NTF_SELF

    return {
        str(e.get("NDA_LLADDR"))
        for e in ipr.fdb("dump")
        if e.get("flags", 0) & NTF_SELF and e.get("NDA_DST")
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--endpoints", type=int, default=200)
    args = parser.parse_args()
    count = 20 if args.quick else args.endpoints
    if os.geteuid() != 0:
        sys.exit("bench_overlay_agent needs root (it makes network namespaces)")
    enter_throwaway_namespaces()
    from netns._agents import TTL, agents
    from netns._overlay import endpoint, ipam

    from libnet.drivers.overlay import PeerDB
    from libnet.osl import rtnl

    base = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    with agents(base) as a, rtnl.rtnl(a.c.hosts[1].key) as ipr2:
        h1, h2 = a.c.hosts[0], a.c.hosts[1]
        h1.driver.create_network(NID, {}, ipam("10.201.0.0/16"), [])
        h2.driver.restore_network(NID, {}, ipam("10.201.0.0/16"), [])
        endpoint(h2, NID, "2" * 64, "10.201.255.2/16")  # host 2 has the network's links

        db = PeerDB(a.c.store)
        seen: dict[str, float] = {}
        _, revision = db.view.list_revision(db.peers_prefix(NID))
        watch = db.view.watch(db.peers_prefix(NID), revision)
        stop = threading.Event()

        def watcher() -> None:
            while not stop.is_set():
                for event in watch.next(0.2):
                    seen.setdefault(event.key.rsplit("/", 1)[-1], time.monotonic())

        thread = threading.Thread(target=watcher, daemon=True)
        thread.start()
        store_lat, fdb_lat, macs = [], [], set()
        for n in range(count):
            eid = f"{n + 1:012x}" + "e" * 52  # the first 12 digits name the veth
            start = time.monotonic()
            iface = endpoint(h1, NID, eid, f"10.201.{n // 250}.{n % 250 + 2}/16")
            assert iface.mac_address is not None
            mac = iface.mac_address
            while mac not in fdb_macs(ipr2):
                if time.monotonic() - start > 10:
                    sys.exit(f"endpoint {n} did not reach host 2 within 10 s")
                time.sleep(0.001)
            fdb_lat.append(time.monotonic() - start)
            while eid not in seen and time.monotonic() - start < 10:
                time.sleep(0.001)
            store_lat.append(seen[eid] - start)
            macs.add(mac)
        stop.set()
        thread.join()
        watch.close()

        print(f"overlay agent benchmark: 3 hosts, 1 etcd member, lease TTL {TTL} s, "
              f"python {sys.version.split()[0]}")  # fmt: skip
        print(f"\npropagation over {count} endpoints (from create_endpoint on host 1)")
        print("                                        p50        p99")
        for name, values in (
            ("peer record seen by a watch", store_lat),
            ("FDB entry on host 2 (agent)", fdb_lat),
        ):
            print(f"  {name:34} {pct(values, 0.5):7.1f} ms {pct(values, 0.99):7.1f} ms")
        agent_only = [f - s for f, s in zip(fdb_lat, store_lat, strict=True)]
        print(f"  {'agent share (FDB minus watch)':34} {pct(agent_only, 0.5):7.1f} ms "
              f"{pct(agent_only, 0.99):7.1f} ms")  # fmt: skip
        ratio = statistics.median(fdb_lat) / statistics.median(store_lat)
        print(f"  ratio FDB/watch (p50): {ratio:.2f}")

        def gone(sig: int) -> float:
            proc = a.procs.pop(1)
            start = time.monotonic()
            proc.send_signal(sig)
            while macs & fdb_macs(ipr2):
                if time.monotonic() - start > TTL + 20:
                    sys.exit("host 1's peers were not removed")
                time.sleep(0.002)
            took = time.monotonic() - start
            proc.wait(10)
            return took

        print(f"\ndead host: {count} peers of host 1 removed from host 2's FDB")
        revoked = gone(signal.SIGTERM)
        print(f"  SIGTERM (lease revoked)      {revoked * 1000:8.1f} ms")
        a.start(1)
        start = time.monotonic()
        while not macs <= fdb_macs(ipr2):
            if time.monotonic() - start > 20:
                sys.exit("host 1's peers did not come back after its agent restarted")
            time.sleep(0.005)
        print(f"  restart: all back on host 2  {(time.monotonic() - start) * 1000:8.1f} ms")
        killed = gone(signal.SIGKILL)
        print(f"  SIGKILL (lease expires)      {killed * 1000:8.1f} ms  "
              f"(TTL {TTL} s; {killed - TTL:+.2f} s after it)")  # fmt: skip


if __name__ == "__main__":
    main()
