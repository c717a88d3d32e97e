"""Global scope on etcd: network and endpoint lifecycles per second, and visibility time.

Run ``python benchmarks/bench_global.py [N]`` (needs the ``etcd`` binary). On the same work
(N network create+delete, N endpoint create+delete on one network), with the null driver
registered as global-scope for the etcd runs: a 1-member and a 3-member etcd cluster it
starts on loopback ports, against the baseline of the plain null driver on a local SQLite
state directory. Then the time from a network's creation by controller A until controller
B (another state directory on the same store) finds it. Docker is not measured here.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _etcd import ETCD, EtcdCluster

from libnet import Controller
from libnet.driverapi import Capability, Scope
from libnet.drivers.null import NullDriver
from libnet.errors import NetworkNotFoundError


def controller(state: Path, url: str | None) -> tuple[Controller, str]:
    ctl = Controller(state_dir=state, global_store=url)
    if url is None:
        return ctl, "null"
    ctl.register_driver("gnull", NullDriver(), Capability(Scope.GLOBAL))
    return ctl, "gnull"


def lifecycles(state: Path, url: str | None, n: int) -> tuple[float, float]:
    """(network create+delete per s, endpoint create+delete per s)."""
    ctl, kind = controller(state, url)
    with ctl:
        began = time.perf_counter()
        for i in range(n):
            ctl.new_network(kind, f"n{i}").delete()
        networks = n / (time.perf_counter() - began)
        net = ctl.new_network(kind, "eps")
        began = time.perf_counter()
        for i in range(n):
            net.create_endpoint(f"e{i}").delete()
        endpoints = n / (time.perf_counter() - began)
        net.delete()
    return networks, endpoints


def visibility(base: Path, url: str, rounds: int = 10) -> float:
    """Median seconds from A's create returning until B's lookup finds the network."""
    a, kind = controller(base / "vis-a", url)
    b, _ = controller(base / "vis-b", url)
    times = []
    with a, b:
        for i in range(rounds):
            net = a.new_network(kind, f"vis{i}")
            began = time.perf_counter()
            while True:
                try:
                    b.network_by_name(f"vis{i}")
                    break
                except NetworkNotFoundError:
                    pass
            times.append(time.perf_counter() - began)
            net.delete()
    return statistics.median(times)


def main() -> None:
    if ETCD is None:
        sys.exit("etcd is not installed (apt-get install etcd-server)")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    base = Path(tempfile.mkdtemp(prefix="bench-global-"))
    rows = [("local SQLite (baseline)", *lifecycles(base / "local", None, n), None)]
    for size in (1, 3):
        cluster = EtcdCluster(base / f"etcd{size}", size).start()
        try:
            url = cluster.url("bench/")
            rows.append(
                (
                    f"etcd, {size} member{'s' * (size > 1)}",
                    *lifecycles(base / f"g{size}", url, n),
                    visibility(base / f"v{size}", url),
                )
            )
        finally:
            cluster.stop()
    base_net, base_ep = rows[0][1], rows[0][2]
    print(f"{n} lifecycles each; ratios against local SQLite")
    print(
        f"{'store':26} {'net create+rm/s':>16} {'ratio':>6} {'ep create+rm/s':>15} {'ratio':>6}"
        f" {'A->B visible':>13}"
    )
    for name, nets, eps, vis in rows:
        seen = "-" if vis is None else f"{vis * 1000:.1f} ms"
        print(
            f"{name:26} {nets:16.1f} {nets / base_net:6.2f} {eps:15.1f} {eps / base_ep:6.2f}"
            f" {seen:>13}"
        )


if __name__ == "__main__":
    main()
