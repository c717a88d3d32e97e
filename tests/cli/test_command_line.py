"""Command-line habits of Docker users: options after the subcommand, bare groups, one
line per failure, and errors that say what is wrong."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .conftest import Libnet, clean_env, run

pytestmark = pytest.mark.slow


def test_global_options_are_accepted_after_the_subcommand(libnet: Libnet, tmp_path: Path) -> None:
    with libnet.api() as controller:
        controller.new_network("null", "none")
    state = str(libnet.state_dir)
    after = run("network", "ls", "-q", "--state-dir", state, "--debug", cwd=tmp_path).ok()
    before = run("--state-dir", state, "network", "ls", "-q", cwd=tmp_path).ok()
    assert after.stdout == before.stdout != ""


def test_an_option_after_the_subcommand_wins_over_the_one_before(
    libnet: Libnet, tmp_path: Path
) -> None:
    with libnet.api() as controller:
        controller.new_network("null", "none")
    other = tmp_path / "other"
    res = run("--state-dir", str(other), "network", "ls", "-q", "--state-dir",
              str(libnet.state_dir), cwd=tmp_path)  # fmt: skip
    assert len(res.lines()) == 1


@pytest.mark.parametrize("args", [(), ("network",), ("endpoint",), ("sandbox",), ("ipam",)])
def test_bare_command_or_group_prints_help_and_succeeds(
    args: tuple[str, ...], tmp_path: Path
) -> None:
    res = run(*args, cwd=tmp_path, env=clean_env(LIBNET_STATE_DIR=str(tmp_path / "s"))).ok()
    assert res.stdout.startswith(f"usage: libnet {' '.join(args)}".rstrip() + " ")
    assert "COMMAND" in res.stdout
    assert not (tmp_path / "s").exists()  # help touches no state


def test_failed_docker_plugin_is_reported_once(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "dead.spec").write_text(f"unix://{tmp_path}/missing.sock\n")
    env = clean_env(LIBNET_STATE_DIR=str(tmp_path / "s"), LIBNET_PLUGIN_DIRS=str(plugins))
    res = run("network", "create", "-d", "dead", "n", cwd=tmp_path, env=env)
    res.error("network type 'dead' is not available", "does not accept connections")


def test_plugin_timeout_bounds_a_call_to_a_silent_plugin(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    silent = socket.socket(socket.AF_UNIX)
    silent.bind(str(plugins / "silent.sock"))
    silent.listen()  # never accepted
    env = clean_env(LIBNET_STATE_DIR=str(tmp_path / "s"), LIBNET_PLUGIN_DIRS=str(plugins))
    try:
        started = time.monotonic()
        res = run("network", "create", "-d", "silent", "n", "--plugin-timeout", "0.5",
                  cwd=tmp_path, env=env)  # fmt: skip
        res.error("did not answer Plugin.Activate within 0.5 s")
        assert time.monotonic() - started < 10
    finally:
        silent.close()


@pytest.mark.parametrize("value", ["0", "-2", "soon", "inf"])
def test_a_plugin_timeout_that_is_not_positive_is_a_usage_error(value: str, tmp_path: Path) -> None:
    res = run("--plugin-timeout", value, "network", "ls", cwd=tmp_path)
    res.usage_error("--plugin-timeout", "positive number of seconds")


def _slow_plugin(plugins: Path, seconds: float) -> threading.Thread:
    """A plugin at ``plugins/slow.sock`` answering its first call after ``seconds``, with an
    error."""
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(plugins / "slow.sock"))
    server.listen()

    def answer() -> None:
        conn, _ = server.accept()
        with conn, server:
            conn.recv(65536)
            time.sleep(seconds)
            body = b'{"Err":"not today"}'
            conn.sendall(b"HTTP/1.1 500 Oops\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


def _on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run the command with standard error on a pseudo-terminal; what it wrote there."""
    main, other = os.openpty()
    try:
        argv = [sys.executable, "-m", "libnet", *args]
        proc = subprocess.run(
            argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=other, timeout=60, check=False
        )
        os.close(other)
        chunks = []
        with contextlib.suppress(OSError):
            while chunk := os.read(main, 65536):
                chunks.append(chunk)
    finally:
        os.close(main)
    assert proc.returncode == 1
    return b"".join(chunks).decode()


@pytest.mark.parametrize("terminal", [True, False])
def test_a_slow_plugin_call_says_what_it_waits_for_on_a_terminal(
    terminal: bool, tmp_path: Path
) -> None:
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    thread = _slow_plugin(plugins, 1.8)
    env = clean_env(LIBNET_STATE_DIR=str(tmp_path / "s"), LIBNET_PLUGIN_DIRS=str(plugins))
    args = ["network", "create", "-d", "slow", "n"]
    if terminal:
        text = _on_a_terminal(args, env, tmp_path)
    else:
        text = run(*args, env=env, cwd=tmp_path).stderr
    thread.join()
    waiting = "waiting for Docker plugin 'slow'"
    assert (waiting in text and "Plugin.Activate" in text) is terminal, text
    assert "not today" in text
