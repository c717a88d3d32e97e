"""Throughput and latency of a libnet driver served as a Docker plugin, against a bare floor.

Two servers run, each in its own process as a plugin does, on a unix socket:

* **served**: ``libnet.dockerplugin.server.PluginServer`` serving a trivial libnet driver
  (every method returns at once; ``join`` names an interface and sets a gateway), with its
  bookkeeping in memory (``--sqlite``: in a SQLite state directory, as ``libnet serve`` keeps it);
* **floor**: a bare standard-library echo server (``socketserver`` threading unix server +
  ``BaseHTTPRequestHandler``, HTTP/1.1 keep-alive) that reads each body and answers ``{}``:
  the least any Python plugin on this stack can cost.

The same client drives both: libnet's :class:`~libnet.dockerplugin.client.PluginClient`
(what the remote driver uses), on a kept-alive connection per client thread. One cycle is
CreateEndpoint + Join + Leave + DeleteEndpoint with JSON bodies as the engine sends them.
The script prints requests per second and the p50/p99 latency of one request and one
cycle, for 1 and ``--clients`` concurrent clients, and the ratio to the floor. It prints
figures, never assertions.

Run ``python benchmarks/bench_plugin.py`` (``--quick`` for a small smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

NETWORK_ID = "b" * 64


def serve_plugin(path: str, sqlite: bool) -> None:
    """Child process: serve the trivial driver as plugin ``benchplug`` at ``path``."""
    import libnet
    from libnet.dockerplugin.server import PluginServer

    class Trivial(libnet.Driver):
        def create_network(self, nid: str, options: Mapping[str, Any], v4: Any, v6: Any) -> None:
            pass

        def delete_network(self, nid: str) -> None:
            pass

        def create_endpoint(
            self, nid: str, eid: str, iface: libnet.InterfaceInfo, options: Mapping[str, Any]
        ) -> None:
            pass

        def delete_endpoint(self, nid: str, eid: str) -> None:
            pass

        def endpoint_oper_info(self, nid: str, eid: str) -> dict[str, Any]:
            return {}

        def join(
            self,
            nid: str,
            eid: str,
            key: str | None,
            jinfo: libnet.JoinInfo,
            options: Mapping[str, Any],
        ) -> None:
            jinfo.set_names("veth" + eid[:8], "eth")
            jinfo.set_gateway("10.0.0.1")

        def leave(self, nid: str, eid: str) -> None:
            pass

    state = tempfile.mkdtemp(prefix="benchplug") if sqlite else None
    controller = libnet.Controller(plugins="off", state_dir=state)
    controller.register_driver("benchplug", Trivial(), libnet.Capability(libnet.Scope.LOCAL))
    try:
        PluginServer("benchplug", controller=controller, socket=path).serve_forever(
            ready=lambda s: print("ready", flush=True)
        )
    finally:
        controller.close()
        if state:
            shutil.rmtree(state, ignore_errors=True)


def serve_floor(path: str) -> None:
    """Child process: the bare echo server at ``path``."""
    import signal
    import socketserver

    class Echo(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def address_string(self) -> str:
            return "unix"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = b"{}\n"
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.docker.plugins.v1+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    server = Server(path, Echo)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("ready", flush=True)
    server.serve_forever()
    server.server_close()


def start(kind: str, path: Path, sqlite: bool) -> subprocess.Popen[str]:
    args = [sys.executable, __file__, f"--serve-{kind}", str(path)]
    if sqlite:
        args.append("--sqlite")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def cycle_bodies(eid: str) -> list[tuple[str, dict[str, Any]]]:
    ids = {"NetworkID": NETWORK_ID, "EndpointID": eid}
    return [
        (
            "NetworkDriver.CreateEndpoint",
            {
                **ids,
                "Interface": {"Address": "10.0.0.2/24", "AddressIPv6": "", "MacAddress": ""},
                "Options": {"com.docker.network.endpoint.exposedports": [{"Proto": 6, "Port": 80}]},
            },
        ),
        (
            "NetworkDriver.Join",
            {**ids, "SandboxKey": "/var/run/docker/netns/0123456789ab", "Options": None},
        ),
        ("NetworkDriver.Leave", ids),
        ("NetworkDriver.DeleteEndpoint", ids),
    ]


def run_clients(path: Path, clients: int, cycles: int) -> tuple[float, list[float], list[float]]:
    """(seconds, request latencies, cycle latencies) of ``cycles`` cycles per client."""
    from libnet.dockerplugin.client import PluginClient
    from libnet.dockerplugin.discovery import PluginAddress

    address = PluginAddress("benchplug", f"unix://{path}", path)
    setup = PluginClient(address)
    setup.call("Plugin.Activate")
    setup.call(
        "NetworkDriver.CreateNetwork",
        {"NetworkID": NETWORK_ID, "Options": {}, "IPv4Data": None, "IPv6Data": None},
    )
    requests: list[list[float]] = [[] for _ in range(clients)]
    whole: list[list[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def client(n: int) -> None:
        pc = PluginClient(address)
        pc.call("Plugin.Activate")  # warm the connection
        clock = time.perf_counter
        barrier.wait()
        for i in range(cycles):
            c0 = clock()
            for method, body in cycle_bodies(f"{n:04x}{i:060x}"):
                t0 = clock()
                pc.call(method, body)
                requests[n].append(clock() - t0)
            whole[n].append(clock() - c0)
        pc.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    setup.call("NetworkDriver.DeleteNetwork", {"NetworkID": NETWORK_ID})
    setup.close()
    return elapsed, [x for r in requests for x in r], [x for w in whole for x in w]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=2000, help="cycles per client")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (2nd run)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the best is kept")
    parser.add_argument("--sqlite", action="store_true", help="served plugin keeps state in SQLite")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--serve-plugin", metavar="PATH", help=argparse.SUPPRESS)
    parser.add_argument("--serve-floor", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_plugin:
        return serve_plugin(args.serve_plugin, args.sqlite)
    if args.serve_floor:
        return serve_floor(args.serve_floor)
    if args.quick:
        args.cycles, args.repeat = 200, 1

    print(f"Python {platform.python_version()} on {platform.platform()}, {os.cpu_count()} CPUs")
    state = "SQLite state directory" if args.sqlite else "state in memory"
    print(
        f"cycle = CreateEndpoint + Join + Leave + DeleteEndpoint; {args.cycles} cycles per "
        f"client, best of {args.repeat}; served plugin with {state}\n"
    )
    workdir = Path(tempfile.mkdtemp(prefix="benchp", dir="/tmp"))
    results: dict[tuple[str, int], tuple[float, float, float, float, float]] = {}
    try:
        for kind in ("floor", "plugin"):
            path = workdir / f"{kind}.sock"
            proc = start(kind, path, args.sqlite)
            try:
                for clients in sorted({1, args.clients}):
                    best: tuple[float, float, float, float, float] | None = None
                    for _ in range(args.repeat):
                        elapsed, reqs, cycles = run_clients(path, clients, args.cycles)
                        row = (
                            len(reqs) / elapsed,
                            statistics.median(reqs) * 1e6,
                            pct(reqs, 0.99) * 1e6,
                            statistics.median(cycles) * 1e6,
                            pct(cycles, 0.99) * 1e6,
                        )
                        if best is None or row[0] > best[0]:
                            best = row
                    assert best is not None
                    results[(kind, clients)] = best
            finally:
                proc.terminate()
                proc.wait(10)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    header = (
        f"{'server':<22}{'clients':>8}{'req/s':>10}{'req p50':>10}{'req p99':>10}"
        f"{'cycle p50':>11}{'cycle p99':>11}{'vs floor':>10}"
    )
    print(header)
    print("-" * len(header))
    names = {"floor": "bare echo (floor)", "plugin": "libnet served plugin"}
    for (kind, clients), (rps, p50, p99, c50, c99) in results.items():
        floor = results[("floor", clients)][0]
        print(
            f"{names[kind]:<22}{clients:>8}{rps:>10,.0f}{p50:>8.0f}us{p99:>8.0f}us"
            f"{c50:>9.0f}us{c99:>9.0f}us{rps / floor:>9.2f}x"
        )
    print("\nlatencies in microseconds; 'vs floor' is requests/s relative to the echo server")
    print(json.dumps({f"{k}/{c}": round(v[0]) for (k, c), v in results.items()}))


if __name__ == "__main__":
    main()
