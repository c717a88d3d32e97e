"""CNI latency: ``libnet-cni`` (bridge driver) against Debian's ``bridge`` plugin with
``host-local``, ADD and DEL wall time, in the same run; and ``podman run --rm`` on a libnet
network against Podman's default CNI bridge network.

Each call is a fresh process, as a runtime makes it. Both plugins run in one throwaway
"host" namespace made here (``nsenter --net=``, the same wrapper for both), each container
in a namespace of its own; the ADDs alternate between the two plugins so that the load of
the machine falls on both alike, then the DELs. Debian's bridge runs with ``isGateway`` and
``ipMasq`` (libnet's bridge also routes and masquerades). Figures: median and p95 in ms,
and the ratio libnet / Debian. Also the floor of any Python plugin: ``libnet-cni VERSION``
and ``python -c pass``.

Podman (when installed, with a static busybox): private storage and containers.conf as in
tests/cni/_podman.py, inside the same host namespace; ``podman run --rm IMAGE true`` on
Podman's default network (its ``87-podman-bridge.conflist``: bridge with host-local, then
portmap, firewall, tuning; host-local's data kept here) and on the same chain with
libnet-cni first, alternating.

Root only. ``python benchmarks/bench_cni.py [--calls 50] [--podman-runs 5] [--no-podman]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
PODMAN_PY = HERE.parent / "tests" / "cni" / "_podman.py"
CNI_DIR = Path("/usr/lib/cni")
LIBNET_CNI = Path(sys.executable).with_name("libnet-cni")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def row(label: str, values: Sequence[float], base: Sequence[float] | None = None) -> str:
    med, p95 = statistics.median(values) * 1000, percentile(values, 0.95) * 1000
    ratio = ""
    if base:
        ratio = f"  x{statistics.median(values) / statistics.median(base):.1f} median"
        ratio += f", x{percentile(values, 0.95) / percentile(base, 0.95):.1f} p95"
    return f"  {label:<44} median {med:7.1f} ms   p95 {p95:7.1f} ms{ratio}"


def netns_add(name: str) -> str:
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
    return f"/run/netns/{name}"


def timed_call(
    host: str, binary: Path, command: str, conf: dict[str, object], cid: str, netns: str
) -> float:
    env = {
        "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
        "CNI_COMMAND": command,
        "CNI_CONTAINERID": cid,
        "CNI_NETNS": netns,
        "CNI_IFNAME": "eth0",
        "CNI_PATH": str(CNI_DIR),
    }
    start = time.perf_counter()
    proc = subprocess.run(
        ["nsenter", f"--net={host}", str(binary)],
        input=json.dumps(conf).encode(),
        env=env,
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            f"{binary.name} {command} failed: {proc.stdout.decode()} {proc.stderr.decode()}"
        )
    return elapsed


def bench_plugins(calls: int, tmp: Path, host: str, made: list[str]) -> None:
    libnet_conf = {
        "cniVersion": "1.0.0",
        "name": "bench-libnet",
        "type": "libnet-cni",
        "driver": "bridge",
        "subnet": "10.201.0.0/16",
        "stateDir": str(tmp / "libnet"),
    }
    debian_conf = {
        "cniVersion": "1.0.0",
        "name": "bench-debian",
        "type": "bridge",
        "bridge": "cnibench0",
        "isGateway": True,
        "ipMasq": True,
        "ipam": {"type": "host-local", "subnet": "10.202.0.0/16", "dataDir": str(tmp / "hl")},
    }
    plugins: list[tuple[str, Path, dict[str, object]]] = [
        ("libnet-cni (bridge driver)", LIBNET_CNI, libnet_conf),
        ("Debian bridge + host-local", CNI_DIR / "bridge", debian_conf),
    ]
    spaces = {}
    for label, _, _ in plugins:
        for i in range(calls + 1):
            name = f"cnibench-{uuid.uuid4().hex[:8]}"
            made.append(name)
            spaces[(label, i)] = netns_add(name)
    adds: dict[str, list[float]] = {label: [] for label, _, _ in plugins}
    dels: dict[str, list[float]] = {label: [] for label, _, _ in plugins}
    for label, binary, conf in plugins:  # warm-up: the network's bridge, caches
        timed_call(host, binary, "ADD", conf, "warm", spaces[(label, calls)])
    for i in range(calls):
        for label, binary, conf in plugins:
            adds[label].append(timed_call(host, binary, "ADD", conf, f"c{i}", spaces[(label, i)]))
    for i in range(calls):
        for label, binary, conf in plugins:
            dels[label].append(timed_call(host, binary, "DEL", conf, f"c{i}", spaces[(label, i)]))
    base = plugins[1][0]
    print(f"CNI plugin calls ({calls} each, fresh process per call):")
    for op, table in (("ADD", adds), ("DEL", dels)):
        for label, _, _ in plugins:
            print(row(f"{op} {label}", table[label], None if label == base else table[base]))


def bench_floor(host: str) -> None:
    runs = 11
    version, empty = [], []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            ["nsenter", f"--net={host}", str(LIBNET_CNI)],
            env={"CNI_COMMAND": "VERSION"},
            capture_output=True,
            check=True,
        )
        version.append(time.perf_counter() - start)
        start = time.perf_counter()
        subprocess.run(["nsenter", f"--net={host}", sys.executable, "-c", "pass"], check=True)
        empty.append(time.perf_counter() - start)
    print(f"Floor ({runs} each):")
    print(row("python -c pass", empty))
    print(row("libnet-cni VERSION", version, empty))


def load_podman() -> ModuleType:
    spec = importlib.util.spec_from_file_location("libnet_bench_podman", PODMAN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bench_podman(runs: int, tmp: Path, host: str) -> None:
    mod = load_podman()
    reason = mod.unavailable()
    if reason:
        print(f"podman: skipped ({reason})")
        return
    podman = mod.Podman(tmp / "podman", host)
    (podman.plugins / "libnet-cni").symlink_to(LIBNET_CNI)
    # Podman's default network (/etc/cni/net.d/87-podman-bridge.conflist), with host-local's
    # data here; and the same chain behind libnet-cni instead of Debian's bridge plugin.
    chain = [
        {"type": "portmap", "capabilities": {"portMappings": True}},
        {"type": "firewall"},
        {"type": "tuning"},
    ]
    default = {
        "type": "bridge",
        "bridge": "cnibench1",
        "isGateway": True,
        "ipMasq": True,
        "hairpinMode": True,
        "ipam": {
            "type": "host-local",
            "routes": [{"dst": "0.0.0.0/0"}],
            "ranges": [[{"subnet": "10.204.0.0/16", "gateway": "10.204.0.1"}]],
            "dataDir": str(tmp / "podman-hl"),
        },
    }
    podman.network("bench-default", [default, *chain])
    libnet = {"type": "libnet-cni", "subnet": "10.203.0.0/16", "stateDir": str(tmp / "pl")}
    podman.network("bench-libnet", [libnet, *chain])
    try:
        image = podman.import_busybox()
        results: dict[str, list[float]] = {"bench-default": [], "bench-libnet": []}

        def once(network: str) -> float:
            start = time.perf_counter()
            podman("run", "--rm", "--network", network, *mod.RUN_FLAGS, image, "true")
            return time.perf_counter() - start

        for network in results:  # warm-up
            once(network)
        for _ in range(runs):
            for network, values in results.items():
                values.append(once(network))
        print(f"podman run --rm ({runs} each):")
        print(row("Podman's default network (Debian bridge)", results["bench-default"]))
        print(row("libnet-cni network", results["bench-libnet"], results["bench-default"]))
    finally:
        podman.close()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--podman-runs", type=int, default=5)
    parser.add_argument("--no-podman", action="store_true")
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or not (CNI_DIR / "bridge").exists() or not LIBNET_CNI.exists():
        raise SystemExit("needs root, /usr/lib/cni (containernetworking-plugins) and libnet-cni")
    made: list[str] = []
    host_name = f"cnibench-h-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="libnet-bench-cni-") as tmpdir:
        tmp = Path(tmpdir)
        host = netns_add(host_name)
        try:
            print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            bench_floor(host)
            bench_plugins(args.calls, tmp, host, made)
            if not args.no_podman:
                bench_podman(args.podman_runs, tmp, host)
        finally:
            for name in [*made, host_name]:
                subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


if __name__ == "__main__":
    main()
