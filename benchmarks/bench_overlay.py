"""The overlay driver against the bare underlay: ping round trip, TCP throughput, and the
time to program 200 peers.

Two "hosts" (namespaces) on an underlay bridge in a namespace of its own (the topology of
``tests/netns/_overlay.py``, MTU 1500), an overlay network with a sandbox on each, peers
programmed from the peer database. Measured in the same run:

* **RTT**: ICMP echo (raw socket, 56 bytes) from host 1's sandbox to host 2's over the
  overlay, against host 1 to host 2 over the underlay; median and p99 of ``--pings``;
* **TCP**: a Python sender (``sendall`` of 256 KiB buffers for ``--seconds``) and receiver,
  sandbox to sandbox over the overlay against host to host on the underlay (iperf3 is used
  instead when it is installed);
* **peers**: 200 remote peers programmed with one ``peer_add`` each, then all at once with
  ``peer_sync`` (from empty), then removed by ``peer_sync`` to the empty set.

Runs in a throwaway network and mount namespace it makes at start; needs root. Figures are
printed, never asserted: ``python benchmarks/bench_overlay.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bench_bridge import enter_throwaway_namespaces  # noqa: E402

NID = "c" * 64
PORT = 5201


def in_ns(key: str, fn: Callable[[], Any]) -> Any:
    """``fn()`` run in a forked child that entered namespace ``key``; its JSON result."""
    from libnet.osl import _sys

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(read_fd)
            fd = os.open(key, os.O_RDONLY)
            _sys.setns(fd, _sys.CLONE_NEWNET)
            os.close(fd)
            os.write(write_fd, json.dumps(fn()).encode())
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return json.loads(b"".join(chunks)) if chunks else None


def rtts(target: str, count: int) -> list[float]:
    from netns._overlay import echo

    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        if echo(target, 56):
            out.append(time.perf_counter() - t0)
    return out


def receive(bind: str, ready: threading.Event, result: list[int]) -> None:
    with socket.create_server((bind, PORT)) as server:
        ready.set()
        conn, _ = server.accept()
        total = 0
        with conn:
            while data := conn.recv(1 << 18):
                total += len(data)
        result.append(total)


def throughput(server_key: str, server_ip: str, client_key: str, seconds: float) -> float:
    """Bytes per second from ``client_key`` to ``server_key``."""
    if shutil.which("iperf3"):
        srv = subprocess.Popen(
            ["ip", "netns", "exec", os.path.basename(server_key), "iperf3", "-s", "-1"],
            stdout=subprocess.DEVNULL,
        )
        time.sleep(0.5)
        out = subprocess.run(
            [
                "ip",
                "netns",
                "exec",
                os.path.basename(client_key),
                "iperf3",
                "-J",
                "-c",
                server_ip,
                "-t",
                str(seconds),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        srv.wait()
        return float(json.loads(out)["end"]["sum_received"]["bits_per_second"]) / 8

    def serve() -> int:
        ready, result = threading.Event(), []  # type: ignore[var-annotated]
        t = threading.Thread(target=receive, args=(server_ip, ready, result))
        t.start()
        ready.wait()
        os.write(sync_w, b"r")
        t.join()
        return int(result[0])

    def send() -> float:
        buf = bytes(1 << 18)
        with socket.create_connection((server_ip, PORT)) as sock:
            t0 = time.perf_counter()
            sent = 0
            while time.perf_counter() - t0 < seconds:
                sock.sendall(buf)
                sent += len(buf)
        return time.perf_counter() - t0

    sync_r, sync_w = os.pipe()
    got: list[Any] = []
    server = threading.Thread(target=lambda: got.append(in_ns(server_key, serve)))
    server.start()
    os.read(sync_r, 1)
    elapsed = in_ns(client_key, send)
    server.join()
    return float(got[0]) / float(elapsed)


def program_peers(host: Any) -> dict[str, float]:
    from libnet.drivers.overlay import PeerRecord

    driver = host.driver
    records = [
        PeerRecord(
            f"10.210.{i // 250}.{i % 250 + 2}",
            f"02:42:0a:d2:{i // 250:02x}:{i % 250:02x}",
            "192.168.77.2",
            "host2",
        )
        for i in range(200)
    ]
    t0 = time.perf_counter()
    for i, record in enumerate(records):
        driver.peer_add(NID, f"p{i}", record)
    one_by_one = time.perf_counter() - t0
    driver.peer_sync(NID, [])
    t0 = time.perf_counter()
    driver.peer_sync(NID, records)
    synced = time.perf_counter() - t0
    t0 = time.perf_counter()
    driver.peer_sync(NID, [])
    removed = time.perf_counter() - t0
    return {"peer_add x200": one_by_one, "peer_sync of 200": synced, "sync away 200": removed}


def ms(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run")
    parser.add_argument("--pings", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    pings, seconds = (50, 0.5) if args.quick else (args.pings, args.seconds)
    if os.geteuid() != 0:
        sys.exit("bench_overlay needs root (it makes network namespaces)")
    enter_throwaway_namespaces()
    from netns._overlay import cluster, endpoint, ipam, plumb

    c = cluster(count=2)
    h1, h2 = c.hosts
    h1.driver.create_network(NID, {}, ipam(), [])
    h2.driver.restore_network(NID, {}, ipam(), [])
    s1 = plumb(h1, NID, "1" * 64, endpoint(h1, NID, "1" * 64, "10.200.0.2/24"), "s1")
    s2 = plumb(h2, NID, "2" * 64, endpoint(h2, NID, "2" * 64, "10.200.0.3/24"), "s2")
    h1.driver.peer_sync(NID)
    h2.driver.peer_sync(NID)

    version = sys.version.split()[0]
    print(f"overlay benchmark: 2 hosts, underlay MTU 1500, overlay MTU 1450, python {version}")
    under = in_ns(h1.key, lambda: rtts("192.168.77.2", pings))
    over = in_ns(s1, lambda: rtts("10.200.0.3", pings))
    print(f"\nping RTT ({pings} echoes)      median     p99    lost")
    for name, values in (("underlay host->host", under), ("overlay sandbox->sandbox", over)):
        lost = pings - len(values)
        print(f"  {name:26} {ms(values, 0.5):6.3f} ms {ms(values, 0.99):6.3f} ms  {lost}")
    ratio = statistics.median(over) / statistics.median(under)
    print(f"  ratio overlay/underlay (median): {ratio:.2f}")

    tool = "iperf3" if shutil.which("iperf3") else "python sender"
    bu = throughput(h2.key, "192.168.77.2", h1.key, seconds)
    bo = throughput(s2, "10.200.0.3", s1, seconds)
    print(f"\nTCP throughput ({tool}, {seconds:g} s)")
    print(f"  underlay host->host        {bu * 8 / 1e9:6.2f} Gbit/s")
    print(f"  overlay sandbox->sandbox   {bo * 8 / 1e9:6.2f} Gbit/s")
    print(f"  ratio overlay/underlay: {bo / bu:.2f}")

    print("\nprogramming 200 remote peers on host 1 (FDB + neighbour entry each)")
    for name, secs in program_peers(h1).items():
        print(f"  {name:20} {secs * 1000:8.1f} ms  ({secs / 200 * 1e6:6.0f} us/peer)")


if __name__ == "__main__":
    main()
