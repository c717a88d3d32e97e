"""A private Docker Engine for benchmarks and tests: ``with private_dockerd() as engine:``.

The daemon runs with Docker's **default settings**: iptables rules, IP forwarding,
masquerade, the userland proxy and the default bridge ``docker0``, no feature switched off.
What keeps the host as it was is where it runs, not what it is told:

* in a network namespace of its own, ``libnet-dk-<hex>`` (made with ``ip netns add``; the
  daemon and the containerd it spawns enter it with ``nsenter --net``, which changes
  nothing else), so its iptables chains, ``docker0``, its bridges and its
  ``net.ipv4.ip_forward`` live there and nowhere else;
* with a fresh directory under the system temporary directory holding its data root, exec
  root, API socket, pid file, log and an empty ``daemon.json`` (``--config-file``: a host's
  ``/etc/docker/daemon.json`` cannot change the daemon).

Those are the only flags it gets. The namespace has only ``lo``: give it an uplink for
traffic to leave it (the Docker tests do, see ``tests/docker/_engine.py``). Run a program in
it with ``engine.in_netns(ARGV)`` (a libnet plugin served to the daemon must run there: its
bridges must be where the containers are). On leaving the block the daemon is stopped
(SIGTERM, then SIGKILL to its process group after ``stop_timeout``), processes still naming
its directory or still in its namespace (container shims) are killed, what is mounted under
the directory is unmounted, the namespace is deleted (its links go with it) and the
directory is removed.

``unavailable_reason()`` says why no daemon can be started here, or returns None::

    reason = unavailable_reason()
    if reason is None:
        with private_dockerd() as engine:
            subprocess.run(engine.cli("network", "create", "n1"), check=True)
            status, body = engine.api("GET", "/networks")

Starting needs root, the ``dockerd`` and ``docker`` programs (Debian: ``docker.io``),
``ip`` (iproute2) and ``nsenter`` (util-linux).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DockerdError",
    "Engine",
    "mounts_under",
    "netns_inode",
    "netns_pids",
    "private_dockerd",
    "private_netns",
    "processes_mentioning",
    "reap",
    "unavailable_reason",
]

NETNS_PREFIX = "libnet-dk-"
NETNS_DIR = Path("/run/netns")


class DockerdError(RuntimeError):
    """The private daemon could not be started; the message ends with its log's tail."""


def unavailable_reason() -> str | None:
    """Why :func:`private_dockerd` cannot work on this machine, or None if it can."""
    if shutil.which("dockerd") is None:
        return "dockerd is not installed (Debian package docker.io)"
    if shutil.which("docker") is None:
        return "the docker CLI is not installed (Debian package docker.io)"
    if shutil.which("ip") is None:
        return "ip is not installed (Debian package iproute2)"
    if shutil.which("nsenter") is None:
        return "nsenter is not installed (Debian package util-linux)"
    if os.geteuid() != 0:
        return "dockerd needs root"
    return None


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over the daemon's Unix socket."""

    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = str(path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


@dataclass(frozen=True)
class Engine:
    """A running private daemon."""

    root: Path
    """The directory holding everything the daemon writes."""
    socket: Path
    pid: int
    version: str
    """The daemon's version, as ``docker version`` reports it."""
    docker: str
    """The docker CLI used by :meth:`cli`."""
    netns: str
    """The network namespace the daemon runs in (``/run/netns/NAME``)."""
    command: tuple[str, ...] = ()
    """How the daemon was started (``nsenter --net=... dockerd FLAGS``)."""

    @property
    def host(self) -> str:
        """The daemon address for ``docker -H`` or ``DOCKER_HOST``."""
        return f"unix://{self.socket}"

    @property
    def log(self) -> Path:
        return self.root / "dockerd.log"

    def cli(self, *args: str) -> list[str]:
        """The command line running ``docker ARGS`` against this daemon."""
        return [self.docker, "-H", self.host, *args]

    def in_netns(self, *argv: str) -> list[str]:
        """The command line running ``ARGV`` in the daemon's network namespace."""
        return ["nsenter", f"--net={NETNS_DIR / self.netns}", *argv]

    def connection(self, timeout: float = 30.0) -> http.client.HTTPConnection:
        """A new HTTP connection to the Engine API (keep-alive: reuse it for many requests)."""
        return _UnixHTTPConnection(self.socket, timeout)

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        conn: http.client.HTTPConnection | None = None,
    ) -> tuple[int, Any]:
        """One Engine API request; returns the status and the decoded JSON body (or None)."""
        own = conn is None
        conn = conn or self.connection()
        try:
            payload = None if body is None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"} if payload is not None else {}
            conn.request(method, path, body=payload, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            if own:
                conn.close()
        kind = response.getheader("Content-Type") or ""
        return response.status, json.loads(data) if data and "json" in kind else None


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_ready(proc: subprocess.Popen[bytes], engine: Engine, timeout: float) -> str:
    """Poll ``GET /version`` until the daemon answers; return its version."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise DockerdError(
                f"dockerd exited with status {proc.returncode} while starting:\n"
                f"{_log_tail(engine.log)}"
            )
        if engine.socket.exists():
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, body = engine.api("GET", "/version")
                if status == 200 and isinstance(body, dict):
                    return str(body.get("Version", "unknown"))
        if time.monotonic() >= deadline:
            raise DockerdError(
                f"dockerd did not answer on {engine.socket} within {timeout:g} s:\n"
                f"{_log_tail(engine.log)}"
            )
        time.sleep(0.1)


def _stop(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the daemon; SIGKILL its process group (containerd too) if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the group of the daemon we started
            proc.wait()


def mounts_under(root: Path) -> list[str]:
    """Mount points at or below ``root`` in this mount namespace, deepest first."""
    prefix = str(root).rstrip("/")
    found: list[str] = []
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return sorted(set(found), key=len, reverse=True)


def _alive(pid: str) -> bool:
    try:
        return Path("/proc", pid, "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def processes_mentioning(root: Path) -> list[int]:
    """PIDs whose command line names a path under ``root`` (dockerd, containerd, shims)."""
    needle = str(root).encode()
    pids: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path("/proc", entry, "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline and _alive(entry):
            pids.append(int(entry))
    return pids


def reap(root: Path) -> None:
    """Kill the processes that name ``root`` and unmount everything under it."""
    for pid in processes_mentioning(root):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    for point in mounts_under(root):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def netns_inode(name: str) -> int | None:
    """The inode of namespace ``/run/netns/NAME`` (what ``/proc/PID/ns/net`` links to)."""
    try:
        return os.stat(NETNS_DIR / name).st_ino
    except OSError:
        return None


def netns_pids(inode: int) -> list[int]:
    """The live processes whose network namespace has ``inode`` (see :func:`netns_inode`)."""
    pids: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}/ns/net").st_ino != inode:
                continue
        except OSError:
            continue
        if _alive(entry):
            pids.append(int(entry))
    return pids


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise DockerdError(f"ip {' '.join(args)} failed: {done.stderr.strip()}")


@contextlib.contextmanager
def private_netns(name: str | None = None) -> Iterator[str]:
    """A new network namespace ``/run/netns/NAME`` (default ``libnet-dk-<hex>``) with ``lo``
    up; yield its name.

    On leaving, the processes still in it are killed and it is deleted with its links.
    """
    name = name or f"{NETNS_PREFIX}{secrets.token_hex(4)}"
    _ip("netns", "add", name)
    inode = netns_inode(name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        for pid in netns_pids(inode) if inode is not None else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


@contextlib.contextmanager
def private_dockerd(
    *,
    start_timeout: float = 60.0,
    stop_timeout: float = 30.0,
) -> Iterator[Engine]:
    """Start a private dockerd in a namespace of its own, yield it as an :class:`Engine`,
    stop it and clean up.

    Raises :class:`DockerdError` if the daemon does not start (see
    :func:`unavailable_reason` for the reasons known in advance).
    """
    reason = unavailable_reason()
    if reason is not None:
        raise DockerdError(reason)
    dockerd, docker = shutil.which("dockerd"), shutil.which("docker")
    assert dockerd is not None and docker is not None
    # A short path: a Unix socket's path must fit in 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="libnet-dockerd-"))
    try:
        (root / "daemon.json").write_text("{}\n")
        with private_netns() as netns:
            engine = Engine(root, root / "docker.sock", 0, "", docker, netns)
            command = engine.in_netns(
                dockerd,
                "--data-root",
                str(root / "data"),
                "--exec-root",
                str(root / "exec"),
                "--pidfile",
                str(root / "docker.pid"),
                "--config-file",
                str(root / "daemon.json"),
                "-H",
                engine.host,
            )
            with engine.log.open("wb") as log:
                proc = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            try:
                version = _wait_ready(proc, engine, start_timeout)
                yield Engine(root, engine.socket, proc.pid, version, docker, netns, tuple(command))
            finally:
                _stop(proc, stop_timeout)
                reap(root)  # container shims, overlay and namespace mounts
    finally:
        shutil.rmtree(root, ignore_errors=True)
