"""Serving a libnet driver as a Docker plugin: HTTP over a unix socket (or TCP).

The transport is the standard library's: a threading ``socketserver`` (one thread per
connection) and :class:`http.server.BaseHTTPRequestHandler` speaking HTTP/1.1 with
keep-alive, hardened against hostile clients: at most ``max_connections`` at once (more are
answered 503 and closed, with no thread), an idle connection is closed after
``connection_timeout``, a request must arrive whole within ``request_timeout``, bodies are
bounded (chunked ones parsed strictly), and every answer, errors of the HTTP layer
included, is JSON with ``Err``.
"""

from __future__ import annotations

import contextlib
import grp
import io
import logging
import os
import re
import signal
import socket
import socketserver
import stat
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from libnet._version import __version__
from libnet.controller import Controller
from libnet.dockerplugin import api
from libnet.dockerplugin.server._service import (
    DriverFailure,
    PluginService,
    ServiceClosedError,
    UnknownMethodError,
)
from libnet.dockerplugin.server._state import PluginState
from libnet.driverapi import Capability, Driver
from libnet.errors import ServeError
from libnet.ipam import Ipam, IpamCapability
from libnet.registry import check_driver_name
from libnet.store import MemoryStore, SqliteStore

__all__ = [
    "CONNECTION_TIMEOUT",
    "DEFAULT_SOCKET_DIR",
    "DEFAULT_SPEC_DIR",
    "MAX_BODY",
    "MAX_CONNECTIONS",
    "REQUEST_TIMEOUT",
    "PluginServer",
    "ServeError",
    "serve",
]

log = logging.getLogger("libnet.plugin")

DEFAULT_SOCKET_DIR = Path("/run/docker/plugins")
"""Where Docker looks for plugin sockets; ``NAME.sock`` is created here by default."""

DEFAULT_SPEC_DIR = Path("/etc/docker/plugins")
"""Where the ``NAME.spec`` file of a TCP plugin is written by default."""

MAX_BODY = 1 << 20
"""Largest request body accepted (1 MiB); a larger one is answered 413."""

CONNECTION_TIMEOUT = 30.0
"""Seconds a connection may stay silent (mid-request or idle) before it is closed."""

REQUEST_TIMEOUT = 30.0
"""Seconds from a request's first byte to the end of its body; a slower one is cut off."""

MAX_CONNECTIONS = 64
"""Connections served at once; more are answered 503 and closed at once."""

_CHUNK_SIZE = re.compile(rb"[0-9A-Fa-f]{1,8}")
_READ_PIECE = 1 << 16


class _DeadlineIO(socket.SocketIO):
    """A socket's reading side that gives up once ``deadline`` (monotonic) has passed.

    A socket timeout bounds one ``recv``; a client trickling a byte at a time would never
    meet it. Each read here waits at most until the deadline, so a whole request is bounded.
    """

    def __init__(self, sock: socket.socket, idle: float) -> None:
        super().__init__(sock, "rb")
        self.sock = sock
        self.idle = idle
        self.deadline: float | None = None

    def readinto(self, b: Any) -> int | None:
        if self.deadline is None:
            self.sock.settimeout(self.idle)
        else:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the request did not arrive within the request timeout")
            self.sock.settimeout(min(remaining, self.idle))
        return super().readinto(b)


_UNIX_PATH_MAX = 107


# -- HTTP -------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """One connection: HTTP/1.1 requests, each a plugin method call."""

    protocol_version = "HTTP/1.1"
    server_version = f"libnet-plugin/{__version__}"
    server: _Server  # type: ignore[assignment]

    def setup(self) -> None:
        super().setup()
        self._raw = _DeadlineIO(self.connection, self.server.connection_timeout)
        self._reader = io.BufferedReader(self._raw)
        self.rfile = self._reader

    def handle_one_request(self) -> None:
        """Wait (idle) for a request's first byte, then give the whole request a deadline."""
        self._raw.deadline = None
        try:
            first = self._reader.peek(1)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        if not first:
            self.close_connection = True
            return
        self._raw.deadline = time.monotonic() + self.server.request_timeout
        super().handle_one_request()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Errors of the HTTP layer (bad request line, header flood, unknown verb) as JSON."""
        text = message or self.responses.get(code, ("error",))[0]
        if not hasattr(self, "command"):
            self.command = ""
        # A request line too broken to name its version reads as HTTP/0.9, which would
        # answer without a status line or headers: the answer is HTTP/1.1 in any case.
        self.request_version = self.protocol_version
        self._fail(code, f"{code} {text}", time.perf_counter(), close=True)

    def address_string(self) -> str:
        # The client address of an AF_UNIX connection is '', which the base class indexes.
        address = self.client_address
        if isinstance(address, tuple) and address:
            return str(address[0])
        return "unix"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Requests are logged once answered, with their duration (see ``_answer``)."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s: " + format, self.address_string(), *args)

    def _answer(self, status: int, body: Any, started: float, *, close: bool = False) -> None:
        self._raw.deadline = None
        data = api.encode(body)
        self.send_response(status)
        self.send_header("Content-Type", api.CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        if log.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1000
            log.debug("%s %s -> %d (%.2f ms)", self.command, self._where(), status, elapsed)

    def _where(self) -> str:
        return str(getattr(self, "path", "") or "-")

    def _fail(self, status: int, message: str, started: float, *, close: bool = False) -> None:
        log.debug("%s %s: %s", self.command, self._where(), message)
        self._answer(status, api.error_body(message), started, close=close)

    def _read_body(self, started: float) -> bytes | None:
        """The request body, or None once an error was answered (the connection closes)."""
        try:
            return self._read_body_in_time(started)
        except TimeoutError:
            self._fail(408, "the request body did not arrive in time", started, close=True)
            return None

    def _read_body_in_time(self, started: float) -> bytes | None:
        limit = self.server.max_body
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit, started)
        length_header = self.headers.get("Content-Length")
        try:
            length = int(length_header) if length_header is not None else 0
            if length < 0:
                raise ValueError(length_header)
        except ValueError:
            self._fail(400, f"bad Content-Length {length_header!r}", started, close=True)
            return None
        if length > limit:
            self._fail(
                413,
                f"request body of {length} bytes exceeds the limit of {limit}",
                started,
                close=True,
            )
            return None
        data = self._read_exactly(length)
        if data is None:
            self._fail(400, "request body ended before Content-Length", started, close=True)
        return data

    def _read_exactly(self, length: int) -> bytes | None:
        """``length`` bytes, read into one buffer in pieces; None if the body ends early."""
        buffer = bytearray(length)
        view = memoryview(buffer)
        done = 0
        while done < length:
            got = self.rfile.readinto(view[done : done + _READ_PIECE])
            if not got:
                return None
            done += got
        return bytes(buffer)

    def _read_chunked(self, limit: int, started: float) -> bytes | None:
        """A chunked body, strictly: hex sizes only, each chunk ended by CRLF, bounded."""
        body = bytearray()
        while True:
            line = self.rfile.readline(1024)
            size_text = line.split(b";", 1)[0].strip()
            if not line.endswith(b"\n") or not _CHUNK_SIZE.fullmatch(size_text):
                self._fail(400, f"malformed chunk size {size_text[:20]!r}", started, close=True)
                return None
            size = int(size_text, 16)
            if size == 0:
                for _ in range(100):  # trailer lines, up to the blank one
                    if self.rfile.readline(1024) in (b"\r\n", b"\n", b""):
                        return bytes(body)
                self._fail(400, "too many trailer lines", started, close=True)
                return None
            if len(body) + size > limit:
                self._fail(
                    413, f"request body exceeds the limit of {limit} bytes", started, close=True
                )
                return None
            chunk = self._read_exactly(size)
            if chunk is None:
                self._fail(400, "request body ended inside a chunk", started, close=True)
                return None
            body += chunk
            if self.rfile.readline(3) not in (b"\r\n", b"\n"):
                self._fail(400, "a chunk is not followed by CRLF", started, close=True)
                return None

    def _handle(self) -> None:
        started = time.perf_counter()
        service = self.server.service
        raw = self._read_body(started)
        if raw is None:
            return
        path = self.path.split("?", 1)[0]
        if path == api.ACTIVATE:
            self._answer(200, service.manifest.to_json(), started)
            return
        method = path.lstrip("/")
        if not service.knows(method):
            self._fail(404, f"404 page not found: the plugin has no method {method!r}", started)
            return
        if self.command != "POST":
            self._fail(405, f"{method} must be called with POST, not {self.command}", started)
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s <- %s", method, raw[:2048].decode(errors="replace").strip())
        try:
            body = api.decode(raw, "request body") if raw.strip() else None
            result = service.call(method, body)
        except api.WireError as exc:
            self._fail(400, str(exc), started)
        except UnknownMethodError as exc:
            self._fail(404, str(exc), started)
        except ServiceClosedError as exc:
            self._fail(503, str(exc), started, close=True)
        except DriverFailure as exc:
            self._fail(500, str(exc), started)
        except Exception as exc:
            log.exception("%s failed", method)
            self._fail(500, f"{type(exc).__name__}: {exc}", started)
        else:
            self._answer(200, result, started)

    do_POST = _handle
    do_GET = _handle
    do_PUT = _handle
    do_DELETE = _handle
    do_HEAD = _handle
    do_OPTIONS = _handle
    do_PATCH = _handle


class _Server(socketserver.ThreadingMixIn):
    """What both servers share: the service, limits, quiet errors, closable connections."""

    daemon_threads = True
    block_on_close = False
    service: PluginService
    max_body: int = MAX_BODY
    connection_timeout: float = CONNECTION_TIMEOUT
    request_timeout: float = REQUEST_TIMEOUT

    def setup_plugin(self, service: PluginService, limits: _Limits) -> None:
        self.service = service
        self.max_body = limits.max_body
        self.connection_timeout = limits.connection_timeout
        self.request_timeout = limits.request_timeout
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        self._active: set[socket.socket] = set()
        self._active_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a thread of its own, or refuse it when all slots are taken."""
        if not self._slots.acquire(blocking=False):
            _refuse(request)
            self.shutdown_request(request)  # type: ignore[attr-defined]
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self._active_lock:
            self._active.add(request)
        try:
            super().finish_request(request, client_address)  # type: ignore[misc]
        finally:
            with self._active_lock:
                self._active.discard(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address or "unix", exc_info=True)

    def close_connections(self) -> None:
        """Shut down the connections still open, so their threads end."""
        with self._active_lock:
            active = list(self._active)
        for conn in active:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


def _refuse(conn: socket.socket) -> None:
    """Answer 503 (JSON) on a connection over the limit, without reading it."""
    data = api.encode(api.error_body("too many connections to the plugin; try again"))
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Content-Type: {api.CONTENT_TYPE}\r\nContent-Length: {len(data)}\r\n"
        "Connection: close\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        conn.settimeout(1.0)
        conn.sendall(head.encode() + data)


@dataclass(frozen=True)
class _Limits:
    """What one client may take of the server."""

    max_body: int = MAX_BODY
    connection_timeout: float = CONNECTION_TIMEOUT
    request_timeout: float = REQUEST_TIMEOUT
    max_connections: int = MAX_CONNECTIONS


class _UnixServer(_Server, socketserver.UnixStreamServer):
    pass


class _TcpServer(_Server, socketserver.TCPServer):
    allow_reuse_address = True


class _Tcp6Server(_TcpServer):
    address_family = socket.AF_INET6


# -- sockets, spec files, groups --------------------------------------------------------


def _gid(group: str | int) -> int:
    if isinstance(group, int):
        return group
    if group.isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise ServeError(
            f"group {group!r} does not exist; create it (groupadd {group}) or give another --group"
        ) from None


def _make_dir(path: Path) -> None:
    """Create ``path`` (and parents) with mode 0755 if it does not exist."""
    if path.is_dir():
        return
    try:
        path.mkdir(mode=0o755, parents=True, exist_ok=True)
        os.chmod(path, 0o755)
    except OSError as exc:
        raise ServeError(f"cannot create directory {path}: {exc.strerror or exc}") from exc


def _answers(family: int, address: Any) -> bool:
    """Whether something accepts connections at ``address``."""
    probe = socket.socket(family, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(address)
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except OSError:
        return True  # timed out or otherwise busy: treat as in use
    finally:
        probe.close()
    return True


def _free_socket_path(path: Path) -> None:
    """Refuse a socket path in use; remove a stale socket left by a dead plugin."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise ServeError(f"{path} exists and is not a socket; remove it or choose another --socket")
    if _answers(socket.AF_UNIX, str(path)):
        raise ServeError(
            f"{path} is in use by a running plugin; stop it first or choose another --name"
        )
    log.info("removing stale socket %s", path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _bind_unix(server: _UnixServer, path: Path, gid: int | None) -> None:
    """Bind and listen at ``path`` with mode 0660 (and group ``gid``) from the first moment.

    The socket is bound in a private 0700 directory beside ``path``, given its mode and
    owner, put to listening, then renamed into place.
    """
    if len(os.fsencode(path)) > _UNIX_PATH_MAX:
        raise ServeError(f"socket path {path} is longer than {_UNIX_PATH_MAX} bytes")
    _make_dir(path.parent)
    _free_socket_path(path)
    try:
        private = tempfile.mkdtemp(prefix=".ln", dir=path.parent)
    except OSError as exc:
        raise ServeError(f"cannot create a socket in {path.parent}: {exc.strerror}") from exc
    tmp = os.path.join(private, "s")
    try:
        server.socket.bind(tmp)
        os.chmod(tmp, 0o660)
        if gid is not None:
            os.chown(tmp, 0 if os.geteuid() == 0 else -1, gid)
        server.socket.listen(socket.SOMAXCONN)
        os.rename(tmp, path)
    except OSError as exc:
        raise ServeError(f"cannot create socket {path}: {exc.strerror or exc}") from exc
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        with contextlib.suppress(OSError):
            os.rmdir(private)
    server.server_address = str(path)


def _tcp_url(host: str, port: int) -> str:
    return f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"


def _write_spec(path: Path, url: str) -> None:
    _make_dir(path.parent)
    if path.exists():
        current = path.read_text(errors="replace").strip()
        if current != url and current.startswith("tcp://"):
            host, _, port = current[len("tcp://") :].rpartition(":")
            host = host.strip("[]")
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            if port.isdigit() and _answers(family, (host, int(port))):
                raise ServeError(
                    f"{path} names {current}, where a plugin is answering; stop it first or "
                    "choose another --name"
                )
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        tmp.write_text(url + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise ServeError(f"cannot write plugin spec {path}: {exc.strerror or exc}") from exc


# -- the server -------------------------------------------------------------------------


class PluginServer:
    """A libnet network driver, IPAM driver, or both, served as one Docker plugin.

    ``driver`` names a network type the server's controller knows (built in or from an
    entry point) and ``ipam`` an IPAM driver it knows (``default``, ``null``, or from an
    entry point): the served objects are exactly the ones that controller would use, the
    default IPAM keeping its pools in the plugin's store. ``ipam`` may also be an
    :class:`~libnet.ipam.Ipam` object (with ``ipam_capability``). The plugin is called
    ``name`` (default: the driver's name, else the IPAM's).

    It listens on ``socket`` (default ``/run/docker/plugins/NAME.sock``, mode 0660, owned
    by root and ``group``), or on ``tcp=(host, port)`` with ``NAME.spec`` written to
    ``spec_dir`` (default ``/etc/docker/plugins``) and removed on stop. Port 0 picks a
    free port.

    What Docker creates is recorded in the store, SQLite under ``state_dir`` (else in
    memory, or the given ``controller``'s store), and replayed to the driver at start.
    Other keyword arguments go to the :class:`~libnet.Controller` the server creates
    (Docker plugin lookup is off in it unless ``plugin_dirs`` is given).

    ``start()`` serves in a background thread; ``stop()`` (or leaving the ``with`` block)
    closes it and removes the socket or spec file; ``serve_forever()`` serves until
    SIGTERM or SIGINT.
    """

    def __init__(
        self,
        driver: str | None,
        *,
        name: str | None = None,
        socket: str | os.PathLike[str] | None = None,
        tcp: tuple[str, int] | None = None,
        spec_dir: str | os.PathLike[str] | None = None,
        ipam: str | Ipam | None = None,
        ipam_capability: IpamCapability | None = None,
        group: str | int | None = None,
        state_dir: str | os.PathLike[str] | None = None,
        controller: Controller | None = None,
        max_body: int = MAX_BODY,
        connection_timeout: float = CONNECTION_TIMEOUT,
        request_timeout: float = REQUEST_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
        **controller_kwargs: Any,
    ) -> None:
        if driver is None and ipam is None:
            raise ServeError("name a network driver to serve, an IPAM driver, or both")
        if socket is not None and tcp is not None:
            raise ServeError("serve on a unix socket or on TCP, not both")
        if spec_dir is not None and tcp is None:
            raise ServeError("a spec directory is only used with TCP")
        if controller is not None and (state_dir is not None or controller_kwargs):
            raise ServeError("give the server a controller, or the settings to make one")
        default_name = driver or (ipam if isinstance(ipam, str) else None)
        if name is None and default_name is None:
            raise ServeError("name the plugin: an IPAM driver object has no name")
        self.name = check_driver_name(name or default_name)
        self.socket_path: Path | None = None
        self.spec_path: Path | None = None
        if tcp is None:
            self.socket_path = (
                Path(socket) if socket is not None else (DEFAULT_SOCKET_DIR / f"{self.name}.sock")
            )
        else:
            port = tcp[1]
            if not isinstance(port, int) or not 0 <= port <= 65535:
                raise ServeError(f"TCP port {port!r} must be a number from 0 to 65535")
            self.spec_path = Path(spec_dir or DEFAULT_SPEC_DIR) / f"{self.name}.spec"
        self._tcp = tcp
        self._gid = _gid(group) if group is not None else None
        self._driver_name = driver
        self._ipam_arg = ipam
        self._ipam_capability = ipam_capability
        self._state_dir = None if state_dir is None else Path(state_dir)
        self._controller_arg = controller
        self._controller_kwargs = controller_kwargs
        for what, value in (
            ("max_body", max_body),
            ("connection_timeout", connection_timeout),
            ("request_timeout", request_timeout),
            ("max_connections", max_connections),
        ):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ServeError(f"{what}={value!r} must be a positive number")
        self._limits = _Limits(
            int(max_body), float(connection_timeout), float(request_timeout), int(max_connections)
        )
        self.controller: Controller | None = None
        self.driver: Driver | None = None
        self.capability: Capability | None = None
        self.ipam: Ipam | None = None
        self.service: PluginService | None = None
        self.address = ""
        self._server: _UnixServer | _TcpServer | None = None
        self._thread: threading.Thread | None = None
        self._socket_id: tuple[int, int] | None = None
        self._spec_text: str | None = None
        self._owns_controller = False

    @property
    def manifest(self) -> list[str]:
        """The interfaces the plugin implements (after ``start()``)."""
        return list(self.service.manifest.implements) if self.service else []

    def __enter__(self) -> PluginServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _open(self) -> PluginService:
        """Controller, driver, IPAM, state and service; replays the stored state."""
        if self._controller_arg is not None:
            controller = self._controller_arg
            store = controller.store
        else:
            store = SqliteStore(self._state_dir) if self._state_dir else MemoryStore()
            kwargs: dict[str, Any] = {"plugin_dirs": (), **self._controller_kwargs}
            try:
                controller = Controller(store=store, **kwargs)
            except BaseException:
                store.close()
                raise
            self._owns_controller = True
        self.controller = controller
        if self._driver_name is not None:
            reg = controller.resolve_driver(self._driver_name)
            self.driver, self.capability = reg.driver, reg.capability
        ipam_cap = self._ipam_capability
        if isinstance(self._ipam_arg, str):
            ipam_reg = controller.resolve_ipam(self._ipam_arg)
            self.ipam, ipam_cap = ipam_reg.driver, ipam_reg.capability
        elif self._ipam_arg is not None:
            self.ipam = self._ipam_arg
        service = PluginService(
            PluginState(store, self.name),
            driver=self.driver,
            capability=self.capability,
            ipam=self.ipam,
            ipam_capability=ipam_cap,
        )
        service.restore()
        return service

    def _listen(self, service: PluginService) -> _UnixServer | _TcpServer:
        server: _UnixServer | _TcpServer
        if self._tcp is None:
            assert self.socket_path is not None
            server = _UnixServer(str(self.socket_path), _Handler, bind_and_activate=False)
            server.setup_plugin(service, self._limits)
            try:
                _bind_unix(server, self.socket_path, self._gid)
            except BaseException:
                server.server_close()
                raise
            st = os.stat(self.socket_path)
            self._socket_id = (st.st_dev, st.st_ino)
            self.address = f"unix://{self.socket_path}"
            return server
        host, port = self._tcp
        cls = _Tcp6Server if ":" in host else _TcpServer
        try:
            server = cls((host, port), _Handler)
        except OSError as exc:
            raise ServeError(f"cannot listen on {_tcp_url(host, port)}: {exc.strerror}") from exc
        server.setup_plugin(service, self._limits)
        self.address = _tcp_url(host, server.server_address[1])
        assert self.spec_path is not None
        try:
            _write_spec(self.spec_path, self.address)
        except BaseException:
            server.server_close()
            raise
        self._spec_text = self.address
        return server

    def start(self) -> PluginServer:
        """Open the state, replay it to the driver, and serve in a background thread."""
        if self._server is not None:
            raise ServeError(f"plugin {self.name!r} is already serving at {self.address}")
        try:
            self.service = self._open()
            self._server = self._listen(self.service)
        except BaseException:
            self._close_state()
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"libnet-plugin-{self.name}",
            daemon=True,
        )
        self._thread.start()
        log.info(
            "serving Docker plugin %r (%s) at %s", self.name, ", ".join(self.manifest), self.address
        )
        return self

    def _close_state(self) -> None:
        if self.service is not None:
            self.service.close()
        if self._owns_controller and self.controller is not None:
            self.controller.close()
            self._owns_controller = False

    def stop(self) -> None:
        """Stop serving, close connections, remove the socket or spec file. Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        if self.service is not None:
            self.service.close()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(5)
        self._remove_files()
        self._close_state()
        log.info("stopped serving Docker plugin %r", self.name)

    def _remove_files(self) -> None:
        """Remove our socket or spec file, unless another plugin replaced it since."""
        if self.socket_path is not None and self._socket_id is not None:
            with contextlib.suppress(OSError):
                st = os.lstat(self.socket_path)
                if (st.st_dev, st.st_ino) == self._socket_id:
                    os.unlink(self.socket_path)
        if self.spec_path is not None and self._spec_text is not None:
            with contextlib.suppress(OSError):
                if self.spec_path.read_text().strip() == self._spec_text:
                    self.spec_path.unlink()

    def serve_forever(self, ready: Callable[[PluginServer], object] | None = None) -> None:
        """Serve (starting if need be) until SIGTERM or SIGINT, then stop cleanly.

        ``ready(server)`` is called once serving, with the signal handlers in place. They
        are installed only when called from the main thread, and restored on return.
        """
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("received %s: stopping", signal.Signals(signum).name)
            stop.set()

        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, on_signal)
        try:
            if self._server is None:
                self.start()
            if ready is not None:
                ready(self)
            while not stop.wait(0.5):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(driver: str | None, **kwargs: Any) -> None:
    """Serve ``driver`` as a Docker plugin until SIGTERM or SIGINT (see :class:`PluginServer`)."""
    PluginServer(driver, **kwargs).serve_forever()
