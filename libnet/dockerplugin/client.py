"""Talking to a Docker plugin: HTTP over a unix socket or TCP, with timeouts and retries.

:class:`PluginClient` posts ``/<Interface>.<Method>`` with a JSON body (empty for calls
without arguments) and ``Accept: application/vnd.docker.plugins.v1.2+json``, as the
engine does, and decodes the answer with Docker's rules: a non-200 answer is an error
(``Err``, or IPAM's ``Error``, else the body), so is a 200 answer with a non-empty
``Err``/``Error`` and an empty 200 body; the body ``null`` is success; a 404 is success
only where the caller allows it.

Every call has a timeout (default 30 s) that bounds the whole call: sending, and the
full answer, however slowly it trickles in (over TLS too), so a hung plugin never hangs
the host. A plugin on ``https://`` (or ``tcp://`` with a ``TLSConfig``) is reached over TLS
with its spec's settings; a failed handshake is an error naming the plugin, the reason
and the spec file, never retried. Only failures to connect
are retried (backoff from 50 ms, doubling, at most 1 s apart) within a total budget
(:data:`RETRY_BUDGET`, or the timeout if shorter); a request that reached the plugin is
never sent twice, except on a kept-alive connection the plugin had closed before reading
it. A plugin that is not found is never contacted at all.

:class:`DockerPlugin` adds activation (``/Plugin.Activate``) and restart detection.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import logging
import os
import socket
import ssl
import stat
import threading
import time
from typing import Any

from libnet.dockerplugin import api
from libnet.dockerplugin.discovery import PluginAddress
from libnet.errors import (
    PluginCallError,
    PluginError,
    PluginProtocolError,
    PluginTimeoutError,
    PluginUnavailableError,
)
from libnet.registry import DriverOrigin

__all__ = [
    "DEFAULT_TIMEOUT",
    "RETRY_BUDGET",
    "DockerPlugin",
    "PluginCallError",
    "PluginClient",
    "PluginError",
    "PluginProtocolError",
    "PluginTimeoutError",
    "PluginUnavailableError",
]

log = logging.getLogger("libnet.plugins")

wait_log = logging.getLogger("libnet.plugins.wait")
"""Says what a call still waiting after :data:`NOTICE_AFTER` seconds waits for, at INFO
level; silent unless enabled (``libnet`` enables it when standard error is a terminal)."""

NOTICE_AFTER = 1.0

DEFAULT_TIMEOUT = 30.0
"""Seconds a plugin has to answer one call."""

RETRY_BUDGET = 3.0
"""Seconds spent at most retrying connections for one call (capped by the timeout)."""

MAX_REPLY = 16 << 20
"""Largest answer read from a plugin."""

UNIX_HOST = "plugin.moby.localhost"
"""The ``Host`` header of requests over a unix socket, as the engine sends it."""

_RETRYABLE = {
    errno.ECONNREFUSED,
    errno.ENOENT,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.ETIMEDOUT,
    errno.EAGAIN,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
}
_STALE = (
    ConnectionResetError,
    BrokenPipeError,
    ConnectionAbortedError,
    http.client.RemoteDisconnected,
)


class _DeadlineSocket(socket.socket):
    """A socket whose sends and receives give up at ``deadline`` (monotonic), if set.

    A socket timeout bounds one wait; a plugin answering a byte at a time would meet each
    one and still take forever. Each wait here is cut to the time left for the whole call.
    """

    deadline: float | None = None

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        _cut(self, self.deadline)
        return super().recv_into(buffer, nbytes, flags)

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        _cut(self, self.deadline)
        return super().recv(bufsize, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        _cut(self, self.deadline)
        super().sendall(data, flags)

    @classmethod
    def adopt(cls, sock: socket.socket) -> _DeadlineSocket:
        """The same connection as ``sock``, as a _DeadlineSocket (``sock`` is spent)."""
        timeout = sock.gettimeout()
        new = cls(sock.family, sock.type, sock.proto, fileno=sock.detach())
        new.settimeout(timeout)
        return new


class _DeadlineSSLSocket(ssl.SSLSocket):
    """A TLS socket whose sends and receives give up at ``deadline``, as above."""

    deadline: float | None = None

    def recv_into(self, buffer: Any, nbytes: int | None = None, flags: int = 0) -> int:
        _cut(self, self.deadline)
        return super().recv_into(buffer, nbytes, flags)

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        _cut(self, self.deadline)
        return super().recv(buflen, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        _cut(self, self.deadline)
        super().sendall(data, flags)


def _cut(sock: socket.socket, deadline: float | None) -> None:
    """Cut the socket's next wait to the time left before ``deadline``, if set."""
    if deadline is not None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the call took longer than its timeout")
        sock.settimeout(remaining)


class _UnixConnection(http.client.HTTPConnection):
    """An HTTP connection over a unix socket, with the engine's Host header."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__(UNIX_HOST, timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = _DeadlineSocket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class _TcpConnection(http.client.HTTPConnection):
    """A plain TCP connection whose calls are bounded as a whole."""

    def connect(self) -> None:
        super().connect()
        self.sock = _DeadlineSocket.adopt(self.sock)


def _is_socket(path: str) -> bool | None:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return None


class PluginClient:
    """HTTP calls to one plugin, on kept-alive connections, thread-safe.

    ``connect_attempts`` and ``connect_failures`` count connection attempts; a failure to
    connect (or a kept-alive connection found closed) also sets ``interrupted``, which
    :class:`DockerPlugin` reads to notice that a TCP plugin may have restarted.
    """

    def __init__(
        self,
        address: PluginAddress,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry_budget: float | None = None,
    ) -> None:
        self.address = address
        self.timeout = timeout
        self.retry_budget = min(RETRY_BUDGET, timeout) if retry_budget is None else retry_budget
        self.connect_attempts = 0
        self.connect_failures = 0
        self.interrupted = False
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self._ssl = address.ssl_context()
        if self._ssl is not None:
            self._ssl.sslsocket_class = _DeadlineSSLSocket

    @property
    def name(self) -> str:
        return self.address.name

    def _where(self) -> str:
        return self.address.url

    def _new(self) -> http.client.HTTPConnection:
        addr = self.address
        path = addr.socket_path
        if path is not None:
            return _UnixConnection(str(path), self.timeout)
        rest = addr.url.split("://", 1)[1].split("/", 1)[0]
        if self._ssl is not None:
            return http.client.HTTPSConnection(rest, timeout=self.timeout, context=self._ssl)
        return _TcpConnection(rest, timeout=self.timeout)

    def _tls_failed(self, exc: ssl.SSLError, during: str) -> PluginUnavailableError:
        """The error for a TLS failure: what failed, and the file that sets TLS up."""
        reason = exc.reason or str(exc)
        if isinstance(exc, ssl.SSLCertVerificationError):
            reason = f"certificate verify failed: {exc.verify_message}"
        hint = {
            "TLSV13_ALERT_CERTIFICATE_REQUIRED": "the plugin requires a client certificate: "
            "set TLSConfig.CertFile and KeyFile",
            "SSLV3_ALERT_BAD_CERTIFICATE": "the plugin refused the client certificate",
            "TLSV1_ALERT_UNKNOWN_CA": "the plugin does not trust the client certificate's CA",
            "WRONG_VERSION_NUMBER": "the plugin does not speak TLS",
        }.get(str(exc.reason), "")
        if self.address.scheme == "tcp":
            hint += (
                "; note that Docker speaks plain HTTP to a tcp:// address, TLSConfig or not: "
                "write https:// for TLS"
            )
        return PluginUnavailableError(
            self.name,
            f"Docker plugin {self.name!r} at {self._where()}: TLS failed {during} "
            f"({reason}){'; ' + hint.lstrip('; ') if hint else ''}; its TLS settings come "
            f"from {self.address.source}",
        )

    def _attempt(self, conn: http.client.HTTPConnection) -> OSError | None:
        """Connect ``conn``: None, or the failure (a TLS failure other than a connection
        closed during the handshake, as when the plugin is busy, is raised at once)."""
        try:
            conn.connect()
        except ssl.SSLEOFError as exc:
            return ConnectionAbortedError(
                errno.ECONNABORTED, f"closed during the TLS handshake ({exc.reason})"
            )
        except ssl.SSLError as exc:
            conn.close()
            self.connect_failures += 1
            raise self._tls_failed(exc, "in the handshake") from exc
        except OSError as exc:
            return exc
        return None

    def _connect(self) -> http.client.HTTPConnection:
        """A new connected connection, retrying connection failures within the budget."""
        started = time.monotonic()
        deadline = started + self.retry_budget
        delay = 0.05
        attempts = 0
        while True:
            conn = self._new()
            attempts += 1
            self.connect_attempts += 1
            exc = self._attempt(conn)
            if exc is None:
                return conn
            conn.close()
            self.connect_failures += 1
            self.interrupted = True
            path = self.address.socket_path
            if path is not None and _is_socket(str(path)) is False:
                raise PluginUnavailableError(
                    self.name,
                    f"Docker plugin {self.name!r}: {path} is not a socket; remove it or "
                    "fix the plugin's spec file",
                ) from exc
            retryable = isinstance(exc, (TimeoutError, socket.gaierror)) or (
                exc.errno in _RETRYABLE
            )
            now = time.monotonic()
            if not retryable or now + delay > deadline:
                raise PluginUnavailableError(
                    self.name,
                    f"Docker plugin {self.name!r} at {self._where()} does not accept "
                    f"connections ({exc.strerror or exc}); gave up after {attempts} "
                    f"attempt{'s' if attempts > 1 else ''} in {now - started:.2f} s",
                ) from exc
            log.debug("plugin %s: connection failed (%s), retrying", self.name, exc)
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._connect(), False

    def _give_back(self, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            if len(self._idle) < 4:
                self._idle.append(conn)
                return
        conn.close()

    def reset(self) -> None:
        """Close the kept-alive connections (after the plugin restarted)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    close = reset

    def _exchange(
        self, conn: http.client.HTTPConnection, path: str, data: bytes
    ) -> tuple[int, bytes]:
        sock = conn.sock
        if isinstance(sock, (_DeadlineSocket, _DeadlineSSLSocket)):
            sock.deadline = time.monotonic() + self.timeout
        try:
            conn.request("POST", path, body=data, headers={"Accept": api.ACCEPT})
            resp = conn.getresponse()
            payload = resp.read(MAX_REPLY + 1)
        finally:
            if isinstance(sock, (_DeadlineSocket, _DeadlineSSLSocket)):
                sock.deadline = None
        if len(payload) > MAX_REPLY:
            conn.close()
            raise PluginProtocolError(
                self.name,
                f"Docker plugin {self.name!r} answered {path[1:]} with more than {MAX_REPLY} bytes",
            )
        announced = resp.getheader("Content-Length", "")
        if announced.isdigit() and len(payload) < int(announced):
            conn.close()
            self.interrupted = True
            raise PluginProtocolError(
                self.name,
                f"Docker plugin {self.name!r} at {self._where()} closed the connection in the "
                f"middle of its answer to {path[1:]}: {len(payload)} of the {announced} bytes "
                "it announced arrived",
            )
        if resp.will_close:
            conn.close()
        else:
            self._give_back(conn)
        return resp.status, payload

    def call(self, method: str, body: Any = None, *, ok_404: bool = False) -> Any:
        """Call ``method`` (``"NetworkDriver.Join"``) with a JSON body (None: empty body).

        Returns the decoded answer: a dict, or None for ``null`` (and an allowed 404).
        """
        path = "/" + method
        data = b"" if body is None else api.encode(body)
        notice = self._notice(method)
        try:
            return self._call(method, path, data, ok_404)
        finally:
            if notice is not None:
                notice.cancel()

    def _notice(self, method: str) -> threading.Timer | None:
        """A timer saying what the call waits for, if it still waits after a while."""
        if not wait_log.isEnabledFor(logging.INFO):
            return None
        timer = threading.Timer(
            NOTICE_AFTER,
            wait_log.info,
            (
                "waiting for Docker plugin %r at %s to answer %s (gives up after %g s)",
                self.name,
                self._where(),
                method,
                self.timeout,
            ),
        )
        timer.daemon = True
        timer.start()
        return timer

    def _call(self, method: str, path: str, data: bytes, ok_404: bool) -> Any:
        conn, reused = self._take()
        try:
            try:
                status, payload = self._exchange(conn, path, data)
            except _STALE:
                if not reused:
                    raise
                conn.close()  # the plugin closed the kept-alive connection: once more
                conn = self._connect()
                status, payload = self._exchange(conn, path, data)
        except PluginError:
            raise
        except ssl.SSLError as exc:  # TLS 1.3: a refused client certificate shows here
            conn.close()
            self.interrupted = True
            raise self._tls_failed(exc, f"calling {method}") from exc
        except TimeoutError as exc:
            conn.close()
            raise PluginTimeoutError(
                self.name,
                f"Docker plugin {self.name!r} at {self._where()} did not answer {method} "
                f"within {self.timeout:g} s (the plugin timeout)",
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            self.interrupted = True
            what = (
                "answered with something that is not HTTP"
                if isinstance(exc, http.client.HTTPException)
                and not isinstance(exc, http.client.RemoteDisconnected)
                else "closed the connection without answering"
            )
            raise PluginProtocolError(
                self.name,
                f"Docker plugin {self.name!r} at {self._where()} {what} to {method} ({exc!r})",
            ) from exc
        log.debug("plugin %s: %s -> %d", self.name, method, status)
        return self._decode(method, status, payload, ok_404)

    def _decode(self, method: str, status: int, payload: bytes, ok_404: bool) -> Any:
        if status == 404 and ok_404:
            return None
        if status != 200:
            message: str | None = None
            with contextlib.suppress(api.WireError):
                message = api.error_message(api.decode(payload))
            if message is None:
                text = payload.decode(errors="replace").strip()[:500]
                message = f"HTTP {status}" + (f": {text}" if text else "")
            raise PluginCallError(self.name, method, status, message, self._where())
        if not payload.strip():
            raise PluginProtocolError(
                self.name,
                f"Docker plugin {self.name!r} at {self._where()} answered {method} with an "
                "empty body",
            )
        try:
            value = api.decode(payload)
        except api.WireError as exc:
            raise PluginProtocolError(
                self.name,
                f"Docker plugin {self.name!r} at {self._where()} answered {method} with a "
                f"body that is not JSON: {payload[:80]!r}",
            ) from exc
        message = api.error_message(value)
        if message:
            raise PluginCallError(self.name, method, status, message, self._where())
        if value is not None and not isinstance(value, dict):
            raise PluginProtocolError(
                self.name,
                f"Docker plugin {self.name!r} at {self._where()} answered {method} with "
                f"{payload[:80]!r}, which is not a JSON object",
            )
        return value


class DockerPlugin:
    """One Docker plugin: its client, its manifest, and whether it restarted.

    A plugin on a unix socket restarted when the socket file is another one than at
    activation (another inode or change time: inode numbers are reused); a plugin on TCP
    is taken to have restarted when a connection to it failed and a later one succeeded.
    """

    def __init__(
        self,
        address: PluginAddress,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retry_budget: float | None = None,
    ) -> None:
        self.address = address
        self.client = PluginClient(address, timeout=timeout, retry_budget=retry_budget)
        self.origin = DriverOrigin("docker-plugin", address=address.url)
        self.implements: tuple[str, ...] = ()
        self.activations = 0
        self._identity: tuple[int, int, int] | None = None
        self._lock = threading.RLock()

    @property
    def name(self) -> str:
        return self.address.name

    def _socket_identity(self) -> tuple[int, int, int] | None:
        path = self.address.socket_path
        if path is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        return (st.st_dev, st.st_ino, st.st_ctime_ns)

    def activate(self) -> tuple[str, ...]:
        """POST /Plugin.Activate; remember the manifest and the socket's identity."""
        with self._lock:
            self.client.reset()
            reply = self.client.call("Plugin.Activate")
            try:
                manifest = api.ActivateResponse.from_json(reply)
            except api.WireError as exc:
                raise PluginProtocolError(
                    self.name, f"Docker plugin {self.name!r} at {self.address.url}: {exc}"
                ) from exc
            self.implements = manifest.implements
            self._identity = self._socket_identity()
            self.client.interrupted = False
            self.activations += 1
            log.info(
                "activated Docker plugin %s at %s: %s", self.name, self.address.url, self.implements
            )
            return self.implements

    def require(self, interface: str) -> None:
        """Raise PluginError unless the manifest lists ``interface``."""
        if interface not in self.implements:
            raise PluginError(
                self.name,
                f"Docker plugin {self.name!r} at {self.address.url}: Plugin does not "
                f"implement the requested driver ({interface}; it implements "
                f"{', '.join(self.implements) or 'nothing'})",
            )

    def restarted(self) -> bool:
        """Whether the plugin seems to have restarted since it was activated."""
        if self.address.socket_path is not None:
            now = self._socket_identity()
            return now is not None and self._identity is not None and now != self._identity
        return self.client.interrupted

    def call(self, method: str, body: Any = None, *, ok_404: bool = False) -> Any:
        return self.client.call(method, body, ok_404=ok_404)
