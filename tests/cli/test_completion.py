"""Shell completion: the scripts are valid, and bash completes names from the state."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from libnet import Controller
from libnet.cli._completion import candidates
from libnet.cli._main import build_parser

from .conftest import clean_env, run


@pytest.fixture
def state(tmp_path: Path) -> Path:
    with Controller(state_dir=tmp_path, plugins="off") as controller:
        web = controller.new_network("null", "web")
        controller.new_network("host", "hostnet")
        web.create_endpoint("api")
        web.create_endpoint("app")
        controller.new_sandbox("box-1")
    return tmp_path


def complete(state: Path, *words: str) -> list[str]:
    return candidates(build_parser(), ["--state-dir", str(state), *words])


def test_commands_options_and_names_are_completed(state: Path) -> None:
    assert complete(state, "") == [
        "agent", "completion", "doctor", "drivers", "endpoint", "info", "ipam", "network",
        "new-driver", "sandbox", "serve",
    ]  # fmt: skip
    assert complete(state, "network", "r") == ["remove", "rm"]
    assert complete(state, "network", "rm", "") == ["hostnet", "web"]
    assert complete(state, "network", "rm", "web", "h") == ["hostnet"]  # NETWORK...
    assert complete(state, "network", "rm", "--with") == ["--with-endpoints"]
    assert complete(state, "endpoint", "rm", "web", "a") == ["api", "app"]
    assert complete(state, "endpoint", "join", "web", "api", "") == ["box-1"]
    assert complete(state, "sandbox", "rm", "") == ["box-1"]
    assert complete(state, "--state-dir", "") == []  # a value: the shell's file names


def test_no_state_file_means_no_names_and_none_is_created(tmp_path: Path) -> None:
    assert complete(tmp_path / "none", "network", "rm", "") == []
    assert not (tmp_path / "none").exists()


@pytest.mark.slow
def test_bash_script_is_valid_and_completes_a_network_name(state: Path, tmp_path: Path) -> None:
    script = run("completion", "bash", cwd=tmp_path).ok().stdout
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)
    command = Path(sys.executable).with_name("libnet")  # the installed console script
    assert command.exists()
    simulated = script + (
        f'COMP_WORDS=("{command}" network rm w); COMP_CWORD=3\n'
        '_libnet_complete; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        ["bash", "-c", simulated],
        env=clean_env(LIBNET_STATE_DIR=str(state)),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.splitlines() == ["web"]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_script_is_valid(tmp_path: Path) -> None:
    script = run("completion", "zsh", cwd=tmp_path).ok().stdout
    subprocess.run(["zsh", "-n"], input=script, text=True, check=True)


@pytest.mark.slow
def test_unknown_shell_is_a_usage_error(tmp_path: Path) -> None:
    run("completion", "fish", cwd=tmp_path).usage_error("invalid choice: 'fish'")
