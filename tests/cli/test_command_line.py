"""Command-line habits of Docker users: options after the subcommand, bare groups, one
line per failure, and errors that say what is wrong."""

from __future__ import annotations

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
