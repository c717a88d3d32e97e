"""The HTTP client of etcd's JSON gateway (``/v3/``), with failover between members.

The standard library is enough: one ``http.client`` connection per thread and member,
JSON in and out, keys and values in base64. The gateway leaves out proto3 defaults (zero
numbers, false booleans, empty lists) and sends int64 values as strings; :func:`num` and
:func:`flag` read them so.

A call goes to the member that answered last; when it cannot be reached, or says it has no
leader, the next member is tried, round and round with a short backoff, until the call's
timeout. A request that was never sent is always safe to repeat; one that was sent but got
no answer is repeated only when the caller says it is idempotent, else the caller learns
that its outcome is unknown.
"""

from __future__ import annotations

import base64
import http.client
import json
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

from libnet.errors import (
    StoreError,
    StoreLimitError,
    StoreOutcomeUnknownError,
    StoreUnavailableError,
)
from libnet.store.etcdurl import EtcdConfig

__all__ = ["Gateway", "b64", "flag", "num", "unb64"]

Json = dict[str, Any]

MAX_REQUEST_BYTES = 1536 * 1024
"""etcd's default ``--max-request-bytes`` (1.5 MiB)."""
MAX_TXN_OPS = 128
"""etcd's default ``--max-txn-ops``: compares, and operations of each branch, per transaction."""

_BACKOFF = (0.02, 0.05, 0.1, 0.2, 0.3)
# A member without a leader refuses a call before proposing anything: trying another member
# is safe. Any other unavailability may come after a proposal was made: the call is treated
# as lost (repeated if idempotent; else its caller checks whether it applied).
_UNAVAILABLE = 14
_RETRY_SAFE = ("no leader", "not capable")
_AMBIGUOUS = ("request timed out", "leader changed", "server stopped", "shutting down")
_AUTH_RETRY = ("invalid auth token", "user name is empty")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def num(obj: Mapping[str, Any], name: str) -> int:
    """An int64 field: a string on the wire, absent when zero."""
    return int(obj.get(name) or 0)


def flag(obj: Mapping[str, Any], name: str) -> bool:
    """A bool field: absent when false."""
    return bool(obj.get(name, False))


class _Lost(Exception):
    """The request was sent, and no answer came: it may have been applied."""


class _Unsent(Exception):
    """The request did not reach a member (or a member refused it before acting)."""


class Gateway:
    """Calls on one etcd cluster's gateway; thread-safe (a connection per thread)."""

    def __init__(self, config: EtcdConfig) -> None:
        self.config = config
        self._current = 0  # index of the member that answered last
        self._local = threading.local()
        self._token: str | None = None
        self._token_lock = threading.RLock()
        self._ssl = _ssl_context(config) if config.tls else None
        self._closed = False
        self._open: set[http.client.HTTPConnection] = set()  # every thread's, for close()
        self._open_lock = threading.Lock()

    @property
    def where(self) -> str:
        """The endpoints, for messages."""
        return ", ".join(f"{host}:{port}" for host, port in self.config.endpoints)

    def close(self) -> None:
        """Close every thread's connections; later calls fail with StoreError."""
        self._closed = True
        with self._open_lock:
            conns, self._open = self._open, set()
        for conn in conns:
            conn.close()

    def forget_thread(self) -> None:
        """Close the calling thread's connections (a thread that is about to end)."""
        for index in list(self._connections()):
            self._drop(index)

    # Calls.

    def call(
        self, path: str, body: Json, *, idempotent: bool = True, timeout: float | None = None
    ) -> Json:
        """POST ``body`` to ``/v3/PATH`` and return the decoded answer.

        Raises StoreUnavailableError when no member answered within the timeout,
        StoreOutcomeUnknownError when a non-idempotent request was sent and its answer lost,
        StoreLimitError for etcd's size and operation limits, StoreError for other refusals.
        """
        payload = json.dumps(body, separators=(",", ":")).encode()
        budget = self.config.timeout if timeout is None else timeout
        deadline = time.monotonic() + budget
        endpoints = self.config.endpoints
        attempt = 0
        last = "no member tried"
        while True:
            if self._closed:
                raise StoreError(f"the etcd store at {self.where} is closed")
            index = (self._current + attempt) % len(endpoints)
            remaining = deadline - time.monotonic()
            try:
                answer = self._post(index, path, payload, max(remaining, 0.05))
            except _Unsent as e:
                last = f"{_name(endpoints[index])}: {e}"
            except _Lost as e:
                last = f"{_name(endpoints[index])}: {e}"
                if not idempotent:
                    raise StoreOutcomeUnknownError(
                        f"the etcd member {_name(endpoints[index])} took a write and then "
                        f"failed ({e}); the write may or may not have been applied: read "
                        "the keys concerned, then retry"
                    ) from None
            else:
                self._current = index
                return answer
            attempt += 1
            delay = _BACKOFF[min(attempt // len(endpoints), len(_BACKOFF) - 1)]
            if time.monotonic() + delay >= deadline:
                raise StoreUnavailableError(
                    f"no etcd member answered within {budget:g} s (endpoints {self.where}; "
                    f"last error: {last}); check that etcd is running and reachable, then retry"
                )
            if attempt % len(endpoints) == 0:
                time.sleep(delay)

    def stream(self, path: str, body: Json, timeout: float) -> Iterator[Json]:
        """POST to a streaming method and yield its messages until ``timeout`` passes.

        A dedicated connection serves the stream and is closed at the end. Returns quietly
        when the time is up or the member goes away; the caller re-checks what it waited for.
        """
        host, port = self.config.endpoints[self._current % len(self.config.endpoints)]
        conn = self._connect(host, port, max(timeout, 0.05))
        try:
            conn.request("POST", f"/v3/{path}", json.dumps(body), self._headers())
            response = conn.getresponse()
            if response.status != 200:
                return
            while True:
                line = response.readline()
                if not line:
                    return
                if line.strip():
                    message = json.loads(line)
                    yield message.get("result") or {}
        except (OSError, http.client.HTTPException, ValueError):
            return
        finally:
            conn.close()

    def open_stream(
        self, index: int, path: str, body: Json, timeout: float
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
        """A dedicated connection to member ``index`` with a streaming call sent on it: the
        caller reads the response's lines and closes the connection. OSError (or
        HTTPException) when the member cannot be reached or refuses the call."""
        host, port = self.config.endpoints[index % len(self.config.endpoints)]
        conn = self._connect(host, port, max(timeout, 0.05))
        try:
            if self.config.user and self._token is None:
                self._authenticate(index % len(self.config.endpoints), timeout)
            conn.request("POST", f"/v3/{path}", json.dumps(body), self._headers())
            response = conn.getresponse()
            if response.status != 200:
                raise OSError(f"HTTP {response.status} from {_name((host, port))}")
        except BaseException:
            conn.close()
            raise
        return conn, response

    # One attempt.

    def _post(self, index: int, path: str, payload: bytes, timeout: float) -> Json:
        conn = self._connection(index, timeout)
        sent = False
        try:
            conn.request("POST", f"/v3/{path}", payload, self._headers())
            sent = True
            response = conn.getresponse()
            data = response.read()
        except ssl.SSLCertVerificationError as e:
            self._drop(index)
            raise StoreError(
                f"cannot verify the TLS certificate of etcd member "
                f"{_name(self.config.endpoints[index])}: {e.verify_message}; give the CA that "
                "signed it with the ca= option of the store URL"
            ) from None
        except (OSError, http.client.HTTPException) as e:
            self._drop(index)
            reason = _describe(e)
            if sent and not isinstance(e, ConnectionRefusedError):
                raise _Lost(reason) from None
            raise _Unsent(reason) from None
        try:
            answer: Json = json.loads(data) if data else {}
        except ValueError:
            self._drop(index)
            raise _Unsent(f"answered HTTP {response.status} with no JSON") from None
        if response.status == 200 and "error" not in answer:
            return answer
        return self._refusal(index, response.status, answer, path, payload, timeout)

    def _refusal(
        self, index: int, status: int, answer: Json, path: str, payload: bytes, timeout: float
    ) -> Json:
        message = str(answer.get("message") or answer.get("error") or f"HTTP {status}")
        code = num(answer, "code")
        text = message.lower()
        if "too many operations in txn" in text:
            raise StoreLimitError(
                f"etcd refused a transaction of more than {MAX_TXN_OPS} operations "
                "(its --max-txn-ops): split the change into smaller transactions"
            )
        if "request is too large" in text:
            raise StoreLimitError(
                f"etcd refused a request of more than {MAX_REQUEST_BYTES // 1024} KiB "
                "(its --max-request-bytes): store smaller values"
            )
        if any(word in text for word in _AUTH_RETRY):
            if not self.config.user:
                raise StoreError(
                    f"etcd at {self.where} requires authentication ({message}): put "
                    "USER:PASSWORD@ in the store URL, or user= and password= options"
                )
            self._authenticate(index, timeout)
            return self._post(index, path, payload, timeout)
        if "authentication failed" in text:
            raise StoreError(
                f"etcd at {self.where} refused user {self.config.user!r}: {message}; "
                "check the user and password in the store URL"
            )
        if any(word in text for word in _RETRY_SAFE):
            raise _Unsent(message)
        if code == _UNAVAILABLE or any(word in text for word in _AMBIGUOUS):
            raise _Lost(message)
        raise StoreError(f"etcd at {_name(self.config.endpoints[index])} refused: {message}")

    # Connections and authentication.

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = self._token
        return headers

    def _authenticate(self, index: int, timeout: float) -> None:
        with self._token_lock:
            body = {"name": self.config.user, "password": self.config.password}
            self._token = None
            answer = self._post(index, "auth/authenticate", json.dumps(body).encode(), timeout)
            token = answer.get("token")
            if not token:
                raise StoreError(f"etcd at {self.where} gave no token to user {self.config.user!r}")
            self._token = str(token)

    def _connections(self) -> dict[int, http.client.HTTPConnection]:
        conns: dict[int, http.client.HTTPConnection] | None = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        return conns

    def _connection(self, index: int, timeout: float) -> http.client.HTTPConnection:
        conns = self._connections()
        conn = conns.get(index)
        if conn is not None and conn.sock is not None and _dropped(conn.sock):
            self._drop(index)  # the member closed it (restarted, idle): not worth a lost write
            conn = None
        if conn is None:
            host, port = self.config.endpoints[index]
            conn = conns[index] = self._connect(host, port, timeout)
            with self._open_lock:
                self._open.add(conn)
            if self.config.user and self._token is None:
                self._authenticate(index, timeout)
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _connect(self, host: str, port: int, timeout: float) -> http.client.HTTPConnection:
        if self._ssl is not None:
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=self._ssl)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _drop(self, index: int) -> None:
        conn = self._connections().pop(index, None)
        if conn is not None:
            with self._open_lock:
                self._open.discard(conn)
            conn.close()


def _ssl_context(config: EtcdConfig) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=config.ca_file)
        if config.cert_file:
            context.load_cert_chain(config.cert_file, config.key_file)
    except (OSError, ssl.SSLError) as e:
        raise StoreError(f"cannot load the etcd TLS files of {config.url}: {e}") from e
    return context


def _dropped(sock: socket.socket) -> bool:
    """Whether an idle connection's socket has been closed by its peer (it reads as ready)."""
    try:
        ready, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(ready)


def _name(endpoint: tuple[str, int]) -> str:
    host, port = endpoint
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _describe(error: BaseException) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    return str(error) or type(error).__name__
