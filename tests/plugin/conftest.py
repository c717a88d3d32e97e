"""Fixtures for the Docker plugin protocol tests: plugin directories, fake and served plugins.

Sockets live in a short private directory under /tmp (AF_UNIX paths are limited to 107
bytes), never in /run/docker/plugins. Controllers find plugins only there
(``plugin_dirs=[plugin_dir]``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from _drivers import LOCAL, RecordingDriver

import libnet
from libnet.plugin import PluginServer

from . import _goplugin

GOPLUGIN = Path(_goplugin.__file__)


@pytest.fixture
def plugin_dir() -> Iterator[Path]:
    """A private directory for plugin sockets and spec files."""
    path = Path(tempfile.mkdtemp(prefix="lnp", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_controller(plugin_dir: Path) -> Iterator[Callable[..., libnet.Controller]]:
    """``make_controller(**kwargs)``: a Controller finding plugins in ``plugin_dir``."""
    made: list[libnet.Controller] = []

    def make(**kwargs: Any) -> libnet.Controller:
        kwargs.setdefault("plugin_dirs", [plugin_dir])
        kwargs.setdefault("plugin_timeout", 5.0)
        c = libnet.Controller(**kwargs)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture
def go_plugin(plugin_dir: Path) -> Iterator[Callable[..., _goplugin.GoPlugin]]:
    """``go_plugin(name, ipam=False)``: a Go-style plugin serving ``plugin_dir/NAME.sock``."""
    servers: list[Any] = []
    plugins: list[_goplugin.GoPlugin] = []

    def start(name: str = "goplug", ipam: bool = False) -> _goplugin.GoPlugin:
        plugin = _goplugin.GoPlugin(ipam=ipam)
        servers.append(_goplugin.start(plugin_dir / f"{name}.sock", plugin))
        plugins.append(plugin)
        return plugin

    yield start
    for plugin in plugins:
        plugin.release.set()
    for server in servers:
        _goplugin.stop(server)


class GoProcess:
    """The Go-style plugin as a separate process, which a test kills and starts again."""

    def __init__(self, socket: Path, log: Path) -> None:
        self.socket = socket
        self.log = log
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> GoProcess:
        self.proc = subprocess.Popen(
            [sys.executable, str(GOPLUGIN), "--socket", str(self.socket), "--log", str(self.log)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"
        return self

    def kill(self) -> None:
        """SIGKILL: the socket file stays behind, as after a crash."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def calls(self, pid: int | None = None) -> list[tuple[str, Any]]:
        """(method, body) of the calls logged, by the process ``pid`` if given."""
        import json

        if not self.log.exists():
            return []
        lines = [json.loads(line) for line in self.log.read_text().splitlines()]
        return [(d["method"], d["body"]) for d in lines if pid is None or d["pid"] == pid]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid


@pytest.fixture
def go_process(plugin_dir: Path) -> Iterator[Callable[[str], GoProcess]]:
    """``go_process(name)``: the Go-style plugin started as a process at ``NAME.sock``."""
    procs: list[GoProcess] = []

    def start(name: str = "goproc") -> GoProcess:
        proc = GoProcess(plugin_dir / f"{name}.sock", plugin_dir / f"{name}.log").start()
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        proc.stop()


class Served:
    """A RecordingDriver served as Docker plugin ``rec`` by a PluginServer."""

    def __init__(self, server: PluginServer, driver: RecordingDriver) -> None:
        self.server = server
        self.driver = driver

    @property
    def socket(self) -> Path:
        assert self.server.socket_path is not None
        return self.server.socket_path


@pytest.fixture
def serve_recording(plugin_dir: Path) -> Iterator[Callable[..., Served]]:
    """``serve_recording(name="rec", fail_on=(), state_dir=None, **server_kwargs)``.

    Serves a fresh RecordingDriver registered on a controller with its state in
    ``state_dir`` (SQLite) or in memory.
    """
    started: list[PluginServer] = []
    controllers: list[libnet.Controller] = []

    def serve(
        name: str = "rec", *, fail_on: Any = (), state_dir: Path | None = None, **kwargs: Any
    ) -> Served:
        driver = RecordingDriver(fail_on=fail_on)
        c = libnet.Controller(plugins="off", state_dir=state_dir)
        c.register_driver(name, driver, LOCAL)
        controllers.append(c)
        kwargs.setdefault("socket", plugin_dir / f"{name}.sock")
        server = PluginServer(name, controller=c, **kwargs).start()
        started.append(server)
        return Served(server, driver)

    yield serve
    for server in started:
        server.stop()
    for c in controllers:
        c.close()


class UnixHTTP(http.client.HTTPConnection):
    """A plain HTTP connection over a unix socket, for raw requests."""

    def __init__(self, path: Path) -> None:
        super().__init__("plugin.moby.localhost", timeout=5)
        self.path = str(path)

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(5)
        self.sock.connect(self.path)


def post(
    path: Path, method: str, body: bytes | Any = b"", http_method: str = "POST"
) -> tuple[int, Any, str]:
    """(status, decoded JSON body, content type) of one request."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn = UnixHTTP(path)
    try:
        conn.request(http_method, "/" + method, body=data)
        resp = conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None, resp.getheader("Content-Type", "")
    finally:
        conn.close()


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


Answer = Callable[[socket.socket], None]


@pytest.fixture
def scripted_socket(plugin_dir: Path) -> Iterator[Callable[[str, Answer], Path]]:
    """``scripted_socket(name, answer)``: a socket at ``plugin_dir/NAME.sock`` that reads
    each connection's request, then runs ``answer(conn)`` on it (a plugin misbehaving)."""
    servers: list[tuple[socket.socket, threading.Event, threading.Thread]] = []

    def start(name: str, answer: Answer) -> Path:
        path = plugin_dir / f"{name}.sock"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.listen()
        server.settimeout(0.1)
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except OSError:
                    continue
                with conn:
                    conn.settimeout(5)
                    with contextlib.suppress(OSError):
                        conn.recv(65536)
                        answer(conn)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        servers.append((server, stop, thread))
        return path

    yield start
    for server, stop, thread in servers:
        stop.set()
        thread.join()
        server.close()
