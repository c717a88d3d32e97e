"""Command-line habits of Docker users: options after the subcommand, bare groups, one
line per failure, and errors that say what is wrong."""

from __future__ import annotations

import socket
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
