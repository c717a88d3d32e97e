"""The HTTP side of a served plugin, hardened against hostile clients.

A threading ``socketserver`` (one thread per connection) and
:class:`http.server.BaseHTTPRequestHandler` speaking HTTP/1.1 with keep-alive: at most
``max_connections`` at once (more are answered 503 and closed, with no thread), an idle
connection is closed after ``connection_timeout``, a request must arrive whole within
``request_timeout``, bodies are bounded (chunked ones parsed strictly), and every answer,
errors of the HTTP layer included, is JSON with ``Err``. Over TLS, each connection's
handshake runs in its thread with a deadline of its own (``handshake_timeout``), so a client
that never completes it holds its slot that long at most.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import socket
import socketserver
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from libnet._version import __version__
from libnet.dockerplugin import api
from libnet.dockerplugin.server._service import (
    DriverFailure,
    PluginService,
    ServiceClosedError,
    UnknownMethodError,
)
from libnet.dockerplugin.server._tls import HANDSHAKE_TIMEOUT, finish_handshake, linger, wrap

__all__ = [
    "CONNECTION_TIMEOUT",
    "HANDSHAKE_TIMEOUT",
    "MAX_BODY",
    "MAX_CONNECTIONS",
    "REQUEST_TIMEOUT",
]

log = logging.getLogger("libnet.plugin")

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


class Handler(BaseHTTPRequestHandler):
    """One connection: HTTP/1.1 requests, each a plugin method call."""

    protocol_version = "HTTP/1.1"
    server_version = f"libnet-plugin/{__version__}"
    server: Server  # type: ignore[assignment]

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


class Server(socketserver.ThreadingMixIn):
    """What both servers share: the service, limits, quiet errors, closable connections."""

    daemon_threads = True
    block_on_close = False
    service: PluginService
    max_body: int = MAX_BODY
    connection_timeout: float = CONNECTION_TIMEOUT
    request_timeout: float = REQUEST_TIMEOUT
    handshake_timeout: float = HANDSHAKE_TIMEOUT
    tls: ssl.SSLContext | None = None

    def setup_plugin(
        self, service: PluginService, limits: Limits, tls: ssl.SSLContext | None = None
    ) -> None:
        self.service = service
        self.max_body = limits.max_body
        self.connection_timeout = limits.connection_timeout
        self.request_timeout = limits.request_timeout
        self.handshake_timeout = limits.handshake_timeout
        self.tls = tls
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        self._active: set[socket.socket] = set()
        self._active_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve the connection in a thread of its own, or refuse it when all slots are taken."""
        if not self._slots.acquire(blocking=False):
            if self.tls is None:  # over TLS, an answer would need a handshake: just close
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
        conn = request
        if self.tls is not None:
            try:
                conn = wrap(request, self.tls)
            except OSError as exc:
                log.debug("TLS with %s failed: %s", client_address, exc)
                return
        with self._active_lock:
            self._active.add(conn)
        try:
            if conn is request or self._handshake(conn, client_address):
                super().finish_request(conn, client_address)  # type: ignore[misc]
        finally:
            with self._active_lock:
                self._active.discard(conn)
            if conn is not request:  # the TLS socket took over the connection
                conn.close()

    def _handshake(self, conn: ssl.SSLSocket, client_address: Any) -> bool:
        """Complete the TLS handshake within its deadline; False if it failed (the client
        told why where it can: a TLS alert, or an answer to plain HTTP)."""
        try:
            finish_handshake(conn, self.handshake_timeout)
            return True
        except ssl.SSLError as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
            if exc.reason == "HTTP_REQUEST":
                _refuse(
                    conn,
                    "400 Bad Request",
                    "this plugin speaks TLS: its address must be https://, which is what "
                    "Docker speaks TLS to (not tcp://)",
                )
            linger(conn)
        except OSError as exc:
            log.debug("TLS handshake with %s failed: %s", client_address, exc)
        return False

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection from %s ended with an error", client_address or "unix", exc_info=True)

    def close_connections(self) -> None:
        """Shut down the connections still open, so their threads end."""
        with self._active_lock:
            active = list(self._active)
        for conn in active:
            with contextlib.suppress(OSError):
                # socket's own shutdown: a TLS socket's would drop its TLS state under
                # the thread still using it
                socket.socket.shutdown(conn, socket.SHUT_RDWR)


def _refuse(
    conn: socket.socket,
    status: str = "503 Service Unavailable",
    message: str = "too many connections to the plugin; try again",
) -> None:
    """Answer ``status`` (JSON) on a connection, without reading it: one over the limit,
    or plain HTTP sent to TLS (written on the socket itself, outside TLS)."""
    data = api.encode(api.error_body(message))
    head = (
        f"HTTP/1.1 {status}\r\n"
        f"Content-Type: {api.CONTENT_TYPE}\r\nContent-Length: {len(data)}\r\n"
        "Connection: close\r\n\r\n"
    )
    with contextlib.suppress(OSError):
        conn.settimeout(1.0)
        socket.socket.sendall(conn, head.encode() + data)


@dataclass(frozen=True)
class Limits:
    """What one client may take of the server."""

    max_body: int = MAX_BODY
    connection_timeout: float = CONNECTION_TIMEOUT
    request_timeout: float = REQUEST_TIMEOUT
    max_connections: int = MAX_CONNECTIONS
    handshake_timeout: float = HANDSHAKE_TIMEOUT


class UnixServer(Server, socketserver.UnixStreamServer):
    pass


class TcpServer(Server, socketserver.TCPServer):
    allow_reuse_address = True

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept with Nagle's algorithm off: an answer's head and body are two writes, and
        the body would otherwise wait for the client's delayed ACK (about 40 ms)."""
        conn, address = super().get_request()
        with contextlib.suppress(OSError):
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, address


class Tcp6Server(TcpServer):
    address_family = socket.AF_INET6
