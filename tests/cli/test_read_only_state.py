"""Read-only commands read a snapshot: they work on state the user may read but not write.

``network ls``, ``network inspect``, ``sandbox ls`` and ``sandbox inspect`` never create,
change or lock the state file for writing; write commands on such state fail with an error
naming the file. The tests of another user need root (they run ``libnet`` as ``nobody``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from libnet.store import SqliteStore

from .conftest import clean_env, run

REPO_ROOT = Path(__file__).resolve().parents[2]

READS = [
    ("network", "ls"),
    ("network", "inspect", "plain"),
    ("sandbox", "ls"),
    ("sandbox", "inspect", "box"),
]


def test_reading_a_missing_state_creates_nothing(tmp_path: Path) -> None:
    state = tmp_path / "never"
    env = clean_env(LIBNET_STATE_DIR=str(state))
    assert run("network", "ls", env=env, cwd=tmp_path).ok().lines() == [
        "NETWORK ID   NAME   DRIVER   SCOPE   STATUS"
    ]
    assert run("sandbox", "ls", "-q", env=env, cwd=tmp_path).ok().stdout == ""
    assert not state.exists()


def test_reading_changes_no_file(tmp_path: Path) -> None:
    env = clean_env(LIBNET_STATE_DIR=str(tmp_path / "state"))
    run("network", "create", "-d", "null", "plain", env=env, cwd=tmp_path).ok()
    run("sandbox", "create", "box", env=env, cwd=tmp_path).ok()
    before = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "state").iterdir()}
    for args in READS:
        run(*args, env=env, cwd=tmp_path).ok()
    after = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "state").iterdir()}
    assert after == before


# Another user: root writes the state, nobody reads it.


def _as_nobody() -> list[str]:
    """The command prefix that runs a libnet as ``nobody``, or skip saying why not."""
    if os.geteuid() != 0:
        pytest.skip("running a command as another user needs root")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is not installed")
    prefix = [setpriv, "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
    for python in (sys.executable, "/usr/bin/python3"):
        probe = subprocess.run(
            [*prefix, python, "-c", "import libnet"],
            env={"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            cwd="/",
            check=False,
        )
        if probe.returncode == 0:
            return [*prefix, python]
    pytest.skip("no Python interpreter that user nobody may run imports libnet")


@pytest.fixture
def root_state() -> Iterator[Path]:
    """A state directory owned by root (0755, state.db 0644) with a network and a sandbox."""
    base = Path(tempfile.mkdtemp(prefix="libnet-startup-ro-"))
    base.chmod(0o755)
    state = base / "state"
    env = clean_env(LIBNET_STATE_DIR=str(state))
    run("network", "create", "-d", "null", "plain", env=env, cwd=base).ok()
    run("sandbox", "create", "box", env=env, cwd=base).ok()
    state.chmod(0o755)
    (state / "state.db").chmod(0o644)
    try:
        yield state
    finally:
        shutil.rmtree(base)


def _nobody(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*_as_nobody(), "-m", "libnet", *args],
        env={
            "PYTHONPATH": str(REPO_ROOT),
            "PATH": "/usr/bin:/bin",
            "HOME": "/nonexistent",
            "LIBNET_STATE_DIR": str(state),
            "LIBNET_PLUGIN_DIRS": "",
        },
        capture_output=True,
        text=True,
        cwd="/",
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("args", READS, ids=" ".join)
def test_a_user_who_may_only_read_the_state_can_list_and_inspect(
    root_state: Path, args: tuple[str, ...]
) -> None:
    before = sorted(root_state.rglob("*"))
    proc = _nobody(root_state, *args)
    assert proc.returncode == 0, proc.stderr
    assert ("plain" if args[0] == "network" else "box") in proc.stdout
    assert sorted(root_state.rglob("*")) == before  # the reader wrote nothing
    assert not any(p.name.startswith("state.db-") for p in before)  # no -wal/-shm left


def test_reading_while_a_root_process_holds_the_state_open(root_state: Path) -> None:
    store = SqliteStore(root_state)  # its -wal and -shm files exist meanwhile
    try:
        assert (root_state / "state.db-wal").exists()
        proc = _nobody(root_state, "network", "ls")
        assert proc.returncode == 0, proc.stderr
        assert "plain" in proc.stdout
    finally:
        store.close()


def test_a_write_by_a_user_who_may_only_read_names_the_file(root_state: Path) -> None:
    proc = _nobody(root_state, "network", "rm", "plain")
    assert proc.returncode == 1
    assert str(root_state / "state.db") in proc.stderr, proc.stderr
    assert "not writable" in proc.stderr
    assert proc.stderr.count("\n") == 1  # one line, no traceback
