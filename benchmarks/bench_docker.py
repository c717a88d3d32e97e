"""``docker network create`` + ``rm`` per second: libnet-served drivers against Docker's own.

Starts a private dockerd (``_dockerd.py``, the one the Docker tests use: Docker's default
settings, iptables on, in a network namespace of its own), serves libnet's ``bridge``
driver to it with ``libnet serve`` in that namespace (once alone, once with libnet's
``default`` IPAM as the same plugin), and in the same run, interleaved round by round, times
creating and removing one network of each kind:

* ``docker bridge``: Docker's built-in ``bridge`` driver and its built-in IPAM (the baseline
  of the ratios; it writes its iptables rules, as libnet's bridge writes its own);
* ``libnet bridge``: libnet's ``bridge`` driver served as a plugin, Docker's IPAM;
* ``libnet bridge + ipam``: the same plugin also serving libnet's ``default`` IPAM
  (``--ipam-driver``), so pool and gateway requests also cross the plugin socket.

Every network gets the same /24 (``--subnet``) and has no containers: each pair is Docker's
create path (IPAM pool and gateway, driver CreateNetwork, which makes a Linux bridge with the
gateway address) and its remove path. Two clients: the Engine API over its unix socket with one
kept-alive connection (the engine and driver cost alone), and the ``docker`` CLI (what a user
sees, with two client processes per pair). Figures: pairs per second, and median and p99 of
the create and the rm latencies. It prints figures, never assertions.

Run as root: ``python benchmarks/bench_docker.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _dockerd import DockerdError, Engine, private_dockerd, unavailable_reason

API = "/v1.41"  # Docker Engine 20.10
PLUGIN_DIR = Path("/run/docker/plugins")  # where Docker looks for plugin sockets


class EngineApi:
    """The Docker Engine API over its unix socket, on one kept-alive connection."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn = engine.connection(timeout=120)

    def call(self, method: str, path: str, body: Any = None) -> Any:
        status, data = self._engine.api(method, API + path, body, conn=self._conn)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {status}: {data}")
        return data

    def close(self) -> None:
        self._conn.close()


@dataclass
class Variant:
    label: str
    driver: str
    ipam: str | None = None
    create: list[float] = field(default_factory=list)
    remove: list[float] = field(default_factory=list)
    wall: float = 0.0

    def reset(self) -> None:
        self.create.clear()
        self.remove.clear()
        self.wall = 0.0


class ServedPlugin:
    """``libnet serve DRIVER`` as legacy Docker plugin NAME, at INFO level (no call log), in
    the engine's network namespace."""

    def __init__(self, driver: str, ipam: str | None, workdir: Path, engine: Engine) -> None:
        self.name = f"libnet-bench-{secrets.token_hex(4)}"
        self.socket = PLUGIN_DIR / f"{self.name}.sock"
        self.log = workdir / f"{self.name}.log"
        cmd = engine.in_netns(
            sys.executable, "-m", "libnet", "--state-dir", str(workdir / self.name)
        )
        cmd += ["serve", driver, "--name", self.name, "--socket", str(self.socket)]
        if ipam:
            cmd += ["--ipam", ipam]
        self.cmd = cmd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self.socket.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"{' '.join(self.cmd)} did not serve {self.socket}; its log:\n"
                    + self.log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.05)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.socket.unlink(missing_ok=True)


def _network_body(variant: Variant, name: str, subnet: str) -> dict[str, Any]:
    return {
        "Name": name,
        "Driver": variant.driver,
        "CheckDuplicate": True,
        "IPAM": {"Driver": variant.ipam or "default", "Config": [{"Subnet": subnet}]},
    }


def api_pair(api: EngineApi, variant: Variant, subnet: str) -> None:
    name = f"bench-{secrets.token_hex(4)}"
    t0 = time.perf_counter()
    nid = api.call("POST", "/networks/create", _network_body(variant, name, subnet))["Id"]
    t1 = time.perf_counter()
    api.call("DELETE", f"/networks/{nid}")
    t2 = time.perf_counter()
    variant.create.append(t1 - t0)
    variant.remove.append(t2 - t1)


def cli_pair(engine: Engine, variant: Variant, subnet: str) -> None:
    name = f"bench-{secrets.token_hex(4)}"
    args = ["network", "create", "-d", variant.driver, "--subnet", subnet]
    if variant.ipam:
        args += ["--ipam-driver", variant.ipam]
    t0 = time.perf_counter()
    subprocess.run(engine.cli(*args, name), check=True, capture_output=True)
    t1 = time.perf_counter()
    subprocess.run(engine.cli("network", "rm", name), check=True, capture_output=True)
    t2 = time.perf_counter()
    variant.create.append(t1 - t0)
    variant.remove.append(t2 - t1)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(
    variants: list[Variant], pair: Any, rounds: int, per_round: int, warmup: int, subnet: str
) -> None:
    for v in variants:  # the first call activates the plugin; and warms caches
        for _ in range(warmup):
            pair(v, subnet)
        v.reset()
    for r in range(rounds):
        order = variants[r % len(variants) :] + variants[: r % len(variants)]
        for v in order:
            t0 = time.perf_counter()
            for _ in range(per_round):
                pair(v, subnet)
            v.wall += time.perf_counter() - t0


def report(title: str, variants: list[Variant]) -> None:
    print(f"\n{title}")
    head = f"  {'':<22}{'pairs/s':>9}{'create p50':>12}{'p99':>9}{'rm p50':>10}{'p99':>9}"
    print(head + f"{'vs docker':>11}")
    base = variants[0]
    base_rate = len(base.create) / base.wall
    for v in variants:
        rate = len(v.create) / v.wall
        print(
            f"  {v.label:<22}{rate:>9.1f}"
            f"{statistics.median(v.create) * 1e3:>10.2f}ms{_pct(v.create, 0.99) * 1e3:>7.2f}ms"
            f"{statistics.median(v.remove) * 1e3:>8.2f}ms{_pct(v.remove, 0.99) * 1e3:>7.2f}ms"
            f"{rate / base_rate:>10.2f}x"
        )
    print(f"  ({len(base.create)} create+rm pairs per row, interleaved by round)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=20, help="API pairs per round")
    parser.add_argument("--cli-per-round", type=int, default=5, help="CLI pairs per round")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.per_round, args.cli_per_round = 2, 5, 2

    reason = unavailable_reason()
    if reason:
        print(f"bench_docker: cannot run: {reason}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="libnet-bench-docker-"))
    subnet = free_subnet()
    print(f"Python {platform.python_version()}; {os.cpu_count()} CPUs; subnet {subnet}")
    plugins: list[ServedPlugin] = []
    try:
        t0 = time.perf_counter()
        with private_dockerd() as engine:
            print(
                f"private dockerd {engine.version} up in {time.perf_counter() - t0:.2f} s, "
                f"default settings, in network namespace {engine.netns}"
            )
            measure(engine, args, workdir, subnet, plugins)
        return 0
    except DockerdError as exc:
        print(f"bench_docker: dockerd did not start: {exc}", file=sys.stderr)
        return 1
    finally:
        for p in plugins:
            p.stop()
        subprocess.run(["rm", "-rf", str(workdir)], check=False)


def free_subnet() -> str:
    """A /24 under 10.199.0.0/16 that no route of the host overlaps."""
    routes = subprocess.run(
        ["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True
    ).stdout
    routed = []
    for word in routes.split():
        with contextlib.suppress(ValueError):
            if "/" in word or word.count(".") == 3:
                routed.append(ipaddress.IPv4Network(word, strict=False))
    for third in range(256):
        candidate = ipaddress.IPv4Network(f"10.199.{third}.0/24")
        if not any(candidate.overlaps(n) for n in routed if n.prefixlen > 0):
            return str(candidate)
    raise RuntimeError("no free /24 in 10.199.0.0/16")


def measure(
    engine: Engine,
    args: argparse.Namespace,
    workdir: Path,
    subnet: str,
    plugins: list[ServedPlugin],
) -> None:
    """Serve the two plugins (stopped by the caller), then time the three variants."""
    bridge = ServedPlugin("bridge", None, workdir, engine)
    with_ipam = ServedPlugin("bridge", "default", workdir, engine)
    for p in (bridge, with_ipam):
        t0 = time.perf_counter()
        p.start()
        plugins.append(p)
        print(
            f"libnet serve {p.cmd[p.cmd.index('serve') + 1]}"
            f"{' --ipam default' if p is with_ipam else ''} up in "
            f"{time.perf_counter() - t0:.2f} s as plugin {p.name}"
        )

    def variants() -> list[Variant]:
        return [
            Variant("docker bridge", "bridge"),
            Variant("libnet bridge", bridge.name),
            Variant("libnet bridge + ipam", with_ipam.name, with_ipam.name),
        ]

    api = EngineApi(engine)
    ping = []
    for _ in range(200):
        t = time.perf_counter()
        api.call("GET", "/_ping")
        ping.append(time.perf_counter() - t)
    floor = statistics.median(ping) * 1e3
    print(f"floor: GET /_ping over the API socket, p50 {floor:.2f} ms")

    api_variants = variants()
    run(api_variants, lambda v, s: api_pair(api, v, s), args.rounds, args.per_round, 3, subnet)
    api.close()
    report("Engine API (POST /networks/create + DELETE /networks/ID):", api_variants)

    cli_variants = variants()
    run(
        cli_variants,
        lambda v, s: cli_pair(engine, v, s),
        args.rounds,
        args.cli_per_round,
        1,
        subnet,
    )
    report("docker CLI (docker network create + docker network rm):", cli_variants)


if __name__ == "__main__":
    sys.exit(main())
