"""Print the state stores' throughput: put, get, and a transaction of 4 puts.

Run ``python benchmarks/bench_store.py [N]``; the SQLite store uses a temporary directory.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable

from libnet.store import MemoryStore, SqliteStore, Store

VALUE = b'{"name": "ep1", "network": "' + b"0" * 64 + b'", "addresses": ["10.0.0.2/24"]}'


def rate(n: int, op: Callable[[int], object]) -> float:
    """Calls per second of ``op(i)`` for i in range(n)."""
    start = time.perf_counter()
    for i in range(n):
        op(i)
    return n / (time.perf_counter() - start)


def bench(name: str, store: Store, n: int) -> None:
    keys = [f"local/endpoint/{i:064x}" for i in range(n)]

    def txn4(i: int) -> None:
        with store.transaction() as txn:
            for j in range(4):
                txn.put(keys[(4 * i + j) % n], VALUE)

    def lifecycle(i: int) -> None:  # create, join, leave, delete: 4 writes, 1 read
        key = f"local/lifecycle/{i:064x}"
        created = store.atomic_put(key, VALUE, None)
        store.atomic_put(key, VALUE, created)
        left = store.atomic_put(key, VALUE, store.get(key))
        store.atomic_delete(key, left)

    results = {
        "put": rate(n, lambda i: store.put(keys[i], VALUE)),
        "get": rate(n, lambda i: store.get(keys[i])),
        "transaction of 4 puts": rate(n // 4, txn4),
        "endpoint lifecycle (4 atomic writes + 1 get)": rate(n // 4, lifecycle),
    }
    for what, per_second in results.items():
        print(f"{name:11} {what:46} {per_second:12,.0f} /s")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    bench("memory", MemoryStore(), n)
    with tempfile.TemporaryDirectory() as tmp:
        with SqliteStore(tmp) as store:
            bench("sqlite", store, n)
        with SqliteStore(f"{tmp}/full.db", synchronous="FULL") as store:
            bench("sqlite/FULL", store, n // 10)


if __name__ == "__main__":
    main()
