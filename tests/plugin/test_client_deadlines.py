"""The Docker plugin client against plugins that answer slowly or not whole."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import libnet
from libnet.dockerplugin.client import PluginClient
from libnet.dockerplugin.discovery import PluginAddress
from libnet.errors import PluginProtocolError, PluginTimeoutError

Answer = Callable[[socket.socket], None]


@pytest.fixture
def scripted(scripted_socket: Callable[[str, Answer], Path]) -> Callable[..., PluginClient]:
    """``scripted(answer, timeout=1.0)``: a client of a plugin that reads a request, then
    runs ``answer(conn)`` on the connection."""
    made: list[int] = []

    def start(answer: Answer, timeout: float = 1.0) -> PluginClient:
        made.append(1)
        path = scripted_socket(f"p{len(made)}", answer)
        return PluginClient(
            PluginAddress("p", f"unix://{path}", path), timeout=timeout, retry_budget=0
        )

    return start


def test_an_answer_trickled_past_the_timeout_fails_within_the_timeout(
    scripted: Callable[..., PluginClient],
) -> None:
    def trickle(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n")
        for _ in range(100):  # a byte every 0.2 s: each wait is short, the whole is not
            conn.sendall(b" ")
            time.sleep(0.2)

    client = scripted(trickle, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(PluginTimeoutError, match=r"within 1 s"):
        client.call("NetworkDriver.GetCapabilities")
    assert time.monotonic() - started < 2.0


def test_an_answer_shorter_than_its_content_length_is_refused(
    scripted: Callable[..., PluginClient],
) -> None:
    def short(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}")

    client = scripted(short)
    with pytest.raises(PluginProtocolError, match=r"middle of its answer.*2 of the 100 bytes"):
        client.call("NetworkDriver.GetCapabilities")


def test_a_whole_answer_on_time_is_read(scripted: Callable[..., PluginClient]) -> None:
    def whole(conn: socket.socket) -> None:
        body = b'{"Scope":"local"}'
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
        time.sleep(0.3)
        conn.sendall(body)

    client = scripted(whole)
    assert client.call("NetworkDriver.GetCapabilities") == {"Scope": "local"}


def test_the_plugin_timeout_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, plugin_dir: Path
) -> None:
    silent = socket.socket(socket.AF_UNIX)
    silent.bind(str(plugin_dir / "silent.sock"))
    silent.listen()  # never accepted
    monkeypatch.setenv("LIBNET_PLUGIN_DIRS", str(plugin_dir))
    monkeypatch.setenv("LIBNET_PLUGIN_TIMEOUT", "0.3")
    try:
        with (
            libnet.Controller() as c,
            pytest.raises(libnet.UnknownDriverError, match=r"within 0.3 s"),
        ):
            c.new_network("silent", "n1")
    finally:
        silent.close()


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf"])
def test_a_bad_plugin_timeout_in_the_environment_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("LIBNET_PLUGIN_TIMEOUT", value)
    with pytest.raises(libnet.InvalidOptionError, match="LIBNET_PLUGIN_TIMEOUT"):
        libnet.Controller()
