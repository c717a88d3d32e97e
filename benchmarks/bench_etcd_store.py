"""Print the etcd store's throughput on a 1-member and a 3-member cluster, against SQLite.

Run ``python benchmarks/bench_etcd_store.py [N]`` (needs the ``etcd`` binary; Debian's
``etcd-server``). It starts its own clusters on free loopback ports with throwaway data
dirs, runs the same work on each store from one thread (put, get, compare-and-swap,
create-if-absent, a transaction of 4 puts, a fenced transaction under an etcd lock), prints
operations per second and the ratio to local SQLite (``synchronous=NORMAL`` and ``FULL``;
etcd fsyncs every commit), and stops the clusters.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from _etcd import ETCD, EtcdCluster

from libnet.store import EtcdLocks, EtcdStore, SqliteStore, Store

VALUE = b'{"name": "ep1", "network": "' + b"0" * 64 + b'", "addresses": ["10.0.0.2/24"]}'


def rate(n: int, op: Callable[[int], object]) -> float:
    """Calls per second of ``op(i)`` for i in range(n)."""
    start = time.perf_counter()
    for i in range(n):
        op(i)
    return n / (time.perf_counter() - start)


def bench(store: Store, n: int) -> dict[str, float]:
    keys = [f"global/endpoint/{i:064x}" for i in range(n)]

    def cas(i: int) -> None:
        store.atomic_put(keys[i], VALUE, store.get(keys[i]))

    def txn4(i: int) -> None:
        with store.transaction() as txn:
            for j in range(4):
                txn.put(keys[(4 * i + j) % n], VALUE)

    results = {
        "put": rate(n, lambda i: store.put(keys[i], VALUE)),
        "get": rate(n, lambda i: store.get(keys[i])),
        "get + compare-and-swap": rate(n, cas),
        "create-if-absent": rate(n, lambda i: store.atomic_put(f"new/{i}", VALUE, None)),
        "transaction of 4 puts": rate(n // 4, txn4),
    }
    if isinstance(store, EtcdStore):
        locks = EtcdLocks(store, ttl=10)

        def locked(i: int) -> None:
            with locks.acquire("net/n1") as lock, store.transaction(fence=lock) as txn:
                txn.put(keys[i], VALUE)

        results["lock + fenced transaction + release"] = rate(n // 4, locked)
    return results


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000
    if ETCD is None:
        sys.exit("etcd is not installed (Debian: apt-get install etcd-server etcd-client)")
    table: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="libnet-bench-etcd-") as tmp:
        with SqliteStore(f"{tmp}/normal.db") as sqlite:
            table["sqlite"] = bench(sqlite, n)
        with SqliteStore(f"{tmp}/full.db", synchronous="FULL") as sqlite:
            table["sqlite/FULL"] = bench(sqlite, n)
        for size in (1, 3):
            cluster = EtcdCluster(Path(tmp) / f"etcd{size}", size)
            try:
                cluster.start()
                with EtcdStore(cluster.url("bench")) as store:
                    table[f"etcd x{size}"] = bench(store, n)
            finally:
                cluster.stop()
    names = list(table)
    print(f"{n} operations of each kind, one thread; operations per second")
    header = "".join(f"{name:>13}" for name in names)
    print(f"{'':38}{header}   etcd x1 / sqlite, x3 / sqlite")
    for what in table["etcd x1"]:
        row = [table[name].get(what) for name in names]
        cells = "".join(f"{v:13,.0f}" if v is not None else f"{'-':>13}" for v in row)
        base = table["sqlite"].get(what)
        ratios = (
            f"   {table['etcd x1'][what] / base:.3f}, {table['etcd x3'][what] / base:.3f}"
            if base
            else ""
        )
        print(f"{what:38}{cells}{ratios}")


if __name__ == "__main__":
    main()
