"""Fixtures for the tests against a real Docker Engine.

* ``docker_engine`` (session): a private dockerd with Docker's default settings in a network
  namespace of its own, with an uplink to a "world" namespace (see :mod:`._engine`), or a
  skip saying why (not Linux, not root, dockerd or docker not installed); where it could run
  but does not start, an error with the daemon's log tail (a skip would hide it in CI). On
  teardown it checks that the engine left nothing and that the host's firewall is as it was.
* ``busybox_image`` (session): ``libnet-busybox:latest`` imported from the static busybox.
* ``docker``: ``docker(*args)`` runs the docker client against that engine.
* ``serve``: ``serve(driver, ipam=None)`` starts ``libnet serve`` in a subprocess, in the
  engine's network namespace (firewall rules on, as for any user), as a Docker plugin with a
  unique name, socket ``/run/docker/plugins/NAME.sock``, waits until it answers
  ``/Plugin.Activate``, and on teardown removes the containers and networks that use it, then
  stops it with SIGTERM and removes what it left.
* ``subnet``: a free random IPv4 /24 under 10.0.0.0/8, so concurrent runs do not collide.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ._engine import (
    PLUGIN_DIR,
    DockerEngine,
    EngineUnavailable,
    host_firewall,
    import_busybox,
    sweep_stale_engines,
    unavailable_reason,
)

PLUGIN_PREFIX = "libnet-test-"
ACTIVATE_TIMEOUT = 20.0


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    sweep_stale_engines()  # what a killed run left
    engine = DockerEngine()
    firewall = host_firewall()
    try:
        engine.start()
    except EngineUnavailable as exc:
        # Root and dockerd installed (as under .ci/run): a daemon that will not start is a
        # failure to see, not a skip to overlook.
        pytest.fail(f"the private dockerd did not start: {exc}", pytrace=False)
    try:
        yield engine
    finally:
        engine.stop()
    assert engine.leftovers() == []
    assert host_firewall() == firewall, "the Docker tests changed the host's firewall"


@pytest.fixture(scope="session")
def busybox_image(docker_engine: DockerEngine) -> str:
    try:
        return import_busybox(docker_engine)
    except EngineUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def docker(docker_engine: DockerEngine) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``docker(*args, check=True)``: the docker client against the private engine."""
    return docker_engine.docker


# -- a plugin served by libnet -------------------------------------------------------------


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("plugin.moby.localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def plugin_call(sock_path: Path, method: str, body: Any = None, timeout: float = 5.0) -> Any:
    """POST ``/METHOD`` to a plugin socket as Docker does; return the decoded reply."""
    conn = _UnixHTTPConnection(str(sock_path), timeout)
    try:
        data = b"" if body is None else json.dumps(body).encode() + b"\n"
        conn.request(
            "POST",
            f"/{method}",
            body=data,
            headers={"Accept": "application/vnd.docker.plugins.v1.2+json"},
        )
        reply = conn.getresponse()
        raw = reply.read()
        if reply.status != 200:
            raise AssertionError(f"{method}: HTTP {reply.status}: {raw[:500]!r}")
        return json.loads(raw)
    finally:
        conn.close()


class ServedPlugin:
    """``libnet serve`` running as Docker plugin ``name``; its DEBUG log in ``log_path``."""

    def __init__(
        self,
        driver: str,
        name: str,
        state_dir: Path,
        log_path: Path,
        ipam: str | None,
        prefix: list[str],
    ) -> None:
        self.driver = driver
        self.name = name
        self.ipam = ipam
        self.state_dir = state_dir
        self.log_path = log_path
        self.socket = PLUGIN_DIR / f"{name}.sock"
        self.command = [
            *prefix,  # into the engine's network namespace
            sys.executable,
            "-m",
            "libnet",
            "--state-dir",
            str(state_dir),
            "--debug",
            "serve",
            driver,
            "--name",
            name,
            "--socket",
            str(self.socket),
        ]
        if ipam:
            self.command += ["--ipam", ipam]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> ServedPlugin:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + ACTIVATE_TIMEOUT
        last = ""
        while True:
            code = self.proc.poll()
            if code is not None:
                raise AssertionError(
                    f"{' '.join(self.command)} exited with status {code}; its log:\n{self.log()}"
                )
            if self.socket.exists():
                try:
                    manifest = plugin_call(self.socket, "Plugin.Activate")
                    break
                except (OSError, AssertionError, ValueError) as exc:
                    last = str(exc)
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(
                    f"libnet serve did not answer /Plugin.Activate on {self.socket} within "
                    f"{ACTIVATE_TIMEOUT:.0f} s ({last or 'no socket'}); its log:\n{self.log()}"
                )
            time.sleep(0.05)
        implements = manifest.get("Implements") or []
        assert "NetworkDriver" in implements, manifest
        if self.ipam:
            assert "IpamDriver" in implements, manifest
        return self

    def stop(self) -> int | None:
        """SIGTERM and wait; return the exit status (None if it was never started)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def answered(self) -> list[tuple[str, int]]:
        """(method, HTTP status) of each call the plugin answered, in order, from its log."""
        found = re.findall(
            r"POST /((?:Plugin|NetworkDriver|IpamDriver)\.[A-Za-z]+) -> (\d{3})\b", self.log()
        )
        return [(method, int(status)) for method, status in found]

    def calls(self) -> list[str]:
        """The methods the plugin answered, in order (``NetworkDriver.CreateNetwork``...)."""
        return [method for method, _ in self.answered()]

    def count(self, method: str) -> int:
        return self.calls().count(method)

    def requests(self, method: str) -> list[dict[str, Any]]:
        """The decoded request bodies of ``method`` the log shows (``METHOD <- BODY``)."""
        out = []
        for line in self.log().splitlines():
            _, sep, body = line.partition(f" {method} <- ")
            if sep and body.strip():
                out.append(json.loads(body))
        return out


def _remove_docker_objects_of(engine: DockerEngine, driver: str) -> None:
    """Remove the containers on networks of ``driver``, then those networks."""
    nets = engine.docker(
        "network", "ls", "-q", "--no-trunc", "--filter", f"driver={driver}", check=False
    ).stdout.split()
    for net in nets:
        ids = engine.docker("ps", "-aq", "--filter", f"network={net}", check=False).stdout.split()
        if ids:
            engine.docker("rm", "-f", *ids, check=False)
    if nets:
        engine.docker("network", "rm", *nets, check=False)


@pytest.fixture
def serve(docker_engine: DockerEngine, tmp_path: Path) -> Iterator[Callable[..., ServedPlugin]]:
    """``serve(driver, ipam=None)``: a started :class:`ServedPlugin` with a unique name."""
    started: list[ServedPlugin] = []

    def start(driver: str, ipam: str | None = None) -> ServedPlugin:
        name = f"{PLUGIN_PREFIX}{secrets.token_hex(4)}"
        state, log = tmp_path / f"{name}-state", tmp_path / f"{name}.log"
        plugin = ServedPlugin(driver, name, state, log, ipam, docker_engine.in_netns())
        started.append(plugin)
        return plugin.start()

    yield start
    for plugin in reversed(started):
        if plugin.proc is not None:
            _remove_docker_objects_of(docker_engine, plugin.name)
        plugin.stop()
        plugin.socket.unlink(missing_ok=True)


# -- addresses and links -------------------------------------------------------------------


def _routed_networks() -> list[ipaddress.IPv4Network]:
    out = subprocess.run(
        ["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True, check=False
    ).stdout
    nets = []
    for line in out.splitlines():
        first = line.split()[0] if line.split() else ""
        if first in ("local", "broadcast", "unreachable", "blackhole", "prohibit"):
            first = line.split()[1]
        try:
            nets.append(ipaddress.IPv4Network(first, strict=False))
        except ValueError:
            continue
    return [n for n in nets if n.prefixlen > 0]


def free_subnet() -> ipaddress.IPv4Network:
    """A random /24 in 10.128.0.0/9 that no route on the host overlaps."""
    routed = _routed_networks()
    rng = random.SystemRandom()
    for _ in range(100):
        candidate = ipaddress.IPv4Network(
            f"10.{rng.randrange(128, 255)}.{rng.randrange(0, 256)}.0/24"
        )
        if not any(candidate.overlaps(n) for n in routed):
            return candidate
    raise AssertionError("no free /24 in 10.128.0.0/9")


@pytest.fixture
def subnet() -> ipaddress.IPv4Network:
    return free_subnet()
