"""Endpoint create+join+leave+delete per second on the bridge driver, with real namespaces.

One cycle is what a container runtime does to give a running container an interface on a
network and take it away again:

* **libnet**: ``Network.create_endpoint`` (veth pair on the bridge), ``Endpoint.join``
  into a sandbox made with ``create=True`` (the OS layer moves the peer into the
  namespace, names it ``eth0``, sets MAC, address, up, default route), ``Endpoint.leave``
  (moves it back), ``Endpoint.delete`` (deletes the pair); four controller operations, each
  one SQLite transaction in a state directory under ``/tmp``. Twice, cycle by cycle in
  turn on one sandbox: on a network with libnet's iptables rules (the default: forwarding,
  masquerade, in ``LIBNET-*`` chains) and on one without (``io.libnet.bridge.firewall=false``,
  the baseline of the firewall's cost). The same two kinds of network are also created and
  deleted in turn (``--networks`` pairs each), where the rules are written;
* **ip script**: the same kernel work from a shell script with iproute2, one ``ip``
  process per step (``link add ... type veth``, ``link set master up``, ``link set netns
  name``, ``-n NS addr add``, ``-n NS link set up``, ``-n NS route add default``, ``-n NS
  link set netns``, ``link del``): the floor of a shell-scripted runtime, with no state;
* **Docker** (when a Docker Engine can run here): ``docker network connect`` and
  ``docker network disconnect`` of a running busybox container on a user-defined bridge
  network, with the CLI, against a private dockerd with Docker's default settings (iptables
  on; ``_dockerd.py``, and the busybox image that ``tests/docker/_engine.py`` imports from
  Debian's busybox-static).

Everything runs in a throwaway network and mount namespace that the script makes for itself
at start (``unshare``, every mount private, a tmpfs on ``/run/netns``), so the host is not
touched; the private dockerd runs inside it too (in a namespace of its own). Needs root.
Figures are printed, never asserted: ``python benchmarks/bench_bridge.py`` (``--quick`` for a
smoke run, ``--cycles N``, ``--networks N``, ``--no-docker``, ``--profile``).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import io
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SUBNET = "10.77.0.0/24"
SUBNET2 = "10.76.0.0/24"


def enter_throwaway_namespaces() -> None:
    from libnet.osl import _sys

    _sys.unshare(_sys.CLONE_NEWNET | _sys.CLONE_NEWNS)
    _sys.mount(None, "/", None, _sys.MS_REC | _sys.MS_PRIVATE)
    if os.path.isdir("/run/netns"):
        _sys.mount("tmpfs", "/run/netns", "tmpfs", 0)
    else:
        _sys.mount("tmpfs", "/run", "tmpfs", 0)
        os.mkdir("/run/netns")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)


FIREWALL_OFF = {"io.libnet.bridge.firewall": "false"}
VARIANTS = ("firewall", "no firewall")
Phases = dict[str, float]


def bench_libnet(
    cycles: int, profile: bool
) -> tuple[dict[str, list[float]], dict[str, Phases], str]:
    """Seconds per cycle and mean seconds per phase of each variant (:data:`VARIANTS`,
    taking turns cycle by cycle on one sandbox), and a profile of the first (or "")."""
    import libnet

    state = tempfile.mkdtemp(prefix="libnet-bench-bridge-")
    phases = {v: {"create": 0.0, "join": 0.0, "leave": 0.0, "delete": 0.0} for v in VARIANTS}
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    text = ""
    try:
        with libnet.Controller(state_dir=state) as c:
            networks = {
                "firewall": c.new_network("bridge", "fw", ipam={"config": [{"subnet": SUBNET}]}),
                "no firewall": c.new_network(
                    "bridge", "nofw", options=FIREWALL_OFF, ipam={"config": [{"subnet": SUBNET2}]}
                ),
            }
            sandbox = c.new_sandbox("bench", create=True)
            prof = cProfile.Profile() if profile else None
            for i in range(cycles + 2):  # two warm-up cycles
                for variant, network in networks.items():
                    profiled = prof if i >= 2 and variant == VARIANTS[0] else None
                    t0 = time.perf_counter()
                    if profiled is not None:
                        profiled.enable()
                    endpoint = network.create_endpoint(f"e{i}")
                    t1 = time.perf_counter()
                    endpoint.join(sandbox)
                    t2 = time.perf_counter()
                    endpoint.leave(sandbox)
                    t3 = time.perf_counter()
                    endpoint.delete()
                    t4 = time.perf_counter()
                    if profiled is not None:
                        profiled.disable()
                    if i >= 2:
                        times[variant].append(t4 - t0)
                        steps = (t1 - t0, t2 - t1, t3 - t2, t4 - t3)
                        for name, dt in zip(phases[variant], steps, strict=True):
                            phases[variant][name] += dt / cycles
            sandbox.delete()
            for network in networks.values():
                network.delete()
            if prof is not None:
                out = io.StringIO()
                pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
                text = out.getvalue()
    finally:
        shutil.rmtree(state, ignore_errors=True)
    return times, phases, text


def bench_networks(pairs: int) -> dict[str, list[float]]:
    """Seconds per network create+delete of each variant, taking turns."""
    import libnet

    state = tempfile.mkdtemp(prefix="libnet-bench-bridge-")
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    try:
        with libnet.Controller(state_dir=state) as c:
            for i in range(pairs + 1):  # one warm-up pair
                for variant in VARIANTS:
                    options = FIREWALL_OFF if variant == "no firewall" else None
                    t0 = time.perf_counter()
                    network = c.new_network(
                        "bridge", f"n{i}", options=options, ipam={"config": [{"subnet": SUBNET}]}
                    )
                    network.delete()
                    if i:
                        times[variant].append(time.perf_counter() - t0)
    finally:
        shutil.rmtree(state, ignore_errors=True)
    return times


IP_SCRIPT = r"""
set -e
ip link add br-ipbench type bridge
ip addr add 10.78.0.1/24 dev br-ipbench
ip link set br-ipbench up
ip netns add ipbench
ip -n ipbench link set lo up
for i in $(seq 1 "$1"); do
    start=$(date +%s%N)
    ip link add vethipb type veth peer name vcipb address 02:42:0a:4e:00:02
    ip link set vethipb master br-ipbench up
    ip link set vcipb netns ipbench name eth0
    ip -n ipbench addr add 10.78.0.2/24 dev eth0
    ip -n ipbench link set eth0 up
    ip -n ipbench route add default via 10.78.0.1 dev eth0
    ip -n ipbench link set eth0 netns "$$" name vcipb
    ip link del vethipb
    end=$(date +%s%N)
    echo $(( end - start ))
done
ip netns del ipbench
ip link del br-ipbench
"""


def bench_ip_script(cycles: int) -> list[float]:
    proc = subprocess.run(
        ["bash", "-c", IP_SCRIPT, "bench", str(cycles + 2)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [int(line) / 1e9 for line in proc.stdout.split()][2:]


def _docker_engine_module() -> Any:
    path = ROOT / "tests" / "docker" / "_engine.py"
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("libnet_bench_docker_engine", path)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def bench_docker(cycles: int) -> tuple[list[float] | None, str]:
    """Seconds per connect+disconnect cycle, or None and why not."""
    engine_mod = _docker_engine_module()
    if engine_mod is None:
        return None, "tests/docker/_engine.py (private dockerd and busybox image) is missing"
    reason = engine_mod.unavailable_reason()
    if reason:
        return None, reason
    try:
        engine = engine_mod.DockerEngine().start()
    except engine_mod.EngineUnavailable as exc:
        return None, f"the private dockerd did not start: {str(exc)[-300:]}"
    try:
        image = engine_mod.import_busybox(engine)
        engine.docker("network", "create", "--subnet", "10.79.0.0/24", "dbench")
        # a container on "none" cannot join another network: it starts on a bridge of its own
        engine.docker("network", "create", "--subnet", "10.80.0.0/24", "dhome")
        engine.docker("run", "-d", "--network", "dhome", "--name", "c1", image, "sleep", "3600")
        times: list[float] = []
        for i in range(cycles + 2):
            t0 = time.perf_counter()
            engine.docker("network", "connect", "dbench", "c1")
            engine.docker("network", "disconnect", "dbench", "c1")
            if i >= 2:
                times.append(time.perf_counter() - t0)
        version = engine.version if isinstance(engine.version, str) else engine.version()
        return times, f"Docker Engine {version}"
    except Exception as exc:
        return None, f"Docker anchor failed: {type(exc).__name__}: {str(exc)[-300:]}"
    finally:
        engine.stop()


def summary(times: list[float]) -> tuple[float, float, float]:
    """(cycles per second from the median, median ms, best ms)."""
    median = statistics.median(times)
    return 1.0 / median, median * 1e3, min(times) * 1e3


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200, help="cycles per contender")
    parser.add_argument("--docker-cycles", type=int, default=20)
    parser.add_argument("--networks", type=int, default=50, help="network create+delete pairs")
    parser.add_argument("--quick", action="store_true", help="20 cycles, 5 for Docker")
    parser.add_argument("--no-docker", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile libnet's cycles")
    args = parser.parse_args(argv)
    if args.quick:
        args.cycles, args.docker_cycles, args.networks = 20, 5, 10
    if sys.platform != "linux" or os.geteuid() != 0:
        print("bench_bridge: needs root on Linux (it makes namespaces, bridges and veth pairs)")
        return 0
    if shutil.which("ip") is None:
        print("bench_bridge: needs iproute2 ('ip') for the shell-script baseline")
        return 0
    enter_throwaway_namespaces()
    import libnet

    print(
        f"bench_bridge: libnet {libnet.__version__}, Python {platform.python_version()}, "
        f"kernel {platform.release()}, {os.cpu_count()} CPUs; in a throwaway namespace"
    )
    rows: list[tuple[str, tuple[float, float, float] | None, str]] = []
    times, phases, profile_text = bench_libnet(args.cycles, args.profile)
    for variant in VARIANTS:
        rows.append((f"libnet bridge, {variant}", summary(times[variant]), f"{args.cycles} cycles"))
    script = bench_ip_script(args.cycles)
    rows.append(("ip commands (bash script)", summary(script), f"{len(script)} cycles"))
    network_times = bench_networks(args.networks)
    if args.no_docker:
        rows.append(("docker connect+disconnect, iptables", None, "skipped: --no-docker"))
    else:
        docker_times, note = bench_docker(args.docker_cycles)
        rows.append(
            (
                "docker connect+disconnect, iptables",
                summary(docker_times) if docker_times else None,
                f"{len(docker_times)} cycles, {note}" if docker_times else f"skipped: {note}",
            )
        )
    base = rows[0][1]
    print()
    print(
        f"{'contender':36} {'cycles/s':>9} {'median ms':>10} {'best ms':>8} {'libnet x':>9}  note"
    )
    for name, figures, note in rows:
        if figures is None:
            print(f"{name:36} {'-':>9} {'-':>10} {'-':>8} {'-':>9}  {note}")
            continue
        ratio = base[0] / figures[0] if base else float("nan")
        print(
            f"{name:36} {figures[0]:9.1f} {figures[1]:10.2f} {figures[2]:8.2f} {ratio:9.2f}  {note}"
        )
    print("(libnet x: libnet's cycles per second divided by the contender's)")
    print()
    for variant in VARIANTS:
        print(
            f"libnet, {variant}, mean ms per phase: "
            + ", ".join(f"{k} {v * 1e3:.2f}" for k, v in phases[variant].items())
        )
    print()
    print("network create+delete (no endpoints), libnet bridge:")
    net_base = summary(network_times[VARIANTS[1]])
    for variant in VARIANTS:
        rate, median, best = summary(network_times[variant])
        print(
            f"  {variant:12} {rate:7.1f} pairs/s, median {median:.2f} ms, best {best:.2f} ms, "
            f"{rate / net_base[0]:.2f}x the rate without rules"
        )
    if profile_text:
        print()
        print(profile_text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
