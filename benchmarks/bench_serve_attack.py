"""Memory and threads of ``libnet serve`` under a slow-body attack, against the same server idle.

A served plugin (``libnet serve null`` in its own process, memory state, on a unix socket)
is measured idle (the baseline), then while ``--attackers`` clients each announce a body of
``--body`` bytes and trickle it slowly, then after they gave up. For each phase the script
prints the server's RSS (MiB) and thread count, and the ratio to the idle baseline, plus
how long a valid request takes to be answered during the attack. It prints figures, never
assertions.

``--libnet DIR`` runs the server from another checkout (for example an older commit in a
``git worktree``), so two versions can be compared on one machine:

    python benchmarks/bench_serve_attack.py
    git worktree add /tmp/old <commit> && python benchmarks/bench_serve_attack.py --libnet /tmp/old
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def status(pid: int) -> tuple[float, int]:
    """RSS in MiB and thread count of process ``pid``."""
    rss = threads = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("Threads:"):
            threads = int(line.split()[1])
    return rss / 1024, threads


def request(path: Path, timeout: float = 30.0) -> tuple[int, float]:
    """The status of a valid GetCapabilities call (0: no answer) and its seconds."""
    started = time.perf_counter()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            sock.sendall(
                b"POST /NetworkDriver.GetCapabilities HTTP/1.1\r\nHost: p\r\n"
                b"Content-Length: 2\r\n\r\n{}"
            )
            status = int(sock.recv(65536).split(b" ", 2)[1])
        except (OSError, ValueError, IndexError):
            status = 0
    return status, time.perf_counter() - started


def attacker(path: Path, body: int, stop: threading.Event) -> None:
    """Announce ``body`` bytes, then send them 64 KiB at a time, slowly, until stopped."""
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(
            b"POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHost: p\r\n"
            b"Content-Length: %d\r\n\r\n" % body
        )
        sent = 0
        piece = b" " * 65536
        while sent < body - 1 and not stop.is_set():
            sock.sendall(piece[: min(len(piece), body - 1 - sent)])
            sent += len(piece)
            stop.wait(0.5)


def serve(libnet_dir: Path | None, socket_path: Path) -> subprocess.Popen[str]:
    env = dict(os.environ)
    if libnet_dir is not None:
        env["PYTHONPATH"] = str(libnet_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "libnet", "serve", "null", "--socket", str(socket_path)],
        env=env,
        cwd=socket_path.parent,  # not a checkout: ``python -m`` puts the working directory first
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not socket_path.exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            raise SystemExit("the served plugin did not start")
        time.sleep(0.05)
    return proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--libnet", type=Path, help="run the server from this checkout")
    parser.add_argument("--attackers", type=int, default=200)
    parser.add_argument("--body", type=int, default=1 << 20)
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the attack")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "attack.sock"
        proc = serve(args.libnet, path)
        try:
            request(path)
            time.sleep(0.5)
            idle = status(proc.pid)
            stop = threading.Event()
            threads = [
                threading.Thread(target=attacker, args=(path, args.body, stop), daemon=True)
                for _ in range(args.attackers)
            ]
            for thread in threads:
                thread.start()
            peak = idle
            latency = []
            until = time.monotonic() + args.seconds
            while time.monotonic() < until:
                now = status(proc.pid)
                peak = (max(peak[0], now[0]), max(peak[1], now[1]))
                latency.append(request(path, timeout=5))
                time.sleep(0.5)
            stop.set()
            for thread in threads:
                thread.join(10)
            time.sleep(2)
            after = status(proc.pid)
        finally:
            proc.terminate()
            proc.wait(10)
    rows = {"idle (baseline)": idle, "attack (peak)": peak, "after the attack": after}
    print(f"libnet serve from {args.libnet or 'this checkout'}; {args.attackers} clients "
          f"trickling {args.body} bytes each for {args.seconds:g} s")  # fmt: skip
    print(f"{'phase':<18} {'RSS MiB':>8} {'x idle':>7} {'threads':>8} {'x idle':>7}")
    for name, (rss, count) in rows.items():
        print(f"{name:<18} {rss:8.1f} {rss / idle[0]:7.2f} {count:8d} {count / idle[1]:7.2f}")
    answered = [t for code, t in latency if code == 200]
    print(
        json.dumps(
            {
                "valid requests during the attack": len(latency),
                "answered 200": len(answered),
                "refused 503 (connection cap)": sum(code == 503 for code, _ in latency),
                "no answer within 5 s": sum(code == 0 for code, _ in latency),
                "slowest 200 s": round(max(answered), 3) if answered else None,
            }
        )
    )


if __name__ == "__main__":
    main()
