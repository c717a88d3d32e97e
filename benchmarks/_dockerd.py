"""A private Docker Engine for benchmarks and tests: ``with private_dockerd() as engine:``.

The daemon gets a fresh directory under the system temporary directory holding its data
root, exec root, API socket, pid file and log, so it shares nothing with a Docker Engine
that may already run on the machine. It runs without iptables rules and without the
default ``docker0`` bridge (``--iptables=false --ip6tables=false --bridge=none``), which
is what a container or CI sandbox allows; user-defined bridge networks still work. On
leaving the block the daemon is stopped (SIGTERM, then SIGKILL to its process group
after ``stop_timeout``) and the directory is removed.

``unavailable_reason()`` says why no daemon can be started here, or returns None::

    reason = unavailable_reason()
    if reason is None:
        with private_dockerd() as engine:
            subprocess.run(engine.cli("network", "create", "n1"), check=True)
            status, body = engine.api("GET", "/networks")

Starting needs root and the ``dockerd`` and ``docker`` programs (Debian: ``docker.io``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["DockerdError", "Engine", "private_dockerd", "unavailable_reason"]

DAEMON_ARGS = ("--iptables=false", "--ip6tables=false", "--bridge=none")
"""Flags that let dockerd start where it cannot program iptables or create docker0."""


class DockerdError(RuntimeError):
    """The private daemon could not be started; the message ends with its log's tail."""


def unavailable_reason() -> str | None:
    """Why :func:`private_dockerd` cannot work on this machine, or None if it can."""
    if shutil.which("dockerd") is None:
        return "dockerd is not installed (Debian package docker.io)"
    if shutil.which("docker") is None:
        return "the docker CLI is not installed (Debian package docker.io)"
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


@contextlib.contextmanager
def private_dockerd(
    *,
    start_timeout: float = 60.0,
    stop_timeout: float = 30.0,
    extra_args: Sequence[str] = (),
) -> Iterator[Engine]:
    """Start a private dockerd, yield it as an :class:`Engine`, stop it and clean up.

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
    engine = Engine(root, root / "docker.sock", 0, "", docker)
    command = [
        dockerd,
        "--data-root",
        str(root / "data"),
        "--exec-root",
        str(root / "exec"),
        "--pidfile",
        str(root / "docker.pid"),
        "-H",
        engine.host,
        *DAEMON_ARGS,
        *extra_args,
    ]
    try:
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
            yield Engine(root, engine.socket, proc.pid, version, docker)
        finally:
            _stop(proc, stop_timeout)
    finally:
        shutil.rmtree(root, ignore_errors=True)
