"""Print the default IPAM driver's speed and memory against simple baselines.

Run ``python benchmarks/bench_ipam.py [--full]``. Figures, not assertions:

- every address of an IPv4 /16 (65,534) allocated, then all released: the default
  driver on a memory store (one transaction per call, and all calls in one bound
  transaction) against a plain set of used addresses scanned linearly for the next free
  one (lowest free, scanning from the start: quadratic, so measured on smaller subnets
  and extrapolated unless ``--full``; and next free after a cursor), and against merely
  iterating ``ipaddress.ip_network(...).hosts()`` as the floor;
- 100,000 addresses allocated from an IPv6 /64: time, peak memory, bytes stored;
- the same /16 on the SQLite store, one transaction per call, for information.

Time is the best of three runs; peak memory is tracemalloc's during one separate run,
above what was allocated before it (the caller keeps no returned address).
"""

from __future__ import annotations

import gc
import ipaddress
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable

from libnet.ipam import DefaultIpam
from libnet.store import MemoryStore, SqliteStore, Store

SUBNET = "10.0.0.0/16"


def _hosts(prefix: int) -> tuple[int, int]:
    net = ipaddress.ip_network(f"10.0.0.0/{prefix}")
    return int(net.network_address) + 1, int(net.broadcast_address) - 1


def _v4(value: int) -> str:
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def measure(run: Callable[[], object], repeat: int = 3, trace: bool = True) -> tuple[float, int]:
    """(best time in seconds, peak bytes or 0 when not traced) of ``run()``."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    if not trace:
        return best, 0
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    run()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return best, peak


# The allocators: each run allocates every host address of 10.0.0.0/<prefix>, then
# releases them all.


def default_per_call(prefix: int, store: Callable[[], Store] = MemoryStore) -> Callable[[], None]:
    first, last = _hosts(prefix)

    def run() -> None:
        with store() as kv:
            ipam = DefaultIpam(kv)
            pool_id = ipam.request_pool("LocalDefault", f"10.0.0.0/{prefix}")[0]
            request, release = ipam.request_address, ipam.release_address
            for _ in range(first, last + 1):
                request(pool_id)
            for value in range(first, last + 1):
                release(pool_id, _v4(value))
            assert not ipam.addresses(pool_id)

    return run


def default_one_transaction(prefix: int) -> Callable[[], None]:
    first, last = _hosts(prefix)

    def run() -> None:
        store = MemoryStore()
        ipam = DefaultIpam(store)
        pool_id = ipam.request_pool("LocalDefault", f"10.0.0.0/{prefix}")[0]
        with store.transaction() as tx:
            bound = ipam.bind(tx)
            for _ in range(first, last + 1):
                bound.request_address(pool_id)
            for value in range(first, last + 1):
                bound.release_address(pool_id, _v4(value))

    return run


def set_lowest_free(prefix: int) -> Callable[[], None]:
    """A set of used addresses; the next one is the lowest free, scanning from the start."""
    first, last = _hosts(prefix)

    def run() -> None:
        used: set[int] = set()
        for _ in range(first, last + 1):
            for value in range(first, last + 1):
                if value not in used:
                    used.add(value)
                    _v4(value)
                    break
        for value in range(first, last + 1):
            used.remove(int(ipaddress.IPv4Address(_v4(value))))

    return run


def set_next_fit(prefix: int) -> Callable[[], None]:
    """A set of used addresses; the next one is the first free after the last allocated."""
    first, last = _hosts(prefix)

    def run() -> None:
        used: set[int] = set()
        cursor = first
        for _ in range(first, last + 1):
            value = cursor
            while value in used:
                value = first if value == last else value + 1
            used.add(value)
            _v4(value)
            cursor = first if value == last else value + 1
        for value in range(first, last + 1):
            used.remove(int(ipaddress.IPv4Address(_v4(value))))

    return run


def hosts_floor(prefix: int, as_text: bool) -> Callable[[], None]:
    net = ipaddress.ip_network(f"10.0.0.0/{prefix}")

    def run() -> None:
        if as_text:
            for address in net.hosts():
                str(address)
        else:
            for _ in net.hosts():
                pass

    return run


def ipv6(count: int) -> tuple[Callable[[], None], dict[str, int]]:
    stored: dict[str, int] = {}

    def run() -> None:
        store = MemoryStore()
        ipam = DefaultIpam(store)
        pool_id = ipam.request_pool("LocalDefault", "fd00:1:2:3::/64", v6=True)[0]
        for _ in range(count):
            ipam.request_address(pool_id)
        pairs = store.list("")
        stored["keys"] = len(pairs)
        stored["bytes"] = sum(len(p.key) + len(p.value) for p in pairs)

    return run, stored


def ipv6_set(count: int) -> Callable[[], None]:
    def run() -> None:
        base = int(ipaddress.IPv6Address("fd00:1:2:3::"))
        used: set[int] = set()
        for i in range(1, count + 1):
            used.add(base + i)

    return run


def row(what: str, seconds: float, peak: int | None = None, note: str = "") -> None:
    memory = "" if peak is None else f"{peak / 1024:12,.0f} KiB"
    print(f"  {what:58} {seconds:9.3f} s {memory:>16}  {note}")


def main() -> None:
    full = "--full" in sys.argv
    n = 65534
    print(f"Allocate all {n:,} addresses of an IPv4 /16, then release them all:")
    t, m = measure(default_per_call(16))
    row("default IPAM, memory store, a transaction per call", t, m, f"{2 * n / t:,.0f} calls/s")
    t, m = measure(default_one_transaction(16))
    row("default IPAM, memory store, one bound transaction", t, m)
    t, m = measure(set_next_fit(16))
    row("set of used addresses, next free after a cursor", t, m)
    if full:
        t, m = measure(set_lowest_free(16), repeat=1)
        row("set of used addresses, lowest free by linear scan", t, m)
    else:
        t, m = measure(set_lowest_free(20), repeat=1)
        row("set of used addresses, lowest free by linear scan, /20", t, m)
        t, _ = measure(set_lowest_free(18), repeat=1, trace=False)
        row("set of used addresses, lowest free by linear scan, /18", t, None)
        row(
            "  ... extrapolated to the /16 (quadratic: x16 the /18)",
            16 * t,
            None,
            "(--full runs it)",
        )
    t, m = measure(hosts_floor(16, False))
    row("floor: iterating ip_network(...).hosts()", t, m)
    t, m = measure(hosts_floor(16, True))
    row("floor: iterating ip_network(...).hosts() with str()", t, m)

    count = 100_000
    print(f"\nAllocate {count:,} addresses of an IPv6 /64 (memory store, a transaction per call):")
    run, stored = ipv6(count)
    t, m = measure(run, repeat=1)
    row("default IPAM", t, m, f"store: {stored['keys']} keys, {stored['bytes']:,} bytes")
    t, m = measure(ipv6_set(count), repeat=1)
    row("for scale: a set of 100,000 IPv6 addresses as ints", t, m)

    print("\nThe /16 on the SQLite store (WAL, synchronous=NORMAL), a transaction per call:")
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(1000))

        def sqlite() -> Store:
            return SqliteStore(f"{tmp}/state{next(counter)}")

        t, _ = measure(default_per_call(16, sqlite), repeat=1, trace=False)
    row("default IPAM", t, None, f"{2 * n / t:,.0f} calls/s")


if __name__ == "__main__":
    main()
