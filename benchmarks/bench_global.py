"""Global scope on etcd: network and endpoint lifecycles per second, and visibility time.

Run ``python benchmarks/bench_global.py [N]`` (needs the ``etcd`` binary). On the same work
(N network create+delete, N endpoint create+delete on one network), with the null driver
registered as global-scope for the etcd runs: a 1-member and a 3-member etcd cluster it
starts on loopback ports, against the baseline of the plain null driver on a local SQLite
state directory. Then the time from a network's creation by controller A until controller
B (another state directory on the same store) finds it. Docker's ``network create`` + ``rm``
on the same work (N networks from its default pools, no containers) closes the table, when
the private dockerd of ``_dockerd.py`` can run here (root, ``docker.io``): Docker's default
settings in a throwaway network namespace, through its Engine API on one kept-alive
connection (what libnet's in-process calls compare with) and through the ``docker`` CLI
(what a user sees). Docker cannot create ``null`` networks, so it runs its ``bridge``
driver: it also makes a Linux bridge and its iptables rules, work the null driver does not
do; and its state is one host's (its overlay needs Swarm). Endpoints need containers in
Docker, so its endpoint column is empty. Prints figures; asserts nothing.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _dockerd import DockerdError, Engine, private_dockerd, unavailable_reason
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


Row = tuple[str, float, float | None, float | None]
"""Store, networks/s, endpoints/s (None: not measured), A->B visibility in s (None: -)."""


def docker_rows(n: int) -> list[Row]:
    """Docker's network create+rm per second: Engine API, then CLI (none if it cannot run)."""
    reason = unavailable_reason()
    if reason is not None:
        print(f"Docker not measured: {reason}", file=sys.stderr)
        return []
    try:
        with private_dockerd() as engine:
            api = _docker_api_rate(engine, n)
            return [
                ("Docker bridge, Engine API", api, None, None),
                ("Docker bridge, docker CLI", _docker_cli_rate(engine, n), None, None),
            ]
    except DockerdError as exc:
        print(f"Docker not measured: {exc}", file=sys.stderr)
        return []


def _docker_api_rate(engine: Engine, n: int) -> float:
    conn = engine.connection(timeout=120)

    def pair(name: str) -> None:
        status, made = engine.api("POST", "/networks/create", {"Name": name}, conn=conn)
        assert status == 201, (status, made)
        status, _ = engine.api("DELETE", f"/networks/{made['Id']}", conn=conn)
        assert status == 204, status

    try:
        pair("warm")
        began = time.perf_counter()
        for i in range(n):
            pair(f"n{i}")
        return n / (time.perf_counter() - began)
    finally:
        conn.close()


def _docker_cli_rate(engine: Engine, n: int) -> float:
    def docker(*args: str) -> None:
        subprocess.run(engine.cli(*args), check=True, capture_output=True)

    began = time.perf_counter()
    for i in range(n):
        docker("network", "create", f"c{i}")
        docker("network", "rm", f"c{i}")
    return n / (time.perf_counter() - began)


def main() -> None:
    if ETCD is None:
        sys.exit("etcd is not installed (apt-get install etcd-server)")
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    base = Path(tempfile.mkdtemp(prefix="bench-global-"))
    try:
        base_net, base_ep = lifecycles(base / "local", None, n)
        rows: list[Row] = [("local SQLite (baseline)", base_net, base_ep, None)]
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
        rows += docker_rows(n)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print(f"{n} lifecycles each; ratios against local SQLite")
    print(
        f"{'store':26} {'net create+rm/s':>16} {'ratio':>6} {'ep create+rm/s':>15} {'ratio':>6}"
        f" {'A->B visible':>13}"
    )
    for name, nets, eps, vis in rows:
        seen = "-" if vis is None else f"{vis * 1000:.1f} ms"
        endpoints = f"{'-':>15} {'-':>6}" if eps is None else f"{eps:15.1f} {eps / base_ep:6.2f}"
        print(f"{name:26} {nets:16.1f} {nets / base_net:6.2f} {endpoints} {seen:>13}")


if __name__ == "__main__":
    main()
