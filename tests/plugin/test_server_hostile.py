"""`libnet serve` against hostile and unlucky clients: every answer is JSON, limits hold."""

from __future__ import annotations

import contextlib
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Served, post

ServeRecording = Callable[..., Served]

CREATE = b'{"NetworkID":"n1","Options":{},"IPv4Data":[],"IPv6Data":[]}'


def _connect(path: Path, timeout: float = 10.0) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    sock.connect(str(path))
    return sock


def _reply(sock: socket.socket) -> tuple[int, dict[str, object]] | None:
    """The status and JSON body of the one reply on ``sock``, or None if it closed silently."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        if not piece:
            return None
        data += piece
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    length = int(headers["Content-Length"])
    while len(body) < length:
        piece = sock.recv(65536)
        if not piece:
            break
        body += piece
    assert headers["Content-Type"] == "application/vnd.docker.plugins.v1+json", head
    return status, json.loads(body[:length])


def _exchange(path: Path, raw: bytes, *, end: bool = False) -> tuple[int, dict[str, object]] | None:
    """Send ``raw`` on a new connection (closing the sending side after it, with ``end``)
    and read the one reply."""
    with _connect(path) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)
            if end:
                sock.shutdown(socket.SHUT_WR)
        try:
            return _reply(sock)
        except ConnectionResetError:
            return None


def _request(method: str, body: bytes, headers: str = "") -> bytes:
    return (
        f"POST /{method} HTTP/1.1\r\nHost: plugin\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


@pytest.mark.parametrize("size", [b"-1", b"+5", b"0x10", b"1_0", b" ", b"fffffffff", b"\xff"])
def test_a_chunk_size_that_is_not_plain_hex_is_a_400(
    serve_recording: ServeRecording, size: bytes
) -> None:
    served = serve_recording()
    raw = (
        b"POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHost: p\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + size + b"\r\n" + b"x" * 4096
    )
    reply = _exchange(served.socket, raw)
    assert reply is not None
    status, body = reply
    assert status == 400 and "chunk size" in str(body["Err"])
    assert served.driver.methods() == []


def test_chunks_past_the_body_limit_are_a_413_without_reading_them(
    serve_recording: ServeRecording,
) -> None:
    served = serve_recording(max_body=1024)
    with _connect(served.socket) as sock:
        sock.sendall(
            b"POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHost: p\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n400\r\n" + b"x" * 1024 + b"\r\n1\r\n"
        )
        reply = _reply(sock)
    assert reply is not None and reply[0] == 413


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GARBAGE\r\n\r\n", 400),
        (b"FOO /NetworkDriver.CreateNetwork HTTP/1.1\r\n\r\n", 501),
        (b"OPTIONS /NetworkDriver.CreateNetwork HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405),
        (b"PATCH /Nope HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 404),
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
        (
            b"POST /NetworkDriver.CreateNetwork HTTP/1.1\r\n"
            + b"".join(b"X-%d: y\r\n" % i for i in range(150))
            + b"\r\n",
            431,
        ),
    ],
)
def test_errors_of_the_http_layer_are_json(
    serve_recording: ServeRecording, raw: bytes, status: int
) -> None:
    served = serve_recording()
    reply = _exchange(served.socket, raw)
    assert reply is not None
    assert reply[0] == status
    assert isinstance(reply[1]["Err"], str) and reply[1]["Err"]


def test_json_nested_too_deeply_is_a_400_with_no_traceback(
    serve_recording: ServeRecording, caplog: pytest.LogCaptureFixture
) -> None:
    served = serve_recording()
    caplog.set_level(logging.DEBUG, logger="libnet")
    deep = b"[" * 200_000 + b"]" * 200_000
    reply = _exchange(served.socket, _request("NetworkDriver.CreateNetwork", deep))
    assert reply is not None and reply[0] == 400
    # Python up to 3.12 stops reading at its recursion limit; 3.13 reads the array through
    # and the request is refused for its shape: a 400 with the reason, either way.
    err = str(reply[1]["Err"])
    assert "nested too deeply" in err or "must be a JSON object, not an array" in err
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_connections_over_the_cap_get_a_503_and_a_freed_slot_serves_again(
    serve_recording: ServeRecording,
) -> None:
    served = serve_recording(max_connections=3)
    idle = [_connect(served.socket) for _ in range(3)]
    try:
        time.sleep(0.2)  # the server has accepted them and given each a thread
        reply = _exchange(served.socket, _request("NetworkDriver.GetCapabilities", b"{}"))
        assert reply is not None and reply[0] == 503
        assert "too many connections" in str(reply[1]["Err"])
    finally:
        idle.pop().close()
    try:
        deadline = time.monotonic() + 5
        while True:
            reply = _exchange(served.socket, _request("NetworkDriver.GetCapabilities", b"{}"))
            if (reply is not None and reply[0] == 200) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert reply is not None and reply[0] == 200
    finally:
        for sock in idle:
            sock.close()


def test_a_body_trickled_past_the_request_timeout_is_cut_off(
    serve_recording: ServeRecording,
) -> None:
    served = serve_recording(request_timeout=1.0, connection_timeout=5.0)
    started = time.monotonic()
    with _connect(served.socket) as sock:
        sock.sendall(
            b"POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHost: p\r\nContent-Length: 100\r\n\r\n"
        )
        try:
            for _ in range(25):  # a byte every 0.2 s: each read is quick, the whole is not
                sock.sendall(b" ")
                time.sleep(0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        reply = _reply(sock)
    assert reply is not None and reply[0] == 408
    assert time.monotonic() - started < 10
    assert served.driver.methods() == []


def test_headers_trickled_past_the_request_timeout_close_the_connection(
    serve_recording: ServeRecording,
) -> None:
    served = serve_recording(request_timeout=1.0, connection_timeout=5.0)
    started = time.monotonic()
    closed = False
    with _connect(served.socket) as sock:
        try:
            for _ in range(50):
                sock.sendall(b"X")
                time.sleep(0.1)
                sock.settimeout(0.0)
                try:
                    if sock.recv(1) == b"":
                        closed = True
                        break
                except BlockingIOError:
                    pass
                finally:
                    sock.settimeout(10.0)
        except (BrokenPipeError, ConnectionResetError):
            closed = True
    assert closed and time.monotonic() - started < 4


def _malformed(rng: random.Random) -> bytes:
    """One request that is wrong in one of many ways."""
    method = rng.choice(["NetworkDriver.CreateNetwork", "IpamDriver.RequestPool", "Nope", ""])
    kind = rng.randrange(10)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))) + b"\r\n\r\n"
    if kind == 1:
        size = rng.choice([b"-1", b"zz", b"0x5", b"-0", b"99999999999"])
        head = f"POST /{method} HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        return head + size + b"\r\n"
    if kind == 2:
        return _request(method, b"{" * rng.randrange(1, 3000))
    if kind == 3:
        return _request(method, b'{"NetworkID": 5, "Options": [1]}')
    if kind == 4:
        verb = rng.choice(["PUT", "DELETE", "OPTIONS", "PATCH", "BREW"])
        return f"{verb} /{method} HTTP/1.1\r\n\r\n".encode()
    if kind == 5:
        return _request(method, b"", f"Content-Length: {rng.choice(['-5', 'x', '1e3'])}\r\n")
    if kind == 6:
        return b"POST /x HTTP/1.1\r\n" + b"H: v\r\n" * rng.randrange(101, 300) + b"\r\n"
    if kind == 7:
        return _request(method, b"[" * 4000 + b"]" * 4000)
    if kind == 8:
        return _request(method, json.dumps({"NetworkID": "\x00" * 50}).encode())
    return _request(method, b"null")


def _rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.mark.slow
def test_ten_thousand_malformed_requests_leave_the_server_up_and_answering(
    serve_recording: ServeRecording,
) -> None:
    served = serve_recording(request_timeout=2.0, connection_timeout=2.0)
    rng = random.Random(20261203)
    before = _rss_kib()
    deadline = time.monotonic() + 120
    sent = answered = 0
    while sent < 10_000 and time.monotonic() < deadline:
        reply = _exchange(served.socket, _malformed(rng), end=True)
        sent += 1
        if reply is not None:
            answered += 1
            status, body = reply
            assert status >= 400 or status == 200, (status, body)
            if status >= 400:
                assert isinstance(body.get("Err"), str) and body["Err"]
    assert sent == 10_000, f"only {sent} requests in the time allowed"
    assert answered > sent // 2
    assert _rss_kib() - before < 200 * 1024, "the server kept more than 200 MiB"
    assert threading.active_count() < 100
    started = time.monotonic()
    status, body, _ = post(served.socket, "NetworkDriver.GetCapabilities", {})
    assert status == 200 and body["Scope"] == "local"
    assert time.monotonic() - started < 1.0
