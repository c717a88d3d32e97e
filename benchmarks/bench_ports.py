"""Join+leave per second on the bridge driver with published ports, against the same without.

One cycle is ``Endpoint.join(sandbox, publish=[...])`` then ``Endpoint.leave``, on a logical
sandbox (no namespace: the figures are the driver's and the firewall's, not the OS layer's),
with 0 (the baseline), 1 and 4 published ports. Publishing costs a few iptables processes
per join and leave (one ``iptables-save`` per family to find the ports taken, one
``iptables-restore --noflush`` batch to write, the same to remove), whatever the number of
ports; the floor printed next to it is one ``iptables-save`` plus one ``iptables-restore``
process, measured in the same run.

Everything runs in a throwaway network and mount namespace that the script makes for itself
(as the netns tests do), so the host's firewall is never touched. Needs root and iptables.
``python benchmarks/bench_ports.py`` (``--cycles N``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def enter_throwaway_namespaces() -> None:
    from libnet.osl import _sys

    _sys.unshare(_sys.CLONE_NEWNET | _sys.CLONE_NEWNS)
    _sys.mount(None, "/", None, _sys.MS_REC | _sys.MS_PRIVATE)
    if os.path.isdir("/run/netns"):
        _sys.mount("tmpfs", "/run/netns", "tmpfs", 0)
    else:
        _sys.mount("tmpfs", "/run", "tmpfs", 0)
        os.mkdir("/run/netns")


def cycles_per_second(cycles: int, publish: list[str]) -> float:
    import libnet

    with libnet.Controller() as c:
        network = c.new_network("bridge", "bench", ipam={"config": [{"subnet": "10.78.0.0/24"}]})
        endpoint = network.create_endpoint("e")
        sandbox = c.new_sandbox("s")
        endpoint.join(sandbox, publish=publish)  # warm-up: imports, first chains
        endpoint.leave(sandbox)
        start = time.perf_counter()
        for _ in range(cycles):
            endpoint.join(sandbox, publish=publish)
            endpoint.leave(sandbox)
        elapsed = time.perf_counter() - start
        endpoint.delete()
        network.delete()
    return cycles / elapsed


def tool_floor(cycles: int) -> float:
    """Seconds of one iptables-save plus one (empty) iptables-restore --noflush process."""
    start = time.perf_counter()
    for _ in range(cycles):
        subprocess.run(["iptables-save"], capture_output=True, check=True)
        subprocess.run(
            ["iptables-restore", "--noflush", "--wait=10"],
            input="*filter\nCOMMIT\n",
            text=True,
            check=True,
        )
    return (time.perf_counter() - start) / cycles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=30)
    args = parser.parse_args()
    if os.geteuid() != 0 or shutil.which("iptables-restore") is None:
        sys.exit("needs root and iptables (Debian: apt-get install iptables)")
    enter_throwaway_namespaces()
    base = cycles_per_second(args.cycles, [])
    print(f"join+leave, no published port (baseline): {base:8.1f}/s")
    for publish in (["18080:80"], ["18080:80", "18081:81", "0:82/udp", "18090-18099:83"]):
        rate = cycles_per_second(args.cycles, publish)
        print(
            f"join+leave, {len(publish)} published port(s):       {rate:8.1f}/s "
            f"({1000 / rate:6.1f} ms a cycle, {base / rate:5.1f}x the baseline's time)"
        )
    floor = tool_floor(args.cycles)
    print(f"one iptables-save + one iptables-restore process: {floor * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
