"""Lifecycle throughput of libnet's controller, against Docker and against the targets.

Measured in this process, one operation after another, with the built-in ``null`` driver
(its calls cost next to nothing, so the figures are libnet's own cost):

* network create+delete: ``new_network`` then ``Network.delete``, per second;
* endpoint lifecycle: ``create_endpoint``, ``join``, ``leave``, ``delete`` on one network
  and one sandbox, per second (four controller operations, four store transactions);
  and the same on a network that already has ``--crowd`` other endpoints (how it scales);

each with the memory store (``Controller()``) and with the SQLite store
(``Controller(state_dir=...)``) in a state directory on tmpfs (``/dev/shm``) and on the
file system of ``/tmp``. The SQLite durability setting in force is read from the file
and printed: WAL journal, ``synchronous=NORMAL`` (commits survive a killed process; the
last ones may be lost on power failure). Each figure is the best of ``--repeat`` runs,
with the median beside it.

The anchor is a real Docker Engine: ``--docker`` starts a private ``dockerd`` (see
``_dockerd.py``; needs root and Debian's ``docker.io``) and times ``docker network
create`` + ``docker network rm`` with the CLI, one process each as a user runs them, and
the same two requests straight to the Engine API over one keep-alive connection. Without
``--docker``, or without dockerd, the anchor is skipped and the reason printed.

``--cpu`` times the runs by this process's CPU time instead of the wall clock (on a
machine shared with other work, the steadier guide). ``--profile`` adds a cProfile of the
memory-store endpoint lifecycle. Figures are printed, never asserted. Run ``python
benchmarks/bench_lifecycle.py --docker`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _dockerd import DockerdError, Engine, private_dockerd, unavailable_reason

import libnet

TARGETS = {"endpoint lifecycle": {"memory": 20_000.0, "sqlite": 2_000.0}}
"""Endpoint lifecycles per second libnet aims at, by store."""

SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


@dataclass
class Result:
    scenario: str
    store: str
    rates: list[float]
    """Cycles per second of each run."""

    @property
    def best(self) -> float:
        return max(self.rates)

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


# -- libnet --------------------------------------------------------------------------


CLOCK = [time.perf_counter]
"""The clock runs are timed by (``--cpu``: time.process_time)."""


def _runs(cycle: Callable[[int], None], count: int, repeat: int) -> list[float]:
    """Run ``cycle`` ``count`` times per run after a warm-up; cycles per second of each run."""
    clock = CLOCK[0]
    serial = iter(range(10**9))
    for _ in range(max(count // 10, 1)):
        cycle(next(serial))
    rates = []
    for _ in range(repeat):
        start = clock()
        for _ in range(count):
            cycle(next(serial))
        rates.append(count / (clock() - start))
    return rates


def network_cycles(controller: libnet.Controller, count: int, repeat: int) -> list[float]:
    def cycle(i: int) -> None:
        controller.new_network("null", f"n{i}").delete()

    return _runs(cycle, count, repeat)


def endpoint_cycles(
    controller: libnet.Controller, count: int, repeat: int, crowd: int = 0
) -> list[float]:
    """Endpoint lifecycles on a network that already has ``crowd`` other endpoints."""
    network = controller.new_network("null", "bench")
    sandbox = controller.new_sandbox("bench-container")
    for i in range(crowd):
        network.create_endpoint(f"crowd{i}")

    def cycle(i: int) -> None:
        endpoint = network.create_endpoint(f"e{i}")
        endpoint.join(sandbox)
        endpoint.leave(sandbox)
        endpoint.delete()

    try:
        return _runs(cycle, count, repeat)
    finally:
        sandbox.delete()
        network.delete(force=crowd > 0)


def fs_type(path: Path) -> str:
    """The type of the file system holding ``path`` (from /proc/mounts), or ``?``."""
    best, kind = "", "?"
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    target = str(path.resolve())
    for line in mounts:
        fields = line.split()
        inside = len(fields) >= 3 and (target + "/").startswith(fields[1].rstrip("/") + "/")
        if inside and len(fields[1]) >= len(best):
            best, kind = fields[1], fields[2]
    return kind


@contextmanager
def controller_for(parent: Path | None) -> Iterator[libnet.Controller]:
    """A controller with no plugins: in memory, or on a fresh state dir under ``parent``."""
    if parent is None:
        with libnet.Controller(plugins="off") as controller:
            yield controller
        return
    state_dir = Path(tempfile.mkdtemp(prefix="libnet-bench-", dir=parent))
    try:
        with libnet.Controller(state_dir=state_dir, plugins="off") as controller:
            yield controller
    finally:
        shutil.rmtree(state_dir, ignore_errors=True)


def durability(parent: Path) -> str:
    """The journal mode and synchronous level a libnet state file really uses."""
    with controller_for(parent) as controller:
        conn: sqlite3.Connection = controller._store._conn  # type: ignore[attr-defined]
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
        (sync,) = conn.execute("PRAGMA synchronous").fetchone()
    return f"journal_mode={mode}, synchronous={SYNCHRONOUS.get(sync, sync)}"


def state_parents() -> list[tuple[str, Path]]:
    """Where SQLite state dirs go: tmpfs /dev/shm if there is one, and /tmp."""
    places = []
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        places.append((f"sqlite, /dev/shm ({fs_type(shm)})", shm))
    tmp = Path(tempfile.gettempdir())
    places.append((f"sqlite, {tmp} ({fs_type(tmp)})", tmp))
    return places


# -- Docker --------------------------------------------------------------------------


def docker_cli_cycles(engine: Engine, count: int, repeat: int) -> list[float]:
    def cycle(i: int) -> None:
        for args in (("network", "create", f"bench-cli-{i}"), ("network", "rm", f"bench-cli-{i}")):
            subprocess.run(engine.cli(*args), check=True, stdout=subprocess.DEVNULL)

    return _runs(cycle, count, repeat)


def docker_api_cycles(engine: Engine, count: int, repeat: int) -> list[float]:
    conn = engine.connection()

    def cycle(i: int) -> None:
        status, _ = engine.api("POST", "/networks/create", {"Name": f"bench-api-{i}"}, conn=conn)
        assert status == 201, status
        status, _ = engine.api("DELETE", f"/networks/bench-api-{i}", conn=conn)
        assert status == 204, status

    try:
        return _runs(cycle, count, repeat)
    finally:
        conn.close()


def docker_anchor(cli_count: int, api_count: int, repeat: int) -> tuple[list[Result], str]:
    """Measure a private dockerd; the results and a line saying what ran (or why not)."""
    reason = unavailable_reason()
    if reason is not None:
        return [], f"docker anchor skipped: {reason}"
    try:
        with private_dockerd() as engine:
            results = [
                Result("docker network create+rm", "docker CLI", []),
                Result("docker network create+rm", "Engine API", []),
            ]
            results[0].rates = docker_cli_cycles(engine, cli_count, repeat)
            results[1].rates = docker_api_cycles(engine, api_count, repeat)
            return results, f"docker anchor: private dockerd {engine.version} ({engine.docker})"
    except (DockerdError, subprocess.CalledProcessError, AssertionError) as exc:
        return [], f"docker anchor skipped: {exc}"


# -- report --------------------------------------------------------------------------


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _ratio(value: float, anchor: float | None) -> str:
    if not anchor:
        return "-"
    ratio = value / anchor
    return f"{ratio:,.0f}x" if ratio >= 10 else f"{ratio:.2f}x"


def print_table(results: list[Result]) -> None:
    anchors = {r.store: r.best for r in results if r.scenario.startswith("docker")}
    cli, api = anchors.get("docker CLI"), anchors.get("Engine API")
    header = (
        f"{'scenario':<27} {'store':<28} {'best/s':>9} {'median/s':>9} "
        f"{'vs CLI':>8} {'vs API':>8} {'target/s':>9} {'vs target':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        target = TARGETS.get(r.scenario, {}).get(r.store.split(",")[0])
        print(
            f"{r.scenario:<27} {r.store:<28} {_rate(r.best):>9} {_rate(r.median):>9} "
            f"{_ratio(r.best, cli):>8} {_ratio(r.best, api):>8} "
            f"{_rate(target) if target else '-':>9} {_ratio(r.best, target):>9}"
        )
    print(
        "\nA cycle is one network create+delete, one endpoint create+join+leave+delete "
        "(4 operations),\nor one docker network create+rm. 'vs CLI' and 'vs API' divide by "
        "the docker network create+rm rate."
    )


def profile_memory_lifecycle(count: int, top: int = 18) -> None:
    """cProfile of the memory-store endpoint lifecycle, by own time and by cumulative time."""
    with controller_for(None) as controller:
        profiler = cProfile.Profile()
        profiler.enable()
        endpoint_cycles(controller, count, 1)
        profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats(order).print_stats(top)
        lines = [line for line in out.getvalue().splitlines() if line.strip()]
        print(f"\ncProfile, memory store, {count} endpoint lifecycles, by {order}:")
        print("\n".join(lines[2:]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a smoke run")
    parser.add_argument("--docker", action="store_true", help="measure a private dockerd")
    parser.add_argument("--profile", action="store_true", help="cProfile the memory lifecycle")
    parser.add_argument("--cpu", action="store_true", help="time by CPU time, not wall clock")
    parser.add_argument("--repeat", type=int, default=0, help="runs per figure (default 5)")
    parser.add_argument(
        "--crowd",
        type=int,
        default=2000,
        help="endpoints already on the network in the crowded lifecycle (default 2000)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    repeat = args.repeat or (2 if quick else 5)
    memory_n, sqlite_n = (500, 200) if quick else (10_000, 2_000)
    cli_n, api_n = (5, 20) if quick else (30, 300)

    print(f"libnet {libnet.__version__}, Python {platform.python_version()}, {platform.platform()}")
    if args.cpu:
        CLOCK[0] = time.process_time
    clock = "CPU time of this process" if args.cpu else "wall clock"
    print(f"{os.cpu_count()} CPUs; null driver; best and median of {repeat} runs; {clock}\n")
    results = []
    places: list[tuple[str, Path | None]] = [("memory", None), *state_parents()]
    for label, parent in places:
        count = memory_n if parent is None else sqlite_n
        with controller_for(parent) as controller:
            results.append(Result("network create+delete", label, []))
            results[-1].rates = network_cycles(controller, count, repeat)
        with controller_for(parent) as controller:
            results.append(Result("endpoint lifecycle", label, []))
            results[-1].rates = endpoint_cycles(controller, count, repeat)
    for label, parent in places[:: len(places) - 1]:  # memory and the last file system
        count = memory_n if parent is None else sqlite_n
        with controller_for(parent) as controller:
            crowded = f"endpoint lifecycle, {args.crowd} others"
            results.append(Result(crowded, label, []))
            results[-1].rates = endpoint_cycles(
                controller, max(count // 20, 50), repeat, args.crowd
            )
    print(f"SQLite durability in force: {durability(state_parents()[0][1])}")
    if args.docker:
        anchor, note = docker_anchor(cli_n, api_n, repeat)
        results.extend(anchor)
    else:
        note = "docker anchor skipped: run with --docker to start a private dockerd"
        reason = unavailable_reason()
        if reason is not None:
            note += f" (not possible here: {reason})"
    print(note + "\n")
    print_table(results)
    if args.profile:
        profile_memory_lifecycle(2_000 if quick else 10_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
